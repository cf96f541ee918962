/*
 * domain.c: draft section 9.2 normalization. libidn2 does the Unicode work
 * (case fold, NFC, Punycode); the LDH and length checks are ours, because
 * libidn2 lets through names a CA must not validate (underscores, empty
 * labels, names over 253 octets).
 *
 * Pure-ASCII names without an "xn--" label skip libidn2: for them the whole
 * algorithm is ASCII lowercase plus the checks, and the verifier normalizes
 * on its hot path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "internal.h"

/* Bounds the work done on hostile input before any check runs. */
#define INPUT_MAX 1024

static int needs_idna(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80) return 1;
        if ((i == 0 || s[i - 1] == '.') && len - i >= 4 && dp__lower((unsigned char)s[i]) == 'x' &&
            dp__lower((unsigned char)s[i + 1]) == 'n' && s[i + 2] == '-' && s[i + 3] == '-')
            return 1;
    }
    return 0;
}

static dp_code check_ldh(const char *s, size_t len, const char *orig, struct dp_error *err)
{
    if (len == 0) return dp__fail(err, DP_ERR_DOMAIN, "9.2", 0, "empty domain name");
    if (len > DP_DOMAIN_MAX)
        return dp__fail(err, DP_ERR_DOMAIN, "9.2", DP_NO_OFFSET,
                        "domain name is %zu octets after normalization; the limit is %d", len,
                        DP_DOMAIN_MAX);
    size_t start = 0;
    int all_digits = 1;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            size_t l = i - start;
            if (l == 0) return dp__fail(err, DP_ERR_DOMAIN, "9.2", i, "empty label in '%s'", orig);
            if (l > DP_LABEL_MAX)
                return dp__fail(err, DP_ERR_DOMAIN, "9.2", start,
                                "label '%.*s...' is %zu octets; the limit is %d", 16, s + start, l,
                                DP_LABEL_MAX);
            if (s[start] == '-' || s[i - 1] == '-')
                return dp__fail(err, DP_ERR_DOMAIN, "9.2", start,
                                "label '%.*s' starts or ends with '-'", (int)l, s + start);
            if (i == len && all_digits)
                return dp__fail(err, DP_ERR_DOMAIN, "9.2", start,
                                "'%s' ends in an all-numeric label (an IP address is not a "
                                "domain name)",
                                orig);
            start = i + 1;
            all_digits = 1;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (!(dp__is_alnum(c) || c == '-'))
            return dp__fail(err, DP_ERR_DOMAIN, "9.2", i,
                            "'%s': octet %zu ('%c') is not a letter, digit or '-'", orig, i,
                            c >= 0x20 && c < 0x7f ? c : '?');
        if (!(c >= '0' && c <= '9')) all_digits = 0;
    }
    return DP_OK;
}

dp_code dp_domain_normalize(const char *in, char *out, unsigned flags, struct dp_error *err)
{
    dp_error_clear(err);
    if (!in || !out) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    size_t len = strnlen(in, INPUT_MAX + 1);
    if (len > INPUT_MAX)
        return dp__fail(err, DP_ERR_DOMAIN, "9.2", DP_NO_OFFSET, "domain name is far too long");
    const char *orig = in;
    size_t prefix = 0;
    if (len >= 2 && in[0] == '*' && in[1] == '.') {
        if (!(flags & DP_DOMAIN_ALLOW_WILDCARD))
            return dp__fail(err, DP_ERR_DOMAIN, "9.2", 0, "a wildcard '*.' is not allowed here");
        prefix = 2;
        in += 2;
        len -= 2;
    }
    if (len > 0 && in[len - 1] == '.') len--; /* step 4, done first: idn2 wants no root dot */
    if (len == 0) return dp__fail(err, DP_ERR_DOMAIN, "9.2", 0, "empty domain name");

    const char *src = in;
    char *idn = NULL;
    if (needs_idna(in, len)) {
        /* Steps 1-3: UTS #46 mapping folds case, then NFC, then A-labels. */
        char tmp[INPUT_MAX + 1];
        memcpy(tmp, in, len);
        tmp[len] = '\0';
        int rc = idn2_to_ascii_8z(tmp, &idn, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK)
            return dp__fail(err, DP_ERR_DOMAIN, "9.2", DP_NO_OFFSET, "'%s' is not a valid IDN: %s",
                            orig, idn2_strerror(rc));
        src = idn;
        len = strlen(idn);
    }
    if (len > DP_DOMAIN_MAX) {
        free(idn);
        return dp__fail(err, DP_ERR_DOMAIN, "9.2", DP_NO_OFFSET,
                        "'%s' is %zu octets after normalization; the limit is %d", orig, len,
                        DP_DOMAIN_MAX);
    }
    char *dst = out + prefix;
    for (size_t i = 0; i < len; i++)
        dst[i] = (char)dp__lower((unsigned char)src[i]);
    dst[len] = '\0';
    free(idn);
    dp_code rc = check_ldh(dst, len, orig, err);
    if (rc != DP_OK) return rc;
    if (prefix) memcpy(out, "*.", 2);
    return DP_OK;
}

int dp_domain_is_subdomain(const char *child, const char *parent)
{
    if (!child || !parent) return 0;
    size_t c = strlen(child), p = strlen(parent);
    return p > 0 && c > p + 1 && child[c - p - 1] == '.' && memcmp(child + c - p, parent, p) == 0;
}

const char *dp_domain_base(const char *identifier)
{
    if (identifier && identifier[0] == '*' && identifier[1] == '.') return identifier + 2;
    return identifier;
}

dp_code dp_domain_validation_name(const char *identifier, char *out, struct dp_error *err)
{
    char norm[DP_DOMAIN_MAX + 3];
    dp_code rc = dp_domain_normalize(identifier, norm, DP_DOMAIN_ALLOW_WILDCARD, err);
    if (rc != DP_OK) return rc;
    snprintf(out, DP_VALIDATION_NAME_MAX, "%s.%s", DP_VALIDATION_LABEL, dp_domain_base(norm));
    return DP_OK;
}
