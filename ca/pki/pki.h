/* pki.h: the CA's keys and certificates: a root, an intermediate that signs
 * leaves, and the TLS certificate of the HTTPS listener. */
#ifndef CA_PKI_H
#define CA_PKI_H

#include "profile.h"
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "dnspersist/dnspersist.h"

struct pki;

/* An issuer's name: "" for the primary intermediate, else its folder in
 * DATA/issuers/ (a-z, 0-9, '-'). */
#define PKI_ISSUER_NAME 32
#define PKI_MAX_ISSUERS 8

/* Loads the running set from DIR (intermediate.key, a file or a pkcs11:
 * URI; intermediate.pem; chain.pem, optional; root.pem) and the listener's
 * tls.{key,pem}, or creates a new CA in an empty DIR (its root key beside
 * DIR, not in it). tls_names are the listener's DNS names or IP addresses
 * (SANs). NULL with err on failure: a partial set, a key that is not the
 * certificate's, an intermediate that does not chain to root.pem. */
struct pki *pki_open(const char *dir, const char *const *tls_names, size_t n_tls,
                     struct dp_error *err);
void pki_free(struct pki *p);

/* What start-up should tell the operator about the keys (where a new root
 * key went, a root key in the running set), or NULL. */
const char *pki_notice(const struct pki *p);
/* The listener's certificate, with the intermediate and chain.pem after it
 * when the intermediate issued it. */
const char *pki_tls_cert_pem(const struct pki *p); /* borrowed */
const char *pki_tls_key_pem(const struct pki *p);
const char *pki_chain_pem(const struct pki *p); /* the primary's, appended to its leaves */
/* What follows a leaf of issuer (its intermediate and chain), NULL for
 * an issuer this CA does not have. */
const char *pki_chain_for(const struct pki *p, const char *issuer);
/* The CA certificates' expiry, for monitoring: the root (kind "root",
 * name ""), then each issuer's intermediate (kind "intermediate", its name,
 * "" for the primary). Their count. */
struct pki_expiry {
    const char *name, *kind; /* borrowed from p */
    int64_t not_after;
};
size_t pki_expiries(const struct pki *p, struct pki_expiry *out, size_t max);
/* The issuers' names (the primary "" first) into names; their count. */
size_t pki_issuers(const struct pki *p, const char **names, size_t max);
/* The alternate chain offered beside it (alternate.pem: the intermediate
 * cross-certified by another root), or NULL when there is none. */
const char *pki_alt_chain_pem(const struct pki *p);

/* Result of a finalization. */
enum pki_csr_result {
    PKI_CSR_OK,
    PKI_CSR_MALFORMED,
    PKI_CSR_NAMES,
    PKI_CSR_WEAK_KEY,
    PKI_CSR_ACCOUNT_KEY,   /* the CSR's key is the ordering account's */
    PKI_CSR_KEY_BLOCKED,   /* key_allowed refused the CSR's key */
    PKI_CSR_KEY_UNCHECKED, /* key_allowed could not tell (nothing signed) */
    PKI_ISSUE_FAILED
};

/* Asked by pki_issue about the CSR's key (its RFC 7638 thumbprint), once
 * the request is parsed and before anything is signed: 1 allowed, 0
 * refused, -1 cannot tell. The thumbprint comes from the key pki_issue
 * parsed anyway: a second parse (OpenSSL 3's decoders) cost 0.3 ms. */
struct pki_key_check {
    int (*allowed)(void *arg, const char *thumb);
    void *arg;
};

/* Checks a DER CSR (signature; key RSA 2048-4096 or EC P-256/P-384, not
 * the account's, whose JWK is account_jwk; its names, CN and SANs,
 * equal names[] as a set) and issues a leaf for its key
 * with names[] as SANs, shaped by prof (lifetime, common name, EKU, CRL
 * distribution point). On PKI_CSR_OK *pem is
 * the leaf (caller frees; pki_chain_pem follows it on download) and
 * serial_hex (>= 41 octets) the serial; otherwise why says what is wrong. */
enum pki_csr_result pki_issue(struct pki *p, const unsigned char *der, size_t len,
                              const char *const *names, size_t n, const struct profile *prof,
                              const char *account_jwk, const struct pki_key_check *check,
                              char **pem, char *serial_hex, char issuer[PKI_ISSUER_NAME], char *why,
                              size_t why_cap);

/* The serial (hex) of a PEM or DER certificate issued by this CA, or -1 when
 * it is not ours. */
int pki_cert_serial(const struct pki *p, const unsigned char *der, size_t len, char *serial_hex);

/* 1 when the first certificate of pem has exactly the DER encoding der:
 * what a revocation request names must be the certificate stored, not one
 * that merely copies its issuer and serial. */
int pki_cert_same(const char *pem, const unsigned char *der, size_t len);

/* The DNS names (SANs) of a DER certificate into names; 0 when it has none,
 * more than max, or a name of another type. */
size_t pki_cert_names(const unsigned char *der, size_t len, char names[][256], size_t max);

/* Every certificate issued from now on names its issuer's CRL as its
 * distribution point: url for the primary, url/NAME for issuer NAME. 0,
 * or -1 when url cannot be encoded. */
int pki_set_crl_url(struct pki *p, const char *url);

/* One revoked certificate, for pki_crl. */
struct pki_revoked {
    const char *serial_hex;
    int64_t when;
    int reason; /* RFC 5280 CRLReason; 0 is left out */
};

/* A v2 CRL (RFC 5280) of r[0..n) signed by issuer (a name pki_issuers gives), with its CRL
 * number, thisUpdate now and nextUpdate now + validity: DER in *der
 * (caller frees), its length in *len. 0, or -1. */
int pki_crl(struct pki *p, const char *issuer, const struct pki_revoked *r, size_t n,
            uint64_t number, int64_t now, int64_t validity, unsigned char **der, size_t *len);

/* 1 when id is the key identifier of one of the issuers (what leaves carry
 * as their AKI; RFC 9773 certificate IDs start with it). */
int pki_is_issuer_key_id(const struct pki *p, const unsigned char *id, size_t len);

/* pki_cert_names for the first certificate of a PEM text. */
size_t pki_pem_names(const char *pem, char names[][256], size_t max);

/* notBefore and notAfter (seconds) of the first certificate in pem; 0 or -1. */
int pki_cert_times(const char *pem, int64_t *not_before, int64_t *not_after);

/* An operator's listener certificate (--tls-cert, PEM, its chain after it)
 * and key (--tls-key, PEM): 0 when the key is the certificate's and the
 * certificate is valid now; -1 with why. */
int pki_tls_pair_check(const char *cert_pem, const char *key_pem, char *why, size_t cap);

/* 0 when cert verifies through chain (may be NULL) to root now; -1 with
 * why. */
int pki_chain_check(X509 *cert, STACK_OF(X509) * chain, X509 *root, char *why, size_t cap);

#endif
