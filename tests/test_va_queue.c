/* test_va_queue.c: the VA's fair queue: round-robin across accounts, the
 * in-flight bound, the per-account and total bounds, and clean-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "va_queue.h"

static int n_dropped;

static void drop(void *v)
{
    n_dropped++;
    free(v);
}

static void *item(const char *s)
{
    return strdup(s);
}

int main(void)
{
    struct fq *q = fq_new(100, 10);
    CHECK(q != NULL);
    /* A floods first, B and C come after: they are served in turn. */
    for (int i = 0; i < 10; i++)
        CHECK(fq_push(q, "A", item("a")) == 0);
    void *extra = item("a");
    CHECK(fq_push(q, "A", extra) == -1); /* A's bound; the item stays the caller's */
    free(extra);
    CHECK(fq_push(q, "B", item("b")) == 0);
    CHECK(fq_push(q, "C", item("c")) == 0);
    CHECK(fq_len(q) == 12);
    char acct[64], order[8] = "";
    for (int i = 0; i < 3; i++) {
        char *v = fq_pop(q, 5, acct);
        CHECK(v != NULL);
        if (v) strncat(order, v, 1);
        free(v);
    }
    CHECK_STR(order, "abc");
    /* In flight: A has 1 of at most 2; B and C 1 each, with nothing queued. */
    char *v = fq_pop(q, 2, acct);
    CHECK(v && !strcmp(acct, "A"));
    free(v);
    CHECK(fq_pop(q, 2, acct) == NULL); /* A at its bound, B and C empty */
    fq_done(q, "A");
    v = fq_pop(q, 2, acct);
    CHECK(v && !strcmp(acct, "A"));
    free(v);
    fq_done(q, "B");
    fq_done(q, "C");
    /* The total bound. */
    struct fq *small = fq_new(2, 10);
    CHECK(fq_push(small, "X", item("x")) == 0 && fq_push(small, "Y", item("y")) == 0);
    void *z = item("z");
    CHECK(fq_push(small, "Z", z) == -1);
    free(z);
    fq_free(small, drop);
    CHECK(n_dropped == 2);
    fq_free(q, drop); /* A's 7 still queued (3 of its 10 were taken) */
    CHECK(n_dropped == 9);
    return check_report();
}
