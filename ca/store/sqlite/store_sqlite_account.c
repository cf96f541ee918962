/* store_sqlite_account.c: the SQLite store's accounts: creation, reads
 * of one row, updates, deactivation with what it
 * authorized (RFC 8555 7.3.6), key rollover and the key history (A6). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store_sqlite.h"

static const char SQL_ACCT_INS[] = "INSERT INTO accounts(id,status,jwk,thumb,contact,created) "
                                   "VALUES(?,'valid',?,?,?,strftime('%s','now'))";
static const char SQL_KEY_INS[] = "INSERT INTO account_keys(account,thumb) VALUES(?,?)";
static const char SQL_ACCT_GET[] =
    "SELECT id,status,jwk,thumb,contact,did_persist FROM accounts WHERE id=?";
static const char SQL_ACCT_BY_THUMB[] =
    "SELECT id,status,jwk,thumb,contact,did_persist FROM accounts WHERE thumb=?";

static int fill_account(sqlite3_stmt *st, void *out)
{
    struct st_account *a = out;
    sq_col(st, 0, a->id, sizeof a->id);
    a->status = sq_col_status(st, 1);
    sq_col(st, 2, a->jwk, sizeof a->jwk);
    sq_col(st, 3, a->thumb, sizeof a->thumb);
    sq_col(st, 4, a->contact, sizeof a->contact);
    a->did_persist = sqlite3_column_int(st, 5);
    return 0;
}

struct key_args {
    const char *sql, *id, *jwk, *thumb, *contact;
};

/* An account row written (insert or new key) and its thumbprint added to
 * the history (A6). */
static int key_write(struct store *s, void *arg)
{
    const struct key_args *k = arg;
    sqlite3_stmt *st = sq_stmt(s, k->sql);
    if (!st) return -1;
    int i = 1;
    if (k->sql == SQL_ACCT_INS) sq_bind_text(st, i++, k->id);
    sq_bind_text(st, i++, k->jwk);
    sq_bind_text(st, i++, k->thumb);
    sq_bind_text(st, i++, k->sql == SQL_ACCT_INS ? k->contact : k->id);
    int changes = 0, step = sq_step_done(s, st, &changes);
    if (step == SQLITE_CONSTRAINT) return 1; /* the key belongs to another account */
    if (step != SQLITE_DONE) return -1;
    if (!changes) return 1; /* the account is not valid */
    if (!(st = sq_stmt(s, SQL_KEY_INS))) return -1;
    sq_bind_text(st, 1, k->id);
    sq_bind_text(st, 2, k->thumb);
    return sq_step_done(s, st, NULL) == SQLITE_DONE ? 0 : -1;
}

int sqlite_account_create(struct store *s, const char *jwk, const char *thumb, const char *contact,
                          struct st_account *out)
{
    char id[ST_ID];
    if (store_new_id(id)) return -1;
    struct key_args k = {SQL_ACCT_INS, id, jwk, thumb, contact};
    int rc = sq_store_tx(s, key_write, &k);
    return rc ? rc : sqlite_account_get(s, id, out);
}

int sqlite_account_get(struct store *s, const char *id, struct st_account *out)
{
    return sq_query_one(s, SQL_ACCT_GET, id, fill_account, out);
}

int sqlite_account_by_thumb(struct store *s, const char *thumb, struct st_account *out)
{
    return sq_query_one(s, SQL_ACCT_BY_THUMB, thumb, fill_account, out);
}

static const char SQL_ACCT_CONTACT[] =
    "UPDATE accounts SET contact=? WHERE id=? AND status='valid'";
static const char SQL_ACCT_DEACT[] =
    "UPDATE accounts SET status='deactivated' WHERE id=? AND status='valid'";
static const char SQL_ACCT_PERSIST[] = "UPDATE accounts SET did_persist=1 WHERE id=?";

int sqlite_account_set_contact(struct store *s, const char *id, const char *contact)
{
    return sq_write1(s, SQL_ACCT_CONTACT, contact, id, NULL);
}

static const char SQL_ACCT_AUTHZS_DEACT[] =
    "UPDATE authzs SET status='deactivated' WHERE account=? AND status='pending'";
static const char SQL_ACCT_ORDERS_INVALID[] =
    "UPDATE orders SET status='invalid', error=? WHERE account=? AND status IN ('pending','ready')";

struct deactivation {
    const char *id, *order_error;
};

static int deactivate_body(struct store *s, void *arg)
{
    const struct deactivation *d = arg;
    sqlite3_stmt *st = sq_stmt(s, SQL_ACCT_DEACT);
    int changes = 0;
    if (!st) return -1;
    sq_bind_text(st, 1, d->id);
    if (sq_step_done(s, st, &changes) != SQLITE_DONE) return -1;
    if (!changes) return 1;
    if (!(st = sq_stmt(s, SQL_ACCT_AUTHZS_DEACT))) return -1;
    sq_bind_text(st, 1, d->id);
    if (sq_step_done(s, st, NULL) != SQLITE_DONE) return -1;
    if (!(st = sq_stmt(s, SQL_ACCT_ORDERS_INVALID))) return -1;
    sq_bind_text(st, 1, d->order_error);
    sq_bind_text(st, 2, d->id);
    return sq_step_done(s, st, NULL) == SQLITE_DONE ? 0 : -1;
}

int sqlite_account_deactivate(struct store *s, const char *id, const char *order_error)
{
    struct deactivation d = {id, order_error};
    return sq_store_tx_durable(s, deactivate_body, &d);
}

int sqlite_account_mark_persist(struct store *s, const char *id)
{
    return sq_write1(s, SQL_ACCT_PERSIST, id, NULL, NULL);
}

static const char SQL_ACCT_ROLL[] =
    "UPDATE accounts SET jwk=?, thumb=? WHERE id=? AND status='valid'";

int sqlite_account_rollover(struct store *s, const char *id, const char *jwk, const char *thumb)
{
    struct key_args k = {SQL_ACCT_ROLL, id, jwk, thumb, NULL};
    return sq_store_tx_durable(s, key_write, &k);
}

static const char SQL_KEYS[] = "SELECT thumb FROM account_keys WHERE account=? ORDER BY seq DESC";

size_t sqlite_account_keys(struct store *s, const char *id, char (**out)[48])
{
    *out = NULL;
    size_t n = 0, cap = 0;
    int failed = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = sq_stmt(s, SQL_KEYS);
    if (st) {
        sq_bind_text(st, 1, id);
        while (!failed && sqlite3_step(st) == SQLITE_ROW) {
            if (n == cap) {
                char(*g)[48] = realloc(*out, (cap = cap ? 2 * cap : 8) * sizeof **out);
                if (!g) {
                    failed = 1;
                    break;
                }
                *out = g;
            }
            sq_col(st, 0, (*out)[n++], 48);
        }
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->mu);
    if (failed || !n) {
        free(*out);
        *out = NULL;
        n = 0;
    }
    return n;
}
