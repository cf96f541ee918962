/*
 * store.c: the store.h calls, dispatched to the backend the CA was started
 * with (--database: SQLite, the embedded default, or PostgreSQL).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnspersist/dnspersist.h"
#include "store_cache.h"
#include "store_impl.h"

#define OPS(s) (((const struct store_base *)(const void *)(s))->ops)
/* A read passes the const store on as the backend's handle: the backend
 * may lock its connection or fill its row cache, but stores nothing. */
#define RW(s) ((struct store *)(uintptr_t)(const void *)(s))
#define CACHE(s) (((const struct store_base *)(const void *)(s))->cache)

int store_is_url(const char *db)
{
    return !strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11);
}

struct store *store_open(const char *db, int caches, char *why, size_t cap)
{
    struct store *s = store_is_url(db)
                          ? store_pg_open(db, why, cap)
                          : store_sqlite_open(db + (strncmp(db, "sqlite:", 7) ? 0 : 7), why, cap);
    if (!s) return NULL;
    struct store_base *b = (struct store_base *)(void *)s;
    b->cache = NULL;
    /* Rows are kept only when no other process writes them: this one is
     * the database's only writer (the data directory's lock, app/main.c). */
    if (caches && !b->ops->shared && !(b->cache = store_cache_new())) {
        snprintf(why, cap, "out of memory for the row caches");
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(struct store *s)
{
    if (!s) return;
    struct store_cache *c = CACHE(s);
    OPS(s)->close(s);
    store_cache_free(c);
}

/* A cached read's way to the backend. */
static int read_account(void *s, const char *id, void *out)
{
    return OPS(s)->account_get(s, id, out);
}

static int read_authz(void *s, const char *id, void *out)
{
    return OPS(s)->authz_get(s, id, out);
}

int store_meta_get(const struct store *s, const char *key, char *out, size_t cap)
{
    return OPS(s)->meta_get(RW(s), key, out, cap);
}

int store_meta_set(struct store *s, const char *key, const char *value)
{
    return OPS(s)->meta_set(s, key, value);
}

int store_account_create(struct store *s, const char *jwk, const char *thumb, const char *contact,
                         struct st_account *out)
{
    return OPS(s)->account_create(s, jwk, thumb, contact, out);
}

int store_account_get(const struct store *s, const char *id, struct st_account *out)
{
    if (!CACHE(s)) return OPS(s)->account_get(RW(s), id, out);
    return store_cache_get(CACHE(s), SC_ACCOUNT, id, out, read_account, RW(s));
}

int store_account_by_thumb(const struct store *s, const char *thumb, struct st_account *out)
{
    return OPS(s)->account_by_thumb(RW(s), thumb, out);
}

/* Every write to a cached row is bracketed (store_cache.h): WRITE runs
 * call, a backend write returning int, between begin and end. */
#define WRITE(s, kind_, id_, call)                                                                 \
    do {                                                                                           \
        struct sc_write w_ = {.kind = (kind_), .id = (id_)};                                       \
        store_cache_begin(CACHE(s), &w_, NULL);                                                    \
        int rc_ = (call);                                                                          \
        store_cache_end(CACHE(s), &w_, NULL);                                                      \
        return rc_;                                                                                \
    } while (0)

int store_account_set_contact(struct store *s, const char *id, const char *contact)
{
    WRITE(s, SC_ACCOUNT, id, OPS(s)->account_set_contact(s, id, contact));
}

int store_account_deactivate(struct store *s, const char *id, const char *order_error)
{
    /* Its pending authorizations change too, unnamed: every one of the
     * account's cached authorizations goes. */
    struct sc_write wa = {.kind = SC_ACCOUNT, .id = id}, wz = {.kind = SC_AUTHZ, .account = id};
    store_cache_begin(CACHE(s), &wa, NULL);
    store_cache_begin(CACHE(s), &wz, NULL);
    int rc = OPS(s)->account_deactivate(s, id, order_error);
    store_cache_end(CACHE(s), &wz, NULL);
    store_cache_end(CACHE(s), &wa, NULL);
    return rc;
}

int store_account_mark_persist(struct store *s, const char *id)
{
    WRITE(s, SC_ACCOUNT, id, OPS(s)->account_mark_persist(s, id));
}

int store_account_rollover(struct store *s, const char *id, const char *jwk, const char *thumb)
{
    WRITE(s, SC_ACCOUNT, id, OPS(s)->account_rollover(s, id, jwk, thumb));
}

size_t store_account_keys(const struct store *s, const char *id, char (**out)[48])
{
    return OPS(s)->account_keys(RW(s), id, out);
}

/* What every backend needs first: the ids, and the order's first status
 * (ready at once when Just-in-Time validated every authorization). */
int store_order_create(struct store *s, struct st_order *o, const struct st_authz_init *init,
                       struct st_rate *rate)
{
    if (o->status != ST_PENDING && o->status != ST_READY) return -1; /* no other first status */
    if (store_new_id(o->id)) return -1;
    for (size_t i = 0; i < o->n; i++)
        if (store_new_id(o->authz[i])) return -1;
    return OPS(s)->order_create(s, o, init, rate);
}

int store_order_get(const struct store *s, const char *id, struct st_order *out)
{
    return OPS(s)->order_get(RW(s), id, out);
}

int store_order_invalidate(struct store *s, const char *id, const char *error)
{
    return OPS(s)->order_invalidate(s, id, error);
}

int store_authz_get(const struct store *s, const char *id, struct st_authz *out)
{
    if (!CACHE(s)) return OPS(s)->authz_get(RW(s), id, out);
    return store_cache_get(CACHE(s), SC_AUTHZ, id, out, read_authz, RW(s));
}

int store_authz_finish(struct store *s, const char *id, const char *type, int valid,
                       int64_t expires, int64_t validated, const char *error,
                       const char *perspectives)
{
    struct sc_write w = {.kind = SC_AUTHZ, .id = id};
    struct st_authz a;
    int had = store_cache_begin(CACHE(s), &w, &a);
    int rc = OPS(s)->authz_finish(s, id, type, valid, expires, validated, error, perspectives);
    /* The client polls this row next: keep a cached copy current, as the
     * write left it (store.h: status and ch_status both become the
     * result), rather than making that poll miss. */
    if (rc == 0 && had) {
        a.status = a.ch_status = valid ? ST_VALID : ST_INVALID;
        snprintf(a.ch_type, sizeof a.ch_type, "%s", type);
        a.expires = expires;
        a.ch_validated = validated;
        snprintf(a.ch_error, sizeof a.ch_error, "%s", error ? error : "");
    }
    store_cache_end(CACHE(s), &w, rc == 0 && had ? &a : NULL);
    return rc;
}

int store_authz_deactivate(struct store *s, const char *id)
{
    WRITE(s, SC_AUTHZ, id, OPS(s)->authz_deactivate(s, id));
}

int store_authz_covers(const struct store *s, const char *account, const char *identifier,
                       int64_t now)
{
    return OPS(s)->authz_covers(RW(s), account, identifier, now);
}

int store_cert_create(struct store *s, const char *account, const char *order, const char *serial,
                      const char *pem, const char *issuer, char out_id[ST_ID])
{
    return OPS(s)->cert_create(s, account, order, serial, pem, issuer ? issuer : "", out_id);
}

int store_cert_get(const struct store *s, const char *id, struct st_cert *out)
{
    return OPS(s)->cert_get(RW(s), id, out);
}

int store_cert_by_serial(const struct store *s, const char *serial, struct st_cert *out)
{
    return OPS(s)->cert_by_serial(RW(s), serial, out);
}

int store_cert_revoke(struct store *s, const char *id, int reason)
{
    return OPS(s)->cert_revoke(s, id, reason);
}

int store_cert_key_compromised(struct store *s, const char *id)
{
    return OPS(s)->cert_key_compromised(s, id);
}

int store_key_block(struct store *s, const char *thumb, const char *serial)
{
    return OPS(s)->key_block(s, thumb, serial);
}

int store_key_blocked(const struct store *s, const char *thumb)
{
    return OPS(s)->key_blocked(RW(s), thumb);
}

int store_certs_revoked(const struct store *s, st_revoked_fn each, void *arg)
{
    return OPS(s)->certs_revoked(RW(s), each, arg);
}

int store_rate_take(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms,
                    size_t *which, int64_t *retry_ms)
{
    return OPS(s)->rate_take(s, t, n, now_ms, which, retry_ms);
}

long store_orders_list(const struct store *s, const char *account, int64_t cursor, size_t max,
                       char (*ids)[ST_ID], int64_t *next)
{
    return OPS(s)->orders_list(RW(s), account, cursor, max, ids, next);
}

long store_authz_pending(const struct store *s, const char *account)
{
    return OPS(s)->authz_pending(RW(s), account);
}
int store_rate_peek(const struct store *s, const struct rl_take *t, int64_t now_ms)
{
    if (t->mode != RL_PEEK) return -1;
    return OPS(s)->rate_take(RW(s), t, 1, now_ms, NULL, NULL);
}

int store_shared(const struct store *s)
{
    return OPS(s)->shared;
}

int store_meta_add(struct store *s, const char *key, const char *value, char *out, size_t cap)
{
    return OPS(s)->meta_add(s, key, value, out, cap);
}

int store_lease_take(struct store *s, const char *name, const char *owner, int seconds)
{
    return OPS(s)->lease_take(s, name, owner, seconds);
}

int store_lease_drop(struct store *s, const char *name, const char *owner)
{
    return OPS(s)->lease_drop(s, name, owner);
}

int store_nonce_use(struct store *s, const char *nonce, int64_t expires)
{
    return OPS(s)->nonce_use(s, nonce, expires);
}

int store_authz_answer(struct store *s, const char *id, const char *type, const char *owner,
                       int seconds)
{
    WRITE(s, SC_AUTHZ, id, OPS(s)->authz_answer(s, id, type, owner, seconds));
}

long store_authz_claim(struct store *s, const char *owner, int seconds, size_t max,
                       char (*ids)[ST_ID], char (*accounts)[ST_ID], char (*types)[24])
{
    /* The rows it claims are unknown until it returns: all are held, then
     * each claimed one dropped. */
    struct sc_write all = {.kind = SC_AUTHZ};
    store_cache_begin(CACHE(s), &all, NULL);
    long n = OPS(s)->authz_claim(s, owner, seconds, max, ids, accounts, types);
    store_cache_end(CACHE(s), &all, NULL);
    for (long i = 0; i < n; i++) {
        struct sc_write one = {.kind = SC_AUTHZ, .id = ids[i]};
        store_cache_begin(CACHE(s), &one, NULL);
        store_cache_end(CACHE(s), &one, NULL);
    }
    return n;
}
