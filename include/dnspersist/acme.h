/*
 * acme: the client side of RFC 8555 for dns-persist-01: directory, nonces,
 * JWS-signed requests with the account key, account creation, the draft's
 * pre-publication account check (A7), key rollover, deactivation, and
 * issuance with pre-provisioned records (order, authorizations, challenge,
 * finalize, download). One struct dp_acme is one session with one CA over
 * one kept-alive connection; it is not thread-safe.
 */
#ifndef DNSPERSIST_ACME_H
#define DNSPERSIST_ACME_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "key.h"

struct dp_acme;

struct dp_acme_config {
    const char *directory; /* the CA's directory URL */
    const char *ca_bundle; /* PEM roots to trust (a private or test CA); NULL: system */
    unsigned timeout_ms;   /* per request; 0 means 30000 */
    unsigned poll_ms;      /* longest wait for a validation or an order; 0 means 60000 */
};

/* The CA's last problem document, when a call failed because of one. */
struct dp_acme_problem {
    char type[128]; /* "urn:ietf:params:acme:error:..." or "" */
    char detail[768];
    int status;
};

/* Fetches the directory. key is borrowed and must outlive the session. */
DP_API struct dp_acme *dp_acme_new(const struct dp_acme_config *cfg, const struct dp_key *key,
                                   struct dp_error *err);
DP_API void dp_acme_free(struct dp_acme *a);

/* Directory meta (A1): the accountHashPrefix (NULL for a draft-01 CA) and the
 * issuer domain names (count returned, names borrowed). */
DP_API const char *dp_acme_hash_prefix(const struct dp_acme *a);
DP_API size_t dp_acme_issuer_names(const struct dp_acme *a, const char *const **names);
/* The directory's caaIdentities (normalized; count returned, names
 * borrowed; 0 when absent or nonconforming). Draft-01 CAs advertise these
 * but no issuerDomainNames. */
DP_API size_t dp_acme_caa_identities(const struct dp_acme *a, const char *const **names);
DP_API const struct dp_acme_problem *dp_acme_last_problem(const struct dp_acme *a);
/* Certificate profiles (draft-ietf-acme-profiles): the directory's
 * meta.profiles, names and descriptions (borrowed; count returned, 0 when
 * the CA offers none). */
#define DP_ACME_MAX_PROFILES 32
DP_API size_t dp_acme_profiles(const struct dp_acme *a, const char *const **names,
                               const char *const **descriptions);
/* The profile the next orders ask for (NULL or "": the CA's default).
 * DP_ERR_UNSUPPORTED, naming what the CA offers, when it has no such one. */
DP_API dp_code dp_acme_set_profile(struct dp_acme *a, const char *name, struct dp_error *err);
/* The longest wait for a validation or an order (cfg->poll_ms); 0: 60 s. */
DP_API void dp_acme_set_poll_ms(struct dp_acme *a, unsigned ms);
/* Draft 3.2: the issuer names the user trusts this CA to use. Once set
 * (n > 0), a dns-persist-01 challenge naming any other issuer is refused
 * before anything is published, as one outside the directory's
 * caaIdentities always is. n == 0 clears the list. */
DP_API dp_code dp_acme_expect_issuers(struct dp_acme *a, const char *const *names, size_t n,
                                      struct dp_error *err);

/* newAccount: creates (or finds) the key's account; only_existing sets
 * onlyReturnExisting. contact may be NULL. */
DP_API dp_code dp_acme_account(struct dp_acme *a, int only_existing, const char *contact,
                               int agree_tos, struct dp_error *err);
/* External account binding for the next dp_acme_account (RFC 8555 7.3.4):
 * the CA's key id and its base64url HMAC key. */
DP_API dp_code dp_acme_set_eab(struct dp_acme *a, const char *kid, const char *hmac_b64url,
                               struct dp_error *err);
/* Uses a known account URL instead of asking newAccount. */
DP_API dp_code dp_acme_set_account_url(struct dp_acme *a, const char *url, struct dp_error *err);
DP_API const char *dp_acme_account_url(const struct dp_acme *a);
/* A7: POST-as-GET with payload "" to the exact account URL, no redirects;
 * DP_OK only when the account object says status "valid". */
DP_API dp_code dp_acme_account_check(struct dp_acme *a, struct dp_error *err);
/* RFC 8555 7.3.5 key rollover; on success the session signs with new_key
 * (borrowed). */
DP_API dp_code dp_acme_key_change(struct dp_acme *a, const struct dp_key *new_key,
                                  struct dp_error *err);
DP_API dp_code dp_acme_deactivate(struct dp_acme *a, struct dp_error *err);

/* The steps of an issuance, for callers that pause between them (batch
 * tools, restarts): an order, its validation, its finalization. */
struct dp_acme_order;
DP_API dp_code dp_acme_order_new(struct dp_acme *a, const char *const *names, size_t n,
                                 struct dp_acme_order **out, struct dp_error *err);
/* Answers every pending authorization with dns-persist-01 and waits for all. */
DP_API dp_code dp_acme_order_validate(struct dp_acme *a, struct dp_acme_order *o,
                                      struct dp_error *err);
/* Sends the CSR, waits for the certificate, downloads the PEM chain. */
DP_API dp_code dp_acme_order_finalize(struct dp_acme *a, struct dp_acme_order *o,
                                      const struct dp_key *cert_key, char **chain_pem,
                                      struct dp_error *err);
DP_API const char *dp_acme_order_url(const struct dp_acme_order *o);
/* The order's authorization number i as the CA sends it now (JSON text;
 * caller frees), or NULL. */
DP_API char *dp_acme_order_authz(struct dp_acme *a, const struct dp_acme_order *o, size_t i,
                                 struct dp_error *err);
/* Deactivates every authorization of the order (RFC 8555 7.5.2), so that
 * no later order reuses them; those the CA no longer holds pending or
 * valid are left as they are. */
DP_API dp_code dp_acme_order_deactivate(struct dp_acme *a, struct dp_acme_order *o,
                                        struct dp_error *err);
/* The order's status as the CA last sent it: "pending", or "ready" when
 * every authorization was valid already (reused, or Just-in-Time validated
 * by a dns-persist-01 CA: draft section 4.4), ... */
DP_API const char *dp_acme_order_status(const struct dp_acme_order *o);
DP_API void dp_acme_order_free(struct dp_acme_order *o);

/* Revokes a certificate (PEM, the first certificate counts) with an RFC 5280
 * reason code (0 unspecified). cert_key NULL signs with the account (kid);
 * otherwise the request is signed with the certificate's own key (jwk). */
DP_API dp_code dp_acme_revoke(struct dp_acme *a, const char *cert_pem, int reason,
                              const struct dp_key *cert_key, struct dp_error *err);

/* ARI (RFC 9773): the CA's suggested renewal window for a certificate (PEM,
 * the first certificate; the issuer's key identifier comes from its AKI).
 * DP_OK; DP_ERR_UNSUPPORTED when the directory has no renewalInfo. */
DP_API dp_code dp_acme_renewal_info(struct dp_acme *a, const char *cert_pem, int64_t *start,
                                    int64_t *end, struct dp_error *err);

/* Issues one certificate for names with dns-persist-01 (records published
 * beforehand; authorizations already valid are not touched again).
 * Checks every challenge per A4. *chain_pem gets the PEM chain (caller
 * frees). DP_ERR_UNAUTHORIZED / DP_ERR_MALFORMED / DP_ERR_DNS mirror the
 * CA's problem (see dp_acme_last_problem); DP_ERR_UNSUPPORTED when the CA
 * offers no dns-persist-01 challenge. */
DP_API dp_code dp_acme_issue(struct dp_acme *a, const char *const *names, size_t n,
                             const struct dp_key *cert_key, char **chain_pem, struct dp_error *err);

#endif
