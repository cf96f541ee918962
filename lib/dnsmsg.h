/* dnsmsg.h: reads the answer out of a DNS response in wire form (RFC 1035
 * section 4), for resolver.c. Not public. */
#ifndef DP_DNSMSG_H
#define DP_DNSMSG_H

#include <stddef.h>

#include "dnspersist/txt.h"

struct dp__dnsmsg {
    int rcode;        /* the header's RCODE */
    size_t n;         /* records of the type at the end of the CNAME chain */
    int too_many;     /* more than the cap passed in */
    char canon[1024]; /* that name, when a CNAME led to it; "" otherwise */
};

/* Follows the CNAME chain in the answer section from the question's name
 * (16 links at most) and points rd[0..n) at the RDATA of each record of
 * qtype owned by its end; rd points into msg. 0, or -1 when msg is not a
 * well-formed response. */
int dp__dnsmsg_answer(const unsigned char *msg, size_t len, int qtype, struct dp_span *rd,
                      size_t cap, struct dp__dnsmsg *out);

#endif
