/* ca_harness.h: starting and stopping a dnspersist-ca for tests and benchmarks. */
#ifndef DP_CA_HARNESS_H
#define DP_CA_HARNESS_H

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A free TCP port on loopback (bound, read, released). */
static int harness_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) ||
        getsockname(s, (struct sockaddr *)&a, &l)) {
        if (s >= 0) close(s);
        return -1;
    }
    close(s);
    return ntohs(a.sin_port);
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

static void harness_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

#endif
