/* hashuri_int.h: what verify.c needs from hashuri.c beyond the public API. */
#ifndef DP_HASHURI_INT_H
#define DP_HASHURI_INT_H

#include <openssl/evp.h>

#include "dnspersist/dnspersist.h"

const EVP_MD *dp__hash_md(dp_hash_alg alg);
int dp__account_url_valid(const char *url);
/* The raw H2 digest with a caller-held context (no allocation); inputs
 * unchecked. md NULL reuses the digest mctx was last initialized with. */
dp_code dp__hashuri_digest_bin(const EVP_MD *md, EVP_MD_CTX *mctx, const char *domain, size_t dlen,
                               const char *thumb, const char *url, size_t ulen, unsigned char *dg,
                               unsigned int *dglen);

#endif
