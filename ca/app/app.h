/* app.h: the composition root's state (app/main.c): the configuration,
 * each component, and the slice of the configuration each was made from.
 * Only app/ sees it; every component gets its own dependencies. */
#ifndef CA_APP_H
#define CA_APP_H

#include "config.h"
#include "crl.h"
#include "mpic.h"
#include "nonce.h"
#include "ops.h"
#include "pki.h"
#include "ra.h"
#include "store.h"
#include "va.h"
#include "wfe.h"

struct app {
    struct ca_config cfg;
    char base[512];       /* https://host:port */
    char instance[ST_ID]; /* this process, as the owner of leases in a shared database */
    struct store *store;
    struct pki *pki;
    struct nonces *nonces;
    struct dp_ctx *dp;
    struct cache *keys; /* parsed account keys by thumbprint (the front end's) */
    struct crl *crl;
    struct va *va;
    struct va_config va_cfg;
    struct ra *ra;
    struct ra_config ra_cfg;
    struct wfe wfe;
    struct wfe_config wfe_cfg;
    struct ops ops;
    /* MPIC: the client certificate shown to perspectives, and the root
     * they are verified against (PEM). */
    char *mpic_cert, *mpic_key, *root_pem;
    struct mpic_config mpic;
};

#endif
