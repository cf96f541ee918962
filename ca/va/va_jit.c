/*
 * va_jit.c: Just-in-Time validation (A5, draft 4.4): an order's names
 * checked at new-order on threads of their own, the request waiting a
 * bounded time (--jit-wait), look-ups limited per domain; and the CAA
 * re-check at finalize, on a handle borrowed from the same pool.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mpic.h"
#include "va_int.h"
#include "va_queue.h"

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

static int jit_allowed(struct va *va, const char *domain, int64_t now)
{
    return window(va->jits, domain, now, VA_JIT_WINDOW)->count++ < VA_JIT_LIMIT;
}

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

void va_jit_drop(void *j)
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

void *va_jit_main(void *arg)
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
