/*
 * wfe.c: routing of the ACME front end, the directory and new-nonce. Every
 * response carries a fresh nonce and the directory's index link.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "wfe.h"

static void directory(struct wfe *wfe, struct http_resp *r)
{
    static const char *const eps[][2] = {
        {"newNonce", "/acme/new-nonce"},   {"newAccount", "/acme/new-account"},
        {"newOrder", "/acme/new-order"},   {"revokeCert", "/acme/revoke-cert"},
        {"keyChange", "/acme/key-change"}, {"renewalInfo", "/acme/renewal-info"},
    };
    char u[600];
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
        snprintf(u, sizeof u, "%s%s", wfe->base, eps[i][1]);
        json_object_set_new(o, eps[i][0], json_string(u));
    }
    json_t *meta = json_object();
    json_object_set_new(meta, "externalAccountRequired", json_boolean(wfe->cfg->eab_required));
    if (wfe->cfg->persist && !wfe->cfg->directory_draft01) {
        json_t *names = json_array();
        for (size_t i = 0; i < wfe->cfg->n_issuers; i++)
            json_array_append_new(names, json_string(wfe->cfg->issuers[i]));
        json_object_set_new(meta, "issuerDomainNames", names);
        json_object_set_new(meta, "accountHashPrefix", json_string(wfe->cfg->hash_prefix));
    }
    if (wfe->cfg->n_caa) {
        json_t *caa = json_array();
        for (size_t i = 0; i < wfe->cfg->n_caa; i++)
            json_array_append_new(caa, json_string(wfe->cfg->caa_identities[i]));
        json_object_set_new(meta, "caaIdentities", caa);
    }
    json_t *profiles = json_object(); /* draft-ietf-acme-profiles */
    for (size_t i = 0; i < wfe->cfg->profiles->n; i++)
        json_object_set_new(profiles, wfe->cfg->profiles->p[i].name,
                            json_string(wfe->cfg->profiles->p[i].description));
    json_object_set_new(meta, "profiles", profiles);
    json_object_set_new(o, "meta", meta);
    wfe_reply_json(r, 200, o);
}

/* POST routes: a fixed path, or "/acme/<kind>/" followed by an id. */
static const struct route {
    const char *path; /* ends in '/' for a prefix */
    wfe_handler h;
} routes[] = {
    {"/acme/new-account", wfe_new_account},
    {"/acme/new-order", wfe_new_order},
    {"/acme/key-change", wfe_key_change},
    {"/acme/revoke-cert", wfe_revoke},
    {"/acme/acct/", wfe_account},
    {"/acme/order/", wfe_order},
    {"/acme/authz/", wfe_authz},
    {"/acme/chall/", wfe_challenge},
    {"/acme/cert/", wfe_cert},
};

/* The id after prefix in path: non-empty and of a bounded length, or NULL. */
static const char *route_id(const char *path, const char *prefix)
{
    size_t pl = strlen(prefix);
    if (strncmp(path, prefix, pl)) return NULL;
    const char *id = path + pl;
    return *id && strlen(id) < ST_ID + 32 ? id : NULL;
}

static void route(struct wfe *wfe, const struct http_req *req, struct http_resp *r)
{
    const char *path = req->path, *id;
    nonces_issue(wfe->nonces, r->nonce);
    snprintf(r->link, sizeof r->link, "<%s/directory>;rel=\"index\"", wfe->base);
    int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    if (get) {
        if (!strcmp(path, "/directory")) return directory(wfe, r);
        if ((id = route_id(path, "/acme/renewal-info/"))) return wfe_renewal_info(wfe, req, r, id);
        if (!strcmp(path, "/acme/new-nonce")) {
            r->status = !strcmp(req->method, "GET") ? 204 : 200;
            return;
        }
    }
    if (strcmp(req->method, "POST")) {
        if (!strcmp(path, "/directory") || !strncmp(path, "/acme/", 6))
            return wfe_problem(r, 405, "malformed", "ACME resources take POST");
        return wfe_problem(r, 404, "malformed", "no such resource");
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const char *p = routes[i].path;
        if (p[strlen(p) - 1] != '/') {
            if (!strcmp(path, p)) return routes[i].h(wfe, req, r, NULL);
        } else if ((id = route_id(path, p))) {
            return routes[i].h(wfe, req, r, id);
        }
    }
    wfe_problem(r, 404, "malformed", "no such resource");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every request is counted and logged once, with what the handler found
 * out (its account, its problem), whichever way it ended. */
void wfe_handle(void *app, const struct http_req *req, struct http_resp *r)
{
    double t0 = now_s();
    route(app, req, r);
    double dt = now_s() - t0;
    metrics_request(req->method, req->path, r->status, r->problem, dt);
    if (!log_enabled(r->status >= 500 ? LOG_ERROR : LOG_INFO)) return;
    char st[8], ms[24], path[160], method[24];
    snprintf(st, sizeof st, "%d", r->status);
    snprintf(ms, sizeof ms, "%.3f", dt * 1000);
    /* Paths are client-chosen: bounded, so a long one cannot fill the log. */
    snprintf(path, sizeof path, "%.150s", req->path);
    snprintf(method, sizeof method, "%.16s", req->method);
    log_event(r->status >= 500 ? LOG_ERROR : LOG_INFO, "request", "method", method, "path", path,
              "#status", st, "problem", r->problem, "account", r->account, "peer", req->peer, "#ms",
              ms, NULL);
}
