/*
 * metrics_process.c: the process_* figures every Prometheus client library
 * exports (CPU, memory, descriptors, start time), read from /proc at each
 * scrape: nothing is kept between scrapes.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics.h"

static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    char line[256];
    long long bt = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &bt) == 1) break;
    fclose(f);
    return bt;
}

int metrics_process_read(struct metrics_process *p)
{
    memset(p, 0, sizeof *p);
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields start after
     * the last ')'. utime is field 14, stime 15, starttime 22, vsize 23,
     * rss 24 (pages). */
    char *s = strrchr(buf, ')');
    if (!s) return -1;
    unsigned long long ut, st, start, vsize;
    long long rss;
    if (sscanf(s + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %lld",
               &ut, &st, &start, &vsize, &rss) != 5)
        return -1;
    double tck = (double)sysconf(_SC_CLK_TCK);
    p->cpu_seconds = (double)(ut + st) / tck;
    p->start_time = (double)boot_time() + (double)start / tck;
    p->virtual_bytes = (double)vsize;
    p->resident_bytes = (double)rss * (double)sysconf(_SC_PAGESIZE);
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long k = 0;
        while (readdir(d))
            k++;
        closedir(d);
        p->open_fds = k - 3; /* ".", ".." and the directory's own descriptor */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) p->max_fds = (double)rl.rlim_cur;
    return 0;
}
