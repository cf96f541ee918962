/*
 * verify: the CA's verification procedure (draft section 4.2, spec V2 to
 * V6), with no I/O: the caller brings the TXT records it looked up.
 *
 * A struct dp_verifier holds one account's view (issuer names, account URL,
 * key thumbprints, hash prefix, mode) and caches the domain-independent
 * "*" digests across evaluations, which the draft allows ("A CA MAY cache
 * computed or accepted hashed URIs") because a cache never changes an
 * outcome. Live state (account status, the records, the time) is passed to
 * every evaluation. A verifier is not thread-safe; use one per thread.
 *
 * Outcome (V4): any valid record for one of the issuers wins; otherwise a
 * malformed one makes the result malformed; otherwise unauthorized.
 */
#ifndef DNSPERSIST_VERIFY_H
#define DNSPERSIST_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include "ctx.h"
#include "error.h"
#include "hashuri.h"
#include "txt.h"

enum dp_mode {
    DP_MODE_DRAFT02 = 0, /* accounturi is a hashed URI (H1) */
    DP_MODE_DRAFT01 = 1, /* accounturi is the plain account URL */
    DP_MODE_COMPAT = 2   /* either: values under the hash prefix are hashed, others plain */
};

enum dp_account_status {
    DP_ACCOUNT_VALID = 0,
    DP_ACCOUNT_DEACTIVATED = 1 /* never validates (V5) */
};

#define DP_MAX_ISSUERS 10 /* A1/A4 */
/* Draft 4.2 keeps every key an account has used, bounded only by the
 * account's lifetime; this bound only rejects a count no real account
 * reaches (a caller's garbage). Cost per evaluation grows with it: two
 * digests per key and accepted algorithm, cached within a verifier. */
#define DP_MAX_THUMBPRINTS 1000000

struct dp_verify_params {
    const char *const *issuers; /* the challenge's issuerDomainNames (1 to 10) */
    size_t n_issuers;
    const char *account_url;
    const char *const *thumbprints; /* current key first, then older ones newest first */
    size_t n_thumbprints;
    const char *hash_prefix; /* accountHashPrefix; required unless DP_MODE_DRAFT01 */
    unsigned accepted_algs;  /* dp_hash_alg bits; 0 means DP_HASH_DEFAULT_ACCEPTED */
    enum dp_mode mode;
    /* Prefixes the CA used before (draft 4.5: a migration period in which
     * hashed URIs under the old and new prefixes both validate). */
    const char *const *previous_prefixes;
    size_t n_previous_prefixes;
};

#define DP_ACME_MALFORMED "urn:ietf:params:acme:error:malformed"
#define DP_ACME_UNAUTHORIZED "urn:ietf:params:acme:error:unauthorized"
#define DP_ACME_DNS "urn:ietf:params:acme:error:dns"

struct dp_verdict {
    dp_code code;          /* DP_OK, DP_ERR_MALFORMED or DP_ERR_UNAUTHORIZED */
    const char *acme_type; /* NULL when valid, else one of DP_ACME_* */
    const char *rule;      /* spec id behind the decision, e.g. "H4" */
    long record;           /* deciding record's index, -1 when none */
    int has_persist_until; /* of the valid record (V6: clamp expires to it) */
    int64_t persist_until;
    size_t key_index;  /* which thumbprint matched (draft-02) */
    int star;          /* the match used the "*" opt-out form */
    dp_hash_alg alg;   /* the matching record's algorithm (draft-02) */
    int plain;         /* matched by the plain account URL (draft-01) */
    size_t n_matching; /* records that named one of the issuers (V2) */
    char detail[512];  /* why not valid, naming the record and rule; empty when valid */
};

struct dp_verifier;

/* Copies and checks params: issuers are normalized (and compared after
 * normalization, V2), thumbprints must be valid, accepted_algs must include
 * sha-256. NULL with err filled on failure. ctx must outlive the verifier. */
DP_API struct dp_verifier *dp_verify_new(const struct dp_ctx *ctx,
                                         const struct dp_verify_params *params,
                                         struct dp_error *err);

/* Frees v; accepts NULL. */
DP_API void dp_verify_free(struct dp_verifier *v);

/* Evaluates the TXT records found at _validation-persist.<record_domain>
 * for identifier (may start with "*."); record_domain NULL means the
 * identifier's base. now is seconds since the epoch. Returns DP_OK when a
 * verdict was reached (read out->code), or DP_ERR_DOMAIN / DP_ERR_INVAL /
 * DP_ERR_CRYPTO / DP_ERR_NOMEM when no decision could be made. */
DP_API dp_code dp_verify_eval(struct dp_verifier *v, const char *identifier,
                              const char *record_domain, const struct dp_txt_rr *rrs, size_t n,
                              enum dp_account_status status, int64_t now, struct dp_verdict *out,
                              struct dp_error *err);

/* V6: the latest an authorization validated by verdict may expire. */
DP_API int64_t dp_verify_clamp_expires(const struct dp_verdict *verdict, int64_t expires);

#endif
