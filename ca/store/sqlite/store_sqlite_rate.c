/* store_sqlite_rate.c: rate limit state in the SQLite store (the
 * invariants of store_sqlite.c hold here too). */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "ratelimit.h"
#include "store_sqlite.h"

static const char SQL_RATE_GET[] = "SELECT tat FROM rate_limits WHERE key=?";
static const char SQL_RATE_SET[] =
    "INSERT INTO rate_limits(key,tat) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET tat=excluded.tat";

struct rate_args {
    const struct rl_take *t;
    size_t n;
    int64_t now;
    size_t *which;
    int64_t *retry;
    int writes;
};

/* Read, decide and write in one transaction: two requests racing for the
 * last token cannot both have it. */
static int rate_body(struct store *s, void *arg)
{
    struct rate_args *r = arg;
    for (size_t i = 0; i < r->n; i++) {
        const struct rl_take *t = &r->t[i];
        if (t->l->count <= 0) continue;
        sqlite3_stmt *st = sq_stmt(s, SQL_RATE_GET);
        if (!st) return -1;
        sq_bind_text(st, 1, t->key);
        int step = sqlite3_step(st);
        int64_t tat = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0, next = 0, retry = 0;
        sqlite3_reset(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE) return -1;
        if (!rl_gcra(t->l, tat, r->now, &next, &retry)) {
            if (t->mode != RL_FORCE) {
                *r->which = i;
                *r->retry = retry;
                return 1;
            }
            int64_t step_ms = t->l->period * 1000 / t->l->count;
            next = (tat > r->now ? tat : r->now) + (step_ms > 0 ? step_ms : 1);
        }
        if (t->mode == RL_PEEK) continue;
        if (!(st = sq_stmt(s, SQL_RATE_SET))) return -1;
        sq_bind_text(st, 1, t->key);
        sqlite3_bind_int64(st, 2, next);
        if (sq_step_done(s, st, NULL) != SQLITE_DONE) return -1;
        r->writes++;
    }
    return 0;
}

int sq_rate_in_tx(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms, size_t *which,
                  int64_t *retry_ms)
{
    struct rate_args a = {t, n, now_ms, which, retry_ms, 0};
    return rate_body(s, &a);
}

int sqlite_rate_take(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms,
                     size_t *which, int64_t *retry_ms)
{
    size_t w = 0;
    int64_t retry = 0;
    struct rate_args a = {t, n, now_ms, &w, &retry, 0};
    int peeks = 1;
    for (size_t i = 0; i < n; i++)
        peeks &= t[i].mode == RL_PEEK;
    /* Only looking (V7 before every validation): no write lock needed. */
    int rc = peeks ? sq_store_locked(s, rate_body, &a) : sq_store_tx(s, rate_body, &a);
    if (which) *which = w;
    if (retry_ms) *retry_ms = retry;
    return rc;
}

static const char SQL_PENDING[] =
    "SELECT count(*) FROM authzs WHERE account=? AND status='pending'";

static int fill_count(sqlite3_stmt *st, void *out)
{
    *(long *)out = (long)sqlite3_column_int64(st, 0);
    return 0;
}

long sqlite_authz_pending(struct store *s, const char *account)
{
    long n = 0;
    return sq_query_one(s, SQL_PENDING, account, fill_count, &n) == 0 ? n : -1;
}
