/* test_jws.c: lib/key.c and lib/jws.c, RFC 8555 6.2 request signing and checking. */
#include <stdlib.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "check.h"
#include "dnspersist/dnspersist.h"

static size_t jws_len(const struct dp_jws *j)
{
    size_t l = 0;
    dp_jws_payload(j, &l);
    return l;
}

#define URL "https://ca.test/acme/new-order"

static char *b64(const char *s)
{
    return dp_b64url_encode_alloc(s, strlen(s));
}

/* A flattened JWS with a hand-made header and signature (for refusals). */
static char *forge(const char *header, const char *payload, const char *sig)
{
    char *h = b64(header), *p = b64(payload);
    json_t *o = json_pack("{s:s,s:s,s:s}", "protected", h, "payload", p, "signature", sig);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(h);
    free(p);
    return s;
}

static void sign_then_verify_every_key_type(void)
{
    for (int t = 0; t < 4; t++) {
        struct dp_key *k = dp_key_generate((enum dp_key_type)t, NULL);
        CHECK(k != NULL);
        char *body = dp_jws_sign_alloc(k, NULL, "nonce-1", URL, "{\"a\":1}", NULL);
        struct dp_jws *j = NULL;
        CHECK(body && dp_jws_parse(body, strlen(body), &j, NULL) == DP_OK);
        if (!j) continue;
        CHECK_STR(dp_jws_alg(j), dp_key_jws_alg(k));
        CHECK_STR(dp_jws_nonce(j), "nonce-1");
        CHECK_STR(dp_jws_url(j), URL);
        CHECK_STR(dp_jws_payload(j, NULL), "{\"a\":1}");
        CHECK(dp_jws_jwk(j) && !dp_jws_kid(j));
        CHECK(dp_jws_verify(j, dp_jws_jwk(j), NULL) == DP_OK);
        char tp[DP_THUMBPRINT_BUF];
        CHECK(dp_jws_jwk_thumbprint(j, tp, NULL) == DP_OK);
        CHECK_STR(tp, dp_key_thumbprint(k));
        /* Another key's JWK does not verify it. */
        struct dp_key *other = dp_key_generate((enum dp_key_type)t, NULL);
        CHECK(dp_jws_verify(j, dp_key_jwk(other), NULL) == DP_ERR_UNAUTHORIZED);
        dp_key_free(other);
        dp_jws_free(j);
        free(body);
        /* POST-as-GET with kid. */
        body = dp_jws_sign_alloc(k, "https://ca.test/acct/1", "n2", URL, NULL, NULL);
        CHECK(dp_jws_parse(body, strlen(body), &j, NULL) == DP_OK);
        CHECK(j && dp_jws_kid(j) && !dp_jws_jwk(j) && jws_len(j) == 0);
        CHECK(j && dp_jws_verify(j, dp_key_jwk(k), NULL) == DP_OK);
        dp_jws_free(j);
        free(body);
        /* PEM round trip keeps the thumbprint. */
        char *pem = dp_key_private_pem_alloc(k, NULL);
        struct dp_key *k2 = dp_key_load_pem(pem, strlen(pem), NULL);
        CHECK(k2 && !strcmp(dp_key_thumbprint(k2), dp_key_thumbprint(k)));
        dp_key_free(k2);
        free(pem);
        dp_key_free(k);
    }
}

static void tampering_is_detected(void)
{
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
    char *body = dp_jws_sign_alloc(k, NULL, "n", URL, "{\"a\":1}", NULL);
    json_t *o = json_loads(body, 0, NULL);
    char *p = b64("{\"a\":2}");
    json_object_set_new(o, "payload", json_string(p));
    char *bad = json_dumps(o, JSON_COMPACT);
    struct dp_jws *j = NULL;
    CHECK(dp_jws_parse(bad, strlen(bad), &j, NULL) == DP_OK);
    CHECK(j && dp_jws_verify(j, dp_jws_jwk(j), NULL) == DP_ERR_UNAUTHORIZED);
    dp_jws_free(j);
    free(bad);
    free(p);
    json_decref(o);
    free(body);
    dp_key_free(k);
}

static void refusals(void)
{
    struct dp_key *k = dp_key_generate(DP_KEY_EC384, NULL);
    char hdr[2048];
    struct dp_jws *j = NULL;
    struct dp_error e;
    const char *none_hdr = "{\"alg\":\"none\",\"nonce\":\"n\",\"url\":\"" URL "\",\"kid\":\"k\"}";
    char *b = forge(none_hdr, "{}", "");
    CHECK(dp_jws_parse(b, strlen(b), &j, &e) == DP_ERR_UNSUPPORTED);
    free(b);
    b = forge("{\"alg\":\"HS256\",\"nonce\":\"n\",\"url\":\"" URL "\",\"kid\":\"k\"}", "{}",
              "AAAA");
    CHECK(dp_jws_parse(b, strlen(b), &j, &e) == DP_ERR_UNSUPPORTED);
    free(b);
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES384\",\"kid\":\"k\",\"jwk\":%s,\"url\":\"" URL "\"}",
             dp_key_jwk(k));
    b = forge(hdr, "{}", "AAAA");
    CHECK(dp_jws_parse(b, strlen(b), &j, &e) == DP_ERR_MALFORMED);
    free(b);
    b = forge("{\"alg\":\"ES384\",\"url\":\"" URL "\"}", "{}", "AAAA");
    CHECK(dp_jws_parse(b, strlen(b), &j, &e) == DP_ERR_MALFORMED);
    free(b);
    CHECK(dp_jws_parse("[]", 2, &j, &e) == DP_ERR_MALFORMED);
    CHECK(dp_jws_parse("{\"protected\":\"@@\",\"payload\":\"\",\"signature\":\"\"}", 48, &j, &e) ==
          DP_ERR_MALFORMED);
    /* ES256 claimed over a P-384 key: the algorithm must fit the key. */
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"jwk\":%s,\"url\":\"" URL "\"}", dp_key_jwk(k));
    b = forge(hdr, "{}", "AAAA");
    CHECK(dp_jws_parse(b, strlen(b), &j, &e) == DP_OK);
    CHECK(j && dp_jws_verify(j, dp_jws_jwk(j), &e) == DP_ERR_UNSUPPORTED);
    dp_jws_free(j);
    free(b);
    dp_key_free(k);
    /* RSA under 2048 bits: badPublicKey. */
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, small, NULL, NULL, 0, NULL, NULL);
    char *pem;
    long n = BIO_get_mem_data(bio, &pem);
    struct dp_key *sk = dp_key_load_pem(pem, (size_t)n, NULL);
    char *body = dp_jws_sign_alloc(sk, NULL, "n", URL, "{}", NULL);
    CHECK(dp_jws_parse(body, strlen(body), &j, NULL) == DP_OK);
    CHECK(j && dp_jws_verify(j, dp_jws_jwk(j), &e) == DP_ERR_KEY);
    dp_jws_free(j);
    free(body);
    dp_key_free(sk);
    BIO_free(bio);
    EVP_PKEY_free(small);
    char big[DP_JWS_MAX_BODY + 2];
    memset(big, ' ', sizeof big);
    CHECK(dp_jws_parse(big, sizeof big, &j, &e) == DP_ERR_MALFORMED);
}

int main(void)
{
    RUN(sign_then_verify_every_key_type);
    RUN(tampering_is_detected);
    RUN(refusals);
    return check_report();
}
