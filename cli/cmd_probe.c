/* cmd_probe.c: dnspersist probe: runs the cases of probe_cases.c against
 * any ACME CA, from records it publishes under a zone the user controls,
 * and reports, for each, what the draft requires, what the CA did and a
 * verdict; as a table, or JSON Lines with --json. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "probe.h"

#define CMD "probe"

static volatile int stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static const char *const verdict_names[] = {"conforms", "deviates", "not offered", "skipped",
                                            "error"};

static void help(void)
{
    printf("usage: dnspersist probe --directory URL --zone ZONE\n"
           "           (--nsupdate SERVER[@PORT] --tsig-key KEY | --provider exec:PROGRAM)\n"
           "           [--ca-bundle FILE] [--issuer NAME] [--cases LIST] [--json]\n"
           "           [--pace T] [--wait T] [--poll T]\n"
           "       dnspersist probe --list\n\n"
           "Tests how an ACME CA treats dns-persist-01 records, case by case, against\n"
           "draft-ietf-acme-dns-persist-02 (a draft-01 CA, one without accountHashPrefix, gets\n"
           "the cases that apply to it). It makes its own accounts, publishes records under\n"
           "names it makes up inside ZONE, orders, and afterwards removes every record,\n"
           "deactivates every authorization and account, and revokes any certificate, also\n"
           "after a failure or an interrupt (SIGINT, SIGTERM).\n\n"
           "  --zone ZONE           a zone the probe may write to (nothing outside it is touched)\n"
           "  --nsupdate SERVER     RFC 2136 publication, with --tsig-key (see publish --help)\n"
           "  --provider exec:PROG  or PROG present|cleanup FQDN VALUE (TXT only: the CNAME and\n"
           "                        CAA cases are then skipped)\n"
           "  --issuer NAME         the issuer domain name for records (default: the directory's)\n"
           "  --cases LIST          only these cases (comma-separated ids; see --list)\n"
           "  --json                one JSON object a case (JSON Lines), then a summary\n"
           "  --pace T              at least this long between two orders (default 500ms), so a\n"
           "                        staging CA's limits are not tripped\n"
           "  --wait T              how long a DNS publication may take (default 30s)\n"
           "  --poll T              how long a validation may take (default 60s)\n\n"
           "Verdicts: conforms, deviates (the CA did other than the section requires), not\n"
           "offered (an optional feature the CA lacks), skipped (with the reason), error.\n"
           "Exit codes: 0 nothing deviates, 1 a case deviates or could not run, 2 usage error.\n");
}

static void list(void)
{
    for (size_t i = 0; i < probe_n_cases; i++)
        printf("%-26s %-20s %s%s\n", probe_cases[i].id, probe_cases[i].section,
               probe_cases[i].requirement, probe_cases[i].drafts == 2 ? " (draft-02 CAs)" : "");
}

/* 1 when case id is in the comma-separated list (NULL: all). */
static int selected(const char *cases, const char *id)
{
    if (!cases) return 1;
    size_t l = strlen(id);
    for (const char *s = cases; *s;) {
        size_t k = strcspn(s, ",");
        if (k == l && !strncmp(s, id, l)) return 1;
        s += k + (s[k] == ',');
    }
    return 0;
}

static void report(const struct probe_case *c, const struct probe_result *r, const char *name,
                   int json)
{
    if (json) {
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "case", c->id, "section", c->section,
                      "requirement", c->requirement, "expected", c->expected, "got", r->got,
                      "verdict", verdict_names[r->verdict], "detail", r->detail, "name", name);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("%-26s %-20s %-24s %-16s %s\n", c->id, c->section, c->expected, r->got,
               verdict_names[r->verdict]);
        if (r->verdict == PV_DEVIATES)
            printf("    section %s requires: %s\n", c->section, c->requirement);
        if (r->verdict != PV_CONFORMS && r->detail[0]) printf("    %.300s\n", r->detail);
    }
    fflush(stdout);
}

int cmd_probe(int argc, char **argv)
{
    static const struct option opts[] = {{"zone", required_argument, 0, 'z'},
                                         {"nsupdate", required_argument, 0, 'N'},
                                         {"tsig-key", required_argument, 0, 'K'},
                                         {"provider", required_argument, 0, 'P'},
                                         {"issuer", required_argument, 0, 'i'},
                                         {"cases", required_argument, 0, 'c'},
                                         {"list", no_argument, 0, 'l'},
                                         {"pace", required_argument, 0, 'p'},
                                         {"wait", required_argument, 0, 'W'},
                                         {"poll", required_argument, 0, 'w'},
                                         {"help", no_argument, 0, 'h'},
                                         CLI_OPT_DIRECTORY,
                                         CLI_OPT_CA_BUNDLE,
                                         CLI_OPT_JSON,
                                         {0, 0, 0, 0}};
    struct probe *p = calloc(1, sizeof *p);
    struct cli_common co = {0};
    const char *tsig = NULL, *cases = NULL, *zone = NULL;
    char zbuf[DP_DOMAIN_MAX + 3];
    int c, rc = 0;
    if (!p) return EXIT_FAILURE_INTERNAL;
    p->wait_ms = 30000, p->pace_ms = 500, p->poll_ms = 60000;
    opterr = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        long *dur = c == 'p' ? &p->pace_ms : c == 'W' ? &p->wait_ms : c == 'w' ? &p->poll_ms : NULL;
        switch (c) {
        case 'z':
            zone = optarg;
            break;
        case 'N':
            p->nsupdate = optarg;
            break;
        case 'K':
            tsig = optarg;
            break;
        case 'P':
            if (strncmp(optarg, "exec:", 5) || !optarg[5])
                rc = cli_usage(CMD, "--provider '%s': use exec:PROGRAM", optarg);
            else
                p->exec = optarg + 5;
            break;
        case 'i':
            snprintf(p->issuer, sizeof p->issuer, "%s", optarg);
            break;
        case 'c':
            cases = optarg;
            break;
        case 'l':
            list();
            free(p);
            return 0;
        case 'p':
        case 'W':
        case 'w':
            if ((*dur = cli_parse_duration_ms(optarg, 600000)) < 0 || (c != 'p' && *dur == 0))
                rc = cli_usage(CMD, "--%s '%s': a duration with its unit (500ms, 30s), up to 10m",
                               c == 'p'   ? "pace"
                               : c == 'W' ? "wait"
                                          : "poll",
                               optarg);
            break;
        case 'h':
            help();
            free(p);
            return 0;
        default:
            if (!cli_common_opt(&co, c, optarg)) rc = cli_bad_option(CMD, c, argv);
        }
    }
    if (cases && rc == 0)
        for (const char *s = cases; *s && rc == 0;) {
            size_t k = strcspn(s, ","), found = 0;
            for (size_t j = 0; j < probe_n_cases; j++)
                found |= strlen(probe_cases[j].id) == k && !strncmp(probe_cases[j].id, s, k);
            if (!found) rc = cli_usage(CMD, "--cases: no case '%.*s' (see --list)", (int)k, s);
            s += k + (s[k] == ',');
        }
    struct dp_error e;
    if (rc) goto out;
    if (!co.directory)
        rc = cli_usage(CMD, "--directory URL is required");
    else if (!zone)
        rc = cli_usage(CMD, "--zone ZONE is required: the probe writes only inside it");
    else if (cli_domain(CMD, "--zone", zone, zbuf, 0))
        rc = EXIT_USAGE;
    else if (!p->exec == !p->nsupdate)
        rc = cli_usage(CMD, "give --nsupdate SERVER with --tsig-key, or --provider exec:PROGRAM");
    else if (p->nsupdate && !tsig)
        rc = cli_usage(CMD, "--tsig-key KEY is required with --nsupdate");
    else if (p->nsupdate && dp_update_tsig_load(tsig, &p->tsig, &e) != DP_OK) {
        cli_error(CMD, "--tsig-key: %s", e.detail);
        rc = EXIT_USAGE;
    }
    if (rc) goto out;
    p->directory = co.directory, p->bundle = co.bundle, p->zone = zbuf;
    p->stop = &stop_flag;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    char why[700];
    if (probe_open(p, why, sizeof why)) {
        cli_error(CMD, "%s", why);
        probe_close(p);
        rc = EXIT_INVALID;
        goto out;
    }
    if (!co.json)
        printf("probe: %s, a draft-%s CA (%s), issuer %s, zone %s\n\n%-26s %-20s %-24s %-16s %s\n",
               p->directory, p->draft02 ? "02" : "01",
               p->draft02 ? "accountHashPrefix in its directory" : "no accountHashPrefix",
               p->issuer, p->zone, "CASE", "SECTION", "EXPECTED", "GOT", "VERDICT");
    size_t count[5] = {0};
    for (size_t i = 0; i < probe_n_cases && !stop_flag; i++) {
        const struct probe_case *pc = &probe_cases[i];
        if (!selected(cases, pc->id)) continue;
        struct probe_result r = {PV_CONFORMS, "", ""};
        p->case_name[0] = '\0';
        if (!(pc->drafts & (p->draft02 ? 2u : 1u))) {
            r.verdict = PV_SKIPPED;
            snprintf(r.got, sizeof r.got, "skipped");
            snprintf(r.detail, sizeof r.detail,
                     "draft-02 only: the CA's directory has no accountHashPrefix");
        } else {
            pc->run(p, pc, &r);
        }
        count[r.verdict]++;
        report(pc, &r, p->case_name, co.json);
    }
    probe_close(p); /* records removed, authorizations and accounts deactivated */
    if (co.json) {
        json_t *o =
            json_pack("{s:b,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:b}", "summary", 1, "directory",
                      p->directory, "draft", p->draft02 ? "02" : "01", "conforms", (int)count[0],
                      "deviates", (int)count[1], "notOffered", (int)count[2], "skipped",
                      (int)count[3], "errors", (int)count[4], "interrupted", stop_flag);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s) printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("\n%zu conform, %zu deviate, %zu not offered, %zu skipped, %zu errors%s\n", count[0],
               count[1], count[2], count[3], count[4],
               stop_flag ? " (interrupted: the rest not run; records removed)" : "");
    }
    rc = count[1] || count[4] || stop_flag ? EXIT_INVALID : 0;
out:
    free(p);
    return rc;
}
