/*
 * test_proxy.c: the PROXY protocol v2 reader and the trusted-proxy list
 * (ca/http/proxy.c) as tables: CIDRs parsed and matched (IPv4-mapped IPv6
 * included), headers judged at every length they may arrive in.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proxy.h"

static void cidrs(void)
{
    static const struct {
        const char *s;
        int ok;
    } t[] = {
        {"127.0.0.1", 1},   {"10.0.0.0/8", 1},     {"0.0.0.0/0", 1},      {"2001:db8::/32", 1},
        {"::1", 1},         {"10.0.0.1/8", 0},     {"10.0.0.0/33", 0},    {"10.0.0.0/", 0},
        {"10.0.0.0/-1", 0}, {"10.0.0.0/8x", 0},    {"example.test", 0},   {"", 0},
        {"/8", 0},          {"2001:db8::1/32", 0}, {"2001:db8::/129", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct proxy_cidr c;
        int got = proxy_cidr_parse(t[i].s, &c) == 0;
        if (got != t[i].ok) fprintf(stderr, "cidr '%s': got %d\n", t[i].s, got);
        CHECK(got == t[i].ok);
    }
}

static int trusted4(const struct proxy_cidr *l, size_t n, const char *ip)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return proxy_trusted(l, n, (struct sockaddr *)&sa);
}

static int trusted6(const struct proxy_cidr *l, size_t n, const char *ip)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, ip, &sa.sin6_addr);
    return proxy_trusted(l, n, (struct sockaddr *)&sa);
}

static void matching(void)
{
    struct proxy_cidr l[3];
    CHECK(proxy_cidr_parse("192.0.2.0/25", &l[0]) == 0);
    CHECK(proxy_cidr_parse("2001:db8:1::/48", &l[1]) == 0);
    CHECK(proxy_cidr_parse("198.51.100.7", &l[2]) == 0);
    CHECK(trusted4(l, 3, "192.0.2.0") && trusted4(l, 3, "192.0.2.127"));
    CHECK(!trusted4(l, 3, "192.0.2.128") && !trusted4(l, 3, "192.0.3.1"));
    CHECK(trusted4(l, 3, "198.51.100.7") && !trusted4(l, 3, "198.51.100.8"));
    CHECK(trusted6(l, 3, "2001:db8:1:ffff::1") && !trusted6(l, 3, "2001:db8:2::1"));
    /* An IPv4 client on a dual-stack socket is matched as IPv4. */
    CHECK(trusted6(l, 3, "::ffff:192.0.2.5") && !trusted6(l, 3, "::ffff:192.0.2.200"));
    CHECK(!trusted4(l, 0, "192.0.2.1"));
}

static const unsigned char SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static size_t header(unsigned char *b, unsigned char vc, unsigned char fam, const void *addr,
                     size_t alen)
{
    memcpy(b, SIG, 12);
    b[12] = vc;
    b[13] = fam;
    b[14] = (unsigned char)(alen >> 8);
    b[15] = (unsigned char)alen;
    memcpy(b + 16, addr, alen);
    return 16 + alen;
}

/* The verdict at every length from 0 to n: MORE until n, then want. */
static enum proxy_verdict arrive(const unsigned char *b, size_t n, size_t *need,
                                 struct sockaddr_storage *cl, socklen_t *len)
{
    for (size_t have = 0; have < n; have++) {
        enum proxy_verdict v = proxy_v2_parse(b, have, need, cl, len);
        if (v != PROXY_MORE || *need <= have) return PROXY_BAD; /* judged too early */
    }
    return proxy_v2_parse(b, n, need, cl, len);
}

static void headers(void)
{
    unsigned char b[600];
    size_t need;
    struct sockaddr_storage cl;
    socklen_t len;
    /* TCP over IPv4: 203.0.113.9:40000 -> 192.0.2.1:443, then a TLS record. */
    unsigned char a4[12] = {203, 0, 113, 9, 192, 0, 2, 1, 0x9C, 0x40, 0x01, 0xBB};
    size_t n = header(b, 0x21, 0x11, a4, sizeof a4);
    b[n] = 0x16;
    CHECK(arrive(b, n, &need, &cl, &len) == PROXY_FOUND && need == n);
    const struct sockaddr_in *in = (const struct sockaddr_in *)&cl;
    char ip[64] = "";
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    CHECK(len == sizeof *in && in->sin_family == AF_INET && !strcmp(ip, "203.0.113.9") &&
          ntohs(in->sin_port) == 40000);
    /* More octets (the TLS record after it) change nothing. */
    CHECK(proxy_v2_parse(b, n + 1, &need, &cl, &len) == PROXY_FOUND && need == n);
    /* TCP over IPv6, with a TLV after the addresses. */
    unsigned char a6[36 + 7] = {
        0x20,        0x01,        0x0d,        0xb8,        [15] = 1, [16] = 0x20,
        [17] = 0x01, [32] = 0x30, [33] = 0x39, [36] = 0x04, [38] = 4};
    n = header(b, 0x21, 0x21, a6, sizeof a6);
    CHECK(arrive(b, n, &need, &cl, &len) == PROXY_FOUND && need == n);
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&cl;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    CHECK(len == sizeof *in6 && !strcmp(ip, "2001:db8::1") && ntohs(in6->sin6_port) == 12345);
    /* LOCAL (HAProxy's own health check): found, no client named. */
    n = header(b, 0x20, 0x00, "", 0);
    CHECK(arrive(b, n, &need, &cl, &len) == PROXY_FOUND && need == 16 && len == 0);
    /* PROXY with an unspecified family or a UNIX client: the proxy's own. */
    n = header(b, 0x21, 0x00, "", 0);
    CHECK(arrive(b, n, &need, &cl, &len) == PROXY_FOUND && len == 0);
    /* Not a header: a TLS ClientHello, at its first octet. */
    const unsigned char hello[] = {0x16, 0x03, 0x01};
    CHECK(proxy_v2_parse(hello, 1, &need, &cl, &len) == PROXY_NONE);
    /* Version 1's text ("PROXY TCP4 ...") is not v2: not read. */
    CHECK(proxy_v2_parse((const unsigned char *)"PROXY TCP4", 10, &need, &cl, &len) == PROXY_NONE);
    /* A signature that goes wrong late. */
    memcpy(b, SIG, 12);
    b[11] = 'X';
    CHECK(proxy_v2_parse(b, 11, &need, &cl, &len) == PROXY_MORE &&
          proxy_v2_parse(b, 12, &need, &cl, &len) == PROXY_NONE);
    /* Refused: version 1 in the binary form, an unknown command, too long,
     * addresses shorter than their family, UDP. */
    n = header(b, 0x11, 0x11, a4, sizeof a4);
    CHECK(proxy_v2_parse(b, n, &need, &cl, &len) == PROXY_BAD);
    n = header(b, 0x22, 0x11, a4, sizeof a4);
    CHECK(proxy_v2_parse(b, n, &need, &cl, &len) == PROXY_BAD);
    header(b, 0x21, 0x11, a4, sizeof a4);
    b[14] = 0x02, b[15] = 0x01; /* 513 */
    CHECK(proxy_v2_parse(b, 16, &need, &cl, &len) == PROXY_BAD);
    n = header(b, 0x21, 0x11, a4, 8);
    CHECK(arrive(b, n, &need, &cl, &len) == PROXY_BAD);
    n = header(b, 0x21, 0x21, a6, 12);
    CHECK(arrive(b, n, &need, &cl, &len) == PROXY_BAD);
    n = header(b, 0x21, 0x12, a4, sizeof a4);
    CHECK(arrive(b, n, &need, &cl, &len) == PROXY_BAD);
}

static void forwarded(void)
{
    static const struct {
        const char *xff, *fwd, *want; /* want NULL: none */
    } t[] = {
        {"203.0.113.9", NULL, "203.0.113.9"},
        {"10.6.6.6, 203.0.113.9", NULL, "203.0.113.9"}, /* the client's own first: not it */
        {"10.6.6.6,203.0.113.9:4711", NULL, "203.0.113.9"},
        {" 2001:db8::7 ", NULL, "2001:db8::7"},
        {"[2001:db8::7]:443", NULL, "2001:db8::7"},
        {"10.6.6.6, unknown", NULL, NULL},
        {"10.6.6.6, ", NULL, NULL},
        {"", "for=192.0.2.60;proto=https", "192.0.2.60"},
        {NULL, "for=10.1.1.1, for=\"[2001:db8:cafe::17]:4711\";by=203.0.113.43",
         "2001:db8:cafe::17"},
        {NULL, "For=\"192.0.2.43:47011\"", "192.0.2.43"},
        {NULL, "for=_hidden", NULL},
        {NULL, "by=203.0.113.43", NULL},
        {NULL, NULL, NULL},
        {"198.51.100.1", "for=192.0.2.60", "198.51.100.1"}, /* X-Forwarded-For first */
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char out[64] = "";
        int got = proxy_forwarded_client(t[i].xff, t[i].fwd, out, sizeof out);
        int good = t[i].want ? got == 1 && !strcmp(out, t[i].want) : got == 0;
        if (!good) fprintf(stderr, "row %zu: got %d '%s'\n", i, got, out);
        CHECK(good);
    }
}

int main(void)
{
    RUN(cidrs);
    RUN(matching);
    RUN(headers);
    RUN(forwarded);
    return check_report();
}
