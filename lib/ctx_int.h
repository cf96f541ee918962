/* ctx_int.h: the layout of struct dp_ctx, private to the library. */
#ifndef DP_CTX_INT_H
#define DP_CTX_INT_H

#include <libpsl.h>

#include "internal.h"

struct dp_ctx {
    const psl_ctx_t *psl; /* what look-ups use */
    psl_ctx_t *psl_owned; /* non-NULL when ours to free (psl_builtin() is libpsl's static) */
    dp_log_fn log;        /* NULL: events are dropped before formatting */
    void *log_arg;
    enum dp_log_level log_max;
};

/* Sends one event to ctx's log callback, if it takes this level. */
void dp__log(const struct dp_ctx *ctx, enum dp_log_level level, const char *module, const char *fmt,
             ...) DP_PRINTF(4, 5);

#endif
