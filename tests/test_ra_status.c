/*
 * test_ra_status.c: the status machines of ca/ra/ra_status.c as a table:
 * the status names round-trip, expiry derives "expired", and an order moves only
 * where RFC 8555 7.1.6 lets it.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ra_status.h"

static void names_round_trip(void)
{
    for (int s = ST_PENDING; s <= ST_REVOKED; s++)
        CHECK(st_status_parse(st_status_name((enum st_status)s)) == (enum st_status)s);
    /* The wire names RFC 8555 7.1.6 gives, each once. */
    const char *want[] = {"pending", "ready",       "processing", "valid",
                          "invalid", "deactivated", "expired",    "revoked"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK(!strcmp(st_status_name((enum st_status)(ST_PENDING + i)), want[i]));
    CHECK(st_status_parse("Valid") == ST_UNKNOWN);
    CHECK(st_status_parse("") == ST_UNKNOWN);
    CHECK(st_status_parse(NULL) == ST_UNKNOWN);
    CHECK(st_status_parse("ready ") == ST_UNKNOWN);
    CHECK(!strcmp(st_status_name(ST_UNKNOWN), ""));
    CHECK(!strcmp(st_status_name((enum st_status)99), ""));
}

static void authz_expiry(void)
{
    CHECK(ra_authz_effective(ST_VALID, 100, 99) == ST_VALID);
    CHECK(ra_authz_effective(ST_VALID, 100, 100) == ST_VALID);
    CHECK(ra_authz_effective(ST_VALID, 100, 101) == ST_EXPIRED);
    /* Only valid expires: a pending one past its time stays pending here
     * (the order's own expiry ends it). */
    CHECK(ra_authz_effective(ST_PENDING, 100, 101) == ST_PENDING);
    CHECK(ra_authz_effective(ST_DEACTIVATED, 100, 101) == ST_DEACTIVATED);
}

#define P ST_PENDING
#define V ST_VALID
#define I ST_INVALID
#define D ST_DEACTIVATED
#define E ST_EXPIRED
#define R ST_REVOKED
#define U ST_UNKNOWN

static void order_table(void)
{
    static const struct {
        enum st_status cur;
        enum st_status a[3];
        size_t n;
        int expired;
        enum st_status want;
    } t[] = {
        {ST_PENDING, {P}, 1, 0, ST_PENDING},
        {ST_PENDING, {V}, 1, 0, ST_READY},
        {ST_PENDING, {V, V, V}, 3, 0, ST_READY},
        {ST_PENDING, {V, P, V}, 3, 0, ST_PENDING},
        {ST_PENDING, {V, I, P}, 3, 0, ST_INVALID},
        {ST_PENDING, {D}, 1, 0, ST_INVALID},
        {ST_PENDING, {R, V}, 2, 0, ST_INVALID},
        {ST_PENDING, {U, V}, 2, 0, ST_INVALID},
        {ST_PENDING, {V}, 1, 1, ST_INVALID},
        {ST_PENDING, {P}, 1, 1, ST_INVALID},
        /* ready is not final: an authorization expiring or deactivated
         * after the order turned ready takes it back to invalid. */
        {ST_READY, {V, E}, 2, 0, ST_INVALID},
        {ST_READY, {V, D}, 2, 0, ST_INVALID},
        {ST_READY, {V, V}, 2, 1, ST_INVALID},
        {ST_READY, {V, V}, 2, 0, ST_READY},
        /* No authorizations: never ready (no issuance unvalidated). */
        {ST_PENDING, {V}, 0, 0, ST_INVALID},
        /* Only finalization moves these. */
        {ST_PROCESSING, {I}, 1, 1, ST_PROCESSING},
        {ST_VALID, {E}, 1, 1, ST_VALID},
        {ST_INVALID, {V}, 1, 0, ST_INVALID},
        {ST_UNKNOWN, {V}, 1, 0, ST_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        enum st_status got =
            ra_order_next(t[i].cur, t[i].a, t[i].n, 1000, t[i].expired ? 1001 : 999);
        if (got != t[i].want) fprintf(stderr, "row %zu: got %s\n", i, st_status_name(got));
        CHECK(got == t[i].want);
    }
}

static void order_first(void)
{
    CHECK(ra_order_first(2, 2) == ST_READY);
    CHECK(ra_order_first(1, 2) == ST_PENDING);
    CHECK(ra_order_first(0, 0) == ST_PENDING);
}

int main(void)
{
    RUN(names_round_trip);
    RUN(authz_expiry);
    RUN(order_table);
    RUN(order_first);
    return check_report();
}
