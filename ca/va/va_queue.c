/*
 * va_queue.c: per-account FIFOs, and a ring of the accounts that have
 * work queued or in flight. An account's node lives while it has either;
 * nodes are found by a small hash table.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "va_queue.h"

#define FQ_BUCKETS 1024

struct item {
    void *v;
    struct item *next;
};

struct acct {
    char id[64];
    struct item *head, *tail;
    unsigned queued, inflight;
    struct acct *hnext;         /* hash chain */
    struct acct *rnext, *rprev; /* the ring */
};

struct fq {
    size_t cap, len, per_account;
    struct acct *buckets[FQ_BUCKETS];
    struct acct *ring; /* the next account to serve */
};

struct fq *fq_new(size_t cap, size_t per_account)
{
    struct fq *q = calloc(1, sizeof *q);
    if (q) {
        q->cap = cap;
        q->per_account = per_account;
    }
    return q;
}

static struct acct **slot(struct fq *q, const char *id)
{
    struct acct **p = &q->buckets[ca_hash(id) % FQ_BUCKETS];
    while (*p && strcmp((*p)->id, id))
        p = &(*p)->hnext;
    return p;
}

static void unlink_acct(struct fq *q, struct acct *a)
{
    struct acct **p = slot(q, a->id);
    *p = a->hnext;
    if (a->rnext == a) {
        q->ring = NULL;
    } else {
        a->rprev->rnext = a->rnext;
        a->rnext->rprev = a->rprev;
        if (q->ring == a) q->ring = a->rnext;
    }
    free(a);
}

void fq_free(struct fq *q, void (*drop)(void *item))
{
    if (!q) return;
    while (q->ring) {
        struct acct *a = q->ring;
        while (a->head) {
            struct item *it = a->head;
            a->head = it->next;
            if (drop) drop(it->v);
            free(it);
        }
        unlink_acct(q, a);
    }
    free(q);
}

int fq_push(struct fq *q, const char *account, void *v)
{
    if (q->len >= q->cap) return -1;
    struct item *it = calloc(1, sizeof *it);
    if (!it) return -1;
    it->v = v;
    struct acct **p = slot(q, account), *a = *p;
    if (a && a->queued >= q->per_account) {
        free(it);
        return -1;
    }
    if (!a) {
        if (!(a = calloc(1, sizeof *a))) {
            free(it);
            return -1;
        }
        strncpy(a->id, account, sizeof a->id - 1);
        *p = a;
        if (!q->ring) { /* joins the ring just before its current head: served last */
            a->rnext = a->rprev = a;
            q->ring = a;
        } else {
            a->rnext = q->ring;
            a->rprev = q->ring->rprev;
            a->rprev->rnext = a;
            q->ring->rprev = a;
        }
    }
    if (a->tail)
        a->tail->next = it;
    else
        a->head = it;
    a->tail = it;
    a->queued++;
    q->len++;
    return 0;
}

void *fq_pop(struct fq *q, unsigned max_inflight, char *account)
{
    struct acct *a = q->ring;
    if (!a) return NULL;
    do {
        if (a->queued && a->inflight < max_inflight) {
            struct item *it = a->head;
            a->head = it->next;
            if (!a->head) a->tail = NULL;
            a->queued--;
            a->inflight++;
            q->len--;
            q->ring = a->rnext; /* the next account goes next */
            strcpy(account, a->id);
            void *v = it->v;
            free(it);
            return v;
        }
        a = a->rnext;
    } while (a != q->ring);
    return NULL;
}

void fq_done(struct fq *q, const char *account)
{
    struct acct *a = *slot(q, account);
    if (!a) return;
    if (a->inflight) a->inflight--;
    if (!a->queued && !a->inflight) unlink_acct(q, a);
}

size_t fq_len(const struct fq *q)
{
    return q->len;
}
