/*
 * pki_int.h: what the PKI's files share (pki.c: the running set and the
 * listener; pki_issue.c: leaves; pki_crl.c: CRLs). Not an interface: the
 * rest of the server sees pki.h.
 */
#ifndef CA_PKI_INT_H
#define CA_PKI_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "csr.h"
#include "pki.h"

/* Extensions every leaf of an issuer carries, built once: X509V3_EXT_conf_nid
 * parses its text on every call, and the AKI is the same for every leaf. */
enum { EXT_BC, EXT_KU_EC, EXT_KU_RSA, EXT_EKU, EXT_AKI, EXT_CRLDP, N_EXT };

/* An intermediate that signs leaves and CRLs: the primary (DIR/intermediate.*,
 * name "") or one of DIR/issuers/NAME/ (an RSA intermediate beside an ECDSA
 * one, or the next one of a rollover). */
struct pki_issuer {
    char name[PKI_ISSUER_NAME];
    EVP_PKEY *key; /* a file's, or a token's (pkcs11: URI) */
    X509 *cert;
    STACK_OF(X509) * chain; /* between it and the root */
    char *chain_pem;        /* cert, then chain: what follows a leaf */
    X509_EXTENSION *ext[N_EXT];
    int rsa;     /* an RSA key: it signs the leaves of RSA keys */
    int retired; /* signs CRLs only (its "retired" file) */
};

struct pki {
    EVP_PKEY *root_key, *tls_key;
    X509 *root, *tls;
    struct pki_issuer is[PKI_MAX_ISSUERS];
    size_t n;
    char *tls_cert_pem, *tls_key_pem;
    char *alt_pem;             /* the primary's alternate chain (RFC 8555 7.4.2), NULL for none */
    char notice[700];          /* what start-up should tell the operator, "" for nothing */
    struct csr_curves *curves; /* for reading CSR keys; NULL works too, slower */
};

/* A random positive 16-octet serial into x (hex into hex_out when given). */
int pki__set_serial(X509 *x, char *hex_out);
/* An extension from its text (issuer's context) added to x. */
int pki__add_ext(X509 *x, X509 *issuer, int nid, const char *value);
/* The issuer named name ("" for the primary), or NULL. */
const struct pki_issuer *pki__issuer(const struct pki *p, const char *name);

#endif
