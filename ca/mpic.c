/*
 * mpic.c: the primary's corroboration calls (mpic.h). One libcurl multi
 * handle per VA thread with one easy handle per perspective, set up once:
 * the client certificate, the root to verify the perspective against, and
 * the URL never change, so each call only swaps the body and the timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "metrics.h"
#include "mpic.h"
#include "va_int.h"

#define MPIC_BODY_MAX 8192

struct call {
    CURL *h;
    char buf[MPIC_BODY_MAX];
    size_t len;
    int over;
};

struct mpic {
    struct ca *ca;
    CURLM *multi;
    struct curl_slist *headers;
    struct call calls[MPIC_MAX];
    size_t n;
};

size_t mpic_allowed(size_t n, size_t required)
{
    size_t allowed = n <= 1 ? 0 : n <= 5 ? 1 : 2;
    if (required && required <= n && n - required < allowed) allowed = n - required;
    return allowed;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
    struct call *c = arg;
    size_t l = sz * nm;
    if (c->len + l >= sizeof c->buf) {
        c->over = 1;
        return 0;
    }
    memcpy(c->buf + c->len, p, l);
    c->len += l;
    c->buf[c->len] = '\0';
    return l;
}

void mpic_free(struct mpic *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        if (m->multi) curl_multi_remove_handle(m->multi, m->calls[i].h);
        curl_easy_cleanup(m->calls[i].h);
    }
    if (m->multi) curl_multi_cleanup(m->multi);
    curl_slist_free_all(m->headers);
    free(m);
}

struct mpic *mpic_new(struct ca *ca, int *failed)
{
    const struct ca_config *c = &ca->cfg;
    *failed = 0;
    if (!c->n_perspectives) return NULL;
    struct mpic *m = calloc(1, sizeof *m);
    if (!m || !(m->multi = curl_multi_init()) ||
        !(m->headers = curl_slist_append(NULL, "Content-Type: application/json"))) {
        mpic_free(m);
        *failed = 1;
        return NULL;
    }
    m->ca = ca;
    struct curl_blob cert = {ca->mpic_cert, strlen(ca->mpic_cert), CURL_BLOB_COPY};
    struct curl_blob key = {ca->mpic_key, strlen(ca->mpic_key), CURL_BLOB_COPY};
    struct curl_blob root = {ca->root_pem, strlen(ca->root_pem), CURL_BLOB_COPY};
    for (size_t i = 0; i < c->n_perspectives; i++) {
        struct call *k = &m->calls[i];
        char url[600];
        snprintf(url, sizeof url, "%s/corroborate", c->perspectives[i]);
        if (!(k->h = curl_easy_init()) || curl_easy_setopt(k->h, CURLOPT_URL, url) ||
            curl_easy_setopt(k->h, CURLOPT_PROTOCOLS_STR, "https") ||
            curl_easy_setopt(k->h, CURLOPT_SSLCERT_BLOB, &cert) ||
            curl_easy_setopt(k->h, CURLOPT_SSLCERTTYPE, "PEM") ||
            curl_easy_setopt(k->h, CURLOPT_SSLKEY_BLOB, &key) ||
            curl_easy_setopt(k->h, CURLOPT_SSLKEYTYPE, "PEM") ||
            curl_easy_setopt(k->h, CURLOPT_CAINFO_BLOB, &root) ||
            curl_easy_setopt(k->h, CURLOPT_HTTPHEADER, m->headers) ||
            curl_easy_setopt(k->h, CURLOPT_WRITEFUNCTION, on_body) ||
            curl_easy_setopt(k->h, CURLOPT_WRITEDATA, k) ||
            curl_easy_setopt(k->h, CURLOPT_NOSIGNAL, 1L) ||
            curl_easy_setopt(k->h, CURLOPT_PRIVATE, k)) {
            m->n = i + (k->h ? 1 : 0);
            mpic_free(m);
            *failed = 1;
            return NULL;
        }
        m->n = i + 1;
    }
    return m;
}

/* What one perspective said: agreed, or why not (for the problem). */
struct said {
    int agreed, answered;
    struct va_result r;
    char why[400];
};

void mpic_corroborate(struct mpic *m, const struct va_req *q, struct va_result *r,
                      double deadline_ms)
{
    if (!m || !r->valid) return;
    const struct ca_config *c = &m->ca->cfg;
    char *body = va_req_json(q);
    if (!body) {
        r->valid = 0, r->type = "serverInternal", r->status = 500;
        snprintf(r->detail, sizeof r->detail, "out of memory (MPIC)");
        return;
    }
    long tmo = (long)c->perspective_timeout_ms;
    if (deadline_ms) {
        double left = deadline_ms - mono_ms();
        if (left < (double)tmo) tmo = left > 1 ? (long)left : 1;
    }
    struct said said[MPIC_MAX];
    memset(said, 0, sizeof said);
    for (size_t i = 0; i < m->n; i++) {
        struct call *k = &m->calls[i];
        k->len = 0, k->over = 0, k->buf[0] = '\0';
        curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(k->h, CURLOPT_TIMEOUT_MS, tmo);
        curl_easy_setopt(k->h, CURLOPT_CONNECTTIMEOUT_MS, tmo);
        curl_multi_add_handle(m->multi, k->h);
    }
    int running = 1;
    while (running) {
        if (curl_multi_perform(m->multi, &running) != CURLM_OK) break;
        if (running) curl_multi_poll(m->multi, NULL, 0, 200, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct call *k = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&k);
        if (!k) continue;
        size_t i = (size_t)(k - m->calls);
        long code = 0, conns = 0;
        curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(k->h, CURLINFO_NUM_CONNECTS, &conns);
        if (msg->data.result != CURLE_OK)
            snprintf(said[i].why, sizeof said[i].why, "no answer: %s",
                     curl_easy_strerror(msg->data.result));
        else if (code != 200 || va_result_parse(k->buf, k->len, &said[i].r, NULL, 0))
            snprintf(said[i].why, sizeof said[i].why, "HTTP %ld: %.200s", code, k->buf);
        else {
            said[i].answered = 1;
            said[i].agreed = said[i].r.valid;
        }
        metrics_mpic(conns > 0, said[i].agreed);
    }
    for (size_t i = 0; i < m->n; i++)
        curl_multi_remove_handle(m->multi, m->calls[i].h);
    free(body);
    size_t agreed = 0;
    char list[sizeof r->perspectives] = "primary";
    for (size_t i = 0; i < m->n; i++) {
        if (!said[i].agreed) {
            if (!said[i].answered && !said[i].why[0])
                snprintf(said[i].why, sizeof said[i].why, "no answer");
            continue;
        }
        agreed++;
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, ",%s", c->perspectives[i]);
    }
    size_t allowed = mpic_allowed(m->n, c->perspective_quorum);
    if (m->n - agreed <= allowed) {
        snprintf(r->perspectives, sizeof r->perspectives, "%s", list);
        return;
    }
    /* Refused: the problem names every perspective that did not agree, so
     * an operator can see which network path saw something else. */
    r->valid = 0;
    r->type = "unauthorized";
    r->status = 403;
    for (size_t i = 0; i < m->n; i++)
        if (said[i].answered && !said[i].agreed) {
            r->type = said[i].r.type;
            r->status = said[i].r.status;
            break;
        }
    int o = snprintf(r->detail, sizeof r->detail,
                     "multi-perspective corroboration failed: %zu of %zu remote perspectives did "
                     "not agree (at most %zu may):",
                     m->n - agreed, m->n, allowed);
    for (size_t i = 0; i < m->n && o > 0 && (size_t)o < sizeof r->detail; i++)
        if (!said[i].agreed)
            o += snprintf(r->detail + o, sizeof r->detail - (size_t)o, " %s: %s%s%.200s;",
                          c->perspectives[i], said[i].answered ? said[i].r.type : said[i].why,
                          said[i].answered ? ": " : "", said[i].answered ? said[i].r.detail : "");
    snprintf(r->perspectives, sizeof r->perspectives, "%s", list);
    r->fail_key[0] = '\0';
}
