/*
 * bench_fill: fills a CA database with N issued certificates through the
 * store (store.h), not through HTTP, for the growth benchmark
 * (bench_growth.sh). Each certificate is what an issuance leaves: an order
 * of one name with its valid authorization, and the certificate row with
 * a unique serial. The PEM is one real P-256 leaf certificate made here,
 * stored under every serial: its size is what matters to the database.
 * Accounts: one per 1,000 certificates, each with its own key.
 *
 * Usage: bench_fill DB N [THREADS]   (DB: sqlite:PATH or postgresql://...)
 * Run under eatmydata for SQLite: each certificate is otherwise a durable
 * commit (fsync), which is what issuance needs and a fixture does not.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dnspersist/dnspersist.h"
#include "store.h"

static struct store *st;
static char *pem;
static long total;
static int n_threads;
static char (*accounts)[ST_ID];
static long n_accounts;

static char *leaf_pem(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    char *out = NULL;
    if (k && x) {
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234567);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400);
        X509_NAME *n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"h1.a1.web.test",
                                   -1, -1, 0);
        X509_set_issuer_name(x, n);
        X509_set_pubkey(x, k);
        /* The extensions the CA's leaves carry, so the PEM has their size. */
        static const struct {
            int nid;
            const char *v;
        } ext[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                   {NID_key_usage, "critical,digitalSignature"},
                   {NID_ext_key_usage, "serverAuth"},
                   {NID_subject_key_identifier, "hash"},
                   {NID_authority_key_identifier, "keyid:always"},
                   {NID_subject_alt_name, "DNS:h1.a1.web.test"},
                   {NID_crl_distribution_points, "URI:http://localhost:14001/crl"},
                   {NID_certificate_policies, "2.23.140.1.2.1"}};
        X509V3_CTX c;
        X509V3_set_ctx(&c, x, x, NULL, NULL, 0);
        for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
            X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, ext[i].nid, ext[i].v);
            if (e) X509_add_ext(x, e, -1);
            X509_EXTENSION_free(e);
        }
        X509_sign(x, k, EVP_sha256());
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, x);
        char *p;
        long l = BIO_get_mem_data(b, &p);
        out = strndup(p, (size_t)l);
        BIO_free(b);
    }
    X509_free(x);
    EVP_PKEY_free(k);
    return out;
}

static void *fill(void *arg)
{
    long t = (long)arg, failed = 0;
    struct st_order *o = malloc(sizeof *o);
    for (long i = t; o && i < total; i += n_threads) {
        memset(o, 0, sizeof *o);
        const char *acct = accounts[i % n_accounts];
        snprintf(o->account, sizeof o->account, "%s", acct);
        int64_t now = (int64_t)time(NULL);
        o->expires = now + 7 * 86400;
        o->n = 1;
        snprintf(o->identifiers[0], sizeof o->identifiers[0], "h%ld.a%ld.web.test", i,
                 i % n_accounts);
        struct st_authz_init init = {0, now + 30 * 86400, now, NULL};
        o->status = ST_READY; /* its authorization is valid */
        char serial[48], cert_id[ST_ID];
        snprintf(serial, sizeof serial, "7f%014lx%024lx", (unsigned long)t, (unsigned long)i);
        if (store_order_create(st, o, &init, NULL) ||
            store_cert_create(st, acct, o->id, serial, pem, "", cert_id)) {
            if (failed++ < 3) fprintf(stderr, "bench_fill: certificate %ld not stored\n", i);
        }
        if (t == 0 && i % 100000 < (long)n_threads) {
            fprintf(stderr, "bench_fill: %ld\n", i);
        }
    }
    free(o);
    return (void *)failed;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_fill DB N [THREADS]\n");
        return 2;
    }
    total = atol(argv[2]);
    n_threads = argc > 3 ? atoi(argv[3]) : 1;
    if (n_threads < 1 || n_threads > 64 || total < 1) return 2;
    char why[256];
    if (!(st = store_open(argv[1], 1, why, sizeof why))) {
        fprintf(stderr, "bench_fill: %s\n", why);
        return 1;
    }
    pem = leaf_pem();
    n_accounts = total / 1000 > 0 ? total / 1000 : 1;
    accounts = calloc((size_t)n_accounts, sizeof *accounts);
    if (!pem || !accounts) return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n_accounts; i++) {
        struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
        struct st_account a;
        if (!k || store_account_create(st, dp_key_jwk(k), dp_key_thumbprint(k), "[]", &a)) {
            fprintf(stderr, "bench_fill: account %ld not stored\n", i);
            return 1;
        }
        snprintf(accounts[i], sizeof accounts[i], "%s", a.id);
        dp_key_free(k);
    }
    pthread_t th[64];
    for (long t = 0; t < n_threads; t++)
        pthread_create(&th[t], NULL, fill, (void *)t);
    long failed = 0;
    for (int t = 0; t < n_threads; t++) {
        void *r;
        pthread_join(th[t], &r);
        failed += (long)r;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("bench_fill: %ld certificates (%ld accounts, PEM %zu bytes) in %.1f s = %.0f/s; %ld "
           "failed\n",
           total, n_accounts, strlen(pem), s, (double)total / s, failed);
    store_close(st);
    free(pem);
    free(accounts);
    return failed != 0;
}
