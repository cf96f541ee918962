/*
 * va_caa.c: CAA look-ups (RFC 8659 section 3): the CAA RRset of the name
 * or, when it has none, of its closest ancestor that has one, decided by
 * caa.c. Any look-up failure refuses issuance: a CAA check that cannot be
 * made is not a pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caa.h"
#include "va_int.h"

struct caa_lookup {
    enum dp_dns_status status;
    int rcode;
    int bad_rdata;
    char detail[400];
    struct caa_rrset *set;
};

static void on_caa(void *arg, size_t i, const struct dp_dns_answer *a)
{
    (void)i;
    struct caa_lookup *l = arg;
    l->status = a->status;
    l->rcode = a->rcode;
    snprintf(l->detail, sizeof l->detail, "%s", a->detail);
    for (size_t k = 0; a->status == DP_DNS_FOUND && k < a->n_rrs; k++)
        if (caa_add(l->set, (const unsigned char *)a->rdata[k].ptr, a->rdata[k].len))
            l->bad_rdata = 1;
}

int va_caa_check(struct dp_resolver *res, const struct va_req *q, struct va_result *r)
{
    char why[400];
    const char *identifier = q->identifier, *acct = q->account_url, *method = q->method;
    int wildcard = q->wildcard;
    const char *ids[DP_MAX_ISSUERS];
    for (size_t i = 0; i < q->n_caa; i++)
        ids[i] = q->caa_ids[i];
    struct caa_lookup l = {.set = calloc(1, sizeof *l.set)};
    if (!l.set) {
        snprintf(r->detail, sizeof r->detail, "out of memory");
        r->type = "serverInternal", r->status = 500;
        return 0;
    }
    int ok = 1;
    for (const char *d = identifier; d && *d; d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL) {
        const char *names[] = {d};
        struct dp_error e;
        memset(l.set, 0, sizeof *l.set);
        l.status = DP_DNS_FAILED;
        l.rcode = -1;
        l.bad_rdata = 0;
        snprintf(l.detail, sizeof l.detail, "no answer");
        if (dp_resolver_batch(res, names, 1, DP_DNS_TYPE_CAA, on_caa, &l, &e) != DP_OK)
            snprintf(l.detail, sizeof l.detail, "%s", e.detail);
        if (l.status == DP_DNS_FAILED) {
            ok = 0;
            r->type = "dns", r->status = 400;
            if (l.rcode == 5) /* REFUSED: typically a lab's authoritative-only --resolver */
                snprintf(r->detail, sizeof r->detail,
                         "CAA look-up of %s was refused: CAA is checked up the tree to the "
                         "top-level domain (RFC 8659 3), so --resolver must answer for every "
                         "parent zone (serve them, or use a recursive resolver)",
                         d);
            else
                snprintf(r->detail, sizeof r->detail,
                         "CAA look-up of %.255s failed: %.380s; issuance needs a CAA answer", d,
                         l.detail);
            break;
        }
        if (l.status != DP_DNS_FOUND) continue;
        if (l.bad_rdata && !l.set->too_many) {
            ok = 0;
            snprintf(why, sizeof why, "a CAA record is not valid CAA RDATA");
        } else {
            ok = caa_permits(l.set, ids, q->n_caa, wildcard, acct, method, why, sizeof why);
        }
        if (!ok) {
            r->type = "caa", r->status = 403;
            snprintf(r->detail, sizeof r->detail, "%s (CAA at %s)", why, d);
        }
        break;
    }
    free(l.set);
    return ok;
}

void va_caa_after(struct worker *w, const struct va_req *q, struct outcome *o)
{
    if (!o->r.valid) return;
    if (!va_caa_check(w->res, q, &o->r)) o->r.valid = 0;
}
