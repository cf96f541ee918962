/*
 * cmd_issue.c: `dnspersist issue` (one certificate, or a batch in parallel)
 * and `dnspersist renew`.
 *
 * Before ordering, the records are checked exactly as the CA will check them
 * (the `check` machinery with the CA's issuer names, prefix and the account's
 * current and older keys), so a doomed order becomes an actionable message
 * instead of a CA error. A batch runs N workers, each with its own kept-alive
 * session; a failure is retried with back-off when it may be passing (not
 * when the CA said unauthorized or malformed) and never stops the others.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "session.h"

static const char *CMD = "issue";

static void help(void)
{
    printf(
        "usage: dnspersist issue --directory URL [--key-type ec256|ec384|rsa2048|ed25519] [--out "
        "DIR]\n"
        "           [--resolver ADDR[@PORT]] [--trust-anchor FILE] [--no-check] DOMAIN...\n"
        "       dnspersist issue --directory URL --batch FILE [--concurrency N] [--retries N] ...\n"
        "       dnspersist renew [--days N] [--state DIR] [--ca-bundle FILE] [--resolver ...]\n"
        "common: [--state DIR] [--ca-bundle FILE]\n\n"
        "issue obtains one certificate for DOMAIN... with dns-persist-01, after checking the\n"
        "records as the CA will. Files: DIR (default STATE/certs/FIRST-NAME)/key.pem (0600),\n"
        "cert.pem, chain.pem, fullchain.pem, meta.json.\n"
        "--batch: one certificate per line (its names, blank-separated; # comments), issued\n"
        "in parallel over kept-alive connections; one JSON line per certificate on stdout.\n"
        "renew reissues every certificate issue wrote that expires within --days (default 30).\n\n"
        "Exit codes: 0 every certificate issued, 1 a certificate failed, 2 usage error.\n");
}

struct opts {
    const char *state, *directory, *bundle, *out, *resolver, *ta, *batch;
    enum dp_key_type kt;
    long concurrency, retries, backoff_ms, days;
    int no_check;
};

/* Checks names as the CA will; prints the problems. 0 when all would pass. */
static int precheck(const struct opts *o, struct session *s, char **names, size_t n)
{
    const char *const *issuers;
    size_t ni = dp_acme_issuer_names(s->acme, &issuers);
    if (!ni) return 0; /* no directory names: nothing to check against; the CA will tell */
    char th[16][DP_THUMBPRINT_BUF];
    const char *tp[16];
    size_t nt = session_thumbprints(&s->acct, th, 16);
    for (size_t i = 0; i < nt; i++)
        tp[i] = th[i];
    const char *prefix = dp_acme_hash_prefix(s->acme);
    /* Compat: a CA that advertises a prefix may still take draft-01 records
     * (--draft01-compat), and the directory does not say; the pre-check must
     * not refuse what the CA would accept, and the CA has the last word. */
    struct dp_verify_params p = {
        issuers, ni, s->acct.url, tp, nt, prefix, 0, prefix ? DP_MODE_COMPAT : DP_MODE_DRAFT01};
    int rc = cli_check_domains(CMD, &p, o->resolver, o->ta, 0, 0, (const char *const *)names, n,
                               (int64_t)time(NULL), 30, 0, 1);
    if (rc == EXIT_INVALID)
        cli_error(
            CMD,
            "the CA would refuse: fix the records above first (or --no-check to order anyway)");
    return rc;
}

/* Writes key, certificate, chain and meta into dir. */
static int write_files(const char *dir, const struct dp_key *ck, const char *chain, char **names,
                       size_t n, const char *directory)
{
    if (state_mkdir(dir)) return -1;
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
    char *ms = json_dumps(meta, JSON_INDENT(2));
    json_decref(meta);
    int rc =
        (!leaf || !key || !ms || state_write(dir, "key.pem", key, 0600) ||
         state_write(dir, "cert.pem", leaf, 0644) ||
         state_write(dir, "chain.pem", second ? second : "", 0644) ||
         state_write(dir, "fullchain.pem", chain, 0644) || state_write(dir, "meta.json", ms, 0644))
            ? -1
            : 0;
    free(leaf);
    free(key);
    free(ms);
    return rc;
}

/* A certificate file's text (at most 64 KiB), or NULL when it cannot be read. */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "r");
    char *pem = f ? calloc(1, 65536) : NULL;
    if (pem && fread(pem, 1, 65535, f) == 0) pem[0] = '\0';
    if (f) fclose(f);
    return pem;
}

static void out_dir(const struct opts *o, const struct session *s, const char *first, char *buf,
                    size_t cap)
{
    if (o->out) {
        snprintf(buf, cap, "%s", o->out);
        return;
    }
    snprintf(buf, cap, "%s/certs/%s", s->st.dir, first[0] == '*' ? first + 1 : first);
    if (first[0] == '*') buf[strlen(s->st.dir) + 7] = '_'; /* "*.x" is stored as "_.x" */
}

/* One certificate: order, validate, finalize, write. Returns a dp_code;
 * *jit tells whether the CA authorized the order at once from the records
 * (Just-in-Time validation, draft 4.4: no challenge was answered). */
static dp_code issue_one(const struct opts *o, struct session *s, struct dp_acme *acme,
                         char **names, size_t n, char *dir, size_t dircap, int *jit,
                         struct dp_error *e)
{
    struct dp_key *ck = dp_key_generate(o->kt, e);
    if (!ck) return e->code;
    char *chain = NULL;
    struct dp_acme_order *ord = NULL;
    dp_code rc = dp_acme_order_new(acme, (const char *const *)names, n, &ord, e);
    *jit = rc == DP_OK && !strcmp(dp_acme_order_status(ord), "ready");
    if (rc == DP_OK) rc = dp_acme_order_validate(acme, ord, e);
    if (rc == DP_OK) rc = dp_acme_order_finalize(acme, ord, ck, &chain, e);
    dp_acme_order_free(ord);
    if (rc == DP_OK) {
        out_dir(o, s, names[0], dir, dircap);
        if (write_files(dir, ck, chain, names, n, s->directory)) {
            snprintf(e->detail, sizeof e->detail, "cannot write the certificate into %s", dir);
            rc = e->code = DP_ERR_IO;
        }
    }
    free(chain);
    dp_key_free(ck);
    return rc;
}

/* Splits a batch line into normalized names; returns the count (0: skip line, -1: bad). */
static int parse_line(char *line, char **names, int max, char (*store)[DP_DOMAIN_MAX + 3])
{
    line[strcspn(line, "#\r\n")] = '\0';
    int n = 0;
    for (char *t = strtok(line, " \t,"); t; t = strtok(NULL, " \t,")) {
        if (n == max || dp_domain_normalize(t, store[n], DP_DOMAIN_ALLOW_WILDCARD, NULL) != DP_OK)
            return -1;
        names[n] = store[n];
        n++;
    }
    return n;
}

struct job {
    char *line;
    char *names[100];
    char store[100][DP_DOMAIN_MAX + 3];
    int n;
    int attempts;
    int ok;
    int jit; /* authorized without a challenge */
    char error[1024];
    char dir[1600];
};

struct batch {
    const struct opts *o;
    struct session *s;
    struct job *jobs;
    size_t n, next, done, failed;
    pthread_mutex_t mu;
    int progress;
};

static void *worker(void *arg)
{
    struct batch *b = arg;
    struct dp_acme_config cfg = {b->s->directory, b->o->bundle, 30000, 120000};
    struct dp_error e;
    struct dp_acme *acme = dp_acme_new(&cfg, b->s->acct.key, &e);
    if (acme) dp_acme_set_account_url(acme, b->s->acct.url, NULL);
    for (;;) {
        pthread_mutex_lock(&b->mu);
        size_t i = b->next < b->n ? b->next++ : b->n;
        pthread_mutex_unlock(&b->mu);
        if (i == b->n) break;
        struct job *j = &b->jobs[i];
        long wait = b->o->backoff_ms;
        for (;;) {
            j->attempts++;
            dp_code rc = acme ? issue_one(b->o, b->s, acme, j->names, (size_t)j->n, j->dir,
                                          sizeof j->dir, &j->jit, &e)
                              : DP_ERR_IO;
            if (rc == DP_OK) {
                j->ok = 1;
                break;
            }
            const struct dp_acme_problem *p = acme ? dp_acme_last_problem(acme) : NULL;
            snprintf(j->error, sizeof j->error, "%s%s%s", p && p->type[0] ? p->type : "",
                     p && p->type[0] ? ": " : "",
                     acme ? (p && p->type[0] ? p->detail : e.detail)
                          : "cannot reach the directory");
            int permanent =
                rc == DP_ERR_UNAUTHORIZED || rc == DP_ERR_MALFORMED || rc == DP_ERR_UNSUPPORTED;
            if (permanent || j->attempts > b->o->retries) break;
            struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            wait *= 2;
        }
        pthread_mutex_lock(&b->mu);
        b->done++;
        b->failed += !j->ok;
        json_t *ns = json_array();
        for (int k = 0; k < j->n; k++)
            json_array_append_new(ns, json_string(j->names[k]));
        json_t *r = json_pack("{s:o,s:s,s:i}", "names", ns, "status", j->ok ? "issued" : "failed",
                              "attempts", j->attempts);
        if (j->ok) {
            json_object_set_new(r, "certificate", json_string(j->dir));
            json_object_set_new(r, "justInTime", json_boolean(j->jit));
        } else
            json_object_set_new(r, "error", json_string(j->error));
        char *line = json_dumps(r, JSON_COMPACT);
        json_decref(r);
        if (b->progress) fprintf(stderr, "\r\033[K");
        printf("%s\n", line ? line : "{}");
        fflush(stdout);
        free(line);
        if (b->progress)
            fprintf(stderr, "issue: %zu/%zu done, %zu failed", b->done, b->n, b->failed);
        pthread_mutex_unlock(&b->mu);
    }
    dp_acme_free(acme);
    return NULL;
}

static int run_batch(const struct opts *o, struct session *s)
{
    FILE *f = strcmp(o->batch, "-") ? fopen(o->batch, "r") : stdin;
    if (!f) {
        cli_error(CMD, "--batch %s: cannot open", o->batch);
        return EXIT_USAGE;
    }
    size_t cap = 64, n = 0, lineno = 0;
    struct job *jobs = calloc(cap, sizeof *jobs);
    char *line = NULL;
    size_t lcap = 0;
    int rc = EXIT_VALID;
    while (jobs && getline(&line, &lcap, f) >= 0) {
        lineno++;
        if (n == cap) {
            struct job *g = realloc(jobs, (cap *= 2) * sizeof *jobs);
            if (!g) break;
            jobs = g;
            memset(jobs + n, 0, (cap - n) * sizeof *jobs);
        }
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", line);
        int k = parse_line(line, jobs[n].names, 100, jobs[n].store);
        if (k < 0) {
            cli_error(CMD, "--batch %s line %zu: '%.*s' is not a list of domain names (draft 9.2)",
                      o->batch, lineno, (int)strcspn(copy, "\r\n"), copy);
            rc = EXIT_USAGE;
            break;
        }
        if (k) jobs[n++].n = k;
    }
    free(line);
    if (f != stdin) fclose(f);
    if (rc != EXIT_VALID || !jobs) {
        free(jobs);
        return rc == EXIT_VALID ? EXIT_FAILURE_INTERNAL : rc;
    }
    if (n == 0) {
        free(jobs);
        return cli_usage(CMD, "--batch %s lists no certificates", o->batch);
    }
    /* realloc may have moved the jobs: point names at their final storage. */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < jobs[i].n; k++)
            jobs[i].names[k] = jobs[i].store[k];
    struct batch b = {o, s, jobs, n, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER, isatty(STDERR_FILENO)};
    long t = o->concurrency < (long)n ? o->concurrency : (long)n;
    pthread_t *th = calloc((size_t)t, sizeof *th);
    for (long i = 0; th && i < t; i++)
        pthread_create(&th[i], NULL, worker, &b);
    for (long i = 0; th && i < t; i++)
        pthread_join(th[i], NULL);
    free(th);
    if (b.progress) fprintf(stderr, "\r\033[K");
    if (b.failed) {
        cli_error(CMD, "%zu of %zu certificates failed:", b.failed, n);
        for (size_t i = 0; i < n; i++)
            if (!jobs[i].ok)
                fprintf(stderr, "  %s: %s (%d attempts)\n", jobs[i].names[0], jobs[i].error,
                        jobs[i].attempts);
    }
    free(jobs);
    return b.failed ? EXIT_INVALID : EXIT_VALID;
}

static int parse_opts(int argc, char **argv, int first, struct opts *o)
{
    static const struct option opts[] = {CLI_SESSION_OPTIONS,
                                         {"key-type", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"resolver", required_argument, 0, 'R'},
                                         {"trust-anchor", required_argument, 0, 'T'},
                                         {"no-check", no_argument, 0, 'n'},
                                         {"batch", required_argument, 0, 'b'},
                                         {"concurrency", required_argument, 0, 'c'},
                                         {"retries", required_argument, 0, 'r'},
                                         {"backoff-ms", required_argument, 0, 'w'},
                                         {"days", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->kt = DP_KEY_EC256;
    o->concurrency = 8;
    o->retries = 2;
    o->backoff_ms = 1000;
    o->days = 30;
    int c;
    opterr = 0;
    optind = first;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            o->state = optarg;
            break;
        case 'D':
            o->directory = optarg;
            break;
        case 'B':
            o->bundle = optarg;
            break;
        case 't':
            if (dp_key_type_from_name(optarg, &o->kt) != DP_OK)
                return cli_usage(CMD, "--key-type '%s': ec256, ec384, rsa2048 or ed25519", optarg);
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'R':
            o->resolver = optarg;
            break;
        case 'T':
            o->ta = optarg;
            break;
        case 'n':
            o->no_check = 1;
            break;
        case 'b':
            o->batch = optarg;
            break;
        case 'c':
            if ((o->concurrency = cli_parse_count(optarg, 256)) <= 0)
                return cli_usage(CMD, "--concurrency '%s': 1 to 256", optarg);
            break;
        case 'r':
            if ((o->retries = cli_parse_count(optarg, 10)) < 0)
                return cli_usage(CMD, "--retries '%s': 0 to 10", optarg);
            break;
        case 'w':
            if ((o->backoff_ms = cli_parse_count(optarg, 600000)) < 0)
                return cli_usage(CMD, "--backoff-ms '%s'", optarg);
            break;
        case 'd':
            if ((o->days = cli_parse_count(optarg, 3650)) < 0)
                return cli_usage(CMD, "--days '%s': 0 to 3650", optarg);
            break;
        case 'h':
            help();
            return -1;
        default:
            return cli_bad_option(CMD, c, argv);
        }
    }
    return 0;
}

int cmd_issue(int argc, char **argv)
{
    CMD = "issue";
    struct opts o;
    int rc = parse_opts(argc, argv, 1, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (o.batch && optind < argc)
        return cli_usage(CMD, "give DOMAIN arguments or --batch, not both");
    if (!o.batch && optind >= argc)
        return cli_usage(CMD, "at least one DOMAIN (or --batch FILE) is required");
    size_t n = (size_t)(argc - optind);
    char(*store)[DP_DOMAIN_MAX + 3] = calloc(n ? n : 1, sizeof *store);
    char **names = calloc(n ? n : 1, sizeof *names);
    if (!store || !names) return EXIT_FAILURE_INTERNAL;
    for (size_t i = 0; i < n; i++) {
        if (cli_domain(CMD, "DOMAIN", argv[optind + (int)i], store[i], 1)) {
            free(store);
            free(names);
            return EXIT_USAGE;
        }
        names[i] = store[i];
    }
    struct session s;
    if ((rc = session_open(CMD, o.state, o.directory, o.bundle, 1, &s))) {
        free(store);
        free(names);
        return rc;
    }
    if (o.batch) {
        rc = run_batch(&o, &s);
    } else if (!o.no_check && (rc = precheck(&o, &s, names, n)) != EXIT_VALID) {
        /* precheck printed why */
    } else {
        struct dp_error e;
        char dir[1600];
        int jit = 0;
        dp_code c = issue_one(&o, &s, s.acme, names, n, dir, sizeof dir, &jit, &e);
        if (c == DP_OK) {
            printf("issued %s: %s/fullchain.pem (key %s/key.pem)%s\n", names[0], dir, dir,
                   jit ? "; authorized just in time by the records, no challenge" : "");
            rc = EXIT_VALID;
        } else if (c == DP_ERR_UNSUPPORTED) {
            cli_error(CMD, "%s: %s: this CA does not offer dns-persist-01", s.directory, e.detail);
            rc = EXIT_INVALID;
        } else {
            session_error(CMD, &s, "issuance failed", &e);
            rc = EXIT_INVALID;
        }
    }
    session_close(&s);
    free(store);
    free(names);
    return rc;
}

int cmd_renew(int argc, char **argv)
{
    CMD = "renew";
    struct opts o;
    int rc = parse_opts(argc, argv, 1, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    struct state st;
    if (state_open(CMD, o.state, &st)) return EXIT_USAGE;
    char certs[1100];
    snprintf(certs, sizeof certs, "%s/certs", st.dir);
    DIR *d = opendir(certs);
    struct dirent *de;
    int64_t now = (int64_t)time(NULL);
    size_t renewed = 0, failed = 0, kept = 0;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char mp[1400];
        snprintf(mp, sizeof mp, "%s/%s/meta.json", certs, de->d_name);
        json_t *m = json_load_file(mp, 0, NULL);
        const char *dir = json_string_value(json_object_get(m, "directory"));
        json_t *ns = json_object_get(m, "names");
        int64_t na = (int64_t)json_integer_value(json_object_get(m, "notAfter"));
        if (!dir || !json_is_array(ns) || !json_array_size(ns)) {
            if (m || errno) cli_error(CMD, "%s: unreadable, skipped", mp);
            json_decref(m);
            continue;
        }
        struct session s;
        char *names[100];
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(ns) && n < 100; i++)
            names[n++] = (char *)json_string_value(json_array_get(ns, i));
        struct opts oo = o;
        char outdir[1400];
        snprintf(outdir, sizeof outdir, "%s/%s", certs, de->d_name);
        oo.out = outdir;
        oo.directory = dir;
        if (session_open(CMD, o.state, dir, o.bundle, 1, &s) != 0) {
            failed++;
            json_decref(m);
            continue;
        }
        /* ARI (RFC 9773) when the CA offers it: renew once its window opens.
         * Otherwise renew within --days of notAfter. */
        char cp[1500];
        snprintf(cp, sizeof cp, "%s/cert.pem", outdir);
        char *pem = read_pem(cp);
        int64_t ws = 0, we = 0;
        struct dp_error e;
        dp_code ari = pem ? dp_acme_renewal_info(s.acme, pem, &ws, &we, &e) : DP_ERR_UNSUPPORTED;
        free(pem);
        int due;
        char why[128];
        if (ari == DP_OK) {
            char t[40];
            due = now >= ws;
            snprintf(why, sizeof why, "ARI window opens %s", cli_time_str(ws, t, sizeof t));
        } else {
            if (ari != DP_ERR_UNSUPPORTED)
                cli_error(CMD, "%s: renewalInfo: %s (using --days)", names[0], e.detail);
            due = na - now <= o.days * 86400;
            snprintf(why, sizeof why, "not within %ld days of notAfter", o.days);
        }
        if (!due) {
            printf("not yet due: %s (%s)\n", names[0], why);
            kept++;
        } else {
            char w[1600];
            int jit = 0;
            if (issue_one(&oo, &s, s.acme, names, n, w, sizeof w, &jit, &e) == DP_OK) {
                printf("renewed %s%s\n", names[0], ari == DP_OK ? " (ARI window open)" : "");
                renewed++;
            } else {
                session_error(CMD, &s, names[0], &e);
                failed++;
            }
        }
        session_close(&s);
        json_decref(m);
    }
    if (d) closedir(d);
    printf("renew: %zu renewed, %zu failed, %zu not yet due\n", renewed, failed, kept);
    return failed ? EXIT_INVALID : EXIT_VALID;
}

int cmd_revoke(int argc, char **argv)
{
    CMD = "revoke";
    static const struct option opts[] = {CLI_SESSION_OPTIONS,
                                         {"reason", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *state = NULL, *dir = NULL, *bundle = NULL;
    long reason = 0;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'S':
            state = optarg;
            break;
        case 'D':
            dir = optarg;
            break;
        case 'B':
            bundle = optarg;
            break;
        case 'r':
            if ((reason = cli_parse_count(optarg, 10)) < 0 || reason == 7)
                return cli_usage(CMD, "--reason '%s': an RFC 5280 reason code, 0-10 but not 7",
                                 optarg);
            break;
        case 'h':
            printf("usage: dnspersist revoke --directory URL [--reason N] [--state DIR] "
                   "[--ca-bundle FILE] CERTFILE\n");
            return 0;
        default:
            return cli_bad_option(CMD, c, argv);
        }
    }
    if (argc - optind != 1) return cli_usage(CMD, "exactly one CERTFILE is required");
    char *pem = read_pem(argv[optind]);
    if (!pem || !strstr(pem, "BEGIN CERTIFICATE")) {
        free(pem);
        return cli_usage(CMD, "CERTFILE %s: not a PEM certificate", argv[optind]);
    }
    struct session s;
    int rc = session_open(CMD, state, dir, bundle, 1, &s);
    if (!rc) {
        struct dp_error e;
        if (dp_acme_revoke(s.acme, pem, (int)reason, NULL, &e) == DP_OK) {
            printf("revoked %s\n", argv[optind]);
        } else {
            session_error(CMD, &s, "revokeCert", &e);
            rc = EXIT_INVALID;
        }
        session_close(&s);
    }
    free(pem);
    return rc;
}
