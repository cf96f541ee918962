/*
 * wfe.h: the ACME web front end (RFC 8555), shared by its files: wfe.c
 * (routing, directory, nonces), wfe_request.c (the JWS gate), wfe_view.c
 * (JSON views, URLs, replies), and one file per resource family. The front
 * end only speaks HTTP and JWS: every decision and state change is the
 * registration authority's (ra.h).
 */
#ifndef CA_WFE_H
#define CA_WFE_H

#include <jansson.h>

#include "cache.h"
#include "http.h"
#include "nonce.h"
#include "pki.h"
#include "profile.h"
#include "ra.h"
#include "store_read.h"

/* The front end's slice of the configuration (borrowed). */
struct wfe_config {
    const char *base; /* https://host:port: every URL starts with it */
    const char *const *issuers;
    size_t n_issuers;
    const char *hash_prefix;
    const char *const *caa_identities;
    size_t n_caa;
    const struct profiles *profiles;
    int persist;           /* dns-persist-01 offered */
    int eab_required;      /* externalAccountRequired */
    int draft01_compat;    /* draft-01 fields in challenges */
    int directory_draft01; /* --directory-meta draft01 */
};

/* The ACME front end: what it reads and who decides. */
struct wfe {
    const struct wfe_config *cfg;
    struct ra *ra;             /* every decision and state change */
    const struct store *store; /* reads only */
    struct nonces *nonces;
    struct cache *keys; /* parsed account keys by thumbprint */
    struct pki *pki;    /* the chain appended to certificates */
    struct dp_ctx *dp;  /* the Public Suffix List */
    const char *base;   /* cfg->base */
};

/* An authenticated POST. */
struct post {
    struct dp_jws *jws;
    struct st_account acct; /* when signed with kid */
    int by_kid;
    json_t *payload; /* NULL for POST-as-GET */
};

enum wfe_key { WFE_JWK = 1, WFE_KID = 2 }; /* which key forms a resource takes */

/* Checks a POST in this order: size, content type, JWS shape and
 * algorithm, url header equal to the request URL, nonce, key form (keys:
 * WFE_JWK and/or WFE_KID), account status, signature, payload object.
 * 0 when the request may proceed (post_free it); else the problem is in r. */
int wfe_check_post(struct wfe *wfe, const struct http_req *req, struct http_resp *r, int keys,
                   struct post *p);
void wfe_post_free(struct post *p);
/* The cache of parsed account keys for wfe->keys (on 0: none kept). */
struct cache *wfe_key_cache_new(int on);

/* Replies. */
void wfe_reply_json(struct http_resp *r, int status, json_t *o); /* takes o */
void wfe_problem(struct http_resp *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* With the members of extra (borrowed) added to the problem document. */
void wfe_problem_extra(struct http_resp *r, int status, const char *type, json_t *extra,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void wfe_ra_problem(struct wfe *wfe, struct http_resp *r, const struct ra_problem *p);

/* URLs and views. */
void wfe_url(const struct wfe *wfe, char *out, size_t cap, const char *kind, const char *id);
json_t *wfe_time_json(int64_t t);
json_t *wfe_account_view(const struct wfe *wfe, const struct st_account *a);
json_t *wfe_order_view(const struct wfe *wfe, const struct st_order *o);
json_t *wfe_authz_view(struct wfe *wfe, const struct st_authz *a);
json_t *wfe_challenge_view(const struct wfe *wfe, const struct st_authz *a, int t);

/* Handlers: id is what follows "/acme/<kind>/" (NULL for fixed paths). */
typedef void (*wfe_handler)(struct wfe *wfe, const struct http_req *req, struct http_resp *r,
                            const char *id);
void wfe_new_account(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_account(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_key_change(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_new_order(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_order(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_authz(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_challenge(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_cert(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_revoke(struct wfe *, const struct http_req *, struct http_resp *, const char *);
void wfe_renewal_info(struct wfe *, const struct http_req *, struct http_resp *, const char *);

/* The http.c handler: routes one request. */
void wfe_handle(void *wfe, const struct http_req *req, struct http_resp *resp);

#endif
