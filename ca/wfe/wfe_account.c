/* wfe_account.c: new-account, account objects (update, deactivation) and
 * key-change (RFC 8555 7.3). */
#include <stdlib.h>
#include <string.h>

#include "wfe.h"

/* Contacts: at most 10 mailto: URLs, each a single address of printable
 * characters; what is stored is what was sent, never cut. */
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
        int ctl = 0;
        for (const unsigned char *q = (const unsigned char *)s; *q && !ctl; q++)
            ctl = *q < 0x20 || *q == 0x7f;
        if (ctl) {
            wfe_problem(r, 400, "invalidContact", "contact %zu holds a control character", i);
            return 0;
        }
        if (!strchr(s + 7, '@') || strchr(s, ',') || strchr(s, '?') || strlen(s) > 254) {
            wfe_problem(r, 400, "invalidContact", "'%.100s' is not a single email address", s);
            return 0;
        }
    }
    char *all = json_dumps(c, JSON_COMPACT);
    size_t len = all ? strlen(all) : 0;
    free(all);
    if (len >= ST_TEXT) {
        wfe_problem(r, 400, "invalidContact", "the contacts take %zu octets; at most %d in all",
                    len, ST_TEXT - 1);
        return 0;
    }
    return 1;
}

/* The account key as stored: its public members only, in canonical order.
 * Accepted: EC P-256 and P-384, RSA of 2048 to 4096 bits (the CA/B Forum's
 * and Let's Encrypt's set); a key with private members is refused, not
 * cleaned (whoever sent it has leaked it). NULL after the problem. */
static char *account_jwk(const char *jwk, struct http_resp *r)
{
    static const char *private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    json_t *in = jwk ? json_loads(jwk, 0, NULL) : NULL, *out = NULL;
    const char *kty = json_string_value(json_object_get(in, "kty"));
    const char *crv = json_string_value(json_object_get(in, "crv"));
    char *res = NULL;
    for (size_t i = 0; in && i < sizeof private_members / sizeof *private_members; i++)
        if (json_object_get(in, private_members[i])) {
            wfe_problem(r, 400, "badPublicKey",
                        "the jwk holds the private member \"%s\": that key is no longer "
                        "private; make a new one",
                        private_members[i]);
            goto out;
        }
    if (kty && !strcmp(kty, "EC") && crv && (!strcmp(crv, "P-256") || !strcmp(crv, "P-384"))) {
        out = json_pack("{s:s,s:s,s:O,s:O}", "crv", crv, "kty", kty, "x", json_object_get(in, "x"),
                        "y", json_object_get(in, "y"));
    } else if (kty && !strcmp(kty, "RSA")) {
        const char *n = json_string_value(json_object_get(in, "n"));
        size_t bytes = n ? strlen(n) * 6 / 8 : 0; /* base64url: 6 bits per character */
        if (bytes < 256 || bytes > 512) {
            wfe_problem(r, 400, "badPublicKey", "RSA keys must have 2048 to 4096 bits");
            goto out;
        }
        out = json_pack("{s:O,s:s,s:O}", "e", json_object_get(in, "e"), "kty", kty, "n",
                        json_object_get(in, "n"));
    } else {
        wfe_problem(r, 400, "badPublicKey",
                    "account keys must be EC P-256 or P-384, or RSA of 2048 to 4096 bits");
        goto out;
    }
    if (!out || !(res = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS)))
        wfe_problem(r, 400, "badPublicKey", "the jwk lacks its public members");
out:
    json_decref(in);
    json_decref(out);
    return res;
}

void wfe_new_account(struct wfe *wfe, const struct http_req *req, struct http_resp *r,
                     const char *id)
{
    (void)id;
    struct post p;
    char *cs = NULL, *es = NULL, *jwk = NULL;
    if (wfe_check_post(wfe, req, r, WFE_JWK, &p)) goto out;
    char thumb[DP_THUMBPRINT_BUF];
    struct dp_error e;
    if (dp_jws_jwk_thumbprint(p.jws, thumb, &e) != DP_OK) {
        wfe_problem(r, 400, "badPublicKey", "%s", e.detail);
        goto out;
    }
    if (!(jwk = account_jwk(dp_jws_jwk(p.jws), r))) goto out;
    json_t *pl = p.payload;
    if (!pl) { /* RFC 8555 7.3: newAccount takes an object, never POST-as-GET */
        wfe_problem(r, 400, "malformed", "newAccount needs a JSON object payload");
        goto out;
    }
    struct st_account a;
    if (store_account_by_thumb(wfe->store, thumb, &a) == 0) {
        if (a.status != ST_VALID) { /* RFC 8555 7.3.6 */
            wfe_problem(r, 401, "unauthorized", "the account of this key is %s",
                        st_status_name(a.status));
            goto out;
        }
        wfe_url(wfe, r->location, sizeof r->location, "acct", a.id);
        snprintf(r->account, sizeof r->account, "%s", a.id);
        wfe_reply_json(r, 200, wfe_account_view(wfe, &a));
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
    if (ra_account_new(wfe->ra, jwk, thumb, cs, es, req->peer, &a, &rp)) {
        wfe_ra_problem(wfe, r, &rp);
        goto out;
    }
    wfe_url(wfe, r->location, sizeof r->location, "acct", a.id);
    snprintf(r->account, sizeof r->account, "%s", a.id);
    wfe_reply_json(r, 201, wfe_account_view(wfe, &a));
out:
    free(cs);
    free(es);
    free(jwk);
    wfe_post_free(&p);
}

#define ORDERS_PAGE 100

/* RFC 8555 7.1.2.1: the account's orders (not the invalid ones), a page
 * of ORDERS_PAGE at ACCT/orders[/CURSOR], with Link rel="next". */
static void orders_list(struct wfe *wfe, const struct post *p, const char *cursor_s,
                        struct http_resp *r)
{
    char *end = NULL;
    long long cursor = cursor_s ? strtoll(cursor_s, &end, 10) : 0;
    if (cursor_s && (!*cursor_s || *end || cursor < 0)) {
        wfe_problem(r, 404, "malformed", "no such page of orders");
        return;
    }
    if (p->payload) {
        wfe_problem(r, 400, "malformed", "the orders list takes POST-as-GET (an empty payload)");
        return;
    }
    static __thread char ids[ORDERS_PAGE][ST_ID];
    int64_t next = 0;
    long n = store_orders_list(wfe->store, p->acct.id, cursor, ORDERS_PAGE, ids, &next);
    if (n < 0) {
        wfe_problem(r, 500, "serverInternal", "cannot list the orders");
        return;
    }
    json_t *arr = json_array(), *o = json_object();
    for (long i = 0; i < n; i++) {
        char u[600];
        wfe_url(wfe, u, sizeof u, "order", ids[i]);
        json_array_append_new(arr, json_string(u));
    }
    json_object_set_new(o, "orders", arr);
    if (next) {
        size_t l = strlen(r->link);
        snprintf(r->link + l, sizeof r->link - l, ", <%s/acme/acct/%s/orders/%lld>;rel=\"next\"",
                 wfe->base, p->acct.id, (long long)next);
    }
    wfe_reply_json(r, 200, o);
}

void wfe_account(struct wfe *wfe, const struct http_req *req, struct http_resp *r, const char *id)
{
    struct post p;
    char acct_id[ST_ID + 32];
    snprintf(acct_id, sizeof acct_id, "%s", id);
    char *sub = strchr(acct_id, '/');
    if (sub) *sub++ = '\0';
    if (sub && strcmp(sub, "orders") && strncmp(sub, "orders/", 7)) {
        wfe_problem(r, 404, "malformed", "no such resource");
        return;
    }
    id = acct_id;
    if (wfe_check_post(wfe, req, r, WFE_KID, &p)) goto out;
    if (sub && strcmp(p.acct.id, id)) {
        wfe_problem(r, 401, "unauthorized", "the orders of another account");
        goto out;
    }
    if (sub) {
        orders_list(wfe, &p, sub[6] ? sub + 7 : NULL, r);
        goto out;
    }
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
        int rc = ra_account_update(wfe->ra, &p.acct, cs, st != NULL, &rp);
        free(cs);
        if (rc) {
            wfe_ra_problem(wfe, r, &rp);
            goto out;
        }
    }
    wfe_reply_json(r, 200, wfe_account_view(wfe, &p.acct));
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

void wfe_key_change(struct wfe *wfe, const struct http_req *req, struct http_resp *r,
                    const char *id)
{
    (void)id;
    struct post p;
    struct dp_jws *inner = NULL;
    char *jwk = NULL;
    if (wfe_check_post(wfe, req, r, WFE_KID, &p)) goto out;
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
    if (!(jwk = account_jwk(dp_jws_jwk(inner), r))) goto out;
    if (ra_account_rollover(wfe->ra, &p.acct, jwk, t_new, &rp)) {
        wfe_ra_problem(wfe, r, &rp);
        goto out;
    }
    wfe_reply_json(r, 200, wfe_account_view(wfe, &p.acct));
out:
    free(jwk);
    dp_jws_free(inner);
    wfe_post_free(&p);
}
