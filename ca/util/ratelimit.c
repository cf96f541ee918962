/*
 * ratelimit.c: rate limit configuration and the GCRA decision.
 *
 * GCRA keeps one number per key, the theoretical arrival time (tat): each
 * allowed request pushes it period/count later; a request is allowed while
 * tat stays within one period of now. So count requests may come at once,
 * then one per period/count: Let's Encrypt's semantics. One stored integer
 * per key, updated in the store's transaction, makes it exact across
 * restarts (and, later, across instances).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "ratelimit.h"

static const char *const names[RL_N] = {
    "new-accounts-per-ip",     "new-orders-per-account", "pending-authorizations-per-account",
    "certificates-per-domain", "duplicate-certificates", "failed-validations-per-account-name",
};

/* A private CA that issues in batches: 10,000 certificates an hour from one
 * account and under one registered domain pass; an account flood from one
 * address stops at 50 at once (100 at most in any hour). */
static const struct rl_config defaults = {{
    {50, 3600},    /* accounts per address */
    {20000, 3600}, /* orders per account */
    {20000, 0},    /* pending authorizations per account */
    {50000, 3600}, /* certificates per registered domain */
    {100, 86400},  /* duplicate certificates */
    {20, 3600},    /* failed validations per account and name (V7) */
}};

/* letsencrypt.org/docs/rate-limits (2025). */
static const struct rl_config letsencrypt = {{
    {10, 3 * 3600},
    {300, 3 * 3600},
    {300, 0},
    {50, 7 * 86400},
    {5, 7 * 86400},
    {5, 3600},
}};

const char *rl_name(enum rl_kind k)
{
    return k < RL_N ? names[k] : "?";
}

int rl_config_load(struct rl_config *c, const char *spec, char *why, size_t cap)
{
    *c = defaults;
    if (!spec || !strcmp(spec, "default")) return 0;
    if (!strcmp(spec, "letsencrypt")) {
        *c = letsencrypt;
        return 0;
    }
    if (!strcmp(spec, "off")) {
        /* Off, but for the one draft-02 9.3.1 requires (V7): without it a
         * client could have the CA query a victim's zone without end. */
        memset(c, 0, sizeof *c);
        c->l[RL_FAILED_VALIDATIONS] = defaults.l[RL_FAILED_VALIDATIONS];
        return 0;
    }
    FILE *f = fopen(spec, "r");
    if (!f) {
        snprintf(why, cap, "%.300s: cannot open (give default, letsencrypt, off or a file)", spec);
        return -1;
    }
    char line[512];
    int n = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        n++;
        char *h = strchr(line, '#');
        if (h) *h = '\0';
        char name[128], count[32], period[32] = "1s";
        int got = sscanf(line, "%127s %31s %31s", name, count, period);
        if (got <= 0) continue;
        int k = 0;
        while (k < RL_N && strcmp(names[k], name))
            k++;
        char *end;
        long v = got >= 2 ? strtol(count, &end, 10) : -1;
        int64_t p = ca_duration(period, 366LL * 86400);
        if (k == RL_N || got < 2 || *end || v < 0 || v > 100000000 ||
            (k != RL_PENDING_AUTHZ && got < 3) || p < 0) {
            snprintf(why, cap,
                     "%.300s line %d: want NAME COUNT PERIOD (a name such as %s, a count, a "
                     "period such as 3h)",
                     spec, n, names[RL_ORDERS_PER_ACCOUNT]);
            rc = -1;
        } else if (k == RL_FAILED_VALIDATIONS && (v == 0 || p == 0)) {
            /* A count of 0 means no limit elsewhere: not for this one. */
            snprintf(why, cap,
                     "%.300s line %d: %s may change its numbers, not be 0: draft-02 9.3.1 "
                     "requires a limit on failed validations (V7)",
                     spec, n, names[k]);
            rc = -1;
        } else {
            c->l[k].count = v;
            c->l[k].period = k == RL_PENDING_AUTHZ ? 0 : p;
        }
    }
    fclose(f);
    return rc;
}

int rl_gcra(const struct rl_limit *l, int64_t tat, int64_t now, int64_t *next_tat,
            int64_t *retry_ms)
{
    if (l->count <= 0) {
        *next_tat = tat;
        return 1;
    }
    int64_t period = l->period * 1000, step = period / l->count;
    if (step < 1) step = 1;
    int64_t t = (tat > now ? tat : now) + step;
    if (t - now > period) {
        *retry_ms = t - now - period;
        return 0;
    }
    *next_tat = t;
    return 1;
}

void rl_describe(const struct rl_limit *l, enum rl_kind k, char *out, size_t cap)
{
    if (k == RL_PENDING_AUTHZ) {
        snprintf(out, cap, "%s: %ld at a time", names[k], l->count);
        return;
    }
    int64_t p = l->period;
    const char *u = p % 86400 == 0 ? "d" : p % 3600 == 0 ? "h" : p % 60 == 0 ? "m" : "s";
    int64_t d = p % 86400 == 0 ? 86400 : p % 3600 == 0 ? 3600 : p % 60 == 0 ? 60 : 1;
    snprintf(out, cap, "%s: %ld per %lld%s", names[k], l->count, (long long)(p / d), u);
}

int rl_take_all(const struct rl_take *t, size_t n, int64_t now_ms,
                int (*get)(void *ctx, const char *key, int64_t *tat),
                int (*set)(void *ctx, const char *key, int64_t tat), void *ctx, size_t *which,
                int64_t *retry_ms)
{
    for (size_t i = 0; i < n; i++) {
        const struct rl_take *k = &t[i];
        if (k->l->count <= 0) continue;
        int64_t tat = 0, next = 0, retry = 0;
        if (get(ctx, k->key, &tat)) return -1;
        if (!rl_gcra(k->l, tat, now_ms, &next, &retry)) {
            if (k->mode != RL_FORCE) {
                if (which) *which = i;
                if (retry_ms) *retry_ms = retry;
                return 1;
            }
            /* Forced: counted past the limit, one step on. */
            int64_t step_ms = k->l->period * 1000 / k->l->count;
            next = (tat > now_ms ? tat : now_ms) + (step_ms > 0 ? step_ms : 1);
        }
        if (k->mode != RL_PEEK && set(ctx, k->key, next)) return -1;
    }
    return 0;
}
