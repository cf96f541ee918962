/* issue.h: what issue, batch and renew share (issue.c has them). */
#ifndef DP_CLI_ISSUE_H
#define DP_CLI_ISSUE_H

#include "cli.h"
#include "session.h"

/* The options of issue, --batch and renew. */
struct issue_opts {
    struct cli_common co; /* --state, --directory, --ca-bundle, --resolver, --trust-anchor */
    const char *out, *batch;
    enum dp_key_type kt;
    long concurrency, retries, backoff_ms, days;
    long wait_ms;            /* --wait: the longest wait for a validation or the order */
    int force;               /* renew --force: whatever the window says */
    int days_given;          /* --days was given: honoured even where ARI says later */
    const char *profile;     /* --profile: the certificate profile, NULL for the CA's default */
    const char *deploy_hook; /* --deploy-hook: run after each certificate written */
    int no_check;
    /* --issuer: the CA issuer names the user trusts (draft 3.2) */
    char issuers[DP_MAX_ISSUERS][DP_DOMAIN_MAX + 3];
    const char *issuer_ptrs[DP_MAX_ISSUERS];
    size_t n_issuers;
};

/* Parses them (argv from index 1; optind is left at the first operand).
 * 0; -1 after printing --help; else the exit code of a usage error. */
int issue_parse_opts(const char *cmd, int argc, char **argv, struct issue_opts *o);

/* One certificate: order, validate, finalize, write into dir (o->out; in a
 * batch o->out/FIRST-NAME; else STATE/certs/FIRST-NAME). Returns a dp_code;
 * *jit tells whether the CA authorized the order from the records at once
 * (draft 4.4); *issued whether the CA issued it (then a failure was the
 * write's, and a retry must not order again). */
dp_code issue_one(const struct issue_opts *o, struct session *s, struct dp_acme *acme, char **names,
                  size_t n, char *dir, size_t dircap, int *jit, int *issued, struct dp_error *e);

/* issue --batch FILE: the certificates of FILE in parallel (cmd_batch.c). */
int issue_batch(const struct issue_opts *o, struct session *s);

#endif
