/* ca_harness.h: starting and stopping a dnspersist-ca for tests and benchmarks. */
#ifndef DP_CA_HARNESS_H
#define DP_CA_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* 1 when the CA tests run on the PostgreSQL store (tests/pg/ca-on-pg.sh
 * as the CA, PG_ENV set): direct looks into the database then go through
 * psql, to the database that wrapper made for the data directory. */
static inline int harness_on_pg(void)
{
    return getenv("PG_ENV") != NULL;
}

/* On the PostgreSQL store without a server (pg-env.sh skipped: no
 * PostgreSQL 15 here): say so and skip. */
static inline int harness_pg_missing(void)
{
    const char *e = getenv("PG_ENV");
    if (!e || access(e, R_OK) == 0) return 0;
    printf("SKIP: no PostgreSQL test server (%s missing): apt-get install postgresql-15\n", e);
    return 1;
}

/* The shell command running sql (no double quotes in it) on the database
 * of the CA whose data directory is data: sqlite3 or psql, unaligned. */
static inline void harness_db_cmd(const char *data, const char *sql, char *cmd, size_t cap)
{
    if (harness_on_pg())
        snprintf(
            cmd, cap,
            ". \"$PG_ENV\"; db=ca_$(printf %%s \"$(cd '%s' && pwd)\" | sha256sum | cut -c1-20); "
            "psql -qtA \"${PG_URL%%/*}/$db\" -c \"%s\"",
            data, sql);
    else
        snprintf(cmd, cap, "sqlite3 %s/ca.sqlite \"%s\"", data, sql);
}

static inline int harness_port_free(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    int ok = s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof a);
    if (s >= 0) close(s);
    return ok;
}

/* Reserves port for ten minutes, as tests/free_port.py does: an exclusive
 * file under $TMPDIR/dnspersist-ports. A port is bound seconds after it is
 * picked; without this a parallel test could draw it meanwhile. */
static inline int harness_port_reserve(int port)
{
    const char *t = getenv("TMPDIR");
    char dir[512], f[600];
    struct stat st;
    snprintf(dir, sizeof dir, "%s/dnspersist-ports", t && *t ? t : "/tmp");
    if (!mkdir(dir, 0777)) chmod(dir, 01777); /* shared by every user's tests, as /tmp is */
    snprintf(f, sizeof f, "%s/%d", dir, port);
    if (!stat(f, &st) && time(NULL) - st.st_mtime > 600) unlink(f); /* stale */
    int fd = open(f, O_CREAT | O_EXCL | O_WRONLY, 0666);
    if (fd < 0) return errno != EEXIST; /* cannot reserve at all: the pick as it was */
    close(fd);
    return 1;
}

/* A free TCP port on loopback whose next port is free too (the CA's CRL
 * listener takes it), picked below Linux's ephemeral range (32768 and up)
 * so that no outgoing connection of a parallel test takes it meanwhile. */
static inline int harness_free_port(void)
{
    static unsigned seed; /* kept: calls in one process get different ports */
    if (!seed) seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1103515245u + 12345u;
        int p = 20000 + 2 * (int)((seed >> 8) % 6000); /* even: pairs never overlap */
        if (harness_port_free(p) && harness_port_free(p + 1) && harness_port_reserve(p)) return p;
    }
    return -1;
}

/* Milliseconds on the monotonic clock. */
static inline long long harness_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A readiness deadline secs from now (times DP_TEST_DEADLINE_SCALE, for a
 * very slow machine). Deadlines only bound how long a broken run takes to
 * fail, so they are generous: a sanitizer build on one loaded core. */
static inline long long harness_deadline(int secs)
{
    const char *s = getenv("DP_TEST_DEADLINE_SCALE");
    int scale = s && atoi(s) > 0 ? atoi(s) : 1;
    return harness_now_ms() + (long long)secs * scale * 1000;
}

/* The poll interval of a readiness loop (not a precondition: the loop's
 * condition is). */
static inline void harness_poll_pause(void)
{
    usleep(20000);
}

/* 1 while pid (a child) runs; once it has exited, 0 with its wait status
 * in *st (when st is given). */
static inline int harness_running(pid_t pid, int *st)
{
    int s = 0;
    if (waitpid(pid, &s, WNOHANG) == 0) return 1;
    if (st) *st = s;
    return 0;
}

/* Starts bin; its standard error goes to log when given (appended). */
static inline pid_t harness_spawn_log(const char *bin, char *const *args, const char *log)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(127);
        if (log && !freopen(log, "a", stderr)) _exit(127);
        execv(bin, args);
        _exit(127);
    }
    return pid;
}

static inline pid_t harness_spawn(const char *bin, char *const *args)
{
    return harness_spawn_log(bin, args, NULL);
}

/* Stops pid with SIGTERM; its exit code (0 for a clean stop; under
 * LeakSanitizer 23 when memory leaked), or -1 when it did not exit. */
static inline int harness_stop(pid_t pid)
{
    int st = 0;
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

#endif
