/*
 * metrics.h: counters and histograms for Prometheus (/metrics on the
 * --metrics-listen listener), all named dnspersist_*. Process-wide, like
 * the log: every layer counts, none owns them. Relaxed atomics: a scrape
 * may see one counter a moment ahead of another, never a torn value.
 */
#ifndef CA_METRICS_H
#define CA_METRICS_H

#include <stddef.h>

/* A request answered: its method, path (mapped to a bounded set of
 * routes), status, problem type suffix ("" for none) and time taken. */
void metrics_request(const char *method, const char *path, int status, const char *problem,
                     double seconds);
/* A validation ended: challenge type, valid or not, jit when it was a
 * Just-in-Time look-up at new-order. */
void metrics_validation(const char *type, int valid, int jit);
/* An order created (ORD_CREATED), a certificate issued, an order
 * invalidated, a certificate revoked. */
enum metrics_event { M_ORDER_CREATED, M_CERT_ISSUED, M_ORDER_INVALID, M_CERT_REVOKED, M_EVENTS };
void metrics_event(enum metrics_event ev);
/* One corroboration call to a remote perspective: whether it opened a
 * new connection (else one was reused), and whether the perspective agreed. */
void metrics_mpic(int new_connection, int agreed);
/* One store transaction (or locked read), lock wait included. */
void metrics_db(double seconds);

/* The text exposition (format 0.0.4); caller frees. queue_depth: the
 * validations waiting now. NULL when out of memory. */
char *metrics_render(size_t queue_depth, size_t *len);

#endif
