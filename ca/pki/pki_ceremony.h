/*
 * pki_ceremony.h: making and installing the CA's hierarchy by hand
 * (dnspersist-ca keys, app/keys.c). Each step writes its files whole
 * (pki_files.h) and refuses to replace what is there. An issuer beside
 * the primary (an RSA one, a rollover's next) lives in DATA/issuers/NAME
 * with the same files. Results: 0, or -1 with why.
 */
#ifndef CA_PKI_CEREMONY_H
#define CA_PKI_CEREMONY_H

#include <stddef.h>

/* 1 for a key type these steps make: ec (P-256, the default), p384, rsa
 * (3072 bits); NULL means ec. */
int pki_key_type_ok(const char *type);
/* A new self-signed root: DIR/root.key and DIR/root.pem (for an offline
 * machine). */
int pki_root_create(const char *dir, const char *cn, int days, const char *type, char *why,
                    size_t cap);
/* The issuing key where it will live, and a CSR for it (PEM in *csr,
 * caller frees): with uri, the token's key, which DIR/intermediate.key
 * then names; else DIR/intermediate.key, made now (or the one made by an
 * earlier call). */
int pki_intermediate_csr(const char *dir, const char *uri, const char *type, const char *cn,
                         char **csr, char *why, size_t cap);
/* ROOT_DIR's root (root.key, root.pem) signs the CSR as an intermediate
 * (CA, pathlen 0, keyCertSign and cRLSign) valid for days: PEM in *cert. */
int pki_intermediate_sign(const char *root_dir, const char *csr_pem, int days, char **cert,
                          char *why, size_t cap);
/* Installs into DIR the intermediate cert_pem, after checking it is
 * DIR/intermediate.key's, a CA that may sign certificates and CRLs, and
 * that it chains through chain_pem (the certificates between it and the
 * root; NULL for none) to root_pem, a self-signed root. */
int pki_intermediate_import(const char *dir, const char *cert_pem, const char *chain_pem,
                            const char *root_pem, int write_root, char *why, size_t cap);
/* Where an issuer lives in the data directory: data itself for the primary
 * (name NULL), else data/issuers/NAME (made; a-z, 0-9, '-'). 0, or -1. */
int pki_issuer_dir(const char *data, const char *name, char *out, size_t cap);
/* Marks an issuer retired: it signs CRLs for what it issued, nothing new
 * (pki.h). Refused (and undone) when no issuer would be left to issue. */
int pki_issuer_retire(const char *data, const char *name, char *why, size_t cap);
/* An alternate chain (RFC 8555 7.4.2) for DIR's intermediate: cert_pem,
 * the same name and key certified by another root (a cross-signature,
 * keys sign on that root with the same CSR), chains through chain_pem
 * (NULL for none) to root_pem; written as DIR/alternate.pem and
 * alternate-root.pem, and offered beside the default chain from the next
 * start. */
int pki_alternate_import(const char *dir, const char *cert_pem, const char *chain_pem,
                         const char *root_pem, char *why, size_t cap);
/* What DIR's running set holds, a line a file, into out: 0 when it is
 * whole and consistent and holds no root key, -1 otherwise. */
int pki_keys_check(const char *dir, char *out, size_t cap);

#endif
