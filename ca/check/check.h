/*
 * check.h: one validation's checks, as the CA's validation authority and a
 * remote perspective (MPIC) both run them: dns-persist-01 over the record
 * and its parents, dns-01, http-01, and CAA after them (or alone). A
 * checker holds its own handles and nothing of the VA: its only link to
 * the VA's state is the V7 gate, which a perspective does without.
 */
#ifndef CA_CHECK_H
#define CA_CHECK_H

#include <stdint.h>

#include <curl/curl.h>

#include "dnspersist/dnspersist.h"
#include "va_req.h"

/* V7: whether a (record, account) pair may be tried again now (key from
 * check_fail_key); NULL in a perspective, which keeps no state. */
struct check_gate {
    int (*allowed)(void *arg, const char *key, int64_t now);
    void *arg;
};

/* One thread's handles: look-ups on one never wait for another's. */
struct checker {
    struct dp_ctx *dp; /* the Public Suffix List (borrowed) */
    struct dp_resolver *res;
    CURL *curl; /* http-01; NULL when the checker makes none */
    const struct check_gate *gate;
};

/* Its own resolver (resolver: a forwarder or NULL for recursion; ta: a
 * trust anchor file or NULL; timeout_ms per look-up, 0 for the default)
 * and, with_curl, a libcurl handle. 0, or -1 with why. */
int check_init(struct checker *c, struct dp_ctx *dp, const char *resolver, const char *ta,
               unsigned timeout_ms, int with_curl, char *why, size_t cap);
void check_clear(struct checker *c);

/* A validation under way: its result and how it runs. */
struct outcome {
    struct va_result r;
    int jit;         /* Just-in-Time: a miss is not a failure (no V7 count) */
    double deadline; /* Just-in-Time: no look-up starts after it (ms, monotonic) */
};

void check_fail(struct outcome *o, const char *type, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* V7's rate limit key of a (record name, account) pair. */
void check_fail_key(const char *record, const char *account, char *out, size_t cap);

/* The checks: each fills o (o->r.valid, or the problem). */
void check_persist(struct checker *w, const struct va_req *q, struct outcome *o);
void check_dns01(struct checker *w, const struct va_req *q, struct outcome *o);
void check_http01(struct checker *w, const struct va_req *q, struct outcome *o);
/* RFC 8659 from q's identifier up with res, for q's account URL, method
 * and CAA identities: 1 permitted; 0 with the problem in r (caa, or dns
 * when a look-up failed). */
int check_caa(struct dp_resolver *res, const struct va_req *q, struct va_result *r);
/* After a method passed: CAA. */
void check_caa_after(struct checker *w, const struct va_req *q, struct outcome *o);
/* The whole check of q (method, then CAA; or CAA alone), as the primary
 * and every perspective run it. */
void check_run(struct checker *w, const struct va_req *q, struct outcome *o);

#endif
