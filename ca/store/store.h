/*
 * store.h: the CA's persistent state, the interface every backend provides
 * (store_sqlite.c today). The registration authority (ra.c) is the only
 * caller that changes a status; every such change is a compare-and-set
 * from the status it expects, and every multi-row change one transaction.
 *
 * Results: 0 done (or found), 1 nothing applied (not found, or the row was
 * not in the expected status), -1 error.
 */
#ifndef CA_STORE_H
#define CA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "ratelimit.h"
#include "store_read.h"

/* Opens (creating and migrating the schema) the database db: a SQLite file
 * (a path, or sqlite:PATH) or a PostgreSQL server (a libpq URI,
 * postgresql://...). caches 0 keeps no rows in memory (tests check it
 * changes no result; PostgreSQL, shared by several instances, keeps none).
 * NULL with why on failure, e.g. a schema newer than this binary. */
struct store *store_open(const char *db, int caches, char *why, size_t cap);
/* 1 when db names a PostgreSQL server rather than a file. */
int store_is_url(const char *db);
void store_close(struct store *s);

int store_new_id(char out[ST_ID]);

int store_meta_set(struct store *s, const char *key, const char *value);
int store_account_create(struct store *s, const char *jwk, const char *thumb, const char *contact,
                         struct st_account *out);
/* Only for a valid account (1 otherwise). */
int store_account_set_contact(struct store *s, const char *id, const char *contact);
/* valid -> deactivated, with what it authorized (RFC 8555 7.3.6): its
 * pending authorizations deactivated, its pending and ready orders invalid
 * with order_error (a problem document), all in one transaction. 1 when
 * the account was not valid. */
int store_account_deactivate(struct store *s, const char *id, const char *order_error);
int store_account_mark_persist(struct store *s, const char *id);
/* Replaces the key; the old thumbprint stays in the history (A6). 1: the
 * new key already belongs to an account. */
int store_account_rollover(struct store *s, const char *id, const char *jwk, const char *thumb);

/* An order's authorization as it is created: pending, or already valid by
 * Just-in-Time dns-persist-01 validation (A5; draft 4.4). */
struct st_authz_init {
    int wildcard;
    int64_t expires;
    int64_t validated;        /* 0: pending */
    const char *perspectives; /* Just-in-Time under MPIC: those that agreed; NULL for none */
};
/* Rate-limit takes (store_rate_take below) made in the transaction of
 * what they count; which and retry_ms are set when one is refused. */
struct rl_take;
struct st_rate {
    const struct rl_take *t;
    size_t n;
    int64_t now_ms;
    size_t which;
    int64_t retry_ms;
};
/* Creates the order (with o->status, the RA's decision) and its
 * authorizations in one transaction. With replaces_cert, that
 * certificate is marked replaced by it in the same transaction; 1 (nothing
 * created) when another order, not invalid, replaced it already. rate
 * (NULL for none) is taken first in the same transaction: 2, nothing
 * created or counted, when one of its limits refuses. */
int store_order_create(struct store *s, struct st_order *o, const struct st_authz_init *init,
                       struct st_rate *rate);
/* pending|ready -> invalid, with the problem JSON error. */
int store_order_invalidate(struct store *s, const char *id, const char *error);
/* pending -> valid|invalid, the challenge of type with it: the result of a
 * validation, and the perspectives that agreed (MPIC; "" for the primary
 * alone). 1 when the authorization was no longer pending (deactivated
 * meanwhile: the deactivation stands). */
int store_authz_finish(struct store *s, const char *id, const char *type, int valid,
                       int64_t expires, int64_t validated, const char *error,
                       const char *perspectives);
/* pending|valid -> deactivated. */
int store_authz_deactivate(struct store *s, const char *id);

/* Stores the certificate (issuer: the intermediate that signed it, "" for
 * the primary) and moves its order to valid, in one transaction; 1 (nothing
 * stored) when the order is already valid or invalid. The caller has
 * checked that every authorization is valid ("ready" is derived). */
int store_cert_create(struct store *s, const char *account, const char *order, const char *serial,
                      const char *pem, const char *issuer, char out_id[ST_ID]);
/* Not revoked -> revoked with an RFC 5280 reason; 1 when already revoked. */
int store_cert_revoke(struct store *s, const char *id, int reason);
/* An already revoked certificate's reason raised to keyCompromise (1),
 * its revocation date kept (CA/B BR 7.2.2: a CA that learns of a key
 * compromise later SHOULD say so); 1 when it was keyCompromise already, or
 * is not revoked. */
int store_cert_key_compromised(struct store *s, const char *id);
/* Keys reported compromised, by RFC 7638 thumbprint: recorded (idempotent)
 * with the serial that reported them (store_key_blocked reads them). */
int store_key_block(struct store *s, const char *thumb, const char *serial);

/* Rate limits (ratelimit.h): GCRA decisions for several keys, read and
 * written in one transaction, all or nothing. Each take spends one (RL_SPEND),
 * only looks (RL_PEEK), or spends even past the limit (RL_FORCE: counting
 * what was done anyway). 0 all allowed (and counted); 1 one refused (its
 * index in *which, the wait in *retry_ms; nothing counted); -1 error. */
int store_rate_take(struct store *s, const struct rl_take *t, size_t n, int64_t now_ms,
                    size_t *which, int64_t *retry_ms);

/* What several instances sharing one database need (PostgreSQL; SQLite
 * implements them too, for one instance). */
/* Sets key to value only when it has none; out (cap) gets the value stored
 * (this one or an earlier one): 0, or -1. */
int store_meta_add(struct store *s, const char *key, const char *value, char *out, size_t cap);
/* A lease on name for owner, until now + seconds: 0 taken (or renewed by
 * its owner), 1 another owner holds it and it has not expired, -1. */
int store_lease_take(struct store *s, const char *name, const char *owner, int seconds);
/* Ends owner's lease on name (no-op when another holds it): 0 or -1. */
int store_lease_drop(struct store *s, const char *name, const char *owner);
/* An answered challenge, for instances sharing the database: pending ->
 * processing with a lease of owner for seconds: 0, 1 when it is not
 * pending any more (another instance took it), -1. */
int store_authz_answer(struct store *s, const char *id, const char *type, const char *owner,
                       int seconds);
/* Claims up to max answered challenges whose lease has run out (their
 * instance died mid-validation) for owner, for seconds more: their ids,
 * accounts and challenge types; the count, or -1. */
long store_authz_claim(struct store *s, const char *owner, int seconds, size_t max,
                       char (*ids)[ST_ID], char (*accounts)[ST_ID], char (*types)[24]);
/* Records a nonce's use (kept until expires, then forgotten): 1 the first
 * use, 0 used before, -1 error. */
int store_nonce_use(struct store *s, const char *nonce, int64_t expires);

#endif
