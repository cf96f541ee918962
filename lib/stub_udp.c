/*
 * stub_udp.c: the stub over UDP (the server answers a datagram for less
 * than a TCP message: twice as many a second from Knot). Queries go out
 * many to a sendmmsg and come back many to a recvmmsg, and an off-path
 * attacker must guess, for each query: the source port (a fresh connected
 * socket a batch, its port the kernel's random pick), a random ID (16
 * bits), and the case of every letter of the name (DNS 0x20: randomized,
 * and the answer's question must repeat it exactly; a resolver that does
 * not is named in the failure). A truncated answer is asked again over
 * TCP. A query unanswered for a third of its time is sent again, with a
 * new ID.
 */
#define _GNU_SOURCE /* sendmmsg, recvmmsg */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "stub_int.h"

/* Mixes the case of name's letters at random (DNS 0x20): one more bit an
 * attacker must guess per letter. -1 when no random bytes can be had. */
static int mix_case(struct dp__stub *s, unsigned char *w, size_t wlen)
{
    unsigned char b[32]; /* a bit an octet: wlen is at most 255 */
    if (dp__stub_rnd(s, b, (wlen + 7) / 8)) return -1;
    for (size_t j = 0; j < wlen; j++) {
        unsigned char ch = (unsigned char)dp__lower(w[j]);
        if (ch >= 'a' && ch <= 'z' && (b[j / 8] >> (j % 8) & 1)) ch ^= 0x20;
        w[j] = ch;
    }
    return 0;
}

/* Queues query i for the UDP socket (sent by dp__stub_udp_flush); -1 (and
 * answered) if it cannot. A query sent again keeps its first deadline. */
int dp__stub_udp_enqueue(struct run *r, size_t i)
{
    struct dp__stub *s = r->s;
    struct sq *q = &r->q[i];
    if (dp__stub_to_wire(q->name, q->wire, &q->wlen)) {
        dp__stub_fail(r, i, "not a valid DNS name");
        return -1;
    }
    if (mix_case(s, q->wire, q->wlen) || dp__stub_take_slot(r, i)) {
        dp__stub_fail(r, i, "no random bytes for a query ID");
        return -1;
    }
    double now = dp__mono_ms();
    if (q->tries == 0) q->deadline = now + s->timeout_ms;
    q->resend_at = now + s->timeout_ms / 3.0;
    q->tcp = 0;
    q->state = 1;
    q->tries++;
    s->upend[s->n_upend++] = i;
    r->in_flight++;
    s->u_in_flight++;
    return 0;
}

/* A fresh connected UDP socket for a batch: the kernel picks its port at
 * random, and hands it datagrams from the resolver's address and port
 * only. */
int dp__stub_udp_open(struct dp__stub *s, char *why, size_t cap)
{
    int fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, cap, "cannot open a socket: %s", strerror(errno));
        return -1;
    }
    /* Room for a window of answers arriving together: the default
     * (~200 KB, charged ~1 KB or more a datagram) drops a burst of 256. */
    int rb = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
    if (connect(fd, (struct sockaddr *)&s->addr, s->alen)) {
        snprintf(why, cap, "cannot reach the resolver: %s", strerror(errno));
        close(fd);
        return -1;
    }
    s->ufd = fd;
    s->ustreaming = 0;
    return 0;
}

/* Every query in flight over UDP, and every one waiting to go, fails. */
void dp__stub_udp_failed(struct run *r, const char *why)
{
    r->s->n_upend = 0;
    for (size_t i = 0; i < r->next; i++)
        if (r->q[i].state == 1 && !r->q[i].tcp) dp__stub_fail(r, i, why);
}

/* Sends the queued datagrams, many to a sendmmsg; what the socket cannot
 * take now stays queued. -1 (why set) on an error: an ICMP refusal from
 * an earlier datagram comes back here or at the next read. */
int dp__stub_udp_flush(struct run *r, char *why, size_t cap)
{
    struct dp__stub *s = r->s;
    size_t keep = 0; /* drop what failed or was answered meanwhile */
    for (size_t k = 0; k < s->n_upend; k++) {
        const struct sq *q = &r->q[s->upend[k]];
        if (q->state == 1 && !q->tcp) s->upend[keep++] = s->upend[k];
    }
    s->n_upend = keep;
    unsigned char buf[STUB_UDP_BATCH][12 + 255 + 4];
    struct mmsghdr mh[STUB_UDP_BATCH];
    struct iovec iov[STUB_UDP_BATCH];
    size_t done = 0;
    while (done < s->n_upend) {
        unsigned n = 0;
        for (; n < STUB_UDP_BATCH && done + n < s->n_upend; n++) {
            const struct sq *q = &r->q[s->upend[done + n]];
            iov[n] = (struct iovec){buf[n], dp__stub_build_query(buf[n], q, r->qtype)};
            memset(&mh[n], 0, sizeof mh[n]);
            mh[n].msg_hdr.msg_iov = &iov[n];
            mh[n].msg_hdr.msg_iovlen = 1;
        }
        int sent = sendmmsg(s->ufd, mh, n, MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
            snprintf(why, cap, "cannot reach the resolver: %s", strerror(errno));
            return -1;
        }
        done += (size_t)sent;
        if ((unsigned)sent < n) break; /* the socket is full: the rest waits for POLLOUT */
    }
    memmove(s->upend, s->upend + done, (s->n_upend - done) * sizeof *s->upend);
    s->n_upend -= done;
    return 0;
}

/* Reads the datagrams that have come, many to a recvmmsg: 1 if any came,
 * 0 if none had, -1 (why set) on an error (an ICMP refusal). Bounded, as
 * dp__stub_tcp_read. */
int dp__stub_udp_read(struct run *r, char *why, size_t cap)
{
    struct dp__stub *s = r->s;
    struct mmsghdr mh[STUB_UDP_BATCH];
    struct iovec iov[STUB_UDP_BATCH];
    int any = 0;
    for (int rounds = 0; rounds < 16; rounds++) {
        for (unsigned j = 0; j < STUB_UDP_BATCH; j++) {
            iov[j] = (struct iovec){s->uin + (size_t)j * STUB_UDP_IN, STUB_UDP_IN};
            memset(&mh[j], 0, sizeof mh[j]);
            mh[j].msg_hdr.msg_iov = &iov[j];
            mh[j].msg_hdr.msg_iovlen = 1;
        }
        int got = recvmmsg(s->ufd, mh, STUB_UDP_BATCH, MSG_DONTWAIT, NULL);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return any;
            snprintf(why, cap, "cannot reach the resolver: %s", strerror(errno));
            return -1;
        }
        any = 1;
        for (int j = 0; j < got; j++)
            if (!(mh[j].msg_hdr.msg_flags & MSG_TRUNC)) /* larger than any answer of ours */
                dp__stub_on_message(r, -1, s->uin + (size_t)j * STUB_UDP_IN, mh[j].msg_len);
        if (got < STUB_UDP_BATCH) return 1;
    }
    return 1;
}
