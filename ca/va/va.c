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

/* The fixed-window counter of key in a table of VA_FAIL_SLOTS (a slot held
 * by another key, or by an old window, starts again at 0). Caller holds
 * va->mu. */
static struct fail_slot *window(struct fail_slot *table, const char *key, int64_t now,
                                int64_t length)
{
    struct fail_slot *s = &table[ca_hash(key) % VA_FAIL_SLOTS];
    if (strcmp(s->key, key) || now - s->window_start >= length) {
        snprintf(s->key, sizeof s->key, "%s", key);
        s->window_start = now;
        s->count = 0;
    }
    return s;
}

struct worker;

struct va {
    const struct va_config *cfg;
    struct store *store;
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
    if (strcmp(a->status, "pending")) return 0;
    double age = 0;
    pthread_mutex_lock(&va->mu);
    struct proc *p = proc_find(va, a->id, NULL);
    if (p) {
        snprintf(a->ch_type, sizeof a->ch_type, "%s", p->type);
        snprintf(a->ch_status, sizeof a->ch_status, "processing");
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
static int jit_allowed(struct va *va, const char *domain, int64_t now)
{
    return window(va->jits, domain, now, VA_JIT_WINDOW)->count++ < VA_JIT_LIMIT;
}

static void run_jit(struct worker *w, struct va_jit *it, double deadline);
static void worker_free(struct worker *w);
static void *sweep_main(void *arg);

/* A request-thread resolver (waits for one), or NULL when stopping. */
static struct worker *borrow(struct va *va)
{
    pthread_mutex_lock(&va->mu);
    while (!va->n_jit_free && !va->stop)
        pthread_cond_wait(&va->jit_cv, &va->mu);
    struct worker *w = va->stop ? NULL : va->jit_free[--va->n_jit_free];
    pthread_mutex_unlock(&va->mu);
    return w;
}

static void give_back(struct va *va, struct worker *w)
{
    pthread_mutex_lock(&va->mu);
    va->jit_free[va->n_jit_free++] = w;
    pthread_cond_signal(&va->jit_cv);
    pthread_mutex_unlock(&va->mu);
}

/* One order's Just-in-Time look-ups, shared by the waiting request and the
 * JIT thread; the last of the two to let go frees it. */
struct jit_job {
    struct va_jit items[ST_MAX_IDENTIFIERS];
    char account[ST_ID];
    char names[ST_MAX_IDENTIFIERS][256]; /* copies: the request may be gone */
    int allowed[ST_MAX_IDENTIFIERS];
    size_t n;
    int done, abandoned, refs;
    /* Its own: one shared condition woke every waiting request at each
     * job's end (at concurrency 32, ~30 context switches a certificate). */
    pthread_cond_t cv;
};

static void jit_release(struct jit_job *j) /* va->mu held */
{
    if (--j->refs == 0) {
        pthread_cond_destroy(&j->cv);
        free(j);
    }
}

static void jit_drop(void *j)
{
    /* only at va_destroy, when no request waits any more */
    pthread_cond_destroy(&((struct jit_job *)j)->cv);
    free(j);
}

void va_jit(struct va *va, struct va_jit *items, size_t n)
{
    int64_t now = (int64_t)time(NULL);
    struct jit_job *j = calloc(1, sizeof *j);
    for (size_t i = 0; i < n && i < ST_MAX_IDENTIFIERS; i++) {
        items[i].valid = 0;
        items[i].clamp = 0;
    }
    if (!j) return;
    pthread_cond_init(&j->cv, NULL);
    j->n = n < ST_MAX_IDENTIFIERS ? n : ST_MAX_IDENTIFIERS;
    snprintf(j->account, sizeof j->account, "%s", n ? items[0].account : "");
    j->refs = 2;
    pthread_mutex_lock(&va->mu);
    int any = 0;
    for (size_t i = 0; i < j->n; i++) {
        const char *id = items[i].identifier;
        snprintf(j->names[i], sizeof j->names[i], "%s", id);
        j->items[i] = (struct va_jit){j->account, j->names[i], 0, 0, ""};
        j->allowed[i] = jit_allowed(va, id + (strncmp(id, "*.", 2) ? 0 : 2), now);
        any |= j->allowed[i];
    }
    if (!any || va->stop || fq_push(va->jq, j->account, j)) {
        pthread_mutex_unlock(&va->mu);
        pthread_cond_destroy(&j->cv);
        free(j);
        return;
    }
    pthread_cond_signal(&va->jq_cv);
    /* The request waits a bounded time: what is not done by then stays
     * pending, and the client answers a challenge as usual. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ns = until.tv_nsec + (int64_t)va->cfg->jit_wait_ms * 1000000;
    until.tv_sec += ns / 1000000000;
    until.tv_nsec = ns % 1000000000;
    while (!j->done && !va->stop)
        if (pthread_cond_timedwait(&j->cv, &va->mu, &until)) break;
    if (j->done)
        for (size_t i = 0; i < j->n; i++) {
            items[i].valid = j->items[i].valid;
            items[i].clamp = j->items[i].clamp;
            memcpy(items[i].perspectives, j->items[i].perspectives, sizeof items[i].perspectives);
        }
    j->abandoned = 1;
    jit_release(j);
    pthread_mutex_unlock(&va->mu);
}

static void *jit_main(void *arg)
{
    struct worker *w = arg;
    struct va *va = w->va;
    pthread_mutex_lock(&va->mu);
    for (;;) {
        char account[64];
        struct jit_job *j = NULL;
        while (!va->stop && !(j = fq_pop(va->jq, 1, account)))
            pthread_cond_wait(&va->jq_cv, &va->mu);
        if (va->stop) break;
        int skip = j->abandoned; /* its request has gone: the look-ups are moot */
        pthread_mutex_unlock(&va->mu);
        double t0 = mono_ms(), deadline = t0 + VA_JIT_BUDGET_MS;
        size_t n = j->n;
        for (size_t i = 0; !skip && i < n; i++)
            if (j->allowed[i]) run_jit(w, &j->items[i], deadline);
        pthread_mutex_lock(&va->mu);
        /* Read under the lock that va_jit sets it under: whether the
         * request had stopped waiting (--jit-wait) before these ended. */
        int answered_first = j->abandoned;
        j->done = 1;
        fq_done(va->jq, account);
        pthread_cond_signal(&j->cv); /* before the release that may free it */
        jit_release(j);
        pthread_cond_signal(&va->jq_cv); /* the account may have more */
        if (log_enabled(LOG_DEBUG)) {
            char nb[24], ms[24];
            snprintf(nb, sizeof nb, "%zu", n);
            snprintf(ms, sizeof ms, "%.0f", mono_ms() - t0);
            pthread_mutex_unlock(&va->mu);
            log_event(LOG_DEBUG, "jit", "account", account, "#names", nb, "#ms", ms, "outcome",
                      skip ? "skipped" : "done", "order",
                      answered_first ? "answered first" : "waited", "msg",
                      skip             ? "the order was answered before its look-ups began"
                      : answered_first ? "look-ups ended after the order was answered (--jit-wait)"
                                       : "look-ups ended while the order waited",
                      NULL);
            pthread_mutex_lock(&va->mu);
        }
    }
    pthread_mutex_unlock(&va->mu);
    return NULL; /* w is freed by va_destroy, after every thread has ended */
}

int va_caa_recheck(struct va *va, const struct st_authz *a, struct va_result *r)
{
    struct va_req *q = malloc(sizeof *q);
    struct worker *w = q ? borrow(va) : NULL;
    if (!w) {
        free(q);
        r->type = "serverInternal", r->status = 500;
        snprintf(r->detail, sizeof r->detail, "the CA is stopping");
        return 0;
    }
    va_req_build(va->cfg, va->store, a, 1, q, r);
    r->valid = check_caa(w->chk.res, q, r);
    mpic_corroborate(w->mpic, q, r, 0);
    give_back(va, w);
    va_req_clear(q);
    free(q);
    return r->valid;
}

/* 1 when the (record, account) pair key may be tried again now. The count
 * is in the store (it survives restarts); the VA only reads it, and the
 * RA counts each failure with the result (va_result.fail_key). */
int va_fail_allowed(struct va *va, const char *key, int64_t now)
{
    struct rl_take t = {key, va->cfg->v7, RL_PEEK};
    /* A store error lets the attempt run: a broken counter must not stop
     * validation (the attempt itself still decides). */
    return store_rate_take(va->store, &t, 1, now * 1000, NULL, NULL) != 1;
}

static int gate_allowed(void *arg, const char *key, int64_t now)
{
    return va_fail_allowed(arg, key, now);
}

/* One identifier of a new order, checked as its dns-persist-01 challenge
 * would be; nothing is stored here (new_order stores the order at once). */
static void run_jit(struct worker *w, struct va_jit *it, double deadline)
{
    struct st_authz a = {.wildcard = !strncmp(it->identifier, "*.", 2)};
    snprintf(a.account, sizeof a.account, "%s", it->account);
    snprintf(a.identifier, sizeof a.identifier, "%s", it->identifier + (a.wildcard ? 2 : 0));
    snprintf(a.ch_type, sizeof a.ch_type, "dns-persist-01");
    struct outcome o = {.jit = 1, .deadline = deadline};
    struct va_req *q = malloc(sizeof *q);
    if (q && va_req_build(w->va->cfg, w->va->store, &a, 0, q, &o.r) == 0) {
        check_run(&w->chk, q, &o);
        mpic_corroborate(w->mpic, q, &o.r, deadline);
    }
    if (q) va_req_clear(q);
    free(q);
    it->valid = o.r.valid;
    it->clamp = o.r.clamp;
    snprintf(it->perspectives, sizeof it->perspectives, "%s", o.r.valid ? o.r.perspectives : "");
}

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
        int ours = got && (!strcmp(a.ch_status, "pending") ||
                           (store_shared(va->store) && !strcmp(a.ch_status, "processing")));
        if (!got || strcmp(a.status, "pending") || !ours) {
            proc_done(va, id);
            account_done(va, account);
            continue;
        }
        va_overlay(va, &a);
        struct outcome o = {0};
        struct va_req *q = malloc(sizeof *q);
        if (!q)
            check_fail(&o, "serverInternal", 500, "out of memory");
        else if (va_req_build(va->cfg, va->store, &a, 0, q, &o.r) == 0) {
            check_run(&w->chk, q, &o);
            mpic_corroborate(w->mpic, q, &o.r, 0); /* only a valid result is asked about */
        }
        if (q) va_req_clear(q);
        free(q);
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

struct va *va_create(const struct va_config *cfg, struct store *store, struct dp_ctx *dp,
                     va_done_fn done, void *done_arg, char *why, size_t cap)
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
        if (!w || pthread_create(&va->jit_threads[va->n_jit_threads], NULL, jit_main, w)) {
            if (w) snprintf(why, cap, "cannot start a Just-in-Time thread");
            worker_free(w);
            va_destroy(va);
            return NULL;
        }
        va->owned[va->n_owned++] = w;
        va->n_jit_threads++;
    }
    if (store_shared(store)) {
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
        long n =
            store_authz_claim(va->store, va->cfg->instance, va->cfg->lease, 32, ids, accts, types);
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
    fq_free(va->jq, jit_drop);
    free(va);
}
