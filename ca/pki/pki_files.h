/*
 * pki_files.h: the key and certificate files of a data directory, shared by
 * the running CA's PKI (pki.c), its service certificates (pki_service.c)
 * and the key ceremony (pki_ceremony.c). A key file holds a PEM private key
 * or, on its first line, a PKCS#11 URI ("pkcs11:...") naming a key in a
 * token (an HSM), used through OpenSSL's pkcs11 provider.
 */
#ifndef CA_PKI_FILES_H
#define CA_PKI_FILES_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dnspersist/dnspersist.h"

char *pki_pem_cert(X509 *x); /* PEM text, caller frees; NULL on failure */
char *pki_pem_key(EVP_PKEY *k);
/* DIR/NAME written whole with mode, synced, renamed into place: a crash
 * leaves the old file or the new one. 0, or -1. */
int pki_write_file(const char *dir, const char *name, const char *data, mode_t mode);
/* -1 (with err) when DIR/NAME is readable by group or others; 0 when fine
 * or absent. */
int pki_key_private(const char *dir, const char *name, struct dp_error *err);
/* The key of DIR/NAME (PEM, or a pkcs11: URI); NULL when absent or
 * unreadable, with why (when given) saying which. */
EVP_PKEY *pki_load_key(const char *dir, const char *name, char *why, size_t cap);
/* The key a pkcs11: URI names (the private half), or NULL with why. */
EVP_PKEY *pki_load_key_uri(const char *uri, char *why, size_t cap);
/* 1 when DIR/NAME holds a pkcs11: URI rather than a key. */
int pki_key_is_uri(const char *dir, const char *name);
X509 *pki_load_cert(const char *dir, const char *name);
/* Every certificate of DIR/NAME in order (an empty stack when absent);
 * NULL on a read error. */
STACK_OF(X509) * pki_load_certs(const char *dir, const char *name);
/* Where the embedded default keeps a root key it made: beside the data
 * directory, not in it (DATA.root-key), so the running set holds none. */
void pki_root_key_dir(const char *data, char *out, size_t cap);
/* The alternate chain (DIR/alternate.pem: the intermediate certified by
 * another issuer, then the certificates up to that issuer's root) as PEM
 * in *pem (caller frees; NULL when there is none), after checking it starts
 * with inter's name and key and, with DIR/alternate-root.pem, chains to
 * it. 0, or -1 with why. */
int pki_alternate_load(const char *dir, X509 *inter, char **pem, char *why, size_t cap);
/* a + b (a PEM text and another, or a certificate's PEM), taking a over:
 * the result, or NULL (a freed) when out of memory. */
char *pki_concat(char *a, const char *b);
char *pki_append_pem(char *a, X509 *x);
/* 1 when a and b are the same public key. */
int pki_same_key(const EVP_PKEY *a, const EVP_PKEY *b);

#endif
