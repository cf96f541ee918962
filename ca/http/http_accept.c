/*
 * http_accept.c: the listening socket of a server behind trusted proxies
 * (http_accept.h). libmicrohttpd takes a connection's address from
 * accept(); behind HAProxy that is the proxy's. So this thread accepts,
 * reads a trusted proxy's PROXY v2 header (exactly its octets: the TLS
 * handshake after it stays in the socket), and hands the socket to
 * libmicrohttpd with the client's own address, which its per-address limit,
 * the request log and the rate limits then see. Anyone else's connection
 * is handed on at once, untouched: a PROXY header from them reaches the TLS
 * layer as garbage and the handshake fails.
 */
#define _GNU_SOURCE /* accept4, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_accept.h"

/* A header must come within this of the proxy's connection (HAProxy sends
 * it with the connection's first segment). */
#define HEADER_MS 5000
#define MAX_WAITING 1024

struct waiting {
    int fd;
    struct sockaddr_storage proxy;
    socklen_t proxy_len;
    unsigned char buf[PROXY_MAX_HEADER];
    size_t have;  /* octets in buf */
    size_t taken; /* of them, read off the socket (the rest were peeked) */
    double since, quiet_until;
};

struct http_acceptor {
    int lfd, wake[2];
    struct proxy_cidr trusted[PROXY_MAX_TRUSTED];
    size_t n_trusted;
    http_hand_fn hand;
    void *arg;
    struct waiting *w[MAX_WAITING];
    size_t n;
    pthread_t t;
};

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void forget(struct http_acceptor *a, size_t i, int close_it)
{
    if (close_it) close(a->w[i]->fd);
    free(a->w[i]);
    a->w[i] = a->w[--a->n];
}

/* Takes n octets already seen by a peek (so they are there): 0, or -1. */
static int take(int fd, size_t n)
{
    unsigned char sink[PROXY_MAX_HEADER];
    return recv(fd, sink, n, MSG_DONTWAIT) == (ssize_t)n ? 0 : -1;
}

/* Judges what has come, reading what the header still needs and never
 * more; 1 when the socket left the list (handed on or closed). Until the
 * octets are known to be a header they are only peeked at, so a trusted
 * host's own TLS handshake is handed on untouched. */
static int advance(struct http_acceptor *a, size_t i)
{
    struct waiting *w = a->w[i];
    for (;;) {
        size_t need = 0;
        struct sockaddr_storage client;
        socklen_t client_len;
        enum proxy_verdict v = proxy_v2_parse(w->buf, w->have, &need, &client, &client_len);
        if (v == PROXY_FOUND && w->taken < need && take(w->fd, need - w->taken)) v = PROXY_BAD;
        if (v == PROXY_BAD) {
            forget(a, i, 1);
            return 1;
        }
        if (v != PROXY_MORE) {
            int found = v == PROXY_FOUND && client_len;
            a->hand(a->arg, w->fd,
                    found ? (struct sockaddr *)&client : (struct sockaddr *)&w->proxy,
                    found ? client_len : w->proxy_len);
            forget(a, i, 0);
            return 1;
        }
        if (!w->taken && w->have >= 16) { /* a header for certain: take what was peeked */
            if (take(w->fd, w->have)) {
                forget(a, i, 1);
                return 1;
            }
            w->taken = w->have;
        }
        ssize_t r = w->taken ? recv(w->fd, w->buf + w->have, need - w->have, MSG_DONTWAIT)
                             : recv(w->fd, w->buf, need, MSG_PEEK | MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            forget(a, i, 1);
            return 1;
        }
        if (r < 0) return 0;
        if (!w->taken && (size_t)r <= w->have) {
            /* Peeked octets stay readable: look again a little later
             * rather than spin on them. */
            w->quiet_until = mono_ms() + 20;
            return 0;
        }
        if (w->taken) {
            w->have += (size_t)r;
            w->taken = w->have;
        } else {
            w->have = (size_t)r;
        }
    }
}

static void accept_one(struct http_acceptor *a)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int fd = accept4(a->lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (!proxy_trusted(a->trusted, a->n_trusted, (struct sockaddr *)&sa)) {
        a->hand(a->arg, fd, (struct sockaddr *)&sa, len);
        return;
    }
    struct waiting *w = a->n < MAX_WAITING ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        close(fd);
        return;
    }
    w->fd = fd;
    w->proxy = sa;
    w->proxy_len = len;
    w->since = mono_ms();
    a->w[a->n++] = w;
    advance(a, a->n - 1);
}

static void *run(void *arg)
{
    struct http_acceptor *a = arg;
    struct pollfd p[MAX_WAITING + 2];
    for (;;) {
        p[0] = (struct pollfd){a->wake[0], POLLIN, 0};
        p[1] = (struct pollfd){a->lfd, POLLIN, 0};
        size_t n = a->n;
        double before = mono_ms();
        for (size_t i = 0; i < n; i++)
            p[2 + i] = (struct pollfd){a->w[i]->fd, before < a->w[i]->quiet_until ? 0 : POLLIN, 0};
        if (poll(p, 2 + n, n ? 20 : 250) < 0 && errno != EINTR) break;
        if (p[0].revents) break;
        /* Newest first, so forget()'s swap never skips one. */
        double now = mono_ms();
        for (size_t i = n; i-- > 0;) {
            int again = a->w[i]->quiet_until && now >= a->w[i]->quiet_until;
            if (again) a->w[i]->quiet_until = 0;
            if ((p[2 + i].revents || again) && advance(a, i)) continue;
            if (now - a->w[i]->since > HEADER_MS) forget(a, i, 1);
        }
        if (p[1].revents & POLLIN) accept_one(a);
    }
    while (a->n)
        forget(a, 0, 1);
    return NULL;
}

struct http_acceptor *http_accept_start(int lfd, const struct proxy_cidr *trusted, size_t n,
                                        http_hand_fn hand, void *arg)
{
    struct http_acceptor *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->lfd = lfd;
    a->n_trusted = n < PROXY_MAX_TRUSTED ? n : PROXY_MAX_TRUSTED;
    memcpy(a->trusted, trusted, a->n_trusted * sizeof *trusted);
    a->hand = hand;
    a->arg = arg;
    if (pipe2(a->wake, O_CLOEXEC)) {
        free(a);
        return NULL;
    }
    if (pthread_create(&a->t, NULL, run, a)) {
        close(a->wake[0]);
        close(a->wake[1]);
        free(a);
        return NULL;
    }
    return a;
}

void http_accept_stop(struct http_acceptor *a)
{
    if (!a) return;
    if (write(a->wake[1], "x", 1) != 1) {
        /* the pipe is empty and ours: a write cannot fail here */
    }
    pthread_join(a->t, NULL);
    close(a->wake[0]);
    close(a->wake[1]);
    free(a);
}
