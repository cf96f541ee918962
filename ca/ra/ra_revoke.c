/*
 * ra_revoke.c: revocation (RFC 8555 7.6) in the registration authority:
 * who may revoke, which reasons a subscriber may give, and keys reported
 * compromised, which are never certified or used for an account again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crl.h"
#include "log.h"
#include "metrics.h"
#include "ra.h"
#include "ra_int.h"

/* RFC 8555 7.6: who may revoke. The request must name the stored
 * certificate byte for byte (a look-alike with the same issuer and serial
 * proves nothing). Then: the account that ordered it, an account holding
 * valid authorizations for every name in it, or its own key (jwk). */
static int revoke_allowed(struct ra *ra, const struct st_account *acct, const char *jwk_thumb,
                          const struct st_cert *c, const unsigned char *der, size_t dl)
{
    if (!acct) {
        char k[DP_THUMBPRINT_BUF];
        return jwk_thumb && dp_jwk_thumbprint_cert(der, dl, k, NULL) == DP_OK &&
               !strcmp(jwk_thumb, k);
    }
    if (!strcmp(c->account, acct->id)) return 1;
    char names[ST_MAX_IDENTIFIERS][256];
    size_t n = pki_cert_names(der, dl, names, ST_MAX_IDENTIFIERS);
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++) {
        const char *id = strncmp(names[i], "*.", 2) ? names[i] : names[i] + 2;
        if (store_authz_covers(ra->store, acct->id, id, now)) return 0;
    }
    return n > 0;
}

/* The reasons a subscriber may give (CA/B BR 7.2.2: an entry carries 1, 3,
 * 4, 5 or 9, and 0 is written as no reason code). Never certificateHold
 * (6: BR 4.9.13 forbids suspension), removeFromCRL (8: for delta CRLs,
 * RFC 5280 5.3.1; accepted, it hid a revocation), cACompromise (2) or
 * aACompromise (10). */
static int reason_offered(int64_t r)
{
    return r == 0 || r == 1 || r == 3 || r == 4 || r == 5 || r == 9;
}

int ra_revoke(struct ra *ra, const struct st_account *acct, const char *jwk_thumb,
              const unsigned char *der, size_t dl, int64_t reason, struct ra_problem *p)
{
    struct st_cert c = {0};
    char serial[48], key[DP_THUMBPRINT_BUF];
    int rc = -1;
    if (pki_cert_serial(ra->pki, der, dl, serial) || store_cert_by_serial(ra->store, serial, &c) ||
        !pki_cert_same(c.pem, der, dl))
        ra_refuse(p, 404, "malformed", "not a certificate this CA issued");
    else if (!reason_offered(reason))
        ra_refuse(p, 400, "badRevocationReason",
                  "reason %lld is not offered: 0 (unspecified), 1 (keyCompromise), 3 "
                  "(affiliationChanged), 4 (superseded), 5 (cessationOfOperation) or 9 "
                  "(privilegeWithdrawn), as CA/B BR 7.2.2 allows",
                  (long long)reason);
    else if (!revoke_allowed(ra, acct, jwk_thumb, &c, der, dl))
        ra_refuse(p, 403, "unauthorized",
                  "neither the certificate's account, nor an account authorized for all its "
                  "names, nor its key signed this");
    /* Reported compromised (keyCompromise), or in someone's hands who
     * proved it by signing with it: the key is never certified again. */
    else if ((reason == 1 || !acct) && (dp_jwk_thumbprint_cert(der, dl, key, NULL) != DP_OK ||
                                        store_key_block(ra->store, key, c.serial)))
        ra_refuse(p, 500, "serverInternal", "cannot record the compromised key");
    else if ((rc = store_cert_revoke(ra->store, c.id, (int)reason)) == 1 &&
             (reason != 1 || (rc = store_cert_key_compromised(ra->store, c.id)) == 1))
        ra_refuse(p, 400, "alreadyRevoked", "the certificate is already revoked");
    else if (rc < 0)
        ra_refuse(p, 500, "serverInternal", "cannot store the revocation");
    else {
        metrics_event(M_CERT_REVOKED);
        char rs[8];
        snprintf(rs, sizeof rs, "%ld", (long)reason);
        log_event(LOG_INFO, "revoked", "serial", c.serial, "account", c.account, "#reason", rs,
                  "key", reason == 1 || !acct ? "blocked" : NULL, NULL);
        crl_changed(ra->crl); /* published by the CRL's own thread */
    }
    free(c.pem);
    return rc ? -1 : 0;
}
