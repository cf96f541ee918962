/* pki_cert.c: reading certificates (validity, names, byte equality);
 * none of it needs the CA's keys. */
#define _GNU_SOURCE /* timegm */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dnspersist/jwk.h"
#include "pki.h"

int pki_cert_times(const char *pem, int64_t *nb, int64_t *na)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    struct tm t1, t2;
    int ok = x && ASN1_TIME_to_tm(X509_get0_notBefore(x), &t1) &&
             ASN1_TIME_to_tm(X509_get0_notAfter(x), &t2);
    if (ok) {
        *nb = (int64_t)timegm(&t1);
        *na = (int64_t)timegm(&t2);
    }
    X509_free(x);
    ERR_clear_error();
    return ok ? 0 : -1;
}

int pki_cert_same(const char *pem, const unsigned char *der, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    unsigned char *mine = NULL;
    int ml = x ? i2d_X509(x, &mine) : -1;
    int same = ml > 0 && (size_t)ml == len && !memcmp(mine, der, len);
    OPENSSL_free(mine);
    X509_free(x);
    ERR_clear_error();
    return same;
}

size_t pki_cert_names(const unsigned char *der, size_t len, char names[][256], size_t max)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
    size_t n = 0;
    int bad = 0;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != GEN_DNS) {
            bad = 1; /* this CA issues DNS names only */
            continue;
        }
        const ASN1_IA5STRING *s = g->d.dNSName;
        if (n == max || s->length <= 0 || s->length >= 256 ||
            memchr(s->data, 0, (size_t)s->length)) {
            bad = 1;
            continue;
        }
        memcpy(names[n], s->data, (size_t)s->length);
        names[n++][s->length] = '\0';
    }
    GENERAL_NAMES_free(gens);
    X509_free(x);
    ERR_clear_error();
    return bad ? 0 : n;
}

size_t pki_pem_names(const char *pem, char names[][256], size_t max)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    unsigned char *der = NULL;
    int l = x ? i2d_X509(x, &der) : -1;
    size_t n = l > 0 ? pki_cert_names(der, (size_t)l, names, max) : 0;
    OPENSSL_free(der);
    X509_free(x);
    ERR_clear_error();
    return n;
}
