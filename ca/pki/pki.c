/*
 * pki.c: the only file of the server that builds certificates. Keys are
 * ECDSA P-256 and signatures SHA-256; serials carry 128 random bits (the
 * Baseline Requirements ask for at least 64).
 *
 * First start on an empty data directory: root (10 years, self-signed),
 * intermediate (5 years, pathlen 0) and the listener's TLS certificate
 * (from the intermediate); the root key is kept outside the data
 * directory. Later starts load the running set (pki_files.h), which never
 * includes the root key: an intermediate made and imported in a key
 * ceremony (pki_ceremony.c) runs the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <dnspersist/b64url.h>
#include <dnspersist/jwk.h>

#include "csr.h"
#include "pki.h"
#include "pki_files.h"
#include "pki_key.h"

/* Extensions every leaf carries, built once: X509V3_EXT_conf_nid parses its
 * text on every call, and the AKI is the same for every leaf. */
enum { EXT_BC, EXT_KU_EC, EXT_KU_RSA, EXT_EKU, EXT_AKI, EXT_CRLDP, N_EXT };

struct pki {
    EVP_PKEY *root_key, *int_key, *tls_key;
    X509 *root, *inter, *tls;
    STACK_OF(X509) * chain; /* between the intermediate and the root (chain.pem) */
    char *tls_cert_pem, *tls_key_pem, *chain_pem;
    char *alt_pem;    /* the alternate chain after a leaf (RFC 8555 7.4.2), NULL for none */
    char notice[700]; /* what start-up should tell the operator, "" for nothing */
    X509_EXTENSION *leaf_ext[N_EXT];
    struct csr_curves *curves; /* for reading CSR keys; NULL works too, slower */
};

static int set_serial(X509 *x, char *hex_out)
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

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX c;
    X509V3_set_ctx_nodb(&c);
    X509V3_set_ctx(&c, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate for pub, issued by (issuer, issuer_key); issuer NULL: self-signed. */
static X509 *make_cert(EVP_PKEY *pub, const char *cn, X509 *issuer, int64_t seconds, int ca,
                       int pathlen)
{
    X509 *x = X509_new();
    if (!x) return NULL;
    X509_NAME *name = X509_NAME_new();
    int ok = X509_set_version(x, 2) && set_serial(x, NULL) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), (long)seconds) && X509_set_pubkey(x, pub) &&
             name &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                        (const unsigned char *)"dnspersist", -1, -1, 0) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                        0) &&
             X509_set_subject_name(x, name) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    X509 *iss = issuer ? issuer : x;
    if (ok && ca) {
        char bc[64];
        snprintf(bc, sizeof bc, pathlen >= 0 ? "critical,CA:TRUE,pathlen:%d" : "critical,CA:TRUE",
                 pathlen);
        ok = add_ext(x, iss, NID_basic_constraints, bc) &&
             add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    }
    ok = ok && add_ext(x, iss, NID_subject_key_identifier, "hash") &&
         (!issuer || add_ext(x, iss, NID_authority_key_identifier, "keyid:always"));
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int finish(X509 *x, EVP_PKEY *key)
{
    return X509_sign(x, key, EVP_sha256()) > 0;
}

const char *pki_notice(const struct pki *p)
{
    return p->notice[0] ? p->notice : NULL;
}

void pki_free(struct pki *p)
{
    if (!p) return;
    csr_curves_free(p->curves);
    for (int i = 0; i < N_EXT; i++)
        X509_EXTENSION_free(p->leaf_ext[i]);
    EVP_PKEY_free(p->root_key);
    EVP_PKEY_free(p->int_key);
    EVP_PKEY_free(p->tls_key);
    X509_free(p->root);
    X509_free(p->inter);
    X509_free(p->tls);
    sk_X509_pop_free(p->chain, X509_free);
    free(p->tls_cert_pem);
    free(p->tls_key_pem);
    free(p->chain_pem);
    free(p->alt_pem);
    free(p);
}

static int save(const char *dir, const char *kname, EVP_PKEY *k, const char *cname, X509 *x)
{
    char *kp = pki_pem_key(k), *cp = pki_pem_cert(x);
    int ok = kp && cp && pki_write_file(dir, kname, kp, 0600) == 0 &&
             pki_write_file(dir, cname, cp, 0644) == 0;
    free(kp);
    free(cp);
    return ok;
}

/* A new CA for an empty data directory (the embedded default): root and
 * intermediate made here. The running set (intermediate.key and .pem,
 * root.pem) goes into dir; the root key goes beside it (pki_root_key_dir),
 * or stays in dir when that cannot be made, and p->notice says which. */
static int create(struct pki *p, const char *dir, struct dp_error *err)
{
    p->root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    p->int_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    p->root = p->root_key
                  ? make_cert(p->root_key, "dnspersist root CA", NULL, 10L * 365 * 86400, 1, -1)
                  : NULL;
    if (!p->root || !finish(p->root, p->root_key)) return -1;
    p->inter = p->int_key ? make_cert(p->int_key, "dnspersist intermediate CA", p->root,
                                      5L * 365 * 86400, 1, 0)
                          : NULL;
    if (!p->inter || !finish(p->inter, p->root_key)) return -1;
    char home[4096];
    pki_root_key_dir(dir, home, sizeof home);
    int away = (mkdir(home, 0700) == 0 || errno == EEXIST) &&
               save(home, "root.key", p->root_key, "root.pem", p->root);
    if (!away && !save(dir, "root.key", p->root_key, "root.pem", p->root)) goto io;
    char *rp = pki_pem_cert(p->root);
    int ok = rp && pki_write_file(dir, "root.pem", rp, 0644) == 0 &&
             save(dir, "intermediate.key", p->int_key, "intermediate.pem", p->inter);
    free(rp);
    if (!ok) goto io;
    snprintf(p->notice, sizeof p->notice,
             away ? "made a new CA; its root key is in %s/root.key, outside the data directory: "
                    "the running CA never needs it, so move it offline (perspective-credentials "
                    "and keys sign use it)"
                  : "made a new CA; its root key stays in %s/root.key (%s could not be made): "
                    "move it offline",
             away ? home : dir, home);
    EVP_PKEY_free(p->root_key); /* signing leaves and CRLs needs only the intermediate */
    p->root_key = NULL;
    return 0;
io:
    snprintf(err->detail, sizeof err->detail, "cannot write the CA into %s", dir);
    err->code = DP_ERR_IO;
    return -2;
}

/* The running set: intermediate.key (a file or a pkcs11: URI) matching
 * intermediate.pem, which chains through chain.pem (may be absent) to
 * root.pem. 0, or -2 with err. */
static int load_set(struct pki *p, const char *dir, struct dp_error *err)
{
    char why[512] = "";
    p->root = pki_load_cert(dir, "root.pem");
    p->inter = pki_load_cert(dir, "intermediate.pem");
    p->chain = pki_load_certs(dir, "chain.pem");
    if (!p->root || !p->inter) {
        snprintf(err->detail, sizeof err->detail,
                 "%s has only part of the CA (intermediate.key, intermediate.pem and root.pem are "
                 "needed): restore it, import an intermediate (dnspersist-ca keys import), or "
                 "start from an empty directory",
                 dir);
    } else if (!(p->int_key = pki_load_key(dir, "intermediate.key", why, sizeof why))) {
        snprintf(err->detail, sizeof err->detail, "the issuing key: %s", why);
    } else if (!pki_same_key(X509_get0_pubkey(p->inter), p->int_key)) {
        snprintf(err->detail, sizeof err->detail,
                 "%s/intermediate.key is not the key of intermediate.pem", dir);
    } else if (!p->chain) {
        snprintf(err->detail, sizeof err->detail, "%s/chain.pem cannot be read", dir);
    } else if (pki_chain_check(p->inter, p->chain, p->root, why, sizeof why)) {
        snprintf(err->detail, sizeof err->detail, "%s/intermediate.pem: %s", dir, why);
    } else if (pki_alternate_load(dir, p->inter, &p->alt_pem, why, sizeof why)) {
        snprintf(err->detail, sizeof err->detail, "%s", why);
    } else {
        char legacy[4200];
        snprintf(legacy, sizeof legacy, "%s/root.key", dir);
        if (access(legacy, F_OK) == 0)
            snprintf(p->notice, sizeof p->notice,
                     "%.600s: the running CA does not need the root key: move it offline", legacy);
        return 0;
    }
    err->code = DP_ERR_IO;
    return -2;
}

struct pki *pki_open(const char *dir, const char *const *tls_names, size_t n_tls,
                     struct dp_error *err)
{
    struct pki *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->curves = csr_curves_new();
    if (pki_key_private(dir, "root.key", err) || pki_key_private(dir, "intermediate.key", err) ||
        pki_key_private(dir, "tls.key", err))
        goto fail;
    static const char *const set[] = {"root.key", "root.pem", "intermediate.key",
                                      "intermediate.pem", "chain.pem"};
    int any = 0;
    for (size_t i = 0; i < sizeof set / sizeof *set; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, set[i]);
        any |= access(path, F_OK) == 0;
    }
    /* Nothing there: a new CA. Anything there: it must be whole, never
     * completed silently. */
    int rc = any ? load_set(p, dir, err) : create(p, dir, err);
    if (rc == -1) goto crypto;
    if (rc) goto fail;
    /* The listener's certificate: from the intermediate, remade when the
     * listener's names change. */
    p->tls_key = pki_load_key(dir, "tls.key", NULL, 0);
    p->tls = pki_load_cert(dir, "tls.pem");
    int fits = p->tls_key && p->tls;
    for (size_t i = 0; fits && i < n_tls; i++)
        fits = X509_check_host(p->tls, tls_names[i], 0, 0, NULL) == 1 ||
               X509_check_ip_asc(p->tls, tls_names[i], 0) == 1;
    if (!fits) {
        EVP_PKEY_free(p->tls_key);
        X509_free(p->tls);
        p->tls_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        p->tls = p->tls_key ? make_cert(p->tls_key, n_tls ? tls_names[0] : "localhost", p->inter,
                                        825L * 86400, 0, -1)
                            : NULL;
        char san[2048] = "";
        size_t o = 0;
        for (size_t i = 0; i < n_tls && o < sizeof san; i++) {
            unsigned char buf[16];
            int ip = inet_pton(AF_INET, tls_names[i], buf) == 1 ||
                     inet_pton(AF_INET6, tls_names[i], buf) == 1;
            o += (size_t)snprintf(san + o, sizeof san - o, "%s%s:%s", i ? "," : "",
                                  ip ? "IP" : "DNS", tls_names[i]);
        }
        if (!p->tls || (n_tls && !add_ext(p->tls, p->inter, NID_subject_alt_name, san)) ||
            !add_ext(p->tls, p->inter, NID_ext_key_usage, "serverAuth") ||
            !finish(p->tls, p->int_key))
            goto crypto;
        if (!save(dir, "tls.key", p->tls_key, "tls.pem", p->tls)) {
            snprintf(err->detail, sizeof err->detail, "cannot write the TLS certificate into %s",
                     dir);
            err->code = DP_ERR_IO;
            goto fail;
        }
    }
    X509V3_CTX xc;
    X509V3_set_ctx_nodb(&xc);
    X509V3_set_ctx(&xc, p->inter, NULL, NULL, NULL, 0);
    p->leaf_ext[EXT_BC] =
        X509V3_EXT_conf_nid(NULL, &xc, NID_basic_constraints, "critical,CA:FALSE");
    p->leaf_ext[EXT_KU_EC] =
        X509V3_EXT_conf_nid(NULL, &xc, NID_key_usage, "critical,digitalSignature");
    p->leaf_ext[EXT_KU_RSA] =
        X509V3_EXT_conf_nid(NULL, &xc, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    p->leaf_ext[EXT_EKU] = X509V3_EXT_conf_nid(NULL, &xc, NID_ext_key_usage, "serverAuth");
    p->leaf_ext[EXT_AKI] =
        X509V3_EXT_conf_nid(NULL, &xc, NID_authority_key_identifier, "keyid:always");
    for (int i = 0; i < EXT_CRLDP; i++) /* the CRL URL comes later: pki_set_crl_url */
        if (!p->leaf_ext[i]) goto crypto;
    /* What follows a leaf: the intermediate, then any certificate between
     * it and the root (chain.pem). The listener sends it too when its
     * certificate is the intermediate's (one made by an older version
     * from the root goes alone). */
    p->chain_pem = pki_pem_cert(p->inter);
    for (int i = 0; p->chain_pem && i < sk_X509_num(p->chain); i++)
        p->chain_pem = pki_append_pem(p->chain_pem, sk_X509_value(p->chain, i));
    char *leaf = pki_pem_cert(p->tls);
    int from_inter = !X509_NAME_cmp(X509_get_issuer_name(p->tls), X509_get_subject_name(p->inter));
    /* concat takes leaf over (and frees it on failure). */
    p->tls_cert_pem = leaf && from_inter && p->chain_pem ? pki_concat(leaf, p->chain_pem) : leaf;
    p->tls_key_pem = pki_pem_key(p->tls_key);
    if (!p->tls_cert_pem || !p->tls_key_pem || !p->chain_pem) goto crypto;
    return p;
crypto:
    snprintf(err->detail, sizeof err->detail, "OpenSSL failed while creating the CA");
    err->code = DP_ERR_CRYPTO;
fail:
    pki_free(p);
    ERR_clear_error();
    return NULL;
}

const char *pki_tls_cert_pem(const struct pki *p)
{
    return p->tls_cert_pem;
}
const char *pki_tls_key_pem(const struct pki *p)
{
    return p->tls_key_pem;
}
const char *pki_alt_chain_pem(const struct pki *p)
{
    return p->alt_pem;
}

const char *pki_chain_pem(const struct pki *p)
{
    return p->chain_pem;
}

/* 1 when pub is the key of the account JWK jwk. Compared by its public
 * numbers (EC x and y, RSA n): decoding PEM or DER through OpenSSL 3's
 * decoders costs over a millisecond, this a few microseconds. */

enum pki_csr_result pki_issue(struct pki *pk, const unsigned char *der, size_t len,
                              const char *const *names, size_t n, const struct profile *prof,
                              const char *account_jwk, const struct pki_key_check *check,
                              char **pem, char *serial_hex, char *why, size_t cap)
{
    *pem = NULL;
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
    x = X509_new();
    subj = X509_NAME_new();
    int ok =
        x && subj && X509_set_version(x, 2) && set_serial(x, serial_hex) &&
        X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
        X509_gmtime_adj(X509_getm_notAfter(x), (long)prof->lifetime) && csr_copy_spki(req, x) &&
        (!prof->cn || strlen(names[0]) > 64 || /* ub-common-name */
         X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)names[0], -1,
                                    -1, 0)) &&
        X509_set_subject_name(x, subj) && X509_set_issuer_name(x, X509_get_subject_name(pk->inter));
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
        ok =
            san && add_ext(x, pk->inter, NID_subject_alt_name, san) &&
            X509_add_ext(x, pk->leaf_ext[EXT_BC], -1) &&
            X509_add_ext(x, pk->leaf_ext[EVP_PKEY_is_a(pub, "RSA") ? EXT_KU_RSA : EXT_KU_EC], -1) &&
            (prof->client_auth ? add_ext(x, pk->inter, NID_ext_key_usage, "serverAuth,clientAuth")
                               : X509_add_ext(x, pk->leaf_ext[EXT_EKU], -1)) &&
            add_ext(x, pk->inter, NID_subject_key_identifier, "hash") &&
            X509_add_ext(x, pk->leaf_ext[EXT_AKI], -1) &&
            (!prof->crl || !pk->leaf_ext[EXT_CRLDP] ||
             X509_add_ext(x, pk->leaf_ext[EXT_CRLDP], -1)) &&
            finish(x, pk->int_key);
        free(san);
    }
    if (ok) {
        *pem = pki_pem_cert(x);
    }
    if (*pem) r = PKI_CSR_OK;
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
    if (x && X509_check_issued(pk->inter, x) == X509_V_OK) {
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

int pki_set_crl_url(struct pki *p, const char *url)
{
    char v[600];
    snprintf(v, sizeof v, "URI:%s", url);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_crl_distribution_points, v);
    if (!e) return -1;
    X509_EXTENSION_free(p->leaf_ext[EXT_CRLDP]);
    p->leaf_ext[EXT_CRLDP] = e;
    return 0;
}

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

int pki_crl(struct pki *p, const struct pki_revoked *r, size_t n, uint64_t number, int64_t now,
            int64_t validity, unsigned char **der, size_t *len)
{
    *der = NULL;
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)now),
              *t2 = ASN1_TIME_set(NULL, (time_t)(now + validity));
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    X509V3_CTX xc;
    X509V3_set_ctx_nodb(&xc);
    X509V3_set_ctx(&xc, p->inter, NULL, NULL, crl, 0);
    X509_EXTENSION *aki =
        crl ? X509V3_EXT_conf_nid(NULL, &xc, NID_authority_key_identifier, "keyid:always") : NULL;
    int ok = crl && t1 && t2 && num && aki && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
             X509_CRL_set_issuer_name(crl, X509_get_subject_name(p->inter)) &&
             X509_CRL_set1_lastUpdate(crl, t1) && X509_CRL_set1_nextUpdate(crl, t2) &&
             ASN1_INTEGER_set_uint64(num, number) &&
             X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) &&
             X509_CRL_add_ext(crl, aki, -1);
    for (size_t i = 0; ok && i < n; i++)
        ok = crl_entry(crl, &r[i]);
    ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, p->int_key, EVP_sha256()) > 0;
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

size_t pki_issuer_key_id(const struct pki *p, unsigned char *out, size_t cap)
{
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(p->inter);
    if (!ski || (size_t)ASN1_STRING_length(ski) > cap) return 0;
    memcpy(out, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
    return (size_t)ASN1_STRING_length(ski);
}
