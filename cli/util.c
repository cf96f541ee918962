/* util.c: error reporting, time parsing and argument checks shared by the commands. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dnspersist: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "dnspersist: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'dnspersist %s --help')\n", cmd);
    return EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int opt, char **argv)
{
    const char *arg = argv[optind - 1];
    if (opt == ':') return cli_usage(cmd, "option '%s' needs a value", arg);
    return cli_usage(cmd, "unknown option '%s'", arg);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int cli_parse_time(const char *s, int64_t *out)
{
    size_t len = strlen(s);
    if (len == 0) return -1;
    /* Plain seconds (possibly negative) when every octet is a digit. */
    size_t i = s[0] == '-' ? 1 : 0;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    if (i == len && len > (s[0] == '-' ? 1u : 0u)) {
        errno = 0;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (errno || *end) return -1;
        *out = v;
        return 0;
    }
    int Y, M, D, h = 0, m = 0, sec = 0;
    if (len < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &Y) || digits(s + 5, 2, &M) ||
        digits(s + 8, 2, &D))
        return -1;
    long offset = 0;
    if (len > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 20 || s[13] != ':' ||
            s[16] != ':' || digits(s + 11, 2, &h) || digits(s + 14, 2, &m) ||
            digits(s + 17, 2, &sec))
            return -1;
        const char *p = s + 19;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p)) return -1;
            while (isdigit((unsigned char)*p))
                p++; /* fractions are dropped: persistUntil is whole seconds */
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (strlen(p) != 6 || p[3] != ':' || digits(p + 1, 2, &oh) || digits(p + 4, 2, &om) ||
                oh > 23 || om > 59)
                return -1;
            offset = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
            p += 6;
        } else {
            return -1;
        }
        if (*p) return -1;
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60) return -1;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M == 2 && D == 29 && !leap) return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec == 60 ? 59 : sec; /* a leap second names the same POSIX second */
    time_t t = timegm(&tm);
    *out = (int64_t)t - offset;
    return 0;
}

const char *cli_time_str(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || !strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, cap, "(out of range)");
    return buf;
}

int cli_domain(const char *cmd, const char *field, const char *in, char *out, int wild)
{
    struct dp_error e;
    if (dp_domain_normalize(in, out, wild ? DP_DOMAIN_ALLOW_WILDCARD : 0, &e) != DP_OK) {
        cli_error(cmd, "%s '%s': %s (draft 9.2)", field, in, e.detail);
        return -1;
    }
    return 0;
}

struct dp_resolver *cli_resolver(const char *cmd, const char *resolver, const char *trust_anchor,
                                 unsigned timeout_ms, unsigned concurrency)
{
    struct dp_resolver_config c = {resolver, trust_anchor, timeout_ms, concurrency, 0};
    struct dp_error e;
    struct dp_resolver *r = dp_resolver_new(&c, &e);
    if (!r)
        cli_error(cmd, "%s%s",
                  resolver && e.code == DP_ERR_INVAL    ? "--resolver: "
                  : trust_anchor && e.code == DP_ERR_IO ? "--trust-anchor: "
                                                        : "",
                  e.detail);
    return r;
}

char **cli_txt_values(const struct dp_dns_answer *a, size_t *n)
{
    *n = 0;
    if (a->status != DP_DNS_FOUND || !a->txt || a->n_rrs == 0) return NULL;
    char **v = calloc(a->n_rrs, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < a->n_rrs; i++) {
        size_t len = 0;
        for (size_t k = 0; k < a->txt[i].n_strings; k++)
            len += a->txt[i].strings[k].len;
        v[i] = malloc(len + 1);
        if (!v[i] || dp_txt_join(&a->txt[i], v[i], len + 1, NULL, NULL) != DP_OK) {
            cli_values_free(v, i + 1);
            return NULL;
        }
    }
    *n = a->n_rrs;
    return v;
}

void cli_values_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

long cli_parse_count(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > max) return -1;
    return v;
}

long cli_parse_duration_ms(const char *s, long max_ms)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || v < 0) return -1;
    long mult = !strcmp(end, "ms") ? 1 : !strcmp(end, "s") ? 1000 : !strcmp(end, "m") ? 60000 : 0;
    if (!*end) return -2; /* a bare number: which unit was meant is not known */
    if (!mult || v > max_ms / mult) return -1;
    return v * mult;
}

json_t *cli_json_octets(const char *p, size_t len)
{
    json_t *j = json_stringn(p, len);
    if (j) return j;
    char *c = malloc(len + 1);
    if (!c) return NULL;
    for (size_t i = 0; i < len; i++)
        c[i] = (unsigned char)p[i] > 0x7f || p[i] == '\0' ? '?' : p[i];
    j = json_stringn(c, len);
    free(c);
    return j;
}

static int parse_algs(const char *list, unsigned *out)
{
    unsigned set = 0;
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        dp_hash_alg a;
        if (dp_hashuri_alg_from_name(p, n, &a) != DP_OK) return -1;
        set |= a;
        p += n + (e ? 1 : 0);
    }
    *out = set;
    return set ? 0 : -1;
}

int cli_account_opt(const char *cmd, struct cli_account *a, int opt, const char *arg)
{
    switch (opt) {
    case 'i':
        if (a->n_issuers == DP_MAX_ISSUERS)
            return cli_usage(cmd, "more than %d --issuer names (A4)", DP_MAX_ISSUERS);
        a->issuers[a->n_issuers++] = arg;
        return 0;
    case 'u':
        a->url = arg;
        return 0;
    case 't':
        if (!dp_hashuri_thumbprint_valid(arg, strlen(arg)))
            return cli_usage(cmd, "--thumbprint '%s': not 43 characters of unpadded base64url (H2)",
                             arg);
        if (a->n_thumbs == CLI_MAX_THUMBPRINTS)
            return cli_usage(cmd, "more than %d --thumbprint values", CLI_MAX_THUMBPRINTS);
        a->thumbs[a->n_thumbs++] = arg;
        return 0;
    case 'p':
        a->prefix = arg;
        return 0;
    case 'd':
        if (!strcmp(arg, "01"))
            a->mode = DP_MODE_DRAFT01;
        else if (!strcmp(arg, "02"))
            a->mode = DP_MODE_DRAFT02;
        else if (!strcmp(arg, "compat"))
            a->mode = DP_MODE_COMPAT;
        else
            return cli_usage(cmd, "--draft '%s': use 01, 02 or compat", arg);
        return 0;
    case 'a':
        if (parse_algs(arg, &a->accepted) || !(a->accepted & DP_HASH_SHA256))
            return cli_usage(
                cmd,
                "--accept-algs '%s': a comma list of sha-256 (required), sha-384, sha-512 (H1)",
                arg);
        return 0;
    }
    return cli_usage(cmd, "unexpected option");
}

int cli_account_finish(const char *cmd, const struct cli_account *a, struct dp_verify_params *p)
{
    if (a->n_issuers == 0) return cli_usage(cmd, "at least one --issuer is required");
    if (!a->url) return cli_usage(cmd, "--account-url is required");
    if (a->mode != DP_MODE_DRAFT01 && !a->prefix)
        return cli_usage(cmd, "--hash-prefix is required (or --draft 01)");
    if (a->mode != DP_MODE_DRAFT01 && a->n_thumbs == 0)
        return cli_usage(cmd, "at least one --thumbprint is required");
    for (size_t i = 0; i < a->n_issuers; i++) {
        char tmp[DP_DOMAIN_MAX + 3];
        if (cli_domain(cmd, "--issuer", a->issuers[i], tmp, 0)) return EXIT_USAGE;
    }
    *p = (struct dp_verify_params){a->issuers, a->n_issuers, a->url,  a->thumbs, a->n_thumbs,
                                   a->prefix,  a->accepted,  a->mode, NULL,      0};
    return 0;
}

/* A certificate file's text (at most 64 KiB), or NULL when it cannot be read. */
char *cli_read_pem(const char *path)
{
    FILE *f = fopen(path, "r");
    char *pem = f ? calloc(1, 65536) : NULL;
    if (pem && fread(pem, 1, 65535, f) == 0) pem[0] = '\0';
    if (f) fclose(f);
    return pem;
}

int cli_common_opt(struct cli_common *c, int opt, const char *arg)
{
    switch (opt) {
    case 'S':
        c->state = arg;
        return 1;
    case 'D':
        c->directory = arg;
        return 1;
    case 'B':
        c->bundle = arg;
        return 1;
    case 'R':
        c->resolver = arg;
        return 1;
    case 'T':
        c->ta = arg;
        return 1;
    case 'j':
        c->json = 1;
        return 1;
    default:
        return 0;
    }
}

char **cli_read_list(const char *cmd, const char *path, size_t *count)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        cli_error(cmd, "--from %s: cannot open", path);
        return NULL;
    }
    size_t cap = 64, n = 0;
    char **out = malloc(cap * sizeof *out);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t l;
    while (out && (l = getline(&line, &lcap, f)) >= 0) {
        char *s = line;
        s[strcspn(s, "#\r\n")] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        size_t e = strlen(s);
        while (e && (s[e - 1] == ' ' || s[e - 1] == '\t'))
            s[--e] = '\0';
        if (!*s) continue;
        if (n + 1 >= cap) {
            char **grown = realloc(out, (cap *= 2) * sizeof *out);
            if (!grown) {
                free(out);
                out = NULL;
                break;
            }
            out = grown;
        }
        out[n++] = strdup(s);
    }
    free(line);
    if (f != stdin) fclose(f);
    if (!out) {
        cli_error(cmd, "out of memory");
        return NULL;
    }
    out[n] = NULL;
    *count = n;
    return out;
}

void cli_list_free(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}
