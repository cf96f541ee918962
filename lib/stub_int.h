/* stub_int.h: what the stub's files share (stub.c: the batch loop;
 * stub_msg.c: slots, IDs and answers; stub_tcp.c: kept, pipelined
 * connections; stub_udp.c: datagrams). Not public, not outside the stub. */
#ifndef DP_STUB_INT_H
#define DP_STUB_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "stub.h"

#define STUB_MAX_HOPS 8  /* CNAME targets asked after the name itself */
#define STUB_MAX_TRIES 3 /* sends of one query when connections break */
#define STUB_IN_CAP (2 * 65538)
#define STUB_MAX_CONNS 4
#define STUB_PER_CONN 64 /* queries in flight a connection before the next is used */
/* In flight over UDP at most, whatever the caller asks: a burst of more
 * overflows a server's default socket buffer (~200 KB, charged ~1 KB or
 * more a datagram), and each loss waits a third of the timeout. 64 reaches
 * Knot's limit on loopback already. An answer's ID is looked for among
 * them. */
#define STUB_UDP_MAX 64
#define STUB_UDP_BATCH 64 /* datagrams a recvmmsg */
#define STUB_UDP_IN 1500  /* an answer larger (we send no EDNS: 512 at most) is not ours */

struct conn {
    int fd;
    int streaming;  /* the last turn read answers */
    size_t answers; /* since it was made */
    size_t in_flight;
    unsigned char *in; /* STUB_IN_CAP, allocated at the first connect */
    size_t in_len;
    unsigned char *out;
    size_t out_len, out_cap;
};

struct dp__stub {
    struct sockaddr_storage addr;
    socklen_t alen;
    unsigned timeout_ms, max_in_flight;
    unsigned n_conns, per_conn;
    uint16_t id_base; /* TCP only: a query's ID is id_base + its slot */
    int32_t *slots;   /* max_in_flight: the query (index + 1) in flight in each, 0 none */
    uint32_t *free_slots;
    size_t n_free;
    struct conn c[STUB_MAX_CONNS];
    char refused[200]; /* why a connect failed in this batch: none is tried again */
    /* UDP: first choice for every query; c[] for truncated answers. */
    int udp;
    int ufd;          /* a batch's connected socket, or -1 */
    int ustreaming;   /* the last turn read answers */
    int case_changed; /* a batch's answer repeated a question in another case */
    size_t u_in_flight;
    uint16_t *slot_id; /* max_in_flight: the random ID of the query in each slot */
    unsigned char rnd[512];
    size_t rnd_left;
    size_t *upend; /* queries framed and waiting to be sent */
    size_t n_upend;
    unsigned char *uin; /* STUB_UDP_BATCH answers of STUB_UDP_IN each */
    struct sq *sqs;     /* a batch's queries, kept for the next */
    size_t *redo;
    size_t sq_cap;
};

/* Small and reused from batch to batch: a fresh 4,096 of them at 1.3 KB
 * each cost more in page faults than the look-ups. */
struct sq {
    const char *name; /* asked now: the caller's name, or chased */
    char *chased;     /* a CNAME's target being asked (malloc), or NULL */
    double deadline;
    double resend_at; /* UDP: sent again (new ID) when unanswered by then */
    int state;        /* 0 to send, 1 in flight, 2 answered */
    unsigned char hops, tries, wlen, conn;
    unsigned char tcp; /* asked over TCP (always, or after a truncated UDP answer) */
    uint16_t id;
    unsigned char wire[255]; /* name in wire form */
};

struct run {
    struct dp__stub *s;
    const char *const *names;
    size_t n, next, in_flight;
    int qtype;
    struct sq *q;
    size_t *redo; /* queries to send again (a CNAME target, a broken connection) */
    size_t n_redo;
    dp__stub_cb cb;
    void *arg;
};

/* stub_msg.c */
int dp__stub_to_wire(const char *name, unsigned char *w, unsigned char *wlen);
int dp__stub_rnd(struct dp__stub *s, unsigned char *out, size_t n);
int dp__stub_take_slot(struct run *r, size_t i);
void dp__stub_release(struct run *r, const struct sq *q);
void dp__stub_fail(struct run *r, size_t i, const char *why);
size_t dp__stub_build_query(unsigned char *p, const struct sq *q, int qtype);
void dp__stub_on_message(struct run *r, int k, const unsigned char *m, size_t len);

/* stub_tcp.c */
void dp__stub_tcp_drop(struct conn *c);
int dp__stub_tcp_enqueue(struct run *r, size_t i, unsigned k);
void dp__stub_tcp_broken(struct run *r, unsigned k, const char *why);
int dp__stub_tcp_pick(struct run *r, char *why, size_t cap);
int dp__stub_tcp_read(struct run *r, unsigned k);
int dp__stub_tcp_flush(struct conn *c);

/* stub_udp.c */
int dp__stub_udp_enqueue(struct run *r, size_t i);
int dp__stub_udp_open(struct dp__stub *s, char *why, size_t cap);
void dp__stub_udp_failed(struct run *r, const char *why);
int dp__stub_udp_flush(struct run *r, char *why, size_t cap);
int dp__stub_udp_read(struct run *r, char *why, size_t cap);

#endif
