/*
 * crl.h: the CA's certificate revocation lists (RFC 5280), one for each
 * intermediate (pki.h: issuers), signed by it over what it issued, and
 * served over plain HTTP at the URL its certificates name as their CRL
 * distribution point: /crl for the primary, /crl/NAME for issuer NAME. A
 * retired intermediate's CRL is kept for as long as it is configured. The public CA world
 * moved from OCSP to CRLs in 2025; this CA offers no OCSP.
 */
#ifndef CA_CRL_H
#define CA_CRL_H

#include "http.h"
#include "pki.h"
#include "store.h"

#define CRL_REFRESH (24 * 3600)      /* rebuilt at least this often */
#define CRL_VALIDITY (7 * 24 * 3600) /* nextUpdate - thisUpdate */

/* The CRL service: revocations read from store, signed by pki; instance
 * names this process as the holder of the rebuild lease when the store is
 * shared. NULL when out of memory. */
struct crl *crl_new(struct store *store, struct pki *pki, const char *instance);
void crl_free(struct crl *c);
/* Rebuilds the CRL from the store now (at start, on SIGHUP). Its CRL
 * number grows by one each time and survives restarts. 0, or -1. */
int crl_refresh(struct crl *c);
/* Starts the publisher thread (stopped by crl_free). 0, or -1. */
int crl_publisher_start(struct crl *c);
/* After a revocation is stored: the publisher rebuilds soon (revocations
 * in a burst share one rebuild), and a read of /crl on this instance
 * before then rebuilds first. Without the thread, only the read does.
 * Returns at once: the revoking request does not wait for the signing. */
void crl_changed(struct crl *c);
/* The plain-HTTP listener's handler (app: the struct crl): GET /crl (DER,
 * application/pkix-crl) and GET /crl/NAME; a CRL older than CRL_REFRESH is
 * rebuilt first. */
void crl_handle(void *app, const struct http_req *req, struct http_resp *resp);

#endif
