/*
 * issue.c: what issue, batch and renew share: their options, and issuing
 * one certificate (order, validate, finalize, write). The commands
 * (cmd_issue.c, cmd_batch.c, cmd_renew.c) call it; it calls none of them.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <sys/wait.h>
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "issue.h"

static void help_renew(void)
{
    printf("usage: dnspersist renew [--state DIR] [--ca-bundle FILE] [--days N] [--force]\n"
           "           [--profile NAME] [--resolver ADDR[@PORT]] [--key-type T] [--wait T]\n"
           "           [--json]\n\n"
           "Renews every certificate issue wrote (STATE/certs) that is due: when the CA's\n"
           "renewal window (ARI, RFC 9773) is open, else within --days (default 30) of expiry;\n"
           "--force renews them all now. Each keeps the profile it was issued with unless\n"
           "--profile names another. New key, new certificate, written over the old ones.\n"
           "--json: one JSON line per certificate (names, status renewed|not-due|failed, why,\n"
           "error), then one with the totals.\n\n"
           "Exit codes: 0 nothing failed, 1 a renewal failed, 2 usage error.\n");
}

static void help(void)
{
    printf(
        "usage: dnspersist issue --directory URL [--key-type ec256|ec384|rsa2048] [--out "
        "DIR]\n"
        "           [--resolver ADDR[@PORT]] [--trust-anchor FILE] [--no-check]\n"
        "           [--issuer NAME...] DOMAIN...\n"
        "       dnspersist issue --directory URL --batch FILE [--concurrency N] [--retries N] ...\n"
        "       dnspersist renew [--days N] [--state DIR] [--ca-bundle FILE] [--resolver ...]\n"
        "common: [--state DIR] [--ca-bundle FILE]\n\n"
        "issue obtains one certificate for DOMAIN... with dns-persist-01, after checking the\n"
        "records as the CA will. Files: DIR (default STATE/certs/FIRST-NAME)/key.pem (0600,\n"
        "also privkey.pem), cert.pem, chain.pem, fullchain.pem: links into current/, which\n"
        "points at the newest of archive/1, 2, ... (swapped at once; the archive keeps the\n"
        "older ones); meta.json.\n"
        "--deploy-hook CMD: run (sh -c) after the certificate is written, and after every\n"
        "renewal (remembered), with RENEWED_LINEAGE (DIR) and RENEWED_DOMAINS set, as\n"
        "certbot does; so is every executable in STATE/hooks/deploy/. A failing hook is\n"
        "reported (exit 1); the certificate stays.\n"
        "--batch: one certificate per line (its names, blank-separated; # comments), issued\n"
        "in parallel over kept-alive connections; one JSON line per certificate on stdout.\n"
        "renew reissues every certificate issue wrote that expires within --days (default 30).\n"
        "--wait T: how long to wait for a validation or the order, with its unit (default 120s).\n"
        "--profile NAME: the certificate profile (see dnspersist profiles); renew keeps it.\n"
        "renew --force renews every certificate now, whatever ARI or --days say.\n"
        "--json: one JSON line per certificate (names, status, certificate or error).\n"
        "--issuer NAME (repeatable): the CA issuer names you trust; a challenge naming another\n"
        "is refused before any record is used (draft 3.2; the directory's caaIdentities are\n"
        "always checked).\n\n"
        "Exit codes: 0 every certificate issued, 1 a certificate failed, 2 usage error.\n");
}

/* The lineage's files. Each issuance is written whole into
 * dir/archive/N/ (N from 1; an older version's plain files move to
 * archive/0/ first), then dir/current, a symbolic link to it, is replaced
 * by one rename: dir/{key,privkey,cert,chain,fullchain}.pem are links into
 * current/, so a web server reading them sees the old set or the new one,
 * never half of each, and the archive keeps every earlier one (certbot's
 * live/archive shape, in one directory). */
static const char *const LIVE[][2] = {{"key.pem", "key.pem"},
                                      {"privkey.pem", "key.pem"},
                                      {"cert.pem", "cert.pem"},
                                      {"chain.pem", "chain.pem"},
                                      {"fullchain.pem", "fullchain.pem"}};

/* path made a symbolic link to target, replacing what is there in one
 * rename. */
static int link_swap(const char *dir, const char *name, const char *target)
{
    char path[1500], tmp[1600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.new-link", path);
    unlink(tmp);
    return symlink(target, tmp) || rename(tmp, path) ? -1 : 0;
}

static int archive_next(const char *dir)
{
    char a[1400];
    snprintf(a, sizeof a, "%s/archive", dir);
    DIR *d = opendir(a);
    struct dirent *e;
    long max = 0;
    while (d && (e = readdir(d))) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (!*end && end != e->d_name && v > max) max = v;
    }
    if (d) closedir(d);
    return (int)max + 1;
}

/* An older version's plain files (no current/ yet) kept as archive/0. */
static int archive_plain(const char *dir)
{
    char p[1500], q[1600], a0[1400];
    struct stat st;
    snprintf(p, sizeof p, "%s/cert.pem", dir);
    if (lstat(p, &st) || S_ISLNK(st.st_mode)) return 0;
    snprintf(a0, sizeof a0, "%s/archive/0", dir);
    if (state_mkdir(a0)) return -1;
    static const char *const old[] = {"key.pem", "cert.pem", "chain.pem", "fullchain.pem"};
    for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, old[i]);
        snprintf(q, sizeof q, "%s/%s", a0, old[i]);
        if (rename(p, q) && errno != ENOENT) return -1;
    }
    return 0;
}

/* Writes key, certificate, chain and meta for dir's lineage. */
static int write_files(const char *dir, const struct dp_key *ck, const char *chain, char **names,
                       size_t n, const char *directory, const char *profile, const char *hook)
{
    if (state_mkdir(dir) || archive_plain(dir)) return -1;
    const char *second = strstr(chain + 1, "-----BEGIN CERTIFICATE-----");
    char *leaf = second ? strndup(chain, (size_t)(second - chain)) : strdup(chain);
    char *key = dp_key_private_pem_alloc(ck, NULL);
    BIO *b = BIO_new_mem_buf(chain, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    long long not_after = 0;
    if (x) {
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm)) not_after = (long long)timegm(&tm);
        X509_free(x);
    }
    json_t *ns = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ns, json_string(names[i]));
    json_t *meta = json_pack("{s:o,s:s,s:I}", "names", ns, "directory", directory, "notAfter",
                             (json_int_t)not_after);
    if (meta && profile) /* renew asks for it again */
        json_object_set_new(meta, "profile", json_string(profile));
    if (meta && hook) /* and runs it again */
        json_object_set_new(meta, "deployHook", json_string(hook));
    char *ms = json_dumps(meta, JSON_INDENT(2));
    json_decref(meta);
    int num = archive_next(dir);
    char arch[1500], rel[64];
    snprintf(rel, sizeof rel, "archive/%d", num);
    snprintf(arch, sizeof arch, "%s/%s", dir, rel);
    int rc = !leaf || !key || !ms || state_mkdir(arch) || state_write(arch, "key.pem", key, 0600) ||
                     state_write(arch, "cert.pem", leaf, 0644) ||
                     state_write(arch, "chain.pem", second ? second : "", 0644) ||
                     state_write(arch, "fullchain.pem", chain, 0644) ||
                     link_swap(dir, "current", rel)
                 ? -1
                 : 0;
    for (size_t i = 0; rc == 0 && i < sizeof LIVE / sizeof *LIVE; i++) {
        char target[64];
        snprintf(target, sizeof target, "current/%s", LIVE[i][1]);
        rc = link_swap(dir, LIVE[i][0], target);
    }
    if (rc == 0) rc = state_write(dir, "meta.json", ms, 0644);
    free(leaf);
    free(key);
    free(ms);
    return rc;
}

/* The deploy hooks of a certificate just written into dir: the lineage's
 * own (--deploy-hook, remembered in meta.json), this run's --deploy-hook
 * when it is another, and every executable in STATE/hooks/deploy/, in name
 * order, each with RENEWED_LINEAGE and RENEWED_DOMAINS as certbot gives
 * them (existing hook scripts work). A failing hook is said and counted
 * (the command's exit status then says so); the certificate stays. */
static int run_hook(const char *cmd, int shell, char *const *env)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (shell)
            execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, env);
        else
            execle(cmd, cmd, (char *)NULL, env);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void deploy(const struct issue_opts *o, struct session *s, const char *dir, char **names,
                   size_t n, const char *hook)
{
    char real[PATH_MAX], lin[PATH_MAX + 32], doms[4096] = "RENEWED_DOMAINS=";
    if (!realpath(dir, real)) snprintf(real, sizeof real, "%s", dir);
    snprintf(lin, sizeof lin, "RENEWED_LINEAGE=%s", real);
    for (size_t i = 0, l = strlen(doms); i < n && l < sizeof doms; i++)
        l += (size_t)snprintf(doms + l, sizeof doms - l, "%s%s", i ? " " : "", names[i]);
    extern char **environ;
    size_t ne = 0;
    while (environ[ne])
        ne++;
    char **env = calloc(ne + 3, sizeof *env);
    if (!env) return;
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "RENEWED_", 8)) env[k++] = environ[i];
    env[k++] = lin;
    env[k++] = doms;
    const char *cmds[2] = {
        hook, o->deploy_hook && (!hook || strcmp(hook, o->deploy_hook)) ? o->deploy_hook : NULL};
    for (int i = 0; i < 2; i++)
        if (cmds[i] && *cmds[i]) {
            int r = run_hook(cmds[i], 1, env);
            if (r) {
                cli_error("deploy",
                          "%s: the deploy hook '%s' failed (exit %d); the certificate "
                          "stays in %s",
                          names[0], cmds[i], r, real);
                __atomic_add_fetch(&s->hook_failures, 1, __ATOMIC_RELAXED);
            }
        }
    char hd[1200];
    snprintf(hd, sizeof hd, "%s/hooks/deploy", s->st.dir);
    struct dirent **list = NULL;
    int m = scandir(hd, &list, NULL, alphasort);
    for (int i = 0; i < m; i++) {
        char path[1500];
        snprintf(path, sizeof path, "%s/%s", hd, list[i]->d_name);
        struct stat st;
        if (list[i]->d_name[0] != '.' && !stat(path, &st) && S_ISREG(st.st_mode) &&
            !access(path, X_OK)) {
            int r = run_hook(path, 0, env);
            if (r) {
                cli_error("deploy",
                          "%s: the deploy hook %s failed (exit %d); the certificate "
                          "stays in %s",
                          names[0], path, r, real);
                __atomic_add_fetch(&s->hook_failures, 1, __ATOMIC_RELAXED);
            }
        }
        free(list[i]);
    }
    free(list);
    free(env);
}

static void out_dir(const struct issue_opts *o, const struct session *s, const char *first,
                    char *buf, size_t cap)
{
    if (o->out && !o->batch) {
        snprintf(buf, cap, "%s", o->out);
        return;
    }
    /* A batch writes one directory per certificate, under --out if given. */
    const char *parent = o->out ? o->out : NULL;
    if (parent) {
        snprintf(buf, cap, "%s/%s", parent, first[0] == '*' ? first + 1 : first);
        if (first[0] == '*') buf[strlen(parent) + 1] = '_';
        return;
    }
    snprintf(buf, cap, "%s/certs/%s", s->st.dir, first[0] == '*' ? first + 1 : first);
    if (first[0] == '*') buf[strlen(s->st.dir) + 7] = '_'; /* "*.x" is stored as "_.x" */
}

/* --out DIR for one certificate: DIR must not be a symbolic link (not
 * followed), and must not hold another certificate's files: a second name
 * given the same --out once overwrote the first's key.pem and cert.pem.
 * 0, or -1 with why. */
static int out_dir_free(const char *dir, char **names, size_t n, char *why, size_t cap)
{
    struct stat st;
    if (lstat(dir, &st)) return 0; /* made on write */
    if (S_ISLNK(st.st_mode)) {
        snprintf(why, cap,
                 "--out %.100s is a symbolic link: not followed; give the directory itself", dir);
        return -1;
    }
    char mp[1300], cp[1300];
    snprintf(mp, sizeof mp, "%s/meta.json", dir);
    snprintf(cp, sizeof cp, "%s/cert.pem", dir);
    json_t *meta = json_load_file(mp, 0, NULL), *had = json_object_get(meta, "names");
    int same = 0;
    if (json_is_array(had) && json_array_size(had) == n) {
        same = 1;
        for (size_t i = 0; i < n && same; i++) {
            int found = 0;
            size_t k;
            json_t *v;
            json_array_foreach(had, k, v) found |= !strcmp(json_string_value(v) ?: "", names[i]);
            same = found;
        }
    }
    const char *first = json_string_value(json_array_get(had, 0));
    if (meta && !same)
        snprintf(why, cap,
                 "--out %.100s holds the certificate of %.60s%s: give each name its own --out "
                 "(or remove that one)",
                 dir, first ? first : "other names", json_array_size(had) > 1 ? " and others" : "");
    else if (!meta && access(cp, F_OK) == 0)
        snprintf(why, cap,
                 "--out %.100s holds a cert.pem that dnspersist did not write (no meta.json): not "
                 "overwritten",
                 dir);
    json_decref(meta);
    return (meta && !same) || (!meta && access(cp, F_OK) == 0) ? -1 : 0;
}

/* A certificate written outside the state directory (--out) is still a
 * lineage renew must find: state/lineages/<hash of its directory>.json
 * names where it is. Best effort: the certificate is written already, and
 * a failure here is said, not fatal. */
static void lineage_record(const struct session *s, const char *dir, char **names, size_t n)
{
    char certs[1100], real[PATH_MAX];
    snprintf(certs, sizeof certs, "%s/certs/", s->st.dir);
    if (!strncmp(dir, certs, strlen(certs)) || !realpath(dir, real)) return;
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)real, strlen(real), h);
    char ldir[1100], file[64];
    snprintf(ldir, sizeof ldir, "%s/lineages", s->st.dir);
    int o = snprintf(file, sizeof file, "%s", "");
    for (int i = 0; i < 8; i++)
        o += snprintf(file + o, sizeof file - (size_t)o, "%02x", h[i]);
    snprintf(file + o, sizeof file - (size_t)o, ".json");
    json_t *ns = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ns, json_string(names[i]));
    json_t *l = json_pack("{s:s,s:o}", "dir", real, "names", ns);
    char *text = l ? json_dumps(l, JSON_INDENT(2)) : NULL;
    if (!text || state_mkdir(ldir) || state_write(ldir, file, text, 0644))
        cli_error("issue", "%s: cannot record it for renew in %s", names[0], ldir);
    free(text);
    json_decref(l);
}

/* One certificate: order, validate, finalize, write. Returns a dp_code;
 * *jit tells whether the CA authorized the order at once from the records
 * (Just-in-Time validation, draft 4.4: no challenge was answered). */
dp_code issue_one(const struct issue_opts *o, struct session *s, struct dp_acme *acme, char **names,
                  size_t n, char *dir, size_t dircap, int *jit, int *issued, struct dp_error *e)
{
    *issued = 0;
    struct dp_key *ck = dp_key_generate(o->kt, e);
    if (!ck) return e->code;
    char *chain = NULL, *kp = NULL;
    struct dp_acme_order *ord = NULL;
    dp_acme_set_poll_ms(acme, (unsigned)o->wait_ms);
    dp_code rc = dp_acme_expect_issuers(acme, o->issuer_ptrs, o->n_issuers, e);
    if (rc == DP_OK) rc = dp_acme_set_profile(acme, o->profile, e);
    /* The new key is on disk (key.pem.new, 0600) before its CSR leaves:
     * no certificate is ever issued whose key exists only in memory. */
    out_dir(o, s, names[0], dir, dircap);
    if (rc == DP_OK && o->out && !o->batch &&
        out_dir_free(dir, names, n, e->detail, sizeof e->detail))
        rc = e->code = DP_ERR_INVAL;
    if (rc == DP_OK && (!(kp = dp_key_private_pem_alloc(ck, NULL)) || state_mkdir(dir) ||
                        state_write(dir, "key.pem.new", kp, 0600))) {
        snprintf(e->detail, sizeof e->detail, "cannot write the new key into %s", dir);
        rc = e->code = DP_ERR_IO;
    }
    if (rc == DP_OK) rc = dp_acme_order_new(acme, (const char *const *)names, n, &ord, e);
    *jit = rc == DP_OK && !strcmp(dp_acme_order_status(ord), "ready");
    if (rc == DP_OK) rc = dp_acme_order_validate(acme, ord, e);
    if (rc == DP_OK) rc = dp_acme_order_finalize(acme, ord, ck, &chain, e);
    if (rc == DP_OK) {
        /* Issued: from here on only the write is retried, never the order. */
        *issued = 1;
        /* The lineage's deploy hook: this run's --deploy-hook, else the one
         * remembered from its first issue. */
        char mp[1500], hook_buf[1024] = "";
        snprintf(mp, sizeof mp, "%s/meta.json", dir);
        json_t *old = json_load_file(mp, 0, NULL);
        snprintf(hook_buf, sizeof hook_buf, "%s",
                 o->deploy_hook ? o->deploy_hook
                                : json_string_value(json_object_get(old, "deployHook")) ?: "");
        json_decref(old);
        const char *hook = hook_buf[0] ? hook_buf : NULL;
        int w = -1;
        for (int attempt = 0; attempt < 3 && w; attempt++) {
            if (attempt) {
                struct timespec ts = {0, 200000000L};
                nanosleep(&ts, NULL);
            }
            w = write_files(dir, ck, chain, names, n, s->directory, o->profile, hook);
        }
        char kn[1400];
        snprintf(kn, sizeof kn, "%s/key.pem.new", dir);
        if (!w) {
            unlink(kn);
            lineage_record(s, dir, names, n);
            deploy(o, s, dir, names, n, hook);
        }
        if (w) {
            snprintf(e->detail, sizeof e->detail,
                     "issued, but cannot write into %.120s (the key is in "
                     "key.pem.new there; the certificate is at the order %.120s)",
                     dir, dp_acme_order_url(ord));
            rc = e->code = DP_ERR_IO;
        }
    }
    if (rc != DP_OK && !*issued && kp) {
        /* Nothing was certified for the new key: it goes, and so does a
         * directory made for it alone (rmdir leaves one holding more). */
        char kn[1400];
        snprintf(kn, sizeof kn, "%s/key.pem.new", dir);
        unlink(kn);
        rmdir(dir);
    }
    dp_acme_order_free(ord);
    free(kp);
    free(chain);
    dp_key_free(ck);
    return rc;
}

int issue_parse_opts(const char *cmd, int argc, char **argv, struct issue_opts *o)
{
    static const struct option opts[] = {CLI_SESSION_OPTIONS,
                                         {"key-type", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         CLI_OPT_RESOLVER,
                                         CLI_OPT_TRUST_ANCHOR,
                                         {"no-check", no_argument, 0, 'n'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"concurrency", required_argument, 0, 'c'},
                                         {"retries", required_argument, 0, 'r'},
                                         {"backoff-ms", required_argument, 0, 'w'},
                                         {"days", required_argument, 0, 'd'},
                                         {"issuer", required_argument, 0, 'i'},
                                         {"wait", required_argument, 0, 'W'},
                                         {"profile", required_argument, 0, 'P'},
                                         {"deploy-hook", required_argument, 0, 'H'},
                                         {"force", no_argument, 0, 'F'},
                                         CLI_OPT_JSON,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->kt = DP_KEY_EC256;
    o->concurrency = 8;
    o->retries = 2;
    o->backoff_ms = 1000;
    o->days = 30;
    o->wait_ms = 120000;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            /* A certificate's key: what CAs certify (the Baseline
             * Requirements allow no Ed25519 certificates; this CA refuses
             * them too). Ed25519 stays for account keys. */
            if (dp_key_type_from_name(optarg, &o->kt) != DP_OK || o->kt == DP_KEY_ED25519)
                return cli_usage(cmd,
                                 "--key-type '%s': ec256, ec384 or rsa2048 (CAs do not issue "
                                 "certificates for Ed25519 keys)",
                                 optarg);
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'n':
            o->no_check = 1;
            break;
        case 'b':
            o->batch = optarg;
            break;
        case 'c':
            if ((o->concurrency = cli_parse_count(optarg, 256)) <= 0)
                return cli_usage(cmd, "--concurrency '%s': 1 to 256", optarg);
            break;
        case 'r':
            if ((o->retries = cli_parse_count(optarg, 10)) < 0)
                return cli_usage(cmd, "--retries '%s': 0 to 10", optarg);
            break;
        case 'w':
            if ((o->backoff_ms = cli_parse_count(optarg, 600000)) < 0)
                return cli_usage(cmd, "--backoff-ms '%s'", optarg);
            break;
        case 'd':
            if ((o->days = cli_parse_count(optarg, 3650)) < 0)
                return cli_usage(cmd, "--days '%s': 0 to 3650", optarg);
            o->days_given = 1;
            break;
        case 'F':
            o->force = 1;
            break;
        case 'H': /* empty: none (the shipped renew unit passes its variable as is) */
            o->deploy_hook = *optarg ? optarg : NULL;
            break;
        case 'P':
            o->profile = optarg;
            break;
        case 'W':
            if ((o->wait_ms = cli_parse_duration_ms(optarg, 86400000)) <= 0)
                return cli_usage(cmd,
                                 "--wait '%s': a duration with its unit (120s, 500ms, 2m), up "
                                 "to a day",
                                 optarg);
            break;
        case 'i':
            if (o->n_issuers == DP_MAX_ISSUERS)
                return cli_usage(cmd, "more than %d --issuer names (A4)", DP_MAX_ISSUERS);
            if (cli_domain(cmd, "--issuer", optarg, o->issuers[o->n_issuers], 0)) return EXIT_USAGE;
            o->issuer_ptrs[o->n_issuers] = o->issuers[o->n_issuers];
            o->n_issuers++;
            break;
        case 'h':
            if (!strcmp(cmd, "renew"))
                help_renew();
            else
                help();
            return -1;
        default:
            if (cli_common_opt(&o->co, c, optarg)) break;
            return cli_bad_option(cmd, c, argv);
        }
    }
    return 0;
}
