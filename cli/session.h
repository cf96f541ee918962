/* session.h: a CLI command's connection to one CA with the stored account. */
#ifndef DP_CLI_SESSION_H
#define DP_CLI_SESSION_H

#include "state.h"

struct session {
    struct state st;
    struct account acct;
    struct dp_acme *acme;
    char directory[1024];
    const char *bundle; /* the CA bundle in use (session_ca_bundle), NULL: the system's */
    int hook_failures;  /* deploy hooks that failed (issue.c; atomic: batch threads) */
};

/* The CA bundle to trust, by precedence: the --ca-bundle flag, what the
 * state remembers from account new, $SSL_CERT_FILE, $CURL_CA_BUNDLE; NULL
 * for the system store. */
const char *session_ca_bundle(const char *flag, const struct account *a);

/* Opens the state, loads the account for directory (an alias is expanded),
 * fetches the directory. need_account: 1 the account must exist, 0 it may
 * not yet. Returns 0, or the exit code after printing why. */
int session_open(const char *cmd, const char *state_dir, const char *directory,
                 const char *ca_bundle, int need_account, struct session *s);
void session_close(struct session *s);
/* Prints the CA's problem (or the library's detail) for a failed call. */
void session_error(const char *cmd, const struct session *s, const char *what,
                   const struct dp_error *e);

/* For --json: {"type","detail"} of the CA's problem, or of the library's
 * error ("type" then names the error class). Caller owns it. */
struct json_t *session_problem_json(const struct session *s, const struct dp_error *e);
/* Prints o as one compact JSON line on stdout and frees it. */
void session_json_line(struct json_t *o);

/* The account's key thumbprints: current first, then the older keys a
 * rollover kept (account.key.old-*), newest first (A6). Returns the count. */
size_t session_thumbprints(const struct account *a, char th[][DP_THUMBPRINT_BUF], size_t max);

/* The CA's issuer names for records and checks: the user's (flag), when
 * given, which must be among the directory's issuerDomainNames when it
 * lists any; else those names; else, for a check (caa_ok), its
 * caaIdentities (a draft-01 CA, with a note on stderr). A record is never
 * written for names the CA did not offer for it (draft-02 3.2: a directory
 * without issuerDomainNames is unavailable for pre-provisioning): there
 * --issuer is the explicit choice. Borrowed from flag or the session.
 * Returns the count, 0 after printing why. */
size_t session_issuers(const char *cmd, const struct session *s, const char *const *flag,
                       size_t n_flag, int caa_ok, const char **out, size_t max);

/* The options every CA command takes. */
#define CLI_SESSION_OPTIONS CLI_OPT_STATE, CLI_OPT_DIRECTORY, CLI_OPT_CA_BUNDLE

#endif
