/*
 * cmd_record.c: `dnspersist record` (R1, R2, H1-H3), offline from the given
 * values or live from a CA's directory and the stored account (after the
 * draft's A7 account check), and `publish` / `unpublish`, which compute the
 * same records and add or remove them with RFC 2136 + TSIG.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "provider.h"
#include "session.h"

enum mode { MODE_RECORD, MODE_PUBLISH, MODE_UNPUBLISH };

static void help(void)
{
    printf("usage: dnspersist record --issuer NAME --account-url URL\n"
           "           (--thumbprint B64 | --account-key PEMFILE) --hash-prefix URL\n"
           "           [--hash-alg sha-256|sha-384|sha-512] [--wildcard]\n"
           "           [--persist-until UNIX|YYYY-MM-DD|RFC3339] [--any-domain] [--draft 01]\n"
           "           [--format zone|value|json] DOMAIN...\n\n"
           "Computes the _validation-persist TXT record that authorizes an ACME account at a CA.\n"
           "A DOMAIN of *.example.com is placed at _validation-persist.example.com with\n"
           "policy=wildcard. Unicode names are normalized to A-labels (draft 9.2).\n\n"
           "  --issuer NAME         the CA's issuer domain name (directory issuerDomainNames)\n"
           "  --account-url URL     the ACME account URL\n"
           "  --thumbprint B64      RFC 7638 SHA-256 thumbprint of the account key (43 chars)\n"
           "  --account-key FILE    or the account key itself (PEM, public or private)\n"
           "  --hash-prefix URL     the CA's accountHashPrefix (directory meta)\n"
           "  --hash-alg NAME       digest for the hashed URI (default sha-256)\n"
           "  --wildcard            add policy=wildcard (subdomains and wildcards, S2)\n"
           "  --persist-until T     add persistUntil (UNIX seconds, YYYY-MM-DD or RFC 3339);\n"
           "                        a time already past is refused (V3) unless --now T2 puts\n"
           "                        it in the future (test fixtures)\n"
           "  --any-domain          hash with domain '*' so one value serves every domain\n"
           "  --draft 01            write the plain account URL (draft-01 CAs)\n"
           "  --format F            zone (default): a zone-file line; value: the value alone;\n"
           "                        json: {\"name\",\"value\",\"strings\"}\n\n"
           "Live, from a CA (the values come from its directory and the stored account):\n"
           "  dnspersist record --directory URL [--issuer NAME] [--state DIR] [--ca-bundle FILE]\n"
           "           [--wildcard] [--persist-until T] [--any-domain] [--format F] DOMAIN...\n\n"
           "dnspersist publish|unpublish --nsupdate SERVER[@PORT] --tsig-key FILE [record options] "
           "DOMAIN...\n"
           "adds or removes the record with an RFC 2136 update signed with TSIG, leaving\n"
           "other records at the name alone, then waits until the server answers accordingly;\n"
           "or, with --provider exec:PROGRAM, runs PROGRAM present|cleanup FQDN VALUE.\n\n"
           "Exit codes: 0 success, 1 the CA or the DNS server refused, 2 usage error, 3 internal "
           "error.\n");
}

/* publish and unpublish: their own usage first, the record options after. */
static void help_update(enum mode mode)
{
    int pub = mode == MODE_PUBLISH;
    printf(
        "usage: dnspersist %s --directory URL --nsupdate SERVER[@PORT] --tsig-key FILE\n"
        "           [--state DIR] [--ca-bundle FILE] [--wait T] [record options] DOMAIN...\n"
        "       dnspersist %s --directory URL --provider exec:PROGRAM [--wait T] ... DOMAIN...\n\n"
        "%s with an RFC 2136 update signed with TSIG, leaving other records at the\n"
        "name alone, then waits until the server answers accordingly (--wait, default 30s).\n"
        "  --nsupdate SERVER[@PORT]  the primary server taking updates\n"
        "  --tsig-key KEY            the TSIG key: a BIND key {} file, a file of Knot's\n"
        "                            keymgr -t output, or ALG:NAME:SECRET\n"
        "  --provider exec:PROGRAM   instead, run PROGRAM %s FQDN VALUE (lego's exec\n"
        "                            protocol; FQDN ends in a dot) for any DNS API; exit\n"
        "                            status 0 means done; stopped after --wait (default 2m)\n\n"
        "Record options (see dnspersist record --help): --issuer, --wildcard,\n"
        "--persist-until, --any-domain, --draft 01.\n\n"
        "Exit codes: 0 success, 1 the CA or the DNS server refused, 2 usage error, 3 internal "
        "error.\n",
        pub ? "publish" : "unpublish", pub ? "publish" : "unpublish",
        pub ? "Adds this account's _validation-persist record for each DOMAIN"
            : "Removes every _validation-persist record of this account for each DOMAIN",
        pub ? "present" : "cleanup");
}

/* Everything the options say, and what live mode learns from the CA. */
struct record_opts {
    struct cli_common co;
    const char *nsupdate, *tsig, *exec; /* exec: the --provider program */
    long wait_ms;
    int wait_set;
    const char *issuer, *url, *thumb, *keyfile, *prefix, *format;
    dp_hash_alg alg;
    int wildcard, any_domain, draft01, has_until;
    int64_t until, now;
    /* live (--directory): the values, and every key the account had (A6) */
    char live_issuer[DP_DOMAIN_MAX + 3], live_prefix[1024], live_url[1024],
        live_thumb[DP_THUMBPRINT_BUF];
    char all_thumbs[16][DP_THUMBPRINT_BUF];
    size_t n_thumbs;
};

/* 0 parsed (optind at the first DOMAIN); -1 after --help; else the usage
 * exit code. */
static int parse_opts(const char *cmd, enum mode mode, int argc, char **argv, struct record_opts *o)
{
    static const struct option opts[] = {{"issuer", required_argument, 0, 'i'},
                                         {"account-url", required_argument, 0, 'u'},
                                         {"thumbprint", required_argument, 0, 't'},
                                         {"account-key", required_argument, 0, 'k'},
                                         {"hash-prefix", required_argument, 0, 'p'},
                                         {"hash-alg", required_argument, 0, 'a'},
                                         {"wildcard", no_argument, 0, 'w'},
                                         {"persist-until", required_argument, 0, 'U'},
                                         {"any-domain", no_argument, 0, 'A'},
                                         {"now", required_argument, 0, 'n'},
                                         {"draft", required_argument, 0, 'd'},
                                         {"format", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         CLI_SESSION_OPTIONS,
                                         {"nsupdate", required_argument, 0, 'N'},
                                         {"tsig-key", required_argument, 0, 'K'},
                                         {"wait", required_argument, 0, 'W'},
                                         {"provider", required_argument, 0, 'P'},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->wait_ms = 30000;
    o->format = "zone";
    o->alg = DP_HASH_SHA256;
    o->now = (int64_t)time(NULL);
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            o->issuer = optarg;
            break;
        case 'u':
            o->url = optarg;
            break;
        case 't':
            o->thumb = optarg;
            break;
        case 'k':
            o->keyfile = optarg;
            break;
        case 'p':
            o->prefix = optarg;
            break;
        case 'a':
            if (dp_hashuri_alg_from_name(optarg, strlen(optarg), &o->alg) != DP_OK)
                return cli_usage(cmd, "--hash-alg '%s': use sha-256, sha-384 or sha-512 (H1)",
                                 optarg);
            break;
        case 'w':
            o->wildcard = 1;
            break;
        case 'U':
            if (cli_parse_time(optarg, &o->until))
                return cli_usage(
                    cmd, "--persist-until '%s': not UNIX seconds, YYYY-MM-DD or RFC 3339 (R4)",
                    optarg);
            o->has_until = 1;
            break;
        case 'A':
            o->any_domain = 1;
            break;
        case 'n': /* the time "the past" is judged against (test fixtures) */
            if (cli_parse_time(optarg, &o->now))
                return cli_usage(cmd, "--now '%s': not UNIX seconds, YYYY-MM-DD or RFC 3339",
                                 optarg);
            break;
        case 'd':
            if (strcmp(optarg, "01") && strcmp(optarg, "02"))
                return cli_usage(cmd, "--draft '%s': use 01 or 02", optarg);
            o->draft01 = !strcmp(optarg, "01");
            break;
        case 'f':
            if (strcmp(optarg, "zone") && strcmp(optarg, "value") && strcmp(optarg, "json"))
                return cli_usage(cmd, "--format '%s': use zone, value or json", optarg);
            o->format = optarg;
            break;
        case 'N':
            o->nsupdate = optarg;
            break;
        case 'K':
            o->tsig = optarg;
            break;
        case 'W':
            if ((o->wait_ms = cli_parse_duration_ms(optarg, 600000)) < 0)
                return cli_usage(cmd,
                                 "--wait '%s': a duration with its unit (30s, 500ms, 0s), up "
                                 "to 10m",
                                 optarg);
            o->wait_set = 1;
            break;
        case 'P':
            if (strncmp(optarg, "exec:", 5) || !optarg[5])
                return cli_usage(
                    cmd, "--provider '%s': use exec:PROGRAM (or --nsupdate for RFC 2136)", optarg);
            o->exec = optarg + 5;
            break;
        case 'h':
            if (mode == MODE_RECORD)
                help();
            else
                help_update(mode);
            return -1;
        default:
            if (cli_common_opt(&o->co, c, optarg)) break;
            return cli_bad_option(cmd, c, argv);
        }
    }
    return 0;
}

/* Live mode: the issuer, prefix, account URL and keys come from the CA's
 * directory and the stored account, after the account check (A7). 0, or
 * the exit code after saying why. */
static int live_values(const char *cmd, struct record_opts *o)
{
    if (o->url || o->thumb || o->keyfile || o->prefix)
        return cli_usage(cmd, "--directory takes the account and prefix from the CA: drop "
                              "--account-url, --thumbprint, --account-key and --hash-prefix");
    struct session sess;
    struct dp_error e;
    int rc = session_open(cmd, o->co.state, o->co.directory, o->co.bundle, 1, &sess);
    if (rc) return rc;
    /* --issuer wins; else issuerDomainNames; never caaIdentities (3.2). */
    const char *names[DP_MAX_ISSUERS];
    if (!session_issuers(cmd, &sess, &o->issuer, o->issuer ? 1 : 0, 0, names, DP_MAX_ISSUERS)) {
        session_close(&sess);
        return o->issuer ? EXIT_USAGE : EXIT_INVALID;
    }
    snprintf(o->live_issuer, sizeof o->live_issuer, "%s", names[0]);
    /* A7: the exact account URL answers POST-as-GET "" with status valid, no redirects. */
    if (dp_acme_account_check(sess.acme, &e) != DP_OK) {
        session_error(cmd, &sess, "account check (A7)", &e);
        session_close(&sess);
        return EXIT_INVALID;
    }
    const char *hp = dp_acme_hash_prefix(sess.acme);
    if (!hp) {
        fprintf(stderr,
                "dnspersist: %s: %s has no accountHashPrefix: a draft-01 CA; writing the plain "
                "account URL\n",
                cmd, sess.directory);
        o->draft01 = 1;
        o->any_domain = 0;
    }
    snprintf(o->live_prefix, sizeof o->live_prefix, "%s", hp ? hp : "");
    snprintf(o->live_url, sizeof o->live_url, "%s", sess.acct.url);
    snprintf(o->live_thumb, sizeof o->live_thumb, "%s", dp_key_thumbprint(sess.acct.key));
    o->n_thumbs = session_thumbprints(&sess.acct, o->all_thumbs, 16);
    session_close(&sess);
    o->issuer = o->live_issuer;
    o->url = o->live_url;
    o->prefix = o->draft01 ? NULL : o->live_prefix; /* --draft 01: the plain URL on a compat CA */
    o->thumb = o->live_thumb;
    return 0;
}

/* unpublish, live: every record of this account for this CA at the name,
 * whatever its key (A6: older keys' records validate too), form, policy or
 * persistUntil. 0, or an exit code. */
static int unpublish_account(const char *cmd, const struct record_opts *o,
                             const struct dp_tsig *key, const char *iss, const char *base)
{
    char name[DP_VALIDATION_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, base);
    char **vals = NULL;
    size_t nv = 0;
    struct dp_error e;
    int rc = 0;
    if (dp_update_txt_fetch(o->nsupdate, name, &vals, &nv, &e) != DP_OK) {
        cli_error(cmd, "%s: %s", name, e.detail);
        rc = EXIT_INVALID;
    }
    size_t removed = 0;
    for (size_t k = 0; k < nv && rc == 0; k++) {
        struct dp_record rec;
        if (dp_record_parse(vals[k], strlen(vals[k]), &rec, NULL) != DP_OK ||
            !dp_record_issuer_matches(rec.issuer, iss))
            continue;
        int mine = rec.accounturi.len == strlen(o->url) &&
                   !memcmp(rec.accounturi.ptr, o->url, rec.accounturi.len);
        for (size_t t = 0; !mine && !o->draft01 && t < o->n_thumbs; t++)
            for (int form = 0; !mine && form < 2; form++)
                for (unsigned a = DP_HASH_SHA256; !mine && a <= DP_HASH_SHA512; a <<= 1) {
                    char *u = dp_hashuri_compute_alloc((dp_hash_alg)a, o->prefix, form ? "*" : base,
                                                       o->all_thumbs[t], o->url, NULL);
                    mine = u && strlen(u) == rec.accounturi.len &&
                           !memcmp(u, rec.accounturi.ptr, rec.accounturi.len);
                    free(u);
                }
        if (!mine) continue;
        if (dp_update_txt(o->nsupdate, key, name, vals[k], 0, 300, (unsigned)o->wait_ms, &e) !=
            DP_OK) {
            cli_error(cmd, "%s: %s", name, e.detail);
            rc = e.code == DP_ERR_INVAL ? EXIT_USAGE : EXIT_INVALID;
        } else {
            printf("removed %s. TXT \"%s\"\n", name, vals[k]);
            removed++;
        }
    }
    if (rc == 0 && !removed)
        printf("nothing to remove at %s: no record of this account for %s\n", name, iss);
    dp_update_values_free(vals, nv);
    return rc;
}

/* record: the value at base's validation name, as --format says. 0, or
 * EXIT_FAILURE_INTERNAL. */
static int print_record(const struct record_opts *o, const char *base, const char *value)
{
    size_t vlen = strlen(value);
    char name[DP_VALIDATION_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, base);
    if (!strcmp(o->format, "value")) {
        printf("%s\n", value);
        return 0;
    }
    if (!strcmp(o->format, "zone")) {
        char *pres = dp_txt_presentation_alloc(value, vlen);
        if (pres) printf("%s. IN TXT %s\n", name, pres);
        free(pres);
        return pres ? 0 : EXIT_FAILURE_INTERNAL;
    }
    size_t ns = dp_txt_count(vlen);
    struct dp_span *sp = calloc(ns, sizeof *sp);
    json_t *strs = json_array(), *j = json_object();
    int rc = EXIT_FAILURE_INTERNAL;
    if (sp && strs && j && dp_txt_split(value, vlen, sp, ns) == ns) {
        for (size_t k = 0; k < ns; k++)
            json_array_append_new(strs, json_stringn(sp[k].ptr, sp[k].len));
        json_object_set_new(j, "name", json_string(name));
        json_object_set_new(j, "value", json_string(value));
        json_object_set(j, "strings", strs);
        char *s = json_dumps(j, JSON_COMPACT);
        if (s) {
            printf("%s\n", s);
            rc = 0;
        }
        free(s);
    }
    json_decref(strs);
    json_decref(j);
    free(sp);
    return rc;
}

/* The account key's thumbprint (--account-key or --thumbprint) into tp. */
static int thumbprint(const char *cmd, const struct record_opts *o, char tp[DP_THUMBPRINT_BUF])
{
    struct dp_error e;
    if (o->keyfile) {
        if (dp_jwk_thumbprint_pem_file(o->keyfile, tp, &e) != DP_OK) {
            cli_error(cmd, "--account-key %s: %s", o->keyfile, e.detail);
            return EXIT_USAGE;
        }
        return 0;
    }
    if (!dp_hashuri_thumbprint_valid(o->thumb, strlen(o->thumb)))
        return cli_usage(cmd, "--thumbprint '%s': not 43 characters of unpadded base64url (H2)",
                         o->thumb);
    memcpy(tp, o->thumb, DP_THUMBPRINT_BUF);
    return 0;
}

static int record_main(const char *cmd, int argc, char **argv, enum mode mode)
{
    struct record_opts *o = calloc(1, sizeof *o);
    if (!o) return EXIT_FAILURE_INTERNAL;
    int rc = parse_opts(cmd, mode, argc, argv, o);
    char(*doms)[DP_DOMAIN_MAX + 3] = NULL;
    struct dp_tsig key;
    struct dp_error e;
    char iss[DP_DOMAIN_MAX + 3], tp[DP_THUMBPRINT_BUF] = "";
    if (rc) goto out;
    if (optind >= argc) {
        rc = cli_usage(cmd, "a DOMAIN is required");
        goto out;
    }
    if (mode == MODE_RECORD && o->exec)
        rc = cli_usage(cmd, "--provider is for publish and unpublish");
    else if (o->exec && (o->nsupdate || o->tsig))
        rc = cli_usage(cmd, "give --provider or --nsupdate with --tsig-key, not both");
    else if (o->exec && !o->wait_set)
        o->wait_ms = 120000; /* a DNS API's program waits for its own propagation */
    if (rc) goto out;
    if (mode != MODE_RECORD && !o->exec) {
        if (!o->nsupdate)
            rc =
                cli_usage(cmd, "--nsupdate SERVER[@PORT] (or --provider exec:PROGRAM) is required");
        else if (!o->tsig)
            rc = cli_usage(cmd, "--tsig-key FILE is required");
        else if (dp_update_tsig_load(o->tsig, &key, &e) != DP_OK) {
            cli_error(cmd, "--tsig-key: %s", e.detail);
            rc = EXIT_USAGE;
        }
        if (rc) goto out;
    }
    if (o->has_until && o->until < o->now) {
        rc = cli_usage(cmd,
                       "--persist-until %lld is in the past: the record would never authorize "
                       "(V3); give a later time",
                       (long long)o->until);
        goto out;
    }
    int live = o->co.directory != NULL;
    if (live && (rc = live_values(cmd, o))) goto out;
    if (!o->issuer)
        rc = cli_usage(cmd, "--issuer is required (or --directory)");
    else if (!o->url)
        rc = cli_usage(cmd, "--account-url is required (or --directory)");
    else if (o->draft01 && o->any_domain)
        rc = cli_usage(cmd, "--any-domain hashes the account URI; draft 01 has no hash");
    else if (!o->draft01 && !o->prefix)
        rc = cli_usage(cmd, "--hash-prefix is required (or --draft 01)");
    else if (!o->draft01 && !o->thumb == !o->keyfile)
        rc = cli_usage(cmd, "give exactly one of --thumbprint and --account-key");
    else if (cli_domain(cmd, "--issuer", o->issuer, iss, 0))
        rc = EXIT_USAGE;
    else if (!o->draft01)
        rc = thumbprint(cmd, o, tp);
    if (rc) goto out;

    /* Check every domain before printing anything, so output is all or nothing. */
    int n = argc - optind;
    if (!(doms = calloc((size_t)n, sizeof *doms))) {
        rc = EXIT_FAILURE_INTERNAL;
        goto out;
    }
    for (int i = 0; i < n && !rc; i++)
        if (cli_domain(cmd, "DOMAIN", argv[optind + i], doms[i], 1)) rc = EXIT_USAGE;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *base = dp_domain_base(doms[i]);
        int wild = o->wildcard || base != doms[i];
        char *uri = NULL;
        if (!o->draft01 && !(uri = dp_hashuri_compute_alloc(
                                 o->alg, o->prefix, o->any_domain ? "*" : base, tp, o->url, &e))) {
            cli_error(cmd, "%s (%s)", e.detail, e.rule ? e.rule : "H2");
            rc = EXIT_USAGE;
            break;
        }
        struct dp_record_spec spec = {iss, o->draft01 ? o->url : uri, wild, o->has_until, o->until};
        char *value = dp_record_format_alloc(&spec, &e);
        free(uri);
        if (!value) {
            cli_error(cmd, "%s (%s)", e.detail, e.rule ? e.rule : "R3");
            rc = EXIT_USAGE;
            break;
        }
        if (o->exec) {
            char name[DP_VALIDATION_NAME_MAX];
            snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, base);
            rc = cli_provider_exec(cmd, o->exec, mode == MODE_PUBLISH ? "present" : "cleanup", name,
                                   value, o->wait_ms);
            if (rc == 0)
                printf("%s %s. TXT \"%s\"\n", mode == MODE_PUBLISH ? "published" : "removed", name,
                       value);
        } else if (mode == MODE_UNPUBLISH && live) {
            rc = unpublish_account(cmd, o, &key, iss, base);
        } else if (mode != MODE_RECORD) {
            char name[DP_VALIDATION_NAME_MAX];
            snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, base);
            if (dp_update_txt(o->nsupdate, &key, name, value, mode == MODE_PUBLISH, 300,
                              (unsigned)o->wait_ms, &e) != DP_OK) {
                cli_error(cmd, "%s: %s", name, e.detail);
                rc = e.code == DP_ERR_INVAL ? EXIT_USAGE : EXIT_INVALID;
            } else {
                printf("%s %s. TXT \"%s\"\n", mode == MODE_PUBLISH ? "published" : "removed", name,
                       value);
            }
        } else {
            rc = print_record(o, base, value);
        }
        free(value);
    }
    if (rc == EXIT_FAILURE_INTERNAL) cli_error(cmd, "out of memory");
out:
    free(doms);
    free(o);
    return rc < 0 ? 0 : rc;
}

int cmd_record(int argc, char **argv)
{
    return record_main("record", argc, argv, MODE_RECORD);
}

int cmd_publish(int argc, char **argv)
{
    return record_main("publish", argc, argv, MODE_PUBLISH);
}

int cmd_unpublish(int argc, char **argv)
{
    return record_main("unpublish", argc, argv, MODE_UNPUBLISH);
}
