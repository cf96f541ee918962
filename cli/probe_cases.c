/* probe_cases.c: the cases dnspersist probe runs, each citing the section
 * of draft-ietf-acme-dns-persist-02 (or RFC) it tests and what that
 * section requires. Each publishes its own records under a fresh name, so
 * no case sees another's; probe.c removes them all at the end. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "probe.h"

/* Records at a fresh name, an order for ident (NULL: the name itself;
 * "*" or "sub": the wildcard or a subdomain of it), judged against want. */
static void one(struct probe *p, const struct probe_case *c, struct probe_result *r,
                const char *const *values, size_t nv, const char *ident, int fin, const char *want)
{
    char n[300], id[310];
    probe_name(p, c->id, n, sizeof n);
    for (size_t i = 0; i < nv; i++) {
        char v[1500];
        /* "%s" in a value stands for the name's correct accounturi. */
        char uri[1200];
        probe_accounturi(p, &p->a, n, NULL, uri, sizeof uri);
        const char *at = strstr(values[i], "%s");
        if (at)
            snprintf(v, sizeof v, "%.*s%s%s", (int)(at - values[i]), values[i], uri, at + 2);
        else
            snprintf(v, sizeof v, "%s", values[i]);
        if (probe_txt(p, n, v, r)) return;
    }
    if (!ident)
        snprintf(id, sizeof id, "%s", n);
    else if (!strcmp(ident, "*"))
        snprintf(id, sizeof id, "*.%s", n);
    else
        snprintf(id, sizeof id, "%s.%s", ident, n);
    const char *names[] = {id};
    if (probe_order(p, &p->a, names, 1, fin, NULL, r) == 0) probe_judge(r, want);
}

/* The issuer and the name's correct accounturi (%s), then extra. */
#define OK_VALUE(p, buf, extra)                                                                    \
    snprintf(buf, sizeof buf, "%s; accounturi=%%s%s", (p)->issuer, extra)

/* The name's correct record with extra parameters after it, and an order
 * for ident (as in one) judged against want. */
static void with_params(struct probe *p, const struct probe_case *c, struct probe_result *r,
                        const char *extra, const char *ident, const char *want)
{
    char v[512];
    OK_VALUE(p, v, extra);
    const char *vals[] = {v};
    one(p, c, r, vals, 1, ident, 0, want);
}

static void c_directory(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    (void)c;
    const char *const *d, *const *caa;
    size_t nd = dp_acme_issuer_names(p->a.acme, &d), nc = dp_acme_caa_identities(p->a.acme, &caa);
    snprintf(r->got, sizeof r->got, "%zu issuerDomainNames", nd);
    if (nd < 1 || nd > 10) {
        r->verdict = PV_DEVIATES;
        snprintf(r->detail, sizeof r->detail, "the directory lists %zu issuer domain names", nd);
    }
    for (size_t i = 0; i < nd && r->verdict == PV_CONFORMS; i++) {
        int in = !nc;
        for (size_t k = 0; k < nc; k++)
            in |= !strcmp(d[i], caa[k]);
        int lower = strlen(d[i]) <= 253 && d[i][strlen(d[i]) - 1] != '.';
        for (const char *s = d[i]; *s; s++)
            lower &= !(*s >= 'A' && *s <= 'Z');
        if (!in || !lower) {
            r->verdict = PV_DEVIATES;
            snprintf(r->detail, sizeof r->detail, "%s: %s", d[i],
                     !in ? "not among caaIdentities" : "not a lowercase name without final dot");
        }
    }
}

static void c_correct(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    with_params(p, c, r, "", NULL, "valid|ready");
}

static void c_opt_out(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char n[300], v[1500], uri[1200];
    probe_name(p, c->id, n, sizeof n);
    probe_accounturi(p, &p->a, "*", NULL, uri, sizeof uri);
    snprintf(v, sizeof v, "%s; accounturi=%s", p->issuer, uri);
    if (probe_txt(p, n, v, r)) return;
    const char *names[] = {n};
    if (probe_order(p, &p->a, names, 1, 0, NULL, r) == 0) probe_judge(r, "valid|ready");
}

static void c_issuer_other(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    const char *vals[] = {"other-ca.invalid; accounturi=%s"};
    one(p, c, r, vals, 1, NULL, 0, "unauthorized");
}

static void c_case_spacing(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char up[256], v[400];
    size_t i = 0;
    for (; p->issuer[i] && i < sizeof up - 1; i++)
        up[i] =
            (char)(p->issuer[i] >= 'a' && p->issuer[i] <= 'z' ? p->issuer[i] - 32 : p->issuer[i]);
    up[i] = '\0';
    snprintf(v, sizeof v, "  %s  ;  AccountURI = %%s ;  Policy = WILDCARD  ", up);
    const char *vals[] = {v};
    one(p, c, r, vals, 1, NULL, 0, "valid|ready");
}

static void c_account_other(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char n[300], v[1500];
    probe_name(p, c->id, n, sizeof n);
    probe_value(p, &p->b, n, "", v, sizeof v);
    if (probe_txt(p, n, v, r)) return;
    const char *names[] = {n};
    if (probe_order(p, &p->a, names, 1, 0, NULL, r) == 0) probe_judge(r, "unauthorized");
}

static void c_plain_url(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char v[1500];
    snprintf(v, sizeof v, "%s; accounturi=%s", p->issuer, p->a.url);
    const char *vals[] = {v};
    one(p, c, r, vals, 1, NULL, 0, "unauthorized|malformed");
}

static void c_hash_domain(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char n[300], v[1500], uri[1200], other[320];
    probe_name(p, c->id, n, sizeof n);
    snprintf(other, sizeof other, "other.%s", n);
    probe_accounturi(p, &p->a, other, NULL, uri, sizeof uri);
    snprintf(v, sizeof v, "%s; accounturi=%s", p->issuer, uri);
    if (probe_txt(p, n, v, r)) return;
    const char *names[] = {n};
    if (probe_order(p, &p->a, names, 1, 0, NULL, r) == 0) probe_judge(r, "unauthorized");
}

static void c_hash_bad(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char v[1500];
    snprintf(v, sizeof v, "%s; accounturi=%ssha-256/AAAA", p->issuer, p->prefix);
    const char *vals[] = {v};
    one(p, c, r, vals, 1, NULL, 0, "malformed|unauthorized");
}

static void c_unknown(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    with_params(p, c, r, "; futureparam=somevalue", NULL, "valid|ready");
}

static void c_duplicate(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    with_params(p, c, r, "; policy=wildcard; POLICY=wildcard", NULL, "malformed|unauthorized");
}

static void until(struct probe *p, const struct probe_case *c, struct probe_result *r,
                  const char *t, const char *want)
{
    char extra[80];
    snprintf(extra, sizeof extra, "; persistUntil=%s", t);
    with_params(p, c, r, extra, NULL, want);
}

static void c_until_past(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)time(NULL) - 86400);
    until(p, c, r, t, "unauthorized");
}

static void c_until_bad(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    until(p, c, r, "tomorrow", "malformed");
}

/* persistUntil an hour ahead: valid, and the authorization expires no
 * later (draft 4.1 item 5). */
static void c_until_future(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char n[300], v[1600], uri[1200];
    long long t = (long long)time(NULL) + 3600;
    probe_name(p, c->id, n, sizeof n);
    probe_accounturi(p, &p->a, n, NULL, uri, sizeof uri);
    snprintf(v, sizeof v, "%s; accounturi=%s; persistUntil=%lld", p->issuer, uri, t);
    if (probe_txt(p, n, v, r)) return;
    const char *names[] = {n};
    int64_t exp = 0;
    if (probe_order(p, &p->a, names, 1, 0, &exp, r)) return;
    probe_judge(r, "valid|ready");
    if (r->verdict == PV_CONFORMS && exp > t) {
        r->verdict = PV_DEVIATES;
        snprintf(r->detail, sizeof r->detail,
                 "the authorization expires at %lld, after persistUntil %lld", (long long)exp, t);
    } else if (r->verdict == PV_CONFORMS) {
        snprintf(r->detail, sizeof r->detail, "authorization expires %lld s before persistUntil",
                 t - (long long)exp);
    }
}

static void c_wild_no_policy(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    with_params(p, c, r, "", "*", "unauthorized");
}

static void c_wild_policy(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    with_params(p, c, r, "; policy=wildcard", "*", "valid|ready");
}

static void c_sub_policy(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    with_params(p, c, r, "; policy=wildcard", "sub", "valid|ready");
    /* Section 6 is a MAY: a CA that does not validate subdomains from a
     * parent's record has not deviated. */
    if (r->verdict == PV_DEVIATES && !strcmp(r->got, "unauthorized")) r->verdict = PV_NOT_OFFERED;
}

static void c_sub_no_policy(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    with_params(p, c, r, "", "sub", "unauthorized");
}

static void c_several(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char v[512];
    OK_VALUE(p, v, "");
    const char *vals[] = {"other-ca.invalid; accounturi=https://other-ca.invalid/acct/1",
                          "this is not a record", v};
    one(p, c, r, vals, 3, NULL, 0, "valid|ready");
}

static void c_cname(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char n[300], vn[320], target[320], v[1500], t[330];
    probe_name(p, c->id, n, sizeof n);
    snprintf(vn, sizeof vn, "%s.%s", DP_VALIDATION_LABEL, n);
    snprintf(target, sizeof target, "target.%s", n);
    snprintf(t, sizeof t, "%s.", target);
    probe_value(p, &p->a, n, "", v, sizeof v);
    if (probe_publish(p, vn, "CNAME", t, r) || probe_publish(p, target, "TXT", v, r)) return;
    const char *names[] = {n};
    if (probe_order(p, &p->a, names, 1, 0, NULL, r) == 0) probe_judge(r, "valid|ready");
}

/* A new account of the case's own (its state changes), a fresh name and
 * the account's correct record for it, published. 0, or -1 with r set. */
static int own_account(struct probe *p, const struct probe_case *c, struct probe_account *d,
                       char n[300], char v[1500], struct probe_result *r)
{
    char why[600];
    if (probe_account_new(p, d, why, sizeof why)) {
        r->verdict = PV_ERROR;
        snprintf(r->got, sizeof r->got, "error");
        snprintf(r->detail, sizeof r->detail, "%s", why);
        return -1;
    }
    probe_name(p, c->id, n, 300);
    probe_value(p, d, n, "", v, 1500);
    if (probe_txt(p, n, v, r) == 0) return 0;
    probe_account_free(d);
    return -1;
}

/* A record made before a key change keeps validating (4.2, rule 2). */
static void c_key_change(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    struct probe_account d;
    struct dp_error e;
    char n[300], v[1500];
    if (own_account(p, c, &d, n, v, r)) return;
    struct dp_key *nk = dp_key_generate(DP_KEY_EC256, &e);
    if (!nk || dp_acme_key_change(d.acme, nk, &e) != DP_OK) {
        r->verdict = PV_ERROR;
        snprintf(r->got, sizeof r->got, "error");
        snprintf(r->detail, sizeof r->detail, "key change: %s", e.detail);
    } else {
        d.old_key = d.key; /* the session now signs with nk */
        d.key = nk;
        nk = NULL;
        const char *names[] = {n};
        if (probe_order(p, &d, names, 1, 0, NULL, r) == 0) probe_judge(r, "valid|ready");
    }
    dp_key_free(nk);
    dp_acme_deactivate(d.acme, &e);
    probe_account_free(&d);
}

/* A deactivated account never validates (4.2, rule 1). */
static void c_deactivated(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    struct probe_account d;
    struct dp_error e;
    char n[300], v[1500];
    if (own_account(p, c, &d, n, v, r)) return;
    if (dp_acme_deactivate(d.acme, &e) != DP_OK) {
        r->verdict = PV_ERROR;
        snprintf(r->got, sizeof r->got, "error");
        snprintf(r->detail, sizeof r->detail, "deactivation: %s", e.detail);
    } else {
        const char *names[] = {n};
        if (probe_order(p, &d, names, 1, 0, NULL, r) == 0) probe_judge(r, "unauthorized");
    }
    probe_account_free(&d);
}

/* Just-in-Time (4.4): after one dns-persist-01 validation, a new order for
 * a name whose record is there comes back with its authorization valid. */
static void c_jit(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char n1[300], n2[300], v[1500];
    probe_name(p, c->id, n1, sizeof n1);
    probe_name(p, c->id, n2, sizeof n2);
    probe_value(p, &p->a, n1, "", v, sizeof v);
    if (probe_txt(p, n1, v, r)) return;
    probe_value(p, &p->a, n2, "", v, sizeof v);
    if (probe_txt(p, n2, v, r)) return;
    const char *first[] = {n1}, *second[] = {n2};
    if (probe_order(p, &p->a, first, 1, 0, NULL, r)) return;
    if (strcmp(r->got, "valid") && strcmp(r->got, "ready")) {
        probe_judge(r, "valid|ready"); /* the first validation failed: nothing to learn */
        return;
    }
    if (probe_order(p, &p->a, second, 1, 0, NULL, r)) return;
    if (!strcmp(r->got, "valid")) {
        r->verdict = PV_NOT_OFFERED; /* a MAY: validated by the challenge instead */
        snprintf(r->detail, sizeof r->detail, "the new authorization was pending: no Just-in-Time");
    } else {
        probe_judge(r, "ready");
    }
}

/* Failed validations are limited per (name, account) (9.3.1): the same
 * failing order again and again ends in rateLimited. */
static void c_fail_limit(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char n[300], v[1500];
    probe_name(p, c->id, n, sizeof n);
    probe_value(p, &p->b, n, "", v, sizeof v); /* another account's record: a sure failure */
    if (probe_txt(p, n, v, r)) return;
    const char *names[] = {n};
    int i = 0;
    for (; i < 30 && !*p->stop; i++) {
        if (probe_order(p, &p->a, names, 1, 0, NULL, r)) return;
        if (strcmp(r->got, "unauthorized")) break;
    }
    probe_judge(r, "rateLimited");
    snprintf(r->detail + strlen(r->detail), sizeof r->detail - strlen(r->detail),
             "%safter %d failed validations", r->detail[0] ? "; " : "", i);
}

static void caa(struct probe *p, const struct probe_case *c, struct probe_result *r,
                const char *params, const char *want)
{
    char n[300], v[1500], rd[1400];
    probe_name(p, c->id, n, sizeof n);
    probe_value(p, &p->a, n, "", v, sizeof v);
    snprintf(rd, sizeof rd, "0 issue \"%s%s\"", p->caa_identity, params);
    if (probe_publish(p, n, "CAA", rd, r) || probe_txt(p, n, v, r)) return;
    const char *names[] = {n};
    /* Finalized: a CA may look at CAA at validation or at issuance. */
    if (probe_order(p, &p->a, names, 1, 1, NULL, r) == 0) probe_judge(r, want);
}

static void c_caa_account(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char params[1100];
    snprintf(params, sizeof params, "; accounturi=%s", p->b.url);
    caa(p, c, r, params, "caa");
}

static void c_caa_methods(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    caa(p, c, r, "; validationmethods=http-01", "caa");
}

static void c_caa_permits(struct probe *p, const struct probe_case *c, struct probe_result *r)
{
    char params[1100];
    snprintf(params, sizeof params, "; accounturi=%s; validationmethods=dns-persist-01", p->a.url);
    caa(p, c, r, params, "issued");
}

const struct probe_case probe_cases[] = {
    {"directory-meta", "3.2",
     "the directory lists 1 to 10 lowercase issuerDomainNames, each among caaIdentities",
     "as required", 2, c_directory},
    {"correct", "4.1, 4.2", "the account's own record authorizes", "valid", 3, c_correct},
    {"opt-out-domain", "4.1, 4.2", "a hashed URI computed with domain * authorizes", "valid", 2,
     c_opt_out},
    {"issuer-other", "4.3.2", "a record naming another issuer is ignored", "unauthorized", 3,
     c_issuer_other},
    {"case-and-spacing", "3.1, 4.1",
     "issuer name, tags and policy value compare case-insensitively; spaces around ; and =",
     "valid", 3, c_case_spacing},
    {"account-other", "4.2", "another account's record does not authorize", "unauthorized", 3,
     c_account_other},
    {"account-plain-url", "4.1", "the accounturi is the hashed URI: a plain account URL is not",
     "unauthorized|malformed", 2, c_plain_url},
    {"hash-other-domain", "4.1, 7.2.3", "a hashed URI binds the domain: another's does not match",
     "unauthorized", 2, c_hash_domain},
    {"hash-malformed", "4.1", "a hashed URI of the wrong length is rejected",
     "malformed|unauthorized", 2, c_hash_bad},
    {"unknown-parameter", "4.1", "unrecognized parameters are ignored", "valid", 3, c_unknown},
    {"duplicate-parameter", "4.1 (RFC 8659 4.2)", "a tag given twice makes the record malformed",
     "malformed|unauthorized", 3, c_duplicate},
    {"persist-until-past", "4.1 item 5", "after persistUntil the record is not valid",
     "unauthorized", 3, c_until_past},
    {"persist-until-future", "4.1 item 5",
     "before persistUntil it is, and the authorization expires no later", "valid", 3,
     c_until_future},
    {"persist-until-malformed", "4.1 item 5", "a persistUntil that is no integer is malformed",
     "malformed", 3, c_until_bad},
    {"wildcard-without-policy", "5", "*.D needs policy=wildcard at D", "unauthorized", 3,
     c_wild_no_policy},
    {"wildcard-with-policy", "5.1", "policy=wildcard at D authorizes *.D", "valid", 3,
     c_wild_policy},
    {"subdomain-with-policy", "6", "policy=wildcard at D authorizes sub.D (MAY)", "valid", 3,
     c_sub_policy},
    {"subdomain-without-policy", "4.1 item 4, 6",
     "without policy=wildcard, D's record is D's alone", "unauthorized", 3, c_sub_no_policy},
    {"several-records", "4.3.1, 4.3.2", "other issuers' and unparsable records beside ours",
     "valid", 3, c_several},
    {"cname", "4.2", "the look-up follows a CNAME at the validation domain name", "valid", 3,
     c_cname},
    {"key-rollover", "4.2 rule 2", "a record made with the account's previous key still validates",
     "valid", 3, c_key_change},
    {"deactivated-account", "4.2 rule 1", "a deactivated account never validates", "unauthorized",
     3, c_deactivated},
    {"just-in-time", "4.4", "a new order is valid at once from an existing record (MAY)", "ready",
     3, c_jit},
    {"failed-validation-limit", "9.3.1", "repeated failed validations are rate-limited",
     "rateLimited", 3, c_fail_limit},
    {"caa-accounturi", "7.7 (RFC 8657 3)", "CAA naming another account forbids issuance", "caa", 3,
     c_caa_account},
    {"caa-validationmethods", "7.7 (RFC 8657 4)",
     "CAA allowing only other methods forbids issuance", "caa", 3, c_caa_methods},
    {"caa-permits", "7.7 (RFC 8657)", "CAA naming this account and dns-persist-01 allows it",
     "issued", 3, c_caa_permits},
};
const size_t probe_n_cases = sizeof probe_cases / sizeof probe_cases[0];
