/* store_sqlite_lease.c: leases, used nonces and the CA's settings (meta) in the
 * SQLite store: what instances sharing a database need, here for one
 * instance (the invariants of store_sqlite.c hold here too). */
#include <stdio.h>
#include <string.h>

#include "store_sqlite.h"

int sqlite_meta_add(struct store *s, const char *key, const char *value, char *out, size_t cap)
{
    if (sq_write1(s, "INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO NOTHING", key,
                  value, NULL) < 0)
        return -1;
    return sqlite_meta_get(s, key, out, cap) == 0 ? 0 : -1;
}

static const char SQL_LEASE[] =
    "INSERT INTO leases(name,owner,until) VALUES(?1,?2,strftime('%s','now')+CAST(?3 AS INTEGER)) "
    "ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, until=excluded.until "
    "WHERE leases.until < strftime('%s','now') OR leases.owner=excluded.owner";

int sqlite_lease_take(struct store *s, const char *name, const char *owner, int seconds)
{
    char sec[16];
    snprintf(sec, sizeof sec, "%d", seconds);
    return sq_write1(s, SQL_LEASE, name, owner, sec);
}

int sqlite_lease_drop(struct store *s, const char *name, const char *owner)
{
    return sq_write1(s, "DELETE FROM leases WHERE name=? AND owner=?", name, owner, NULL) < 0 ? -1
                                                                                              : 0;
}

int sqlite_nonce_use(struct store *s, const char *nonce, int64_t expires)
{
    static unsigned calls; /* spaces out the pruning */
    if (__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) % 1024 == 0)
        sq_write1(s,
                  "DELETE FROM nonces_used WHERE expires < CAST(strftime('%s','now') AS INTEGER)",
                  NULL, NULL, NULL);
    char ex[24];
    snprintf(ex, sizeof ex, "%lld", (long long)expires);
    int rc = sq_write1(s,
                       "INSERT INTO nonces_used(nonce,expires) VALUES(?,CAST(? AS INTEGER)) ON "
                       "CONFLICT(nonce) DO NOTHING",
                       nonce, ex, NULL);
    return rc < 0 ? -1 : rc == 0 ? 1 : 0;
}

/* One instance: answers stay in the VA's memory (a restart leaves them
 * pending, store_sqlite.c), so there is nothing to lease or claim. */
int sqlite_authz_answer(struct store *s, const char *id, const char *type, const char *owner,
                        int seconds)
{
    (void)s, (void)id, (void)type, (void)owner, (void)seconds;
    return 0;
}

long sqlite_authz_claim(struct store *s, const char *owner, int seconds, size_t max,
                        char (*ids)[ST_ID], char (*accounts)[ST_ID], char (*types)[24])
{
    (void)s, (void)owner, (void)seconds, (void)max, (void)ids, (void)accounts, (void)types;
    return 0;
}

static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key=?";
static const char SQL_META_SET[] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)";

struct meta_out {
    char *out;
    size_t cap;
};

static int fill_meta(sqlite3_stmt *st, void *arg)
{
    struct meta_out *m = arg;
    sq_col(st, 0, m->out, m->cap);
    return 0;
}

int sqlite_meta_get(struct store *s, const char *key, char *out, size_t cap)
{
    struct meta_out m = {out, cap};
    return sq_query_one(s, SQL_META_GET, key, fill_meta, &m);
}

int sqlite_meta_set(struct store *s, const char *key, const char *value)
{
    return sq_write1(s, SQL_META_SET, key, value, NULL) < 0 ? -1 : 0;
}
