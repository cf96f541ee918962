/*
 * proxy.c: the PROXY protocol v2 header and the trusted-proxy list
 * (proxy.h). Nothing here reads a socket: http_accept.c feeds it octets.
 */
#define _GNU_SOURCE /* memrchr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy.h"

static const unsigned char SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

int proxy_cidr_parse(const char *s, struct proxy_cidr *out)
{
    char a[64];
    const char *slash = strchr(s, '/');
    size_t l = slash ? (size_t)(slash - s) : strlen(s);
    if (l == 0 || l >= sizeof a) return -1;
    memcpy(a, s, l);
    a[l] = '\0';
    memset(out, 0, sizeof *out);
    unsigned max;
    if (inet_pton(AF_INET, a, out->addr) == 1)
        out->family = AF_INET, max = 32;
    else if (inet_pton(AF_INET6, a, out->addr) == 1)
        out->family = AF_INET6, max = 128;
    else
        return -1;
    out->bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > (long)max) return -1;
        out->bits = (unsigned)b;
    }
    for (unsigned i = out->bits; i < max; i++) /* host bits set: a typo */
        if (out->addr[i / 8] & (0x80 >> (i % 8))) return -1;
    return 0;
}

static int inside(const struct proxy_cidr *c, int family, const unsigned char *addr)
{
    if (c->family != family) return 0;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, full)) return 0;
    return !rest || ((c->addr[full] ^ addr[full]) & (0xFF00 >> rest) & 0xFF) == 0;
}

int proxy_trusted(const struct proxy_cidr *list, size_t n, const struct sockaddr *sa)
{
    int family = sa->sa_family;
    const unsigned char *addr;
    if (family == AF_INET) {
        addr = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (family == AF_INET6) {
        addr = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        if (!memcmp(addr, mapped, 12)) family = AF_INET, addr += 12;
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (inside(&list[i], family, addr)) return 1;
    return 0;
}

enum proxy_verdict proxy_v2_parse(const unsigned char *buf, size_t have, size_t *need,
                                  struct sockaddr_storage *client, socklen_t *client_len)
{
    *client_len = 0;
    size_t sig = have < sizeof SIG ? have : sizeof SIG;
    if (memcmp(buf, SIG, sig)) return PROXY_NONE;
    if (have < 16) {
        *need = 16;
        return PROXY_MORE;
    }
    size_t len = (size_t)buf[14] << 8 | buf[15];
    if ((buf[12] & 0xF0) != 0x20 || (buf[12] & 0x0F) > 1 || 16 + len > PROXY_MAX_HEADER)
        return PROXY_BAD;
    *need = 16 + len;
    if (have < *need) return PROXY_MORE;
    if ((buf[12] & 0x0F) == 0) return PROXY_FOUND; /* LOCAL: the proxy's own */
    const unsigned char *a = buf + 16;
    memset(client, 0, sizeof *client);
    switch (buf[13]) {
    case 0x11: { /* TCP over IPv4: source, destination, source port, destination port */
        if (len < 12) return PROXY_BAD;
        struct sockaddr_in *in = (struct sockaddr_in *)client;
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, a, 4);
        memcpy(&in->sin_port, a + 8, 2);
        *client_len = sizeof *in;
        return PROXY_FOUND;
    }
    case 0x21: { /* TCP over IPv6 */
        if (len < 36) return PROXY_BAD;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)client;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, a, 16);
        memcpy(&in6->sin6_port, a + 32, 2);
        *client_len = sizeof *in6;
        return PROXY_FOUND;
    }
    case 0x00: /* UNSPEC */
    case 0x31: /* a UNIX socket's client: the proxy's own address stands */
        return PROXY_FOUND;
    default: /* UDP, or a family this server cannot name */
        return PROXY_BAD;
    }
}

/* The address in one list element, without quotes, brackets, port or
 * spaces, into out when it is an IP address. */
static int one_address(const char *b, const char *e, char *out, size_t cap)
{
    while (b < e && (*b == ' ' || *b == '\t'))
        b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e - b >= 2 && *b == '"' && e[-1] == '"') b++, e--;
    char a[64];
    if (*b == '[') { /* [v6] or [v6]:port */
        const char *rb = memchr(b, ']', (size_t)(e - b));
        if (!rb) return 0;
        b++, e = rb;
    } else if (memchr(b, ':', (size_t)(e - b)) == memrchr(b, ':', (size_t)(e - b))) {
        const char *colon = memchr(b, ':', (size_t)(e - b)); /* v4:port */
        if (colon) e = colon;
    }
    if (e <= b || (size_t)(e - b) >= sizeof a) return 0;
    memcpy(a, b, (size_t)(e - b));
    a[e - b] = '\0';
    unsigned char bin[16];
    int ok = inet_pton(AF_INET, a, bin) == 1 || inet_pton(AF_INET6, a, bin) == 1;
    if (ok) snprintf(out, cap, "%s", a);
    return ok;
}

int proxy_forwarded_client(const char *xff, const char *forwarded, char *out, size_t cap)
{
    if (xff && *xff) { /* its last element: the one our proxy added */
        const char *comma = strrchr(xff, ',');
        return one_address(comma ? comma + 1 : xff, xff + strlen(xff), out, cap);
    }
    if (!forwarded || !*forwarded) return 0;
    /* RFC 7239: elements by ",", pairs by ";"; the last element's for=. */
    const char *el = strrchr(forwarded, ',');
    el = el ? el + 1 : forwarded;
    for (const char *p = el; *p;) {
        const char *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p > 4 && !strncasecmp(p, "for=", 4)) return one_address(p + 4, end, out, cap);
        p = *end ? end + 1 : end;
    }
    return 0;
}
