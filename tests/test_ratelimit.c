/*
 * test_ratelimit.c: the rate-limit arithmetic of ca/ratelimit.c as a unit:
 * the GCRA decision (a burst of count, then one per period/count, the wait
 * named), and the configuration: the presets, files, and the failed-
 * validation limit draft-02 9.3.1 requires, which neither "off" nor a file
 * can remove.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ratelimit.h"

static void gcra_burst_then_rate(void)
{
    struct rl_limit l = {5, 3600};
    int64_t tat = 0, now = 1000000, next = 0, retry = 0;
    int allowed = 0;
    for (int i = 0; i < 7; i++)
        if (rl_gcra(&l, tat, now, &next, &retry)) {
            allowed++;
            tat = next;
        }
    CHECK(allowed == 5);
    /* Refused: the wait is one step (period / count), in ms. */
    CHECK(rl_gcra(&l, tat, now, &next, &retry) == 0 && retry == 3600 * 1000 / 5);
    CHECK(rl_gcra(&l, tat, now + retry, &next, &retry) == 1);
}

static void gcra_count_zero_is_unlimited(void)
{
    struct rl_limit l = {0, 3600};
    int64_t next = 0, retry = 0;
    for (int i = 0; i < 1000; i++)
        CHECK(rl_gcra(&l, 0, 1000, &next, &retry) == 1);
}

static int load_text(const char *text, struct rl_config *c, char *why, size_t cap)
{
    char path[] = "/tmp/dp-test-rl-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -2;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    int rc = rl_config_load(c, path, why, cap);
    unlink(path);
    return rc;
}

/* draft-02 9.3.1 (V7): "off" keeps the failed-validation limit. */
static void off_keeps_failed_validation_limit(void)
{
    struct rl_config c, d;
    char why[512] = "";
    CHECK(rl_config_load(&c, "off", why, sizeof why) == 0);
    CHECK(rl_config_load(&d, "default", why, sizeof why) == 0);
    for (int k = 0; k < RL_N; k++)
        if (k == RL_FAILED_VALIDATIONS)
            CHECK(c.l[k].count == d.l[k].count && c.l[k].count > 0 && c.l[k].period > 0);
        else
            CHECK(c.l[k].count == 0);
}

/* A file may change the failed-validation limit's numbers, not zero them. */
static void file_cannot_remove_failed_validation_limit(void)
{
    struct rl_config c;
    char why[512] = "";
    CHECK(load_text("failed-validations-per-account-name 0 1h\n", &c, why, sizeof why) == -1 &&
          strstr(why, "line 1") && strstr(why, "9.3.1") && strstr(why, "(V7)"));
    why[0] = '\0';
    CHECK(load_text("failed-validations-per-account-name 5 0s\n", &c, why, sizeof why) == -1 &&
          strstr(why, "line 1"));
    CHECK(load_text("failed-validations-per-account-name 3 10m\nnew-orders-per-account 0 1h\n", &c,
                    why, sizeof why) == 0 &&
          c.l[RL_FAILED_VALIDATIONS].count == 3 && c.l[RL_FAILED_VALIDATIONS].period == 600 &&
          c.l[RL_ORDERS_PER_ACCOUNT].count == 0);
}

static void presets_and_bad_files(void)
{
    struct rl_config c;
    char why[512] = "";
    CHECK(rl_config_load(&c, "letsencrypt", why, sizeof why) == 0 &&
          c.l[RL_DUPLICATE_CERTS].count == 5);
    CHECK(rl_config_load(&c, "/nonexistent/limits", why, sizeof why) == -1 &&
          strstr(why, "cannot open"));
    CHECK(load_text("no-such-limit 1 1h\n", &c, why, sizeof why) == -1 && strstr(why, "line 1"));
    CHECK(load_text("# comment\n\nnew-orders-per-account 10\n", &c, why, sizeof why) == -1 &&
          strstr(why, "line 3"));
}

/* The one decision loop both stores run (rl_take_all) over a table in
 * memory: all or one refused, FORCE counted past the limit, PEEK never
 * written. */
struct mem {
    const char *keys[4];
    int64_t tats[4];
    int sets;
};

static int64_t *slot(struct mem *m, const char *key)
{
    for (int i = 0; i < 4; i++)
        if (m->keys[i] && !strcmp(m->keys[i], key)) return &m->tats[i];
    for (int i = 0; i < 4; i++)
        if (!m->keys[i]) {
            m->keys[i] = key;
            return &m->tats[i];
        }
    return NULL;
}

static int mem_get(void *ctx, const char *key, int64_t *tat)
{
    int64_t *t = slot(ctx, key);
    if (!t) return -1;
    *tat = *t;
    return 0;
}

static int mem_set(void *ctx, const char *key, int64_t tat)
{
    struct mem *m = ctx;
    int64_t *t = slot(m, key);
    if (!t) return -1;
    *t = tat;
    m->sets++;
    return 0;
}

static void take_all_decides_each_key(void)
{
    struct mem m = {0};
    struct rl_limit two = {2, 60}, none = {0, 60};
    struct rl_take t[] = {{"a", &two, RL_SPEND}, {"b", &none, RL_SPEND}, {"c", &two, RL_PEEK}};
    size_t which = 99;
    int64_t retry = 0, now = 1000000;
    CHECK(rl_take_all(t, 3, now, mem_get, mem_set, &m, &which, &retry) == 0);
    CHECK(rl_take_all(t, 3, now, mem_get, mem_set, &m, &which, &retry) == 0);
    CHECK(m.sets == 2); /* a, twice; b has no limit; c only looked */
    CHECK(rl_take_all(t, 3, now, mem_get, mem_set, &m, &which, &retry) == 1 && which == 0 &&
          retry == 30000);
    struct rl_take forced = {"a", &two, RL_FORCE};
    int64_t before = *slot(&m, "a");
    CHECK(rl_take_all(&forced, 1, now, mem_get, mem_set, &m, &which, &retry) == 0 &&
          *slot(&m, "a") == before + 30000);
}

int main(void)
{
    RUN(gcra_burst_then_rate);
    RUN(gcra_count_zero_is_unlimited);
    RUN(off_keeps_failed_validation_limit);
    RUN(file_cannot_remove_failed_validation_limit);
    RUN(presets_and_bad_files);
    RUN(take_all_decides_each_key);
    return check_report();
}
