/*
 * pki_service.h: certificates for the CA's own services, issued straight
 * from the root in the data directory: the primary's client certificate
 * and each remote perspective's server certificate (MPIC, mutual TLS).
 * Subscriber certificates come from the intermediate, so "issued by the
 * root itself" is what tells a service certificate apart.
 */
#ifndef CA_PKI_SERVICE_H
#define CA_PKI_SERVICE_H

#include <stddef.h>

#define PKI_SERVICE_CLIENT_CN "dnspersist-ca corroboration client"

/* A new P-256 key and a certificate for it, signed by DIR/root.key: CN cn,
 * SANs names (DNS names or IP addresses; may be none), EKU clientAuth
 * when client, else serverAuth; 2 years. PEMs in *cert and *key (caller
 * frees). 0, or -1 with why. */
int pki_service_issue(const char *dir, const char *cn, const char *const *names, size_t n,
                      int client, char **cert, char **key, char *why, size_t cap);

/* 1 when der (a peer's leaf) was signed by the root in root_pem, names
 * itself with CN cn and carries EKU clientAuth; 0 otherwise. */
int pki_service_is_client(const char *root_pem, const unsigned char *der, size_t len,
                          const char *cn);

#endif
