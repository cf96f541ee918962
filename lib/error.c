/* error.c: the fixed strings behind dp_code, and the helper that fills a dp_error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *dp_strerror(dp_code code)
{
    switch (code) {
    case DP_OK:
        return "success";
    case DP_ERR_NOMEM:
        return "out of memory";
    case DP_ERR_INVAL:
        return "invalid argument";
    case DP_ERR_MALFORMED:
        return "malformed";
    case DP_ERR_UNAUTHORIZED:
        return "unauthorized";
    case DP_ERR_DOMAIN:
        return "invalid domain name";
    case DP_ERR_KEY:
        return "unusable key";
    case DP_ERR_IO:
        return "input/output error";
    case DP_ERR_UNSUPPORTED:
        return "not supported";
    case DP_ERR_TOOBIG:
        return "too big";
    case DP_ERR_DNS:
        return "DNS failure";
    case DP_ERR_CRYPTO:
        return "cryptographic library failure";
    }
    return "unknown error";
}

void dp_error_clear(struct dp_error *err)
{
    if (!err) return;
    err->code = DP_OK;
    err->rule = NULL;
    err->offset = DP_NO_OFFSET;
    err->detail[0] = '\0';
}

dp_code dp__fail(struct dp_error *err, dp_code code, const char *rule, size_t offset,
                 const char *fmt, ...)
{
    if (!err) return code;
    err->code = code;
    err->rule = rule;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    return code;
}
