/*
 * store_cache.h: in-memory copies of account and authorization rows in
 * front of a backend (store.c wires it in when the backend is its
 * database's only writer). It may only ever make reads faster: with it or
 * without it every result is the same (tests run both ways).
 */
#ifndef CA_STORE_CACHE_H
#define CA_STORE_CACHE_H

#include "store_read.h"

enum sc_kind { SC_ACCOUNT, SC_AUTHZ, SC_KINDS };

struct store_cache;

struct store_cache *store_cache_new(void);
void store_cache_free(struct store_cache *c);

/* The row id of kind k into out (a struct st_account or st_authz): from
 * the cache, else through read(arg, id, out), whose 0 result is kept when
 * no write to the row overlapped it. read's result (0, 1, -1). */
int store_cache_get(struct store_cache *c, enum sc_kind k, const char *id, void *out,
                    int (*read)(void *arg, const char *id, void *out), void *arg);

/* A write to rows of kind: the row id, or (id NULL) the rows of account.
 * Every write to a cached kind is bracketed by begin and end (c NULL: both
 * do nothing). */
struct sc_write {
    enum sc_kind kind;
    const char *id;
    const char *account;
    /* set by begin */
    int all;
    unsigned stripe;
    unsigned long gen;
};
/* Before the backend's write. With before, copies the cached row there
 * first: 1 when there was one. */
int store_cache_begin(struct store_cache *c, struct sc_write *w, void *before);
/* After it; row (NULL for none) is the row as the write left it, kept
 * when no other write to it ran meanwhile. */
void store_cache_end(struct store_cache *c, struct sc_write *w, const void *row);

#endif
