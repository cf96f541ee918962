/*
 * caa.c: the CAA decision of caa.h. Every doubt refuses: a critical tag
 * not understood, a malformed RDATA, a repeated accounturi or
 * validationmethods parameter. Properties that do not concern TLS
 * issuance (iodef, contact*, issuemail, issuevmc) never restrict it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "caa.h"
#include "dnspersist/dnspersist.h"

int caa_add(struct caa_rrset *set, const unsigned char *p, size_t len)
{
    if (set->n == CAA_MAX_PROPS) {
        set->too_many = 1;
        return -1;
    }
    if (len < 2 || p[1] == 0 || (size_t)p[1] + 2 > len) return -1;
    struct caa_prop *c = &set->p[set->n++];
    c->flags = p[0];
    memcpy(c->tag, p + 2, p[1]);
    c->tag[p[1]] = '\0';
    size_t vl = len - 2 - p[1];
    c->value_too_long = vl > CAA_MAX_VALUE;
    c->value_len = c->value_too_long ? 0 : vl;
    memcpy(c->value, p + 2 + p[1], c->value_len);
    return 0;
}

/* Tags whose meaning this CA knows (RFC 8659 and the IANA registry). */
static int understood(const char *tag)
{
    static const char *const known[] = {"issue",        "issuewild", "iodef",   "contactemail",
                                        "contactphone", "issuemail", "issuevmc"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcasecmp(tag, known[i])) return 1;
    return 0;
}

static int span_is(struct dp_span s, const char *w)
{
    return s.len == strlen(w) && !strncasecmp(s.ptr, w, s.len);
}

/* 1 when the comma-separated list has method. */
static int lists(struct dp_span list, const char *method)
{
    size_t ml = strlen(method), i = 0;
    while (i <= list.len) {
        size_t j = i;
        while (j < list.len && list.ptr[j] != ',')
            j++;
        if (j - i == ml && !memcmp(list.ptr + i, method, ml)) return 1;
        i = j + 1;
    }
    return 0;
}

/* 1 when this issue/issuewild property authorizes the request (RFC 8657:
 * its accounturi and validationmethods, when present, must allow it). */
static int authorizes(const struct caa_prop *c, const char *const *ids, size_t n_ids,
                      const char *account_url, const char *method)
{
    struct dp_record r;
    if (c->value_too_long || dp_record_parse_issue_value(c->value, c->value_len, &r, NULL))
        return 0;                /* RFC 8659 4.2: a value not of the grammar names no CA */
    if (!r.issuer.len) return 0; /* issue ";": nobody */
    int ours = 0;
    for (size_t i = 0; i < n_ids && !ours; i++)
        ours = dp_record_issuer_matches(r.issuer, ids[i]);
    if (!ours) return 0;
    int n_acct = 0, n_methods = 0, ok = 1;
    for (size_t i = 0; i < r.n_params; i++) {
        const struct dp_param *pm = &r.params[i];
        if (span_is(pm->tag, "accounturi")) {
            n_acct++;
            ok &= pm->value.len == strlen(account_url) &&
                  !memcmp(pm->value.ptr, account_url, pm->value.len);
        } else if (span_is(pm->tag, "validationmethods")) {
            n_methods++;
            ok &= lists(pm->value, method);
        }
    }
    return ok && n_acct <= 1 && n_methods <= 1;
}

int caa_permits(const struct caa_rrset *set, const char *const *ids, size_t n_ids, int wildcard,
                const char *account_url, const char *method, char *why, size_t cap)
{
    if (set->too_many) {
        snprintf(why, cap, "more than %d CAA properties", CAA_MAX_PROPS);
        return 0;
    }
    int has_wild = 0;
    for (size_t i = 0; i < set->n; i++) {
        const struct caa_prop *c = &set->p[i];
        if ((c->flags & 0x80) && !understood(c->tag)) {
            snprintf(why, cap, "critical CAA property '%.64s' is not understood (RFC 8659 4.1)",
                     c->tag);
            return 0;
        }
        has_wild |= !strcasecmp(c->tag, "issuewild");
    }
    /* RFC 8659 4.3: issuewild, when present, alone governs wildcards; it is
     * ignored for other names. */
    const char *want = wildcard && has_wild ? "issuewild" : "issue";
    int relevant = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (strcasecmp(set->p[i].tag, want)) continue;
        relevant++;
        if (authorizes(&set->p[i], ids, n_ids, account_url, method)) return 1;
    }
    if (!relevant) return 1; /* no issue property of this kind: no restriction */
    snprintf(
        why, cap, "no CAA %s property authorizes %s%s for this account and %s (RFC 8659, RFC 8657)",
        want, n_ids ? ids[0] : "this CA", n_ids > 1 ? " (or its other identities)" : "", method);
    return 0;
}
