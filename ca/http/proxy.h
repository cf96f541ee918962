/*
 * proxy.h: a client's own address behind a load balancer. The PROXY
 * protocol version 2 header (HAProxy's proxy-protocol.txt, section 2.2)
 * that a trusted proxy (send-proxy-v2) puts before a connection's first
 * byte, and the list of addresses trusted to send one. Pure: bytes in,
 * verdict out, so it is unit-tested and fuzzed apart from any socket.
 */
#ifndef CA_HTTP_PROXY_H
#define CA_HTTP_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

/* The longest header taken: 16 fixed octets and up to 512 of addresses
 * and TLVs (HAProxy sends 12 or 36 and a few TLVs). */
#define PROXY_MAX_HEADER (16 + 512)
#define PROXY_MAX_TRUSTED 16

struct proxy_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned bits;
};

/* "192.0.2.0/24", "2001:db8::/32", or one address: 0, or -1 when s is
 * not that (the host bits must be zero: a typo is not widened). */
int proxy_cidr_parse(const char *s, struct proxy_cidr *out);
/* 1 when sa (IPv4, IPv6, or IPv4-mapped IPv6) is inside one of list. */
int proxy_trusted(const struct proxy_cidr *list, size_t n, const struct sockaddr *sa);

enum proxy_verdict {
    PROXY_MORE,  /* could be a header: wait until *need octets are in */
    PROXY_NONE,  /* no PROXY v2 header: the octets are the client's own */
    PROXY_FOUND, /* a header of *need octets; *client set when it names one */
    PROXY_BAD    /* a v2 signature with a header no server may accept */
};
/* Judges the first have octets of a connection. With PROXY_FOUND, *client
 * (and *client_len) hold the client's address for a PROXY command over
 * TCP; for LOCAL (the proxy's own health check) or an unspecified or
 * UNIX family, *client_len is 0: the connection is the proxy's own. */
enum proxy_verdict proxy_v2_parse(const unsigned char *buf, size_t have, size_t *need,
                                  struct sockaddr_storage *client, socklen_t *client_len);

/* The client a TLS-terminating proxy names in its request headers: the
 * last element of the last X-Forwarded-For header (the one it appended;
 * any before it came from the client), else the for= of the last element
 * of the last Forwarded header (RFC 7239). Into out as text when it is an
 * IPv4 or IPv6 address (quotes, brackets and port dropped): 1, or 0. */
int proxy_forwarded_client(const char *xff, const char *forwarded, char *out, size_t cap);

#endif
