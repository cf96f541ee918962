/*
 * record: the _validation-persist TXT value (draft section 4.1, spec R3/R4).
 *
 * Parsing borrows: every span in struct dp_record points into the caller's
 * buffer, so a parse allocates nothing and the record is valid only while
 * that buffer lives. Formatting writes the canonical form
 *   ISSUER; accounturi=URI[; policy=wildcard][; persistUntil=N]
 * which dp_record_parse always accepts (round trip).
 */
#ifndef DNSPERSIST_RECORD_H
#define DNSPERSIST_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* A borrowed run of octets; not NUL-terminated. */
struct dp_span {
    const char *ptr;
    size_t len;
};

/* Parameters beyond this count make a record malformed: it bounds the work a
 * hostile TXT value can cause (the duplicate check is quadratic). */
#define DP_RECORD_MAX_PARAMS 32

struct dp_param {
    struct dp_span tag;
    struct dp_span value;
    size_t tag_offset;
    size_t value_offset;
};

struct dp_record {
    struct dp_span issuer; /* as written, len 0 when absent (such a record matches no CA) */
    size_t issuer_offset;
    int has_accounturi;
    struct dp_span accounturi; /* compared byte for byte, never case-folded (R4) */
    int has_policy;
    struct dp_span policy;
    int wildcard; /* policy value equals "wildcard", any case (R4) */
    int has_persist_until;
    int64_t persist_until; /* seconds since the epoch; may be negative */
    size_t n_params;       /* every parameter in order, known and unknown */
    struct dp_param params[DP_RECORD_MAX_PARAMS];
};

/* Parses one TXT value (the character-strings already joined, R2).
 * Returns DP_OK, or DP_ERR_MALFORMED with err->rule ("R3"/"R4") and
 * err->offset naming the offending octet. rec holds what was read up to the
 * error either way. */
DP_API dp_code dp_record_parse(const char *value, size_t len, struct dp_record *rec,
                               struct dp_error *err);

/* The RFC 8659 section 4.2 issue-value grammar alone, as a CAA issue or
 * issuewild value is read: rec gets the issuer (len 0 for none, as in
 * "issue \";\"") and every parameter in order; nothing is required and
 * no parameter has a meaning here (rec->has_* stay 0). DP_OK or
 * DP_ERR_MALFORMED with err->offset. */
DP_API dp_code dp_record_parse_issue_value(const char *value, size_t len, struct dp_record *rec,
                                           struct dp_error *err);

/* Finds the issuer-domain-name token the V2 filter compares: after leading
 * blanks, up to a blank, ';' or the end. Never fails; the span may be empty.
 * It does not check the grammar, so a record with a malformed tail can still
 * be recognised as another CA's and ignored. */
DP_API struct dp_span dp_record_issuer_token(const char *value, size_t len);

/* Compares an issuer token with a normalized issuer name (lowercase A-label,
 * no trailing dot): ASCII case-insensitive, one trailing dot ignored (V2).
 * Returns 1 on a match. */
DP_API int dp_record_issuer_matches(struct dp_span token, const char *issuer);

struct dp_record_spec {
    const char *issuer;     /* normalized issuer domain name */
    const char *accounturi; /* hashed URI (draft-02) or account URL (draft-01) */
    int wildcard;           /* add policy=wildcard */
    int has_persist_until;
    int64_t persist_until;
};

/* Writes the canonical value and a terminating NUL into buf. Returns DP_OK,
 * DP_ERR_TOOBIG (with *outlen set to the length needed, without the NUL),
 * or DP_ERR_INVAL / DP_ERR_MALFORMED for fields that would not parse back. */
DP_API dp_code dp_record_format(const struct dp_record_spec *spec, char *buf, size_t cap,
                                size_t *outlen, struct dp_error *err);

/* Same, into a new buffer the caller frees with free(); NULL on error. */
DP_API char *dp_record_format_alloc(const struct dp_record_spec *spec, struct dp_error *err);

#endif
