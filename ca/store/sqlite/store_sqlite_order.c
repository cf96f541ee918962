/* store_sqlite_order.c: orders and authorizations in the SQLite store (the
 * invariants of store_sqlite.c hold here too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "dnspersist/dnspersist.h"
#include "store_sqlite.h"

static const char SQL_ORDER_INS[] = "INSERT INTO orders(id,account,status,expires,identifiers,"
                                    "authzs,replaces,profile) VALUES(?,?,?,?,?,?,?,?)";
/* A certificate is replaced once; a replacing order that failed frees it. */
static const char SQL_REPLACE[] =
    "UPDATE certs SET replaced_by=?1 WHERE id=?2 AND (replaced_by='' OR replaced_by IN "
    "(SELECT id FROM orders WHERE status='invalid'))";
static const char SQL_AUTHZ_INS[] =
    "INSERT INTO authzs(id,account,ord,identifier,wildcard,status,expires,token,ch_type,ch_status,"
    "ch_validated,perspectives) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)";

struct order_args {
    struct st_order *o;
    const struct st_authz_init *init;
    const char *status, *ids, *az;
    struct st_rate *rate;
};

static int order_write(struct store *s, void *arg)
{
    const struct order_args *a = arg;
    struct st_order *o = a->o;
    struct st_rate *rt = a->rate;
    int rr = rt ? sq_rate_in_tx(s, rt->t, rt->n, rt->now_ms, &rt->which, &rt->retry_ms) : 0;
    if (rr) return rr == 1 ? 2 : -1; /* rolled back: nothing created or counted */
    sqlite3_stmt *st = sq_stmt(s, SQL_ORDER_INS);
    if (!st) return -1;
    sq_bind_text(st, 1, o->id);
    sq_bind_text(st, 2, o->account);
    sq_bind_text(st, 3, a->status);
    sqlite3_bind_int64(st, 4, o->expires);
    sq_bind_text(st, 5, a->ids);
    sq_bind_text(st, 6, a->az);
    sq_bind_text(st, 7, o->replaces);
    sq_bind_text(st, 8, o->profile);
    if (sq_step_done(s, st, NULL) != SQLITE_DONE) return -1;
    if (o->replaces_cert[0]) {
        int changes = 0;
        if (!(st = sq_stmt(s, SQL_REPLACE))) return -1;
        sq_bind_text(st, 1, o->id);
        sq_bind_text(st, 2, o->replaces_cert);
        if (sq_step_done(s, st, &changes) != SQLITE_DONE) return -1;
        if (!changes) return 1;
    }
    for (size_t i = 0; i < o->n; i++) {
        unsigned char r[32];
        char tok[64];
        if (RAND_bytes(r, sizeof r) != 1 ||
            dp_b64url_encode(r, sizeof r, tok, sizeof tok) == (size_t)-1 ||
            !(st = sq_stmt(s, SQL_AUTHZ_INS)))
            return -1;
        const char *ident = o->identifiers[i];
        const struct st_authz_init *in = &a->init[i];
        sq_bind_text(st, 1, o->authz[i]);
        sq_bind_text(st, 2, o->account);
        sq_bind_text(st, 3, o->id);
        sq_bind_text(st, 4, in->wildcard ? ident + 2 : ident);
        sqlite3_bind_int(st, 5, in->wildcard);
        sq_bind_text(st, 6, in->validated ? "valid" : "pending");
        sqlite3_bind_int64(st, 7, in->expires);
        sq_bind_text(st, 8, tok);
        sq_bind_text(st, 9, in->validated ? "dns-persist-01" : "");
        sq_bind_text(st, 10, in->validated ? "valid" : "pending");
        sqlite3_bind_int64(st, 11, in->validated);
        sq_bind_text(st, 12, in->perspectives ? in->perspectives : "");
        if (sq_step_done(s, st, NULL) != SQLITE_DONE) return -1;
    }
    return 0;
}

int sqlite_order_create(struct store *s, struct st_order *o, const struct st_authz_init *init,
                        struct st_rate *rate)
{
    struct order_args a = {o,
                           init,
                           st_status_name(o->status), /* ids and first status: store.c */
                           store_join(&o->identifiers[0][0], o->n, 256),
                           store_join(&o->authz[0][0], o->n, ST_ID),
                           rate};
    int rc = a.ids && a.az ? sq_store_tx(s, order_write, &a) : -1;
    free((char *)a.ids);
    free((char *)a.az);
    return rc;
}

static const char SQL_ORDER_GET[] =
    "SELECT id,account,status,expires,identifiers,authzs,error,cert,replaces,profile FROM orders "
    "WHERE id=?";

static int fill_order(sqlite3_stmt *st, void *out)
{
    struct st_order *o = out;
    sq_col(st, 0, o->id, sizeof o->id);
    sq_col(st, 1, o->account, sizeof o->account);
    o->status = sq_col_status(st, 2);
    o->expires = sqlite3_column_int64(st, 3);
    o->n = store_split((const char *)sqlite3_column_text(st, 4), (char *)o->identifiers, 256,
                       ST_MAX_IDENTIFIERS);
    store_split((const char *)sqlite3_column_text(st, 5), (char *)o->authz, ST_ID,
                ST_MAX_IDENTIFIERS);
    sq_col(st, 6, o->error, sizeof o->error);
    sq_col(st, 7, o->cert, sizeof o->cert);
    sq_col(st, 8, o->replaces, sizeof o->replaces);
    sq_col(st, 9, o->profile, sizeof o->profile);
    o->replaces_cert[0] = '\0';
    return 0;
}

int sqlite_order_get(struct store *s, const char *id, struct st_order *o)
{
    return sq_query_one(s, SQL_ORDER_GET, id, fill_order, o);
}

static const char SQL_ORDER_INVALID[] =
    "UPDATE orders SET status='invalid', error=? WHERE id=? AND status IN ('pending','ready')";

int sqlite_order_invalidate(struct store *s, const char *id, const char *error)
{
    return sq_write1(s, SQL_ORDER_INVALID, error, id, NULL);
}

/* ---- authorizations ---- */

static const char SQL_AUTHZ_GET[] = "SELECT "
                                    "id,account,ord,identifier,wildcard,status,expires,token,ch_"
                                    "type,ch_status,ch_validated,ch_error FROM authzs WHERE id=?";

static int fill_authz(sqlite3_stmt *st, void *out)
{
    struct st_authz *a = out;
    sq_col(st, 0, a->id, sizeof a->id);
    sq_col(st, 1, a->account, sizeof a->account);
    sq_col(st, 2, a->order, sizeof a->order);
    sq_col(st, 3, a->identifier, sizeof a->identifier);
    a->wildcard = sqlite3_column_int(st, 4);
    a->status = sq_col_status(st, 5);
    a->expires = sqlite3_column_int64(st, 6);
    sq_col(st, 7, a->token, sizeof a->token);
    sq_col(st, 8, a->ch_type, sizeof a->ch_type);
    a->ch_status = sq_col_status(st, 9);
    a->ch_validated = sqlite3_column_int64(st, 10);
    sq_col(st, 11, a->ch_error, sizeof a->ch_error);
    return 0;
}

int sqlite_authz_get(struct store *s, const char *id, struct st_authz *a)
{
    return sq_query_one(s, SQL_AUTHZ_GET, id, fill_authz, a);
}

static const char SQL_AUTHZ_FINISH[] =
    "UPDATE authzs SET status=?1, ch_status=?1, ch_type=?2, expires=?3, ch_validated=?4, "
    "ch_error=?5, perspectives=?7 WHERE id=?6 AND status='pending'";

int sqlite_authz_finish(struct store *s, const char *id, const char *type, int valid,
                        int64_t expires, int64_t validated, const char *error,
                        const char *perspectives)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = sq_stmt(s, SQL_AUTHZ_FINISH);
    int rc = -1, changes = 0;
    if (st) {
        sq_bind_text(st, 1, valid ? "valid" : "invalid");
        sq_bind_text(st, 2, type);
        sqlite3_bind_int64(st, 3, expires);
        sqlite3_bind_int64(st, 4, validated);
        sq_bind_text(st, 5, error);
        sq_bind_text(st, 6, id);
        sq_bind_text(st, 7, perspectives ? perspectives : "");
        rc = sq_step_done(s, st, &changes) == SQLITE_DONE ? (changes ? 0 : 1) : -1;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const char SQL_AUTHZ_DEACT[] =
    "UPDATE authzs SET status='deactivated' WHERE id=? AND status IN ('pending','valid')";

int sqlite_authz_deactivate(struct store *s, const char *id)
{
    return sq_write1(s, SQL_AUTHZ_DEACT, id, NULL, NULL);
}

static const char SQL_AUTHZ_COVERS[] =
    "SELECT 1 FROM authzs WHERE account=? AND identifier=? AND status='valid' AND expires>? "
    "LIMIT 1";

int sqlite_authz_covers(struct store *s, const char *account, const char *identifier, int64_t now)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = sq_stmt(s, SQL_AUTHZ_COVERS);
    int rc = -1;
    if (st) {
        sq_bind_text(st, 1, account);
        sq_bind_text(st, 2, identifier);
        sqlite3_bind_int64(st, 3, now);
        int step = sq_step_done(s, st, NULL);
        rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? 1 : -1;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const char SQL_ORDERS_OF[] = "SELECT rowid, id FROM orders WHERE account=? AND rowid>? "
                                    "AND status!='invalid' ORDER BY rowid LIMIT ?";

long sqlite_orders_list(struct store *s, const char *account, int64_t cursor, size_t max,
                        char (*ids)[ST_ID], int64_t *next)
{
    long n = 0;
    *next = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = sq_stmt(s, SQL_ORDERS_OF);
    if (!st) n = -1;
    if (st) {
        sq_bind_text(st, 1, account);
        sqlite3_bind_int64(st, 2, cursor);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)max + 1); /* one more: is there a next page? */
        int step;
        int64_t last = 0;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if ((size_t)n == max) {
                *next = last;
                break;
            }
            last = sqlite3_column_int64(st, 0);
            sq_col(st, 1, ids[n++], ST_ID);
        }
        if (step != SQLITE_ROW && step != SQLITE_DONE) n = -1;
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}
