/*
 * check_caa.c: CAA look-ups (RFC 8659 section 3): the CAA RRset of the name
 * or, when it has none, of its closest ancestor that has one, decided by
 * caa.c. Any look-up failure refuses issuance: a CAA check that cannot be
 * made is not a pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caa.h"
#include "check.h"

/* One level of the climb: the name or one of its ancestors. */
struct caa_lookup {
    enum dp_dns_status status;
    int rcode;
    int bad_rdata;
    char detail[400];
    struct caa_rrset *set; /* when records were found */
};

static void on_caa(void *arg, size_t i, const struct dp_dns_answer *a)
{
    struct caa_lookup *l = (struct caa_lookup *)arg + i;
    l->status = a->status;
    l->rcode = a->rcode;
    snprintf(l->detail, sizeof l->detail, "%s", a->detail);
    if (a->status != DP_DNS_FOUND) return;
    if (!(l->set = calloc(1, sizeof *l->set))) {
        l->status = DP_DNS_FAILED;
        snprintf(l->detail, sizeof l->detail, "out of memory");
        return;
    }
    for (size_t k = 0; k < a->n_rrs; k++)
        if (caa_add(l->set, (const unsigned char *)a->rdata[k].ptr, a->rdata[k].len))
            l->bad_rdata = 1;
}

/* Every level is asked at once, in one batch: the answers are then read
 * in climbing order, so the outcome is the sequential climb's (the first
 * failure or RRset from the name up decides), for one event loop instead
 * of one a level. */
int check_caa(struct dp_resolver *res, const struct va_req *q, struct va_result *r)
{
    char why[400];
    const char *identifier = q->identifier, *acct = q->account_url, *method = q->method;
    int wildcard = q->wildcard;
    const char *ids[DP_MAX_ISSUERS];
    for (size_t i = 0; i < q->n_caa; i++)
        ids[i] = q->caa_ids[i];
    const char *names[128];
    size_t n = 0;
    for (const char *d = identifier; d && *d && n < 128;
         d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL)
        names[n++] = d;
    struct caa_lookup *l = calloc(n ? n : 1, sizeof *l);
    if (!l) {
        snprintf(r->detail, sizeof r->detail, "out of memory");
        r->type = "serverInternal", r->status = 500;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        l[i].status = DP_DNS_FAILED;
        l[i].rcode = -1;
        snprintf(l[i].detail, sizeof l[i].detail, "no answer");
    }
    struct dp_error e;
    if (dp_resolver_batch(res, names, n, DP_DNS_TYPE_CAA, on_caa, l, &e) != DP_OK)
        for (size_t i = 0; i < n; i++)
            if (l[i].status == DP_DNS_FAILED)
                snprintf(l[i].detail, sizeof l[i].detail, "%s", e.detail);
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        const char *d = names[i];
        if (l[i].status == DP_DNS_FAILED) {
            ok = 0;
            r->type = "dns", r->status = 400;
            if (l[i].rcode == 5) /* REFUSED: typically a lab's authoritative-only --resolver */
                snprintf(r->detail, sizeof r->detail,
                         "CAA look-up of %s was refused: CAA is checked up the tree to the "
                         "top-level domain (RFC 8659 3), so --resolver must answer for every "
                         "parent zone (serve them, or use a recursive resolver)",
                         d);
            else
                snprintf(r->detail, sizeof r->detail,
                         "CAA look-up of %.255s failed: %.380s; issuance needs a CAA answer", d,
                         l[i].detail);
            break;
        }
        if (l[i].status != DP_DNS_FOUND) continue;
        if (l[i].bad_rdata && !l[i].set->too_many) {
            ok = 0;
            snprintf(why, sizeof why, "a CAA record is not valid CAA RDATA");
        } else {
            ok = caa_permits(l[i].set, ids, q->n_caa, wildcard, acct, method, why, sizeof why);
        }
        if (!ok) {
            r->type = "caa", r->status = 403;
            snprintf(r->detail, sizeof r->detail, "%s (CAA at %s)", why, d);
        }
        break;
    }
    for (size_t i = 0; i < n; i++)
        free(l[i].set);
    free(l);
    return ok;
}

void check_caa_after(struct checker *w, const struct va_req *q, struct outcome *o)
{
    if (!o->r.valid) return;
    if (!check_caa(w->res, q, &o->r)) o->r.valid = 0;
}
