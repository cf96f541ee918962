/* ra_limits.c: the registration authority's rate limits: which limits a
 * request meets, under which keys, and the refusal (ratelimit.h has the
 * limits themselves, the store their state). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "metrics.h"
#include "ra_int.h"
#include "ra_status.h"

/* asks as the store's takes, their keys in keys. */
static size_t takes(struct ra *ra, const struct rl_ask *asks, size_t n, struct rl_take *t,
                    char (*keys)[340])
{
    size_t m = 0;
    for (size_t i = 0; i < n && m < ST_MAX_IDENTIFIERS + 2; i++) {
        snprintf(keys[m], sizeof keys[m], "%d|%s", (int)asks[i].kind, asks[i].key);
        t[m] = (struct rl_take){keys[m], &ra->cfg->limits->l[asks[i].kind], asks[i].mode};
        m++;
    }
    return m;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* rateLimited, naming the limit asks[which] met and when to retry. */
static int refuse(struct ra *ra, const struct rl_ask *asks, size_t which, int64_t retry,
                  struct ra_problem *p)
{
    char d[160];
    rl_describe(&ra->cfg->limits->l[asks[which].kind], asks[which].kind, d, sizeof d);
    int secs = (int)((retry + 999) / 1000);
    ra_refuse(p, 429, "rateLimited", "rate limit %s reached for %.300s: retry after %d s", d,
              asks[which].label ? asks[which].label : asks[which].key, secs);
    p->retry_after = secs > 0 ? secs : 1;
    metrics_rate_limited(asks[which].kind);
    return -1;
}

/* All of asks in one store transaction. 0 allowed; -1 after refusing with
 * rateLimited, its Retry-After and the limit named. */
int ra_limits(struct ra *ra, struct rl_ask *asks, size_t n, struct ra_problem *p)
{
    struct rl_take t[ST_MAX_IDENTIFIERS + 2];
    char keys[ST_MAX_IDENTIFIERS + 2][340];
    size_t m = takes(ra, asks, n, t, keys), which = 0;
    int64_t retry = 0;
    int rc = store_rate_take(ra->store, t, m, now_ms(), &which, &retry);
    if (rc == 0) return 0;
    if (rc < 0) return ra_refuse(p, 500, "serverInternal", "cannot read the rate limits");
    return refuse(ra, asks, which, retry, p);
}

/* The order stored with asks taken in its own transaction (one write
 * transaction an order, not two). 0 stored; -1 after refusing. */
int ra_order_store(struct ra *ra, struct st_order *o, const struct st_authz_init *init,
                   struct rl_ask *asks, size_t n, struct ra_problem *p)
{
    struct rl_take t[ST_MAX_IDENTIFIERS + 2];
    char keys[ST_MAX_IDENTIFIERS + 2][340];
    struct st_rate rate = {t, takes(ra, asks, n, t, keys), now_ms(), 0, 0};
    /* Ready at once when every authorization is valid (Just-in-Time, or
     * reused), else pending: the RA's decision, the store writes it. */
    size_t n_valid = 0;
    for (size_t i = 0; i < o->n; i++)
        n_valid += init[i].validated != 0;
    o->status = ra_order_first(n_valid, o->n);
    int rc = store_order_create(ra->store, o, init, &rate);
    if (rc == 2) return refuse(ra, asks, rate.which, rate.retry_ms, p);
    if (rc == 1)
        return ra_refuse(p, 409, "alreadyReplaced",
                         "the certificate named by replaces was replaced by another order already");
    if (rc) return ra_refuse(p, 500, "serverInternal", "cannot store the order");
    return 0;
}

/* The address a client's accounts count under: itself, or for IPv6 its
 * /64 (one customer commonly holds a whole /64). */
void ra_peer_key(const char *peer, char *out, size_t cap)
{
    unsigned char a[16];
    if (inet_pton(AF_INET6, peer, a) == 1 && !(a[0] == 0 && a[10] == 0xff && a[11] == 0xff)) {
        memset(a + 8, 0, 8);
        char t[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, a, t, sizeof t);
        snprintf(out, cap, "%s/64", t);
        return;
    }
    snprintf(out, cap, "%s", peer);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The key of an order's exact name set (duplicate certificates): the
 * SHA-256 of its sorted names. */
static void names_key(const struct st_order *o, char out[65])
{
    const char *sorted[ST_MAX_IDENTIFIERS];
    for (size_t i = 0; i < o->n; i++)
        sorted[i] = o->identifiers[i];
    qsort(sorted, o->n, sizeof *sorted, cmp_str);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    unsigned char h[32];
    unsigned hl = 0;
    int ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < o->n; i++)
        ok = EVP_DigestUpdate(m, sorted[i], strlen(sorted[i]) + 1);
    ok = ok && EVP_DigestFinal_ex(m, h, &hl);
    EVP_MD_CTX_free(m);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", ok ? h[i] : 0);
}

/* An order's certificate limits: each of its registered domains once,
 * then its exact name set; n asks written from asks[*n]. */
void ra_cert_asks(struct ra *ra, const struct st_order *o, enum rl_mode mode, struct rl_ask *asks,
                  size_t *n, char *label, size_t label_cap)
{
    for (size_t i = 0; i < o->n; i++) {
        const char *reg = dp_scope_registered_domain(ra->dp, dp_domain_base(o->identifiers[i]));
        int seen = !reg;
        for (size_t k = 0; k < *n && !seen; k++)
            seen = asks[k].kind == RL_CERTS_PER_DOMAIN && !strcmp(asks[k].key, reg);
        if (seen) continue;
        asks[*n] = (struct rl_ask){RL_CERTS_PER_DOMAIN, mode, "", NULL};
        snprintf(asks[*n].key, sizeof asks[*n].key, "%s", reg);
        (*n)++;
    }
    snprintf(label, label_cap, "the names %.253s%s", o->identifiers[0],
             o->n > 1 ? " and the others of this order" : "");
    asks[*n] = (struct rl_ask){RL_DUPLICATE_CERTS, mode, "", label};
    names_key(o, asks[*n].key);
    (*n)++;
}

int ra_limit_pending(struct ra *ra, const char *account, long pend, struct ra_problem *p)
{
    long lim = ra->cfg->limits->l[RL_PENDING_AUTHZ].count;
    long have = lim > 0 && pend ? store_authz_pending(ra->store, account) : 0;
    if (have < 0) return ra_refuse(p, 500, "serverInternal", "cannot count pending authorizations");
    if (lim > 0 && have + pend > lim) {
        ra_refuse(p, 429, "rateLimited",
                  "rate limit %s: %ld at a time; the account holds %ld and this order needs %ld "
                  "more: finish or deactivate some",
                  rl_name(RL_PENDING_AUTHZ), lim, have, pend);
        p->retry_after = 60;
        metrics_rate_limited(RL_PENDING_AUTHZ);
        return -1;
    }
    return 0;
}
