/* wfe_account.c: new-account, account objects (update, deactivation) and
 * key-change (RFC 8555 7.3). */
#include <stdlib.h>
#include <string.h>

#include "wfe.h"

/* Contacts: at most 10 mailto: URLs, each a single address. */
static int contacts_ok(json_t *c, struct http_resp *r)
{
    if (!c) return 1;
    size_t i;
    json_t *v;
    if (!json_is_array(c) || json_array_size(c) > 10) {
        wfe_problem(r, 400, "malformed", "contact must be an array of at most 10 URLs");
        return 0;
    }
    json_array_foreach(c, i, v)
    {
        const char *s = json_string_value(v);
        if (!s) {
            wfe_problem(r, 400, "malformed", "contact entries must be strings");
            return 0;
        }
        if (strncmp(s, "mailto:", 7)) {
            wfe_problem(r, 400, "unsupportedContact", "only mailto: contacts are supported");
            return 0;
        }
        if (!strchr(s + 7, '@') || strchr(s, ',') || strchr(s, '?') || strlen(s) > 254) {
            wfe_problem(r, 400, "invalidContact", "'%.100s' is not a single email address", s);
            return 0;
        }
    }
    return 1;
}

void wfe_new_account(struct ca *ca, const struct http_req *req, struct http_resp *r, const char *id)
{
    (void)id;
    struct post p;
    char *cs = NULL, *es = NULL;
    if (wfe_check_post(ca, req, r, WFE_JWK, &p)) goto out;
    char thumb[DP_THUMBPRINT_BUF];
    struct dp_error e;
    if (dp_jws_jwk_thumbprint(p.jws, thumb, &e) != DP_OK) {
        wfe_problem(r, 400, "badPublicKey", "%s", e.detail);
        goto out;
    }
    json_t *pl = p.payload;
    struct st_account a;
    if (store_account_by_thumb(ca->store, thumb, &a) == 0) {
        wfe_url(ca, r->location, sizeof r->location, "acct", a.id);
        wfe_reply_json(r, 200, wfe_account_view(ca, &a));
        goto out;
    }
    if (pl && json_is_true(json_object_get(pl, "onlyReturnExisting"))) {
        wfe_problem(r, 400, "accountDoesNotExist", "no account has this key");
        goto out;
    }
    json_t *contact = pl ? json_object_get(pl, "contact") : NULL;
    if (!contacts_ok(contact, r)) goto out;
    json_t *eab = pl ? json_object_get(pl, "externalAccountBinding") : NULL;
    es = eab ? json_dumps(eab, JSON_COMPACT) : NULL;
    cs = contact ? json_dumps(contact, JSON_COMPACT) : strdup("[]");
    struct ra_problem rp = {0};
    if (!cs) {
        wfe_problem(r, 500, "serverInternal", "out of memory");
        goto out;
    }
    if (ra_account_new(ca, dp_jws_jwk(p.jws), thumb, cs, es, &a, &rp)) {
        wfe_ra_problem(ca, r, &rp);
        goto out;
    }
    wfe_url(ca, r->location, sizeof r->location, "acct", a.id);
    wfe_reply_json(r, 201, wfe_account_view(ca, &a));
out:
    free(cs);
    free(es);
    wfe_post_free(&p);
}

void wfe_account(struct ca *ca, const struct http_req *req, struct http_resp *r, const char *id)
{
    struct post p;
    if (wfe_check_post(ca, req, r, WFE_KID, &p)) goto out;
    if (strcmp(p.acct.id, id)) {
        wfe_problem(r, 401, "unauthorized", "the request is signed by another account");
        goto out;
    }
    if (p.payload) {
        json_t *st = json_object_get(p.payload, "status"),
               *contact = json_object_get(p.payload, "contact");
        if (st && (!json_is_string(st) || strcmp(json_string_value(st), "deactivated"))) {
            wfe_problem(r, 400, "malformed", "status may only be set to \"deactivated\"");
            goto out;
        }
        if (!contacts_ok(contact, r)) goto out;
        char *cs = contact ? json_dumps(contact, JSON_COMPACT) : NULL;
        struct ra_problem rp = {0};
        int rc = ra_account_update(ca, &p.acct, cs, st != NULL, &rp);
        free(cs);
        if (rc) {
            wfe_ra_problem(ca, r, &rp);
            goto out;
        }
    }
    wfe_reply_json(r, 200, wfe_account_view(ca, &p.acct));
out:
    wfe_post_free(&p);
}

/* The inner JWS of a key change, signed by the new key: 0 when it names
 * this account and its current key (RFC 8555 7.3.5). */
static int inner_ok(const struct post *p, const struct dp_jws *inner, struct http_resp *r)
{
    struct dp_error e;
    if (!dp_jws_jwk(inner) || dp_jws_kid(inner) || dp_jws_nonce(inner)) {
        wfe_problem(r, 400, "malformed", "the inner JWS needs jwk and no kid or nonce");
        return -1;
    }
    if (!dp_jws_url(inner) || strcmp(dp_jws_url(inner), dp_jws_url(p->jws))) {
        wfe_problem(r, 400, "malformed", "the inner url must equal the outer url");
        return -1;
    }
    dp_code rc = dp_jws_verify(inner, dp_jws_jwk(inner), &e);
    if (rc != DP_OK) {
        wfe_problem(r, 400,
                    rc == DP_ERR_KEY           ? "badPublicKey"
                    : rc == DP_ERR_UNSUPPORTED ? "badSignatureAlgorithm"
                                               : "malformed",
                    "inner JWS: %s", e.detail);
        return -1;
    }
    size_t plen;
    const char *pl = dp_jws_payload(inner, &plen);
    json_t *in = json_loadb(pl, plen, 0, NULL);
    const char *acct = json_string_value(json_object_get(in, "account"));
    json_t *old = json_object_get(in, "oldKey");
    char *olds = old ? json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char t_old[DP_THUMBPRINT_BUF];
    int ok = acct && !strcmp(acct, dp_jws_kid(p->jws)) && olds &&
             dp_jwk_thumbprint_json(olds, strlen(olds), t_old, NULL) == DP_OK &&
             !strcmp(t_old, p->acct.thumb);
    free(olds);
    json_decref(in);
    if (!ok) {
        wfe_problem(r, 400, "malformed",
                    "the inner payload must name this account and its current key");
        return -1;
    }
    return 0;
}

void wfe_key_change(struct ca *ca, const struct http_req *req, struct http_resp *r, const char *id)
{
    (void)id;
    struct post p;
    struct dp_jws *inner = NULL;
    if (wfe_check_post(ca, req, r, WFE_KID, &p)) goto out;
    struct dp_error e;
    size_t plen;
    const char *pl = dp_jws_payload(p.jws, &plen);
    if (!plen || dp_jws_parse(pl, plen, &inner, &e) != DP_OK) {
        wfe_problem(r, 400, "malformed", "the payload must be a JWS signed by the new key");
        goto out;
    }
    if (inner_ok(&p, inner, r)) goto out;
    char t_new[DP_THUMBPRINT_BUF];
    struct ra_problem rp = {0};
    if (dp_jws_jwk_thumbprint(inner, t_new, &e) != DP_OK) {
        wfe_problem(r, 400, "badPublicKey", "%s", e.detail);
        goto out;
    }
    if (ra_account_rollover(ca, &p.acct, dp_jws_jwk(inner), t_new, &rp)) {
        wfe_ra_problem(ca, r, &rp);
        goto out;
    }
    wfe_reply_json(r, 200, wfe_account_view(ca, &p.acct));
out:
    dp_jws_free(inner);
    wfe_post_free(&p);
}
