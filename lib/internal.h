/* internal.h: helpers shared by the library's modules; never installed. */
#ifndef DP_INTERNAL_H
#define DP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dnspersist/dnspersist.h"

#if defined(__GNUC__) || defined(__clang__)
#define DP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DP_PRINTF(a, b)
#endif

/* Fills err (if any) and returns code, so failures read `return dp__fail(...)`. */
dp_code dp__fail(struct dp_error *err, dp_code code, const char *rule, size_t offset,
                 const char *fmt, ...) DP_PRINTF(5, 6);

static inline int dp__is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static inline int dp__is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 8659 value octet: %x21-3A / %x3C-7E. */
static inline int dp__is_value_char(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != ';';
}

/* Milliseconds on the monotonic clock: deadlines and timeouts. */
static inline double dp__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline unsigned char dp__lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality of a span and a NUL-terminated word. */
int dp__span_ieq(const char *p, size_t len, const char *word);

/* Unpadded base64url (RFC 4648 section 5). encode writes 4*ceil(n/3) minus
 * padding characters plus a NUL; out needs dp__b64url_len(n) + 1 octets. */
size_t dp__b64url_len(size_t n);
void dp__b64url_encode(const unsigned char *in, size_t n, char *out);
/* Decodes an unpadded, canonical (zero trailing bits) base64url string.
 * Returns the decoded length, or (size_t)-1 on a bad character, impossible
 * length, non-zero trailing bits or output overflow. */
size_t dp__b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);
/* 1 when s[0..len) is canonical unpadded base64url decoding to exactly n octets. */
int dp__b64url_is_canonical(const char *s, size_t len, size_t n);

#endif
