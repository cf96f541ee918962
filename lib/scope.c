/*
 * scope.c: S1-S3. A record without policy=wildcard covers exactly its own
 * name (S1); with it, the name, any subdomain and wildcards at or below it
 * (S2), found on label boundaries and never from a public suffix (S3).
 */
#include <string.h>

#include <libpsl.h>

#include "internal.h"
#include "ctx_int.h"

const char *dp_scope_registered_domain(const struct dp_ctx *ctx, const char *domain)
{
    if (!ctx || !domain) return NULL;
    return psl_registrable_domain(ctx->psl, domain);
}

int dp_scope_is_public_suffix(const struct dp_ctx *ctx, const char *domain)
{
    /* Fails closed: with no list to ask, every name is treated as a public
     * suffix, so nothing climbs to it or is issued for it (S3). */
    if (!ctx || !ctx->psl || !domain) return 1;
    return psl_is_public_suffix2(ctx->psl, domain, PSL_TYPE_ANY) != 0;
}

dp_code dp_scope_check(const struct dp_ctx *ctx, const char *record_domain, int wildcard,
                       const char *identifier, struct dp_error *err)
{
    dp_error_clear(err);
    if (!ctx || !record_domain || !identifier)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    const char *base = dp_domain_base(identifier);
    int is_wild = base != identifier;
    int same = strcmp(base, record_domain) == 0;

    if (same && !is_wild) return DP_OK; /* S1: the record's own name */
    if (!same && !dp_domain_is_subdomain(base, record_domain))
        return dp__fail(err, DP_ERR_UNAUTHORIZED, "S3", DP_NO_OFFSET,
                        "a record at %s does not cover %s: not the same name nor a subdomain "
                        "on a label boundary",
                        record_domain, identifier);
    if (!wildcard)
        return dp__fail(err, DP_ERR_UNAUTHORIZED, same ? "S1" : "S2", DP_NO_OFFSET,
                        "%s needs policy=wildcard on the record at _validation-persist.%s "
                        "(without it a record covers only %s)",
                        identifier, record_domain, record_domain);
    if (dp_scope_is_public_suffix(ctx, record_domain))
        return dp__fail(err, DP_ERR_UNAUTHORIZED, "S3", DP_NO_OFFSET,
                        "%s is a public suffix: its policy=wildcard record cannot cover %s",
                        record_domain, identifier);
    return DP_OK;
}

size_t dp_scope_candidates(const struct dp_ctx *ctx, const char *identifier, const char **out,
                           size_t max)
{
    if (!ctx || !identifier || !out || max == 0) return 0;
    const char *d = dp_domain_base(identifier);
    size_t n = 0;
    out[n++] = d;
    for (const char *p = strchr(d, '.'); p && n < max; p = strchr(p + 1, '.')) {
        const char *parent = p + 1;
        if (dp_scope_is_public_suffix(ctx, parent)) break;
        out[n++] = parent;
    }
    return n;
}
