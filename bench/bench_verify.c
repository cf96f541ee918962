/*
 * bench_verify: records evaluated per second by the verification procedure
 * (parse, issuer filter, hashed-URI verification over 3 key thumbprints and
 * both domain forms, scope, persistUntil), on one core.
 *
 * Scenarios, each over DOMAINS distinct domains so no FQDN digest repeats:
 *   parse-only      dp_record_parse alone
 *   cold-worst      a new verifier per record (nothing cached) and a record
 *                   that matches no key: 6 digests per record
 *   warm-worst      one verifier per account (the "*" digests cached across
 *                   records, as the draft allows) and a record made with the
 *                   oldest key: 3 FQDN digests + 3 cached "*" per record
 *   warm-nomatch    same verifier, a record for another account: every
 *                   candidate (3 FQDN + 3 cached "*") is tried and fails
 *   warm-typical    same verifier, a record made with the current key: 1 digest
 *
 * Usage: bench_verify [ITERATIONS]   (default 1000000 per scenario)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnspersist/dnspersist.h"

#define DOMAINS 4096
#define PREFIX "https://ca.example/account-hash/"
#define URL "https://ca.example/acct/1234567"

static const char *const keys[] = {"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
                                   "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
                                   "3Dh1nIaxE6P5J8vBAyh1TQBOmv8bR9zYhPqFGB6vXkA"};
static const char *const issuers[] = {"authority.example", "ca.example.net"};

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sample {
    char domain[64];
    char value[256];
    struct dp_span span;
    struct dp_txt_rr rr;
};

static struct sample *make(const char *key, const char *url, int star)
{
    struct sample *s = calloc(DOMAINS, sizeof *s);
    for (int i = 0; i < DOMAINS; i++) {
        snprintf(s[i].domain, sizeof s[i].domain, "host%d.customer%d.example.com", i, i * 7);
        char *u = dp_hashuri_compute_alloc(DP_HASH_SHA256, PREFIX, star ? "*" : s[i].domain, key,
                                           url, NULL);
        snprintf(s[i].value, sizeof s[i].value,
                 "authority.example; accounturi=%s; persistUntil=4102444800", u);
        free(u);
        s[i].span = (struct dp_span){s[i].value, strlen(s[i].value)};
        s[i].rr = (struct dp_txt_rr){&s[i].span, 1};
    }
    return s;
}

static void report(const char *name, long n, double secs, long valid)
{
    printf("%-13s %10.0f records/s  %7.1f ns/record  (%ld records, %ld valid)\n", name, n / secs,
           secs * 1e9 / n, n, valid);
}

static void run(const char *name, struct dp_ctx *ctx, const struct dp_verify_params *p,
                struct sample *s, long iters, int cold)
{
    struct dp_verifier *v = cold ? NULL : dp_verify_new(ctx, p, NULL);
    long valid = 0;
    double t0 = cpu_now();
    for (long i = 0; i < iters; i++) {
        struct sample *x = &s[i % DOMAINS];
        if (cold) v = dp_verify_new(ctx, p, NULL);
        struct dp_verdict vd;
        dp_verify_eval(v, x->domain, NULL, &x->rr, 1, DP_ACCOUNT_VALID, 1790000000, &vd, NULL);
        valid += vd.code == DP_OK;
        if (cold) dp_verify_free(v);
    }
    double t1 = cpu_now();
    if (!cold) dp_verify_free(v);
    report(name, iters, t1 - t0, valid);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    if (iters <= 0) iters = 1000000;
    struct dp_ctx *ctx = dp_ctx_new(NULL);
    if (!ctx) return 1;
    struct dp_verify_params p = {issuers, 2, URL, keys, 3, PREFIX, 0, DP_MODE_DRAFT02, NULL, 0};
    struct sample *current = make(keys[0], URL, 0);
    struct sample *oldest_star = make(keys[2], URL, 1);
    struct sample *other = make(keys[0], "https://ca.example/acct/999", 0);

    printf("bench_verify: %ld evaluations per scenario, %d distinct domains, 3 thumbprints\n",
           iters, DOMAINS);
    long valid = 0;
    double t0 = cpu_now();
    for (long i = 0; i < iters; i++) {
        struct dp_record r;
        struct sample *x = &current[i % DOMAINS];
        valid += dp_record_parse(x->value, x->span.len, &r, NULL) == DP_OK;
    }
    report("parse-only", iters, cpu_now() - t0, valid);
    run("cold-worst", ctx, &p, other, iters / 4, 1);
    run("warm-worst", ctx, &p, oldest_star, iters, 0);
    run("warm-nomatch", ctx, &p, other, iters, 0);
    run("warm-typical", ctx, &p, current, iters, 0);
    free(current);
    free(oldest_star);
    free(other);
    dp_ctx_free(ctx);
    return 0;
}
