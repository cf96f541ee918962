/*
 * store_impl.h: what a storage backend provides (store.c dispatches the
 * store.h calls to it). A backend's store struct starts with a struct
 * store_base, so store.c can reach the operations of any backend.
 */
#ifndef CA_STORE_IMPL_H
#define CA_STORE_IMPL_H

#include "ratelimit.h"
#include "store.h"

struct store_ops {
    int shared; /* other processes may write the same database */
    void (*close)(struct store *s);
    int (*meta_get)(struct store *s, const char *key, char *out, size_t cap);
    int (*meta_set)(struct store *s, const char *key, const char *value);
    int (*account_create)(struct store *s, const char *jwk, const char *thumb, const char *contact,
                          struct st_account *out);
    int (*account_get)(struct store *s, const char *id, struct st_account *out);
    int (*account_by_thumb)(struct store *s, const char *thumb, struct st_account *out);
    int (*account_set_contact)(struct store *s, const char *id, const char *contact);
    int (*account_deactivate)(struct store *s, const char *id, const char *order_error);
    int (*account_mark_persist)(struct store *s, const char *id);
    int (*account_rollover)(struct store *s, const char *id, const char *jwk, const char *thumb);
    size_t (*account_keys)(struct store *s, const char *id, char (**out)[48]);
    int (*order_create)(struct store *s, struct st_order *o, const struct st_authz_init *init,
                        struct st_rate *rate);
    int (*order_get)(struct store *s, const char *id, struct st_order *out);
    int (*order_invalidate)(struct store *s, const char *id, const char *error);
    int (*authz_get)(struct store *s, const char *id, struct st_authz *out);
    int (*authz_finish)(struct store *s, const char *id, const char *type, int valid,
                        int64_t expires, int64_t validated, const char *error,
                        const char *perspectives);
    int (*authz_deactivate)(struct store *s, const char *id);
    int (*authz_covers)(struct store *s, const char *account, const char *identifier, int64_t now);
    int (*cert_create)(struct store *s, const char *account, const char *order, const char *serial,
                       const char *pem, const char *issuer, char out_id[ST_ID]);
    int (*cert_get)(struct store *s, const char *id, struct st_cert *out);
    int (*cert_by_serial)(struct store *s, const char *serial, struct st_cert *out);
    int (*cert_revoke)(struct store *s, const char *id, int reason);
    int (*cert_key_compromised)(struct store *s, const char *id);
    int (*key_block)(struct store *s, const char *thumb, const char *serial);
    int (*key_blocked)(struct store *s, const char *thumb);
    int (*certs_revoked)(struct store *s, st_revoked_fn each, void *arg);
    int (*rate_take)(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms,
                     size_t *which, int64_t *retry_ms);
    long (*orders_list)(struct store *s, const char *account, int64_t cursor, size_t max,
                        char (*ids)[ST_ID], int64_t *next);
    long (*authz_pending)(struct store *s, const char *account);
    int (*meta_add)(struct store *s, const char *key, const char *value, char *out, size_t cap);
    int (*lease_take)(struct store *s, const char *name, const char *owner, int seconds);
    int (*lease_drop)(struct store *s, const char *name, const char *owner);
    int (*nonce_use)(struct store *s, const char *nonce, int64_t expires);
    int (*authz_answer)(struct store *s, const char *id, const char *type, const char *owner,
                        int seconds);
    long (*authz_claim)(struct store *s, const char *owner, int seconds, size_t max,
                        char (*ids)[ST_ID], char (*accounts)[ST_ID], char (*types)[24]);
};

struct store_cache;
struct store_base {
    const struct store_ops *ops;
    struct store_cache *cache; /* set by store.c: NULL, or rows kept in memory */
};

/* How both backends keep an order's identifiers and authorizations in one
 * column: n strings stored w octets apart, joined with '\n' (identifiers
 * never contain one; caller frees), and split back (their count). */
char *store_join(const char *v, size_t n, size_t w);
size_t store_split(const char *in, char *out, size_t w, size_t max);

/* The backends: path is a file name; url a libpq connection URI. */
struct store *store_sqlite_open(const char *path, char *why, size_t cap);
struct store *store_pg_open(const char *url, char *why, size_t cap);

#endif
