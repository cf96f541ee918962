/* key.c: account and certificate private keys (generate, load, save, sign). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "internal.h"
#include "jwk_int.h"
#include "key_int.h"

struct dp_key {
    EVP_PKEY *pk;
    char *jwk;
    char thumb[DP_THUMBPRINT_BUF];
    const char *alg;
    size_t coord; /* ECDSA: octets per signature half */
};

dp_code dp_key_type_from_name(const char *name, enum dp_key_type *out)
{
    static const char *const names[] = {"ec256", "ec384", "rsa2048", "ed25519"};
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, names[i])) {
            *out = (enum dp_key_type)i;
            return DP_OK;
        }
    return DP_ERR_UNSUPPORTED;
}

/* Takes ownership of pk. */
struct dp_key *dp__key_wrap(EVP_PKEY *pk, struct dp_error *err)
{
    struct dp_key *k = calloc(1, sizeof *k);
    json_t *jwk = k ? dp__jwk_from_pkey(pk, err) : NULL;
    if (!k || !jwk) goto fail;
    if (dp__jwk_thumbprint(jwk, k->thumb, err) != DP_OK) goto fail;
    k->jwk = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(jwk);
    jwk = NULL;
    if (!k->jwk) goto fail;
    k->pk = pk;
    if (EVP_PKEY_is_a(pk, "RSA")) {
        k->alg = "RS256";
    } else if (EVP_PKEY_is_a(pk, "ED25519")) {
        k->alg = "EdDSA";
    } else {
        int bits = EVP_PKEY_get_bits(pk);
        k->alg = bits <= 256 ? "ES256" : bits <= 384 ? "ES384" : "ES512";
        k->coord = bits <= 256 ? 32 : bits <= 384 ? 48 : 66;
    }
    return k;
fail:
    json_decref(jwk);
    if (k) free(k->jwk);
    free(k);
    EVP_PKEY_free(pk);
    if (err && err->code == DP_OK) dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    return NULL;
}

EVP_PKEY *dp__key_pkey(const struct dp_key *key)
{
    return key ? key->pk : NULL;
}

struct dp_key *dp_key_generate(enum dp_key_type type, struct dp_error *err)
{
    dp_error_clear(err);
    EVP_PKEY *pk = NULL;
    switch (type) {
    case DP_KEY_EC256:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case DP_KEY_EC384:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case DP_KEY_RSA2048:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    case DP_KEY_ED25519:
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        break;
    }
    if (!pk) {
        dp__fail(err, DP_ERR_CRYPTO, NULL, DP_NO_OFFSET, "key generation failed");
        return NULL;
    }
    return dp__key_wrap(pk, err);
}

struct dp_key *dp_key_load_pem(const char *pem, size_t len, struct dp_error *err)
{
    dp_error_clear(err);
    BIO *bio = pem && len && len < (1u << 20) ? BIO_new_mem_buf(pem, (int)len) : NULL;
    EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!pk) {
        dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "not an unencrypted PEM private key");
        return NULL;
    }
    return dp__key_wrap(pk, err);
}

struct dp_key *dp_key_load_file(const char *path, struct dp_error *err)
{
    dp_error_clear(err);
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "cannot open %s", path ? path : "(null)");
        return NULL;
    }
    char *buf = malloc(1u << 20);
    size_t n = buf ? fread(buf, 1, (1u << 20) - 1, f) : 0;
    fclose(f);
    if (!buf) {
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    struct dp_key *k = dp_key_load_pem(buf, n, err);
    free(buf);
    if (!k && err)
        snprintf(err->detail, sizeof err->detail, "%s: not an unencrypted PEM private key", path);
    return k;
}

void dp_key_free(struct dp_key *key)
{
    if (!key) return;
    EVP_PKEY_free(key->pk);
    free(key->jwk);
    free(key);
}

char *dp_key_private_pem_alloc(const struct dp_key *key, struct dp_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL, *data;
    if (b && key && PEM_write_bio_PrivateKey(b, key->pk, NULL, NULL, 0, NULL, NULL)) {
        long n = BIO_get_mem_data(b, &data);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, data, (size_t)n);
            out[n] = '\0';
        }
    }
    BIO_free(b);
    if (!out) dp__fail(err, DP_ERR_CRYPTO, NULL, DP_NO_OFFSET, "cannot write the key");
    return out;
}

const char *dp_key_jwk(const struct dp_key *key)
{
    return key ? key->jwk : NULL;
}

const char *dp_key_thumbprint(const struct dp_key *key)
{
    return key ? key->thumb : NULL;
}

const char *dp_key_jws_alg(const struct dp_key *key)
{
    return key ? key->alg : NULL;
}

dp_code dp_key_sign(const struct dp_key *key, const void *data, size_t len, unsigned char **sig,
                    size_t *sig_len, struct dp_error *err)
{
    if (!key || !sig || !sig_len)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    *sig = NULL;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    const char *md = key->coord == 48 ? "SHA384" : key->coord == 66 ? "SHA512" : "SHA256";
    size_t dl = 0;
    unsigned char *der = NULL;
    dp_code rc = DP_ERR_CRYPTO;
    if (!m ||
        EVP_DigestSignInit_ex(m, NULL, EVP_PKEY_is_a(key->pk, "ED25519") ? NULL : md, NULL, NULL,
                              key->pk, NULL) != 1 ||
        EVP_DigestSign(m, NULL, &dl, data, len) != 1 || !(der = malloc(dl)) ||
        EVP_DigestSign(m, der, &dl, data, len) != 1)
        goto out;
    if (!key->coord) { /* RSA and Ed25519 signatures are used as they are */
        *sig = der;
        *sig_len = dl;
        der = NULL;
        rc = DP_OK;
        goto out;
    }
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
    unsigned char *raw = es ? malloc(2 * key->coord) : NULL;
    if (raw && BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)key->coord) == (int)key->coord &&
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + key->coord, (int)key->coord) == (int)key->coord) {
        *sig = raw;
        *sig_len = 2 * key->coord;
        raw = NULL;
        rc = DP_OK;
    }
    free(raw);
    ECDSA_SIG_free(es);
out:
    free(der);
    EVP_MD_CTX_free(m);
    ERR_clear_error();
    if (rc != DP_OK) dp__fail(err, rc, NULL, DP_NO_OFFSET, "signing failed");
    return rc;
}

dp_code dp_key_csr(const struct dp_key *key, const char *const *names, size_t n,
                   unsigned char **der, size_t *len, struct dp_error *err)
{
    if (!key || !names || !n || !der || !len)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    X509_REQ *req = X509_REQ_new();
    X509_NAME *subj = X509_NAME_new();
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    int ok = req && subj && gens && exts && X509_REQ_set_version(req, 0) && strlen(names[0]) < 64 &&
             X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)names[0],
                                        -1, -1, 0) &&
             X509_REQ_set_subject_name(req, subj) && X509_REQ_set_pubkey(req, key->pk);
    for (size_t i = 0; ok && i < n; i++) {
        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        ok = g && s && ASN1_STRING_set(s, names[i], -1);
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_DNS, s);
            ok = sk_GENERAL_NAME_push(gens, g) > 0;
            if (!ok) GENERAL_NAME_free(g);
        } else {
            GENERAL_NAME_free(g);
            ASN1_IA5STRING_free(s);
        }
    }
    X509_EXTENSION *san = ok ? X509V3_EXT_i2d(NID_subject_alt_name, 0, gens) : NULL;
    ok = ok && san && sk_X509_EXTENSION_push(exts, san) > 0 && X509_REQ_add_extensions(req, exts);
    if (!ok) X509_EXTENSION_free(san);
    const EVP_MD *md = EVP_PKEY_is_a(key->pk, "ED25519") ? NULL : EVP_sha256();
    ok = ok && X509_REQ_sign(req, key->pk, md) > 0;
    unsigned char *out = NULL;
    int l = ok ? i2d_X509_REQ(req, &out) : -1;
    if (ok && san)
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    else
        sk_X509_EXTENSION_free(exts);
    GENERAL_NAMES_free(gens);
    X509_NAME_free(subj);
    X509_REQ_free(req);
    ERR_clear_error();
    if (l <= 0) return dp__fail(err, DP_ERR_CRYPTO, NULL, DP_NO_OFFSET, "cannot build the CSR");
    *der = malloc((size_t)l);
    if (!*der) {
        OPENSSL_free(out);
        return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    }
    memcpy(*der, out, (size_t)l);
    OPENSSL_free(out);
    *len = (size_t)l;
    return DP_OK;
}
