/*
 * store_cache.c: the row caches (accounts, authorizations) as a layer over
 * any backend (store_cache.h). store.c puts it in front of a backend that is
 * its database's only writer; rows another process may change are never
 * cached.
 *
 * Exactness. A reader that misses reads the backend and keeps the row only
 * when no write to that row overlapped its read: each row id hashes to a
 * stripe with a count of writes in flight and a generation bumped as each
 * ends. A write drops the row when it starts (so no hit returns the old row
 * once the write may have committed) and again when it ends (a miss that
 * read the old row just before cannot keep it: the stripe was busy). A
 * write that changes rows it cannot name (an account's authorizations)
 * holds every stripe.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "hash.h"
#include "store_cache.h"

#define STRIPES 64

struct stripe {
    unsigned busy; /* writes in flight */
    unsigned long gen;
};

struct store_cache {
    pthread_mutex_t mu;
    struct cache *rows[SC_KINDS];
    struct stripe st[SC_KINDS][STRIPES];
};

struct store_cache *store_cache_new(void)
{
    struct store_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->rows[SC_ACCOUNT] = cache_new(sizeof(struct st_account), 64, NULL);
    c->rows[SC_AUTHZ] = cache_new(sizeof(struct st_authz), 256, NULL);
    if (!c->rows[SC_ACCOUNT] || !c->rows[SC_AUTHZ]) {
        store_cache_free(c);
        return NULL;
    }
    return c;
}

void store_cache_free(struct store_cache *c)
{
    if (!c) return;
    cache_free(c->rows[SC_ACCOUNT]);
    cache_free(c->rows[SC_AUTHZ]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static unsigned stripe_of(const char *id)
{
    return (unsigned)(ca_hash(id) % STRIPES);
}

int store_cache_get(struct store_cache *c, enum sc_kind k, const char *id, void *out,
                    int (*read)(void *arg, const char *id, void *out), void *arg)
{
    /* A hit takes only the cache's own lock: every POST looks its account
     * up, and must not wait behind another request's commit. */
    if (cache_get(c->rows[k], id, out, NULL)) return 0;
    unsigned i = stripe_of(id);
    pthread_mutex_lock(&c->mu);
    unsigned long gen = c->st[k][i].gen;
    int quiet = c->st[k][i].busy == 0;
    pthread_mutex_unlock(&c->mu);
    int rc = read(arg, id, out);
    if (rc != 0 || !quiet) return rc;
    pthread_mutex_lock(&c->mu);
    /* Kept only when no write to the stripe began or ended meanwhile, and
     * under c->mu, so no write can start between this check and the put
     * without its start-drop coming after the put. */
    if (c->st[k][i].busy == 0 && c->st[k][i].gen == gen) cache_put(c->rows[k], out);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void hold(struct store_cache *c, struct sc_write *w, int delta)
{
    for (unsigned i = 0; i < STRIPES; i++)
        if (w->all || i == w->stripe) {
            c->st[w->kind][i].busy += (unsigned)delta;
            if (delta < 0) c->st[w->kind][i].gen++;
        }
}

static int of_account(const void *row, const void *account)
{
    return !strcmp(((const struct st_authz *)row)->account, account);
}

static void drop(struct store_cache *c, const struct sc_write *w)
{
    if (w->id) cache_drop(c->rows[w->kind], w->id);
    if (w->account) cache_drop_if(c->rows[w->kind], of_account, w->account);
}

int store_cache_begin(struct store_cache *c, struct sc_write *w, void *before)
{
    if (!c) return 0;
    w->all = w->id == NULL;
    w->stripe = w->id ? stripe_of(w->id) : 0;
    pthread_mutex_lock(&c->mu);
    /* Copied under c->mu: after every earlier write's end, so the copy is
     * the row as the last finished write left it. */
    int had = before && w->id && cache_get(c->rows[w->kind], w->id, before, NULL);
    hold(c, w, 1);
    w->gen = c->st[w->kind][w->stripe].gen;
    drop(c, w);
    pthread_mutex_unlock(&c->mu);
    return had;
}

void store_cache_end(struct store_cache *c, struct sc_write *w, const void *row)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    const struct stripe *s = &c->st[w->kind][w->stripe];
    /* The row the write produced is kept only when this write was alone on
     * its stripe throughout: another one may have changed it after us. */
    int alone = row && !w->all && s->busy == 1 && s->gen == w->gen;
    hold(c, w, -1);
    drop(c, w);
    if (alone) cache_put(c->rows[w->kind], row);
    pthread_mutex_unlock(&c->mu);
}
