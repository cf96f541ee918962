/*
 * test_ca_order.c: dnspersist-ca end to end: orders: finalize across a restart, Just-in-Time
 * validation (draft 4.4), certificate profiles and the rate limits. Its own CAs (the fixture,
 * ca_fixture.h) on the real Knot DNS server.
 *
 * Usage: test_ca_order PATH/TO/dnspersist-ca   (DP_DNS_ENV names the DNS env file)
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

static struct ca ca02, ca01;

static void restart_between_order_and_finalize(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128];
    unique(d, sizeof d, "restart");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    struct dp_acme_order *o = NULL;
    const char *names[] = {d};
    CHECK(dp_acme_order_new(ac.a, names, 1, &o, &e) == DP_OK);
    CHECK(o && dp_acme_order_validate(ac.a, o, &e) == DP_OK);
    ca_stop(&ca02);
    CHECK(ca_start(&ca02) == 0);
    struct dp_key *ck = dp_key_generate(DP_KEY_RSA2048, NULL);
    char *pem = NULL;
    CHECK(o && dp_acme_order_finalize(ac.a, o, ck, &pem, &e) == DP_OK);
    if (!pem) fprintf(stderr, "finalize after restart: %s\n", e.detail);
    CHECK(pem && chain_ok(&ca02, pem, names, 1));
    free(pem);
    dp_key_free(ck);
    dp_acme_order_free(o);
    acct_free(&ac);
}

/* Draft 4.4: an account that has passed dns-persist-01 gets new orders
 * ready at once when its records cover every name; otherwise the order is
 * pending with its challenges, as without Just-in-Time validation. */
static void A5_just_in_time(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d1[128], d2[128], d3[128], d4[128], st[16], extra[64];
    unique(d1, sizeof d1, "jit");
    unique(d2, sizeof d2, "jit");
    unique(d3, sizeof d3, "jitnone");
    unique(d4, sizeof d4, "jituntil");
    long until = (long)time(NULL) + 7200;
    snprintf(extra, sizeof extra, "; persistUntil=%ld", until);
    CHECK(publish(&ca02, &ac, d1, NULL, NULL) == 0);
    CHECK(publish(&ca02, &ac, d2, NULL, NULL) == 0);
    CHECK(publish(&ca02, &ac, d4, NULL, extra) == 0);
    /* Not before the account's first dns-persist-01 validation. */
    order_status(&ac, d1, st);
    CHECK_STR(st, "pending");
    struct dp_error e;
    CHECK(issue(&ca02, &ac, d1, &e) == DP_OK);
    /* Now a name its record covers is authorized at order time, and logged. */
    order_status(&ac, d2, st);
    CHECK_STR(st, "ready");
    CHECK(log_has(&ca02, d2, "just in time"));
    CHECK(issue(&ca02, &ac, d2, &e) == DP_OK);
    /* No record: pending with the challenge, which then fails as usual. */
    order_status(&ac, d3, st);
    CHECK_STR(st, "pending");
    CHECK(issue(&ca02, &ac, d3, &e) == DP_ERR_UNAUTHORIZED);
    /* V6: the Just-in-Time authorization ends at persistUntil. */
    order_status(&ac, d4, st);
    CHECK_STR(st, "ready");
    CHECK(authz_expires(&ca02, d4) == until);
    /* V1: every order looks again; a removed record stops it. */
    CHECK(unpublish(d2) == 0);
    order_status(&ac, d2, st);
    CHECK_STR(st, "pending");
    /* Another account's order for the same name is not covered (V3). */
    struct acct other;
    CHECK(acct_new(&ca02, &other) == 0);
    CHECK(issue(&ca02, &other, d1, &e) == DP_ERR_UNAUTHORIZED);
    CHECK(publish(&ca02, &other, d3, NULL, NULL) == 0);
    CHECK(issue(&ca02, &other, d3, &e) == DP_OK);
    order_status(&other, d1, st);
    CHECK_STR(st, "pending");
    /* --no-jit: every order starts pending. */
    struct acct c1;
    CHECK(acct_new(&ca01, &c1) == 0);
    char d5[128], d6[128];
    unique(d5, sizeof d5, "nojit");
    unique(d6, sizeof d6, "nojit");
    CHECK(publish(&ca01, &c1, d5, "*", NULL) == 0);
    CHECK(publish(&ca01, &c1, d6, "*", NULL) == 0);
    CHECK(issue(&ca01, &c1, d5, &e) == DP_OK);
    order_status(&c1, d6, st);
    CHECK_STR(st, "pending");
    CHECK(issue(&ca01, &c1, d6, &e) == DP_OK);
    acct_free(&ac);
    acct_free(&other);
    acct_free(&c1);
}

/* Wildcards need policy=wildcard just as with the challenge (S2), and one
 * domain gets at most 10 Just-in-Time look-ups a minute whatever the
 * account (draft 4.4's amplification limit); past it orders stay pending. */
static void A5_just_in_time_limits(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128], w[140], st[16];
    unique(d, sizeof d, "jitlimit");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    CHECK(issue(&ca02, &ac, d, &e) == DP_OK);
    snprintf(w, sizeof w, "*.%s", d);
    order_status(&ac, w, st); /* no policy=wildcard: not covered */
    CHECK_STR(st, "pending");
    CHECK(publish(&ca02, &ac, d, NULL, "; policy=wildcard") == 0);
    order_status(&ac, w, st);
    CHECK_STR(st, "ready");
    /* The two wildcard orders looked up d's record: 8 look-ups are left. */
    int ready = 0;
    for (int i = 0; i < 8; i++) {
        order_status(&ac, d, st);
        ready += !strcmp(st, "ready");
    }
    CHECK(ready == 8);
    order_status(&ac, d, st);
    CHECK_STR(st, "pending");
    acct_free(&ac);
}

/* Issues name under profile; the leaf, or NULL. */
static X509 *issue_leaf(const struct ca *c, struct acct *ac, const char *name, const char *profile)
{
    struct dp_error e;
    if (dp_acme_set_profile(ac->a, profile, &e) != DP_OK) {
        fprintf(stderr, "profile %s: %s\n", profile ? profile : "(default)", e.detail);
        return NULL;
    }
    struct dp_key *ck = dp_key_generate(DP_KEY_EC256, NULL);
    char *pem = NULL;
    const char *names[] = {name};
    dp_code rc = dp_acme_issue(ac->a, names, 1, ck, &pem, &e);
    dp_key_free(ck);
    if (rc != DP_OK || !chain_ok(c, pem, names, 1)) {
        fprintf(stderr, "issue %s (%s): %s\n", name, profile ? profile : "default", e.detail);
        free(pem);
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    return x;
}

struct shape {
    long lifetime; /* seconds, notAfter - notBefore - 60 (backdated) */
    int cn, crl, client_auth;
};

static struct shape shape_of(X509 *x)
{
    struct shape sh = {-1, -1, -1, -1};
    if (!x) return sh;
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
    sh.lifetime = (long)days * 86400 + secs - 60;
    sh.cn = X509_NAME_entry_count(X509_get_subject_name(x)) > 0;
    sh.crl = X509_get_ext_by_NID(x, NID_crl_distribution_points, -1) >= 0;
    uint32_t xku = X509_get_extended_key_usage(x);
    sh.client_auth = (xku & XKU_SSL_CLIENT) != 0;
    if (!(xku & XKU_SSL_SERVER)) sh.lifetime = -2; /* every profile is for TLS servers */
    return sh;
}

/* Certificate profiles (draft-ietf-acme-profiles): each built-in one and
 * one an operator defined, checked in the certificates themselves; the
 * default when none is asked for. */
static void profiles_shape_certificates(void)
{
    struct ca pc = {0};
    snprintf(pc.data, sizeof pc.data, "%s/caprof", tmpdir);
    pc.port = harness_free_port();
    /* The operator's profile and default come from a config file. */
    char conf[600];
    snprintf(conf, sizeof conf, "%s/caprof.conf", tmpdir);
    FILE *cf = fopen(conf, "w");
    if (cf) {
        fputs("# a fleet of devices\n"
              "profile iot lifetime=2d cn=yes crl=no eku=serverAuth,clientAuth "
              "challenges=dns-persist-01 description=Devices of the fleet\n"
              "default-profile tlsserver\n",
              cf);
        fclose(cf);
    }
    pc.extra[0] = "--config";
    pc.extra[1] = conf;
    CHECK(ca_start(&pc) == 0);
    struct acct ac;
    CHECK(acct_new(&pc, &ac) == 0);
    const char *const *names, *const *descs;
    size_t np = dp_acme_profiles(ac.a, &names, &descs);
    int listed = np == 4;
    for (size_t i = 0; i < np; i++)
        listed &= !strcmp(names[i], "classic") || !strcmp(names[i], "tlsserver") ||
                  !strcmp(names[i], "shortlived") ||
                  (!strcmp(names[i], "iot") && !strcmp(descs[i], "Devices of the fleet"));
    CHECK(listed);
    struct dp_error e;
    static const struct {
        const char *profile;
        struct shape want;
    } cases[] = {
        {"classic", {90L * 86400, 1, 1, 0}},    {"tlsserver", {90L * 86400, 0, 1, 0}},
        {"shortlived", {160L * 3600, 0, 0, 0}}, {"iot", {2L * 86400, 1, 0, 1}},
        {NULL, {90L * 86400, 0, 1, 0}}, /* the default: tlsserver */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char d[128];
        unique(d, sizeof d, "prof");
        CHECK(publish(&pc, &ac, d, NULL, NULL) == 0);
        X509 *x = issue_leaf(&pc, &ac, d, cases[i].profile);
        struct shape got = shape_of(x), want = cases[i].want;
        int good = x && got.lifetime == want.lifetime && got.cn == want.cn && got.crl == want.crl &&
                   got.client_auth == want.client_auth;
        if (!good)
            fprintf(stderr, "profile %s: lifetime %ld cn %d crl %d clientAuth %d\n",
                    cases[i].profile ? cases[i].profile : "(default)", got.lifetime, got.cn,
                    got.crl, got.client_auth);
        CHECK(good);
        printf("%s profile_%s\n", good ? "ok  " : "FAIL",
               cases[i].profile ? cases[i].profile : "default");
        /* RFC 9773: the renewal window follows the certificate's own
         * lifetime (its last third), short-lived ones included. */
        BIO *b = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long pl = x && b && PEM_write_bio_X509(b, x) ? BIO_get_mem_data(b, &pem) : 0;
        char *pz = pl > 0 ? strndup(pem, (size_t)pl) : NULL;
        int64_t ws = 0, we = 0;
        int windowed = pz && dp_acme_renewal_info(ac.a, pz, &ws, &we, &e) == DP_OK;
        long span = got.lifetime + 60, into = 0;
        if (windowed) {
            int dd = 0, sec = 0;
            ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)ws);
            ASN1_TIME_diff(&dd, &sec, X509_get0_notBefore(x), t);
            ASN1_TIME_free(t);
            into = (long)dd * 86400 + sec;
        }
        /* opens between 60% and 75% of the way */
        CHECK(windowed && into * 100 >= span * 60 && into * 100 <= span * 75);
        free(pz);
        BIO_free(b);
        X509_free(x);
        unpublish(d);
    }
    /* The client refuses a profile the CA does not offer, naming those it does. */
    CHECK(dp_acme_set_profile(ac.a, "nope", &e) == DP_ERR_UNSUPPORTED &&
          strstr(e.detail, "shortlived"));
    acct_free(&ac);
    ca_stop(&pc);
}

/* One order for name; 0 created, else the problem's type in type. */
static int order_one(struct acct *ac, const char *name, char *type, size_t cap)
{
    struct dp_acme_order *o = NULL;
    const char *names[] = {name};
    struct dp_error e;
    dp_code rc = dp_acme_order_new(ac->a, names, 1, &o, &e);
    dp_acme_order_free(o);
    snprintf(type, cap, "%s", rc == DP_OK ? "" : problem_type(ac));
    return rc == DP_OK ? 0 : -1;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && !strcmp(s + a - b, tail);
}

/* Each rate limit (issue 11, item 4) against a CA with small limits from a
 * --rate-limits file: refused with rateLimited naming the limit, the counts
 * kept through a restart. */
static void rate_limits(void)
{
    struct ca rl = {0}, rl2 = {0};
    char file[600], file2[600], type[160];
    snprintf(file, sizeof file, "%s/limits", tmpdir);
    snprintf(file2, sizeof file2, "%s/limits2", tmpdir);
    FILE *f = fopen(file, "w"), *f2 = fopen(file2, "w");
    if (f)
        fputs("# small limits for the test\n"
              "new-accounts-per-ip 3 1h\n"
              "pending-authorizations-per-account 2\n"
              "certificates-per-domain 3 1h\n"
              "duplicate-certificates 1 1h\n",
              f);
    if (f2) fputs("new-orders-per-account 3 1h\n", f2);
    if (f) fclose(f);
    if (f2) fclose(f2);
    snprintf(rl.data, sizeof rl.data, "%s/carl", tmpdir);
    rl.port = harness_free_port();
    rl.extra[0] = "--rate-limits";
    rl.extra[1] = file;
    CHECK(ca_start(&rl) == 0);
    /* new-accounts-per-ip: 3 from this address, then refused. */
    struct acct a[4];
    for (int i = 0; i < 3; i++)
        CHECK(acct_new(&rl, &a[i]) == 0);
    a[3].key = dp_key_generate(DP_KEY_EC256, NULL);
    struct dp_acme_config cfg = {rl.dir, rl.root, 10000, 20000};
    struct dp_error e;
    a[3].a = dp_acme_new(&cfg, a[3].key, &e);
    CHECK(a[3].a && dp_acme_account(a[3].a, 0, NULL, 1, &e) != DP_OK);
    CHECK(a[3].a && ends_with(problem_type(&a[3]), ":rateLimited"));
    CHECK(strstr(e.detail, "new-accounts-per-ip: 3 per 1h") != NULL);
    /* The count survives a restart. */
    ca_stop(&rl);
    CHECK(ca_start(&rl) == 0);
    CHECK(a[3].a && dp_acme_account(a[3].a, 0, NULL, 1, &e) != DP_OK);
    CHECK(a[3].a && ends_with(problem_type(&a[3]), ":rateLimited"));
    /* pending-authorizations-per-account: 2 names without records, then refused. */
    char p1[128], p2[128], p3[128];
    unique(p1, sizeof p1, "pend");
    unique(p2, sizeof p2, "pend");
    unique(p3, sizeof p3, "pend");
    CHECK(order_one(&a[0], p1, type, sizeof type) == 0);
    CHECK(order_one(&a[0], p2, type, sizeof type) == 0);
    CHECK(order_one(&a[0], p3, type, sizeof type) != 0 && ends_with(type, ":rateLimited"));
    CHECK(strstr(dp_acme_last_problem(a[0].a)->detail, "pending-authorizations-per-account"));
    /* duplicate-certificates (1) and certificates-per-domain (3 for web.test). */
    char d[4][128];
    for (int i = 0; i < 4; i++) {
        unique(d[i], sizeof d[i], "rl");
        CHECK(publish(&rl, &a[1], d[i], NULL, NULL) == 0);
    }
    CHECK(issue(&rl, &a[1], d[0], &e) == DP_OK);
    CHECK(order_one(&a[1], d[0], type, sizeof type) != 0 && ends_with(type, ":rateLimited"));
    CHECK(strstr(dp_acme_last_problem(a[1].a)->detail, "duplicate-certificates: 1 per 1h"));
    CHECK(issue(&rl, &a[1], d[1], &e) == DP_OK);
    CHECK(issue(&rl, &a[1], d[2], &e) == DP_OK);
    CHECK(order_one(&a[1], d[3], type, sizeof type) != 0 && ends_with(type, ":rateLimited"));
    CHECK(strstr(dp_acme_last_problem(a[1].a)->detail,
                 "certificates-per-domain: 3 per 1h reached for web.test"));
    for (int i = 0; i < 4; i++) {
        unpublish(d[i]);
        acct_free(&a[i]);
    }
    ca_stop(&rl);
    /* new-orders-per-account: 3, then refused. */
    snprintf(rl2.data, sizeof rl2.data, "%s/carl2", tmpdir);
    rl2.port = harness_free_port();
    rl2.extra[0] = "--rate-limits";
    rl2.extra[1] = file2;
    CHECK(ca_start(&rl2) == 0);
    struct acct b;
    CHECK(acct_new(&rl2, &b) == 0);
    for (int i = 0; i < 3; i++) {
        unique(p1, sizeof p1, "ord");
        CHECK(order_one(&b, p1, type, sizeof type) == 0);
    }
    unique(p1, sizeof p1, "ord");
    CHECK(order_one(&b, p1, type, sizeof type) != 0 && ends_with(type, ":rateLimited"));
    CHECK(strstr(dp_acme_last_problem(b.a)->detail, "new-orders-per-account: 3 per 1h"));
    /* The refusal and the order are one transaction: nothing of it stored. */
    char q[400];
    snprintf(q, sizeof q, "SELECT count(*) FROM authzs WHERE identifier='%s'", p1);
    CHECK(db_long(&rl2, "SELECT count(*) FROM orders") == 3 && db_long(&rl2, q) == 0);
    acct_free(&b);
    ca_stop(&rl2);
    /* A bad file refuses the start, naming the line. */
    f = fopen(file2, "w");
    if (f) fputs("new-orders-per-account 3 1h\nno-such-limit 5 1h\n", f);
    if (f) fclose(f);
    CHECK(ca_start(&rl2) != 0);
    char log[700], line[600] = "";
    snprintf(log, sizeof log, "%s", rl2.log);
    FILE *lf = fopen(log, "r");
    int named = 0;
    while (lf && fgets(line, sizeof line, lf))
        named |= strstr(line, "limits2 line 2") != NULL;
    if (lf) fclose(lf);
    CHECK(named);
    ca_stop(&rl2);
}

int main(int argc, char **argv)
{
    int rc = fixture_init(argc, argv, "order");
    if (rc) return rc;
    fixture_ca(&ca02, "ca02");
    fixture_ca(&ca01, "ca01");
    ca01.compat = 1;
    ca01.no_jit = 1;
    CHECK(ca_start(&ca02) == 0);
    CHECK(ca_start(&ca01) == 0);
    if (!check_failed) {
        RUN(restart_between_order_and_finalize);
        RUN(A5_just_in_time);
        RUN(A5_just_in_time_limits);
        RUN(rate_limits);
        RUN(profiles_shape_certificates);
    }
    ca_stop(&ca02);
    ca_stop(&ca01);
    fixture_done();
    return check_report();
}
