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

static struct ca ca;
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
    ra_validation_done(&ca, &r->a, &r->result);
    return NULL;
}

static void *deactivate(void *arg)
{
    struct race *r = arg;
    struct st_authz mine = r->a;
    struct ra_problem p;
    pthread_barrier_wait(&start);
    r->deactivate_rc = ra_authz_deactivate(&ca, &mine, &p);
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
    if (ra_order_new(&ca, &o, 0, &p) || store_authz_get(ca.store, o.authz[0], a)) return -1;
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
    if (store_authz_get(ca.store, r.a.id, &after) == 0) snprintf(out, 16, "%s", after.status);
    /* The order follows: never ready with a deactivated authorization. */
    struct st_order o;
    if (store_order_get(ca.store, after.order, &o) == 0) {
        ra_order_refresh(&ca, &o);
        if (!strcmp(after.status, "deactivated") && strcmp(o.status, "invalid")) out[0] = '?';
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
    ra_validation_done(&ca, &a, &fail);
    struct va_result pass = {.valid = 1};
    ra_validation_done(&ca, &a, &pass);
    CHECK(store_authz_get(ca.store, a.id, &after) == 0 && !strcmp(after.status, "invalid"));
    CHECK(ra_authz_deactivate(&ca, &after, &p) == -1 && p.status == 403);
}

int main(int argc, char **argv)
{
    if (argc > 1) rounds = atoi(argv[1]);
    char dir[] = "/tmp/dp-test-ra-XXXXXX", db[64], why[256];
    if (!mkdtemp(dir)) return 1;
    snprintf(db, sizeof db, "%s/ca.sqlite", dir);
    ca.cfg.authz_lifetime = 3600;
    ca.cfg.order_lifetime = 3600;
    pthread_mutex_init(&ca.fin_mu, NULL);
    pthread_barrier_init(&start, NULL, 2);
    ca.store = store_open(db, !getenv("DNSPERSIST_CA_NO_CACHE"), why, sizeof why);
    struct st_account acct;
    CHECK(ca.store != NULL);
    if (ca.store && store_account_create(ca.store, "{}", "thumb", "[]", &acct) == 0) {
        snprintf(account, sizeof account, "%s", acct.id);
        RUN(deactivation_beats_passing_validation);
        RUN(failing_validation_never_valid);
        RUN(late_result_is_dropped);
    }
    store_close(ca.store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return check_report();
}
