/*
 * test_csr.c: the CA's PKCS#10 reader (ca/csr.c) on requests made by
 * OpenSSL's own X509_REQ API: key types, names, signatures, tampering.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "csr.h"

/* A DER CSR signed by sign (NULL: key) for key, with CN cn (NULL: none) and
 * SAN san ("DNS:a,IP:1.2.3.4", NULL: none). Caller frees *der. */
static int make_csr(EVP_PKEY *key, EVP_PKEY *sign, const char *cn, const char *san,
                    unsigned char **der)
{
    X509_REQ *r = X509_REQ_new();
    int ok = r && X509_REQ_set_version(r, 0) && X509_REQ_set_pubkey(r, key);
    if (ok && cn)
        ok = X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
                                        (const unsigned char *)cn, -1, -1, 0);
    if (ok && san) {
        STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
        ok = exts && e && sk_X509_EXTENSION_push(exts, e) && X509_REQ_add_extensions(r, exts);
        if (!ok) X509_EXTENSION_free(e);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    }
    const EVP_MD *md = EVP_PKEY_is_a(sign ? sign : key, "ED25519") ? NULL : EVP_sha256();
    ok = ok && X509_REQ_sign(r, sign ? sign : key, md) > 0;
    int len = ok ? i2d_X509_REQ(r, der) : -1;
    X509_REQ_free(r);
    return len;
}

static EVP_PKEY *ec(const char *curve)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static struct csr_curves *curves; /* NULL in the first pass, templates in the second */

static enum csr_result parse(const unsigned char *der, int len, struct csr **c, char *why)
{
    return csr_parse(curves, der, (size_t)len, c, why, 256);
}

static void ec_and_rsa_keys_round_trip(void)
{
    EVP_PKEY *keys[] = {ec("P-256"), ec("P-384"), EVP_PKEY_Q_keygen(NULL, NULL, "RSA", 2048)};
    for (int i = 0; i < 3; i++) {
        unsigned char *der = NULL;
        int len = make_csr(keys[i], NULL, "a.example", "DNS:a.example,DNS:b.example", &der);
        struct csr *c = NULL;
        char why[256] = "";
        CHECK(len > 0 && parse(der, len, &c, why) == CSR_OK);
        /* The key read from its fields is the key that made the request. */
        CHECK(c && EVP_PKEY_eq(csr_pubkey(c), keys[i]) == 1);
        /* And the certificate gets the same SubjectPublicKeyInfo, byte for byte. */
        X509 *x = X509_new();
        unsigned char *a = NULL, *b = NULL;
        CHECK(c && x && csr_copy_spki(c, x) == 1);
        int al = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &a) : -1,
            bl = i2d_PUBKEY(keys[i], &b);
        CHECK(al > 0 && al == bl && !memcmp(a, b, (size_t)al));
        OPENSSL_free(a);
        OPENSSL_free(b);
        X509_free(x);
        csr_free(c);
        OPENSSL_free(der);
        EVP_PKEY_free(keys[i]);
    }
}

static void names_are_sans_plus_cn_lowercase(void)
{
    EVP_PKEY *k = ec("P-256");
    unsigned char *der = NULL;
    int len = make_csr(k, NULL, "C.Example", "DNS:A.example,DNS:b.EXAMPLE", &der);
    struct csr *c = NULL;
    char why[256], names[10][256];
    CHECK(parse(der, len, &c, why) == CSR_OK);
    size_t n = c ? csr_names(c, names, 10) : 0;
    CHECK(n == 3);
    if (n == 3) {
        CHECK_STR(names[0], "a.example");
        CHECK_STR(names[1], "b.example");
        CHECK_STR(names[2], "c.example"); /* the CN, not among the SANs */
    }
    /* More names than asked for: max + 1. */
    CHECK(c && csr_names(c, names, 2) == 3);
    csr_free(c);
    OPENSSL_free(der);
    /* CN only, no extensions. */
    der = NULL;
    len = make_csr(k, NULL, "only.example", NULL, &der);
    CHECK(parse(der, len, &c, why) == CSR_OK);
    CHECK(c && csr_names(c, names, 10) == 1);
    CHECK_STR(names[0], "only.example");
    csr_free(c);
    OPENSSL_free(der);
    /* An IP address is not a name the CA validates. */
    der = NULL;
    len = make_csr(k, NULL, NULL, "DNS:a.example,IP:192.0.2.1", &der);
    CHECK(parse(der, len, &c, why) == CSR_OK);
    CHECK(c && csr_names(c, names, 10) == 11);
    csr_free(c);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
}

static void unsupported_key_types(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    unsigned char *der = NULL;
    int len = make_csr(k, NULL, NULL, "DNS:a.example", &der);
    struct csr *c = NULL;
    char why[256] = "";
    CHECK(len > 0 && parse(der, len, &c, why) == CSR_UNSUPPORTED);
    CHECK(c == NULL && strstr(why, "unsupported") != NULL);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
}

static void tampering_is_malformed(void)
{
    EVP_PKEY *k = ec("P-256"), *other = ec("P-256");
    unsigned char *der = NULL;
    int len = make_csr(k, NULL, NULL, "DNS:a.example", &der);
    struct csr *c = NULL;
    char why[256] = "";
    /* A name changed after signing (a.example -> b.example). */
    unsigned char *at = NULL;
    for (int i = 0; i + 9 <= len && !at; i++)
        if (!memcmp(der + i, "a.example", 9)) at = der + i;
    CHECK(at != NULL);
    if (at) {
        *at = 'b';
        CHECK(parse(der, len, &c, why) == CSR_MALFORMED && strstr(why, "signature"));
        *at = 'a';
    }
    CHECK(parse(der, len, &c, why) == CSR_OK);
    csr_free(c);
    /* The last signature byte flipped. */
    der[len - 1] ^= 1;
    CHECK(parse(der, len, &c, why) == CSR_MALFORMED && strstr(why, "signature"));
    der[len - 1] ^= 1;
    /* Truncated, or followed by more bytes. */
    CHECK(parse(der, len - 1, &c, why) == CSR_MALFORMED && strstr(why, "DER"));
    unsigned char longer[4096];
    memcpy(longer, der, (size_t)len);
    longer[len] = 0;
    CHECK(parse(longer, len + 1, &c, why) == CSR_MALFORMED && c == NULL);
    OPENSSL_free(der);
    /* Signed by a key other than the one it carries. */
    der = NULL;
    len = make_csr(k, other, NULL, "DNS:a.example", &der);
    CHECK(parse(der, len, &c, why) == CSR_MALFORMED && strstr(why, "signature"));
    OPENSSL_free(der);
    /* Not a CSR at all: a certificate-sized run of zeros and an empty input. */
    unsigned char zeros[300] = {0};
    CHECK(parse(zeros, sizeof zeros, &c, why) == CSR_MALFORMED);
    CHECK(parse(zeros, 0, &c, why) == CSR_MALFORMED);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

/* A point changed in the request is refused before its signature is
 * looked at: the key cannot be built (off the curve). */
static void point_off_the_curve(void)
{
    EVP_PKEY *k = ec("P-256");
    unsigned char pt[65], *der = NULL;
    size_t pl = 0;
    CHECK(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof pt,
                                          &pl) == 1 &&
          pl == 65);
    int len = make_csr(k, NULL, NULL, "DNS:a.example", &der);
    unsigned char *at = NULL;
    for (int i = 0; i + 65 <= len && !at; i++)
        if (!memcmp(der + i, pt, 65)) at = der + i;
    CHECK(at != NULL);
    if (at) {
        at[64] ^= 1; /* the last octet of y */
        struct csr *c = NULL;
        char why[256] = "";
        CHECK(parse(der, len, &c, why) == CSR_MALFORMED && c == NULL);
        CHECK(strstr(why, "public key cannot be read") != NULL);
    }
    OPENSSL_free(der);
    EVP_PKEY_free(k);
}

int main(void)
{
    for (int pass = 0; pass < 2; pass++) {
        if (pass) CHECK((curves = csr_curves_new()) != NULL);
        printf("-- keys built %s\n", pass ? "from curve templates" : "from scratch");
        RUN(ec_and_rsa_keys_round_trip);
        RUN(names_are_sans_plus_cn_lowercase);
        RUN(unsupported_key_types);
        RUN(tampering_is_malformed);
        RUN(point_off_the_curve);
    }
    csr_curves_free(curves);
    return check_report();
}
