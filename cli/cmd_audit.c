/*
 * cmd_audit.c: `dnspersist audit`, an inventory of _validation-persist
 * records without knowing the account: which CAs and accounts each domain
 * authorizes, what does not parse, what has expired or soon will. Built for
 * thousands of domains: one batch of concurrent look-ups, a progress line on
 * a terminal, JSON Lines for monitoring.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

static const char *const CMD = "audit";

static void help(void)
{
    printf("usage: dnspersist audit [--resolver [tcp:|udp:]ADDR[@PORT]] [--trust-anchor FILE] "
           "[--warn-days N]\n"
           "           [--json] [--timeout T] [--concurrency N] [--now UNIX]\n"
           "           (DOMAIN... | --from FILE)\n\n"
           "Lists every _validation-persist record of each domain: issuer, account URI,\n"
           "policy, persistUntil, whether it parses, and expiry warnings. --from reads one\n"
           "domain per line ('-' for standard input; blank lines and # comments skipped).\n\n"
           "Exit codes: 0 nothing to report, 1 a record is malformed, expired or expiring, or a\n"
           "look-up failed, 2 usage error, 3 internal error.\n");
}

struct audit {
    char (*doms)[DP_DOMAIN_MAX + 3];
    char (*names)[DP_VALIDATION_NAME_MAX];
    size_t n, done;
    int64_t now;
    long warn_days;
    int json, progress, problems;
};

static json_t *record_json(const char *val, int64_t now, long warn_days, int *problem)
{
    struct dp_record r;
    struct dp_error e;
    size_t len = strlen(val);
    dp_code rc = dp_record_parse(val, len, &r, &e);
    json_t *o = json_object();
    json_object_set_new(o, "value", cli_json_octets(val, len));
    json_object_set_new(o, "issuer",
                        r.issuer.len ? cli_json_octets(r.issuer.ptr, r.issuer.len) : json_null());
    json_object_set_new(o, "accounturi",
                        r.has_accounturi ? cli_json_octets(r.accounturi.ptr, r.accounturi.len)
                                         : json_null());
    json_object_set_new(o, "policy",
                        r.has_policy ? cli_json_octets(r.policy.ptr, r.policy.len) : json_null());
    json_object_set_new(o, "wildcard", json_boolean(rc == DP_OK && r.wildcard));
    json_object_set_new(o, "persistUntil",
                        r.has_persist_until ? json_integer(r.persist_until) : json_null());
    json_object_set_new(o, "wellFormed", json_boolean(rc == DP_OK));
    int expired = rc == DP_OK && r.has_persist_until && now > r.persist_until;
    int expiring =
        rc == DP_OK && r.has_persist_until && !expired && r.persist_until - now < warn_days * 86400;
    json_object_set_new(o, "expired", json_boolean(expired));
    json_object_set_new(o, "expiring", json_boolean(expiring));
    if (rc != DP_OK)
        json_object_set_new(o, "error",
                            json_pack("{s:s,s:I,s:s}", "rule", e.rule ? e.rule : "R3", "offset",
                                      (json_int_t)e.offset, "detail", e.detail));
    if (rc != DP_OK || expired || expiring) *problem = 1;
    return o;
}

static void print_text(const char *domain, const char *name, const struct dp_dns_answer *a,
                       json_t *recs)
{
    const char *sec = dp_resolver_dnssec_name(a->dnssec);
    printf("%s  (%s%s%s)\n", domain, name, sec ? ", dnssec " : "", sec ? sec : "");
    if (a->status == DP_DNS_FAILED) {
        printf("  look-up FAILED: %s\n", a->detail);
        return;
    }
    if (json_array_size(recs) == 0) {
        printf("  no records (%s)\n", dp_resolver_status_name(a->status));
        return;
    }
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        json_t *err = json_object_get(r, "error");
        printf("  [%zu] issuer %s\n", i,
               json_string_value(json_object_get(r, "issuer"))
                   ? json_string_value(json_object_get(r, "issuer"))
                   : "(none)");
        const char *acct = json_string_value(json_object_get(r, "accounturi"));
        if (acct)
            printf("      accounturi %s%s\n", acct,
                   strstr(acct, "/sha-") ? "" : "  (plain URL: draft-01)");
        if (json_is_true(json_object_get(r, "wildcard")))
            printf("      policy wildcard: covers subdomains and wildcards\n");
        json_t *pu = json_object_get(r, "persistUntil");
        if (json_is_integer(pu)) {
            char t[40];
            printf("      persistUntil %s%s\n", cli_time_str(json_integer_value(pu), t, sizeof t),
                   json_is_true(json_object_get(r, "expired"))    ? "  EXPIRED"
                   : json_is_true(json_object_get(r, "expiring")) ? "  EXPIRING SOON"
                                                                  : "");
        }
        if (err)
            printf("      MALFORMED (%s): %s\n", json_string_value(json_object_get(err, "rule")),
                   json_string_value(json_object_get(err, "detail")));
    }
}

static void on_answer(void *arg, size_t i, const struct dp_dns_answer *a)
{
    struct audit *au = arg;
    size_t n = 0;
    char **vals = cli_txt_values(a, &n);
    int problem = a->status == DP_DNS_FAILED;
    json_t *recs = json_array();
    for (size_t k = 0; k < n; k++)
        json_array_append_new(recs, record_json(vals[k], au->now, au->warn_days, &problem));
    cli_values_free(vals, n);
    if (au->progress) fprintf(stderr, "\r\033[K");
    if (au->json) {
        const char *sec = dp_resolver_dnssec_name(a->dnssec);
        json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:O}", "domain", au->doms[i], "name", au->names[i],
                              "lookup", dp_resolver_status_name(a->status), "dnssec",
                              sec ? json_string(sec) : json_null(), "records", recs);
        if (a->status == DP_DNS_FAILED)
            json_object_set_new(o, "error",
                                json_pack("{s:s,s:s}", "type", DP_ACME_DNS, "detail", a->detail));
        json_object_set_new(o, "problem", json_boolean(problem));
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        print_text(au->doms[i], au->names[i], a, recs);
    }
    json_decref(recs);
    au->problems |= problem;
    au->done++;
    if (au->progress && (au->done % 50 == 0 || au->done == au->n)) {
        fflush(stdout);
        fprintf(stderr, "audit: %zu/%zu domains", au->done, au->n);
    }
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {CLI_OPT_RESOLVER,
                                         CLI_OPT_TRUST_ANCHOR,
                                         {"warn-days", required_argument, 0, 'w'},
                                         CLI_OPT_JSON,
                                         {"timeout", required_argument, 0, 'o'},
                                         {"concurrency", required_argument, 0, 'c'},
                                         {"now", required_argument, 0, 'n'},
                                         {"from", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct cli_common co = {0};
    const char *from = NULL;
    long warn_days = 30, timeout = 0, conc = 0;
    int64_t now = (int64_t)time(NULL);
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if ((warn_days = cli_parse_count(optarg, 100000)) < 0)
                return cli_usage(CMD, "--warn-days '%s': not a number of days", optarg);
            break;
        case 'o':
            if ((timeout = cli_parse_duration_ms(optarg, 600000)) <= 0)
                return cli_usage(
                    CMD, "--timeout '%s': a duration with its unit (5s, 700ms), up to 10m", optarg);
            break;
        case 'c':
            if ((conc = cli_parse_count(optarg, 65536)) <= 0)
                return cli_usage(CMD, "--concurrency '%s': 1 to 65536", optarg);
            break;
        case 'n':
            if (cli_parse_time(optarg, &now))
                return cli_usage(CMD, "--now '%s': not UNIX seconds, YYYY-MM-DD or RFC 3339",
                                 optarg);
            break;
        case 'f':
            from = optarg;
            break;
        case 'h':
            help();
            return 0;
        default:
            if (cli_common_opt(&co, c, optarg)) break;
            return cli_bad_option(CMD, c, argv);
        }
    }
    if (from && optind < argc) return cli_usage(CMD, "give DOMAIN arguments or --from, not both");
    if (!from && optind >= argc)
        return cli_usage(CMD, "at least one DOMAIN (or --from FILE) is required");

    char **list = NULL;
    size_t n = 0;
    if (from) {
        if (!(list = cli_read_list(CMD, from, &n))) return EXIT_USAGE;
        if (n == 0) {
            free(list);
            return cli_usage(CMD, "--from %s lists no domains", from);
        }
    }
    struct audit au = {0};
    au.n = n ? n : (size_t)(argc - optind);
    au.now = now;
    au.warn_days = warn_days;
    au.json = co.json;
    au.doms = calloc(au.n, sizeof *au.doms);
    au.names = calloc(au.n, sizeof *au.names);
    const char **qn = calloc(au.n, sizeof *qn);
    int rc = EXIT_USAGE;
    struct dp_resolver *res = NULL;
    if (!au.doms || !au.names || !qn) {
        rc = EXIT_FAILURE_INTERNAL;
        goto done;
    }
    for (size_t i = 0; i < au.n; i++) {
        const char *in = list ? list[i] : argv[optind + (int)i];
        struct dp_error e;
        if (dp_domain_normalize(in, au.doms[i], DP_DOMAIN_ALLOW_WILDCARD, &e) != DP_OK) {
            if (list)
                cli_error(CMD, "%s line with '%s': %s (draft 9.2)", from, in, e.detail);
            else
                cli_error(CMD, "DOMAIN '%s': %s (draft 9.2)", in, e.detail);
            goto done;
        }
        snprintf(au.names[i], sizeof au.names[i], "%s.%s", DP_VALIDATION_LABEL,
                 dp_domain_base(au.doms[i]));
        qn[i] = au.names[i];
    }
    if (!(res = cli_resolver(CMD, co.resolver, co.ta, (unsigned)timeout, (unsigned)conc)))
        goto done;
    au.progress = au.n > 1 && isatty(STDERR_FILENO);
    struct dp_error e;
    if (dp_resolver_batch(res, qn, au.n, DP_DNS_TYPE_TXT, on_answer, &au, &e) != DP_OK) {
        cli_error(CMD, "resolver: %s", e.detail);
        rc = EXIT_FAILURE_INTERNAL;
        goto done;
    }
    if (au.progress) fprintf(stderr, "\r\033[K");
    rc = au.problems ? EXIT_INVALID : EXIT_VALID;
done:
    cli_list_free(list);
    free(au.doms);
    free(au.names);
    free(qn);
    dp_resolver_free(res);
    return rc;
}
