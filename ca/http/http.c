/*
 * http.c: libmicrohttpd glue. Collects a request body (bounded), hands the
 * complete request to one handler, and turns its answer into a response
 * with the headers ACME needs (Replay-Nonce, Location, Link, Retry-After,
 * Cache-Control: no-store).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/pkcs11.h>
#include <microhttpd.h>

#include "http.h"
#include "http_accept.h"
#include "http_creds.h"

/* One open connection (its socket context): the mutual-TLS verdict, and
 * what the request deadline needs. */
struct peer {
    unsigned char der[2048]; /* the corroboration client's certificate is about 600 octets */
    size_t len;              /* 0: nothing judged yet */
    int verified;
    time_t until;
    /* Request deadline (the server's mutex): */
    int fd;
    int in_request; /* its request line came, its response has not gone */
    int handling;   /* whole, with the handler or being answered: no deadline */
    int cut;        /* shut down by the sweeper */
    double since;   /* mono_ms(): the request line, or the connection's start or last response */
    struct peer *prev, *next;
};

struct http_server {
    struct MHD_Daemon *d;
    http_handler h;
    void *app;
    int mtls;
    int (*client_ok)(void *app, const unsigned char *der, size_t len);
    /* The request deadline: every open connection, and a thread that
     * shuts down those past it (libmicrohttpd's own timeout is reset by
     * every byte, so a trickle never reaches it). */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct peer *conns;
    size_t n_conns; /* in conns: the open-connections gauge */
    double request_ms, idle_ms;
    int stop, sweeping;
    pthread_t sweeper;
    /* Behind trusted proxies: the listening socket is ours (http_accept.c). */
    int lfd;
    int reloadable; /* its certificate comes from http_creds.c */
    int forwarded;  /* plain HTTP behind trusted proxies (http_limits.forwarded) */
    struct proxy_cidr trusted[PROXY_MAX_TRUSTED];
    size_t n_trusted;
    struct http_acceptor *acceptor;
};

/* Milliseconds on the monotonic clock (http/ depends on nothing of ca/). */
static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct peer *peer_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *pi =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return pi ? pi->socket_context : NULL;
}

/* Shuts a connection's socket down (libmicrohttpd then sees the end and
 * closes it in its own thread). Safe against the descriptor's reuse: a
 * connection leaves the list when it is closed (NOTIFY_CLOSED), before
 * libmicrohttpd closes its socket, and both happen under s->mu here. */
static void *sweep(void *arg)
{
    struct http_server *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        double now = mono_ms();
        for (struct peer *p = s->conns; p; p = p->next) {
            double limit = p->in_request ? s->request_ms : s->idle_ms + s->request_ms;
            if (!p->cut && !p->handling && p->fd >= 0 && now - p->since > limit) {
                shutdown(p->fd, SHUT_RDWR);
                p->cut = 1;
            }
        }
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 250 * 1000000L; /* a quarter second: the deadline's grain */
        if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->cv, &s->mu, &t);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the request line is in; its deadline runs. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)uri;
    struct http_server *s = cls;
    struct peer *p = peer_of(c);
    if (p) {
        pthread_mutex_lock(&s->mu);
        p->in_request = 1;
        p->since = mono_ms();
        pthread_mutex_unlock(&s->mu);
    }
    return NULL; /* the request's context starts empty (on_request) */
}

/* Mutual TLS: a connection's client certificate and the verdict on it
 * (struct peer). Verifying it (GnuTLS's chain check, then the
 * application's) cost a perspective about 45% of its CPU when done at
 * every request of a kept connection; the certificate cannot change within
 * one, but it is compared anyway, and the verdict is redone after
 * HTTP_PEER_RECHECK seconds (the certificate may expire while the
 * connection lives). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct peer *p = calloc(1, sizeof *p); /* NULL: judged per request, no deadline */
        *socket_context = p;
        if (!p) return;
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        p->fd = fi ? fi->connect_fd : -1;
        pthread_mutex_lock(&s->mu);
        p->since = mono_ms();
        p->next = s->conns;
        if (s->conns) s->conns->prev = p;
        s->conns = p;
        s->n_conns++;
        pthread_mutex_unlock(&s->mu);
    } else {
        struct peer *p = *socket_context;
        if (p) {
            pthread_mutex_lock(&s->mu);
            if (p->prev)
                p->prev->next = p->next;
            else
                s->conns = p->next;
            if (p->next) p->next->prev = p->prev;
            s->n_conns--;
            pthread_mutex_unlock(&s->mu);
        }
        free(p);
        *socket_context = NULL;
    }
}

static int peer_verified(struct http_server *s, struct MHD_Connection *c, gnutls_session_t ts,
                         const gnutls_datum_t *cert)
{
    struct peer *p = peer_of(c);
    time_t now = time(NULL);
    if (p && p->len && p->len == cert->size && now < p->until &&
        !memcmp(p->der, cert->data, p->len))
        return p->verified;
    unsigned status = 1;
    int ok = gnutls_certificate_verify_peers2(ts, &status) == 0 && status == 0 &&
             (!s->client_ok || s->client_ok(s->app, cert->data, cert->size));
    if (p && cert->size && cert->size <= sizeof p->der) {
        memcpy(p->der, cert->data, cert->size);
        p->len = cert->size;
        p->verified = ok;
        p->until = now + HTTP_PEER_RECHECK;
    }
    return ok;
}

/* The last X-Forwarded-For and Forwarded headers of a request (a client
 * may send its own before the proxy's). */
struct fwd {
    const char *xff, *forwarded;
};

static enum MHD_Result last_fwd(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct fwd *f = cls;
    if (!strcasecmp(key, "X-Forwarded-For"))
        f->xff = value;
    else if (!strcasecmp(key, "Forwarded"))
        f->forwarded = value;
    return MHD_YES;
}

struct conn {
    char *buf;
    size_t len;
    int too_big;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct conn *cn = *con_cls;
    if (!cn) {
        if (!(cn = calloc(1, sizeof *cn))) return MHD_NO;
        *con_cls = cn;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cn->too_big && cn->len + *upload_size <= HTTP_MAX_BODY) {
            char *nb = realloc(cn->buf, cn->len + *upload_size + 1);
            if (!nb) return MHD_NO;
            cn->buf = nb;
            memcpy(cn->buf + cn->len, upload_data, *upload_size);
            cn->len += *upload_size;
            cn->buf[cn->len] = '\0';
        } else {
            cn->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* Whole: what the handler takes (a Just-in-Time wait, a finalize) is
     * not the client's slowness. */
    struct peer *pc = peer_of(c);
    if (pc) {
        pthread_mutex_lock(&s->mu);
        pc->handling = 1;
        pthread_mutex_unlock(&s->mu);
    }
    char peer[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *pa = ci ? ci->client_addr : NULL;
    if (pa && pa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)pa)->sin_addr, peer, sizeof peer);
    else if (pa && pa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)pa)->sin6_addr, peer, sizeof peer);
    if (s->forwarded) {
        /* Only the proxy may speak here, and says who the client is. */
        if (!pa || !proxy_trusted(s->trusted, s->n_trusted, pa)) {
            static char no[] = "this listener serves only its trusted proxy\n";
            struct MHD_Response *nr =
                MHD_create_response_from_buffer(sizeof no - 1, no, MHD_RESPMEM_PERSISTENT);
            enum MHD_Result ret = nr ? MHD_queue_response(c, 403, nr) : MHD_NO;
            MHD_destroy_response(nr);
            return ret;
        }
        struct fwd f = {NULL, NULL};
        MHD_get_connection_values(c, MHD_HEADER_KIND, last_fwd, &f);
        char client[INET6_ADDRSTRLEN];
        if (proxy_forwarded_client(f.xff, f.forwarded, client, sizeof client))
            snprintf(peer, sizeof peer, "%s", client);
    }
    struct http_req req = {.method = method,
                           .path = url,
                           .body = cn->buf ? cn->buf : "",
                           .body_len = cn->len,
                           .too_big = cn->too_big,
                           .content_type =
                               MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
                           .peer = peer};
    if (s->mtls) {
        const union MHD_ConnectionInfo *ti =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        gnutls_session_t ts = ti ? (gnutls_session_t)ti->tls_session : NULL;
        unsigned n = 0;
        const gnutls_datum_t *certs = ts ? gnutls_certificate_get_peers(ts, &n) : NULL;
        if (certs && n) {
            req.peer_verified = peer_verified(s, c, ts, &certs[0]);
            req.peer_cert = certs[0].data;
            req.peer_cert_len = certs[0].size;
        }
    }
    struct http_resp resp;
    memset(&resp, 0, sizeof resp);
    s->h(s->app, &req, &resp);
    struct MHD_Response *r = MHD_create_response_from_buffer(
        resp.body ? resp.body_len : 0, resp.body ? resp.body : (void *)"",
        resp.body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(resp.body);
        return MHD_NO;
    }
    if (resp.content_type) MHD_add_response_header(r, "Content-Type", resp.content_type);
    if (resp.location[0]) MHD_add_response_header(r, "Location", resp.location);
    if (resp.link[0]) MHD_add_response_header(r, "Link", resp.link);
    if (resp.nonce[0]) MHD_add_response_header(r, "Replay-Nonce", resp.nonce);
    if (resp.retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", resp.retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp.status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct http_server *s = cls;
    struct peer *p = peer_of(c);
    if (p) { /* the next request line is awaited from now */
        pthread_mutex_lock(&s->mu);
        p->in_request = p->handling = 0;
        p->since = mono_ms();
        pthread_mutex_unlock(&s->mu);
    }
    struct conn *cn = *con_cls;
    if (cn) {
        free(cn->buf);
        free(cn);
    }
    *con_cls = NULL;
}

/* GnuTLS priorities for Mozilla's "intermediate" profile: TLS 1.2 and 1.3
 * only, ECDHE key exchange, AEAD ciphers (no CBC, no SHA-1 MACs). */
#define HTTP_TLS_PRIORITIES                                                                        \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"            \
    "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"

int http_set_cert(struct http_server *s, const char *cert_pem, const char *key_pem, char *why,
                  size_t cap)
{
    if (!s->reloadable) {
        snprintf(why, cap, "this listener's certificate is fixed");
        return -1;
    }
    return http_creds_install(cert_pem, key_pem, why, cap);
}

/* The acceptor's hand-over: libmicrohttpd closes fd itself when it cannot
 * take it (over a limit). */
static void hand_to_mhd(void *arg, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct http_server *s = arg;
    (void)MHD_add_connection(s->d, fd, sa, len);
}

static int listen_on(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) || bind(fd, sa, len) ||
        listen(fd, 511)) {
        close(fd);
        return -1;
    }
    return fd;
}

struct http_server *http_start(const char *addr, int port, const char *cert_pem,
                               const char *key_pem, unsigned threads, const struct http_limits *lim,
                               http_handler h, void *app, char *why, size_t cap)
{
    unsigned idle = lim && lim->idle_timeout ? lim->idle_timeout : 30;
    unsigned per_ip = lim && lim->per_ip ? lim->per_ip : 64;
    unsigned total = lim && lim->total ? lim->total : 4096;
    unsigned req = lim && lim->request_timeout ? lim->request_timeout : 30;
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->h = h;
    s->app = app;
    s->request_ms = req * 1000.0;
    s->lfd = -1;
    if (lim && lim->forwarded) {
        s->forwarded = 1;
        s->n_trusted = lim->n_trusted < PROXY_MAX_TRUSTED ? lim->n_trusted : PROXY_MAX_TRUSTED;
        memcpy(s->trusted, lim->trusted, s->n_trusted * sizeof *s->trusted);
    }
    s->idle_ms = idle * 1000.0;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    struct sockaddr *sa = NULL;
    /* poll, not epoll (with or without TURBO): under libmicrohttpd 0.9.75
     * with epoll a connection stopped before or inside its TLS handshake
     * kept a thread at 100% CPU (5 such connections: 3.0 s of CPU in 3 s;
     * with poll: none). */
    unsigned flags = MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (inet_pton(AF_INET, addr, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((unsigned short)port);
        sa = (struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, addr, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((unsigned short)port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(why, cap, "listen address '%s' is not an IP address", addr);
        free(s);
        return NULL;
    }
    if (lim && lim->n_trusted) {
        s->lfd = listen_on(sa, sa == (struct sockaddr *)&sa4 ? sizeof sa4 : sizeof sa6);
        if (s->lfd < 0) {
            snprintf(why, cap, "cannot listen on %s:%d (in use, or no permission)", addr, port);
            free(s);
            return NULL;
        }
        /* Connections come from http_accept.c, through MHD_add_connection;
         * ITC wakes libmicrohttpd's threads for each. */
        flags |= MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    }
    if (cert_pem && lim && lim->client_ca_pem) {
        s->mtls = 1;
        s->client_ok = lim->client_ok;
        s->d = MHD_start_daemon(
            flags, (unsigned short)port, NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s, MHD_OPTION_SOCK_ADDR,
            sa, MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
            MHD_OPTION_HTTPS_MEM_TRUST, lim->client_ca_pem, MHD_OPTION_HTTPS_PRIORITIES,
            HTTP_TLS_PRIORITIES, MHD_OPTION_THREAD_POOL_SIZE, threads ? threads : 2,
            MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_CONNECTION_TIMEOUT, idle,
            MHD_OPTION_CONNECTION_LIMIT, total, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
            MHD_OPTION_END);
    } else if (cert_pem && lim && lim->reloadable) {
        if (http_creds_install(cert_pem, key_pem, why, cap)) {
            if (s->lfd >= 0) close(s->lfd);
            free(s);
            return NULL;
        }
        s->reloadable = 1;
        s->d = MHD_start_daemon(
            flags, (unsigned short)port, NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s, MHD_OPTION_SOCK_ADDR,
            sa, MHD_OPTION_HTTPS_CERT_CALLBACK, http_creds_pick, MHD_OPTION_HTTPS_PRIORITIES,
            HTTP_TLS_PRIORITIES, MHD_OPTION_THREAD_POOL_SIZE, threads ? threads : 2,
            MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_CONNECTION_TIMEOUT, idle,
            MHD_OPTION_CONNECTION_LIMIT, total, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
            MHD_OPTION_END);
    } else if (cert_pem)
        s->d = MHD_start_daemon(
            flags, (unsigned short)port, NULL, NULL, on_request, s, MHD_OPTION_NOTIFY_CONNECTION,
            on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s, MHD_OPTION_SOCK_ADDR,
            sa, MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
            MHD_OPTION_HTTPS_PRIORITIES, HTTP_TLS_PRIORITIES, MHD_OPTION_THREAD_POOL_SIZE,
            threads ? threads : 2, MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
            MHD_OPTION_CONNECTION_TIMEOUT, idle, MHD_OPTION_CONNECTION_LIMIT, total,
            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_END);
    else /* plain HTTP (the CRL): GET only, so no body is read */
        s->d = MHD_start_daemon(flags & ~(unsigned)MHD_USE_TLS, (unsigned short)port, NULL, NULL,
                                on_request, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s,
                                MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_THREAD_POOL_SIZE,
                                threads ? threads : 1, MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
                                MHD_OPTION_CONNECTION_TIMEOUT, idle, MHD_OPTION_CONNECTION_LIMIT,
                                total, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, MHD_OPTION_END);
    if (s->d && s->lfd >= 0 &&
        !(s->acceptor = http_accept_start(s->lfd, lim->trusted, lim->n_trusted, hand_to_mhd, s))) {
        MHD_stop_daemon(s->d);
        s->d = NULL;
    }
    if (!s->d) {
        snprintf(why, cap, "cannot listen on %s:%d (in use, or no permission)", addr, port);
        if (s->lfd >= 0) close(s->lfd);
        if (s->reloadable) http_creds_drop();
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return NULL;
    }
    s->sweeping = pthread_create(&s->sweeper, NULL, sweep, s) == 0;
    return s;
}

size_t http_open_connections(struct http_server *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_conns;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void http_stop(struct http_server *s)
{
    if (!s) return;
    if (s->sweeping) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->sweeper, NULL);
    }
    /* No new connection is handed over once libmicrohttpd stops. */
    http_accept_stop(s->acceptor);
    if (s->lfd >= 0) close(s->lfd);
    MHD_stop_daemon(s->d);
    if (s->reloadable) http_creds_drop();
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
