/* crl.c: building and serving the CRL (crl.h). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "crl.h"
#include "log.h"

struct crl {
    pthread_mutex_t mu;
    /* The publisher thread: a revocation marks the CRL dirty and returns;
     * the thread rebuilds once for however many revocations came meanwhile
     * (a burst of N costs one rebuild, not N, and none on the request). */
    pthread_cond_t wake;
    pthread_t thread;
    int started, stop, dirty;
    /* What it depends on: */
    struct store *store;
    struct pki *pki;
    char instance[ST_ID]; /* the owner of the "crl" lease (shared database) */
    unsigned char *der;
    size_t len;
    int64_t made;    /* thisUpdate of der */
    uint64_t number; /* its CRL number */
};

/* Instances sharing a database publish one CRL: the one that rebuilds it
 * (under the "crl" lease, so numbers never repeat) stores it in the
 * database, and every instance serves the newest stored one. */
#define CRL_SHARED_MAX (4u << 20) /* base64 of the stored CRL: about 100,000 revocations */

static int rebuild(struct crl *c);

struct crl *crl_new(struct store *store, struct pki *pki, const char *instance)
{
    struct crl *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    c->store = store;
    c->pki = pki;
    snprintf(c->instance, sizeof c->instance, "%s", instance);
    return c;
}

void crl_free(struct crl *c)
{
    if (!c) return;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    /* A revocation taken but not yet published is published before the
     * CA stops (another instance may be serving the shared CRL). */
    if (c->dirty && rebuild(c) != 0)
        log_event(LOG_ERROR, "crl", "msg",
                  "stopping with a revocation unpublished; the next start publishes it", NULL);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->mu);
    free(c->der);
    free(c);
}

/* The revoked certificates, gathered for pki_crl. */
struct gather {
    struct pki_revoked *r;
    char (*serials)[48];
    size_t n, cap;
};

static int take(void *arg, const char *serial, int64_t when, int reason)
{
    struct gather *g = arg;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        struct pki_revoked *r = realloc(g->r, cap * sizeof *r);
        if (r) g->r = r;
        char(*s)[48] = realloc(g->serials, cap * sizeof *s);
        if (s) g->serials = s;
        if (!r || !s) return -1;
        g->cap = cap;
    }
    snprintf(g->serials[g->n], 48, "%s", serial ? serial : "0");
    g->r[g->n] = (struct pki_revoked){NULL, when, reason};
    g->n++;
    return 0;
}

/* Caller holds c->mu. */
static int rebuild_locked(struct crl *c);
static int rebuild(struct crl *c)
{
    if (!store_shared(c->store)) return rebuild_locked(c);
    int held = 1;
    for (int i = 0; i < 100 && held; i++) { /* another instance's rebuild takes milliseconds */
        held = store_lease_take(c->store, "crl", c->instance, 30);
        if (held) usleep(20000);
    }
    if (held) return -1;
    int rc = rebuild_locked(c);
    char *b64 = rc == 0 ? dp_b64url_encode_alloc(c->der, c->len) : NULL;
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64, c->number);
    if (rc == 0 &&
        (!b64 || strlen(b64) >= CRL_SHARED_MAX || store_meta_set(c->store, "crl_der", b64) ||
         store_meta_set(c->store, "crl_published", num)))
        rc = -1;
    free(b64);
    store_lease_drop(c->store, "crl", c->instance);
    return rc;
}

/* Shared: the newest CRL another instance published, when it is newer
 * than ours. 1 loaded, 0 ours is current, -1 none stored or unreadable. */
static int load_published(struct crl *c)
{
    char num[32];
    if (store_meta_get(c->store, "crl_published", num, sizeof num)) return -1;
    uint64_t n = strtoull(num, NULL, 10);
    if (c->der && n <= c->number) return 0;
    char *b64 = malloc(CRL_SHARED_MAX);
    unsigned char *der = b64 ? malloc(CRL_SHARED_MAX) : NULL;
    size_t len = der && store_meta_get(c->store, "crl_der", b64, CRL_SHARED_MAX) == 0
                     ? dp_b64url_decode(b64, strlen(b64), der, CRL_SHARED_MAX)
                     : (size_t)-1;
    free(b64);
    if (len == (size_t)-1) {
        free(der);
        return -1;
    }
    free(c->der);
    c->der = der;
    c->len = len;
    c->number = n;
    c->made = (int64_t)time(NULL); /* when we took it; its own thisUpdate may be older */
    return 1;
}

static int rebuild_locked(struct crl *c)
{
    struct gather g = {0};
    char num[32] = "0";
    int rc = store_certs_revoked(c->store, take, &g);
    if (rc == 0 && store_meta_get(c->store, "crl_number", num, sizeof num) < 0) rc = -1;
    uint64_t number = strtoull(num, NULL, 10) + 1;
    snprintf(num, sizeof num, "%" PRIu64, number);
    /* The number is recorded before the CRL exists: a crash may skip a
     * number, never reuse one (RFC 5280 5.2.3: monotonically increasing). */
    if (rc == 0 && store_meta_set(c->store, "crl_number", num)) rc = -1;
    for (size_t i = 0; i < g.n; i++)
        g.r[i].serial_hex = g.serials[i];
    unsigned char *der = NULL;
    size_t len = 0;
    int64_t now = (int64_t)time(NULL);
    if (rc == 0 && pki_crl(c->pki, g.r, g.n, number, now, CRL_VALIDITY, &der, &len)) rc = -1;
    if (rc == 0) {
        free(c->der);
        c->der = der;
        c->len = len;
        c->made = now;
        c->number = number;
    }
    free(g.r);
    free(g.serials);
    if (rc) log_event(LOG_ERROR, "crl", "msg", "cannot build the CRL", NULL);
    return rc;
}

int crl_refresh(struct crl *c)
{
    pthread_mutex_lock(&c->mu);
    int rc = rebuild(c);
    if (rc == 0) c->dirty = 0;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static void *publisher(void *arg)
{
    struct crl *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        if (!c->dirty) {
            pthread_cond_wait(&c->wake, &c->mu);
            continue;
        }
        /* Left dirty on failure: the next revocation or read retries, and
         * the CRL served meanwhile is the previous one (still valid for
         * CRL_VALIDITY). */
        if (rebuild(c) == 0)
            c->dirty = 0;
        else {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            t.tv_sec += 5;
            pthread_cond_timedwait(&c->wake, &c->mu, &t);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int crl_publisher_start(struct crl *c)
{
    if (pthread_create(&c->thread, NULL, publisher, c)) return -1;
    c->started = 1;
    return 0;
}

void crl_changed(struct crl *c)
{
    pthread_mutex_lock(&c->mu);
    c->dirty = 1;
    if (c->started) pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
}

void crl_handle(void *app, const struct http_req *req, struct http_resp *r)
{
    struct crl *c = app;
    int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    if (strcmp(req->path, "/crl") || !get) {
        r->status = strcmp(req->path, "/crl") ? 404 : 405;
        return;
    }
    pthread_mutex_lock(&c->mu);
    /* A revocation this instance took and has not published yet is
     * published before this answer, so no reader here sees it missing. */
    if (c->dirty && rebuild(c) == 0) c->dirty = 0;
    if (store_shared(c->store) && load_published(c) < 0) rebuild(c);
    if (!c->der || (int64_t)time(NULL) - c->made >= CRL_REFRESH) rebuild(c);
    if (c->der && (r->body = malloc(c->len))) {
        memcpy(r->body, c->der, c->len);
        r->body_len = c->len;
        r->status = 200;
        r->content_type = "application/pkix-crl";
    } else {
        r->status = 503;
        r->retry_after = 60;
    }
    pthread_mutex_unlock(&c->mu);
}
