/* cmd_evaluate.c: `dnspersist evaluate`, the CA's decision (V2-V6) on records given as arguments.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

static const char *const CMD = "evaluate";

static void help(void)
{
    printf(
        "usage: dnspersist evaluate --issuer NAME [--issuer NAME...] --account-url URL\n"
        "           --thumbprint B64 [--thumbprint B64...] [--hash-prefix URL] [--draft 01]\n"
        "           [--accept-algs LIST] [--now UNIX] [--deactivated]\n"
        "           [--record-domain DOMAIN] [--json] IDENTIFIER [TXT...]\n\n"
        "Decides, exactly as the CA would, whether the TXT record values (one argument per\n"
        "record, strings already joined) found at _validation-persist.<record-domain>\n"
        "authorize the account for IDENTIFIER.\n\n"
        "  --issuer NAME          the challenge's issuerDomainNames (1 to 10)\n"
        "  --account-url URL      the requesting account's URL\n"
        "  --thumbprint B64       account key thumbprints: current first, then older, newest "
        "first\n"
        "  --hash-prefix URL      the CA's accountHashPrefix (required unless --draft 01)\n"
        "  --draft 01|02|compat   01: plain account URLs; compat: hashed or plain (default 02)\n"
        "  --accept-algs LIST     hash algorithms accepted (default sha-256,sha-384,sha-512)\n"
        "  --now UNIX             the time of the decision (default: now)\n"
        "  --deactivated          the account is deactivated (V5)\n"
        "  --record-domain D      where the records were found (default: IDENTIFIER without *.)\n"
        "  --json                 print {\"status\",\"error\",\"record\",\"persistUntil\"}\n\n"
        "Exit codes: 0 valid, 1 invalid, 2 usage error, 3 internal error.\n");
}

int cmd_evaluate(int argc, char **argv)
{
    static const struct option opts[] = {CLI_ACCOUNT_OPTIONS,
                                         {"now", required_argument, 0, 'n'},
                                         {"deactivated", no_argument, 0, 'D'},
                                         {"record-domain", required_argument, 0, 'r'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    static struct cli_account acct; /* large: not on the stack */
    memset(&acct, 0, sizeof acct);
    const char *rdom_arg = NULL;
    int64_t now = (int64_t)time(NULL);
    int deactivated = 0, json = 0, c, rc = EXIT_USAGE;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
        case 'u':
        case 't':
        case 'p':
        case 'd':
        case 'a':
            if (cli_account_opt(CMD, &acct, c, optarg)) goto out;
            break;
        case 'n':
            if (cli_parse_time(optarg, &now)) {
                cli_usage(CMD, "--now '%s': not UNIX seconds, YYYY-MM-DD or RFC 3339", optarg);
                goto out;
            }
            break;
        case 'D':
            deactivated = 1;
            break;
        case 'r':
            rdom_arg = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            help();
            rc = 0;
            goto out;
        default:
            cli_bad_option(CMD, c, argv);
            goto out;
        }
    }
    struct dp_verify_params p;
    if (cli_account_finish(CMD, &acct, &p)) goto out;
    if (optind >= argc) {
        cli_usage(CMD, "an IDENTIFIER is required");
        goto out;
    }

    char ident[DP_DOMAIN_MAX + 3], rdom[DP_DOMAIN_MAX + 3];
    if (cli_domain(CMD, "IDENTIFIER", argv[optind], ident, 1)) goto out;
    if (rdom_arg && cli_domain(CMD, "--record-domain", rdom_arg, rdom, 0)) goto out;

    struct dp_error e;
    struct dp_ctx *ctx = dp_ctx_new(&e);
    if (!ctx) {
        cli_error(CMD, "%s", e.detail);
        rc = EXIT_FAILURE_INTERNAL;
        goto out;
    }
    struct dp_verifier *v = dp_verify_new(ctx, &p, &e);
    if (!v) {
        cli_usage(CMD, "%s (%s)", e.detail, e.rule ? e.rule : "-");
        dp_ctx_free(ctx);
        goto out;
    }

    /* Each argument is one RR; split as DNS would carry it, so the verifier's
     * join (R2) is exercised exactly as for live records. */
    size_t n_rr = (size_t)(argc - optind - 1);
    struct dp_txt_rr *rrs = calloc(n_rr + 1, sizeof *rrs);
    struct dp_span **spans = calloc(n_rr + 1, sizeof *spans);
    int ok = rrs && spans;
    for (size_t i = 0; ok && i < n_rr; i++) {
        const char *val = argv[optind + 1 + (int)i];
        size_t len = strlen(val), ns = dp_txt_count(len);
        spans[i] = calloc(ns, sizeof **spans);
        ok = spans[i] && dp_txt_split(val, len, spans[i], ns) == ns;
        if (ok) rrs[i] = (struct dp_txt_rr){spans[i], ns};
    }
    struct dp_verdict vd;
    if (!ok) {
        cli_error(CMD, "out of memory");
        rc = EXIT_FAILURE_INTERNAL;
    } else if (dp_verify_eval(v, ident, rdom_arg ? rdom : NULL, rrs, n_rr,
                              deactivated ? DP_ACCOUNT_DEACTIVATED : DP_ACCOUNT_VALID, now, &vd,
                              &e) != DP_OK) {
        cli_error(CMD, "%s", e.detail);
        rc = e.code == DP_ERR_DOMAIN || e.code == DP_ERR_INVAL || e.code == DP_ERR_TOOBIG
                 ? EXIT_USAGE
                 : EXIT_FAILURE_INTERNAL;
    } else {
        rc = vd.code == DP_OK ? EXIT_VALID : EXIT_INVALID;
        if (json) {
            json_t *o = json_pack("{s:s}", "status", vd.code == DP_OK ? "valid" : "invalid");
            if (vd.code != DP_OK)
                json_object_set_new(
                    o, "error", json_pack("{s:s,s:s}", "type", vd.acme_type, "detail", vd.detail));
            json_object_set_new(o, "record",
                                vd.record >= 0 ? json_integer(vd.record) : json_null());
            json_object_set_new(o, "persistUntil",
                                vd.code == DP_OK && vd.has_persist_until
                                    ? json_integer(vd.persist_until)
                                    : json_null());
            char *s = json_dumps(o, JSON_COMPACT);
            printf("%s\n", s ? s : "{}");
            free(s);
            json_decref(o);
        } else if (vd.code == DP_OK) {
            char t[40];
            printf("valid: TXT record %ld at %s.%s authorizes %s\n", vd.record, DP_VALIDATION_LABEL,
                   rdom_arg ? rdom : dp_domain_base(ident), ident);
            if (vd.plain)
                printf("  matched the plain account URL (draft-01)\n");
            else if (acct.mode != DP_MODE_DRAFT01)
                printf("  matched %s with key %zu (%s) using the %s form\n",
                       dp_hashuri_alg_name(vd.alg), vd.key_index,
                       vd.key_index == 0 ? "current" : "older",
                       vd.star ? "'*' (any domain)" : "domain-bound");
            if (vd.has_persist_until)
                printf("  persistUntil %lld (%s): authorizations expire no later (V6)\n",
                       (long long)vd.persist_until, cli_time_str(vd.persist_until, t, sizeof t));
        } else {
            printf("invalid: %s\n  %s\n", vd.acme_type, vd.detail);
        }
    }
    for (size_t i = 0; spans && i < n_rr; i++)
        free(spans[i]);
    free(spans);
    free(rrs);
    dp_verify_free(v);
    dp_ctx_free(ctx);
out:
    return rc;
}
