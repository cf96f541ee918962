/*
 * One error space for the whole library (curl's CURLcode, Knot's errcode.h).
 * Values are stable: new codes are appended, none is ever renumbered or
 * reused. dp_strerror() returns a fixed string; the specifics (which rule,
 * which octet, which record) live in a caller-owned struct dp_error.
 */
#ifndef DNSPERSIST_ERROR_H
#define DNSPERSIST_ERROR_H

#include <stddef.h>
#include "export.h"

typedef enum dp_code {
    DP_OK = 0,
    DP_ERR_NOMEM = 1,        /* allocation failed */
    DP_ERR_INVAL = 2,        /* bad argument from the caller (API misuse) */
    DP_ERR_MALFORMED = 3,    /* record or value breaks the syntax (R3, R4, H4) */
    DP_ERR_UNAUTHORIZED = 4, /* well-formed, but does not authorize (H4, S1-S3, V3, V5) */
    DP_ERR_DOMAIN = 5,       /* not a usable domain name (draft 9.2) */
    DP_ERR_KEY = 6,          /* key unreadable or of an unsupported type */
    DP_ERR_IO = 7,           /* file could not be read */
    DP_ERR_UNSUPPORTED = 8,  /* algorithm or option not supported/accepted */
    DP_ERR_TOOBIG = 9,       /* output buffer or input bound exceeded */
    DP_ERR_DNS = 10,         /* DNS look-up failed (reserved for the DNS layer) */
    DP_ERR_CRYPTO = 11       /* OpenSSL failed unexpectedly */
} dp_code;

/* Caller-owned error details. rule is a static string such as "R3" or NULL;
 * offset is the octet offset in the offending input or DP_NO_OFFSET. */
#define DP_NO_OFFSET ((size_t)-1)
#define DP_DETAIL_MAX 384

struct dp_error {
    dp_code code;
    const char *rule;
    size_t offset;
    char detail[DP_DETAIL_MAX];
};

/* Fixed English text for a code; never NULL. */
DP_API const char *dp_strerror(dp_code code);

/* Resets err to DP_OK with empty details; accepts NULL. */
DP_API void dp_error_clear(struct dp_error *err);

#endif
