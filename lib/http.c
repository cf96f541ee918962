/*
 * http.c: libcurl behind four functions. One easy handle per client, so
 * connections are kept alive across requests; every option is checked;
 * bodies are bounded; redirects are not followed (A7 forbids them for the
 * account check, and ACME never needs them).
 *
 * libcurl is loaded (dlopen) by the first client, not linked: it brings
 * some twenty libraries (GnuTLS, Kerberos, LDAP...), and loading them cost
 * every run of the CLI ~7 ms before main, twice what the rest of a run
 * takes to check one domain, whether or not it speaks HTTP. Each client
 * holds its own reference and table of the functions it calls, so the
 * library keeps no global state.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"
#include "internal.h"

#define DP_LIBCURL "libcurl.so.4" /* the soname: the runtime package, not -dev */

struct curl_fns {
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
};

struct dp_http {
    void *lib; /* dlopen's reference to libcurl */
    struct curl_fns f;
    CURL *c;
    char *ca_bundle;
    unsigned timeout_ms;
};

/* Loads libcurl and the functions this file calls; 0, or -1 with why. */
static int load_curl(struct dp_http *h, char *why, size_t cap)
{
    /* NODELETE: never unloaded, as if linked; libcurl and OpenSSL keep
     * process-wide state that must outlive any one client. */
    h->lib = dlopen(DP_LIBCURL, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h->lib) {
        snprintf(why, cap, "cannot load libcurl (%s): %s", DP_LIBCURL, dlerror());
        return -1;
    }
    struct {
        const char *name;
        void **slot;
    } want[] = {
        {"curl_easy_init", (void **)&h->f.easy_init},
        {"curl_easy_cleanup", (void **)&h->f.easy_cleanup},
        {"curl_easy_reset", (void **)&h->f.easy_reset},
        {"curl_easy_setopt", (void **)&h->f.easy_setopt},
        {"curl_easy_perform", (void **)&h->f.easy_perform},
        {"curl_easy_getinfo", (void **)&h->f.easy_getinfo},
        {"curl_easy_strerror", (void **)&h->f.easy_strerror},
        {"curl_slist_append", (void **)&h->f.slist_append},
        {"curl_slist_free_all", (void **)&h->f.slist_free_all},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        if (!(*want[i].slot = dlsym(h->lib, want[i].name))) {
            snprintf(why, cap, "libcurl (%s) has no %s", DP_LIBCURL, want[i].name);
            return -1;
        }
    }
    return 0;
}

struct dp_http *dp__http_new(const char *ca_bundle, unsigned timeout_ms, struct dp_error *err)
{
    struct dp_http *h = calloc(1, sizeof *h);
    char why[512] = "cannot create an HTTP client";
    dp_code code = DP_ERR_NOMEM;
    if (h && load_curl(h, why, sizeof why))
        code = DP_ERR_IO; /* libcurl missing or broken: the installation's fault */
    else if (h && (h->c = h->f.easy_init()) && (!ca_bundle || (h->ca_bundle = strdup(ca_bundle))))
        code = DP_OK;
    if (code != DP_OK) {
        dp__http_free(h);
        dp__fail(err, code, NULL, DP_NO_OFFSET, "%s", why);
        return NULL;
    }
    h->timeout_ms = timeout_ms ? timeout_ms : 30000;
    return h;
}

void dp__http_free(struct dp_http *h)
{
    if (!h) return;
    if (h->c) h->f.easy_cleanup(h->c);
    if (h->lib) dlclose(h->lib); /* a reference dropped; NODELETE keeps it loaded */
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
    size_t l = sz * n;
    char ra[32] = "";
    header(p, l, "Location", r->location, sizeof r->location);
    header(p, l, "Replay-Nonce", r->nonce, sizeof r->nonce);
    header(p, l, "Content-Type", r->content_type, sizeof r->content_type);
    header(p, l, "Retry-After", ra, sizeof ra);
    if (ra[0]) r->retry_after = atoi(ra);
    return l;
}

dp_code dp__http_request(struct dp_http *h, const char *method, const char *url, const char *body,
                         struct dp_http_resp *r, struct dp_error *err)
{
    memset(r, 0, sizeof *r);
    CURL *c = h->c;
    struct curl_slist *hdrs = NULL;
    if (body) hdrs = h->f.slist_append(hdrs, "Content-Type: application/jose+json");
    h->f.easy_reset(c);
    int post = !strcmp(method, "POST"), head = !strcmp(method, "HEAD");
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = h->f.easy_setopt(c, opt, val)
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
    if (rc == CURLE_OK) rc = h->f.easy_perform(c);
    h->f.slist_free_all(hdrs);
    if (rc != CURLE_OK) {
        dp__http_resp_clear(r);
        return dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "%s %s: %s", method, url,
                        h->f.easy_strerror(rc));
    }
    h->f.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    return DP_OK;
}
