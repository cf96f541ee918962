/*
 * va_req.c: validation requests (va_req.h). The wire form is parsed as
 * strictly as any client input: a perspective trusts its caller's
 * certificate, not the shape of what it sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "va_req.h"

void va_req_clear(struct va_req *q)
{
    free(q->thumbs);
    q->thumbs = NULL;
    q->n_thumbs = 0;
}

static json_t *strings(const char *base, size_t stride, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(base + i * stride));
    return arr;
}

char *va_req_json(const struct va_req *q, long key)
{
    int one = key >= 0 && (size_t)key < q->n_thumbs;
    const char *thumbs = !q->thumbs ? "" : one ? q->thumbs[key] : q->thumbs[0];
    size_t n_thumbs = one ? 1 : q->n_thumbs;
    json_t *o =
        json_pack("{s:s,s:s,s:b,s:s,s:b,s:o,s:o,s:s,s:o,s:b,s:s,s:s,s:i,s:o,s:s}", "type", q->type,
                  "identifier", q->identifier, "wildcard", q->wildcard, "accountUrl",
                  q->account_url, "accountValid", q->account_valid, "issuers",
                  strings(q->issuers[0], sizeof q->issuers[0], q->n_issuers), "thumbprints",
                  strings(thumbs, sizeof q->thumbs[0], n_thumbs), "hashPrefix", q->hash_prefix,
                  "previousPrefixes", strings(q->previous[0], sizeof q->previous[0], q->n_previous),
                  "compat", q->compat, "token", q->token, "keyAuthorization", q->key_auth,
                  "http01Port", q->http01_port, "caaIdentities",
                  strings(q->caa_ids[0], sizeof q->caa_ids[0], q->n_caa), "method", q->method);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* A string member into out: present, a string, shorter than cap. */
static int get_str(json_t *o, const char *k, char *out, size_t cap)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (!v || strlen(v) >= cap) return -1;
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static int get_strs(json_t *o, const char *k, char *base, size_t stride, size_t max, size_t *n)
{
    json_t *arr = json_object_get(o, k);
    if (!json_is_array(arr) || json_array_size(arr) > max) return -1;
    *n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || strlen(s) >= stride) return -1;
        memcpy(base + (*n)++ * stride, s, strlen(s) + 1);
    }
    return 0;
}

int va_req_parse(const char *json, size_t len, struct va_req *q, char *why, size_t cap)
{
    memset(q, 0, sizeof *q);
    json_error_t je;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    const char *bad = NULL;
    if (!json_is_object(o))
        bad = "not a JSON object";
    else if (get_str(o, "type", q->type, sizeof q->type) ||
             (strcmp(q->type, "dns-persist-01") && strcmp(q->type, "dns-01") &&
              strcmp(q->type, "http-01") && strcmp(q->type, "caa")))
        bad = "type";
    else if (get_str(o, "identifier", q->identifier, sizeof q->identifier) ||
             dp_domain_normalize(q->identifier, (char[DP_DOMAIN_MAX + 3]){0}, 0, NULL) != DP_OK)
        bad = "identifier";
    else if (get_str(o, "accountUrl", q->account_url, sizeof q->account_url))
        bad = "accountUrl";
    else if (get_strs(o, "issuers", q->issuers[0], sizeof q->issuers[0], DP_MAX_ISSUERS,
                      &q->n_issuers))
        bad = "issuers";
    else if (!json_is_array(json_object_get(o, "thumbprints")) ||
             json_array_size(json_object_get(o, "thumbprints")) > VA_REQ_MAX_KEYS ||
             !(q->thumbs = calloc(json_array_size(json_object_get(o, "thumbprints")) + 1,
                                  sizeof *q->thumbs)) ||
             get_strs(o, "thumbprints", q->thumbs[0], sizeof q->thumbs[0], VA_REQ_MAX_KEYS,
                      &q->n_thumbs))
        bad = "thumbprints";
    else if (get_str(o, "hashPrefix", q->hash_prefix, sizeof q->hash_prefix))
        bad = "hashPrefix";
    else if (get_strs(o, "previousPrefixes", q->previous[0], sizeof q->previous[0], DP_MAX_ISSUERS,
                      &q->n_previous))
        bad = "previousPrefixes";
    else if (get_str(o, "token", q->token, sizeof q->token))
        bad = "token";
    else if (get_str(o, "keyAuthorization", q->key_auth, sizeof q->key_auth))
        bad = "keyAuthorization";
    else if (get_strs(o, "caaIdentities", q->caa_ids[0], sizeof q->caa_ids[0], DP_MAX_ISSUERS,
                      &q->n_caa) ||
             !q->n_caa)
        bad = "caaIdentities";
    else if (get_str(o, "method", q->method, sizeof q->method))
        bad = "method";
    else if (!strcmp(q->type, "dns-persist-01") && (!q->n_issuers || !q->n_thumbs))
        bad = "issuers and thumbprints are required for dns-persist-01";
    else if (strchr(q->token, '/') || strchr(q->token, '.'))
        bad = "token";
    if (!bad) {
        q->wildcard = json_is_true(json_object_get(o, "wildcard"));
        q->account_valid = json_is_true(json_object_get(o, "accountValid"));
        q->compat = json_is_true(json_object_get(o, "compat"));
        json_int_t p = json_integer_value(json_object_get(o, "http01Port"));
        if (p < 0 || p > 65535)
            bad = "http01Port";
        else
            q->http01_port = (int)p;
    }
    json_decref(o);
    if (bad) {
        snprintf(why, cap, "bad check request: %s", bad);
        va_req_clear(q);
    }
    return bad ? -1 : 0;
}

char *va_result_json(const struct va_result *r, const char *record)
{
    json_t *o = r->valid ? json_pack("{s:b,s:I}", "valid", 1, "clamp", (json_int_t)r->clamp)
                         : json_pack("{s:b,s:s,s:i,s:s}", "valid", 0, "type", r->type, "status",
                                     r->status, "detail", r->detail);
    if (o && record && *record) json_object_set_new(o, "record", json_string(record));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* Problem types a perspective may report, as static strings (va_result
 * keeps a pointer); anything else is reported as serverInternal. */
static const char *const known[] = {
    "unauthorized",   "malformed",         "dns", "caa", "connection", "rateLimited",
    "serverInternal", "incorrectResponse", "tls"};

int va_result_parse(const char *json, size_t len, struct va_result *r, char *record, size_t rcap)
{
    memset(r, 0, sizeof *r);
    if (record && rcap) record[0] = '\0';
    json_error_t je;
    json_t *o = json_loadb(json, len, 0, &je);
    if (!json_is_object(o) || !json_is_boolean(json_object_get(o, "valid"))) {
        json_decref(o);
        return -1;
    }
    r->valid = json_is_true(json_object_get(o, "valid"));
    r->clamp = (int64_t)json_integer_value(json_object_get(o, "clamp"));
    const char *t = json_string_value(json_object_get(o, "type"));
    r->type = "serverInternal";
    for (size_t i = 0; t && i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(t, known[i])) r->type = known[i];
    r->status = (int)json_integer_value(json_object_get(o, "status"));
    if (r->status < 400 || r->status > 599) r->status = 400;
    const char *d = json_string_value(json_object_get(o, "detail"));
    snprintf(r->detail, sizeof r->detail, "%.300s", d ? d : "");
    const char *rec = json_string_value(json_object_get(o, "record"));
    if (rec && record) snprintf(record, rcap, "%.255s", rec);
    json_decref(o);
    return 0;
}
