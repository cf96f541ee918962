/*
 * fuzz_record: libFuzzer target for the record parser and the verifier that
 * consumes it. Beyond "no crash", it checks invariants and aborts on a
 * violation so the fuzzer reports it:
 *   1. an error offset never points past the input;
 *   2. a parsed record's spans lie inside the input;
 *   3. the canonical form of a parsed record parses back to the same fields;
 *   4. the verifier reaches a verdict on the input as a TXT record, and a
 *      valid verdict only ever comes with a record that parses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnspersist/dnspersist.h"
#include "fuzz_check.h"

#define PREFIX "https://ca.example/account-hash/"

static int inside(struct dp_span s, const char *buf, size_t len)
{
    return s.len == 0 || (s.ptr >= buf && s.ptr + s.len <= buf + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dp_ctx *ctx;
    static struct dp_verifier *v;
    if (!ctx) {
        static const char *const issuers[] = {"authority.example"};
        static const char *const keys[] = {"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"};
        struct dp_verify_params p = {
            issuers, 1, "https://ca.example/acct/123", keys, 1, PREFIX, 0, DP_MODE_COMPAT, NULL, 0};
        ctx = dp_ctx_new(NULL);
        v = ctx ? dp_verify_new(ctx, &p, NULL) : NULL;
        check(v != NULL, "setup");
    }
    if (size > DP_TXT_VALUE_MAX) return 0;
    const char *buf = (const char *)data;

    struct dp_record r;
    struct dp_error e;
    dp_code rc = dp_record_parse(buf, size, &r, &e);
    check(rc == DP_OK || rc == DP_ERR_MALFORMED, "parse result");
    if (rc != DP_OK) check(e.offset <= size && e.rule != NULL, "error offset and rule");
    check(inside(r.issuer, buf, size) && inside(r.accounturi, buf, size), "spans");
    for (size_t i = 0; i < r.n_params; i++)
        check(inside(r.params[i].tag, buf, size) && inside(r.params[i].value, buf, size),
              "param spans");

    if (rc == DP_OK && r.issuer.len > 0 && r.issuer.len < 200) {
        char iss[256], norm[DP_DOMAIN_MAX + 3], uri[DP_TXT_VALUE_MAX + 1];
        memcpy(iss, r.issuer.ptr, r.issuer.len);
        iss[r.issuer.len] = '\0';
        memcpy(uri, r.accounturi.ptr, r.accounturi.len);
        uri[r.accounturi.len] = '\0';
        if (dp_domain_normalize(iss, norm, 0, NULL) == DP_OK) {
            struct dp_record_spec s = {norm, uri, r.wildcard, r.has_persist_until, r.persist_until};
            char *val = dp_record_format_alloc(&s, NULL);
            check(val != NULL, "format of a parsed record");
            struct dp_record r2;
            check(dp_record_parse(val, strlen(val), &r2, NULL) == DP_OK, "canonical form parses");
            check(r2.wildcard == r.wildcard && r2.has_persist_until == r.has_persist_until &&
                      r2.persist_until == r.persist_until &&
                      r2.accounturi.len == r.accounturi.len &&
                      memcmp(r2.accounturi.ptr, r.accounturi.ptr, r.accounturi.len) == 0,
                  "round trip");
            free(val);
        }
    }

    struct dp_span sp[DP_TXT_VALUE_MAX / DP_TXT_STRING_MAX + 1];
    size_t ns = dp_txt_split(buf, size, sp, sizeof sp / sizeof sp[0]);
    struct dp_txt_rr rr = {sp, ns};
    struct dp_verdict vd;
    check(dp_verify_eval(v, "example.com", NULL, &rr, 1, DP_ACCOUNT_VALID, 1790000000, &vd, &e) ==
              DP_OK,
          "verdict reached");
    check(vd.code == DP_OK || vd.code == DP_ERR_MALFORMED || vd.code == DP_ERR_UNAUTHORIZED,
          "verdict code");
    if (vd.code == DP_OK) check(rc == DP_OK, "valid implies well-formed");

    /* The same octets as a domain name: no crash, and success means normalized output. */
    if (size < 1024) {
        char name[1025], out[DP_DOMAIN_MAX + 3];
        memcpy(name, buf, size);
        name[size] = '\0';
        if (dp_domain_normalize(name, out, DP_DOMAIN_ALLOW_WILDCARD, NULL) == DP_OK) {
            char again[DP_DOMAIN_MAX + 3];
            check(strlen(out) <= DP_DOMAIN_MAX + 2, "normalized length");
            check(dp_domain_normalize(out, again, DP_DOMAIN_ALLOW_WILDCARD, NULL) == DP_OK &&
                      strcmp(out, again) == 0,
                  "normalization is idempotent");
        }
    }
    return 0;
}
