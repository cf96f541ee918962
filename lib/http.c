/*
 * http.c: libcurl behind four functions. One easy handle per client, so
 * connections are kept alive across requests; every option is checked;
 * bodies are bounded; redirects are not followed (A7 forbids them for the
 * account check, and ACME never needs them).
 *
 * libcurl is linked as any library is (packagers' tools see it, a missing
 * one fails at start), and curl_global_init runs once, before the first
 * client, as libcurl asks.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"
#include "internal.h"

struct dp_http {
    CURL *c;
    char *ca_bundle;
    unsigned timeout_ms;
};

/* libcurl's own process-wide set-up: once, whichever thread asks first
 * (pthread_once orders it before any client's use). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct dp_http *dp__http_new(const char *ca_bundle, unsigned timeout_ms, struct dp_error *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "libcurl did not initialize: %s",
                 curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    struct dp_http *h = calloc(1, sizeof *h);
    if (!h || !(h->c = curl_easy_init()) || (ca_bundle && !(h->ca_bundle = strdup(ca_bundle)))) {
        dp__http_free(h);
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "cannot create an HTTP client");
        return NULL;
    }
    h->timeout_ms = timeout_ms ? timeout_ms : 30000;
    return h;
}

void dp__http_free(struct dp_http *h)
{
    if (!h) return;
    if (h->c) curl_easy_cleanup(h->c);
    free(h->ca_bundle);
    free(h);
}

void dp__http_resp_clear(struct dp_http_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct dp_http_resp *r = arg;
    size_t l = sz * n;
    if (r->len + l > DP_HTTP_MAX_BODY) return 0;
    char *nb = realloc(r->body, r->len + l + 1);
    if (!nb) return 0;
    r->body = nb;
    memcpy(r->body + r->len, p, l);
    r->len += l;
    r->body[r->len] = '\0';
    return l;
}

/* Copies a header value (trimmed) when the line names it. */
static void header(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':') return;
    const char *v = line + nl + 1;
    const char *e = line + len;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
        e--;
    snprintf(out, cap, "%.*s", (int)(e - v), v);
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct dp_http_resp *r = arg;
    r->answered = 1;
    size_t l = sz * n;
    char ra[32] = "";
    header(p, l, "Location", r->location, sizeof r->location);
    header(p, l, "Replay-Nonce", r->nonce, sizeof r->nonce);
    header(p, l, "Content-Type", r->content_type, sizeof r->content_type);
    header(p, l, "Retry-After", ra, sizeof ra);
    if (ra[0]) r->retry_after = atoi(ra);
    return l;
}

/* No byte of an answer came on a connection that was made: the server
 * went away mid-request, or a balancer's backend did (it accepts, then
 * closes). A refused connection is not retried: nothing listens there at
 * all, and a batch against a CA that is down should fail at once. */
static int unanswered(CURLcode rc, const struct dp_http_resp *r)
{
    switch (rc) {
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
        return !r->answered;
    default:
        return 0;
    }
}

/* What went wrong, in words that point at the cause: a handshake cut off
 * is a server gone (or not speaking TLS), not an untrusted certificate,
 * which libcurl reports apart (CURLE_PEER_FAILED_VERIFICATION). */
static const char *failure(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return "cannot connect (connection refused or unreachable)";
    case CURLE_SSL_CONNECT_ERROR:
        return "cannot connect: the connection closed during the TLS handshake (is the CA "
               "running, and is it HTTPS on that port?)";
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return "cannot connect: the connection closed before any answer";
    case CURLE_PEER_FAILED_VERIFICATION:
        return "the server's certificate is not trusted (certificate verification failed)";
    default:
        return curl_easy_strerror(rc);
    }
}

dp_code dp__http_request(struct dp_http *h, const char *method, const char *url, const char *body,
                         struct dp_http_resp *r, struct dp_error *err)
{
    memset(r, 0, sizeof *r);
    CURL *c = h->c;
    struct curl_slist *hdrs = NULL;
    if (body) hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
    curl_easy_reset(c);
    int post = !strcmp(method, "POST"), head = !strcmp(method, "HEAD");
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "https,http");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    SET(CURLOPT_USERAGENT, "dnspersist/" DP_VERSION);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, r);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, r);
    if (h->ca_bundle) SET(CURLOPT_CAINFO, h->ca_bundle);
    if (head) SET(CURLOPT_NOBODY, 1L);
    if (post) {
        SET(CURLOPT_POSTFIELDS, body ? body : "");
        SET(CURLOPT_HTTPHEADER, hdrs);
    }
#undef SET
    for (int attempt = 0; rc == CURLE_OK || (attempt <= 3 && unanswered(rc, r)); attempt++) {
        if (attempt) {
            /* A new connection: the balancer may send it to another
             * instance, once its retries or health check see this one gone. */
            dp__http_resp_clear(r);
            struct timespec ts = {0, 250000000L << (attempt - 1)};
            if (ts.tv_nsec >= 1000000000L) ts = (struct timespec){1, ts.tv_nsec - 1000000000L};
            nanosleep(&ts, NULL);
            curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        }
        if ((rc = curl_easy_perform(c)) == CURLE_OK) break;
    }
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        dp__http_resp_clear(r);
        return dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "%s %s: %s", method, url, failure(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    return DP_OK;
}
