/*
 * keys.c: dnspersist-ca keys SUBCOMMAND, the key ceremony by hand
 * (pki_ceremony.h does the work):
 *   keys root   --out DIR [--cn NAME] [--days N] [--key-type T]   (offline)
 *   keys csr    --data DIR [--name N] [--key pkcs11:URI | --key-type T] [--cn NAME] [--out FILE]
 *   keys sign   --root DIR --csr FILE --out FILE [--days N]        (offline)
 *   keys import --data DIR [--name N] --cert FILE --root FILE [--chain FILE]
 *   keys retire --data DIR [--name N]
 *   keys alternate --data DIR --cert FILE --root FILE [--chain FILE]
 *   keys check  --data DIR
 * A corporate root signs the CSR with its own tools instead of keys sign.
 * --name N: an issuer beside the primary (DATA/issuers/N): an RSA
 * intermediate, or the next one of a rollover (then retire the old).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keys.h"
#include "pki_ceremony.h"

#define USAGE                                                                                      \
    "usage: dnspersist-ca keys root --out DIR [--cn NAME] [--days N] [--key-type ec|p384|rsa]\n"   \
    "       dnspersist-ca keys csr --data DIR [--name N]\n"                                        \
    "                                [--key pkcs11:URI | --key-type ec|p384|rsa]\n"                \
    "                                [--cn NAME] [--out FILE]\n"                                   \
    "       dnspersist-ca keys sign --root DIR --csr FILE --out FILE [--days N]\n"                 \
    "       dnspersist-ca keys import --data DIR [--name N] --cert FILE --root FILE\n"             \
    "                                [--chain FILE]\n"                                             \
    "       dnspersist-ca keys retire --data DIR [--name N]\n"                                     \
    "       dnspersist-ca keys alternate --data DIR --cert FILE --root FILE [--chain FILE]\n"      \
    "       dnspersist-ca keys check --data DIR\n"

static int spill(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok = f && fputs(text, f) >= 0;
    if (f && fclose(f)) ok = 0;
    return ok ? 0 : -1;
}

/* The certificate, root and (optional) chain files of import and
 * alternate, read whole: 0, or -1 with why naming the one that failed
 * (all three NULL or freed by the caller either way). */
static int read_certs(const char *cert, const char *root, const char *chain, char **c, char **r,
                      char **h, char *why, size_t cap)
{
    *c = config_slurp(cert), *r = config_slurp(root), *h = chain ? config_slurp(chain) : NULL;
    if (*c && *r && (!chain || *h)) return 0;
    snprintf(why, cap, "cannot read %.500s", !*c ? cert : !*r ? root : chain);
    return -1;
}

static int say_failed(const char *sub, const char *why)
{
    fprintf(stderr, "dnspersist-ca: keys %s: %s\n", sub, why);
    return 1;
}

int ca_keys(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},  {"cn", required_argument, 0, 'n'},
        {"days", required_argument, 0, 'd'}, {"key-type", required_argument, 0, 't'},
        {"data", required_argument, 0, 'D'}, {"key", required_argument, 0, 'k'},
        {"root", required_argument, 0, 'r'}, {"csr", required_argument, 0, 'c'},
        {"cert", required_argument, 0, 'C'}, {"chain", required_argument, 0, 'h'},
        {"name", required_argument, 0, 'N'}, {0, 0, 0, 0}};
    const char *sub = argc > 1 ? argv[1] : "", *out = NULL, *cn = NULL, *type = NULL, *data = NULL,
               *key = NULL, *root = NULL, *csr = NULL, *cert = NULL, *chain = NULL, *name = NULL;
    long days = 0;
    int o, usage = argc < 2;
    opterr = 0;
    optind = 2;
    while (!usage && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'o':
            out = optarg;
            break;
        case 'n':
            cn = optarg;
            break;
        case 'd':
            days = strtol(optarg, NULL, 10);
            usage |= days < 1 || days > 36500;
            break;
        case 't':
            type = optarg;
            break;
        case 'D':
            data = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'r':
            root = optarg;
            break;
        case 'c':
            csr = optarg;
            break;
        case 'C':
            cert = optarg;
            break;
        case 'h':
            chain = optarg;
            break;
        case 'N':
            name = optarg;
            break;
        default:
            usage = 1;
        }
    }
    usage |= optind < argc || !pki_key_type_ok(type) || (key && strncmp(key, "pkcs11:", 7)) ||
             (key && type);
    char why[1024], report[4096], idir[4300] = "";
    if (!usage && data && pki_issuer_dir(data, name, idir, sizeof idir)) {
        fprintf(stderr, "dnspersist-ca: keys: --name %s: a-z, 0-9 and '-', 1 to 31\n", name);
        return 2;
    }
    if (!usage && !strcmp(sub, "root") && out) {
        if (pki_root_create(out, cn ? cn : "dnspersist root CA", days ? (int)days : 3650, type, why,
                            sizeof why))
            return say_failed(sub, why);
        printf("dnspersist-ca: %s/root.key and %s/root.pem: keep root.key offline\n", out, out);
        return 0;
    }
    if (!usage && !strcmp(sub, "csr") && data) {
        char *pem = NULL, path[4400];
        snprintf(path, sizeof path, "%s/intermediate.csr", idir);
        if (pki_intermediate_csr(idir, key, type, cn ? cn : "dnspersist intermediate CA", &pem, why,
                                 sizeof why))
            return say_failed(sub, why);
        int rc = spill(out ? out : path, pem);
        free(pem);
        if (rc) return say_failed(sub, "cannot write the CSR");
        printf("dnspersist-ca: %s: have the root sign it (keys sign, or your own CA)\n",
               out ? out : path);
        return 0;
    }
    if (!usage && !strcmp(sub, "sign") && root && csr && out) {
        char *req = config_slurp(csr), *pem = NULL;
        if (!req) return say_failed(sub, "cannot read the CSR");
        int rc = pki_intermediate_sign(root, req, days ? (int)days : 1825, &pem, why, sizeof why);
        free(req);
        if (rc) return say_failed(sub, why);
        rc = spill(out, pem);
        free(pem);
        if (rc) return say_failed(sub, "cannot write the certificate");
        printf("dnspersist-ca: %s: import it where the CA runs (keys import)\n", out);
        return 0;
    }
    if (!usage && !strcmp(sub, "import") && data && cert && (root || name)) {
        char rdef[4200];
        snprintf(rdef, sizeof rdef, "%s/root.pem", data); /* an issuer beside: the CA's root */
        if (!root) root = rdef;
        char *c, *r, *h;
        int rc = read_certs(cert, root, chain, &c, &r, &h, why, sizeof why)
                     ? -1
                     : pki_intermediate_import(idir, c, h, r, !name, why, sizeof why);
        free(c), free(r), free(h);
        if (rc) return say_failed(sub, why);
        printf("dnspersist-ca: %s holds the running set: the CA can start on it\n", data);
        return 0;
    }
    if (!usage && !strcmp(sub, "alternate") && data && cert && root) {
        char *c, *r, *h;
        int rc = read_certs(cert, root, chain, &c, &r, &h, why, sizeof why)
                     ? -1
                     : pki_alternate_import(data, c, h, r, why, sizeof why);
        free(c), free(r), free(h);
        if (rc) return say_failed(sub, why);
        printf("dnspersist-ca: %s/alternate.pem: offered as an alternate chain from the next "
               "start\n",
               data);
        return 0;
    }
    if (!usage && !strcmp(sub, "retire") && data) {
        if (pki_issuer_retire(data, name, why, sizeof why)) return say_failed(sub, why);
        printf("dnspersist-ca: %s retired: it signs CRLs for what it issued, nothing new, from "
               "the next start\n",
               name ? name : "the primary intermediate");
        return 0;
    }
    if (!usage && !strcmp(sub, "check") && data) {
        int rc = pki_keys_check(data, report, sizeof report);
        fputs(report, stdout);
        return rc ? 1 : 0;
    }
    fputs(USAGE, stderr);
    return 2;
}
