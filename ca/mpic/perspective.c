/*
 * perspective.c: a remote perspective (MPIC). It keeps no ACME state: each
 * request carries everything its check needs (va_req.h), and the answer
 * is the check's result. It answers only a client whose certificate the
 * CA's root signed directly, for the corroboration client (CN, clientAuth):
 * a subscriber certificate, issued by the intermediate, is refused even
 * though it chains to the same root.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "perspective.h"
#include "pki.h"
#include "pki_service.h"
#include "check.h"

/* Workers (resolver, libcurl handle) lent to request threads. */
struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct checker *free[64];
    struct checker *all[64];
    size_t n_free, n_all;
};

struct persp {
    struct dp_ctx *dp;
    struct pool pool;
    char *root_pem;
};

static char *slurp(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = malloc(65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static int spill(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    chmod(path, mode);
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void reply(struct http_resp *r, int status, char *body)
{
    r->status = status;
    r->body = body;
    r->body_len = body ? strlen(body) : 0;
    r->content_type = "application/json";
}

/* The front end's second test of a client certificate (once per
 * connection): the corroboration client's, issued by the root itself. */
static int client_ok(void *app, const unsigned char *der, size_t len)
{
    struct persp *p = app;
    return pki_service_is_client(p->root_pem, der, len, PKI_SERVICE_CLIENT_CN);
}

static void handle(void *app, const struct http_req *req, struct http_resp *r)
{
    struct persp *p = app;
    if (!req->peer_verified || !req->peer_cert) {
        log_event(LOG_WARN, "corroboration", "peer", req->peer, "msg",
                  "refused: no client certificate from this CA's root", NULL);
        return reply(r, 403,
                     strdup("{\"error\":\"a client certificate from the CA's root is "
                            "required\"}"));
    }
    if (strcmp(req->method, "POST") || strcmp(req->path, "/corroborate"))
        return reply(r, 404, strdup("{\"error\":\"POST /corroborate\"}"));
    char why[200];
    struct va_req *q = malloc(sizeof *q);
    if (!q) return reply(r, 500, NULL);
    if (req->too_big || va_req_parse(req->body, req->body_len, q, why, sizeof why)) {
        free(q);
        char *b = malloc(300);
        if (b) snprintf(b, 300, "{\"error\":\"%s\"}", req->too_big ? "too big" : why);
        return reply(r, 400, b);
    }
    pthread_mutex_lock(&p->pool.mu);
    while (!p->pool.n_free)
        pthread_cond_wait(&p->pool.cv, &p->pool.mu);
    struct checker *w = p->pool.free[--p->pool.n_free];
    pthread_mutex_unlock(&p->pool.mu);
    struct outcome o = {0};
    check_run(w, q, &o);
    pthread_mutex_lock(&p->pool.mu);
    p->pool.free[p->pool.n_free++] = w;
    pthread_cond_signal(&p->pool.cv);
    pthread_mutex_unlock(&p->pool.mu);
    char name[260];
    snprintf(name, sizeof name, "%s%s", q->wildcard ? "*." : "", q->identifier);
    log_event(o.r.valid ? LOG_INFO : LOG_WARN, "corroboration", "name", name, "type", q->type,
              "result", o.r.valid ? "valid" : "invalid", "problem", o.r.valid ? NULL : o.r.type,
              "detail", o.r.valid ? NULL : o.r.detail, "record", o.r.record, NULL);
    va_req_clear(q);
    free(q);
    reply(r, 200, va_result_json(&o.r, o.r.record));
}

static volatile sig_atomic_t stop;
static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

int perspective_main(const struct perspective_config *c)
{
    struct persp p = {0};
    pthread_mutex_init(&p.pool.mu, NULL);
    pthread_cond_init(&p.pool.cv, NULL);
    char *cert = slurp(c->data, "perspective.pem"), *key = slurp(c->data, "perspective.key");
    p.root_pem = slurp(c->data, "root.pem");
    int rc = 1;
    struct http_server *s = NULL;
    struct dp_error e;
    if (!cert || !key || !p.root_pem) {
        log_console(2, LOG_ERROR,
                    "--perspective-server: %s needs root.pem, perspective.pem and "
                    "perspective.key (dnspersist-ca perspective-credentials writes them)\n",
                    c->data);
        goto out;
    }
    if (!(p.dp = dp_ctx_new(&e))) {
        log_console(2, LOG_ERROR, "%s\n", e.detail);
        goto out;
    }
    unsigned n = c->threads ? c->threads : 2;
    for (unsigned i = 0; i < n && i < 64; i++) {
        struct checker *w = calloc(1, sizeof *w);
        char why[512] = "out of memory";
        if (!w || check_init(w, p.dp, c->resolver, c->trust_anchor, 0, 1, why, sizeof why)) {
            log_console(2, LOG_ERROR, "perspective %s\n", why);
            free(w);
            goto out;
        }
        /* No gate: a perspective keeps no V7 state. */
        p.pool.all[p.pool.n_all++] = w;
        p.pool.free[p.pool.n_free++] = w;
    }
    char why[512];
    struct http_limits lim = {.idle_timeout = c->idle_timeout,
                              .request_timeout = c->request_timeout,
                              .per_ip = c->max_conns_ip,
                              .total = c->max_conns,
                              .client_ca_pem = p.root_pem,
                              .client_ok = client_ok};
    if (!(s = http_start(c->listen_addr, c->port, cert, key, n, &lim, handle, &p, why,
                         sizeof why))) {
        log_console(2, LOG_ERROR, "%s\n", why);
        goto out;
    }
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    signal(SIGPIPE, SIG_IGN);
    log_console(1, LOG_INFO, "perspective https://%s:%d/corroborate, DNS %s\n", c->listen_host,
                c->port, c->resolver[0] ? c->resolver : "recursion from the root");
    fflush(stdout);
    while (!stop)
        sigsuspend(&old);
    rc = 0;
out:
    http_stop(s);
    for (size_t i = 0; i < p.pool.n_all; i++) {
        check_clear(p.pool.all[i]);
        free(p.pool.all[i]);
    }
    dp_ctx_free(p.dp);
    p.dp = NULL;
    free(cert);
    free(key);
    free(p.root_pem);
    return rc;
}

int perspective_credentials(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"out", required_argument, 0, 'o'},
                                         {"name", required_argument, 0, 'n'},
                                         {0, 0, 0, 0}};
    const char *data = "dnspersist-ca-data", *out = NULL;
    char names_buf[1024] = "";
    int o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'd')
            data = optarg;
        else if (o == 'o')
            out = optarg;
        else if (o == 'n')
            snprintf(names_buf, sizeof names_buf, "%s", optarg);
        else {
            fprintf(stderr, "usage: dnspersist-ca perspective-credentials --data DIR --out DIR2 "
                            "--name HOST[,HOST...]\n");
            return 2;
        }
    }
    if (!out || !names_buf[0]) {
        fprintf(stderr, "dnspersist-ca: perspective-credentials: --out and --name are required\n");
        return 2;
    }
    const char *names[16];
    size_t n = 0;
    for (char *t = strtok(names_buf, ","); t && n < 16; t = strtok(NULL, ","))
        names[n++] = t;
    char *cert = NULL, *key = NULL, *root = NULL, why[300];
    int rc = 1;
    umask(077);
    /* Before the CA's first start too: its root is made here then. */
    const char *tls_names[] = {"localhost"};
    struct dp_error e = {0};
    if (mkdir(data, 0700) && errno != EEXIST) {
        fprintf(stderr, "dnspersist-ca: perspective-credentials: cannot create %s\n", data);
        return 1;
    }
    struct pki *pk = pki_open(data, tls_names, 1, &e);
    if (!pk) {
        fprintf(stderr, "dnspersist-ca: perspective-credentials: %s\n", e.detail);
        return 1;
    }
    pki_free(pk);
    root = slurp(data, "root.pem");
    if (!root)
        fprintf(stderr, "dnspersist-ca: perspective-credentials: no root.pem in %s\n", data);
    else if (pki_service_issue(data, names[0], names, n, 0, &cert, &key, why, sizeof why))
        fprintf(stderr, "dnspersist-ca: perspective-credentials: %s\n", why);
    else if (mkdir(out, 0700) && errno != EEXIST)
        fprintf(stderr, "dnspersist-ca: perspective-credentials: cannot create %s\n", out);
    else if (spill(out, "root.pem", root, 0644) || spill(out, "perspective.pem", cert, 0644) ||
             spill(out, "perspective.key", key, 0600))
        fprintf(stderr, "dnspersist-ca: perspective-credentials: cannot write into %s\n", out);
    else {
        printf("dnspersist-ca: %s/{root.pem,perspective.pem,perspective.key} for %s: copy them "
               "to the perspective's --data\n",
               out, names[0]);
        rc = 0;
    }
    free(root);
    free(cert);
    free(key);
    return rc;
}

int perspective_client_load(const char *dir, char **root_pem, char **cert_pem, char **key_pem)
{
    char *root = slurp(dir, "root.pem"), *cert = slurp(dir, "mpic-client.pem"),
         *key = slurp(dir, "mpic-client.key");
    char why[300];
    if (root && (!cert || !key)) {
        free(cert);
        free(key);
        cert = key = NULL;
        if (pki_service_issue(dir, PKI_SERVICE_CLIENT_CN, NULL, 0, 1, &cert, &key, why,
                              sizeof why) ||
            spill(dir, "mpic-client.key", key, 0600) || spill(dir, "mpic-client.pem", cert, 0644)) {
            fprintf(stderr, "dnspersist-ca: MPIC client certificate: %s\n", why);
            free(root), free(cert), free(key);
            return -1;
        }
    }
    if (!root || !cert || !key) {
        fprintf(stderr, "dnspersist-ca: MPIC: cannot read the root or client certificate in %s\n",
                dir);
        free(root), free(cert), free(key);
        return -1;
    }
    *root_pem = root, *cert_pem = cert, *key_pem = key;
    return 0;
}
