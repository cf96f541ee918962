/* va_int.h: what the files of the validation authority share (va.c: the
 * queue, workers, Just-in-Time and limits; va_build.c: requests from the
 * CA's state). Not an interface for other layers: they see va.h. */
#ifndef CA_VA_INT_H
#define CA_VA_INT_H

#include <time.h>

#include "clock.h"
#include "va.h"
#include "check.h"

/* A VA thread's own handles (its checker: resolver, libcurl) and its
 * connections to remote perspectives. */
struct worker {
    struct checker chk;
    struct va *va;
    struct mpic *mpic; /* or NULL */
};

/* V7: 1 when the (record, account) pair key (check_fail_key) may be tried
 * again now; a failure counts when the RA stores it (va_result.fail_key). */
int va_fail_allowed(struct va *va, const char *key, int64_t now);

#endif
