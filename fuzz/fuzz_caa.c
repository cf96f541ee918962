/*
 * fuzz_caa: libFuzzer target for the CAA decision (ca/caa.c). The input is
 * a sequence of CAA RDATAs, each behind a one-byte length, as DNS hands them
 * over. Whatever the bytes: no crash, every stored property within its caps,
 * the decision is 0 or 1, a refusal says why, and too many properties always
 * refuse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caa.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ids[] = {"ca.test", "backup.ca.test"};
    static const char *const methods[] = {"dns-persist-01", "dns-01", "http-01"};
    struct caa_rrset *set = calloc(1, sizeof *set);
    if (!set) return 0;
    size_t i = 0;
    while (i < size) {
        size_t len = data[i++];
        if (len > size - i) len = size - i;
        (void)caa_add(set, data + i, len); /* a refusal is the VA's to act on */
        i += len;
    }
    check(set->n <= CAA_MAX_PROPS, "properties within the cap");
    for (size_t k = 0; k < set->n; k++) {
        check(memchr(set->p[k].tag, '\0', sizeof set->p[k].tag) != NULL, "tag terminated");
        check(set->p[k].value_len <= CAA_MAX_VALUE, "value within the cap");
    }
    for (int wild = 0; wild < 2; wild++)
        for (size_t m = 0; m < 3; m++) {
            char why[256] = "";
            int r = caa_permits(set, ids, 2, wild, "https://ca.test/acme/acct/1", methods[m], why,
                                sizeof why);
            check(r == 0 || r == 1, "a yes or a no");
            check(r == 1 || why[0], "a refusal says why");
            check(memchr(why, '\0', sizeof why) != NULL, "why terminated");
            if (set->too_many) check(r == 0, "too many properties refuse");
        }
    free(set);
    return 0;
}
