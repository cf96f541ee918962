/* provider.c: DNS publication through a program of the user's, with lego's
 * exec protocol (PROGRAM present|cleanup FQDN VALUE, FQDN ending in a dot),
 * so a script written for lego's exec provider, or one wrapping any DNS
 * API, publishes dns-persist-01 records unchanged. The program's exit status
 * is the answer; its output goes to our standard error so that standard
 * output keeps only the lines the command promises. */
#include "provider.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reaps pid by the deadline; a program still running then is stopped
 * (TERM, then KILL a second later) so no run outlives the command. The
 * wait status, or -1 on timeout. */
static int reap(pid_t pid, long deadline)
{
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0 && errno != EINTR) return -1;
        if (now_ms() >= deadline) break;
        struct timespec p = {0, 20 * 1000000L};
        nanosleep(&p, NULL);
    }
    kill(pid, SIGTERM);
    for (long end = now_ms() + 1000; now_ms() < end;) {
        if (waitpid(pid, &st, WNOHANG) == pid) return -1;
        struct timespec p = {0, 20 * 1000000L};
        nanosleep(&p, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

int cli_provider_exec(const char *cmd, const char *prog, const char *action, const char *name,
                      const char *value, long timeout_ms)
{
    char fqdn[DP_VALIDATION_NAME_MAX + 2];
    snprintf(fqdn, sizeof fqdn, "%s.", name);
    char *argv[] = {(char *)prog, (char *)action, fqdn, (char *)value, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    pid_t pid;
    int err = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) {
        cli_error(cmd, "--provider exec:%s: cannot run it: %s", prog, strerror(err));
        return EXIT_USAGE;
    }
    int st = reap(pid, now_ms() + timeout_ms);
    if (st < 0) {
        cli_error(cmd, "--provider exec:%s %s %s: no answer within %ld ms (--wait); stopped", prog,
                  action, fqdn, timeout_ms);
        return EXIT_INVALID;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    if (WIFEXITED(st))
        cli_error(cmd, "--provider exec:%s %s %s: exit status %d", prog, action, fqdn,
                  WEXITSTATUS(st));
    else
        cli_error(cmd, "--provider exec:%s %s %s: killed by signal %d", prog, action, fqdn,
                  WTERMSIG(st));
    return EXIT_INVALID;
}
