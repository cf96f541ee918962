/*
 * test_ca_persist.c: dnspersist-ca end to end: the dns-persist-01 record rules end to end (draft-02
 * sections 3 and 4: H, S, V and A rules) and the draft-01 form. Its own CAs (the fixture,
 * ca_fixture.h) on the real Knot DNS server.
 *
 * Usage: test_ca_persist PATH/TO/dnspersist-ca   (DP_DNS_ENV names the DNS env file)
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

static void H3_persist_fqdn_and_star_forms(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d1[128], d2[128];
    unique(d1, sizeof d1, "fqdn");
    unique(d2, sizeof d2, "star");
    CHECK(publish(&ca02, &ac, d1, NULL, NULL) == 0);
    CHECK(publish(&ca02, &ac, d2, "*", NULL) == 0);
    struct dp_error e;
    CHECK(issue(&ca02, &ac, d1, &e) == DP_OK);
    CHECK(issue(&ca02, &ac, d2, &e) == DP_OK);
    /* Pre-publication check (A7) passes for a live account. */
    CHECK(dp_acme_account_check(ac.a, &e) == DP_OK);
    acct_free(&ac);
}

static void S2_wildcard_needs_policy(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char base[128], wild[140];
    unique(base, sizeof base, "w");
    CHECK(publish(&ca02, &ac, base, NULL, "; policy=wildcard") == 0);
    snprintf(wild, sizeof wild, "*.%s", base);
    struct dp_error e;
    struct dp_key *ck = dp_key_generate(DP_KEY_EC256, NULL);
    char *pem = NULL;
    const char *names[] = {wild, base};
    CHECK(dp_acme_issue(ac.a, names, 2, ck, &pem, &e) == DP_OK && pem);
    free(pem);
    /* Without policy=wildcard the same name set is refused: unauthorized. */
    CHECK(publish(&ca02, &ac, base, NULL, NULL) == 0);
    const char *only[] = {wild};
    CHECK(dp_acme_issue(ac.a, only, 1, ck, &pem, &e) == DP_ERR_UNAUTHORIZED);
    CHECK(strstr(problem_type(&ac), ":unauthorized") != NULL);
    dp_key_free(ck);
    acct_free(&ac);
}

static void V3_V6_persist_until(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128], extra[64];
    unique(d, sizeof d, "expired");
    snprintf(extra, sizeof extra, "; persistUntil=%ld", (long)time(NULL) - 10);
    CHECK(publish(&ca02, &ac, d, NULL, extra) == 0);
    struct dp_error e;
    CHECK(issue(&ca02, &ac, d, &e) == DP_ERR_UNAUTHORIZED);
    CHECK(strstr(e.detail, "persistUntil") != NULL);
    /* A later persistUntil validates, and the authorization expires no later (V6). */
    long until = (long)time(NULL) + 3600;
    snprintf(extra, sizeof extra, "; persistUntil=%ld", until);
    CHECK(publish(&ca02, &ac, d, NULL, extra) == 0);
    CHECK(issue(&ca02, &ac, d, &e) == DP_OK);
    CHECK(authz_expires(&ca02, d) == until);
    /* Draft 7.9: the reuse period never comes from the record's TTL (the
     * fixture publishes with a TTL of 1 s): without persistUntil the
     * authorization lives the CA's own lifetime (30 days by default). */
    char d2[128];
    unique(d2, sizeof d2, "ttl");
    CHECK(publish(&ca02, &ac, d2, NULL, NULL) == 0);
    CHECK(issue(&ca02, &ac, d2, &e) == DP_OK);
    CHECK(authz_expires(&ca02, d2) > (long)time(NULL) + 29 * 86400);
    acct_free(&ac);
}

static void A6_rollover_keeps_old_records(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128];
    unique(d, sizeof d, "roll");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    CHECK(issue(&ca02, &ac, d, &e) == DP_OK);
    struct dp_key *k2 = dp_key_generate(DP_KEY_EC384, NULL);
    CHECK(dp_acme_key_change(ac.a, k2, &e) == DP_OK);
    CHECK(issue(&ca02, &ac, d, &e) == DP_OK); /* the record still names the old key */
    /* The old key no longer signs for the account. */
    struct dp_acme_config cfg = {ca02.dir, ca02.root, 10000, 0};
    struct dp_acme *old = dp_acme_new(&cfg, ac.key, NULL);
    CHECK(old && dp_acme_account(old, 1, NULL, 0, &e) != DP_OK);
    dp_acme_free(old);
    dp_acme_free(ac.a);
    ac.a = NULL;
    dp_key_free(k2);
    acct_free(&ac);
}

/* Draft 4.2: every key the account ever used stays valid for records,
 * without a cap (the store once kept the last 64). */
static void A6_hundred_rollovers(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128];
    unique(d, sizeof d, "roll100");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0); /* made with the first key */
    struct dp_key *keys[100];
    struct dp_error e;
    int rolled = 0;
    for (int i = 0; i < 100; i++) {
        keys[i] = dp_key_generate(DP_KEY_EC256, NULL);
        rolled += keys[i] && dp_acme_key_change(ac.a, keys[i], &e) == DP_OK;
    }
    CHECK(rolled == 100);
    CHECK(issue(&ca02, &ac, d, &e) == DP_OK);
    dp_acme_free(ac.a);
    ac.a = NULL;
    for (int i = 0; i < 100; i++)
        dp_key_free(keys[i]);
    acct_free(&ac);
}

/* Draft 4.2: a record made with a key 5,000 keys back still validates
 * (the request to the VA once kept the newest 4,096). The history is
 * written into the database (5,000 rollovers would take minutes). */
static void A6_key_behind_five_thousand_others(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128], sql[800];
    unique(d, sizeof d, "roll5000");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0); /* made with the first key */
    struct dp_key *k2 = dp_key_generate(DP_KEY_EC256, NULL);
    struct dp_error e;
    CHECK(k2 && dp_acme_key_change(ac.a, k2, &e) == DP_OK);
    const char *url = dp_acme_account_url(ac.a), *id = url ? strrchr(url, '/') : NULL;
    CHECK(id != NULL);
    if (id) {
        id++;
        if (harness_on_pg())
            snprintf(sql, sizeof sql,
                     "INSERT INTO account_keys(account,thumb) SELECT '%s', lpad(i::text, 42, '0') "
                     "|| 'A' FROM generate_series(1, 5000) i",
                     id);
        else
            snprintf(sql, sizeof sql,
                     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < "
                     "5000) INSERT INTO account_keys(account,thumb) SELECT '%s', "
                     "printf('%%042dA', i) FROM n",
                     id);
        CHECK(db_exec(&ca02, sql) == 0);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM account_keys WHERE account='%s'", id);
        CHECK(db_long(&ca02, sql) == 5002);
        CHECK(issue(&ca02, &ac, d, &e) == DP_OK);
    }
    dp_acme_free(ac.a);
    ac.a = NULL;
    dp_key_free(k2);
    acct_free(&ac);
}

/* Draft 4.5: a prefix replaced by --hash-prefix keeps its records
 * validating by itself: it is recorded as a previous prefix (and stays so
 * across restarts) until the operator says --forget-hash-prefix. Records
 * under it are published once, for three names, each issued at one step
 * (an issued name's authorization would be reused). */
static void H1_replaced_prefix_kept_by_itself(void)
{
    struct ca c = {0};
    c.port = harness_free_port();
    snprintf(c.data, sizeof c.data, "%s/cakeep", tmpdir);
    CHECK(ca_start(&c) == 0);
    struct acct ac;
    CHECK(acct_new(&c, &ac) == 0);
    char d[3][128], old[256];
    for (int i = 0; i < 3; i++) {
        unique(d[i], sizeof d[i], "keep");
        CHECK(publish(&c, &ac, d[i], NULL, NULL) == 0); /* under the first prefix */
    }
    snprintf(old, sizeof old, "%s", c.prefix);
    ca_stop(&c);
    struct dp_error e;
    c.extra[0] = "--hash-prefix";
    c.extra[1] = "https://hashes.ca.test/k/";
    CHECK(ca_start(&c) == 0);
    CHECK(log_has(&c, "recorded as a previous prefix", old));
    CHECK(issue(&c, &ac, d[0], &e) == DP_OK);
    ca_stop(&c);
    c.extra[0] = c.extra[1] = NULL; /* the new prefix and the old one, as recorded */
    CHECK(ca_start(&c) == 0);
    CHECK(issue(&c, &ac, d[1], &e) == DP_OK);
    ca_stop(&c);
    c.extra[0] = "--forget-hash-prefix";
    c.extra[1] = old;
    CHECK(ca_start(&c) == 0);
    CHECK(issue(&c, &ac, d[2], &e) != DP_OK);
    acct_free(&ac);
    ca_stop(&c);
}

/* Draft 4.5: a CA that changes its accountHashPrefix keeps records made
 * under the old one valid with --previous-hash-prefix. */
static void H1_previous_hash_prefix(void)
{
    struct ca c = {0};
    c.port = harness_free_port();
    snprintf(c.data, sizeof c.data, "%s/caprev", tmpdir);
    CHECK(ca_start(&c) == 0);
    struct acct ac;
    CHECK(acct_new(&c, &ac) == 0);
    char d1[128], d2[128], old[256];
    unique(d1, sizeof d1, "prev-old");
    unique(d2, sizeof d2, "prev-new");
    CHECK(publish(&c, &ac, d1, NULL, NULL) == 0); /* under the first prefix */
    snprintf(old, sizeof old, "%s", c.prefix);
    ca_stop(&c);
    c.extra[0] = "--hash-prefix";
    c.extra[1] = "https://hashes.ca.test/h/";
    c.extra[2] = "--previous-hash-prefix";
    c.extra[3] = old;
    CHECK(ca_start(&c) == 0);
    snprintf(c.prefix, sizeof c.prefix, "https://hashes.ca.test/h/");
    CHECK(publish(&c, &ac, d2, NULL, NULL) == 0); /* under the new one */
    struct dp_error e;
    CHECK(issue(&c, &ac, d1, &e) == DP_OK);
    CHECK(issue(&c, &ac, d2, &e) == DP_OK);
    acct_free(&ac);
    ca_stop(&c);
}

static void V1_record_removed_between_orders(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128];
    unique(d, sizeof d, "removed");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    CHECK(issue(&ca02, &ac, d, &e) == DP_OK);
    CHECK(unpublish(d) == 0);
    CHECK(issue(&ca02, &ac, d, &e) == DP_ERR_UNAUTHORIZED);
    acct_free(&ac);
}

/* V7 keys on the record that failed: names under one failing parent
 * record count against that record (the 21st is rate-limited), while a
 * sibling with a good record of its own still validates. */
static void V7_failures_count_per_record(void)
{
    struct acct ac, other;
    CHECK(acct_new(&ca02, &ac) == 0);
    CHECK(acct_new(&ca02, &other) == 0);
    char p[128], n[200];
    unique(p, sizeof p, "v7");
    /* The parent's record is another account's: every name below fails. */
    CHECK(publish(&ca02, &other, p, NULL, "; policy=wildcard") == 0);
    struct dp_error e;
    int unauthorized = 0, limited = 0;
    for (int i = 0; i < 21; i++) {
        snprintf(n, sizeof n, "n%d.%s", i, p);
        dp_code rc = issue(&ca02, &ac, n, &e);
        const char *t = rc == DP_OK ? "" : problem_type(&ac);
        unauthorized += strstr(t, ":unauthorized") != NULL;
        limited += strstr(t, ":rateLimited") != NULL;
    }
    CHECK(unauthorized == 20 && limited == 1);
    /* The count is in the database: a restart does not reset it. */
    ca_stop(&ca02);
    CHECK(ca_start(&ca02) == 0);
    snprintf(n, sizeof n, "n21.%s", p);
    CHECK(issue(&ca02, &ac, n, &e) != DP_OK && strstr(problem_type(&ac), ":rateLimited"));
    snprintf(n, sizeof n, "own.%s", p);
    CHECK(publish(&ca02, &ac, n, NULL, NULL) == 0);
    CHECK(issue(&ca02, &ac, n, &e) == DP_OK);
    acct_free(&ac);
    acct_free(&other);
}

static void V5_deactivated_account(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128];
    unique(d, sizeof d, "deact");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    CHECK(dp_acme_deactivate(ac.a, &e) == DP_OK);
    CHECK(issue(&ca02, &ac, d, &e) == DP_ERR_UNAUTHORIZED);
    CHECK(dp_acme_account_check(ac.a, &e) != DP_OK); /* A7 refuses a deactivated account */
    acct_free(&ac);
}

/* RFC 8555 7.3.6: deactivating an account deactivates its pending
 * authorizations and makes its pending orders invalid, in the database,
 * with an error saying why. */
static void deactivation_cancels_pending_work(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d1[128], d2[128], sql[512];
    unique(d1, sizeof d1, "cancel");
    unique(d2, sizeof d2, "cancel");
    const char *n1[] = {d1}, *n2[] = {d2};
    struct dp_acme_order *o1 = NULL, *o2 = NULL;
    struct dp_error e;
    CHECK(dp_acme_order_new(ac.a, n1, 1, &o1, &e) == DP_OK);
    CHECK(dp_acme_order_new(ac.a, n2, 1, &o2, &e) == DP_OK);
    CHECK(o1 && !strcmp(dp_acme_order_status(o1), "pending"));
    const char *url = dp_acme_account_url(ac.a), *id = url ? strrchr(url, '/') : NULL;
    CHECK(id != NULL);
    if (!id) goto out;
    id++;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM authzs WHERE account='%s' AND status='pending'",
             id);
    CHECK(db_long(&ca02, sql) == 2);
    CHECK(dp_acme_deactivate(ac.a, &e) == DP_OK);
    CHECK(db_long(&ca02, sql) == 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM authzs WHERE account='%s' AND status='deactivated'", id);
    CHECK(db_long(&ca02, sql) == 2);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM orders WHERE account='%s' AND status='invalid' AND error LIKE "
             "'%%unauthorized%%deactivated%%'",
             id);
    CHECK(db_long(&ca02, sql) == 2);
out:
    dp_acme_order_free(o1);
    dp_acme_order_free(o2);
    acct_free(&ac);
}

static void draft01_plain_url_records(void)
{
    struct acct ac, ac2;
    CHECK(acct_new(&ca01, &ac) == 0);
    CHECK(acct_new(&ca02, &ac2) == 0);
    char d[128], n[200], v[700];
    unique(d, sizeof d, "plain");
    snprintf(n, sizeof n, "_validation-persist.%s", d);
    snprintf(v, sizeof v, "ca.test; accounturi=%s", dp_acme_account_url(ac.a));
    CHECK(dns_set(n, v) == 0);
    struct dp_error e;
    CHECK(issue(&ca01, &ac, d, &e) == DP_OK);
    /* A draft-02 CA calls a plain URL malformed (H4). */
    snprintf(v, sizeof v, "ca.test; accounturi=%s", dp_acme_account_url(ac2.a));
    CHECK(dns_set(n, v) == 0);
    CHECK(issue(&ca02, &ac2, d, &e) == DP_ERR_MALFORMED);
    CHECK(strstr(problem_type(&ac2), ":malformed") != NULL);
    /* Compat mode still takes hashed records. */
    CHECK(publish(&ca01, &ac, d, NULL, NULL) == 0);
    CHECK(issue(&ca01, &ac, d, &e) == DP_OK);
    acct_free(&ac);
    acct_free(&ac2);
}

int main(int argc, char **argv)
{
    int rc = fixture_init(argc, argv, "persist");
    if (rc) return rc;
    fixture_ca(&ca02, "ca02");
    fixture_ca(&ca01, "ca01");
    ca01.compat = 1;
    ca01.no_jit = 1;
    CHECK(ca_start(&ca02) == 0);
    CHECK(ca_start(&ca01) == 0);
    if (!check_failed) {
        RUN(H3_persist_fqdn_and_star_forms);
        RUN(S2_wildcard_needs_policy);
        RUN(V3_V6_persist_until);
        RUN(A6_rollover_keeps_old_records);
        RUN(A6_hundred_rollovers);
        RUN(A6_key_behind_five_thousand_others);
        RUN(H1_previous_hash_prefix);
        RUN(H1_replaced_prefix_kept_by_itself);
        RUN(V1_record_removed_between_orders);
        RUN(V7_failures_count_per_record);
        RUN(V5_deactivated_account);
        RUN(deactivation_cancels_pending_work);
        RUN(draft01_plain_url_records);
    }
    ca_stop(&ca02);
    ca_stop(&ca01);
    fixture_done();
    return check_report();
}
