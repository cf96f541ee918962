/*
 * va.c: the validation authority (va.h). Challenge answers are queued; each
 * worker thread owns a resolver, a libcurl handle and reads live state from
 * the store at every attempt (V1 fresh DNS, V5 live account status). It
 * writes nothing: results go to the registration authority's callback.
 *
 *   dns-persist-01: TXT at _validation-persist.<name>, the library's
 *                   verification procedure (hashed URIs over every retained
 *                   key, draft-01 plain URLs in compat mode), authz expiry
 *                   clamped to persistUntil (V6)
 *   dns-01:         TXT at _acme-challenge.<name> = b64url(SHA-256(keyAuth))
 *   http-01:        GET http://<name>:<http01-port>/.well-known/acme-challenge/<token>
 *
 * Failed dns-persist-01 validations are rate-limited per (domain, account)
 * (V7): after VA_FAIL_LIMIT failures in VA_FAIL_WINDOW seconds the attempt
 * fails with rateLimited without a look-up.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "hash.h"
#include "va.h"

#define VA_QUEUE 65536
#define VA_FAIL_LIMIT 20
#define VA_FAIL_WINDOW 3600
#define VA_FAIL_SLOTS 4096
#define VA_JIT_LIMIT 10 /* Just-in-Time look-ups of one domain per window */
#define VA_JIT_WINDOW 60
#define VA_JIT_LOOKUP_MS 1000 /* per Just-in-Time look-up */
#define VA_JIT_BUDGET_MS 2000 /* no Just-in-Time look-up starts later in a request */
#define VA_PROC_BUCKETS 2048  /* challenges validated at once: up to 8 per bucket */
#define VA_PROC_WAYS 8

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct fail_slot {
    char key[256 + ST_ID + 2];
    int64_t window_start;
    int count;
};

/* The fixed-window counter of key in a table of VA_FAIL_SLOTS (a slot held
 * by another key, or by an old window, starts again at 0). Caller holds
 * va->mu. */
static struct fail_slot *window(struct fail_slot *table, const char *key, int64_t now,
                                int64_t length)
{
    struct fail_slot *s = &table[ca_hash(key) % VA_FAIL_SLOTS];
    if (strcmp(s->key, key) || now - s->window_start >= length) {
        snprintf(s->key, sizeof s->key, "%s", key);
        s->window_start = now;
        s->count = 0;
    }
    return s;
}

struct worker;

struct va {
    struct ca *ca;
    va_done_fn done;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* work queued */
    char (*q)[ST_ID];
    size_t head, tail, len;
    int stop;
    pthread_t threads[16];
    unsigned n_threads;
    struct fail_slot fails[VA_FAIL_SLOTS];
    /* Just-in-Time validation runs on the requesting thread with a resolver
     * of its own (short time-out), not behind queued challenges. */
    pthread_cond_t jit_cv; /* a resolver came back */
    struct worker *jit_all[64], *jit_free[64];
    unsigned n_jit, n_jit_free;
    struct fail_slot jits[VA_FAIL_SLOTS]; /* Just-in-Time look-ups per domain */
    /* Answered challenges until their result is stored: the "processing"
     * state lives here, not in the store, which saves a write per
     * challenge; after a crash the challenge is simply pending again. */
    struct proc {
        char authz[ST_ID];
        char type[24];
    } procs[VA_PROC_BUCKETS][VA_PROC_WAYS];
};

/* Caller holds va->mu. The slot of authz, or NULL; *free_slot gets an empty
 * slot of its bucket (or NULL when the bucket is full). */
static struct proc *proc_find(struct va *va, const char *authz, struct proc **free_slot)
{
    struct proc *b = va->procs[ca_hash(authz) % VA_PROC_BUCKETS];
    if (free_slot) *free_slot = NULL;
    for (int i = 0; i < VA_PROC_WAYS; i++) {
        if (!strcmp(b[i].authz, authz)) return &b[i];
        if (free_slot && !*free_slot && !b[i].authz[0]) *free_slot = &b[i];
    }
    return NULL;
}

int va_answer(struct va *va, const struct st_authz *a, const char *type)
{
    pthread_mutex_lock(&va->mu);
    struct proc *free_slot, *p = proc_find(va, a->id, &free_slot);
    int rc = 0;
    if (p)
        rc = strcmp(p->type, type) ? 1 : 2;
    else if (!free_slot || va->len == VA_QUEUE || va->stop)
        rc = -1;
    if (rc == 0) {
        snprintf(free_slot->authz, ST_ID, "%s", a->id);
        snprintf(free_slot->type, sizeof free_slot->type, "%s", type);
        snprintf(va->q[va->tail], ST_ID, "%s", a->id);
        va->tail = (va->tail + 1) % VA_QUEUE;
        va->len++;
        pthread_cond_signal(&va->cv);
    }
    pthread_mutex_unlock(&va->mu);
    return rc;
}

void va_overlay(struct va *va, struct st_authz *a)
{
    if (strcmp(a->status, "pending")) return;
    pthread_mutex_lock(&va->mu);
    struct proc *p = proc_find(va, a->id, NULL);
    if (p) {
        snprintf(a->ch_type, sizeof a->ch_type, "%s", p->type);
        snprintf(a->ch_status, sizeof a->ch_status, "processing");
    }
    pthread_mutex_unlock(&va->mu);
}

static void proc_done(struct va *va, const char *authz)
{
    pthread_mutex_lock(&va->mu);
    struct proc *p = proc_find(va, authz, NULL);
    if (p) p->authz[0] = '\0';
    pthread_mutex_unlock(&va->mu);
}

/* Draft 4.4: Just-in-Time look-ups are limited per domain, whatever the
 * account, so many accounts cannot turn the CA against one zone. Caller
 * holds va->mu. */
static int jit_allowed(struct va *va, const char *domain, int64_t now)
{
    return window(va->jits, domain, now, VA_JIT_WINDOW)->count++ < VA_JIT_LIMIT;
}

static void run_jit(struct worker *w, struct va_jit *it, double deadline);

void va_jit(struct va *va, struct va_jit *items, size_t n)
{
    int64_t now = (int64_t)time(NULL);
    int allowed[ST_MAX_IDENTIFIERS] = {0};
    pthread_mutex_lock(&va->mu);
    for (size_t i = 0; i < n && i < ST_MAX_IDENTIFIERS; i++) {
        const char *id = items[i].identifier;
        items[i].valid = 0;
        items[i].clamp = 0;
        allowed[i] = jit_allowed(va, id + (strncmp(id, "*.", 2) ? 0 : 2), now);
    }
    while (!va->n_jit_free && !va->stop)
        pthread_cond_wait(&va->jit_cv, &va->mu);
    struct worker *w = va->stop ? NULL : va->jit_free[--va->n_jit_free];
    pthread_mutex_unlock(&va->mu);
    if (!w) return;
    /* The request waits: all of an order's look-ups share one time budget,
     * and what it does not cover stays pending. */
    double deadline = mono_ms() + VA_JIT_BUDGET_MS;
    for (size_t i = 0; i < n && i < ST_MAX_IDENTIFIERS; i++)
        if (allowed[i]) run_jit(w, &items[i], deadline);
    pthread_mutex_lock(&va->mu);
    va->jit_free[va->n_jit_free++] = w;
    pthread_cond_signal(&va->jit_cv);
    pthread_mutex_unlock(&va->mu);
}

/* 1 when the (domain, account) pair may be tried again now. */
static int fail_allowed(struct va *va, const char *key, int64_t now)
{
    pthread_mutex_lock(&va->mu);
    const struct fail_slot *s = &va->fails[ca_hash(key) % VA_FAIL_SLOTS];
    int ok =
        strcmp(s->key, key) || now - s->window_start >= VA_FAIL_WINDOW || s->count < VA_FAIL_LIMIT;
    pthread_mutex_unlock(&va->mu);
    return ok;
}

static void fail_note(struct va *va, const char *key, int64_t now)
{
    pthread_mutex_lock(&va->mu);
    window(va->fails, key, now, VA_FAIL_WINDOW)->count++;
    pthread_mutex_unlock(&va->mu);
}

struct worker {
    struct va *va;
    struct dp_resolver *res;
    CURL *curl;
};

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

static void lookup(struct worker *w, const char *name, int qtype, struct lookup *l)
{
    memset(l, 0, sizeof *l);
    const char *names[] = {name};
    struct dp_error e;
    if (dp_resolver_batch(w->res, names, 1, qtype, on_txt, l, &e) != DP_OK) {
        l->status = DP_DNS_FAILED;
        snprintf(l->detail, sizeof l->detail, "%s", e.detail);
    }
}

/* A validation under way: its result and how it runs. */
struct outcome {
    struct va_result r;
    int jit;         /* Just-in-Time: a miss is not a failure (no V7 count) */
    double deadline; /* Just-in-Time: no look-up starts after it (ms, monotonic) */
};

static void fail(struct outcome *o, const char *type, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(struct outcome *o, const char *type, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->r.detail, sizeof o->r.detail, fmt, ap);
    va_end(ap);
    o->r.valid = 0;
    o->r.type = type;
    o->r.status = status;
}

static void validate_persist(struct worker *w, const struct st_authz *a, struct outcome *o)
{
    struct ca *ca = w->va->ca;
    struct st_account acct;
    int64_t now = (int64_t)time(NULL);
    char key[sizeof a->identifier + ST_ID + 2];
    snprintf(key, sizeof key, "%s|%s", a->identifier, a->account);
    if (!fail_allowed(w->va, key, now))
        return fail(
            o, "rateLimited", 429,
            "too many failed dns-persist-01 validations of %s by this account: retry later (V7)",
            a->identifier);
    if (store_account_get(ca->store, a->account, &acct))
        return fail(o, "serverInternal", 500, "the account is gone");
    char thumbs[ST_MAX_KEYS][48];
    const char *tp[ST_MAX_KEYS];
    size_t nk = store_account_keys(ca->store, a->account, thumbs, ST_MAX_KEYS);
    for (size_t i = 0; i < nk; i++)
        tp[i] = thumbs[i];
    char acct_url[600];
    snprintf(acct_url, sizeof acct_url, "%s/acme/acct/%s", ca->base, a->account);
    struct dp_verify_params p = {ca->cfg.issuers,
                                 ca->cfg.n_issuers,
                                 acct_url,
                                 tp,
                                 nk,
                                 ca->cfg.hash_prefix,
                                 0,
                                 ca->cfg.draft01_compat ? DP_MODE_COMPAT : DP_MODE_DRAFT02};
    struct dp_error e;
    struct dp_verifier *v = dp_verifier_new(ca->dp, &p, &e);
    if (!v) return fail(o, "serverInternal", 500, "%s", e.detail);
    char name[DP_VALIDATION_NAME_MAX + 8], ident[sizeof a->identifier + 2];
    snprintf(ident, sizeof ident, "%s%s", a->wildcard ? "*." : "", a->identifier);
    /* The name's own record first, then each parent below the public suffix,
     * where only a policy=wildcard record counts (S2, S3; draft section 6).
     * The verdict reported is the own name's unless it found no record for
     * this CA and a parent's record is what fails. */
    const char *cands[128];
    size_t nc = dp_scope_candidates(ca->dp, ident, cands, 128);
    struct dp_verdict first = {0};
    int have_first = 0;
    /* V5 from live state: the status just read from the store. */
    enum dp_account_status st =
        strcmp(acct.status, "valid") ? DP_ACCOUNT_DEACTIVATED : DP_ACCOUNT_VALID;
    for (size_t c = 0; c < nc && !o->r.valid; c++) {
        if (o->deadline && mono_ms() > o->deadline) {
            fail(o, "dns", 400, "Just-in-Time validation ran out of time");
            have_first = 0;
            break;
        }
        snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, cands[c]);
        struct lookup l;
        lookup(w, name, DP_DNS_TYPE_TXT, &l);
        if (l.status == DP_DNS_FAILED) {
            fail(o, "dns", 400, "look-up of %s failed: %s (%s)", name, l.detail,
                 l.dnssec == DP_DNSSEC_BOGUS ? "V8" : "V4");
            lookup_free(&l);
            have_first = 0;
            break;
        }
        struct dp_verdict vd;
        if (dp_verifier_eval(v, ident, cands[c], l.rrs, l.n, st, now, &vd, &e) != DP_OK) {
            fail(o, "serverInternal", 500, "%s", e.detail);
            lookup_free(&l);
            have_first = 0;
            break;
        }
        lookup_free(&l);
        if (vd.code == DP_OK) {
            o->r.valid = 1;
            o->r.clamp = vd.has_persist_until ? vd.persist_until : 0;
        } else if (!have_first || (first.n_matching == 0 && vd.n_matching > 0)) {
            first = vd;
            have_first = 1;
        }
        if (st == DP_ACCOUNT_DEACTIVATED) break; /* V5: no record can help */
    }
    if (!o->r.valid && have_first)
        fail(o, first.code == DP_ERR_MALFORMED ? "malformed" : "unauthorized",
             first.code == DP_ERR_MALFORMED ? 400 : 403, "%s", first.detail);
    if (!o->r.valid && !o->jit && strcmp(o->r.type, "serverInternal")) fail_note(w->va, key, now);
    dp_verifier_free(v);
}

static void key_authorization(const struct st_authz *a, const struct st_account *acct, char *out,
                              size_t cap)
{
    snprintf(out, cap, "%s.%s", a->token, acct->thumb);
}

static void validate_dns01(struct worker *w, const struct st_authz *a, struct outcome *o)
{
    struct st_account acct;
    if (store_account_get(w->va->ca->store, a->account, &acct))
        return fail(o, "serverInternal", 500, "the account is gone");
    char ka[256], name[sizeof a->identifier + 20];
    key_authorization(a, &acct, ka, sizeof ka);
    unsigned char dg[32];
    unsigned int dl;
    EVP_Digest(ka, strlen(ka), dg, &dl, EVP_sha256(), NULL);
    char *want = dp_b64url_encode_alloc(dg, 32);
    snprintf(name, sizeof name, "_acme-challenge.%s", a->identifier);
    struct lookup l;
    lookup(w, name, DP_DNS_TYPE_TXT, &l);
    if (l.status == DP_DNS_FAILED) {
        fail(o, "dns", 400, "look-up of %s failed: %s", name, l.detail);
    } else {
        int found = 0;
        for (size_t i = 0; i < l.n && want; i++)
            found |= l.values[i] && !strcmp(l.values[i], want);
        if (found)
            o->r.valid = 1;
        else
            fail(o, "unauthorized", 403, "no TXT record at %s carries the expected digest %s", name,
                 want ? want : "");
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

static void validate_http01(struct worker *w, const struct st_authz *a, struct outcome *o)
{
    struct ca *ca = w->va->ca;
    struct st_account acct;
    if (store_account_get(ca->store, a->account, &acct))
        return fail(o, "serverInternal", 500, "the account is gone");
    struct lookup l;
    lookup(w, a->identifier, 1, &l);
    char ip[64];
    snprintf(ip, sizeof ip, "%s", l.ip);
    lookup_free(&l);
    if (l.status == DP_DNS_FAILED)
        return fail(o, "dns", 400, "look-up of %s failed: %s", a->identifier, l.detail);
    if (!ip[0]) return fail(o, "dns", 400, "%s has no A record", a->identifier);
    char u[sizeof a->identifier + sizeof a->token + 80], res[sizeof a->identifier + 90], ka[256];
    snprintf(u, sizeof u, "http://%s:%d/.well-known/acme-challenge/%s", a->identifier,
             ca->cfg.http01_port, a->token);
    snprintf(res, sizeof res, "%s:%d:%s", a->identifier, ca->cfg.http01_port, ip);
    key_authorization(a, &acct, ka, sizeof ka);
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
        return fail(o, "connection", 400, "fetching %s: %s", u, curl_easy_strerror(rc));
    if (code != 200) return fail(o, "unauthorized", 403, "%s answered HTTP %ld", u, code);
    if (b.over || strcmp(b.buf, ka))
        return fail(o, "unauthorized", 403, "%s did not return the key authorization", u);
    o->r.valid = 1;
}

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
    struct ca *ca = w->va->ca;
    char acct[600];
    snprintf(acct, sizeof acct, "%s/acme/acct/%s", ca->base, a->account);
    for (const char *d = a->identifier; d && *d; d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL) {
        struct caa_set c = {0};
        const char *names[] = {d};
        struct dp_error e;
        if (dp_resolver_batch(w->res, names, 1, DP_DNS_TYPE_CAA, on_caa, &c, &e) != DP_OK ||
            c.status == DP_DNS_FAILED)
            return fail(o, "caa", 403, "CAA look-up of %s failed: %s", d,
                        c.detail[0] ? c.detail : e.detail);
        if (c.n == 0) continue;
        char why[300];
        if (!caa_permits(ca, &c, a->wildcard, acct, a->ch_type, why, sizeof why))
            fail(o, "caa", 403, "%s (at %s)", why, d);
        return;
    }
}

/* CAA when the CA advertises caaIdentities, after the method passed. */
static void caa_after(struct worker *w, const struct st_authz *a, struct outcome *o)
{
    if (!o->r.valid || !w->va->ca->cfg.n_caa) return;
    o->r.valid = 0;
    check_caa(w, a, o);
    if (!o->r.type) o->r.valid = 1;
}

/* One identifier of a new order, checked as its dns-persist-01 challenge
 * would be; nothing is stored here (new_order stores the order at once). */
static void run_jit(struct worker *w, struct va_jit *it, double deadline)
{
    struct st_authz a = {.wildcard = !strncmp(it->identifier, "*.", 2)};
    snprintf(a.account, sizeof a.account, "%s", it->account);
    snprintf(a.identifier, sizeof a.identifier, "%s", it->identifier + (a.wildcard ? 2 : 0));
    snprintf(a.ch_type, sizeof a.ch_type, "dns-persist-01");
    struct outcome o = {.jit = 1, .deadline = deadline};
    validate_persist(w, &a, &o);
    caa_after(w, &a, &o);
    it->valid = o.r.valid;
    it->clamp = o.r.clamp;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct va *va = w->va;
    for (;;) {
        char id[ST_ID];
        pthread_mutex_lock(&va->mu);
        while (!va->len && !va->stop)
            pthread_cond_wait(&va->cv, &va->mu);
        if (va->stop) {
            pthread_mutex_unlock(&va->mu);
            break;
        }
        memcpy(id, va->q[va->head], ST_ID);
        va->head = (va->head + 1) % VA_QUEUE;
        va->len--;
        pthread_mutex_unlock(&va->mu);

        struct st_authz a;
        /* Still pending (not deactivated meanwhile): validate the answer. */
        if (store_authz_get(va->ca->store, id, &a) || strcmp(a.status, "pending") ||
            strcmp(a.ch_status, "pending")) {
            proc_done(va, id);
            continue;
        }
        va_overlay(va, &a);
        struct outcome o = {0};
        if (!strcmp(a.ch_type, "dns-persist-01"))
            validate_persist(w, &a, &o);
        else if (!strcmp(a.ch_type, "dns-01"))
            validate_dns01(w, &a, &o);
        else
            validate_http01(w, &a, &o);
        caa_after(w, &a, &o);
        va->done(va->ca, &a, &o.r);
        proc_done(va, id); /* after the result is stored: no gap shows pending */
    }
    dp_resolver_free(w->res);
    curl_easy_cleanup(w->curl);
    free(w);
    return NULL;
}

struct va *va_create(struct ca *ca, va_done_fn done, char *why, size_t cap)
{
    struct va *va = calloc(1, sizeof *va);
    if (!va || !(va->q = calloc(VA_QUEUE, sizeof *va->q))) {
        free(va);
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    va->ca = ca;
    va->done = done;
    pthread_mutex_init(&va->mu, NULL);
    pthread_cond_init(&va->cv, NULL);
    pthread_cond_init(&va->jit_cv, NULL);
    unsigned n = ca->cfg.va_threads ? ca->cfg.va_threads : 2;
    if (n > 16) n = 16;
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = calloc(1, sizeof *w);
        struct dp_resolver_config rc = {ca->cfg.resolver[0] ? ca->cfg.resolver : NULL,
                                        ca->cfg.trust_anchor[0] ? ca->cfg.trust_anchor : NULL, 0, 0,
                                        0};
        struct dp_error e;
        if (!w || !(w->res = dp_resolver_new(&rc, &e)) || !(w->curl = curl_easy_init())) {
            snprintf(why, cap, "validation worker: %s", w && !w->res ? e.detail : "out of memory");
            if (w) dp_resolver_free(w->res);
            free(w);
            va_destroy(va);
            return NULL;
        }
        w->va = va;
        if (pthread_create(&va->threads[va->n_threads], NULL, worker_main, w)) {
            dp_resolver_free(w->res);
            curl_easy_cleanup(w->curl);
            free(w);
            snprintf(why, cap, "cannot start a validation thread");
            va_destroy(va);
            return NULL;
        }
        va->n_threads++;
    }
    /* One Just-in-Time resolver per HTTPS thread, so a new-order never
     * waits for another's look-up; a short time-out, since the request
     * waits (a slow zone just leaves the authorization pending). */
    unsigned nj = ca->cfg.jit && ca->cfg.persist ? ca->cfg.threads : 0;
    for (unsigned i = 0; i < nj && i < 64; i++) {
        struct worker *w = calloc(1, sizeof *w);
        struct dp_resolver_config rc = {ca->cfg.resolver[0] ? ca->cfg.resolver : NULL,
                                        ca->cfg.trust_anchor[0] ? ca->cfg.trust_anchor : NULL,
                                        VA_JIT_LOOKUP_MS, 0, 0};
        struct dp_error e;
        if (!w || !(w->res = dp_resolver_new(&rc, &e))) {
            snprintf(why, cap, "Just-in-Time resolver: %s", w ? e.detail : "out of memory");
            free(w);
            va_destroy(va);
            return NULL;
        }
        w->va = va;
        va->jit_all[va->n_jit++] = w;
        va->jit_free[va->n_jit_free++] = w;
    }
    return va;
}

void va_destroy(struct va *va)
{
    if (!va) return;
    pthread_mutex_lock(&va->mu);
    va->stop = 1;
    pthread_cond_broadcast(&va->cv);
    pthread_cond_broadcast(&va->jit_cv);
    pthread_mutex_unlock(&va->mu);
    for (unsigned i = 0; i < va->n_threads; i++)
        pthread_join(va->threads[i], NULL);
    for (unsigned i = 0; i < va->n_jit; i++) { /* the HTTPS threads have stopped */
        dp_resolver_free(va->jit_all[i]->res);
        free(va->jit_all[i]);
    }
    free(va->q);
    free(va);
}
