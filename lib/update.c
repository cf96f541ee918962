/*
 * update.c: RFC 2136 with TSIG through libldns (the only file that
 * includes it). The zone comes from the server itself (the SOA in the answer
 * or authority section of a SOA query for the name), so callers name only the
 * record. After the update the server is asked directly, over TCP, until it
 * answers with (or without) the record: what "published" means here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "internal.h"

/* "ALG:NAME:SECRET" (knsupdate -y, nsupdate -y with the algorithm first). */
static int tsig_colon(const char *s, struct dp_tsig *out)
{
    char a[64], n[256], k[256];
    if (sscanf(s, " %63[A-Za-z0-9-]:%255[^:\n]:%255[A-Za-z0-9+/=]", a, n, k) != 3) return -1;
    snprintf(out->algorithm, sizeof out->algorithm, "%s", a);
    snprintf(out->name, sizeof out->name, "%s", n);
    snprintf(out->secret, sizeof out->secret, "%s", k);
    return 0;
}

/* Knot's `keymgr -t NAME` output:
 *   key:
 *     - id: NAME
 *       algorithm: hmac-sha256
 *       secret: B64 */
static int tsig_knot(const char *buf, struct dp_tsig *out)
{
    const char *id = strstr(buf, "id:"), *alg = strstr(buf, "algorithm:"),
               *sec = strstr(buf, "secret:");
    if (!id || !alg || !sec) return -1;
    if (sscanf(id, "id: %255s", out->name) != 1 ||
        sscanf(alg, "algorithm: %63[A-Za-z0-9-]", out->algorithm) != 1 ||
        sscanf(sec, "secret: %255[A-Za-z0-9+/=]", out->secret) != 1)
        return -1;
    return 0;
}

dp_code dp_update_tsig_load(const char *path, struct dp_tsig *out, struct dp_error *err)
{
    dp_error_clear(err);
    if (!path || !out) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        /* Not a file: the key itself, ALG:NAME:SECRET. */
        if (strchr(path, ':') && !tsig_colon(path, out)) return DP_OK;
        return dp__fail(err, DP_ERR_IO, NULL, DP_NO_OFFSET,
                        "cannot read TSIG key file %s (nor is it ALG:NAME:SECRET)", path);
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (!strstr(buf, "{")) { /* not BIND's: Knot's YAML, or one ALG:NAME:SECRET line */
        if (!tsig_knot(buf, out) || !tsig_colon(buf, out)) return DP_OK;
        memset(out, 0, sizeof *out);
    }
    const char *k = strstr(buf, "key");
    const char *q1 = k ? strchr(k, '"') : NULL, *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
    const char *alg = strstr(buf, "algorithm"), *sec = strstr(buf, "secret");
    if (!q2 || !alg || !sec || (size_t)(q2 - q1 - 1) >= sizeof out->name)
        return dp__fail(err, DP_ERR_MALFORMED, NULL, DP_NO_OFFSET,
                        "%s is not a TSIG key: BIND's key \"NAME\" { algorithm ALG; secret "
                        "\"B64\"; };, Knot's keymgr -t output, or ALG:NAME:SECRET",
                        path);
    snprintf(out->name, sizeof out->name, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
    if (sscanf(alg, "algorithm %63[A-Za-z0-9-]", out->algorithm) != 1)
        return dp__fail(err, DP_ERR_MALFORMED, NULL, DP_NO_OFFSET, "%s: no algorithm", path);
    const char *s1 = strchr(sec, '"'), *s2 = s1 ? strchr(s1 + 1, '"') : NULL;
    if (!s2 || (size_t)(s2 - s1 - 1) >= sizeof out->secret || s2 == s1 + 1)
        return dp__fail(err, DP_ERR_MALFORMED, NULL, DP_NO_OFFSET, "%s: no secret", path);
    snprintf(out->secret, sizeof out->secret, "%.*s", (int)(s2 - s1 - 1), s1 + 1);
    return DP_OK;
}

/* A resolver that talks to exactly one server, over TCP (updates and checks). */
static ldns_resolver *server_resolver(const char *server, struct dp_error *err)
{
    char host[128];
    int port = 53;
    const char *at = strchr(server, '@');
    snprintf(host, sizeof host, "%.*s", (int)(at ? (size_t)(at - server) : strlen(server)), server);
    if (at) port = atoi(at + 1);
    ldns_rdf *addr =
        ldns_rdf_new_frm_str(strchr(host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host);
    if (!addr || port <= 0 || port > 65535) {
        ldns_rdf_deep_free(addr);
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "server '%s' is not ADDR[@PORT]", server);
        return NULL;
    }
    ldns_resolver *r = ldns_resolver_new();
    if (!r) {
        ldns_rdf_deep_free(addr);
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    ldns_resolver_push_nameserver(r, addr);
    ldns_rdf_deep_free(addr);
    ldns_resolver_set_port(r, (uint16_t)port);
    ldns_resolver_set_usevc(r, true);
    ldns_resolver_set_recursive(r, false);
    ldns_resolver_set_retry(r, 1);
    struct timeval tv = {5, 0};
    ldns_resolver_set_timeout(r, tv);
    return r;
}

/* The zone holding name, from the server's SOA answer or authority. */
static ldns_rdf *find_zone(ldns_resolver *r, ldns_rdf *name)
{
    ldns_pkt *p = ldns_resolver_query(r, name, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
    ldns_rdf *zone = NULL;
    if (p) {
        ldns_rr_list *l = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_SOA, LDNS_SECTION_ANSWER);
        if (!l) l = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_SOA, LDNS_SECTION_AUTHORITY);
        if (l && ldns_rr_list_rr_count(l))
            zone = ldns_rdf_clone(ldns_rr_owner(ldns_rr_list_rr(l, 0)));
        ldns_rr_list_deep_free(l);
        ldns_pkt_free(p);
    }
    return zone;
}

/* Calls fn with each TXT value (strings joined) the server holds at name;
 * stops when fn returns non-zero and returns that, or -1 when no answer came. */
static int each_value(ldns_resolver *r, ldns_rdf *name, int (*fn)(void *, const char *), void *arg)
{
    ldns_pkt *p = ldns_resolver_query(r, name, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0);
    int found = p ? 0 : -1;
    ldns_rr_list *l = p ? ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_TXT, LDNS_SECTION_ANSWER) : NULL;
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l) && !found; i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        char joined[DP_TXT_VALUE_MAX + 1];
        size_t o = 0;
        for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
            ldns_rdf *s = ldns_rr_rdf(rr, k);
            const uint8_t *d = ldns_rdf_data(s);
            size_t len = ldns_rdf_size(s) ? d[0] : 0;
            if (len && o + len < sizeof joined) {
                memcpy(joined + o, d + 1, len);
                o += len;
            }
        }
        joined[o] = '\0';
        found = fn(arg, joined);
    }
    ldns_rr_list_deep_free(l);
    if (p) ldns_pkt_free(p);
    return found;
}

static int equals(void *arg, const char *v)
{
    return !strcmp(arg, v);
}

/* 1 when the server answers the TXT RRset of name with value in it. */
static int has_value(ldns_resolver *r, ldns_rdf *name, const char *value)
{
    return each_value(r, name, equals, (void *)value) == 1;
}

struct collect {
    char **v;
    size_t n;
    int oom;
};

static int collect(void *arg, const char *v)
{
    struct collect *c = arg;
    char **g = realloc(c->v, (c->n + 1) * sizeof *g);
    char *d = strdup(v);
    if (!g || !d) {
        free(d);
        if (g) c->v = g;
        c->oom = 1;
        return 1;
    }
    c->v = g;
    c->v[c->n++] = d;
    return 0;
}

void dp_update_values_free(char **values, size_t n)
{
    for (size_t i = 0; values && i < n; i++)
        free(values[i]);
    free(values);
}

dp_code dp_update_txt_fetch(const char *server, const char *name, char ***values, size_t *n,
                            struct dp_error *err)
{
    dp_error_clear(err);
    if (!server || !name || !values || !n)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    *values = NULL;
    *n = 0;
    ldns_resolver *r = server_resolver(server, err);
    if (!r) return err ? err->code : DP_ERR_INVAL;
    ldns_rdf *owner = ldns_dname_new_frm_str(name);
    struct collect c = {0};
    int rc = owner ? each_value(r, owner, collect, &c) : -1;
    ldns_rdf_deep_free(owner);
    ldns_resolver_deep_free(r);
    if (rc < 0 || c.oom) {
        dp_update_values_free(c.v, c.n);
        return dp__fail(err, c.oom ? DP_ERR_NOMEM : DP_ERR_DNS, NULL, DP_NO_OFFSET,
                        "%s did not answer for %s", server, name);
    }
    *values = c.v;
    *n = c.n;
    return DP_OK;
}

/* 1 when the server answers name's RRset of want's type with want's
 * rdata in it (any TTL). */
static int has_rr(ldns_resolver *r, ldns_rdf *name, const ldns_rr *want)
{
    ldns_rr_type t = ldns_rr_get_type(want);
    ldns_pkt *p = ldns_resolver_query(r, name, t, LDNS_RR_CLASS_IN, 0);
    ldns_rr_list *l = p ? ldns_pkt_rr_list_by_type(p, t, LDNS_SECTION_ANSWER) : NULL;
    int found = 0;
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l) && !found; i++) {
        ldns_rr *rr = ldns_rr_list_rr(l, i);
        found = ldns_rr_rd_count(rr) == ldns_rr_rd_count(want);
        for (size_t k = 0; found && k < ldns_rr_rd_count(rr); k++)
            found = ldns_rdf_compare(ldns_rr_rdf(rr, k), ldns_rr_rdf(want, k)) == 0;
    }
    ldns_rr_list_deep_free(l);
    if (p) ldns_pkt_free(p);
    return found;
}

/* One update of one record, given as presentation rdata of type; then the
 * wait until the server answers accordingly (value: a TXT record's joined
 * value, compared as such; NULL: the rdata compared). */
static dp_code update_one(const char *server, const struct dp_tsig *key, const char *name,
                          const char *type, const char *pres, const char *value, int add,
                          unsigned ttl, unsigned wait_ms, struct dp_error *err)
{
    ldns_resolver *r = server_resolver(server, err);
    if (!r) return err ? err->code : DP_ERR_INVAL;
    ldns_rdf *owner = ldns_dname_new_frm_str(name), *zone = NULL;
    ldns_rr *rr = NULL, *want = NULL;
    ldns_rr_list *up = ldns_rr_list_new();
    ldns_pkt *pkt = NULL, *ans = NULL;
    dp_code rc = DP_ERR_DNS;
    char line[DP_TXT_VALUE_MAX * 4 + 512];
    if (!owner || !pres || !up) {
        rc =
            dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "cannot build the update for %s", name);
        goto out;
    }
    if (!(zone = find_zone(r, owner))) {
        rc = dp__fail(err, DP_ERR_DNS, NULL, DP_NO_OFFSET,
                      "%s answers no SOA for %s: not its zone, or unreachable", server, name);
        goto out;
    }
    /* RFC 2136 2.5.1 adds with class IN; 2.5.4 deletes one RR with class NONE, TTL 0. */
    snprintf(line, sizeof line, "%s. %u %s %s %s", name, add ? ttl : 0, add ? "IN" : "NONE", type,
             pres);
    if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK ||
        !(want = ldns_rr_clone(rr))) {
        rc = dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "cannot encode the record for %s",
                      name);
        goto out;
    }
    if (!add) ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
    ldns_rr_list_push_rr(up, rr);
    rr = NULL;
    /* The packet keeps the zone name and a copy of the update list. */
    pkt = ldns_update_pkt_new(ldns_rdf_clone(zone), LDNS_RR_CLASS_IN, NULL, up, NULL);
    /* The resolver carries the key: ldns_send verifies the answer's TSIG with it. */
    char alg[80];
    snprintf(alg, sizeof alg, "%s.", key->algorithm);
    ldns_resolver_set_tsig_keyname(r, key->name);
    ldns_resolver_set_tsig_keydata(r, key->secret);
    ldns_resolver_set_tsig_algorithm(r, alg);
    if (!pkt || ldns_update_pkt_tsig_add(pkt, r) != LDNS_STATUS_OK) {
        rc = dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET,
                      "cannot sign the update with TSIG key %s (%s)", key->name, key->algorithm);
        goto out;
    }
    ldns_status st = ldns_resolver_send_pkt(&ans, r, pkt);
    if (st == LDNS_STATUS_CRYPTO_TSIG_BOGUS || st == LDNS_STATUS_CRYPTO_TSIG_ERR) {
        rc = dp__fail(err, DP_ERR_UNAUTHORIZED, NULL, DP_NO_OFFSET,
                      "%s: TSIG failed (%s): wrong key?", server, ldns_get_errorstr_by_id(st));
        goto out;
    }
    if (!ans) {
        rc = dp__fail(err, DP_ERR_DNS, NULL, DP_NO_OFFSET, "%s did not answer the update: %s",
                      server, ldns_get_errorstr_by_id(st));
        goto out;
    }
    /* Queries after the update go unsigned: a fresh resolver without the key. */
    ldns_resolver_deep_free(r);
    if (!(r = server_resolver(server, err))) {
        rc = err ? err->code : DP_ERR_NOMEM;
        goto out;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(ans);
    if (rcode != LDNS_RCODE_NOERROR) {
        ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
        rc = dp__fail(
            err,
            rcode == LDNS_RCODE_NOTAUTH || rcode == LDNS_RCODE_REFUSED ? DP_ERR_UNAUTHORIZED
                                                                       : DP_ERR_DNS,
            NULL, DP_NO_OFFSET, "%s refused the update of %s: %s%s", server, name,
            t ? t->name : "error",
            rcode == LDNS_RCODE_NOTAUTH ? " (wrong TSIG key, or not allowed to update)" : "");
        goto out;
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if ((value ? has_value(r, owner, value) : has_rr(r, owner, want)) == add) {
            rc = DP_OK;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
            (long)wait_ms) {
            rc = dp__fail(err, DP_ERR_DNS, NULL, DP_NO_OFFSET,
                          "%s took the update but does not answer %s the record after %u ms",
                          server, add ? "with" : "without", wait_ms);
            break;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
out:
    ldns_rr_free(rr);
    ldns_rr_free(want);
    ldns_rr_list_deep_free(up);
    if (pkt) ldns_pkt_free(pkt);
    if (ans) ldns_pkt_free(ans);
    ldns_rdf_deep_free(owner);
    ldns_rdf_deep_free(zone);
    if (r) ldns_resolver_deep_free(r);
    return rc;
}

dp_code dp_update_txt(const char *server, const struct dp_tsig *key, const char *name,
                      const char *value, int add, unsigned ttl, unsigned wait_ms,
                      struct dp_error *err)
{
    dp_error_clear(err);
    if (!server || !key || !name || !value)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    char *pres = dp_txt_presentation_alloc(value, strlen(value));
    dp_code rc = pres ? update_one(server, key, name, "TXT", pres, value, add, ttl, wait_ms, err)
                      : dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    free(pres);
    return rc;
}

dp_code dp_update_rr(const char *server, const struct dp_tsig *key, const char *name,
                     const char *type, const char *rdata, int add, unsigned ttl, unsigned wait_ms,
                     struct dp_error *err)
{
    dp_error_clear(err);
    if (!server || !key || !name || !type || !rdata)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    return update_one(server, key, name, type, rdata, NULL, add, ttl, wait_ms, err);
}
