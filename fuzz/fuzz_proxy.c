/*
 * fuzz_proxy: libFuzzer target for the PROXY protocol v2 reader and the
 * trusted-proxy list (ca/http/proxy.c). Every prefix of the input is judged
 * as the acceptor would see it arrive: no crash; MORE asks for more than it
 * has and never past the cap; FOUND never claims more than it has; a
 * verdict reached stays the same as octets arrive (the acceptor reads no
 * further); an address is IPv4 or IPv6 sized. The input's start is also a
 * CIDR, matched against an address taken from its end, and two header
 * values for the X-Forwarded-For/Forwarded reader, whose every answer must
 * be an IP address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum proxy_verdict first = PROXY_MORE;
    size_t first_need = 0;
    for (size_t have = 0; have <= size && have <= PROXY_MAX_HEADER + 8; have++) {
        size_t need = 0;
        struct sockaddr_storage client;
        socklen_t len = 99;
        enum proxy_verdict v = proxy_v2_parse(data, have, &need, &client, &len);
        check(v == PROXY_MORE || v == PROXY_NONE || v == PROXY_FOUND || v == PROXY_BAD,
              "a known verdict");
        if (v == PROXY_MORE) check(need > have && need <= PROXY_MAX_HEADER, "MORE asks for more");
        if (v == PROXY_FOUND) {
            check(need <= have && need >= 16, "FOUND within what came");
            check(len == 0 || len == sizeof(struct sockaddr_in) ||
                      len == sizeof(struct sockaddr_in6),
                  "an address of a known size");
        }
        if (first != PROXY_MORE) {
            check(v == first, "a verdict does not change as octets arrive");
            if (v == PROXY_FOUND) check(need == first_need, "the same header length");
        } else if (v != PROXY_MORE) {
            first = v;
            first_need = need;
        }
    }
    /* The input as two header values (split at its first NUL). */
    char hdr[600];
    size_t hl = size < sizeof hdr - 1 ? size : sizeof hdr - 1;
    memcpy(hdr, data, hl);
    hdr[hl] = '\0';
    const char *second = hl > strlen(hdr) ? hdr + strlen(hdr) + 1 : "";
    char client[64];
    memset(client, 'x', sizeof client);
    int got = proxy_forwarded_client(hdr, second, client, sizeof client);
    if (got) {
        unsigned char bin[16];
        check(memchr(client, '\0', sizeof client) != NULL, "client terminated");
        check(inet_pton(AF_INET, client, bin) == 1 || inet_pton(AF_INET6, client, bin) == 1,
              "a client is an IP address");
    }
    got = proxy_forwarded_client(NULL, hdr, client, sizeof client);
    check(got == 0 || got == 1, "a yes or a no");
    char cidr[48];
    size_t l = size < sizeof cidr - 1 ? size : sizeof cidr - 1;
    memcpy(cidr, data, l);
    cidr[l] = '\0';
    struct proxy_cidr c;
    if (proxy_cidr_parse(cidr, &c) == 0 && size >= 16) {
        check(c.bits <= (c.family == AF_INET ? 32u : 128u), "prefix length in range");
        struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
        memcpy(&sa6.sin6_addr, data + size - 16, 16);
        int t = proxy_trusted(&c, 1, (struct sockaddr *)&sa6);
        check(t == 0 || t == 1, "a yes or a no");
    }
    return 0;
}
