/* test_verify.c: lib/verify.c, the CA's procedure (V2-V6) on the spec map's
 * reference cases (section 7, from the public Boulder and Pebble suites) and
 * the draft's section 10 examples. */
#include <stdlib.h>

#include "check.h"
#include "dnspersist/dnspersist.h"

#define ISS "authority.example"
#define A "https://ca.example/acct/123"
#define KEY "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
#define NEWKEY "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
#define PREFIX "https://ca.example/account-hash/"
#define H_FQDN PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw"
#define H_STAR PREFIX "sha-256/NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug"
#define NOW 1790000000 /* 2026-09-21 */

static struct dp_ctx *ctx;

static struct dp_verifier *mk(enum dp_mode mode, const char *const *thumbs, size_t nt,
                              unsigned algs)
{
    static const char *const issuers[] = {"ca.example.net", ISS};
    struct dp_verify_params p = {issuers, 2, A, thumbs, nt, PREFIX, algs, mode, NULL, 0};
    struct dp_error e;
    struct dp_verifier *v = dp_verify_new(ctx, &p, &e);
    if (!v) fprintf(stderr, "verifier: %s\n", e.detail);
    return v;
}

/* Evaluates values as RRs, each split into 255-octet strings as DNS carries them. */
static dp_code eval(struct dp_verifier *v, const char *ident, const char *rdom,
                    const char *const *vals, size_t n, enum dp_account_status st, int64_t now,
                    struct dp_verdict *vd)
{
    struct dp_txt_rr rrs[8];
    struct dp_span spans[8][4];
    for (size_t i = 0; i < n; i++) {
        size_t ns = dp_txt_split(vals[i], strlen(vals[i]), spans[i], 4);
        rrs[i] = (struct dp_txt_rr){spans[i], ns};
    }
    struct dp_error e;
    dp_code rc = dp_verify_eval(v, ident, rdom, rrs, n, st, now, vd, &e);
    if (rc != DP_OK) fprintf(stderr, "eval: %s\n", e.detail);
    return rc;
}

struct tcase {
    const char *ident;
    const char *recs[4];
    dp_code want;
    long record;
    const char *rule;
};

#define R(s) ISS s
static const struct tcase draft01_cases[] = {
    {"example.com",
     {"   authority.example   ;   accounturi   =   " A
      "   ;   policy   =   wildcard   ;   persistUntil   =   4102444800   "},
     DP_OK,
     0,
     "V4"},
    {"*.example.com", {R(";accounturi=" A ";pOlIcY=wIlDcArD")}, DP_OK, 0, "V4"},
    {"example.com", {R(";accounturi=" A ";foo=")}, DP_OK, 0, "V4"},
    {"example.com", {R(";accounturi=" A ";accounturi=B"), R(";accounturi=" A)}, DP_OK, 1, "V4"},
    {"example.com", {R(";accounturi=B"), R(";accounturi=" A)}, DP_OK, 1, "V4"},
    {"example.com", {"AUTHORITY.Example.;accounturi=" A}, DP_OK, 0, "V4"},
    {"example.com", {"ca.example.net; accounturi=" A}, DP_OK, 0, "V4"},
    {"example.com", {R(";accounturi=" A ";accounturi=B")}, DP_ERR_MALFORMED, 0, "R4"},
    {"example.com", {R(";ACCOUNTURI=" A ";accounturi=B")}, DP_ERR_MALFORMED, 0, "R4"},
    {"example.com", {R(";accounturi=" A ";invalidparam")}, DP_ERR_MALFORMED, 0, "R3"},
    {"example.com", {R(";accounturi=" A ";=abc")}, DP_ERR_MALFORMED, 0, "R3"},
    {"example.com", {R(";accounturi=")}, DP_ERR_MALFORMED, 0, "R4"},
    {"example.com", {R(";policy=wildcard")}, DP_ERR_MALFORMED, 0, "R4"},
    {"example.com", {R("")}, DP_ERR_MALFORMED, 0, "R4"},
    {"example.com", {R(";accounturi=" A ";policy=wild card")}, DP_ERR_MALFORMED, 0, "R3"},
    {"example.com",
     {R(";accounturi=" A ";persistUntil=not-a-unix-timestamp")},
     DP_ERR_MALFORMED,
     0,
     "R4"},
    {"example.com", {R(";accounturi=" A ";persistUntil=")}, DP_ERR_MALFORMED, 0, "R4"},
    {"example.com", {R(";accounturi=" A ";")}, DP_ERR_MALFORMED, 0, "R3"},
    {"example.com", {R(";accounturi=B")}, DP_ERR_UNAUTHORIZED, 0, "R4"},
    {"*.example.com", {R(";accounturi=" A)}, DP_ERR_UNAUTHORIZED, 0, "S1"},
    {"*.example.com", {R(";accounturi=" A ";policy=notwildcard")}, DP_ERR_UNAUTHORIZED, 0, "S1"},
    {"example.com", {R(";accounturi=" A ";persistUntil=1")}, DP_ERR_UNAUTHORIZED, 0, "V3"},
    {"example.com", {R(";accounturi=" A ";persistUntil=-1")}, DP_ERR_UNAUTHORIZED, 0, "V3"},
    {"example.com",
     {"other.example;accounturi=" A, "other.example;accounturi=" A ";accounturi=x",
      "other.example junk junk"},
     DP_ERR_UNAUTHORIZED,
     -1,
     "V2"},
    {"example.com", {";accounturi=" A}, DP_ERR_UNAUTHORIZED, -1, "V2"},
    {"example.com", {"authority.example.com;accounturi=" A}, DP_ERR_UNAUTHORIZED, -1, "V2"},
    {"example.com", {"authority.example..;accounturi=" A}, DP_ERR_UNAUTHORIZED, -1, "V2"},
    {"example.com", {R(";accounturi=" A ";;"), R(";accounturi=B")}, DP_ERR_MALFORMED, 0, "R3"},
    {"example.com", {R(";accounturi=B"), R(";accounturi=" A ";;")}, DP_ERR_MALFORMED, 1, "R3"},
    {"example.com",
     {R(";accounturi=" A ";persistUntil=1"), R(";accounturi=B")},
     DP_ERR_UNAUTHORIZED,
     0,
     "V3"},
};

static size_t count(const char *const *r)
{
    size_t n = 0;
    while (n < 4 && r[n])
        n++;
    return n;
}

static void run_table(enum dp_mode mode, const struct tcase *cases, size_t n)
{
    const char *thumbs[] = {KEY};
    struct dp_verifier *v = mk(mode, thumbs, 1, 0);
    CHECK(v != NULL);
    for (size_t i = 0; v && i < n; i++) {
        struct dp_verdict vd;
        CHECK(eval(v, cases[i].ident, NULL, cases[i].recs, count(cases[i].recs), DP_ACCOUNT_VALID,
                   NOW, &vd) == DP_OK);
        int good = vd.code == cases[i].want && vd.record == cases[i].record && vd.rule &&
                   !strcmp(vd.rule, cases[i].rule);
        good =
            good && (vd.code == DP_OK              ? vd.acme_type == NULL
                     : vd.code == DP_ERR_MALFORMED ? !strcmp(vd.acme_type, DP_ACME_MALFORMED)
                                                   : !strcmp(vd.acme_type, DP_ACME_UNAUTHORIZED));
        if (!good)
            fprintf(stderr, "case %zu (%s): code=%d record=%ld rule=%s detail=%s\n", i,
                    cases[i].recs[0] ? cases[i].recs[0] : "-", vd.code, vd.record,
                    vd.rule ? vd.rule : "-", vd.detail);
        CHECK(good);
    }
    dp_verify_free(v);
}

static void V4_boulder_pebble_reference_cases_draft01(void)
{
    run_table(DP_MODE_DRAFT01, draft01_cases, sizeof draft01_cases / sizeof draft01_cases[0]);
}

/* Compat mode answers every draft-01 case the same way. */
static void V4_reference_cases_compat_mode(void)
{
    run_table(DP_MODE_COMPAT, draft01_cases, sizeof draft01_cases / sizeof draft01_cases[0]);
}

static void V4_no_txt_record_at_all(void)
{
    const char *thumbs[] = {KEY};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, thumbs, 1, 0);
    struct dp_verdict vd;
    CHECK(eval(v, "example.com", NULL, NULL, 0, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_UNAUTHORIZED && vd.record == -1 && !strcmp(vd.rule, "V4"));
    CHECK(strstr(vd.detail, "_validation-persist.example.com") != NULL);
    dp_verify_free(v);
}

static void H3_draft_10_2_record_validates(void)
{
    const char *thumbs[] = {KEY};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, thumbs, 1, 0);
    const char *fig5[] = {"authority.example; accounturi=" H_FQDN};
    struct dp_verdict vd;
    CHECK(eval(v, "example.com", NULL, fig5, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_OK && vd.record == 0 && vd.key_index == 0 && !vd.star &&
          vd.alg == DP_HASH_SHA256);
    /* Same record, uppercase identifier and trailing dot: normalized first. */
    CHECK(eval(v, "EXAMPLE.com.", NULL, fig5, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
          vd.code == DP_OK);
    /* The domain-bound hash does not transfer to another domain (H2). */
    CHECK(eval(v, "example.net", NULL, fig5, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_UNAUTHORIZED && !strcmp(vd.rule, "H4"));
    /* The '*' form does (H2 opt-out). */
    const char *star[] = {"authority.example; accounturi=" H_STAR};
    CHECK(eval(v, "example.net", NULL, star, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_OK && vd.star == 1);
    CHECK(eval(v, "example.com", NULL, star, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
          vd.code == DP_OK);
    /* A draft-01 plain URL is not a hashed URI: malformed under draft-02 (H4). */
    const char *plain[] = {"authority.example; accounturi=" A};
    CHECK(eval(v, "example.com", NULL, plain, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_MALFORMED && !strcmp(vd.rule, "H4"));
    dp_verify_free(v);
}

static void R2_multi_string_record_is_joined(void)
{
    const char *thumbs[] = {KEY};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, thumbs, 1, 0);
    /* Figure 2's split points. */
    struct dp_span parts[] = {{"authority.example;", 18},
                              {" accounturi=https://ca.example/account-hash/", 44},
                              {"sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw", 51}};
    struct dp_txt_rr rr = {parts, 3};
    struct dp_verdict vd;
    CHECK(dp_verify_eval(v, "example.com", NULL, &rr, 1, DP_ACCOUNT_VALID, NOW, &vd, NULL) ==
          DP_OK);
    CHECK(vd.code == DP_OK);
    dp_verify_free(v);

    const char *draft01_thumbs[] = {KEY};
    static const char *const issuers[] = {ISS};
    struct dp_verify_params p = {
        issuers, 1, "http://ca:4000/acme/reg/1", draft01_thumbs, 1, NULL, 0, DP_MODE_DRAFT01,
        NULL,    0};
    v = dp_verify_new(ctx, &p, NULL);
    struct dp_span pebble[] = {{"authority.example;accounturi=http://ca:4000", 43},
                               {"/acme/reg/1", 11}};
    rr = (struct dp_txt_rr){pebble, 2};
    CHECK(dp_verify_eval(v, "example.com", NULL, &rr, 1, DP_ACCOUNT_VALID, NOW, &vd, NULL) ==
          DP_OK);
    CHECK(vd.code == DP_OK && vd.plain);
    dp_verify_free(v);
}

static void A6_records_made_with_an_older_key_still_validate(void)
{
    const char *rolled[] = {NEWKEY, KEY};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, rolled, 2, 0);
    const char *recs[] = {"authority.example; accounturi=" H_FQDN};
    struct dp_verdict vd;
    CHECK(eval(v, "example.com", NULL, recs, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_OK && vd.key_index == 1);
    dp_verify_free(v);
    const char *only_new[] = {NEWKEY};
    v = mk(DP_MODE_DRAFT02, only_new, 1, 0);
    CHECK(eval(v, "example.com", NULL, recs, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_UNAUTHORIZED && !strcmp(vd.rule, "H4"));
    dp_verify_free(v);
}

static void V5_deactivated_account_never_validates(void)
{
    const char *thumbs[] = {KEY};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, thumbs, 1, 0);
    const char *recs[] = {"authority.example; accounturi=" H_FQDN};
    struct dp_verdict vd;
    CHECK(eval(v, "example.com", NULL, recs, 1, DP_ACCOUNT_DEACTIVATED, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_UNAUTHORIZED && !strcmp(vd.rule, "V5"));
    /* Live state: the same verifier validates again once told the account is valid. */
    CHECK(eval(v, "example.com", NULL, recs, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
          vd.code == DP_OK);
    dp_verify_free(v);
}

static void H1_algorithm_acceptance_is_configurable(void)
{
    char *u512 = dp_hashuri_compute_alloc(DP_HASH_SHA512, PREFIX, "example.com", KEY, A, NULL);
    char rec[256];
    snprintf(rec, sizeof rec, "authority.example; accounturi=%s", u512);
    const char *recs[] = {rec};
    const char *thumbs[] = {KEY};
    struct dp_verdict vd;
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, thumbs, 1, 0);
    CHECK(eval(v, "example.com", NULL, recs, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_OK && vd.alg == DP_HASH_SHA512);
    dp_verify_free(v);
    v = mk(DP_MODE_DRAFT02, thumbs, 1, DP_HASH_SHA256);
    CHECK(eval(v, "example.com", NULL, recs, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_MALFORMED && !strcmp(vd.rule, "H4"));
    dp_verify_free(v);
    free(u512);
}

static void V3_V6_persist_until_boundary_and_clamp(void)
{
    const char *thumbs[] = {KEY};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, thumbs, 1, 0);
    const char *recs[] = {"authority.example; accounturi=" H_FQDN "; persistUntil=1790000000"};
    struct dp_verdict vd;
    CHECK(eval(v, "example.com", NULL, recs, 1, DP_ACCOUNT_VALID, 1790000000, &vd) == DP_OK);
    CHECK(vd.code == DP_OK && vd.has_persist_until && vd.persist_until == 1790000000);
    CHECK(dp_verify_clamp_expires(&vd, 1800000000) == 1790000000);
    CHECK(dp_verify_clamp_expires(&vd, 1700000000) == 1700000000);
    CHECK(eval(v, "example.com", NULL, recs, 1, DP_ACCOUNT_VALID, 1790000001, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_UNAUTHORIZED && !strcmp(vd.rule, "V3") && !vd.has_persist_until);
    CHECK(strstr(vd.detail, "2026-09-21T14:13:20Z") != NULL);
    CHECK(dp_verify_clamp_expires(&vd, 1800000000) == 1800000000);
    dp_verify_free(v);
}

static void S2_subdomain_and_wildcard_from_a_parent_record(void)
{
    const char *thumbs[] = {KEY};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, thumbs, 1, 0);
    const char *wild[] = {"authority.example; accounturi=" H_FQDN "; policy=wildcard"};
    const char *exact[] = {"authority.example; accounturi=" H_FQDN};
    struct dp_verdict vd;
    /* The hash binds the domain where the record is (example.com), not the identifier. */
    CHECK(eval(v, "www.example.com", "example.com", wild, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
          vd.code == DP_OK);
    CHECK(eval(v, "*.dept.example.com", "example.com", wild, 1, DP_ACCOUNT_VALID, NOW, &vd) ==
              DP_OK &&
          vd.code == DP_OK);
    CHECK(eval(v, "*.example.com", NULL, wild, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
          vd.code == DP_OK);
    CHECK(eval(v, "www.example.com", "example.com", exact, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_UNAUTHORIZED && !strcmp(vd.rule, "S2"));
    CHECK(eval(v, "badexample.com", "example.com", wild, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(vd.code == DP_ERR_UNAUTHORIZED && !strcmp(vd.rule, "S3"));
    dp_verify_free(v);
}

/* The digest cache must never change an outcome: alternate domains on one verifier. */
static void cache_never_changes_an_outcome(void)
{
    const char *thumbs[] = {NEWKEY, KEY};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, thumbs, 2, 0);
    char *for_net = dp_hashuri_compute_alloc(DP_HASH_SHA256, PREFIX, "example.net", KEY, A, NULL);
    char net[256];
    snprintf(net, sizeof net, "authority.example; accounturi=%s", for_net);
    const char *com[] = {"authority.example; accounturi=" H_FQDN}, *netr[] = {net};
    struct dp_verdict vd;
    for (int round = 0; round < 3; round++) {
        CHECK(eval(v, "example.com", NULL, com, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
              vd.code == DP_OK);
        CHECK(eval(v, "example.net", NULL, com, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
              vd.code == DP_ERR_UNAUTHORIZED);
        CHECK(eval(v, "example.net", NULL, netr, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
              vd.code == DP_OK);
        CHECK(eval(v, "example.com", NULL, netr, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
              vd.code == DP_ERR_UNAUTHORIZED);
    }
    free(for_net);
    dp_verify_free(v);
}

static void compat_mode_accepts_both_forms(void)
{
    const char *thumbs[] = {KEY};
    struct dp_verifier *v = mk(DP_MODE_COMPAT, thumbs, 1, 0);
    const char *hashed[] = {"authority.example; accounturi=" H_FQDN};
    const char *bad[] = {"authority.example; accounturi=" PREFIX "sha-256/short"};
    struct dp_verdict vd;
    CHECK(eval(v, "example.com", NULL, hashed, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
          vd.code == DP_OK && !vd.plain);
    CHECK(eval(v, "example.com", NULL, bad, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
          vd.code == DP_ERR_MALFORMED);
    dp_verify_free(v);
}

static void bad_parameters_are_refused(void)
{
    const char *thumbs[] = {KEY}, *badt[] = {"nope"};
    const char *eleven[11];
    for (int i = 0; i < 11; i++)
        eleven[i] = "ca.example";
    struct dp_error e;
    struct dp_verify_params p = {eleven, 0, A, thumbs, 1, PREFIX, 0, DP_MODE_DRAFT02, NULL, 0};
    CHECK(dp_verify_new(ctx, &p, &e) == NULL && !strcmp(e.rule, "A4"));
    p.n_issuers = 11;
    CHECK(dp_verify_new(ctx, &p, &e) == NULL && !strcmp(e.rule, "A4"));
    p.n_issuers = 10;
    p.thumbprints = badt;
    CHECK(dp_verify_new(ctx, &p, &e) == NULL && e.code == DP_ERR_INVAL);
    p.thumbprints = thumbs;
    p.accepted_algs = DP_HASH_SHA512;
    CHECK(dp_verify_new(ctx, &p, &e) == NULL && !strcmp(e.rule, "H1"));
    p.accepted_algs = 0;
    p.hash_prefix = NULL;
    CHECK(dp_verify_new(ctx, &p, &e) == NULL);
    p.hash_prefix = PREFIX;
    p.account_url = "with space";
    CHECK(dp_verify_new(ctx, &p, &e) == NULL);
    p.account_url = A;
    struct dp_verifier *v = dp_verify_new(ctx, &p, &e);
    CHECK(v != NULL);
    struct dp_verdict vd;
    CHECK(dp_verify_eval(v, "bad..name", NULL, NULL, 0, DP_ACCOUNT_VALID, NOW, &vd, &e) ==
          DP_ERR_DOMAIN);
    dp_verify_free(v);
}

/* Draft 4.5: after a prefix change, records made under the old prefix keep
 * validating when the CA lists it as a previous prefix; otherwise they are
 * malformed (not under the prefix, H4). */
static void H4_previous_prefix_keeps_old_records(void)
{
    static const char *const issuers[] = {ISS};
    static const char *const thumbs[] = {KEY};
    static const char *const old[] = {"https://old.example/h/"};
    const char *rec[] = {R("; accounturi=https://old.example/h/sha-256/"
                           "5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw")};
    struct dp_verdict vd;
    for (int with_old = 0; with_old < 2; with_old++) {
        struct dp_verify_params p = {
            issuers, 1, A, thumbs, 1, PREFIX, 0, DP_MODE_DRAFT02, old, (size_t)with_old};
        struct dp_verifier *v = dp_verify_new(ctx, &p, NULL);
        CHECK(v && eval(v, "example.com", NULL, rec, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
        CHECK(vd.code == (with_old ? DP_OK : DP_ERR_MALFORMED));
        dp_verify_free(v);
    }
}

struct seen {
    int n;
    enum dp_log_level level;
    char module[32], msg[512];
};

static void on_log(void *arg, enum dp_log_level level, const char *module, const char *msg)
{
    struct seen *s = arg;
    s->n++;
    s->level = level;
    snprintf(s->module, sizeof s->module, "%s", module);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
}

/* The library never prints: a refused record reaches the caller's log
 * callback (at debug level, with the verdict), and nothing else does. */
static void log_callback_sees_refusals(void)
{
    struct seen s = {0};
    struct dp_verifier *v = mk(DP_MODE_DRAFT02, (const char *const[]){KEY}, 1, 0);
    struct dp_verdict vd;
    const char *bad[] = {R("; accounturi=https://elsewhere.example/acct/9")};
    const char *good[] = {R("; accounturi=" H_FQDN)};
    dp_ctx_set_log(ctx, on_log, &s, DP_LOG_INFO);
    CHECK(eval(v, "example.com", NULL, bad, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(s.n == 0); /* debug events are not formatted for an info-level log */
    dp_ctx_set_log(ctx, on_log, &s, DP_LOG_DEBUG);
    CHECK(eval(v, "example.com", NULL, bad, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK);
    CHECK(s.n == 1 && s.level == DP_LOG_DEBUG && !strcmp(s.module, "verify") &&
          strstr(s.msg, "example.com") && strstr(s.msg, vd.detail));
    CHECK(eval(v, "example.com", NULL, good, 1, DP_ACCOUNT_VALID, NOW, &vd) == DP_OK &&
          vd.code == DP_OK && s.n == 1);
    dp_ctx_set_log(ctx, NULL, NULL, DP_LOG_DEBUG);
    dp_verify_free(v);
}

int main(void)
{
    ctx = dp_ctx_new(NULL);
    CHECK(ctx != NULL);
    if (!ctx) return check_report();
    RUN(V4_boulder_pebble_reference_cases_draft01);
    RUN(V4_reference_cases_compat_mode);
    RUN(V4_no_txt_record_at_all);
    RUN(H3_draft_10_2_record_validates);
    RUN(R2_multi_string_record_is_joined);
    RUN(A6_records_made_with_an_older_key_still_validate);
    RUN(V5_deactivated_account_never_validates);
    RUN(H1_algorithm_acceptance_is_configurable);
    RUN(V3_V6_persist_until_boundary_and_clamp);
    RUN(S2_subdomain_and_wildcard_from_a_parent_record);
    RUN(cache_never_changes_an_outcome);
    RUN(compat_mode_accepts_both_forms);
    RUN(bad_parameters_are_refused);
    RUN(log_callback_sees_refusals);
    RUN(H4_previous_prefix_keeps_old_records);
    dp_ctx_free(ctx);
    return check_report();
}
