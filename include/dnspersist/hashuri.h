/*
 * hashuri: the draft-02 hashed account URI (spec H1 to H4).
 *
 *   accounturi = <accountHashPrefix><hash-alg>/<base64url digest>
 *   digest     = H( len(domain) || domain || thumbprint || accountURL )
 *
 * domain is the normalized FQDN the record is published at, or "*" (the
 * cross-domain opt-out); thumbprint is the 43-character RFC 7638 SHA-256
 * thumbprint of an account key; accountURL is the account URL's octets.
 */
#ifndef DNSPERSIST_HASHURI_H
#define DNSPERSIST_HASHURI_H

#include <stddef.h>
#include "error.h"
#include "record.h"

/* RFC 6920 hash name strings. Values are bits so a set fits in an unsigned. */
typedef enum dp_hash_alg {
    DP_HASH_SHA256 = 1u << 0, /* "sha-256": mandatory for every implementation (H1) */
    DP_HASH_SHA384 = 1u << 1, /* "sha-384" */
    DP_HASH_SHA512 = 1u << 2  /* "sha-512" */
} dp_hash_alg;

#define DP_HASH_ALL (DP_HASH_SHA256 | DP_HASH_SHA384 | DP_HASH_SHA512)
/* What a verifier accepts when the caller says nothing (H1: sha-256 is
 * required; the longer SHA-2 digests meet the 256-bit floor). */
#define DP_HASH_DEFAULT_ACCEPTED DP_HASH_ALL

#define DP_THUMBPRINT_LEN 43         /* unpadded base64url of 32 octets */
#define DP_HASHURI_DIGEST_B64_MAX 86 /* sha-512: 64 octets */
#define DP_HASH_MAX_OCTETS 64

/* "sha-256" etc.; NULL for anything that is not exactly one algorithm. */
DP_API const char *dp_hashuri_alg_name(dp_hash_alg alg);
/* Digest length in octets, 0 for an unknown value. */
DP_API size_t dp_hashuri_alg_size(dp_hash_alg alg);
/* Exact, case-sensitive RFC 6920 name to algorithm. DP_OK or DP_ERR_UNSUPPORTED. */
DP_API dp_code dp_hashuri_alg_from_name(const char *name, size_t len, dp_hash_alg *alg);

/* 1 when s is 43 characters of canonical unpadded base64url (a SHA-256
 * thumbprint), else 0. */
DP_API int dp_hashuri_thumbprint_valid(const char *s, size_t len);

/* Computes the base64url digest of H2 into b64 (NUL-terminated; room for
 * DP_HASHURI_DIGEST_B64_MAX + 1). Validates every input: domain is a
 * normalized name or "*", thumbprint 43 base64url characters, account_url
 * printable ASCII without blanks. DP_OK, DP_ERR_INVAL or DP_ERR_CRYPTO. */
DP_API dp_code dp_hashuri_digest(dp_hash_alg alg, const char *domain, const char *thumbprint,
                                 const char *account_url, char *b64, struct dp_error *err);

/* The whole hashed URI (H1), allocated; caller frees with free(). */
DP_API char *dp_hashuri_compute_alloc(dp_hash_alg alg, const char *prefix, const char *domain,
                                      const char *thumbprint, const char *account_url,
                                      struct dp_error *err);

struct dp_hashuri {
    dp_hash_alg alg;
    struct dp_span digest; /* borrowed from the parsed URI */
};

/* Splits a record's accounturi against the CA's prefix and accepted set
 * (H4). DP_OK, or DP_ERR_MALFORMED naming the reason: not under the
 * prefix, an algorithm not accepted, a digest of the wrong length or
 * alphabet. */
DP_API dp_code dp_hashuri_parse(const char *uri, size_t len, const char *prefix, unsigned accepted,
                                struct dp_hashuri *out, struct dp_error *err);

#endif
