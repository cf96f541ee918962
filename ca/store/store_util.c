/*
 * store_util.c: what the store's dispatch and both backends share: new
 * ids, and a list of names or ids kept in one column. It calls nothing of
 * the store, so the dispatch (store.c, which opens the backends) and the
 * backends never call round a circle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dnspersist/dnspersist.h"
#include "store_impl.h"

char *store_join(const char *v, size_t n, size_t w)
{
    size_t l = 1;
    for (size_t i = 0; i < n; i++)
        l += strlen(v + i * w) + 1;
    char *out = malloc(l), *p = out;
    for (size_t i = 0; out && i < n; i++)
        p += sprintf(p, "%s%s", i ? "\n" : "", v + i * w);
    if (out) *p = '\0';
    return out;
}

size_t store_split(const char *in, char *out, size_t w, size_t max)
{
    size_t n = 0;
    while (in && *in && n < max) {
        const char *e = strchr(in, '\n');
        size_t l = e ? (size_t)(e - in) : strlen(in);
        snprintf(out + n * w, w, "%.*s", (int)l, in);
        n++;
        in += l + (e ? 1 : 0);
    }
    return n;
}

int store_new_id(char out[ST_ID])
{
    unsigned char r[12];
    if (RAND_bytes(r, sizeof r) != 1) return -1;
    return dp_b64url_encode(r, sizeof r, out, ST_ID) == (size_t)-1 ? -1 : 0;
}
