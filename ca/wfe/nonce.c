/*
 * nonce.c: a bounded set of outstanding nonces. A ring remembers issue order
 * so the oldest nonce is evicted when the set is full; an open-addressing
 * table answers "was this issued and not yet used" in O(1). Nonces are 128
 * random bits, so forgetting one only costs its client a badNonce retry.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <time.h>

#include "dnspersist/dnspersist.h"
#include "hash.h"
#include "nonce.h"

struct nonces {
    pthread_mutex_t mu;
    int shared;
    unsigned char key[32];
    int (*used_fn)(void *arg, const char *nonce, long long expires);
    void *used_arg;
    unsigned cap, size, ring_head, count;
    unsigned used;            /* live entries plus tombstones: rebuilt before probes get long */
    char (*ring)[24];         /* issue order */
    char (*table)[24];        /* "" empty, "\x01" tombstone */
    unsigned char pool[4096]; /* random bytes not yet used */
    size_t pool_left;
};

struct nonces *nonces_new(unsigned cap)
{
    struct nonces *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->cap = cap;
    n->size = 1;
    while (n->size < cap * 2)
        n->size <<= 1;
    n->ring = calloc(cap, sizeof *n->ring);
    n->table = calloc(n->size, sizeof *n->table);
    if (!n->ring || !n->table) {
        nonces_free(n);
        return NULL;
    }
    pthread_mutex_init(&n->mu, NULL);
    return n;
}

void nonces_free(struct nonces *n)
{
    if (!n) return;
    free(n->ring);
    free(n->table);
    free(n);
}

/* Index of s in the table, or of the first free slot when absent. */
static unsigned find(const struct nonces *n, const char *s, int want_free)
{
    unsigned mask = n->size - 1, i = (unsigned)ca_hash(s) & mask;
    for (;; i = (i + 1) & mask) {
        if (n->table[i][0] == '\0') return i;
        if (want_free && n->table[i][0] == '\x01') return i;
        if (!want_free && strcmp(n->table[i], s) == 0) return i;
    }
}

static void erase(struct nonces *n, const char *s)
{
    unsigned i = find(n, s, 0);
    if (n->table[i][0]) n->table[i][0] = '\x01';
}

/* Drops tombstones: re-inserts the live nonces of the ring. */
static void rebuild(struct nonces *n)
{
    char(*old)[24] = n->table;
    char(*fresh)[24] = calloc(n->size, sizeof *fresh);
    if (!fresh) return;
    n->used = 0;
    for (unsigned k = 0; k < n->count; k++) {
        const char *s = n->ring[(n->ring_head + n->cap - n->count + k) % n->cap];
        n->table = old;
        int live = old[find(n, s, 0)][0] != '\0' && old[find(n, s, 0)][0] != '\x01';
        n->table = fresh;
        if (live) {
            strcpy(fresh[find(n, s, 1)], s);
            n->used++;
        }
    }
    n->table = fresh;
    free(old);
}

void nonces_share(struct nonces *n, const unsigned char key[32],
                  int (*used)(void *arg, const char *nonce, long long expires), void *arg)
{
    memcpy(n->key, key, 32);
    n->shared = 1;
    n->used_arg = arg;
    n->used_fn = used;
}

/* 6 octets of milliseconds, 7 random, the first 8 of HMAC-SHA256 over
 * those 13: 21 octets, 28 characters. */
static int shared_mac(const struct nonces *n, const unsigned char *msg, unsigned char out[32])
{
    unsigned int l = 0;
    return HMAC(EVP_sha256(), n->key, 32, msg, 13, out, &l) ? 0 : -1;
}

static int shared_issue(struct nonces *n, char out[32])
{
    unsigned char b[21], mac[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    if (RAND_bytes(b + 6, 7) != 1 || shared_mac(n, b, mac)) return -1;
    memcpy(b + 13, mac, 8);
    return dp_b64url_encode(b, sizeof b, out, 32) == (size_t)-1 ? -1 : 0;
}

static int shared_consume(struct nonces *n, const char *nonce)
{
    unsigned char b[32], mac[32];
    if (!nonce || strlen(nonce) != 28 || dp_b64url_decode(nonce, 28, b, sizeof b) != 21 ||
        shared_mac(n, b, mac) || CRYPTO_memcmp(mac, b + 13, 8))
        return 0;
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | b[i];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now = (long long)ts.tv_sec, t = (long long)(ms / 1000);
    if (t > now + 60 || t + NONCE_SHARED_TTL < now) return 0;
    return n->used_fn(n->used_arg, nonce, t + NONCE_SHARED_TTL) == 1;
}

int nonces_issue(struct nonces *n, char out[32])
{
    if (n->shared) return shared_issue(n, out);
    unsigned char r[16];
    pthread_mutex_lock(&n->mu);
    /* Random bytes come from the DRBG a page at a time: one RAND_bytes per
     * 256 nonces instead of one each (every response carries a nonce). */
    if (n->pool_left < sizeof r) {
        if (RAND_bytes(n->pool, sizeof n->pool) != 1) {
            pthread_mutex_unlock(&n->mu);
            return -1;
        }
        n->pool_left = sizeof n->pool;
    }
    n->pool_left -= sizeof r;
    memcpy(r, n->pool + n->pool_left, sizeof r);
    OPENSSL_cleanse(n->pool + n->pool_left, sizeof r);
    dp_b64url_encode(r, sizeof r, out, 32);
    if (n->count == n->cap) { /* forget the oldest */
        erase(n, n->ring[n->ring_head]);
        n->count--;
    }
    if (n->used + 1 > n->size / 4 * 3) rebuild(n);
    unsigned slot = find(n, out, 1);
    if (n->table[slot][0] == '\0') n->used++;
    strcpy(n->table[slot], out);
    strcpy(n->ring[n->ring_head], out);
    n->ring_head = (n->ring_head + 1) % n->cap;
    n->count++;
    pthread_mutex_unlock(&n->mu);
    return 0;
}

int nonces_consume(struct nonces *n, const char *nonce)
{
    if (n->shared) return shared_consume(n, nonce);
    if (!nonce || strlen(nonce) != 22) return 0;
    pthread_mutex_lock(&n->mu);
    unsigned i = find(n, nonce, 0);
    int ok = n->table[i][0] != '\0';
    if (ok) n->table[i][0] = '\x01';
    /* Its ring entry stays; erasing an absent nonce later is harmless. */
    pthread_mutex_unlock(&n->mu);
    return ok;
}
