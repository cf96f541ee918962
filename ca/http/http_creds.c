/*
 * http_creds.c: the reloadable listener's certificate and key, handed to
 * GnuTLS at each handshake (SIGHUP replaces them: http_set_cert), from PEM
 * or from a PKCS#11 token.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>

#include "http_creds.h"

/* The reloadable listener's certificate and key, for the handshake
 * callback, which has no argument of its own: one such listener a process.
 * Replaced pairs are kept until http_stop, since a handshake under way may
 * still hold the one it was handed. */
struct creds {
    gnutls_pcert_st pc[8];
    unsigned n;
    gnutls_privkey_t key;
    struct creds *older;
};
static pthread_mutex_t creds_mu = PTHREAD_MUTEX_INITIALIZER;
static struct creds *creds_now;

static void creds_free(struct creds *c)
{
    while (c) {
        struct creds *o = c->older;
        for (unsigned i = 0; i < c->n; i++)
            gnutls_pcert_deinit(&c->pc[i]);
        if (c->key) gnutls_privkey_deinit(c->key);
        free(c);
        c = o;
    }
}

/* GnuTLS's PKCS#11 subsystem with the module PKCS11_PROVIDER_MODULE names
 * (the variable OpenSSL's pkcs11 provider reads too): once, and only when
 * a listener key is in a token. */
static pthread_once_t p11_once = PTHREAD_ONCE_INIT;
static int p11_ok;

static void p11_init(void)
{
    const char *module = getenv("PKCS11_PROVIDER_MODULE");
    p11_ok = module && *module && gnutls_pkcs11_init(GNUTLS_PKCS11_FLAG_MANUAL, NULL) >= 0 &&
             gnutls_pkcs11_add_provider(module, NULL) >= 0;
}

/* key_pem: a PEM key, or a pkcs11: URI naming a key in a token (signing
 * then happens there, once a handshake). */
static struct creds *creds_load(const char *cert_pem, const char *key_pem, char *why, size_t cap)
{
    struct creds *c = calloc(1, sizeof *c);
    gnutls_datum_t cd = {(unsigned char *)(uintptr_t)cert_pem, (unsigned)strlen(cert_pem)};
    gnutls_datum_t kd = {(unsigned char *)(uintptr_t)key_pem, (unsigned)strlen(key_pem)};
    unsigned n = 8;
    int uri = !strncmp(key_pem, "pkcs11:", 7);
    if (uri) pthread_once(&p11_once, p11_init);
    int ok = c && gnutls_pcert_list_import_x509_raw(c->pc, &n, &cd, GNUTLS_X509_FMT_PEM, 0) >= 0;
    if (ok) c->n = n;
    ok = ok && gnutls_privkey_init(&c->key) >= 0 &&
         (uri ? p11_ok && gnutls_privkey_import_url(c->key, key_pem, 0) >= 0
              : gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0) >= 0);
    if (!ok) {
        snprintf(why, cap,
                 uri ? "GnuTLS cannot use the key at the PKCS#11 URI (is "
                       "PKCS11_PROVIDER_MODULE the token's module?)"
                     : "the certificate or key is not PEM GnuTLS can read");
        creds_free(c);
        return NULL;
    }
    return c;
}

int http_creds_pick(gnutls_session_t ts, const gnutls_datum_t *req_ca, int n_req,
                    const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
                    unsigned int *n, gnutls_privkey_t *key)
{
    (void)ts, (void)req_ca, (void)n_req, (void)algos, (void)n_algos;
    pthread_mutex_lock(&creds_mu);
    struct creds *c = creds_now;
    pthread_mutex_unlock(&creds_mu);
    if (!c) return -1;
    *pcert = c->pc;
    *n = c->n;
    *key = c->key;
    return 0;
}

int http_creds_install(const char *cert_pem, const char *key_pem, char *why, size_t cap)
{
    struct creds *c = creds_load(cert_pem, key_pem, why, cap);
    if (!c) return -1;
    pthread_mutex_lock(&creds_mu);
    c->older = creds_now;
    creds_now = c;
    pthread_mutex_unlock(&creds_mu);
    return 0;
}

void http_creds_drop(void)
{
    pthread_mutex_lock(&creds_mu);
    creds_free(creds_now);
    creds_now = NULL;
    pthread_mutex_unlock(&creds_mu);
}
