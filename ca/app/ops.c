/*
 * ops.c: the operators' listener. /health answers while the process
 * serves (liveness); /health/ready also reads the database, so a load
 * balancer stops sending work to an instance whose store is gone
 * (readiness); /metrics is the Prometheus exposition (metrics.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnspersist/dnspersist.h"
#include "metrics.h"
#include "ops.h"

static void text(struct http_resp *r, int status, const char *body)
{
    r->status = status;
    r->body = strdup(body);
    r->body_len = r->body ? strlen(body) : 0;
    r->content_type = "text/plain; charset=utf-8";
}

void ops_handle(void *app, const struct http_req *req, struct http_resp *r)
{
    struct ops *ops = app;
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
        return text(r, 405, "GET only\n");
    if (!strcmp(req->path, "/health")) return text(r, 200, "ok\n");
    if (!strcmp(req->path, "/health/ready")) {
        char v[640];
        if (store_meta_get(ops->store, "external_url", v, sizeof v) < 0)
            return text(r, 503, "not ready: the database does not answer\n");
        return text(r, 200, "ready\n");
    }
    if (!strcmp(req->path, "/metrics")) {
        size_t len = 0;
        struct pki_expiry pe[PKI_MAX_ISSUERS + 1];
        struct metrics_expiry me[PKI_MAX_ISSUERS + 1];
        size_t n = pki_expiries(ops->pki, pe, PKI_MAX_ISSUERS + 1);
        for (size_t i = 0; i < n; i++)
            me[i] = (struct metrics_expiry){pe[i].name, pe[i].kind, pe[i].not_after};
        struct http_server *acme = __atomic_load_n(&ops->acme, __ATOMIC_ACQUIRE);
        struct metrics_now now = {va_queue_depth(ops->va), acme ? http_open_connections(acme) : 0,
                                  me, n, DP_VERSION};
        r->body = metrics_render(&now, &len);
        if (!r->body) return text(r, 500, "out of memory\n");
        r->status = 200;
        r->body_len = len;
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
        return;
    }
    text(r, 404, "/metrics, /health or /health/ready\n");
}
