/* clock.h: milliseconds on the monotonic clock, for deadlines and timings
 * across the CA's files. */
#ifndef CA_CLOCK_H
#define CA_CLOCK_H

#include <time.h>

static inline double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
