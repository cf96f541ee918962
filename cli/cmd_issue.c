/*
 * cmd_issue.c: `dnspersist issue` (one certificate; --batch is cmd_batch.c;
 * what issue, batch and renew share is issue.c).
 *
 * Before ordering, the records are checked exactly as the CA will check them
 * (the `check` machinery with the CA's issuer names, prefix and the account's
 * current and older keys), so a doomed order becomes an actionable message
 * instead of a CA error.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "issue.h"

static const char *const CMD = "issue";

/* Checks names as the CA will; prints the problems. 0 when all would pass. */
static int precheck(const struct issue_opts *o, struct session *s, char **names, size_t n)
{
    const char *const *issuers;
    size_t ni = dp_acme_issuer_names(s->acme, &issuers);
    /* A draft-01 CA lists no issuer names: the ones the user gave, else its
     * caaIdentities, as record used when it wrote the record. */
    if (!ni && o->n_issuers) {
        issuers = o->issuer_ptrs;
        ni = o->n_issuers;
    }
    if (!ni) ni = dp_acme_caa_identities(s->acme, &issuers);
    if (!ni) return 0; /* nothing to check against; the CA will tell */
    char th[16][DP_THUMBPRINT_BUF];
    const char *tp[16];
    size_t nt = session_thumbprints(&s->acct, th, 16);
    for (size_t i = 0; i < nt; i++)
        tp[i] = th[i];
    const char *prefix = dp_acme_hash_prefix(s->acme);
    /* Compat: a CA that advertises a prefix may still take draft-01 records
     * (--draft01-compat), and the directory does not say; the pre-check must
     * not refuse what the CA would accept, and the CA has the last word. */
    struct dp_verify_params p = {
        issuers, ni, s->acct.url, tp, nt, prefix, 0, prefix ? DP_MODE_COMPAT : DP_MODE_DRAFT01,
        NULL,    0};
    int rc = cli_check_domains(CMD, &p, o->co.resolver, o->co.ta, 0, 0, (const char *const *)names,
                               n, (int64_t)time(NULL), 30, 0, 1);
    if (rc == EXIT_INVALID)
        cli_error(
            CMD,
            "the CA would refuse: fix the records above first (or --no-check to order anyway)");
    return rc;
}

int cmd_issue(int argc, char **argv)
{
    struct issue_opts o;
    int rc = issue_parse_opts(CMD, argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.batch && optind < argc)
        return cli_usage(CMD, "give DOMAIN arguments or --batch, not both");
    if (!o.batch && optind >= argc)
        return cli_usage(CMD, "at least one DOMAIN (or --batch FILE) is required");
    size_t n = (size_t)(argc - optind);
    char(*store)[DP_DOMAIN_MAX + 3] = calloc(n ? n : 1, sizeof *store);
    char **names = calloc(n ? n : 1, sizeof *names);
    if (!store || !names) return EXIT_FAILURE_INTERNAL;
    for (size_t i = 0; i < n; i++) {
        if (cli_domain(CMD, "DOMAIN", argv[optind + (int)i], store[i], 1)) {
            free(store);
            free(names);
            return EXIT_USAGE;
        }
        names[i] = store[i];
    }
    struct session s;
    if ((rc = session_open(CMD, o.co.state, o.co.directory, o.co.bundle, 1, &s))) {
        free(store);
        free(names);
        return rc;
    }
    struct dp_error pe;
    if (o.profile && dp_acme_set_profile(s.acme, o.profile, &pe) != DP_OK) {
        cli_error(CMD, "--profile: %s", pe.detail); /* before anything is ordered */
        rc = EXIT_USAGE;
    } else if (o.batch) {
        rc = issue_batch(&o, &s);
    } else if (!o.no_check && (rc = precheck(&o, &s, names, n)) != EXIT_VALID) {
        /* precheck printed why */
    } else {
        struct dp_error e;
        char dir[1600];
        int jit = 0;
        int issued;
        dp_code c = issue_one(&o, &s, s.acme, names, n, dir, sizeof dir, &jit, &issued, &e);
        if (o.co.json) { /* as a --batch line: names, status, and where or why */
            json_t *ns = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(ns, json_string(names[i]));
            json_t *r =
                json_pack("{s:o,s:s}", "names", ns, "status", c == DP_OK ? "issued" : "failed");
            if (c == DP_OK) {
                char fc[1700], kp[1700];
                snprintf(fc, sizeof fc, "%s/fullchain.pem", dir);
                snprintf(kp, sizeof kp, "%s/key.pem", dir);
                json_object_set_new(r, "certificate", json_string(dir));
                json_object_set_new(r, "fullchain", json_string(fc));
                json_object_set_new(r, "key", json_string(kp));
                json_object_set_new(r, "justInTime", json_boolean(jit));
            } else {
                json_object_set_new(r, "error", session_problem_json(&s, &e));
            }
            session_json_line(r);
        }
        if (c == DP_OK && o.co.json) {
            rc = EXIT_VALID;
        } else if (c == DP_OK) {
            printf("issued %s: %s/fullchain.pem (key %s/key.pem)%s\n", names[0], dir, dir,
                   jit ? "; authorized just in time by the records, no challenge" : "");
            rc = EXIT_VALID;
        } else if (c == DP_ERR_UNSUPPORTED) {
            cli_error(CMD, "%s: %s: this CA does not offer dns-persist-01", s.directory, e.detail);
            rc = EXIT_INVALID;
        } else {
            session_error(CMD, &s, "issuance failed", &e);
            rc = EXIT_INVALID;
        }
    }
    /* A deploy hook that failed leaves the certificate, and says so here. */
    if (rc == EXIT_VALID && s.hook_failures) rc = EXIT_INVALID;
    session_close(&s);
    free(store);
    free(names);
    return rc;
}
