/* check.c: the challenge checks (check.h): dns-persist-01 (the library's
 * verification procedure over the record at _validation-persist.<name> and
 * its parents), dns-01 and http-01, and a checker's handles. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "clock.h"
#include "metrics.h"
#include "ratelimit.h"

struct lookup {
    enum dp_dns_status status;
    char detail[512];
    enum dp_dnssec dnssec;
    char **values;
    size_t n;
    struct dp_span *spans; /* one per value, for the verifier */
    struct dp_txt_rr *rrs;
    char ip[64];
};

static void on_txt(void *arg, size_t i, const struct dp_dns_answer *a)
{
    (void)i;
    struct lookup *l = arg;
    l->status = a->status;
    l->dnssec = a->dnssec;
    snprintf(l->detail, sizeof l->detail, "%s", a->detail);
    if (a->status != DP_DNS_FOUND) return;
    l->values = calloc(a->n_rrs, sizeof *l->values);
    l->spans = calloc(a->n_rrs, sizeof *l->spans);
    l->rrs = calloc(a->n_rrs, sizeof *l->rrs);
    if (!l->values || !l->spans || !l->rrs) {
        l->status = DP_DNS_FAILED;
        snprintf(l->detail, sizeof l->detail, "out of memory");
        return;
    }
    for (size_t k = 0; k < a->n_rrs; k++) {
        if (a->qtype == DP_DNS_TYPE_TXT) {
            size_t len = 0;
            for (size_t s = 0; s < a->txt[k].n_strings; s++)
                len += a->txt[k].strings[s].len;
            l->values[k] = malloc(len + 1);
            if (l->values[k]) dp_txt_join(&a->txt[k], l->values[k], len + 1, &len, NULL);
            l->spans[k] = (struct dp_span){l->values[k], l->values[k] ? len : 0};
        } else if (a->rdata[k].len == 4 && !l->ip[0]) { /* A record */
            const unsigned char *b = (const unsigned char *)a->rdata[k].ptr;
            snprintf(l->ip, sizeof l->ip, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        }
        l->rrs[k] = (struct dp_txt_rr){&l->spans[k], 1};
    }
    l->n = a->n_rrs;
}

static void lookup_free(struct lookup *l)
{
    for (size_t i = 0; l->values && i < l->n; i++)
        free(l->values[i]);
    free(l->values);
    free(l->spans);
    free(l->rrs);
}

static void lookup(struct checker *w, const char *name, int qtype, struct lookup *l)
{
    memset(l, 0, sizeof *l);
    const char *names[] = {name};
    struct dp_error e;
    if (dp_resolver_batch(w->res, names, 1, qtype, on_txt, l, &e) != DP_OK) {
        l->status = DP_DNS_FAILED;
        snprintf(l->detail, sizeof l->detail, "%s", e.detail);
    }
}

void check_fail(struct outcome *o, const char *type, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->r.detail, sizeof o->r.detail, fmt, ap);
    va_end(ap);
    o->r.valid = 0;
    o->r.type = type;
    o->r.status = status;
}

void check_persist(struct checker *w, const struct va_req *q, struct outcome *o)
{
    int64_t now = (int64_t)time(NULL);
    char key[320], rec[DP_VALIDATION_NAME_MAX + 2];
    /* V7 counts failures per record name and account: the name's own
     * record here, a parent's below when that is the record that failed.
     * Counted by the primary only (its gate); a perspective keeps no state. */
    snprintf(rec, sizeof rec, "%s.%s", DP_VALIDATION_LABEL, q->identifier);
    check_fail_key(rec, q->account, key, sizeof key);
    if (w->gate && !w->gate->allowed(w->gate->arg, key, now)) {
        metrics_rate_limited(RL_FAILED_VALIDATIONS);
        return check_fail(o, "rateLimited", 429,
                          "too many failed dns-persist-01 validations of %s.%s by this account: "
                          "retry later (V7)",
                          DP_VALIDATION_LABEL, q->identifier);
    }
    const char **tp = calloc(q->n_thumbs + 1, sizeof *tp), *iss[DP_MAX_ISSUERS],
               *prev[DP_MAX_ISSUERS];
    if (!tp) return check_fail(o, "serverInternal", 500, "out of memory");
    for (size_t i = 0; i < q->n_thumbs; i++)
        tp[i] = q->thumbs[i];
    for (size_t i = 0; i < q->n_issuers; i++)
        iss[i] = q->issuers[i];
    for (size_t i = 0; i < q->n_previous; i++)
        prev[i] = q->previous[i];
    struct dp_verify_params p = {iss,
                                 q->n_issuers,
                                 q->account_url,
                                 tp,
                                 q->n_thumbs,
                                 q->hash_prefix,
                                 0,
                                 q->compat ? DP_MODE_COMPAT : DP_MODE_DRAFT02,
                                 prev,
                                 q->n_previous};
    struct dp_error e;
    struct dp_verifier *v = dp_verify_new(w->dp, &p, &e); /* copies what it needs */
    free(tp);
    if (!v) return check_fail(o, "serverInternal", 500, "%s", e.detail);
    char name[DP_VALIDATION_NAME_MAX + 8], ident[sizeof q->identifier + 2];
    snprintf(ident, sizeof ident, "%s%s", q->wildcard ? "*." : "", q->identifier);
    /* The name's own record first, then each parent below the public suffix,
     * where only a policy=wildcard record counts (S2, S3; draft section 6).
     * The verdict reported is the own name's unless it found no record for
     * this CA and a parent's record is what fails. */
    const char *cands[128];
    size_t nc = dp_scope_candidates(w->dp, ident, cands, 128);
    struct dp_verdict first = {0};
    int have_first = 0;
    size_t first_c = 0;
    /* V5 from live state: the status just read from the store. */
    enum dp_account_status st = q->account_valid ? DP_ACCOUNT_VALID : DP_ACCOUNT_DEACTIVATED;
    for (size_t c = 0; c < nc && !o->r.valid; c++) {
        if (o->deadline && mono_ms() > o->deadline) {
            check_fail(o, "dns", 400, "Just-in-Time validation ran out of time");
            have_first = 0;
            break;
        }
        snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, cands[c]);
        struct lookup l;
        lookup(w, name, DP_DNS_TYPE_TXT, &l);
        if (l.status == DP_DNS_FAILED) {
            check_fail(o, "dns", 400, "look-up of %s failed: %s (%s)", name, l.detail,
                       l.dnssec == DP_DNSSEC_BOGUS ? "V8" : "V4");
            lookup_free(&l);
            have_first = 0;
            break;
        }
        struct dp_verdict vd;
        if (dp_verify_eval(v, ident, cands[c], l.rrs, l.n, st, now, &vd, &e) != DP_OK) {
            check_fail(o, "serverInternal", 500, "%s", e.detail);
            lookup_free(&l);
            have_first = 0;
            break;
        }
        lookup_free(&l);
        if (vd.code == DP_OK) {
            o->r.valid = 1;
            o->r.key = vd.plain ? -1 : (long)vd.key_index;
            o->r.clamp = vd.has_persist_until ? vd.persist_until : 0;
            snprintf(o->r.record, sizeof o->r.record, "%s", name);
        } else if (!have_first || (first.n_matching == 0 && vd.n_matching > 0)) {
            first = vd;
            first_c = c;
            have_first = 1;
        }
        if (st == DP_ACCOUNT_DEACTIVATED) break; /* V5: no record can help */
    }
    if (!o->r.valid && have_first) {
        check_fail(o, first.code == DP_ERR_MALFORMED ? "malformed" : "unauthorized",
                   first.code == DP_ERR_MALFORMED ? 400 : 403, "%s", first.detail);
        /* A parent's record decided: a burst of names under it counts
         * against that one record. */
        if (first.n_matching && first_c > 0) {
            snprintf(rec, sizeof rec, "%s.%s", DP_VALIDATION_LABEL, cands[first_c]);
            check_fail_key(rec, q->account, key, sizeof key);
            if (!o->jit && w->gate && !w->gate->allowed(w->gate->arg, key, now)) {
                metrics_rate_limited(RL_FAILED_VALIDATIONS);
                check_fail(o, "rateLimited", 429,
                           "too many failed dns-persist-01 validations against %s.%s by this "
                           "account: retry later (V7)",
                           DP_VALIDATION_LABEL, cands[first_c]);
            }
        }
    }
    if (!o->r.valid && !o->jit && strcmp(o->r.type, "serverInternal"))
        snprintf(o->r.fail_key, sizeof o->r.fail_key, "%s", key); /* the RA counts it */
    dp_verify_free(v);
}

void check_dns01(struct checker *w, const struct va_req *q, struct outcome *o)
{
    char name[sizeof q->identifier + 20];
    unsigned char dg[32];
    unsigned int dl;
    EVP_Digest(q->key_auth, strlen(q->key_auth), dg, &dl, EVP_sha256(), NULL);
    char *want = dp_b64url_encode_alloc(dg, 32);
    snprintf(name, sizeof name, "_acme-challenge.%s", q->identifier);
    struct lookup l;
    lookup(w, name, DP_DNS_TYPE_TXT, &l);
    if (l.status == DP_DNS_FAILED) {
        check_fail(o, "dns", 400, "look-up of %s failed: %s", name, l.detail);
    } else {
        int found = 0;
        for (size_t i = 0; i < l.n && want; i++)
            found |= l.values[i] && !strcmp(l.values[i], want);
        if (found)
            o->r.valid = 1;
        else
            check_fail(o, "unauthorized", 403, "no TXT record at %s carries the expected digest %s",
                       name, want ? want : "");
    }
    free(want);
    lookup_free(&l);
}

struct body {
    char buf[1024];
    size_t len;
    int over;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct body *b = arg;
    size_t l = sz * n;
    if (b->len + l >= sizeof b->buf) {
        b->over = 1;
        return 0;
    }
    memcpy(b->buf + b->len, p, l);
    b->len += l;
    b->buf[b->len] = '\0';
    return l;
}

void check_http01(struct checker *w, const struct va_req *q, struct outcome *o)
{
    struct lookup l;
    lookup(w, q->identifier, 1, &l);
    char ip[64];
    snprintf(ip, sizeof ip, "%s", l.ip);
    lookup_free(&l);
    if (l.status == DP_DNS_FAILED)
        return check_fail(o, "dns", 400, "look-up of %s failed: %s", q->identifier, l.detail);
    if (!ip[0]) return check_fail(o, "dns", 400, "%s has no A record", q->identifier);
    char u[sizeof q->identifier + sizeof q->token + 80], res[sizeof q->identifier + 90];
    const char *ka = q->key_auth;
    snprintf(u, sizeof u, "http://%s:%d/.well-known/acme-challenge/%s", q->identifier,
             q->http01_port, q->token);
    snprintf(res, sizeof res, "%s:%d:%s", q->identifier, q->http01_port, ip);
    struct curl_slist *rl = curl_slist_append(NULL, res);
    struct body b = {.len = 0};
    CURL *c = w->curl;
    curl_easy_reset(c);
    long code = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (rl && curl_easy_setopt(c, CURLOPT_URL, u) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_RESOLVE, rl) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b) == CURLE_OK)
        rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rl);
    while (b.len &&
           (b.buf[b.len - 1] == '\n' || b.buf[b.len - 1] == '\r' || b.buf[b.len - 1] == ' '))
        b.buf[--b.len] = '\0';
    if (rc != CURLE_OK && !b.over)
        return check_fail(o, "connection", 400, "fetching %s: %s", u, curl_easy_strerror(rc));
    if (code != 200) return check_fail(o, "unauthorized", 403, "%s answered HTTP %ld", u, code);
    if (b.over || strcmp(b.buf, ka))
        return check_fail(o, "unauthorized", 403, "%s did not return the key authorization", u);
    o->r.valid = 1;
}

void check_run(struct checker *w, const struct va_req *q, struct outcome *o)
{
    if (!strcmp(q->type, "caa")) {
        o->r.valid = check_caa(w->res, q, &o->r);
        return;
    }
    if (!strcmp(q->type, "dns-persist-01"))
        check_persist(w, q, o);
    else if (!strcmp(q->type, "dns-01"))
        check_dns01(w, q, o);
    else
        check_http01(w, q, o);
    check_caa_after(w, q, o);
}

void check_fail_key(const char *record, const char *account, char *out, size_t cap)
{
    snprintf(out, cap, "%d|%s|%s", (int)RL_FAILED_VALIDATIONS, record, account);
}

int check_init(struct checker *c, struct dp_ctx *dp, const char *resolver, const char *ta,
               unsigned timeout_ms, int with_curl, char *why, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->dp = dp;
    struct dp_resolver_config rc = {resolver && resolver[0] ? resolver : NULL,
                                    ta && ta[0] ? ta : NULL, timeout_ms, 0, 0};
    struct dp_error e;
    if (!(c->res = dp_resolver_new(&rc, &e))) {
        snprintf(why, cap, "validation resolver: %s", e.detail);
        return -1;
    }
    if (with_curl && !(c->curl = curl_easy_init())) {
        snprintf(why, cap, "out of memory");
        check_clear(c);
        return -1;
    }
    return 0;
}

void check_clear(struct checker *c)
{
    dp_resolver_free(c->res);
    if (c->curl) curl_easy_cleanup(c->curl);
    c->res = NULL;
    c->curl = NULL;
}
