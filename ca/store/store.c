/*
 * store.c: the store.h calls, dispatched to the backend the CA was started
 * with (--database: SQLite, the embedded default, or PostgreSQL).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnspersist/dnspersist.h"
#include "store_impl.h"

#define OPS(s) (((const struct store_base *)(const void *)(s))->ops)
/* A read passes the const store on as the backend's handle: the backend
 * may lock its connection or fill its row cache, but stores nothing. */
#define RW(s) ((struct store *)(uintptr_t)(const void *)(s))

int store_is_url(const char *db)
{
    return !strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11);
}

struct store *store_open(const char *db, int caches, char *why, size_t cap)
{
    if (store_is_url(db)) return store_pg_open(db, why, cap);
    if (!strncmp(db, "sqlite:", 7)) db += 7;
    return store_sqlite_open(db, caches, why, cap);
}

void store_close(struct store *s)
{
    if (s) OPS(s)->close(s);
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
    return OPS(s)->account_get(RW(s), id, out);
}

int store_account_by_thumb(const struct store *s, const char *thumb, struct st_account *out)
{
    return OPS(s)->account_by_thumb(RW(s), thumb, out);
}

int store_account_set_contact(struct store *s, const char *id, const char *contact)
{
    return OPS(s)->account_set_contact(s, id, contact);
}

int store_account_deactivate(struct store *s, const char *id, const char *order_error)
{
    return OPS(s)->account_deactivate(s, id, order_error);
}

int store_account_mark_persist(struct store *s, const char *id)
{
    return OPS(s)->account_mark_persist(s, id);
}

int store_account_rollover(struct store *s, const char *id, const char *jwk, const char *thumb)
{
    return OPS(s)->account_rollover(s, id, jwk, thumb);
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
    return OPS(s)->authz_get(RW(s), id, out);
}

int store_authz_finish(struct store *s, const char *id, const char *type, int valid,
                       int64_t expires, int64_t validated, const char *error,
                       const char *perspectives)
{
    return OPS(s)->authz_finish(s, id, type, valid, expires, validated, error, perspectives);
}

int store_authz_deactivate(struct store *s, const char *id)
{
    return OPS(s)->authz_deactivate(s, id);
}

int store_authz_covers(const struct store *s, const char *account, const char *identifier,
                       int64_t now)
{
    return OPS(s)->authz_covers(RW(s), account, identifier, now);
}

int store_cert_create(struct store *s, const char *account, const char *order, const char *serial,
                      const char *pem, char out_id[ST_ID])
{
    return OPS(s)->cert_create(s, account, order, serial, pem, out_id);
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

int store_certs_revoked(const struct store *s,
                        int (*each)(void *arg, const char *serial, int64_t when, int reason),
                        void *arg)
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
    return OPS(s)->authz_answer(s, id, type, owner, seconds);
}

long store_authz_claim(struct store *s, const char *owner, int seconds, size_t max,
                       char (*ids)[ST_ID], char (*accounts)[ST_ID], char (*types)[24])
{
    return OPS(s)->authz_claim(s, owner, seconds, max, ids, accounts, types);
}
