/* stub.h: queries pipelined to a forwarder, over kept TCP connections
 * (RFC 7766) or over UDP (sendmmsg/recvmmsg, random ports, IDs and case),
 * for resolver.c when it is "tcp:ADDR" or "udp:ADDR" with no trust anchor
 * and no cache. Not public. */
#ifndef DP_STUB_H
#define DP_STUB_H

#include <stddef.h>

#include "dnspersist/error.h"

struct dp__stub;

/* addr is "ADDR[@PORT]" (an IPv4 or IPv6 literal, port 53 by default);
 * udp: UDP first (TCP for truncated answers), else TCP only. NULL with err
 * set when addr is not an address. Nothing connects until a batch. */
struct dp__stub *dp__stub_new(const char *addr, int udp, unsigned timeout_ms,
                              unsigned max_in_flight, struct dp_error *err);
void dp__stub_free(struct dp__stub *s);

/* One answer: the response to asked (the name itself, or the target of a
 * CNAME the caller asked to follow), or fail set and pkt NULL. Returns 0
 * when the name is answered, or 1 after writing into next the name to ask
 * instead (a CNAME's target; the stub bounds how often). */
typedef int (*dp__stub_cb)(void *arg, size_t index, const char *asked, const unsigned char *pkt,
                           size_t len, const char *fail, char *next, size_t next_cap);

/* Asks every name of names[0..n) for qtype, at most max_in_flight at a
 * time, and calls cb until each is answered (failures included). DP_OK
 * then; the stub itself failing still answers every name first. */
dp_code dp__stub_batch(struct dp__stub *s, const char *const *names, size_t n, int qtype,
                       dp__stub_cb cb, void *arg, struct dp_error *err);

#endif
