/*
 * cache.c: the set-associative LRU cache of cache.h. Four ways per set: a
 * direct-mapped table let two busy keys that hash to one slot evict each
 * other on every request.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "hash.h"

#define WAYS 4

struct cache {
    pthread_mutex_t mu;
    size_t entry_size, sets;
    unsigned char *entries; /* sets * WAYS entries */
    uint64_t *used;         /* clock at the last use; 0: empty */
    uint64_t clock;
    void (*release)(void *entry);
};

struct cache *cache_new(size_t entry_size, size_t sets, void (*release)(void *entry))
{
    struct cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->entry_size = entry_size;
    c->sets = sets;
    c->release = release;
    pthread_mutex_init(&c->mu, NULL);
    if (sets && (!(c->entries = calloc(sets * WAYS, entry_size)) ||
                 !(c->used = calloc(sets * WAYS, sizeof *c->used)))) {
        cache_free(c);
        return NULL;
    }
    return c;
}

static void *entry(const struct cache *c, size_t i)
{
    return c->entries + i * c->entry_size;
}

static void let_go(struct cache *c, size_t i)
{
    if (c->used[i] && c->release) c->release(entry(c, i));
    c->used[i] = 0;
}

void cache_free(struct cache *c)
{
    if (!c) return;
    for (size_t i = 0; c->used && i < c->sets * WAYS; i++)
        let_go(c, i);
    pthread_mutex_destroy(&c->mu);
    free(c->entries);
    free(c->used);
    free(c);
}

/* The index of key's entry, or (size_t)-1. Caller holds c->mu. */
static size_t find(const struct cache *c, const char *key, size_t *set)
{
    *set = (ca_hash(key) % c->sets) * WAYS;
    for (size_t i = *set; i < *set + WAYS; i++)
        if (c->used[i] && !strcmp((const char *)entry(c, i), key)) return i;
    return (size_t)-1;
}

int cache_get(struct cache *c, const char *key, void *out, void (*hold)(void *entry))
{
    if (!c->sets) return 0;
    size_t set;
    pthread_mutex_lock(&c->mu);
    size_t i = find(c, key, &set);
    if (i != (size_t)-1) {
        memcpy(out, entry(c, i), c->entry_size);
        c->used[i] = ++c->clock;
        if (hold) hold(out);
    }
    pthread_mutex_unlock(&c->mu);
    return i != (size_t)-1;
}

void cache_put(struct cache *c, const void *e)
{
    if (!c->sets) {
        if (c->release) c->release((void *)e);
        return;
    }
    size_t set;
    pthread_mutex_lock(&c->mu);
    size_t i = find(c, e, &set);
    if (i == (size_t)-1) { /* an empty way, else the least recently used */
        i = set;
        for (size_t k = set + 1; k < set + WAYS; k++)
            if (c->used[k] < c->used[i]) i = k;
    }
    let_go(c, i);
    memcpy(entry(c, i), e, c->entry_size);
    c->used[i] = ++c->clock;
    pthread_mutex_unlock(&c->mu);
}

void cache_drop(struct cache *c, const char *key)
{
    if (!c->sets) return;
    size_t set;
    pthread_mutex_lock(&c->mu);
    size_t i = find(c, key, &set);
    if (i != (size_t)-1) let_go(c, i);
    pthread_mutex_unlock(&c->mu);
}

void cache_drop_if(struct cache *c, int (*match)(const void *entry, const void *arg),
                   const void *arg)
{
    if (!c->sets) return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->sets * WAYS; i++)
        if (c->used[i] && match(entry(c, i), arg)) let_go(c, i);
    pthread_mutex_unlock(&c->mu);
}
