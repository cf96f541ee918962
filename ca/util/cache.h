/*
 * cache.h: one set-associative cache with least-recently-used eviction, for
 * every in-memory copy the server keeps (account and authorization rows,
 * parsed account keys).
 *
 * Entries are fixed-size structs whose first member is their key, a
 * NUL-terminated string. The cache has its own lock; callers that must keep
 * a cached row equal to the stored one (the store) call cache_put or
 * cache_drop inside the same critical section as their write.
 *
 * Invalidation: a cache may only ever make things faster. A writer drops
 * (or replaces) the entry of every row it changes, under its own lock,
 * before that lock is released; an entry is never trusted across processes.
 * A cache made with sets == 0 is off: every get misses, every put is
 * released at once, so a test can run the server without caches and must
 * see the same results.
 */
#ifndef CA_CACHE_H
#define CA_CACHE_H

#include <stddef.h>

struct cache;

/* release (may be NULL) is called on an entry the cache lets go of: evicted,
 * replaced, dropped, or at cache_free. NULL when out of memory. */
struct cache *cache_new(size_t entry_size, size_t sets, void (*release)(void *entry));
void cache_free(struct cache *c);

/* Copies the entry of key into out: 1 on a hit (hold, when given, is called
 * on out under the cache's lock, e.g. to take a reference), 0 on a miss. */
int cache_get(struct cache *c, const char *key, void *out, void (*hold)(void *entry));
/* Stores a copy of entry, replacing the one with its key or the least
 * recently used of its set. */
void cache_put(struct cache *c, const void *entry);
void cache_drop(struct cache *c, const char *key);
/* Drops every entry match says yes to: a walk of the whole cache, for the
 * rare write that changes rows it cannot name (an account's authorizations
 * at its deactivation). */
void cache_drop_if(struct cache *c, int (*match)(const void *entry, const void *arg),
                   const void *arg);

#endif
