/*
 * config.c: dnspersist-ca's options, from the command line and from a
 * config file (--config FILE: one "name value" per line, named as the long
 * options, read first so that the command line overrides it).
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "store.h"
#include "duration.h"

/* Strings from argv or the config file live until exit: kept here. */
char *config_keep(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "dnspersist-ca: out of memory\n");
        exit(3);
    }
    return d;
}

/* A flag option: given alone (command line, or a bare config line), or
 * with yes, true or 1. */
static int flag_on(const char *val)
{
    return !val || !*val || !strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "1");
}

/* An https URL of printable ASCII; origin_only: nothing after the host
 * and port but an optional "/". */
static int url_ok(const char *u, int origin_only)
{
    if (strncmp(u, "https://", 8) || strlen(u) < 9 || strlen(u) > 500) return 0;
    for (const char *p = u; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == ';') return 0;
    const char *slash = strchr(u + 8, '/');
    return !origin_only || !slash || !slash[1];
}

/* HOST:PORT of a plain-HTTP listener (--crl-listen, --listen-plain,
 * --metrics-listen): 0, or -1. */
static int host_port(const char *val, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(val, ':');
    long p = colon ? strtol(colon + 1, NULL, 10) : 0;
    if (!colon || p <= 0 || p > 65535 || colon == val) return -1;
    snprintf(host, cap, "%.*s", (int)(colon - val), val);
    *port = (int)p;
    return 0;
}

/* The reason a bare number fails a duration option, appended to the error. */
static const char *unit_hint(const char *name, const char *val)
{
    static const char *const durations[] = {"validation-lease", "perspective-timeout",
                                            "authz-lifetime",   "cert-lifetime",
                                            "idle-timeout",     "request-timeout"};
    for (size_t k = 0; k < sizeof durations / sizeof *durations; k++)
        if (!strcmp(name, durations[k]) && ca_duration_bare(val))
            return ": a duration takes its unit (90d, 12h, 30m, 45s)";
    return "";
}

static int set_option(struct ca_config *c, const char *name, const char *val)
{
    if (!strcmp(name, "listen")) {
        const char *colon = strrchr(val, ':');
        long port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (!colon || port <= 0 || port > 65535 || colon == val) return -1;
        snprintf(c->listen_host, sizeof c->listen_host, "%.*s", (int)(colon - val), val);
        if (c->listen_host[0] == '[') { /* [::1]:14000 */
            memmove(c->listen_host, c->listen_host + 1, strlen(c->listen_host));
            char *rb = strchr(c->listen_host, ']');
            if (rb) *rb = '\0';
        }
        c->port = (int)port;
    } else if (!strcmp(name, "data")) {
        snprintf(c->data, sizeof c->data, "%s", val);
    } else if (!strcmp(name, "issuer-domain-name")) {
        char norm[DP_DOMAIN_MAX + 3];
        if (c->n_issuers == DP_MAX_ISSUERS || dp_domain_normalize(val, norm, 0, NULL) != DP_OK)
            return -1;
        c->issuers[c->n_issuers++] = config_keep(norm);
    } else if (!strcmp(name, "hash-prefix")) {
        if (!url_ok(val, 0)) return -1;
        snprintf(c->hash_prefix, sizeof c->hash_prefix, "%s", val);
        c->hash_prefix_given = 1;
    } else if (!strcmp(name, "previous-hash-prefix")) {
        if (!url_ok(val, 0) || c->n_previous == DP_MAX_ISSUERS) return -1;
        c->previous_prefixes[c->n_previous++] = config_keep(val);
    } else if (!strcmp(name, "forget-hash-prefix")) {
        if (!url_ok(val, 0) || c->n_forget == DP_MAX_ISSUERS) return -1;
        c->forget_prefixes[c->n_forget++] = config_keep(val);
    } else if (!strcmp(name, "crl-listen")) {
        return host_port(val, c->crl_listen_host, sizeof c->crl_listen_host, &c->crl_port);
    } else if (!strcmp(name, "listen-plain")) {
        return host_port(val, c->plain_host, sizeof c->plain_host, &c->plain_port);
    } else if (!strcmp(name, "metrics-listen")) {
        return host_port(val, c->metrics_host, sizeof c->metrics_host, &c->metrics_port);
    } else if (!strcmp(name, "database")) {
        if (!*val || strlen(val) >= sizeof c->database ||
            (strncmp(val, "sqlite:", 7) && !store_is_url(val)))
            return -1;
        snprintf(c->database, sizeof c->database, "%s", val);
    } else if (!strcmp(name, "validation-lease")) {
        int64_t t = ca_duration(val, 3600);
        if (t < 2) return -1;
        c->validation_lease = t;
    } else if (!strcmp(name, "perspective")) {
        if (!url_ok(val, 0) || c->n_perspectives == 16) return -1;
        char *u = config_keep(val);
        size_t l = strlen(u);
        if (l && u[l - 1] == '/') u[l - 1] = '\0';
        c->perspectives[c->n_perspectives++] = u;
    } else if (!strcmp(name, "perspective-timeout")) {
        int64_t t = ca_duration(val, 3600);
        if (t < 1 || t > 60) return -1;
        c->perspective_timeout_ms = (unsigned)t * 1000;
    } else if (!strcmp(name, "perspective-quorum")) {
        char *end;
        long n = strtol(val, &end, 10);
        if (*end || n < 1 || n > 16) return -1;
        c->perspective_quorum = (size_t)n;
    } else if (!strcmp(name, "perspective-server")) {
        c->perspective_server = flag_on(val);
    } else if (!strcmp(name, "log-level")) {
        if (strcmp(val, "error") && strcmp(val, "warn") && strcmp(val, "info") &&
            strcmp(val, "debug"))
            return -1;
        snprintf(c->log_level, sizeof c->log_level, "%s", val);
    } else if (!strcmp(name, "log-format")) {
        if (strcmp(val, "text") && strcmp(val, "json")) return -1;
        snprintf(c->log_format, sizeof c->log_format, "%s", val);
    } else if (!strcmp(name, "log-file")) {
        if (!*val || strlen(val) >= sizeof c->log_file) return -1;
        snprintf(c->log_file, sizeof c->log_file, "%s", val);
    } else if (!strcmp(name, "directory-meta")) {
        if (strcmp(val, "draft01") && strcmp(val, "draft02")) return -1;
        c->directory_draft01 = !strcmp(val, "draft01");
        if (c->directory_draft01) c->draft01_compat = 1;
    } else if (!strcmp(name, "crl-url")) {
        if (strncmp(val, "http://", 7) || strlen(val) < 8 || strchr(val, ' ')) return -1;
        snprintf(c->crl_url, sizeof c->crl_url, "%s", val);
    } else if (!strcmp(name, "external-url")) {
        if (!url_ok(val, 1)) return -1;
        snprintf(c->external_url, sizeof c->external_url, "%s", val);
        size_t l = strlen(c->external_url);
        if (l && c->external_url[l - 1] == '/') c->external_url[l - 1] = '\0';
    } else if (!strcmp(name, "caa-identity")) {
        char norm[DP_DOMAIN_MAX + 3];
        if (c->n_caa == DP_MAX_ISSUERS || dp_domain_normalize(val, norm, 0, NULL) != DP_OK)
            return -1;
        c->caa_identities[c->n_caa++] = config_keep(norm);
    } else if (!strcmp(name, "challenges")) {
        c->persist = c->dns01 = c->http01 = 0;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", val);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
            if (!strcmp(t, "dns-persist-01"))
                c->persist = 1;
            else if (!strcmp(t, "dns-01"))
                c->dns01 = 1;
            else if (!strcmp(t, "http-01"))
                c->http01 = 1;
            else
                return -1;
        }
        if (!c->persist && !c->dns01 && !c->http01) return -1;
    } else if (!strcmp(name, "no-jit")) {
        c->jit = !flag_on(val);
    } else if (!strcmp(name, "no-cache")) {
        c->no_cache = flag_on(val);
    } else if (!strcmp(name, "draft01-compat")) {
        c->draft01_compat = flag_on(val);
    } else if (!strcmp(name, "resolver")) {
        snprintf(c->resolver, sizeof c->resolver, "%s", val);
    } else if (!strcmp(name, "trust-anchor")) {
        snprintf(c->trust_anchor, sizeof c->trust_anchor, "%s",
                 !strcmp(val, "root") ? ROOT_ANCHOR : val);
    } else if (!strcmp(name, "http01-port")) {
        long p = strtol(val, NULL, 10);
        if (p <= 0 || p > 65535) return -1;
        c->http01_port = (int)p;
    } else if (!strcmp(name, "authz-lifetime")) {
        if ((c->authz_lifetime = ca_duration(val, 100LL * 365 * 86400)) < 0) return -1;
    } else if (!strcmp(name, "cert-lifetime")) {
        if ((c->cert_lifetime = ca_duration(val, 100LL * 365 * 86400)) < 0) return -1;
    } else if (!strcmp(name, "eab-key")) {
        const char *colon = strchr(val, ':');
        unsigned char k[256];
        if (!colon || colon == val || c->n_eab == 16 ||
            dp_b64url_decode(colon + 1, strlen(colon + 1), k, sizeof k) == (size_t)-1)
            return -1;
        char *kid = config_keep(val);
        kid[colon - val] = '\0';
        c->eab_kid[c->n_eab] = kid;
        c->eab_key[c->n_eab++] = kid + (colon - val) + 1;
    } else if (!strcmp(name, "rate-limits")) {
        char why[512];
        if (rl_config_load(&c->limits, val, why, sizeof why)) {
            fprintf(stderr, "dnspersist-ca: --rate-limits: %s\n", why);
            return -1;
        }
    } else if (!strcmp(name, "profile")) {
        if (c->n_profile_specs == PROFILE_MAX) return -1;
        c->profile_specs[c->n_profile_specs++] = config_keep(val);
    } else if (!strcmp(name, "default-profile")) {
        if (strlen(val) >= sizeof c->default_profile) return -1;
        snprintf(c->default_profile, sizeof c->default_profile, "%s", val);
    } else if (!strcmp(name, "jit-wait")) {
        char *end;
        long v = strtol(val, &end, 10);
        /* --jit-wait MS: a bare number is milliseconds, as the option says. */
        long ms = (!*end || !strcmp(end, "ms")) ? v : !strcmp(end, "s") ? v * 1000 : -1;
        if (end == val || ms < 0 || ms > 10000) return -1;
        c->jit_wait_ms = (unsigned)ms;
    } else if (!strcmp(name, "idle-timeout") || !strcmp(name, "request-timeout")) {
        int64_t t = ca_duration(val, 100LL * 365 * 86400);
        if (t < 1 || t > 3600) return -1;
        *(!strcmp(name, "idle-timeout") ? &c->idle_timeout : &c->request_timeout) = (unsigned)t;
    } else if (!strcmp(name, "tls-cert") || !strcmp(name, "tls-key")) {
        char *dst = !strcmp(name, "tls-cert") ? c->tls_cert : c->tls_key;
        if (!*val || strlen(val) >= sizeof c->tls_cert) return -1;
        snprintf(dst, sizeof c->tls_cert, "%s", val);
    } else if (!strcmp(name, "trusted-proxy")) {
        if (c->n_trusted == PROXY_MAX_TRUSTED || proxy_cidr_parse(val, &c->trusted[c->n_trusted]))
            return -1;
        c->n_trusted++;
    } else if (!strcmp(name, "max-connections") || !strcmp(name, "max-connections-per-ip")) {
        char *end;
        long n = strtol(val, &end, 10);
        if (*end || n <= 0 || n > 1000000) return -1;
        *(!strcmp(name, "max-connections") ? &c->max_conns : &c->max_conns_ip) = (unsigned)n;
    } else if (!strcmp(name, "threads") || !strcmp(name, "va-threads")) {
        long n = strtol(val, NULL, 10);
        if (n <= 0 || n > 64) return -1;
        *(!strcmp(name, "threads") ? &c->threads : &c->va_threads) = (unsigned)n;
    } else {
        return -2;
    }
    return 0;
}

static int read_config(struct ca_config *c, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "dnspersist-ca: --config %s: cannot open\n", path);
        return -1;
    }
    char line[2048];
    int n = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        line[strcspn(line, "#\r\n")] = '\0';
        char *name = line + strspn(line, " \t");
        if (!*name) continue;
        char *val = name + strcspn(name, " \t=");
        if (*val) *val++ = '\0';
        val += strspn(val, " \t=");
        char *end = val + strlen(val);
        while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        int r = set_option(c, name, val);
        if (r) {
            if (r == -2)
                fprintf(stderr, "dnspersist-ca: %s line %d: unknown option '%s'\n", path, n, name);
            else
                fprintf(stderr, "dnspersist-ca: %s line %d: bad value for %s: '%s'%s\n", path, n,
                        name, val, unit_hint(name, val));
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

/* Draft 4.5: account URLs and the accountHashPrefix must stay stable
 * once published records depend on them. Both are recorded at the first
 * start. A different external URL later is refused (every hashed record
 * covers the account URL); the recorded prefix is kept unless
 * --hash-prefix replaces it. 0, or -1 after saying why. */
int config_load(struct ca_config *c, int argc, char **argv)
{
    snprintf(c->listen_host, sizeof c->listen_host, "localhost");
    c->port = 14000;
    snprintf(c->data, sizeof c->data, "dnspersist-ca-data");
    c->persist = c->dns01 = c->http01 = 1;
    c->http01_port = 80;
    c->authz_lifetime = 30 * 86400;
    c->cert_lifetime = 90 * 86400;
    c->order_lifetime = 7 * 86400;
    /* The cores this process may run on (a cpuset, taskset), not all the
     * machine has: a CA confined to one core gains nothing from more. */
    cpu_set_t set;
    long cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                             : sysconf(_SC_NPROCESSORS_ONLN);
    c->threads = cores > 0 ? (unsigned)cores : 2;
    c->va_threads = 2;
    c->jit_wait_ms = 25;
    c->perspective_timeout_ms = 10000;
    c->validation_lease = 60;
    rl_config_load(&c->limits, "default", NULL, 0);
    c->jit = 1;
    c->no_cache = getenv("DNSPERSIST_CA_NO_CACHE") && flag_on(getenv("DNSPERSIST_CA_NO_CACHE"));

    static const struct option opts[] = {{"listen", required_argument, 0, 0},
                                         {"data", required_argument, 0, 0},
                                         {"issuer-domain-name", required_argument, 0, 0},
                                         {"hash-prefix", required_argument, 0, 0},
                                         {"previous-hash-prefix", required_argument, 0, 0},
                                         {"forget-hash-prefix", required_argument, 0, 0},
                                         {"external-url", required_argument, 0, 0},
                                         {"crl-listen", required_argument, 0, 0},
                                         {"crl-url", required_argument, 0, 0},
                                         {"caa-identity", required_argument, 0, 0},
                                         {"challenges", required_argument, 0, 0},
                                         {"draft01-compat", no_argument, 0, 0},
                                         {"no-jit", no_argument, 0, 0},
                                         {"no-cache", no_argument, 0, 0},
                                         {"resolver", required_argument, 0, 0},
                                         {"trust-anchor", required_argument, 0, 0},
                                         {"http01-port", required_argument, 0, 0},
                                         {"authz-lifetime", required_argument, 0, 0},
                                         {"cert-lifetime", required_argument, 0, 0},
                                         {"threads", required_argument, 0, 0},
                                         {"va-threads", required_argument, 0, 0},
                                         {"idle-timeout", required_argument, 0, 0},
                                         {"request-timeout", required_argument, 0, 0},
                                         {"jit-wait", required_argument, 0, 0},
                                         {"profile", required_argument, 0, 0},
                                         {"default-profile", required_argument, 0, 0},
                                         {"rate-limits", required_argument, 0, 0},
                                         {"max-connections", required_argument, 0, 0},
                                         {"max-connections-per-ip", required_argument, 0, 0},
                                         {"trusted-proxy", required_argument, 0, 0},
                                         {"tls-cert", required_argument, 0, 0},
                                         {"listen-plain", required_argument, 0, 0},
                                         {"tls-key", required_argument, 0, 0},
                                         {"eab-key", required_argument, 0, 0},
                                         {"database", required_argument, 0, 0},
                                         {"validation-lease", required_argument, 0, 0},
                                         {"perspective", required_argument, 0, 0},
                                         {"perspective-timeout", required_argument, 0, 0},
                                         {"perspective-quorum", required_argument, 0, 0},
                                         {"perspective-server", no_argument, 0, 0},
                                         {"log-level", required_argument, 0, 0},
                                         {"log-format", required_argument, 0, 0},
                                         {"log-file", required_argument, 0, 0},
                                         {"metrics-listen", required_argument, 0, 0},
                                         {"directory-meta", required_argument, 0, 0},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    /* The config file first, so the command line overrides it. */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config") && read_config(c, argv[i + 1])) return 2;
    int o, idx;
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
        if (o == 'h') {
            config_help();
            return 1;
        }
        if (o == 'V') {
            printf("dnspersist-ca %s (draft-ietf-acme-dns-persist-02)\n", DP_VERSION);
            return 1;
        }
        if (o == 'c') continue;
        if (o != 0) {
            fprintf(stderr, "dnspersist-ca: %s option '%s' (see --help)\n",
                    o == ':' ? "missing value for" : "unknown", argv[optind - 1]);
            return 2;
        }
        if (set_option(c, opts[idx].name, optarg ? optarg : "")) {
            fprintf(stderr, "dnspersist-ca: bad value for --%s: '%s'%s\n", opts[idx].name,
                    optarg ? optarg : "", unit_hint(opts[idx].name, optarg ? optarg : ""));
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnspersist-ca: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    profiles_builtin(&c->profiles, c->cert_lifetime);
    for (size_t i = 0; i < c->n_profile_specs; i++) {
        char why[400];
        if (profiles_add(&c->profiles, c->profile_specs[i], why, sizeof why)) {
            fprintf(stderr, "dnspersist-ca: --profile: %s\n", why);
            return 2;
        }
    }
    if (c->default_profile[0]) {
        const struct profile *d = profiles_find(&c->profiles, c->default_profile);
        if (!d) {
            char known[400];
            profiles_list(&c->profiles, known, sizeof known);
            fprintf(stderr, "dnspersist-ca: --default-profile %s: no such profile (%s)\n",
                    c->default_profile, known);
            return 2;
        }
        c->profiles.def = (size_t)(d - c->profiles.p);
    }
    if (c->plain_port && (!c->n_trusted || !c->external_url[0])) {
        fprintf(stderr, "dnspersist-ca: --listen-plain serves a TLS-terminating proxy: it needs "
                        "--trusted-proxy (the proxy) and --external-url (its https URL)\n");
        return 2;
    }
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        fprintf(stderr, "dnspersist-ca: --tls-cert and --tls-key go together\n");
        return 2;
    }
    return 0;
}

/* The settings derived from others, in one step after loading (the
 * composition root takes its slices from the result): the CA's base URL,
 * the default issuer name, hash prefix, CAA identities and trust anchor,
 * the CRL listener and URL. 0, or 2 after saying what is wrong. */
int config_derive(struct ca_config *c, char *base, size_t cap)
{
    if (c->external_url[0])
        snprintf(base, cap, "%s", c->external_url);
    else
        snprintf(base, cap, strchr(c->listen_host, ':') ? "https://[%s]:%d" : "https://%s:%d",
                 c->listen_host, c->port);
    if (!c->n_issuers) {
        char norm[DP_DOMAIN_MAX + 3];
        if (dp_domain_normalize(c->listen_host, norm, 0, NULL) != DP_OK) {
            fprintf(stderr,
                    "dnspersist-ca: the listener host '%s' is not a domain name: give "
                    "--issuer-domain-name\n",
                    c->listen_host);
            return 2;
        }
        c->issuers[c->n_issuers++] = config_keep(norm);
    }
    if (!c->hash_prefix[0])
        snprintf(c->hash_prefix, sizeof c->hash_prefix, "%s/acme/account-hash/", base);
    /* CAA is always checked (RFC 8659); the CA's identities are its issuer
     * names unless --caa-identity replaces them. */
    for (size_t i = 0; !c->n_caa && i < c->n_issuers; i++)
        c->caa_identities[i] = c->issuers[i];
    if (!c->n_caa) c->n_caa = c->n_issuers;
    /* A1: every challenge issuer name must be a CAA identity. */
    for (size_t i = 0; c->n_caa && i < c->n_issuers; i++) {
        int found = 0;
        for (size_t k = 0; k < c->n_caa; k++)
            found |= !strcmp(c->issuers[i], c->caa_identities[k]);
        if (!found) {
            fprintf(stderr,
                    "dnspersist-ca: issuer domain name %s is not among --caa-identity (A1)\n",
                    c->issuers[i]);
            return 2;
        }
    }
    /* Full recursion from the root can validate DNSSEC, so it does by
     * default; a --resolver (a forwarder, a lab's server) only when asked. */
    if (!c->resolver[0] && !c->trust_anchor[0]) {
        if (access(ROOT_ANCHOR, R_OK) == 0)
            snprintf(c->trust_anchor, sizeof c->trust_anchor, "%s", ROOT_ANCHOR);
        else
            fprintf(stderr,
                    "dnspersist-ca: warning: %s is missing (apt-get install dns-root-data): "
                    "DNSSEC is not validated\n",
                    ROOT_ANCHOR);
    }
    if (!c->crl_port) {
        snprintf(c->crl_listen_host, sizeof c->crl_listen_host, "%s", c->listen_host);
        c->crl_port = c->port < 65535 ? c->port + 1 : c->port - 1;
    }
    if (!c->crl_url[0]) {
        const char *h = base + strlen("https://");
        size_t hl = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
        snprintf(c->crl_url, sizeof c->crl_url, "http://%.*s:%d/crl", (int)hl, h, c->crl_port);
    }
    return 0;
}

char *config_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *b = malloc(1 << 20);
    size_t n = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (b && err) {
        free(b);
        return NULL;
    }
    if (b) b[n] = '\0';
    return b;
}
