/* ctx.c: the library context (the library keeps no global state: it lives here). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <libpsl.h>

#include "internal.h"
#include "ctx_int.h"

struct dp_ctx *dp_ctx_new(struct dp_error *err)
{
    dp_error_clear(err);
    struct dp_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    /* psl_latest picks the newer of the system file and the built-in list. */
    ctx->psl_owned = psl_latest(NULL);
    ctx->psl = ctx->psl_owned ? ctx->psl_owned : psl_builtin();
    if (!ctx->psl) {
        free(ctx);
        dp__fail(err, DP_ERR_IO, "S3", DP_NO_OFFSET, "no Public Suffix List available");
        return NULL;
    }
    return ctx;
}

void dp_ctx_free(struct dp_ctx *ctx)
{
    if (!ctx) return;
    psl_free(ctx->psl_owned);
    free(ctx);
}

dp_code dp_ctx_load_psl(struct dp_ctx *ctx, const char *file, struct dp_error *err)
{
    dp_error_clear(err);
    if (!ctx || !file) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    psl_ctx_t *p = psl_load_file(file);
    if (!p)
        return dp__fail(err, DP_ERR_IO, "S3", DP_NO_OFFSET, "cannot load Public Suffix List %s",
                        file);
    psl_free(ctx->psl_owned);
    ctx->psl = ctx->psl_owned = p;
    return DP_OK;
}

void dp_ctx_set_log(struct dp_ctx *ctx, dp_log_fn fn, void *arg, enum dp_log_level max)
{
    if (!ctx) return;
    ctx->log = fn;
    ctx->log_arg = arg;
    ctx->log_max = max;
}

void dp__log(const struct dp_ctx *ctx, enum dp_log_level level, const char *module, const char *fmt,
             ...)
{
    if (!ctx || !ctx->log || level > ctx->log_max) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_arg, level, module, msg);
}
