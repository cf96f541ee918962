/* jwk_int.h: key conversions jwk.c shares with key.c and jws.c. */
#ifndef DP_JWK_INT_H
#define DP_JWK_INT_H

#include <jansson.h>
#include <openssl/evp.h>

#include "dnspersist/dnspersist.h"

/* The public JWK of pk with only the required members (RFC 7638 3.2). */
json_t *dp__jwk_from_pkey(EVP_PKEY *pk, struct dp_error *err);
/* A key from PEM: private (unencrypted) or public. */
EVP_PKEY *dp__load_pem(const char *pem, size_t len, struct dp_error *err);
/* The required members of a JWK, checked; NULL with DP_ERR_KEY. */
json_t *dp__jwk_required(json_t *jwk, struct dp_error *err);
/* Thumbprint of a JWK already reduced to its required members. */
dp_code dp__jwk_thumbprint(json_t *required, char out[DP_THUMBPRINT_BUF], struct dp_error *err);
/* An OpenSSL public key from a JWK (EC points are checked on the curve). */
EVP_PKEY *dp__pkey_from_jwk(json_t *jwk, struct dp_error *err);

#endif
