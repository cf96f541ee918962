/* http.h: the library's HTTP client (libcurl), internal. The only module that includes curl. */
#ifndef DP_HTTP_H
#define DP_HTTP_H

#include <stddef.h>

#include "dnspersist/dnspersist.h"

#define DP_HTTP_MAX_BODY (1u << 20) /* a CA answer larger than 1 MiB is refused */

struct dp_http;

struct dp_http_resp {
    long status;
    char *body; /* NUL-terminated, owned; NULL when empty */
    size_t len;
    char location[1024];
    char nonce[128];
    char content_type[128];
    int retry_after;
    int answered; /* a byte of the answer (its status line) arrived */
};

struct dp_http *dp__http_new(const char *ca_bundle, unsigned timeout_ms, struct dp_error *err);
void dp__http_free(struct dp_http *h);
/* method GET, HEAD or POST (body sent as application/jose+json). A
 * connection made that fails before any byte of an answer (reset, cut off
 * in the TLS handshake: a CA instance behind a balancer going away) is
 * tried again on a new connection, up to 3 more times over about 2 s, and
 * stops at a refused one; an ACME POST sent twice costs at most a
 * badNonce, which acme.c retries.
 * Redirects
 * are never followed. DP_OK when an HTTP answer came (any status). */
dp_code dp__http_request(struct dp_http *h, const char *method, const char *url, const char *body,
                         struct dp_http_resp *resp, struct dp_error *err);
void dp__http_resp_clear(struct dp_http_resp *r);

#endif
