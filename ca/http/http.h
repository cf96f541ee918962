/* http.h: the HTTPS front end (the only file that includes microhttpd.h). */
#ifndef CA_HTTP_H
#define CA_HTTP_H

#include <stddef.h>

#include "proxy.h"

#define HTTP_MAX_BODY (64u * 1024u)

struct http_req {
    const char *method;
    const char *path;
    const char *body;
    size_t body_len;
    int too_big; /* the body exceeded HTTP_MAX_BODY and was dropped */
    const char *content_type;
    const char *peer; /* the client's address, text (IPv4 or IPv6) */
    /* Mutual TLS (http_limits.client_ca_pem): the client's certificate
     * (DER, NULL for none) and whether it verified against that CA. */
    const unsigned char *peer_cert;
    size_t peer_cert_len;
    int peer_verified;
};

struct http_resp {
    int status;
    char *body; /* malloc'ed, freed by the front end; NULL for none */
    size_t body_len;
    const char *content_type;
    char location[512];
    char link[1024];
    char nonce[32];
    int retry_after; /* seconds, 0 for none */
    /* For the request log and metrics only; never sent. */
    char problem[48]; /* the problem type's suffix, "" for none */
    char account[32]; /* the account the request was verified for, "" for none */
};

typedef void (*http_handler)(void *app, const struct http_req *req, struct http_resp *resp);

struct http_server;

/* What a connection may hold. A connection idle (no byte read or written)
 * for idle_timeout seconds is closed, whatever its state, TLS handshake
 * included; one slower than request_timeout allows is closed too. per_ip bounds the open
 * connections of one address, total those of the server; connections above either are closed at
 * accept. */
struct http_limits {
    unsigned idle_timeout; /* seconds; 0: 30 */
    /* A request (line, headers and body) must be whole within this many
     * seconds of its request line, and the request line within
     * idle_timeout + this of the connection's start or of the previous
     * response: a client trickling a byte now and then, never idle long
     * enough for idle_timeout, is cut off all the same. 0: 30. */
    unsigned request_timeout;
    unsigned per_ip; /* 0: 64 */
    unsigned total;  /* 0: 4096 */
    /* Asks every client for a certificate and verifies it against this CA
     * (PEM); the handler sees the outcome in http_req. NULL: no client
     * certificates. */
    const char *client_ca_pem;
    /* With client_ca_pem: the application's own test of a certificate
     * that verified (DER, app as given to http_start), 1 to admit. Both
     * tests run once per connection and certificate (again after
     * HTTP_PEER_RECHECK seconds), not at every request. NULL: none. */
    int (*client_ok)(void *app, const unsigned char *der, size_t len);
    /* Proxies whose connections may start with a PROXY protocol v2 header
     * (proxy.h) naming the client: its address then counts for per_ip and
     * is http_req.peer. Anyone else's header is not read (their TLS
     * handshake fails). n_trusted 0: none. */
    const struct proxy_cidr *trusted;
    size_t n_trusted;
    /* The certificate may be replaced while serving (http_set_cert): it is
     * handed to each TLS handshake by a callback. One such server a
     * process (the callback has no argument of its own). */
    int reloadable;
    /* A plain-HTTP listener behind a TLS-terminating proxy: only the
     * trusted proxies are served (anyone else gets 403), and the client is
     * the one their X-Forwarded-For or Forwarded header names
     * (proxy_forwarded_client). */
    int forwarded;
};

#define HTTP_PEER_RECHECK 300

/* Starts serving HTTPS on addr:port with threads worker threads; plain
 * HTTP when cert_pem is NULL. HTTPS is TLS 1.2 or 1.3 with AEAD suites
 * and forward secrecy only (Mozilla's "intermediate"; 1.3 preferred).
 * lim may be NULL for the defaults. */
struct http_server *http_start(const char *addr, int port, const char *cert_pem,
                               const char *key_pem, unsigned threads, const struct http_limits *lim,
                               http_handler h, void *app, char *why, size_t cap);
void http_stop(struct http_server *s);
/* Connections open now (for the metrics). */
size_t http_open_connections(struct http_server *s);
/* A reloadable server's new certificate (PEM, the chain after it) and key
 * for every handshake from now on; 0, or -1 with why (the old pair stays). */
int http_set_cert(struct http_server *s, const char *cert_pem, const char *key_pem, char *why,
                  size_t cap);

#endif
