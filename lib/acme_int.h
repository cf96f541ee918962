/* acme_int.h: what acme.c (session, account) and acme_order.c (orders)
 * share; not public. */
#ifndef DP_ACME_INT_H
#define DP_ACME_INT_H

#include <jansson.h>

#include "dnspersist/acme.h"
#include "http.h"

struct dp_acme {
    struct dp_http *http;
    const struct dp_key *key;
    char *dir_url;
    char new_nonce[1024], new_account[1024], new_order[1024], key_change[1024], revoke[1024],
        ari[1024];
    char *hash_prefix;
    char *issuers[DP_MAX_ISSUERS];
    size_t n_issuers;
    char *caa[DP_MAX_ISSUERS]; /* directory caaIdentities, when conforming */
    size_t n_caa;
    char *profiles[DP_ACME_MAX_PROFILES], *profile_descs[DP_ACME_MAX_PROFILES]; /* meta.profiles */
    size_t n_profiles;
    char profile[64];             /* newOrder's profile, "" for the CA's default */
    char *expect[DP_MAX_ISSUERS]; /* the issuer names the user accepts */
    size_t n_expect;
    char account[1024];
    char nonce[128];
    char eab_kid[256], eab_key[256];
    unsigned poll_ms;
    struct dp_acme_problem problem;
};

/* Signs payload (NULL: POST-as-GET) for url with the session's nonce, sends
 * it, keeps the answer's nonce, retries once on badNonce. r is zeroed
 * first and is the caller's to clear. */
dp_code dp__acme_post(struct dp_acme *a, const char *url, const char *payload, int use_jwk,
                      struct dp_http_resp *r, struct dp_error *err);
/* Keeps r's problem document in a->problem. */
void dp__acme_take_problem(struct dp_acme *a, const struct dp_http_resp *r);
/* Fails err with the last problem, naming what was asked. */
dp_code dp__acme_problem_fail(struct dp_acme *a, struct dp_error *err, const char *what);
json_t *dp__acme_body_json(const struct dp_http_resp *r);
/* Copies the string member k of o into out (cap), "" when absent. */
void dp__acme_copy_url(json_t *o, const char *k, char *out, size_t cap);

#endif
