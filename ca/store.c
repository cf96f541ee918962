/*
 * store.c: SQLite persistence. WAL with synchronous=NORMAL: a committed
 * order survives a crash of the process; statements are prepared once and
 * kept (sqlite3_prepare_v3 with SQLITE_PREPARE_PERSISTENT), which is most of
 * what makes a certificate cheap.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "dnspersist/dnspersist.h"
#include "hash.h"
#include "store.h"

#define N_STMTS 32

/* Rows read on most requests (accounts: kid and V5 status; authorizations:
 * every poll) are kept in set-associative caches. This process is the
 * database's only writer and updates a cached row under the same lock as
 * the write, so a cached row is always the stored one. */
#define CACHE_WAYS 4
struct row_cache {
    size_t row_size, sets;
    unsigned char *rows; /* sets * CACHE_WAYS rows; each starts with its id */
    uint64_t *used;      /* 0: empty slot */
    uint64_t clock;
};

struct store {
    sqlite3 *db;
    pthread_mutex_t mu;
    const char *sql[N_STMTS];
    sqlite3_stmt *st[N_STMTS];
    struct row_cache accts, authzs;
};

static const char *const schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS accounts(id TEXT PRIMARY KEY, status TEXT NOT NULL, jwk TEXT NOT "
    "NULL,"
    " thumb TEXT NOT NULL UNIQUE, contact TEXT NOT NULL, did_persist INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS account_keys(account TEXT NOT NULL REFERENCES accounts(id),"
    " thumb TEXT NOT NULL, seq INTEGER PRIMARY KEY AUTOINCREMENT);"
    "CREATE INDEX IF NOT EXISTS account_keys_by_account ON account_keys(account, seq);"
    "CREATE TABLE IF NOT EXISTS orders(id TEXT PRIMARY KEY, account TEXT NOT NULL, status TEXT NOT "
    "NULL,"
    " expires INTEGER NOT NULL, identifiers TEXT NOT NULL, authzs TEXT NOT NULL, error TEXT NOT "
    "NULL"
    " DEFAULT '', cert TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS authzs(id TEXT PRIMARY KEY, account TEXT NOT NULL, ord TEXT NOT "
    "NULL,"
    " identifier TEXT NOT NULL, wildcard INTEGER NOT NULL, status TEXT NOT NULL, expires INTEGER "
    "NOT NULL,"
    " token TEXT NOT NULL, ch_type TEXT NOT NULL DEFAULT '', ch_status TEXT NOT NULL DEFAULT "
    "'pending',"
    " ch_validated INTEGER NOT NULL DEFAULT 0, ch_error TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS certs(id TEXT PRIMARY KEY, account TEXT NOT NULL, ord TEXT NOT "
    "NULL,"
    " serial TEXT NOT NULL UNIQUE, pem TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
    " reason INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS authzs_by_account ON authzs(account, identifier);"
    /* Validation in progress is not stored any more (va.c holds it); data
     * from earlier versions may hold challenges left processing by a stop:
     * they are pending again, to be answered anew. */
    "UPDATE authzs SET ch_type='', ch_status='pending' WHERE status='pending' AND "
    "ch_status='processing';";

static int cache_init(struct row_cache *c, size_t row_size, size_t sets)
{
    c->row_size = row_size;
    c->sets = sets;
    c->rows = calloc(sets * CACHE_WAYS, row_size);
    c->used = calloc(sets * CACHE_WAYS, sizeof *c->used);
    return c->rows && c->used ? 0 : -1;
}

static void cache_free(struct row_cache *c)
{
    free(c->rows);
    free(c->used);
}

struct store *store_open(const char *path, char *why, size_t cap)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->mu, NULL);
    if (cache_init(&s->accts, sizeof(struct st_account), 64) ||
        cache_init(&s->authzs, sizeof(struct st_authz), 256)) {
        snprintf(why, cap, "out of memory");
        store_close(s);
        return NULL;
    }
    char *msg = NULL;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(why, cap, "%s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(struct store *s)
{
    if (!s) return;
    for (int i = 0; i < N_STMTS; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    cache_free(&s->accts);
    cache_free(&s->authzs);
    free(s);
}

/* The prepared statement for sql (compared by address: each call site passes
 * its own literal). Called with the mutex held. */
static sqlite3_stmt *stmt(struct store *s, const char *sql)
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

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

static void col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int store_new_id(char out[ST_ID])
{
    unsigned char r[12];
    if (RAND_bytes(r, sizeof r) != 1) return -1;
    char *b = dp_b64url_encode_alloc(r, sizeof r);
    if (!b) return -1;
    snprintf(out, ST_ID, "%s", b);
    free(b);
    return 0;
}

static const char SQL_ACCT_INS[] = "INSERT INTO accounts(id,status,jwk,thumb,contact,created) "
                                   "VALUES(?,'valid',?,?,?,strftime('%s','now'))";
static const char SQL_KEY_INS[] = "INSERT INTO account_keys(account,thumb) VALUES(?,?)";
static const char SQL_ACCT_GET[] =
    "SELECT id,status,jwk,thumb,contact,did_persist FROM accounts WHERE id=?";
static const char SQL_ACCT_BY_THUMB[] =
    "SELECT id,status,jwk,thumb,contact,did_persist FROM accounts WHERE thumb=?";

/* Transaction control through cached statements: sqlite3_exec would parse
 * the SQL again at every write. */
static const char SQL_BEGIN[] = "BEGIN IMMEDIATE", SQL_COMMIT[] = "COMMIT",
                  SQL_ROLLBACK[] = "ROLLBACK";

static int tx(struct store *s, const char *sql)
{
    sqlite3_stmt *st = stmt(s, sql);
    int rc = st && sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    if (st) sqlite3_reset(st);
    return rc;
}

/* Runs sql with one text parameter and hands the first row to fill.
 * 0 found (fill's result), 1 no row, -1 error. */
static int query_locked(struct store *s, const char *sql, const char *key,
                        int (*fill)(sqlite3_stmt *, void *), void *out)
{
    sqlite3_stmt *st = stmt(s, sql);
    int rc = -1;
    if (st) {
        bind_text(st, 1, key);
        int step = sqlite3_step(st);
        rc = step == SQLITE_DONE ? 1 : step == SQLITE_ROW ? fill(st, out) : -1;
    }
    return rc;
}

static int query_one(struct store *s, const char *sql, const char *key,
                     int (*fill)(sqlite3_stmt *, void *), void *out)
{
    pthread_mutex_lock(&s->mu);
    int rc = query_locked(s, sql, key, fill, out);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The callers below hold s->mu. Rows are structs whose first member is
 * their id (char[ST_ID]). */
static size_t cache_find(const struct row_cache *c, const char *id)
{
    size_t set = (ca_hash(id) % c->sets) * CACHE_WAYS;
    for (size_t i = set; i < set + CACHE_WAYS; i++)
        if (c->used[i] && !strcmp((const char *)c->rows + i * c->row_size, id)) return i;
    return (size_t)-1;
}

static int cache_get(struct row_cache *c, const char *id, void *out)
{
    size_t i = cache_find(c, id);
    if (i == (size_t)-1) return 0;
    memcpy(out, c->rows + i * c->row_size, c->row_size);
    c->used[i] = ++c->clock;
    return 1;
}

static void cache_put(struct row_cache *c, const void *row)
{
    size_t i = cache_find(c, row);
    if (i == (size_t)-1) { /* the least recently used way of its set */
        size_t set = (ca_hash(row) % c->sets) * CACHE_WAYS;
        i = set;
        for (size_t k = set + 1; k < set + CACHE_WAYS; k++)
            if (c->used[k] < c->used[i]) i = k;
    }
    memcpy(c->rows + i * c->row_size, row, c->row_size);
    c->used[i] = ++c->clock;
}

static void cache_drop(struct row_cache *c, const char *id)
{
    size_t i = cache_find(c, id);
    if (i != (size_t)-1) c->used[i] = 0;
}

/* Reads one row through cache c. */
static int cached_query(struct store *s, struct row_cache *c, const char *sql, const char *id,
                        int (*fill)(sqlite3_stmt *, void *), void *out)
{
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (!cache_get(c, id, out) && (rc = query_locked(s, sql, id, fill, out)) == 0)
        cache_put(c, out);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int fill_account(sqlite3_stmt *st, void *out)
{
    struct st_account *a = out;
    col(st, 0, a->id, sizeof a->id);
    col(st, 1, a->status, sizeof a->status);
    col(st, 2, a->jwk, sizeof a->jwk);
    col(st, 3, a->thumb, sizeof a->thumb);
    col(st, 4, a->contact, sizeof a->contact);
    a->did_persist = sqlite3_column_int(st, 5);
    return 0;
}

int store_account_create(struct store *s, const char *jwk, const char *thumb, const char *contact,
                         struct st_account *out)
{
    char id[ST_ID];
    if (store_new_id(id)) return -1;
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st;
    if (tx(s, SQL_BEGIN)) goto out;
    if (!(st = stmt(s, SQL_ACCT_INS))) goto rollback;
    bind_text(st, 1, id);
    bind_text(st, 2, jwk);
    bind_text(st, 3, thumb);
    bind_text(st, 4, contact);
    if (sqlite3_step(st) != SQLITE_DONE) goto rollback;
    if (!(st = stmt(s, SQL_KEY_INS))) goto rollback;
    bind_text(st, 1, id);
    bind_text(st, 2, thumb);
    if (sqlite3_step(st) != SQLITE_DONE || tx(s, SQL_COMMIT)) goto rollback;
    rc = 0;
    goto out;
rollback:
    tx(s, SQL_ROLLBACK);
out:
    pthread_mutex_unlock(&s->mu);
    return rc ? rc : store_account_get(s, id, out);
}

int store_account_get(struct store *s, const char *id, struct st_account *out)
{
    return cached_query(s, &s->accts, SQL_ACCT_GET, id, fill_account, out);
}

int store_account_by_thumb(struct store *s, const char *thumb, struct st_account *out)
{
    return query_one(s, SQL_ACCT_BY_THUMB, thumb, fill_account, out);
}

/* Runs one write; when drop is given, the cached row of account drop goes
 * in the same critical section. */
static int run1(struct store *s, const char *sql, const char *a, const char *b, const char *c,
                const char *drop)
{
    pthread_mutex_lock(&s->mu);
    if (drop) cache_drop(&s->accts, drop);
    sqlite3_stmt *st = stmt(s, sql);
    int rc = -1;
    if (st) {
        bind_text(st, 1, a);
        if (b) bind_text(st, 2, b);
        if (c) bind_text(st, 3, c);
        rc = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(s->db) ? 0 : 1) : -1;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const char SQL_ACCT_UPD[] = "UPDATE accounts SET status=?, contact=? WHERE id=?";
static const char SQL_ACCT_PERSIST[] = "UPDATE accounts SET did_persist=1 WHERE id=?";

int store_account_update(struct store *s, const char *id, const char *status, const char *contact)
{
    return run1(s, SQL_ACCT_UPD, status, contact, id, id);
}

int store_account_mark_persist(struct store *s, const char *id)
{
    return run1(s, SQL_ACCT_PERSIST, id, NULL, NULL, id);
}

static const char SQL_ACCT_ROLL[] = "UPDATE accounts SET jwk=?, thumb=? WHERE id=?";

int store_account_rollover(struct store *s, const char *id, const char *jwk, const char *thumb)
{
    pthread_mutex_lock(&s->mu);
    cache_drop(&s->accts, id);
    int rc = -1;
    sqlite3_stmt *st;
    if (tx(s, SQL_BEGIN)) goto out;
    if (!(st = stmt(s, SQL_ACCT_ROLL))) goto rollback;
    bind_text(st, 1, jwk);
    bind_text(st, 2, thumb);
    bind_text(st, 3, id);
    int step = sqlite3_step(st);
    if (step == SQLITE_CONSTRAINT) {
        rc = 1;
        goto rollback;
    }
    if (step != SQLITE_DONE || !(st = stmt(s, SQL_KEY_INS))) goto rollback;
    bind_text(st, 1, id);
    bind_text(st, 2, thumb);
    if (sqlite3_step(st) != SQLITE_DONE || tx(s, SQL_COMMIT)) goto rollback;
    rc = 0;
    goto out;
rollback:
    tx(s, SQL_ROLLBACK);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const char SQL_KEYS[] =
    "SELECT thumb FROM account_keys WHERE account=? ORDER BY seq DESC LIMIT ?";

size_t store_account_keys(struct store *s, const char *id, char thumbs[][48], size_t max)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, SQL_KEYS);
    size_t n = 0;
    if (st) {
        bind_text(st, 1, id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
        while (n < max && sqlite3_step(st) == SQLITE_ROW)
            col(st, 0, thumbs[n++], 48);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static const char SQL_ORDER_INS[] =
    "INSERT INTO orders(id,account,status,expires,identifiers,authzs) VALUES(?,?,?,?,?,?)";
static const char SQL_AUTHZ_INS[] =
    "INSERT INTO authzs(id,account,ord,identifier,wildcard,status,expires,token,ch_type,ch_status,"
    "ch_validated) VALUES(?,?,?,?,?,?,?,?,?,?,?)";

/* Joins n strings stored w octets apart with '\n' (identifiers never contain one). */
static char *join(const char *v, size_t n, size_t w)
{
    size_t l = 1;
    for (size_t i = 0; i < n; i++)
        l += strlen(v + i * w) + 1;
    char *out = malloc(l), *p = out;
    for (size_t i = 0; out && i < n; i++)
        p += sprintf(p, "%s%s", i ? "\n" : "", v + i * w);
    if (out) *p = '\0';
    return out;
}

static size_t split(const char *in, char *out, size_t w, size_t max)
{
    size_t n = 0;
    while (*in && n < max) {
        const char *e = strchr(in, '\n');
        size_t l = e ? (size_t)(e - in) : strlen(in);
        snprintf(out + n * w, w, "%.*s", (int)l, in);
        n++;
        in += l + (e ? 1 : 0);
    }
    return n;
}

int store_order_create(struct store *s, struct st_order *o, const struct st_authz_init *init)
{
    int all_valid = 1;
    for (size_t i = 0; i < o->n; i++)
        all_valid &= init[i].validated != 0;
    const char *status = all_valid ? "ready" : "pending";
    if (store_new_id(o->id)) return -1;
    for (size_t i = 0; i < o->n; i++)
        if (store_new_id(o->authz[i])) return -1;
    char *ids = join(&o->identifiers[0][0], o->n, 256), *az = join(&o->authz[0][0], o->n, ST_ID);
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st;
    if (!ids || !az || tx(s, SQL_BEGIN)) goto out;
    if (!(st = stmt(s, SQL_ORDER_INS))) goto rollback;
    bind_text(st, 1, o->id);
    bind_text(st, 2, o->account);
    bind_text(st, 3, status);
    sqlite3_bind_int64(st, 4, o->expires);
    bind_text(st, 5, ids);
    bind_text(st, 6, az);
    if (sqlite3_step(st) != SQLITE_DONE) goto rollback;
    for (size_t i = 0; i < o->n; i++) {
        unsigned char r[32];
        char *tok = RAND_bytes(r, sizeof r) == 1 ? dp_b64url_encode_alloc(r, sizeof r) : NULL;
        if (!tok || !(st = stmt(s, SQL_AUTHZ_INS))) {
            free(tok);
            goto rollback;
        }
        const char *ident = o->identifiers[i];
        bind_text(st, 1, o->authz[i]);
        bind_text(st, 2, o->account);
        bind_text(st, 3, o->id);
        const struct st_authz_init *in = &init[i];
        bind_text(st, 4, in->wildcard ? ident + 2 : ident);
        sqlite3_bind_int(st, 5, in->wildcard);
        bind_text(st, 6, in->validated ? "valid" : "pending");
        sqlite3_bind_int64(st, 7, in->expires);
        bind_text(st, 8, tok);
        bind_text(st, 9, in->validated ? "dns-persist-01" : "");
        bind_text(st, 10, in->validated ? "valid" : "pending");
        sqlite3_bind_int64(st, 11, in->validated);
        int step = sqlite3_step(st);
        free(tok);
        if (step != SQLITE_DONE) goto rollback;
    }
    if (tx(s, SQL_COMMIT)) goto rollback;
    snprintf(o->status, sizeof o->status, "%s", status);
    rc = 0;
    goto out;
rollback:
    tx(s, SQL_ROLLBACK);
out:
    pthread_mutex_unlock(&s->mu);
    free(ids);
    free(az);
    return rc;
}

static const char SQL_ORDER_GET[] =
    "SELECT id,account,status,expires,identifiers,authzs,error,cert FROM orders WHERE id=?";

static int fill_order(sqlite3_stmt *st, void *out)
{
    struct st_order *o = out;
    col(st, 0, o->id, sizeof o->id);
    col(st, 1, o->account, sizeof o->account);
    col(st, 2, o->status, sizeof o->status);
    o->expires = sqlite3_column_int64(st, 3);
    o->n = split((const char *)sqlite3_column_text(st, 4), (char *)o->identifiers, 256,
                 ST_MAX_IDENTIFIERS);
    split((const char *)sqlite3_column_text(st, 5), (char *)o->authz, ST_ID, ST_MAX_IDENTIFIERS);
    col(st, 6, o->error, sizeof o->error);
    col(st, 7, o->cert, sizeof o->cert);
    return 0;
}

int store_order_get(struct store *s, const char *id, struct st_order *o)
{
    return query_one(s, SQL_ORDER_GET, id, fill_order, o);
}

static const char SQL_ORDER_SET[] = "UPDATE orders SET status=?, error=?, cert=? WHERE id=?";

int store_order_set(struct store *s, const char *id, const char *status, const char *error,
                    const char *cert)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, SQL_ORDER_SET);
    int rc = -1;
    if (st) {
        bind_text(st, 1, status);
        bind_text(st, 2, error);
        bind_text(st, 3, cert);
        bind_text(st, 4, id);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const char SQL_AUTHZ_GET[] = "SELECT "
                                    "id,account,ord,identifier,wildcard,status,expires,token,ch_"
                                    "type,ch_status,ch_validated,ch_error FROM authzs WHERE id=?";

static int fill_authz(sqlite3_stmt *st, void *out)
{
    struct st_authz *a = out;
    col(st, 0, a->id, sizeof a->id);
    col(st, 1, a->account, sizeof a->account);
    col(st, 2, a->order, sizeof a->order);
    col(st, 3, a->identifier, sizeof a->identifier);
    a->wildcard = sqlite3_column_int(st, 4);
    col(st, 5, a->status, sizeof a->status);
    a->expires = sqlite3_column_int64(st, 6);
    col(st, 7, a->token, sizeof a->token);
    col(st, 8, a->ch_type, sizeof a->ch_type);
    col(st, 9, a->ch_status, sizeof a->ch_status);
    a->ch_validated = sqlite3_column_int64(st, 10);
    col(st, 11, a->ch_error, sizeof a->ch_error);
    return 0;
}

int store_authz_get(struct store *s, const char *id, struct st_authz *a)
{
    return cached_query(s, &s->authzs, SQL_AUTHZ_GET, id, fill_authz, a);
}

static const char SQL_AUTHZ_SET[] = "UPDATE authzs SET status=?, expires=?, ch_type=?, "
                                    "ch_status=?, ch_validated=?, ch_error=? WHERE id=?";

int store_authz_set(struct store *s, const struct st_authz *a)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, SQL_AUTHZ_SET);
    int rc = -1;
    if (st) {
        bind_text(st, 1, a->status);
        sqlite3_bind_int64(st, 2, a->expires);
        bind_text(st, 3, a->ch_type);
        bind_text(st, 4, a->ch_status);
        sqlite3_bind_int64(st, 5, a->ch_validated);
        bind_text(st, 6, a->ch_error);
        bind_text(st, 7, a->id);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    }
    if (rc == 0)
        cache_put(&s->authzs, a);
    else
        cache_drop(&s->authzs, a->id);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const char SQL_ORDER_DONE[] =
    "UPDATE orders SET status='valid', error='', cert=? WHERE id=? AND status IN "
    "('pending','ready')";

static const char SQL_CERT_INS[] =
    "INSERT INTO certs(id,account,ord,serial,pem,created) VALUES(?,?,?,?,?,strftime('%s','now'))";

int store_cert_create(struct store *s, const char *account, const char *order, const char *serial,
                      const char *pem, char out_id[ST_ID])
{
    if (store_new_id(out_id)) return -1;
    /* The certificate and its order's move to valid commit together. */
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st;
    int rc = -1;
    if (tx(s, SQL_BEGIN)) goto out;
    if (!(st = stmt(s, SQL_CERT_INS))) goto rollback;
    bind_text(st, 1, out_id);
    bind_text(st, 2, account);
    bind_text(st, 3, order);
    bind_text(st, 4, serial);
    bind_text(st, 5, pem);
    if (sqlite3_step(st) != SQLITE_DONE || !(st = stmt(s, SQL_ORDER_DONE))) goto rollback;
    bind_text(st, 1, out_id);
    bind_text(st, 2, order);
    if (sqlite3_step(st) != SQLITE_DONE) goto rollback;
    if (sqlite3_changes(s->db) != 1) { /* not ready any more: keep nothing */
        rc = 1;
        goto rollback;
    }
    if (tx(s, SQL_COMMIT)) goto rollback;
    rc = 0;
    goto out;
rollback:
    tx(s, SQL_ROLLBACK);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const char SQL_CERT_GET[] = "SELECT id,account,serial,pem,revoked FROM certs WHERE id=?";
static const char SQL_CERT_BY_SERIAL[] =
    "SELECT id,account,serial,pem,revoked FROM certs WHERE serial=?";

static int fill_cert(sqlite3_stmt *st, void *out)
{
    struct st_cert *c = out;
    col(st, 0, c->id, sizeof c->id);
    col(st, 1, c->account, sizeof c->account);
    col(st, 2, c->serial, sizeof c->serial);
    const unsigned char *pem = sqlite3_column_text(st, 3);
    c->pem = strdup(pem ? (const char *)pem : "");
    c->revoked = sqlite3_column_int(st, 4);
    return c->pem ? 0 : -1;
}

int store_cert_get(struct store *s, const char *id, struct st_cert *c)
{
    return query_one(s, SQL_CERT_GET, id, fill_cert, c);
}

int store_cert_by_serial(struct store *s, const char *serial, struct st_cert *c)
{
    return query_one(s, SQL_CERT_BY_SERIAL, serial, fill_cert, c);
}

static const char SQL_CERT_REVOKE[] =
    "UPDATE certs SET revoked=1, reason=? WHERE id=? AND revoked=0";

int store_cert_revoke(struct store *s, const char *id, int reason)
{
    char r[16];
    snprintf(r, sizeof r, "%d", reason);
    return run1(s, SQL_CERT_REVOKE, r, id, NULL, NULL);
}

static const char SQL_AUTHZ_COVERS[] =
    "SELECT 1 FROM authzs WHERE account=? AND identifier=? AND status='valid' AND expires>? "
    "LIMIT 1";

int store_authz_covers(struct store *s, const char *account, const char *identifier, int64_t now)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = stmt(s, SQL_AUTHZ_COVERS);
    int rc = -1;
    if (st) {
        bind_text(st, 1, account);
        bind_text(st, 2, identifier);
        sqlite3_bind_int64(st, 3, now);
        int step = sqlite3_step(st);
        rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? 1 : -1;
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
