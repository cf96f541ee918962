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

#endif
