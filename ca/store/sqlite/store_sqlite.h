/* store_sqlite.h: what the files of the SQLite store share (not a public
 * interface: the rest of the server sees store.h only). */
#ifndef CA_STORE_SQLITE_H
#define CA_STORE_SQLITE_H

#include <pthread.h>

#include <sqlite3.h>

#include "store_impl.h"

#define N_STMTS 64

struct store {
    struct store_base base; /* first: store.c dispatches through it */
    sqlite3 *db;
    pthread_mutex_t mu;
    const char *sql[N_STMTS];
    sqlite3_stmt *st[N_STMTS];
};

/* The kept statement of sql (by address), reset; caller holds s->mu. */
sqlite3_stmt *sq_stmt(struct store *s, const char *sql);
/* Steps st once and resets it: SQLITE_DONE, SQLITE_ROW or an error code;
 * *changes (when given) gets the rows changed. */
int sq_step_done(struct store *s, sqlite3_stmt *st, int *changes);
void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
void sq_col(sqlite3_stmt *st, int i, char *out, size_t cap);
/* A status column as the rows hold it (ST_UNKNOWN for unknown text). */
enum st_status sq_col_status(sqlite3_stmt *st, int i);
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
/* One write of up to three text parameters: 0 changed a row, 1 none (not
 * in the expected status), -1 error. */
int sq_write1(struct store *s, const char *sql, const char *a, const char *b, const char *c);
/* The same, on disk when it returns 0. */
int sq_write1_durable(struct store *s, const char *sql, const char *a, const char *b,
                      const char *c);

int sqlite_meta_add(struct store *s, const char *key, const char *value, char *out, size_t cap);
int sqlite_lease_take(struct store *s, const char *name, const char *owner, int seconds);
int sqlite_lease_drop(struct store *s, const char *name, const char *owner);
int sqlite_nonce_use(struct store *s, const char *nonce, int64_t expires);

int sqlite_authz_answer(struct store *s, const char *id, const char *type, const char *owner,
                        int seconds);
long sqlite_authz_claim(struct store *s, const char *owner, int seconds, size_t max,
                        char (*ids)[ST_ID], char (*accounts)[ST_ID], char (*types)[24]);

/* The backend's operations (store_impl.h), in the file of their rows. */
void sqlite_close(struct store *s);
int sqlite_meta_get(struct store *s, const char *key, char *out, size_t cap);
int sqlite_meta_set(struct store *s, const char *key, const char *value);
int sqlite_account_create(struct store *s, const char *jwk, const char *thumb, const char *contact,
                          struct st_account *out);
int sqlite_account_get(struct store *s, const char *id, struct st_account *out);
int sqlite_account_by_thumb(struct store *s, const char *thumb, struct st_account *out);
int sqlite_account_set_contact(struct store *s, const char *id, const char *contact);
int sqlite_account_deactivate(struct store *s, const char *id, const char *order_error);
int sqlite_account_mark_persist(struct store *s, const char *id);
int sqlite_account_rollover(struct store *s, const char *id, const char *jwk, const char *thumb);
size_t sqlite_account_keys(struct store *s, const char *id, char (**out)[48]);
int sqlite_cert_create(struct store *s, const char *account, const char *order, const char *serial,
                       const char *pem, const char *issuer, char out_id[ST_ID]);
int sqlite_cert_get(struct store *s, const char *id, struct st_cert *c);
int sqlite_cert_by_serial(struct store *s, const char *serial, struct st_cert *c);
int sqlite_cert_revoke(struct store *s, const char *id, int reason);
int sqlite_cert_key_compromised(struct store *s, const char *id);
int sqlite_key_block(struct store *s, const char *thumb, const char *serial);
int sqlite_key_blocked(struct store *s, const char *thumb);
int sqlite_certs_revoked(struct store *s, st_revoked_fn each, void *arg);
int sqlite_order_create(struct store *s, struct st_order *o, const struct st_authz_init *init,
                        struct st_rate *rate);
/* The rate-limit decision of sqlite_rate_take inside a caller's transaction. */
int sq_rate_in_tx(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms, size_t *which,
                  int64_t *retry_ms);
int sqlite_order_get(struct store *s, const char *id, struct st_order *o);
int sqlite_order_invalidate(struct store *s, const char *id, const char *error);
int sqlite_authz_get(struct store *s, const char *id, struct st_authz *a);
int sqlite_authz_finish(struct store *s, const char *id, const char *type, int valid,
                        int64_t expires, int64_t validated, const char *error,
                        const char *perspectives);
int sqlite_authz_deactivate(struct store *s, const char *id);
int sqlite_authz_covers(struct store *s, const char *account, const char *identifier, int64_t now);
long sqlite_orders_list(struct store *s, const char *account, int64_t cursor, size_t max,
                        char (*ids)[ST_ID], int64_t *next);
int sqlite_rate_take(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms,
                     size_t *which, int64_t *retry_ms);
long sqlite_authz_pending(struct store *s, const char *account);

#endif
