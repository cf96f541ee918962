/*
 * stub.c: a pipelining DNS stub over TCP (stub.h). For bulk checks the
 * forwarder is a recursive resolver the operator names, and over TCP an
 * off-path attacker cannot inject answers, so the stub needs none of
 * libunbound's iterator, cache or mesh, which cost ~40 µs a name (an
 * event added and removed, a write, allocations). Here queries are
 * framed (RFC 7766 section 8) into one buffer and written together;
 * answers are read many to a read and matched by ID and question.
 *
 * A kept connection the server closes is made again and the queries in
 * flight asked again (twice at most). Each query has its own deadline.
 */
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
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "internal.h"
#include "stub.h"

#define STUB_MAX_HOPS 8  /* CNAME targets asked after the name itself */
#define STUB_MAX_TRIES 3 /* sends of one query when connections break */
#define STUB_IN_CAP (2 * 65538)

struct dp__stub {
    struct sockaddr_storage addr;
    socklen_t alen;
    int fd;
    unsigned timeout_ms, max_in_flight;
    uint16_t id_base;    /* random: a query's ID is id_base + its slot */
    size_t conn_answers; /* on the connection now open */
    int32_t *slots;      /* max_in_flight: the query (index + 1) in flight in each, 0 none */
    uint32_t *free_slots;
    size_t n_free;
    unsigned char *in;
    size_t in_len;
    unsigned char *out;
    size_t out_len, out_cap;
    struct sq *sqs; /* a batch's queries, kept for the next */
    size_t *redo;
    size_t sq_cap;
};

/* Small and reused from batch to batch: a fresh 4,096 of them at 1.3 KB
 * each cost more in page faults than the look-ups. */
struct sq {
    const char *name; /* asked now: the caller's name, or chased */
    char *chased;     /* a CNAME's target being asked (malloc), or NULL */
    double deadline;
    int state; /* 0 to send, 1 in flight, 2 answered */
    unsigned char hops, tries, wlen;
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

struct dp__stub *dp__stub_new(const char *addr, unsigned timeout_ms, unsigned max_in_flight,
                              struct dp_error *err)
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
        dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "resolver 'tcp:%s' is not tcp:ADDR[@PORT]",
                 addr);
        return NULL;
    }
    s->fd = -1;
    s->timeout_ms = timeout_ms ? timeout_ms : 5000;
    s->max_in_flight = max_in_flight ? max_in_flight : 256;
    if (s->max_in_flight > 60000) s->max_in_flight = 60000; /* IDs are 16 bits */
    /* One slot a query in flight, not a table of every 16-bit ID: a CA has
     * a resolver a thread, and 256 KB each added up. */
    s->slots = calloc(s->max_in_flight, sizeof *s->slots);
    s->free_slots = calloc(s->max_in_flight, sizeof *s->free_slots);
    for (size_t i = 0; s->free_slots && i < s->max_in_flight; i++)
        s->free_slots[s->n_free++] = (uint32_t)(s->max_in_flight - 1 - i);
    s->in = malloc(STUB_IN_CAP);
    unsigned char seed[2];
    if (RAND_bytes(seed, sizeof seed) == 1) s->id_base = (uint16_t)(seed[0] << 8 | seed[1]);
    if (!s->slots || !s->free_slots || !s->in) {
        dp__stub_free(s);
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    return s;
}

static void drop_connection(struct dp__stub *s)
{
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    s->in_len = 0;
    s->out_len = 0;
}

void dp__stub_free(struct dp__stub *s)
{
    if (!s) return;
    drop_connection(s);
    free(s->slots);
    free(s->free_slots);
    free(s->in);
    free(s->out);
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

/* The slot of query q in flight given back (its ID with it). */
static void release(struct dp__stub *s, const struct sq *q)
{
    uint32_t slot = (uint16_t)(q->id - s->id_base);
    s->slots[slot] = 0;
    s->free_slots[s->n_free++] = slot;
}

/* Answers query i (to send, or in flight) with a failure. */
static void fail_query(struct run *r, size_t i, const char *why)
{
    struct sq *q = &r->q[i];
    if (q->state == 1) {
        release(r->s, q);
        r->in_flight--;
    }
    q->state = 2;
    r->cb(r->arg, i, q->name, NULL, 0, why, NULL, 0);
}

/* Frames query i into the output buffer; -1 (and answered) if it cannot. */
static int enqueue(struct run *r, size_t i)
{
    struct dp__stub *s = r->s;
    struct sq *q = &r->q[i];
    if (to_wire(q->name, q->wire, &q->wlen)) {
        fail_query(r, i, "not a valid DNS name");
        return -1;
    }
    size_t need = 2 + 12 + q->wlen + 4;
    if (s->out_len + need > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap * 2 : 65536;
        while (cap < s->out_len + need)
            cap *= 2;
        unsigned char *o = realloc(s->out, cap);
        if (!o) {
            fail_query(r, i, "out of memory");
            return -1;
        }
        s->out = o;
        s->out_cap = cap;
    }
    uint32_t slot = s->free_slots[--s->n_free]; /* one is free: in_flight < max */
    s->slots[slot] = (int32_t)i + 1;
    q->id = (uint16_t)(s->id_base + slot);
    unsigned char *p = s->out + s->out_len;
    size_t ml = need - 2;
    p[0] = (unsigned char)(ml >> 8), p[1] = (unsigned char)ml;
    p += 2;
    memset(p, 0, 12);
    p[0] = (unsigned char)(q->id >> 8), p[1] = (unsigned char)q->id;
    p[2] = 0x01; /* RD: the forwarder recurses */
    p[5] = 1;    /* one question */
    memcpy(p + 12, q->wire, q->wlen);
    p += 12 + q->wlen;
    p[0] = (unsigned char)(r->qtype >> 8), p[1] = (unsigned char)r->qtype;
    p[2] = 0, p[3] = 1; /* IN */
    s->out_len += need;
    q->state = 1;
    q->tries++;
    q->deadline = dp__mono_ms() + s->timeout_ms;
    r->in_flight++;
    return 0;
}

/* One response: matched by ID and question, or ignored. */
static void on_message(struct run *r, const unsigned char *m, size_t len)
{
    if (len < 12) return;
    uint16_t slot = (uint16_t)((m[0] << 8 | m[1]) - r->s->id_base);
    int32_t k = slot < r->s->max_in_flight ? r->s->slots[slot] : 0;
    if (!k) return; /* timed out already, or never asked */
    size_t i = (size_t)(k - 1);
    struct sq *q = &r->q[i];
    /* A response (QR), a standard query's (opcode 0), to our question. */
    if (!(m[2] & 0x80) || (m[2] & 0x78) || (m[4] << 8 | m[5]) != 1 ||
        len < 12 + (size_t)q->wlen + 4)
        return;
    for (size_t j = 0; j < q->wlen; j++) {
        if (dp__lower(m[12 + j]) != dp__lower(q->wire[j])) return;
    }
    const unsigned char *t = m + 12 + q->wlen;
    if ((t[0] << 8 | t[1]) != r->qtype || (t[2] << 8 | t[3]) != 1) return;
    release(r->s, q);
    r->s->conn_answers++;
    r->in_flight--;
    finish(r, i, m, len, NULL);
}

/* The connection broke: its queries go again on a new one. A query fails
 * after STUB_MAX_TRIES connections that answered nothing (a server that
 * closes every connection at once), not when a server that does answer
 * closes kept connections now and then. */
static void broken(struct run *r, const char *why)
{
    int answered = r->s->conn_answers > 0;
    drop_connection(r->s);
    for (size_t i = 0; i < r->next; i++) {
        struct sq *q = &r->q[i];
        if (q->state != 1) continue;
        if (answered) q->tries--; /* a drop by a server that answers does not count */
        if (q->tries >= STUB_MAX_TRIES) {
            fail_query(r, i, why);
            continue;
        }
        release(r->s, q);
        r->in_flight--;
        q->state = 0;
        r->redo[r->n_redo++] = i;
    }
}

static int connect_now(struct dp__stub *s, char *why, size_t cap)
{
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
    s->fd = fd;
    s->conn_answers = 0;
    return 0;
}

/* Reads what has come and handles every whole message: 1 if anything
 * came, 0 if nothing had, -1 when the connection ended or broke. Bounded,
 * so that a server streaming without end cannot keep the batch from its
 * deadlines. */
static int read_some(struct run *r)
{
    struct dp__stub *s = r->s;
    int any = 0;
    for (int rounds = 0; rounds < 16; rounds++) {
        ssize_t got = recv(s->fd, s->in + s->in_len, STUB_IN_CAP - s->in_len, MSG_DONTWAIT);
        if (got == 0) return -1;
        if (got < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? any : -1;
        any = 1;
        s->in_len += (size_t)got;
        /* With nothing left to send (the batch's tail, or a CA's few
         * questions), acknowledge at once: a server that writes answers
         * with Nagle on (Knot) holds the next until this one's ACK, which
         * Linux delays up to 40 ms. While queries still go out, they carry
         * the ACKs. The flag does not stick. */
        if (r->next == r->n && !r->n_redo) {
            int one = 1;
            setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        size_t off = 0;
        while (s->in_len - off >= 2) {
            size_t ml = (size_t)(s->in[off] << 8 | s->in[off + 1]);
            if (s->in_len - off - 2 < ml) break;
            on_message(r, s->in + off + 2, ml);
            off += 2 + ml;
        }
        memmove(s->in, s->in + off, s->in_len - off);
        s->in_len -= off;
        if ((size_t)got < STUB_IN_CAP / 2) return 1; /* drained, most likely */
    }
    return 1;
}

static int flush(struct dp__stub *s)
{
    size_t off = 0;
    while (off < s->out_len) {
        ssize_t w = send(s->fd, s->out + off, s->out_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        off += (size_t)w;
    }
    memmove(s->out, s->out + off, s->out_len - off);
    s->out_len -= off;
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
    struct run r = {s, names, n, 0, 0, qtype, s->sqs, s->redo, 0, cb, arg};
    size_t lo = 0;     /* no query before it is in flight */
    int streaming = 0; /* the last turn read answers */
    char why[200];
    for (;;) {
        /* Queries to send: first again, then new ones, within the window. */
        if (s->fd < 0 && (r.n_redo || r.next < n) && connect_now(s, why, sizeof why)) {
            while (r.n_redo)
                fail_query(&r, r.redo[--r.n_redo], why);
            for (; r.next < n; r.next++) {
                r.q[r.next].name = names[r.next];
                fail_query(&r, r.next, why);
            }
            break;
        }
        while (r.n_redo && r.in_flight < s->max_in_flight)
            enqueue(&r, r.redo[--r.n_redo]);
        /* New queries go in chunks of a quarter of the window (or what is
         * left): a write and a server's read per few answers, not per one,
         * while the rest of the window keeps the server busy. */
        size_t room = s->max_in_flight - r.in_flight, left = n - r.next;
        size_t chunk = s->max_in_flight / 4 ? s->max_in_flight / 4 : 1;
        if (room >= (left < chunk ? left : chunk)) {
            while (r.next < n && r.in_flight < s->max_in_flight) {
                r.q[r.next].name = names[r.next];
                enqueue(&r, r.next++);
            }
        }
        if (!r.in_flight && !r.n_redo && r.next == n) break;
        if (!r.in_flight) continue;
        if (s->out_len && flush(s)) {
            broken(&r, "the resolver closed the connection");
            continue;
        }
        /* While answers stream in, read on without a poll: on a busy
         * connection one is there by the time the last is handled, and a
         * poll is a system call (and a sleep) a turn. */
        int got = streaming ? read_some(&r) : 0;
        if (got < 0) {
            broken(&r, "the resolver closed the connection");
            continue;
        }
        /* Nothing yet: wait for answers until the earliest deadline. */
        while (lo < r.next && r.q[lo].state == 2)
            lo++;
        double t = dp__mono_ms(), first = t + s->timeout_ms;
        for (size_t i = lo; !got && i < r.next; i++)
            if (r.q[i].state == 1 && r.q[i].deadline < first) first = r.q[i].deadline;
        struct pollfd p = {s->fd, (short)(POLLIN | (s->out_len ? POLLOUT : 0)), 0};
        int pr = got ? 0 : first > t ? poll(&p, 1, (int)(first - t) + 1) : 0;
        if (pr < 0 && errno != EINTR) {
            broken(&r, "poll failed");
            continue;
        }
        if (pr > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) && (got = read_some(&r)) < 0) {
            broken(&r, "the resolver closed the connection");
            continue;
        }
        streaming = got > 0;
        t = dp__mono_ms();
        for (size_t i = lo; i < r.next; i++)
            if (r.q[i].state == 1 && r.q[i].deadline <= t) {
                snprintf(why, sizeof why, "timed out after %u ms", s->timeout_ms);
                fail_query(&r, i, why);
            }
    }
    for (size_t i = 0; i < n; i++)
        free(r.q[i].chased);
    return DP_OK;
}
