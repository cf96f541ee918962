/*
 * ctx: the caller-owned library context. The library keeps no global state:
 * whatever would otherwise be global (the Public Suffix List, later the
 * resolver and HTTP handles) hangs off a struct dp_ctx. A context may be
 * shared read-only between threads once built.
 */
#ifndef DNSPERSIST_CTX_H
#define DNSPERSIST_CTX_H

#include "error.h"

struct dp_ctx;

/* New context with the system's Public Suffix List (libpsl's latest, else
 * its built-in copy). NULL on failure with err filled. */
DP_API struct dp_ctx *dp_ctx_new(struct dp_error *err);

/* Frees ctx; accepts NULL. */
DP_API void dp_ctx_free(struct dp_ctx *ctx);

/* Replaces the Public Suffix List with one read from file (the text or
 * DAFSA format libpsl reads). DP_OK, DP_ERR_IO. */
DP_API dp_code dp_ctx_load_psl(struct dp_ctx *ctx, const char *file, struct dp_error *err);

/* Library events a caller may want in its own log (the library never
 * prints). module is the library module ("verify", ...); msg is one line,
 * valid only during the call. Called on the thread doing the work: the
 * callback must be thread-safe when the context is shared. */
enum dp_log_level { DP_LOG_ERROR, DP_LOG_WARNING, DP_LOG_INFO, DP_LOG_DEBUG };
typedef void (*dp_log_fn)(void *arg, enum dp_log_level level, const char *module, const char *msg);

/* Sets (fn NULL: removes) the log callback and the most detailed level it
 * receives. Set it before sharing ctx between threads. */
DP_API void dp_ctx_set_log(struct dp_ctx *ctx, dp_log_fn fn, void *arg, enum dp_log_level max);

#endif
