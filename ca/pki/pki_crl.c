/*
 * pki_crl.c: CRLs (pki.h: pki_crl), one for each issuer, signed by it, and
 * what tells its key apart (RFC 9773 certificate IDs start with it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

/* One revoked entry; reason 0 (unspecified) is left out, as RFC 5280
 * 5.3.1 asks. */
static int crl_entry(X509_CRL *crl, const struct pki_revoked *r)
{
    X509_REVOKED *rev = X509_REVOKED_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *serial = NULL;
    ASN1_TIME *when = ASN1_TIME_set(NULL, (time_t)r->when);
    ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
    int ok = rev && when && reason && BN_hex2bn(&bn, r->serial_hex) &&
             (serial = BN_to_ASN1_INTEGER(bn, NULL)) &&
             X509_REVOKED_set_serialNumber(rev, serial) &&
             X509_REVOKED_set_revocationDate(rev, when) &&
             (r->reason == 0 || (ASN1_ENUMERATED_set(reason, r->reason) &&
                                 X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0))) &&
             X509_CRL_add0_revoked(crl, rev);
    if (!ok) X509_REVOKED_free(rev);
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(when);
    ASN1_ENUMERATED_free(reason);
    return ok;
}

int pki_crl(struct pki *p, const char *issuer, const struct pki_revoked *r, size_t n,
            uint64_t number, int64_t now, int64_t validity, unsigned char **der, size_t *len)
{
    *der = NULL;
    const struct pki_issuer *is = pki__issuer(p, issuer);
    if (!is) return -1;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)now),
              *t2 = ASN1_TIME_set(NULL, (time_t)(now + validity));
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509V3_CTX xc;
    X509V3_set_ctx_nodb(&xc);
    X509V3_set_ctx(&xc, is->cert, NULL, NULL, crl, 0);
    X509_EXTENSION *aki =
        crl ? X509V3_EXT_conf_nid(NULL, &xc, NID_authority_key_identifier, "keyid:always") : NULL;
    int ok = crl && t1 && t2 && num && aki && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
             X509_CRL_set_issuer_name(crl, X509_get_subject_name(is->cert)) &&
             X509_CRL_set1_lastUpdate(crl, t1) && X509_CRL_set1_nextUpdate(crl, t2) &&
             ASN1_INTEGER_set_uint64(num, number) &&
             X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) &&
             X509_CRL_add_ext(crl, aki, -1);
    for (size_t i = 0; ok && i < n; i++)
        ok = crl_entry(crl, &r[i]);
    ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, is->key, EVP_sha256()) > 0;
    unsigned char *out = NULL;
    int l = ok ? i2d_X509_CRL(crl, &out) : -1;
    if (l > 0 && (*der = malloc((size_t)l))) {
        memcpy(*der, out, (size_t)l);
        *len = (size_t)l;
    }
    OPENSSL_free(out);
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(num);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    X509_CRL_free(crl);
    ERR_clear_error();
    return *der ? 0 : -1;
}

int pki_is_issuer_key_id(const struct pki *p, const unsigned char *id, size_t len)
{
    for (size_t i = 0; i < p->n; i++) {
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(p->is[i].cert);
        if (ski && (size_t)ASN1_STRING_length(ski) == len &&
            !memcmp(ASN1_STRING_get0_data(ski), id, len))
            return 1;
    }
    return 0;
}

static int64_t not_after(const X509 *x)
{
    struct tm t;
    return x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &t) ? (int64_t)timegm(&t) : 0;
}

size_t pki_expiries(const struct pki *p, struct pki_expiry *out, size_t max)
{
    size_t k = 0;
    if (k < max && p->root) out[k++] = (struct pki_expiry){"", "root", not_after(p->root)};
    for (size_t i = 0; i < p->n && k < max; i++)
        out[k++] = (struct pki_expiry){p->is[i].name, "intermediate", not_after(p->is[i].cert)};
    return k;
}

size_t pki_issuers(const struct pki *p, const char **names, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < p->n && k < max; i++)
        names[k++] = p->is[i].name;
    return k;
}

int pki_set_crl_url(struct pki *p, const char *url)
{
    for (size_t i = 0; i < p->n; i++) {
        char v[700];
        snprintf(v, sizeof v, "URI:%s%s%s", url, p->is[i].name[0] ? "/" : "", p->is[i].name);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_crl_distribution_points, v);
        if (!e) return -1;
        X509_EXTENSION_free(p->is[i].ext[EXT_CRLDP]);
        p->is[i].ext[EXT_CRLDP] = e;
    }
    return 0;
}
