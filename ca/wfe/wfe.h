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

#include "ca.h"
#include "http.h"
#include "ra.h"

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
int wfe_check_post(struct ca *ca, const struct http_req *req, struct http_resp *r, int keys,
                   struct post *p);
void wfe_post_free(struct post *p);
/* The cache of parsed account keys for ca->keys (on 0: none kept). */
struct cache *wfe_key_cache_new(int on);

/* Replies. */
void wfe_reply_json(struct http_resp *r, int status, json_t *o); /* takes o */
void wfe_problem(struct http_resp *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* With the members of extra (borrowed) added to the problem document. */
void wfe_problem_extra(struct http_resp *r, int status, const char *type, json_t *extra,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void wfe_ra_problem(struct ca *ca, struct http_resp *r, const struct ra_problem *p);

/* URLs and views. */
void wfe_url(const struct ca *ca, char *out, size_t cap, const char *kind, const char *id);
json_t *wfe_time_json(int64_t t);
json_t *wfe_account_view(const struct ca *ca, const struct st_account *a);
json_t *wfe_order_view(const struct ca *ca, const struct st_order *o);
json_t *wfe_authz_view(struct ca *ca, const struct st_authz *a);
json_t *wfe_challenge_view(const struct ca *ca, const struct st_authz *a, int t);

/* Handlers: id is what follows "/acme/<kind>/" (NULL for fixed paths). */
typedef void (*wfe_handler)(struct ca *ca, const struct http_req *req, struct http_resp *r,
                            const char *id);
void wfe_new_account(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_account(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_key_change(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_new_order(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_order(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_authz(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_challenge(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_cert(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_revoke(struct ca *, const struct http_req *, struct http_resp *, const char *);
void wfe_renewal_info(struct ca *, const struct http_req *, struct http_resp *, const char *);

/* The http.c handler: routes one request. */
void wfe_handle(void *ca, const struct http_req *req, struct http_resp *resp);

#endif
