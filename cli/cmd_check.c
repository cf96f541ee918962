/*
 * cmd_check.c: `dnspersist check`, what the CA will see: live look-ups of
 * _validation-persist records, evaluated by the library exactly as the CA's
 * verification procedure does (V1-V8, S1-S3).
 *
 * For each domain the candidate record names are its own validation domain,
 * then each parent down to (not including) the public suffix; a parent's
 * record counts only with policy=wildcard (S2, S3). Look-ups go out in
 * rounds, one candidate level per round, all domains of a round at once, so
 * a parent is only queried for domains not yet decided.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "session.h"

static const char *const CMD = "check";
#define MAX_CANDIDATES 128

static void help(void)
{
    printf(
        "usage: dnspersist check [--resolver [tcp:|udp:]ADDR[@PORT]] [--trust-anchor FILE] "
        "--issuer "
        "NAME\n"
        "           [--issuer NAME...] --account-url URL --thumbprint B64 [--thumbprint B64...]\n"
        "           [--hash-prefix URL] [--draft 01|02|compat] [--accept-algs LIST]\n"
        "           [--warn-days N] [--json]\n"
        "           [--timeout T] [--concurrency N] [--now UNIX] (DOMAIN... | --from FILE)\n"
        "       dnspersist check --directory URL [--state DIR] [--ca-bundle FILE]\n"
        "           [--issuer NAME...] [--resolver ...] [--json] (DOMAIN... | --from FILE)\n\n"
        "Looks up _validation-persist records and evaluates them exactly as the CA will.\n"
        "A *.example.com DOMAIN is checked at _validation-persist.example.com and needs\n"
        "policy=wildcard; a name with no record of its own is checked against its parents'\n"
        "policy=wildcard records, up to the public suffix.\n\n"
        "  --resolver [tcp:|udp:]ADDR[@PORT]  forward queries to this server (default:\n"
        "                          recurse from root); tcp: (kept TCP connections) and udp:\n"
        "                          (a pipelining stub) are faster in bulk\n"
        "  --trust-anchor FILE     DNSSEC trust anchors (DS/DNSKEY); bogus answers fail (V8)\n"
        "  --warn-days N           warn when persistUntil is within N days (default 30)\n"
        "  --json                  one JSON object per domain (JSON Lines)\n"
        "  --timeout T             per query, with its unit (default 5s)\n"
        "  --concurrency N         queries in flight (default 256)\n"
        "  --from FILE             the domains, one a line (- for stdin; # comments)\n"
        "  --directory URL         check for the account stored for this CA (--state): its\n"
        "                          URL and every key it has had, the CA's issuer names and\n"
        "                          accountHashPrefix (plain URLs for a draft-01 CA)\n"
        "  the other options are those of 'dnspersist evaluate'.\n\n"
        "Exit codes: 0 every domain valid, 1 otherwise, 2 usage error, 3 internal error.\n");
}

struct dom {
    char ident[DP_DOMAIN_MAX + 3];
    const char *cands[MAX_CANDIDATES];
    size_t n_cands;
    size_t level; /* candidate being looked up */
    int decided;
    /* The decision: */
    char name[DP_VALIDATION_NAME_MAX];
    struct dp_verdict vd;
    int dns_failed;
    char dns_detail[600];
    enum dp_dnssec dnssec;
    char **values;
    size_t n_values;
    int have_base; /* vd/name/values hold the own name's result while parents are tried */
};

struct run {
    struct dom *doms;
    size_t *idx; /* batch index -> domain */
    struct dp_verifier *v;
    int64_t now;
    int failed_internal;
};

static void keep(struct dom *d, const char *name, const struct dp_verdict *vd, char **values,
                 size_t n, enum dp_dnssec sec)
{
    cli_values_free(d->values, d->n_values);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->vd = *vd;
    d->values = values;
    d->n_values = n;
    d->dnssec = sec;
}

static void on_answer(void *arg, size_t i, const struct dp_dns_answer *a)
{
    struct run *run = arg;
    struct dom *d = &run->doms[run->idx[i]];
    if (a->status == DP_DNS_FAILED) {
        /* V4, V8: a failed look-up is never a success, at any level. */
        cli_values_free(d->values, d->n_values);
        d->values = NULL;
        d->n_values = 0;
        snprintf(d->name, sizeof d->name, "%s", a->qname);
        snprintf(d->dns_detail, sizeof d->dns_detail, "look-up of %s failed: %s (%s)", a->qname,
                 a->detail, a->dnssec == DP_DNSSEC_BOGUS ? "V8" : "V4");
        d->dns_failed = 1;
        d->dnssec = a->dnssec;
        d->decided = 1;
        return;
    }
    size_t n = 0;
    char **values = cli_txt_values(a, &n);
    if (a->status == DP_DNS_FOUND && !values) {
        run->failed_internal = 1;
        d->decided = 1;
        return;
    }
    struct dp_verdict vd;
    struct dp_error e;
    if (dp_verify_eval(run->v, d->ident, d->cands[d->level], a->txt, a->n_rrs, DP_ACCOUNT_VALID,
                       run->now, &vd, &e) != DP_OK) {
        cli_error(CMD, "%s: %s", d->ident, e.detail);
        run->failed_internal = 1;
        cli_values_free(values, n);
        d->decided = 1;
        return;
    }
    if (vd.code == DP_OK) {
        keep(d, a->qname, &vd, values, n, a->dnssec);
        d->decided = 1;
        return;
    }
    /* Report the own name's verdict, unless it found nothing for this issuer
     * and a parent has a record for it: that record is what needs fixing. */
    if (!d->have_base || (d->vd.n_matching == 0 && vd.n_matching > 0 && d->level > 0)) {
        keep(d, a->qname, &vd, values, n, a->dnssec);
        d->have_base = 1;
    } else {
        cli_values_free(values, n);
    }
    if (++d->level >= d->n_cands) d->decided = 1;
}

static const char *fix_hint(const struct dom *d, char *buf, size_t cap)
{
    if (d->dns_failed)
        return d->dnssec == DP_DNSSEC_BOGUS
                   ? "the zone's DNSSEC signatures do not validate: re-sign the zone or fix its DS"
                   : "the CA cannot read the record: check that the zone's name servers answer";
    const char *r = d->vd.rule ? d->vd.rule : "";
    if (!strcmp(r, "V2") || !strcmp(r, "V4"))
        return "publish a record for one of the issuers (dnspersist record ... DOMAIN)";
    if (!strcmp(r, "H4") && d->vd.code == DP_ERR_MALFORMED)
        return "the accounturi is not a hashed URI under this CA's accountHashPrefix with an "
               "accepted algorithm: recompute it with dnspersist record";
    if (!strcmp(r, "H4"))
        return "the accounturi was made for another account, key, domain or CA prefix: recompute "
               "it with dnspersist record (or --any-domain)";
    if (!strcmp(r, "S1") || !strcmp(r, "S2")) {
        /* Name the record and the command that makes it: the record is
         * there and right but for its scope. */
        int wild = !strncmp(d->ident, "*.", 2); /* S1: only policy=wildcard covers it */
        const char *at = d->name[0] ? d->name : "";
        size_t ll = strlen(DP_VALIDATION_LABEL) + 1;
        const char *owner = !strncmp(at, DP_VALIDATION_LABEL ".", ll) ? at + ll : d->ident;
        snprintf(buf, cap,
                 "add policy=wildcard to the record at %s (dnspersist record --wildcard %s)%s%s",
                 at[0] ? at : "the name", owner,
                 wild ? "" : ", or publish a record at _validation-persist.", wild ? "" : d->ident);
        return buf;
    }
    if (!strcmp(r, "S3"))
        return "publish the record at the name itself or at a parent below the public suffix";
    if (!strcmp(r, "V3")) return "publish the record again with a later persistUntil";
    if (!strcmp(r, "R2") || !strcmp(r, "R3") || !strcmp(r, "R4") || !strcmp(r, "H1"))
        return "fix the record's syntax (dnspersist parse 'VALUE' points at the fault)";
    if (!strcmp(r, "V5")) return "the account is deactivated: use another account";
    return "see the detail";
}

static void print_text(const struct dom *d, int64_t now, long warn_days, int json)
{
    int valid = !d->dns_failed && d->vd.code == DP_OK;
    const char *sec = dp_resolver_dnssec_name(d->dnssec);
    int warn = valid && d->vd.has_persist_until && d->vd.persist_until - now < warn_days * 86400;
    char t[40], hint[1200];
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "domain", json_string(d->ident));
        json_object_set_new(o, "name", json_string(d->name));
        json_object_set_new(o, "status", json_string(valid ? "valid" : "invalid"));
        if (!valid)
            json_object_set_new(o, "error",
                                json_pack("{s:s,s:s}", "type",
                                          d->dns_failed ? DP_ACME_DNS : d->vd.acme_type, "detail",
                                          d->dns_failed ? d->dns_detail : d->vd.detail));
        json_t *recs = json_array();
        for (size_t i = 0; i < d->n_values; i++)
            json_array_append_new(recs, cli_json_octets(d->values[i], strlen(d->values[i])));
        json_object_set_new(o, "records", recs);
        json_object_set_new(o, "persistUntil",
                            valid && d->vd.has_persist_until ? json_integer(d->vd.persist_until)
                                                             : json_null());
        json_object_set_new(o, "dnssec", sec ? json_string(sec) : json_null());
        if (warn) {
            char w[128];
            snprintf(w, sizeof w, "persistUntil %s is less than %ld days away",
                     cli_time_str(d->vd.persist_until, t, sizeof t), warn_days);
            json_object_set_new(o, "warning", json_string(w));
        }
        char *s = json_dumps(o, JSON_COMPACT);
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
        return;
    }
    printf("%s: %s\n", d->ident, valid ? "valid" : "INVALID");
    printf("  %-9s %s\n", "name", d->name);
    if (valid) {
        printf("  %-9s %s\n", "record",
               d->values && d->vd.record >= 0 ? d->values[d->vd.record] : "");
        if (d->vd.has_persist_until)
            printf("  %-9s %s\n", "until", cli_time_str(d->vd.persist_until, t, sizeof t));
    } else {
        printf("  %-9s %s\n", "error", d->dns_failed ? DP_ACME_DNS : d->vd.acme_type);
        printf("  %-9s %s\n", "problem", d->dns_failed ? d->dns_detail : d->vd.detail);
        printf("  %-9s %s\n", "fix", fix_hint(d, hint, sizeof hint));
        for (size_t i = 0; i < d->n_values; i++)
            printf("  %-9s %s\n", i ? "" : "records", d->values[i]);
    }
    printf("  %-9s %s\n", "dnssec", sec ? sec : "not validated (no --trust-anchor)");
    if (warn)
        printf("  %-9s persistUntil %s is less than %ld days away: publish a later one\n",
               "WARNING", cli_time_str(d->vd.persist_until, t, sizeof t), warn_days);
}

/* Domains are checked a chunk at a time: the state of one is ~4 KB, so
 * 10,000 at once cost ~9,000 page faults (14% of the run's CPU) and a
 * million would have needed gigabytes. A chunk (at least --concurrency
 * names) keeps the resolver's pipeline full, and its memory is reused.
 * Measured against 4096: 1024 costs 7% (UDP) to 21% (tcp:) less CPU,
 * and less time. */
#define CHECK_CHUNK 1024

static void doms_clear(struct dom *doms, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cli_values_free(doms[i].values, doms[i].n_values);
    memset(doms, 0, n * sizeof *doms);
}

int cli_check_domains(const char *cmd, const struct dp_verify_params *p, const char *resolver,
                      const char *ta, long timeout, long conc, const char *const *domains, size_t n,
                      int64_t now, long warn_days, int json, int only_problems)
{
    /* Every name is read before any is looked up: a bad one is a usage
     * error, with nothing printed yet. */
    char norm[DP_DOMAIN_MAX + 3];
    for (size_t i = 0; i < n; i++)
        if (cli_domain(cmd, "DOMAIN", domains[i], norm, 1)) return EXIT_USAGE;
    int rc = EXIT_USAGE;
    size_t cap = conc > CHECK_CHUNK ? (size_t)conc : CHECK_CHUNK;
    if (n < cap) cap = n;
    struct dom *doms = calloc(cap ? cap : 1, sizeof *doms);
    struct dp_ctx *ctx = NULL;
    struct dp_verifier *v = NULL;
    struct dp_resolver *res = NULL;
    const char **names = calloc(cap ? cap : 1, sizeof *names);
    char(*qn)[DP_VALIDATION_NAME_MAX] = calloc(cap ? cap : 1, sizeof *qn);
    size_t *idx = calloc(cap ? cap : 1, sizeof *idx), k = 0;
    struct dp_error e;
    if (!doms || !names || !qn || !idx) {
        rc = EXIT_FAILURE_INTERNAL;
        goto done;
    }
    if (!(ctx = dp_ctx_new(&e))) {
        cli_error(cmd, "%s", e.detail);
        rc = EXIT_FAILURE_INTERNAL;
        goto done;
    }
    if (!(v = dp_verify_new(ctx, p, &e))) {
        cli_usage(cmd, "%s (%s)", e.detail, e.rule ? e.rule : "-");
        goto done;
    }
    if (!(res = cli_resolver(cmd, resolver, ta, (unsigned)timeout, (unsigned)conc))) goto done;
    rc = EXIT_VALID;
    for (size_t base = 0; base < n; base += k) {
        doms_clear(doms, k);
        k = n - base < cap ? n - base : cap;
        for (size_t i = 0; i < k; i++) {
            cli_domain(cmd, "DOMAIN", domains[base + i], doms[i].ident, 1); /* read above */
            doms[i].n_cands =
                dp_scope_candidates(ctx, doms[i].ident, doms[i].cands, MAX_CANDIDATES);
        }
        struct run run = {doms, idx, v, now, 0};
        for (;;) {
            size_t m = 0;
            for (size_t i = 0; i < k; i++) {
                if (doms[i].decided) continue;
                snprintf(qn[m], sizeof qn[m], "%s.%s", DP_VALIDATION_LABEL,
                         doms[i].cands[doms[i].level]);
                names[m] = qn[m];
                idx[m++] = i;
            }
            if (m == 0) break;
            if (dp_resolver_batch(res, names, m, DP_DNS_TYPE_TXT, on_answer, &run, &e) != DP_OK) {
                cli_error(cmd, "resolver: %s", e.detail);
                rc = EXIT_FAILURE_INTERNAL;
                goto done;
            }
        }
        if (run.failed_internal) {
            rc = EXIT_FAILURE_INTERNAL;
            goto done;
        }
        for (size_t i = 0; i < k; i++) {
            int bad = doms[i].dns_failed || doms[i].vd.code != DP_OK;
            if (bad || !only_problems) print_text(&doms[i], now, warn_days, json);
            if (bad) rc = EXIT_INVALID;
        }
    }
done:
    if (doms) doms_clear(doms, k);
    free(doms);
    free(names);
    free(qn);
    free(idx);
    dp_resolver_free(res);
    dp_verify_free(v);
    dp_ctx_free(ctx);
    return rc;
}

/* --directory: the CA's issuer names (or --issuer among them), its
 * accountHashPrefix, and the stored account's URL and every key it has
 * had (A6), as issue's pre-check uses them. A CA with no prefix (draft-01)
 * is checked for plain account URLs; one with a prefix also accepts them
 * (compat), since the directory does not say whether it does. */
static int check_with_ca(const struct cli_account *acct, const struct cli_common *co, long timeout,
                         long conc, char **domains, size_t n, int64_t now, long warn_days)
{
    if (acct->url || acct->n_thumbs || acct->prefix)
        return cli_usage(CMD, "--directory takes the account and prefix from the CA and the "
                              "state: drop --account-url, --thumbprint and --hash-prefix");
    struct session s;
    int rc = session_open(CMD, co->state, co->directory, co->bundle, 1, &s);
    if (rc) return rc;
    const char *issuers[DP_MAX_ISSUERS];
    size_t ni =
        session_issuers(CMD, &s, acct->issuers, acct->n_issuers, 1, issuers, DP_MAX_ISSUERS);
    char th[CLI_MAX_THUMBPRINTS][DP_THUMBPRINT_BUF];
    const char *tp[CLI_MAX_THUMBPRINTS];
    size_t nt = session_thumbprints(&s.acct, th, CLI_MAX_THUMBPRINTS);
    for (size_t i = 0; i < nt; i++)
        tp[i] = th[i];
    const char *prefix = dp_acme_hash_prefix(s.acme);
    enum dp_mode mode = acct->mode == DP_MODE_DRAFT01 || !prefix ? DP_MODE_DRAFT01 : DP_MODE_COMPAT;
    struct dp_verify_params p = {
        issuers,        ni,   s.acct.url, tp, nt, mode == DP_MODE_DRAFT01 ? NULL : prefix,
        acct->accepted, mode, NULL,       0};
    rc = ni ? cli_check_domains(CMD, &p, co->resolver, co->ta, timeout, conc,
                                (const char *const *)domains, n, now, warn_days, co->json, 0)
            : EXIT_USAGE;
    session_close(&s);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    static const struct option opts[] = {CLI_ACCOUNT_OPTIONS,
                                         CLI_SESSION_OPTIONS,
                                         CLI_OPT_RESOLVER,
                                         CLI_OPT_TRUST_ANCHOR,
                                         {"warn-days", required_argument, 0, 'w'},
                                         CLI_OPT_JSON,
                                         {"timeout", required_argument, 0, 'o'},
                                         {"concurrency", required_argument, 0, 'c'},
                                         {"now", required_argument, 0, 'n'},
                                         {"from", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    static struct cli_account acct; /* large: not on the stack */
    memset(&acct, 0, sizeof acct);
    struct cli_common co = {0};
    long warn_days = 30, timeout = 0, conc = 0;
    int64_t now = (int64_t)time(NULL);
    int c, rc = EXIT_USAGE;
    const char *from = NULL;
    char **list = NULL;
    size_t n = 0;
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
        case 'w':
            if ((warn_days = cli_parse_count(optarg, 100000)) < 0) {
                cli_usage(CMD, "--warn-days '%s': not a number of days", optarg);
                goto out;
            }
            break;
        case 'o':
            if ((timeout = cli_parse_duration_ms(optarg, 600000)) <= 0) {
                cli_usage(CMD, "--timeout '%s': a duration with its unit (5s, 700ms), up to 10m",
                          optarg);
                goto out;
            }
            break;
        case 'c':
            if ((conc = cli_parse_count(optarg, 65536)) <= 0) {
                cli_usage(CMD, "--concurrency '%s': 1 to 65536", optarg);
                goto out;
            }
            break;
        case 'n':
            if (cli_parse_time(optarg, &now)) {
                cli_usage(CMD, "--now '%s': not UNIX seconds, YYYY-MM-DD or RFC 3339", optarg);
                goto out;
            }
            break;
        case 'f':
            from = optarg;
            break;
        case 'h':
            help();
            rc = 0;
            goto out;
        default:
            if (cli_common_opt(&co, c, optarg)) break;
            cli_bad_option(CMD, c, argv);
            goto out;
        }
    }
    if (from && optind < argc) {
        cli_usage(CMD, "give DOMAIN arguments or --from, not both");
        goto out;
    }
    if (!from && optind >= argc) {
        cli_usage(CMD, "at least one DOMAIN (or --from FILE) is required");
        goto out;
    }
    /* One process for a whole inventory: --from reads the domains. */
    if (from && !(list = cli_read_list(CMD, from, &n))) goto out;
    if (from && n == 0) {
        cli_usage(CMD, "--from %s lists no domains", from);
        goto out;
    }
    char **domains = from ? list : argv + optind;
    if (!from) n = (size_t)(argc - optind);
    if (co.directory) {
        rc = check_with_ca(&acct, &co, timeout, conc, domains, n, now, warn_days);
        goto out;
    }
    if (co.state) {
        cli_usage(CMD, "--state needs --directory (the CA whose account to check for)");
        goto out;
    }
    struct dp_verify_params p;
    if (cli_account_finish(CMD, &acct, &p)) goto out;
    rc = cli_check_domains(CMD, &p, co.resolver, co.ta, timeout, conc, (const char *const *)domains,
                           n, now, warn_days, co.json, 0);
out:
    cli_list_free(list);
    return rc;
}
