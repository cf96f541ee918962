/*
 * test_caa.c: the CAA decision of ca/caa.c as a unit, without DNS: RFC
 * 8659 (tags, the critical flag, issue and issuewild, the issue-value
 * grammar) and RFC 8657 (accounturi, validationmethods). The Knot table in
 * test_ca_caa.c checks the same decision end to end; this one reaches the
 * cases DNS cannot carry (a malformed RDATA, 65 properties) and runs in
 * milliseconds.
 */
#include <stdlib.h>
#include <string.h>

#include "caa.h"
#include "check.h"

#define ACCT "https://ca.test/acme/acct/1"
#define OTHER "https://ca.test/acme/acct/2"
#define PERSIST "dns-persist-01"

/* One property: flags, tag, value (NULL ends a set). */
struct prop {
    int flags;
    const char *tag, *value;
};

struct caa_case {
    const char *name;
    struct prop props[4];
    int wildcard;
    const char *account, *method;
    int want;        /* 1 permits, 0 refuses */
    const char *why; /* refused: a part of the reason, or NULL */
};

/* The CA's identities, as --issuer-domain-name gives them. */
static const char *const ids[] = {"ca.test", "backup.ca.test"};

static size_t rdata(unsigned char *out, int flags, const char *tag, const char *value)
{
    size_t tl = strlen(tag), vl = strlen(value);
    out[0] = (unsigned char)flags;
    out[1] = (unsigned char)tl;
    memcpy(out + 2, tag, tl);
    memcpy(out + 2 + tl, value, vl);
    return 2 + tl + vl;
}

static const struct caa_case table[] = {
    /* RFC 8659 4: no relevant property, no restriction. */
    {"empty_rrset_permits", {{0}}, 0, ACCT, PERSIST, 1, NULL},
    {"iodef_only_permits", {{0, "iodef", "mailto:sec@example.com"}}, 0, ACCT, PERSIST, 1, NULL},
    {"contactemail_only_permits",
     {{0, "contactemail", "a@example.com"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"issuemail_only_permits", {{0, "issuemail", "other.example"}}, 0, ACCT, PERSIST, 1, NULL},
    {"issuevmc_only_permits", {{0, "issuevmc", "other.example"}}, 0, ACCT, PERSIST, 1, NULL},
    {"issuewild_only_nonwildcard_permits",
     {{0, "issuewild", "other.example"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    /* RFC 8659 4.2: issue. */
    {"issue_ours_permits", {{0, "issue", "ca.test"}}, 0, ACCT, PERSIST, 1, NULL},
    {"issue_other_refuses", {{0, "issue", "other.example"}}, 0, ACCT, PERSIST, 0, "issue"},
    {"issue_semicolon_nobody", {{0, "issue", ";"}}, 0, ACCT, PERSIST, 0, "issue"},
    {"issue_empty_nobody", {{0, "issue", ""}}, 0, ACCT, PERSIST, 0, NULL},
    {"issue_second_identity_permits", {{0, "issue", "backup.ca.test"}}, 0, ACCT, PERSIST, 1, NULL},
    {"issue_one_of_several_permits",
     {{0, "issue", "other.example"}, {0, "issue", "ca.test"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"issue_subdomain_of_ours_refuses", {{0, "issue", "sub.ca.test"}}, 0, ACCT, PERSIST, 0, NULL},
    {"issue_parent_of_ours_refuses", {{0, "issue", "test"}}, 0, ACCT, PERSIST, 0, NULL},
    {"issue_name_case_ignored", {{0, "issue", "CA.Test"}}, 0, ACCT, PERSIST, 1, NULL},
    {"issue_leading_space_permits", {{0, "issue", "  ca.test"}}, 0, ACCT, PERSIST, 1, NULL},
    {"issue_unknown_parameter_ignored",
     {{0, "issue", "ca.test; policy=ev"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"issue_malformed_parameter_refuses", {{0, "issue", "ca.test; =x"}}, 0, ACCT, PERSIST, 0, NULL},
    {"issue_bad_name_refuses", {{0, "issue", "ca..test"}}, 0, ACCT, PERSIST, 0, NULL},
    /* Tags are compared without case (RFC 8659 4.1). */
    {"tag_case_ISSUE_refuses_other", {{0, "ISSUE", "other.example"}}, 0, ACCT, PERSIST, 0, NULL},
    {"tag_case_Issue_permits_ours", {{0, "Issue", "ca.test"}}, 0, ACCT, PERSIST, 1, NULL},
    {"tag_case_IssueWild_governs",
     {{0, "IssueWild", "other.example"}, {0, "issue", "ca.test"}},
     1,
     ACCT,
     PERSIST,
     0,
     "issuewild"},
    /* The critical flag (RFC 8659 4.1). */
    {"critical_unknown_refuses",
     {{128, "tbs", "x"}, {0, "issue", "ca.test"}},
     0,
     ACCT,
     PERSIST,
     0,
     "critical"},
    {"critical_unknown_names_tag", {{128, "futuretag", "x"}}, 0, ACCT, PERSIST, 0, "futuretag"},
    {"noncritical_unknown_ignored",
     {{0, "tbs", "x"}, {0, "issue", "ca.test"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"critical_known_issue_permits", {{128, "issue", "ca.test"}}, 0, ACCT, PERSIST, 1, NULL},
    {"critical_iodef_permits", {{128, "iodef", "mailto:a@example.com"}}, 0, ACCT, PERSIST, 1, NULL},
    {"critical_unknown_refuses_wildcard_too", {{128, "tbs", "x"}}, 1, ACCT, PERSIST, 0, "critical"},
    {"other_flag_bits_not_critical", {{1, "tbs", "x"}}, 0, ACCT, PERSIST, 1, NULL},
    {"critical_uppercase_known_tag", {{128, "ISSUE", "ca.test"}}, 0, ACCT, PERSIST, 1, NULL},
    /* RFC 8659 4.3: issuewild governs wildcards when present. */
    {"wildcard_issue_ours_permits", {{0, "issue", "ca.test"}}, 1, ACCT, PERSIST, 1, NULL},
    {"wildcard_issue_other_refuses", {{0, "issue", "other.example"}}, 1, ACCT, PERSIST, 0, "issue"},
    {"wildcard_issuewild_ours_over_issue_other",
     {{0, "issue", "other.example"}, {0, "issuewild", "ca.test"}},
     1,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"wildcard_issuewild_other_over_issue_ours",
     {{0, "issue", "ca.test"}, {0, "issuewild", "other.example"}},
     1,
     ACCT,
     PERSIST,
     0,
     "issuewild"},
    {"wildcard_issuewild_semicolon_nobody",
     {{0, "issue", "ca.test"}, {0, "issuewild", ";"}},
     1,
     ACCT,
     PERSIST,
     0,
     "issuewild"},
    {"nonwildcard_ignores_issuewild_ours",
     {{0, "issue", "other.example"}, {0, "issuewild", "ca.test"}},
     0,
     ACCT,
     PERSIST,
     0,
     "issue"},
    {"nonwildcard_ignores_issuewild_other",
     {{0, "issue", "ca.test"}, {0, "issuewild", "other.example"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    /* RFC 8657 3: accounturi. */
    {"accounturi_match_permits",
     {{0, "issue", "ca.test; accounturi=" ACCT}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"accounturi_other_refuses",
     {{0, "issue", "ca.test; accounturi=" OTHER}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
    {"accounturi_case_matters",
     {{0, "issue", "ca.test; accounturi=HTTPS://CA.TEST/acme/acct/1"}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
    {"accounturi_twice_refuses",
     {{0, "issue", "ca.test; accounturi=" ACCT "; accounturi=" ACCT}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
    {"accounturi_tag_case_ignored",
     {{0, "issue", "ca.test; AccountURI=" OTHER}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
    {"accounturi_other_then_ours_permits",
     {{0, "issue", "ca.test; accounturi=" OTHER}, {0, "issue", "ca.test; accounturi=" ACCT}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"accounturi_on_issuewild",
     {{0, "issuewild", "ca.test; accounturi=" OTHER}},
     1,
     ACCT,
     PERSIST,
     0,
     "issuewild"},
    /* RFC 8657 4: validationmethods. */
    {"methods_persist_permits",
     {{0, "issue", "ca.test; validationmethods=dns-persist-01"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"methods_http_only_refuses_persist",
     {{0, "issue", "ca.test; validationmethods=http-01"}},
     0,
     ACCT,
     PERSIST,
     0,
     PERSIST},
    {"methods_list_permits",
     {{0, "issue", "ca.test; validationmethods=http-01,dns-persist-01"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"methods_list_http01",
     {{0, "issue", "ca.test; validationmethods=dns-01,http-01"}},
     0,
     ACCT,
     "http-01",
     1,
     NULL},
    {"methods_prefix_not_a_match",
     {{0, "issue", "ca.test; validationmethods=dns-persist"}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
    {"methods_dns01_is_not_persist",
     {{0, "issue", "ca.test; validationmethods=dns-01"}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
    {"methods_twice_refuses",
     {{0, "issue", "ca.test; validationmethods=dns-persist-01; validationmethods=dns-persist-01"}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
    {"methods_and_account_both_needed",
     {{0, "issue", "ca.test; accounturi=" ACCT "; validationmethods=http-01"}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
    {"methods_and_account_both_met",
     {{0, "issue", "ca.test; accounturi=" ACCT "; validationmethods=dns-persist-01"}},
     0,
     ACCT,
     PERSIST,
     1,
     NULL},
    {"methods_ignored_for_other_ca",
     {{0, "issue", "other.example; validationmethods=dns-persist-01"}},
     0,
     ACCT,
     PERSIST,
     0,
     NULL},
};

static void run_table(void)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct caa_case *c = &table[i];
        struct caa_rrset *set = calloc(1, sizeof *set);
        unsigned char buf[CAA_MAX_VALUE + 300];
        int added = 1;
        for (size_t j = 0; j < 4 && c->props[j].tag; j++) {
            size_t len = rdata(buf, c->props[j].flags, c->props[j].tag, c->props[j].value);
            added &= caa_add(set, buf, len) == 0;
        }
        char why[512] = "";
        int got =
            added ? caa_permits(set, ids, 2, c->wildcard, c->account, c->method, why, sizeof why)
                  : -1;
        int ok = got == c->want && (got || !c->why || strstr(why, c->why));
        /* A refusal always says why. */
        ok &= got != 0 || why[0];
        if (!ok) fprintf(stderr, "%s: got %d (%s), want %d\n", c->name, got, why, c->want);
        CHECK(ok);
        printf("%s %s\n", ok ? "ok  " : "FAIL", c->name);
        free(set);
    }
}

/* RDATA that is not a CAA property refuses issuance (caa_add fails). */
static void malformed_rdata_refused(void)
{
    struct caa_rrset *set = calloc(1, sizeof *set);
    const unsigned char short1[] = {0};
    const unsigned char empty_tag[] = {0, 0, 'x'};
    const unsigned char tag_past_end[] = {0, 9, 'i', 's', 's', 'u', 'e'};
    CHECK(caa_add(set, short1, sizeof short1) == -1);
    CHECK(caa_add(set, empty_tag, sizeof empty_tag) == -1);
    CHECK(caa_add(set, tag_past_end, sizeof tag_past_end) == -1);
    CHECK(set->n == 0);
    /* The tag exactly fills the RDATA: an empty value, well formed. */
    const unsigned char tag_only[] = {0, 5, 'i', 's', 's', 'u', 'e'};
    CHECK(caa_add(set, tag_only, sizeof tag_only) == 0 && set->n == 1 && set->p[0].value_len == 0);
    free(set);
}

/* A value past CAA_MAX_VALUE never authorizes, even naming this CA. */
static void long_value_never_authorizes(void)
{
    struct caa_rrset *set = calloc(1, sizeof *set);
    unsigned char *buf = malloc(CAA_MAX_VALUE + 64);
    char *v = malloc(CAA_MAX_VALUE + 40);
    int n = snprintf(v, CAA_MAX_VALUE + 40, "ca.test; policy=");
    memset(v + n, 'a', CAA_MAX_VALUE + 10 - (size_t)n);
    v[CAA_MAX_VALUE + 10] = '\0';
    size_t len = rdata(buf, 0, "issue", v);
    CHECK(caa_add(set, buf, len) == 0 && set->p[0].value_too_long);
    char why[256] = "";
    CHECK(caa_permits(set, ids, 2, 0, ACCT, PERSIST, why, sizeof why) == 0 && why[0]);
    free(v);
    free(buf);
    free(set);
}

/* Over CAA_MAX_PROPS properties: refused, whatever they say. */
static void too_many_properties_refused(void)
{
    struct caa_rrset *set = calloc(1, sizeof *set);
    unsigned char buf[64];
    size_t len = rdata(buf, 0, "issue", "ca.test");
    int rc = 0;
    for (int i = 0; i <= CAA_MAX_PROPS; i++)
        rc = caa_add(set, buf, len);
    CHECK(rc == -1 && set->too_many);
    char why[256] = "";
    CHECK(caa_permits(set, ids, 2, 0, ACCT, PERSIST, why, sizeof why) == 0 &&
          strstr(why, "more than"));
    free(set);
}

int main(void)
{
    run_table();
    RUN(malformed_rdata_refused);
    RUN(long_value_never_authorizes);
    RUN(too_many_properties_refused);
    printf("%zu table cases\n", sizeof table / sizeof table[0]);
    return check_report();
}
