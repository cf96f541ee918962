/* cmd_revoke.c: `dnspersist revoke`: revokes a certificate with the account
 * (RFC 8555 7.6). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "session.h"

static const char *const CMD = "revoke";

int cmd_revoke(int argc, char **argv)
{
    static const struct option opts[] = {CLI_SESSION_OPTIONS,
                                         {"reason", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct cli_common co = {0};
    long reason = 0;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if ((reason = cli_parse_count(optarg, 10)) < 0 || reason == 7)
                return cli_usage(CMD, "--reason '%s': an RFC 5280 reason code, 0-10 but not 7",
                                 optarg);
            break;
        case 'h':
            printf("usage: dnspersist revoke --directory URL [--reason N] [--state DIR] "
                   "[--ca-bundle FILE] CERTFILE\n");
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
    struct session s;
    int rc = session_open(CMD, co.state, co.directory, co.bundle, 1, &s);
    if (!rc) {
        struct dp_error e;
        if (dp_acme_revoke(s.acme, pem, (int)reason, NULL, &e) == DP_OK) {
            printf("revoked %s\n", argv[optind]);
        } else {
            session_error(CMD, &s, "revokeCert", &e);
            rc = EXIT_INVALID;
        }
        session_close(&s);
    }
    free(pem);
    return rc;
}
