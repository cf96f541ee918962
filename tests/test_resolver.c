/* test_resolver.c: lib/resolver.c against a real Knot DNS server (tests/dns/knot-env.sh). */
#include <stdlib.h>

#include "check.h"
#include "dnspersist/dnspersist.h"
#include "dns_env.h"

static struct dns_env env;

struct got {
    int calls;
    enum dp_dns_status status;
    enum dp_dnssec dnssec;
    size_t n_rrs;
    char canon[256];
    char detail[512];
    char joined[4096]; /* first record, strings joined */
    size_t n_strings;
};

static void collect(void *arg, size_t index, const struct dp_dns_answer *a)
{
    struct got *g = (struct got *)arg + index;
    g->calls++;
    g->status = a->status;
    g->dnssec = a->dnssec;
    g->n_rrs = a->n_rrs;
    snprintf(g->canon, sizeof g->canon, "%s", a->canonname ? a->canonname : "");
    snprintf(g->detail, sizeof g->detail, "%s", a->detail);
    if (a->txt && a->n_rrs) {
        size_t len;
        dp_txt_join(&a->txt[0], g->joined, sizeof g->joined, &len, NULL);
        g->n_strings = a->txt[0].n_strings;
    }
}

static struct got one(struct dp_resolver *r, const char *name)
{
    struct got g = {0};
    const char *names[] = {name};
    CHECK(dp_resolver_batch(r, names, 1, DP_DNS_TYPE_TXT, collect, &g, NULL) == DP_OK);
    CHECK(g.calls == 1);
    return g;
}

static struct dp_resolver *mk(const char *fwd, const char *ta, unsigned timeout)
{
    struct dp_resolver_config c = {fwd, ta, timeout, 0, 0};
    struct dp_error e;
    struct dp_resolver *r = dp_resolver_new(&c, &e);
    if (!r) fprintf(stderr, "resolver: %s\n", e.detail);
    return r;
}

static void V1_records_found_and_joined(void)
{
    struct dp_resolver *r = mk(env.resolver, NULL, 3000);
    struct got g = one(r, "_validation-persist.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 2 && g.dnssec == DP_DNSSEC_UNKNOWN);
    g = one(r, "_validation-persist.long.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 1 && g.n_strings == 2);
    CHECK(strlen(g.joined) > 255 &&
          strncmp(g.joined, "ca.test; accounturi=https://ca.test/", 36) == 0);
    CHECK(strstr(g.joined, "/sha-256/") != NULL); /* the split fell inside "sha-256": joined back */
    dp_resolver_free(r);
}

static void V1_cname_is_followed(void)
{
    struct dp_resolver *r = mk(env.resolver, NULL, 3000);
    struct got g = one(r, "_validation-persist.cname.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 1);
    CHECK_STR(g.canon, "_validation-persist.target.other.test.");
    dp_resolver_free(r);
}

/* A 2.5 KB answer comes truncated over UDP and whole over TCP (libunbound
 * retries); one over DP_DNS_MAX_RRS records fails rather than being cut. */
static void V1_large_answers(void)
{
    struct dp_resolver *r = mk(env.resolver, NULL, 3000);
    struct got g = one(r, "_validation-persist.tc.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 40);
    g = one(r, "_validation-persist.big.plain.test");
    CHECK(g.status == DP_DNS_FAILED && strstr(g.detail, "limit"));
    dp_resolver_free(r);
}

static void V4_no_records_is_not_a_failure(void)
{
    struct dp_resolver *r = mk(env.resolver, NULL, 3000);
    CHECK(one(r, "_validation-persist.nothing.plain.test").status == DP_DNS_NXDOMAIN);
    CHECK(one(r, "nodata.plain.test").status == DP_DNS_NODATA);
    dp_resolver_free(r);
}

static void V4_refused_and_unreachable_are_failures(void)
{
    struct dp_resolver *r = mk(env.resolver, NULL, 3000);
    struct got g = one(r, "_validation-persist.example.com");
    CHECK(g.status == DP_DNS_FAILED && g.detail[0]);
    dp_resolver_free(r);
    /* Nothing listens on port 9 of 127.0.0.2: a timeout or SERVFAIL, never data. */
    r = mk("127.0.0.2@9", NULL, 700);
    g = one(r, "_validation-persist.plain.test");
    CHECK(g.status == DP_DNS_FAILED);
    dp_resolver_free(r);
}

static void V8_dnssec_secure_insecure_bogus(void)
{
    struct dp_resolver *r = mk(env.resolver, env.ta_all, 3000);
    CHECK(dp_resolver_validates(r));
    struct got g = one(r, "_validation-persist.secure.test");
    CHECK(g.status == DP_DNS_FOUND && g.dnssec == DP_DNSSEC_SECURE);
    g = one(r, "_validation-persist.bogus.test");
    CHECK(g.status == DP_DNS_FAILED && g.dnssec == DP_DNSSEC_BOGUS && strstr(g.detail, "bogus"));
    g = one(r, "_validation-persist.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.dnssec == DP_DNSSEC_INSECURE);
    dp_resolver_free(r);
    /* Without a trust anchor the altered record is served as it is: what V8 guards against. */
    r = mk(env.resolver, NULL, 3000);
    g = one(r, "_validation-persist.bogus.test");
    CHECK(g.status == DP_DNS_FOUND && g.dnssec == DP_DNSSEC_UNKNOWN &&
          strstr(g.joined, "x=altered"));
    dp_resolver_free(r);
}

static void batch_answers_every_name_once_over(const char *fwd)
{
    static const char *kinds[] = {
        "_validation-persist.plain.test", "_validation-persist.nothing.plain.test",
        "_validation-persist.cname.plain.test", "_validation-persist.example.com"};
    enum { N = 400 };
    const char *names[N];
    for (int i = 0; i < N; i++)
        names[i] = kinds[i % 4];
    struct got *g = calloc(N, sizeof *g);
    struct dp_resolver_config c = {fwd, NULL, 5000, 32, 0};
    struct dp_resolver *r = dp_resolver_new(&c, NULL);
    CHECK(r && dp_resolver_batch(r, names, N, DP_DNS_TYPE_TXT, collect, g, NULL) == DP_OK);
    int ok = 1;
    for (int i = 0; i < N; i++) {
        enum dp_dns_status want = (enum dp_dns_status[]){DP_DNS_FOUND, DP_DNS_NXDOMAIN,
                                                         DP_DNS_FOUND, DP_DNS_FAILED}[i % 4];
        if (g[i].calls != 1 || g[i].status != want) ok = 0;
    }
    CHECK(ok);
    free(g);
    dp_resolver_free(r);
}

static void batch_answers_every_name_once(void)
{
    batch_answers_every_name_once_over(env.resolver);
}

/* "tcp:ADDR": the same answers, over kept TCP connections (Knot answers
 * both); a batch pipelines its queries on them. */
static void V1_forwarder_over_tcp(void)
{
    char fwd[300];
    snprintf(fwd, sizeof fwd, "tcp:%s", env.resolver);
    struct dp_resolver *r = mk(fwd, NULL, 3000);
    CHECK(r != NULL);
    if (!r) return;
    struct got g = one(r, "_validation-persist.long.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 1 && g.n_strings == 2);
    CHECK(one(r, "_validation-persist.nothing.plain.test").status == DP_DNS_NXDOMAIN);
    CHECK_STR(one(r, "_validation-persist.cname.plain.test").canon,
              "_validation-persist.target.other.test.");
    dp_resolver_free(r);
    batch_answers_every_name_once_over(fwd);
    /* Nothing listens there over TCP either: a failure, never data. */
    r = mk("tcp:127.0.0.2@9", NULL, 700);
    CHECK(r && one(r, "_validation-persist.plain.test").status == DP_DNS_FAILED);
    dp_resolver_free(r);
}

static void bad_configuration(void)
{
    struct dp_error e;
    struct dp_resolver_config c = {"not an address", NULL, 0, 0, 0};
    CHECK(dp_resolver_new(&c, &e) == NULL && e.code == DP_ERR_INVAL);
    c = (struct dp_resolver_config){"tcp:", NULL, 0, 0, 0};
    CHECK(dp_resolver_new(&c, &e) == NULL && e.code == DP_ERR_INVAL && strstr(e.detail, "tcp:"));
    c = (struct dp_resolver_config){NULL, "/nonexistent/ta", 0, 0, 0};
    CHECK(dp_resolver_new(&c, &e) == NULL && e.code == DP_ERR_IO);
}

int main(void)
{
    if (dns_env_load(&env)) return 77;
    RUN(V1_records_found_and_joined);
    RUN(V1_cname_is_followed);
    RUN(V1_large_answers);
    RUN(V4_no_records_is_not_a_failure);
    RUN(V4_refused_and_unreachable_are_failures);
    RUN(V8_dnssec_secure_insecure_bogus);
    RUN(batch_answers_every_name_once);
    RUN(V1_forwarder_over_tcp);
    RUN(bad_configuration);
    return check_report();
}
