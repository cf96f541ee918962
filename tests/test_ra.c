/*
 * test_ra.c: the registration authority's state changes against a real
 * SQLite store, with threads racing them. A client deactivating an
 * authorization while its validation result arrives must end with the
 * authorization deactivated, every time (RFC 8555 7.5.2: a deactivated
 * authorization is never valid again); before the compare-and-set writes,
 * the validation wrote the whole row and could bring it back to valid.
 *
 * Usage: test_ra [ROUNDS]   (default 1000; run under ThreadSanitizer in CI)
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "ra.h"

/* The RA under test, over a real store and a stub VA (the race is the
 * RA's: nothing is looked up). */
static struct ra *ra;
static struct store *store;
static const struct rl_config no_limits; /* every count 0: unlimited */
static struct profiles profiles;

static int stub_answer(void *va, const struct st_authz *a, const char *type)
{
    (void)va, (void)a, (void)type;
    return 0;
}

static double stub_overlay(void *va, struct st_authz *a)
{
    (void)va, (void)a;
    return 0;
}

static void stub_jit(void *va, struct va_jit *items, size_t n)
{
    (void)va;
    for (size_t i = 0; i < n; i++)
        items[i].valid = 0;
}

static int stub_recheck(void *va, const struct st_authz *a, struct va_result *r)
{
    (void)va, (void)a;
    r->valid = 1;
    return 1;
}
static pthread_barrier_t start;

struct race {
    struct st_authz a;
    struct va_result result;
    int deactivate_rc;
};

static void *validate(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(&start);
    ra_validation_done(ra, &r->a, &r->result);
    return NULL;
}

static void *deactivate(void *arg)
{
    struct race *r = arg;
    struct st_authz mine = r->a;
    struct ra_problem p;
    pthread_barrier_wait(&start);
    r->deactivate_rc = ra_authz_deactivate(ra, &mine, &p);
    return NULL;
}

/* One order of one name; its authorization's challenge answered. */
static int new_authz(const char *account, int round, struct st_authz *a)
{
    struct st_order o = {0};
    struct ra_problem p;
    snprintf(o.account, sizeof o.account, "%s", account);
    snprintf(o.identifiers[0], sizeof o.identifiers[0], "r%d.race.example", round);
    o.n = 1;
    if (ra_order_new(ra, &o, 0, &p) || store_authz_get(store, o.authz[0], a)) return -1;
    snprintf(a->ch_type, sizeof a->ch_type, "dns-persist-01");
    return 0;
}

/* Runs both paths at once; returns the authorization's final status. */
static void race(const char *account, int round, int valid, char out[16])
{
    struct race r = {.result = {.valid = valid, .type = "unauthorized", .status = 403}};
    out[0] = '\0';
    if (new_authz(account, round, &r.a)) return;
    pthread_t t1, t2;
    pthread_create(&t1, NULL, validate, &r);
    pthread_create(&t2, NULL, deactivate, &r);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    struct st_authz after;
    if (store_authz_get(store, r.a.id, &after) == 0)
        snprintf(out, 16, "%s", st_status_name(after.status));
    /* The order follows: never ready with a deactivated authorization. */
    struct st_order o;
    if (store_order_get(store, after.order, &o) == 0) {
        ra_order_refresh(ra, &o);
        if (after.status == ST_DEACTIVATED && o.status != ST_INVALID) out[0] = '?';
    }
}

static int rounds = 1000;
static char account[ST_ID];

static void deactivation_beats_passing_validation(void)
{
    int ok = 0;
    char st[16];
    for (int i = 0; i < rounds; i++) {
        race(account, i, 1, st);
        ok += !strcmp(st, "deactivated");
        if (strcmp(st, "deactivated")) fprintf(stderr, "round %d: ended %s\n", i, st);
    }
    printf("     %d of %d rounds ended deactivated\n", ok, rounds);
    CHECK(ok == rounds);
}

/* A failing validation may land first (invalid) or second (deactivated
 * stands); the authorization is never valid. */
static void failing_validation_never_valid(void)
{
    int bad = 0;
    char st[16];
    for (int i = 0; i < rounds / 4; i++) {
        race(account, rounds + i, 0, st);
        bad += strcmp(st, "deactivated") && strcmp(st, "invalid");
    }
    CHECK(bad == 0);
}

/* A late result changes nothing once the authorization left pending. */
static void late_result_is_dropped(void)
{
    struct st_authz a, after;
    struct ra_problem p;
    CHECK(new_authz(account, 2 * rounds, &a) == 0);
    struct va_result fail = {.valid = 0, .type = "unauthorized", .status = 403};
    ra_validation_done(ra, &a, &fail);
    struct va_result pass = {.valid = 1};
    ra_validation_done(ra, &a, &pass);
    CHECK(store_authz_get(store, a.id, &after) == 0 && after.status == ST_INVALID);
    CHECK(ra_authz_deactivate(ra, &after, &p) == -1 && p.status == 403);
}

int main(int argc, char **argv)
{
    if (argc > 1) rounds = atoi(argv[1]);
    char dir[] = "/tmp/dp-test-ra-XXXXXX", db[64], why[256];
    if (!mkdtemp(dir)) return 1;
    snprintf(db, sizeof db, "%s/ca.sqlite", dir);
    struct ra_config cfg = {.persist = 1,
                            .dns01 = 1,
                            .http01 = 1,
                            .authz_lifetime = 3600,
                            .order_lifetime = 3600,
                            .resolver = "",
                            .limits = &no_limits,
                            .profiles = &profiles,
                            .base = "https://ca.test"};
    pthread_barrier_init(&start, NULL, 2);
    store = store_open(db, !getenv("DNSPERSIST_CA_NO_CACHE"), why, sizeof why);
    CHECK(store != NULL);
    if (store && !(ra = ra_new(&cfg, store, NULL, NULL, NULL, "test"))) return 1;
    if (ra)
        ra_attach_va(ra, (struct ra_va){NULL, stub_answer, stub_overlay, stub_jit, stub_recheck});
    struct st_account acct;
    if (store && store_account_create(store, "{}", "thumb", "[]", &acct) == 0) {
        snprintf(account, sizeof account, "%s", acct.id);
        RUN(deactivation_beats_passing_validation);
        RUN(failing_validation_never_valid);
        RUN(late_result_is_dropped);
    }
    ra_free(ra);
    store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
