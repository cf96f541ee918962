/* test_domain.c: lib/domain.c, draft 9.2 normalization and derived names (R1). */
#include "check.h"
#include "dnspersist/dnspersist.h"

static const char *norm(const char *in, unsigned flags)
{
    static char out[DP_DOMAIN_MAX + 3];
    return dp_domain_normalize(in, out, flags, NULL) == DP_OK ? out : NULL;
}

static void draft_9_2_ascii_example(void)
{
    CHECK_STR(norm("EXAMPLE.com.", 0), "example.com");
    CHECK_STR(norm("example.com", 0), "example.com");
}

/* Draft 9.2's IDN example is inconsistent with Unicode and Punycode, so we
 * follow the standards and pin the differences here:
 *  - it writes "üÑICODE" but shows the case-folded form as "ünicode";
 *    Unicode folds Ñ (U+00D1) to ñ (U+00F1), not to n;
 *  - its result "xn--nicode-example-9jb" decodes to "énicode-example";
 *    the A-label of "ünicode-example" is "xn--nicode-example-fsb"
 *    (RFC 3492; checked with Python's independent punycode codec). */
static void draft_9_2_idn_example(void)
{
    CHECK_STR(norm("\xc3\xbcNICODE-example.com.", 0), "xn--nicode-example-fsb.com");
    CHECK_STR(norm("\xc3\xa9nicode-example.com", 0), "xn--nicode-example-9jb.com");
    CHECK_STR(norm("\xc3\xbc\xc3\xb1icode-example.com", 0), "xn--icode-example-hkb8n.com");
    CHECK_STR(norm("\xc3\xbc\xc3\x91ICODE-example.com.", 0),
              norm("\xc3\xbc\xc3\xb1icode-example.com", 0));
    CHECK_STR(norm("\xc3\x9cNICODE-EXAMPLE.COM", 0),
              "xn--nicode-example-fsb.com"); /* Ü folds too */
    /* NFC: u + combining diaeresis equals precomposed ü. */
    CHECK_STR(norm("u\xcc\x88nicode-example.com", 0), "xn--nicode-example-fsb.com");
    /* An A-label input stays as it is, case-folded. */
    CHECK_STR(norm("XN--NICODE-EXAMPLE-FSB.com", 0), "xn--nicode-example-fsb.com");
    CHECK(norm("xn--zz-.com", 0) == NULL);  /* not valid Punycode */
    CHECK(norm("\xff\xfe.com", 0) == NULL); /* not UTF-8 */
}

static void draft_9_2_lengths(void)
{
    char l63[64], l64[65], name[300];
    memset(l63, 'a', 63), l63[63] = 0;
    memset(l64, 'a', 64), l64[64] = 0;
    snprintf(name, sizeof name, "%s.com", l63);
    CHECK(norm(name, 0) != NULL);
    snprintf(name, sizeof name, "%s.com", l64);
    CHECK(norm(name, 0) == NULL);
    /* 253 octets: 3 x 63 + 61 + 3 dots = 253. */
    char l61[62];
    memset(l61, 'b', 61), l61[61] = 0;
    snprintf(name, sizeof name, "%s.%s.%s.%s", l63, l63, l63, l61);
    CHECK(strlen(name) == 253 && norm(name, 0) != NULL);
    snprintf(name, sizeof name, "%s.%s.%s.%sb", l63, l63, l63, l61);
    CHECK(strlen(name) == 254 && norm(name, 0) == NULL);
    strcat(name, ".");
    CHECK(norm(name, 0) == NULL);
}

static void bad_names(void)
{
    const char *bad[] = {"",
                         ".",
                         "a..b",
                         ".a.com",
                         "-a.com",
                         "a-.com",
                         "exa_mple.com",
                         "a b.com",
                         "192.0.2.1",
                         "example.123",
                         "*.example.com",
                         "a.*.com",
                         "example.com..",
                         "ex%ample.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct dp_error e;
        char out[DP_DOMAIN_MAX + 3];
        dp_code rc = dp_domain_normalize(bad[i], out, 0, &e);
        if (rc != DP_ERR_DOMAIN) fprintf(stderr, "accepted '%s'\n", bad[i]);
        CHECK(rc == DP_ERR_DOMAIN && e.detail[0]);
    }
}

static void wildcards(void)
{
    CHECK_STR(norm("*.Example.COM.", DP_DOMAIN_ALLOW_WILDCARD), "*.example.com");
    CHECK(norm("*.*.example.com", DP_DOMAIN_ALLOW_WILDCARD) == NULL);
    CHECK(norm("*example.com", DP_DOMAIN_ALLOW_WILDCARD) == NULL);
    CHECK(norm("*.", DP_DOMAIN_ALLOW_WILDCARD) == NULL);
    CHECK_STR(dp_domain_base("*.example.com"), "example.com");
    CHECK_STR(dp_domain_base("example.com"), "example.com");
}

static void S3_label_boundaries(void)
{
    CHECK(dp_domain_is_subdomain("www.example.com", "example.com"));
    CHECK(dp_domain_is_subdomain("a.b.example.com", "example.com"));
    CHECK(!dp_domain_is_subdomain("badexample.com", "example.com"));
    CHECK(!dp_domain_is_subdomain("example.com", "example.com"));
    CHECK(!dp_domain_is_subdomain("example.com", "www.example.com"));
    CHECK(!dp_domain_is_subdomain(".example.com", "example.com"));
}

static void R1_validation_name(void)
{
    char out[DP_VALIDATION_NAME_MAX];
    CHECK(dp_domain_validation_name("Example.COM", out, NULL) == DP_OK);
    CHECK_STR(out, "_validation-persist.example.com");
    CHECK(dp_domain_validation_name("*.example.com", out, NULL) == DP_OK);
    CHECK_STR(out, "_validation-persist.example.com");
    CHECK(dp_domain_validation_name("bad..name", out, NULL) == DP_ERR_DOMAIN);
}

int main(void)
{
    RUN(draft_9_2_ascii_example);
    RUN(draft_9_2_idn_example);
    RUN(draft_9_2_lengths);
    RUN(bad_names);
    RUN(wildcards);
    RUN(S3_label_boundaries);
    RUN(R1_validation_name);
    return check_report();
}
