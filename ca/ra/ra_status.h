/*
 * ra_status.h: the ACME status machines (RFC 8555 7.1.6) as enums and pure
 * functions, so the RA's decisions are unit-tested apart from any store.
 * The statuses are the store's (store_read.h: enum st_status), one enum
 * and one name table for every layer.
 */
#ifndef CA_RA_STATUS_H
#define CA_RA_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "store_read.h"

/* What a client sees of a stored authorization at now: valid past its
 * expiry (clamped to persistUntil, V6) reads as expired. */
enum st_status ra_authz_effective(enum st_status stored, int64_t expires, int64_t now);

/* An order's status from its authorizations' effective statuses (RFC 8555
 * 7.1.6): pending and ready move on, to invalid when any authorization can
 * no longer become valid or the order expired, to ready when all are
 * valid; processing, valid and invalid are left as they are (only
 * finalization moves them). */
enum st_status ra_order_next(enum st_status cur, const enum st_status *authz, size_t n,
                             int64_t expires, int64_t now);

/* A new order's first status: ready when every authorization is valid
 * already (reused or Just-in-Time), else pending. */
enum st_status ra_order_first(size_t n_valid, size_t n);

#endif
