/*
 * stub_tcp.c: the stub's kept, pipelined TCP connections. Queries are
 * framed (RFC 7766 section 8) into one buffer and written together;
 * answers are read many to a read. Over TCP an off-path attacker cannot
 * inject answers. A kept connection the server closes is made again and
 * the queries in flight asked again (twice at most).
 *
 * A big batch spreads over up to STUB_MAX_CONNS connections: a server
 * serves one connection's queries in turn on one thread (Knot does), so
 * one connection leaves its other cores idle. A small batch (a CA's few
 * questions) fills the first connection only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "stub_int.h"

void dp__stub_tcp_drop(struct conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->in_len = 0;
    c->out_len = 0;
    c->streaming = 0;
}

/* Frames query i into connection k's output buffer; -1 (and answered)
 * if it cannot. */
int dp__stub_tcp_enqueue(struct run *r, size_t i, unsigned k)
{
    struct dp__stub *s = r->s;
    struct conn *c = &s->c[k];
    struct sq *q = &r->q[i];
    if (dp__stub_to_wire(q->name, q->wire, &q->wlen)) {
        dp__stub_fail(r, i, "not a valid DNS name");
        return -1;
    }
    size_t need = 2 + 12 + q->wlen + 4;
    if (c->out_len + need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 16384;
        while (cap < c->out_len + need)
            cap *= 2;
        unsigned char *o = realloc(c->out, cap);
        if (!o) {
            dp__stub_fail(r, i, "out of memory");
            return -1;
        }
        c->out = o;
        c->out_cap = cap;
    }
    if (dp__stub_take_slot(r, i)) {
        dp__stub_fail(r, i, "no random bytes for a query ID");
        return -1;
    }
    q->conn = (unsigned char)k;
    q->tcp = 1;
    unsigned char *p = c->out + c->out_len;
    size_t ml = need - 2;
    p[0] = (unsigned char)(ml >> 8), p[1] = (unsigned char)ml;
    dp__stub_build_query(p + 2, q, r->qtype);
    c->out_len += need;
    q->state = 1;
    q->tries++;
    q->deadline = dp__mono_ms() + s->timeout_ms;
    r->in_flight++;
    c->in_flight++;
    return 0;
}

/* Connection k broke: its queries go again on a new one. A query fails
 * after STUB_MAX_TRIES connections that answered nothing (a server that
 * closes every connection at once), not when a server that does answer
 * closes kept connections now and then. */
void dp__stub_tcp_broken(struct run *r, unsigned k, const char *why)
{
    struct conn *c = &r->s->c[k];
    int answered = c->answers > 0;
    dp__stub_tcp_drop(c);
    for (size_t i = 0; i < r->next; i++) {
        struct sq *q = &r->q[i];
        if (q->state != 1 || q->conn != k) continue;
        if (answered) q->tries--; /* a drop by a server that answers does not count */
        if (q->tries >= STUB_MAX_TRIES) {
            dp__stub_fail(r, i, why);
            continue;
        }
        dp__stub_release(r, q);
        q->state = 0;
        r->redo[r->n_redo++] = i;
    }
}

static int connect_now(struct dp__stub *s, struct conn *c, char *why, size_t cap)
{
    if (!c->in && !(c->in = malloc(STUB_IN_CAP))) {
        snprintf(why, cap, "out of memory");
        return -1;
    }
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, cap, "cannot open a socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&s->addr, s->alen) && errno != EINPROGRESS) {
        snprintf(why, cap, "cannot connect to the resolver: %s", strerror(errno));
        close(fd);
        return -1;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t l = sizeof err;
    if (poll(&p, 1, (int)s->timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) ||
        err) {
        snprintf(why, cap, "cannot connect to the resolver: %s", err ? strerror(err) : "timed out");
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->answers = 0;
    return 0;
}

/* A connection with room for one more query, connected if need be: its
 * index, -1 when every one is full, -2 (why set) when none can connect. A
 * server that refuses one connection refuses the next: one failed connect
 * ends the batch's tries, rather than waiting out each in turn. */
int dp__stub_tcp_pick(struct run *r, char *why, size_t cap)
{
    struct dp__stub *s = r->s;
    if (s->refused[0]) {
        snprintf(why, cap, "%s", s->refused);
        return -2;
    }
    for (unsigned k = 0; k < s->n_conns; k++) {
        struct conn *c = &s->c[k];
        if (c->in_flight >= s->per_conn) continue;
        if (c->fd < 0 && connect_now(s, c, why, cap)) {
            snprintf(s->refused, sizeof s->refused, "%s", why);
            return -2;
        }
        return (int)k;
    }
    return -1;
}

/* Reads what has come on connection k and handles every whole message:
 * 1 if anything came, 0 if nothing had, -1 when the connection ended or
 * broke. Bounded, so that a server streaming without end cannot keep the
 * batch from its deadlines. */
int dp__stub_tcp_read(struct run *r, unsigned k)
{
    struct conn *c = &r->s->c[k];
    int any = 0;
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t got = recv(c->fd, c->in + c->in_len, STUB_IN_CAP - c->in_len, MSG_DONTWAIT);
        if (got == 0) return -1;
        if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? any : -1;
        any = 1;
        c->in_len += (size_t)got;
        /* With nothing left to send (the batch's tail, or a CA's few
         * questions), acknowledge at once: a server that writes answers
         * with Nagle on (Knot) holds the next until this one's ACK, which
         * Linux delays up to 40 ms. While queries still go out, they carry
         * the ACKs. The flag does not stick. */
        if (r->next == r->n && !r->n_redo) {
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        size_t off = 0;
        while (c->in_len - off >= 2) {
            size_t ml = (size_t)(c->in[off] << 8 | c->in[off + 1]);
            if (c->in_len - off - 2 < ml) break;
            dp__stub_on_message(r, (int)k, c->in + off + 2, ml);
            off += 2 + ml;
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        if ((size_t)got < STUB_IN_CAP / 2) return 1; /* drained, most likely */
    }
    return 1;
}

int dp__stub_tcp_flush(struct conn *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t w = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        off += (size_t)w;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
    return 0;
}
