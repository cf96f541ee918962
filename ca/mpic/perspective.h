/* perspective.h: a remote perspective (--perspective-server) and the
 * command that makes its credentials (perspective-credentials). */
#ifndef CA_PERSPECTIVE_H
#define CA_PERSPECTIVE_H

#include <stddef.h>

/* What a perspective server needs (borrowed). */
struct perspective_config {
    const char *data; /* perspective.{pem,key} and root.pem */
    const char *listen_addr, *listen_host;
    int port;
    const char *resolver, *trust_anchor; /* "" for recursion, or no DNSSEC */
    unsigned threads;
    unsigned idle_timeout, request_timeout, max_conns, max_conns_ip;
};

/* Serves POST /corroborate until SIGINT or SIGTERM; returns the exit code. */
int perspective_main(const struct perspective_config *c);

/* dnspersist-ca perspective-credentials --data DIR --out DIR2 --name HOST[,HOST...]:
 * returns the exit code. */
int perspective_credentials(int argc, char **argv);

/* The primary's client certificate for corroboration calls:
 * DIR/mpic-client.{pem,key}, made from the root the first time, and the
 * root (each PEM, the caller's to free). 0, or -1 after saying why. */
int perspective_client_load(const char *dir, char **root_pem, char **cert_pem, char **key_pem);

#endif
