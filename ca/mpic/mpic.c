/*
 * mpic.c: the primary's corroboration calls (mpic.h). One TLS context per
 * VA thread with one kept connection per perspective (mpic_http.h), set
 * up once: the client certificate, the root to verify the perspective
 * against, and the URL never change, so each call only sends the body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "mpic.h"
#include "mpic_http.h"
#include "clock.h"
#include "va_req.h"

struct mpic {
    const struct mpic_config *cfg;
    struct mh_ctx *tls;
    struct mh_conn *conns[MPIC_MAX];
    size_t n;
};

size_t mpic_allowed(size_t n, size_t required)
{
    size_t allowed = n <= 1 ? 0 : n <= 5 ? 1 : 2;
    if (required && required <= n && n - required < allowed) allowed = n - required;
    return allowed;
}

void mpic_free(struct mpic *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++)
        mh_conn_free(m->conns[i]);
    mh_ctx_free(m->tls);
    free(m);
}

struct mpic *mpic_new(const struct mpic_config *c, int *failed)
{
    *failed = 0;
    if (!c || !c->n) return NULL;
    char why[300] = "out of memory";
    struct mpic *m = calloc(1, sizeof *m);
    if (m) m->cfg = c;
    if (!m || !(m->tls = mh_ctx_new(c->cert_pem, c->key_pem, c->root_pem, why, sizeof why)))
        goto bad;
    for (; m->n < c->n && m->n < MPIC_MAX; m->n++)
        if (!(m->conns[m->n] = mh_conn_new(m->tls, c->urls[m->n], "/corroborate", why, sizeof why)))
            goto bad;
    return m;
bad:
    log_event(LOG_ERROR, "mpic", "msg", why, NULL);
    mpic_free(m);
    *failed = 1;
    return NULL;
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
    const struct mpic_config *c = m->cfg;
    /* Draft 4.2 counts every key the account ever had, which the primary
     * checked; the perspectives check the one whose record it found. */
    char *body = va_req_json(q, !strcmp(q->type, "dns-persist-01") ? r->key : -1);
    if (!body) {
        r->valid = 0, r->type = "serverInternal", r->status = 500;
        snprintf(r->detail, sizeof r->detail, "out of memory (MPIC)");
        return;
    }
    long tmo = (long)c->timeout_ms;
    if (deadline_ms) {
        double left = deadline_ms - mono_ms();
        if (left < (double)tmo) tmo = left > 1 ? (long)left : 1;
    }
    struct said said[MPIC_MAX];
    struct mh_result res[MPIC_MAX];
    memset(said, 0, sizeof said);
    mh_post_all(m->conns, m->n, body, tmo, res);
    for (size_t i = 0; i < m->n; i++) {
        if (!res[i].answered)
            snprintf(said[i].why, sizeof said[i].why, "%s", res[i].why);
        else if (res[i].status != 200 ||
                 va_result_parse(res[i].body, res[i].len, &said[i].r, NULL, 0))
            snprintf(said[i].why, sizeof said[i].why, "HTTP %ld: %.200s", res[i].status,
                     res[i].body);
        else {
            said[i].answered = 1;
            said[i].agreed = said[i].r.valid;
        }
        metrics_mpic(res[i].new_connection, said[i].agreed);
    }
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
        snprintf(list + l, sizeof list - l, ",%s", c->urls[i]);
    }
    size_t allowed = mpic_allowed(m->n, c->quorum);
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
                          c->urls[i], said[i].answered ? said[i].r.type : said[i].why,
                          said[i].answered ? ": " : "", said[i].answered ? said[i].r.detail : "");
    snprintf(r->perspectives, sizeof r->perspectives, "%s", list);
    r->fail_key[0] = '\0';
}
