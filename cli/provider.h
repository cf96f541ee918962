/* provider.h: DNS providers other than RFC 2136 (dp_update). */
#ifndef DP_CLI_PROVIDER_H
#define DP_CLI_PROVIDER_H

/* Runs PROG ACTION NAME. VALUE (lego's exec protocol; ACTION is "present"
 * or "cleanup"), stopping it after timeout_ms. 0 when it exited 0; else
 * the exit code after saying why. */
int cli_provider_exec(const char *cmd, const char *prog, const char *action, const char *name,
                      const char *value, long timeout_ms);

#endif
