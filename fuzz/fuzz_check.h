/* fuzz_check.h: the fuzz targets' invariant check: a violation aborts, so
 * libFuzzer keeps the input that caused it. */
#ifndef DP_FUZZ_CHECK_H
#define DP_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static inline void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant violated: %s\n", what);
        abort();
    }
}

#endif
