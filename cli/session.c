/* session.c: state + account + ACME session for the client commands. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "session.h"

int session_open(const char *cmd, const char *state_dir, const char *directory,
                 const char *ca_bundle, int need_account, struct session *s)
{
    memset(s, 0, sizeof *s);
    if (!directory) return cli_usage(cmd, "--directory is required (a URL or an alias)");
    if (state_open(cmd, state_dir, &s->st)) return EXIT_USAGE;
    char alias[sizeof s->directory]; /* state_directory may write it: not s->directory itself */
    snprintf(s->directory, sizeof s->directory, "%s",
             state_directory(&s->st, directory, alias, sizeof alias));
    if (!strstr(s->directory, "://"))
        return cli_usage(cmd, "--directory '%s' is neither a URL nor an alias in %s/config",
                         directory, s->st.dir);
    int rc = state_account_load(cmd, &s->st, s->directory, &s->acct);
    if (rc < 0) return EXIT_INVALID;
    if (need_account && (rc == 1 || !s->acct.url[0])) {
        cli_error(cmd, "no account for %s in %s: run 'dnspersist account new --directory %s' first",
                  s->directory, s->st.dir, s->directory);
        state_account_free(&s->acct);
        return EXIT_INVALID;
    }
    s->bundle = session_ca_bundle(ca_bundle, &s->acct);
    if (!s->acct.key) return 0; /* account new creates the key before the session */
    struct dp_acme_config cfg = {s->directory, s->bundle, 30000, 120000};
    struct dp_error e;
    if (!(s->acme = dp_acme_new(&cfg, s->acct.key, &e))) {
        /* One line: which CA, what failed, and the likely fix. */
        /* The bundle is blamed only for a certificate problem, never for
         * a server that is down. */
        int tls = strstr(e.detail, "certificate") != NULL;
        cli_error(cmd, "cannot reach the CA at %s: %s%s", s->directory, e.detail,
                  tls ? " (is its root in --ca-bundle?)" : "");
        state_account_free(&s->acct);
        return EXIT_INVALID;
    }
    if (s->acct.url[0]) dp_acme_set_account_url(s->acme, s->acct.url, NULL);
    return 0;
}

const char *session_ca_bundle(const char *flag, const struct account *a)
{
    if (flag && *flag) return flag;
    if (a && a->ca_bundle[0]) return a->ca_bundle;
    const char *env = getenv("SSL_CERT_FILE");
    if (env && *env) return env;
    env = getenv("CURL_CA_BUNDLE");
    return env && *env ? env : NULL;
}

void session_close(struct session *s)
{
    dp_acme_free(s->acme);
    s->acme = NULL;
    state_account_free(&s->acct);
}

void session_error(const char *cmd, const struct session *s, const char *what,
                   const struct dp_error *e)
{
    const struct dp_acme_problem *p = s->acme ? dp_acme_last_problem(s->acme) : NULL;
    if (p && p->type[0])
        cli_error(cmd, "%s: %s: %s", what, p->type, p->detail);
    else
        cli_error(cmd, "%s: %s", what, e->detail);
}

/* The account's key thumbprints: current first, then kept older keys newest first (A6). */
size_t session_thumbprints(const struct account *a, char th[][DP_THUMBPRINT_BUF], size_t max)
{
    size_t n = 0;
    snprintf(th[n++], DP_THUMBPRINT_BUF, "%s", dp_key_thumbprint(a->key));
    DIR *d = opendir(a->dir);
    struct dirent *de;
    char names[64][300];
    size_t k = 0;
    while (d && (de = readdir(d)) && k < 64)
        if (!strncmp(de->d_name, "account.key.old-", 16))
            snprintf(names[k++], sizeof names[0], "%s", de->d_name);
    if (d) closedir(d);
    qsort(names, k, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    for (size_t i = k; i-- > 0 && n < max;) {
        char p[1600];
        snprintf(p, sizeof p, "%s/%s", a->dir, names[i]);
        struct dp_key *old = dp_key_load_file(p, NULL);
        if (old) snprintf(th[n++], DP_THUMBPRINT_BUF, "%s", dp_key_thumbprint(old));
        dp_key_free(old);
    }
    return n;
}

size_t session_issuers(const char *cmd, const struct session *s, const char *const *flag,
                       size_t n_flag, int caa_ok, const char **out, size_t max)
{
    const char *const *names, *const *caa;
    size_t nn = dp_acme_issuer_names(s->acme, &names), n = 0;
    for (size_t i = 0; i < n_flag && n < max; i++) {
        int found = !nn;
        for (size_t k = 0; k < nn; k++)
            found |= !strcmp(flag[i], names[k]);
        if (!found) {
            cli_error(cmd, "--issuer %s is not among the CA's issuerDomainNames (A1)", flag[i]);
            return 0;
        }
        out[n++] = flag[i];
    }
    if (n) return n;
    for (size_t i = 0; i < nn && n < max; i++)
        out[n++] = names[i];
    if (n) return n;
    size_t nc = dp_acme_caa_identities(s->acme, &caa);
    if (!caa_ok) {
        cli_error(cmd,
                  "%s advertises no issuerDomainNames: it offers no pre-provisioning "
                  "(draft-02 3.2; a draft-01 CA, or one without dns-persist-01); give --issuer "
                  "with its issuer domain name to write a record for it anyway%s%s%s",
                  s->directory, nc ? " (its caaIdentities: " : "", nc ? caa[0] : "",
                  nc ? (nc > 1 ? " and others)" : ")") : "");
        return 0;
    }
    for (size_t i = 0; i < nc && n < max; i++)
        out[n++] = caa[i];
    if (n) {
        fprintf(stderr,
                "dnspersist: %s: note: %s advertises no issuerDomainNames (a draft-01 CA, or "
                "one without dns-persist-01); using its caaIdentities %s%s (give --issuer to "
                "choose)\n",
                cmd, s->directory, out[0], n > 1 ? " and others" : "");
        return n;
    }
    cli_error(cmd,
              "%s advertises neither issuerDomainNames nor caaIdentities: give --issuer with the "
              "CA's issuer domain name",
              s->directory);
    return 0;
}

json_t *session_problem_json(const struct session *s, const struct dp_error *e)
{
    const struct dp_acme_problem *p = s && s->acme ? dp_acme_last_problem(s->acme) : NULL;
    if (p && p->type[0]) return json_pack("{s:s,s:s}", "type", p->type, "detail", p->detail);
    return json_pack("{s:s,s:s}", "type", dp_strerror(e->code), "detail", e->detail);
}

void session_json_line(json_t *o)
{
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (line) printf("%s\n", line);
    free(line);
    json_decref(o);
}
