/* test_nonce.c: ca/nonce.c, anti-replay nonces (RFC 8555 6.5). */
#include <stdlib.h>

#include "check.h"
#include "nonce.h"

static void issued_nonces_are_consumed_once(void)
{
    struct nonces *n = nonces_new(16);
    char a[32], b[32];
    CHECK(nonces_issue(n, a) == 0 && nonces_issue(n, b) == 0);
    CHECK(strlen(a) == 22 && strcmp(a, b) != 0);
    CHECK(nonces_consume(n, a) == 1);
    CHECK(nonces_consume(n, a) == 0); /* replay */
    CHECK(nonces_consume(n, b) == 1);
    CHECK(nonces_consume(n, "AAAAAAAAAAAAAAAAAAAAAA") == 0);
    CHECK(nonces_consume(n, "short") == 0);
    CHECK(nonces_consume(n, NULL) == 0);
    nonces_free(n);
}

/* The oldest are forgotten when the set is full; tombstones never fill the
 * table (the rebuild keeps probing bounded over many cycles). */
static void bounded_with_eviction_and_rebuild(void)
{
    struct nonces *n = nonces_new(8);
    char first[32], v[32];
    CHECK(nonces_issue(n, first) == 0);
    for (int i = 0; i < 8; i++)
        CHECK(nonces_issue(n, v) == 0);
    CHECK(nonces_consume(n, first) == 0); /* evicted */
    CHECK(nonces_consume(n, v) == 1);     /* the newest is still there */
    int ok = 1;
    for (int i = 0; i < 100000; i++) {
        if (nonces_issue(n, v)) ok = 0;
        if (i % 3 == 0 && nonces_consume(n, v) != 1) ok = 0;
    }
    CHECK(ok);
    nonces_free(n);
}

int main(void)
{
    RUN(issued_nonces_are_consumed_once);
    RUN(bounded_with_eviction_and_rebuild);
    return check_report();
}
