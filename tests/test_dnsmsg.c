/* test_dnsmsg.c: lib/dnsmsg.c, the answer read out of a DNS response
 * (the resolver's records for V1/V4, CAA for V5), on packets built here. */
#include <string.h>

#include "check.h"
#include "dnsmsg.h"

struct pkt {
    unsigned char b[1024];
    size_t n;
};

static void put(struct pkt *p, const void *d, size_t n)
{
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void u16(struct pkt *p, unsigned v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(p, x, 2);
}

/* "a.b" as wire labels. */
static void name(struct pkt *p, const char *s)
{
    while (*s) {
        size_t l = strcspn(s, ".");
        unsigned char c = (unsigned char)l;
        put(p, &c, 1);
        put(p, s, l);
        s += l + (s[l] == '.');
    }
    put(p, "", 1);
}

static void start(struct pkt *p, int rcode, unsigned an, const char *q, unsigned qtype)
{
    p->n = 0;
    u16(p, 0);
    u16(p, 0x8180 | (unsigned)rcode);
    u16(p, 1);
    u16(p, an);
    u16(p, 0);
    u16(p, 0);
    name(p, q);
    u16(p, qtype);
    u16(p, 1);
}

/* An answer record; owner NULL: a pointer to the question's name. */
static void rr(struct pkt *p, const char *owner, unsigned type, const void *rd, size_t rdlen)
{
    if (owner)
        name(p, owner);
    else
        u16(p, 0xC00C);
    u16(p, type);
    u16(p, 1);
    u16(p, 0);
    u16(p, 300);
    u16(p, (unsigned)rdlen);
    put(p, rd, rdlen);
}

static void V1_records_at_the_name(void)
{
    struct pkt p;
    start(&p, 0, 2, "_validation-persist.example.com", 16);
    rr(&p, NULL, 16, "\x05hello", 6);
    rr(&p, "_VALIDATION-persist.Example.COM", 16, "\x02hi\x03you", 7); /* case differs */
    struct dp_span rd[4];
    struct dp__dnsmsg m;
    CHECK(dp__dnsmsg_answer(p.b, p.n, 16, rd, 4, &m) == 0);
    CHECK(m.rcode == 0 && m.n == 2 && !m.too_many && m.canon[0] == '\0');
    CHECK(rd[0].len == 6 && !memcmp(rd[0].ptr, "\x05hello", 6));
    CHECK(rd[1].len == 7 && !memcmp(rd[1].ptr, "\x02hi\x03you", 7));
    CHECK(dp__dnsmsg_answer(p.b, p.n, 257, rd, 4, &m) == 0 && m.n == 0); /* no CAA */
}

static void V4_cname_chain_followed(void)
{
    struct pkt p, t;
    start(&p, 0, 3, "_validation-persist.a.test", 16);
    t.n = 0;
    name(&t, "target.b.test");
    rr(&p, NULL, 5, t.b, t.n);
    rr(&p, "other.b.test", 16, "\x03" "bad", 4); /* not on the chain */
    rr(&p, "target.b.test", 16, "\x03yes", 4);
    struct dp_span rd[4];
    struct dp__dnsmsg m;
    CHECK(dp__dnsmsg_answer(p.b, p.n, 16, rd, 4, &m) == 0);
    CHECK(m.n == 1 && rd[0].len == 4 && !memcmp(rd[0].ptr, "\x03yes", 4));
    CHECK_STR(m.canon, "target.b.test.");

    /* a -> b -> a: ends, with nothing found. */
    start(&p, 0, 2, "a.test", 16);
    t.n = 0;
    name(&t, "b.test");
    rr(&p, NULL, 5, t.b, t.n);
    t.n = 0;
    name(&t, "a.test");
    rr(&p, "b.test", 5, t.b, t.n);
    CHECK(dp__dnsmsg_answer(p.b, p.n, 16, rd, 4, &m) == 0 && m.n == 0);
}

static void V1_nxdomain_and_cap(void)
{
    struct pkt p;
    start(&p, 3, 0, "gone.test", 16);
    struct dp_span rd[2];
    struct dp__dnsmsg m;
    CHECK(dp__dnsmsg_answer(p.b, p.n, 16, rd, 2, &m) == 0 && m.rcode == 3 && m.n == 0);
    start(&p, 0, 3, "many.test", 16);
    for (int i = 0; i < 3; i++)
        rr(&p, NULL, 16, "\x01x", 2);
    CHECK(dp__dnsmsg_answer(p.b, p.n, 16, rd, 2, &m) == 0 && m.too_many && m.n == 2);
}

static void malformed_refused(void)
{
    struct pkt p;
    struct dp_span rd[2];
    struct dp__dnsmsg m;
    start(&p, 0, 1, "x.test", 16);
    rr(&p, NULL, 16, "\x01x", 2);
    CHECK(dp__dnsmsg_answer(p.b, 11, 16, rd, 2, &m) == -1);       /* short header */
    CHECK(dp__dnsmsg_answer(p.b, p.n - 1, 16, rd, 2, &m) == -1);  /* RDATA cut */
    CHECK(dp__dnsmsg_answer(p.b, p.n - 12, 16, rd, 2, &m) == -1); /* record cut */
    CHECK(dp__dnsmsg_answer(NULL, 0, 16, rd, 2, &m) == -1);
    start(&p, 0, 1, "x.test", 16);
    p.n -= 4 + 8;    /* drop the question's name body and type/class */
    u16(&p, 0xC00C); /* the question's name points at itself */
    u16(&p, 16);
    u16(&p, 1);
    CHECK(dp__dnsmsg_answer(p.b, p.n, 16, rd, 2, &m) == -1);
    start(&p, 0, 1, "x.test", 16);
    rr(&p, NULL, 16, "\x01x", 2);
    p.b[5] = 0; /* no question */
    CHECK(dp__dnsmsg_answer(p.b, p.n, 16, rd, 2, &m) == -1);
    start(&p, 0, 1, "x.test", 16);
    unsigned char bad[] = {0xC0, 0xFF}; /* a CNAME pointing past the end */
    rr(&p, NULL, 5, bad, 2);
    CHECK(dp__dnsmsg_answer(p.b, p.n, 16, rd, 2, &m) == -1);
}

int main(void)
{
    RUN(V1_records_at_the_name);
    RUN(V4_cname_chain_followed);
    RUN(V1_nxdomain_and_cap);
    RUN(malformed_refused);
    return check_report();
}
