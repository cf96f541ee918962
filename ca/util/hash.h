/* hash.h: the string hash the server's fixed-size tables share (FNV-1a, 64 bits). */
#ifndef CA_HASH_H
#define CA_HASH_H

#include <stdint.h>

static inline uint64_t ca_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

#endif
