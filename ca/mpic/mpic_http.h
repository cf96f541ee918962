/*
 * mpic_http.h: the primary's HTTPS client for its remote perspectives.
 * Each call is one small POST to each perspective at once, over kept
 * connections with mutual TLS (OpenSSL); TLS sessions are resumed when a
 * connection has to be made again. It speaks only what our perspective
 * server answers (HTTP/1.1, Content-Length), so a call costs a write, a
 * poll and a read or two per perspective: libcurl's general machinery
 * (liveness probes, a poll per handle per pass, timers) cost the primary
 * about 30 system calls a certificate with three perspectives.
 */
#ifndef CA_MPIC_HTTP_H
#define CA_MPIC_HTTP_H

#include <stddef.h>

#define MH_BUF 8192 /* an answer's status line, headers and body */

struct mh_ctx;
struct mh_conn;

/* The TLS side every connection of one thread shares: the client
 * certificate and key, and the root a perspective's certificate must chain
 * to. NULL with why set on failure. */
struct mh_ctx *mh_ctx_new(const char *cert_pem, const char *key_pem, const char *root_pem,
                          char *why, size_t cap);
void mh_ctx_free(struct mh_ctx *x);

/* A perspective at url (https://HOST[:PORT][/PREFIX]), posting to
 * PREFIX/path. Nothing is connected until the first call. */
struct mh_conn *mh_conn_new(struct mh_ctx *x, const char *url, const char *path, char *why,
                            size_t cap);
void mh_conn_free(struct mh_conn *c);

struct mh_result {
    int answered;       /* a whole HTTP answer came back */
    long status;        /* its status code */
    const char *body;   /* NUL-terminated, in the connection's buffer */
    size_t len;         /* until the next call on the connection */
    int new_connection; /* a connection was made for this call */
    char why[200];      /* when not answered: what went wrong */
};

/* POSTs body (JSON) to each of conns[0..n) in parallel and waits at most
 * timeout_ms for all the answers; res[i] is conns[i]'s. A kept connection
 * the server has closed meanwhile is made again once and the request sent
 * again (a corroboration only reads, so repeating it is harmless). */
void mh_post_all(struct mh_conn **conns, size_t n, const char *body, long timeout_ms,
                 struct mh_result *res);

/* Parsing of one answer in buf[0..len), exposed for tests and fuzzing:
 * 0 incomplete, 1 complete (status, body offset and length, whether the
 * server will close), -1 malformed (why says how). */
struct mh_head {
    long status;
    size_t body_off, body_len;
    int close;
};
int mh_parse(const char *buf, size_t len, struct mh_head *h, char *why, size_t cap);

#endif
