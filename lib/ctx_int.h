/* ctx_int.h: the layout of struct dp_ctx, private to the library. */
#ifndef DP_CTX_INT_H
#define DP_CTX_INT_H

#include <libpsl.h>

struct dp_ctx {
    const psl_ctx_t *psl; /* what look-ups use */
    psl_ctx_t *psl_owned; /* non-NULL when ours to free (psl_builtin() is libpsl's static) */
};

#endif
