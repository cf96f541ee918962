/* test_jwk.c: lib/jwk.c, RFC 7638 thumbprints from JWKs and PEM keys. */
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "check.h"
#include "dnspersist/dnspersist.h"
#include "internal.h"

/* RFC 7638 section 3.1 example key and thumbprint. */
#define RSA_N                                                                                      \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"      \
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"     \
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"            \
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RSA_TP "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
/* RFC 8037 appendix A.1-A.3. */
#define ED_D "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_TP "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
/* RFC 7517 appendix A.1 EC key. */
#define EC_X "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"
#define EC_Y "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"

static size_t unb64(const char *s, unsigned char *out, size_t cap)
{
    return dp__b64url_decode(s, strlen(s), out, cap);
}

static char *pem_of(EVP_PKEY *pk, int private)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (private)
        PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
    else
        PEM_write_bio_PUBKEY(b, pk);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *s = malloc((size_t)n + 1);
    memcpy(s, data, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pk = NULL;
    EVP_PKEY_fromdata_init(c);
    EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pk;
}

static void rfc7638_rsa_example_from_jwk(void)
{
    char tp[DP_THUMBPRINT_BUF];
    const char *jwk = "{\"kty\":\"RSA\",\"n\":\"" RSA_N "\",\"e\":\"AQAB\",\"alg\":\"RS256\","
                      "\"kid\":\"2011-04-29\"}";
    CHECK(dp_jwk_thumbprint_json(jwk, strlen(jwk), tp, NULL) == DP_OK);
    CHECK_STR(tp, RSA_TP);
}

static void rfc7638_rsa_example_from_pem(void)
{
    unsigned char n[512], e[3];
    size_t nl = unb64(RSA_N, n, sizeof n), el = unb64("AQAB", e, sizeof e);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
    EVP_PKEY *pk = from_params("RSA", bld);
    CHECK(pk != NULL);
    char *pem = pem_of(pk, 0);
    char tp[DP_THUMBPRINT_BUF];
    CHECK(dp_jwk_thumbprint_pem(pem, strlen(pem), tp, NULL) == DP_OK);
    CHECK_STR(tp, RSA_TP);
    free(pem);
    EVP_PKEY_free(pk);
    BN_free(bn);
    BN_free(be);
}

static void rfc8037_ed25519_from_jwk_and_private_pem(void)
{
    char tp[DP_THUMBPRINT_BUF];
    const char *jwk = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"}";
    CHECK(dp_jwk_thumbprint_json(jwk, strlen(jwk), tp, NULL) == DP_OK);
    CHECK_STR(tp, ED_TP);
    unsigned char d[32];
    CHECK(unb64(ED_D, d, sizeof d) == 32);
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, 32);
    char *pem = pem_of(pk, 1);
    memset(tp, 0, sizeof tp);
    CHECK(dp_jwk_thumbprint_pem(pem, strlen(pem), tp, NULL) == DP_OK);
    CHECK_STR(tp, ED_TP);
    free(pem);
    EVP_PKEY_free(pk);
}

/* The expected value hashes a hand-written canonical JSON string, so the
 * member order and encoding are checked independently of jansson. */
static void rfc7517_ec_p256_from_jwk_and_pem(void)
{
    const char *canon = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}";
    unsigned char dg[32];
    unsigned int dl;
    EVP_Digest(canon, strlen(canon), dg, &dl, EVP_sha256(), NULL);
    char want[DP_THUMBPRINT_BUF], tp[DP_THUMBPRINT_BUF];
    dp__b64url_encode(dg, 32, want);

    const char *jwk =
        "{\"y\":\"" EC_Y "\",\"use\":\"enc\",\"x\":\"" EC_X "\",\"crv\":\"P-256\",\"kty\":\"EC\","
        "\"kid\":\"1\"}";
    CHECK(dp_jwk_thumbprint_json(jwk, strlen(jwk), tp, NULL) == DP_OK);
    CHECK_STR(tp, want);

    unsigned char pub[65];
    pub[0] = 4;
    CHECK(unb64(EC_X, pub + 1, 32) == 32 && unb64(EC_Y, pub + 33, 32) == 32);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub);
    EVP_PKEY *pk = from_params("EC", bld);
    CHECK(pk != NULL);
    char *pem = pem_of(pk, 0);
    CHECK(dp_jwk_thumbprint_pem(pem, strlen(pem), tp, NULL) == DP_OK);
    CHECK_STR(tp, want);
    free(pem);
    EVP_PKEY_free(pk);
}

/* Generated keys: the PEM path (private and public) and the JWK path agree,
 * and EC coordinates are padded to the field size (P-521: 66 octets). */
static void generated_keys_agree_across_paths(void)
{
    const char *types[] = {"P-256", "P-384", "P-521", "RSA", "ED25519"};
    size_t coord[] = {32, 48, 66, 0, 32};
    for (size_t t = 0; t < 5; t++) {
        for (int rep = 0; rep < (t == 2 ? 8 : 1); rep++) {
            EVP_PKEY *pk = t < 3    ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", types[t])
                           : t == 3 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                                    : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
            CHECK(pk != NULL);
            char *priv = pem_of(pk, 1), *pub = pem_of(pk, 0);
            char a[DP_THUMBPRINT_BUF], b[DP_THUMBPRINT_BUF], c[DP_THUMBPRINT_BUF];
            CHECK(dp_jwk_thumbprint_pem(priv, strlen(priv), a, NULL) == DP_OK);
            CHECK(dp_jwk_thumbprint_pem(pub, strlen(pub), b, NULL) == DP_OK);
            CHECK_STR(a, b);
            char *jwk = dp_jwk_public_json_alloc(pub, strlen(pub), NULL);
            CHECK(jwk && dp_jwk_thumbprint_json(jwk, strlen(jwk), c, NULL) == DP_OK);
            CHECK_STR(c, a);
            /* The SubjectPublicKeyInfo path (a CSR's key) agrees too; a
             * truncated or padded encoding is not a key. */
            unsigned char *spki = NULL;
            int sl = i2d_PUBKEY(pk, &spki);
            char d[DP_THUMBPRINT_BUF];
            CHECK(sl > 0 && dp_jwk_thumbprint_spki(spki, (size_t)sl, d, NULL) == DP_OK);
            CHECK_STR(d, a);
            CHECK(sl > 0 && dp_jwk_thumbprint_spki(spki, (size_t)sl - 1, d, NULL) == DP_ERR_KEY);
            unsigned char *padded = sl > 0 ? malloc((size_t)sl + 1) : NULL;
            if (padded) {
                memcpy(padded, spki, (size_t)sl);
                padded[sl] = 0;
                CHECK(dp_jwk_thumbprint_spki(padded, (size_t)sl + 1, d, NULL) == DP_ERR_KEY);
            }
            free(padded);
            OPENSSL_free(spki);
            CHECK(dp_hashuri_thumbprint_valid(a, strlen(a)));
            if (coord[t] && jwk) {
                const char *x = strstr(jwk, "\"x\":\"") + 5;
                CHECK((size_t)(strchr(x, '"') - x) == dp__b64url_len(coord[t]));
            }
            free(jwk);
            free(priv);
            free(pub);
            EVP_PKEY_free(pk);
        }
    }
}

static void bad_keys_are_errors(void)
{
    char tp[DP_THUMBPRINT_BUF];
    struct dp_error e;
    CHECK(dp_jwk_thumbprint_pem("not a key", 9, tp, &e) == DP_ERR_KEY);
    CHECK(dp_jwk_thumbprint_pem_file("/nonexistent/key.pem", tp, &e) == DP_ERR_IO);
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    char *pem = pem_of(pk, 0);
    CHECK(dp_jwk_thumbprint_pem(pem, strlen(pem), tp, &e) == DP_ERR_KEY &&
          strstr(e.detail, "secp256k1"));
    free(pem);
    EVP_PKEY_free(pk);
    /* An encrypted private key is refused, never prompted for. */
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, pk, EVP_aes_128_cbc(), (unsigned char *)"pw", 2, NULL, NULL);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    CHECK(dp_jwk_thumbprint_pem(data, (size_t)n, tp, &e) == DP_ERR_KEY);
    BIO_free(b);
    EVP_PKEY_free(pk);
    const char *bad[] = {"[]",
                         "{\"kty\":\"oct\",\"k\":\"AA\"}",
                         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\"}",
                         "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" EC_X "\",\"y\":\"AAAA\"}",
                         "{\"kty\":\"EC\",\"crv\":\"P-192\",\"x\":\"" EC_X "\",\"y\":\"" EC_Y "\"}",
                         "{\"kty\":\"RSA\",\"n\":\"AKE\",\"e\":\"AQAB\"}",  /* leading zero octet */
                         "{\"kty\":\"RSA\",\"n\":\"a+b/\",\"e\":\"AQAB\"}", /* standard alphabet */
                         "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" ED_X "\"}",
                         "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\",\"x\":\"" ED_X
                         "\"}",
                         "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":7}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(dp_jwk_thumbprint_json(bad[i], strlen(bad[i]), tp, &e) == DP_ERR_KEY);
}

int main(void)
{
    RUN(rfc7638_rsa_example_from_jwk);
    RUN(rfc7638_rsa_example_from_pem);
    RUN(rfc8037_ed25519_from_jwk_and_private_pem);
    RUN(rfc7517_ec_p256_from_jwk_and_pem);
    RUN(generated_keys_agree_across_paths);
    RUN(bad_keys_are_errors);
    return check_report();
}
