/*
 * jws: ACME request signing and checking (RFC 8555 section 6.2, RFC 7515
 * flattened JSON serialization). Algorithms: ES256, ES384, ES512, RS256
 * (keys of 2048 bits or more) and EdDSA (Ed25519). "none" and MACs are
 * refused.
 */
#ifndef DNSPERSIST_JWS_H
#define DNSPERSIST_JWS_H

#include <stddef.h>
#include "error.h"
#include "b64url.h"
#include "key.h"

/* Bounds on what a request may carry. */
#define DP_JWS_MAX_BODY (64u * 1024u)

/* Flattened JWS of payload (NULL or "" for POST-as-GET) signed with key;
 * the header carries kid when given, else the key's jwk. Caller frees. */
DP_API char *dp_jws_sign_alloc(const struct dp_key *key, const char *kid, const char *nonce,
                               const char *url, const char *payload, struct dp_error *err);

/* A parsed request (opaque); every string is owned by it and lives until
 * dp_jws_free. */
struct dp_jws;

/* The protected header's members: NULL when absent (exactly one of kid and
 * jwk is set; jwk is its compact JSON). */
DP_API const char *dp_jws_alg(const struct dp_jws *jws);
DP_API const char *dp_jws_nonce(const struct dp_jws *jws);
DP_API const char *dp_jws_url(const struct dp_jws *jws);
DP_API const char *dp_jws_kid(const struct dp_jws *jws);
DP_API const char *dp_jws_jwk(const struct dp_jws *jws);
/* The decoded payload, NUL-terminated ("" for POST-as-GET); *len its length. */
DP_API const char *dp_jws_payload(const struct dp_jws *jws, size_t *len);

/* The signature algorithms dp_jws_parse accepts (a server's
 * badSignatureAlgorithm problem lists them, RFC 8555 6.2): their count,
 * the names in *names (static). */
DP_API size_t dp_jws_algorithms(const char *const **names);

/* Parses a request body. DP_OK; DP_ERR_MALFORMED (not a flattened JWS,
 * bad base64url, both or neither of jwk/kid, a "crit" header: RFC 7515
 * 4.1.11, none is understood; too big); DP_ERR_UNSUPPORTED (alg not
 * accepted: badSignatureAlgorithm). *out is set only on DP_OK. */
DP_API dp_code dp_jws_parse(const char *body, size_t len, struct dp_jws **out,
                            struct dp_error *err);

/* Checks the signature with a public JWK (the header's own, or the
 * account's). DP_OK; DP_ERR_KEY (unusable key, RSA under 2048 bits:
 * badPublicKey); DP_ERR_UNSUPPORTED (alg does not fit the key);
 * DP_ERR_UNAUTHORIZED (the signature does not verify). */
DP_API dp_code dp_jws_verify(const struct dp_jws *jws, const char *jwk, struct dp_error *err);

/* A public JWK parsed once and verified against many times (a server's
 * account-key cache). Reference-counted: dp_jws_pubkey_ref adds a holder,
 * dp_jws_pubkey_free drops one; safe to share between threads. */
struct dp_jws_pubkey;
DP_API struct dp_jws_pubkey *dp_jws_pubkey_new(const char *jwk, struct dp_error *err);
DP_API struct dp_jws_pubkey *dp_jws_pubkey_ref(struct dp_jws_pubkey *k);
DP_API void dp_jws_pubkey_free(struct dp_jws_pubkey *k);
/* dp_jws_verify with a parsed key; same results. */
DP_API dp_code dp_jws_verify_key(const struct dp_jws *jws, const struct dp_jws_pubkey *k,
                                 struct dp_error *err);

/* External account binding (RFC 8555 7.3.4): the inner JWS, MACed with
 * HS256 under the CA-issued key (base64url), over the account's JWK. */
DP_API char *dp_jws_eab_alloc(const struct dp_key *account_key, const char *kid,
                              const char *hmac_b64url, const char *url, struct dp_error *err);
/* The kid of an EAB object (JSON text); DP_OK or DP_ERR_MALFORMED. */
DP_API dp_code dp_jws_eab_kid(const char *eab_json, char *kid, size_t cap, struct dp_error *err);
/* Checks an EAB object: HS256/384/512 MAC under hmac_b64url, url as given, and
 * a payload that is the account's own JWK. DP_OK, DP_ERR_MALFORMED or
 * DP_ERR_UNAUTHORIZED (wrong MAC or another key). */
DP_API dp_code dp_jws_eab_verify(const char *eab_json, const char *hmac_b64url, const char *url,
                                 const char *account_jwk, struct dp_error *err);

/* Thumbprint of the header's jwk into out. */
DP_API dp_code dp_jws_jwk_thumbprint(const struct dp_jws *jws, char out[DP_THUMBPRINT_BUF],
                                     struct dp_error *err);

DP_API void dp_jws_free(struct dp_jws *jws);

#endif
