/*
 * acme.c: RFC 8555 client for dns-persist-01: the session (directory,
 * nonces, problems) and the account; orders are in acme_order.c.
 *
 * Every POST goes through dp__acme_post(): sign with the current nonce (fetching one
 * from newNonce when none is held), send, keep the Replay-Nonce of the
 * answer, and retry once on badNonce with the fresh nonce that answer
 * carried (RFC 8555 6.5). Problem documents land in a->problem.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "http.h"
#include "acme_int.h"
#include "internal.h"

void dp__acme_take_problem(struct dp_acme *a, const struct dp_http_resp *r)
{
    memset(&a->problem, 0, sizeof a->problem);
    a->problem.status = (int)r->status;
    json_t *o = r->body ? json_loads(r->body, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(o, "type"));
    const char *d = json_string_value(json_object_get(o, "detail"));
    snprintf(a->problem.type, sizeof a->problem.type, "%s", t ? t : "");
    snprintf(a->problem.detail, sizeof a->problem.detail, "%s", d ? d : "");
    json_decref(o);
}

/* Maps the CA's problem to a dp_code and a detail. */
dp_code dp__acme_problem_fail(struct dp_acme *a, struct dp_error *err, const char *what)
{
    const char *t = a->problem.type;
    const char *suffix = strncmp(t, "urn:ietf:params:acme:error:", 27) ? t : t + 27;
    dp_code c = !strcmp(suffix, "unauthorized") ? DP_ERR_UNAUTHORIZED
                : !strcmp(suffix, "malformed")  ? DP_ERR_MALFORMED
                : !strcmp(suffix, "dns")        ? DP_ERR_DNS
                                                : DP_ERR_IO;
    return dp__fail(err, c, NULL, DP_NO_OFFSET, "%s: %s%s%s (HTTP %d)", what,
                    t[0] ? t : "no problem document", a->problem.detail[0] ? ": " : "",
                    a->problem.detail, a->problem.status);
}

static dp_code get_nonce(struct dp_acme *a, struct dp_error *err)
{
    struct dp_http_resp r;
    dp_code rc = dp__http_request(a->http, "HEAD", a->new_nonce, NULL, &r, err);
    if (rc == DP_OK && !r.nonce[0])
        rc = dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "newNonce gave no Replay-Nonce");
    if (rc == DP_OK) snprintf(a->nonce, sizeof a->nonce, "%s", r.nonce);
    dp__http_resp_clear(&r);
    return rc;
}

/* Signs payload (NULL: POST-as-GET) for url; kid: use the account URL, else
 * the jwk. On an HTTP answer >= 400 the problem is kept and DP_ERR_IO... is
 * NOT returned: the caller reads r->status. */
dp_code dp__acme_post(struct dp_acme *a, const char *url, const char *payload, int use_jwk,
                      struct dp_http_resp *r, struct dp_error *err)
{
    memset(r, 0, sizeof *r); /* callers clear r whatever the outcome */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!a->nonce[0] && get_nonce(a, err) != DP_OK) return err ? err->code : DP_ERR_IO;
        char *body =
            dp_jws_sign_alloc(a->key, use_jwk ? NULL : a->account, a->nonce, url, payload, err);
        a->nonce[0] = '\0';
        if (!body) return err ? err->code : DP_ERR_CRYPTO;
        dp_code rc = dp__http_request(a->http, "POST", url, body, r, err);
        free(body);
        if (rc != DP_OK) return rc;
        if (r->nonce[0]) snprintf(a->nonce, sizeof a->nonce, "%s", r->nonce);
        if (r->status < 400) return DP_OK;
        dp__acme_take_problem(a, r);
        if (attempt == 0 && strstr(a->problem.type, ":badNonce")) {
            dp__http_resp_clear(r);
            continue;
        }
        return DP_OK;
    }
    return DP_OK;
}

json_t *dp__acme_body_json(const struct dp_http_resp *r)
{
    return r->body ? json_loads(r->body, 0, NULL) : NULL;
}

void dp__acme_copy_url(json_t *o, const char *k, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, k));
    snprintf(out, cap, "%s", s ? s : "");
}

struct dp_acme *dp_acme_new(const struct dp_acme_config *cfg, const struct dp_key *key,
                            struct dp_error *err)
{
    dp_error_clear(err);
    if (!cfg || !cfg->directory || !key) {
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
        return NULL;
    }
    struct dp_acme *a = calloc(1, sizeof *a);
    if (!a || !(a->dir_url = strdup(cfg->directory)) ||
        !(a->http = dp__http_new(cfg->ca_bundle, cfg->timeout_ms, err))) {
        dp_acme_free(a);
        if (err && !err->code) dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    a->key = key;
    a->poll_ms = cfg->poll_ms ? cfg->poll_ms : 60000;
    struct dp_http_resp r;
    if (dp__http_request(a->http, "GET", a->dir_url, NULL, &r, err) != DP_OK) {
        dp_acme_free(a);
        return NULL;
    }
    json_t *d = r.status == 200 ? dp__acme_body_json(&r) : NULL;
    dp__http_resp_clear(&r);
    if (!json_is_object(d)) {
        json_decref(d);
        dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "%s is not an ACME directory", cfg->directory);
        dp_acme_free(a);
        return NULL;
    }
    dp__acme_copy_url(d, "newNonce", a->new_nonce, sizeof a->new_nonce);
    dp__acme_copy_url(d, "newAccount", a->new_account, sizeof a->new_account);
    dp__acme_copy_url(d, "newOrder", a->new_order, sizeof a->new_order);
    dp__acme_copy_url(d, "keyChange", a->key_change, sizeof a->key_change);
    dp__acme_copy_url(d, "revokeCert", a->revoke, sizeof a->revoke);
    dp__acme_copy_url(d, "renewalInfo", a->ari, sizeof a->ari);
    json_t *meta = json_object_get(d, "meta");
    const char *hp = json_string_value(json_object_get(meta, "accountHashPrefix"));
    if (hp) a->hash_prefix = strdup(hp);
    json_t *names = json_object_get(meta, "issuerDomainNames");
    /* Section 3.2: a nonconforming array is treated as absent. */
    if (json_is_array(names) && json_array_size(names) >= 1 &&
        json_array_size(names) <= DP_MAX_ISSUERS) {
        size_t i;
        json_t *v;
        int good = 1;
        json_array_foreach(names, i, v)
        {
            char norm[DP_DOMAIN_MAX + 3];
            const char *s = json_string_value(v);
            good = good && s && dp_domain_normalize(s, norm, 0, NULL) == DP_OK && !strcmp(norm, s);
        }
        json_array_foreach(names, i, v)
        {
            if (good) a->issuers[a->n_issuers++] = strdup(json_string_value(v));
        }
    }
    /* Section 3.2: caaIdentities, when present and conforming, bound the challenge's names. */
    json_t *caa = json_object_get(meta, "caaIdentities");
    if (json_is_array(caa) && json_array_size(caa) >= 1 && json_array_size(caa) <= DP_MAX_ISSUERS) {
        size_t i;
        json_t *v;
        int good = 1;
        json_array_foreach(caa, i, v)
        {
            char norm[DP_DOMAIN_MAX + 3];
            const char *s2 = json_string_value(v);
            good = good && s2 && dp_domain_normalize(s2, norm, 0, NULL) == DP_OK;
        }
        json_array_foreach(caa, i, v)
        {
            char norm[DP_DOMAIN_MAX + 3];
            if (good && dp_domain_normalize(json_string_value(v), norm, 0, NULL) == DP_OK &&
                (a->caa[a->n_caa] = strdup(norm)))
                a->n_caa++;
        }
    }
    /* draft-ietf-acme-profiles: name -> description. */
    const char *pname;
    json_t *pdesc;
    json_object_foreach(json_object_get(meta, "profiles"), pname, pdesc)
    {
        if (a->n_profiles == DP_ACME_MAX_PROFILES || !json_is_string(pdesc) || strlen(pname) > 63)
            continue;
        char *n1 = strdup(pname), *d1 = strdup(json_string_value(pdesc));
        if (!n1 || !d1) {
            free(n1);
            free(d1);
            continue;
        }
        a->profiles[a->n_profiles] = n1;
        a->profile_descs[a->n_profiles++] = d1;
    }
    json_decref(d);
    if (!a->new_nonce[0] || !a->new_account[0] || !a->new_order[0]) {
        dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "%s lacks newNonce, newAccount or newOrder",
                 cfg->directory);
        dp_acme_free(a);
        return NULL;
    }
    return a;
}

void dp_acme_free(struct dp_acme *a)
{
    if (!a) return;
    dp__http_free(a->http);
    free(a->dir_url);
    free(a->hash_prefix);
    for (size_t i = 0; i < a->n_issuers; i++)
        free(a->issuers[i]);
    for (size_t i = 0; i < a->n_caa; i++)
        free(a->caa[i]);
    for (size_t i = 0; i < a->n_expect; i++)
        free(a->expect[i]);
    for (size_t i = 0; i < a->n_profiles; i++) {
        free(a->profiles[i]);
        free(a->profile_descs[i]);
    }
    free(a);
}

const char *dp_acme_hash_prefix(const struct dp_acme *a)
{
    return a ? a->hash_prefix : NULL;
}

size_t dp_acme_issuer_names(const struct dp_acme *a, const char *const **names)
{
    if (names) *names = (const char *const *)a->issuers;
    return a->n_issuers;
}

size_t dp_acme_caa_identities(const struct dp_acme *a, const char *const **names)
{
    if (names) *names = (const char *const *)a->caa;
    return a->n_caa;
}

dp_code dp_acme_expect_issuers(struct dp_acme *a, const char *const *names, size_t n,
                               struct dp_error *err)
{
    if (!a || (n && !names))
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "no session or no names");
    if (n > DP_MAX_ISSUERS)
        return dp__fail(err, DP_ERR_INVAL, "A4", DP_NO_OFFSET, "%zu issuer names; at most %d (A4)",
                        n, DP_MAX_ISSUERS);
    char *copy[DP_MAX_ISSUERS] = {0};
    for (size_t i = 0; i < n; i++) {
        char norm[DP_DOMAIN_MAX + 3];
        dp_code rc = dp_domain_normalize(names[i], norm, 0, err);
        if (rc == DP_OK && !(copy[i] = strdup(norm)))
            rc = dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        if (rc != DP_OK) {
            for (size_t k = 0; k < i; k++)
                free(copy[k]);
            return rc;
        }
    }
    for (size_t i = 0; i < a->n_expect; i++)
        free(a->expect[i]);
    memcpy(a->expect, copy, sizeof copy);
    a->n_expect = n;
    return DP_OK;
}

size_t dp_acme_profiles(const struct dp_acme *a, const char *const **names,
                        const char *const **descriptions)
{
    if (names) *names = (const char *const *)a->profiles;
    if (descriptions) *descriptions = (const char *const *)a->profile_descs;
    return a->n_profiles;
}

dp_code dp_acme_set_profile(struct dp_acme *a, const char *name, struct dp_error *err)
{
    dp_error_clear(err);
    if (!a) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "no session");
    if (!name || !*name) {
        a->profile[0] = '\0';
        return DP_OK;
    }
    if (!a->n_profiles)
        return dp__fail(err, DP_ERR_UNSUPPORTED, NULL, DP_NO_OFFSET,
                        "the CA offers no profiles (its directory has no meta.profiles), so "
                        "profile %.64s cannot be asked for",
                        name);
    for (size_t i = 0; i < a->n_profiles; i++)
        if (!strcmp(a->profiles[i], name)) {
            snprintf(a->profile, sizeof a->profile, "%s", name);
            return DP_OK;
        }
    char known[512] = "";
    size_t o = 0;
    for (size_t i = 0; i < a->n_profiles && o < sizeof known; i++)
        o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "", a->profiles[i]);
    return dp__fail(err, DP_ERR_UNSUPPORTED, NULL, DP_NO_OFFSET,
                    "the CA offers no profile %.64s; it offers %s", name, known);
}

void dp_acme_set_poll_ms(struct dp_acme *a, unsigned ms)
{
    if (a) a->poll_ms = ms ? ms : 60000;
}

const struct dp_acme_problem *dp_acme_last_problem(const struct dp_acme *a)
{
    return &a->problem;
}

const char *dp_acme_account_url(const struct dp_acme *a)
{
    return a->account[0] ? a->account : NULL;
}

dp_code dp_acme_set_account_url(struct dp_acme *a, const char *url, struct dp_error *err)
{
    if (!url || strlen(url) >= sizeof a->account)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "bad account URL");
    snprintf(a->account, sizeof a->account, "%s", url);
    return DP_OK;
}

dp_code dp_acme_set_eab(struct dp_acme *a, const char *kid, const char *hmac_b64url,
                        struct dp_error *err)
{
    unsigned char k[256];
    if (!kid || !hmac_b64url || strlen(kid) >= sizeof a->eab_kid ||
        strlen(hmac_b64url) >= sizeof a->eab_key ||
        dp__b64url_decode(hmac_b64url, strlen(hmac_b64url), k, sizeof k) == (size_t)-1)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET,
                        "the EAB key id or HMAC key (base64url) is unusable");
    snprintf(a->eab_kid, sizeof a->eab_kid, "%s", kid);
    snprintf(a->eab_key, sizeof a->eab_key, "%s", hmac_b64url);
    return DP_OK;
}

dp_code dp_acme_account(struct dp_acme *a, int only_existing, const char *contact, int agree_tos,
                        struct dp_error *err)
{
    dp_error_clear(err);
    json_t *p = json_object();
    if (a->eab_kid[0]) {
        char *eab = dp_jws_eab_alloc(a->key, a->eab_kid, a->eab_key, a->new_account, err);
        json_t *e = eab ? json_loads(eab, 0, NULL) : NULL;
        free(eab);
        if (!e) {
            json_decref(p);
            return err && err->code ? err->code : DP_ERR_NOMEM;
        }
        json_object_set_new(p, "externalAccountBinding", e);
    }
    if (only_existing) json_object_set_new(p, "onlyReturnExisting", json_true());
    if (agree_tos) json_object_set_new(p, "termsOfServiceAgreed", json_true());
    if (contact) json_object_set_new(p, "contact", json_pack("[s]", contact));
    char *ps = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    struct dp_http_resp r;
    dp_code rc = ps ? dp__acme_post(a, a->new_account, ps, 1, &r, err) : DP_ERR_NOMEM;
    free(ps);
    if (rc != DP_OK) return rc;
    if (r.status >= 400) {
        dp__http_resp_clear(&r);
        return dp__acme_problem_fail(a, err, "newAccount");
    }
    if (!r.location[0])
        rc = dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "newAccount gave no Location");
    else
        snprintf(a->account, sizeof a->account, "%s", r.location);
    dp__http_resp_clear(&r);
    return rc;
}

dp_code dp_acme_account_check(struct dp_acme *a, struct dp_error *err)
{
    dp_error_clear(err);
    if (!a->account[0]) return dp__fail(err, DP_ERR_INVAL, "A7", DP_NO_OFFSET, "no account URL");
    struct dp_http_resp r;
    dp_code rc = dp__acme_post(a, a->account, NULL, 0, &r, err); /* payload "" exactly (A7) */
    if (rc != DP_OK) return rc;
    json_t *o = r.status == 200 ? dp__acme_body_json(&r) : NULL;
    const char *st = json_string_value(json_object_get(o, "status"));
    if (r.status >= 300 && r.status < 400)
        rc = dp__fail(err, DP_ERR_UNAUTHORIZED, "A7", DP_NO_OFFSET,
                      "the account URL redirects: refused (A7)");
    else if (r.status >= 400)
        rc = dp__acme_problem_fail(a, err, "account check (A7)");
    else if (!st || strcmp(st, "valid"))
        rc = dp__fail(err, DP_ERR_UNAUTHORIZED, "A7", DP_NO_OFFSET,
                      "the account is %s, not valid (A7)", st ? st : "of unknown status");
    json_decref(o);
    dp__http_resp_clear(&r);
    return rc;
}

dp_code dp_acme_key_change(struct dp_acme *a, const struct dp_key *new_key, struct dp_error *err)
{
    dp_error_clear(err);
    if (!a->account[0] || !a->key_change[0] || !new_key)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "no account, keyChange URL or key");
    json_t *inner_p = json_pack("{s:s,s:o}", "account", a->account, "oldKey",
                                json_loads(dp_key_jwk(a->key), 0, NULL));
    char *ip = json_dumps(inner_p, JSON_COMPACT);
    json_decref(inner_p);
    char *inner = ip ? dp_jws_sign_alloc(new_key, NULL, NULL, a->key_change, ip, err) : NULL;
    free(ip);
    if (!inner) return err ? err->code : DP_ERR_NOMEM;
    struct dp_http_resp r;
    dp_code rc = dp__acme_post(a, a->key_change, inner, 0, &r, err);
    free(inner);
    if (rc != DP_OK) return rc;
    if (r.status >= 400)
        rc = dp__acme_problem_fail(a, err, "keyChange");
    else
        a->key = new_key;
    dp__http_resp_clear(&r);
    return rc;
}

dp_code dp_acme_deactivate(struct dp_acme *a, struct dp_error *err)
{
    dp_error_clear(err);
    struct dp_http_resp r;
    dp_code rc = dp__acme_post(a, a->account, "{\"status\":\"deactivated\"}", 0, &r, err);
    if (rc != DP_OK) return rc;
    if (r.status >= 400) rc = dp__acme_problem_fail(a, err, "deactivate");
    dp__http_resp_clear(&r);
    return rc;
}
