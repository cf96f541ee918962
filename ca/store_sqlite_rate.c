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
    const char *key;
    const struct rl_limit *l;
    int64_t now;
    int peek;
    int64_t *retry;
};

/* Read, decide and write in one transaction: two requests racing for the
 * last token cannot both have it. */
static int rate_body(struct store *s, void *arg)
{
    struct rate_args *r = arg;
    sqlite3_stmt *st = sq_stmt(s, SQL_RATE_GET);
    if (!st) return -1;
    sq_bind_text(st, 1, r->key);
    int step = sqlite3_step(st);
    int64_t tat = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) return -1;
    int64_t next = 0;
    if (!rl_gcra(r->l, tat, r->now, &next, r->retry)) return 1;
    if (r->peek) return 1; /* allowed, nothing to write: roll back the empty transaction */
    if (!(st = sq_stmt(s, SQL_RATE_SET))) return -1;
    sq_bind_text(st, 1, r->key);
    sqlite3_bind_int64(st, 2, next);
    return sq_step_done(s, st, NULL) == SQLITE_DONE ? 0 : -1;
}

int store_rate_take(struct store *s, const char *key, const struct rl_limit *l, int64_t now_ms,
                    int peek, int64_t *retry_ms)
{
    int64_t retry = 0;
    if (l->count <= 0) return 0;
    struct rate_args a = {key, l, now_ms, peek, &retry};
    int rc = sq_store_tx(s, rate_body, &a);
    if (rc == 1 && peek && !retry) return 0; /* the peek's own roll back */
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

long store_authz_pending(struct store *s, const char *account)
{
    long n = 0;
    return sq_query_one(s, SQL_PENDING, account, fill_count, &n) == 0 ? n : -1;
}
