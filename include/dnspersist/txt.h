/*
 * txt: TXT RDATA as character-strings (RFC 1035 3.3.14, spec R2).
 * A value longer than 255 octets must be written as several strings, and a
 * reader concatenates them with no separator before parsing.
 */
#ifndef DNSPERSIST_TXT_H
#define DNSPERSIST_TXT_H

#include <stddef.h>
#include "error.h"
#include "record.h"

#define DP_TXT_STRING_MAX 255
/* RDATA is at most 65535 octets, so a joined value never exceeds this. */
#define DP_TXT_VALUE_MAX 65535

/* One TXT resource record: its character-strings, borrowed. */
struct dp_txt_rr {
    const struct dp_span *strings;
    size_t n_strings;
};

/* Number of character-strings needed for len octets (at least 1). */
DP_API size_t dp_txt_count(size_t len);

/* Splits value into at most max spans of <= 255 octets pointing into value.
 * Returns the number of spans written, or 0 when max is too small. */
DP_API size_t dp_txt_split(const char *value, size_t len, struct dp_span *out, size_t max);

/* Concatenates rr's strings into buf (NUL-terminated). DP_ERR_TOOBIG when
 * the result would exceed cap-1 octets or DP_TXT_VALUE_MAX. */
DP_API dp_code dp_txt_join(const struct dp_txt_rr *rr, char *buf, size_t cap, size_t *outlen,
                           struct dp_error *err);

/* Zone-file presentation of value: quoted strings of <= 255 octets separated
 * by one space, with '"', '\\' and non-printable octets escaped. Caller
 * frees; NULL on allocation failure. */
DP_API char *dp_txt_presentation_alloc(const char *value, size_t len);

#endif
