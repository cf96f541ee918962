/*
 * store_pg_order.c: orders, authorizations, certificates and rate limits in
 * the PostgreSQL store (the rules of store_pg.c hold here too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dnspersist/dnspersist.h"
#include "ratelimit.h"
#include "store_pg.h"

#define P(s) ((struct pg_store *)(void *)(s))
#define I64(buf, v) (snprintf(buf, sizeof buf, "%lld", (long long)(v)), buf)

static int order_write(PGconn *c, struct st_order *o, const struct st_authz_init *init,
                       const char *status, const char *ids, const char *az)
{
    char ex[24];
    const char *op[] = {o->id, o->account, status,      I64(ex, o->expires),
                        ids,   az,         o->replaces, o->profile};
    if (pg_exec(c,
                "INSERT INTO orders(id,account,status,expires,identifiers,authzs,replaces,profile) "
                "VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
                8, op) != 1)
        return -1;
    if (o->replaces_cert[0]) { /* replaced once; a replacing order that failed frees it */
        const char *rp[] = {o->id, o->replaces_cert};
        long rows = pg_exec(c,
                            "UPDATE certs SET replaced_by=$1 WHERE id=$2 AND (replaced_by='' OR "
                            "replaced_by IN (SELECT id FROM orders WHERE status='invalid'))",
                            2, rp);
        if (rows < 0) return -1;
        if (!rows) return 1;
    }
    for (size_t i = 0; i < o->n; i++) {
        unsigned char r[32];
        char tok[64], wc[4], exp[24], val[24];
        if (RAND_bytes(r, sizeof r) != 1 ||
            dp_b64url_encode(r, sizeof r, tok, sizeof tok) == (size_t)-1)
            return -1;
        const struct st_authz_init *in = &init[i];
        const char *ident = o->identifiers[i];
        snprintf(wc, sizeof wc, "%d", in->wildcard);
        const char *ap[] = {o->authz[i],
                            o->account,
                            o->id,
                            in->wildcard ? ident + 2 : ident,
                            wc,
                            in->validated ? "valid" : "pending",
                            I64(exp, in->expires),
                            tok,
                            in->validated ? "dns-persist-01" : "",
                            in->validated ? "valid" : "pending",
                            I64(val, in->validated),
                            in->perspectives ? in->perspectives : ""};
        if (pg_exec(c,
                    "INSERT INTO authzs(id,account,ord,identifier,wildcard,status,expires,token,"
                    "ch_type,ch_status,ch_validated,perspectives) "
                    "VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
                    12, ap) != 1)
            return -1;
    }
    return 0;
}

static int rate_in_tx(PGconn *c, const struct rl_take *t, size_t n, int64_t now_ms, int peeks,
                      size_t *which, int64_t *retry_ms);

int pg_order_create(struct store *s, struct st_order *o, const struct st_authz_init *init,
                    struct st_rate *rate)
{
    const char *status = st_status_name(o->status); /* ids and first status: store.c */
    char *ids = store_join(&o->identifiers[0][0], o->n, 256),
         *az = store_join(&o->authz[0][0], o->n, ST_ID);
    int rc = -1;
    if (ids && az) {
        PGconn *c = pg_take(P(s));
        rc = pg_begin(c) ? -1 : 0;
        if (rc == 0 && rate) { /* refused: 2, rolled back with nothing created or counted */
            rc = rate_in_tx(c, rate->t, rate->n, rate->now_ms, 0, &rate->which, &rate->retry_ms);
            if (rc == 1) rc = 2;
        }
        if (rc == 0) rc = order_write(c, o, init, status, ids, az);
        if (rc == 0 && pg_commit(c)) rc = -1;
        if (rc) pg_rollback(c);
        pg_give(P(s), c);
    }
    free(ids);
    free(az);
    return rc;
}

/* The first row of sql (one text parameter) through fill: 0, 1 none, -1. */
static int query_one(struct store *s, const char *sql, const char *key,
                     int (*fill)(const PGresult *, void *), void *out)
{
    PGconn *c = pg_take(P(s));
    PGresult *r = pg_run(c, sql, 1, &key);
    int rc = r && PQresultStatus(r) == PGRES_TUPLES_OK ? (PQntuples(r) ? 0 : 1) : -1;
    if (rc == 0) rc = fill(r, out);
    PQclear(r);
    pg_give(P(s), c);
    return rc;
}

static int fill_order(const PGresult *r, void *out)
{
    struct st_order *o = out;
    pg_col(r, 0, 0, o->id, sizeof o->id);
    pg_col(r, 0, 1, o->account, sizeof o->account);
    o->status = pg_col_status(r, 0, 2);
    o->expires = atoll(PQgetvalue(r, 0, 3));
    o->n = store_split(PQgetvalue(r, 0, 4), (char *)o->identifiers, 256, ST_MAX_IDENTIFIERS);
    store_split(PQgetvalue(r, 0, 5), (char *)o->authz, ST_ID, ST_MAX_IDENTIFIERS);
    pg_col(r, 0, 6, o->error, sizeof o->error);
    pg_col(r, 0, 7, o->cert, sizeof o->cert);
    pg_col(r, 0, 8, o->replaces, sizeof o->replaces);
    pg_col(r, 0, 9, o->profile, sizeof o->profile);
    o->replaces_cert[0] = '\0';
    return 0;
}

int pg_order_get(struct store *s, const char *id, struct st_order *o)
{
    return query_one(s,
                     "SELECT id,account,status,expires,identifiers,authzs,error,cert,replaces,"
                     "profile FROM orders WHERE id=$1",
                     id, fill_order, o);
}

static int write_n(struct store *s, const char *sql, int n, const char *const *params)
{
    PGconn *c = pg_take(P(s));
    long rows = pg_exec(c, sql, n, params);
    pg_give(P(s), c);
    return rows < 0 ? -1 : rows ? 0 : 1;
}

int pg_order_invalidate(struct store *s, const char *id, const char *error)
{
    const char *p[] = {error, id};
    return write_n(s,
                   "UPDATE orders SET status='invalid', error=$1 WHERE id=$2 AND status IN "
                   "('pending','ready')",
                   2, p);
}

static int fill_authz(const PGresult *r, void *out)
{
    struct st_authz *a = out;
    pg_col(r, 0, 0, a->id, sizeof a->id);
    pg_col(r, 0, 1, a->account, sizeof a->account);
    pg_col(r, 0, 2, a->order, sizeof a->order);
    pg_col(r, 0, 3, a->identifier, sizeof a->identifier);
    a->wildcard = atoi(PQgetvalue(r, 0, 4));
    a->status = pg_col_status(r, 0, 5);
    a->expires = atoll(PQgetvalue(r, 0, 6));
    pg_col(r, 0, 7, a->token, sizeof a->token);
    pg_col(r, 0, 8, a->ch_type, sizeof a->ch_type);
    a->ch_status = pg_col_status(r, 0, 9);
    a->ch_validated = atoll(PQgetvalue(r, 0, 10));
    pg_col(r, 0, 11, a->ch_error, sizeof a->ch_error);
    return 0;
}

int pg_authz_get(struct store *s, const char *id, struct st_authz *a)
{
    return query_one(s,
                     "SELECT id,account,ord,identifier,wildcard,status,expires,token,ch_type,"
                     "ch_status,ch_validated,ch_error FROM authzs WHERE id=$1",
                     id, fill_authz, a);
}

int pg_authz_finish(struct store *s, const char *id, const char *type, int valid, int64_t expires,
                    int64_t validated, const char *error, const char *perspectives)
{
    char ex[24], va[24];
    const char *p[] = {valid ? "valid" : "invalid",
                       type,
                       I64(ex, expires),
                       I64(va, validated),
                       error ? error : "",
                       id,
                       perspectives ? perspectives : ""};
    return write_n(s,
                   "UPDATE authzs SET status=$1, ch_status=$1, ch_type=$2, expires=$3, "
                   "ch_validated=$4, ch_error=$5, perspectives=$7 WHERE id=$6 AND "
                   "status='pending'",
                   7, p);
}

int pg_authz_deactivate(struct store *s, const char *id)
{
    return write_n(s,
                   "UPDATE authzs SET status='deactivated' WHERE id=$1 AND status IN "
                   "('pending','valid')",
                   1, &id);
}

/* Rows of a query with parameters: their count (0 or more), or -1. */
static long count_rows(struct store *s, const char *sql, int n, const char *const *params)
{
    PGconn *c = pg_take(P(s));
    PGresult *r = pg_run(c, sql, n, params);
    long rows = r && PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;
    if (rows == 1 && PQnfields(r) == 1 && !strncmp(sql, "SELECT count", 12))
        rows = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    pg_give(P(s), c);
    return rows;
}

int pg_authz_covers(struct store *s, const char *account, const char *identifier, int64_t now)
{
    char n[24];
    const char *p[] = {account, identifier, I64(n, now)};
    long rows = count_rows(s,
                           "SELECT 1 FROM authzs WHERE account=$1 AND identifier=$2 AND "
                           "status='valid' AND expires>$3 LIMIT 1",
                           3, p);
    return rows < 0 ? -1 : rows ? 0 : 1;
}

long pg_authz_pending(struct store *s, const char *account)
{
    return count_rows(s, "SELECT count(*) FROM authzs WHERE account=$1 AND status='pending'", 1,
                      &account);
}

long pg_orders_list(struct store *s, const char *account, int64_t cursor, size_t max,
                    char (*ids)[ST_ID], int64_t *next)
{
    char cur[24], lim[24];
    const char *p[] = {account, I64(cur, cursor), I64(lim, max + 1)};
    *next = 0;
    PGconn *c = pg_take(P(s));
    PGresult *r = pg_run(c,
                         "SELECT seq, id FROM orders WHERE account=$1 AND seq>$2 AND "
                         "status!='invalid' ORDER BY seq LIMIT $3",
                         3, p);
    long n = r && PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : -1;
    if (n > (long)max) { /* one more than asked: there is a next page */
        n = (long)max;
        *next = atoll(PQgetvalue(r, (int)max - 1, 0));
    }
    for (long i = 0; i < n; i++)
        pg_col(r, (int)i, 1, ids[i], ST_ID);
    PQclear(r);
    pg_give(P(s), c);
    return n;
}

/* ---- certificates ---- */

int pg_cert_create(struct store *s, const char *account, const char *order, const char *serial,
                   const char *pem, const char *issuer, char out_id[ST_ID])
{
    if (store_new_id(out_id)) return -1;
    const char *p[] = {out_id, account, order, serial, pem, issuer};
    /* One statement is one round trip and its own transaction: the order
     * turns valid only with its certificate, and the certificate is kept
     * only if the order was still pending or ready (else 1, nothing kept). */
    PGconn *c = pg_take(P(s));
    long rows = pg_exec(c,
                        "WITH o AS (UPDATE orders SET status='valid', error='', cert=$1 WHERE "
                        "id=$3 AND status IN ('pending','ready') RETURNING id) "
                        "INSERT INTO certs(id,account,ord,serial,pem,issuer,created) "
                        "SELECT $1,$2,o.id,$4,$5,$6,extract(epoch from now())::bigint FROM o",
                        6, p);
    pg_give(P(s), c);
    return rows < 0 ? -1 : rows == 1 ? 0 : 1;
}

static int fill_cert(const PGresult *r, void *out)
{
    struct st_cert *c = out;
    pg_col(r, 0, 0, c->id, sizeof c->id);
    pg_col(r, 0, 1, c->account, sizeof c->account);
    pg_col(r, 0, 2, c->serial, sizeof c->serial);
    c->pem = strdup(PQgetvalue(r, 0, 3));
    c->revoked = atoi(PQgetvalue(r, 0, 4));
    pg_col(r, 0, 5, c->issuer, sizeof c->issuer);
    return c->pem ? 0 : -1;
}

int pg_cert_get(struct store *s, const char *id, struct st_cert *c)
{
    return query_one(s, "SELECT id,account,serial,pem,revoked,issuer FROM certs WHERE id=$1", id,
                     fill_cert, c);
}

int pg_cert_by_serial(struct store *s, const char *serial, struct st_cert *c)
{
    return query_one(s, "SELECT id,account,serial,pem,revoked,issuer FROM certs WHERE serial=$1",
                     serial, fill_cert, c);
}

int pg_cert_revoke(struct store *s, const char *id, int reason)
{
    char r[16];
    const char *p[] = {I64(r, reason), id};
    return write_n(s,
                   "UPDATE certs SET revoked=1, reason=$1, revoked_at=extract(epoch from "
                   "now())::bigint WHERE id=$2 AND revoked=0",
                   2, p);
}

int pg_cert_key_compromised(struct store *s, const char *id)
{
    const char *p[] = {id};
    return write_n(s, "UPDATE certs SET reason=1 WHERE id=$1 AND revoked=1 AND reason<>1", 1, p);
}

int pg_key_block(struct store *s, const char *thumb, const char *serial)
{
    const char *p[] = {thumb, serial};
    return write_n(s,
                   "INSERT INTO blocked_keys(thumb,serial,blocked) VALUES($1,$2,extract(epoch "
                   "from now())::bigint) ON CONFLICT DO NOTHING",
                   2, p) < 0
               ? -1
               : 0;
}

static int fill_none(const PGresult *r, void *out)
{
    (void)r;
    (void)out;
    return 0;
}

int pg_key_blocked(struct store *s, const char *thumb)
{
    int rc = query_one(s, "SELECT 1 FROM blocked_keys WHERE thumb=$1", thumb, fill_none, NULL);
    return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

int pg_certs_revoked(struct store *s, st_revoked_fn each, void *arg)
{
    PGconn *c = pg_take(P(s));
    PGresult *r = pg_run(
        c, "SELECT serial, revoked_at, reason, issuer FROM certs WHERE revoked=1 ORDER BY seq", 0,
        NULL);
    int rc = r && PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
    for (int i = 0; rc == 0 && r && i < PQntuples(r); i++)
        rc = each(arg, PQgetvalue(r, i, 0), atoll(PQgetvalue(r, i, 1)), atoi(PQgetvalue(r, i, 2)),
                  PQgetvalue(r, i, 3));
    PQclear(r);
    pg_give(P(s), c);
    return rc;
}

/* ---- rate limits ---- */

/* One decision's keys, read (and locked) in one round trip before
 * rl_take_all runs and written in one after it, instead of a round trip
 * per key each way: rl_take_all reads and writes this table. Should a
 * key come twice in one decision, it is read once and the second take
 * sees the first one's write, as it would in the table. */
struct rate_row {
    const char *key;
    int64_t tat;
    int dirty;
};

struct rate_rows {
    struct rate_row *r;
    size_t n;
};

static struct rate_row *rate_row(struct rate_rows *rs, const char *key)
{
    for (size_t i = 0; i < rs->n; i++)
        if (!strcmp(rs->r[i].key, key)) return &rs->r[i];
    return NULL;
}

static int rows_get(void *ctx, const char *key, int64_t *tat)
{
    struct rate_row *r = rate_row(ctx, key);
    if (!r) return -1;
    *tat = r->tat;
    return 0;
}

static int rows_set(void *ctx, const char *key, int64_t tat)
{
    struct rate_row *r = rate_row(ctx, key);
    if (!r) return -1;
    r->tat = tat;
    r->dirty = 1;
    return 0;
}

/* A PostgreSQL text[] (or bigint[]) literal of the rows' keys (or, with
 * tats, their arrival times), dirty rows only when only_dirty; malloc'd. */
static char *rate_array(const struct rate_rows *rs, int tats, int only_dirty)
{
    size_t cap = 3;
    for (size_t i = 0; i < rs->n; i++)
        cap += 2 * strlen(rs->r[i].key) + 24;
    char *a = malloc(cap), *w = a;
    if (!a) return NULL;
    *w++ = '{';
    for (size_t i = 0; i < rs->n; i++) {
        if (only_dirty && !rs->r[i].dirty) continue;
        if (w > a + 1) *w++ = ',';
        if (tats) {
            w += snprintf(w, 24, "%lld", (long long)rs->r[i].tat);
            continue;
        }
        *w++ = '"';
        for (const char *k = rs->r[i].key; *k; k++) {
            if (*k == '"' || *k == '\\') *w++ = '\\';
            *w++ = *k;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return a;
}

/* The rows of every counted key read into rs: locked until the commit
 * (an upsert that changes nothing still locks the row it found), in key
 * order, so two decisions sharing keys cannot deadlock; only looking, a
 * plain read. 0 or -1. */
static int rate_read(PGconn *c, struct rate_rows *rs, int peeks)
{
    char *keys = rate_array(rs, 0, 0);
    PGresult *r =
        keys ? pg_run(c,
                      peeks ? "SELECT key, tat FROM rate_limits WHERE key = ANY($1::text[])"
                            : "INSERT INTO rate_limits(key,tat) SELECT k, 0 FROM "
                              "unnest($1::text[]) AS k ORDER BY k ON CONFLICT(key) DO UPDATE "
                              "SET tat=rate_limits.tat RETURNING key, tat",
                      1, (const char *const *)&keys)
             : NULL;
    int ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        struct rate_row *row = rate_row(rs, PQgetvalue(r, i, 0));
        if (row) row->tat = atoll(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    free(keys);
    return ok ? 0 : -1;
}

static int rate_write(PGconn *c, const struct rate_rows *rs)
{
    size_t dirty = 0;
    for (size_t i = 0; i < rs->n; i++)
        dirty += (size_t)rs->r[i].dirty;
    if (!dirty) return 0;
    char *keys = rate_array(rs, 0, 1), *tats = rate_array(rs, 1, 1);
    const char *p[] = {keys, tats};
    long rows = keys && tats ? pg_exec(c,
                                       "UPDATE rate_limits AS r SET tat=v.tat FROM "
                                       "unnest($1::text[], $2::bigint[]) AS v(key, tat) "
                                       "WHERE r.key=v.key",
                                       2, p)
                             : -1;
    free(keys);
    free(tats);
    return rows == (long)dirty ? 0 : -1;
}

/* The decision for t[0..n) on c, inside the caller's transaction (or
 * none, when every take only peeks): each key's row is locked (FOR
 * UPDATE) until the commit, so that two requests, on any instances,
 * racing for the last token cannot both have it. 0, 1 refused, -1. */
static int rate_in_tx(PGconn *c, const struct rl_take *t, size_t n, int64_t now_ms, int peeks,
                      size_t *which, int64_t *retry_ms)
{
    struct rate_rows rs = {calloc(n ? n : 1, sizeof *rs.r), 0};
    if (!rs.r) return -1;
    for (size_t i = 0; i < n; i++)
        if (t[i].l->count > 0 && !rate_row(&rs, t[i].key)) rs.r[rs.n++].key = t[i].key;
    int rc = rs.n && rate_read(c, &rs, peeks) ? -1 : 0;
    if (rc == 0) rc = rl_take_all(t, n, now_ms, rows_get, rows_set, &rs, which, retry_ms);
    if (rc == 0 && !peeks && rate_write(c, &rs)) rc = -1;
    free(rs.r);
    return rc;
}

int pg_rate_take(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms, size_t *which,
                 int64_t *retry_ms)
{
    int peeks = 1;
    for (size_t i = 0; i < n; i++)
        peeks &= t[i].mode == RL_PEEK;
    PGconn *c = pg_take(P(s));
    size_t w = 0;
    int64_t retry = 0;
    int rc = peeks ? 0 : pg_begin(c);
    if (rc == 0) rc = rate_in_tx(c, t, n, now_ms, peeks, &w, &retry);
    if (!peeks) {
        if (rc == 0 && pg_commit(c)) rc = -1;
        if (rc) pg_rollback(c);
    }
    pg_give(P(s), c);
    if (which) *which = w;
    if (retry_ms) *retry_ms = retry;
    return rc;
}
