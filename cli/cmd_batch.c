/*
 * cmd_batch.c: `dnspersist issue --batch FILE`: one certificate per line,
 * issued by N workers, each with its own kept-alive session. A failure is
 * retried with back-off when it may be passing (not when the CA said
 * unauthorized or malformed) and never stops the others; one JSON line per
 * certificate on stdout.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "issue.h"

static const char *const CMD = "issue";

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
    const struct issue_opts *o;
    struct session *s;
    struct job *jobs;
    size_t n, next, done, failed;
    pthread_mutex_t mu;
    int progress;
};

static void *worker(void *arg)
{
    struct batch *b = arg;
    struct dp_acme_config cfg = {b->s->directory, b->s->bundle, 30000, 120000};
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
            int issued = 0;
            dp_code rc = acme ? issue_one(b->o, b->s, acme, j->names, (size_t)j->n, j->dir,
                                          sizeof j->dir, &j->jit, &issued, &e)
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
            /* issued: the write failed after its own retries; never a new order */
            int permanent = issued || rc == DP_ERR_UNAUTHORIZED || rc == DP_ERR_MALFORMED ||
                            rc == DP_ERR_UNSUPPORTED;
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

int issue_batch(const struct issue_opts *o, struct session *s)
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
