/*
 * dnsmsg.c: the answer of a DNS response, read in place. libunbound's
 * event API hands over the response as a packet; this finds the records
 * ub_resolve_async used to return: those of the asked type at the end of
 * the CNAME chain. Every offset is bounds-checked; compression pointers
 * are followed at most 32 times a name, so a hostile packet can neither
 * read outside itself nor loop.
 */
#include <string.h>

#include "dnsmsg.h"

#define NAME_MAX_WIRE 255
#define TYPE_CNAME 5
#define MAX_CHAIN 16

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* Reads the (possibly compressed) name at *off into out, uncompressed and
 * lower-cased; *off moves past it. 0 when malformed. */
static int read_name(const unsigned char *msg, size_t len, size_t *off, unsigned char *out,
                     size_t *out_len)
{
    size_t o = *off, n = 0;
    int jumped = 0, hops = 0;
    for (;;) {
        if (o >= len) return 0;
        unsigned l = msg[o];
        if ((l & 0xC0) == 0xC0) {
            if (o + 1 >= len || ++hops > 32) return 0;
            if (!jumped) *off = o + 2;
            jumped = 1;
            o = (l & 0x3F) << 8 | msg[o + 1];
            continue;
        }
        if (l & 0xC0 || n + l + 1 > NAME_MAX_WIRE || o + 1 + l > len) return 0;
        out[n++] = (unsigned char)l;
        for (unsigned i = 0; i < l; i++) {
            unsigned char c = msg[o + 1 + i];
            out[n++] = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
        }
        o += 1 + l;
        if (l == 0) {
            if (!jumped) *off = o;
            *out_len = n;
            return 1;
        }
    }
}

struct rr {
    unsigned char owner[NAME_MAX_WIRE];
    size_t owner_len;
    unsigned type;
    size_t rdata, rdlen; /* offsets in msg */
};

/* Walks the answer section, calling each on every record until it returns
 * non-zero. -1 when malformed. */
static int walk(const unsigned char *msg, size_t len, int (*each)(void *, const struct rr *),
                void *arg)
{
    unsigned char name[NAME_MAX_WIRE];
    size_t nl, off = 12;
    unsigned qd = get16(msg + 4), an = get16(msg + 6);
    for (unsigned i = 0; i < qd; i++) {
        if (!read_name(msg, len, &off, name, &nl) || off + 4 > len) return -1;
        off += 4;
    }
    for (unsigned i = 0; i < an; i++) {
        struct rr r;
        if (!read_name(msg, len, &off, r.owner, &r.owner_len) || off + 10 > len) return -1;
        r.type = get16(msg + off);
        r.rdlen = get16(msg + off + 8);
        r.rdata = off + 10;
        if (r.rdata + r.rdlen > len) return -1;
        off = r.rdata + r.rdlen;
        if (each(arg, &r)) break;
    }
    return 0;
}

struct chase {
    const unsigned char *msg;
    size_t len;
    unsigned qtype;
    unsigned char target[NAME_MAX_WIRE];
    size_t target_len;
    struct dp_span *rd;
    size_t cap, n;
    int too_many, next_found, bad;
    unsigned char next[NAME_MAX_WIRE];
    size_t next_len;
};

static int same(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
    return al == bl && !memcmp(a, b, al);
}

static int on_rr(void *arg, const struct rr *r)
{
    struct chase *c = arg;
    if (!same(r->owner, r->owner_len, c->target, c->target_len)) return 0;
    if (r->type == c->qtype) {
        if (c->n < c->cap) {
            c->rd[c->n].ptr = (const char *)c->msg + r->rdata;
            c->rd[c->n].len = r->rdlen;
            c->n++;
        } else {
            c->too_many = 1;
        }
    } else if (r->type == TYPE_CNAME && !c->next_found) {
        size_t o = r->rdata;
        if (!read_name(c->msg, r->rdata + r->rdlen, &o, c->next, &c->next_len))
            c->bad = 1;
        else
            c->next_found = 1;
    }
    return 0;
}

static void to_text(const unsigned char *w, size_t wl, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    while (i < wl && w[i] && o + 1 < cap) {
        unsigned l = w[i++];
        for (unsigned k = 0; k < l && i < wl && o + 1 < cap; k++)
            out[o++] = (char)w[i++];
        if (o + 1 < cap) out[o++] = '.';
    }
    out[o] = '\0';
}

int dp__dnsmsg_answer(const unsigned char *msg, size_t len, int qtype, struct dp_span *rd,
                      size_t cap, struct dp__dnsmsg *out)
{
    memset(out, 0, sizeof *out);
    if (!msg || len < 12 || get16(msg + 4) != 1) return -1;
    out->rcode = msg[3] & 0x0F;
    struct chase c = {.msg = msg, .len = len, .qtype = (unsigned)qtype, .rd = rd, .cap = cap};
    size_t off = 12;
    if (!read_name(msg, len, &off, c.target, &c.target_len)) return -1;
    for (int link = 0; link <= MAX_CHAIN; link++) {
        c.n = 0;
        c.too_many = c.next_found = c.bad = 0;
        if (walk(msg, len, on_rr, &c) < 0 || c.bad) return -1;
        if (c.n || c.too_many || !c.next_found || (unsigned)qtype == TYPE_CNAME) break;
        memcpy(c.target, c.next, c.next_len);
        c.target_len = c.next_len;
        to_text(c.target, c.target_len, out->canon, sizeof out->canon);
    }
    out->n = c.n;
    out->too_many = c.too_many;
    return 0;
}
