/* store_pg.h: what the files of the PostgreSQL store share (not a public
 * interface: the rest of the server sees store.h only). */
#ifndef CA_STORE_PG_H
#define CA_STORE_PG_H

#include <pthread.h>

#include <libpq-fe.h>

#include "store_impl.h"

#define PG_POOL 16

struct pg_store {
    struct store_base base; /* first: store.c dispatches through it */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn *conns[PG_POOL];
    int busy[PG_POOL];
    size_t n;
};

/* A connection of the pool (waits for one); pg_give returns it. */
PGconn *pg_take(struct pg_store *p);
void pg_give(struct pg_store *p, PGconn *c);
/* Prepares the statements pg_run runs on c, each on its first run
 * (call once, after connecting): 0, or -1 (they run unprepared). */
int pg_prepare_on(PGconn *c);
/* One statement with text parameters (NULL for SQL NULL): its result, or
 * NULL after a failure (the error is logged). *status gets PQresultStatus. */
PGresult *pg_run(PGconn *c, const char *sql, int n, const char *const *params);
/* 1 when r failed with this SQLSTATE (e.g. "23505", unique violation). */
int pg_state_is(const PGresult *r, const char *sqlstate);
/* A statement that returns no rows: the rows it changed, or -1. */
long pg_exec(PGconn *c, const char *sql, int n, const char *const *params);
/* BEGIN, COMMIT (0 or -1), ROLLBACK. */
int pg_begin(PGconn *c);
int pg_commit(PGconn *c);
void pg_rollback(PGconn *c);
/* Copies column i of row 0 into out. */
void pg_col(const PGresult *r, int row, int i, char *out, size_t cap);
/* A status column (ST_UNKNOWN for NULL or unknown text). */
enum st_status pg_col_status(const PGresult *r, int row, int i);

/* The operations, in the file of their rows. */
int pg_order_create(struct store *s, struct st_order *o, const struct st_authz_init *init,
                    struct st_rate *rate);
int pg_order_get(struct store *s, const char *id, struct st_order *out);
int pg_order_invalidate(struct store *s, const char *id, const char *error);
int pg_authz_get(struct store *s, const char *id, struct st_authz *out);
int pg_authz_finish(struct store *s, const char *id, const char *type, int valid, int64_t expires,
                    int64_t validated, const char *error, const char *perspectives);
int pg_authz_deactivate(struct store *s, const char *id);
int pg_authz_covers(struct store *s, const char *account, const char *identifier, int64_t now);
int pg_cert_create(struct store *s, const char *account, const char *order, const char *serial,
                   const char *pem, const char *issuer, char out_id[ST_ID]);
int pg_cert_get(struct store *s, const char *id, struct st_cert *out);
int pg_cert_by_serial(struct store *s, const char *serial, struct st_cert *out);
int pg_cert_revoke(struct store *s, const char *id, int reason);
int pg_cert_key_compromised(struct store *s, const char *id);
int pg_key_block(struct store *s, const char *thumb, const char *serial);
int pg_key_blocked(struct store *s, const char *thumb);
int pg_certs_revoked(struct store *s, st_revoked_fn each, void *arg);
int pg_rate_take(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms, size_t *which,
                 int64_t *retry_ms);
long pg_orders_list(struct store *s, const char *account, int64_t cursor, size_t max,
                    char (*ids)[ST_ID], int64_t *next);
long pg_authz_pending(struct store *s, const char *account);

#endif
