/*
 * ra_status.h: the ACME status machines (RFC 8555 7.1.6) as enums and pure
 * functions, so the RA's decisions are unit-tested apart from any store.
 * The store keeps statuses as text (its columns, both backends); the RA
 * parses them at its boundary and decides on the enums.
 */
#ifndef CA_RA_STATUS_H
#define CA_RA_STATUS_H

#include <stddef.h>
#include <stdint.h>

enum ra_authz_st {
    RA_AUTHZ_UNKNOWN = 0, /* text the store should never hold: treated as failed */
    RA_AUTHZ_PENDING,
    RA_AUTHZ_VALID,
    RA_AUTHZ_INVALID,
    RA_AUTHZ_DEACTIVATED,
    RA_AUTHZ_EXPIRED, /* derived: valid past its expiry, never stored */
    RA_AUTHZ_REVOKED
};

enum ra_order_st {
    RA_ORDER_UNKNOWN = 0,
    RA_ORDER_PENDING,
    RA_ORDER_READY,
    RA_ORDER_PROCESSING,
    RA_ORDER_VALID,
    RA_ORDER_INVALID
};

enum ra_authz_st ra_authz_st_parse(const char *s);
const char *ra_authz_st_name(enum ra_authz_st s);
enum ra_order_st ra_order_st_parse(const char *s);
const char *ra_order_st_name(enum ra_order_st s);

/* What a client sees of a stored authorization at now: valid past its
 * expiry (clamped to persistUntil, V6) reads as expired. */
enum ra_authz_st ra_authz_effective(enum ra_authz_st stored, int64_t expires, int64_t now);

/* An order's status from its authorizations' effective statuses (RFC 8555
 * 7.1.6): pending and ready move on, to invalid when any authorization can
 * no longer become valid or the order expired, to ready when all are
 * valid; processing, valid and invalid are left as they are (only
 * finalization moves them). */
enum ra_order_st ra_order_next(enum ra_order_st cur, const enum ra_authz_st *authz, size_t n,
                               int64_t expires, int64_t now);

/* A new order's first status: ready when every authorization is valid
 * already (reused or Just-in-Time), else pending. */
enum ra_order_st ra_order_first(size_t n_valid, size_t n);

#endif
