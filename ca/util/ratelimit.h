/* ratelimit.h: the CA's rate limits (Let's Encrypt's as the model): which
 * there are, their configuration, and the GCRA decision the store applies
 * atomically. Pure: no I/O but reading the configuration file. */
#ifndef CA_RATELIMIT_H
#define CA_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

enum rl_kind {
    RL_ACCOUNTS_PER_IP,    /* new accounts from one address (IPv6: its /64) */
    RL_ORDERS_PER_ACCOUNT, /* new orders of one account */
    RL_PENDING_AUTHZ,      /* pending authorizations one account holds (a count, no period) */
    RL_CERTS_PER_DOMAIN,   /* certificates naming one registered domain */
    RL_DUPLICATE_CERTS,    /* certificates for one exact set of names */
    RL_FAILED_VALIDATIONS, /* failed validations of one account for one name */
    RL_N
};

struct rl_limit {
    long count;     /* 0: no limit */
    int64_t period; /* seconds (unused for RL_PENDING_AUTHZ) */
};

struct rl_config {
    struct rl_limit l[RL_N];
};

/* One key's take in a decision (rl_take_all): spend one (RL_SPEND), only
 * look (RL_PEEK), or spend even past the limit (RL_FORCE: counting what
 * was done anyway). */
enum rl_mode { RL_SPEND, RL_PEEK, RL_FORCE };
struct rl_take {
    const char *key;
    const struct rl_limit *l;
    enum rl_mode mode;
};

/* The decision for t[0..n) at now_ms, all inside the caller's transaction:
 * each key's arrival time read with get (0 for a new key) and, unless the
 * take only looks, written with set. 0 all allowed; 1 t[*which] refused,
 * *retry_ms its wait (what was set before it is the caller's to roll
 * back); -1 when get or set failed. The one loop both stores run. */
int rl_take_all(const struct rl_take *t, size_t n, int64_t now_ms,
                int (*get)(void *ctx, const char *key, int64_t *tat),
                int (*set)(void *ctx, const char *key, int64_t tat), void *ctx, size_t *which,
                int64_t *retry_ms);

/* The name used in files, problems and logs ("new-orders-per-account"). */
const char *rl_name(enum rl_kind k);

/* spec: "default" (fits a private CA issuing in batches: one account
 * orders 10,000 certificates an hour unrefused), "letsencrypt" (their
 * published numbers), "off", or a file of "NAME COUNT PERIOD" lines (#
 * comments; PERIOD as 90s, 30m, 3h, 7d) over the defaults. 0, or -1 with
 * why naming the line. */
int rl_config_load(struct rl_config *c, const char *spec, char *why, size_t cap);

/* GCRA (the generic cell rate algorithm, a token bucket of count tokens
 * refilled over period): with the key's stored theoretical arrival time
 * tat (ms; 0 when new) at now (ms), 1 allows and sets *next_tat; 0
 * refuses and sets *retry_ms, the wait until one more is allowed. */
int rl_gcra(const struct rl_limit *l, int64_t tat, int64_t now, int64_t *next_tat,
            int64_t *retry_ms);

/* "50 per 3h" into out, for problem details. */
void rl_describe(const struct rl_limit *l, enum rl_kind k, char *out, size_t cap);

#endif
