/* wfe_view.c: what the front end sends: JSON views of the ACME objects,
 * their URLs, and replies (objects and problem documents). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "problem.h"
#include "wfe.h"

void wfe_reply_json(struct http_resp *r, int status, json_t *o)
{
    r->status = status;
    r->body = json_dumps(o, JSON_COMPACT);
    r->body_len = r->body ? strlen(r->body) : 0;
    r->content_type = "application/json";
    json_decref(o);
}

static void reply_problem_extra(struct http_resp *r, int status, const char *type,
                                const char *detail, json_t *extra)
{
    r->status = status;
    snprintf(r->problem, sizeof r->problem, "%s", type);
    r->body = problem_json_extra(type, detail, status, extra);
    r->body_len = r->body ? strlen(r->body) : 0;
    r->content_type = "application/problem+json";
}

static void reply_problem(struct http_resp *r, int status, const char *type, const char *detail)
{
    /* RFC 8555 6.2: badSignatureAlgorithm MUST list what is accepted. */
    if (!strcmp(type, "badSignatureAlgorithm")) {
        const char *const *algs;
        size_t n = dp_jws_algorithms(&algs);
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, json_string(algs[i]));
        json_t *extra = json_pack("{s:o}", "algorithms", list);
        reply_problem_extra(r, status, type, detail, extra);
        json_decref(extra);
        return;
    }
    r->status = status;
    snprintf(r->problem, sizeof r->problem, "%s", type);
    r->body = problem_json(type, detail, status);
    r->body_len = r->body ? strlen(r->body) : 0;
    r->content_type = "application/problem+json";
}

void wfe_problem(struct http_resp *r, int status, const char *type, const char *fmt, ...)
{
    char d[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    reply_problem(r, status, type, d);
}

void wfe_problem_extra(struct http_resp *r, int status, const char *type, json_t *extra,
                       const char *fmt, ...)
{
    char d[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    reply_problem_extra(r, status, type, d, extra);
}

void wfe_ra_problem(struct wfe *wfe, struct http_resp *r, const struct ra_problem *p)
{
    if (p->location[0]) wfe_url(wfe, r->location, sizeof r->location, "acct", p->location);
    if (p->retry_after) r->retry_after = p->retry_after;
    reply_problem(r, p->status, p->type, p->detail);
}

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

void wfe_url(const struct wfe *wfe, char *out, size_t cap, const char *kind, const char *id)
{
    fmt(out, cap, "%s/acme/%s/%s", wfe->base, kind, id);
}

json_t *wfe_time_json(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char b[32];
    gmtime_r(&tt, &tm);
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(b);
}

json_t *wfe_account_view(const struct wfe *wfe, const struct st_account *a)
{
    char u[600];
    wfe_url(wfe, u, sizeof u, "acct", a->id);
    json_t *contact = json_loads(a->contact, 0, NULL);
    json_t *key = json_loads(a->jwk, 0, NULL);
    json_t *o = json_pack("{s:s,s:o,s:o}", "status", st_status_name(a->status), "contact",
                          contact ? contact : json_array(), "key", key ? key : json_null());
    snprintf(u + strlen(u), sizeof u - strlen(u), "/orders");
    json_object_set_new(o, "orders", json_string(u));
    return o;
}

json_t *wfe_challenge_view(const struct wfe *wfe, const struct st_authz *a, int t)
{
    char u[700], acct[600];
    const char *type = RA_CH_TYPES[t];
    fmt(u, sizeof u, "%s/acme/chall/%s/%s", wfe->base, a->id, type);
    const char *st = st_status_name(!strcmp(a->ch_type, type) ? a->ch_status : ST_PENDING);
    json_t *o = json_pack("{s:s,s:s,s:s}", "type", type, "url", u, "status", st);
    if (t == 0) {
        json_t *names = json_array();
        for (size_t i = 0; i < wfe->cfg->n_issuers; i++)
            json_array_append_new(names, json_string(wfe->cfg->issuers[i]));
        json_object_set(o, "issuerDomainNames", names);
        if (wfe->cfg->draft01_compat) {
            /* Boulder and Pebble's draft-01 fields, for today's clients. */
            json_object_set(o, "issuer-domain-names", names);
            wfe_url(wfe, acct, sizeof acct, "acct", a->account);
            json_object_set_new(o, "accounturi", json_string(acct));
        }
        json_decref(names);
    } else {
        json_object_set_new(o, "token", json_string(a->token));
    }
    if (!strcmp(a->ch_type, type)) {
        if (a->ch_validated) json_object_set_new(o, "validated", wfe_time_json(a->ch_validated));
        if (a->ch_error[0]) json_object_set_new(o, "error", json_loads(a->ch_error, 0, NULL));
    }
    return o;
}

json_t *wfe_authz_view(struct wfe *wfe, const struct st_authz *a)
{
    json_t *chs = json_array();
    unsigned offered = ra_challenges_offered(wfe->ra, a);
    for (int t = 0; t < CA_MAX_CHALLENGES; t++)
        if (offered & (1u << t)) json_array_append_new(chs, wfe_challenge_view(wfe, a, t));
    json_t *o = json_pack("{s:{s:s,s:s},s:s,s:o,s:o}", "identifier", "type", "dns", "value",
                          a->identifier, "status", ra_authz_status(a), "expires",
                          wfe_time_json(a->expires), "challenges", chs);
    if (a->wildcard) json_object_set_new(o, "wildcard", json_true());
    return o;
}

json_t *wfe_order_view(const struct wfe *wfe, const struct st_order *o)
{
    json_t *ids = json_array(), *azs = json_array();
    char u[700];
    for (size_t i = 0; i < o->n; i++) {
        json_array_append_new(ids,
                              json_pack("{s:s,s:s}", "type", "dns", "value", o->identifiers[i]));
        wfe_url(wfe, u, sizeof u, "authz", o->authz[i]);
        json_array_append_new(azs, json_string(u));
    }
    wfe_url(wfe, u, sizeof u, "order", o->id);
    strcat(u, "/finalize");
    json_t *v = json_pack("{s:s,s:o,s:o,s:o,s:s}", "status", st_status_name(o->status), "expires",
                          wfe_time_json(o->expires), "identifiers", ids, "authorizations", azs,
                          "finalize", u);
    if (o->cert[0]) {
        wfe_url(wfe, u, sizeof u, "cert", o->cert);
        json_object_set_new(v, "certificate", json_string(u));
    }
    if (o->error[0]) json_object_set_new(v, "error", json_loads(o->error, 0, NULL));
    if (o->replaces[0]) json_object_set_new(v, "replaces", json_string(o->replaces));
    if (o->profile[0]) json_object_set_new(v, "profile", json_string(o->profile));
    return v;
}
