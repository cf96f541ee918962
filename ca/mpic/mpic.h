/*
 * mpic.h: multi-perspective issuance corroboration (CA/B BR 3.2.2.9), the
 * primary's side. After the primary's own check of a validation (or of
 * CAA) passes, every remote perspective (--perspective URL) runs the same
 * check with its own resolver, in parallel, over mutual TLS; the result
 * stands only with the BR's quorum. Each VA thread holds its own struct
 * mpic: its connections stay open between validations (keep-alive, TLS
 * sessions resumed), so corroboration adds no handshakes per certificate.
 */
#ifndef CA_MPIC_H
#define CA_MPIC_H

#include <stddef.h>

#include "va_req.h"

#define MPIC_MAX 16

struct mpic;

/* What the primary's side needs: the perspectives' URLs, how long to wait
 * for them, how many must agree (0: the BR table), and the client
 * certificate and key shown to them with the root they must chain to
 * (PEM). Borrowed: it outlives every struct mpic made from it. */
struct mpic_config {
    const char *const *urls;
    size_t n;
    unsigned timeout_ms;
    size_t quorum;
    const char *cert_pem, *key_pem, *root_pem;
};

/* NULL when there are no remote perspectives (nothing to do), or when
 * out of memory (then *failed is set). */
struct mpic *mpic_new(const struct mpic_config *cfg, int *failed);
void mpic_free(struct mpic *m);

/* How many remote perspectives may disagree (or not answer) for n of them:
 * the BR table (n <= 5: 1, else 2; a lone one must agree), tightened by
 * required (--perspective-quorum: how many must agree; 0 for none). */
size_t mpic_allowed(size_t n, size_t required);

/* Corroborates r, the primary's valid result of q: asks every perspective
 * (bounded by the timeout, and by deadline_ms on the monotonic clock when
 * non-zero), then either keeps r valid, naming the perspectives that
 * agreed in r->perspectives, or makes it invalid with a problem naming
 * each disagreeing perspective and its problem. Does nothing to an
 * invalid r, or when m is NULL. */
void mpic_corroborate(struct mpic *m, const struct va_req *q, struct va_result *r,
                      double deadline_ms);

#endif
