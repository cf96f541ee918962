/* main.c: the dnspersist command: dispatches to one file per subcommand. */
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"record", cmd_record, "compute a _validation-persist record for a domain"},
    {"evaluate", cmd_evaluate, "decide, as the CA would, whether records authorize an account"},
    {"parse", cmd_parse, "explain a record value field by field"},
    {"check", cmd_check, "look records up and evaluate them as the CA will"},
    {"audit", cmd_audit, "inventory every _validation-persist record of many domains"},
    {"account", cmd_account, "create, show, roll over or deactivate an ACME account"},
    {"publish", cmd_publish, "add the record with an RFC 2136 update (TSIG)"},
    {"unpublish", cmd_unpublish, "remove the record with an RFC 2136 update (TSIG)"},
    {"issue", cmd_issue, "obtain certificates with dns-persist-01 (one, or a batch)"},
    {"renew", cmd_renew,
     "renew the certificates issue wrote that are near expiry (ARI when offered)"},
    {"revoke", cmd_revoke, "revoke a certificate with the account"},
    {"profiles", cmd_profiles, "list the certificate profiles a CA offers"},
    {"probe", cmd_probe, "test a CA's dns-persist-01 against the draft, case by case"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: dnspersist COMMAND [OPTIONS] ...\n\n"
               "ACME dns-persist-01 (draft-ietf-acme-dns-persist-02) tools.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n'dnspersist COMMAND --help' describes a command.\n"
            "Exit codes: 0 success/valid, 1 invalid/malformed, 2 usage error, 3 internal error.\n");
}

int main(int argc, char **argv)
{
    /* Bulk output (check, audit: ~250 bytes a domain) in 64 KB writes, not
     * the 4 KB stdio picks for a file or pipe. A terminal keeps its line
     * buffering. */
    static char outbuf[65536];
    if (!isatty(STDOUT_FILENO)) setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("dnspersist %s\n", DP_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "dnspersist: unknown command '%s' (see 'dnspersist --help')\n", argv[1]);
    return EXIT_USAGE;
}
