/*
 * csr.h: PKCS#10 certificate requests (RFC 2986) as finalize needs them:
 * the signed part, the subject public key, the requested DNS names.
 */
#ifndef CA_CSR_H
#define CA_CSR_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

enum csr_result {
    CSR_OK = 0,
    CSR_MALFORMED,   /* not DER PKCS#10, or its signature does not verify */
    CSR_UNSUPPORTED, /* a key type other than RSA and EC named curves */
};

struct csr;

/* EC key templates for P-256, P-384 and P-521, made once: EVP_PKEY_fromdata
 * builds the curve's group on every call (15 of its 19 us for P-256); a
 * copy of a template given its point does not. Shared read-only. */
struct csr_curves;
struct csr_curves *csr_curves_new(void);
void csr_curves_free(struct csr_curves *c);

/* Parses and verifies der; *out is the caller's to csr_free. On failure why
 * says what is wrong. curves may be NULL (keys are then built from scratch). */
enum csr_result csr_parse(const struct csr_curves *curves, const unsigned char *der, size_t len,
                          struct csr **out, char *why, size_t cap);
void csr_free(struct csr *c);

/* The subject public key (owned by c). */
EVP_PKEY *csr_pubkey(const struct csr *c);

/* The DNS names requested (subjectAltName dNSNames, plus the CN), in
 * lowercase; max + 1 when there are more than max, or names of another
 * type, which the CA never validates. */
size_t csr_names(const struct csr *c, char names[][256], size_t max);

/* Sets x's SubjectPublicKeyInfo to the request's, copied as encoded. */
int csr_copy_spki(const struct csr *c, X509 *x);

#endif
