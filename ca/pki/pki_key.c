/*
 * pki_key.c: a subject public key compared with JWKs (pki_key.h), from
 * the key's own members: no re-encoding through OpenSSL 3's decoders,
 * which cost about 0.1 ms a parse.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <dnspersist/b64url.h>
#include <dnspersist/jwk.h>

#include "pki_key.h"

/* The RFC 7638 thumbprint of an RSA or EC public key, from its members. */
int pki_key_thumb(EVP_PKEY *pub, char thumb[DP_THUMBPRINT_BUF])
{
    unsigned char buf[1100];
    char a[1500], b[1500], json[3200];
    size_t len = 0;
    int ok = 0;
    if (EVP_PKEY_is_a(pub, "EC") &&
        EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len) &&
        len > 1 && buf[0] == 4) {
        size_t half = (len - 1) / 2;
        const char *crv = half == 32 ? "P-256" : half == 48 ? "P-384" : half == 66 ? "P-521" : NULL;
        ok =
            crv && dp_b64url_encode(buf + 1, half, a, sizeof a) != (size_t)-1 &&
            dp_b64url_encode(buf + 1 + half, half, b, sizeof b) != (size_t)-1 &&
            snprintf(json, sizeof json, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                     crv, a, b) < (int)sizeof json;
    } else if (EVP_PKEY_is_a(pub, "RSA")) {
        BIGNUM *n = NULL, *e = NULL;
        if (EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) &&
            EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) && BN_num_bytes(n) <= 1024 &&
            BN_num_bytes(e) <= 16) {
            int nl = BN_bn2bin(n, buf);
            int el = BN_bn2bin(e, buf + 1024);
            ok = nl > 0 && el > 0 &&
                 dp_b64url_encode(buf + 1024, (size_t)el, a, sizeof a) != (size_t)-1 &&
                 dp_b64url_encode(buf, (size_t)nl, b, sizeof b) != (size_t)-1 &&
                 snprintf(json, sizeof json, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a, b) <
                     (int)sizeof json;
        }
        BN_free(n);
        BN_free(e);
    }
    return ok && dp_jwk_thumbprint_json(json, strlen(json), thumb, NULL) == DP_OK ? 0 : -1;
}

int pki_key_is_jwk(EVP_PKEY *pub, const char *jwk)
{
    json_t *j = jwk ? json_loads(jwk, 0, NULL) : NULL;
    const char *x = json_string_value(json_object_get(j, "x")),
               *y = json_string_value(json_object_get(j, "y")),
               *n = json_string_value(json_object_get(j, "n"));
    unsigned char buf[1100];
    char enc[1500];
    int same = 0;
    size_t len = 0;
    if (x && y && EVP_PKEY_is_a(pub, "EC") &&
        EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len) &&
        len > 1 && buf[0] == 4) {
        size_t half = (len - 1) / 2;
        char ey[700];
        same = dp_b64url_encode(buf + 1, half, enc, sizeof enc) != (size_t)-1 &&
               dp_b64url_encode(buf + 1 + half, half, ey, sizeof ey) != (size_t)-1 &&
               !strcmp(enc, x) && !strcmp(ey, y);
    } else if (n && EVP_PKEY_is_a(pub, "RSA")) {
        BIGNUM *bn = NULL;
        if (EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &bn) && BN_num_bytes(bn) <= 1024) {
            int bl = BN_bn2bin(bn, buf);
            same = bl > 0 && dp_b64url_encode(buf, (size_t)bl, enc, sizeof enc) != (size_t)-1 &&
                   !strcmp(enc, n);
        }
        BN_free(bn);
    }
    json_decref(j);
    return same;
}
