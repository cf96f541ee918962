/* va_int.h: what the files of the validation authority share (va.c: the
 * queue, workers and limits; va_check.c: the challenge checks; va_caa.c:
 * CAA). Not an interface for other layers: they see va.h. */
#ifndef CA_VA_INT_H
#define CA_VA_INT_H

#include <time.h>

#include <curl/curl.h>

#include "clock.h"
#include "va.h"
#include "va_req.h"

/* A VA thread's own handles: look-ups on one never wait for another's. */
struct worker {
    struct va *va;
    struct ca *ca;
    struct dp_resolver *res;
    CURL *curl;
    struct mpic *mpic; /* this thread's connections to remote perspectives, or NULL */
};

/* A validation under way: its result and how it runs. */
struct outcome {
    struct va_result r;
    int jit;         /* Just-in-Time: a miss is not a failure (no V7 count) */
    double deadline; /* Just-in-Time: no look-up starts after it (ms, monotonic) */
};

void va_fail(struct outcome *o, const char *type, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* V7: 1 when the (record, account) pair key (va_fail_key) may be tried
 * again now; a failure counts when the RA stores it (va_result.fail_key). */
int va_fail_allowed(struct va *va, const char *key, int64_t now);

/* The checks: each fills o (o->r.valid, or the problem). */
void va_validate_persist(struct worker *w, const struct va_req *q, struct outcome *o);
void va_validate_dns01(struct worker *w, const struct va_req *q, struct outcome *o);
void va_validate_http01(struct worker *w, const struct va_req *q, struct outcome *o);
/* RFC 8659 from q's identifier up with res, for q's account URL, method
 * and CAA identities: 1 permitted; 0 with the problem in r (caa, or dns
 * when a look-up failed). */
int va_caa_check(struct dp_resolver *res, const struct va_req *q, struct va_result *r);
/* After a method passed: CAA. */
void va_caa_after(struct worker *w, const struct va_req *q, struct outcome *o);
/* The whole check of q on w (method, then CAA; or CAA alone), as the
 * primary and every perspective run it. */
void va_run(struct worker *w, const struct va_req *q, struct outcome *o);

#endif
