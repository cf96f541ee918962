/* duration.h: "90s", "30m", "3h", "7d" as seconds, for every option and
 * file that takes a time. A bare number is refused: "--cert-lifetime 90"
 * once gave 90-second certificates to someone who meant days. */
#ifndef CA_DURATION_H
#define CA_DURATION_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Seconds, or -1 when s is not a positive duration of at most max seconds. */
static inline int64_t ca_duration(const char *s, int64_t max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v <= 0) return -1;
    long long mul = !strcmp(end, "s")   ? 1
                    : !strcmp(end, "m") ? 60
                    : !strcmp(end, "h") ? 3600
                    : !strcmp(end, "d") ? 86400
                                        : -1;
    if (mul < 0 || v > max / mul) return -1;
    return (int64_t)(v * mul);
}

/* 1 when s is digits alone: the mistake the error message then names. */
static inline int ca_duration_bare(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

#endif
