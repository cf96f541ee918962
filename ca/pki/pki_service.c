/* pki_service.c: service certificates from the root (pki_service.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki_files.h"
#include "pki_int.h"
#include "pki_service.h"

static void *load(const char *dir, const char *name, int key)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    void *o = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL)
                  : (void *)PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return o;
}

static char *pem(int (*w)(BIO *, void *), void *o)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL, *out = NULL;
    if (b && w(b, o) > 0) {
        long n = BIO_get_mem_data(b, &p);
        if (n > 0 && (out = malloc((size_t)n + 1))) {
            memcpy(out, p, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    return out;
}

static int w_cert(BIO *b, void *x)
{
    return PEM_write_bio_X509(b, x);
}

static int w_key(BIO *b, void *k)
{
    return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

int pki_service_issue(const char *dir, const char *cn, const char *const *names, size_t n,
                      int client, char **cert, char **key, char *why, size_t cap)
{
    *cert = *key = NULL;
    /* The root key: in the data directory (an older CA), else where the
     * embedded default put it (pki_root_key_dir), if not moved offline. */
    char home[4096];
    pki_root_key_dir(dir, home, sizeof home);
    EVP_PKEY *rk = load(dir, "root.key", 1);
    if (!rk) rk = load(home, "root.key", 1);
    X509 *root = load(dir, "root.pem", 0);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    BIGNUM *bn = BN_new();
    unsigned char rnd[16];
    char san[2048] = "";
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof san; i++) {
        unsigned char b[16];
        int ip = inet_pton(AF_INET, names[i], b) == 1 || inet_pton(AF_INET6, names[i], b) == 1;
        o += (size_t)snprintf(san + o, sizeof san - o, "%s%s:%s", i ? "," : "", ip ? "IP" : "DNS",
                              names[i]);
    }
    int ok =
        rk && root && k && x && nm && bn && RAND_bytes(rnd, sizeof rnd) == 1 &&
        BN_bin2bn(rnd, sizeof rnd, bn) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
        X509_set_version(x, 2) && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
        X509_gmtime_adj(X509_getm_notAfter(x), 730L * 86400) && X509_set_pubkey(x, k) &&
        X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"dnspersist", -1,
                                   -1, 0) &&
        X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) &&
        X509_set_subject_name(x, nm) && X509_set_issuer_name(x, X509_get_subject_name(root)) &&
        pki__add_ext(x, root, NID_basic_constraints, "critical,CA:FALSE") &&
        pki__add_ext(x, root, NID_key_usage, "critical,digitalSignature") &&
        pki__add_ext(x, root, NID_ext_key_usage, client ? "clientAuth" : "serverAuth") &&
        pki__add_ext(x, root, NID_subject_key_identifier, "hash") &&
        pki__add_ext(x, root, NID_authority_key_identifier, "keyid:always") &&
        (!n || pki__add_ext(x, root, NID_subject_alt_name, san)) &&
        X509_sign(x, rk, EVP_sha256()) > 0 && (*cert = pem(w_cert, x)) && (*key = pem(w_key, k));
    if (!ok) {
        snprintf(why, cap, "%s",
                 !rk || !root ? "cannot read the root key (root.key in the data directory or in "
                                "DATA.root-key beside it: bring it back from offline for this) "
                                "and root.pem"
                              : "OpenSSL failed while making the certificate");
        free(*cert);
        free(*key);
        *cert = *key = NULL;
    }
    BN_free(bn);
    X509_NAME_free(nm);
    X509_free(x);
    X509_free(root);
    EVP_PKEY_free(k);
    EVP_PKEY_free(rk);
    ERR_clear_error();
    return ok ? 0 : -1;
}

int pki_service_is_client(const char *root_pem, const unsigned char *der, size_t len,
                          const char *cn)
{
    BIO *b = BIO_new_mem_buf(root_pem, -1);
    X509 *root = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *rk = root ? X509_get0_pubkey(root) : NULL;
    char got[256] = "";
    int ok =
        root && x && rk && X509_verify(x, rk) == 1 &&
        !X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(root)) &&
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, got, sizeof got) > 0 &&
        !strcmp(got, cn) && (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) &&
        (X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) && X509_check_ca(x) == 0;
    /* Time validity: checked by the TLS stack's own verification. */
    X509_free(x);
    X509_free(root);
    ERR_clear_error();
    return ok;
}
