/* va_caa.c: CAA checks (RFC 8659, with RFC 8657's accounturi and
 * validationmethods). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "va_int.h"

/* ---- CAA (RFC 8659, with RFC 8657's accounturi and validationmethods) ---- */

struct caa_set {
    int status; /* dp_dns_status */
    char detail[256];
    size_t n;
    unsigned char flags[32];
    char tag[32][16];
    char value[32][256];
};

static void on_caa(void *arg, size_t i, const struct dp_dns_answer *a)
{
    (void)i;
    struct caa_set *c = arg;
    c->status = a->status;
    snprintf(c->detail, sizeof c->detail, "%s", a->detail);
    for (size_t k = 0; k < a->n_rrs && c->n < 32; k++) {
        const unsigned char *p = (const unsigned char *)a->rdata[k].ptr;
        size_t len = a->rdata[k].len;
        if (len < 2 || (size_t)p[1] + 2 > len || p[1] == 0 || p[1] >= sizeof c->tag[0]) continue;
        c->flags[c->n] = p[0];
        snprintf(c->tag[c->n], sizeof c->tag[0], "%.*s", p[1], p + 2);
        snprintf(c->value[c->n], sizeof c->value[0], "%.*s", (int)(len - 2 - p[1]), p + 2 + p[1]);
        c->n++;
    }
}

/* 1 when one issue[wild] property names this CA and its parameters allow
 * the account and the method. */
static int caa_permits(const struct ca *ca, const struct caa_set *c, int wildcard,
                       const char *acct_url, const char *method, char *why, size_t cap)
{
    int has_wild = 0;
    for (size_t i = 0; i < c->n; i++)
        has_wild |= !strcasecmp(c->tag[i], "issuewild");
    const char *want = wildcard && has_wild ? "issuewild" : "issue";
    for (size_t i = 0; i < c->n; i++) {
        if ((c->flags[i] & 0x80) && strcasecmp(c->tag[i], "issue") &&
            strcasecmp(c->tag[i], "issuewild") && strcasecmp(c->tag[i], "iodef")) {
            snprintf(why, cap, "critical CAA property '%s' is not understood", c->tag[i]);
            return 0;
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        if (strcasecmp(c->tag[i], want)) continue;
        char v[256];
        snprintf(v, sizeof v, "%s", c->value[i]);
        char *params = strchr(v, ';');
        if (params) *params++ = '\0';
        char *e = v + strlen(v);
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        char *name = v + strspn(v, " \t");
        size_t nl = strlen(name);
        if (nl && name[nl - 1] == '.') name[--nl] = '\0';
        int ours = 0;
        for (size_t k = 0; k < ca->cfg.n_caa; k++)
            ours |= !strcasecmp(name, ca->cfg.caa_identities[k]);
        if (!ours) continue;
        int ok = 1;
        char *save = NULL;
        for (char *t = params ? strtok_r(params, ";", &save) : NULL; t && ok;
             t = strtok_r(NULL, ";", &save)) {
            t += strspn(t, " \t");
            char *eq = strchr(t, '=');
            if (!eq) continue;
            *eq = '\0';
            char *val = eq + 1, *end = val + strlen(val);
            while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
            if (!strcmp(t, "accounturi"))
                ok = !strcmp(val, acct_url);
            else if (!strcmp(t, "validationmethods")) {
                ok = 0;
                for (char *m = val; *m;) {
                    size_t ml = strcspn(m, ",");
                    ok |= ml == strlen(method) && !strncmp(m, method, ml);
                    m += ml + (m[ml] == ',');
                }
            }
        }
        if (ok) return 1;
    }
    snprintf(why, cap, "CAA %s records do not authorize %s%s for this account and %s", want,
             ca->cfg.caa_identities[0], ca->cfg.n_caa > 1 ? " (or its other identities)" : "",
             method);
    return 0;
}

/* RFC 8659 3: the CAA RRset of the name or, if empty, of its closest parent. */
static void check_caa(struct worker *w, const struct st_authz *a, struct outcome *o)
{
    struct ca *ca = w->ca;
    char acct[600];
    snprintf(acct, sizeof acct, "%s/acme/acct/%s", ca->base, a->account);
    for (const char *d = a->identifier; d && *d; d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL) {
        struct caa_set c = {0};
        const char *names[] = {d};
        struct dp_error e;
        if (dp_resolver_batch(w->res, names, 1, DP_DNS_TYPE_CAA, on_caa, &c, &e) != DP_OK ||
            c.status == DP_DNS_FAILED)
            return va_fail(o, "caa", 403, "CAA look-up of %s failed: %s", d,
                           c.detail[0] ? c.detail : e.detail);
        if (c.n == 0) continue;
        char why[300];
        if (!caa_permits(ca, &c, a->wildcard, acct, a->ch_type, why, sizeof why))
            va_fail(o, "caa", 403, "%s (at %s)", why, d);
        return;
    }
}

/* CAA when the CA advertises caaIdentities, after the method passed. */
void va_caa_after(struct worker *w, const struct st_authz *a, struct outcome *o)
{
    if (!o->r.valid || !w->ca->cfg.n_caa) return;
    o->r.valid = 0;
    check_caa(w, a, o);
    if (!o->r.type) o->r.valid = 1;
}
