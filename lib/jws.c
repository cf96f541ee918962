/*
 * jws.c: RFC 8555 6.2 requests. Parsing checks the shape (flattened JSON,
 * protected header with alg and exactly one of jwk/kid) and refuses
 * unaccepted algorithms before any key is touched; verification rebuilds the
 * key from its JWK and checks that the algorithm fits it (an ES256 header
 * on a P-384 key is refused, as are RSA keys under 2048 bits).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"
#include "jwk_int.h"

struct dp_jws {
    char *alg;
    char *nonce;   /* NULL when absent */
    char *url;     /* NULL when absent */
    char *kid;     /* exactly one of kid and jwk is set */
    char *jwk;     /* compact JSON of the header's jwk */
    char *payload; /* decoded payload, NUL-terminated; "" for POST-as-GET */
    size_t payload_len;
    /* What the signature covers, and the signature itself. */
    char *signing_input;
    unsigned char *sig;
    size_t sig_len;
};

const char *dp_jws_alg(const struct dp_jws *jws)
{
    return jws ? jws->alg : NULL;
}

const char *dp_jws_nonce(const struct dp_jws *jws)
{
    return jws ? jws->nonce : NULL;
}

const char *dp_jws_url(const struct dp_jws *jws)
{
    return jws ? jws->url : NULL;
}

const char *dp_jws_kid(const struct dp_jws *jws)
{
    return jws ? jws->kid : NULL;
}

const char *dp_jws_jwk(const struct dp_jws *jws)
{
    return jws ? jws->jwk : NULL;
}

const char *dp_jws_payload(const struct dp_jws *jws, size_t *len)
{
    if (len) *len = jws ? jws->payload_len : 0;
    return jws ? jws->payload : NULL;
}

char *dp_b64url_encode_alloc(const void *data, size_t len)
{
    char *s = malloc(dp__b64url_len(len) + 1);
    if (s) dp__b64url_encode(data, len, s);
    return s;
}

size_t dp_b64url_encode(const void *data, size_t len, char *out, size_t cap)
{
    size_t n = dp__b64url_len(len);
    if (n + 1 > cap) return (size_t)-1;
    dp__b64url_encode(data, len, out);
    return n;
}

size_t dp_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    return dp__b64url_decode(in, len, out, cap);
}

char *dp_jws_sign_alloc(const struct dp_key *key, const char *kid, const char *nonce,
                        const char *url, const char *payload, struct dp_error *err)
{
    dp_error_clear(err);
    if (!key || !url) {
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
        return NULL;
    }
    json_t *hdr = json_pack("{s:s,s:s}", "alg", dp_key_jws_alg(key), "url", url);
    if (nonce) json_object_set_new(hdr, "nonce", json_string(nonce));
    if (kid) {
        json_object_set_new(hdr, "kid", json_string(kid));
    } else {
        json_t *jwk = json_loads(dp_key_jwk(key), 0, NULL);
        json_object_set_new(hdr, "jwk", jwk);
    }
    char *h = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(hdr);
    if (!payload) payload = "";
    char *hb = h ? dp_b64url_encode_alloc(h, strlen(h)) : NULL;
    char *pb = dp_b64url_encode_alloc(payload, strlen(payload));
    free(h);
    char *input = NULL, *sb = NULL, *out = NULL;
    unsigned char *sig = NULL;
    size_t sl = 0;
    if (!hb || !pb) goto done;
    size_t il = strlen(hb) + 1 + strlen(pb);
    if (!(input = malloc(il + 1))) goto done;
    snprintf(input, il + 1, "%s.%s", hb, pb);
    if (dp_key_sign(key, input, il, &sig, &sl, err) != DP_OK) goto done;
    if (!(sb = dp_b64url_encode_alloc(sig, sl))) goto done;
    json_t *o = json_pack("{s:s,s:s,s:s}", "protected", hb, "payload", pb, "signature", sb);
    out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
done:
    if (!out && err && err->code == DP_OK)
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    free(hb);
    free(pb);
    free(input);
    free(sig);
    free(sb);
    return out;
}

void dp_jws_free(struct dp_jws *j)
{
    if (!j) return;
    free(j->alg);
    free(j->nonce);
    free(j->url);
    free(j->kid);
    free(j->jwk);
    free(j->payload);
    free(j->signing_input);
    free(j->sig);
    free(j);
}

/* Decodes a base64url member into a new NUL-terminated buffer. */
static unsigned char *member(json_t *o, const char *k, size_t *len)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s) return NULL;
    size_t sl = strlen(s);
    unsigned char *buf = malloc(sl + 1);
    if (!buf) return NULL;
    size_t n = dp__b64url_decode(s, sl, buf, sl);
    if (n == (size_t)-1) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *dup_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? strdup(s) : NULL;
}

/* What dp_jws_parse accepts, in the order a problem document lists them. */
static const char *const jws_algs[] = {"ES256", "ES384", "ES512", "RS256", "EdDSA"};

dp_code dp_jws_parse(const char *body, size_t len, struct dp_jws **out, struct dp_error *err)
{
    dp_error_clear(err);
    if (!body || !out) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    *out = NULL;
    if (len > DP_JWS_MAX_BODY)
        return dp__fail(err, DP_ERR_MALFORMED, NULL, DP_NO_OFFSET, "request body over %u octets",
                        DP_JWS_MAX_BODY);
    json_error_t je;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je), *hdr = NULL;
    struct dp_jws *j = calloc(1, sizeof *j);
    dp_code rc = DP_ERR_MALFORMED;
    if (!j) {
        rc = dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        goto fail;
    }
    if (!json_is_object(o)) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET, "request body is not a JSON object: %s", je.text);
        goto fail;
    }
    if (json_object_get(o, "signatures") || json_object_get(o, "header")) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET,
                 "only the flattened JWS serialization with no unprotected header is accepted");
        goto fail;
    }
    const char *ps = json_string_value(json_object_get(o, "protected"));
    const char *pl = json_string_value(json_object_get(o, "payload"));
    size_t hl = 0;
    unsigned char *h = member(o, "protected", &hl);
    unsigned char *p = member(o, "payload", &j->payload_len);
    j->payload = (char *)p;
    j->sig = member(o, "signature", &j->sig_len);
    if (!ps || !pl || !h || !p || !j->sig) {
        free(h);
        dp__fail(err, rc, NULL, DP_NO_OFFSET,
                 "protected, payload and signature must be base64url strings");
        goto fail;
    }
    hdr = json_loadb((const char *)h, hl, JSON_REJECT_DUPLICATES, &je);
    free(h);
    if (!json_is_object(hdr)) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET, "protected header is not a JSON object");
        goto fail;
    }
    j->alg = dup_str(hdr, "alg");
    j->nonce = dup_str(hdr, "nonce");
    j->url = dup_str(hdr, "url");
    j->kid = dup_str(hdr, "kid");
    json_t *jwk = json_object_get(hdr, "jwk");
    if (!j->alg) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET, "protected header has no alg");
        goto fail;
    }
    int known = 0;
    for (size_t i = 0; i < sizeof jws_algs / sizeof jws_algs[0]; i++)
        known |= !strcmp(j->alg, jws_algs[i]);
    if (!known) {
        rc = dp__fail(err, DP_ERR_UNSUPPORTED, NULL, DP_NO_OFFSET,
                      "alg '%.32s' is not accepted (ES256, ES384, ES512, RS256, EdDSA)", j->alg);
        goto fail;
    }
    /* RFC 7515 4.1.11: a recipient MUST reject a JWS whose crit names an
     * extension it does not understand, and this one understands none. */
    if (json_object_get(hdr, "crit")) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET,
                 "the protected header has crit: no JWS extension is understood here "
                 "(RFC 7515 4.1.11)");
        goto fail;
    }
    if (!j->kid == !jwk || (jwk && !json_is_object(jwk)) ||
        (json_object_get(hdr, "kid") && !j->kid)) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET,
                 "the protected header needs exactly one of jwk and kid");
        goto fail;
    }
    size_t il = strlen(ps) + 1 + strlen(pl);
    if ((jwk && !(j->jwk = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS))) ||
        !(j->signing_input = malloc(il + 1))) {
        /* never DP_OK with *out NULL (err was cleared above) */
        rc = dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        goto fail;
    }
    snprintf(j->signing_input, il + 1, "%s.%s", ps, pl);
    json_decref(hdr);
    json_decref(o);
    *out = j;
    return DP_OK;
fail:
    json_decref(hdr);
    json_decref(o);
    dp_jws_free(j);
    return err && err->code != DP_OK ? err->code : rc;
}

size_t dp_jws_algorithms(const char *const **names)
{
    *names = jws_algs;
    return sizeof jws_algs / sizeof jws_algs[0];
}

dp_code dp_jws_jwk_thumbprint(const struct dp_jws *jws, char out[DP_THUMBPRINT_BUF],
                              struct dp_error *err)
{
    if (!jws || !jws->jwk)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "no jwk in the header");
    return dp_jwk_thumbprint_json(jws->jwk, strlen(jws->jwk), out, err);
}

struct dp_jws_pubkey {
    EVP_PKEY *pk;
    EVP_MD *md;  /* fetched once; NULL for Ed25519 */
    size_t half; /* ECDSA: octets per signature half */
    const char *alg;
    int refs;
};

struct dp_jws_pubkey *dp_jws_pubkey_new(const char *jwk, struct dp_error *err)
{
    dp_error_clear(err);
    json_t *k = jwk ? json_loads(jwk, 0, NULL) : NULL;
    EVP_PKEY *pk = k ? dp__pkey_from_jwk(k, err) : NULL;
    json_decref(k);
    if (!pk) {
        dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "the key is not a usable public key");
        return NULL;
    }
    struct dp_jws_pubkey *p = calloc(1, sizeof *p);
    if (!p) {
        EVP_PKEY_free(pk);
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    p->pk = pk;
    p->refs = 1;
    const char *md = NULL;
    if (EVP_PKEY_is_a(pk, "RSA")) {
        p->alg = "RS256";
        md = "SHA256";
        if (EVP_PKEY_get_bits(pk) < 2048) {
            dp_jws_pubkey_free(p);
            dp__fail(err, DP_ERR_KEY, NULL, DP_NO_OFFSET, "RSA keys need at least 2048 bits");
            return NULL;
        }
    } else if (EVP_PKEY_is_a(pk, "ED25519")) {
        p->alg = "EdDSA";
    } else {
        int bits = EVP_PKEY_get_bits(pk);
        p->half = bits <= 256 ? 32 : bits <= 384 ? 48 : 66;
        p->alg = p->half == 32 ? "ES256" : p->half == 48 ? "ES384" : "ES512";
        md = p->half == 32 ? "SHA256" : p->half == 48 ? "SHA384" : "SHA512";
    }
    if (md && !(p->md = EVP_MD_fetch(NULL, md, NULL))) {
        dp_jws_pubkey_free(p);
        dp__fail(err, DP_ERR_CRYPTO, NULL, DP_NO_OFFSET, "no %s in OpenSSL", md);
        return NULL;
    }
    return p;
}

struct dp_jws_pubkey *dp_jws_pubkey_ref(struct dp_jws_pubkey *k)
{
    if (k) __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
    return k;
}

void dp_jws_pubkey_free(struct dp_jws_pubkey *k)
{
    if (!k || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    EVP_PKEY_free(k->pk);
    EVP_MD_free(k->md);
    free(k);
}

dp_code dp_jws_verify_key(const struct dp_jws *j, const struct dp_jws_pubkey *k,
                          struct dp_error *err)
{
    dp_error_clear(err);
    if (!j || !k) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    if (strcmp(j->alg, k->alg))
        return dp__fail(err, DP_ERR_UNSUPPORTED, NULL, DP_NO_OFFSET, "alg %s does not fit the key",
                        j->alg);
    const unsigned char *sig = j->sig;
    size_t sl = j->sig_len;
    unsigned char *der = NULL;
    int ok = 0;
    if (k->half) { /* JWS carries r||s; OpenSSL wants DER */
        if (sl != 2 * k->half) goto done;
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)k->half, NULL),
               *s = BN_bin2bn(sig + k->half, (int)k->half, NULL);
        if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            goto done;
        }
        int dl = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (dl <= 0) goto done;
        sig = der;
        sl = (size_t)dl;
    }
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    ok = m && EVP_DigestVerifyInit(m, NULL, k->md, NULL, k->pk) == 1 &&
         EVP_DigestVerify(m, sig, sl, (const unsigned char *)j->signing_input,
                          strlen(j->signing_input)) == 1;
    EVP_MD_CTX_free(m);
done:
    OPENSSL_free(der);
    ERR_clear_error();
    if (!ok)
        return dp__fail(err, DP_ERR_UNAUTHORIZED, NULL, DP_NO_OFFSET,
                        "JWS signature does not verify");
    return DP_OK;
}

dp_code dp_jws_verify(const struct dp_jws *j, const char *jwk, struct dp_error *err)
{
    dp_error_clear(err);
    if (!j || !jwk) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    struct dp_jws_pubkey *k = dp_jws_pubkey_new(jwk, err);
    if (!k) return err ? err->code : DP_ERR_KEY;
    dp_code rc = dp_jws_verify_key(j, k, err);
    dp_jws_pubkey_free(k);
    return rc;
}

/* HMAC of data under a base64url key; returns the MAC length or 0. */
static size_t eab_mac(const char *md, const char *key_b64, const char *data, unsigned char out[64])
{
    unsigned char key[256];
    size_t kl = dp__b64url_decode(key_b64, strlen(key_b64), key, sizeof key);
    size_t ol = 0;
    if (kl == (size_t)-1 || kl == 0) return 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, kl, (const unsigned char *)data, strlen(data),
                   out, 64, &ol))
        ol = 0;
    OPENSSL_cleanse(key, sizeof key);
    return ol;
}

char *dp_jws_eab_alloc(const struct dp_key *account_key, const char *kid, const char *hmac_b64url,
                       const char *url, struct dp_error *err)
{
    dp_error_clear(err);
    if (!account_key || !kid || !hmac_b64url || !url) {
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
        return NULL;
    }
    json_t *h = json_pack("{s:s,s:s,s:s}", "alg", "HS256", "kid", kid, "url", url);
    char *hs = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(h);
    const char *jwk = dp_key_jwk(account_key);
    char *hb = hs ? dp_b64url_encode_alloc(hs, strlen(hs)) : NULL,
         *pb = dp_b64url_encode_alloc(jwk, strlen(jwk));
    free(hs);
    char *input = NULL, *sb = NULL, *out = NULL;
    unsigned char mac[64];
    size_t ml;
    if (!hb || !pb || !(input = malloc(strlen(hb) + strlen(pb) + 2))) goto done;
    sprintf(input, "%s.%s", hb, pb);
    if (!(ml = eab_mac("SHA256", hmac_b64url, input, mac))) {
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "the EAB HMAC key is not base64url");
        goto done;
    }
    sb = dp_b64url_encode_alloc(mac, ml);
    json_t *o =
        sb ? json_pack("{s:s,s:s,s:s}", "protected", hb, "payload", pb, "signature", sb) : NULL;
    out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
done:
    free(hb);
    free(pb);
    free(input);
    free(sb);
    return out;
}

/* Decodes the EAB's protected header; NULL when it is not one. */
static json_t *eab_header(json_t *o)
{
    const char *p = json_string_value(json_object_get(o, "protected"));
    if (!p) return NULL;
    size_t pl = strlen(p);
    unsigned char *buf = malloc(pl + 1);
    size_t n = buf ? dp__b64url_decode(p, pl, buf, pl) : (size_t)-1;
    json_t *h =
        n == (size_t)-1 ? NULL : json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    if (!json_is_object(h)) {
        json_decref(h);
        return NULL;
    }
    return h;
}

dp_code dp_jws_eab_kid(const char *eab_json, char *kid, size_t cap, struct dp_error *err)
{
    dp_error_clear(err);
    json_t *o = eab_json ? json_loads(eab_json, 0, NULL) : NULL, *h = o ? eab_header(o) : NULL;
    const char *k = json_string_value(json_object_get(h, "kid"));
    dp_code rc = k ? DP_OK
                   : dp__fail(err, DP_ERR_MALFORMED, NULL, DP_NO_OFFSET,
                              "externalAccountBinding has no kid");
    if (k) snprintf(kid, cap, "%s", k);
    json_decref(h);
    json_decref(o);
    return rc;
}

dp_code dp_jws_eab_verify(const char *eab_json, const char *hmac_b64url, const char *url,
                          const char *account_jwk, struct dp_error *err)
{
    dp_error_clear(err);
    json_t *o = eab_json ? json_loads(eab_json, 0, NULL) : NULL, *h = o ? eab_header(o) : NULL;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *hurl = json_string_value(json_object_get(h, "url"));
    const char *pb = json_string_value(json_object_get(o, "payload"));
    const char *sig = json_string_value(json_object_get(o, "signature"));
    const char *pr = json_string_value(json_object_get(o, "protected"));
    dp_code rc = DP_ERR_MALFORMED;
    const char *md = !alg                    ? NULL
                     : !strcmp(alg, "HS256") ? "SHA256"
                     : !strcmp(alg, "HS384") ? "SHA384"
                     : !strcmp(alg, "HS512") ? "SHA512"
                                             : NULL;
    if (!h || !pb || !sig || !pr || json_object_get(h, "nonce")) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET,
                 "externalAccountBinding is not a flattened JWS without nonce");
        goto out;
    }
    if (!md) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET,
                 "externalAccountBinding alg must be HS256, HS384 or HS512");
        goto out;
    }
    if (!hurl || !url || strcmp(hurl, url)) {
        dp__fail(err, rc, NULL, DP_NO_OFFSET, "externalAccountBinding url must be %s",
                 url ? url : "newAccount");
        goto out;
    }
    char *input = malloc(strlen(pr) + strlen(pb) + 2);
    unsigned char mac[64], given[64];
    size_t ml = 0, gl = dp__b64url_decode(sig, strlen(sig), given, sizeof given);
    if (input) {
        sprintf(input, "%s.%s", pr, pb);
        ml = eab_mac(md, hmac_b64url, input, mac);
        free(input);
    }
    if (!ml || gl != ml || CRYPTO_memcmp(mac, given, ml)) {
        rc = dp__fail(err, DP_ERR_UNAUTHORIZED, NULL, DP_NO_OFFSET,
                      "externalAccountBinding MAC does not verify");
        goto out;
    }
    unsigned char jwk[4096];
    size_t jl = dp__b64url_decode(pb, strlen(pb), jwk, sizeof jwk - 1);
    char t1[DP_THUMBPRINT_BUF], t2[DP_THUMBPRINT_BUF];
    if (jl == (size_t)-1 || dp_jwk_thumbprint_json((const char *)jwk, jl, t1, NULL) != DP_OK ||
        dp_jwk_thumbprint_json(account_jwk, strlen(account_jwk), t2, NULL) != DP_OK ||
        strcmp(t1, t2)) {
        rc = dp__fail(err, DP_ERR_UNAUTHORIZED, NULL, DP_NO_OFFSET,
                      "externalAccountBinding binds another key");
        goto out;
    }
    rc = DP_OK;
out:
    json_decref(h);
    json_decref(o);
    return rc;
}
