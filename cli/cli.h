/* cli.h: what the dnspersist commands share. Exit codes are the same for every command. */
#ifndef DP_CLI_H
#define DP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "dnspersist/dnspersist.h"

enum { EXIT_VALID = 0, EXIT_INVALID = 1, EXIT_USAGE = 2, EXIT_FAILURE_INTERNAL = 3 };

/* Prints "dnspersist: <cmd>: <message>" on stderr: one form for every error. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the usage error line and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses UNIX seconds, YYYY-MM-DD (midnight UTC) or RFC 3339. 0 on success. */
int cli_parse_time(const char *s, int64_t *out);

/* Formats t as RFC 3339 UTC into buf (at least 32 octets). */
const char *cli_time_str(int64_t t, char *buf, size_t cap);

/* Reports getopt's complaint about argv[optind-1] for cmd and returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, int opt, char **argv);

/* Normalizes a domain argument (DP_DOMAIN_ALLOW_WILDCARD if wild) or prints
 * "dnspersist: <cmd>: <field>: ..." and returns -1. */
int cli_domain(const char *cmd, const char *field, const char *in, char *out, int wild);

/* Builds a resolver from the shared DNS options, or prints why not (exit 2). */
struct dp_resolver *cli_resolver(const char *cmd, const char *resolver, const char *trust_anchor,
                                 unsigned timeout_ms, unsigned concurrency);

/* The TXT records of one answer as NUL-terminated joined values (R2), or
 * NULL with *n 0 when there are none; free with cli_values_free. */
char **cli_txt_values(const struct dp_dns_answer *a, size_t *n);
void cli_values_free(char **v, size_t n);
/* --from FILE (or "-" for stdin): one domain a line, "#" comments and blank
 * lines skipped. A NULL-terminated array of copies (*count of them), or
 * NULL after printing why; free with cli_list_free. */
char **cli_read_list(const char *cmd, const char *path, size_t *count);
void cli_list_free(char **list);

/* A JSON string that is valid UTF-8 whatever the octets (TXT data is not
 * text): non-ASCII and control octets become \u00XX. */
struct json_t;

/* A JSON string of octets that may not be UTF-8 (DNS data): valid UTF-8 as
 * is, otherwise every octet above 0x7F becomes '?'. */
struct json_t *cli_json_octets(const char *p, size_t len);

/* A certificate file's text (at most 64 KiB; caller frees), or NULL when it
 * cannot be read. */
char *cli_read_pem(const char *path);

/* Parses a positive integer option value; -1 when it is not one. */
long cli_parse_count(const char *s, long max);
/* A duration with its unit (ms, s or m) in milliseconds, up to max_ms; -2
 * for a bare number (the unit is asked for, never guessed), -1 otherwise.
 * Every wait of the CLI is one of these. */
long cli_parse_duration_ms(const char *s, long max_ms);

/* The options several commands share, read by one parser: a command lists
 * in its getopt table the CLI_OPT_* entries it takes, and hands every
 * option to cli_common_opt before its own. */
struct cli_common {
    const char *state, *directory, *bundle; /* the CA commands */
    const char *resolver, *ta;              /* DNS look-ups */
    int json;
};
/* clang-format off */
#define CLI_OPT_STATE {"state", required_argument, 0, 'S'}
#define CLI_OPT_DIRECTORY {"directory", required_argument, 0, 'D'}
#define CLI_OPT_CA_BUNDLE {"ca-bundle", required_argument, 0, 'B'}
#define CLI_OPT_RESOLVER {"resolver", required_argument, 0, 'R'}
#define CLI_OPT_TRUST_ANCHOR {"trust-anchor", required_argument, 0, 'T'}
#define CLI_OPT_JSON {"json", no_argument, 0, 'j'}
/* clang-format on */
/* 1 when opt is one of those (its value kept in c), 0 when it is not. */
int cli_common_opt(struct cli_common *c, int opt, const char *arg);

/* The CA and account options that `evaluate` and `check` share. */
#define CLI_MAX_THUMBPRINTS 256
struct cli_account {
    const char *issuers[DP_MAX_ISSUERS];
    size_t n_issuers;
    const char *thumbs[CLI_MAX_THUMBPRINTS];
    size_t n_thumbs;
    const char *url, *prefix;
    enum dp_mode mode;
    unsigned accepted;
};
#define CLI_ACCOUNT_OPTIONS                                                                        \
    {"issuer", required_argument, 0, 'i'}, {"account-url", required_argument, 0, 'u'},             \
        {"thumbprint", required_argument, 0, 't'}, {"hash-prefix", required_argument, 0, 'p'},     \
        {"draft", required_argument, 0, 'd'},                                                      \
    {                                                                                              \
        "accept-algs", required_argument, 0, 'a'                                                   \
    }
#define CLI_ACCOUNT_LETTERS "iutpda"
/* Takes one of those options: 0, or EXIT_USAGE after saying why. */
int cli_account_opt(const char *cmd, struct cli_account *a, int opt, const char *arg);
/* After parsing: checks the required ones and fills p. 0 or EXIT_USAGE. */
int cli_account_finish(const char *cmd, const struct cli_account *a, struct dp_verify_params *p);

/* Looks up and evaluates domains as `check` does and prints the verdicts
 * (only the invalid ones when only_problems). Returns the exit code. */
int cli_check_domains(const char *cmd, const struct dp_verify_params *p, const char *resolver,
                      const char *ta, long timeout, long conc, const char *const *domains, size_t n,
                      int64_t now, long warn_days, int json, int only_problems);

int cmd_record(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_unpublish(int argc, char **argv);
int cmd_issue(int argc, char **argv);
int cmd_renew(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_profiles(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_parse(int argc, char **argv);

#endif
