/*
 * ra_status.c: the status machines' pure decisions (ra_status.h). No store,
 * no clock: the caller passes now, so every transition is a table test.
 */
#include "ra_status.h"

enum st_status ra_authz_effective(enum st_status stored, int64_t expires, int64_t now)
{
    return stored == ST_VALID && expires < now ? ST_EXPIRED : stored;
}

enum st_status ra_order_next(enum st_status cur, const enum st_status *authz, size_t n,
                             int64_t expires, int64_t now)
{
    if (cur != ST_PENDING && cur != ST_READY) return cur;
    int all_valid = 1;
    for (size_t i = 0; i < n; i++) {
        /* Only pending can still become valid; anything else that is not
         * valid (failed, deactivated, expired, revoked, unreadable) never
         * will, so the order cannot be finalized. */
        if (authz[i] != ST_VALID && authz[i] != ST_PENDING) return ST_INVALID;
        if (authz[i] != ST_VALID) all_valid = 0;
    }
    if (expires < now) return ST_INVALID;
    /* An order without authorizations cannot exist (newOrder refuses an
     * empty list); were one read, it is not ready. */
    if (n == 0) return ST_INVALID;
    return all_valid ? ST_READY : ST_PENDING;
}

enum st_status ra_order_first(size_t n_valid, size_t n)
{
    return n > 0 && n_valid == n ? ST_READY : ST_PENDING;
}
