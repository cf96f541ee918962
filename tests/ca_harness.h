/* ca_harness.h: starting and stopping a dnspersist-ca for tests and benchmarks. */
#ifndef DP_CA_HARNESS_H
#define DP_CA_HARNESS_H

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int harness_port_free(int port)
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

/* A free TCP port on loopback whose next port is free too (the CA's CRL
 * listener takes it), picked below Linux's ephemeral range (32768 and up)
 * so that no outgoing connection of a parallel test takes it meanwhile. */
static int harness_free_port(void)
{
    static unsigned seed; /* kept: calls in one process get different ports */
    if (!seed) seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1103515245u + 12345u;
        int p = 20000 + 2 * (int)((seed >> 8) % 6000); /* even: pairs never overlap */
        if (harness_port_free(p) && harness_port_free(p + 1)) return p;
    }
    return -1;
}

/* Runs bin with the NULL-terminated args (args[0] is bin), stdout to /dev/null. */
/* Starts bin; its standard error goes to log when given (appended). */
static pid_t harness_spawn_log(const char *bin, char *const *args, const char *log)
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
static int harness_stop(pid_t pid)
{
    int st = 0;
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

#endif
