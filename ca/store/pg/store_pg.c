/*
 * store_pg.c: the PostgreSQL store (--database postgresql://...): the
 * connection pool, the schema, accounts and the CA's settings. Several
 * dnspersist-ca instances may share one database, so nothing here is
 * cached and every status change is a compare-and-set in SQL (an UPDATE
 * ... WHERE status=...; PostgreSQL re-checks the condition on a row another
 * transaction changed meanwhile), every multi-row change one transaction.
 *
 * The SQL keeps to what PostgreSQL-wire engines (CockroachDB, YugabyteDB)
 * also accept, but for pg_advisory_lock (schema migration at start-up),
 * which docs/SCALE-OUT.md lists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg.h"

/* Numbered migrations, as the SQLite store's: only ever append. Version 1
 * is the shape of the SQLite schema version 9, with sequence columns where
 * SQLite used its rowid (orders listed by creation, revocations in order). */
static const char *const migrations[] = {
    "CREATE TABLE accounts(id TEXT PRIMARY KEY, status TEXT NOT NULL, jwk TEXT NOT NULL,"
    " thumb TEXT NOT NULL UNIQUE, contact TEXT NOT NULL, did_persist INTEGER NOT NULL DEFAULT 0,"
    " created BIGINT NOT NULL);"
    "CREATE TABLE account_keys(seq BIGSERIAL PRIMARY KEY, account TEXT NOT NULL REFERENCES"
    " accounts(id), thumb TEXT NOT NULL);"
    "CREATE INDEX account_keys_by_account ON account_keys(account, seq);"
    "CREATE TABLE orders(seq BIGSERIAL UNIQUE, id TEXT PRIMARY KEY, account TEXT NOT NULL,"
    " status TEXT NOT NULL, expires BIGINT NOT NULL, identifiers TEXT NOT NULL,"
    " authzs TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', cert TEXT NOT NULL DEFAULT '',"
    " replaces TEXT NOT NULL DEFAULT '', profile TEXT NOT NULL DEFAULT 'classic');"
    "CREATE INDEX orders_by_account ON orders(account, seq);"
    "CREATE TABLE authzs(id TEXT PRIMARY KEY, account TEXT NOT NULL, ord TEXT NOT NULL,"
    " identifier TEXT NOT NULL, wildcard INTEGER NOT NULL, status TEXT NOT NULL,"
    " expires BIGINT NOT NULL, token TEXT NOT NULL, ch_type TEXT NOT NULL DEFAULT '',"
    " ch_status TEXT NOT NULL DEFAULT 'pending', ch_validated BIGINT NOT NULL DEFAULT 0,"
    " ch_error TEXT NOT NULL DEFAULT '', perspectives TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX authzs_by_account ON authzs(account, identifier);"
    "CREATE INDEX authzs_pending ON authzs(account) WHERE status='pending';"
    "CREATE TABLE certs(seq BIGSERIAL UNIQUE, id TEXT PRIMARY KEY, account TEXT NOT NULL,"
    " ord TEXT NOT NULL, serial TEXT NOT NULL UNIQUE, pem TEXT NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0, reason INTEGER NOT NULL DEFAULT 0,"
    " revoked_at BIGINT NOT NULL DEFAULT 0, replaced_by TEXT NOT NULL DEFAULT '',"
    " created BIGINT NOT NULL);"
    "CREATE INDEX certs_revoked ON certs(revoked) WHERE revoked=1;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE rate_limits(key TEXT PRIMARY KEY, tat BIGINT NOT NULL);",
    /* 2: leases (single jobs, finalization) and used nonces, shared by
     * the instances. */
    "CREATE TABLE leases(name TEXT PRIMARY KEY, owner TEXT NOT NULL, until BIGINT NOT NULL);"
    "CREATE TABLE nonces_used(nonce TEXT PRIMARY KEY, expires BIGINT NOT NULL);"
    "CREATE INDEX nonces_used_expires ON nonces_used(expires);",
    /* 3: answered challenges leased to the instance validating them. */
    "ALTER TABLE authzs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE authzs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;"
    "CREATE INDEX authzs_processing ON authzs(lease_until) WHERE ch_status='processing';",
    /* 4: keys reported compromised (store.h). */
    ("CREATE TABLE blocked_keys(thumb TEXT PRIMARY KEY, serial TEXT NOT NULL,"
     " blocked BIGINT NOT NULL);"),
    /* 5: which intermediate signed each certificate (pki.h: issuers). */
    "ALTER TABLE certs ADD COLUMN issuer TEXT NOT NULL DEFAULT '';",
};
#define PG_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))
/* Any constant: instances starting together take turns at migrating. */
#define PG_MIGRATION_LOCK 7260148203917

#define P(s) ((struct pg_store *)(void *)(s))

static void pg_close(struct store *s)
{
    struct pg_store *p = P(s);
    if (!p) return;
    for (size_t i = 0; i < p->n; i++)
        PQfinish(p->conns[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

/* The schema, created or migrated under an advisory lock. */
static int migrate(PGconn *c, char *why, size_t cap)
{
    char lock[64];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%lld)", (long long)PG_MIGRATION_LOCK);
    PGresult *r = PQexec(c, lock);
    int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok) {
        snprintf(why, cap, "cannot take the migration lock: %s", PQerrorMessage(c));
        return -1;
    }
    PQclear(PQexec(c, "CREATE TABLE IF NOT EXISTS dnspersist_schema(version INTEGER NOT NULL)"));
    r = PQexec(c, "SELECT version FROM dnspersist_schema");
    int v =
        r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    int rc = r && PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    PQclear(r);
    if (rc) snprintf(why, cap, "cannot read the schema version: %s", PQerrorMessage(c));
    if (!rc && v > PG_SCHEMA_VERSION) {
        snprintf(why, cap,
                 "the database holds schema version %d, newer than this dnspersist-ca's %d: "
                 "run the newer binary",
                 v, PG_SCHEMA_VERSION);
        rc = -1;
    }
    int from = v;
    for (; !rc && v < PG_SCHEMA_VERSION; v++) {
        char set[128];
        snprintf(set, sizeof set,
                 v ? "UPDATE dnspersist_schema SET version=%d"
                   : "INSERT INTO dnspersist_schema(version) VALUES(%d)",
                 v + 1);
        PGresult *a = PQexec(c, "BEGIN"), *b = a ? PQexec(c, migrations[v]) : NULL,
                 *d = b && PQresultStatus(b) == PGRES_COMMAND_OK ? PQexec(c, set) : NULL,
                 *e = d && PQresultStatus(d) == PGRES_COMMAND_OK ? PQexec(c, "COMMIT") : NULL;
        if (!e || PQresultStatus(e) != PGRES_COMMAND_OK) {
            snprintf(why, cap, "migration to schema version %d: %s", v + 1, PQerrorMessage(c));
            PQclear(PQexec(c, "ROLLBACK"));
            rc = -1;
        }
        PQclear(a), PQclear(b), PQclear(d), PQclear(e);
    }
    if (!rc && from > 0 && from < PG_SCHEMA_VERSION) {
        char msg[160], f[16], t[16];
        snprintf(msg, sizeof msg, "migrated %d\u2192%d (PostgreSQL: pg_dump before an upgrade)",
                 from, PG_SCHEMA_VERSION);
        snprintf(f, sizeof f, "%d", from);
        snprintf(t, sizeof t, "%d", PG_SCHEMA_VERSION);
        log_event(LOG_WARN, "migrated", "#from", f, "#to", t, "msg", msg, NULL);
    }
    snprintf(lock, sizeof lock, "SELECT pg_advisory_unlock(%lld)", (long long)PG_MIGRATION_LOCK);
    PQclear(PQexec(c, lock));
    return rc;
}

/* ---- accounts ---- */

static const char SQL_ACCT_COLS[] = "SELECT id,status,jwk,thumb,contact,did_persist FROM accounts ";

static int one_account(struct store *s, const char *where, const char *key, struct st_account *a)
{
    char sql[200];
    snprintf(sql, sizeof sql, "%s%s", SQL_ACCT_COLS, where);
    PGconn *c = pg_take(P(s));
    PGresult *r = pg_run(c, sql, 1, &key);
    int rc = r && PQresultStatus(r) == PGRES_TUPLES_OK ? (PQntuples(r) ? 0 : 1) : -1;
    if (rc == 0) {
        pg_col(r, 0, 0, a->id, sizeof a->id);
        a->status = pg_col_status(r, 0, 1);
        pg_col(r, 0, 2, a->jwk, sizeof a->jwk);
        pg_col(r, 0, 3, a->thumb, sizeof a->thumb);
        pg_col(r, 0, 4, a->contact, sizeof a->contact);
        a->did_persist = atoi(PQgetvalue(r, 0, 5));
    }
    PQclear(r);
    pg_give(P(s), c);
    return rc;
}

static int pg_account_get(struct store *s, const char *id, struct st_account *out)
{
    return one_account(s, "WHERE id=$1", id, out);
}

static int pg_account_by_thumb(struct store *s, const char *thumb, struct st_account *out)
{
    return one_account(s, "WHERE thumb=$1", thumb, out);
}

/* The account row written (insert, or its new key) and the thumbprint
 * added to the history (A6), in one transaction. */
static int key_write(struct store *s, const char *sql, const char *const *params, int n,
                     const char *id, const char *thumb)
{
    PGconn *c = pg_take(P(s));
    long rows = pg_begin(c) ? -1 : pg_exec(c, sql, n, params);
    const char *kp[] = {id, thumb};
    int rc = rows == -2 || rows == 0 ? 1 /* key taken, or not valid */ : rows < 0 ? -1 : 0;
    if (rc == 0 && pg_exec(c, "INSERT INTO account_keys(account,thumb) VALUES($1,$2)", 2, kp) != 1)
        rc = -1;
    if (rc == 0 && pg_commit(c)) rc = -1;
    if (rc) pg_rollback(c);
    pg_give(P(s), c);
    return rc;
}

static int pg_account_create(struct store *s, const char *jwk, const char *thumb,
                             const char *contact, struct st_account *out)
{
    char id[ST_ID];
    if (store_new_id(id)) return -1;
    const char *p[] = {id, jwk, thumb, contact};
    int rc =
        key_write(s,
                  "INSERT INTO accounts(id,status,jwk,thumb,contact,created) VALUES($1,'valid',"
                  "$2,$3,$4,extract(epoch from now())::bigint)",
                  p, 4, id, thumb);
    return rc ? rc : pg_account_get(s, id, out);
}

static int pg_account_rollover(struct store *s, const char *id, const char *jwk, const char *thumb)
{
    const char *p[] = {jwk, thumb, id};
    return key_write(s, "UPDATE accounts SET jwk=$1, thumb=$2 WHERE id=$3 AND status='valid'", p, 3,
                     id, thumb);
}

/* One UPDATE: 0 changed a row, 1 none (not in the expected status), -1. */
static int write1(struct store *s, const char *sql, int n, const char *const *params)
{
    PGconn *c = pg_take(P(s));
    long rows = pg_exec(c, sql, n, params);
    pg_give(P(s), c);
    return rows < 0 ? -1 : rows ? 0 : 1;
}

static int pg_account_set_contact(struct store *s, const char *id, const char *contact)
{
    const char *p[] = {contact, id};
    return write1(s, "UPDATE accounts SET contact=$1 WHERE id=$2 AND status='valid'", 2, p);
}

static int pg_account_deactivate(struct store *s, const char *id, const char *order_error)
{
    PGconn *c = pg_take(P(s));
    long rows = pg_begin(c) ? -1
                            : pg_exec(c,
                                      "UPDATE accounts SET status='deactivated' WHERE id=$1 AND "
                                      "status='valid'",
                                      1, &id);
    int rc = rows < 0 ? -1 : rows ? 0 : 1;
    const char *p[] = {id, order_error};
    if (rc == 0 &&
        (pg_exec(c, "UPDATE authzs SET status='deactivated' WHERE account=$1 AND status='pending'",
                 1, p) < 0 ||
         pg_exec(c,
                 "UPDATE orders SET status='invalid', error=$2 WHERE account=$1 AND status IN "
                 "('pending','ready')",
                 2, p) < 0))
        rc = -1;
    if (rc == 0 && pg_commit(c)) rc = -1;
    if (rc) pg_rollback(c);
    pg_give(P(s), c);
    return rc;
}

static int pg_account_mark_persist(struct store *s, const char *id)
{
    return write1(s, "UPDATE accounts SET did_persist=1 WHERE id=$1", 1, &id);
}

static size_t pg_account_keys(struct store *s, const char *id, char (**out)[48])
{
    *out = NULL;
    PGconn *c = pg_take(P(s));
    PGresult *r =
        pg_run(c, "SELECT thumb FROM account_keys WHERE account=$1 ORDER BY seq DESC", 1, &id);
    size_t n = r && PQresultStatus(r) == PGRES_TUPLES_OK ? (size_t)PQntuples(r) : 0;
    if (n && (*out = calloc(n, sizeof **out)))
        for (size_t i = 0; i < n; i++)
            pg_col(r, (int)i, 0, (*out)[i], 48);
    else
        n = 0;
    PQclear(r);
    pg_give(P(s), c);
    return n;
}

static int pg_meta_get(struct store *s, const char *key, char *out, size_t cap)
{
    PGconn *c = pg_take(P(s));
    PGresult *r = pg_run(c, "SELECT value FROM meta WHERE key=$1", 1, &key);
    int rc = r && PQresultStatus(r) == PGRES_TUPLES_OK ? (PQntuples(r) ? 0 : 1) : -1;
    if (rc == 0) pg_col(r, 0, 0, out, cap);
    PQclear(r);
    pg_give(P(s), c);
    return rc;
}

static int pg_meta_set(struct store *s, const char *key, const char *value)
{
    const char *p[] = {key, value};
    return write1(s,
                  "INSERT INTO meta(key,value) VALUES($1,$2) ON CONFLICT(key) DO UPDATE SET "
                  "value=excluded.value",
                  2, p) < 0
               ? -1
               : 0;
}

static int pg_meta_add(struct store *s, const char *key, const char *value, char *out, size_t cap)
{
    const char *p[] = {key, value};
    if (write1(s, "INSERT INTO meta(key,value) VALUES($1,$2) ON CONFLICT(key) DO NOTHING", 2, p) <
        0)
        return -1;
    return pg_meta_get(s, key, out, cap) == 0 ? 0 : -1;
}

static int pg_lease_take(struct store *s, const char *name, const char *owner, int seconds)
{
    char sec[16];
    snprintf(sec, sizeof sec, "%d", seconds);
    const char *p[] = {name, owner, sec};
    return write1(
        s,
        "INSERT INTO leases(name,owner,until) VALUES($1,$2,extract(epoch from "
        "now())::bigint+$3::bigint) ON CONFLICT(name) DO UPDATE SET owner=excluded.owner, "
        "until=excluded.until WHERE leases.until < extract(epoch from now())::bigint OR "
        "leases.owner=excluded.owner",
        3, p);
}

static int pg_lease_drop(struct store *s, const char *name, const char *owner)
{
    const char *p[] = {name, owner};
    return write1(s, "DELETE FROM leases WHERE name=$1 AND owner=$2", 2, p) < 0 ? -1 : 0;
}

static int pg_nonce_use(struct store *s, const char *nonce, int64_t expires)
{
    static unsigned calls; /* spaces out the pruning */
    if (__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) % 1024 == 0)
        write1(s, "DELETE FROM nonces_used WHERE expires < extract(epoch from now())::bigint", 0,
               NULL);
    char ex[24];
    snprintf(ex, sizeof ex, "%lld", (long long)expires);
    const char *p[] = {nonce, ex};
    int rc = write1(s,
                    "INSERT INTO nonces_used(nonce,expires) VALUES($1,$2) ON CONFLICT(nonce) DO "
                    "NOTHING",
                    2, p);
    return rc < 0 ? -1 : rc == 0 ? 1 : 0;
}

static int pg_authz_answer(struct store *s, const char *id, const char *type, const char *owner,
                           int seconds)
{
    char sec[16];
    snprintf(sec, sizeof sec, "%d", seconds);
    const char *p[] = {id, type, owner, sec};
    return write1(s,
                  "UPDATE authzs SET ch_type=$2, ch_status='processing', lease_owner=$3, "
                  "lease_until=extract(epoch from now())::bigint+$4::bigint WHERE id=$1 AND "
                  "status='pending' AND ch_status='pending'",
                  4, p);
}

/* SKIP LOCKED: instances sweeping at once each take different rows. */
static long pg_authz_claim(struct store *s, const char *owner, int seconds, size_t max,
                           char (*ids)[ST_ID], char (*accounts)[ST_ID], char (*types)[24])
{
    char sec[16], lim[16];
    snprintf(sec, sizeof sec, "%d", seconds);
    snprintf(lim, sizeof lim, "%zu", max);
    const char *p[] = {owner, sec, lim};
    PGconn *c = pg_take(P(s));
    PGresult *r = pg_run(c,
                         "UPDATE authzs SET lease_owner=$1, lease_until=extract(epoch from "
                         "now())::bigint+$2::bigint WHERE id IN (SELECT id FROM authzs WHERE "
                         "ch_status='processing' AND status='pending' AND lease_until < "
                         "extract(epoch from now())::bigint LIMIT $3 FOR UPDATE SKIP LOCKED) "
                         "RETURNING id, account, ch_type",
                         3, p);
    long n = r && PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;
    for (long i = 0; i < n && (size_t)i < max; i++) {
        pg_col(r, (int)i, 0, ids[i], ST_ID);
        pg_col(r, (int)i, 1, accounts[i], ST_ID);
        pg_col(r, (int)i, 2, types[i], 24);
    }
    PQclear(r);
    pg_give(P(s), c);
    return n;
}

static const struct store_ops pg_ops = {
    .authz_answer = pg_authz_answer,
    .authz_claim = pg_authz_claim,
    .shared = 1,
    .meta_add = pg_meta_add,
    .lease_take = pg_lease_take,
    .lease_drop = pg_lease_drop,
    .nonce_use = pg_nonce_use,
    .close = pg_close,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .account_create = pg_account_create,
    .account_get = pg_account_get,
    .account_by_thumb = pg_account_by_thumb,
    .account_set_contact = pg_account_set_contact,
    .account_deactivate = pg_account_deactivate,
    .account_mark_persist = pg_account_mark_persist,
    .account_rollover = pg_account_rollover,
    .account_keys = pg_account_keys,
    .order_create = pg_order_create,
    .order_get = pg_order_get,
    .order_invalidate = pg_order_invalidate,
    .authz_get = pg_authz_get,
    .authz_finish = pg_authz_finish,
    .authz_deactivate = pg_authz_deactivate,
    .authz_covers = pg_authz_covers,
    .cert_create = pg_cert_create,
    .cert_get = pg_cert_get,
    .cert_by_serial = pg_cert_by_serial,
    .cert_revoke = pg_cert_revoke,
    .cert_key_compromised = pg_cert_key_compromised,
    .key_block = pg_key_block,
    .key_blocked = pg_key_blocked,
    .certs_revoked = pg_certs_revoked,
    .rate_take = pg_rate_take,
    .orders_list = pg_orders_list,
    .authz_pending = pg_authz_pending,
};

struct store *store_pg_open(const char *url, char *why, size_t cap)
{
    struct pg_store *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    p->base.ops = &pg_ops;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (; p->n < PG_POOL; p->n++) {
        PGconn *c = PQconnectdb(url);
        p->conns[p->n] = c;
        if (!c || PQstatus(c) != CONNECTION_OK) {
            /* The URI may hold a password: name the server, not the URI. */
            snprintf(why, cap, "cannot connect to PostgreSQL at %s:%s/%s: %s", c ? PQhost(c) : "?",
                     c ? PQport(c) : "?", c ? PQdb(c) : "?",
                     c ? PQerrorMessage(c) : "out of memory");
            p->n++;
            pg_close((struct store *)(void *)p);
            return NULL;
        }
        pg_prepare_on(c); /* on failure its statements run unprepared */
    }
    PGresult *r = PQexec(p->conns[0], "SET client_min_messages TO warning");
    PQclear(r);
    if (migrate(p->conns[0], why, cap)) {
        pg_close((struct store *)(void *)p);
        return NULL;
    }
    /* "processing" rows are leased (store_authz_answer): an instance that
     * died mid-validation leaves them to the others' sweep, never reset. */
    return (struct store *)(void *)p;
}
