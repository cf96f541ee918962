/* ops.h: the operators' listener (--metrics-listen): /metrics, /health,
 * /health/ready, plain HTTP, GET only, no ACME state touched but a read. */
#ifndef CA_OPS_H
#define CA_OPS_H

#include "http.h"
#include "pki.h"
#include "store.h"
#include "va.h"

/* What the listener reads: the store (readiness) and the VA (its queue). */
struct ops {
    struct store *store;
    struct va *va;
    const struct pki *pki;    /* the CA certificates' expiry */
    struct http_server *acme; /* its open connections; set (atomically) once it listens */
};

/* The listener's handler; app is the struct ops. */
void ops_handle(void *app, const struct http_req *req, struct http_resp *r);

#endif
