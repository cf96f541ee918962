/* probe.c: what every probe case needs: the probe's own accounts, records
 * published under the user's zone and always removed, orders paced so a
 * staging CA's limits are not tripped, and their authorizations
 * deactivated (certificates, when a case had to finalize, revoked) so that
 * nothing the probe did can be reused. */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "provider.h"

#define URN "urn:ietf:params:acme:error:"

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
    if (ms <= 0) return;
    struct timespec ts = {(time_t)(ms / 1000), (long)((long)ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The CA's problem type without its URN prefix, or NULL when the failure
 * was not the CA's answer. */
static const char *problem_of(const struct dp_acme *a)
{
    const struct dp_acme_problem *pr = dp_acme_last_problem(a);
    if (!pr || !pr->type[0]) return NULL;
    return strncmp(pr->type, URN, strlen(URN)) ? pr->type : pr->type + strlen(URN);
}

static void set_problem(struct probe_result *r, const struct dp_acme *a)
{
    const struct dp_acme_problem *pr = dp_acme_last_problem(a);
    snprintf(r->got, sizeof r->got, "%s", problem_of(a));
    snprintf(r->detail, sizeof r->detail, "%s", pr->detail);
}

static void fail(struct probe_result *r, enum probe_verdict v, const char *what,
                 const struct dp_error *e)
{
    r->verdict = v;
    snprintf(r->got, sizeof r->got, "%s", v == PV_NOT_OFFERED ? "not offered" : "error");
    snprintf(r->detail, sizeof r->detail, "%s: %s", what, e ? e->detail : "");
}

int probe_account_new(struct probe *p, struct probe_account *acc, char *why, size_t cap)
{
    struct dp_error e;
    memset(acc, 0, sizeof *acc);
    struct dp_acme_config cfg = {p->directory, p->bundle, 0, (unsigned)p->poll_ms};
    if (!(acc->key = dp_key_generate(DP_KEY_EC256, &e)) ||
        !(acc->acme = dp_acme_new(&cfg, acc->key, &e)) ||
        dp_acme_account(acc->acme, 0, NULL, 1, &e) != DP_OK) {
        const char *pt = acc->acme ? problem_of(acc->acme) : NULL;
        snprintf(why, cap, "new account at %s: %s%s%s", p->directory, e.detail, pt ? ": " : "",
                 pt ? pt : "");
        probe_account_free(acc);
        return -1;
    }
    snprintf(acc->url, sizeof acc->url, "%s", dp_acme_account_url(acc->acme));
    return 0;
}

void probe_account_free(struct probe_account *acc)
{
    dp_acme_free(acc->acme);
    dp_key_free(acc->key);
    dp_key_free(acc->old_key);
    memset(acc, 0, sizeof *acc);
}

int probe_open(struct probe *p, char *why, size_t cap)
{
    unsigned char rnd[3];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        snprintf(why, cap, "no random octets");
        return -1;
    }
    snprintf(p->run, sizeof p->run, "%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
    if (probe_account_new(p, &p->a, why, cap)) return -1;
    if (probe_account_new(p, &p->b, why, cap)) return -1;
    const char *hp = dp_acme_hash_prefix(p->a.acme);
    p->draft02 = hp != NULL;
    snprintf(p->prefix, sizeof p->prefix, "%s", hp ? hp : "");
    const char *const *names;
    size_t n = dp_acme_issuer_names(p->a.acme, &names);
    const char *const *caa;
    size_t nc = dp_acme_caa_identities(p->a.acme, &caa);
    if (!p->issuer[0]) {
        if (n)
            snprintf(p->issuer, sizeof p->issuer, "%s", names[0]);
        else if (nc)
            snprintf(p->issuer, sizeof p->issuer, "%s", caa[0]);
    }
    if (!p->issuer[0]) {
        snprintf(why, cap,
                 "%s lists neither issuerDomainNames nor caaIdentities: give --issuer NAME",
                 p->directory);
        return -1;
    }
    snprintf(p->caa_identity, sizeof p->caa_identity, "%s", nc ? caa[0] : p->issuer);
    return 0;
}

static int unpublish(struct probe *p, const struct probe_rec *rec, struct dp_error *e)
{
    if (p->exec)
        return cli_provider_exec("probe", p->exec, "cleanup", rec->name, rec->data, p->wait_ms);
    if (!strcmp(rec->type, "TXT"))
        return dp_update_txt(p->nsupdate, &p->tsig, rec->name, rec->data, 0, 60,
                             (unsigned)p->wait_ms, e) != DP_OK;
    return dp_update_rr(p->nsupdate, &p->tsig, rec->name, rec->type, rec->data, 0, 60,
                        (unsigned)p->wait_ms, e) != DP_OK;
}

void probe_close(struct probe *p)
{
    struct dp_error e;
    while (p->n_recs) {
        const struct probe_rec *rec = &p->recs[--p->n_recs];
        if (unpublish(p, rec, &e))
            cli_error("probe", "could not remove %s %s \"%s\": remove it by hand", rec->name,
                      rec->type, rec->data);
    }
    struct probe_account *accs[] = {&p->a, &p->b};
    for (size_t i = 0; i < 2; i++) {
        if (accs[i]->acme && !accs[i]->deactivated) dp_acme_deactivate(accs[i]->acme, &e);
        probe_account_free(accs[i]);
    }
}

void probe_name(struct probe *p, const char *id, char *out, size_t cap)
{
    static unsigned seq;
    snprintf(out, cap, "%s-%s-%u.%s", id, p->run, ++seq, p->zone);
    if (!p->case_name[0]) snprintf(p->case_name, sizeof p->case_name, "%s", out);
}

void probe_accounturi(const struct probe *p, const struct probe_account *acc, const char *domain,
                      const char *thumb, char *out, size_t cap)
{
    if (!p->draft02) {
        snprintf(out, cap, "%s", acc->url);
        return;
    }
    char *u = dp_hashuri_compute_alloc(DP_HASH_SHA256, p->prefix, domain,
                                       thumb ? thumb : dp_key_thumbprint(acc->key), acc->url, NULL);
    snprintf(out, cap, "%s", u ? u : "");
    free(u);
}

void probe_value(const struct probe *p, const struct probe_account *acc, const char *domain,
                 const char *extra, char *out, size_t cap)
{
    char uri[1200];
    probe_accounturi(p, acc, domain, NULL, uri, sizeof uri);
    snprintf(out, cap, "%s; accounturi=%s%s", p->issuer, uri, extra);
}

int probe_publish(struct probe *p, const char *name, const char *type, const char *data,
                  struct probe_result *r)
{
    struct dp_error e = {0};
    if (p->exec && strcmp(type, "TXT")) {
        r->verdict = PV_SKIPPED;
        snprintf(r->got, sizeof r->got, "skipped");
        snprintf(r->detail, sizeof r->detail,
                 "needs a %s record: the exec protocol publishes TXT only (give --nsupdate)", type);
        return -1;
    }
    if (p->n_recs == PROBE_MAX_RECS) {
        fail(r, PV_ERROR, "too many records", NULL);
        return -1;
    }
    struct probe_rec *rec = &p->recs[p->n_recs];
    snprintf(rec->name, sizeof rec->name, "%s", name);
    snprintf(rec->type, sizeof rec->type, "%s", type);
    snprintf(rec->data, sizeof rec->data, "%s", data);
    /* Registered first: a publication that fails half-way is still removed. */
    p->n_recs++;
    int bad;
    if (p->exec)
        bad = cli_provider_exec("probe", p->exec, "present", name, data, p->wait_ms) != 0;
    else if (!strcmp(type, "TXT"))
        bad = dp_update_txt(p->nsupdate, &p->tsig, name, data, 1, 60, (unsigned)p->wait_ms, &e) !=
              DP_OK;
    else
        bad = dp_update_rr(p->nsupdate, &p->tsig, name, type, data, 1, 60, (unsigned)p->wait_ms,
                           &e) != DP_OK;
    if (bad) {
        char what[400];
        snprintf(what, sizeof what, "publishing %s %s", name, type);
        fail(r, PV_ERROR, what, &e);
        return -1;
    }
    return 0;
}

int probe_txt(struct probe *p, const char *domain, const char *value, struct probe_result *r)
{
    char name[300];
    snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, domain);
    return probe_publish(p, name, "TXT", value, r);
}

/* The first authorization's expires, in UNIX seconds (0 unknown). */
static int64_t authz_expires(struct probe_account *acc, struct dp_acme_order *o)
{
    struct dp_error e;
    char *s = dp_acme_order_authz(acc->acme, o, 0, &e);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    int64_t t = 0;
    const char *ex = json_string_value(json_object_get(j, "expires"));
    if (ex && cli_parse_time(ex, &t)) t = 0;
    json_decref(j);
    return t;
}

/* A valid order finalized: "issued" (then revoked: the probe keeps nothing
 * a CA issued) or the CA's problem. */
static void finalize(struct probe_account *acc, struct dp_acme_order *o, struct probe_result *r)
{
    struct dp_error e;
    struct dp_key *ck = dp_key_generate(DP_KEY_EC256, &e);
    char *chain = NULL;
    if (!ck) {
        fail(r, PV_ERROR, "certificate key", &e);
        return;
    }
    if (dp_acme_order_finalize(acc->acme, o, ck, &chain, &e) == DP_OK) {
        snprintf(r->got, sizeof r->got, "issued");
        if (dp_acme_revoke(acc->acme, chain, 0, NULL, &e) != DP_OK)
            snprintf(r->detail, sizeof r->detail, "issued, and the revocation failed: %s",
                     e.detail);
    } else if (problem_of(acc->acme)) {
        set_problem(r, acc->acme);
    } else {
        fail(r, PV_ERROR, "finalize", &e);
    }
    free(chain);
    dp_key_free(ck);
}

int probe_order(struct probe *p, struct probe_account *acc, const char *const *names, size_t n,
                int fin, int64_t *expires_out, struct probe_result *r)
{
    struct dp_error e;
    struct dp_acme_order *o = NULL;
    sleep_ms(p->last_order_ms + (double)p->pace_ms - mono_ms());
    p->last_order_ms = mono_ms();
    if (expires_out) *expires_out = 0;
    if (dp_acme_order_new(acc->acme, names, n, &o, &e) != DP_OK) {
        if (!problem_of(acc->acme)) {
            fail(r, PV_ERROR, "newOrder", &e);
            return -1;
        }
        set_problem(r, acc->acme);
        return 0;
    }
    int rc = 0;
    if (!strcmp(dp_acme_order_status(o), "ready")) {
        snprintf(r->got, sizeof r->got, "ready");
    } else if (dp_acme_order_validate(acc->acme, o, &e) == DP_OK) {
        snprintf(r->got, sizeof r->got, "valid");
    } else if (e.code == DP_ERR_UNSUPPORTED) {
        fail(r, PV_NOT_OFFERED, "challenge", &e);
    } else if (problem_of(acc->acme)) {
        set_problem(r, acc->acme);
    } else {
        fail(r, PV_ERROR, "validation", &e);
        rc = -1;
    }
    int ok = !strcmp(r->got, "valid") || !strcmp(r->got, "ready");
    if (ok && expires_out) *expires_out = authz_expires(acc, o);
    if (ok && fin) finalize(acc, o, r);
    dp_acme_order_deactivate(acc->acme, o, &e); /* nothing the probe made is reusable */
    dp_acme_order_free(o);
    return rc;
}

void probe_judge(struct probe_result *r, const char *want)
{
    if (r->verdict != PV_CONFORMS) return; /* already an error, a skip or not offered */
    size_t gl = strlen(r->got);
    for (const char *w = want; *w;) {
        size_t l = strcspn(w, "|");
        if (l == gl && !strncmp(w, r->got, l)) return;
        w += l + (w[l] == '|');
    }
    r->verdict = PV_DEVIATES;
}
