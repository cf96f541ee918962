/* store_sqlite.h: what the files of the SQLite store share (not a public
 * interface: the rest of the server sees store.h only). */
#ifndef CA_STORE_SQLITE_H
#define CA_STORE_SQLITE_H

#include <pthread.h>

#include <sqlite3.h>

#include "store.h"

#define N_STMTS 64

struct cache;

struct store {
    sqlite3 *db;
    pthread_mutex_t mu;
    const char *sql[N_STMTS];
    sqlite3_stmt *st[N_STMTS];
    struct cache *accts, *authzs;
};

/* The kept statement of sql (by address), reset; caller holds s->mu. */
sqlite3_stmt *sq_stmt(struct store *s, const char *sql);
/* Steps st once and resets it: SQLITE_DONE, SQLITE_ROW or an error code;
 * *changes (when given) gets the rows changed. */
int sq_step_done(struct store *s, sqlite3_stmt *st, int *changes);
void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
void sq_col(sqlite3_stmt *st, int i, char *out, size_t cap);
/* Runs body in one transaction under s->mu: body's 0 commits, 1 or -1 roll
 * back and are the result; -1 when the commit fails. */
int sq_store_tx(struct store *s, int (*body)(struct store *, void *), void *arg);
/* body under s->mu with no transaction (reads only). */
int sq_store_locked(struct store *s, int (*body)(struct store *, void *), void *arg);
/* The same, on disk when it returns 0 (synchronous=FULL for this commit). */
int sq_store_tx_durable(struct store *s, int (*body)(struct store *, void *), void *arg);
/* The first row of sql (one text parameter) through fill: 0, 1 none, -1. */
int sq_query_one(struct store *s, const char *sql, const char *key,
                 int (*fill)(sqlite3_stmt *, void *), void *out);
/* The row id through cache (rows start with their id), else sql: 0, 1, -1. */
int sq_cached_query(struct store *s, struct cache *c, const char *sql, const char *id,
                    int (*fill)(sqlite3_stmt *, void *), void *out);
/* One write of up to three text parameters; drop's row leaves cache in the
 * same critical section. 0 changed a row, 1 none (not in the expected
 * status), -1 error. */
int sq_write1(struct store *s, const char *sql, const char *a, const char *b, const char *c,
              struct cache *cache, const char *drop);
/* The same, on disk when it returns 0. */
int sq_write1_durable(struct store *s, const char *sql, const char *a, const char *b, const char *c,
                      struct cache *cache, const char *drop);

#endif
