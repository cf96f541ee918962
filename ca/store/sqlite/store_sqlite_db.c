/*
 * store_sqlite_db.c: the SQLite store's connection helpers, shared by its
 * files (store_sqlite.h): prepared statements kept per connection,
 * transactions (durable when asked), one-row reads, and
 * one-statement writes. They call nothing of the store's other files.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "clock.h"
#include "metrics.h"
#include "store_sqlite.h"

/* The prepared statement for sql (compared by address: each call site passes
 * its own literal), reset and unbound. Called with the mutex held. */
sqlite3_stmt *sq_stmt(struct store *s, const char *sql)
{
    int i = 0;
    for (; i < N_STMTS && s->sql[i]; i++)
        if (s->sql[i] == sql) {
            sqlite3_reset(s->st[i]);
            sqlite3_clear_bindings(s->st[i]);
            return s->st[i];
        }
    if (i == N_STMTS) return NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "dnspersist-ca: store: %s: %s\n", sqlite3_errmsg(s->db), sql);
        return NULL;
    }
    s->sql[i] = sql;
    return s->st[i];
}

/* Steps st once and resets it (invariant 3): SQLITE_DONE, SQLITE_ROW (the
 * row is gone after the reset: use step_row to read one) or an error. */
int sq_step_done(struct store *s, sqlite3_stmt *st, int *changes)
{
    int rc = sqlite3_step(st);
    if (changes) *changes = sqlite3_changes(s->db);
    sqlite3_reset(st);
    return rc;
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

void sq_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

enum st_status sq_col_status(sqlite3_stmt *st, int i)
{
    return st_status_parse((const char *)sqlite3_column_text(st, i));
}

/* Transaction control through cached statements: sqlite3_exec would parse
 * the SQL again at every write. */
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE", SQL_COMMIT[] = "COMMIT",
                  SQL_ROLLBACK[] = "ROLLBACK";

static int tx_stmt(struct store *s, const char *sql)
{
    sqlite3_stmt *st = sq_stmt(s, sql);
    return st && sq_step_done(s, st, NULL) == SQLITE_DONE ? 0 : -1;
}

/* Durability: the database runs with synchronous=NORMAL, whose commits
 * reach the disk at the next checkpoint: a power cut may take the last
 * ones back. A decision a client is told about and must never see undone
 * (a certificate issued, a revocation, a deactivation, a key rollover)
 * commits with synchronous=FULL: the WAL is synced before COMMIT returns,
 * and with it every earlier commit (the WAL is written in order). */
static const char SQL_SYNC_FULL[] = "PRAGMA synchronous=FULL",
                  SQL_SYNC_NORMAL[] = "PRAGMA synchronous=NORMAL";

static int tx_run(struct store *s, int (*body)(struct store *, void *), void *arg, int durable)
{
    double t0 = mono_ms();
    pthread_mutex_lock(&s->mu);
    int rc = durable ? tx_stmt(s, SQL_SYNC_FULL) : 0;
    if (rc == 0) rc = tx_stmt(s, SQL_BEGIN);
    if (rc == 0) {
        rc = body(s, arg);
        if (rc == 0 && tx_stmt(s, SQL_COMMIT)) rc = -1;
        if (rc) tx_stmt(s, SQL_ROLLBACK);
    }
    if (durable) tx_stmt(s, SQL_SYNC_NORMAL);
    pthread_mutex_unlock(&s->mu);
    metrics_db((mono_ms() - t0) / 1e3);
    return rc;
}

/* Runs body in one transaction, under the mutex (invariant 1). body returns
 * 0 to commit, or 1 (nothing applies) or -1 (error) to roll back; that is
 * the result, or -1 when the commit fails. */
int sq_store_tx(struct store *s, int (*body)(struct store *, void *), void *arg)
{
    return tx_run(s, body, arg, 0);
}

/* body under the mutex, with no transaction: for reads only (each
 * statement is then its own consistent snapshot). */
int sq_store_locked(struct store *s, int (*body)(struct store *, void *), void *arg)
{
    double t0 = mono_ms();
    pthread_mutex_lock(&s->mu);
    int rc = body(s, arg);
    pthread_mutex_unlock(&s->mu);
    metrics_db((mono_ms() - t0) / 1e3);
    return rc;
}

/* The same, durable when it returns 0 (synchronous=FULL, above). */
int sq_store_tx_durable(struct store *s, int (*body)(struct store *, void *), void *arg)
{
    return tx_run(s, body, arg, 1);
}

/* Runs sql with one text parameter and hands the first row to fill.
 * 0 found (fill's result), 1 no row, -1 error. Caller holds the mutex. */
static int query_locked(struct store *s, const char *sql, const char *key,
                        int (*fill)(sqlite3_stmt *, void *), void *out)
{
    sqlite3_stmt *st = sq_stmt(s, sql);
    int rc = -1;
    if (st) {
        sq_bind_text(st, 1, key);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? 1 : step == SQLITE_ROW ? fill(st, out) : -1;
        sqlite3_reset(st);
    }
    return rc;
}

int sq_query_one(struct store *s, const char *sql, const char *key,
                 int (*fill)(sqlite3_stmt *, void *), void *out)
{
    pthread_mutex_lock(&s->mu);
    int rc = query_locked(s, sql, key, fill, out);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* One write of up to three text parameters: 0 changed a row, 1 changed
 * none (the expected status was not there), -1 error. */
struct write1 {
    const char *sql, *a, *b, *c;
};

static int write1_body(struct store *s, void *arg)
{
    const struct write1 *w = arg;
    sqlite3_stmt *st = sq_stmt(s, w->sql);
    int changes = 0;
    if (!st) return -1;
    sq_bind_text(st, 1, w->a);
    if (w->b) sq_bind_text(st, 2, w->b);
    if (w->c) sq_bind_text(st, 3, w->c);
    return sq_step_done(s, st, &changes) == SQLITE_DONE ? (changes ? 0 : 1) : -1;
}

int sq_write1(struct store *s, const char *sql, const char *a, const char *b, const char *c)
{
    /* One statement is its own transaction: no BEGIN round trip. */
    struct write1 w = {sql, a, b, c};
    pthread_mutex_lock(&s->mu);
    int rc = write1_body(s, &w);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int sq_write1_durable(struct store *s, const char *sql, const char *a, const char *b, const char *c)
{
    struct write1 w = {sql, a, b, c};
    return tx_run(s, write1_body, &w, 1);
}
