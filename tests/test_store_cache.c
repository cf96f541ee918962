/*
 * test_store_cache.c: the row caches in front of a real SQLite store
 * (ca/store/store_cache.c). A writer must read its own write while other
 * threads keep refilling the cache with the row (a miss that read the old
 * row must not keep it); an account's deactivation reaches its cached
 * authorizations; a finished validation's cached row is kept current; and,
 * on the cache alone, the two interleavings that could leave a stale row.
 * Runs under ThreadSanitizer too (scripts/test.sh).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "store.h"
#include "store_cache.h"

static struct store *store;
static char account[ST_ID];
static atomic_int stop;

static void *reader(void *arg)
{
    const char *id = arg;
    struct st_account a;
    while (!atomic_load(&stop))
        (void)store_account_get(store, id, &a);
    return NULL;
}

/* 2000 contact changes, each read back at once, while three threads read
 * the same row as fast as they can. */
static void writer_reads_its_own_write(void)
{
    pthread_t t[3];
    atomic_store(&stop, 0);
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, reader, account);
    int stale = 0, failed = 0;
    for (int i = 0; i < 2000; i++) {
        char contact[64];
        snprintf(contact, sizeof contact, "[\"mailto:n%d@example.test\"]", i);
        struct st_account a;
        if (store_account_set_contact(store, account, contact) ||
            store_account_get(store, account, &a))
            failed++;
        else if (strcmp(a.contact, contact))
            stale++;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    if (stale) fprintf(stderr, "%d stale reads\n", stale);
    CHECK(failed == 0);
    CHECK(stale == 0);
}

/* A new order of one pending authorization: its id into authz. */
static int new_authz(const char *acct, char authz[ST_ID])
{
    struct st_order *o = calloc(1, sizeof *o);
    if (!o) return -1;
    snprintf(o->account, sizeof o->account, "%s", acct);
    o->n = 1;
    o->expires = (int64_t)time(NULL) + 3600;
    o->status = ST_PENDING;
    snprintf(o->identifiers[0], sizeof o->identifiers[0], "a.example.test");
    snprintf(o->profile, sizeof o->profile, "classic");
    struct st_authz_init init = {0, o->expires, 0, NULL};
    int rc = store_order_create(store, o, &init, NULL);
    if (rc == 0) snprintf(authz, ST_ID, "%s", o->authz[0]);
    free(o);
    return rc;
}

static void finish_keeps_cached_row_current(void)
{
    char id[ST_ID];
    struct st_authz a;
    CHECK(new_authz(account, id) == 0);
    CHECK(store_authz_get(store, id, &a) == 0 && a.status == ST_PENDING); /* now cached */
    int64_t exp = (int64_t)time(NULL) + 7200;
    CHECK(store_authz_finish(store, id, "dns-persist-01", 1, exp, 42, "", "") == 0);
    CHECK(store_authz_get(store, id, &a) == 0);
    CHECK(a.status == ST_VALID && a.ch_status == ST_VALID && a.expires == exp &&
          a.ch_validated == 42 && !strcmp(a.ch_type, "dns-persist-01"));
    /* A late second result changes nothing, cached or not. */
    CHECK(store_authz_finish(store, id, "dns-01", 0, exp, 43, "{}", "") == 1);
    CHECK(store_authz_get(store, id, &a) == 0 && a.status == ST_VALID && a.ch_validated == 42);
}

static void deactivation_reaches_cached_authzs(void)
{
    struct st_account other;
    char ids[3][ST_ID];
    struct st_authz a;
    CHECK(store_account_create(store, "{\"k\":2}", "thumb-2", "[]", &other) == 0);
    for (int i = 0; i < 3; i++) {
        CHECK(new_authz(other.id, ids[i]) == 0);
        CHECK(store_authz_get(store, ids[i], &a) == 0 && a.status == ST_PENDING);
    }
    CHECK(store_account_get(store, other.id, &other) == 0 && other.status == ST_VALID);
    CHECK(store_account_deactivate(store, other.id, "{}") == 0);
    CHECK(store_account_get(store, other.id, &other) == 0 && other.status == ST_DEACTIVATED);
    for (int i = 0; i < 3; i++)
        CHECK(store_authz_get(store, ids[i], &a) == 0 && a.status == ST_DEACTIVATED);
}

/* The cache is on: a row changed behind this process's back (what another
 * writer would do, and why a shared database gets no cache) is not seen. */
static char db[80];

static void rows_are_cached(void)
{
    char why[256];
    struct st_account a;
    struct store *other = store_open(db, 0, why, sizeof why);
    CHECK(other != NULL);
    if (!other) return;
    CHECK(store_account_get(store, account, &a) == 0);
    CHECK(store_account_set_contact(other, account, "[\"mailto:behind@example.test\"]") == 0);
    CHECK(store_account_get(store, account, &a) == 0 && !strstr(a.contact, "behind"));
    store_close(other);
}

/* The interleavings below are ones a real store cannot be made to produce
 * on demand (a miss that read the old row, paused while a whole write runs),
 * so the row source is a variable the test controls: a hand-written fake,
 * for this fault only. */
struct fake {
    struct st_account row;
    pthread_barrier_t b;
    struct store_cache *c;
};

static int fake_read(void *arg, const char *id, void *out)
{
    struct fake *f = arg;
    (void)id;
    memcpy(out, &f->row, sizeof f->row);
    pthread_barrier_wait(&f->b); /* the old row is read */
    pthread_barrier_wait(&f->b); /* the write has run, start to end */
    return 0;
}

static void *slow_miss(void *arg)
{
    struct fake *f = arg;
    struct st_account a;
    (void)store_cache_get(f->c, SC_ACCOUNT, "acct", &a, fake_read, f);
    return NULL;
}

static int plain_read(void *arg, const char *id, void *out)
{
    (void)id;
    memcpy(out, &((struct fake *)arg)->row, sizeof(struct st_account));
    return 0;
}

static void miss_overtaken_by_write_keeps_nothing(void)
{
    struct fake f = {.c = store_cache_new()};
    CHECK(f.c != NULL);
    if (!f.c) return;
    snprintf(f.row.id, sizeof f.row.id, "acct");
    snprintf(f.row.contact, sizeof f.row.contact, "old");
    pthread_barrier_init(&f.b, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, slow_miss, &f);
    pthread_barrier_wait(&f.b);
    struct sc_write w = {.kind = SC_ACCOUNT, .id = "acct"};
    store_cache_begin(f.c, &w, NULL);
    snprintf(f.row.contact, sizeof f.row.contact, "new");
    store_cache_end(f.c, &w, NULL);
    pthread_barrier_wait(&f.b);
    pthread_join(t, NULL);
    struct st_account a;
    CHECK(store_cache_get(f.c, SC_ACCOUNT, "acct", &a, plain_read, &f) == 0 &&
          !strcmp(a.contact, "new"));
    pthread_barrier_destroy(&f.b);
    store_cache_free(f.c);
}

/* A write's own result row is kept only when no other write to the row
 * ran beside it: W2 begins and ends inside W1, so W1's row may be older
 * than W2's and is not kept. */
static void overlapping_writes_keep_no_row(void)
{
    struct fake f = {.c = store_cache_new()};
    CHECK(f.c != NULL);
    if (!f.c) return;
    snprintf(f.row.id, sizeof f.row.id, "acct");
    snprintf(f.row.contact, sizeof f.row.contact, "v0");
    struct st_account a, before;
    CHECK(store_cache_get(f.c, SC_ACCOUNT, "acct", &a, plain_read, &f) == 0); /* cached */
    struct sc_write w1 = {.kind = SC_ACCOUNT, .id = "acct"}, w2 = w1;
    CHECK(store_cache_begin(f.c, &w1, &before) == 1 && !strcmp(before.contact, "v0"));
    store_cache_begin(f.c, &w2, NULL);
    snprintf(f.row.contact, sizeof f.row.contact, "v2");
    store_cache_end(f.c, &w2, NULL);
    snprintf(before.contact, sizeof before.contact, "v1"); /* what W1 thinks it left */
    store_cache_end(f.c, &w1, &before);
    CHECK(store_cache_get(f.c, SC_ACCOUNT, "acct", &a, plain_read, &f) == 0 &&
          !strcmp(a.contact, "v2"));
    /* Alone, its row is kept: the next read is a hit, not the source. */
    struct sc_write w3 = {.kind = SC_ACCOUNT, .id = "acct"};
    CHECK(store_cache_begin(f.c, &w3, &before) == 1);
    snprintf(before.contact, sizeof before.contact, "v3");
    store_cache_end(f.c, &w3, &before);
    CHECK(store_cache_get(f.c, SC_ACCOUNT, "acct", &a, plain_read, &f) == 0 &&
          !strcmp(a.contact, "v3"));
    store_cache_free(f.c);
}

int main(void)
{
    char dir[] = "/tmp/dp-test-store-cache-XXXXXX", why[256];
    if (!mkdtemp(dir)) return 1;
    snprintf(db, sizeof db, "%s/ca.sqlite", dir);
    store = store_open(db, 1, why, sizeof why);
    CHECK(store != NULL);
    struct st_account acct;
    if (store && store_account_create(store, "{}", "thumb", "[]", &acct) == 0) {
        snprintf(account, sizeof account, "%s", acct.id);
        RUN(writer_reads_its_own_write);
        RUN(finish_keeps_cached_row_current);
        RUN(deactivation_reaches_cached_authzs);
        RUN(rows_are_cached);
        RUN(miss_overtaken_by_write_keeps_nothing);
        RUN(overlapping_writes_keep_no_row);
    } else {
        CHECK(!"store opened with an account");
    }
    store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
