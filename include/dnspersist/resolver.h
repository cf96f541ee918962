/*
 * resolver: DNS look-ups for validation (spec V1, V4, V8), on libunbound.
 *
 * A resolver recurses from the root hints by default, or forwards to one
 * server ("ADDR[@PORT]": tests, private PKI). With a trust anchor file it
 * validates DNSSEC and every answer carries its state. CNAME chains are
 * followed, truncated UDP answers are retried over TCP (both by
 * libunbound), and each query has its own timeout.
 *
 * Outcomes are kept apart: records found; no records (NXDOMAIN or NODATA);
 * failure (timeout, SERVFAIL, REFUSED, DNSSEC bogus, ...). A failure must
 * map to urn:ietf:params:acme:error:dns and never to a success.
 *
 * Freshness (V1): by default nothing is cached between look-ups
 * (cache_max_ttl 0), so every validation attempt sees the zone as it is.
 *
 * Threads: a resolver is used by one thread at a time (it owns one
 * libunbound context and one event base); give each thread its own, as the
 * CA's validation workers do. Different resolvers may run at once.
 */
#ifndef DNSPERSIST_RESOLVER_H
#define DNSPERSIST_RESOLVER_H

#include <stddef.h>
#include "error.h"
#include "record.h"
#include "txt.h"

#define DP_DNS_TYPE_TXT 16
#define DP_DNS_TYPE_CAA 257
#define DP_DNS_MAX_RRS 256 /* an answer with more records is treated as a failure */

struct dp_resolver_config {
    const char *forwarder;         /* "[tcp:|udp:]ADDR[@PORT]"; NULL recurses from the root.
                                      With tcp: every query goes over kept TCP connections.
                                      With tcp: or udp: and no trust anchor and no cache, a
                                      pipelining stub asks (over UDP: random ports, IDs and
                                      name case, truncated answers again over TCP) */
    const char *trust_anchor_file; /* DS/DNSKEY records (zone-file format); NULL: no DNSSEC */
    unsigned timeout_ms;           /* per query; 0 means 5000 */
    unsigned max_in_flight;        /* concurrent queries in a batch; 0 means 256 */
    unsigned cache_max_ttl;        /* seconds answers may be reused; 0 (default): never */
};

enum dp_dns_status {
    DP_DNS_FOUND = 0,    /* at least one record of the type */
    DP_DNS_NODATA = 1,   /* the name exists, no record of the type */
    DP_DNS_NXDOMAIN = 2, /* the name does not exist */
    DP_DNS_FAILED = 3    /* no usable answer: see detail */
};

enum dp_dnssec {
    DP_DNSSEC_UNKNOWN = 0, /* no trust anchor configured: not validated */
    DP_DNSSEC_SECURE = 1,
    DP_DNSSEC_INSECURE = 2, /* validated, and provably unsigned */
    DP_DNSSEC_BOGUS = 3     /* validation failed: always DP_DNS_FAILED (V8) */
};

/* One answer, borrowed by the callback that receives it. */
struct dp_dns_answer {
    const char *qname;
    int qtype;
    enum dp_dns_status status;
    enum dp_dnssec dnssec;
    int rcode;             /* DNS RCODE, -1 when none (timeout, local error) */
    const char *canonname; /* after CNAMEs; NULL when none */
    const char *detail;    /* why it failed, "" otherwise */
    size_t n_rrs;
    const struct dp_span *rdata; /* raw RDATA of each record */
    const struct dp_txt_rr *txt; /* for TXT: each record's character-strings */
};

struct dp_resolver;

/* NULL with err filled when the configuration is unusable (bad forwarder
 * address, unreadable trust anchor file). */
DP_API struct dp_resolver *dp_resolver_new(const struct dp_resolver_config *cfg,
                                           struct dp_error *err);
DP_API void dp_resolver_free(struct dp_resolver *r);

/* 1 when DNSSEC is validated (a trust anchor is configured). */
DP_API int dp_resolver_validates(const struct dp_resolver *r);

typedef void (*dp_dns_cb)(void *arg, size_t index, const struct dp_dns_answer *ans);

/* Looks up n names of one type, at most max_in_flight at a time, and calls
 * cb once per name, in completion order, on the calling thread; the answer
 * is valid only during the call. Returns DP_OK when every callback has
 * run (DNS failures are answers, not errors), DP_ERR_NOMEM or DP_ERR_DNS
 * when the resolver itself broke. */
DP_API dp_code dp_resolver_batch(struct dp_resolver *r, const char *const *names, size_t n,
                                 int qtype, dp_dns_cb cb, void *arg, struct dp_error *err);

/* Human names for logs and JSON: "found", "nodata", "nxdomain", "failed";
 * "secure", "insecure", "bogus", or NULL for DP_DNSSEC_UNKNOWN. */
DP_API const char *dp_resolver_status_name(enum dp_dns_status s);
DP_API const char *dp_resolver_dnssec_name(enum dp_dnssec s);

#endif
