/*
 * wfe_request.c: the JWS gate every POST passes (RFC 8555 6.2-6.5), and the
 * cache of parsed account keys it verifies with.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cache.h"
#include "wfe.h"

/* A cached parsed key. The cache holds one reference; a hit takes another
 * for the caller. */
struct key_entry {
    char thumb[48];
    struct dp_jws_pubkey *key;
};

static void key_release(void *e)
{
    dp_jws_pubkey_free(((struct key_entry *)e)->key);
}

static void key_hold(void *e)
{
    dp_jws_pubkey_ref(((struct key_entry *)e)->key);
}

struct cache *wfe_key_cache_new(int on)
{
    return cache_new(sizeof(struct key_entry), on ? 256 : 0, key_release);
}

/* A held reference to the account key with this thumbprint. */
static struct dp_jws_pubkey *account_key(struct wfe *wfe, const char *thumb, const char *jwk,
                                         struct dp_error *e)
{
    struct key_entry k;
    if (cache_get(wfe->keys, thumb, &k, key_hold)) return k.key;
    struct dp_jws_pubkey *key = dp_jws_pubkey_new(jwk, e);
    if (!key) return NULL;
    snprintf(k.thumb, sizeof k.thumb, "%s", thumb);
    k.key = dp_jws_pubkey_ref(key);
    cache_put(wfe->keys, &k);
    return key;
}

/* The problem for a library error of the JWS checks. */
static void jws_problem(struct http_resp *r, dp_code rc, const struct dp_error *e)
{
    wfe_problem(r, 400,
                rc == DP_ERR_KEY           ? "badPublicKey"
                : rc == DP_ERR_UNSUPPORTED ? "badSignatureAlgorithm"
                                           : "malformed",
                "%s", e->detail);
}

/* Finds the kid's account: it must be one of ours, and valid. */
static int kid_account(struct wfe *wfe, struct http_resp *r, struct post *p)
{
    char prefix[600];
    wfe_url(wfe, prefix, sizeof prefix, "acct", "");
    int found = !strncmp(dp_jws_kid(p->jws), prefix, strlen(prefix)) &&
                store_account_get(wfe->store, dp_jws_kid(p->jws) + strlen(prefix), &p->acct) == 0;
    if (!found) {
        wfe_problem(r, 400, "accountDoesNotExist", "no account at %s", dp_jws_kid(p->jws));
        return -1;
    }
    if (p->acct.status != ST_VALID) {
        wfe_problem(r, 401, "unauthorized", "the account is %s", st_status_name(p->acct.status));
        return -1;
    }
    p->by_kid = 1;
    return 0;
}

int wfe_check_post(struct wfe *wfe, const struct http_req *req, struct http_resp *r, int keys,
                   struct post *p)
{
    memset(p, 0, sizeof *p);
    struct dp_error e;
    if (req->too_big) {
        wfe_problem(r, 413, "malformed", "request body over %u octets", HTTP_MAX_BODY);
        return -1;
    }
    /* Exactly this media type; parameters after ';' aside (RFC 8555 6.2). */
    const char *ct = req->content_type;
    size_t tl = strlen("application/jose+json");
    if (!ct || strncasecmp(ct, "application/jose+json", tl) ||
        (ct[tl] && ct[tl] != ';' && ct[tl] != ' ' && ct[tl] != '\t')) {
        wfe_problem(r, 415, "malformed", "Content-Type must be application/jose+json");
        return -1;
    }
    dp_code rc = dp_jws_parse(req->body, req->body_len, &p->jws, &e);
    if (rc != DP_OK) {
        jws_problem(r, rc == DP_ERR_UNSUPPORTED ? rc : DP_ERR_MALFORMED, &e);
        return -1;
    }
    char want[1024];
    snprintf(want, sizeof want, "%s%s", wfe->base, req->path);
    if (!dp_jws_url(p->jws) || strcmp(dp_jws_url(p->jws), want)) {
        wfe_problem(r, 401, "unauthorized", "the JWS url header must be %s", want);
        return -1;
    }
    if (!nonces_consume(wfe->nonces, dp_jws_nonce(p->jws))) {
        wfe_problem(r, 400, "badNonce",
                    "the nonce is unknown or already used: ask newNonce for another");
        return -1;
    }
    if (dp_jws_kid(p->jws) && !(keys & WFE_KID)) {
        wfe_problem(r, 400, "malformed", "this request must carry jwk, not kid");
        return -1;
    }
    if (!dp_jws_kid(p->jws) && !(keys & WFE_JWK)) {
        wfe_problem(r, 400, "malformed", "this request must carry kid (the account URL), not jwk");
        return -1;
    }
    if (dp_jws_kid(p->jws)) {
        if (kid_account(wfe, r, p)) return -1;
        struct dp_jws_pubkey *k = account_key(wfe, p->acct.thumb, p->acct.jwk, &e);
        rc = k ? dp_jws_verify_key(p->jws, k, &e) : e.code;
        dp_jws_pubkey_free(k);
    } else {
        rc = dp_jws_verify(p->jws, dp_jws_jwk(p->jws), &e);
    }
    if (rc != DP_OK) {
        jws_problem(r, rc, &e);
        return -1;
    }
    if (p->by_kid) snprintf(r->account, sizeof r->account, "%s", p->acct.id);
    if (*dp_jws_payload(p->jws, NULL)) {
        json_error_t je;
        size_t plen;
        const char *pl = dp_jws_payload(p->jws, &plen);
        p->payload = json_loadb(pl, plen, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(p->payload)) {
            wfe_problem(r, 400, "malformed", "the payload is not a JSON object");
            return -1;
        }
    }
    return 0;
}

void wfe_post_free(struct post *p)
{
    dp_jws_free(p->jws);
    json_decref(p->payload);
}
