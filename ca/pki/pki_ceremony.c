/*
 * pki_ceremony.c: the key ceremony (pki_ceremony.h). A root made offline
 * (or someone else's: a corporate root signs our CSR with its own tools),
 * an issuing key made where it will live (a file, or a token through a
 * pkcs11: URI), its CSR, the root's signature, and the import that checks
 * everything matches before the running set is complete. The running CA
 * then needs intermediate.key, intermediate.pem, chain.pem and root.pem,
 * never the root's key.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "pki_ceremony.h"
#include "pki_files.h"
#include "pki_int.h"

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return -1;
}

static EVP_PKEY *new_key(const char *type)
{
    if (!type || !strcmp(type, "ec") || !strcmp(type, "p256"))
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!strcmp(type, "p384")) return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (!strcmp(type, "rsa")) return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    return NULL;
}

int pki_key_type_ok(const char *type)
{
    return !type || !strcmp(type, "ec") || !strcmp(type, "p256") || !strcmp(type, "p384") ||
           !strcmp(type, "rsa");
}

static X509_NAME *name_of(const char *cn)
{
    X509_NAME *n = X509_NAME_new();
    if (n && (!X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
                                          (const unsigned char *)"dnspersist", -1, -1, 0) ||
              !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                          0))) {
        X509_NAME_free(n);
        return NULL;
    }
    return n;
}

/* A CA certificate for pub named subject, issued by iss (NULL: itself),
 * signed with key; pathlen < 0 for none. */
static X509 *ca_cert(EVP_PKEY *pub, const X509_NAME *subject, X509 *iss, EVP_PKEY *key, int days,
                     int pathlen)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    unsigned char rnd[16];
    char bc[64];
    snprintf(bc, sizeof bc, pathlen >= 0 ? "critical,CA:TRUE,pathlen:%d" : "critical,CA:TRUE",
             pathlen);
    int ok = x && bn && RAND_bytes(rnd, sizeof rnd) == 1 && (rnd[0] &= 0x7F, 1) &&
             BN_bin2bn(rnd, sizeof rnd, bn) && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
             X509_set_version(x, 2) && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) &&
             X509_set_pubkey(x, pub) && X509_set_subject_name(x, subject) &&
             X509_set_issuer_name(x, iss ? X509_get_subject_name(iss) : subject) &&
             pki__add_ext(x, iss ? iss : x, NID_basic_constraints, bc) &&
             pki__add_ext(x, iss ? iss : x, NID_key_usage,
                          "critical,keyCertSign,cRLSign,digitalSignature") &&
             pki__add_ext(x, iss ? iss : x, NID_subject_key_identifier, "hash") &&
             (!iss || pki__add_ext(x, iss, NID_authority_key_identifier, "keyid:always")) &&
             X509_sign(x, key, EVP_sha256()) > 0;
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int exists(const char *dir, const char *name)
{
    char p[4700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

int pki_root_create(const char *dir, const char *cn, int days, const char *type, char *why,
                    size_t cap)
{
    if (mkdir(dir, 0700) && errno != EEXIST) return fail(why, cap, "cannot create %s", dir);
    if (exists(dir, "root.key") || exists(dir, "root.pem"))
        return fail(why, cap, "%s holds a root already: not replaced", dir);
    EVP_PKEY *k = new_key(type);
    X509_NAME *n = name_of(cn);
    X509 *x = k && n ? ca_cert(k, n, NULL, k, days, -1) : NULL;
    char *kp = x ? pki_pem_key(k) : NULL, *cp = x ? pki_pem_cert(x) : NULL;
    int rc = kp && cp && !pki_write_file(dir, "root.key", kp, 0600) &&
                     !pki_write_file(dir, "root.pem", cp, 0644)
                 ? 0
                 : fail(why, cap, "cannot make or write the root in %s", dir);
    free(kp);
    free(cp);
    X509_free(x);
    X509_NAME_free(n);
    EVP_PKEY_free(k);
    return rc;
}

int pki_intermediate_csr(const char *dir, const char *uri, const char *type, const char *cn,
                         char **csr, char *why, size_t cap)
{
    *csr = NULL;
    if (mkdir(dir, 0700) && errno != EEXIST) return fail(why, cap, "cannot create %s", dir);
    if (exists(dir, "intermediate.pem"))
        return fail(why, cap, "%s has an intermediate already: not replaced", dir);
    EVP_PKEY *k = NULL;
    char err[512] = "";
    if (uri) {
        /* The key stays in the token: the data directory names it. */
        char line[2100];
        snprintf(line, sizeof line, "%s\n", uri);
        if (!(k = pki_load_key_uri(uri, err, sizeof err))) return fail(why, cap, "%s", err);
        if (pki_write_file(dir, "intermediate.key", line, 0600)) {
            EVP_PKEY_free(k);
            return fail(why, cap, "cannot write %s/intermediate.key", dir);
        }
    } else if (exists(dir, "intermediate.key")) {
        /* A CSR again for the key made before (the first one was lost). */
        if (!(k = pki_load_key(dir, "intermediate.key", err, sizeof err)))
            return fail(why, cap, "%s", err);
    } else {
        char *kp = NULL;
        if (!(k = new_key(type)) || !(kp = pki_pem_key(k)) ||
            pki_write_file(dir, "intermediate.key", kp, 0600)) {
            free(kp);
            EVP_PKEY_free(k);
            return fail(why, cap, "cannot make or write %s/intermediate.key", dir);
        }
        free(kp);
    }
    X509_REQ *r = X509_REQ_new();
    X509_NAME *n = name_of(cn);
    BIO *b = BIO_new(BIO_s_mem());
    int ok = r && n && b && X509_REQ_set_version(r, 0) && X509_REQ_set_subject_name(r, n) &&
             X509_REQ_set_pubkey(r, k) && X509_REQ_sign(r, k, EVP_sha256()) > 0 &&
             PEM_write_bio_X509_REQ(b, r);
    if (ok) {
        char *d;
        long l = BIO_get_mem_data(b, &d);
        if ((*csr = malloc((size_t)l + 1))) {
            memcpy(*csr, d, (size_t)l);
            (*csr)[l] = '\0';
        }
    }
    BIO_free(b);
    X509_NAME_free(n);
    X509_REQ_free(r);
    EVP_PKEY_free(k);
    return *csr ? 0 : fail(why, cap, "%s", "cannot make the CSR (the key cannot sign?)");
}

static X509 *cert_of(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

int pki_intermediate_sign(const char *root_dir, const char *csr_pem, int days, char **cert,
                          char *why, size_t cap)
{
    *cert = NULL;
    char err[512] = "";
    EVP_PKEY *rk = pki_load_key(root_dir, "root.key", err, sizeof err);
    X509 *root = pki_load_cert(root_dir, "root.pem");
    BIO *b = BIO_new_mem_buf(csr_pem, -1);
    X509_REQ *r = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
    EVP_PKEY *pub = r ? X509_REQ_get0_pubkey(r) : NULL;
    int rc = 0;
    if (!rk || !root)
        rc = fail(why, cap, "the root: %s", rk ? "no root.pem beside root.key" : err);
    else if (!pki_same_key(X509_get0_pubkey(root), rk))
        rc = fail(why, cap, "%s/root.key is not the key of root.pem", root_dir);
    else if (!pub || X509_REQ_verify(r, pub) != 1)
        rc = fail(why, cap, "%s", "the CSR is unreadable or its signature does not verify");
    else {
        X509 *x = ca_cert(pub, X509_REQ_get_subject_name(r), root, rk, days, 0);
        if (!x || !(*cert = pki_pem_cert(x)))
            rc = fail(why, cap, "%s", "cannot sign the intermediate");
        X509_free(x);
    }
    X509_REQ_free(r);
    BIO_free(b);
    X509_free(root);
    EVP_PKEY_free(rk);
    ERR_clear_error();
    return rc;
}

/* Every certificate of a PEM text (NULL for none: an empty stack). */
static STACK_OF(X509) * certs_of(const char *pem)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *b = pem && sk ? BIO_new_mem_buf(pem, -1) : NULL;
    X509 *x;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
        if (!sk_X509_push(sk, x)) X509_free(x);
    BIO_free(b);
    ERR_clear_error();
    return sk;
}

int pki_intermediate_import(const char *dir, const char *cert_pem, const char *chain_pem,
                            const char *root_pem, int write_root, char *why, size_t cap)
{
    char err[512] = "";
    X509 *x = cert_of(cert_pem), *root = cert_of(root_pem);
    STACK_OF(X509) *chain = certs_of(chain_pem);
    EVP_PKEY *k = pki_load_key(dir, "intermediate.key", err, sizeof err);
    X509 *old = pki_load_cert(dir, "intermediate.pem");
    int rc = 0;
    if (!x || !root || !chain)
        rc = fail(why, cap, "%s", "the certificate or the root is not a PEM certificate");
    else if (!k)
        rc = fail(why, cap, "no issuing key (make it with keys csr first): %s", err);
    else if (!pki_same_key(X509_get0_pubkey(x), k))
        rc = fail(why, cap, "the certificate is not for %s/intermediate.key", dir);
    else if (X509_check_ca(x) < 1 || !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN) ||
             !(X509_get_key_usage(x) & KU_CRL_SIGN))
        rc = fail(why, cap, "%s",
                  "the certificate is not a CA's that may sign certificates and CRLs "
                  "(basicConstraints CA:TRUE, keyUsage keyCertSign and cRLSign)");
    else if (X509_check_issued(root, root) != X509_V_OK)
        rc = fail(why, cap, "%s", "the root is not self-signed: give the top of the hierarchy");
    else if (pki_chain_check(x, chain, root, err, sizeof err))
        rc = fail(why, cap,
                  "the certificate %s (give the certificates between it and the root "
                  "with --chain)",
                  err);
    else if (old && X509_cmp(old, x))
        rc = fail(why, cap, "%s has another intermediate: not replaced", dir);
    if (rc == 0) {
        /* chain.pem and root.pem first, intermediate.pem last: until then
         * the set is incomplete and no CA starts on it. */
        char *cp = NULL, *rp = pki_pem_cert(root), *ip = pki_pem_cert(x);
        size_t l = 0;
        for (int i = 0; i < sk_X509_num(chain); i++) {
            char *one = pki_pem_cert(sk_X509_value(chain, i));
            char *g = one ? realloc(cp, l + strlen(one) + 1) : NULL;
            if (g) {
                memcpy(g + l, one, strlen(one) + 1);
                l += strlen(one);
                cp = g;
            }
            free(one);
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/chain.pem", dir);
        int ok = rp && ip && (sk_X509_num(chain) == 0 || cp) &&
                 (cp ? !pki_write_file(dir, "chain.pem", cp, 0644)
                     : (unlink(path) == 0 || errno == ENOENT)) &&
                 (!write_root || !pki_write_file(dir, "root.pem", rp, 0644)) &&
                 !pki_write_file(dir, "intermediate.pem", ip, 0644);
        if (!ok) rc = fail(why, cap, "cannot write into %s", dir);
        free(cp);
        free(rp);
        free(ip);
    }
    X509_free(old);
    EVP_PKEY_free(k);
    sk_X509_pop_free(chain, X509_free);
    X509_free(root);
    X509_free(x);
    return rc;
}

int pki_alternate_import(const char *dir, const char *cert_pem, const char *chain_pem,
                         const char *root_pem, char *why, size_t cap)
{
    char err[512] = "";
    X509 *x = cert_of(cert_pem), *root = cert_of(root_pem);
    X509 *inter = pki_load_cert(dir, "intermediate.pem");
    STACK_OF(X509) *chain = certs_of(chain_pem);
    int rc = 0;
    if (!x || !root || !chain)
        rc = fail(why, cap, "%s", "the certificate or the root is not a PEM certificate");
    else if (!inter)
        rc = fail(why, cap, "%s has no intermediate yet (keys import first)", dir);
    else if (!pki_same_key(X509_get0_pubkey(x), X509_get0_pubkey(inter)) ||
             X509_NAME_cmp(X509_get_subject_name(x), X509_get_subject_name(inter)))
        rc = fail(why, cap, "%s",
                  "the certificate is not the intermediate's (same name and key) from another "
                  "issuer: leaves would not verify against it");
    else if (X509_check_ca(x) < 1)
        rc = fail(why, cap, "%s", "the certificate is not a CA's");
    else if (X509_check_issued(root, root) != X509_V_OK)
        rc = fail(why, cap, "%s", "the root is not self-signed");
    else if (pki_chain_check(x, chain, root, err, sizeof err))
        rc = fail(why, cap, "the certificate %s", err);
    if (rc == 0) {
        char *alt = pki_pem_cert(x), *rp = pki_pem_cert(root);
        for (int i = 0; alt && i < sk_X509_num(chain); i++)
            alt = pki_append_pem(alt, sk_X509_value(chain, i));
        if (!alt || !rp || pki_write_file(dir, "alternate-root.pem", rp, 0644) ||
            pki_write_file(dir, "alternate.pem", alt, 0644))
            rc = fail(why, cap, "cannot write into %s", dir);
        free(alt);
        free(rp);
    }
    X509_free(inter);
    sk_X509_pop_free(chain, X509_free);
    X509_free(root);
    X509_free(x);
    return rc;
}

int pki_issuer_dir(const char *data, const char *name, char *out, size_t cap)
{
    if (!name) {
        snprintf(out, cap, "%s", data);
        return 0;
    }
    size_t l = strlen(name);
    int ok = l > 0 && l < PKI_ISSUER_NAME;
    for (const char *c = name; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-';
    if (!ok) return -1;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/issuers", data);
    if ((mkdir(data, 0700) && errno != EEXIST) || (mkdir(sub, 0700) && errno != EEXIST)) return -1;
    snprintf(out, cap, "%s/%s", sub, name);
    return 0;
}

int pki_issuer_retire(const char *data, const char *name, char *why, size_t cap)
{
    char dir[4300];
    if (pki_issuer_dir(data, name, dir, sizeof dir) || !exists(dir, "intermediate.pem"))
        return fail(why, cap, "no intermediate %s in %s", name ? name : "(the primary)", data);
    /* One must stay able to issue: load the set as it would be. */
    const char *mark = name ? "retired" : "intermediate.retired";
    if (pki_write_file(dir, mark, "retired: signs CRLs only\n", 0644))
        return fail(why, cap, "cannot write into %s", dir);
    const char *names[] = {"localhost"};
    struct dp_error e = {0};
    struct pki *p = pki_open(data, names, 1, &e);
    if (!p) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, mark);
        unlink(path);
        return fail(why, cap, "not retired: %s", e.detail);
    }
    pki_free(p);
    return 0;
}

static void days_left(X509 *x, char *out, size_t cap)
{
    int d = 0, s = 0;
    ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(x));
    snprintf(out, cap, "%d days left", d);
}

int pki_keys_check(const char *dir, char *out, size_t cap)
{
    char err[512] = "", life[64];
    size_t o = 0;
    int bad = 0;
#define SAY(...) (o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, __VA_ARGS__))
    X509 *root = pki_load_cert(dir, "root.pem"), *x = pki_load_cert(dir, "intermediate.pem");
    STACK_OF(X509) *chain = pki_load_certs(dir, "chain.pem");
    EVP_PKEY *k = pki_load_key(dir, "intermediate.key", err, sizeof err);
    if (root) {
        days_left(root, life, sizeof life);
        SAY("root.pem: %s\n", life);
    } else {
        SAY("root.pem: missing\n"), bad = 1;
    }
    if (k)
        SAY("intermediate.key: %s\n",
            pki_key_is_uri(dir, "intermediate.key") ? "in a token (PKCS#11 URI)" : "a file");
    else
        SAY("intermediate.key: %s\n", err), bad = 1;
    if (x) {
        days_left(x, life, sizeof life);
        SAY("intermediate.pem: %s\n", life);
        if (k && !pki_same_key(X509_get0_pubkey(x), k))
            SAY("intermediate.pem: not the certificate of intermediate.key\n"), bad = 1;
        if (root && chain && pki_chain_check(x, chain, root, err, sizeof err))
            SAY("intermediate.pem: %s\n", err), bad = 1;
    } else {
        SAY("intermediate.pem: missing\n"), bad = 1;
    }
    if (!chain) SAY("chain.pem: unreadable\n"), bad = 1;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/issuers", dir);
    DIR *d = opendir(sub);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char idir[4500];
        snprintf(idir, sizeof idir, "%s/%s", sub, e->d_name);
        X509 *ix = pki_load_cert(idir, "intermediate.pem");
        if (ix) days_left(ix, life, sizeof life);
        SAY("issuers/%s: %s%s\n", e->d_name, ix ? life : "no intermediate.pem",
            exists(idir, "retired") ? ", retired (CRLs only)" : "");
        bad |= !ix;
        X509_free(ix);
    }
    if (d) closedir(d);
    if (exists(dir, "intermediate.retired")) SAY("intermediate.pem: retired (CRLs only)\n");
    if (exists(dir, "root.key"))
        SAY("root.key: in the running set: the running CA does not need it; move it offline\n"),
            bad = 1;
    else
        SAY("root.key: not in the running set\n");
#undef SAY
    X509_free(root);
    X509_free(x);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(k);
    return bad ? -1 : 0;
}
