/* txt.c: TXT character-strings (R2): split for writers, join for readers, zone presentation. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

size_t dp_txt_count(size_t len)
{
    return len == 0 ? 1 : (len + DP_TXT_STRING_MAX - 1) / DP_TXT_STRING_MAX;
}

size_t dp_txt_split(const char *value, size_t len, struct dp_span *out, size_t max)
{
    size_t n = dp_txt_count(len);
    if (!out || n > max || (!value && len)) return 0;
    for (size_t i = 0; i < n; i++) {
        size_t off = i * DP_TXT_STRING_MAX;
        out[i].ptr = value + off;
        out[i].len = len - off < DP_TXT_STRING_MAX ? len - off : DP_TXT_STRING_MAX;
    }
    return n;
}

dp_code dp_txt_join(const struct dp_txt_rr *rr, char *buf, size_t cap, size_t *outlen,
                    struct dp_error *err)
{
    if (!rr || !buf || cap == 0 || (!rr->strings && rr->n_strings))
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    size_t o = 0;
    for (size_t i = 0; i < rr->n_strings; i++) {
        size_t l = rr->strings[i].len;
        if (l > cap - 1 - o || o + l > DP_TXT_VALUE_MAX)
            return dp__fail(err, DP_ERR_TOOBIG, "R2", o, "TXT value longer than %zu octets",
                            cap - 1 < DP_TXT_VALUE_MAX ? cap - 1 : (size_t)DP_TXT_VALUE_MAX);
        memcpy(buf + o, rr->strings[i].ptr, l);
        o += l;
    }
    buf[o] = '\0';
    if (outlen) *outlen = o;
    return DP_OK;
}

char *dp_txt_presentation_alloc(const char *value, size_t len)
{
    if (!value && len) return NULL;
    /* Worst case: every octet becomes \DDD, plus quotes and separators. */
    size_t n = dp_txt_count(len);
    char *out = malloc(len * 4 + n * 3 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t off = i * DP_TXT_STRING_MAX;
        size_t l = len - off < DP_TXT_STRING_MAX ? len - off : DP_TXT_STRING_MAX;
        if (i) out[o++] = ' ';
        out[o++] = '"';
        for (size_t k = 0; k < l; k++) {
            unsigned char c = (unsigned char)value[off + k];
            if (c == '"' || c == '\\') {
                out[o++] = '\\';
                out[o++] = (char)c;
            } else if (c < 0x20 || c > 0x7e) {
                out[o++] = '\\';
                out[o++] = (char)('0' + c / 100);
                out[o++] = (char)('0' + c / 10 % 10);
                out[o++] = (char)('0' + c % 10);
            } else {
                out[o++] = (char)c;
            }
        }
        out[o++] = '"';
    }
    out[o] = '\0';
    return out;
}
