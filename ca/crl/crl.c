/* crl.c: building and serving the CRLs (crl.h): one for each issuer
 * (pki.h), over the revocations of the certificates it signed, all with
 * the same CRL number and rebuilt together. */
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
    struct one {
        const char *issuer; /* pki_issuers: "" the primary, served at /crl; else /crl/NAME */
        unsigned char *der;
        size_t len;
    } one[PKI_MAX_ISSUERS];
    size_t n;
    int64_t made;    /* thisUpdate of the CRLs */
    uint64_t number; /* their CRL number */
};

/* Instances sharing a database publish one CRL: the one that rebuilds it
 * (under the "crl" lease, so numbers never repeat) stores it in the
 * database, and every instance serves the newest stored one. */
#define CRL_SHARED_MAX (4u << 20) /* base64 of the stored CRL: about 100,000 revocations */

static int rebuild(struct crl *c);

/* Where a shared database keeps an issuer's CRL (the primary's under the
 * name it always had). */
static void meta_key(char *out, size_t cap, const char *issuer)
{
    snprintf(out, cap, issuer[0] ? "crl_der:%s" : "crl_der", issuer);
}

struct crl *crl_new(struct store *store, struct pki *pki, const char *instance)
{
    struct crl *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    c->store = store;
    c->pki = pki;
    const char *names[PKI_MAX_ISSUERS];
    c->n = pki_issuers(pki, names, PKI_MAX_ISSUERS);
    for (size_t i = 0; i < c->n; i++)
        c->one[i].issuer = names[i];
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
    for (size_t i = 0; i < c->n; i++)
        free(c->one[i].der);
    free(c);
}

/* The revoked certificates, gathered for pki_crl. */
struct gather {
    struct pki_revoked *r;
    char (*serials)[48];
    char (*issuers)[PKI_ISSUER_NAME];
    size_t n, cap;
};

static int take(void *arg, const char *serial, int64_t when, int reason, const char *issuer)
{
    struct gather *g = arg;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        struct pki_revoked *r = realloc(g->r, cap * sizeof *r);
        if (r) g->r = r;
        char(*s)[48] = realloc(g->serials, cap * sizeof *s);
        if (s) g->serials = s;
        char(*is)[PKI_ISSUER_NAME] = realloc(g->issuers, cap * sizeof *is);
        if (is) g->issuers = is;
        if (!r || !s || !is) return -1;
        g->cap = cap;
    }
    snprintf(g->serials[g->n], 48, "%s", serial ? serial : "0");
    snprintf(g->issuers[g->n], PKI_ISSUER_NAME, "%s", issuer ? issuer : "");
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
    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        char *b64 = dp_b64url_encode_alloc(c->one[i].der, c->one[i].len), key[64];
        meta_key(key, sizeof key, c->one[i].issuer);
        if (!b64 || strlen(b64) >= CRL_SHARED_MAX || store_meta_set(c->store, key, b64)) rc = -1;
        free(b64);
    }
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64, c->number);
    if (rc == 0 && store_meta_set(c->store, "crl_published", num)) rc = -1;
    store_lease_drop(c->store, "crl", c->instance);
    return rc;
}

/* Shared: the newest CRLs another instance published, when they are newer
 * than ours. 1 loaded, 0 ours are current, -1 none stored or unreadable. */
static int load_published(struct crl *c)
{
    char num[32];
    if (store_meta_get(c->store, "crl_published", num, sizeof num)) return -1;
    uint64_t n = strtoull(num, NULL, 10);
    if (c->one[0].der && n <= c->number) return 0;
    struct one got[PKI_MAX_ISSUERS] = {{0}};
    char *b64 = malloc(CRL_SHARED_MAX);
    int rc = b64 ? 1 : -1;
    for (size_t i = 0; rc == 1 && i < c->n; i++) {
        char key[64];
        meta_key(key, sizeof key, c->one[i].issuer);
        unsigned char *der = malloc(CRL_SHARED_MAX);
        size_t len = der && store_meta_get(c->store, key, b64, CRL_SHARED_MAX) == 0
                         ? dp_b64url_decode(b64, strlen(b64), der, CRL_SHARED_MAX)
                         : (size_t)-1;
        if (len == (size_t)-1) {
            free(der);
            rc = -1;
        } else {
            got[i].der = der, got[i].len = len;
        }
    }
    free(b64);
    for (size_t i = 0; i < c->n; i++) {
        if (rc == 1) {
            free(c->one[i].der);
            c->one[i].der = got[i].der;
            c->one[i].len = got[i].len;
        } else {
            free(got[i].der);
        }
    }
    if (rc == 1) {
        c->number = n;
        c->made = (int64_t)time(NULL); /* when we took it; its own thisUpdate may be older */
    }
    return rc;
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
    /* Each issuer's CRL lists what it signed. All are made before any is
     * replaced. */
    struct pki_revoked *mine = g.n ? malloc(g.n * sizeof *mine) : NULL;
    if (g.n && !mine) rc = -1;
    struct one made[PKI_MAX_ISSUERS] = {{0}};
    int64_t now = (int64_t)time(NULL);
    for (size_t k = 0; rc == 0 && k < c->n; k++) {
        size_t m = 0;
        for (size_t i = 0; i < g.n; i++)
            if (!strcmp(g.issuers[i], c->one[k].issuer)) mine[m++] = g.r[i];
        if (pki_crl(c->pki, c->one[k].issuer, mine, m, number, now, CRL_VALIDITY, &made[k].der,
                    &made[k].len))
            rc = -1;
    }
    for (size_t k = 0; k < c->n; k++) {
        if (rc == 0) {
            free(c->one[k].der);
            c->one[k].der = made[k].der;
            c->one[k].len = made[k].len;
        } else {
            free(made[k].der);
        }
    }
    if (rc == 0) {
        c->made = now;
        c->number = number;
    }
    free(mine);
    free(g.issuers);
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
    /* /crl: the primary's; /crl/NAME: issuer NAME's. */
    size_t which = c->n;
    for (size_t i = 0; i < c->n; i++) {
        const char *is = c->one[i].issuer;
        if (!strncmp(req->path, "/crl", 4) &&
            (is[0] ? req->path[4] == '/' && !strcmp(req->path + 5, is) : !req->path[4]))
            which = i;
    }
    if (which == c->n || !get) {
        r->status = which == c->n ? 404 : 405;
        return;
    }
    pthread_mutex_lock(&c->mu);
    /* A revocation this instance took and has not published yet is
     * published before this answer, so no reader here sees it missing. */
    if (c->dirty && rebuild(c) == 0) c->dirty = 0;
    if (store_shared(c->store) && load_published(c) < 0) rebuild(c);
    if (!c->one[which].der || (int64_t)time(NULL) - c->made >= CRL_REFRESH) rebuild(c);
    const struct one *o = &c->one[which];
    if (o->der && (r->body = malloc(o->len))) {
        memcpy(r->body, o->der, o->len);
        r->body_len = o->len;
        r->status = 200;
        r->content_type = "application/pkix-crl";
    } else {
        r->status = 503;
        r->retry_after = 60;
    }
    pthread_mutex_unlock(&c->mu);
}
