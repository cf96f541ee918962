/* perspective.h: a remote perspective (--perspective-server) and the
 * command that makes its credentials (perspective-credentials). */
#ifndef CA_PERSPECTIVE_H
#define CA_PERSPECTIVE_H

#include "ca.h"

/* Serves POST /corroborate until SIGINT or SIGTERM; returns the exit code. */
int perspective_main(struct ca *ca);

/* dnspersist-ca perspective-credentials --data DIR --out DIR2 --name HOST[,HOST...]:
 * returns the exit code. */
int perspective_credentials(int argc, char **argv);

/* The primary's client certificate for corroboration calls: DIR/mpic-client.{pem,key},
 * made from the root the first time. 0, or -1 after saying why. */
int perspective_client_load(struct ca *ca);

#endif
