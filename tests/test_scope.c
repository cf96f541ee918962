/* test_scope.c: lib/scope.c, S1-S3 and the Public Suffix List. */
#include "check.h"
#include "dnspersist/dnspersist.h"

static struct dp_ctx *ctx;

static dp_code sc(const char *rd, int w, const char *id, const char **rule)
{
    static struct dp_error e;
    dp_code rc = dp_scope_check(ctx, rd, w, id, &e);
    if (rule) *rule = e.rule;
    return rc;
}

static void S1_without_policy_only_the_name(void)
{
    const char *rule;
    CHECK(sc("example.com", 0, "example.com", NULL) == DP_OK);
    CHECK(sc("example.com", 0, "*.example.com", &rule) == DP_ERR_UNAUTHORIZED &&
          !strcmp(rule, "S1"));
    CHECK(sc("example.com", 0, "www.example.com", &rule) == DP_ERR_UNAUTHORIZED &&
          !strcmp(rule, "S2"));
}

/* Draft 6.3's permitted and refused lists. */
static void S2_wildcard_scope(void)
{
    const char *ok[] = {"example.com",     "www.example.com",
                        "app.example.com", "server.dept.example.com",
                        "*.example.com",   "*.dept.example.com"};
    for (size_t i = 0; i < 6; i++)
        CHECK(sc("example.com", 1, ok[i], NULL) == DP_OK);
    CHECK(sc("example.com", 1, "otherexample.com", NULL) == DP_ERR_UNAUTHORIZED);
    CHECK(sc("example.com", 1, "example.net", NULL) == DP_ERR_UNAUTHORIZED);
    /* Draft 6.1: from dept.example.com, server.dept and *.server.dept are covered. */
    CHECK(sc("dept.example.com", 1, "server.dept.example.com", NULL) == DP_OK);
    CHECK(sc("dept.example.com", 1, "*.server.dept.example.com", NULL) == DP_OK);
    CHECK(sc("dept.example.com", 1, "example.com", NULL) == DP_ERR_UNAUTHORIZED);
}

static void S3_never_from_a_public_suffix(void)
{
    const char *rule;
    CHECK(dp_scope_is_public_suffix(ctx, "com"));
    CHECK(dp_scope_is_public_suffix(ctx, "co.uk"));
    CHECK(dp_scope_is_public_suffix(ctx, "github.io")); /* private section counts */
    CHECK(!dp_scope_is_public_suffix(ctx, "example.com"));
    /* Without a context (or a name) it fails closed. */
    CHECK(dp_scope_is_public_suffix(NULL, "example.com"));
    CHECK(dp_scope_is_public_suffix(ctx, NULL));
    CHECK(sc("co.uk", 1, "example.co.uk", &rule) == DP_ERR_UNAUTHORIZED && !strcmp(rule, "S3"));
    CHECK(sc("com", 1, "*.com", &rule) == DP_ERR_UNAUTHORIZED && !strcmp(rule, "S3"));
    CHECK(sc("github.io", 1, "someone.github.io", NULL) == DP_ERR_UNAUTHORIZED);
    CHECK(sc("someone.github.io", 1, "www.someone.github.io", NULL) == DP_OK);
    CHECK(sc("example.com", 1, "badexample.com", &rule) == DP_ERR_UNAUTHORIZED &&
          !strcmp(rule, "S3"));
}

static void candidates_stop_below_the_public_suffix(void)
{
    const char *out[8];
    size_t n = dp_scope_candidates(ctx, "*.a.b.example.co.uk", out, 8);
    CHECK(n == 3);
    if (n == 3) {
        CHECK_STR(out[0], "a.b.example.co.uk");
        CHECK_STR(out[1], "b.example.co.uk");
        CHECK_STR(out[2], "example.co.uk");
    }
    CHECK(dp_scope_candidates(ctx, "example.com", out, 8) == 1);
    CHECK(dp_scope_candidates(ctx, "x.y.example.com", out, 2) == 2);
}

int main(void)
{
    ctx = dp_ctx_new(NULL);
    CHECK(ctx != NULL);
    if (!ctx) return check_report();
    RUN(S1_without_policy_only_the_name);
    RUN(S2_wildcard_scope);
    RUN(S3_never_from_a_public_suffix);
    RUN(candidates_stop_below_the_public_suffix);
    dp_ctx_free(ctx);
    return check_report();
}
