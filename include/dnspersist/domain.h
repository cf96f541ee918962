/*
 * domain: domain name normalization (draft section 9.2) and the names the
 * protocol derives from a domain (R1).
 */
#ifndef DNSPERSIST_DOMAIN_H
#define DNSPERSIST_DOMAIN_H

#include <stddef.h>
#include "error.h"

#define DP_DOMAIN_MAX 253 /* octets, no trailing dot */
#define DP_LABEL_MAX 63
#define DP_VALIDATION_LABEL "_validation-persist"
/* Room for "_validation-persist." plus a full name plus NUL. */
#define DP_VALIDATION_NAME_MAX (sizeof DP_VALIDATION_LABEL + DP_DOMAIN_MAX + 1)

/* Flags for dp_domain_normalize. */
#define DP_DOMAIN_ALLOW_WILDCARD 1u /* accept and keep a leading "*." */

/* Normalizes a domain name: Unicode case fold, NFC, A-labels (libidn2,
 * UTS #46 non-transitional), ASCII lowercase, one trailing dot removed, then
 * checks LDH labels of 1 to 63 octets and at most 253 octets in all. out
 * needs DP_DOMAIN_MAX + 3 octets (a kept "*." plus NUL) and is unspecified
 * on error. DP_OK or DP_ERR_DOMAIN with a detail naming the label. */
DP_API dp_code dp_domain_normalize(const char *in, char *out, unsigned flags, struct dp_error *err);

/* 1 when child is a proper subdomain of parent on a label boundary
 * ("a.example.com" under "example.com"; "badexample.com" is not). Both
 * normalized, without "*.". */
DP_API int dp_domain_is_subdomain(const char *child, const char *parent);

/* Strips a leading "*." (a wildcard identifier's base domain); borrowed. */
DP_API const char *dp_domain_base(const char *identifier);

/* Writes "_validation-persist.<base>" for an identifier (R1: a wildcard
 * "*.example.com" is validated at _validation-persist.example.com). out
 * needs DP_VALIDATION_NAME_MAX octets. DP_OK or DP_ERR_DOMAIN. */
DP_API dp_code dp_domain_validation_name(const char *identifier, char *out, struct dp_error *err);

#endif
