/*
 * ra.h: the registration authority, the one place that decides and changes
 * state. The front end (wfe_*.c) parses and authenticates requests and
 * calls these; the validation authority reports results to
 * ra_validation_done. Each function that can refuse fills a problem (the
 * ACME error the front end sends) and returns -1; 0 when done.
 *
 * State machines, and the function performing each transition (every
 * stored change is a compare-and-set from the expected status, store.h;
 * the decisions themselves are the pure functions of ra_status.h):
 *
 *   account:   valid --(deactivation)--> deactivated          ra_account_update()
 *   order:     pending --(every authz valid)--> ready          ra_order_refresh()
 *              (derived on each read; stored only when created ready: JIT)
 *              pending|ready --(an authz failed, or expiry)--> invalid  ra_order_refresh()
 *              ready --(finalize, good CSR)--> processing --> valid     ra_finalize()
 *              (processing is held in memory; a crash leaves it ready)
 *   authz:     pending --(validation passes)--> valid           ra_validation_done()
 *              pending --(validation fails)--> invalid          ra_validation_done()
 *              pending|valid --(deactivation)--> deactivated    ra_authz_deactivate()
 *              valid --(expires, clamped to persistUntil: V6)--> expired  ra_authz_status()
 *   challenge: pending --(answer)--> processing                 ra_challenge_answer()
 *              (held by va.c in memory until the result is stored)
 *              processing --> valid | invalid                   ra_validation_done()
 *   cert:      issued --(revocation)--> revoked                 ra_revoke()
 *
 * A deactivation racing a validation ends deactivated: whichever commits
 * second finds the status it expected gone (valid -> deactivated still
 * applies; deactivated -> valid does not).
 */
#ifndef CA_RA_H
#define CA_RA_H

#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "crl.h"
#include "pki.h"
#include "profile.h"
#include "ratelimit.h"
#include "store.h"
#include "va.h"

#define CA_MAX_CHALLENGES 3

/* The RA's slice of the configuration (borrowed: it outlives the RA). */
struct ra_config {
    int persist, dns01, http01; /* challenge types offered */
    int jit;                    /* Just-in-Time validation at new-order (A5) */
    int64_t authz_lifetime;     /* seconds a validation is reused */
    int64_t order_lifetime;
    const char *resolver; /* named in the validation log ("" for recursion) */
    const struct rl_config *limits;
    const struct profiles *profiles;
    const char *const *eab_kid, *const *eab_key; /* external account binding */
    size_t n_eab;
    const char *base;     /* https://host:port, for the EAB check's URL */
    int validation_lease; /* seconds an answered challenge is held (shared store) */
};

/* What the RA asks of a validation authority: va.c's, or a test's stub. */
struct ra_va {
    void *va;
    int (*answer)(void *va, const struct st_authz *a, const char *type);
    double (*overlay)(void *va, struct st_authz *a);
    void (*jit)(void *va, struct va_jit *items, size_t n);
    int (*caa_recheck)(void *va, const struct st_authz *a, struct va_result *r);
};
/* The real VA behind that interface. */
struct ra_va ra_va_of(struct va *va);

/* The registration authority: every policy decision and state change. */
struct ra {
    const struct ra_config *cfg;
    struct store *store;
    struct ra_va va;
    struct pki *pki; /* NULL: no finalize (tests) */
    struct crl *crl; /* NULL: no CRL to refresh */
    struct dp_ctx *dp;
    const char *instance; /* this process, as a lease's owner */
    /* Orders being finalized ("processing"), held in memory: one HTTPS
     * thread each at most, and a crash leaves the order ready. */
    pthread_mutex_t fin_mu;
    char finalizing[64][ST_ID];
};

/* The RA over these parts (borrowed); NULL when out of memory. Its VA is
 * attached after (ra_attach_va): the VA's results go to the RA. */
struct ra *ra_new(const struct ra_config *cfg, struct store *store, struct pki *pki,
                  struct crl *crl, struct dp_ctx *dp, const char *instance);
void ra_attach_va(struct ra *ra, struct ra_va va);
void ra_free(struct ra *ra);

struct ra_problem {
    int status;       /* HTTP status */
    const char *type; /* ACME error type suffix: "malformed", "badCSR", ... */
    char detail[600];
    char location[ST_ID]; /* conflict: the other account's id, else "" */
    int retry_after;      /* seconds, 0 for none */
};

/* The challenge types, by index; ra_challenges_offered says which a
 * (wildcard) authorization carries. */
extern const char *const RA_CH_TYPES[CA_MAX_CHALLENGES];
int ra_challenge_index(const char *type); /* -1 for an unknown type */
/* The challenge types a's authorization offers, a bit per RA_CH_TYPES
 * index: those the CA offers, narrowed by wildcards and by the order's
 * profile. */
unsigned ra_challenges_offered(struct ra *ra, const struct st_authz *a);

/* Accounts. contact is a JSON array (checked by the front end); eab the
 * externalAccountBinding JSON or NULL; jwk the request's key. */
int ra_account_new(struct ra *ra, const char *jwk, const char *thumb, const char *contact,
                   const char *eab, const char *peer, struct st_account *out, struct ra_problem *p);
/* contact NULL keeps it; deactivate moves the account to deactivated. acct
 * is read again afterwards. */
int ra_account_update(struct ra *ra, struct st_account *acct, const char *contact, int deactivate,
                      struct ra_problem *p);
int ra_account_rollover(struct ra *ra, struct st_account *acct, const char *jwk, const char *thumb,
                        struct ra_problem *p);

/* Orders: o carries account, identifiers (normalized, deduplicated, "*."
 * for wildcards) and replaces (RFC 9773, "" for none); did_persist whether the account passed
 * dns-persist-01 before (Just-in-Time validation, A5). */
int ra_order_new(struct ra *ra, struct st_order *o, int did_persist, struct ra_problem *p);
/* Moves o on from its authorizations' state (see the diagram). */
void ra_order_refresh(struct ra *ra, struct st_order *o);
/* Finalizes a ready order with a base64url DER CSR; o is valid after. */
int ra_finalize(struct ra *ra, struct st_order *o, const char *csr, struct ra_problem *p);

/* Authorizations and challenges. */
const char *ra_authz_status(const struct st_authz *a); /* "expired" derived */
/* a as a client sees it now: a challenge being validated shows processing.
 * Returns the Retry-After (seconds) to send with it, 0 for none. */
int ra_authz_live(struct ra *ra, struct st_authz *a);
int ra_authz_deactivate(struct ra *ra, struct st_authz *a, struct ra_problem *p);
/* Answers challenge t of a (A3); answering again only reads it. a shows
 * the challenge processing afterwards. */
int ra_challenge_answer(struct ra *ra, struct st_authz *a, int t, struct ra_problem *p);
/* The VA's result (va_done_fn): stored only if a is still pending. */
void ra_validation_done(void *ra, const struct st_authz *a, const struct va_result *r);

/* RFC 9773: the certificate (of this CA's intermediate) with this
 * certificate ID; c->pem is the caller's to free. */
int ra_cert_by_ari_id(struct ra *ra, const char *id, struct st_cert *c, struct ra_problem *p);

/* Revocation (RFC 8555 7.6) of the DER certificate by the account acct
 * (kid) or, acct NULL, by a request signed with the key of thumbprint
 * jwk_thumb. reason: RFC 5280's code, checked here. */
int ra_revoke(struct ra *ra, const struct st_account *acct, const char *jwk_thumb,
              const unsigned char *der, size_t len, int64_t reason, struct ra_problem *p);

#endif
