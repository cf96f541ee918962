/*
 * pki_key.h: what finalize asks of a CSR's public key (RSA or EC).
 */
#ifndef CA_PKI_KEY_H
#define CA_PKI_KEY_H

#include <openssl/evp.h>

#include <dnspersist/jwk.h>

/* Its RFC 7638 thumbprint: 0, or -1 for another key type. */
int pki_key_thumb(EVP_PKEY *pub, char thumb[DP_THUMBPRINT_BUF]);
/* 1 when it is the key of jwk (the account's), else 0. */
int pki_key_is_jwk(EVP_PKEY *pub, const char *jwk);

#endif
