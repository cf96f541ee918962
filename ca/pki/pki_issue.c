/*
 * pki_issue.c: leaves (pki.h: pki_issue). The CSR is read once (csr.c); its
 * key picks the issuer: an RSA key an active RSA intermediate when there is
 * one, else the newest active intermediate; serials carry 128 random bits
 * (the Baseline Requirements ask for at least 64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki_files.h"
#include "pki_int.h"
#include "pki_key.h"

int pki__set_serial(X509 *x, char *hex_out)
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) return 0;
    r[0] &= 0x7f; /* positive */
    r[0] |= 0x01; /* and 16 octets long: no leading zero to strip */
    BIGNUM *bn = BN_bin2bn(r, sizeof r, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = ai && X509_set_serialNumber(x, ai);
    if (ok && hex_out) {
        char *h = BN_bn2hex(bn);
        snprintf(hex_out, 41, "%s", h ? h : "");
        for (char *c = hex_out; *c; c++)
            if (*c >= 'A' && *c <= 'F') *c = (char)(*c + 32);
        OPENSSL_free(h);
    }
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok;
}

int pki__add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX c;
    X509V3_set_ctx_nodb(&c);
    X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* The issuer of a leaf whose key is RSA (rsa) or not: an active one of
 * the same kind, else any active one; the newest (latest notBefore) among
 * them, so a rollover's new intermediate takes over. NULL: none active. */
static const struct pki_issuer *pick(const struct pki *p, int rsa)
{
    const struct pki_issuer *best = NULL;
    int best_kind = -1;
    for (size_t i = 0; i < p->n; i++) {
        const struct pki_issuer *is = &p->is[i];
        if (is->retired) continue;
        int kind = is->rsa == rsa;
        if (kind > best_kind ||
            (kind == best_kind && ASN1_TIME_compare(X509_get0_notBefore(is->cert),
                                                    X509_get0_notBefore(best->cert)) > 0)) {
            best = is;
            best_kind = kind;
        }
    }
    return best;
}

const struct pki_issuer *pki__issuer(const struct pki *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->is[i].name, name)) return &p->is[i];
    return NULL;
}

enum pki_csr_result pki_issue(struct pki *pk, const unsigned char *der, size_t len,
                              const char *const *names, size_t n, const struct profile *prof,
                              const char *account_jwk, const struct pki_key_check *check,
                              char **pem, char *serial_hex, char issuer[PKI_ISSUER_NAME], char *why,
                              size_t cap)
{
    *pem = NULL;
    issuer[0] = '\0';
    struct csr *req = NULL;
    enum pki_csr_result r = PKI_CSR_MALFORMED;
    X509 *x = NULL;
    X509_NAME *subj = NULL;
    enum csr_result cr = csr_parse(pk->curves, der, len, &req, why, cap);
    if (cr != CSR_OK) {
        r = cr == CSR_UNSUPPORTED ? PKI_CSR_WEAK_KEY : PKI_CSR_MALFORMED;
        goto out;
    }
    EVP_PKEY *pub = csr_pubkey(req);
    int bits = EVP_PKEY_get_bits(pub);
    if (EVP_PKEY_is_a(pub, "RSA")  ? bits < 2048 || bits > 4096
        : EVP_PKEY_is_a(pub, "EC") ? bits != 256 && bits != 384
                                   : 1) {
        snprintf(why, cap,
                 "the CSR key is weak or of an unsupported type (RSA 2048-4096, EC P-256, P-384)");
        r = PKI_CSR_WEAK_KEY;
        goto out;
    }
    /* The account key signs ACME requests; a certificate for it would let
     * the TLS key and the account stand or fall together. */
    if (account_jwk && pki_key_is_jwk(pub, account_jwk)) {
        snprintf(why, cap, "the CSR's key is the account key: use a key of its own");
        r = PKI_CSR_ACCOUNT_KEY;
        goto out;
    }
    if (check && check->allowed) {
        char thumb[DP_THUMBPRINT_BUF];
        int a = pki_key_thumb(pub, thumb) == 0 ? check->allowed(check->arg, thumb) : -1;
        if (a != 1) {
            snprintf(why, cap,
                     a == 0 ? "the CSR's key was reported compromised (a certificate "
                              "for it was revoked for keyCompromise, or by its own "
                              "key): use a new key"
                            : "cannot check the CSR's key against the blocked keys");
            r = a == 0 ? PKI_CSR_KEY_BLOCKED : PKI_CSR_KEY_UNCHECKED;
            goto out;
        }
    }
    char got[101][256];
    size_t g = csr_names(req, got, 100);
    int same = g == n;
    for (size_t i = 0; same && i < n; i++) {
        int found = 0;
        for (size_t k = 0; k < g; k++)
            found |= !strcmp(got[k], names[i]);
        same = found;
    }
    if (!same) {
        snprintf(why, cap, "the CSR names differ from the order's identifiers");
        r = PKI_CSR_NAMES;
        goto out;
    }
    r = PKI_ISSUE_FAILED;
    snprintf(why, cap, "certificate signing failed");
    const struct pki_issuer *is = pick(pk, EVP_PKEY_is_a(pub, "RSA"));
    if (!is) goto out;
    x = X509_new();
    subj = X509_NAME_new();
    int ok =
        x && subj && X509_set_version(x, 2) && pki__set_serial(x, serial_hex) &&
        X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
        X509_gmtime_adj(X509_getm_notAfter(x), (long)prof->lifetime) && csr_copy_spki(req, x) &&
        (!prof->cn || strlen(names[0]) > 64 || /* ub-common-name */
         X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)names[0], -1,
                                    -1, 0)) &&
        X509_set_subject_name(x, subj) && X509_set_issuer_name(x, X509_get_subject_name(is->cert));
    if (ok) {
        size_t sl = 0;
        for (size_t i = 0; i < n; i++)
            sl += strlen(names[i]) + 5;
        char *san = malloc(sl + 10);
        size_t o = 0;
        /* RFC 5280 4.2.1.6: with an empty subject, the SAN is critical. */
        if (san && !X509_NAME_entry_count(subj)) o = (size_t)snprintf(san, sl + 10, "critical,");
        for (size_t i = 0; san && i < n; i++)
            o += (size_t)snprintf(san + o, sl + 10 - o, "%sDNS:%s", i ? "," : "", names[i]);
        ok = san && pki__add_ext(x, is->cert, NID_subject_alt_name, san) &&
             X509_add_ext(x, is->ext[EXT_BC], -1) &&
             X509_add_ext(x, is->ext[EVP_PKEY_is_a(pub, "RSA") ? EXT_KU_RSA : EXT_KU_EC], -1) &&
             (prof->client_auth
                  ? pki__add_ext(x, is->cert, NID_ext_key_usage, "serverAuth,clientAuth")
                  : X509_add_ext(x, is->ext[EXT_EKU], -1)) &&
             pki__add_ext(x, is->cert, NID_subject_key_identifier, "hash") &&
             X509_add_ext(x, is->ext[EXT_AKI], -1) &&
             (!prof->crl || !is->ext[EXT_CRLDP] || X509_add_ext(x, is->ext[EXT_CRLDP], -1)) &&
             X509_sign(x, is->key, EVP_sha256()) > 0;
        free(san);
    }
    if (ok) {
        *pem = pki_pem_cert(x);
    }
    if (*pem) {
        r = PKI_CSR_OK;
        snprintf(issuer, PKI_ISSUER_NAME, "%s", is->name);
    }
out:
    X509_NAME_free(subj);
    X509_free(x);
    csr_free(req);
    ERR_clear_error();
    return r;
}

int pki_cert_serial(const struct pki *pk, const unsigned char *der, size_t len, char *serial_hex)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    int rc = -1;
    int ours = 0;
    for (size_t i = 0; x && !ours && i < pk->n; i++)
        ours = X509_check_issued(pk->is[i].cert, x) == X509_V_OK;
    if (ours) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        char *h = bn ? BN_bn2hex(bn) : NULL;
        if (h) {
            snprintf(serial_hex, 41, "%s", h);
            for (char *c = serial_hex; *c; c++)
                if (*c >= 'A' && *c <= 'F') *c = (char)(*c + 32);
            rc = 0;
        }
        OPENSSL_free(h);
        BN_free(bn);
    }
    X509_free(x);
    ERR_clear_error();
    return rc;
}
