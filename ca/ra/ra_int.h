/* ra_int.h: what the registration authority's files share (ra.c,
ra_limits.c, ra_revoke.c); not for the other layers. */
#ifndef CA_RA_INT_H
#define CA_RA_INT_H

#include "ra.h"
#include "ratelimit.h"
#include "store.h"

/* Fills p (status, problem type, detail) and returns -1. */
int ra_refuse(struct ra_problem *p, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One rate-limit check: its kind, key and how the problem names it. */
struct rl_ask {
    enum rl_kind kind;
    enum rl_mode mode;
    char key[320];
    const char *label; /* NULL: the key */
};

/* All of asks in one store transaction. 0 allowed; -1 after refusing with
 * rateLimited, its Retry-After and the limit named. */
int ra_limits(struct ra *ra, struct rl_ask *asks, size_t n, struct ra_problem *p);
/* The pending-authorizations limit (a count, not a rate): 0 when the
 * account may hold pend more; -1 after refusing. */
int ra_limit_pending(struct ra *ra, const char *account, long pend, struct ra_problem *p);
/* The order and its authorizations stored, asks taken in the same
 * transaction. 0 stored; -1 after refusing (rateLimited, alreadyReplaced). */
int ra_order_store(struct ra *ra, struct st_order *o, const struct st_authz_init *init,
                   struct rl_ask *asks, size_t n, struct ra_problem *p);
/* The address a client's accounts count under (IPv6: its /64). */
void ra_peer_key(const char *peer, char *out, size_t cap);
/* An order's certificate limits (each registered domain, the exact name
 * set), appended at asks[*n]. */
void ra_cert_asks(struct ra *ra, const struct st_order *o, enum rl_mode mode, struct rl_ask *asks,
                  size_t *n, char *label, size_t label_cap);

#endif
