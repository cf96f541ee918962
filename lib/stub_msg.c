/*
 * stub_msg.c: what the stub's transports share (stub_int.h): names in wire
 * form, random bytes, the slots and IDs of queries in flight, queries
 * written out, and answers matched to their questions (CNAME chasing
 * included). It calls neither transport: they and the batch loop call it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "internal.h"
#include "stub_int.h"

/* name (dots between labels, a final dot optional) in wire form; 0, or
 * -1 when it is not a name (an empty or long label, over 255 octets). */
int dp__stub_to_wire(const char *name, unsigned char *w, unsigned char *wlen)
{
    size_t o = 0, l = strlen(name);
    if (l && name[l - 1] == '.') l--;
    for (size_t i = 0; l && i <= l;) {
        size_t j = i;
        while (j < l && name[j] != '.')
            j++;
        size_t ll = j - i;
        if (ll == 0 || ll > 63 || o + 1 + ll + 1 > 255) return -1;
        w[o++] = (unsigned char)ll;
        memcpy(w + o, name + i, ll);
        o += ll;
        i = j + 1;
    }
    w[o++] = 0;
    *wlen = (unsigned char)o;
    return 0;
}

/* Ends query i: the callback answers it or names the next name to ask. */
static void finish(struct run *r, size_t i, const unsigned char *pkt, size_t len, const char *fail)
{
    struct sq *q = &r->q[i];
    char next[1025] = "";
    int more = r->cb(r->arg, i, q->name, pkt, len, fail,
                     !fail && q->hops < STUB_MAX_HOPS ? next : NULL, sizeof next);
    char *c = more && next[0] ? strdup(next) : NULL;
    if (c) {
        free(q->chased);
        q->name = q->chased = c;
        q->hops++;
        q->tries = 0;
        q->state = 0;
        r->redo[r->n_redo++] = i;
        return;
    }
    q->state = 2;
}

/* The slot of the query in flight with ID id, or -1. Over TCP the ID
 * says it; over UDP IDs are random, and looked for among at most
 * STUB_UDP_MAX. */
static long find_slot(const struct dp__stub *s, uint16_t id)
{
    if (!s->udp) {
        uint16_t slot = (uint16_t)(id - s->id_base);
        return slot < s->max_in_flight && s->slots[slot] ? slot : -1;
    }
    for (size_t k = 0; k < s->max_in_flight; k++)
        if (s->slot_id[k] == id && s->slots[k]) return (long)k;
    return -1;
}

/* Random bytes, drawn from OpenSSL's DRBG a pool at a time. */
int dp__stub_rnd(struct dp__stub *s, unsigned char *out, size_t n)
{
    if (s->rnd_left < n) {
        if (RAND_bytes(s->rnd, sizeof s->rnd) != 1) return -1;
        s->rnd_left = sizeof s->rnd;
    }
    s->rnd_left -= n;
    memcpy(out, s->rnd + s->rnd_left, n);
    return 0;
}

/* Takes a free slot for query i and gives it an ID: id_base + the slot
 * over TCP, a random one unused by any query in flight over UDP. -1 when
 * no random bytes can be had. */
int dp__stub_take_slot(struct run *r, size_t i)
{
    struct dp__stub *s = r->s;
    struct sq *q = &r->q[i];
    uint32_t slot = s->free_slots[s->n_free - 1]; /* one is free: in_flight < max */
    uint16_t id = (uint16_t)(s->id_base + slot);
    if (s->udp) {
        unsigned char b[2];
        do {
            if (dp__stub_rnd(s, b, 2)) return -1;
            id = (uint16_t)(b[0] << 8 | b[1]);
        } while (find_slot(s, id) >= 0);
        s->slot_id[slot] = id;
    }
    s->n_free--;
    s->slots[slot] = (int32_t)i + 1;
    q->id = id;
    return 0;
}

/* Query q in flight no more: its slot given back (its ID with it). */
void dp__stub_release(struct run *r, const struct sq *q)
{
    struct dp__stub *s = r->s;
    long slot = find_slot(s, q->id);
    if (slot >= 0) {
        s->slots[slot] = 0;
        s->free_slots[s->n_free++] = (uint32_t)slot;
    }
    if (q->tcp)
        s->c[q->conn].in_flight--;
    else
        s->u_in_flight--;
    r->in_flight--;
}

/* Answers query i (to send, or in flight) with a failure. */
void dp__stub_fail(struct run *r, size_t i, const char *why)
{
    struct sq *q = &r->q[i];
    if (q->state == 1) dp__stub_release(r, q);
    q->state = 2;
    r->cb(r->arg, i, q->name, NULL, 0, why, NULL, 0);
}

/* Writes query q (12 + wlen + 4 octets) at p; its length. */
size_t dp__stub_build_query(unsigned char *p, const struct sq *q, int qtype)
{
    memset(p, 0, 12);
    p[0] = (unsigned char)(q->id >> 8), p[1] = (unsigned char)q->id;
    p[2] = 0x01; /* RD: the forwarder recurses */
    p[5] = 1;    /* one question */
    memcpy(p + 12, q->wire, q->wlen);
    unsigned char *t = p + 12 + q->wlen;
    t[0] = (unsigned char)(qtype >> 8), t[1] = (unsigned char)qtype;
    t[2] = 0, t[3] = 1; /* IN */
    return 12 + (size_t)q->wlen + 4;
}

/* One response on connection k, or on the UDP socket (k -1): matched by
 * ID, transport and question, or ignored. Over UDP the question must
 * repeat the case it was asked in (0x20). */
void dp__stub_on_message(struct run *r, int k, const unsigned char *m, size_t len)
{
    struct dp__stub *s = r->s;
    if (len < 12) return;
    long slot = find_slot(s, (uint16_t)(m[0] << 8 | m[1]));
    if (slot < 0) return; /* timed out already, or never asked */
    size_t i = (size_t)(s->slots[slot] - 1);
    struct sq *q = &r->q[i];
    if (k >= 0 ? !q->tcp || q->conn != k : q->tcp) return; /* asked elsewhere */
    /* A response (QR), a standard query's (opcode 0), to our question. */
    if (!(m[2] & 0x80) || (m[2] & 0x78) || (m[4] << 8 | m[5]) != 1 ||
        len < 12 + (size_t)q->wlen + 4)
        return;
    int exact = 1;
    for (size_t j = 0; j < q->wlen; j++) {
        if (dp__lower(m[12 + j]) != dp__lower(q->wire[j])) return;
        exact &= m[12 + j] == q->wire[j];
    }
    if (k < 0 && !exact) {
        s->case_changed = 1; /* named if the query then times out */
        return;
    }
    const unsigned char *t = m + 12 + q->wlen;
    if ((t[0] << 8 | t[1]) != r->qtype || (t[2] << 8 | t[3]) != 1) return;
    dp__stub_release(r, q);
    if (k < 0 && (m[2] & 0x02)) { /* truncated (TC): ask again over TCP */
        q->tcp = 1;
        q->tries = 0;
        q->state = 0;
        r->redo[r->n_redo++] = i;
        return;
    }
    if (k >= 0) s->c[k].answers++;
    finish(r, i, m, len, NULL);
}
