/*
 * resolver.c: the only file that includes unbound.h (one module owns a dependency).
 *
 * Batches run on libunbound's event API, on a libevent base the resolver
 * owns: the calling thread does the resolution itself. libunbound's
 * threaded mode cost a thread hand-off and a pipe round trip (write, read,
 * two fcntl each side) per query: at issuance that was a fifth of the CA's
 * CPU. The thread submits up to max_in_flight queries, runs the event loop
 * until the earliest deadline, and cancels what has run out of time. A
 * query's state lives in the batch's array, so a late callback for a
 * cancelled query finds it already done and is dropped. The answer comes
 * as a packet, read by dnsmsg.c. One resolver serves one thread at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

#include "dnsmsg.h"
#include "internal.h"
#include "stub.h"

struct dp_resolver {
    struct event_base *base;
    struct ub_ctx *ub;
    struct dp__stub *stub; /* "tcp:ADDR" with no trust anchor and no cache: stub.c */
    int validates;
    unsigned timeout_ms;
    unsigned max_in_flight;
};

static const char *const rcode_names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                          "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                          "NXRRSET", "NOTAUTH", "NOTZONE"};

const char *dp_resolver_status_name(enum dp_dns_status s)
{
    switch (s) {
    case DP_DNS_FOUND:
        return "found";
    case DP_DNS_NODATA:
        return "nodata";
    case DP_DNS_NXDOMAIN:
        return "nxdomain";
    case DP_DNS_FAILED:
        return "failed";
    }
    return "failed";
}

const char *dp_resolver_dnssec_name(enum dp_dnssec s)
{
    switch (s) {
    case DP_DNSSEC_SECURE:
        return "secure";
    case DP_DNSSEC_INSECURE:
        return "insecure";
    case DP_DNSSEC_BOGUS:
        return "bogus";
    case DP_DNSSEC_UNKNOWN:
        break;
    }
    return NULL;
}

static dp_code ub_fail(struct dp_error *err, const char *what, int rc)
{
    return dp__fail(err, DP_ERR_DNS, NULL, DP_NO_OFFSET, "%s: %s", what, ub_strerror(rc));
}

struct dp_resolver *dp_resolver_new(const struct dp_resolver_config *cfg, struct dp_error *err)
{
    dp_error_clear(err);
    struct dp_resolver_config def = {0};
    if (!cfg) cfg = &def;
    /* To a resolver named with its transport, with nothing to validate or
     * cache, libunbound's machinery only costs: a pipelining stub does the
     * same look-ups at a fraction of the CPU (stub.c). */
    int udp = cfg->forwarder && !strncmp(cfg->forwarder, "udp:", 4);
    if (cfg->forwarder && (udp || !strncmp(cfg->forwarder, "tcp:", 4)) && !cfg->trust_anchor_file &&
        !cfg->cache_max_ttl) {
        struct dp_resolver *r = calloc(1, sizeof *r);
        if (!r) {
            dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "cannot create a resolver");
            return NULL;
        }
        r->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
        r->max_in_flight = cfg->max_in_flight ? cfg->max_in_flight : 256;
        if (!(r->stub =
                  dp__stub_new(cfg->forwarder + 4, udp, r->timeout_ms, r->max_in_flight, err))) {
            free(r);
            return NULL;
        }
        return r;
    }
    struct dp_resolver *r = calloc(1, sizeof *r);
    if (!r || !(r->base = event_base_new()) || !(r->ub = ub_ctx_create_event(r->base))) {
        if (r && r->base) event_base_free(r->base);
        free(r);
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "cannot create a resolver");
        return NULL;
    }
    r->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
    r->max_in_flight = cfg->max_in_flight ? cfg->max_in_flight : 256;
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%u", cfg->cache_max_ttl);
    int rc;
    if ((rc = ub_ctx_set_option(r->ub, "cache-max-ttl:", ttl)) != 0 ||
        (rc = ub_ctx_set_option(r->ub, "cache-max-negative-ttl:", ttl)) != 0 ||
        (rc = ub_ctx_set_option(r->ub, "num-queries-per-thread:", "4096")) != 0 ||
        /* A server that timed out for one zone (an unanswering name behind
         * a forwarder) is probed again rather than held down for every
         * other name: one hostile zone must not fail the rest. */
        (rc = ub_ctx_set_option(r->ub, "infra-keep-probing:", "yes")) != 0 ||
        (rc = ub_ctx_set_option(r->ub, "infra-host-ttl:", "60")) != 0) {
        ub_fail(err, "resolver options", rc);
        goto fail;
    }
    if (cfg->forwarder) {
        /* A forwarder on loopback is the whole point of a test set-up, and
         * private PKIs use RFC 6761 names that unbound would answer NXDOMAIN
         * itself ("nodefault" does not lift that through this API; "transparent" does). */
        /* "tcp:ADDR": every query over TCP, the connections kept and
         * queries pipelined on them (RFC 7766). Per query that is a write
         * and a read instead of a new UDP socket (socket, bind, connect,
         * send, receive, close): about a quarter less CPU a name in bulk. */
        const char *fwd = cfg->forwarder;
        int tcp = !strncmp(fwd, "tcp:", 4);
        if (tcp || !strncmp(fwd, "udp:", 4)) fwd += 4; /* "udp:": libunbound's default */
        if ((tcp && (rc = ub_ctx_set_option(r->ub, "tcp-upstream:", "yes")) != 0) ||
            (rc = ub_ctx_set_option(r->ub, "do-not-query-localhost:", "no")) != 0 ||
            (rc = ub_ctx_set_option(r->ub, "local-zone:", "test. transparent")) != 0 ||
            (rc = ub_ctx_set_option(r->ub, "local-zone:", "home.arpa. transparent")) != 0 ||
            (rc = ub_ctx_set_fwd(r->ub, fwd)) != 0) {
            dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET,
                     "resolver '%s' is not [tcp:|udp:]ADDR[@PORT]: %s", cfg->forwarder,
                     ub_strerror(rc));
            goto fail;
        }
    }
    if (cfg->trust_anchor_file) {
        FILE *f = fopen(cfg->trust_anchor_file, "r");
        if (!f) {
            dp__fail(err, DP_ERR_IO, "V8", DP_NO_OFFSET, "cannot read trust anchor file %s",
                     cfg->trust_anchor_file);
            goto fail;
        }
        fclose(f);
        if ((rc = ub_ctx_add_ta_file(r->ub, cfg->trust_anchor_file)) != 0) {
            ub_fail(err, "trust anchor file", rc);
            goto fail;
        }
        r->validates = 1;
    } else if ((rc = ub_ctx_set_option(r->ub, "module-config:", "iterator")) != 0) {
        /* No anchor, nothing to validate: the validator module would only
         * mark every answer insecure, at a cost on each query. */
        ub_fail(err, "resolver options", rc);
        goto fail;
    }
    return r;
fail:
    dp_resolver_free(r);
    return NULL;
}

void dp_resolver_free(struct dp_resolver *r)
{
    if (!r) return;
    dp__stub_free(r->stub);
    if (r->ub) ub_ctx_delete(r->ub);
    if (r->base) event_base_free(r->base);
    free(r);
}

int dp_resolver_validates(const struct dp_resolver *r)
{
    return r && r->validates;
}

struct query {
    struct batch *b;
    size_t index;
    int async_id;
    int state; /* 0 waiting, 1 in flight, 2 done */
    double deadline;
};

struct batch {
    struct dp_resolver *r;
    const char *const *names;
    int qtype;
    dp_dns_cb cb;
    void *arg;
    struct query *q;
    size_t in_flight;
};

/* Splits TXT RDATA into character-strings; 0 on malformed RDATA. */
static int split_txt(const unsigned char *p, size_t len, struct dp_span *out, size_t *n)
{
    size_t k = 0, i = 0;
    while (i < len) {
        size_t l = p[i++];
        if (l > len - i) return 0;
        out[k].ptr = (const char *)p + i;
        out[k].len = l;
        k++;
        i += l;
    }
    *n = k;
    return 1;
}

static void deliver(struct query *q, enum dp_dns_status st, enum dp_dnssec sec, int rcode,
                    const char *canon, const char *detail, size_t n, const struct dp_span *rd,
                    const struct dp_txt_rr *txt)
{
    struct batch *b = q->b;
    q->state = 2;
    b->in_flight--;
    struct dp_dns_answer a = {b->names[q->index],   b->qtype, st, sec, rcode, canon,
                              detail ? detail : "", n,        rd, txt};
    b->cb(b->arg, q->index, &a);
}

/* Answers q from packet (rcode non-zero: unbound's own failure, no packet
 * to read). With next (the stub), a NOERROR answer whose CNAME chain ends
 * with no record is not delivered: 1, the chain's end copied into next to
 * be asked. asked: the name this packet answers when it is not q's own
 * (a CNAME's target), which is then the canonical name. */
static int answer_packet(struct query *q, int rcode, const unsigned char *packet, size_t len,
                         enum dp_dnssec sec, const char *asked, char *next, size_t next_cap)
{
    char detail[512] = "";
    /* A non-zero rcode here is unbound's own failure (SERVFAIL mostly); the
     * packet must not be read then. */
    struct dp_span *rd = rcode ? NULL : calloc(DP_DNS_MAX_RRS, sizeof *rd);
    /* Zeroed: when unbound passes NXDOMAIN as its own rcode, n reads 0. */
    struct dp__dnsmsg m = {0};
    if (!rcode && !rd) {
        deliver(q, DP_DNS_FAILED, sec, -1, NULL, "out of memory", 0, NULL, NULL);
        return 0;
    }
    if (!rcode && dp__dnsmsg_answer(packet, len, q->b->qtype, rd, DP_DNS_MAX_RRS, &m) < 0) {
        deliver(q, DP_DNS_FAILED, sec, -1, NULL, "malformed DNS response", 0, NULL, NULL);
        free(rd);
        return 0;
    }
    if (!rcode) rcode = m.rcode;
    if (next && rcode == 0 && !m.too_many && !m.n && m.canon[0] &&
        strlen(m.canon) < next_cap) { /* the forwarder left the chain to us */
        memcpy(next, m.canon, strlen(m.canon) + 1);
        free(rd);
        return 1;
    }
    const char *canon = rd && m.canon[0] ? m.canon : asked;
    if (rcode != 0 && rcode != 3) {
        snprintf(detail, sizeof detail, "%s from the DNS",
                 rcode < 11 ? rcode_names[rcode] : "unexpected RCODE");
        deliver(q, DP_DNS_FAILED, sec, rcode, canon, detail, 0, NULL, NULL);
    } else if (m.too_many) {
        snprintf(detail, sizeof detail, "more than the limit of %d records", DP_DNS_MAX_RRS);
        deliver(q, DP_DNS_FAILED, sec, rcode, canon, detail, 0, NULL, NULL);
    } else if (!m.n) {
        deliver(q, rcode == 3 ? DP_DNS_NXDOMAIN : DP_DNS_NODATA, sec, rcode, canon, NULL, 0, NULL,
                NULL);
    } else {
        size_t n = m.n, total_strings = 0;
        for (size_t i = 0; i < n; i++)
            total_strings += rd[i].len; /* an upper bound on strings per RR */
        struct dp_txt_rr *txt = calloc(n, sizeof *txt);
        struct dp_span *strs = calloc(total_strings + 1, sizeof *strs);
        if (!txt || !strs) {
            deliver(q, DP_DNS_FAILED, sec, -1, canon, "out of memory", 0, NULL, NULL);
        } else {
            size_t used = 0;
            int ok = 1;
            for (size_t i = 0; i < n && q->b->qtype == DP_DNS_TYPE_TXT; i++) {
                size_t k = 0;
                if (!split_txt((const unsigned char *)rd[i].ptr, rd[i].len, strs + used, &k))
                    ok = 0;
                txt[i].strings = strs + used;
                txt[i].n_strings = k;
                used += k;
            }
            if (ok)
                deliver(q, DP_DNS_FOUND, sec, rcode, canon, NULL, n, rd,
                        q->b->qtype == DP_DNS_TYPE_TXT ? txt : NULL);
            else
                deliver(q, DP_DNS_FAILED, sec, rcode, canon, "malformed TXT RDATA", 0, NULL, NULL);
        }
        free(txt);
        free(strs);
    }
    free(rd);
    return 0;
}

static void on_answer(void *mydata, int rcode, void *packet, int packet_len, int secure,
                      char *why_bogus, int ratelimited)
{
    (void)ratelimited;
    struct query *q = mydata;
    if (q->state == 2) return; /* cancelled after its deadline; the answer came anyway */
    struct dp_resolver *r = q->b->r;
    /* secure: 0 insecure, 1 bogus, 2 secure (unbound-event.h). */
    enum dp_dnssec sec = !r->validates ? DP_DNSSEC_UNKNOWN
                         : secure == 1 ? DP_DNSSEC_BOGUS
                         : secure == 2 ? DP_DNSSEC_SECURE
                                       : DP_DNSSEC_INSECURE;
    if (secure == 1) {
        char detail[512];
        snprintf(detail, sizeof detail, "DNSSEC validation failed (bogus): %s",
                 why_bogus ? why_bogus : "no reason given");
        deliver(q, DP_DNS_FAILED, sec, rcode ? rcode : 2, NULL, detail, 0, NULL, NULL);
        return;
    }
    answer_packet(q, rcode, packet, packet_len > 0 ? (size_t)packet_len : 0, sec, NULL, NULL, 0);
}

/* The stub's answers (stub.h), through the same reading of the packet. */
static int on_stub_answer(void *arg, size_t index, const char *asked, const unsigned char *pkt,
                          size_t len, const char *fail, char *next, size_t next_cap)
{
    struct batch *b = arg;
    struct query *q = &b->q[index];
    q->b = b;
    q->index = index;
    q->state = 1;
    b->in_flight++; /* deliver's books */
    if (fail) {
        deliver(q, DP_DNS_FAILED, DP_DNSSEC_UNKNOWN, -1, NULL, fail, 0, NULL, NULL);
        return 0;
    }
    int chased = strcmp(asked, b->names[index]) != 0;
    if (answer_packet(q, 0, pkt, len, DP_DNSSEC_UNKNOWN, chased ? asked : NULL, next, next_cap)) {
        q->state = 1;
        b->in_flight--;
        return 1;
    }
    return 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

dp_code dp_resolver_batch(struct dp_resolver *r, const char *const *names, size_t n, int qtype,
                          dp_dns_cb cb, void *arg, struct dp_error *err)
{
    dp_error_clear(err);
    if (!r || (!names && n) || !cb)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    if (n == 0) return DP_OK;
    struct batch b = {r, names, qtype, cb, arg, calloc(n, sizeof(struct query)), 0};
    if (r->stub) {
        dp_code rc = b.q ? dp__stub_batch(r->stub, names, n, qtype, on_stub_answer, &b, err)
                         : dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        free(b.q);
        return rc;
    }
    struct event *tick = evtimer_new(r->base, on_tick, NULL);
    if (!b.q || !tick) {
        free(b.q);
        if (tick) event_free(tick);
        return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    }
    size_t next = 0, oldest = 0;
    dp_code rc = DP_OK;
    for (;;) {
        /* Top up the window. */
        while (next < n && b.in_flight < r->max_in_flight) {
            struct query *q = &b.q[next];
            q->b = &b;
            q->index = next++;
            q->state = 1;
            q->deadline = dp__mono_ms() + r->timeout_ms;
            b.in_flight++;
            int e = ub_resolve_event(r->ub, names[q->index], qtype, 1, q, on_answer, &q->async_id);
            if (e)
                deliver(q, DP_DNS_FAILED, DP_DNSSEC_UNKNOWN, -1, NULL, ub_strerror(e), 0, NULL,
                        NULL);
        }
        if (b.in_flight == 0 && next == n) break;

        /* Deadlines grow with submission order, so the oldest query in flight
         * has the earliest one: both scans below stop early. */
        while (oldest < next && b.q[oldest].state == 2)
            oldest++;
        double wait = oldest < next ? b.q[oldest].deadline - dp__mono_ms() : 0;
        if (b.in_flight) {
            /* The timer only ends the loop's wait at the earliest deadline. */
            long ms = wait > 0 ? (long)wait + 1 : 0;
            struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
            evtimer_add(tick, &tv);
            int lr = event_base_loop(r->base, EVLOOP_ONCE);
            evtimer_del(tick);
            if (lr < 0) {
                rc = dp__fail(err, DP_ERR_DNS, NULL, DP_NO_OFFSET, "resolver event loop failed");
                break;
            }
        }
        double t = dp__mono_ms();
        for (size_t i = oldest; i < next && b.q[i].deadline <= t; i++) {
            struct query *q = &b.q[i];
            if (q->state != 1) continue;
            ub_cancel(r->ub, q->async_id);
            char d[64];
            snprintf(d, sizeof d, "timed out after %u ms", r->timeout_ms);
            deliver(q, DP_DNS_FAILED, DP_DNSSEC_UNKNOWN, -1, NULL, d, 0, NULL, NULL);
        }
    }
    if (rc != DP_OK) {
        /* The resolver broke: still answer every query, so callers never wait on a name. */
        for (size_t i = 0; i < n; i++) {
            struct query *q = &b.q[i];
            if (i >= next) {
                q->b = &b;
                q->index = i;
                b.in_flight++;
            } else if (q->state != 1) {
                continue;
            } else {
                ub_cancel(r->ub, q->async_id);
            }
            deliver(q, DP_DNS_FAILED, DP_DNSSEC_UNKNOWN, -1, NULL,
                    err ? err->detail : "resolver failure", 0, NULL, NULL);
        }
    }
    event_free(tick);
    free(b.q);
    return rc;
}
