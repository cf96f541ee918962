/*
 * va.h: the validation authority. It performs validations and returns
 * their results; it writes nothing. Answered challenges are queued and
 * validated by va_threads workers, each with its own resolver; each result
 * goes to the done callback given at va_create (the registration
 * authority), which decides what to store.
 */
#ifndef CA_VA_H
#define CA_VA_H

#include <stdint.h>

#include "dnspersist/dnspersist.h"
#include "mpic.h"
#include "ratelimit.h"
#include "store_read.h"
#include "va_req.h"

/* The result of one validation. */

/* Called on a VA thread with the authorization as it was validated (its
 * ch_type the challenge answered). The challenge shows processing until
 * this returns. */
typedef void (*va_done_fn)(void *arg, const struct st_authz *a, const struct va_result *r);

/* The VA's slice of the configuration (borrowed: it outlives the VA). */
struct va_config {
    unsigned threads;     /* validation workers (--va-threads), 1 to 16 */
    unsigned jit_threads; /* Just-in-Time threads, and CAA re-check handles (--threads) */
    unsigned jit_wait_ms; /* how long a new-order waits for its look-ups */
    const char *resolver, *trust_anchor; /* "" for recursion, or no DNSSEC */
    const struct rl_limit *v7;           /* the failed-validation limit (V7) */
    int lease;                           /* seconds an answered challenge is held (shared store) */
    const char *instance;                /* this process, as a lease's owner */
    const struct mpic_config *mpic;      /* remote perspectives, or none */
    /* What a request is built from (va_build.c): */
    const char *base; /* account URLs are BASE/acme/acct/ID */
    const char *const *issuers;
    size_t n_issuers;
    const char *hash_prefix;
    const char *const *previous;
    size_t n_previous;
    int compat; /* draft-01 records accepted too */
    const char *const *caa_ids;
    size_t n_caa;
    int http01_port;
};

/* The one write the VA needs, narrowed to a hook the composition root
 * wires to the store (store_authz_claim's contract): with a shared
 * database, claims answered challenges whose instance died mid-validation,
 * for owner, for seconds more. */
struct va_claims {
    long (*claim)(void *arg, const char *owner, int seconds, size_t max, char (*ids)[ST_ID],
                  char (*accounts)[ST_ID], char (*types)[24]);
    void *arg;
};

/* A VA reading store (taking over leases through claims, NULL with a
 * database of its own), with dp for the Public Suffix List;
 * done(done_arg, ...) receives every result. NULL with why on failure. */
struct va *va_create(const struct va_config *cfg, const struct store *store,
                     const struct va_claims *claims, struct dp_ctx *dp, va_done_fn done,
                     void *done_arg, char *why, size_t cap);
/* Answered challenges waiting for a worker (for metrics). */
size_t va_queue_depth(struct va *va);
/* Lets running validations finish (and report), then stops. */
void va_destroy(struct va *va);
/* Queues the validation of a's challenge of this type; va_overlay then
 * shows it processing. 0 queued; 1 another challenge of a is being
 * validated; 2 this one already is; -1 the queue is full. */
int va_answer(struct va *va, const struct st_authz *a, const char *type);
/* Shows a's challenge as processing while it is being validated; returns
 * how long it has been (ms), 0 when it is not. */
double va_overlay(struct va *va, struct st_authz *a);

/* Just-in-Time validation (A5; draft 4.4): one identifier of a new order. */
struct va_jit {
    const char *account;
    const char *identifier; /* as ordered, "*." included */
    int valid;              /* out: a dns-persist-01 record authorizes it now */
    int64_t clamp;          /* out: V6 persistUntil, 0 for none */
    char perspectives[600]; /* out: MPIC, the perspectives that agreed */
};
/* Checks the items on the calling thread with a Just-in-Time resolver of
 * the VA (within a 2 s budget). An item whose domain has had too many
 * look-ups lately is not tried. */
void va_jit(struct va *va, struct va_jit *items, size_t n);

/* CAA again for a's name, account and validation method (its ch_type), on
 * the calling thread (CA/B BR 3.2.2.8: at issuance when the validation is
 * older than 8 hours). 1 permitted; 0 with the problem in r. */
int va_caa_recheck(struct va *va, const struct st_authz *a, struct va_result *r);

/* Builds the request of a's answered challenge (a->ch_type), or of the
 * CAA check alone (caa_only), from cfg and the account in store
 * (va_build.c). 0, or -1 with the problem in r. */
int va_req_build(const struct va_config *cfg, const struct store *store, const struct st_authz *a,
                 int caa_only, struct va_req *q, struct va_result *r);

#endif
