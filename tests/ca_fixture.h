/*
 * ca_fixture.h: what the end-to-end CA tests (test_ca_*.c) share: a
 * dnspersist-ca started on its own data directory and port, accounts
 * through the library's ACME client, records and CAA RRsets written to the
 * real Knot DNS server of tests/dns/knot-env.sh (RFC 2136 through
 * knsupdate), and certificates checked with OpenSSL against the CA's root.
 *
 * Each test program starts its own CAs (its fixture) and stops them, so no
 * program depends on what another did or in which order they run; names
 * carry the process id, so programs running at once never share a record.
 */
#ifndef DP_CA_FIXTURE_H
#define DP_CA_FIXTURE_H

#include <sys/types.h>

#include <openssl/x509.h>

#include "dns_env.h"
#include "dnspersist/dnspersist.h"

/* The DNS test server, the CA binary and the program's temporary directory. */
extern struct dns_env env;
extern const char *ca_bin;
extern char tmpdir[256];

struct ca {
    pid_t pid;
    int port;
    char data[512], dir[256], root[600], prefix[256];
    int compat;
    int caa;
    int no_jit;
    const char *extra[4]; /* more arguments, NULL-terminated */
    char log[600];        /* the server's standard error */
};

struct acct {
    struct dp_key *key;
    struct dp_acme *a;
};

/* argv[1] is the CA binary. 0, or the exit status to return at once: 77
 * (skipped) without the DNS or PostgreSQL test server, 2 for usage, 1
 * when no temporary directory can be made. */
int fixture_init(int argc, char **argv, const char *name);
/* A CA of this program under tmpdir/name on a free port (not started). */
void fixture_ca(struct ca *c, const char *name);
/* Removes tmpdir. */
void fixture_done(void);

/* Starts c and waits (with a deadline) until its directory answers; -1,
 * saying why on standard error, when it does not. */
int ca_start(struct ca *c);
void ca_stop(struct ca *c);

/* RFC 2136 updates of zone web.test: the TXT RRset of name (NULL value:
 * deleted), its CAA RRset, or raw "update ..." lines. */
int dns_set(const char *name, const char *value);
int dns_caa(const char *name, const char *value);
int dns_update(const char *lines);

int acct_new(const struct ca *c, struct acct *ac);
void acct_free(struct acct *ac);
/* Publishes at _validation-persist.NAME this account's record (its current
 * key) for form (NAME itself when NULL, "*" for the domain-free form), plus
 * extra. */
int publish(const struct ca *c, const struct acct *ac, const char *name, const char *form,
            const char *extra);
int unpublish(const char *name);
/* The chain verifies against c's root, and names are the leaf's SANs. */
int chain_ok(const struct ca *c, const char *pem, const char *const *names, size_t n);
/* Orders, validates and finalizes name; the chain and the CSR key checked. */
dp_code issue(const struct ca *c, struct acct *ac, const char *name, struct dp_error *e);
const char *problem_type(const struct acct *ac);
/* A name under web.test no other test or program uses. */
void unique(char *out, size_t cap, const char *label);
/* The number the database of CA c answers sql with, or -1. */
long db_long(const struct ca *c, const char *sql);
/* Runs sql (no double quotes) on the database of CA c: 0, or -1. */
int db_exec(const struct ca *c, const char *sql);
/* The authorization expiry the CA stored for name's latest valid authz. */
long authz_expires(const struct ca *c, const char *name);
/* Status of a new order for name, or "" when the CA refused it. */
void order_status(struct acct *ac, const char *name, char out[16]);
/* 1 when a line of c's log has both a and b. */
int log_has(const struct ca *c, const char *a, const char *b);

#endif
