/*
 * jwk.c: account keys to RFC 7638 thumbprints. This is the one module that
 * reads key files for thumbprints; it only ever extracts the public half.
 *
 * The thumbprint input is the JWK's required members, sorted, with no
 * whitespace: exactly what jansson prints with JSON_COMPACT|JSON_SORT_KEYS,
 * since base64url strings and our fixed names need no escaping.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "internal.h"
#include "jwk_int.h"

#define PEM_MAX (1u << 20) /* a key file larger than 1 MiB is not a key */

static json_t *b64_member(const unsigned char *p, size_t n)
{
    char *s = malloc(dp__b64url_len(n) + 1);
    if (!s) return NULL;
    dp__b64url_encode(p, n, s);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* Big-endian octets of bn, minimal for RSA (RFC 7518 6.3.1) or padded to
 * pad octets for EC coordinates (RFC 7518 6.2.1.2). */
static json_t *bn_member(const BIGNUM *bn, int pad)
{
    int n = pad > 0 ? pad : BN_num_bytes(bn);
    if (n <= 0) n = 1;
    unsigned char *buf = malloc((size_t)n);
    if (!buf) return NULL;
    json_t *j = NULL;
    if (BN_bn2binpad(bn, buf, n) == n) j = b64_member(buf, (size_t)n);
    free(buf);
    return j;
}

static int set_new(json_t *obj, const char *k, json_t *v)
{
    return v && json_object_set_new(obj, k, v) == 0;
}

json_t *dp__jwk_from_pkey(EVP_PKEY *pk, struct dp_error *err)
{
    json_t *o = json_object();
    BIGNUM *a = NULL, *b = NULL;
    int ok = 0;
    if (!o) goto out;
    if (EVP_PKEY_is_a(pk, "RSA")) {
        if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &a) ||
            !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &b))
            goto crypto;
        ok = set_new(o, "kty", json_string("RSA")) && set_new(o, "n", bn_member(a, 0)) &&
             set_new(o, "e", bn_member(b, 0));
    } else if (EVP_PKEY_is_a(pk, "EC")) {
        char group[64];
        const char *crv = NULL;
        int size = 0;
        if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                            NULL))
            goto crypto;
        if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
            crv = "P-256", size = 32;
        else if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
            crv = "P-384", size = 48;
        else if (!strcmp(group, "secp521r1") || !strcmp(group, "P-521"))
            crv = "P-521", size = 66;
        if (!crv) {
            dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET,
                     "EC curve %s is not supported (P-256, P-384, P-521)", group);
            goto out;
        }
        if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
            !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
            goto crypto;
        ok = set_new(o, "kty", json_string("EC")) && set_new(o, "crv", json_string(crv)) &&
             set_new(o, "x", bn_member(a, size)) && set_new(o, "y", bn_member(b, size));
    } else if (EVP_PKEY_is_a(pk, "ED25519")) {
        unsigned char raw[32];
        size_t rl = sizeof raw;
        if (!EVP_PKEY_get_raw_public_key(pk, raw, &rl) || rl != 32) goto crypto;
        ok = set_new(o, "kty", json_string("OKP")) && set_new(o, "crv", json_string("Ed25519")) &&
             set_new(o, "x", b64_member(raw, rl));
    } else {
        dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET,
                 "key type %s is not supported (EC, RSA, Ed25519)", EVP_PKEY_get0_type_name(pk));
        goto out;
    }
    if (!ok) dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    goto out;
crypto:
    dp__fail(err, DP_ERR_CRYPTO, NULL, DP_NO_OFFSET, "cannot read the key's public parameters");
out:
    BN_free(a);
    BN_free(b);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* No passphrase callback prompts: an encrypted key is an error, never a
 * question on a terminal the library does not own. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

EVP_PKEY *dp__load_pem(const char *pem, size_t len, struct dp_error *err)
{
    if (!pem || len == 0 || len > PEM_MAX) {
        dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "empty or oversized key");
        return NULL;
    }
    EVP_PKEY *pk = NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio) pk = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    if (!pk && bio) {
        BIO_free(bio);
        bio = BIO_new_mem_buf(pem, (int)len);
        if (bio) pk = PEM_read_bio_PUBKEY(bio, NULL, no_password, NULL);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (!pk)
        dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET,
                 "not a PEM public key or unencrypted private key");
    return pk;
}

static dp_code thumbprint_of(json_t *jwk, char out[DP_THUMBPRINT_BUF], struct dp_error *err)
{
    char *s = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s) return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    unsigned char dg[32];
    unsigned int dl = 0;
    int ok = EVP_Digest(s, strlen(s), dg, &dl, EVP_sha256(), NULL);
    free(s);
    if (!ok || dl != 32) return dp__fail(err, DP_ERR_CRYPTO, NULL, DP_NO_OFFSET, "SHA-256 failed");
    dp__b64url_encode(dg, 32, out);
    return DP_OK;
}

dp_code dp_jwk_thumbprint_pem(const char *pem, size_t len, char out[DP_THUMBPRINT_BUF],
                              struct dp_error *err)
{
    dp_error_clear(err);
    if (!out) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    EVP_PKEY *pk = dp__load_pem(pem, len, err);
    if (!pk) return err ? err->code : DP_ERR_KEY;
    json_t *jwk = dp__jwk_from_pkey(pk, err);
    EVP_PKEY_free(pk);
    if (!jwk) return err ? err->code : DP_ERR_KEY;
    dp_code rc = thumbprint_of(jwk, out, err);
    json_decref(jwk);
    return rc;
}

char *dp_jwk_public_json_alloc(const char *pem, size_t len, struct dp_error *err)
{
    dp_error_clear(err);
    EVP_PKEY *pk = dp__load_pem(pem, len, err);
    if (!pk) return NULL;
    json_t *jwk = dp__jwk_from_pkey(pk, err);
    EVP_PKEY_free(pk);
    if (!jwk) return NULL;
    char *s = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(jwk);
    if (!s) dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    return s;
}

dp_code dp_jwk_thumbprint_pem_file(const char *path, char out[DP_THUMBPRINT_BUF],
                                   struct dp_error *err)
{
    dp_error_clear(err);
    if (!path || !out) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "cannot open %s", path);
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    int rerr = ferror(f);
    fclose(f);
    if (!buf) return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    dp_code rc;
    if (rerr)
        rc = dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "cannot read %s", path);
    else if (n > PEM_MAX)
        rc = dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "%s is larger than a key file", path);
    else
        rc = dp_jwk_thumbprint_pem(buf, n, out, err);
    free(buf);
    return rc;
}

/* Copies a required string member after checking it decodes, canonically,
 * to want octets (0: any non-empty length without a leading zero octet). */
static int copy_b64(json_t *src, json_t *dst, const char *k, size_t want, struct dp_error *err)
{
    json_t *v = json_object_get(src, k);
    const char *s = json_string_value(v);
    if (!s) {
        dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET,
                 "JWK member \"%s\" is missing or not a string", k);
        return 0;
    }
    size_t sl = strlen(s);
    unsigned char buf[1024];
    size_t n = dp__b64url_decode(s, sl, buf, sizeof buf);
    int good = n != (size_t)-1 && n > 0 && (want ? n == want : (n == 1 || buf[0] != 0));
    if (!good) {
        dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET,
                 "JWK member \"%s\" is not canonical base64url of the expected length", k);
        return 0;
    }
    return set_new(dst, k, json_string(s));
}

json_t *dp__jwk_required(json_t *in, struct dp_error *err)
{
    json_t *o = json_object();
    const char *kty = json_string_value(json_object_get(in, "kty"));
    const char *crv = json_string_value(json_object_get(in, "crv"));
    int ok = 0;
    if (!o) {
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    } else if (kty && !strcmp(kty, "EC")) {
        size_t size = !crv                    ? 0
                      : !strcmp(crv, "P-256") ? 32
                      : !strcmp(crv, "P-384") ? 48
                      : !strcmp(crv, "P-521") ? 66
                                              : 0;
        if (!size)
            dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "EC JWK needs crv P-256, P-384 or P-521");
        else
            ok = set_new(o, "kty", json_string(kty)) && set_new(o, "crv", json_string(crv)) &&
                 copy_b64(in, o, "x", size, err) && copy_b64(in, o, "y", size, err);
    } else if (kty && !strcmp(kty, "RSA")) {
        ok = set_new(o, "kty", json_string(kty)) && copy_b64(in, o, "n", 0, err) &&
             copy_b64(in, o, "e", 0, err);
    } else if (kty && !strcmp(kty, "OKP")) {
        if (!crv || strcmp(crv, "Ed25519") != 0)
            dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "OKP JWK needs crv Ed25519");
        else
            ok = set_new(o, "kty", json_string(kty)) && set_new(o, "crv", json_string(crv)) &&
                 copy_b64(in, o, "x", 32, err);
    } else {
        dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "JWK kty must be EC, RSA or OKP");
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

dp_code dp__jwk_thumbprint(json_t *required, char out[DP_THUMBPRINT_BUF], struct dp_error *err)
{
    return thumbprint_of(required, out, err);
}

dp_code dp_jwk_thumbprint_json(const char *json, size_t len, char out[DP_THUMBPRINT_BUF],
                               struct dp_error *err)
{
    dp_error_clear(err);
    if (!json || !out) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    json_error_t je;
    json_t *in = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!in || !json_is_object(in)) {
        json_decref(in);
        return dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "JWK is not a JSON object: %s",
                        je.text);
    }
    json_t *o = dp__jwk_required(in, err);
    json_decref(in);
    if (!o) return err ? err->code : DP_ERR_KEY;
    dp_code rc = thumbprint_of(o, out, err);
    json_decref(o);
    return rc;
}

/* Rebuilds an OpenSSL public key from a JWK's required members (for JWS). */
EVP_PKEY *dp__pkey_from_jwk(json_t *jwk, struct dp_error *err)
{
    json_t *req = dp__jwk_required(jwk, err);
    if (!req) return NULL;
    const char *kty = json_string_value(json_object_get(req, "kty"));
    const char *crv = json_string_value(json_object_get(req, "crv"));
    /* pt outlives the parameter builder: OSSL_PARAM_BLD keeps a pointer to
     * octet strings until OSSL_PARAM_BLD_to_param (found by fuzz_jws). */
    unsigned char a[1024], b[1024], pt[1 + 2 * 66];
    size_t al = 0, bl = 0;
    EVP_PKEY *pk = NULL;
    if (!strcmp(kty, "OKP")) {
        const char *x = json_string_value(json_object_get(req, "x"));
        al = dp__b64url_decode(x, strlen(x), a, sizeof a);
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, al);
    } else {
        const char *k1 = !strcmp(kty, "RSA") ? "n" : "x", *k2 = !strcmp(kty, "RSA") ? "e" : "y";
        const char *s1 = json_string_value(json_object_get(req, k1));
        const char *s2 = json_string_value(json_object_get(req, k2));
        al = dp__b64url_decode(s1, strlen(s1), a, sizeof a);
        bl = dp__b64url_decode(s2, strlen(s2), b, sizeof b);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        BIGNUM *n = NULL, *e = NULL;
        OSSL_PARAM *params = NULL;
        EVP_PKEY_CTX *pctx = NULL;
        if (!bld) goto done;
        if (!strcmp(kty, "RSA")) {
            n = BN_bin2bn(a, (int)al, NULL);
            e = BN_bin2bn(b, (int)bl, NULL);
            if (!n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
                !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
                goto done;
        } else {
            if (al > 66 || bl > 66) goto done;
            pt[0] = 4;
            memcpy(pt + 1, a, al);
            memcpy(pt + 1 + al, b, bl);
            const char *group = !strcmp(crv, "P-256")   ? "prime256v1"
                                : !strcmp(crv, "P-384") ? "secp384r1"
                                                        : "secp521r1";
            if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
                !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + al + bl))
                goto done;
        }
        params = OSSL_PARAM_BLD_to_param(bld);
        pctx = EVP_PKEY_CTX_new_from_name(NULL, !strcmp(kty, "RSA") ? "RSA" : "EC", NULL);
        if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
            EVP_PKEY_fromdata(pctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
            pk = NULL;
        /* An EC point off the curve must not become a key. */
        if (pk && !strcmp(kty, "EC")) {
            EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
            if (!chk || EVP_PKEY_public_check(chk) != 1) {
                EVP_PKEY_free(pk);
                pk = NULL;
            }
            EVP_PKEY_CTX_free(chk);
        }
    done:
        EVP_PKEY_CTX_free(pctx);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        BN_free(n);
        BN_free(e);
    }
    json_decref(req);
    ERR_clear_error();
    if (!pk) dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "the JWK is not a usable public key");
    return pk;
}

dp_code dp_jwk_thumbprint_cert(const unsigned char *der, size_t len, char out[DP_THUMBPRINT_BUF],
                               struct dp_error *err)
{
    dp_error_clear(err);
    const unsigned char *p = der;
    X509 *x = der ? d2i_X509(NULL, &p, (long)len) : NULL;
    EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
    json_t *jwk = pk ? dp__jwk_from_pkey(pk, err) : NULL;
    dp_code rc = jwk ? thumbprint_of(jwk, out, err)
                     : dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET,
                                "not a certificate with a supported key");
    json_decref(jwk);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

dp_code dp_jwk_thumbprint_spki(const unsigned char *der, size_t len, char out[DP_THUMBPRINT_BUF],
                               struct dp_error *err)
{
    dp_error_clear(err);
    const unsigned char *p = der;
    EVP_PKEY *pk = der && len <= LONG_MAX ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;
    json_t *jwk = pk && p == der + len ? dp__jwk_from_pkey(pk, err) : NULL;
    dp_code rc = jwk ? thumbprint_of(jwk, out, err)
                     : dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET,
                                "not a SubjectPublicKeyInfo with a supported key");
    json_decref(jwk);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return rc;
}
