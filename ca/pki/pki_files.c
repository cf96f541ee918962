/*
 * pki_files.c: the data directory's key and certificate files
 * (pki_files.h).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/store.h>

#include "pki.h"
#include "pki_files.h"

/* The PEM text that write() puts into a memory BIO; NULL on failure. */
static char *pem_of(const void *obj, int (*write)(BIO *, const void *))
{
    BIO *b = BIO_new(BIO_s_mem());
    char *d, *out = NULL;
    if (b && write(b, obj)) {
        long n = BIO_get_mem_data(b, &d);
        if ((out = malloc((size_t)n + 1))) {
            memcpy(out, d, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static int write_cert(BIO *b, const void *x)
{
    return PEM_write_bio_X509(b, (X509 *)x);
}

static int write_key(BIO *b, const void *k)
{
    return PEM_write_bio_PrivateKey(b, (EVP_PKEY *)k, NULL, NULL, 0, NULL, NULL);
}

char *pki_pem_cert(X509 *x)
{
    return pem_of(x, write_cert);
}

char *pki_pem_key(EVP_PKEY *k)
{
    return pem_of(k, write_key);
}

/* Written whole to NAME.tmp, created with its final mode (O_EXCL: never
 * someone else's file, never a moment with wider permissions), synced,
 * then renamed over NAME: a crash leaves the old file or the new one. */
int pki_write_file(const char *dir, const char *name, const char *data, mode_t mode)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp); /* left by a crash */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return -1;
    size_t len = strlen(data), off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) break;
        off += (size_t)w;
    }
    int ok = off == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* the rename itself survives a power cut */
        close(dfd);
    }
    return 0;
}

/* A private key readable by group or others is refused, not used: whoever
 * could read it could issue. 0 when fine or absent. */
int pki_key_private(const char *dir, const char *name, struct dp_error *err)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st)) return 0;
    if (!(st.st_mode & 077)) return 0;
    snprintf(err->detail, sizeof err->detail,
             "%.250s is open to its group or others (mode %03o): chmod 600 it, and ask who "
             "could have copied it",
             path, (unsigned)(st.st_mode & 0777));
    err->code = DP_ERR_IO;
    return -1;
}

static void path_of(const char *dir, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* The first line of DIR/NAME when it is a pkcs11: URI, into uri. */
static int read_uri(const char *dir, const char *name, char *uri, size_t cap)
{
    char path[4096];
    path_of(dir, name, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int is = fgets(uri, (int)cap, f) && !strncmp(uri, "pkcs11:", 7);
    fclose(f);
    if (is) uri[strcspn(uri, "\r\n")] = '\0';
    return is;
}

int pki_key_is_uri(const char *dir, const char *name)
{
    char uri[2048];
    return read_uri(dir, name, uri, sizeof uri);
}

/* OpenSSL's pkcs11 provider (pkcs11-provider; the token's module from
 * PKCS11_PROVIDER_MODULE), loaded only when a key names a token: beside
 * the default provider, which stays preferred for everything else. */
static pthread_once_t p11_once = PTHREAD_ONCE_INIT;
static int p11_ok;

static void p11_load(void)
{
    p11_ok = OSSL_PROVIDER_load(NULL, "default") && OSSL_PROVIDER_load(NULL, "pkcs11") &&
             EVP_set_default_properties(NULL, "?provider=default");
}

EVP_PKEY *pki_load_key_uri(const char *uri, char *why, size_t cap)
{
    pthread_once(&p11_once, p11_load);
    if (!p11_ok) {
        if (why)
            snprintf(why, cap,
                     "cannot load OpenSSL's pkcs11 provider (install pkcs11-provider; "
                     "PKCS11_PROVIDER_MODULE names the token's module)");
        ERR_clear_error();
        return NULL;
    }
    EVP_PKEY *k = NULL;
    OSSL_STORE_CTX *st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    if (st && OSSL_STORE_expect(st, OSSL_STORE_INFO_PKEY))
        while (!k && !OSSL_STORE_eof(st)) {
            OSSL_STORE_INFO *info = OSSL_STORE_load(st);
            if (!info) break;
            if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
                k = OSSL_STORE_INFO_get1_PKEY(info);
            OSSL_STORE_INFO_free(info);
        }
    OSSL_STORE_close(st);
    if (!k && why) {
        unsigned long e = ERR_peek_last_error();
        snprintf(why, cap, "no private key at the PKCS#11 URI (%s)",
                 e ? ERR_reason_error_string(e) : "not found");
    }
    ERR_clear_error();
    return k;
}

EVP_PKEY *pki_load_key(const char *dir, const char *name, char *why, size_t cap)
{
    char uri[2048];
    if (read_uri(dir, name, uri, sizeof uri)) return pki_load_key_uri(uri, why, cap);
    char path[4096];
    path_of(dir, name, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (why) snprintf(why, cap, "no %s", path);
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k && why) snprintf(why, cap, "%s is not a PEM private key", path);
    ERR_clear_error();
    return k;
}

X509 *pki_load_cert(const char *dir, const char *name)
{
    char path[4096];
    path_of(dir, name, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    return x;
}

STACK_OF(X509) * pki_load_certs(const char *dir, const char *name)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    char path[4096];
    path_of(dir, name, path, sizeof path);
    FILE *f = sk ? fopen(path, "r") : NULL;
    if (!f) return sk; /* absent: none */
    X509 *x;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            break;
        }
    fclose(f);
    /* The loop ends on "no start line" at the end: any other error is a
     * damaged file. */
    unsigned long e = ERR_peek_last_error();
    int clean = !e || ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    if (!clean) {
        sk_X509_pop_free(sk, X509_free);
        return NULL;
    }
    return sk;
}

void pki_root_key_dir(const char *data, char *out, size_t cap)
{
    size_t l = strlen(data);
    while (l > 1 && data[l - 1] == '/')
        l--;
    snprintf(out, cap, "%.*s.root-key", (int)l, data);
}

int pki_same_key(const EVP_PKEY *a, const EVP_PKEY *b)
{
    return a && b && EVP_PKEY_eq(a, b) == 1;
}

int pki_tls_pair_check(const char *cert_pem, const char *key_pem, char *why, size_t cap)
{
    BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    char uri_why[300] = "";
    EVP_PKEY *k = !strncmp(key_pem, "pkcs11:", 7)
                      ? pki_load_key_uri(key_pem, uri_why, sizeof uri_why)
                  : kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)
                       : NULL;
    int rc = -1;
    if (!x)
        snprintf(why, cap, "the certificate is not PEM");
    else if (!k)
        snprintf(why, cap, "%s", uri_why[0] ? uri_why : "the key is not a PEM private key");
    else if (!pki_same_key(X509_get0_pubkey(x), k))
        snprintf(why, cap, "the key is not the certificate's");
    else if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0 ||
             X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        snprintf(why, cap, "the certificate is not valid now");
    else
        rc = 0;
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    ERR_clear_error();
    return rc;
}

int pki_alternate_load(const char *dir, X509 *inter, char **pem, char *why, size_t cap)
{
    *pem = NULL;
    STACK_OF(X509) *alt = pki_load_certs(dir, "alternate.pem");
    X509 *aroot = NULL;
    int rc = -1;
    if (!alt) {
        snprintf(why, cap, "%.300s/alternate.pem cannot be read", dir);
        return -1;
    }
    if (sk_X509_num(alt) == 0) {
        sk_X509_free(alt);
        return 0;
    }
    X509 *first = sk_X509_shift(alt);
    char err[300] = "";
    if (!pki_same_key(X509_get0_pubkey(first), X509_get0_pubkey(inter)) ||
        X509_NAME_cmp(X509_get_subject_name(first), X509_get_subject_name(inter)))
        snprintf(why, cap,
                 "alternate.pem does not start with the intermediate (same name and key) "
                 "certified by another issuer");
    else if ((aroot = pki_load_cert(dir, "alternate-root.pem")) &&
             pki_chain_check(first, alt, aroot, err, sizeof err))
        snprintf(why, cap, "alternate.pem %s (alternate-root.pem)", err);
    else
        rc = 0;
    if (rc == 0 && (*pem = pki_pem_cert(first)))
        for (int i = 0; *pem && i < sk_X509_num(alt); i++)
            *pem = pki_append_pem(*pem, sk_X509_value(alt, i));
    if (rc == 0 && !*pem) {
        snprintf(why, cap, "out of memory");
        rc = -1;
    }
    X509_free(first);
    X509_free(aroot);
    sk_X509_pop_free(alt, X509_free);
    return rc;
}

/* a + b, freeing a; NULL (a freed) when out of memory. */
char *pki_concat(char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *r = realloc(a, la + lb + 1);
    if (!r) {
        free(a);
        return NULL;
    }
    memcpy(r + la, b, lb + 1);
    return r;
}

char *pki_append_pem(char *a, X509 *x)
{
    char *b = pki_pem_cert(x);
    char *r = b ? pki_concat(a, b) : (free(a), NULL);
    free(b);
    return r;
}

int pki_chain_check(X509 *cert, STACK_OF(X509) * chain, X509 *root, char *why, size_t cap)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = st && ctx && X509_STORE_add_cert(st, root) &&
             X509_STORE_CTX_init(ctx, st, cert, chain) && X509_verify_cert(ctx) == 1;
    if (!ok)
        snprintf(why, cap, "does not chain to root.pem: %s",
                 ctx ? X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)) : "no memory");
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    ERR_clear_error();
    return ok ? 0 : -1;
}
