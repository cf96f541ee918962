/*
 * state.h: the client's state directory (--state DIR, default
 * $XDG_DATA_HOME/dnspersist or ~/.local/share/dnspersist).
 *
 *   config                          "alias NAME URL" lines: directory aliases
 *   accounts/<dir-hash>/account.key the account key (0600)
 *   accounts/<dir-hash>/account.json {"directory","url"}
 *   certs/<first-name>/             key.pem (0600), cert.pem, chain.pem,
 *                                   fullchain.pem, meta.json
 *
 * Every file is written to a temporary name and renamed, so a crash never
 * leaves a half-written file; a state that is half there anyway (a key
 * without its account, or the reverse) is reported, never overwritten.
 */
#ifndef DP_CLI_STATE_H
#define DP_CLI_STATE_H

#include <stddef.h>

#include "dnspersist/dnspersist.h"

struct state {
    char dir[1024];
};

struct account {
    char dir[1200];       /* accounts/<hash> */
    char directory[1024]; /* the CA's directory URL */
    char url[1024];       /* the account URL, "" when none yet */
    struct dp_key *key;   /* NULL when none yet */
    char ca_bundle[1024]; /* the --ca-bundle given at account new, "" for none */
};

/* Resolves the state directory (creating it 0700). -1 after printing why. */
int state_open(const char *cmd, const char *opt_dir, struct state *st);
/* Expands a directory alias from the config file; returns url itself otherwise. */
const char *state_directory(const struct state *st, const char *url_or_alias, char *buf,
                            size_t cap);
/* Loads the account for directory. Returns 0 (found), 1 (none yet), -1
 * (half-written or unreadable: printed). */
int state_account_load(const char *cmd, const struct state *st, const char *directory,
                       struct account *a);
void state_account_free(struct account *a);
/* Writes key then account.json (0600 / 0644). -1 after printing why. */
int state_account_save(const char *cmd, struct account *a, int save_key);
/* Writes data to dir/name through a temporary file with mode. */
int state_write(const char *dir, const char *name, const char *data, int mode);
/* mkdir -p with 0700. */
int state_mkdir(const char *path);

#endif
