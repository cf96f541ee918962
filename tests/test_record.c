/* test_record.c: lib/record.c, the R3/R4 grammar, issuer matching (V2) and formatting. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "dnspersist/dnspersist.h"

static dp_code parse(const char *s, struct dp_record *r, struct dp_error *e)
{
    return dp_record_parse(s, strlen(s), r, e);
}

static int span_is(struct dp_span s, const char *w)
{
    return s.len == strlen(w) && memcmp(s.ptr, w, s.len) == 0;
}

static void R3_well_formed_with_blanks_everywhere(void)
{
    struct dp_record r;
    struct dp_error e;
    const char *v = "   authority.example   ;   accounturi   =   A   ;   policy   =   wildcard   ;"
                    "   persistUntil   =   4102444800   ";
    CHECK(parse(v, &r, &e) == DP_OK);
    CHECK(span_is(r.issuer, "authority.example"));
    CHECK(span_is(r.accounturi, "A"));
    CHECK(r.wildcard && r.has_policy);
    CHECK(r.has_persist_until && r.persist_until == 4102444800);
    CHECK(r.n_params == 3);
    CHECK(parse("authority.example\t;\taccounturi=A", &r, &e) == DP_OK);
}

static void R4_tags_and_policy_case_insensitive(void)
{
    struct dp_record r;
    struct dp_error e;
    CHECK(parse("authority.example;AccountURI=A;pOlIcY=wIlDcArD;PERSISTUNTIL=5", &r, &e) == DP_OK);
    CHECK(span_is(r.accounturi, "A") && r.wildcard && r.persist_until == 5);
    CHECK(parse("authority.example;accounturi=A;policy=notwildcard", &r, &e) == DP_OK);
    CHECK(r.has_policy && !r.wildcard);
    CHECK(parse("authority.example;accounturi=A;policy=", &r, &e) == DP_OK);
    CHECK(r.has_policy && !r.wildcard);
}

static void R4_unknown_tags_kept_and_ignored(void)
{
    struct dp_record r;
    struct dp_error e;
    CHECK(parse("authority.example;accounturi=A;foo=", &r, &e) == DP_OK);
    CHECK(r.n_params == 2 && span_is(r.params[1].tag, "foo") && r.params[1].value.len == 0);
    CHECK(parse("authority.example;x-y--z=1=2:3;accounturi=A", &r, &e) == DP_OK);
    CHECK(span_is(r.params[0].value, "1=2:3"));
}

struct bad {
    const char *value;
    const char *rule;
    size_t offset;
};

static void R3_R4_malformed_cases(void)
{
    static const struct bad cases[] = {
        {"authority.example;accounturi=A;accounturi=B", "R4", 31},
        {"authority.example;ACCOUNTURI=A;accounturi=B", "R4", 31},
        {"authority.example;accounturi=A;foo=1;FOO=2", "R4", 37},  /* duplicate unknown tag */
        {"authority.example;accounturi=A;invalidparam", "R3", 43}, /* no '=' */
        {"authority.example;accounturi=A;=abc", "R3", 31},         /* empty tag */
        {"authority.example;accounturi=", "R4", 29},               /* empty accounturi */
        {"authority.example;policy=wildcard", "R4", 33},           /* missing accounturi */
        {"authority.example", "R4", 17},
        {"authority.example;accounturi=A;policy=wild card", "R3", 42},
        {"authority.example;accounturi=A;persistUntil=not-a-unix-timestamp", "R4", 44},
        {"authority.example;accounturi=A;persistUntil=", "R4", 44},
        {"authority.example;accounturi=A;persistUntil=99999999999999999999", "R4", 44},
        {"authority.example;accounturi=A;persistUntil=9223372036854775808", "R4", 44},
        {"authority.example;accounturi=A;persistUntil=+5", "R4", 44},
        {"authority.example;accounturi=A;persistUntil=0x10", "R4", 44},
        {"authority.example;accounturi=A;", "R3", 30}, /* trailing ';' */
        {"authority.example;accounturi=A;  ", "R3", 30},
        {"authority.example;accounturi=A;;policy=wildcard", "R3", 31},
        {"authority..example;accounturi=A", "R3", 10},
        {"-authority.example;accounturi=A", "R3", 0},
        {"authority-.example;accounturi=A", "R3", 9},
        {"authority.example accounturi=A", "R3", 18},        /* no ';' */
        {"authority.example;accounturi=\xc3\xa9", "R3", 29}, /* non-ASCII value */
        {"authority.example;accounturi=A\x01", "R3", 30},    /* control octet */
        {"authority.example;accounturi=A;tag-=1", "R3", 34}, /* tag ends with '-' */
        {"authority_example;accounturi=A", "R3", 9},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct dp_record r;
        struct dp_error e;
        dp_code rc = parse(cases[i].value, &r, &e);
        int good = rc == DP_ERR_MALFORMED && e.code == DP_ERR_MALFORMED && e.rule &&
                   strcmp(e.rule, cases[i].rule) == 0 && e.offset == cases[i].offset;
        if (!good)
            fprintf(stderr, "case %zu '%s': rc=%d rule=%s offset=%zu detail=%s\n", i,
                    cases[i].value, rc, e.rule ? e.rule : "-", e.offset, e.detail);
        CHECK(good);
    }
}

static void R3_nul_octet_is_malformed(void)
{
    struct dp_record r;
    struct dp_error e;
    const char v[] = "authority.example;accounturi=A\0B";
    CHECK(dp_record_parse(v, sizeof v - 1, &r, &e) == DP_ERR_MALFORMED && e.offset == 30);
}

static void R4_persist_until_range(void)
{
    struct dp_record r;
    struct dp_error e;
    CHECK(parse("a.example;accounturi=A;persistUntil=-1", &r, &e) == DP_OK &&
          r.persist_until == -1);
    CHECK(parse("a.example;accounturi=A;persistUntil=9223372036854775807", &r, &e) == DP_OK &&
          r.persist_until == INT64_MAX);
    CHECK(parse("a.example;accounturi=A;persistUntil=-9223372036854775808", &r, &e) == DP_OK &&
          r.persist_until == INT64_MIN);
    CHECK(parse("a.example;accounturi=A;persistUntil=-9223372036854775809", &r, &e) ==
          DP_ERR_MALFORMED);
    CHECK(parse("a.example;accounturi=A;persistUntil=0001", &r, &e) == DP_OK &&
          r.persist_until == 1);
}

static void R3_no_issuer_is_syntactically_valid(void)
{
    struct dp_record r;
    struct dp_error e;
    CHECK(parse(";accounturi=A", &r, &e) == DP_OK && r.issuer.len == 0);
    CHECK(parse("  ;  accounturi=A", &r, &e) == DP_OK);
}

static void R3_param_bound(void)
{
    char buf[2048];
    size_t o = (size_t)snprintf(buf, sizeof buf, "a.example;accounturi=A");
    for (int i = 0; i < DP_RECORD_MAX_PARAMS - 1; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, ";t%d=v", i);
    struct dp_record r;
    struct dp_error e;
    CHECK(dp_record_parse(buf, o, &r, &e) == DP_OK && r.n_params == DP_RECORD_MAX_PARAMS);
    o += (size_t)snprintf(buf + o, sizeof buf - o, ";extra=v");
    CHECK(dp_record_parse(buf, o, &r, &e) == DP_ERR_MALFORMED);
}

static void V2_issuer_token_and_match(void)
{
    struct dp_span t = dp_record_issuer_token("  Authority.Example. ;accounturi=A", 34);
    CHECK(span_is(t, "Authority.Example."));
    CHECK(dp_record_issuer_matches(t, "authority.example"));
    CHECK(!dp_record_issuer_matches(t, "authority.example.net"));
    t = dp_record_issuer_token("authority.example..;x", 21);
    CHECK(!dp_record_issuer_matches(t, "authority.example")); /* only one dot is tolerated */
    t = dp_record_issuer_token(";accounturi=A", 13);
    CHECK(t.len == 0 && !dp_record_issuer_matches(t, "authority.example"));
    t = dp_record_issuer_token("other.example; junk junk", 24);
    CHECK(!dp_record_issuer_matches(t, "authority.example"));
    struct dp_record r;
    struct dp_error e;
    CHECK(parse("authority.example.;accounturi=A", &r, &e) == DP_OK); /* V2 tolerance */
}

static void R3_format_is_canonical_and_round_trips(void)
{
    struct dp_record_spec s = {"authority.example", "https://ca.example/account-hash/sha-256/x", 1,
                               1, 1721952000};
    char *v = dp_record_format_alloc(&s, NULL);
    CHECK_STR(v, "authority.example; accounturi=https://ca.example/account-hash/sha-256/x; "
                 "policy=wildcard; persistUntil=1721952000");
    free(v);

    /* Every combination of flags, extreme timestamps and URI shapes parses back. */
    static const char *uris[] = {"A", "https://ca.example/acct/1", "urn:x:y=z",
                                 "!\"#$%&'()*+,-./:<=>?@[\\]^_`{|}~"};
    static const int64_t times[] = {0, -1, INT64_MAX, INT64_MIN, 1721952000};
    for (size_t u = 0; u < 4; u++)
        for (int w = 0; w < 2; w++)
            for (size_t t = 0; t < 6; t++) {
                struct dp_record_spec sp = {"ca.example.net", uris[u], w, t < 5,
                                            t < 5 ? times[t] : 0};
                struct dp_error e;
                char *val = dp_record_format_alloc(&sp, &e);
                struct dp_record r;
                CHECK(val && parse(val, &r, &e) == DP_OK);
                if (!val) continue;
                CHECK(span_is(r.issuer, "ca.example.net") && span_is(r.accounturi, uris[u]));
                CHECK(r.wildcard == w && r.has_persist_until == (t < 5));
                if (t < 5) CHECK(r.persist_until == times[t]);
                free(val);
            }
}

static void R3_format_rejects_what_would_not_parse(void)
{
    struct dp_error e;
    struct dp_record_spec s = {"Authority.example", "A", 0, 0, 0};
    CHECK(dp_record_format_alloc(&s, &e) == NULL && e.code == DP_ERR_INVAL);
    s.issuer = "authority.example.";
    CHECK(dp_record_format_alloc(&s, &e) == NULL);
    s.issuer = "authority.example";
    s.accounturi = "has space";
    CHECK(dp_record_format_alloc(&s, &e) == NULL && e.offset == 3);
    s.accounturi = "semi;colon";
    CHECK(dp_record_format_alloc(&s, &e) == NULL);
    s.accounturi = "";
    CHECK(dp_record_format_alloc(&s, &e) == NULL);
    s.accounturi = "A";
    char small[8];
    size_t need = 0;
    CHECK(dp_record_format(&s, small, sizeof small, &need, &e) == DP_ERR_TOOBIG &&
          need == strlen("authority.example; accounturi=A"));
}

int main(void)
{
    RUN(R3_well_formed_with_blanks_everywhere);
    RUN(R4_tags_and_policy_case_insensitive);
    RUN(R4_unknown_tags_kept_and_ignored);
    RUN(R3_R4_malformed_cases);
    RUN(R3_nul_octet_is_malformed);
    RUN(R4_persist_until_range);
    RUN(R3_no_issuer_is_syntactically_valid);
    RUN(R3_param_bound);
    RUN(V2_issuer_token_and_match);
    RUN(R3_format_is_canonical_and_round_trips);
    RUN(R3_format_rejects_what_would_not_parse);
    return check_report();
}
