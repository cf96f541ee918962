/* probe.h: dnspersist probe, a conformance test of any ACME CA's
 * dns-persist-01 from a zone the user controls (probe.c: accounts,
 * publication, orders, clean-up; probe_cases.c: the cases). */
#ifndef DP_CLI_PROBE_H
#define DP_CLI_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "dnspersist/dnspersist.h"

enum probe_verdict { PV_CONFORMS, PV_DEVIATES, PV_NOT_OFFERED, PV_SKIPPED, PV_ERROR };

/* What one case found. */
struct probe_result {
    enum probe_verdict verdict;
    char got[128];    /* "valid", a problem type without its URN prefix, "ready", ... */
    char detail[800]; /* the CA's detail, or why the case was skipped */
};

/* One of the probe's ACME accounts. */
struct probe_account {
    struct dp_key *key, *old_key; /* old_key: before a key change, else NULL */
    struct dp_acme *acme;
    char url[1024];
    int deactivated;
};

/* A record published, to be removed at the end whatever happens. */
struct probe_rec {
    char name[300], type[8], data[1200];
};

#define PROBE_MAX_RECS 128

struct probe {
    /* From the command line. */
    const char *directory, *bundle, *zone;
    const char *nsupdate, *exec; /* one of them publishes */
    struct dp_tsig tsig;
    long wait_ms, pace_ms, poll_ms;
    /* From the directory. */
    int draft02;
    char prefix[1024], issuer[256], caa_identity[256];
    /* Accounts: a (the main one), b (another), made at start. */
    struct probe_account a, b;
    char run[16];        /* this run's random label part: names never repeat between runs */
    char case_name[300]; /* the first name the running case made (reported) */
    struct probe_rec recs[PROBE_MAX_RECS];
    size_t n_recs;
    double last_order_ms;
    volatile int *stop; /* set by SIGINT/SIGTERM */
};

/* A case of the table (probe_cases.c). */
struct probe_case {
    const char *id, *section, *requirement, *expected;
    unsigned drafts; /* 1: runs against draft-01 CAs, 2: draft-02, 3: both */
    void (*run)(struct probe *p, const struct probe_case *c, struct probe_result *r);
};
extern const struct probe_case probe_cases[];
extern const size_t probe_n_cases;

/* Fetches the directory, makes accounts a and b. 0, or -1 with why. */
int probe_open(struct probe *p, char *why, size_t cap);
/* Removes every record published, deactivates the accounts, frees. */
void probe_close(struct probe *p);

/* A fresh name for case id under the zone ("id-RUN-N.zone"). */
void probe_name(struct probe *p, const char *id, char *out, size_t cap);
/* Makes a new account (for cases that change it); 0 or -1 with why. */
int probe_account_new(struct probe *p, struct probe_account *acc, char *why, size_t cap);
void probe_account_free(struct probe_account *acc);
/* The accounturi value for acc and domain (hashed on draft-02 CAs, the
 * plain URL on draft-01 ones); thumb NULL: acc's current key. */
void probe_accounturi(const struct probe *p, const struct probe_account *acc, const char *domain,
                      const char *thumb, char *out, size_t cap);
/* "ISSUER; accounturi=URI" for acc at domain, then extra (may be ""). */
void probe_value(const struct probe *p, const struct probe_account *acc, const char *domain,
                 const char *extra, char *out, size_t cap);

/* Publishes a record (TXT value, or another type's presentation rdata),
 * registered for removal. 0; -1 with r's verdict PV_ERROR (or PV_SKIPPED
 * for a non-TXT record through an exec provider) and its detail. */
int probe_publish(struct probe *p, const char *name, const char *type, const char *data,
                  struct probe_result *r);
/* _validation-persist.<domain> TXT value. */
int probe_txt(struct probe *p, const char *domain, const char *value, struct probe_result *r);

/* Orders names with acc, answers dns-persist-01, waits; r->got is
 * "valid", "ready" (authorized at once), or the CA's problem type.
 * finalize: a valid order is also finalized (the certificate is revoked
 * at once); got is then "issued" or the problem. expires_out (may be
 * NULL): the first authorization's expires (0 unknown). The order's
 * authorizations are deactivated afterwards. 0 when the CA answered
 * (whatever it said); -1 on a transport failure (verdict PV_ERROR). */
int probe_order(struct probe *p, struct probe_account *acc, const char *const *names, size_t n,
                int finalize, int64_t *expires_out, struct probe_result *r);

/* The verdict for an outcome: conforms when got is one of want ("a|b"). */
void probe_judge(struct probe_result *r, const char *want);

#endif
