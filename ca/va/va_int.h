/* va_int.h: what the files of the validation authority share (va.c: the
 * queue, workers, Just-in-Time and limits; va_build.c: requests from the
 * CA's state). Not an interface for other layers: they see va.h. */
#ifndef CA_VA_INT_H
#define CA_VA_INT_H

#include <time.h>

#include "clock.h"
#include "va.h"
#include "check.h"
#include "hash.h"

#define VA_QUEUE 65536
/* V7's limit is failed-validations-per-account-name (ratelimit.h): the VA
 * reads its count from the store, the RA writes it with the result. */
#define VA_FAIL_SLOTS 4096
#define VA_JIT_LIMIT 10 /* Just-in-Time look-ups of one domain per window */
#define VA_JIT_WINDOW 60
#define VA_JIT_LOOKUP_MS 1000 /* per Just-in-Time look-up */
#define VA_JIT_BUDGET_MS 2000 /* no Just-in-Time look-up of an order starts later */
#define VA_PROC_BUCKETS 2048  /* challenges validated at once: up to 8 per bucket */
#define VA_PROC_WAYS 8

struct fail_slot {
    char key[256 + ST_ID + 2];
    int64_t window_start;
    int count;
};

struct va {
    const struct va_config *cfg;
    const struct store *store; /* reads only */
    struct va_claims claims;   /* the one write: taking over leases */
    struct dp_ctx *dp;
    va_done_fn done;
    void *done_arg;
    struct check_gate gate; /* V7, for the checkers of its workers */
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* work queued, or an account's work finished */
    struct fq *q;          /* answered challenges (authorization ids), fair by account */
    unsigned max_inflight; /* validations of one account at once */
    int stop;
    pthread_t threads[16];
    unsigned n_threads;
    /* Just-in-Time look-ups run on threads of their own, never on the
     * request's: the request waits for them a bounded time (--jit-wait). */
    struct fq *jq;
    pthread_cond_t jq_cv;
    pthread_t jit_threads[64];
    unsigned n_jit_threads;
    /* Every thread's worker, freed only once all threads have ended:
     * libunbound contexts must not be deleted while another thread
     * resolves (they share global state; ThreadSanitizer showed it). */
    struct worker *owned[16 + 64];
    unsigned n_owned;
    /* A shared database: answered challenges whose instance died are
     * taken over by this sweep. */
    pthread_t sweeper;
    int sweeping;
    pthread_cond_t sweep_cv;
    /* Just-in-Time validation runs on the requesting thread with a resolver
     * of its own (short time-out), not behind queued challenges. */
    pthread_cond_t jit_cv; /* a resolver came back */
    struct worker *jit_all[64], *jit_free[64];
    unsigned n_jit, n_jit_free;
    struct fail_slot jits[VA_FAIL_SLOTS]; /* Just-in-Time look-ups per domain */
    /* Answered challenges until their result is stored: the "processing"
     * state lives here, not in the store, which saves a write per
     * challenge; after a crash the challenge is simply pending again. */
    struct proc {
        char authz[ST_ID];
        char type[24];
        double since; /* mono_ms() at the answer */
    } procs[VA_PROC_BUCKETS][VA_PROC_WAYS];
};

/* va_jit.c: Just-in-Time threads, and their jobs freed at va_destroy. */
void *va_jit_main(void *arg);
void va_jit_drop(void *job);

/* A VA thread's own handles (its checker: resolver, libcurl) and its
 * connections to remote perspectives. */
struct worker {
    struct checker chk;
    struct va *va;
    struct mpic *mpic; /* or NULL */
};

/* V7: 1 when the (record, account) pair key (check_fail_key) may be tried
 * again now; a failure counts when the RA stores it (va_result.fail_key). */
int va_fail_allowed(struct va *va, const char *key, int64_t now);

#endif
