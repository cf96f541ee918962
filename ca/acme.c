/*
 * acme.c: the ACME web front end and registration authority (RFC 8555).
 *
 * State machines, and the function that performs each transition:
 *
 *   account:  valid --(POST {"status":"deactivated"})--> deactivated   account_post()
 *   order:    pending --(every authz valid)--> ready                   order_refresh()
 *             (derived on each read; stored only when created ready: JIT)
 *             pending --(an authz invalid/deactivated, or expiry)--> invalid  order_refresh()
 *             ready --(finalize with a good CSR)--> processing --> valid      finalize()
 *   authz:    pending --(challenge passes)--> valid                    va.c: va_finish()
 *             pending --(challenge fails)--> invalid                   va.c: va_finish()
 *             pending|valid --(POST {"status":"deactivated"})--> deactivated  authz_post()
 *             valid --(expires, clamped to persistUntil: V6)--> expired      authz_view()
 *   challenge: pending --(POST {})--> processing                        challenge_post()
 *             (processing is held by va.c in memory until the result is stored)
 *             processing --> valid | invalid                            va.c: va_finish()
 *
 * Every POST is a JWS checked in this order: shape and algorithm, url
 * header equal to the request URL, nonce, key (jwk only for new-account and
 * revoke-cert, kid elsewhere), signature. Each refusal is an ACME problem.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ca.h"
#include "hash.h"
#include "http.h"

#define ERR "urn:ietf:params:acme:error:"

char *ca_problem_json(const char *type, const char *detail, int status)
{
    char t[128];
    snprintf(t, sizeof t, ERR "%s", type);
    json_t *o = json_pack("{s:s,s:s,s:i}", "type", t, "detail", detail, "status", status);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void reply_json(struct http_resp *r, int status, json_t *o)
{
    r->status = status;
    r->body = json_dumps(o, JSON_COMPACT);
    r->body_len = r->body ? strlen(r->body) : 0;
    r->content_type = "application/json";
    json_decref(o);
}

static void problem(struct http_resp *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(struct http_resp *r, int status, const char *type, const char *fmt, ...)
{
    char d[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    r->status = status;
    r->body = ca_problem_json(type, d, status);
    r->body_len = r->body ? strlen(r->body) : 0;
    r->content_type = "application/problem+json";
}

static void rfc3339(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *time_json(int64_t t)
{
    char b[32];
    rfc3339(t, b);
    return json_string(b);
}

/* ---- URLs ---- */

/* Through vsnprintf: a URL cut short is impossible with our id sizes, and
 * -Wformat-truncation cannot see that. */
static void fmt(char *out, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(out, cap, f, ap);
    va_end(ap);
}

static void url(const struct ca *ca, char *out, size_t cap, const char *kind, const char *id)
{
    fmt(out, cap, "%s/acme/%s/%s", ca->base, kind, id);
}

/* The id after "/acme/<kind>/" in path, or NULL. */
static const char *path_id(const char *path, const char *kind)
{
    size_t kl = strlen(kind);
    if (strncmp(path, "/acme/", 6) || strncmp(path + 6, kind, kl) || path[6 + kl] != '/')
        return NULL;
    const char *id = path + 7 + kl;
    return *id && strlen(id) < ST_ID + 32 ? id : NULL;
}

/* ---- directory and nonces ---- */

static void directory(struct ca *ca, struct http_resp *r)
{
    char u[600];
    json_t *o = json_object();
#define EP(name, p)                                                                                \
    snprintf(u, sizeof u, "%s%s", ca->base, p);                                                    \
    json_object_set_new(o, name, json_string(u));
    EP("newNonce", "/acme/new-nonce");
    EP("newAccount", "/acme/new-account");
    EP("newOrder", "/acme/new-order");
    EP("revokeCert", "/acme/revoke-cert");
    EP("keyChange", "/acme/key-change");
    EP("renewalInfo", "/acme/renewal-info");
#undef EP
    json_t *meta = json_object();
    json_object_set_new(meta, "externalAccountRequired", json_boolean(ca->cfg.n_eab > 0));
    if (ca->cfg.persist) {
        json_t *names = json_array();
        for (size_t i = 0; i < ca->cfg.n_issuers; i++)
            json_array_append_new(names, json_string(ca->cfg.issuers[i]));
        json_object_set_new(meta, "issuerDomainNames", names);
        json_object_set_new(meta, "accountHashPrefix", json_string(ca->cfg.hash_prefix));
    }
    if (ca->cfg.n_caa) {
        json_t *caa = json_array();
        for (size_t i = 0; i < ca->cfg.n_caa; i++)
            json_array_append_new(caa, json_string(ca->cfg.caa_identities[i]));
        json_object_set_new(meta, "caaIdentities", caa);
    }
    json_object_set_new(o, "meta", meta);
    reply_json(r, 200, o);
}

/* ---- views ---- */

static json_t *account_view(const struct ca *ca, const struct st_account *a)
{
    char u[600];
    url(ca, u, sizeof u, "acct", a->id);
    json_t *contact = json_loads(a->contact, 0, NULL);
    json_t *key = json_loads(a->jwk, 0, NULL);
    json_t *o = json_pack("{s:s,s:o,s:o}", "status", a->status, "contact",
                          contact ? contact : json_array(), "key", key ? key : json_null());
    snprintf(u + strlen(u), sizeof u - strlen(u), "/orders");
    json_object_set_new(o, "orders", json_string(u));
    return o;
}

static const char *const CH_TYPES[] = {"dns-persist-01", "dns-01", "http-01"};

static int offered(const struct ca *ca, int t, int wildcard)
{
    if (t == 0) return ca->cfg.persist;
    if (t == 1) return ca->cfg.dns01;
    return ca->cfg.http01 && !wildcard; /* RFC 8555 7.1.3: wildcards only by DNS */
}

static int type_index(const char *t)
{
    for (int i = 0; i < CA_MAX_CHALLENGES; i++)
        if (!strcmp(t, CH_TYPES[i])) return i;
    return -1;
}

/* Authz expiry is part of its status (V6: clamped to persistUntil). */
static const char *authz_status(const struct st_authz *a)
{
    if (!strcmp(a->status, "valid") && a->expires < (int64_t)time(NULL)) return "expired";
    return a->status;
}

static json_t *challenge_view(const struct ca *ca, const struct st_authz *a, int t)
{
    char u[700], acct[600];
    snprintf(u, sizeof u, "%s/acme/chall/%s/%s", ca->base, a->id, CH_TYPES[t]);
    const char *st = !strcmp(a->ch_type, CH_TYPES[t]) ? a->ch_status : "pending";
    json_t *o = json_pack("{s:s,s:s,s:s}", "type", CH_TYPES[t], "url", u, "status", st);
    if (t == 0) {
        json_t *names = json_array();
        for (size_t i = 0; i < ca->cfg.n_issuers; i++)
            json_array_append_new(names, json_string(ca->cfg.issuers[i]));
        json_object_set(o, "issuerDomainNames", names);
        if (ca->cfg.draft01_compat) {
            /* Boulder and Pebble's draft-01 fields, for today's clients. */
            json_object_set(o, "issuer-domain-names", names);
            url(ca, acct, sizeof acct, "acct", a->account);
            json_object_set_new(o, "accounturi", json_string(acct));
        }
        json_decref(names);
    } else {
        json_object_set_new(o, "token", json_string(a->token));
    }
    if (!strcmp(a->ch_type, CH_TYPES[t])) {
        if (a->ch_validated) json_object_set_new(o, "validated", time_json(a->ch_validated));
        if (a->ch_error[0]) json_object_set_new(o, "error", json_loads(a->ch_error, 0, NULL));
    }
    return o;
}

static json_t *authz_view(const struct ca *ca, const struct st_authz *a)
{
    json_t *chs = json_array();
    for (int t = 0; t < CA_MAX_CHALLENGES; t++)
        if (offered(ca, t, a->wildcard)) json_array_append_new(chs, challenge_view(ca, a, t));
    json_t *o =
        json_pack("{s:{s:s,s:s},s:s,s:o,s:o}", "identifier", "type", "dns", "value", a->identifier,
                  "status", authz_status(a), "expires", time_json(a->expires), "challenges", chs);
    if (a->wildcard) json_object_set_new(o, "wildcard", json_true());
    return o;
}

/* Moves a pending order on from its authorizations' state. */
static void order_refresh(struct ca *ca, struct st_order *o)
{
    if (strcmp(o->status, "pending") && strcmp(o->status, "ready")) return;
    int64_t now = (int64_t)time(NULL);
    int all_valid = 1, failed = 0;
    for (size_t i = 0; i < o->n; i++) {
        struct st_authz a;
        if (store_authz_get(ca->store, o->authz[i], &a)) {
            failed = 1;
            break;
        }
        const char *st = authz_status(&a);
        if (!strcmp(st, "invalid") || !strcmp(st, "deactivated") || !strcmp(st, "expired"))
            failed = 1;
        if (strcmp(st, "valid")) all_valid = 0;
    }
    const char *next = failed || o->expires < now ? "invalid" : all_valid ? "ready" : "pending";
    if (strcmp(next, o->status)) {
        snprintf(o->status, sizeof o->status, "%s", next);
        /* "ready" follows from the authorizations at every read: only the
         * terminal "invalid" is worth a write. */
        if (!strcmp(next, "invalid"))
            store_order_set(ca->store, o->id, o->status, o->error, o->cert);
    }
}

static json_t *order_view(const struct ca *ca, const struct st_order *o)
{
    json_t *ids = json_array(), *azs = json_array();
    char u[700];
    for (size_t i = 0; i < o->n; i++) {
        json_array_append_new(ids,
                              json_pack("{s:s,s:s}", "type", "dns", "value", o->identifiers[i]));
        url(ca, u, sizeof u, "authz", o->authz[i]);
        json_array_append_new(azs, json_string(u));
    }
    url(ca, u, sizeof u, "order", o->id);
    strcat(u, "/finalize");
    json_t *v =
        json_pack("{s:s,s:o,s:o,s:o,s:s}", "status", o->status, "expires", time_json(o->expires),
                  "identifiers", ids, "authorizations", azs, "finalize", u);
    if (o->cert[0]) {
        url(ca, u, sizeof u, "cert", o->cert);
        json_object_set_new(v, "certificate", json_string(u));
    }
    if (o->error[0]) json_object_set_new(v, "error", json_loads(o->error, 0, NULL));
    return v;
}

/* ---- the JWS gate ---- */

/* A held reference to the account key with this thumbprint (cached). The
 * cache is 4-way set associative: a direct-mapped one let two busy accounts
 * whose thumbprints collide evict each other on every request. */
static struct dp_pubkey *account_key(struct ca *ca, const char *thumb, const char *jwk,
                                     struct dp_error *e)
{
    struct ca_keyslot *set = &ca->keys[(ca_hash(thumb) % (CA_KEYCACHE / CA_KEYWAYS)) * CA_KEYWAYS];
    struct dp_pubkey *k = NULL;
    pthread_mutex_lock(&ca->keys_mu);
    uint64_t now = ++ca->keys_clock;
    for (int i = 0; i < CA_KEYWAYS && !k; i++)
        if (set[i].key && !strcmp(set[i].thumb, thumb)) {
            k = dp_pubkey_ref(set[i].key);
            set[i].used = now;
        }
    pthread_mutex_unlock(&ca->keys_mu);
    if (k) return k;
    if (!(k = dp_pubkey_new(jwk, e))) return NULL;
    pthread_mutex_lock(&ca->keys_mu);
    struct ca_keyslot *victim = &set[0];
    for (int i = 1; i < CA_KEYWAYS; i++)
        if (set[i].used < victim->used) victim = &set[i];
    dp_pubkey_free(victim->key);
    victim->key = dp_pubkey_ref(k);
    victim->used = ++ca->keys_clock;
    snprintf(victim->thumb, sizeof victim->thumb, "%s", thumb);
    pthread_mutex_unlock(&ca->keys_mu);
    return k;
}

struct post {
    struct dp_jws *jws;
    struct st_account acct; /* when signed with kid */
    int by_kid;
    json_t *payload; /* NULL for POST-as-GET */
};

/* 0 when the request may proceed; else the problem is already in r. */
static int check_post(struct ca *ca, const struct http_req *req, struct http_resp *r, int allow_jwk,
                      int allow_kid, struct post *p)
{
    memset(p, 0, sizeof *p);
    struct dp_error e;
    if (req->too_big) {
        problem(r, 413, "malformed", "request body over %u octets", HTTP_MAX_BODY);
        return -1;
    }
    if (!req->content_type || strncmp(req->content_type, "application/jose+json", 21)) {
        problem(r, 415, "malformed", "Content-Type must be application/jose+json");
        return -1;
    }
    dp_code rc = dp_jws_parse(req->body, req->body_len, &p->jws, &e);
    if (rc == DP_ERR_UNSUPPORTED) {
        problem(r, 400, "badSignatureAlgorithm", "%s", e.detail);
        return -1;
    }
    if (rc != DP_OK) {
        problem(r, 400, "malformed", "%s", e.detail);
        return -1;
    }
    char want[1024];
    snprintf(want, sizeof want, "%s%s", ca->base, req->path);
    if (!p->jws->url || strcmp(p->jws->url, want)) {
        problem(r, 401, "unauthorized", "the JWS url header must be %s", want);
        return -1;
    }
    if (!nonces_consume(ca->nonces, p->jws->nonce)) {
        problem(r, 400, "badNonce",
                "the nonce is unknown or already used: ask newNonce for another");
        return -1;
    }
    const char *jwk = p->jws->jwk;
    if (p->jws->kid) {
        if (!allow_kid) {
            problem(r, 400, "malformed", "this request must carry jwk, not kid");
            return -1;
        }
        char prefix[600];
        url(ca, prefix, sizeof prefix, "acct", "");
        int found = !strncmp(p->jws->kid, prefix, strlen(prefix)) &&
                    store_account_get(ca->store, p->jws->kid + strlen(prefix), &p->acct) == 0;
        if (!found) {
            problem(r, 400, "accountDoesNotExist", "no account at %s", p->jws->kid);
            return -1;
        }
        if (strcmp(p->acct.status, "valid")) {
            problem(r, 401, "unauthorized", "the account is %s", p->acct.status);
            return -1;
        }
        jwk = p->acct.jwk;
        p->by_kid = 1;
    } else if (!allow_jwk) {
        problem(r, 400, "malformed", "this request must carry kid (the account URL), not jwk");
        return -1;
    }
    if (p->by_kid) {
        struct dp_pubkey *k = account_key(ca, p->acct.thumb, jwk, &e);
        rc = k ? dp_jws_verify_key(p->jws, k, &e) : e.code;
        dp_pubkey_free(k);
    } else {
        rc = dp_jws_verify(p->jws, jwk, &e);
    }
    if (rc == DP_ERR_KEY) {
        problem(r, 400, "badPublicKey", "%s", e.detail);
        return -1;
    }
    if (rc == DP_ERR_UNSUPPORTED) {
        problem(r, 400, "badSignatureAlgorithm", "%s", e.detail);
        return -1;
    }
    if (rc != DP_OK) {
        problem(r, 400, "malformed", "%s", e.detail);
        return -1;
    }
    if (p->jws->payload_len) {
        json_error_t je;
        p->payload = json_loadb(p->jws->payload, p->jws->payload_len, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(p->payload)) {
            problem(r, 400, "malformed", "the payload is not a JSON object");
            return -1;
        }
    }
    return 0;
}

static void post_free(struct post *p)
{
    dp_jws_free(p->jws);
    json_decref(p->payload);
}

/* ---- accounts ---- */

static int contacts_ok(json_t *c, struct http_resp *r)
{
    if (!c) return 1;
    size_t i;
    json_t *v;
    if (!json_is_array(c) || json_array_size(c) > 10) {
        problem(r, 400, "malformed", "contact must be an array of at most 10 URLs");
        return 0;
    }
    json_array_foreach(c, i, v)
    {
        const char *s = json_string_value(v);
        if (!s) {
            problem(r, 400, "malformed", "contact entries must be strings");
            return 0;
        }
        if (strncmp(s, "mailto:", 7)) {
            problem(r, 400, "unsupportedContact", "only mailto: contacts are supported");
            return 0;
        }
        if (!strchr(s + 7, '@') || strchr(s, ',') || strchr(s, '?') || strlen(s) > 254) {
            problem(r, 400, "invalidContact", "'%.100s' is not a single email address", s);
            return 0;
        }
    }
    return 1;
}

static void new_account(struct ca *ca, const struct http_req *req, struct http_resp *r)
{
    struct post p;
    if (check_post(ca, req, r, 1, 0, &p)) goto out;
    char thumb[DP_THUMBPRINT_BUF];
    struct dp_error e;
    if (dp_jws_jwk_thumbprint(p.jws, thumb, &e) != DP_OK) {
        problem(r, 400, "badPublicKey", "%s", e.detail);
        goto out;
    }
    json_t *pl = p.payload;
    struct st_account a;
    int found = store_account_by_thumb(ca->store, thumb, &a);
    if (found == 0) {
        url(ca, r->location, sizeof r->location, "acct", a.id);
        reply_json(r, 200, account_view(ca, &a));
        goto out;
    }
    if (pl && json_is_true(json_object_get(pl, "onlyReturnExisting"))) {
        problem(r, 400, "accountDoesNotExist", "no account has this key");
        goto out;
    }
    json_t *contact = pl ? json_object_get(pl, "contact") : NULL;
    if (!contacts_ok(contact, r)) goto out;
    if (ca->cfg.n_eab) { /* RFC 8555 7.3.4 */
        json_t *eab = pl ? json_object_get(pl, "externalAccountBinding") : NULL;
        char *es = eab ? json_dumps(eab, JSON_COMPACT) : NULL, kid[256], want[600];
        if (!es) {
            problem(r, 400, "externalAccountRequired",
                    "this CA requires an externalAccountBinding");
            goto out;
        }
        snprintf(want, sizeof want, "%s/acme/new-account", ca->base);
        size_t k = ca->cfg.n_eab;
        if (dp_jws_eab_kid(es, kid, sizeof kid, &e) == DP_OK)
            for (k = 0; k < ca->cfg.n_eab && strcmp(ca->cfg.eab_kid[k], kid); k++)
                ;
        dp_code vr = k < ca->cfg.n_eab
                         ? dp_jws_eab_verify(es, ca->cfg.eab_key[k], want, p.jws->jwk, &e)
                         : DP_ERR_UNAUTHORIZED;
        free(es);
        if (vr != DP_OK) {
            if (k == ca->cfg.n_eab)
                problem(r, 401, "unauthorized", "unknown external account key id");
            else
                problem(r, vr == DP_ERR_MALFORMED ? 400 : 401,
                        vr == DP_ERR_MALFORMED ? "malformed" : "unauthorized", "%s", e.detail);
            goto out;
        }
    }
    char *cs = json_dumps(contact ? contact : json_array(), JSON_COMPACT | JSON_ENCODE_ANY);
    if (contact == NULL) {
        free(cs);
        cs = strdup("[]");
    }
    int rc = cs ? store_account_create(ca->store, p.jws->jwk, thumb, cs, &a) : -1;
    free(cs);
    if (rc) {
        problem(r, 500, "serverInternal", "cannot store the account");
        goto out;
    }
    url(ca, r->location, sizeof r->location, "acct", a.id);
    reply_json(r, 201, account_view(ca, &a));
out:
    post_free(&p);
}

static void account_post(struct ca *ca, const struct http_req *req, struct http_resp *r,
                         const char *id)
{
    struct post p;
    if (check_post(ca, req, r, 0, 1, &p)) goto out;
    if (strcmp(p.acct.id, id)) {
        problem(r, 401, "unauthorized", "the request is signed by another account");
        goto out;
    }
    if (p.payload) {
        json_t *st = json_object_get(p.payload, "status"),
               *contact = json_object_get(p.payload, "contact");
        if (st && (!json_is_string(st) || strcmp(json_string_value(st), "deactivated"))) {
            problem(r, 400, "malformed", "status may only be set to \"deactivated\"");
            goto out;
        }
        if (!contacts_ok(contact, r)) goto out;
        char *cs = contact ? json_dumps(contact, JSON_COMPACT) : NULL;
        int rc = store_account_update(ca->store, id, st ? "deactivated" : p.acct.status,
                                      cs ? cs : p.acct.contact);
        free(cs);
        if (rc || store_account_get(ca->store, id, &p.acct)) {
            problem(r, 500, "serverInternal", "cannot update the account");
            goto out;
        }
    }
    reply_json(r, 200, account_view(ca, &p.acct));
out:
    post_free(&p);
}

static void key_change(struct ca *ca, const struct http_req *req, struct http_resp *r)
{
    struct post p;
    struct dp_jws *inner = NULL;
    if (check_post(ca, req, r, 0, 1, &p)) goto out;
    struct dp_error e;
    if (!p.jws->payload_len ||
        dp_jws_parse(p.jws->payload, p.jws->payload_len, &inner, &e) != DP_OK) {
        problem(r, 400, "malformed", "the payload must be a JWS signed by the new key");
        goto out;
    }
    if (!inner->jwk || inner->kid || inner->nonce) {
        problem(r, 400, "malformed", "the inner JWS needs jwk and no kid or nonce");
        goto out;
    }
    if (!inner->url || strcmp(inner->url, p.jws->url)) {
        problem(r, 400, "malformed", "the inner url must equal the outer url");
        goto out;
    }
    dp_code rc = dp_jws_verify(inner, inner->jwk, &e);
    if (rc != DP_OK) {
        problem(r, 400,
                rc == DP_ERR_KEY           ? "badPublicKey"
                : rc == DP_ERR_UNSUPPORTED ? "badSignatureAlgorithm"
                                           : "malformed",
                "inner JWS: %s", e.detail);
        goto out;
    }
    json_t *in = json_loadb(inner->payload, inner->payload_len, 0, NULL);
    const char *acct = json_string_value(json_object_get(in, "account"));
    json_t *old = json_object_get(in, "oldKey");
    char *olds = old ? json_dumps(old, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char t_old[DP_THUMBPRINT_BUF], t_new[DP_THUMBPRINT_BUF];
    int ok = acct && !strcmp(acct, p.jws->kid) && olds &&
             dp_jwk_thumbprint_json(olds, strlen(olds), t_old, NULL) == DP_OK &&
             !strcmp(t_old, p.acct.thumb);
    free(olds);
    json_decref(in);
    if (!ok) {
        problem(r, 400, "malformed",
                "the inner payload must name this account and its current key");
        goto out;
    }
    dp_jws_jwk_thumbprint(inner, t_new, NULL);
    struct st_account other;
    if (store_account_by_thumb(ca->store, t_new, &other) == 0) {
        url(ca, r->location, sizeof r->location, "acct", other.id);
        problem(r, 409, "conflict", "the new key already belongs to an account");
        goto out;
    }
    if (store_account_rollover(ca->store, p.acct.id, inner->jwk, t_new)) {
        problem(r, 500, "serverInternal", "cannot store the new key");
        goto out;
    }
    store_account_get(ca->store, p.acct.id, &p.acct);
    reply_json(r, 200, account_view(ca, &p.acct));
out:
    dp_jws_free(inner);
    post_free(&p);
}

/* ---- orders ---- */

/* Draft 4.4: an account that has passed a dns-persist-01 challenge before
 * gets its authorizations valid at once when its records authorize them
 * now; the rest stay pending with their challenges. Each is logged, since
 * no challenge exchange shows the account holder it happened. */
static void jit(struct ca *ca, const struct st_order *o, struct st_authz_init *init, int64_t now)
{
    struct va_jit items[ST_MAX_IDENTIFIERS];
    for (size_t i = 0; i < o->n; i++)
        items[i] = (struct va_jit){o->account, o->identifiers[i], 0, 0};
    va_jit(ca->va, items, o->n);
    for (size_t i = 0; i < o->n; i++) {
        if (!items[i].valid) continue;
        init[i].validated = now;
        init[i].expires = now + ca->cfg.authz_lifetime;
        if (items[i].clamp && items[i].clamp < init[i].expires) init[i].expires = items[i].clamp;
        fprintf(stderr,
                "dnspersist-ca: account %s: %s authorized just in time by its "
                "dns-persist-01 record\n",
                o->account, o->identifiers[i]);
    }
}

static void new_order(struct ca *ca, const struct http_req *req, struct http_resp *r)
{
    struct post p;
    struct st_order *o = calloc(1, sizeof *o);
    int wild[ST_MAX_IDENTIFIERS];
    if (!o) {
        problem(r, 500, "serverInternal", "out of memory");
        return;
    }
    if (check_post(ca, req, r, 0, 1, &p)) goto out;
    json_t *ids = p.payload ? json_object_get(p.payload, "identifiers") : NULL;
    if (!json_is_array(ids) || json_array_size(ids) == 0 ||
        json_array_size(ids) > ST_MAX_IDENTIFIERS) {
        problem(r, 400, "malformed", "identifiers must be an array of 1 to %d identifiers",
                ST_MAX_IDENTIFIERS);
        goto out;
    }
    if (json_object_get(p.payload, "notBefore") || json_object_get(p.payload, "notAfter")) {
        problem(r, 400, "malformed", "notBefore and notAfter are not supported");
        goto out;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *val = json_string_value(json_object_get(v, "value"));
        if (!type || !val) {
            problem(r, 400, "malformed", "identifier %zu needs string type and value", i);
            goto out;
        }
        if (strcmp(type, "dns")) {
            problem(r, 400, "unsupportedIdentifier", "only dns identifiers are supported");
            goto out;
        }
        char norm[DP_DOMAIN_MAX + 3];
        struct dp_error e;
        if (dp_domain_normalize(val, norm, DP_DOMAIN_ALLOW_WILDCARD, &e) != DP_OK ||
            strcmp(norm, val) || strchr(norm + 1, '*')) {
            problem(r, 400, "rejectedIdentifier",
                    "'%.260s' is not a lowercase A-label domain name: %s", val,
                    e.code ? e.detail : "not in normalized form");
            goto out;
        }
        if (dp_scope_is_public_suffix(ca->dp, dp_domain_base(norm))) {
            problem(r, 400, "rejectedIdentifier", "%s is a public suffix", norm);
            goto out;
        }
        int dup = 0;
        for (size_t k = 0; k < o->n; k++)
            dup |= !strcmp(o->identifiers[k], norm);
        if (dup) continue;
        snprintf(o->identifiers[o->n], 256, "%s", norm);
        wild[o->n++] = norm[0] == '*';
    }
    snprintf(o->account, sizeof o->account, "%s", p.acct.id);
    int64_t now = (int64_t)time(NULL);
    o->expires = now + ca->cfg.order_lifetime;
    struct st_authz_init init[ST_MAX_IDENTIFIERS];
    for (i = 0; i < o->n; i++)
        init[i] = (struct st_authz_init){wild[i], o->expires, 0};
    if (ca->cfg.jit && ca->cfg.persist && p.acct.did_persist) jit(ca, o, init, now);
    if (store_order_create(ca->store, o, init)) {
        problem(r, 500, "serverInternal", "cannot store the order");
        goto out;
    }
    url(ca, r->location, sizeof r->location, "order", o->id);
    reply_json(r, 201, order_view(ca, o));
out:
    post_free(&p);
    free(o);
}

/* 0 when this thread may finalize order id (until finalize_done); 1 when
 * another request is finalizing it now. */
static int finalize_claim(struct ca *ca, const char *id)
{
    int busy = 0, slot = -1;
    pthread_mutex_lock(&ca->fin_mu);
    for (int i = 0; i < 64; i++) {
        if (!strcmp(ca->finalizing[i], id)) busy = 1;
        if (!ca->finalizing[i][0] && slot < 0) slot = i;
    }
    if (!busy && slot >= 0) snprintf(ca->finalizing[slot], ST_ID, "%s", id);
    pthread_mutex_unlock(&ca->fin_mu);
    return busy || slot < 0;
}

static void finalize_done(struct ca *ca, const char *id)
{
    pthread_mutex_lock(&ca->fin_mu);
    for (int i = 0; i < 64; i++)
        if (!strcmp(ca->finalizing[i], id)) ca->finalizing[i][0] = '\0';
    pthread_mutex_unlock(&ca->fin_mu);
}

static void issue(struct ca *ca, struct http_resp *r, struct st_order *o, const char *csr);

static void finalize(struct ca *ca, struct http_resp *r, struct st_order *o, json_t *payload)
{
    const char *csr = payload ? json_string_value(json_object_get(payload, "csr")) : NULL;
    if (finalize_claim(ca, o->id)) {
        problem(r, 403, "orderNotReady", "the order is being finalized already");
        return;
    }
    issue(ca, r, o, csr);
    finalize_done(ca, o->id);
}

static void issue(struct ca *ca, struct http_resp *r, struct st_order *o, const char *csr)
{
    order_refresh(ca, o);
    if (strcmp(o->status, "ready")) {
        problem(r, 403, "orderNotReady", "the order is %s, not ready", o->status);
        return;
    }
    if (!csr || strlen(csr) > 16384) {
        problem(r, 400, "malformed", "finalize needs a csr (base64url DER)");
        return;
    }
    unsigned char der[12288];
    size_t dl = dp_b64url_decode(csr, strlen(csr), der, sizeof der);
    const char *names[ST_MAX_IDENTIFIERS];
    for (size_t i = 0; i < o->n; i++)
        names[i] = o->identifiers[i];
    char why[256], serial[48], cert_id[ST_ID], *pem = NULL;
    if (dl == (size_t)-1) {
        problem(r, 400, "badCSR", "the csr is not base64url");
        return;
    }
    enum pki_csr_result cr = pki_issue(ca->pki, der, dl, names, o->n, ca->cfg.cert_lifetime, &pem,
                                       serial, why, sizeof why);
    if (cr != PKI_CSR_OK && cr != PKI_ISSUE_FAILED) {
        /* A bad CSR leaves the order ready for a better one (RFC 8555 7.4). */
        problem(r, 400, "badCSR", "%s", why);
        return;
    }
    int stored = cr == PKI_CSR_OK
                     ? store_cert_create(ca->store, o->account, o->id, serial, pem, cert_id)
                     : -1;
    if (stored == 1) { /* deactivated or expired meanwhile: the certificate is dropped */
        free(pem);
        problem(r, 403, "orderNotReady", "the order is no longer ready");
        return;
    }
    if (stored) {
        char *pj = ca_problem_json("serverInternal", "issuance failed", 500);
        store_order_set(ca->store, o->id, "invalid", pj ? pj : "", "");
        free(pj);
        free(pem);
        problem(r, 500, "serverInternal", "issuance failed");
        return;
    }
    free(pem);
    snprintf(o->status, sizeof o->status, "valid");
    snprintf(o->cert, sizeof o->cert, "%s", cert_id);
    o->error[0] = '\0';
    reply_json(r, 200, order_view(ca, o));
}

static void order_post(struct ca *ca, const struct http_req *req, struct http_resp *r,
                       const char *id)
{
    struct post p;
    struct st_order *o = calloc(1, sizeof *o);
    if (!o) return problem(r, 500, "serverInternal", "out of memory");
    if (check_post(ca, req, r, 0, 1, &p)) goto out;
    char oid[ST_ID + 16];
    snprintf(oid, sizeof oid, "%s", id);
    char *slash = strchr(oid, '/');
    int fin = slash && !strcmp(slash, "/finalize");
    if (slash) *slash = '\0';
    if ((slash && !fin) || store_order_get(ca->store, oid, o) || strcmp(o->account, p.acct.id)) {
        problem(r, 404, "malformed", "no such order for this account");
        goto out;
    }
    url(ca, r->location, sizeof r->location, "order", o->id);
    if (fin) {
        finalize(ca, r, o, p.payload);
        goto out;
    }
    order_refresh(ca, o);
    reply_json(r, 200, order_view(ca, o));
out:
    post_free(&p);
    free(o);
}

/* ---- authorizations and challenges ---- */

static void authz_post(struct ca *ca, const struct http_req *req, struct http_resp *r,
                       const char *id)
{
    struct post p;
    struct st_authz a;
    if (check_post(ca, req, r, 0, 1, &p)) goto out;
    if (store_authz_get(ca->store, id, &a) || strcmp(a.account, p.acct.id)) {
        problem(r, 404, "malformed", "no such authorization for this account");
        goto out;
    }
    if (p.payload) {
        json_t *st = json_object_get(p.payload, "status");
        if (!json_is_string(st) || strcmp(json_string_value(st), "deactivated")) {
            problem(r, 400, "malformed", "an authorization may only be deactivated");
            goto out;
        }
        if (strcmp(a.status, "pending") && strcmp(a.status, "valid")) {
            problem(r, 403, "unauthorized", "a %s authorization cannot be deactivated", a.status);
            goto out;
        }
        snprintf(a.status, sizeof a.status, "deactivated");
        store_authz_set(ca->store, &a);
    }
    va_overlay(ca->va, &a);
    reply_json(r, 200, authz_view(ca, &a));
out:
    post_free(&p);
}

static void challenge_post(struct ca *ca, const struct http_req *req, struct http_resp *r,
                           const char *rest)
{
    struct post p;
    struct st_authz a;
    char aid[ST_ID + 8];
    snprintf(aid, sizeof aid, "%s", rest);
    char *slash = strchr(aid, '/');
    if (slash) *slash = '\0';
    int t = slash ? type_index(rest + (slash - aid) + 1) : -1;
    if (check_post(ca, req, r, 0, 1, &p)) goto out;
    if (t < 0 || store_authz_get(ca->store, aid, &a) || strcmp(a.account, p.acct.id) ||
        !offered(ca, t, a.wildcard)) {
        problem(r, 404, "malformed", "no such challenge for this account");
        goto out;
    }
    snprintf(r->link, sizeof r->link, "<%s/acme/authz/%s>;rel=\"up\"", ca->base, a.id);
    /* {} answers a pending challenge (A3); POST-as-GET, or answering again,
     * only reads it. */
    int answer = p.payload && !strcmp(a.status, "pending") && !strcmp(a.ch_status, "pending");
    int started = answer ? va_answer(ca->va, &a, CH_TYPES[t]) : 2;
    if (started == 1) {
        problem(r, 400, "malformed", "another challenge of this authorization is being validated");
        goto out;
    }
    if (started == -1) {
        r->retry_after = 5;
        problem(r, 503, "rateLimited", "the validation queue is full: answer again later");
        goto out;
    }
    va_overlay(ca->va, &a);
    reply_json(r, 200, challenge_view(ca, &a, t));
out:
    post_free(&p);
}

/* ---- certificates ---- */

static void cert_post(struct ca *ca, const struct http_req *req, struct http_resp *r,
                      const char *id)
{
    struct post p;
    struct st_cert c = {0};
    if (check_post(ca, req, r, 0, 1, &p)) goto out;
    if (store_cert_get(ca->store, id, &c) || strcmp(c.account, p.acct.id)) {
        problem(r, 404, "malformed", "no such certificate for this account");
        goto out;
    }
    r->status = 200;
    r->content_type = "application/pem-certificate-chain";
    /* The store keeps the leaf alone (data from before kept the chain). */
    const char *begin = "-----BEGIN CERTIFICATE-----", *first = strstr(c.pem, begin);
    if (first && !strstr(first + 1, begin)) {
        size_t l = strlen(c.pem) + strlen(pki_chain_pem(ca->pki)) + 1;
        r->body = malloc(l);
        if (r->body) snprintf(r->body, l, "%s%s", c.pem, pki_chain_pem(ca->pki));
    } else {
        r->body = c.pem;
        c.pem = NULL;
    }
    if (!r->body) {
        problem(r, 500, "serverInternal", "out of memory");
        goto out;
    }
    r->body_len = strlen(r->body);
out:
    free(c.pem);
    post_free(&p);
}

/* RFC 8555 7.6: who may revoke. The request must name the stored
 * certificate byte for byte (a look-alike with the same issuer and serial
 * proves nothing). Then: the account that ordered it, an account holding
 * valid authorizations for every name in it, or its own key (jwk). */
static int revoke_allowed(struct ca *ca, const struct post *p, const struct st_cert *c,
                          const unsigned char *der, size_t dl)
{
    if (!p->by_kid) {
        char a[DP_THUMBPRINT_BUF], k[DP_THUMBPRINT_BUF];
        return dp_jws_jwk_thumbprint(p->jws, a, NULL) == DP_OK &&
               dp_jwk_thumbprint_cert(der, dl, k, NULL) == DP_OK && !strcmp(a, k);
    }
    if (!strcmp(c->account, p->acct.id)) return 1;
    char names[ST_MAX_IDENTIFIERS][256];
    size_t n = pki_cert_names(der, dl, names, ST_MAX_IDENTIFIERS);
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        const char *id = strncmp(names[i], "*.", 2) ? names[i] : names[i] + 2;
        if (store_authz_covers(ca->store, p->acct.id, id, now)) return 0;
    }
    return n > 0;
}

static void revoke(struct ca *ca, const struct http_req *req, struct http_resp *r)
{
    struct post p;
    struct st_cert c = {0};
    if (check_post(ca, req, r, 1, 1, &p)) goto out;
    const char *b = p.payload ? json_string_value(json_object_get(p.payload, "certificate")) : NULL;
    json_t *reason = p.payload ? json_object_get(p.payload, "reason") : NULL;
    unsigned char der[16384];
    size_t dl = b ? dp_b64url_decode(b, strlen(b), der, sizeof der) : (size_t)-1;
    char serial[48];
    if (dl == (size_t)-1 || pki_cert_serial(ca->pki, der, dl, serial) ||
        store_cert_by_serial(ca->store, serial, &c) || !pki_cert_same(c.pem, der, dl)) {
        problem(r, 404, "malformed", "not a certificate this CA issued");
        goto out;
    }
    /* RFC 5280 5.3.1: 0-6 and 8-10; checked before any narrowing. */
    json_int_t code = reason ? json_integer_value(reason) : 0;
    if (reason && (!json_is_integer(reason) || code < 0 || code > 10 || code == 7)) {
        problem(r, 400, "badRevocationReason", "reason must be an RFC 5280 code other than 7");
        goto out;
    }
    if (!revoke_allowed(ca, &p, &c, der, dl)) {
        problem(r, 403, "unauthorized",
                "neither the certificate's account, nor an account authorized for all its "
                "names, nor its key signed this");
        goto out;
    }
    int rv = store_cert_revoke(ca->store, c.id, (int)code);
    if (rv) {
        if (rv == 1)
            problem(r, 400, "alreadyRevoked", "the certificate is already revoked");
        else
            problem(r, 500, "serverInternal", "cannot store the revocation");
        goto out;
    }
    r->status = 200;
out:
    free(c.pem);
    post_free(&p);
}

/* ---- ARI (RFC 9773) ---- */

/* GET /acme/renewal-info/<AKI>.<serial>: the window in which to renew: the
 * last third of the lifetime, or now for a revoked certificate. */
static void renewal_info(struct ca *ca, const char *id, struct http_resp *r)
{
    const char *dot = strchr(id, '.');
    unsigned char aki[64], ser[64];
    size_t al = dot ? dp_b64url_decode(id, (size_t)(dot - id), aki, sizeof aki) : (size_t)-1;
    size_t sl = dot ? dp_b64url_decode(dot + 1, strlen(dot + 1), ser, sizeof ser) : (size_t)-1;
    if (al == (size_t)-1 || sl == (size_t)-1 || sl == 0)
        return problem(r, 400, "malformed", "renewalInfo needs base64url(AKI).base64url(serial)");
    char hex[2 * sizeof ser + 1], *h = hex;
    size_t i = 0;
    while (i + 1 < sl && ser[i] == 0)
        i++; /* the serial's leading zero octet is not part of our hex form */
    for (; i < sl; i++)
        h += sprintf(h, "%02x", ser[i]);
    struct st_cert c = {0};
    int64_t nb = 0, na = 0;
    if (store_cert_by_serial(ca->store, hex, &c) || pki_cert_times(c.pem, &nb, &na)) {
        free(c.pem);
        return problem(r, 404, "malformed", "no certificate with that serial");
    }
    int64_t now = (int64_t)time(NULL), start = nb + (na - nb) * 2 / 3, end = nb + (na - nb) * 5 / 6;
    if (c.revoked) {
        start = now - 3600;
        end = now;
    }
    free(c.pem);
    r->retry_after = 21600;
    reply_json(r, 200,
               json_pack("{s:{s:o,s:o}}", "suggestedWindow", "start", time_json(start), "end",
                         time_json(end)));
}

/* ---- dispatch ---- */

void acme_handle(void *app, const struct http_req *req, struct http_resp *r)
{
    struct ca *ca = app;
    const char *path = req->path, *id;
    nonces_issue(ca->nonces, r->nonce);
    snprintf(r->link, sizeof r->link, "<%s/directory>;rel=\"index\"", ca->base);
    int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    int post = !strcmp(req->method, "POST");
    if (!strcmp(path, "/directory") && get) return directory(ca, r);
    if (get && (id = path_id(path, "renewal-info"))) return renewal_info(ca, id, r);
    if (!strcmp(path, "/acme/new-nonce") && get) {
        r->status = !strcmp(req->method, "GET") ? 204 : 200;
        return;
    }
    if (!post) {
        if (!strcmp(path, "/directory") || !strncmp(path, "/acme/", 6)) {
            r->status = 405;
            return problem(r, 405, "malformed", "ACME resources take POST");
        }
        return problem(r, 404, "malformed", "no such resource");
    }
    if (!strcmp(path, "/acme/new-account")) return new_account(ca, req, r);
    if (!strcmp(path, "/acme/new-order")) return new_order(ca, req, r);
    if (!strcmp(path, "/acme/key-change")) return key_change(ca, req, r);
    if (!strcmp(path, "/acme/revoke-cert")) return revoke(ca, req, r);
    if ((id = path_id(path, "acct"))) return account_post(ca, req, r, id);
    if ((id = path_id(path, "order"))) return order_post(ca, req, r, id);
    if ((id = path_id(path, "authz"))) return authz_post(ca, req, r, id);
    if ((id = path_id(path, "chall"))) return challenge_post(ca, req, r, id);
    if ((id = path_id(path, "cert"))) return cert_post(ca, req, r, id);
    problem(r, 404, "malformed", "no such resource");
}
