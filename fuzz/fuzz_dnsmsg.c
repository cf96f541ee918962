/*
 * fuzz_dnsmsg: libFuzzer target for the DNS response reader (lib/dnsmsg.c).
 * libunbound hands it packets it built itself, but a reader of wire data
 * must hold on any bytes: every span it returns lies inside the input and
 * within the cap, for TXT, CAA and CNAME alike.
 */
#include <stdint.h>
#include <string.h>

#include "dnsmsg.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int types[] = {16, 257, 5};
    struct dp_span rd[8];
    for (size_t t = 0; t < 3; t++) {
        struct dp__dnsmsg m;
        if (dp__dnsmsg_answer(data, size, types[t], rd, 8, &m) < 0) continue;
        check(m.n <= 8, "count within the cap");
        check(memchr(m.canon, '\0', sizeof m.canon) != NULL, "canonical name terminated");
        for (size_t i = 0; i < m.n; i++)
            check((const uint8_t *)rd[i].ptr >= data &&
                      (const uint8_t *)rd[i].ptr + rd[i].len <= data + size,
                  "RDATA inside the packet");
    }
    return 0;
}
