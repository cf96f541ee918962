/*
 * acme_order.c: the RFC 8555 client's orders: new-order, the validation of
 * its authorizations (dns-persist-01, with the draft's checks of the
 * challenge), finalize and download, revocation and renewal information.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "acme_int.h"
#include "http.h"
#include "internal.h"

/* POST-as-GET of url into a JSON object; NULL with err on failure. */
static json_t *fetch(struct dp_acme *a, const char *url, struct dp_http_resp *keep,
                     struct dp_error *err)
{
    struct dp_http_resp r;
    memset(&r, 0, sizeof r);
    if (keep) memset(keep, 0, sizeof *keep); /* read and cleared by the caller even on failure */
    if (dp__acme_post(a, url, NULL, 0, &r, err) != DP_OK) {
        dp__http_resp_clear(&r);
        return NULL;
    }
    json_t *o = NULL;
    if (r.status >= 400)
        dp__acme_problem_fail(a, err, url);
    else if (!(o = dp__acme_body_json(&r)))
        dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "%s: not JSON", url);
    if (keep)
        *keep = r;
    else
        dp__http_resp_clear(&r);
    return o;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A4 and 3.2: the challenge's issuer list must have 1 to 10 names, each
 * among the directory's caaIdentities (when given), and contain every
 * directory issuer name. */
static dp_code check_challenge(struct dp_acme *a, json_t *ch, struct dp_error *err)
{
    json_t *names = json_object_get(ch, "issuerDomainNames");
    if (!names) names = json_object_get(ch, "issuer-domain-names"); /* draft-01 CAs */
    size_t n = json_array_size(names);
    if (!json_is_array(names) || n == 0 || n > DP_MAX_ISSUERS)
        return dp__fail(err, DP_ERR_MALFORMED, "A4", DP_NO_OFFSET,
                        "the challenge carries %zu issuer domain names; 1 to 10 are allowed (A4)",
                        n);
    /* Draft 3.2: every name the challenge asks for must be one the CA may
     * use, that is among its caaIdentities when the directory lists them:
     * a record for another issuer would authorize someone else. */
    for (size_t i = 0; i < n && a->n_caa; i++) {
        const char *s = json_string_value(json_array_get(names, i));
        int ours = 0;
        for (size_t k = 0; s && k < a->n_caa && !ours; k++)
            ours = !strcmp(s, a->caa[k]);
        if (!ours)
            return dp__fail(err, DP_ERR_MALFORMED, "A4", DP_NO_OFFSET,
                            "the challenge's issuer name %.253s is not among the CA's "
                            "caaIdentities: refusing to publish a record for it (draft 3.2)",
                            s ? s : "(not a string)");
    }
    /* The same for the names the user said to expect (the only check
     * there is with a CA whose directory lists no caaIdentities). */
    for (size_t i = 0; i < n && a->n_expect; i++) {
        const char *s = json_string_value(json_array_get(names, i));
        int ours = 0;
        for (size_t k = 0; s && k < a->n_expect && !ours; k++)
            ours = !strcmp(s, a->expect[k]);
        if (!ours)
            return dp__fail(err, DP_ERR_MALFORMED, "A4", DP_NO_OFFSET,
                            "the challenge's issuer name %.253s is not among the --issuer names "
                            "given: refusing to publish a record for it (draft 3.2)",
                            s ? s : "(not a string)");
    }
    for (size_t k = 0; k < a->n_issuers; k++) {
        int found = 0;
        for (size_t i = 0; i < n; i++) {
            const char *s = json_string_value(json_array_get(names, i));
            found |= s && !strcmp(s, a->issuers[k]);
        }
        if (!found)
            return dp__fail(err, DP_ERR_MALFORMED, "A4", DP_NO_OFFSET,
                            "the challenge lacks the directory's issuer name %s (A4)",
                            a->issuers[k]);
    }
    return DP_OK;
}

/* Polls url until its status leaves pending/processing; returns the object. */
static json_t *poll_until(struct dp_acme *a, const char *url, double deadline, struct dp_error *err)
{
    unsigned wait = 5; /* validations on a near CA finish in milliseconds */
    for (;;) {
        struct dp_http_resp r;
        json_t *o = fetch(a, url, &r, err);
        int ra = r.retry_after;
        dp__http_resp_clear(&r);
        if (!o) return NULL;
        const char *st = json_string_value(json_object_get(o, "status"));
        if (!st || (strcmp(st, "pending") && strcmp(st, "processing"))) return o;
        if (dp__mono_ms() > deadline) { /* st lives in o: report before letting go */
            dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "%s still %s after %u ms", url, st,
                     a->poll_ms);
            json_decref(o);
            return NULL;
        }
        json_decref(o);
        sleep_ms(ra > 0 && ra < 10 ? (unsigned)ra * 1000 : wait);
        if (wait < 1000) wait *= 2;
    }
}

struct dp_acme_order {
    char url[1024];
    char finalize[1024];
    char **names;
    size_t n;
    json_t *obj;
};

void dp_acme_order_free(struct dp_acme_order *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->n; i++)
        free(o->names[i]);
    free(o->names);
    json_decref(o->obj);
    free(o);
}

const char *dp_acme_order_status(const struct dp_acme_order *o)
{
    return o ? json_string_value(json_object_get(o->obj, "status")) ?: "" : "";
}

const char *dp_acme_order_url(const struct dp_acme_order *o)
{
    return o ? o->url : NULL;
}

dp_code dp_acme_order_new(struct dp_acme *a, const char *const *names, size_t n,
                          struct dp_acme_order **out, struct dp_error *err)
{
    dp_error_clear(err);
    memset(&a->problem, 0, sizeof a->problem);
    if (!names || !n || !out)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    if (!a->account[0])
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET,
                        "no account: call dp_acme_account first");
    *out = NULL;
    struct dp_acme_order *o = calloc(1, sizeof *o);
    if (!o || !(o->names = calloc(n, sizeof *o->names))) {
        free(o);
        return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    }
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(ids, json_pack("{s:s,s:s}", "type", "dns", "value", names[i]));
        o->names[o->n++] = strdup(names[i]);
    }
    json_t *p = json_pack("{s:o}", "identifiers", ids);
    if (p && a->profile[0]) json_object_set_new(p, "profile", json_string(a->profile));
    char *ps = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    struct dp_http_resp r;
    dp_code rc = ps ? dp__acme_post(a, a->new_order, ps, 0, &r, err) : DP_ERR_NOMEM;
    free(ps);
    if (rc != DP_OK) goto fail;
    if (r.status >= 400) {
        dp__http_resp_clear(&r);
        rc = dp__acme_problem_fail(a, err, "newOrder");
        goto fail;
    }
    snprintf(o->url, sizeof o->url, "%s", r.location);
    o->obj = dp__acme_body_json(&r);
    dp__http_resp_clear(&r);
    dp__acme_copy_url(o->obj, "finalize", o->finalize, sizeof o->finalize);
    if (!json_is_array(json_object_get(o->obj, "authorizations")) || !o->finalize[0] ||
        !o->url[0]) {
        rc = dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET,
                      "newOrder answered without authorizations, finalize or Location");
        goto fail;
    }
    *out = o;
    return DP_OK;
fail:
    dp_acme_order_free(o);
    return rc;
}

dp_code dp_acme_order_validate(struct dp_acme *a, struct dp_acme_order *o, struct dp_error *err)
{
    dp_error_clear(err);
    double deadline = dp__mono_ms() + a->poll_ms;
    json_t *azs = json_object_get(o->obj, "authorizations"), *authz = NULL, *az;
    struct dp_http_resp r;
    dp_code rc = DP_OK;
    size_t i;
    /* RFC 8555 7.1.6: a ready order has every authorization valid already
     * (reused, or Just-in-Time validated: draft 4.4). Nothing to answer. */
    const char *ost = dp_acme_order_status(o);
    if (!strcmp(ost, "ready") || !strcmp(ost, "processing") || !strcmp(ost, "valid")) return DP_OK;
    unsigned char *was_valid = calloc(json_array_size(azs) + 1, 1);
    if (!was_valid) return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    /* Answer every pending authorization first, then wait for them together. */
    json_array_foreach(azs, i, az)
    {
        const char *u = json_string_value(az);
        if (!u || !(authz = fetch(a, u, NULL, err))) {
            rc = err ? err->code : DP_ERR_IO;
            goto out;
        }
        if (!strcmp(json_string_value(json_object_get(authz, "status")) ?: "", "valid")) {
            json_decref(authz);
            authz = NULL;
            was_valid[i] = 1;
            continue; /* already valid: nothing to answer or wait for */
        }
        json_t *chs = json_object_get(authz, "challenges"), *ch, *mine = NULL;
        size_t k;
        json_array_foreach(chs, k, ch)
        {
            if (!strcmp(json_string_value(json_object_get(ch, "type")) ?: "", "dns-persist-01"))
                mine = ch;
        }
        if (!mine) {
            rc = dp__fail(
                err, DP_ERR_UNSUPPORTED, NULL, DP_NO_OFFSET,
                "the CA offers no dns-persist-01 challenge for %s",
                json_string_value(json_object_get(json_object_get(authz, "identifier"), "value"))
                    ?: "?");
            goto out;
        }
        if ((rc = check_challenge(a, mine, err)) != DP_OK) goto out;
        if (!strcmp(json_string_value(json_object_get(mine, "status")) ?: "", "pending")) {
            const char *cu = json_string_value(json_object_get(mine, "url"));
            if (!cu) {
                rc = dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "challenge without url");
                goto out;
            }
            if ((rc = dp__acme_post(a, cu, "{}", 0, &r, err)) != DP_OK) goto out;
            int bad = r.status >= 400;
            dp__http_resp_clear(&r);
            if (bad) {
                rc = dp__acme_problem_fail(a, err, "challenge");
                goto out;
            }
        }
        json_decref(authz);
        authz = NULL;
    }
    json_array_foreach(azs, i, az)
    {
        if (was_valid[i]) continue;
        if (!(authz = poll_until(a, json_string_value(az), deadline, err))) {
            rc = err ? err->code : DP_ERR_IO;
            goto out;
        }
        const char *st = json_string_value(json_object_get(authz, "status"));
        if (strcmp(st ?: "", "valid")) {
            /* The failing challenge's problem is the CA's reason. */
            json_t *chs = json_object_get(authz, "challenges"), *ch;
            size_t k;
            memset(&a->problem, 0, sizeof a->problem);
            json_array_foreach(chs, k, ch)
            {
                json_t *e = json_object_get(ch, "error");
                if (e) {
                    snprintf(a->problem.type, sizeof a->problem.type, "%s",
                             json_string_value(json_object_get(e, "type")) ?: "");
                    snprintf(a->problem.detail, sizeof a->problem.detail, "%s",
                             json_string_value(json_object_get(e, "detail")) ?: "");
                    a->problem.status = (int)json_integer_value(json_object_get(e, "status"));
                }
            }
            rc = dp__acme_problem_fail(a, err, "validation failed");
            goto out;
        }
        json_decref(authz);
        authz = NULL;
    }
out:
    json_decref(authz);
    free(was_valid);
    return rc;
}

char *dp_acme_order_authz(struct dp_acme *a, const struct dp_acme_order *o, size_t i,
                          struct dp_error *err)
{
    dp_error_clear(err);
    const char *u = json_string_value(json_array_get(json_object_get(o->obj, "authorizations"), i));
    if (!u) {
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "the order has no authorization %zu", i);
        return NULL;
    }
    json_t *authz = fetch(a, u, NULL, err);
    char *s = authz ? json_dumps(authz, JSON_COMPACT) : NULL;
    json_decref(authz);
    return s;
}

dp_code dp_acme_order_deactivate(struct dp_acme *a, struct dp_acme_order *o, struct dp_error *err)
{
    dp_error_clear(err);
    json_t *azs = json_object_get(o->obj, "authorizations"), *az;
    size_t i;
    dp_code rc = DP_OK;
    json_array_foreach(azs, i, az)
    {
        const char *u = json_string_value(az);
        struct dp_http_resp r;
        dp_code c = u ? dp__acme_post(a, u, "{\"status\":\"deactivated\"}", 0, &r, err) : DP_ERR_IO;
        if (c == DP_OK) {
            /* One already invalid or expired cannot be deactivated: nothing
             * is left to do for it, so only a transport failure counts. */
            dp__http_resp_clear(&r);
        } else {
            rc = c;
        }
    }
    return rc;
}

dp_code dp_acme_order_finalize(struct dp_acme *a, struct dp_acme_order *o,
                               const struct dp_key *cert_key, char **chain_pem,
                               struct dp_error *err)
{
    dp_error_clear(err);
    if (!cert_key || !chain_pem)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    *chain_pem = NULL;
    double deadline = dp__mono_ms() + a->poll_ms;
    unsigned char *csr = NULL;
    char *csr64 = NULL, *fin = NULL, cert_url[1024] = "";
    size_t csr_len;
    struct dp_http_resp r;
    json_t *order = NULL;
    dp_code rc = dp_key_csr(cert_key, (const char *const *)o->names, o->n, &csr, &csr_len, err);
    if (rc != DP_OK) goto out;
    csr64 = dp_b64url_encode_alloc(csr, csr_len);
    json_t *fp = json_pack("{s:s}", "csr", csr64 ? csr64 : "");
    fin = json_dumps(fp, JSON_COMPACT);
    json_decref(fp);
    for (unsigned back = 500;; back = back < 4000 ? back * 2 : back) {
        if (!fin || (rc = dp__acme_post(a, o->finalize, fin, 0, &r, err)) != DP_OK) {
            if (!fin) rc = DP_ERR_NOMEM;
            goto out;
        }
        if (r.status < 400) break;
        dp__http_resp_clear(&r);
        /* orderNotReady may mean our finalize is being (or was) done
         * elsewhere: a CA instance that died holding the order's
         * finalization, or one that finished it before its answer was
         * lost. The order says which: valid (take its certificate),
         * processing (wait for it), or still ready (finalize again once
         * the other's claim lapses, until the deadline). */
        if (!strstr(a->problem.type, ":orderNotReady")) {
            rc = dp__acme_problem_fail(a, err, "finalize");
            goto out;
        }
        struct dp_error ignored;
        struct dp_http_resp rr;
        json_t *now = fetch(a, o->url, &rr, &ignored);
        dp__http_resp_clear(&rr);
        const char *st = json_string_value(json_object_get(now, "status"));
        int wait_more = st && (!strcmp(st, "ready") || !strcmp(st, "processing"));
        if (st && strcmp(st, "ready")) { /* valid, processing, or an end: go on from it */
            order = now;
            break;
        }
        json_decref(now);
        if (!wait_more || dp__mono_ms() + back > deadline) {
            rc = dp__acme_problem_fail(a, err, "finalize");
            goto out;
        }
        sleep_ms(back);
    }
    /* The finalize answer is the order: poll only while it is not done. */
    if (!order) {
        order = dp__acme_body_json(&r);
        dp__http_resp_clear(&r);
    }
    const char *fst = json_string_value(json_object_get(order, "status"));
    if (!fst || !strcmp(fst, "processing") || !strcmp(fst, "ready")) {
        json_decref(order);
        order = poll_until(a, o->url, deadline, err);
    }
    if (!order) {
        rc = err ? err->code : DP_ERR_IO;
        goto out;
    }
    dp__acme_copy_url(order, "certificate", cert_url, sizeof cert_url);
    if (strcmp(json_string_value(json_object_get(order, "status")) ?: "", "valid") ||
        !cert_url[0]) {
        rc =
            dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "the order ended %s without a certificate",
                     json_string_value(json_object_get(order, "status")) ?: "?");
        goto out;
    }
    if ((rc = dp__acme_post(a, cert_url, NULL, 0, &r, err)) != DP_OK) goto out;
    if (r.status != 200 || !r.body || !strstr(r.body, "-----BEGIN CERTIFICATE-----")) {
        if (r.status >= 400)
            rc = dp__acme_problem_fail(a, err, "certificate download");
        else
            rc =
                dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET, "the certificate download is not PEM");
        dp__http_resp_clear(&r);
        goto out;
    }
    *chain_pem = r.body;
    r.body = NULL;
    dp__http_resp_clear(&r);
out:
    json_decref(order);
    free(csr);
    free(csr64);
    free(fin);
    return rc;
}

dp_code dp_acme_issue(struct dp_acme *a, const char *const *names, size_t n,
                      const struct dp_key *cert_key, char **chain_pem, struct dp_error *err)
{
    struct dp_acme_order *o = NULL;
    if (chain_pem) *chain_pem = NULL;
    dp_code rc = dp_acme_order_new(a, names, n, &o, err);
    if (rc == DP_OK) rc = dp_acme_order_validate(a, o, err);
    if (rc == DP_OK) rc = dp_acme_order_finalize(a, o, cert_key, chain_pem, err);
    dp_acme_order_free(o);
    return rc;
}

dp_code dp_acme_revoke(struct dp_acme *a, const char *cert_pem, int reason,
                       const struct dp_key *cert_key, struct dp_error *err)
{
    dp_error_clear(err);
    if (!cert_pem || !a->revoke[0])
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET,
                        "no certificate or no revokeCert URL");
    if (!cert_key && !a->account[0])
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "no account");
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    unsigned char *der = NULL;
    int dl = x ? i2d_X509(x, &der) : -1;
    X509_free(x);
    if (dl <= 0) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "not a PEM certificate");
    char *c64 = dp_b64url_encode_alloc(der, (size_t)dl);
    OPENSSL_free(der);
    json_t *p = json_pack("{s:s,s:i}", "certificate", c64 ? c64 : "", "reason", reason);
    char *ps = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    free(c64);
    if (!ps) return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    const struct dp_key *saved = a->key;
    if (cert_key) a->key = cert_key; /* signed by the certificate key, with its jwk */
    struct dp_http_resp r;
    dp_code rc = dp__acme_post(a, a->revoke, ps, cert_key != NULL, &r, err);
    a->key = saved;
    free(ps);
    if (rc != DP_OK) return rc;
    if (r.status >= 400) rc = dp__acme_problem_fail(a, err, "revokeCert");
    dp__http_resp_clear(&r);
    return rc;
}

static int64_t parse_rfc3339(const char *s)
{
    struct tm tm = {0};
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
    return (int64_t)timegm(&tm);
}

dp_code dp_acme_renewal_info(struct dp_acme *a, const char *cert_pem, int64_t *start, int64_t *end,
                             struct dp_error *err)
{
    dp_error_clear(err);
    if (!a->ari[0])
        return dp__fail(err, DP_ERR_UNSUPPORTED, NULL, DP_NO_OFFSET,
                        "the directory offers no renewalInfo");
    BIO *b = cert_pem ? BIO_new_mem_buf(cert_pem, -1) : NULL;
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    const ASN1_OCTET_STRING *kid = x ? X509_get0_authority_key_id(x) : NULL;
    const ASN1_INTEGER *ser = x ? X509_get0_serialNumber(x) : NULL;
    char *k64 =
        kid ? dp_b64url_encode_alloc(ASN1_STRING_get0_data(kid), (size_t)ASN1_STRING_length(kid))
            : NULL;
    /* The serial as DER INTEGER content: a leading zero keeps it positive. */
    unsigned char sb[64];
    size_t sl = 0;
    if (ser) {
        const unsigned char *d = ASN1_STRING_get0_data(ser);
        int l = ASN1_STRING_length(ser);
        if (l > 0 && l < 60) {
            if (d[0] & 0x80) sb[sl++] = 0;
            memcpy(sb + sl, d, (size_t)l);
            sl += (size_t)l;
        }
    }
    char *s64 = sl ? dp_b64url_encode_alloc(sb, sl) : NULL;
    X509_free(x);
    dp_code rc;
    if (!k64 || !s64) {
        rc = dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET,
                      "not a PEM certificate with an authority key identifier");
    } else {
        char u[2048];
        snprintf(u, sizeof u, "%s/%s.%s", a->ari, k64, s64);
        struct dp_http_resp r;
        rc = dp__http_request(a->http, "GET", u, NULL, &r, err);
        if (rc == DP_OK) {
            json_t *o = r.status == 200 ? dp__acme_body_json(&r) : NULL;
            json_t *w = json_object_get(o, "suggestedWindow");
            *start = parse_rfc3339(json_string_value(json_object_get(w, "start")));
            *end = parse_rfc3339(json_string_value(json_object_get(w, "end")));
            if (r.status != 200) {
                dp__acme_take_problem(a, &r);
                rc = dp__acme_problem_fail(a, err, "renewalInfo");
            } else if (*start < 0 || *end < *start) {
                rc = dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET,
                              "renewalInfo answered without a usable suggestedWindow");
            }
            json_decref(o);
            dp__http_resp_clear(&r);
        }
    }
    free(k64);
    free(s64);
    return rc;
}
