/*
 * test_ca_caa.c: dnspersist-ca end to end: CAA (RFC 8659, RFC 8657) against RRsets served by Knot,
 * and CAA checked again at finalize (CA/B BR 3.2.2.8). Its own CAs (the fixture, ca_fixture.h) on
 * the real Knot DNS server.
 *
 * Usage: test_ca_caa PATH/TO/dnspersist-ca   (DP_DNS_ENV names the DNS env file)
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca_fixture.h"
#include "ca_harness.h"
#include "check.h"

static struct ca ca02, cacaa;

/* RFC 8659 CAA with RFC 8657 parameters, checked after the method passed. */
static void caa_is_checked(void)
{
    struct acct ac;
    CHECK(acct_new(&cacaa, &ac) == 0);
    char d[128], caa[700];
    unique(d, sizeof d, "caa");
    CHECK(publish(&cacaa, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    CHECK(issue(&cacaa, &ac, d, &e) == DP_OK); /* no CAA anywhere: permitted */
    CHECK(dns_caa(d, "0 issue \"other.example\"") == 0);
    CHECK(issue(&cacaa, &ac, d, &e) != DP_OK && strstr(problem_type(&ac), ":caa"));
    snprintf(caa, sizeof caa,
             "0 issue \"ca.test; accounturi=%s; validationmethods=dns-persist-01\"",
             dp_acme_account_url(ac.a));
    CHECK(dns_caa(d, caa) == 0);
    CHECK(issue(&cacaa, &ac, d, &e) == DP_OK);
    CHECK(dns_caa(d, "0 issue \"ca.test; validationmethods=http-01\"") == 0);
    CHECK(issue(&cacaa, &ac, d, &e) != DP_OK && strstr(problem_type(&ac), ":caa"));
    CHECK(dns_caa(d, "0 issue \"ca.test; accounturi=https://other.example/acct/1\"") == 0);
    CHECK(issue(&cacaa, &ac, d, &e) != DP_OK);
    CHECK(dns_caa(d, "128 tbs \"unknown\"") == 0); /* critical and not understood */
    CHECK(issue(&cacaa, &ac, d, &e) != DP_OK && strstr(problem_type(&ac), ":caa"));
    CHECK(dns_caa(d, NULL) == 0);
    acct_free(&ac);
}

/* One CAA case: RRsets given as "NAME<tab>TYPE RDATA" lines, where NAME
 * is relative to the case's own domain ("@" for it); the certificate is
 * for "x.@" when sub, "*.@" when wildcard, else "@". want: "" to issue,
 * else the problem type. */
struct caa_case {
    const char *why;
    int wildcard, sub;
    const char *rrs[4];
    const char *want;
};

static void caa_run(struct acct *ac, const char *other_acct, const struct caa_case *c, int i)
{
    char d[128], name[160], lines[4096] = "", *l = lines;
    unique(d, sizeof d, "caa-t");
    snprintf(name, sizeof name, "%s%s", c->wildcard ? "*." : c->sub ? "x." : "", d);
    for (int k = 0; k < 4 && c->rrs[k]; k++) {
        char rr[1024], owner[1200];
        snprintf(rr, sizeof rr, "%s", c->rrs[k]);
        char *tab = strchr(rr, '\t');
        if (!tab) continue;
        *tab = '\0';
        if (!strcmp(rr, "@"))
            snprintf(owner, sizeof owner, "%s", d);
        else
            snprintf(owner, sizeof owner, "%s.%s", rr, d);
        /* %A: our account's URL; %O: another account's; %D: this case's domain. */
        char val[1400], *v = val;
        for (const char *t = tab + 1; *t && v < val + sizeof val - 700; t++) {
            if (t[0] == '%' && (t[1] == 'A' || t[1] == 'O' || t[1] == 'D')) {
                const char *sub = t[1] == 'A'   ? dp_acme_account_url(ac->a)
                                  : t[1] == 'O' ? other_acct
                                                : d;
                v += snprintf(v, 600, "%s", sub);
                t++;
            } else {
                *v++ = *t;
            }
        }
        *v = '\0';
        l += snprintf(l, sizeof lines - (size_t)(l - lines), "update add %s. 1 %s\n", owner, val);
    }
    const char *host = c->wildcard ? d : name;
    CHECK(publish(&ca02, ac, host, NULL, c->wildcard ? "; policy=wildcard" : NULL) == 0);
    CHECK(!lines[0] || dns_update(lines) == 0);
    struct dp_error e;
    dp_code rc = issue(&ca02, ac, name, &e);
    const char *got = rc == DP_OK ? "" : problem_type(ac);
    int ok = c->want[0] ? rc != DP_OK && strstr(got, c->want) != NULL : rc == DP_OK;
    if (!ok)
        fprintf(stderr, "CAA case %d (%s): %s: got '%s' (%s), want '%s'\n", i, c->why, name, got,
                rc == DP_OK ? "issued" : dp_acme_last_problem(ac->a)->detail, c->want);
    CHECK(ok);
}

/* RFC 8659 and RFC 8657, always on, against RRsets served by Knot. The
 * CA's identities are its issuer names (ca.test, backup.ca.test). */
static void caa_table(void)
{
    static const struct caa_case cases[] = {
        {"no CAA anywhere", 0, 0, {NULL}, ""},
        {"issue names us", 0, 0, {"@\tCAA 0 issue \"ca.test\""}, ""},
        {"issue names another CA", 0, 0, {"@\tCAA 0 issue \"other.example\""}, ":caa"},
        {"issue \";\" forbids all", 0, 0, {"@\tCAA 0 issue \";\""}, ":caa"},
        {"two issue, one ours",
         0,
         0,
         {"@\tCAA 0 issue \"other.example\"", "@\tCAA 0 issue \"ca.test\""},
         ""},
        {"our second identity", 0, 0, {"@\tCAA 0 issue \"backup.ca.test\""}, ""},
        {"iodef only: no restriction", 0, 0, {"@\tCAA 0 iodef \"mailto:sec@web.test\""}, ""},
        {"issuewild only, plain name", 0, 0, {"@\tCAA 0 issuewild \"other.example\""}, ""},
        {"wildcard: issuewild governs",
         1,
         0,
         {"@\tCAA 0 issue \"ca.test\"", "@\tCAA 0 issuewild \"other.example\""},
         ":caa"},
        {"wildcard: issuewild names us",
         1,
         0,
         {"@\tCAA 0 issue \"other.example\"", "@\tCAA 0 issuewild \"ca.test\""},
         ""},
        {"wildcard: issue alone names us", 1, 0, {"@\tCAA 0 issue \"ca.test\""}, ""},
        {"wildcard: issue alone names another", 1, 0, {"@\tCAA 0 issue \"other.example\""}, ":caa"},
        {"wildcard: issuewild \";\"",
         1,
         0,
         {"@\tCAA 0 issue \"ca.test\"", "@\tCAA 0 issuewild \";\""},
         ":caa"},
        {"plain name: issuewild \";\" ignored",
         0,
         0,
         {"@\tCAA 0 issue \"ca.test\"", "@\tCAA 0 issuewild \";\""},
         ""},
        {"accounturi ours", 0, 0, {"@\tCAA 0 issue \"ca.test; accounturi=%A\""}, ""},
        {"accounturi another", 0, 0, {"@\tCAA 0 issue \"ca.test; accounturi=%O\""}, ":caa"},
        {"blank before = (another)", 0, 0, {"@\tCAA 0 issue \"ca.test; accounturi =%O\""}, ":caa"},
        {"blanks everywhere (ours)",
         0,
         0,
         {"@\tCAA 0 issue \"  ca.test ;  accounturi = %A  \""},
         ""},
        {"validationmethods ours",
         0,
         0,
         {"@\tCAA 0 issue \"ca.test; validationmethods=dns-persist-01\""},
         ""},
        {"validationmethods others",
         0,
         0,
         {"@\tCAA 0 issue \"ca.test; validationmethods=http-01,dns-01\""},
         ":caa"},
        {"validationmethods list",
         0,
         0,
         {"@\tCAA 0 issue \"ca.test; validationmethods=dns-01,dns-persist-01\""},
         ""},
        {"parameter order",
         0,
         0,
         {"@\tCAA 0 issue \"ca.test; validationmethods=dns-persist-01; accounturi=%A\""},
         ""},
        {"tag case ISSUE (another)", 0, 0, {"@\tCAA 0 ISSUE \"other.example\""}, ":caa"},
        {"issuer case", 0, 0, {"@\tCAA 0 issue \"CA.Test\""}, ""},
        {"parameter tag case (another)",
         0,
         0,
         {"@\tCAA 0 issue \"ca.test; AccountURI=%O\""},
         ":caa"},
        {"critical unknown tag",
         0,
         0,
         {"@\tCAA 128 tbs \"x\"", "@\tCAA 0 issue \"ca.test\""},
         ":caa"},
        {"critical unknown long tag",
         0,
         0,
         {"@\tCAA 128 averyveryverylongtagname \"x\"", "@\tCAA 0 issue \"ca.test\""},
         ":caa"},
        {"non-critical unknown tag", 0, 0, {"@\tCAA 0 tbs \"x\""}, ""},
        {"critical iodef is understood",
         0,
         0,
         {"@\tCAA 128 iodef \"mailto:sec@web.test\"", "@\tCAA 0 issue \"ca.test\""},
         ""},
        {"unquoted value", 0, 0, {"@\tCAA 0 issue ca.test"}, ""},
        {"malformed value names nobody", 0, 0, {"@\tCAA 0 issue \"ca.test; accounturi\""}, ":caa"},
        {"accounturi twice",
         0,
         0,
         {"@\tCAA 0 issue \"ca.test; accounturi=%A; accounturi=%O\""},
         ":caa"},
        {"climb: parent forbids", 0, 1, {"@\tCAA 0 issue \"other.example\""}, ":caa"},
        {"climb: parent permits", 0, 1, {"@\tCAA 0 issue \"ca.test\""}, ""},
        {"climb: closest RRset wins",
         0,
         1,
         {"@\tCAA 0 issue \"other.example\"", "x\tCAA 0 issue \"ca.test\""},
         ""},
        {"CNAME to a permitting RRset", 0, 0, {"@\tCNAME t.%D.", "t\tCAA 0 issue \"ca.test\""}, ""},
        {"CNAME to a forbidding RRset",
         0,
         0,
         {"@\tCNAME t.%D.", "t\tCAA 0 issue \"other.example\""},
         ":caa"},
        {"CNAME out of the served zones", 0, 0, {"@\tCNAME t.nowhere.invalid."}, ":dns"},
    };
    struct acct ac, other;
    CHECK(acct_new(&ca02, &ac) == 0);
    CHECK(acct_new(&ca02, &other) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        caa_run(&ac, dp_acme_account_url(other.a), &cases[i], (int)i);
    printf("     %zu CAA cases\n", sizeof cases / sizeof cases[0]);
    acct_free(&ac);
    acct_free(&other);
}

/* CA/B BR 3.2.2.8: a validation older than 8 hours has CAA checked again at
 * finalize; a fresh one does not. (The age is set in the database with the
 * CA stopped.) */
static void caa_rechecked_at_finalize(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128], upd[512];
    unique(d, sizeof d, "caa-fin");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    for (int old = 0; old < 2; old++) {
        struct dp_acme_order *o = NULL;
        CHECK(dns_caa(d, NULL) == 0);
        CHECK(dp_acme_order_new(ac.a, names, 1, &o, &e) == DP_OK);
        CHECK(o && dp_acme_order_validate(ac.a, o, &e) == DP_OK);
        snprintf(upd, sizeof upd, "0 issue \"other.example\"");
        CHECK(dns_caa(d, upd) == 0);
        if (old) {
            char sql[512], cmd[2048];
            ca_stop(&ca02);
            snprintf(sql, sizeof sql,
                     "UPDATE authzs SET ch_validated=ch_validated-9*3600 WHERE identifier='%s'", d);
            harness_db_cmd(ca02.data, sql, cmd, sizeof cmd);
            CHECK(system(cmd) == 0);
            CHECK(ca_start(&ca02) == 0);
        }
        struct dp_key *ck = dp_key_generate(DP_KEY_EC256, NULL);
        char *pem = NULL;
        dp_code rc = o ? dp_acme_order_finalize(ac.a, o, ck, &pem, &e) : DP_ERR_INVAL;
        if (old)
            CHECK(rc != DP_OK && strstr(problem_type(&ac), ":caa"));
        else
            CHECK(rc == DP_OK);
        free(pem);
        dp_key_free(ck);
        dp_acme_order_free(o);
    }
    CHECK(dns_caa(d, NULL) == 0);
    acct_free(&ac);
}

int main(int argc, char **argv)
{
    int rc = fixture_init(argc, argv, "caa");
    if (rc) return rc;
    fixture_ca(&ca02, "ca02");
    fixture_ca(&cacaa, "cacaa");
    cacaa.caa = 1;
    CHECK(ca_start(&ca02) == 0);
    CHECK(ca_start(&cacaa) == 0);
    if (!check_failed) {
        RUN(caa_is_checked);
        RUN(caa_table);
        RUN(caa_rechecked_at_finalize);
    }
    ca_stop(&ca02);
    ca_stop(&cacaa);
    fixture_done();
    return check_report();
}
