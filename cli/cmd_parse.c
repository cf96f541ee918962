/* cmd_parse.c: `dnspersist parse`, a record explained field by field (R3, R4, H1). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char *const CMD = "parse";

/* ASCII case-insensitive comparison of a span with a word (tags, R4). */
static int is(struct dp_span s, const char *word)
{
    return strlen(word) == s.len && strncasecmp(s.ptr, word, s.len) == 0;
}

static void help(void)
{
    printf("usage: dnspersist parse TXT\n\n"
           "Explains a _validation-persist record value field by field; when it is\n"
           "malformed, names the rule and points at the offending octet.\n\n"
           "Exit codes: 0 well-formed, 1 malformed, 2 usage error.\n");
}

/* Prints the value (a window of it when long) and a caret under offset. */
static void point_at(const char *v, size_t len, size_t offset)
{
    size_t from = offset > 60 ? offset - 60 : 0;
    size_t to = len - from > 120 ? from + 120 : len;
    fprintf(stderr, "  %s", from ? "..." : "");
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)v[i];
        fputc(c >= 0x20 && c < 0x7f ? c : '?', stderr); /* one column per octet */
    }
    fprintf(stderr, "%s\n  %s", to < len ? "..." : "", from ? "   " : "");
    for (size_t i = from; i < offset && i < to; i++)
        fputc(' ', stderr);
    fputs("^\n", stderr);
}

/* Recognizes <prefix><hash-alg>/<digest> without knowing the prefix. */
static void describe_accounturi(struct dp_span u)
{
    static const char *names[] = {"sha-256", "sha-384", "sha-512"};
    for (size_t i = 0; i < 3; i++) {
        char needle[16];
        snprintf(needle, sizeof needle, "/%s/", names[i]);
        size_t nl = strlen(needle);
        for (size_t p = 0; p + nl <= u.len; p++) {
            if (memcmp(u.ptr + p, needle, nl) != 0) continue;
            const char *dg = u.ptr + p + nl;
            size_t dl = u.len - p - nl;
            char fake_prefix[1024];
            if (p + 1 >= sizeof fake_prefix) break;
            memcpy(fake_prefix, u.ptr, p + 1);
            fake_prefix[p + 1] = '\0';
            struct dp_hashuri h;
            struct dp_error e;
            if (dp_hashuri_parse(u.ptr, u.len, fake_prefix, DP_HASH_ALL, &h, &e) == DP_OK)
                printf("  %-20s draft-02 hashed URI: prefix %s, %s digest %.*s\n", "", fake_prefix,
                       names[i], (int)dl, dg);
            else
                printf("  %-20s looks like a hashed URI but %s (H1)\n", "", e.detail);
            return;
        }
    }
    printf("  %-20s not a hashed URI: a draft-01 plain account URL; draft-02 CAs reject it (H1)\n",
           "");
}

int cmd_parse(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == 'h') {
            help();
            return 0;
        }
        return cli_bad_option(CMD, c, argv);
    }
    if (argc - optind != 1) return cli_usage(CMD, "exactly one TXT value is required");
    const char *v = argv[optind];
    size_t len = strlen(v);
    struct dp_record rec;
    struct dp_error e;
    dp_code rc = dp_record_parse(v, len, &rec, &e);

    if (rec.issuer.len)
        printf("%-22s %.*s\n", "issuer-domain-name", (int)rec.issuer.len, rec.issuer.ptr);
    else if (rc == DP_OK || rec.n_params)
        printf("%-22s (none: no CA will use this record, V2)\n", "issuer-domain-name");
    for (size_t i = 0; i < rec.n_params; i++) {
        const struct dp_param *pm = &rec.params[i];
        printf("%-22.*s %.*s\n", (int)pm->tag.len, pm->tag.ptr, (int)pm->value.len, pm->value.ptr);
        if (is(pm->tag, "accounturi") && pm->value.len) {
            describe_accounturi(pm->value);
        } else if (is(pm->tag, "policy")) {
            int w = is(pm->value, "wildcard");
            printf("  %-20s %s\n", "",
                   w ? "wildcard: covers the name, its subdomains and wildcards (S2)"
                     : "not 'wildcard': treated as absent, covers only this name (S1)");
        } else if (is(pm->tag, "persistUntil") && rec.has_persist_until) {
            char t[40];
            printf("  %-20s usable until %s (V3)\n", "",
                   cli_time_str(rec.persist_until, t, sizeof t));
        } else if (!is(pm->tag, "persistUntil")) {
            printf("  %-20s unknown tag: ignored (R4)\n", "");
        }
    }
    if (rc == DP_OK) {
        printf("well-formed (R3, R4)\n");
        return 0;
    }
    cli_error(CMD, "malformed (%s): %s", e.rule ? e.rule : "R3", e.detail);
    if (e.offset != DP_NO_OFFSET) point_at(v, len, e.offset);
    return EXIT_INVALID;
}
