/* cmd_revoke.c: `dnspersist revoke`: revokes a certificate with the account,
 * or with the certificate's own key (--cert-key: no account needed), as
 * RFC 8555 7.6 allows both. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "session.h"

static const char *const CMD = "revoke";

int cmd_revoke(int argc, char **argv)
{
    static const struct option opts[] = {CLI_SESSION_OPTIONS,
                                         {"reason", required_argument, 0, 'r'},
                                         {"cert-key", required_argument, 0, 'k'},
                                         CLI_OPT_JSON,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct cli_common co = {0};
    long reason = 0;
    const char *cert_key = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            /* CA/B BR 7.2.2: the reasons a subscriber certificate's CRL
             * entry may carry (0 as no reason code). */
            if ((reason = cli_parse_count(optarg, 9)) < 0 || reason == 2 || reason == 6 ||
                reason == 7 || reason == 8)
                return cli_usage(CMD,
                                 "--reason '%s': 0, 1, 3, 4, 5 or 9 (the reasons CA/B BR 7.2.2 "
                                 "allows a subscriber's certificate)",
                                 optarg);
            break;
        case 'k':
            cert_key = optarg;
            break;
        case 'h':
            printf("usage: dnspersist revoke --directory URL [--reason N] [--cert-key KEYFILE]\n"
                   "                         [--state DIR] [--ca-bundle FILE] [--json] CERTFILE\n\n"
                   "Revokes the certificate in CERTFILE (PEM) with the account: RFC 8555 7.6.\n"
                   "  --cert-key KEYFILE  sign the request with the certificate's own key (PEM)\n"
                   "               instead: no account needed (a lost account, a key found\n"
                   "               compromised; the CA then refuses that key from then on)\n"
                   "  --reason N   an RFC 5280 reason code: 0 unspecified (default), 1 key\n"
                   "               compromise, 3 affiliation changed, 4 superseded, 5 cessation\n"
                   "               of operation, 9 privilege withdrawn; 1 also makes the CA\n"
                   "               refuse the key from then on\n"
                   "  --json       print {\"certificate\",\"status\",\"reason\"} or the error\n\n"
                   "Exit codes: 0 revoked, 1 the CA refused, 2 usage error.\n");
            return 0;
        default:
            if (cli_common_opt(&co, c, optarg)) break;
            return cli_bad_option(CMD, c, argv);
        }
    }
    if (argc - optind != 1) return cli_usage(CMD, "exactly one CERTFILE is required");
    char *pem = cli_read_pem(argv[optind]);
    if (!pem || !strstr(pem, "BEGIN CERTIFICATE")) {
        free(pem);
        return cli_usage(CMD, "CERTFILE %s: not a PEM certificate", argv[optind]);
    }
    struct dp_error e;
    struct dp_key *ck = NULL;
    if (cert_key && !(ck = dp_key_load_file(cert_key, &e))) {
        free(pem);
        return cli_usage(CMD, "--cert-key %s: %s", cert_key, e.detail);
    }
    struct session s;
    int rc = session_open(CMD, co.state, co.directory, co.bundle, !ck, &s);
    /* Without an account the session has no client: the certificate's key
     * speaks for itself. */
    if (!rc && ck && !s.acme) {
        struct dp_acme_config cfg = {s.directory, s.bundle, 30000, 120000};
        if (!(s.acme = dp_acme_new(&cfg, ck, &e))) {
            cli_error(CMD, "cannot reach the CA at %s: %s", s.directory, e.detail);
            session_close(&s);
            rc = EXIT_INVALID;
        }
    }
    if (!rc) {
        int ok = dp_acme_revoke(s.acme, pem, (int)reason, ck, &e) == DP_OK;
        if (co.json) {
            json_t *r = json_pack("{s:s,s:s,s:I}", "certificate", argv[optind], "status",
                                  ok ? "revoked" : "failed", "reason", (json_int_t)reason);
            if (!ok) json_object_set_new(r, "error", session_problem_json(&s, &e));
            session_json_line(r);
        } else if (ok) {
            printf("revoked %s\n", argv[optind]);
        }
        if (!ok) {
            session_error(CMD, &s, "revokeCert", &e);
            rc = EXIT_INVALID;
        }
        session_close(&s);
    }
    dp_key_free(ck);
    free(pem);
    return rc;
}
