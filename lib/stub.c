/*
 * stub.c: a pipelining DNS stub (stub.h), over TCP (stub_tcp.c) or UDP
 * (stub_udp.c). For bulk checks the forwarder is a recursive resolver the
 * operator names, so the stub needs none of libunbound's iterator, cache
 * or mesh, which cost ~40 µs a name (an event added and removed, a write,
 * allocations). This file holds the stub's life and the batch loop; what
 * both transports share (slots and IDs of queries in flight, matching
 * answers to questions, CNAME chasing) is stub_msg.c. Each query has its
 * own deadline.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "internal.h"
#include "stub_int.h"

struct dp__stub *dp__stub_new(const char *addr, int udp, unsigned timeout_ms,
                              unsigned max_in_flight, struct dp_error *err)
{
    char host[128];
    const char *at = strchr(addr, '@');
    size_t hl = at ? (size_t)(at - addr) : strlen(addr);
    long port = 53;
    if (at) {
        char *end;
        port = strtol(at + 1, &end, 10);
        if (*end || end == at + 1) port = 0;
    }
    struct dp__stub *s = calloc(1, sizeof *s);
    if (!s) {
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&s->addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&s->addr;
    int ok = hl > 0 && hl < sizeof host && port > 0 && port < 65536;
    if (ok) {
        memcpy(host, addr, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            a4->sin_port = htons((uint16_t)port);
            s->alen = sizeof *a4;
        } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            a6->sin6_port = htons((uint16_t)port);
            s->alen = sizeof *a6;
        } else {
            ok = 0;
        }
    }
    if (!ok) {
        free(s);
        const char *t = udp ? "udp" : "tcp";
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "resolver '%s:%s' is not %s:ADDR[@PORT]", t,
                 addr, t);
        return NULL;
    }
    s->timeout_ms = timeout_ms ? timeout_ms : 5000;
    s->max_in_flight = max_in_flight ? max_in_flight : 256;
    if (s->max_in_flight > 60000) s->max_in_flight = 60000; /* IDs are 16 bits */
    if (udp && s->max_in_flight > STUB_UDP_MAX) s->max_in_flight = STUB_UDP_MAX;
    s->udp = udp;
    s->ufd = -1;
    s->n_conns = (s->max_in_flight + STUB_PER_CONN - 1) / STUB_PER_CONN;
    if (s->n_conns > STUB_MAX_CONNS) s->n_conns = STUB_MAX_CONNS;
    s->per_conn = (s->max_in_flight + s->n_conns - 1) / s->n_conns;
    for (int k = 0; k < STUB_MAX_CONNS; k++)
        s->c[k].fd = -1;
    /* One slot a query in flight, not a table of every 16-bit ID: a CA has
     * a resolver a thread, and 256 KB each added up. */
    s->slots = calloc(s->max_in_flight, sizeof *s->slots);
    s->free_slots = calloc(s->max_in_flight, sizeof *s->free_slots);
    for (size_t i = 0; s->free_slots && i < s->max_in_flight; i++)
        s->free_slots[s->n_free++] = (uint32_t)(s->max_in_flight - 1 - i);
    unsigned char seed[2];
    if (RAND_bytes(seed, sizeof seed) == 1) s->id_base = (uint16_t)(seed[0] << 8 | seed[1]);
    if (udp) {
        s->slot_id = calloc(s->max_in_flight, sizeof *s->slot_id);
        s->upend = calloc(s->max_in_flight, sizeof *s->upend);
        s->uin = malloc((size_t)STUB_UDP_BATCH * STUB_UDP_IN);
    }
    if (!s->slots || !s->free_slots || (udp && (!s->slot_id || !s->upend || !s->uin))) {
        dp__stub_free(s);
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    return s;
}

void dp__stub_free(struct dp__stub *s)
{
    if (!s) return;
    for (int k = 0; k < STUB_MAX_CONNS; k++) {
        dp__stub_tcp_drop(&s->c[k]);
        free(s->c[k].in);
        free(s->c[k].out);
    }
    if (s->ufd >= 0) close(s->ufd);
    free(s->slot_id);
    free(s->upend);
    free(s->uin);
    free(s->slots);
    free(s->free_slots);
    free(s->sqs);
    free(s->redo);
    free(s);
}

/* Sends queries: first those to ask again, then new ones in chunks of a
 * quarter of the window (or what is left): a write and a server's read
 * per few answers, not per one, while the rest of the window keeps the
 * server busy. 0, or -1 (why set) when no connection can be made. */
static int send_queries(struct run *r, char *why, size_t cap)
{
    struct dp__stub *s = r->s;
    while (r->n_redo && r->in_flight < s->max_in_flight) {
        size_t i = r->redo[r->n_redo - 1];
        if (s->udp && !r->q[i].tcp) {
            r->n_redo--;
            dp__stub_udp_enqueue(r, i);
            continue;
        }
        int k = dp__stub_tcp_pick(r, why, cap);
        if (k == -1) return 0; /* every connection full: after some answers */
        if (k == -2 && !s->udp) return -1;
        r->n_redo--;
        if (k == -2) /* over UDP, only what came back truncated needs TCP */
            dp__stub_fail(r, i, why);
        else
            dp__stub_tcp_enqueue(r, i, (unsigned)k);
    }
    size_t room = s->max_in_flight - r->in_flight, left = r->n - r->next;
    size_t chunk = s->max_in_flight / 4 ? s->max_in_flight / 4 : 1;
    while (room >= (left < chunk ? left : chunk) && r->next < r->n) {
        r->q[r->next].name = r->names[r->next];
        if (s->udp) {
            dp__stub_udp_enqueue(r, r->next++);
        } else {
            int k = dp__stub_tcp_pick(r, why, cap);
            if (k < 0) return k == -2 ? -1 : 0;
            dp__stub_tcp_enqueue(r, r->next++, (unsigned)k);
        }
        room = s->max_in_flight - r->in_flight;
        left = r->n - r->next;
        chunk = 1; /* the chunk has begun: fill what there is room for */
    }
    return 0;
}

dp_code dp__stub_batch(struct dp__stub *s, const char *const *names, size_t n, int qtype,
                       dp__stub_cb cb, void *arg, struct dp_error *err)
{
    dp_error_clear(err);
    if (n == 0) return DP_OK;
    if (n > s->sq_cap) {
        struct sq *q = realloc(s->sqs, n * sizeof *q);
        if (q) s->sqs = q;
        size_t *rd = q ? realloc(s->redo, n * sizeof *rd) : NULL;
        if (rd) s->redo = rd;
        if (!q || !rd) return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        s->sq_cap = n;
    }
    memset(s->sqs, 0, n * sizeof *s->sqs);
    s->refused[0] = '\0';
    struct run r = {s, names, n, 0, 0, qtype, s->sqs, s->redo, 0, cb, arg};
    size_t lo = 0; /* no query before it is in flight */
    char why[200] = "";
    s->case_changed = 0;
    s->n_upend = 0;
    if (s->udp && dp__stub_udp_open(s, why, sizeof why)) {
        for (; r.next < n; r.next++) {
            r.q[r.next].name = names[r.next];
            dp__stub_fail(&r, r.next, why);
        }
    }
    for (;;) {
        if (send_queries(&r, why, sizeof why)) {
            while (r.n_redo)
                dp__stub_fail(&r, r.redo[--r.n_redo], why);
            for (; r.next < n; r.next++) {
                r.q[r.next].name = names[r.next];
                dp__stub_fail(&r, r.next, why);
            }
        }
        if (s->n_upend && dp__stub_udp_flush(&r, why, sizeof why)) dp__stub_udp_failed(&r, why);
        if (!r.in_flight && !r.n_redo && r.next == n) break;
        if (!r.in_flight) continue;
        /* While answers stream in, read on without a poll: on a busy
         * connection one is there by the time the last is handled, and a
         * poll is a system call (and a sleep) a turn. */
        struct pollfd p[STUB_MAX_CONNS + 1];
        unsigned np = 0, map[STUB_MAX_CONNS + 1]; /* STUB_MAX_CONNS: the UDP socket */
        int got = 0;
        for (unsigned k = 0; k < s->n_conns; k++) {
            struct conn *c = &s->c[k];
            if (c->fd < 0) continue;
            int g = c->out_len && dp__stub_tcp_flush(c) ? -1
                    : c->streaming                      ? dp__stub_tcp_read(&r, k)
                                                        : 0;
            if (g < 0) {
                dp__stub_tcp_broken(&r, k, "the resolver closed the connection");
                continue;
            }
            c->streaming = g > 0;
            got |= g > 0;
            if (c->in_flight) {
                p[np] = (struct pollfd){c->fd, (short)(POLLIN | (c->out_len ? POLLOUT : 0)), 0};
                map[np++] = k;
            }
        }
        if (s->ufd >= 0 && s->u_in_flight) {
            int g = s->ustreaming ? dp__stub_udp_read(&r, why, sizeof why) : 0;
            if (g < 0) dp__stub_udp_failed(&r, why);
            s->ustreaming = g > 0;
            got |= g > 0;
            if (s->u_in_flight) {
                p[np] = (struct pollfd){s->ufd, (short)(POLLIN | (s->n_upend ? POLLOUT : 0)), 0};
                map[np++] = STUB_MAX_CONNS;
            }
        }
        /* Nothing yet: wait for answers until the earliest deadline (or
         * time to send again over UDP). */
        while (lo < r.next && r.q[lo].state == 2)
            lo++;
        double t = dp__mono_ms(), first = t + s->timeout_ms;
        for (size_t i = lo; !got && i < r.next; i++) {
            const struct sq *q = &r.q[i];
            if (q->state != 1) continue;
            if (q->deadline < first) first = q->deadline;
            if (!q->tcp && q->resend_at < first) first = q->resend_at;
        }
        int pr = got || !np ? 0 : first > t ? poll(p, np, (int)(first - t) + 1) : 0;
        if (pr < 0 && errno != EINTR) {
            for (unsigned j = 0; j < np; j++)
                if (map[j] == STUB_MAX_CONNS)
                    dp__stub_udp_failed(&r, "poll failed");
                else
                    dp__stub_tcp_broken(&r, map[j], "poll failed");
            continue;
        }
        for (unsigned j = 0; pr > 0 && j < np; j++) {
            if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (map[j] == STUB_MAX_CONNS) {
                int g = dp__stub_udp_read(&r, why, sizeof why);
                if (g < 0) dp__stub_udp_failed(&r, why);
                s->ustreaming = g > 0;
                continue;
            }
            int g = dp__stub_tcp_read(&r, map[j]);
            if (g < 0)
                dp__stub_tcp_broken(&r, map[j], "the resolver closed the connection");
            else
                s->c[map[j]].streaming = g > 0;
        }
        t = dp__mono_ms();
        for (size_t i = lo; i < r.next; i++) {
            struct sq *q = &r.q[i];
            if (q->state != 1) continue;
            if (q->deadline <= t) {
                if (!q->tcp && s->case_changed)
                    snprintf(why, sizeof why,
                             "timed out after %u ms; the resolver answered with the name in "
                             "another case, which a UDP query must see repeated (DNS 0x20): "
                             "use tcp:",
                             s->timeout_ms);
                else
                    snprintf(why, sizeof why, "timed out after %u ms", s->timeout_ms);
                dp__stub_fail(&r, i, why);
            } else if (!q->tcp && q->resend_at <= t && q->tries < STUB_MAX_TRIES) {
                dp__stub_release(&r, q); /* lost, most likely: sent again with a new ID */
                q->state = 0;
                r.redo[r.n_redo++] = i;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(r.q[i].chased);
    if (s->ufd >= 0) close(s->ufd); /* the next batch gets another port */
    s->ufd = -1;
    return DP_OK;
}
