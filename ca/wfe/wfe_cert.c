/* wfe_cert.c: certificate download, revocation (RFC 8555 7.4.2, 7.6) and
 * renewal information (RFC 9773). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wfe.h"

/* GET /acme/cert/ID: the leaf and the default chain; /acme/cert/ID/1 the
 * leaf and the alternate chain (the intermediate cross-certified by another
 * root), each naming the other with Link rel="alternate" (RFC 8555 7.4.2),
 * so a client (certbot --preferred-chain) may pick by the top issuer. */
void wfe_cert(struct wfe *wfe, const struct http_req *req, struct http_resp *r, const char *id)
{
    struct post p;
    struct st_cert c = {0};
    char cid[ST_ID + 8];
    snprintf(cid, sizeof cid, "%s", id);
    char *slash = strchr(cid, '/');
    int alt = slash && !strcmp(slash, "/1");
    if (slash) *slash = '\0';
    const char *alt_chain = pki_alt_chain_pem(wfe->pki);
    if (wfe_check_post(wfe, req, r, WFE_KID, &p)) goto out;
    if ((slash && (!alt || !alt_chain)) || store_cert_get(wfe->store, cid, &c) ||
        strcmp(c.account, p.acct.id)) {
        wfe_problem(r, 404, "malformed", "no such certificate for this account");
        goto out;
    }
    r->status = 200;
    r->content_type = "application/pem-certificate-chain";
    /* The store keeps the leaf alone (data from before kept the chain,
     * and is served as it is, with no alternate). */
    const char *begin = "-----BEGIN CERTIFICATE-----", *first = strstr(c.pem, begin);
    if (first && !strstr(first + 1, begin)) {
        /* Its own issuer's chain (an RSA intermediate's, a retired one's);
         * the alternate is the primary's only. */
        const char *own = pki_chain_for(wfe->pki, c.issuer);
        if (alt && c.issuer[0]) own = NULL;
        const char *chain = alt ? alt_chain : own;
        if (!chain) {
            wfe_problem(r, 404, "malformed", "no such chain for this certificate");
            goto out;
        }
        size_t l = strlen(c.pem) + strlen(chain) + 1;
        r->body = malloc(l);
        if (r->body) snprintf(r->body, l, "%s%s", c.pem, chain);
        if (alt_chain && !c.issuer[0]) {
            char u[700];
            wfe_url(wfe, u, sizeof u, "cert", cid);
            size_t o = strlen(r->link);
            snprintf(r->link + o, sizeof r->link - o, ", <%s%s>;rel=\"alternate\"", u,
                     alt ? "" : "/1");
        }
    } else {
        r->body = c.pem;
        c.pem = NULL;
    }
    if (!r->body) {
        wfe_problem(r, 500, "serverInternal", "out of memory");
        goto out;
    }
    r->body_len = strlen(r->body);
out:
    free(c.pem);
    wfe_post_free(&p);
}

void wfe_revoke(struct wfe *wfe, const struct http_req *req, struct http_resp *r, const char *id)
{
    (void)id;
    struct post p;
    if (wfe_check_post(wfe, req, r, WFE_JWK | WFE_KID, &p)) goto out;
    const char *b = p.payload ? json_string_value(json_object_get(p.payload, "certificate")) : NULL;
    json_t *reason = p.payload ? json_object_get(p.payload, "reason") : NULL;
    unsigned char der[16384];
    size_t dl = b ? dp_b64url_decode(b, strlen(b), der, sizeof der) : (size_t)-1;
    if (dl == (size_t)-1 || dl == 0) { /* the request is wrong, not the certificate unknown */
        wfe_problem(r, 400, "malformed", "certificate must be the base64url DER certificate");
        goto out;
    }
    /* Not an integer at all is as bad as an unknown code. */
    int64_t code = !reason ? 0 : json_is_integer(reason) ? json_integer_value(reason) : -1;
    char thumb[DP_THUMBPRINT_BUF];
    int have_thumb = !p.by_kid && dp_jws_jwk_thumbprint(p.jws, thumb, NULL) == DP_OK;
    struct ra_problem rp = {0};
    if (ra_revoke(wfe->ra, p.by_kid ? &p.acct : NULL, have_thumb ? thumb : NULL, der, dl, code,
                  &rp)) {
        wfe_ra_problem(wfe, r, &rp);
        goto out;
    }
    r->status = 200;
out:
    wfe_post_free(&p);
}

/* GET /acme/renewal-info/<AKI>.<serial> (RFC 9773): the window in which to
 * renew: the last third of the lifetime, or now for a revoked certificate.
 * An ID whose AKI is not this CA's, or an unknown serial, is 404. */
void wfe_renewal_info(struct wfe *wfe, const struct http_req *req, struct http_resp *r,
                      const char *id)
{
    (void)req;
    struct st_cert c;
    struct ra_problem rp = {0};
    int64_t nb = 0, na = 0;
    if (ra_cert_by_ari_id(wfe->ra, id, &c, &rp)) return wfe_ra_problem(wfe, r, &rp);
    if (pki_cert_times(c.pem, &nb, &na)) {
        free(c.pem);
        return wfe_problem(r, 500, "serverInternal", "cannot read the certificate");
    }
    int64_t now = (int64_t)time(NULL), start = nb + (na - nb) * 2 / 3, end = nb + (na - nb) * 5 / 6;
    if (c.revoked) {
        start = now - 3600;
        end = now;
    }
    free(c.pem);
    r->retry_after = 21600;
    wfe_reply_json(r, 200,
                   json_pack("{s:{s:o,s:o}}", "suggestedWindow", "start", wfe_time_json(start),
                             "end", wfe_time_json(end)));
}
