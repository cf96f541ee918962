/* ra_problem.c: the RA's refusals (ra_int.h), shared by its files: each
 * fills a problem and returns -1. */
#include <stdarg.h>
#include <stdio.h>

#include "ra_int.h"

int ra_refuse(struct ra_problem *p, int status, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->detail, sizeof p->detail, fmt, ap);
    va_end(ap);
    p->status = status;
    p->type = type;
    return -1;
}
