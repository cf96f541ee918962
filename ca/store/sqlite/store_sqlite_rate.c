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
};

static int get_tat(void *ctx, const char *key, int64_t *tat)
{
    struct store *s = ctx;
    sqlite3_stmt *st = sq_stmt(s, SQL_RATE_GET);
    if (!st) return -1;
    sq_bind_text(st, 1, key);
    int step = sqlite3_step(st);
    *tat = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

static int set_tat(void *ctx, const char *key, int64_t tat)
{
    struct store *s = ctx;
    sqlite3_stmt *st = sq_stmt(s, SQL_RATE_SET);
    if (!st) return -1;
    sq_bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, tat);
    return sq_step_done(s, st, NULL) == SQLITE_DONE ? 0 : -1;
}

/* Read, decide and write in one transaction: two requests racing for the
 * last token cannot both have it. */
static int rate_body(struct store *s, void *arg)
{
    struct rate_args *r = arg;
    return rl_take_all(r->t, r->n, r->now, get_tat, set_tat, s, r->which, r->retry);
}

int sq_rate_in_tx(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms, size_t *which,
                  int64_t *retry_ms)
{
    struct rate_args a = {t, n, now_ms, which, retry_ms};
    return rate_body(s, &a);
}

int sqlite_rate_take(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms,
                     size_t *which, int64_t *retry_ms)
{
    size_t w = 0;
    int64_t retry = 0;
    struct rate_args a = {t, n, now_ms, &w, &retry};
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
