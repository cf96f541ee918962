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
#include "session.h"

enum mode { MODE_RECORD, MODE_PUBLISH, MODE_UNPUBLISH };
static const char *CMD = "record";

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
           "other records at the name alone, then waits until the server answers accordingly.\n\n"
           "Exit codes: 0 success, 1 the CA or the DNS server refused, 2 usage error, 3 internal "
           "error.\n");
}

/* publish and unpublish: their own usage first, the record options after. */
static void help_update(enum mode mode)
{
    int pub = mode == MODE_PUBLISH;
    printf("usage: dnspersist %s --directory URL --nsupdate SERVER[@PORT] --tsig-key FILE\n"
           "           [--state DIR] [--ca-bundle FILE] [--wait MS] [record options] DOMAIN...\n\n"
           "%s with an RFC 2136 update signed with TSIG, leaving other records at the\n"
           "name alone, then waits until the server answers accordingly (--wait, ms).\n"
           "  --nsupdate SERVER[@PORT]  the primary server taking updates\n"
           "  --tsig-key KEY            the TSIG key: a BIND key {} file, a file of Knot's\n"
           "                            keymgr -t output, or ALG:NAME:SECRET\n\n"
           "Record options (see dnspersist record --help): --issuer, --wildcard,\n"
           "--persist-until, --any-domain, --draft 01.\n\n"
           "Exit codes: 0 success, 1 the CA or the DNS server refused, 2 usage error, 3 internal "
           "error.\n",
           pub ? "publish" : "unpublish",
           pub ? "Adds this account's _validation-persist record for each DOMAIN"
               : "Removes every _validation-persist record of this account for each DOMAIN");
}

static int record_main(int argc, char **argv, enum mode mode);

int cmd_record(int argc, char **argv)
{
    CMD = "record";
    return record_main(argc, argv, MODE_RECORD);
}

int cmd_publish(int argc, char **argv)
{
    CMD = "publish";
    return record_main(argc, argv, MODE_PUBLISH);
}

int cmd_unpublish(int argc, char **argv)
{
    CMD = "unpublish";
    return record_main(argc, argv, MODE_UNPUBLISH);
}

static int record_main(int argc, char **argv, enum mode mode)
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
                                         {0, 0, 0, 0}};
    struct cli_common co = {0};
    const char *nsupdate = NULL, *tsig = NULL;
    long wait_ms = 30000;
    const char *issuer = NULL, *url = NULL, *thumb = NULL, *keyfile = NULL, *prefix = NULL;
    const char *format = "zone";
    dp_hash_alg alg = DP_HASH_SHA256;
    int wildcard = 0, any_domain = 0, draft01 = 0, has_until = 0;
    int64_t until = 0, now = (int64_t)time(NULL);
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            issuer = optarg;
            break;
        case 'u':
            url = optarg;
            break;
        case 't':
            thumb = optarg;
            break;
        case 'k':
            keyfile = optarg;
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'a':
            if (dp_hashuri_alg_from_name(optarg, strlen(optarg), &alg) != DP_OK)
                return cli_usage(CMD, "--hash-alg '%s': use sha-256, sha-384 or sha-512 (H1)",
                                 optarg);
            break;
        case 'w':
            wildcard = 1;
            break;
        case 'U':
            if (cli_parse_time(optarg, &until))
                return cli_usage(
                    CMD, "--persist-until '%s': not UNIX seconds, YYYY-MM-DD or RFC 3339 (R4)",
                    optarg);
            has_until = 1;
            break;
        case 'A':
            any_domain = 1;
            break;
        case 'n': /* the time "the past" is judged against (test fixtures) */
            if (cli_parse_time(optarg, &now))
                return cli_usage(CMD, "--now '%s': not UNIX seconds, YYYY-MM-DD or RFC 3339",
                                 optarg);
            break;
        case 'd':
            if (strcmp(optarg, "01") && strcmp(optarg, "02"))
                return cli_usage(CMD, "--draft '%s': use 01 or 02", optarg);
            draft01 = !strcmp(optarg, "01");
            break;
        case 'f':
            if (strcmp(optarg, "zone") && strcmp(optarg, "value") && strcmp(optarg, "json"))
                return cli_usage(CMD, "--format '%s': use zone, value or json", optarg);
            format = optarg;
            break;
        case 'N':
            nsupdate = optarg;
            break;
        case 'K':
            tsig = optarg;
            break;
        case 'W':
            if ((wait_ms = cli_parse_count(optarg, 600000)) < 0)
                return cli_usage(CMD, "--wait '%s': milliseconds", optarg);
            break;
        case 'h':
            if (mode == MODE_RECORD)
                help();
            else
                help_update(mode);
            return 0;
        default:
            if (cli_common_opt(&co, c, optarg)) break;
            return cli_bad_option(CMD, c, argv);
        }
    }
    if (optind >= argc) return cli_usage(CMD, "a DOMAIN is required");
    struct dp_tsig key;
    struct dp_error e;
    if (mode != MODE_RECORD) {
        if (!nsupdate) return cli_usage(CMD, "--nsupdate SERVER[@PORT] is required");
        if (!tsig) return cli_usage(CMD, "--tsig-key FILE is required");
        if (dp_update_tsig_load(tsig, &key, &e) != DP_OK) {
            cli_error(CMD, "--tsig-key: %s", e.detail);
            return EXIT_USAGE;
        }
    }
    if (has_until && until < now)
        return cli_usage(CMD,
                         "--persist-until %lld is in the past: the record would never authorize "
                         "(V3); give a later time",
                         (long long)until);
    /* Live mode: the values come from the CA and the stored account. */
    struct session sess;
    int live = co.directory != NULL;
    char live_issuer[DP_DOMAIN_MAX + 3], live_prefix[1024], live_url[1024],
        live_thumb[DP_THUMBPRINT_BUF];
    char all_thumbs[16][DP_THUMBPRINT_BUF];
    size_t n_thumbs = 0;
    if (live) {
        if (url || thumb || keyfile || prefix)
            return cli_usage(CMD, "--directory takes the account and prefix from the CA: drop "
                                  "--account-url, --thumbprint, --account-key and --hash-prefix");
        int rc = session_open(CMD, co.state, co.directory, co.bundle, 1, &sess);
        if (rc) return rc;
        /* --issuer wins; else issuerDomainNames; never caaIdentities (3.2). */
        const char *names[DP_MAX_ISSUERS];
        if (!session_issuers(CMD, &sess, &issuer, issuer ? 1 : 0, 0, names, DP_MAX_ISSUERS)) {
            session_close(&sess);
            return issuer ? EXIT_USAGE : EXIT_INVALID;
        }
        snprintf(live_issuer, sizeof live_issuer, "%s", names[0]);
        /* A7: the exact account URL answers POST-as-GET "" with status valid, no redirects. */
        if (dp_acme_account_check(sess.acme, &e) != DP_OK) {
            session_error(CMD, &sess, "account check (A7)", &e);
            session_close(&sess);
            return EXIT_INVALID;
        }
        const char *hp = dp_acme_hash_prefix(sess.acme);
        if (!hp) {
            fprintf(stderr,
                    "dnspersist: %s: %s has no accountHashPrefix: a draft-01 CA; writing the plain "
                    "account URL\n",
                    CMD, sess.directory);
            draft01 = 1;
            any_domain = 0;
        }
        snprintf(live_prefix, sizeof live_prefix, "%s", hp ? hp : "");
        snprintf(live_url, sizeof live_url, "%s", sess.acct.url);
        snprintf(live_thumb, sizeof live_thumb, "%s", dp_key_thumbprint(sess.acct.key));
        n_thumbs = session_thumbprints(&sess.acct, all_thumbs, 16);
        session_close(&sess);
        issuer = live_issuer;
        url = live_url;
        prefix = draft01 ? NULL : live_prefix; /* --draft 01 forces the plain URL on a compat CA */
        thumb = live_thumb;
    }
    if (!issuer) return cli_usage(CMD, "--issuer is required (or --directory)");
    if (!url) return cli_usage(CMD, "--account-url is required (or --directory)");
    if (draft01 && any_domain)
        return cli_usage(CMD, "--any-domain hashes the account URI; draft 01 has no hash");
    if (!draft01) {
        if (!prefix) return cli_usage(CMD, "--hash-prefix is required (or --draft 01)");
        if (!thumb == !keyfile)
            return cli_usage(CMD, "give exactly one of --thumbprint and --account-key");
    }

    char iss[DP_DOMAIN_MAX + 3];
    if (cli_domain(CMD, "--issuer", issuer, iss, 0)) return EXIT_USAGE;

    char tp[DP_THUMBPRINT_BUF] = "";
    if (!draft01) {
        if (keyfile) {
            if (dp_jwk_thumbprint_pem_file(keyfile, tp, &e) != DP_OK) {
                cli_error(CMD, "--account-key %s: %s", keyfile, e.detail);
                return EXIT_USAGE;
            }
        } else {
            if (!dp_hashuri_thumbprint_valid(thumb, strlen(thumb)))
                return cli_usage(
                    CMD, "--thumbprint '%s': not 43 characters of unpadded base64url (H2)", thumb);
            memcpy(tp, thumb, DP_THUMBPRINT_BUF);
        }
    }

    /* Check every domain before printing anything, so output is all or nothing. */
    int n = argc - optind;
    char(*doms)[DP_DOMAIN_MAX + 3] = calloc((size_t)n, sizeof *doms);
    if (!doms) return EXIT_FAILURE_INTERNAL;
    for (int i = 0; i < n; i++)
        if (cli_domain(CMD, "DOMAIN", argv[optind + i], doms[i], 1)) {
            free(doms);
            return EXIT_USAGE;
        }

    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *base = dp_domain_base(doms[i]);
        int wild = wildcard || base != doms[i];
        char *uri = NULL;
        if (!draft01) {
            uri = dp_hashuri_compute_alloc(alg, prefix, any_domain ? "*" : base, tp, url, &e);
            if (!uri) {
                cli_error(CMD, "%s (%s)", e.detail, e.rule ? e.rule : "H2");
                rc = EXIT_USAGE;
                break;
            }
        }
        struct dp_record_spec spec = {iss, draft01 ? url : uri, wild, has_until, until};
        char *value = dp_record_format_alloc(&spec, &e);
        free(uri);
        if (!value) {
            cli_error(CMD, "%s (%s)", e.detail, e.rule ? e.rule : "R3");
            rc = EXIT_USAGE;
            break;
        }
        size_t vlen = strlen(value);
        if (mode == MODE_UNPUBLISH && live) {
            /* Every record of this account for this CA at the name, whatever its key
             * (A6: older keys' records validate too), form, policy or persistUntil. */
            char name[DP_VALIDATION_NAME_MAX];
            snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, base);
            char **vals = NULL;
            size_t nv = 0;
            if (dp_update_txt_fetch(nsupdate, name, &vals, &nv, &e) != DP_OK) {
                cli_error(CMD, "%s: %s", name, e.detail);
                rc = EXIT_INVALID;
            }
            size_t removed = 0;
            for (size_t k = 0; k < nv && rc == 0; k++) {
                struct dp_record rec;
                if (dp_record_parse(vals[k], strlen(vals[k]), &rec, NULL) != DP_OK ||
                    !dp_record_issuer_matches(rec.issuer, iss))
                    continue;
                int mine = rec.accounturi.len == strlen(url) &&
                           !memcmp(rec.accounturi.ptr, url, rec.accounturi.len);
                for (size_t t = 0; !mine && !draft01 && t < n_thumbs; t++)
                    for (int form = 0; !mine && form < 2; form++)
                        for (unsigned a = DP_HASH_SHA256; !mine && a <= DP_HASH_SHA512; a <<= 1) {
                            char *u =
                                dp_hashuri_compute_alloc((dp_hash_alg)a, prefix, form ? "*" : base,
                                                         all_thumbs[t], url, NULL);
                            mine = u && strlen(u) == rec.accounturi.len &&
                                   !memcmp(u, rec.accounturi.ptr, rec.accounturi.len);
                            free(u);
                        }
                if (!mine) continue;
                if (dp_update_txt(nsupdate, &key, name, vals[k], 0, 300, (unsigned)wait_ms, &e) !=
                    DP_OK) {
                    cli_error(CMD, "%s: %s", name, e.detail);
                    rc = e.code == DP_ERR_INVAL ? EXIT_USAGE : EXIT_INVALID;
                } else {
                    printf("removed %s. TXT \"%s\"\n", name, vals[k]);
                    removed++;
                }
            }
            if (rc == 0 && !removed)
                printf("nothing to remove at %s: no record of this account for %s\n", name, iss);
            dp_update_values_free(vals, nv);
        } else if (mode != MODE_RECORD) {
            char name[DP_VALIDATION_NAME_MAX];
            snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, base);
            if (dp_update_txt(nsupdate, &key, name, value, mode == MODE_PUBLISH, 300,
                              (unsigned)wait_ms, &e) != DP_OK) {
                cli_error(CMD, "%s: %s", name, e.detail);
                rc = e.code == DP_ERR_INVAL ? EXIT_USAGE : EXIT_INVALID;
            } else {
                printf("%s %s. TXT \"%s\"\n", mode == MODE_PUBLISH ? "published" : "removed", name,
                       value);
            }
        } else if (!strcmp(format, "value")) {
            printf("%s\n", value);
        } else if (!strcmp(format, "zone")) {
            char *pres = dp_txt_presentation_alloc(value, vlen);
            if (!pres)
                rc = EXIT_FAILURE_INTERNAL;
            else
                printf("%s.%s. IN TXT %s\n", DP_VALIDATION_LABEL, base, pres);
            free(pres);
        } else {
            size_t ns = dp_txt_count(vlen);
            struct dp_span *sp = calloc(ns, sizeof *sp);
            json_t *strs = json_array(), *o = json_object();
            char name[DP_VALIDATION_NAME_MAX];
            snprintf(name, sizeof name, "%s.%s", DP_VALIDATION_LABEL, base);
            if (sp && strs && o && dp_txt_split(value, vlen, sp, ns) == ns) {
                for (size_t k = 0; k < ns; k++)
                    json_array_append_new(strs, json_stringn(sp[k].ptr, sp[k].len));
                json_object_set_new(o, "name", json_string(name));
                json_object_set_new(o, "value", json_string(value));
                json_object_set(o, "strings", strs);
                char *s = json_dumps(o, JSON_COMPACT);
                if (s)
                    printf("%s\n", s);
                else
                    rc = EXIT_FAILURE_INTERNAL;
                free(s);
            } else {
                rc = EXIT_FAILURE_INTERNAL;
            }
            json_decref(strs);
            json_decref(o);
            free(sp);
        }
        free(value);
    }
    free(doms);
    if (rc == EXIT_FAILURE_INTERNAL) cli_error(CMD, "out of memory");
    return rc;
}
