/* state.c: the client's files (see state.h), written atomically. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cli.h"
#include "state.h"

int state_mkdir(const char *path)
{
    char buf[1200];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0700) && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0700) && errno != EEXIST ? -1 : 0;
}

int state_write(const char *dir, const char *name, const char *data, int mode)
{
    /* A temporary name of its own for every write, even from the threads
     * of one batch, created with its final mode (a key is never readable
     * by others, not even for a moment), then renamed over the file. */
    static _Atomic unsigned long seq;
    char path[1400], tmp[1480];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp%ld.%lu", path, (long)getpid(), (unsigned long)++seq);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        unlink(tmp);
        return -1;
    }
    int ok = fputs(data, f) >= 0;
    ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int state_open(const char *cmd, const char *opt, struct state *st)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME"),
               *env = getenv("DNSPERSIST_STATE");
    /* --state, then $DNSPERSIST_STATE, then XDG's place (the man page's order). */
    if (opt)
        snprintf(st->dir, sizeof st->dir, "%s", opt);
    else if (env && *env)
        snprintf(st->dir, sizeof st->dir, "%s", env);
    else if (xdg && *xdg)
        snprintf(st->dir, sizeof st->dir, "%s/dnspersist", xdg);
    else if (home && *home)
        snprintf(st->dir, sizeof st->dir, "%s/.local/share/dnspersist", home);
    else {
        cli_error(cmd, "no --state and no HOME: cannot place the state directory");
        return -1;
    }
    if (state_mkdir(st->dir)) {
        cli_error(cmd, "--state %s: cannot create: %s", st->dir, strerror(errno));
        return -1;
    }
    return 0;
}

const char *state_directory(const struct state *st, const char *u, char *buf, size_t cap)
{
    if (!u) return "";
    if (strstr(u, "://")) return u;
    char path[1100], line[1300], name[256], url[1024];
    snprintf(path, sizeof path, "%s/config", st->dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "alias %255s %1023s", name, url) == 2 && !strcmp(name, u)) {
            snprintf(buf, cap, "%s", url);
            fclose(f);
            return buf;
        }
    }
    if (f) fclose(f);
    return u;
}

static void account_dir(const struct state *st, const char *directory, char *out, size_t cap)
{
    unsigned char dg[32];
    unsigned int dl;
    EVP_Digest(directory, strlen(directory), dg, &dl, EVP_sha256(), NULL);
    snprintf(out, cap, "%s/accounts/%02x%02x%02x%02x%02x%02x%02x%02x", st->dir, dg[0], dg[1], dg[2],
             dg[3], dg[4], dg[5], dg[6], dg[7]);
}

int state_account_load(const char *cmd, const struct state *st, const char *directory,
                       struct account *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->directory, sizeof a->directory, "%s", directory);
    account_dir(st, directory, a->dir, sizeof a->dir);
    char kp[1300], jp[1300];
    snprintf(kp, sizeof kp, "%s/account.key", a->dir);
    snprintf(jp, sizeof jp, "%s/account.json", a->dir);
    int has_key = access(kp, F_OK) == 0, has_json = access(jp, F_OK) == 0;
    if (!has_key && !has_json) return 1;
    if (has_json && !has_key) {
        cli_error(cmd,
                  "%s: account.json without account.key: the state is half-written; restore the "
                  "key or move the directory away",
                  a->dir);
        return -1;
    }
    struct dp_error e;
    if (!(a->key = dp_key_load_file(kp, &e))) {
        cli_error(cmd, "%s: %s", kp, e.detail);
        return -1;
    }
    if (has_json) {
        json_error_t je;
        json_t *o = json_load_file(jp, 0, &je);
        const char *url = json_string_value(json_object_get(o, "url"));
        if (!url) {
            json_decref(o);
            cli_error(cmd, "%s: unreadable (%s): the state is half-written; fix or remove it", jp,
                      je.text);
            state_account_free(a);
            return -1;
        }
        snprintf(a->url, sizeof a->url, "%s", url);
        const char *cb = json_string_value(json_object_get(o, "caBundle"));
        if (cb) snprintf(a->ca_bundle, sizeof a->ca_bundle, "%s", cb);
        json_decref(o);
    }
    return 0;
}

void state_account_free(struct account *a)
{
    dp_key_free(a->key);
    a->key = NULL;
}

int state_account_save(const char *cmd, struct account *a, int save_key)
{
    if (state_mkdir(a->dir)) {
        cli_error(cmd, "cannot create %s: %s", a->dir, strerror(errno));
        return -1;
    }
    if (save_key) {
        struct dp_error e;
        char *pem = dp_key_private_pem_alloc(a->key, &e);
        int rc = pem ? state_write(a->dir, "account.key", pem, 0600) : -1;
        free(pem);
        if (rc) {
            cli_error(cmd, "cannot write %s/account.key", a->dir);
            return -1;
        }
    }
    if (a->url[0]) {
        json_t *o = json_pack("{s:s,s:s}", "directory", a->directory, "url", a->url);
        if (o && a->ca_bundle[0]) json_object_set_new(o, "caBundle", json_string(a->ca_bundle));
        char *s = json_dumps(o, JSON_INDENT(2));
        json_decref(o);
        int rc = s ? state_write(a->dir, "account.json", s, 0644) : -1;
        free(s);
        if (rc) {
            cli_error(cmd, "cannot write %s/account.json", a->dir);
            return -1;
        }
    }
    return 0;
}
