/*
 * fuzz_mh_parse: libFuzzer target for the perspective client's answer
 * reader (mh_parse in ca/mpic_http.c). A perspective is another host: its
 * bytes are input like any other. Whatever they are: 0, 1 or -1; a refusal
 * says why; a complete answer's body lies inside the bytes read, and the
 * same answer read alone (without what followed it) parses the same.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "mpic_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MH_BUF - 1) size = MH_BUF - 1; /* what the connection's buffer holds */
    const char *buf = (const char *)data;
    struct mh_head h;
    char why[200] = "";
    int r = mh_parse(buf, size, &h, why, sizeof why);
    check(r >= -1 && r <= 1, "0, 1 or -1");
    check(r != -1 || why[0], "a refusal says why");
    if (r != 1) return 0;
    check(h.status >= 200 && h.status <= 599, "a final status");
    check(h.body_off >= 4 && h.body_off <= size, "the body starts inside");
    check(h.body_len <= size - h.body_off, "the body ends inside");
    check(!memcmp(buf + h.body_off - 4, "\r\n\r\n", 4), "the body follows the blank line");
    struct mh_head alone;
    char why2[200] = "";
    int r2 = mh_parse(buf, h.body_off + h.body_len, &alone, why2, sizeof why2);
    check(r2 == 1 && alone.status == h.status && alone.body_off == h.body_off &&
              alone.body_len == h.body_len,
          "the answer alone parses the same");
    check(h.close || !alone.close, "extra bytes only ever add close");
    return 0;
}
