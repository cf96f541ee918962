/* ops.h: the operators' listener (--metrics-listen): /metrics, /health,
 * /health/ready, plain HTTP, GET only, no ACME state touched but a read. */
#ifndef CA_OPS_H
#define CA_OPS_H

#include "http.h"

void ops_handle(void *ca, const struct http_req *req, struct http_resp *r);

#endif
