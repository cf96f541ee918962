/*
 * b64url: base64url without padding (RFC 4648 section 5), as ACME uses it
 * for JWS parts, key authorizations, CSRs and certificates.
 */
#ifndef DNSPERSIST_B64URL_H
#define DNSPERSIST_B64URL_H

#include <stddef.h>
#include "export.h"

/* A new string with the encoding of data (caller frees); NULL when out of
 * memory. */
DP_API char *dp_b64url_encode_alloc(const void *data, size_t len);
/* Writes the encoding into out, NUL-terminated; its length, or (size_t)-1
 * when cap is too small. */
DP_API size_t dp_b64url_encode(const void *data, size_t len, char *out, size_t cap);
/* Decodes into out; the length, or (size_t)-1 for bad input or a short cap. */
DP_API size_t dp_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif
