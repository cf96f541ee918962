/*
 * ca_fixture.c: the shared fixture of the end-to-end CA tests (ca_fixture.h).
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

#include "ca_fixture.h"
#include "ca_harness.h"

struct dns_env env;
const char *ca_bin;
char tmpdir[256];
static unsigned serial;

int fixture_init(int argc, char **argv, const char *name)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH/TO/dnspersist-ca\n", argv[0]);
        return 2;
    }
    ca_bin = argv[1];
    if (dns_env_load(&env) || harness_pg_missing()) return 77;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dp-test-ca-%s-XXXXXX", name);
    return mkdtemp(tmpdir) ? 0 : 1;
}

void fixture_ca(struct ca *c, const char *name)
{
    snprintf(c->data, sizeof c->data, "%s/%s", tmpdir, name);
    c->port = harness_free_port();
}

void fixture_done(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
}

int ca_start(struct ca *c)
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

void ca_stop(struct ca *c)
{
    harness_stop(c->pid);
    c->pid = 0;
}

/* RFC 2136 update through knsupdate: add (value) or delete (NULL) the TXT RRset. */
int dns_set(const char *name, const char *value)
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
int dns_caa(const char *name, const char *value)
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

/* Sends RFC 2136 update lines (each "update ...") for zone web.test. */
int dns_update(const char *lines)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "knsupdate -y hmac-sha256:test-key:%s", env.tsig_secret);
    FILE *p = popen(cmd, "w");
    if (!p) return -1;
    fprintf(p, "server 127.0.0.1 %s\nzone web.test\n%ssend\n", env.port, lines);
    return pclose(p) == 0 ? 0 : -1;
}

int acct_new(const struct ca *c, struct acct *ac)
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

void acct_free(struct acct *ac)
{
    dp_acme_free(ac->a);
    dp_key_free(ac->key);
}

/* Publishes at _validation-persist.NAME this account's record (its current
 * key) for form (NAME itself when NULL, "*" for the domain-free form), plus
 * extra. */
int publish(const struct ca *c, const struct acct *ac, const char *name, const char *form,
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

int unpublish(const char *name)
{
    char n[600];
    snprintf(n, sizeof n, "_validation-persist.%s", name);
    return dns_set(n, NULL);
}

/* Checks the chain against the CA's root, and that names are the SANs. */
int chain_ok(const struct ca *c, const char *pem, const char *const *names, size_t n)
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

dp_code issue(const struct ca *c, struct acct *ac, const char *name, struct dp_error *e)
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

const char *problem_type(const struct acct *ac)
{
    return dp_acme_last_problem(ac->a)->type;
}

void unique(char *out, size_t cap, const char *label)
{
    snprintf(out, cap, "%s%u-%ld.web.test", label, ++serial, (long)getpid());
}

/* The number the database of CA c answers sql with, or -1. */
long db_long(const struct ca *c, const char *sql)
{
    char cmd[2048];
    harness_db_cmd(c->data, sql, cmd, sizeof cmd);
    FILE *p = popen(cmd, "r");
    long v = 0;
    if (!p || fscanf(p, "%ld", &v) != 1) v = -1;
    if (p) pclose(p);
    return v;
}

int db_exec(const struct ca *c, const char *sql)
{
    char cmd[4096];
    harness_db_cmd(c->data, sql, cmd, sizeof cmd);
    return system(cmd) == 0 ? 0 : -1;
}

/* The authorization expiry the CA stored for name's latest valid authz. */
long authz_expires(const struct ca *c, const char *name)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT max(expires) FROM authzs WHERE identifier='%s' AND status='valid'", name);
    return db_long(c, sql);
}

/* Status of a new order for name, or "" when the CA refused it. */
void order_status(struct acct *ac, const char *name, char out[16])
{
    struct dp_acme_order *o = NULL;
    struct dp_error e;
    const char *names[] = {name};
    out[0] = '\0';
    if (dp_acme_order_new(ac->a, names, 1, &o, &e) == DP_OK)
        snprintf(out, 16, "%s", dp_acme_order_status(o));
    dp_acme_order_free(o);
}

int log_has(const struct ca *c, const char *a, const char *b)
{
    FILE *f = fopen(c->log, "r");
    char line[1024];
    int found = 0;
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, a) && strstr(line, b);
    if (f) fclose(f);
    return found;
}
