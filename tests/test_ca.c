/*
 * test_ca.c: dnspersist-ca end to end with the library's ACME client, the
 * real Knot DNS server of tests/dns/knot-env.sh (records published with
 * RFC 2136 updates through knsupdate) and real certificates checked with
 * OpenSSL against the CA's root.
 *
 * Usage: test_ca PATH/TO/dnspersist-ca   (DP_DNS_ENV names the DNS env file)
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca_harness.h"
#include "check.h"
#include "dns_env.h"
#include "dnspersist/dnspersist.h"

static struct dns_env env;
static const char *ca_bin;
static char tmpdir[256];

struct ca {
    pid_t pid;
    int port;
    char data[512], dir[256], root[600], prefix[256];
    int compat;
    int caa;
    int no_jit;
    const char *extra[4]; /* more arguments, NULL-terminated */
    char log[600];        /* the server's standard error */
};

static int ca_start(struct ca *c)
{
    char listen[64];
    snprintf(listen, sizeof listen, "localhost:%d", c->port);
    char *args[] = {(char *)ca_bin, "--listen", listen, "--data", c->data, "--resolver",
                    env.resolver, "--issuer-domain-name", "ca.test", "--issuer-domain-name",
                    "backup.ca.test", "--threads", "2",
                    /* Just-in-Time answers in the order, however slow the
                     * machine (sanitizers): the tests look at the result */
                    "--jit-wait", "5s", c->compat ? "--draft01-compat" : NULL, NULL, NULL, NULL,
                    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    int ai = c->compat ? 16 : 15;
    if (c->caa) {
        args[ai++] = "--caa-identity";
        args[ai++] = "ca.test";
        args[ai++] = "--caa-identity";
        args[ai++] = "backup.ca.test";
    }
    if (c->no_jit) args[ai++] = "--no-jit";
    for (int i = 0; i < 4 && c->extra[i]; i++)
        args[ai++] = (char *)c->extra[i];
    snprintf(c->log, sizeof c->log, "%s.log", c->data);
    c->pid = harness_spawn_log(ca_bin, args, c->log);
    snprintf(c->dir, sizeof c->dir, "https://localhost:%d/directory", c->port);
    snprintf(c->root, sizeof c->root, "%s/root.pem", c->data);
    snprintf(c->prefix, sizeof c->prefix, "https://localhost:%d/acme/account-hash/", c->port);
    long long deadline = harness_deadline(90);
    int st = 0;
    while (harness_now_ms() < deadline) { /* until the directory answers */
        struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
        struct dp_acme_config cfg = {c->dir, c->root, 2000, 0};
        struct dp_acme *a = access(c->root, R_OK) == 0 ? dp_acme_new(&cfg, k, NULL) : NULL;
        dp_acme_free(a);
        dp_key_free(k);
        if (a) return 0;
        if (!harness_running(c->pid, &st)) {
            fprintf(stderr, "the CA at %s exited (status %d) before answering; see %s\n", c->dir,
                    st, c->log);
            return -1;
        }
        harness_poll_pause();
    }
    fprintf(stderr, "the CA at %s did not answer within the deadline; see %s\n", c->dir, c->log);
    return -1;
}

static void ca_stop(struct ca *c)
{
    harness_stop(c->pid);
    c->pid = 0;
}

/* RFC 2136 update through knsupdate: add (value) or delete (NULL) the TXT RRset. */
static int dns_set(const char *name, const char *value)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "knsupdate -y hmac-sha256:test-key:%s", env.tsig_secret);
    FILE *p = popen(cmd, "w");
    if (!p) return -1;
    fprintf(p, "server 127.0.0.1 %s\nzone web.test\nupdate delete %s. TXT\n", env.port, name);
    if (value) {
        char *pres = dp_txt_presentation_alloc(value, strlen(value));
        fprintf(p, "update add %s. 1 TXT %s\n", name, pres);
        free(pres);
    }
    fprintf(p, "send\n");
    return pclose(p) == 0 ? 0 : -1;
}

/* Replaces the CAA RRset of name (NULL value: deletes it). */
static int dns_caa(const char *name, const char *value)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "knsupdate -y hmac-sha256:test-key:%s", env.tsig_secret);
    FILE *p = popen(cmd, "w");
    if (!p) return -1;
    fprintf(p, "server 127.0.0.1 %s\nzone web.test\nupdate delete %s. CAA\n", env.port, name);
    if (value) fprintf(p, "update add %s. 1 CAA %s\n", name, value);
    fprintf(p, "send\n");
    return pclose(p) == 0 ? 0 : -1;
}

struct acct {
    struct dp_key *key;
    struct dp_acme *a;
};

static int acct_new(const struct ca *c, struct acct *ac)
{
    ac->key = dp_key_generate(DP_KEY_EC256, NULL);
    struct dp_acme_config cfg = {c->dir, c->root, 10000, 20000};
    struct dp_error e;
    ac->a = dp_acme_new(&cfg, ac->key, &e);
    if (!ac->a || dp_acme_account(ac->a, 0, "mailto:ops@web.test", 1, &e) != DP_OK) {
        fprintf(stderr, "account: %s\n", e.detail);
        return -1;
    }
    return 0;
}

static void acct_free(struct acct *ac)
{
    dp_acme_free(ac->a);
    dp_key_free(ac->key);
}

/* Publishes at _validation-persist.NAME this account's record (its current
 * key) for form (NAME itself when NULL, "*" for the domain-free form), plus
 * extra. */
static int publish(const struct ca *c, const struct acct *ac, const char *name, const char *form,
                   const char *extra)
{
    char *uri =
        dp_hashuri_compute_alloc(DP_HASH_SHA256, c->prefix, form ? form : name,
                                 dp_key_thumbprint(ac->key), dp_acme_account_url(ac->a), NULL);
    char n[600], v[1024];
    snprintf(n, sizeof n, "_validation-persist.%s", name);
    snprintf(v, sizeof v, "ca.test; accounturi=%s%s", uri ? uri : "?", extra ? extra : "");
    free(uri);
    return dns_set(n, v);
}

static int unpublish(const char *name)
{
    char n[600];
    snprintf(n, sizeof n, "_validation-persist.%s", name);
    return dns_set(n, NULL);
}

/* Checks the chain against the CA's root, and that names are the SANs. */
static int chain_ok(const struct ca *c, const char *pem, const char *const *names, size_t n)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *leaf = PEM_read_bio_X509(b, NULL, NULL, NULL),
         *inter = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    FILE *f = fopen(c->root, "r");
    X509 *root = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f) fclose(f);
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509) *chain = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = leaf && inter && root && X509_STORE_add_cert(st, root) && sk_X509_push(chain, inter) &&
             X509_STORE_CTX_init(ctx, st, leaf, chain) && X509_verify_cert(ctx) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = X509_check_host(leaf, names[i], 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1 ||
             (names[i][0] == '*' && X509_check_host(leaf, names[i] + 2, 0, 0, NULL) != 1 &&
              X509_check_host(leaf, "x.w.web.test", 0, 0, NULL) == 1);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(chain);
    X509_STORE_free(st);
    X509_free(leaf);
    X509_free(inter);
    X509_free(root);
    return ok;
}

static dp_code issue(const struct ca *c, struct acct *ac, const char *name, struct dp_error *e)
{
    struct dp_key *ck = dp_key_generate(DP_KEY_EC256, NULL);
    char *pem = NULL;
    const char *names[] = {name};
    dp_code rc = dp_acme_issue(ac->a, names, 1, ck, &pem, e);
    if (rc == DP_OK && !chain_ok(c, pem, names, 1)) {
        fprintf(stderr, "chain for %s does not verify\n", name);
        rc = DP_ERR_CRYPTO;
    }
    /* The certificate carries the CSR's key. */
    if (rc == DP_OK) {
        BIO *b = BIO_new_mem_buf(pem, -1);
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        unsigned char *der = NULL;
        int dl = x ? i2d_X509(x, &der) : -1;
        char tp[DP_THUMBPRINT_BUF] = "";
        if (dl <= 0 || dp_jwk_thumbprint_cert(der, (size_t)dl, tp, NULL) != DP_OK ||
            strcmp(tp, dp_key_thumbprint(ck))) {
            fprintf(stderr, "certificate for %s does not carry the CSR key\n", name);
            rc = DP_ERR_CRYPTO;
        }
        OPENSSL_free(der);
        X509_free(x);
        BIO_free(b);
    }
    if (rc != DP_OK && rc != DP_ERR_UNAUTHORIZED && rc != DP_ERR_MALFORMED)
        fprintf(stderr, "issue %s: %s\n", name, e->detail);
    free(pem);
    dp_key_free(ck);
    return rc;
}

static const char *problem_type(const struct acct *ac)
{
    return dp_acme_last_problem(ac->a)->type;
}

static struct ca ca02, ca01, cacaa;
static unsigned serial;

static void unique(char *out, size_t cap, const char *label)
{
    snprintf(out, cap, "%s%u-%ld.web.test", label, ++serial, (long)getpid());
}

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

/* A look-alike of the certificate in pem: same issuer name, serial and
 * authority key identifier, but the attacker's key, self-signed. *key gets
 * the attacker's key (jwk for the request). Caller frees the result. */
static char *forge(const char *pem, struct dp_key **key)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *real = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    char *out = NULL;
    int aki = real ? X509_get_ext_by_NID(real, NID_authority_key_identifier, -1) : -1;
    if (real && pk && x && X509_set_version(x, 2) &&
        X509_set_serialNumber(x, X509_get_serialNumber(real)) &&
        X509_set_issuer_name(x, X509_get_issuer_name(real)) &&
        X509_set_subject_name(x, X509_get_subject_name(real)) &&
        X509_set1_notBefore(x, X509_get0_notBefore(real)) &&
        X509_set1_notAfter(x, X509_get0_notAfter(real)) && X509_set_pubkey(x, pk) &&
        (aki < 0 || X509_add_ext(x, X509_get_ext(real, aki), -1)) &&
        X509_sign(x, pk, EVP_sha256())) {
        BIO *o = BIO_new(BIO_s_mem()), *k = BIO_new(BIO_s_mem());
        char *d;
        long l;
        if (PEM_write_bio_X509(o, x) && (l = BIO_get_mem_data(o, &d)) > 0) out = strndup(d, l);
        if (PEM_write_bio_PrivateKey(k, pk, NULL, NULL, 0, NULL, NULL) &&
            (l = BIO_get_mem_data(k, &d)) > 0)
            *key = dp_key_load_pem(d, (size_t)l, NULL);
        BIO_free(o);
        BIO_free(k);
    }
    X509_free(x);
    X509_free(real);
    EVP_PKEY_free(pk);
    return out;
}

/* RFC 8555 7.6: a certificate copied in issuer and serial but signed by
 * another key revokes nothing; an account authorized for every name may. */
static void revocation_refuses_forgeries(void)
{
    struct acct ac, other;
    CHECK(acct_new(&ca02, &ac) == 0);
    CHECK(acct_new(&ca02, &other) == 0);
    char d[128];
    unique(d, sizeof d, "forge");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    char *pem = NULL;
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL), *evil = NULL;
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem, &e) == DP_OK);
    char *fake = pem ? forge(pem, &evil) : NULL;
    CHECK(fake && evil);
    /* Signed by the look-alike's own key (jwk), and by another account (kid). */
    CHECK(fake && evil && dp_acme_revoke(other.a, fake, 1, evil, &e) != DP_OK &&
          strstr(problem_type(&other), ":malformed"));
    CHECK(fake && dp_acme_revoke(other.a, fake, 1, NULL, &e) != DP_OK);
    char *pem2 = NULL;
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem2, &e) == DP_OK);
    CHECK(pem2 && dp_acme_revoke(other.a, pem2, 0, NULL, &e) == DP_ERR_UNAUTHORIZED);
    /* The other account, once it holds a valid authorization of the name
     * (its own record, its own certificate), may revoke ours. */
    CHECK(publish(&ca02, &other, d, NULL, NULL) == 0);
    CHECK(issue(&ca02, &other, d, &e) == DP_OK);
    CHECK(pem2 && dp_acme_revoke(other.a, pem2, 5, NULL, &e) == DP_OK);
    /* The forgeries revoked nothing: the real certificate is revoked now,
     * for the first time. */
    CHECK(pem && dp_acme_revoke(ac.a, pem, 1, NULL, &e) == DP_OK);
    free(pem);
    free(pem2);
    free(fake);
    dp_key_free(k);
    dp_key_free(evil);
    acct_free(&ac);
    acct_free(&other);
}

/* Writes the leaf and the rest of a PEM chain to two files in tmpdir. */
static int write_chain(const char *pem, const char *leaf_path, const char *rest_path)
{
    const char *second = strstr(pem + 1, "-----BEGIN CERTIFICATE-----");
    FILE *l = fopen(leaf_path, "w"), *r = fopen(rest_path, "w");
    int ok = l && r && second && fwrite(pem, 1, (size_t)(second - pem), l) && fputs(second, r) >= 0;
    if (l) fclose(l);
    if (r) fclose(r);
    return ok ? 0 : -1;
}

/* RFC 5280 CRLs: every certificate names the CRL; after a revocation the
 * CRL (fetched over plain HTTP from that URL) makes `openssl verify
 * -crl_check` refuse the revoked certificate and accept the other. */
static void revocation_published_in_crl(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128];
    unique(d, sizeof d, "crl");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    char *pem1 = NULL, *pem2 = NULL;
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem1, &e) == DP_OK);
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem2, &e) == DP_OK);
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 1, NULL, &e) == DP_OK);
    char p1[600], p2[600], chain[600], crl[600], cmd[4096], url[300] = "";
    snprintf(p1, sizeof p1, "%s/crl-revoked.pem", tmpdir);
    snprintf(p2, sizeof p2, "%s/crl-good.pem", tmpdir);
    snprintf(chain, sizeof chain, "%s/crl-chain.pem", tmpdir);
    snprintf(crl, sizeof crl, "%s/crl.pem", tmpdir);
    CHECK(pem1 && pem2 && write_chain(pem1, p1, chain) == 0 && write_chain(pem2, p2, chain) == 0);
    /* The URL, as the certificate names it. */
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in %s -noout -ext crlDistributionPoints | grep -o 'http://[^ ]*'", p1);
    FILE *f = popen(cmd, "r");
    if (f && !fgets(url, sizeof url, f)) url[0] = '\0';
    if (f) pclose(f);
    url[strcspn(url, "\n")] = '\0';
    CHECK(!strncmp(url, "http://localhost:", 17));
    snprintf(cmd, sizeof cmd, "curl -sf '%s' | openssl crl -inform DER -out %s", url, crl);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "openssl verify -crl_check -CAfile %s -untrusted %s -CRLfile %s %s 2>&1 | "
             "grep -q 'certificate revoked'",
             ca02.root, chain, crl, p1);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "openssl verify -crl_check -CAfile %s -untrusted %s -CRLfile %s %s >/dev/null 2>&1",
             ca02.root, chain, crl, p2);
    CHECK(system(cmd) == 0);
    /* Reason keyCompromise (1) is in the CRL entry. */
    snprintf(cmd, sizeof cmd, "openssl crl -in %s -noout -text | grep -q 'Key Compromise'", crl);
    CHECK(system(cmd) == 0);
    free(pem1);
    free(pem2);
    dp_key_free(k);
    acct_free(&ac);
}

static void revocation_by_account_and_by_key(void)
{
    struct acct ac, other;
    CHECK(acct_new(&ca02, &ac) == 0);
    CHECK(acct_new(&ca02, &other) == 0);
    char d[128];
    unique(d, sizeof d, "revoke");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    char *pem1 = NULL, *pem2 = NULL;
    struct dp_key *k1 = dp_key_generate(DP_KEY_EC256, NULL),
                  *k2 = dp_key_generate(DP_KEY_RSA2048, NULL);
    CHECK(dp_acme_issue(ac.a, names, 1, k1, &pem1, &e) == DP_OK);
    CHECK(dp_acme_issue(ac.a, names, 1, k2, &pem2, &e) == DP_OK);
    /* Another account may not revoke it. */
    CHECK(pem1 && dp_acme_revoke(other.a, pem1, 0, NULL, &e) == DP_ERR_UNAUTHORIZED);
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 1, NULL, &e) == DP_OK);
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 1, NULL, &e) != DP_OK &&
          strstr(problem_type(&ac), ":alreadyRevoked"));
    /* The certificate's own key may (jwk-signed), a wrong key may not. */
    CHECK(pem2 && dp_acme_revoke(other.a, pem2, 0, k1, &e) == DP_ERR_UNAUTHORIZED);
    CHECK(pem2 && dp_acme_revoke(other.a, pem2, 4, k2, &e) == DP_OK);
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 7, NULL, &e) != DP_OK && /* reason 7 is unused */
          strstr(problem_type(&ac), ":badRevocationReason"));
    free(pem1);
    free(pem2);
    dp_key_free(k1);
    dp_key_free(k2);
    acct_free(&ac);
    acct_free(&other);
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

/* The number the database of CA c answers sql with, or -1. */
static long db_long(const struct ca *c, const char *sql)
{
    char cmd[2048];
    harness_db_cmd(c->data, sql, cmd, sizeof cmd);
    FILE *p = popen(cmd, "r");
    long v = 0;
    if (!p || fscanf(p, "%ld", &v) != 1) v = -1;
    if (p) pclose(p);
    return v;
}

/* The authorization expiry the CA stored for name's latest valid authz. */
static long authz_expires(const struct ca *c, const char *name)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT max(expires) FROM authzs WHERE identifier='%s' AND status='valid'", name);
    return db_long(c, sql);
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

/* Sends RFC 2136 update lines (each "update ...") for zone web.test. */
static int dns_update(const char *lines)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "knsupdate -y hmac-sha256:test-key:%s", env.tsig_secret);
    FILE *p = popen(cmd, "w");
    if (!p) return -1;
    fprintf(p, "server 127.0.0.1 %s\nzone web.test\n%ssend\n", env.port, lines);
    return pclose(p) == 0 ? 0 : -1;
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

/* Status of a new order for name, or "" when the CA refused it. */
static void order_status(struct acct *ac, const char *name, char out[16])
{
    struct dp_acme_order *o = NULL;
    struct dp_error e;
    const char *names[] = {name};
    out[0] = '\0';
    if (dp_acme_order_new(ac->a, names, 1, &o, &e) == DP_OK)
        snprintf(out, 16, "%s", dp_acme_order_status(o));
    dp_acme_order_free(o);
}

static int log_has(const struct ca *c, const char *a, const char *b)
{
    FILE *f = fopen(c->log, "r");
    char line[1024];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, a) && strstr(line, b);
    if (f) fclose(f);
    return found;
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
    if (argc < 2) return 2;
    ca_bin = argv[1];
    if (dns_env_load(&env) || harness_pg_missing()) return 77;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dp-test-ca-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    snprintf(ca02.data, sizeof ca02.data, "%s/ca02", tmpdir);
    snprintf(ca01.data, sizeof ca01.data, "%s/ca01", tmpdir);
    ca02.port = harness_free_port();
    ca01.port = harness_free_port();
    ca01.compat = 1;
    ca01.no_jit = 1;
    snprintf(cacaa.data, sizeof cacaa.data, "%s/cacaa", tmpdir);
    cacaa.port = harness_free_port();
    cacaa.caa = 1;
    CHECK(ca_start(&ca02) == 0);
    CHECK(ca_start(&ca01) == 0);
    CHECK(ca_start(&cacaa) == 0);
    if (!check_failed) {
        RUN(H3_persist_fqdn_and_star_forms);
        RUN(S2_wildcard_needs_policy);
        RUN(revocation_by_account_and_by_key);
        RUN(revocation_refuses_forgeries);
        RUN(revocation_published_in_crl);
        RUN(V3_V6_persist_until);
        RUN(A6_rollover_keeps_old_records);
        RUN(A6_hundred_rollovers);
        RUN(H1_previous_hash_prefix);
        RUN(V1_record_removed_between_orders);
        RUN(V7_failures_count_per_record);
        RUN(V5_deactivated_account);
        RUN(draft01_plain_url_records);
        RUN(caa_is_checked);
        RUN(caa_table);
        RUN(caa_rechecked_at_finalize);
        RUN(restart_between_order_and_finalize);
        RUN(A5_just_in_time);
        RUN(A5_just_in_time_limits);
        RUN(rate_limits);
        RUN(profiles_shape_certificates);
    }
    ca_stop(&ca02);
    ca_stop(&ca01);
    ca_stop(&cacaa);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report();
}
