/* cmd_record.c: `dnspersist record`, the offline record calculator (R1, R2, H1-H3). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char *const CMD = "record";

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
           "  --persist-until T     add persistUntil (UNIX seconds, YYYY-MM-DD or RFC 3339)\n"
           "  --any-domain          hash with domain '*' so one value serves every domain\n"
           "  --draft 01            write the plain account URL (draft-01 CAs)\n"
           "  --format F            zone (default): a zone-file line; value: the value alone;\n"
           "                        json: {\"name\",\"value\",\"strings\"}\n\n"
           "Exit codes: 0 success, 2 usage error, 3 internal error.\n");
}

int cmd_record(int argc, char **argv)
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
                                         {"draft", required_argument, 0, 'd'},
                                         {"format", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *issuer = NULL, *url = NULL, *thumb = NULL, *keyfile = NULL, *prefix = NULL;
    const char *format = "zone";
    dp_hash_alg alg = DP_HASH_SHA256;
    int wildcard = 0, any_domain = 0, draft01 = 0, has_until = 0;
    int64_t until = 0;
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
            if (dp_hash_from_name(optarg, strlen(optarg), &alg) != DP_OK)
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
        case 'h':
            help();
            return 0;
        default:
            return cli_bad_option(CMD, c, argv);
        }
    }
    if (!issuer) return cli_usage(CMD, "--issuer is required");
    if (!url) return cli_usage(CMD, "--account-url is required");
    if (optind >= argc) return cli_usage(CMD, "a DOMAIN is required");
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
    struct dp_error e;
    if (!draft01) {
        if (keyfile) {
            if (dp_jwk_thumbprint_pem_file(keyfile, tp, &e) != DP_OK) {
                cli_error(CMD, "--account-key %s: %s", keyfile, e.detail);
                return EXIT_USAGE;
            }
        } else {
            if (!dp_thumbprint_valid(thumb, strlen(thumb)))
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
        if (!strcmp(format, "value")) {
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
