/*
 * va.c: the validation authority (va.h). Challenge answers are queued; each
 * worker thread owns a resolver, a libcurl handle and reads live state from
 * the store at every attempt (V1 fresh DNS, V5 live account status). It
 * writes nothing: results go to the registration authority's callback.
 *
 *   dns-persist-01: TXT at _validation-persist.<name>, the library's
 *                   verification procedure (hashed URIs over every retained
 *                   key, draft-01 plain URLs in compat mode), authz expiry
 *                   clamped to persistUntil (V6)
 *   dns-01:         TXT at _acme-challenge.<name> = b64url(SHA-256(keyAuth))
 *   http-01:        GET http://<name>:<http01-port>/.well-known/acme-challenge/<token>
 *
 * Failed dns-persist-01 validations are rate-limited per (domain, account)
 * (V7): after failed-validations-per-account-name failures in its period the attempt
 * fails with rateLimited without a look-up.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "hash.h"
#include "log.h"
#include "mpic.h"
#include "va_int.h"
#include "va_queue.h"

/* Caller holds va->mu. The slot of authz, or NULL; *free_slot gets an empty
 * slot of its bucket (or NULL when the bucket is full). */
static struct proc *proc_find(struct va *va, const char *authz, struct proc **free_slot)
{
    struct proc *b = va->procs[ca_hash(authz) % VA_PROC_BUCKETS];
    if (free_slot) *free_slot = NULL;
    for (int i = 0; i < VA_PROC_WAYS; i++) {
        if (!strcmp(b[i].authz, authz)) return &b[i];
        if (free_slot && !*free_slot && !b[i].authz[0]) *free_slot = &b[i];
    }
    return NULL;
}

int va_answer(struct va *va, const struct st_authz *a, const char *type)
{
    pthread_mutex_lock(&va->mu);
    struct proc *free_slot, *p = proc_find(va, a->id, &free_slot);
    int rc = 0;
    if (p)
        rc = strcmp(p->type, type) ? 1 : 2;
    else if (!free_slot || va->stop)
        rc = -1;
    char *id = rc == 0 ? strdup(a->id) : NULL;
    if (rc == 0 && (!id || fq_push(va->q, a->account, id))) {
        free(id);
        rc = -1;
    }
    if (rc == 0) {
        snprintf(free_slot->authz, ST_ID, "%s", a->id);
        snprintf(free_slot->type, sizeof free_slot->type, "%s", type);
        free_slot->since = mono_ms();
        pthread_cond_signal(&va->cv);
    }
    pthread_mutex_unlock(&va->mu);
    return rc;
}

double va_overlay(struct va *va, struct st_authz *a)
{
    if (a->status != ST_PENDING) return 0;
    double age = 0;
    pthread_mutex_lock(&va->mu);
    struct proc *p = proc_find(va, a->id, NULL);
    if (p) {
        snprintf(a->ch_type, sizeof a->ch_type, "%s", p->type);
        a->ch_status = ST_PROCESSING;
        age = mono_ms() - p->since;
    }
    pthread_mutex_unlock(&va->mu);
    return age;
}

static void proc_done(struct va *va, const char *authz)
{
    pthread_mutex_lock(&va->mu);
    struct proc *p = proc_find(va, authz, NULL);
    if (p) p->authz[0] = '\0';
    pthread_mutex_unlock(&va->mu);
}

/* Draft 4.4: Just-in-Time look-ups are limited per domain, whatever the
 * account, so many accounts cannot turn the CA against one zone. Caller
 * holds va->mu. */
/* 1 when the (record, account) pair key may be tried again now. The count
 * is in the store (it survives restarts); the VA only reads it, and the
 * RA counts each failure with the result (va_result.fail_key). */
int va_fail_allowed(struct va *va, const char *key, int64_t now)
{
    struct rl_take t = {key, va->cfg->v7, RL_PEEK};
    /* A store error lets the attempt run: a broken counter must not stop
     * validation (the attempt itself still decides). */
    return store_rate_peek(va->store, &t, now * 1000) != 1;
}

static int gate_allowed(void *arg, const char *key, int64_t now)
{
    return va_fail_allowed(arg, key, now);
}

static void *sweep_main(void *arg);

/* One validation of account ended: its next may go. */
static void account_done(struct va *va, const char *account)
{
    pthread_mutex_lock(&va->mu);
    fq_done(va->q, account);
    pthread_cond_broadcast(&va->cv);
    pthread_mutex_unlock(&va->mu);
}

static void worker_free(struct worker *w)
{
    if (!w) return;
    check_clear(&w->chk);
    mpic_free(w->mpic);
    free(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct va *va = w->va;
    for (;;) {
        char id[ST_ID], account[64];
        char *qid = NULL;
        pthread_mutex_lock(&va->mu);
        while (!va->stop && !(qid = fq_pop(va->q, va->max_inflight, account)))
            pthread_cond_wait(&va->cv, &va->mu);
        if (va->stop) {
            pthread_mutex_unlock(&va->mu);
            break;
        }
        snprintf(id, sizeof id, "%s", qid);
        free(qid);
        pthread_mutex_unlock(&va->mu);

        struct st_authz a;
        /* Still pending (not deactivated meanwhile): validate the answer. */
        /* With a shared database the answer is stored as processing, leased
         * to this instance (store_authz_answer, or the sweep below). */
        int got = store_authz_get(va->store, id, &a) == 0;
        int ours = got && (a.ch_status == ST_PENDING ||
                           (store_shared(va->store) && a.ch_status == ST_PROCESSING));
        if (!got || a.status != ST_PENDING || !ours) {
            proc_done(va, id);
            account_done(va, account);
            continue;
        }
        va_overlay(va, &a);
        struct outcome o = {0};
        double t0 = mono_ms();
        struct va_req *q = malloc(sizeof *q);
        if (!q)
            check_fail(&o, "serverInternal", 500, "out of memory");
        else if (va_req_build(va->cfg, va->store, &a, 0, q, &o.r) == 0) {
            check_run(&w->chk, q, &o);
            mpic_corroborate(w->mpic, q, &o.r, 0); /* only a valid result is asked about */
        }
        if (q) va_req_clear(q);
        free(q);
        o.r.seconds = (mono_ms() - t0) / 1000.0;
        va->done(va->done_arg, &a, &o.r);
        proc_done(va, id); /* after the result is stored: no gap shows pending */
        account_done(va, account);
    }
    return NULL; /* w is freed by va_destroy, after every thread has ended */
}

/* A worker: its own resolver (timeout_ms per look-up, 0 for the default)
 * and, for challenge validation, a libcurl handle. NULL after saying why. */
static struct worker *worker_new(struct va *va, unsigned timeout_ms, int with_curl, char *why,
                                 size_t cap)
{
    const struct va_config *c = va->cfg;
    struct worker *w = calloc(1, sizeof *w);
    int mpic_failed = 0;
    if (!w) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    if (check_init(&w->chk, va->dp, c->resolver, c->trust_anchor, timeout_ms, with_curl, why,
                   cap) ||
        (!(w->mpic = mpic_new(c->mpic, &mpic_failed)) && mpic_failed)) {
        if (mpic_failed) snprintf(why, cap, "out of memory");
        worker_free(w);
        return NULL;
    }
    w->chk.gate = &va->gate;
    w->va = va;
    return w;
}

struct va *va_create(const struct va_config *cfg, const struct store *store,
                     const struct va_claims *claims, struct dp_ctx *dp, va_done_fn done,
                     void *done_arg, char *why, size_t cap)
{
    struct va *va = calloc(1, sizeof *va);
    if (!va || !(va->q = fq_new(VA_QUEUE, VA_QUEUE / 8)) || !(va->jq = fq_new(VA_QUEUE, 256))) {
        if (va) fq_free(va->q, free);
        free(va);
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    va->cfg = cfg;
    va->store = store;
    if (claims) va->claims = *claims;
    va->dp = dp;
    va->done = done;
    va->done_arg = done_arg;
    va->gate = (struct check_gate){gate_allowed, va};
    pthread_mutex_init(&va->mu, NULL);
    pthread_cond_init(&va->cv, NULL);
    pthread_cond_init(&va->jit_cv, NULL);
    pthread_cond_init(&va->jq_cv, NULL);
    pthread_cond_init(&va->sweep_cv, NULL);
    unsigned n = cfg->threads ? cfg->threads : 2;
    if (n > 16) n = 16;
    /* One account never holds every worker: the others find one free. */
    va->max_inflight = n > 1 ? (n + 1) / 2 : 1;
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = worker_new(va, 0, 1, why, cap);
        if (!w || pthread_create(&va->threads[va->n_threads], NULL, worker_main, w)) {
            if (w) snprintf(why, cap, "cannot start a validation thread");
            worker_free(w);
            va_destroy(va);
            return NULL;
        }
        va->owned[va->n_owned++] = w;
        va->n_threads++;
    }
    /* Resolvers for the CAA re-check at finalize (BR 3.2.2.8), made on the
     * request's thread, one per HTTPS thread; and as many Just-in-Time
     * threads. Both with a short time-out. */
    unsigned nj = cfg->jit_threads ? cfg->jit_threads : 1;
    for (unsigned i = 0; i < nj && i < 64; i++) {
        struct worker *w = worker_new(va, VA_JIT_LOOKUP_MS, 0, why, cap);
        if (!w) {
            va_destroy(va);
            return NULL;
        }
        va->jit_all[va->n_jit++] = w;
        va->jit_free[va->n_jit_free++] = w;
    }
    for (unsigned i = 0; i < nj && i < 64; i++) {
        struct worker *w = worker_new(va, VA_JIT_LOOKUP_MS, 0, why, cap);
        if (!w || pthread_create(&va->jit_threads[va->n_jit_threads], NULL, va_jit_main, w)) {
            if (w) snprintf(why, cap, "cannot start a Just-in-Time thread");
            worker_free(w);
            va_destroy(va);
            return NULL;
        }
        va->owned[va->n_owned++] = w;
        va->n_jit_threads++;
    }
    if (store_shared(store) && va->claims.claim) {
        if (pthread_create(&va->sweeper, NULL, sweep_main, va)) {
            snprintf(why, cap, "cannot start the validation sweep");
            va_destroy(va);
            return NULL;
        }
        va->sweeping = 1;
    }
    return va;
}

#define VA_SWEEP_S 2

/* Every VA_SWEEP_S, the answered challenges whose lease ran out (their
 * instance died mid-validation) are claimed for this one and queued. */
static void *sweep_main(void *arg)
{
    struct va *va = arg;
    pthread_mutex_lock(&va->mu);
    while (!va->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += VA_SWEEP_S;
        pthread_cond_timedwait(&va->sweep_cv, &va->mu, &until);
        if (va->stop) break;
        pthread_mutex_unlock(&va->mu);
        static __thread char ids[32][ST_ID], accts[32][ST_ID], types[32][24];
        long n = va->claims.claim(va->claims.arg, va->cfg->instance, va->cfg->lease, 32, ids, accts,
                                  types);
        for (long i = 0; i < n; i++) {
            struct st_authz a;
            memset(&a, 0, sizeof a);
            snprintf(a.id, sizeof a.id, "%s", ids[i]);
            snprintf(a.account, sizeof a.account, "%s", accts[i]);
            if (va_answer(va, &a, types[i]) == 0)
                log_event(LOG_WARN, "validation", "authz", ids[i], "type", types[i], "msg",
                          "taken over: the instance validating it stopped", NULL);
        }
        pthread_mutex_lock(&va->mu);
    }
    pthread_mutex_unlock(&va->mu);
    return NULL;
}

size_t va_queue_depth(struct va *va)
{
    pthread_mutex_lock(&va->mu);
    size_t n = fq_len(va->q);
    pthread_mutex_unlock(&va->mu);
    return n;
}

void va_destroy(struct va *va)
{
    if (!va) return;
    pthread_mutex_lock(&va->mu);
    va->stop = 1;
    pthread_cond_broadcast(&va->cv);
    pthread_cond_broadcast(&va->jit_cv);
    pthread_cond_broadcast(&va->jq_cv);
    pthread_cond_broadcast(&va->sweep_cv);
    pthread_mutex_unlock(&va->mu);
    if (va->sweeping) pthread_join(va->sweeper, NULL);
    for (unsigned i = 0; i < va->n_threads; i++)
        pthread_join(va->threads[i], NULL);
    for (unsigned i = 0; i < va->n_jit_threads; i++)
        pthread_join(va->jit_threads[i], NULL);
    for (unsigned i = 0; i < va->n_jit; i++) /* the HTTPS threads have stopped */
        worker_free(va->jit_all[i]);
    for (unsigned i = 0; i < va->n_owned; i++)
        worker_free(va->owned[i]);
    fq_free(va->q, free);
    fq_free(va->jq, va_jit_drop);
    free(va);
}
