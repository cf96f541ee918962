/*
 * bench_typical.c: bench_ca's "typical" mode. The library's client is
 * frugal (Just-in-Time, three requests a certificate); certbot, lego and
 * acme.sh are not. This drives the CA the way they do, one certificate at a
 * time per client: HEAD newNonce, newOrder, POST-as-GET of the
 * authorization, the challenge POST (when the authorization is pending),
 * authorization polls until valid (at least two, as clients poll after
 * answering), finalize, order polls until valid (at least one), and the
 * certificate download.
 *
 * Runs every combination of: one account or ACCOUNTS accounts (records for
 * each published beforehand), one kept-alive connection per client or a new
 * connection (TLS handshake) per certificate, and concurrency 1, 8 and 32.
 * Prints certificates/s, requests per certificate and the server's CPU per
 * certificate for each. TYPICAL_QUICK=1 runs only one account, kept alive,
 * concurrency 8. TYPICAL_CHALLENGE=http-01 (with TYPICAL_HTTP01_PORT, where
 * the CA's validation connects) answers http-01 instead, from a responder
 * of its own: the flow this CA and a peer such as Pebble both serve
 * (bench_peer.sh), no record published.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_ca.h"
#include "dnspersist/dnspersist.h"

struct acct {
    struct dp_key *key;
    char kid[512];
};

struct conn {
    CURL *h;
    char nonce[128];
    char location[512];
    char *body;
    size_t len;
    long requests;
};

static char new_nonce[256], new_order[256], new_account[256];
static const char *g_challenge = "dns-persist-01";
static const char *g_root;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct conn *c = arg;
    size_t k = sz * n;
    char *nb = realloc(c->body, c->len + k + 1);
    if (!nb) return 0;
    memcpy(nb + c->len, p, k);
    c->len += k;
    nb[c->len] = '\0';
    c->body = nb;
    return k;
}

static void header_value(const char *p, size_t k, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (k <= nl || strncasecmp(p, name, nl)) return;
    p += nl;
    k -= nl;
    while (k && (*p == ' '))
        p++, k--;
    while (k && (p[k - 1] == '\r' || p[k - 1] == '\n'))
        k--;
    snprintf(out, cap, "%.*s", (int)k, p);
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct conn *c = arg;
    header_value(p, sz * n, "replay-nonce:", c->nonce, sizeof c->nonce);
    header_value(p, sz * n, "location:", c->location, sizeof c->location);
    return sz * n;
}

static void conn_open(struct conn *c)
{
    memset(c, 0, sizeof *c);
    c->h = curl_easy_init();
    curl_easy_setopt(c->h, CURLOPT_CAINFO, g_root);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 60L);
}

static void conn_close(struct conn *c)
{
    if (c->h) curl_easy_cleanup(c->h);
    free(c->body);
    c->h = NULL;
    c->body = NULL;
}

/* One request; the status, or -1. body NULL: HEAD (head) or GET. */
static long conn_req(struct conn *c, const char *url, const char *body, int head)
{
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/jose+json");
    c->len = 0;
    c->location[0] = '\0';
    if (c->body) c->body[0] = '\0';
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(c->h, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c->h, CURLOPT_NOBODY, head ? 1L : 0L);
    }
    curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, body ? hd : NULL);
    long status = -1;
    if (curl_easy_perform(c->h) == CURLE_OK)
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    c->requests++;
    return status;
}

static long conn_do(struct conn *c, const char *url, const char *body)
{
    return conn_req(c, url, body, 1);
}

/* A signed POST (payload NULL: POST-as-GET); the body parsed, or NULL. */
static json_t *post(struct conn *c, const struct acct *a, const char *url, const char *payload,
                    long *status)
{
    struct dp_error e;
    char *jws = dp_jws_sign_alloc(a->key, a->kid[0] ? a->kid : NULL, c->nonce, url,
                                  payload ? payload : "", &e);
    *status = -1;
    if (!jws) return NULL;
    *status = conn_do(c, url, jws);
    free(jws);
    return c->body ? json_loads(c->body, 0, NULL) : NULL;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Polls url until its status is valid (at least min polls, 10 ms apart). */
static int poll_valid(struct conn *c, const struct acct *a, const char *url, int min, json_t **last)
{
    for (int i = 0; i < 500; i++) {
        long st = -1;
        json_t *o = post(c, a, url, NULL, &st);
        const char *s = jstr(o, "status");
        if (!strcmp(s, "invalid") || st != 200) {
            json_decref(o);
            return -1;
        }
        if (!strcmp(s, "valid") && i + 1 >= min) {
            *last = o;
            return 0;
        }
        json_decref(o);
        usleep(10000); /* the client's poll interval, as a client polls */
    }
    return -1;
}

static int one_cert(struct conn *c, const struct acct *a, const char *name)
{
    long st = -1;
    int rc = -1;
    json_t *order = NULL, *authz = NULL, *ch = NULL, *done = NULL, *fin = NULL;
    unsigned char *csr = NULL;
    char *csr64 = NULL, *payload = NULL, order_url[512], *pem = NULL;
    struct dp_key *ck = dp_key_generate(DP_KEY_EC256, NULL);
    conn_do(c, new_nonce, NULL);
    payload = NULL;
    if (asprintf(&payload, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"%s\"}]}", name) < 0)
        goto out;
    order = post(c, a, new_order, payload, &st);
    snprintf(order_url, sizeof order_url, "%s", c->location);
    if (st != 201 || !order) goto out;
    const char *authz_url =
        json_string_value(json_array_get(json_object_get(order, "authorizations"), 0));
    if (!authz_url) goto out;
    char az[512];
    snprintf(az, sizeof az, "%s", authz_url);
    authz = post(c, a, az, NULL, &st);
    if (st != 200) goto out;
    if (!strcmp(jstr(authz, "status"), "pending")) {
        json_t *chs = json_object_get(authz, "challenges"), *v;
        size_t i;
        const char *curl_ = NULL;
        const char *token = NULL;
        json_array_foreach(chs, i, v) if (!strcmp(jstr(v, "type"), g_challenge))
        {
            curl_ = jstr(v, "url");
            token = jstr(v, "token");
        }
        if (!curl_) goto out;
        if (strcmp(g_challenge, "dns-persist-01")) { /* http-01: RFC 8555 8.1 key authorization */
            char ka[256];
            snprintf(ka, sizeof ka, "%s.%s", token, dp_key_thumbprint(a->key));
            bench_http01_set(token, ka);
        }
        ch = post(c, a, curl_, "{}", &st);
        if (st != 200) goto out;
    }
    if (poll_valid(c, a, az, 2, &done)) goto out;
    size_t csr_len;
    struct dp_error e;
    if (!ck || dp_key_csr(ck, &name, 1, &csr, &csr_len, &e) != DP_OK) goto out;
    csr64 = dp_b64url_encode_alloc(csr, csr_len);
    free(payload);
    payload = NULL;
    if (!csr64 || asprintf(&payload, "{\"csr\":\"%s\"}", csr64) < 0) goto out;
    fin = post(c, a, jstr(order, "finalize"), payload, &st);
    if (st != 200) goto out;
    json_decref(done);
    done = NULL;
    if (poll_valid(c, a, order_url, 1, &done)) goto out;
    char cert_url[512];
    snprintf(cert_url, sizeof cert_url, "%s", jstr(done, "certificate"));
    json_t *x = post(c, a, cert_url, NULL, &st);
    json_decref(x);
    rc = st == 200 && c->body && strstr(c->body, "BEGIN CERTIFICATE") ? 0 : -1;
out:
    json_decref(order);
    json_decref(authz);
    json_decref(ch);
    json_decref(done);
    json_decref(fin);
    free(csr);
    free(csr64);
    free(payload);
    free(pem);
    dp_key_free(ck);
    return rc;
}

struct worker {
    int id, conc, fresh, round;
    long todo, done, failed, requests;
    struct acct *accts;
    int n_accts;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct conn c;
    conn_open(&c);
    for (long i = 0; i < w->todo; i++) {
        int k = (int)((w->id + i * w->conc) % w->n_accts);
        char name[128];
        snprintf(name, sizeof name, "t%d-%d-%ld.a%d.web.test", w->round, w->id, i, k);
        if (w->fresh && i) {
            w->requests += c.requests;
            conn_close(&c);
            conn_open(&c);
        }
        if (one_cert(&c, &w->accts[k], name) == 0)
            w->done++;
        else if (w->failed++ < 3)
            fprintf(stderr, "bench_ca typical: %s failed: %.1500s\n", name, c.body ? c.body : "");
    }
    w->requests += c.requests;
    conn_close(&c);
    return NULL;
}

static int directory(const char *dir_url)
{
    struct conn c;
    conn_open(&c);
    json_t *d = NULL;
    if (conn_req(&c, dir_url, NULL, 0) == 200 && c.body) d = json_loads(c.body, 0, NULL);
    snprintf(new_nonce, sizeof new_nonce, "%s", jstr(d, "newNonce"));
    snprintf(new_order, sizeof new_order, "%s", jstr(d, "newOrder"));
    snprintf(new_account, sizeof new_account, "%s", jstr(d, "newAccount"));
    json_decref(d);
    conn_close(&c);
    return new_order[0] ? 0 : -1;
}

static int make_accounts(struct acct *a, int n, const char *prefix)
{
    struct conn c;
    conn_open(&c);
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        a[i].key = dp_key_generate(DP_KEY_EC256, NULL);
        a[i].kid[0] = '\0';
        conn_do(&c, new_nonce, NULL);
        long st = -1;
        json_t *o = post(&c, &a[i], new_account, "{\"termsOfServiceAgreed\":true}", &st);
        json_decref(o);
        snprintf(a[i].kid, sizeof a[i].kid, "%s", c.location);
        char owner[64];
        snprintf(owner, sizeof owner, "*.a%d.web.test", i);
        char *uri = dp_hashuri_compute_alloc(DP_HASH_SHA256, prefix, "*",
                                             dp_key_thumbprint(a[i].key), a[i].kid, NULL);
        int persist = !strcmp(g_challenge, "dns-persist-01"); /* else nothing to publish */
        if (st != 201 || !uri || (persist && bench_publish(owner, uri, i + 1 == n))) {
            fprintf(stderr, "bench_ca typical: account %d: status %ld\n", i, st);
            rc = -1;
        }
        free(uri);
    }
    conn_close(&c);
    return rc;
}

int bench_typical(const char *dir_url, const char *root, const char *prefix, long total32,
                  int n_accounts)
{
    g_root = root;
    if (getenv("TYPICAL_CHALLENGE")) g_challenge = getenv("TYPICAL_CHALLENGE");
    if (strcmp(g_challenge, "dns-persist-01") &&
        (strcmp(g_challenge, "http-01") || !getenv("TYPICAL_HTTP01_PORT") ||
         bench_http01_start(atoi(getenv("TYPICAL_HTTP01_PORT"))))) {
        fprintf(stderr, "bench_ca typical: TYPICAL_CHALLENGE is dns-persist-01 or http-01 "
                        "(with TYPICAL_HTTP01_PORT)\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (directory(dir_url)) {
        fprintf(stderr, "bench_ca typical: no directory at %s\n", dir_url);
        return 1;
    }
    int n_acct_max = n_accounts > 1 ? n_accounts : 1;
    struct acct *accts = calloc((size_t)n_acct_max, sizeof *accts);
    if (!accts || make_accounts(accts, n_acct_max, prefix)) return 1;
    const int conc[] = {1, 8, 32};
    const long counts[] = {total32 / 20 > 20 ? total32 / 20 : 20,
                           total32 / 4 > 80 ? total32 / 4 : 80, total32};
    /* TYPICAL_QUICK=1: only one account, kept alive, concurrency 8 (A/B runs). */
    int quick = getenv("TYPICAL_QUICK") && atoi(getenv("TYPICAL_QUICK"));
    int failed = 0, round = 0;
    for (int na = 0; na < 2; na++) {
        int accts_used = na ? n_acct_max : 1;
        if (na && (n_acct_max == 1 || quick)) break;
        for (int fresh = 0; fresh < 2 - quick; fresh++)
            for (int r = quick; r < 3 - quick; r++) {
                int n = conc[r];
                struct worker w[32];
                pthread_t th[32];
                double cpu0 = bench_server_cpu(), t0 = bench_now();
                for (int i = 0; i < n; i++) {
                    w[i] = (struct worker){i, n, fresh, round, counts[r] / n,
                                           0, 0, 0,     accts, accts_used};
                    pthread_create(&th[i], NULL, work, &w[i]);
                }
                long done = 0, fails = 0, reqs = 0;
                for (int i = 0; i < n; i++) {
                    pthread_join(th[i], NULL);
                    done += w[i].done;
                    fails += w[i].failed;
                    reqs += w[i].requests;
                }
                double dt = bench_now() - t0, cpu = bench_server_cpu() - cpu0;
                round++;
                failed |= fails > 0;
                printf("%5d account%s %-10s concurrency %2d: %5ld certificates, %6.1f/s, "
                       "%4.1f requests each; server CPU %.3f ms/certificate; %ld failed\n",
                       accts_used, accts_used > 1 ? "s" : " ", fresh ? "new-conn" : "keep-alive", n,
                       done, done / dt, done ? (double)reqs / done : 0.0,
                       done ? cpu * 1e3 / done : 0.0, fails);
                fflush(stdout);
            }
    }
    for (int i = 0; i < n_acct_max; i++)
        dp_key_free(accts[i].key);
    free(accts);
    curl_global_cleanup();
    return failed;
}
