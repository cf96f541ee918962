/* key_int.h: the OpenSSL side of struct dp_key, for the library's own modules. */
#ifndef DP_KEY_INT_H
#define DP_KEY_INT_H

#include <openssl/evp.h>

#include "dnspersist/dnspersist.h"

/* Wraps pk (taking ownership) with its JWK and thumbprint. */
struct dp_key *dp__key_wrap(EVP_PKEY *pk, struct dp_error *err);
/* Borrowed. */
EVP_PKEY *dp__key_pkey(const struct dp_key *key);

#endif
