/* wfe_order.c: new-order, order objects and finalize (RFC 8555 7.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "wfe.h"

/* Reads the identifiers of a new-order payload into o (normalized,
 * deduplicated); 0, or -1 with the problem in r. */
static int identifiers(struct wfe *wfe, json_t *payload, struct st_order *o, struct http_resp *r)
{
    json_t *ids = payload ? json_object_get(payload, "identifiers") : NULL;
    if (!json_is_array(ids) || json_array_size(ids) == 0 ||
        json_array_size(ids) > ST_MAX_IDENTIFIERS) {
        wfe_problem(r, 400, "malformed", "identifiers must be an array of 1 to %d identifiers",
                    ST_MAX_IDENTIFIERS);
        return -1;
    }
    if (json_object_get(payload, "notBefore") || json_object_get(payload, "notAfter")) {
        wfe_problem(r, 400, "malformed", "notBefore and notAfter are not supported");
        return -1;
    }
    /* Every identifier is judged; each refused one is a subproblem (RFC
     * 8555 6.7.1), so a client learns of all of them at once. */
    json_t *subs = json_array();
    const char *first_type = NULL;
    char first[800] = "";
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *val = json_string_value(json_object_get(v, "value"));
        if (!type || !val) {
            json_decref(subs);
            wfe_problem(r, 400, "malformed", "identifier %zu needs string type and value", i);
            return -1;
        }
        const char *ptype = NULL;
        char detail[800], norm[DP_DOMAIN_MAX + 3];
        struct dp_error e;
        if (strcmp(type, "dns")) {
            ptype = "unsupportedIdentifier";
            snprintf(detail, sizeof detail, "only dns identifiers are supported, not '%.32s'",
                     type);
        } else if (dp_domain_normalize(val, norm, DP_DOMAIN_ALLOW_WILDCARD, &e) != DP_OK ||
                   strcmp(norm, val) || strchr(norm + 1, '*')) {
            ptype = "rejectedIdentifier";
            snprintf(detail, sizeof detail,
                     "'%.200s' is not a lowercase A-label domain name: %.300s", val,
                     e.code ? e.detail : "not in normalized form");
        } else if (dp_scope_is_public_suffix(wfe->dp, dp_domain_base(norm))) {
            ptype = "rejectedIdentifier";
            snprintf(detail, sizeof detail, "%s is a public suffix", norm);
        }
        if (ptype) {
            char t[128];
            snprintf(t, sizeof t, PROBLEM_NS "%s", ptype);
            json_array_append_new(subs,
                                  json_pack("{s:s,s:s,s:{s:s,s:s}}", "type", t, "detail", detail,
                                            "identifier", "type", type, "value", val));
            if (!first_type) {
                first_type = ptype;
                snprintf(first, sizeof first, "%s", detail);
            }
            continue;
        }
        int dup = 0;
        for (size_t k = 0; k < o->n; k++)
            dup |= !strcmp(o->identifiers[k], norm);
        if (!dup) snprintf(o->identifiers[o->n++], 256, "%s", norm);
    }
    size_t nsub = json_array_size(subs);
    if (nsub == 1) {
        json_t *extra = json_pack("{s:O}", "subproblems", subs);
        wfe_problem_extra(r, 400, first_type, extra, "%s", first);
        json_decref(extra);
    } else if (nsub > 1) {
        json_t *extra = json_pack("{s:O}", "subproblems", subs);
        wfe_problem_extra(r, 400, "rejectedIdentifier", extra,
                          "%zu of the %zu identifiers were refused: see subproblems", nsub,
                          json_array_size(ids));
        json_decref(extra);
    }
    json_decref(subs);
    if (nsub) return -1;
    return 0;
}

void wfe_new_order(struct wfe *wfe, const struct http_req *req, struct http_resp *r, const char *id)
{
    (void)id;
    struct post p;
    struct st_order *o = calloc(1, sizeof *o);
    if (!o) return wfe_problem(r, 500, "serverInternal", "out of memory");
    if (wfe_check_post(wfe, req, r, WFE_KID, &p) || identifiers(wfe, p.payload, o, r)) goto out;
    snprintf(o->account, sizeof o->account, "%s", p.acct.id);
    json_t *rep = json_object_get(p.payload, "replaces");
    if (rep && (!json_is_string(rep) || json_string_length(rep) >= sizeof o->replaces)) {
        wfe_problem(r, 400, "malformed", "replaces must be a certificate ID (RFC 9773)");
        goto out;
    }
    if (rep) snprintf(o->replaces, sizeof o->replaces, "%s", json_string_value(rep));
    /* draft-ietf-acme-profiles: one of the directory's meta.profiles. */
    json_t *pf = json_object_get(p.payload, "profile");
    const struct profiles *ps = wfe->cfg->profiles;
    const struct profile *prof = pf ? profiles_find(ps, json_string_value(pf)) : &ps->p[ps->def];
    if (!prof) {
        char known[400];
        profiles_list(ps, known, sizeof known);
        if (json_is_string(pf))
            wfe_problem(r, 400, "invalidProfile", "no profile '%.64s' here; this CA offers %s",
                        json_string_value(pf), known);
        else
            wfe_problem(r, 400, "malformed", "profile must be a string, one of %s", known);
        goto out;
    }
    snprintf(o->profile, sizeof o->profile, "%s", prof->name);
    struct ra_problem rp = {0};
    if (ra_order_new(wfe->ra, o, p.acct.did_persist, &rp)) {
        wfe_ra_problem(wfe, r, &rp);
        goto out;
    }
    wfe_url(wfe, r->location, sizeof r->location, "order", o->id);
    wfe_reply_json(r, 201, wfe_order_view(wfe, o));
out:
    wfe_post_free(&p);
    free(o);
}

/* POST /acme/order/<id> (read) and /acme/order/<id>/finalize. */
void wfe_order(struct wfe *wfe, const struct http_req *req, struct http_resp *r, const char *id)
{
    struct post p;
    struct st_order *o = calloc(1, sizeof *o);
    if (!o) return wfe_problem(r, 500, "serverInternal", "out of memory");
    if (wfe_check_post(wfe, req, r, WFE_KID, &p)) goto out;
    char oid[ST_ID + 16];
    snprintf(oid, sizeof oid, "%s", id);
    char *slash = strchr(oid, '/');
    int fin = slash && !strcmp(slash, "/finalize");
    if (slash) *slash = '\0';
    if ((slash && !fin) || store_order_get(wfe->store, oid, o) || strcmp(o->account, p.acct.id)) {
        wfe_problem(r, 404, "malformed", "no such order for this account");
        goto out;
    }
    wfe_url(wfe, r->location, sizeof r->location, "order", o->id);
    struct ra_problem rp = {0};
    if (fin) {
        const char *csr = p.payload ? json_string_value(json_object_get(p.payload, "csr")) : NULL;
        if (ra_finalize(wfe->ra, o, csr, &rp)) {
            wfe_ra_problem(wfe, r, &rp);
            goto out;
        }
    } else {
        ra_order_refresh(wfe->ra, o);
        if (o->status == ST_PROCESSING) r->retry_after = 1;
    }
    wfe_reply_json(r, 200, wfe_order_view(wfe, o));
out:
    wfe_post_free(&p);
    free(o);
}
