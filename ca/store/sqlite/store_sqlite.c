/*
 * store_sqlite.c: the store interface of store.h on SQLite (the only file
 * that includes sqlite3.h). WAL with synchronous=NORMAL: a committed order
 * survives a crash of the process; statements are prepared once and kept
 * (SQLITE_PREPARE_PERSISTENT), which is most of what makes a certificate
 * cheap. One mutex serializes the connection.
 *
 * Invariants:
 *   1. Every multi-row change is one transaction (store_tx), so a crash
 *      never leaves half an order or a certificate without its order.
 *   2. A status changes only from the status it is expected to have
 *      (UPDATE ... WHERE id = ? AND status IN (...)): a late or racing
 *      writer changes nothing and is told so (1), never overwrites.
 *   3. Every statement is reset after use, so no read holds a WAL snapshot
 *      and checkpoints can run.
 *   4. No rows are kept here: the row caches are a layer over any backend
 *      (store_cache.c), put in front of this one by store.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "clock.h"
#include "dnspersist/dnspersist.h"
#include "log.h"
#include "metrics.h"
#include "store_sqlite.h"

/* Numbered migrations: migrations[i] takes the schema from version i to
 * i + 1 (PRAGMA user_version). Only ever append. Version 1 is idempotent
 * (IF NOT EXISTS) because data directories from before versioning hold its
 * tables at user_version 0. */
static const char *const migrations[] = {
    "CREATE TABLE IF NOT EXISTS accounts(id TEXT PRIMARY KEY, status TEXT NOT NULL,"
    " jwk TEXT NOT NULL, thumb TEXT NOT NULL UNIQUE, contact TEXT NOT NULL,"
    " did_persist INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS account_keys(account TEXT NOT NULL REFERENCES accounts(id),"
    " thumb TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT);"
    "CREATE INDEX IF NOT EXISTS account_keys_by_account ON account_keys(account, seq);"
    "CREATE TABLE IF NOT EXISTS orders(id TEXT PRIMARY KEY, account TEXT NOT NULL,"
    " status TEXT NOT NULL, expires INTEGER NOT NULL, identifiers TEXT NOT NULL,"
    " authzs TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', cert TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS authzs(id TEXT PRIMARY KEY, account TEXT NOT NULL,"
    " ord TEXT NOT NULL, identifier TEXT NOT NULL, wildcard INTEGER NOT NULL,"
    " status TEXT NOT NULL, expires INTEGER NOT NULL, token TEXT NOT NULL,"
    " ch_type TEXT NOT NULL DEFAULT '', ch_status TEXT NOT NULL DEFAULT 'pending',"
    " ch_validated INTEGER NOT NULL DEFAULT 0, ch_error TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS certs(id TEXT PRIMARY KEY, account TEXT NOT NULL,"
    " ord TEXT NOT NULL, serial TEXT NOT NULL UNIQUE, pem TEXT NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0, reason INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);",
    /* 2: revocation by an authorized account looks up its authorizations. */
    "CREATE INDEX IF NOT EXISTS authzs_by_account ON authzs(account, identifier);",
    /* 3: what must not change under published records: the external URL
     * (account URLs) and the accountHashPrefix. */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 4: the CRL needs each revocation's date. */
    "ALTER TABLE certs ADD COLUMN revoked_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX certs_revoked ON certs(revoked) WHERE revoked=1;",
    /* 5: RFC 9773 replacement orders. */
    "ALTER TABLE orders ADD COLUMN replaces TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE certs ADD COLUMN replaced_by TEXT NOT NULL DEFAULT '';",
    /* 6: rate limits (one GCRA arrival time per key) and the count of an
     * account's pending authorizations. */
    "CREATE TABLE rate_limits(key TEXT PRIMARY KEY, tat INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX authzs_pending ON authzs(account) WHERE status='pending';",
    /* 7: an account's orders list (RFC 8555 7.1.2.1), by rowid. */
    "CREATE INDEX orders_by_account ON orders(account);",
    /* 8: certificate profiles; orders from before are classic. */
    "ALTER TABLE orders ADD COLUMN profile TEXT NOT NULL DEFAULT 'classic';",
    /* 9: MPIC: which perspectives agreed with a validation. */
    "ALTER TABLE authzs ADD COLUMN perspectives TEXT NOT NULL DEFAULT '';",
    /* 10: what instances sharing a database need (store.h): leases and
     * used nonces. */
    "CREATE TABLE leases(name TEXT PRIMARY KEY, owner TEXT NOT NULL, until INTEGER NOT NULL);"
    "CREATE TABLE nonces_used(nonce TEXT PRIMARY KEY, expires INTEGER NOT NULL);",
    /* 11: keys reported compromised (revoked with keyCompromise, or by the
     * certificate's own key): never certified or used for an account again. */
    ("CREATE TABLE blocked_keys(thumb TEXT PRIMARY KEY, serial TEXT NOT NULL,"
     " blocked INTEGER NOT NULL) WITHOUT ROWID;"),
    /* 12: several intermediates (an RSA one, a rollover's next): which
     * signed each certificate, for its chain and its CRL. */
    "ALTER TABLE certs ADD COLUMN issuer TEXT NOT NULL DEFAULT '';",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* Validation in progress is not stored (va.c holds it); data from earlier
 * versions may hold challenges left processing by a stop: they are pending
 * again, to be answered anew. */
static const char startup[] =
    "UPDATE authzs SET ch_type='', ch_status='pending' WHERE status='pending' AND "
    "ch_status='processing';";

/* Before an upgrade, a copy of the database as it is (VACUUM INTO: a
 * consistent snapshot, WAL included) beside it, named for the version it
 * holds and the time: an upgrade that goes wrong, or a binary rolled back,
 * still has the data it can read. */
static int backup(sqlite3 *db, int v, char *path, size_t pcap, char *why, size_t cap)
{
    const char *file = sqlite3_db_filename(db, "main");
    if (!file || !*file) return 0; /* in memory: nothing to keep */
    snprintf(path, pcap, "%s.v%d-%lld.bak", file, v, (long long)time(NULL));
    char *sql = sqlite3_mprintf("VACUUM INTO %Q", path);
    char *msg = NULL;
    int rc = sql ? sqlite3_exec(db, sql, NULL, NULL, &msg) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK)
        snprintf(why, cap, "before migrating schema %d: cannot copy the database to %s: %s", v,
                 path, msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return rc == SQLITE_OK ? 0 : -1;
}

static int migrate(sqlite3 *db, char *why, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (v < 0) {
        snprintf(why, cap, "cannot read the schema version: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (v > SCHEMA_VERSION) {
        snprintf(why, cap,
                 "the database has schema version %d, newer than this dnspersist-ca knows (%d): "
                 "run the newer version, or restore a backup",
                 v, SCHEMA_VERSION);
        return -1;
    }
    int from = v;
    char copy[1100] = "";
    if (v > 0 && v < SCHEMA_VERSION && backup(db, v, copy, sizeof copy, why, cap)) return -1;
    for (; v < SCHEMA_VERSION; v++) {
        char set[64], *msg = NULL;
        snprintf(set, sizeof set, "PRAGMA user_version=%d;", v + 1);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, set, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(why, cap, "migration to schema version %d: %s", v + 1,
                     msg ? msg : sqlite3_errmsg(db));
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    if (from > 0 && from < SCHEMA_VERSION) {
        char msg[1200], f[16], t[16];
        snprintf(msg, sizeof msg, "migrated %d\u2192%d; the database from before is %s", from,
                 SCHEMA_VERSION, copy);
        snprintf(f, sizeof f, "%d", from);
        snprintf(t, sizeof t, "%d", SCHEMA_VERSION);
        log_event(LOG_WARN, "migrated", "#from", f, "#to", t, "copy", copy, "msg", msg, NULL);
    }
    return 0;
}

/* The WAL's bound: a checkpoint every 1000 pages (4 MB) written, and the
 * file cut back to 16 MB after one (else it keeps its largest size). A
 * checkpoint can only finish while no read is open, which holds because
 * every statement is reset after use (invariant 3). */
#define WAL_BOUND "PRAGMA wal_autocheckpoint=1000; PRAGMA journal_size_limit=16777216;"

static const struct store_ops sqlite_ops = {
    .shared = 0,
    .meta_add = sqlite_meta_add,
    .lease_take = sqlite_lease_take,
    .lease_drop = sqlite_lease_drop,
    .nonce_use = sqlite_nonce_use,
    .authz_answer = sqlite_authz_answer,
    .authz_claim = sqlite_authz_claim,
    .close = sqlite_close,
    .meta_get = sqlite_meta_get,
    .meta_set = sqlite_meta_set,
    .account_create = sqlite_account_create,
    .account_get = sqlite_account_get,
    .account_by_thumb = sqlite_account_by_thumb,
    .account_set_contact = sqlite_account_set_contact,
    .account_deactivate = sqlite_account_deactivate,
    .account_mark_persist = sqlite_account_mark_persist,
    .account_rollover = sqlite_account_rollover,
    .account_keys = sqlite_account_keys,
    .order_create = sqlite_order_create,
    .order_get = sqlite_order_get,
    .order_invalidate = sqlite_order_invalidate,
    .authz_get = sqlite_authz_get,
    .authz_finish = sqlite_authz_finish,
    .authz_deactivate = sqlite_authz_deactivate,
    .authz_covers = sqlite_authz_covers,
    .cert_create = sqlite_cert_create,
    .cert_get = sqlite_cert_get,
    .cert_by_serial = sqlite_cert_by_serial,
    .cert_revoke = sqlite_cert_revoke,
    .cert_key_compromised = sqlite_cert_key_compromised,
    .key_block = sqlite_key_block,
    .key_blocked = sqlite_key_blocked,
    .certs_revoked = sqlite_certs_revoked,
    .rate_take = sqlite_rate_take,
    .orders_list = sqlite_orders_list,
    .authz_pending = sqlite_authz_pending,
};

struct store *store_sqlite_open(const char *path, char *why, size_t cap)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->mu, NULL);
    char *msg = NULL, m[400] = "";
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
        sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "PRAGMA foreign_keys=ON;" WAL_BOUND,
                     NULL, NULL, &msg) != SQLITE_OK ||
        migrate(s->db, m, sizeof m) ||
        sqlite3_exec(s->db, startup, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(why, cap, "%s: %s", path, m[0] ? m : msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        sqlite_close(s);
        return NULL;
    }
    return s;
}

void sqlite_close(struct store *s)
{
    if (!s) return;
    for (int i = 0; i < N_STMTS; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
