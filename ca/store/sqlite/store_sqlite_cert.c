/* store_sqlite_cert.c: certificates and their revocation in the SQLite store
 * (the invariants of store_sqlite.c hold here too). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_sqlite.h"

static const char SQL_CERT_INS[] = "INSERT INTO certs(id,account,ord,serial,pem,issuer,created) "
                                   "VALUES(?,?,?,?,?,?,strftime('%s','now'))";
static const char SQL_ORDER_DONE[] =
    "UPDATE orders SET status='valid', error='', cert=? WHERE id=? AND status IN "
    "('pending','ready')";

struct cert_args {
    const char *id, *account, *order, *serial, *pem, *issuer;
};

/* The certificate and its order's move to valid commit together. */
static int cert_write(struct store *s, void *arg)
{
    const struct cert_args *c = arg;
    sqlite3_stmt *st = sq_stmt(s, SQL_CERT_INS);
    if (!st) return -1;
    sq_bind_text(st, 1, c->id);
    sq_bind_text(st, 2, c->account);
    sq_bind_text(st, 3, c->order);
    sq_bind_text(st, 4, c->serial);
    sq_bind_text(st, 5, c->pem);
    sq_bind_text(st, 6, c->issuer);
    if (sq_step_done(s, st, NULL) != SQLITE_DONE || !(st = sq_stmt(s, SQL_ORDER_DONE))) return -1;
    sq_bind_text(st, 1, c->id);
    sq_bind_text(st, 2, c->order);
    int changes = 0;
    if (sq_step_done(s, st, &changes) != SQLITE_DONE) return -1;
    return changes == 1 ? 0 : 1; /* not pending or ready any more: keep nothing */
}

int sqlite_cert_create(struct store *s, const char *account, const char *order, const char *serial,
                       const char *pem, const char *issuer, char out_id[ST_ID])
{
    if (store_new_id(out_id)) return -1;
    struct cert_args c = {out_id, account, order, serial, pem, issuer};
    return sq_store_tx_durable(s, cert_write, &c); /* served only once it is on disk */
}

static const char SQL_CERT_GET[] =
    "SELECT id,account,serial,pem,revoked,issuer FROM certs WHERE id=?";
static const char SQL_CERT_BY_SERIAL[] =
    "SELECT id,account,serial,pem,revoked,issuer FROM certs WHERE serial=?";

static int fill_cert(sqlite3_stmt *st, void *out)
{
    struct st_cert *c = out;
    sq_col(st, 0, c->id, sizeof c->id);
    sq_col(st, 1, c->account, sizeof c->account);
    sq_col(st, 2, c->serial, sizeof c->serial);
    const unsigned char *pem = sqlite3_column_text(st, 3);
    c->pem = strdup(pem ? (const char *)pem : "");
    c->revoked = sqlite3_column_int(st, 4);
    sq_col(st, 5, c->issuer, sizeof c->issuer);
    return c->pem ? 0 : -1;
}

int sqlite_cert_get(struct store *s, const char *id, struct st_cert *c)
{
    return sq_query_one(s, SQL_CERT_GET, id, fill_cert, c);
}

int sqlite_cert_by_serial(struct store *s, const char *serial, struct st_cert *c)
{
    return sq_query_one(s, SQL_CERT_BY_SERIAL, serial, fill_cert, c);
}

static const char SQL_CERT_REVOKE[] =
    "UPDATE certs SET revoked=1, reason=CAST(? AS INTEGER), revoked_at=strftime('%s','now') "
    "WHERE id=? AND revoked=0";

int sqlite_cert_revoke(struct store *s, const char *id, int reason)
{
    char r[16];
    snprintf(r, sizeof r, "%d", reason);
    return sq_write1_durable(s, SQL_CERT_REVOKE, r, id, NULL);
}

static const char SQL_KEY_COMPROMISED[] =
    "UPDATE certs SET reason=1 WHERE id=? AND revoked=1 AND reason<>1";

int sqlite_cert_key_compromised(struct store *s, const char *id)
{
    return sq_write1_durable(s, SQL_KEY_COMPROMISED, id, NULL, NULL);
}

static const char SQL_KEY_BLOCK[] = "INSERT INTO blocked_keys(thumb,serial,blocked) "
                                    "VALUES(?,?,strftime('%s','now')) ON CONFLICT DO NOTHING";

int sqlite_key_block(struct store *s, const char *thumb, const char *serial)
{
    /* Recorded once: a second report changes nothing, and is no error. */
    return sq_write1_durable(s, SQL_KEY_BLOCK, thumb, serial, NULL) < 0 ? -1 : 0;
}

static const char SQL_KEY_BLOCKED[] = "SELECT 1 FROM blocked_keys WHERE thumb=?";

static int fill_none(sqlite3_stmt *st, void *out)
{
    (void)st;
    (void)out;
    return 0;
}

int sqlite_key_blocked(struct store *s, const char *thumb)
{
    int rc = sq_query_one(s, SQL_KEY_BLOCKED, thumb, fill_none, NULL);
    return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

static const char SQL_REVOKED[] =
    "SELECT serial, revoked_at, reason, issuer FROM certs WHERE revoked=1 ORDER BY rowid";

int sqlite_certs_revoked(struct store *s, st_revoked_fn each, void *arg)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = sq_stmt(s, SQL_REVOKED);
    int rc = st ? 0 : -1, step = SQLITE_DONE;
    while (st && rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = each(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
                  sqlite3_column_int(st, 2), (const char *)sqlite3_column_text(st, 3));
    if (st && step != SQLITE_DONE && step != SQLITE_ROW) rc = -1;
    if (st) sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
