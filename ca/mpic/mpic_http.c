/*
 * mpic_http.c: the primary's HTTPS client for its perspectives
 * (mpic_http.h). Every connection is a small state machine driven by one
 * poll over all of a call's sockets: connect, TLS handshake, write the
 * request, read the answer. Sockets are non-blocking, so one slow or
 * silent perspective holds no other, and the call's deadline bounds all.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "mpic_http.h"

struct mh_ctx {
    SSL_CTX *ssl;
};

enum { C_IDLE, C_CONNECT, C_HANDSHAKE, C_WRITE, C_READ, C_DONE, C_FAILED };

struct mh_conn {
    struct mh_ctx *x;
    char host[256], port[8], path[600], hosthdr[300];
    int ip_literal;
    int fd;
    struct addrinfo *ai, *next; /* while connecting: the addresses, the next to try */
    SSL *ssl;
    SSL_SESSION *sess; /* the last connection's, to resume the next */
    int state;
    int kept;    /* this attempt runs on a connection an earlier call made */
    int retried; /* this call already made its connection again */
    int fresh;   /* a connection was made during this call */
    char *req;
    size_t req_len, req_cap;
    char buf[MH_BUF];
    size_t len;
    struct mh_head head;
    char why[200];
};

static void ssl_why(char *why, size_t cap, const char *what)
{
    unsigned long e = ERR_get_error();
    char msg[160] = "";
    if (e) ERR_error_string_n(e, msg, sizeof msg);
    snprintf(why, cap, "%s%s%s", what, msg[0] ? ": " : "", msg);
    ERR_clear_error();
}

/* ---- the TLS context ---- */

static int add_roots(SSL_CTX *s, const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509_STORE *st = SSL_CTX_get_cert_store(s);
    int n = 0;
    X509 *c;
    while (b && (c = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        n += X509_STORE_add_cert(st, c) == 1;
        X509_free(c);
    }
    ERR_clear_error(); /* the end of the PEM text reads as an error */
    BIO_free(b);
    return n > 0 ? 0 : -1;
}

static int use_cert(SSL_CTX *s, const char *cert_pem, const char *key_pem)
{
    BIO *cb = BIO_new_mem_buf(cert_pem, -1), *kb = BIO_new_mem_buf(key_pem, -1);
    X509 *c = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int ok = c && k && SSL_CTX_use_certificate(s, c) == 1 && SSL_CTX_use_PrivateKey(s, k) == 1 &&
             SSL_CTX_check_private_key(s) == 1;
    X509_free(c);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    return ok ? 0 : -1;
}

struct mh_ctx *mh_ctx_new(const char *cert_pem, const char *key_pem, const char *root_pem,
                          char *why, size_t cap)
{
    struct mh_ctx *x = calloc(1, sizeof *x);
    if (!x || !(x->ssl = SSL_CTX_new(TLS_client_method()))) {
        ssl_why(why, cap, "out of memory");
        mh_ctx_free(x);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(x->ssl, TLS1_2_VERSION);
    SSL_CTX_set_verify(x->ssl, SSL_VERIFY_PEER, NULL);
    /* A server that closes an idle connection without close_notify reads
     * as a plain close, which makes the connection again; a truncated
     * answer still fails, since its Content-Length is not reached. */
    SSL_CTX_set_options(x->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* One read takes every record that has come (headers and body are
     * two records), not a header and then a body per record; step()
     * reads until it would block, so nothing waits in OpenSSL's buffer
     * while poll sleeps. */
    SSL_CTX_set_read_ahead(x->ssl, 1);
    /* Sessions are kept by each connection (SSL_get1_session), not in a
     * cache shared behind a lock. */
    SSL_CTX_set_session_cache_mode(x->ssl, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    if (use_cert(x->ssl, cert_pem, key_pem)) {
        ssl_why(why, cap, "the corroboration client certificate or key");
        mh_ctx_free(x);
        return NULL;
    }
    if (add_roots(x->ssl, root_pem)) {
        ssl_why(why, cap, "the root certificate");
        mh_ctx_free(x);
        return NULL;
    }
    return x;
}

void mh_ctx_free(struct mh_ctx *x)
{
    if (!x) return;
    SSL_CTX_free(x->ssl);
    free(x);
}

/* ---- one perspective ---- */

struct mh_conn *mh_conn_new(struct mh_ctx *x, const char *url, const char *path, char *why,
                            size_t cap)
{
    if (strncmp(url, "https://", 8)) {
        snprintf(why, cap, "%s: not an https:// URL", url);
        return NULL;
    }
    const char *a = url + 8, *slash = strchr(a, '/');
    size_t alen = slash ? (size_t)(slash - a) : strlen(a);
    const char *prefix = slash ? slash : "";
    struct mh_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    c->x = x;
    c->fd = -1;
    const char *port = NULL;
    size_t hlen;
    if (alen && a[0] == '[') { /* [v6]:port */
        const char *rb = memchr(a, ']', alen);
        if (!rb) goto bad;
        hlen = (size_t)(rb - a - 1);
        if (hlen >= sizeof c->host) goto bad;
        memcpy(c->host, a + 1, hlen);
        if ((size_t)(rb + 1 - a) < alen) {
            if (rb[1] != ':') goto bad;
            port = rb + 2;
        }
        c->ip_literal = 1;
    } else {
        const char *colon = memchr(a, ':', alen);
        hlen = colon ? (size_t)(colon - a) : alen;
        if (!hlen || hlen >= sizeof c->host) goto bad;
        memcpy(c->host, a, hlen);
        if (colon) port = colon + 1;
        struct in_addr v4;
        c->ip_literal = inet_pton(AF_INET, c->host, &v4) == 1;
    }
    size_t plen = port ? (size_t)(a + alen - port) : 0;
    if (port && (plen == 0 || plen >= sizeof c->port || strspn(port, "0123456789") < plen))
        goto bad;
    if (port)
        memcpy(c->port, port, plen);
    else
        snprintf(c->port, sizeof c->port, "443");
    snprintf(c->hosthdr, sizeof c->hosthdr, "%.*s", (int)alen, a);
    if (snprintf(c->path, sizeof c->path, "%s%s", prefix, path) >= (int)sizeof c->path) goto bad;
    return c;
bad:
    snprintf(why, cap, "%s: not https://HOST[:PORT][/PATH]", url);
    free(c);
    return NULL;
}

static void drop(struct mh_conn *c)
{
    if (c->ssl) SSL_free(c->ssl);
    if (c->fd >= 0) close(c->fd);
    c->ssl = NULL;
    c->fd = -1;
    if (c->ai) freeaddrinfo(c->ai);
    c->ai = c->next = NULL;
}

void mh_conn_free(struct mh_conn *c)
{
    if (!c) return;
    drop(c);
    SSL_SESSION_free(c->sess);
    free(c->req);
    free(c);
}

/* Ends this call for c: "no answer: what[: detail]". */
static void fail(struct mh_conn *c, const char *what, const char *detail)
{
    snprintf(c->why, sizeof c->why, "no answer: %s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
    drop(c);
    c->state = C_FAILED;
}

/* The next of the host's addresses: its connect under way (C_CONNECT),
 * or failed when none is left. */
static void try_next(struct mh_conn *c, int err)
{
    for (; c->next; c->next = c->next->ai_next) {
        struct addrinfo *p = c->next;
        int fd = socket(p->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, p->ai_addr, p->ai_addrlen) == 0 || errno == EINPROGRESS) {
            c->fd = fd;
            c->next = p->ai_next;
            c->state = C_CONNECT;
            return;
        }
        err = errno;
        close(fd);
    }
    fail(c, "cannot connect", strerror(err));
}

/* A new connection: the host's addresses are tried in turn. */
static void start_connect(struct mh_conn *c)
{
    drop(c);
    c->kept = 0;
    c->fresh = 1;
    struct addrinfo hints = {0};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(c->host, c->port, &hints, &c->ai);
    if (rc) {
        c->ai = NULL;
        fail(c, "cannot resolve the host", gai_strerror(rc));
        return;
    }
    c->next = c->ai;
    try_next(c, ECONNREFUSED);
}

static void start_tls(struct mh_conn *c)
{
    if (!(c->ssl = SSL_new(c->x->ssl)) || SSL_set_fd(c->ssl, c->fd) != 1) {
        fail(c, "out of memory (TLS)", NULL);
        return;
    }
    /* The perspective's certificate must name the host the URL names. */
    X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
    int ok = c->ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(vp, c->host) == 1
                           : SSL_set1_host(c->ssl, c->host) == 1 &&
                                 SSL_set_tlsext_host_name(c->ssl, c->host) == 1;
    if (!ok) {
        fail(c, "cannot set the name to verify", NULL);
        return;
    }
    if (c->sess) SSL_set_session(c->ssl, c->sess);
    c->state = C_HANDSHAKE;
}

/* After an I/O call returned r <= 0: 1 to wait (poll), 0 when the peer
 * closed, -1 on an error (why set). */
static int io_wait(struct mh_conn *c, int r, const char *what)
{
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 1;
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
                                       (errno == 0 || errno == ECONNRESET || errno == EPIPE)))
        return 0;
    char w[180];
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        snprintf(w, sizeof w, "%s: %s", what, strerror(errno));
    else
        ssl_why(w, sizeof w, what);
    if (c->ssl && SSL_get_verify_result(c->ssl) != X509_V_OK)
        snprintf(w, sizeof w, "%s: the perspective's certificate: %s", what,
                 X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
    fail(c, w, NULL);
    return -1;
}

/* The kept connection was closed by the server before any of the answer
 * came: make it again, once. */
static int reconnect_ok(struct mh_conn *c)
{
    if (!c->kept || c->retried || c->len) return 0;
    c->retried = 1;
    start_connect(c);
    return 1;
}

/* Runs c as far as it goes without waiting; polled when poll said its
 * socket is ready (a connect under way is only checked then). */
static void step(struct mh_conn *c, int polled)
{
    for (;;) {
        switch (c->state) {
        case C_CONNECT: {
            if (!polled) return;
            polled = 0;
            int err = 0;
            socklen_t l = sizeof err;
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
                close(c->fd);
                c->fd = -1;
                try_next(c, err ? err : errno);
                return;
            }
            freeaddrinfo(c->ai);
            c->ai = c->next = NULL;
            start_tls(c);
            break;
        }
        case C_HANDSHAKE: {
            ERR_clear_error();
            errno = 0;
            int r = SSL_connect(c->ssl);
            if (r == 1) {
                c->state = C_WRITE;
                break;
            }
            if (io_wait(c, r, "TLS handshake") == 0)
                fail(c, "the perspective closed the TLS handshake", NULL);
            return;
        }
        case C_WRITE: {
            ERR_clear_error();
            errno = 0;
            int r = SSL_write(c->ssl, c->req, (int)c->req_len);
            if (r > 0) {
                c->state = C_READ; /* the answer needs the perspective's look-ups: */
                return;            /* poll first, not a read that would block */
            }
            int w = io_wait(c, r, "sending");
            if (w == 0 && !reconnect_ok(c)) fail(c, "connection closed", NULL);
            return;
        }
        case C_READ: {
            ERR_clear_error();
            errno = 0;
            int r = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - 1 - c->len));
            if (r > 0) {
                c->len += (size_t)r;
                c->buf[c->len] = '\0';
                char w[120];
                int p = mh_parse(c->buf, c->len, &c->head, w, sizeof w);
                if (p < 0) {
                    fail(c, "a malformed HTTP answer", w);
                    return;
                }
                if (p == 1) {
                    c->state = C_DONE;
                    return;
                }
                if (c->len == sizeof c->buf - 1) {
                    fail(c, "the answer is too large", NULL);
                    return;
                }
                break;
            }
            int w = io_wait(c, r, "receiving");
            if (w == 0 && !reconnect_ok(c)) fail(c, "connection closed before the answer", NULL);
            return;
        }
        default:
            return;
        }
    }
}

static short events_of(const struct mh_conn *c)
{
    if (c->state == C_CONNECT) return POLLOUT;
    return SSL_want_write(c->ssl) ? POLLOUT : POLLIN;
}

static int build_request(struct mh_conn *c, const char *body, size_t blen)
{
    char head[1200];
    int hl = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      c->path, c->hosthdr, blen);
    if (hl < 0 || (size_t)hl >= sizeof head) return -1;
    size_t need = (size_t)hl + blen;
    if (need > c->req_cap) {
        char *n = realloc(c->req, need);
        if (!n) return -1;
        c->req = n;
        c->req_cap = need;
    }
    memcpy(c->req, head, (size_t)hl);
    memcpy(c->req + hl, body, blen);
    c->req_len = need; /* one write, one TLS record: the request is small */
    return 0;
}

void mh_post_all(struct mh_conn **conns, size_t n, const char *body, long timeout_ms,
                 struct mh_result *res)
{
    size_t blen = strlen(body);
    double deadline = mono_ms() + (double)timeout_ms;
    for (size_t i = 0; i < n; i++) {
        struct mh_conn *c = conns[i];
        c->len = 0;
        c->buf[0] = '\0';
        c->why[0] = '\0';
        c->retried = c->fresh = 0;
        if (build_request(c, body, blen)) {
            fail(c, "out of memory", NULL);
            continue;
        }
        if (c->ssl) {
            c->kept = 1;
            c->state = C_WRITE;
        } else {
            start_connect(c);
        }
        step(c, 0);
    }
    struct pollfd pf[64];
    size_t who[64];
    for (;;) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) /* what OpenSSL holds, poll cannot see */
            if (conns[i]->state == C_READ && SSL_has_pending(conns[i]->ssl)) step(conns[i], 0);
        for (size_t i = 0; i < n && k < 64; i++)
            if (conns[i]->state != C_DONE && conns[i]->state != C_FAILED) {
                pf[k] = (struct pollfd){conns[i]->fd, events_of(conns[i]), 0};
                who[k++] = i;
            }
        if (!k) break;
        double left = deadline - mono_ms();
        int r = left > 0 ? poll(pf, k, left < 1 ? 1 : (int)left) : 0;
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            char t[60];
            snprintf(t, sizeof t, "timed out after %ld ms", timeout_ms);
            for (size_t j = 0; j < k; j++)
                fail(conns[who[j]], t, NULL);
            break;
        }
        for (size_t j = 0; j < k; j++)
            if (pf[j].revents) step(conns[who[j]], 1);
    }
    for (size_t i = 0; i < n; i++) {
        struct mh_conn *c = conns[i];
        struct mh_result *o = &res[i];
        memset(o, 0, sizeof *o);
        o->new_connection = c->fresh;
        if (c->state != C_DONE) {
            snprintf(o->why, sizeof o->why, "%s", c->why[0] ? c->why : "no answer");
            c->state = C_IDLE;
            continue;
        }
        o->answered = 1;
        o->status = c->head.status;
        c->buf[c->head.body_off + c->head.body_len] = '\0';
        o->body = c->buf + c->head.body_off;
        o->len = c->head.body_len;
        /* Kept for the next call; its session for the time it must be
         * made again (a TLS 1.3 ticket arrives after the handshake). */
        SSL_SESSION *s = SSL_get1_session(c->ssl);
        if (s && SSL_SESSION_is_resumable(s)) {
            SSL_SESSION_free(c->sess);
            c->sess = s;
        } else {
            SSL_SESSION_free(s);
        }
        if (c->head.close) drop(c);
        c->state = C_IDLE;
    }
}

/* ---- the answer ---- */

static int bad(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s", what);
    return -1;
}

static int header_is(const char *p, const char *eol, const char *name)
{
    size_t l = strlen(name);
    return (size_t)(eol - p) >= l && !strncasecmp(p, name, l);
}

int mh_parse(const char *buf, size_t len, struct mh_head *h, char *why, size_t cap)
{
    memset(h, 0, sizeof *h);
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return len >= MH_BUF - 1 ? bad(why, cap, "the answer's headers are too long") : 0;
    const char *lim = end + 2; /* every line, the last one's CRLF included */
    const char *eol = memmem(buf, (size_t)(lim - buf), "\r\n", 2);
    /* "HTTP/1.1 200 OK": a version, a space, three digits, then a space
     * or the line's end. */
    if (eol - buf < 12 || memcmp(buf, "HTTP/1.", 7) || (buf[7] != '0' && buf[7] != '1') ||
        buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
        buf[11] < '0' || buf[11] > '9' || (eol - buf > 12 && buf[12] != ' '))
        return bad(why, cap, "not an HTTP/1.x answer");
    h->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (h->status < 200) return bad(why, cap, "an interim answer (1xx) was not asked for");
    h->close = buf[7] == '0';
    long clen = -1;
    for (const char *p = eol + 2; p < lim; p = eol + 2) {
        eol = memmem(p, (size_t)(lim - p), "\r\n", 2);
        if (header_is(p, eol, "content-length:")) {
            const char *v = p + 15;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            long n = 0;
            const char *d = v;
            while (d < eol && *d >= '0' && *d <= '9' && n <= MH_BUF)
                n = n * 10 + (*d++ - '0');
            while (d < eol && (*d == ' ' || *d == '\t'))
                d++;
            if (d == v || d != eol) return bad(why, cap, "a malformed Content-Length");
            if (clen >= 0 && clen != n) return bad(why, cap, "two different Content-Lengths");
            clen = n;
        } else if (header_is(p, eol, "transfer-encoding:")) {
            return bad(why, cap, "a Transfer-Encoding this client does not read");
        } else if (header_is(p, eol, "connection:")) {
            for (const char *q = p + 11; q + 5 <= eol; q++)
                if (!strncasecmp(q, "close", 5)) h->close = 1;
        }
    }
    if (clen < 0) return bad(why, cap, "no Content-Length");
    size_t hl = (size_t)(end + 4 - buf);
    if (hl + (size_t)clen > MH_BUF - 1) return bad(why, cap, "the answer is too large");
    if (len < hl + (size_t)clen) return 0;
    if (len > hl + (size_t)clen) h->close = 1; /* more than asked for: not reused */
    h->body_off = hl;
    h->body_len = (size_t)clen;
    return 1;
}
