/* cmd_profiles.c: `dnspersist profiles`: the certificate profiles a CA
 * offers (its directory's meta.profiles, draft-ietf-acme-profiles). Needs
 * no account: the directory is public. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "session.h"
#include "state.h"

static const char *const CMD = "profiles";

int cmd_profiles(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_SESSION_OPTIONS, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    struct cli_common co = {0};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: dnspersist profiles --directory URL [--state DIR] [--ca-bundle FILE]\n"
                   "Lists the certificate profiles the CA offers (issue --profile NAME).\n");
            return 0;
        }
        if (cli_common_opt(&co, c, optarg)) continue;
        return cli_bad_option(CMD, c, argv);
    }
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    struct state st;
    char dir[1024], alias[1024];
    if (state_open(CMD, co.state, &st)) return EXIT_USAGE;
    snprintf(dir, sizeof dir, "%s", state_directory(&st, co.directory, alias, sizeof alias));
    if (!strstr(dir, "://")) return cli_usage(CMD, "--directory URL is required");
    struct dp_error e;
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, &e); /* the session needs one; unused */
    struct dp_acme_config cfg = {dir, session_ca_bundle(co.bundle, NULL), 30000, 0};
    struct dp_acme *a = k ? dp_acme_new(&cfg, k, &e) : NULL;
    int rc = EXIT_VALID;
    if (!a) {
        cli_error(CMD, "cannot reach the CA at %s: %s", dir, e.detail);
        rc = EXIT_INVALID;
    } else {
        const char *const *names, *const *descs;
        size_t n = dp_acme_profiles(a, &names, &descs);
        if (!n) printf("%s offers no profiles (no meta.profiles in its directory)\n", dir);
        for (size_t i = 0; i < n; i++)
            printf("%-12s %s\n", names[i], descs[i]);
    }
    dp_acme_free(a);
    dp_key_free(k);
    return rc;
}
