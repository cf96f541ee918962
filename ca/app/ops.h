/* ops.h: the operators' listener (--metrics-listen): /metrics, /health,
 * /health/ready, plain HTTP, GET only, no ACME state touched but a read. */
#ifndef CA_OPS_H
#define CA_OPS_H

#include "http.h"
#include "store.h"
#include "va.h"

/* What the listener reads: the store (readiness) and the VA (its queue). */
struct ops {
    struct store *store;
    struct va *va;
};

/* The listener's handler; app is the struct ops. */
void ops_handle(void *app, const struct http_req *req, struct http_resp *r);

#endif
