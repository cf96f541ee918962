/*
 * fuzz_stub: libFuzzer target for the DNS stub's answer matching
 * (dp__stub_on_message in lib/stub.c). Over UDP any host can send a
 * datagram to the stub's port, and a resolver can answer anything over
 * TCP: a message must be taken only as the answer to the query in flight
 * with its ID, on its transport, repeating its question (in the exact case
 * it was asked in, over UDP), and the stub's books (slots, counts in
 * flight) must stay right whatever comes.
 *
 * Input: byte 0 picks the transport (bit 0: UDP), the connection a TCP
 * message arrives on (bit 1), whether to splice in a query's ID (bit 2)
 * and its question as asked (bit 3), and whether the callback asks to
 * follow a CNAME (bit 4); byte 1 picks the query; the rest is the message.
 * Splicing lets the fuzzer reach past the ID and question checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "stub_int.h"

#define NQ 4
static const char *const names[NQ] = {"a.example.com", "B.Example.ORG", "x.test",
                                      "_validation-persist.www.example.net"};

struct seen {
    const unsigned char *m;
    size_t len;
    int calls, chase;
};

static int cb(void *arg, size_t index, const char *asked, const unsigned char *pkt, size_t len,
              const char *fail, char *next, size_t next_cap)
{
    struct seen *sn = arg;
    sn->calls++;
    check(index < NQ, "an index of the batch");
    check(asked != NULL, "the name asked");
    check(fail || (pkt == sn->m && len == sn->len), "the answer is the message given");
    if (sn->chase && next && next_cap > 20) {
        strcpy(next, "c.example.net");
        return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dp__stub *stubs[2];
    if (size < 2) return 0;
    int udp = data[0] & 1;
    if (!stubs[udp]) stubs[udp] = dp__stub_new("127.0.0.1@53", udp, 1000, 8, NULL);
    struct dp__stub *s = stubs[udp];
    check(s != NULL, "a stub");
    struct sq q[NQ];
    size_t redo[NQ];
    memset(q, 0, sizeof q);
    struct seen sn = {0};
    sn.chase = (data[0] >> 4) & 1;
    struct run r = {s, names, NQ, NQ, 0, 16, q, redo, 0, cb, &sn};
    /* Every query in flight, as a batch has them after sending. */
    for (size_t i = 0; i < NQ; i++) {
        q[i].name = names[i];
        if (udp) {
            check(dp__stub_udp_enqueue(&r, i) == 0, "a UDP query queued");
        } else {
            check(dp__stub_to_wire(names[i], q[i].wire, &q[i].wlen) == 0, "a wire name");
            check(dp__stub_take_slot(&r, i) == 0, "a slot");
            q[i].tcp = 1;
            q[i].conn = (unsigned char)(i & 1);
            q[i].state = 1;
            r.in_flight++;
            s->c[q[i].conn].in_flight++;
        }
    }
    s->n_upend = 0; /* nothing is sent here */
    size_t len = size - 2;
    unsigned char *m = malloc(len ? len : 1);
    memcpy(m, data + 2, len);
    const struct sq *target = &q[data[1] % NQ];
    if ((data[0] & 4) && len >= 2)
        m[0] = (unsigned char)(target->id >> 8), m[1] = (unsigned char)target->id;
    if ((data[0] & 8) && len >= 12 + (size_t)target->wlen)
        memcpy(m + 12, target->wire, target->wlen);
    sn.m = m;
    sn.len = len;
    int k = udp ? -1 : (data[0] >> 1) & 1;
    dp__stub_on_message(&r, k, m, len);

    /* At most one query answered, only by a message with its ID. */
    size_t in_flight = 0, done = 0;
    for (size_t i = 0; i < NQ; i++) {
        in_flight += q[i].state == 1;
        if (q[i].state != 1) {
            done++;
            check(len >= 12 && (uint16_t)(m[0] << 8 | m[1]) == q[i].id, "answered by its ID");
            check(udp ? k < 0 : q[i].conn == k, "answered on its transport");
            check(len >= 12u + q[i].wlen + 4, "the question is there");
        }
    }
    check(done <= 1, "one message answers one query");
    check(done == 0 || sn.calls == 1 || q[0].state + q[1].state + q[2].state + q[3].state,
          "an answer reaches the callback unless asked again");
    check(in_flight == r.in_flight, "the run's count in flight");
    check(s->n_free + r.in_flight == s->max_in_flight, "every slot free or held");
    /* Back to an idle stub for the next input. */
    for (size_t i = 0; i < NQ; i++) {
        if (q[i].state == 1) dp__stub_release(&r, &q[i]);
        free(q[i].chased);
    }
    check(s->n_free == s->max_in_flight && r.in_flight == 0, "all given back");
    check(udp ? s->u_in_flight == 0 : s->c[0].in_flight == 0 && s->c[1].in_flight == 0,
          "the transport's count given back");
    free(m);
    return 0;
}
