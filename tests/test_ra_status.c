/*
 * test_ra_status.c: the status machines of ca/ra/ra_status.c as a table:
 * names round-trip, expiry derives "expired", and an order moves only
 * where RFC 8555 7.1.6 lets it.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ra_status.h"

static void names_round_trip(void)
{
    for (int s = RA_AUTHZ_PENDING; s <= RA_AUTHZ_REVOKED; s++)
        CHECK(ra_authz_st_parse(ra_authz_st_name((enum ra_authz_st)s)) == (enum ra_authz_st)s);
    for (int s = RA_ORDER_PENDING; s <= RA_ORDER_INVALID; s++)
        CHECK(ra_order_st_parse(ra_order_st_name((enum ra_order_st)s)) == (enum ra_order_st)s);
    CHECK(ra_authz_st_parse("Valid") == RA_AUTHZ_UNKNOWN);
    CHECK(ra_authz_st_parse("") == RA_AUTHZ_UNKNOWN);
    CHECK(ra_authz_st_parse(NULL) == RA_AUTHZ_UNKNOWN);
    CHECK(ra_order_st_parse("ready ") == RA_ORDER_UNKNOWN);
    CHECK(!strcmp(ra_order_st_name((enum ra_order_st)99), ""));
}

static void authz_expiry(void)
{
    CHECK(ra_authz_effective(RA_AUTHZ_VALID, 100, 99) == RA_AUTHZ_VALID);
    CHECK(ra_authz_effective(RA_AUTHZ_VALID, 100, 100) == RA_AUTHZ_VALID);
    CHECK(ra_authz_effective(RA_AUTHZ_VALID, 100, 101) == RA_AUTHZ_EXPIRED);
    /* Only valid expires: a pending one past its time stays pending here
     * (the order's own expiry ends it). */
    CHECK(ra_authz_effective(RA_AUTHZ_PENDING, 100, 101) == RA_AUTHZ_PENDING);
    CHECK(ra_authz_effective(RA_AUTHZ_DEACTIVATED, 100, 101) == RA_AUTHZ_DEACTIVATED);
}

#define P RA_AUTHZ_PENDING
#define V RA_AUTHZ_VALID
#define I RA_AUTHZ_INVALID
#define D RA_AUTHZ_DEACTIVATED
#define E RA_AUTHZ_EXPIRED
#define R RA_AUTHZ_REVOKED
#define U RA_AUTHZ_UNKNOWN

static void order_table(void)
{
    static const struct {
        enum ra_order_st cur;
        enum ra_authz_st a[3];
        size_t n;
        int expired;
        enum ra_order_st want;
    } t[] = {
        {RA_ORDER_PENDING, {P}, 1, 0, RA_ORDER_PENDING},
        {RA_ORDER_PENDING, {V}, 1, 0, RA_ORDER_READY},
        {RA_ORDER_PENDING, {V, V, V}, 3, 0, RA_ORDER_READY},
        {RA_ORDER_PENDING, {V, P, V}, 3, 0, RA_ORDER_PENDING},
        {RA_ORDER_PENDING, {V, I, P}, 3, 0, RA_ORDER_INVALID},
        {RA_ORDER_PENDING, {D}, 1, 0, RA_ORDER_INVALID},
        {RA_ORDER_PENDING, {R, V}, 2, 0, RA_ORDER_INVALID},
        {RA_ORDER_PENDING, {U, V}, 2, 0, RA_ORDER_INVALID},
        {RA_ORDER_PENDING, {V}, 1, 1, RA_ORDER_INVALID},
        {RA_ORDER_PENDING, {P}, 1, 1, RA_ORDER_INVALID},
        /* ready is not final: an authorization expiring or deactivated
         * after the order turned ready takes it back to invalid. */
        {RA_ORDER_READY, {V, E}, 2, 0, RA_ORDER_INVALID},
        {RA_ORDER_READY, {V, D}, 2, 0, RA_ORDER_INVALID},
        {RA_ORDER_READY, {V, V}, 2, 1, RA_ORDER_INVALID},
        {RA_ORDER_READY, {V, V}, 2, 0, RA_ORDER_READY},
        /* No authorizations: never ready (no issuance unvalidated). */
        {RA_ORDER_PENDING, {V}, 0, 0, RA_ORDER_INVALID},
        /* Only finalization moves these. */
        {RA_ORDER_PROCESSING, {I}, 1, 1, RA_ORDER_PROCESSING},
        {RA_ORDER_VALID, {E}, 1, 1, RA_ORDER_VALID},
        {RA_ORDER_INVALID, {V}, 1, 0, RA_ORDER_INVALID},
        {RA_ORDER_UNKNOWN, {V}, 1, 0, RA_ORDER_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        enum ra_order_st got =
            ra_order_next(t[i].cur, t[i].a, t[i].n, 1000, t[i].expired ? 1001 : 999);
        if (got != t[i].want) fprintf(stderr, "row %zu: got %s\n", i, ra_order_st_name(got));
        CHECK(got == t[i].want);
    }
}

static void order_first(void)
{
    CHECK(ra_order_first(2, 2) == RA_ORDER_READY);
    CHECK(ra_order_first(1, 2) == RA_ORDER_PENDING);
    CHECK(ra_order_first(0, 0) == RA_ORDER_PENDING);
}

int main(void)
{
    RUN(names_round_trip);
    RUN(authz_expiry);
    RUN(order_table);
    RUN(order_first);
    return check_report();
}
