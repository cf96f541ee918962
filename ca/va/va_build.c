/*
 * va_build.c: a validation request (va_req.h) built from the CA's state:
 * the authorization, the configuration (issuer names, prefixes, CAA
 * identities) and the account with every key it ever had (A6, draft 4.2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "va.h"

static void fail(struct va_result *r, const char *type, int status, const char *detail)
{
    r->valid = 0;
    r->type = type;
    r->status = status;
    snprintf(r->detail, sizeof r->detail, "%s", detail);
}

int va_req_build(const struct va_config *c, const struct store *store, const struct st_authz *a,
                 int caa_only, struct va_req *q, struct va_result *r)
{
    memset(q, 0, sizeof *q);
    snprintf(q->type, sizeof q->type, "%s", caa_only ? "caa" : a->ch_type);
    snprintf(q->identifier, sizeof q->identifier, "%s", a->identifier);
    q->wildcard = a->wildcard;
    snprintf(q->account, sizeof q->account, "%s", a->account);
    snprintf(q->account_url, sizeof q->account_url, "%s/acme/acct/%s", c->base, a->account);
    snprintf(q->method, sizeof q->method, "%s", a->ch_type);
    for (size_t i = 0; i < c->n_caa; i++)
        snprintf(q->caa_ids[q->n_caa++], sizeof q->caa_ids[0], "%s", c->caa_ids[i]);
    if (caa_only) return 0;
    struct st_account acct;
    if (store_account_get(store, a->account, &acct)) {
        fail(r, "serverInternal", 500, "the account is gone");
        return -1;
    }
    q->account_valid = acct.status == ST_VALID;
    if (!strcmp(q->type, "dns-persist-01")) {
        for (size_t i = 0; i < c->n_issuers; i++)
            snprintf(q->issuers[q->n_issuers++], sizeof q->issuers[0], "%s", c->issuers[i]);
        size_t nk = store_account_keys(store, a->account, &q->thumbs);
        q->n_thumbs = nk;
        if (!q->n_thumbs) {
            fail(r, "serverInternal", 500, "cannot read the account's keys");
            return -1;
        }
        snprintf(q->hash_prefix, sizeof q->hash_prefix, "%s", c->hash_prefix);
        for (size_t i = 0; i < c->n_previous; i++)
            snprintf(q->previous[q->n_previous++], sizeof q->previous[0], "%s", c->previous[i]);
        q->compat = c->compat;
    } else {
        snprintf(q->token, sizeof q->token, "%s", a->token);
        snprintf(q->key_auth, sizeof q->key_auth, "%s.%s", a->token, acct.thumb);
        q->http01_port = c->http01_port;
    }
    return 0;
}
