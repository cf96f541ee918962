/* va_queue.h: the validation authority's fair queue. Work is queued per
 * account and handed out round-robin across accounts, each account with a
 * bound on its work in flight: an account that floods the queue (or whose
 * validations hang on an unanswering zone) delays others by at most one
 * turn. Not thread-safe: the VA calls it under its mutex. */
#ifndef CA_VA_QUEUE_H
#define CA_VA_QUEUE_H

#include <stddef.h>

struct fq;

/* At most cap items queued in all, and per_account of one account (so
 * that no account can fill the queue for the others). */
struct fq *fq_new(size_t cap, size_t per_account);
/* Frees the queue; drop (may be NULL) gets every item still queued. */
void fq_free(struct fq *q, void (*drop)(void *item));
/* 0 queued; -1 full, for all or for this account (or out of memory). */
int fq_push(struct fq *q, const char *account, void *item);
/* The next item in round-robin order among accounts with fewer than
 * max_inflight items in flight, counted in flight from now; NULL when none
 * may go. account (>= 64 octets) gets its account, for fq_done. */
void *fq_pop(struct fq *q, unsigned max_inflight, char *account);
/* One item of account is finished. */
void fq_done(struct fq *q, const char *account);
size_t fq_len(const struct fq *q);

#endif
