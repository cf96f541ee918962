/* http_creds.h: the reloadable listener's credentials (http_creds.c). One
 * such listener a process: GnuTLS's certificate callback has no argument
 * of its own. */
#ifndef CA_HTTP_CREDS_H
#define CA_HTTP_CREDS_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

/* Loads the pair (key_pem: PEM, or a pkcs11: URI) and makes it the one
 * handed out from now on; the replaced pairs are kept until
 * http_creds_drop, as a handshake under way may hold one. 0, or -1 with
 * why. */
int http_creds_install(const char *cert_pem, const char *key_pem, char *why, size_t cap);
/* Frees every pair. */
void http_creds_drop(void);
/* MHD_OPTION_HTTPS_CERT_CALLBACK. */
int http_creds_pick(gnutls_session_t ts, const gnutls_datum_t *req_ca, int n_req,
                    const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
                    unsigned int *n, gnutls_privkey_t *key);

#endif
