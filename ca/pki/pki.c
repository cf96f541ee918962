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
#include <dirent.h>
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

#include "pki_files.h"
#include "pki_int.h"

/* A certificate for pub, issued by (issuer, issuer_key); issuer NULL: self-signed. */
static X509 *make_cert(EVP_PKEY *pub, const char *cn, X509 *issuer, int64_t seconds, int ca,
                       int pathlen)
{
    X509 *x = X509_new();
    if (!x) return NULL;
    X509_NAME *name = X509_NAME_new();
    int ok = X509_set_version(x, 2) && pki__set_serial(x, NULL) &&
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
        ok = pki__add_ext(x, iss, NID_basic_constraints, bc) &&
             pki__add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    }
    ok = ok && pki__add_ext(x, iss, NID_subject_key_identifier, "hash") &&
         (!issuer || pki__add_ext(x, iss, NID_authority_key_identifier, "keyid:always"));
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
    for (size_t k = 0; k < p->n; k++) {
        struct pki_issuer *is = &p->is[k];
        for (int i = 0; i < N_EXT; i++)
            X509_EXTENSION_free(is->ext[i]);
        EVP_PKEY_free(is->key);
        X509_free(is->cert);
        sk_X509_pop_free(is->chain, X509_free);
        free(is->chain_pem);
    }
    EVP_PKEY_free(p->root_key);
    EVP_PKEY_free(p->tls_key);
    X509_free(p->root);
    X509_free(p->tls);
    free(p->tls_cert_pem);
    free(p->tls_key_pem);
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
    struct pki_issuer *is = &p->is[p->n++];
    p->root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    is->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!(is->chain = sk_X509_new_null())) return -1;
    p->root = p->root_key
                  ? make_cert(p->root_key, "dnspersist root CA", NULL, 10L * 365 * 86400, 1, -1)
                  : NULL;
    if (!p->root || !finish(p->root, p->root_key)) return -1;
    is->cert =
        is->key ? make_cert(is->key, "dnspersist intermediate CA", p->root, 5L * 365 * 86400, 1, 0)
                : NULL;
    if (!is->cert || !finish(is->cert, p->root_key)) return -1;
    char home[4096];
    pki_root_key_dir(dir, home, sizeof home);
    int away = (mkdir(home, 0700) == 0 || errno == EEXIST) &&
               save(home, "root.key", p->root_key, "root.pem", p->root);
    if (!away && !save(dir, "root.key", p->root_key, "root.pem", p->root)) goto io;
    char *rp = pki_pem_cert(p->root);
    int ok = rp && pki_write_file(dir, "root.pem", rp, 0644) == 0 &&
             save(dir, "intermediate.key", is->key, "intermediate.pem", is->cert);
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

/* One intermediate of the running set, from dir (the data directory's
 * intermediate.*, or issuers/NAME/): its key (a file or a pkcs11: URI)
 * matching its certificate, which chains through chain.pem (may be
 * absent) to root. 0, or -1 with why. */
static int load_issuer(struct pki_issuer *is, const char *dir, const char *retired, X509 *root,
                       char *why, size_t cap)
{
    char err[512] = "", path[4200];
    is->cert = pki_load_cert(dir, "intermediate.pem");
    is->chain = pki_load_certs(dir, "chain.pem");
    if (!is->cert)
        snprintf(why, cap, "%.300s/intermediate.pem is missing or not a certificate", dir);
    else if (!(is->key = pki_load_key(dir, "intermediate.key", err, sizeof err)))
        snprintf(why, cap, "the issuing key: %s", err);
    else if (!pki_same_key(X509_get0_pubkey(is->cert), is->key))
        snprintf(why, cap, "%.300s/intermediate.key is not the key of intermediate.pem", dir);
    else if (!is->chain)
        snprintf(why, cap, "%.300s/chain.pem cannot be read", dir);
    else if (pki_chain_check(is->cert, is->chain, root, err, sizeof err))
        snprintf(why, cap, "%.300s/intermediate.pem: %s", dir, err);
    else {
        is->rsa = EVP_PKEY_is_a(is->key, "RSA");
        snprintf(path, sizeof path, "%s/%s", dir, retired);
        is->retired = access(path, F_OK) == 0;
        return 0;
    }
    return -1;
}

/* 1 for an issuer name: lower-case letters, digits and '-', 1 to 31. */
static int issuer_name_ok(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l >= PKI_ISSUER_NAME) return 0;
    for (const char *c = n; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-')) return 0;
    return 1;
}

/* The running set: the primary intermediate (intermediate.*) and any of
 * issuers/NAME/, each checked, then root.pem. 0, or -2 with err. */
static int load_set(struct pki *p, const char *dir, struct dp_error *err)
{
    char why[700] = "";
    p->root = pki_load_cert(dir, "root.pem");
    char ik[4200], ic[4200];
    snprintf(ik, sizeof ik, "%s/intermediate.key", dir);
    snprintf(ic, sizeof ic, "%s/intermediate.pem", dir);
    if (!p->root || access(ik, F_OK) || access(ic, F_OK)) {
        snprintf(err->detail, sizeof err->detail,
                 "%s has only part of the CA (intermediate.key, intermediate.pem and root.pem are "
                 "needed): restore it, import an intermediate (dnspersist-ca keys import), or "
                 "start from an empty directory",
                 dir);
        err->code = DP_ERR_IO;
        return -2;
    }
    int rc = load_issuer(&p->is[p->n++], dir, "intermediate.retired", p->root, why, sizeof why);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/issuers", dir);
    DIR *d = rc == 0 ? opendir(sub) : NULL;
    struct dirent *e;
    while (d && rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (!issuer_name_ok(e->d_name) || p->n == PKI_MAX_ISSUERS) {
            snprintf(why, sizeof why,
                     "%.500s/%.64s: an issuer's name is a-z, 0-9 and '-' (at most %d "
                     "issuers)",
                     sub, e->d_name, PKI_MAX_ISSUERS);
            rc = -1;
            break;
        }
        char idir[4500];
        snprintf(idir, sizeof idir, "%s/%s", sub, e->d_name);
        struct pki_issuer *is = &p->is[p->n++];
        snprintf(is->name, sizeof is->name, "%.31s", e->d_name); /* checked: under 32 */
        rc = load_issuer(is, idir, "retired", p->root, why, sizeof why);
    }
    if (d) closedir(d);
    if (rc == 0 && pki_alternate_load(dir, p->is[0].cert, &p->alt_pem, why, sizeof why)) rc = -1;
    int active = 0;
    for (size_t i = 0; rc == 0 && i < p->n; i++)
        active |= !p->is[i].retired;
    if (rc == 0 && !active) {
        snprintf(why, sizeof why, "every intermediate is retired: none may issue");
        rc = -1;
    }
    if (rc) {
        snprintf(err->detail, sizeof err->detail, "%.380s", why);
        err->code = DP_ERR_IO;
        return -2;
    }
    char legacy[4200];
    snprintf(legacy, sizeof legacy, "%s/root.key", dir);
    if (access(legacy, F_OK) == 0)
        snprintf(p->notice, sizeof p->notice,
                 "%.600s: the running CA does not need the root key: move it offline", legacy);
    return 0;
}

/* What every leaf of is carries, and the chain that follows it. */
static int issuer_ready(struct pki_issuer *is)
{
    X509V3_CTX xc;
    X509V3_set_ctx_nodb(&xc);
    X509V3_set_ctx(&xc, is->cert, NULL, NULL, NULL, 0);
    is->ext[EXT_BC] = X509V3_EXT_conf_nid(NULL, &xc, NID_basic_constraints, "critical,CA:FALSE");
    is->ext[EXT_KU_EC] = X509V3_EXT_conf_nid(NULL, &xc, NID_key_usage, "critical,digitalSignature");
    is->ext[EXT_KU_RSA] =
        X509V3_EXT_conf_nid(NULL, &xc, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    is->ext[EXT_EKU] = X509V3_EXT_conf_nid(NULL, &xc, NID_ext_key_usage, "serverAuth");
    is->ext[EXT_AKI] = X509V3_EXT_conf_nid(NULL, &xc, NID_authority_key_identifier, "keyid:always");
    for (int i = 0; i < EXT_CRLDP; i++) /* the CRL URL comes later: pki_set_crl_url */
        if (!is->ext[i]) return -1;
    is->chain_pem = pki_pem_cert(is->cert);
    for (int i = 0; is->chain_pem && i < sk_X509_num(is->chain); i++)
        is->chain_pem = pki_append_pem(is->chain_pem, sk_X509_value(is->chain, i));
    return is->chain_pem ? 0 : -1;
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
        p->tls = p->tls_key ? make_cert(p->tls_key, n_tls ? tls_names[0] : "localhost",
                                        p->is[0].cert, 825L * 86400, 0, -1)
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
        if (!p->tls || (n_tls && !pki__add_ext(p->tls, p->is[0].cert, NID_subject_alt_name, san)) ||
            !pki__add_ext(p->tls, p->is[0].cert, NID_ext_key_usage, "serverAuth") ||
            !finish(p->tls, p->is[0].key))
            goto crypto;
        if (!save(dir, "tls.key", p->tls_key, "tls.pem", p->tls)) {
            snprintf(err->detail, sizeof err->detail, "cannot write the TLS certificate into %s",
                     dir);
            err->code = DP_ERR_IO;
            goto fail;
        }
    }
    for (size_t i = 0; i < p->n; i++)
        if (issuer_ready(&p->is[i])) goto crypto;
    /* The listener sends the chain too when its certificate is the
     * primary's (one made by an older version from the root goes alone). */
    char *leaf = pki_pem_cert(p->tls);
    int from_inter =
        !X509_NAME_cmp(X509_get_issuer_name(p->tls), X509_get_subject_name(p->is[0].cert));
    /* concat takes leaf over (and frees it on failure). */
    p->tls_cert_pem = leaf && from_inter ? pki_concat(leaf, p->is[0].chain_pem) : leaf;
    p->tls_key_pem = pki_pem_key(p->tls_key);
    if (!p->tls_cert_pem || !p->tls_key_pem) goto crypto;
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
    return p->is[0].chain_pem;
}

const char *pki_chain_for(const struct pki *p, const char *issuer)
{
    const struct pki_issuer *is = pki__issuer(p, issuer ? issuer : "");
    return is ? is->chain_pem : NULL;
}
