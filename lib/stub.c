/*
 * stub.c: a pipelining DNS stub (stub.h), over TCP or UDP. For bulk checks
 * the forwarder is a recursive resolver the operator names, so the stub
 * needs none of libunbound's iterator, cache or mesh, which cost ~40 µs a
 * name (an event added and removed, a write, allocations). Over TCP,
 * queries are framed (RFC 7766 section 8) into one buffer and written
 * together; answers are read many to a read and matched by ID and
 * question. Over TCP an off-path attacker cannot inject answers.
 *
 * Over UDP (the server answers a datagram for less than a TCP message:
 * twice as many a second from Knot), queries go out many to a sendmmsg
 * and come back many to a recvmmsg, and an off-path attacker must guess,
 * for each query: the source port (a fresh connected socket a batch,
 * its port the kernel's random pick), a random ID (16 bits), and the case
 * of every letter of the name (DNS 0x20: randomized, and the answer's
 * question must repeat it exactly; a resolver that does not is named in
 * the failure). A truncated answer is asked again over TCP. A query
 * unanswered for a third of its time is sent again, with a new ID.
 *
 * A kept connection the server closes is made again and the queries in
 * flight asked again (twice at most). Each query has its own deadline.
 *
 * A big batch spreads over up to STUB_MAX_CONNS connections: a server
 * serves one connection's queries in turn on one thread (Knot does), so
 * one connection leaves its other cores idle. A small batch (a CA's few
 * questions) fills the first connection only.
 */
#define _GNU_SOURCE /* sendmmsg, recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "internal.h"
#include "stub.h"

#define STUB_MAX_HOPS 8  /* CNAME targets asked after the name itself */
#define STUB_MAX_TRIES 3 /* sends of one query when connections break */
#define STUB_IN_CAP (2 * 65538)
#define STUB_MAX_CONNS 4
#define STUB_PER_CONN 64 /* queries in flight a connection before the next is used */
/* In flight over UDP at most, whatever the caller asks: a burst of more
 * overflows a server's default socket buffer (~200 KB, charged ~1 KB or
 * more a datagram), and each loss waits a third of the timeout. 64 reaches
 * Knot's limit on loopback already. An answer's ID is looked for among
 * them. */
#define STUB_UDP_MAX 64
#define STUB_UDP_BATCH 64 /* datagrams a recvmmsg */
#define STUB_UDP_IN 1500  /* an answer larger (we send no EDNS: 512 at most) is not ours */

struct conn {
    int fd;
    int streaming;  /* the last turn read answers */
    size_t answers; /* since it was made */
    size_t in_flight;
    unsigned char *in; /* STUB_IN_CAP, allocated at the first connect */
    size_t in_len;
    unsigned char *out;
    size_t out_len, out_cap;
};

struct dp__stub {
    struct sockaddr_storage addr;
    socklen_t alen;
    unsigned timeout_ms, max_in_flight;
    unsigned n_conns, per_conn;
    uint16_t id_base; /* TCP only: a query's ID is id_base + its slot */
    int32_t *slots;   /* max_in_flight: the query (index + 1) in flight in each, 0 none */
    uint32_t *free_slots;
    size_t n_free;
    struct conn c[STUB_MAX_CONNS];
    char refused[200]; /* why a connect failed in this batch: none is tried again */
    /* UDP: first choice for every query; c[] for truncated answers. */
    int udp;
    int ufd;          /* a batch's connected socket, or -1 */
    int ustreaming;   /* the last turn read answers */
    int case_changed; /* a batch's answer repeated a question in another case */
    size_t u_in_flight;
    uint16_t *slot_id; /* max_in_flight: the random ID of the query in each slot */
    unsigned char rnd[512];
    size_t rnd_left;
    size_t *upend; /* queries framed and waiting to be sent */
    size_t n_upend;
    unsigned char *uin; /* STUB_UDP_BATCH answers of STUB_UDP_IN each */
    struct sq *sqs;     /* a batch's queries, kept for the next */
    size_t *redo;
    size_t sq_cap;
};

/* Small and reused from batch to batch: a fresh 4,096 of them at 1.3 KB
 * each cost more in page faults than the look-ups. */
struct sq {
    const char *name; /* asked now: the caller's name, or chased */
    char *chased;     /* a CNAME's target being asked (malloc), or NULL */
    double deadline;
    double resend_at; /* UDP: sent again (new ID) when unanswered by then */
    int state;        /* 0 to send, 1 in flight, 2 answered */
    unsigned char hops, tries, wlen, conn;
    unsigned char tcp; /* asked over TCP (always, or after a truncated UDP answer) */
    uint16_t id;
    unsigned char wire[255]; /* name in wire form */
};

struct run {
    struct dp__stub *s;
    const char *const *names;
    size_t n, next, in_flight;
    int qtype;
    struct sq *q;
    size_t *redo; /* queries to send again (a CNAME target, a broken connection) */
    size_t n_redo;
    dp__stub_cb cb;
    void *arg;
};

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

static void drop_connection(struct conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->in_len = 0;
    c->out_len = 0;
    c->streaming = 0;
}

void dp__stub_free(struct dp__stub *s)
{
    if (!s) return;
    for (int k = 0; k < STUB_MAX_CONNS; k++) {
        drop_connection(&s->c[k]);
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

/* name (dots between labels, a final dot optional) in wire form; 0, or
 * -1 when it is not a name (an empty or long label, over 255 octets). */
static int to_wire(const char *name, unsigned char *w, unsigned char *wlen)
{
    size_t o = 0, l = strlen(name);
    if (l && name[l - 1] == '.') l--;
    for (size_t i = 0; l && i <= l;) {
        size_t j = i;
        while (j < l && name[j] != '.')
            j++;
        size_t ll = j - i;
        if (ll == 0 || ll > 63 || o + 1 + ll + 1 > 255) return -1;
        w[o++] = (unsigned char)ll;
        memcpy(w + o, name + i, ll);
        o += ll;
        i = j + 1;
    }
    w[o++] = 0;
    *wlen = (unsigned char)o;
    return 0;
}

/* Ends query i: the callback answers it or names the next name to ask. */
static void finish(struct run *r, size_t i, const unsigned char *pkt, size_t len, const char *fail)
{
    struct sq *q = &r->q[i];
    char next[1025] = "";
    int more = r->cb(r->arg, i, q->name, pkt, len, fail,
                     !fail && q->hops < STUB_MAX_HOPS ? next : NULL, sizeof next);
    char *c = more && next[0] ? strdup(next) : NULL;
    if (c) {
        free(q->chased);
        q->name = q->chased = c;
        q->hops++;
        q->tries = 0;
        q->state = 0;
        r->redo[r->n_redo++] = i;
        return;
    }
    q->state = 2;
}

/* The slot of the query in flight with ID id, or -1. Over TCP the ID
 * says it; over UDP IDs are random, and looked for among at most
 * STUB_UDP_MAX. */
static long find_slot(const struct dp__stub *s, uint16_t id)
{
    if (!s->udp) {
        uint16_t slot = (uint16_t)(id - s->id_base);
        return slot < s->max_in_flight && s->slots[slot] ? slot : -1;
    }
    for (size_t k = 0; k < s->max_in_flight; k++)
        if (s->slot_id[k] == id && s->slots[k]) return (long)k;
    return -1;
}

/* Random bytes, drawn from OpenSSL's DRBG a pool at a time. */
static int rnd(struct dp__stub *s, unsigned char *out, size_t n)
{
    if (s->rnd_left < n) {
        if (RAND_bytes(s->rnd, sizeof s->rnd) != 1) return -1;
        s->rnd_left = sizeof s->rnd;
    }
    s->rnd_left -= n;
    memcpy(out, s->rnd + s->rnd_left, n);
    return 0;
}

/* Takes a free slot for query i and gives it an ID: id_base + the slot
 * over TCP, a random one unused by any query in flight over UDP. -1 when
 * no random bytes can be had. */
static int take_slot(struct run *r, size_t i)
{
    struct dp__stub *s = r->s;
    struct sq *q = &r->q[i];
    uint32_t slot = s->free_slots[s->n_free - 1]; /* one is free: in_flight < max */
    uint16_t id = (uint16_t)(s->id_base + slot);
    if (s->udp) {
        unsigned char b[2];
        do {
            if (rnd(s, b, 2)) return -1;
            id = (uint16_t)(b[0] << 8 | b[1]);
        } while (find_slot(s, id) >= 0);
        s->slot_id[slot] = id;
    }
    s->n_free--;
    s->slots[slot] = (int32_t)i + 1;
    q->id = id;
    return 0;
}

/* Query q in flight no more: its slot given back (its ID with it). */
static void release(struct run *r, const struct sq *q)
{
    struct dp__stub *s = r->s;
    long slot = find_slot(s, q->id);
    if (slot >= 0) {
        s->slots[slot] = 0;
        s->free_slots[s->n_free++] = (uint32_t)slot;
    }
    if (q->tcp)
        s->c[q->conn].in_flight--;
    else
        s->u_in_flight--;
    r->in_flight--;
}

/* Answers query i (to send, or in flight) with a failure. */
static void fail_query(struct run *r, size_t i, const char *why)
{
    struct sq *q = &r->q[i];
    if (q->state == 1) release(r, q);
    q->state = 2;
    r->cb(r->arg, i, q->name, NULL, 0, why, NULL, 0);
}

/* Writes query q (12 + wlen + 4 octets) at p; its length. */
static size_t build_query(unsigned char *p, const struct sq *q, int qtype)
{
    memset(p, 0, 12);
    p[0] = (unsigned char)(q->id >> 8), p[1] = (unsigned char)q->id;
    p[2] = 0x01; /* RD: the forwarder recurses */
    p[5] = 1;    /* one question */
    memcpy(p + 12, q->wire, q->wlen);
    unsigned char *t = p + 12 + q->wlen;
    t[0] = (unsigned char)(qtype >> 8), t[1] = (unsigned char)qtype;
    t[2] = 0, t[3] = 1; /* IN */
    return 12 + (size_t)q->wlen + 4;
}

/* Frames query i into connection k's output buffer; -1 (and answered)
 * if it cannot. */
static int enqueue(struct run *r, size_t i, unsigned k)
{
    struct dp__stub *s = r->s;
    struct conn *c = &s->c[k];
    struct sq *q = &r->q[i];
    if (to_wire(q->name, q->wire, &q->wlen)) {
        fail_query(r, i, "not a valid DNS name");
        return -1;
    }
    size_t need = 2 + 12 + q->wlen + 4;
    if (c->out_len + need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 16384;
        while (cap < c->out_len + need)
            cap *= 2;
        unsigned char *o = realloc(c->out, cap);
        if (!o) {
            fail_query(r, i, "out of memory");
            return -1;
        }
        c->out = o;
        c->out_cap = cap;
    }
    if (take_slot(r, i)) {
        fail_query(r, i, "no random bytes for a query ID");
        return -1;
    }
    q->conn = (unsigned char)k;
    q->tcp = 1;
    unsigned char *p = c->out + c->out_len;
    size_t ml = need - 2;
    p[0] = (unsigned char)(ml >> 8), p[1] = (unsigned char)ml;
    build_query(p + 2, q, r->qtype);
    c->out_len += need;
    q->state = 1;
    q->tries++;
    q->deadline = dp__mono_ms() + s->timeout_ms;
    r->in_flight++;
    c->in_flight++;
    return 0;
}

/* Mixes the case of name's letters at random (DNS 0x20): one more bit an
 * attacker must guess per letter. -1 when no random bytes can be had. */
static int mix_case(struct dp__stub *s, unsigned char *w, size_t wlen)
{
    unsigned char b[32]; /* a bit an octet: wlen is at most 255 */
    if (rnd(s, b, (wlen + 7) / 8)) return -1;
    for (size_t j = 0; j < wlen; j++) {
        unsigned char ch = (unsigned char)dp__lower(w[j]);
        if (ch >= 'a' && ch <= 'z' && (b[j / 8] >> (j % 8) & 1)) ch ^= 0x20;
        w[j] = ch;
    }
    return 0;
}

/* Queues query i for the UDP socket (sent by flush_udp); -1 (and
 * answered) if it cannot. A query sent again keeps its first deadline. */
static int enqueue_udp(struct run *r, size_t i)
{
    struct dp__stub *s = r->s;
    struct sq *q = &r->q[i];
    if (to_wire(q->name, q->wire, &q->wlen)) {
        fail_query(r, i, "not a valid DNS name");
        return -1;
    }
    if (mix_case(s, q->wire, q->wlen) || take_slot(r, i)) {
        fail_query(r, i, "no random bytes for a query ID");
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

/* One response on connection k, or on the UDP socket (k -1): matched by
 * ID, transport and question, or ignored. Over UDP the question must
 * repeat the case it was asked in (0x20). */
static void on_message(struct run *r, int k, const unsigned char *m, size_t len)
{
    struct dp__stub *s = r->s;
    if (len < 12) return;
    long slot = find_slot(s, (uint16_t)(m[0] << 8 | m[1]));
    if (slot < 0) return; /* timed out already, or never asked */
    size_t i = (size_t)(s->slots[slot] - 1);
    struct sq *q = &r->q[i];
    if (k >= 0 ? !q->tcp || q->conn != k : q->tcp) return; /* asked elsewhere */
    /* A response (QR), a standard query's (opcode 0), to our question. */
    if (!(m[2] & 0x80) || (m[2] & 0x78) || (m[4] << 8 | m[5]) != 1 ||
        len < 12 + (size_t)q->wlen + 4)
        return;
    int exact = 1;
    for (size_t j = 0; j < q->wlen; j++) {
        if (dp__lower(m[12 + j]) != dp__lower(q->wire[j])) return;
        exact &= m[12 + j] == q->wire[j];
    }
    if (k < 0 && !exact) {
        s->case_changed = 1; /* named if the query then times out */
        return;
    }
    const unsigned char *t = m + 12 + q->wlen;
    if ((t[0] << 8 | t[1]) != r->qtype || (t[2] << 8 | t[3]) != 1) return;
    release(r, q);
    if (k < 0 && (m[2] & 0x02)) { /* truncated (TC): ask again over TCP */
        q->tcp = 1;
        q->tries = 0;
        q->state = 0;
        r->redo[r->n_redo++] = i;
        return;
    }
    if (k >= 0) s->c[k].answers++;
    finish(r, i, m, len, NULL);
}

/* Connection k broke: its queries go again on a new one. A query fails
 * after STUB_MAX_TRIES connections that answered nothing (a server that
 * closes every connection at once), not when a server that does answer
 * closes kept connections now and then. */
static void broken(struct run *r, unsigned k, const char *why)
{
    struct conn *c = &r->s->c[k];
    int answered = c->answers > 0;
    drop_connection(c);
    for (size_t i = 0; i < r->next; i++) {
        struct sq *q = &r->q[i];
        if (q->state != 1 || q->conn != k) continue;
        if (answered) q->tries--; /* a drop by a server that answers does not count */
        if (q->tries >= STUB_MAX_TRIES) {
            fail_query(r, i, why);
            continue;
        }
        release(r, q);
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
static int pick(struct run *r, char *why, size_t cap)
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
static int read_some(struct run *r, unsigned k)
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
            on_message(r, (int)k, c->in + off + 2, ml);
            off += 2 + ml;
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        if ((size_t)got < STUB_IN_CAP / 2) return 1; /* drained, most likely */
    }
    return 1;
}

static int flush(struct conn *c)
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

/* A fresh connected UDP socket for a batch: the kernel picks its port at
 * random, and hands it datagrams from the resolver's address and port
 * only. */
static int udp_open(struct dp__stub *s, char *why, size_t cap)
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
static void udp_failed(struct run *r, const char *why)
{
    r->s->n_upend = 0;
    for (size_t i = 0; i < r->next; i++)
        if (r->q[i].state == 1 && !r->q[i].tcp) fail_query(r, i, why);
}

/* Sends the queued datagrams, many to a sendmmsg; what the socket cannot
 * take now stays queued. -1 (why set) on an error: an ICMP refusal from
 * an earlier datagram comes back here or at the next read. */
static int flush_udp(struct run *r, char *why, size_t cap)
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
            iov[n] = (struct iovec){buf[n], build_query(buf[n], q, r->qtype)};
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
 * read_some. */
static int read_udp(struct run *r, char *why, size_t cap)
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
                on_message(r, -1, s->uin + (size_t)j * STUB_UDP_IN, mh[j].msg_len);
        if (got < STUB_UDP_BATCH) return 1;
    }
    return 1;
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
            enqueue_udp(r, i);
            continue;
        }
        int k = pick(r, why, cap);
        if (k == -1) return 0; /* every connection full: after some answers */
        if (k == -2 && !s->udp) return -1;
        r->n_redo--;
        if (k == -2) /* over UDP, only what came back truncated needs TCP */
            fail_query(r, i, why);
        else
            enqueue(r, i, (unsigned)k);
    }
    size_t room = s->max_in_flight - r->in_flight, left = r->n - r->next;
    size_t chunk = s->max_in_flight / 4 ? s->max_in_flight / 4 : 1;
    while (room >= (left < chunk ? left : chunk) && r->next < r->n) {
        r->q[r->next].name = r->names[r->next];
        if (s->udp) {
            enqueue_udp(r, r->next++);
        } else {
            int k = pick(r, why, cap);
            if (k < 0) return k == -2 ? -1 : 0;
            enqueue(r, r->next++, (unsigned)k);
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
    if (s->udp && udp_open(s, why, sizeof why)) {
        for (; r.next < n; r.next++) {
            r.q[r.next].name = names[r.next];
            fail_query(&r, r.next, why);
        }
    }
    for (;;) {
        if (send_queries(&r, why, sizeof why)) {
            while (r.n_redo)
                fail_query(&r, r.redo[--r.n_redo], why);
            for (; r.next < n; r.next++) {
                r.q[r.next].name = names[r.next];
                fail_query(&r, r.next, why);
            }
        }
        if (s->n_upend && flush_udp(&r, why, sizeof why)) udp_failed(&r, why);
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
            int g = c->out_len && flush(c) ? -1 : c->streaming ? read_some(&r, k) : 0;
            if (g < 0) {
                broken(&r, k, "the resolver closed the connection");
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
            int g = s->ustreaming ? read_udp(&r, why, sizeof why) : 0;
            if (g < 0) udp_failed(&r, why);
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
                    udp_failed(&r, "poll failed");
                else
                    broken(&r, map[j], "poll failed");
            continue;
        }
        for (unsigned j = 0; pr > 0 && j < np; j++) {
            if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (map[j] == STUB_MAX_CONNS) {
                int g = read_udp(&r, why, sizeof why);
                if (g < 0) udp_failed(&r, why);
                s->ustreaming = g > 0;
                continue;
            }
            int g = read_some(&r, map[j]);
            if (g < 0)
                broken(&r, map[j], "the resolver closed the connection");
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
                fail_query(&r, i, why);
            } else if (!q->tcp && q->resend_at <= t && q->tries < STUB_MAX_TRIES) {
                release(&r, q); /* lost, most likely: sent again with a new ID */
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
