/* cmd_account.c: `dnspersist account new|show|key-rollover|deactivate`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "session.h"

static const char *const CMD = "account";

static void help(void)
{
    printf("usage: dnspersist account new --directory URL [--key FILE] [--key-type "
           "ec256|ec384|rsa2048|ed25519]\n"
           "           [--contact mailto:ADDR] [--agree-tos] [--eab-kid ID --eab-hmac-key B64]\n"
           "       dnspersist account show --directory URL [--json]\n"
           "       dnspersist account key-rollover --directory URL [--key-type T]\n"
           "       dnspersist account deactivate --directory URL [--yes]\n"
           "common: [--state DIR] [--ca-bundle FILE]; --directory takes a URL or an alias\n"
           "(\"alias NAME URL\" lines in STATE/config).\n\n"
           "Exit codes: 0 success, 1 the CA or the state refused, 2 usage error.\n");
}

int cmd_account(int argc, char **argv)
{
    static const struct option opts[] = {CLI_SESSION_OPTIONS,
                                         {"key", required_argument, 0, 'k'},
                                         {"key-type", required_argument, 0, 't'},
                                         {"contact", required_argument, 0, 'c'},
                                         {"agree-tos", no_argument, 0, 'a'},
                                         {"eab-kid", required_argument, 0, 'e'},
                                         {"eab-hmac-key", required_argument, 0, 'm'},
                                         {"yes", no_argument, 0, 'y'},
                                         CLI_OPT_JSON,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        help();
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "new") && strcmp(verb, "show") && strcmp(verb, "key-rollover") &&
        strcmp(verb, "deactivate"))
        return cli_usage(CMD, "unknown verb '%s': new, show, key-rollover or deactivate", verb);
    struct cli_common co = {0};
    const char *keyfile = NULL, *contact = NULL;
    const char *eab_kid = NULL, *eab_key = NULL;
    enum dp_key_type kt = DP_KEY_EC256;
    int tos = 0, yes = 0, c;
    opterr = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 't':
            if (dp_key_type_from_name(optarg, &kt) != DP_OK)
                return cli_usage(CMD, "--key-type '%s': ec256, ec384, rsa2048 or ed25519", optarg);
            break;
        case 'c':
            if (strncmp(optarg, "mailto:", 7))
                return cli_usage(CMD, "--contact '%s': a mailto: URL", optarg);
            contact = optarg;
            break;
        case 'a':
            tos = 1;
            break;
        case 'e':
            eab_kid = optarg;
            break;
        case 'm':
            eab_key = optarg;
            break;
        case 'y':
            yes = 1;
            break;
        case 'h':
            help();
            return 0;
        default:
            if (cli_common_opt(&co, c, optarg)) break;
            return cli_bad_option(CMD, c, argv);
        }
    }
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!eab_kid != !eab_key) return cli_usage(CMD, "--eab-kid and --eab-hmac-key go together");
    struct session s;
    struct dp_error e;
    int rc = session_open(CMD, co.state, co.directory, co.bundle, strcmp(verb, "new") != 0, &s);
    if (rc) return rc;
    rc = EXIT_INVALID;

    if (!strcmp(verb, "new")) {
        if (s.acct.url[0] && s.acme && dp_acme_account_check(s.acme, &e) != DP_OK &&
            strstr(dp_acme_last_problem(s.acme)->type, ":unauthorized")) {
            /* Deactivated (RFC 8555 7.3.6): that account is over for good.
             * A new one, with a new key; its records must be published. */
            printf("account %s is deactivated: registering a new one\n", s.acct.url);
            dp_acme_free(s.acme);
            s.acme = NULL;
            dp_key_free(s.acct.key);
            s.acct.key = NULL;
            s.acct.url[0] = '\0';
        }
        if (s.acct.url[0]) {
            printf("account %s (already registered)\nthumbprint %s\n", s.acct.url,
                   dp_key_thumbprint(s.acct.key));
            rc = 0;
            goto out;
        }
        if (!s.acct.key) {
            /* The key is stored before the CA hears of it: a crash then loses nothing. */
            s.acct.key = keyfile ? dp_key_load_file(keyfile, &e) : dp_key_generate(kt, &e);
            if (!s.acct.key) {
                cli_error(CMD, "%s%s", keyfile ? "--key: " : "", e.detail);
                rc = keyfile ? EXIT_USAGE : EXIT_FAILURE_INTERNAL;
                goto out;
            }
            if (state_account_save(CMD, &s.acct, 1)) goto out;
        }
        /* Remembered for every later command on this CA (an absolute path). */
        char rp[PATH_MAX];
        const char *abs = co.bundle && realpath(co.bundle, rp) ? rp : co.bundle;
        if (abs && strlen(abs) >= sizeof s.acct.ca_bundle) {
            rc = cli_usage(CMD, "--ca-bundle: a path under %zu characters, please",
                           sizeof s.acct.ca_bundle);
            goto out;
        }
        if (abs) memcpy(s.acct.ca_bundle, abs, strlen(abs) + 1);
        s.bundle = session_ca_bundle(co.bundle, &s.acct);
        struct dp_acme_config cfg = {s.directory, s.bundle, 30000, 0};
        if (!(s.acme = dp_acme_new(&cfg, s.acct.key, &e))) {
            cli_error(CMD, "cannot reach the CA at %s: %s", s.directory, e.detail);
            goto out;
        }
        if (eab_kid && dp_acme_set_eab(s.acme, eab_kid, eab_key, &e) != DP_OK) {
            cli_error(CMD, "--eab-hmac-key: %s", e.detail);
            rc = EXIT_USAGE;
            goto out;
        }
        if (dp_acme_account(s.acme, 0, contact, tos, &e) != DP_OK) {
            session_error(CMD, &s, "newAccount", &e);
            goto out;
        }
        snprintf(s.acct.url, sizeof s.acct.url, "%s", dp_acme_account_url(s.acme));
        if (state_account_save(CMD, &s.acct, 0)) goto out;
        printf("account %s\nthumbprint %s\n", s.acct.url, dp_key_thumbprint(s.acct.key));
        rc = 0;
    } else if (!strcmp(verb, "show")) {
        int valid = dp_acme_account_check(s.acme, &e) == DP_OK;
        if (co.json) {
            json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "directory", s.directory, "account",
                                  s.acct.url, "keyAlgorithm", dp_key_jws_alg(s.acct.key),
                                  "thumbprint", dp_key_thumbprint(s.acct.key), "state", s.acct.dir,
                                  "status", valid ? "valid" : "unusable");
            if (!valid) json_object_set_new(o, "error", session_problem_json(&s, &e));
            session_json_line(o);
        } else {
            printf("directory  %s\naccount    %s\nkey        %s, thumbprint %s\nstate      %s\n",
                   s.directory, s.acct.url, dp_key_jws_alg(s.acct.key),
                   dp_key_thumbprint(s.acct.key), s.acct.dir);
            if (valid) printf("status     valid (checked with POST-as-GET, A7)\n");
        }
        if (valid)
            rc = 0;
        else
            session_error(CMD, &s, "account check (A7)", &e);
    } else if (!strcmp(verb, "key-rollover")) {
        char newp[1300], oldp[1400], cur[1300];
        snprintf(newp, sizeof newp, "%s/account.key.new", s.acct.dir);
        snprintf(cur, sizeof cur, "%s/account.key", s.acct.dir);
        if (access(newp, F_OK) == 0) {
            cli_error(CMD,
                      "%s exists: an earlier key rollover did not finish; check with 'account "
                      "show' which key the CA has, then remove one of them",
                      newp);
            goto out;
        }
        struct dp_key *nk = dp_key_generate(kt, &e);
        char *pem = nk ? dp_key_private_pem_alloc(nk, &e) : NULL;
        if (!pem || state_write(s.acct.dir, "account.key.new", pem, 0600)) {
            cli_error(CMD, "cannot store the new key: %s", e.detail);
            free(pem);
            dp_key_free(nk);
            goto out;
        }
        free(pem);
        if (dp_acme_key_change(s.acme, nk, &e) != DP_OK) {
            session_error(CMD, &s, "keyChange", &e);
            unlink(newp);
            dp_key_free(nk);
            goto out;
        }
        snprintf(oldp, sizeof oldp, "%s/account.key.old-%ld", s.acct.dir, (long)time(NULL));
        if (rename(cur, oldp) || rename(newp, cur)) {
            cli_error(CMD,
                      "the CA took the new key but %s could not be moved into place: rename %s to "
                      "account.key by hand",
                      newp, newp);
            dp_key_free(nk);
            goto out;
        }
        printf("account %s\nnew thumbprint %s\nold key kept as %s (records made with it still "
               "validate, A6)\n",
               s.acct.url, dp_key_thumbprint(nk), oldp);
        dp_key_free(nk);
        rc = 0;
    } else {
        if (!yes) {
            fprintf(stderr,
                    "Deactivate %s? Its records stop validating at once and this cannot be undone. "
                    "Type 'yes': ",
                    s.acct.url);
            char line[16] = "";
            if (!fgets(line, sizeof line, stdin) || strcmp(line, "yes\n")) {
                cli_error(CMD, "not confirmed: nothing changed");
                goto out;
            }
        }
        if (dp_acme_deactivate(s.acme, &e) != DP_OK) {
            session_error(CMD, &s, "deactivate", &e);
            goto out;
        }
        printf("account %s deactivated\n", s.acct.url);
        rc = 0;
    }
out:
    session_close(&s);
    return rc;
}
