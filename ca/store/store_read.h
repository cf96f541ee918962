/*
 * store_read.h: the store's read API, on a const store: what the front end
 * (wfe/), the VA and the check layer may do with the CA's state. Reads
 * change nothing stored (a backend may still use its connection and row
 * caches inside). The writes, for the RA and the composition root, are in
 * store.h.
 *
 * Results: 0 found, 1 not found, -1 error (unless said otherwise).
 */
#ifndef CA_STORE_READ_H
#define CA_STORE_READ_H

#include <stddef.h>
#include <stdint.h>

#define ST_ID 24
#define ST_JWK 4096
#define ST_TEXT 2048
#define ST_MAX_IDENTIFIERS 100

/* The ACME statuses (RFC 8555 7.1.6) as the rows hold them. The backends
 * keep text columns (readable in SQL and in a dump) and map them to these
 * at their boundary, so no layer above compares strings. ST_EXPIRED is
 * never stored: the RA derives it (ra_status.h). */
enum st_status {
    ST_UNKNOWN = 0, /* text no backend should hold: treated as failed */
    ST_PENDING,
    ST_READY,
    ST_PROCESSING,
    ST_VALID,
    ST_INVALID,
    ST_DEACTIVATED,
    ST_EXPIRED,
    ST_REVOKED
};
/* The wire name ("valid"), "" for ST_UNKNOWN or out of range. */
const char *st_status_name(enum st_status s);
/* Exact, case-sensitive; ST_UNKNOWN for anything else (NULL included). */
enum st_status st_status_parse(const char *s);

/* Rows start with their id: the store's caches key on it. */
struct st_account {
    char id[ST_ID];
    enum st_status status; /* valid, deactivated */
    char jwk[ST_JWK];
    char thumb[48];
    char contact[ST_TEXT]; /* JSON array */
    int did_persist;       /* has completed a dns-persist-01 validation */
};

struct st_order {
    char id[ST_ID];
    char account[ST_ID];
    enum st_status status; /* pending, ready, processing, valid, invalid */
    int64_t expires;
    size_t n;
    char identifiers[ST_MAX_IDENTIFIERS][256];
    char authz[ST_MAX_IDENTIFIERS][ST_ID];
    char error[ST_TEXT]; /* problem JSON or "" */
    char cert[ST_ID];
    char replaces[160];        /* RFC 9773: the certificate ID it replaces, or "" */
    char replaces_cert[ST_ID]; /* at creation: that certificate's id, marked replaced */
    char profile[32];          /* the certificate profile (profile.h) */
};

struct st_authz {
    char id[ST_ID];
    char account[ST_ID];
    char order[ST_ID];
    char identifier[256]; /* without "*." */
    int wildcard;
    enum st_status status; /* pending, valid, invalid, deactivated */
    int64_t expires;
    char token[64];
    char ch_type[24];         /* the challenge answered, "" before */
    enum st_status ch_status; /* its status: pending, processing, valid, invalid */
    int64_t ch_validated;
    char ch_error[ST_TEXT];
};

struct st_cert {
    char id[ST_ID];
    char account[ST_ID];
    char serial[48];
    char *pem; /* caller frees */
    int revoked;
    char issuer[32]; /* the intermediate that signed it: "" the primary (pki.h) */
};

struct store;

/* The CA's own settings that published records depend on ("external_url",
 * "hash_prefix"): 0 found, 1 none, -1 error. */
int store_meta_get(const struct store *s, const char *key, char *out, size_t cap);
int store_account_get(const struct store *s, const char *id, struct st_account *out);
int store_account_by_thumb(const struct store *s, const char *thumb, struct st_account *out);
/* Every thumbprint the account has used (A6, draft 4.2: no cap), current
 * key first, then older keys newest first, into a new array *out (caller
 * frees). Returns the count; 0 with *out NULL on error. */
size_t store_account_keys(const struct store *s, const char *id, char (**out)[48]);
int store_order_get(const struct store *s, const char *id, struct st_order *out);
int store_authz_get(const struct store *s, const char *id, struct st_authz *out);
/* 0 when account holds a valid, unexpired authorization of identifier (no
 * "*."), 1 when not, -1 on error: RFC 8555 7.6's second way to revoke. */
int store_authz_covers(const struct store *s, const char *account, const char *identifier,
                       int64_t now);
int store_cert_get(const struct store *s, const char *id, struct st_cert *out);
int store_cert_by_serial(const struct store *s, const char *serial, struct st_cert *out);
/* 1 for a key reported compromised (store_key_block), 0 not, -1 error. */
int store_key_blocked(const struct store *s, const char *thumb);
/* Calls each for every revoked certificate (serial hex, revocation time,
 * reason, issuer) until it returns non-zero; 0, each's result, or -1. */
typedef int (*st_revoked_fn)(void *arg, const char *serial, int64_t when, int reason,
                             const char *issuer);
int store_certs_revoked(const struct store *s, st_revoked_fn each, void *arg);
/* Up to max ids of the account's orders that are not invalid, oldest first,
 * after cursor (0 for the start): their count, *next the cursor of the next
 * page (0 when none), or -1. */
long store_orders_list(const struct store *s, const char *account, int64_t cursor, size_t max,
                       char (*ids)[ST_ID], int64_t *next);
/* The account's pending authorizations, or -1. */
long store_authz_pending(const struct store *s, const char *account);
/* 1 when other processes may write the same database. */
int store_shared(const struct store *s);
/* The failed-validation limit (draft-02 9.3.1, V7) looked at, not spent:
 * t's mode must be RL_PEEK. 1 refused now, 0 allowed, -1 error. */
struct rl_take;
int store_rate_peek(const struct store *s, const struct rl_take *t, int64_t now_ms);

#endif
