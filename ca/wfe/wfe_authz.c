/* wfe_authz.c: authorizations (read, deactivate) and challenges (read,
 * answer) (RFC 8555 7.5). */
#include <stdio.h>
#include <string.h>

#include "wfe.h"

void wfe_authz(struct wfe *wfe, const struct http_req *req, struct http_resp *r, const char *id)
{
    struct post p;
    struct st_authz a;
    if (wfe_check_post(wfe, req, r, WFE_KID, &p)) goto out;
    if (store_authz_get(wfe->store, id, &a) || strcmp(a.account, p.acct.id)) {
        wfe_problem(r, 404, "malformed", "no such authorization for this account");
        goto out;
    }
    if (p.payload) {
        json_t *st = json_object_get(p.payload, "status");
        if (!json_is_string(st) || strcmp(json_string_value(st), "deactivated")) {
            wfe_problem(r, 400, "malformed", "an authorization may only be deactivated");
            goto out;
        }
        struct ra_problem rp = {0};
        if (ra_authz_deactivate(wfe->ra, &a, &rp)) {
            wfe_ra_problem(wfe, r, &rp);
            goto out;
        }
    }
    r->retry_after = ra_authz_live(wfe->ra, &a); /* RFC 8555 7.5.1 */
    wfe_reply_json(r, 200, wfe_authz_view(wfe, &a));
out:
    wfe_post_free(&p);
}

/* POST /acme/chall/<authz>/<type>: {} answers (A3), POST-as-GET reads. */
void wfe_challenge(struct wfe *wfe, const struct http_req *req, struct http_resp *r,
                   const char *rest)
{
    struct post p;
    struct st_authz a;
    char aid[ST_ID + 8];
    snprintf(aid, sizeof aid, "%s", rest);
    char *slash = strchr(aid, '/');
    if (slash) *slash = '\0';
    int t = slash ? ra_challenge_index(rest + (slash - aid) + 1) : -1;
    if (wfe_check_post(wfe, req, r, WFE_KID, &p)) goto out;
    if (t < 0 || store_authz_get(wfe->store, aid, &a) || strcmp(a.account, p.acct.id) ||
        !(ra_challenges_offered(wfe->ra, &a) & (1u << t))) {
        wfe_problem(r, 404, "malformed", "no such challenge for this account");
        goto out;
    }
    /* Added to the index link every response has (RFC 8555 7.1), not in
     * its place. */
    size_t l = strlen(r->link);
    snprintf(r->link + l, sizeof r->link - l, "%s<%s/acme/authz/%s>;rel=\"up\"", l ? ", " : "",
             wfe->base, a.id);
    struct ra_problem rp = {0};
    if (p.payload && ra_challenge_answer(wfe->ra, &a, t, &rp)) {
        wfe_ra_problem(wfe, r, &rp);
        goto out;
    }
    r->retry_after = ra_authz_live(wfe->ra, &a);
    wfe_reply_json(r, 200, wfe_challenge_view(wfe, &a, t));
out:
    wfe_post_free(&p);
}
