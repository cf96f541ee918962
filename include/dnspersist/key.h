/*
 * key: private keys for ACME accounts and certificates. The only place a
 * private key lives in the library; everything else sees its public JWK,
 * its thumbprint and its signatures.
 */
#ifndef DNSPERSIST_KEY_H
#define DNSPERSIST_KEY_H

#include <stddef.h>
#include "error.h"
#include "jwk.h"

enum dp_key_type { DP_KEY_EC256 = 0, DP_KEY_EC384 = 1, DP_KEY_RSA2048 = 2, DP_KEY_ED25519 = 3 };

struct dp_key;

/* Parses "ec256", "ec384", "rsa2048", "ed25519". DP_OK or DP_ERR_UNSUPPORTED. */
DP_API dp_code dp_key_type_from_name(const char *name, enum dp_key_type *out);

DP_API struct dp_key *dp_key_generate(enum dp_key_type type, struct dp_error *err);
/* From PEM (unencrypted private key). */
DP_API struct dp_key *dp_key_load_pem(const char *pem, size_t len, struct dp_error *err);
DP_API struct dp_key *dp_key_load_file(const char *path, struct dp_error *err);
DP_API void dp_key_free(struct dp_key *key);

/* PKCS#8 PEM of the private key; caller frees. */
DP_API char *dp_key_private_pem_alloc(const struct dp_key *key, struct dp_error *err);
/* Borrowed: the public JWK (required members, compact, sorted), its
 * thumbprint, and the JWS "alg" this key signs with. */
DP_API const char *dp_key_jwk(const struct dp_key *key);
DP_API const char *dp_key_thumbprint(const struct dp_key *key);
DP_API const char *dp_key_jws_alg(const struct dp_key *key);

/* Signs data as JWS wants it (ECDSA as raw r||s); caller frees *sig. */
DP_API dp_code dp_key_sign(const struct dp_key *key, const void *data, size_t len,
                           unsigned char **sig, size_t *sig_len, struct dp_error *err);

/* A PKCS#10 CSR (DER) for names, signed with key; CN is the first name.
 * Caller frees *der. */
DP_API dp_code dp_key_csr(const struct dp_key *key, const char *const *names, size_t n,
                          unsigned char **der, size_t *len, struct dp_error *err);

#endif
