/*
 * ra_status.c: the status machines' pure decisions (ra_status.h). No store,
 * no clock: the caller passes now, so every transition is a table test.
 */
#include "ra_status.h"

#include <string.h>

static const char *const AUTHZ_NAMES[] = {"",        "pending", "valid", "invalid", "deactivated",
                                          "expired", "revoked"};
static const char *const ORDER_NAMES[] = {"", "pending", "ready", "processing", "valid", "invalid"};

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

enum ra_authz_st ra_authz_st_parse(const char *s)
{
    for (size_t i = 1; s && i < COUNT(AUTHZ_NAMES); i++)
        if (!strcmp(s, AUTHZ_NAMES[i])) return (enum ra_authz_st)i;
    return RA_AUTHZ_UNKNOWN;
}

const char *ra_authz_st_name(enum ra_authz_st s)
{
    return (size_t)s < COUNT(AUTHZ_NAMES) ? AUTHZ_NAMES[s] : "";
}

enum ra_order_st ra_order_st_parse(const char *s)
{
    for (size_t i = 1; s && i < COUNT(ORDER_NAMES); i++)
        if (!strcmp(s, ORDER_NAMES[i])) return (enum ra_order_st)i;
    return RA_ORDER_UNKNOWN;
}

const char *ra_order_st_name(enum ra_order_st s)
{
    return (size_t)s < COUNT(ORDER_NAMES) ? ORDER_NAMES[s] : "";
}

enum ra_authz_st ra_authz_effective(enum ra_authz_st stored, int64_t expires, int64_t now)
{
    return stored == RA_AUTHZ_VALID && expires < now ? RA_AUTHZ_EXPIRED : stored;
}

enum ra_order_st ra_order_next(enum ra_order_st cur, const enum ra_authz_st *authz, size_t n,
                               int64_t expires, int64_t now)
{
    if (cur != RA_ORDER_PENDING && cur != RA_ORDER_READY) return cur;
    int all_valid = 1;
    for (size_t i = 0; i < n; i++) {
        /* Only pending can still become valid; anything else that is not
         * valid (failed, deactivated, expired, revoked, unreadable) never
         * will, so the order cannot be finalized. */
        if (authz[i] != RA_AUTHZ_VALID && authz[i] != RA_AUTHZ_PENDING) return RA_ORDER_INVALID;
        if (authz[i] != RA_AUTHZ_VALID) all_valid = 0;
    }
    if (expires < now) return RA_ORDER_INVALID;
    /* An order without authorizations cannot exist (newOrder refuses an
     * empty list); were one read, it is not ready. */
    if (n == 0) return RA_ORDER_INVALID;
    return all_valid ? RA_ORDER_READY : RA_ORDER_PENDING;
}

enum ra_order_st ra_order_first(size_t n_valid, size_t n)
{
    return n > 0 && n_valid == n ? RA_ORDER_READY : RA_ORDER_PENDING;
}
