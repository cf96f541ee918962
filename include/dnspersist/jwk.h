/*
 * jwk: RFC 7638 JWK thumbprints of ACME account keys: EC P-256/P-384/P-521,
 * RSA and Ed25519, from PEM (public or unencrypted private key) or a JWK.
 * The thumbprint is the 43-character unpadded base64url SHA-256 digest
 * that the hashed account URI (H2) and key authorizations use.
 */
#ifndef DNSPERSIST_JWK_H
#define DNSPERSIST_JWK_H

#include <stddef.h>
#include "error.h"

#define DP_THUMBPRINT_BUF 44 /* 43 characters plus NUL */

/* From PEM text. DP_OK, DP_ERR_KEY (unreadable, encrypted or unsupported
 * type/curve), DP_ERR_CRYPTO. */
DP_API dp_code dp_jwk_thumbprint_pem(const char *pem, size_t len, char out[DP_THUMBPRINT_BUF],
                                     struct dp_error *err);

/* From a PEM file; DP_ERR_IO when it cannot be read. */
DP_API dp_code dp_jwk_thumbprint_pem_file(const char *path, char out[DP_THUMBPRINT_BUF],
                                          struct dp_error *err);

/* From a JWK (JSON object text). Only the required members count (RFC 7638
 * section 3.2); they are checked for type and canonical base64url of the
 * right length. DP_OK or DP_ERR_KEY. */
DP_API dp_code dp_jwk_thumbprint_json(const char *json, size_t len, char out[DP_THUMBPRINT_BUF],
                                      struct dp_error *err);

/* Thumbprint of the public key in a DER X.509 certificate (revocation by
 * certificate key). DP_OK or DP_ERR_KEY. */
DP_API dp_code dp_jwk_thumbprint_cert(const unsigned char *der, size_t len,
                                      char out[DP_THUMBPRINT_BUF], struct dp_error *err);

/* Thumbprint of a DER SubjectPublicKeyInfo (a CSR's key, for a CA that
 * refuses keys reported compromised). DP_OK or DP_ERR_KEY. */
DP_API dp_code dp_jwk_thumbprint_spki(const unsigned char *der, size_t len,
                                      char out[DP_THUMBPRINT_BUF], struct dp_error *err);

/* The public JWK of a PEM key with only the required members, as compact
 * JSON in lexicographic member order; caller frees. NULL on error. */
DP_API char *dp_jwk_public_json_alloc(const char *pem, size_t len, struct dp_error *err);

#endif
