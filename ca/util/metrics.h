/*
 * metrics.h: counters and histograms for Prometheus (/metrics on the
 * --metrics-listen listener), all named dnspersist_*. Process-wide, like
 * the log: every layer counts, none owns them. Relaxed atomics: a scrape
 * may see one counter a moment ahead of another, never a torn value.
 */
#ifndef CA_METRICS_H
#define CA_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* A request answered: its method, path (mapped to a bounded set of
 * routes), status, problem type suffix ("" for none) and time taken. */
void metrics_request(const char *method, const char *path, int status, const char *problem,
                     double seconds);
/* A validation ended: challenge type, valid or not, jit when it was a
 * Just-in-Time look-up at new-order, and the time it took (a challenge's
 * validation; Just-in-Time look-ups pass a negative time: they run in
 * batches, their time is new-order's). */
void metrics_validation(const char *type, int valid, int jit, double seconds);
/* A request refused by a rate limit: an rl_kind (ratelimit.h), or RL_N for
 * the validation queue being full. */
void metrics_rate_limited(int kind);

/* An order created (ORD_CREATED), a certificate issued, an order
 * invalidated, a certificate revoked. */
enum metrics_event { M_ORDER_CREATED, M_CERT_ISSUED, M_ORDER_INVALID, M_CERT_REVOKED, M_EVENTS };
void metrics_event(enum metrics_event ev);
/* One corroboration call to a remote perspective: whether it opened a
 * new connection (else one was reused), and whether the perspective agreed. */
void metrics_mpic(int new_connection, int agreed);
/* One store transaction (or locked read), lock wait included. */
void metrics_db(double seconds);

/* The process figures Prometheus clients export (process_*), from /proc. */
struct metrics_process {
    double cpu_seconds, resident_bytes, virtual_bytes, start_time, open_fds, max_fds;
};
int metrics_process_read(struct metrics_process *p);

/* A CA certificate's expiry: name ("" for the primary issuer), kind
 * ("root" or "intermediate"), notAfter in UNIX seconds. */
struct metrics_expiry {
    const char *name, *kind;
    int64_t not_after;
};

/* What a scrape reads from the other components at that moment. */
struct metrics_now {
    size_t queue_depth;      /* validations waiting */
    size_t open_connections; /* on the ACME listener */
    const struct metrics_expiry *expiry;
    size_t n_expiry;
    const char *version;
};

/* The text exposition (format 0.0.4); caller frees. NULL when out of
 * memory. */
char *metrics_render(const struct metrics_now *now, size_t *len);

#endif
