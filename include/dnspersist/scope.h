/*
 * scope: which identifiers a record authorizes (draft sections 5 and 6,
 * spec S1 to S3).
 */
#ifndef DNSPERSIST_SCOPE_H
#define DNSPERSIST_SCOPE_H

#include "ctx.h"
#include "error.h"

/* 1 when domain (normalized) is a public suffix, ICANN or private section;
 * also 1 when ctx or domain is NULL (fails closed: a caller without the
 * list refuses rather than climbs). */
DP_API int dp_scope_is_public_suffix(const struct dp_ctx *ctx, const char *domain);
/* The registered domain (public suffix plus one label) that domain is in,
 * a pointer into domain; NULL when domain is itself a public suffix. */
DP_API const char *dp_scope_registered_domain(const struct dp_ctx *ctx, const char *domain);

/* Decides whether a record at _validation-persist.<record_domain>, with or
 * without policy=wildcard, covers identifier (normalized; may start with
 * "*."). DP_OK when covered; DP_ERR_UNAUTHORIZED with err->rule "S1", "S2"
 * or "S3" and a detail when not. */
DP_API dp_code dp_scope_check(const struct dp_ctx *ctx, const char *record_domain, int wildcard,
                              const char *identifier, struct dp_error *err);

/* The domains where a record for identifier may be published, nearest first:
 * the identifier's base itself, then each parent down to (not including) the
 * registrable domain's public suffix. Writes up to max pointers into
 * identifier's own storage (borrowed) and returns the count. */
DP_API size_t dp_scope_candidates(const struct dp_ctx *ctx, const char *identifier,
                                  const char **out, size_t max);

#endif
