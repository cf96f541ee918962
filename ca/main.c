/*
 * main.c: dnspersist-ca, an RFC 8555 ACME CA offering dns-persist-01
 * (draft-02, plus draft-01 compatibility), dns-01 and http-01.
 *
 * With no arguments it is the embedded default: data in ./dnspersist-ca-data
 * (SQLite, root and intermediate CA, TLS certificate), HTTPS on
 * localhost:14000. Options may also come from a config file (--config),
 * one "name value" per line, named as the long options.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "ca.h"
#include "cache.h"
#include "crl.h"
#include "http.h"
#include "ra.h"
#include "va.h"
#include "wfe.h"

/* Debian's dns-root-data: the IANA root zone's trust anchor. */
#define ROOT_ANCHOR "/usr/share/dns/root.key"

static volatile sig_atomic_t stopping;
static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void help(void)
{
    printf(
        "usage: dnspersist-ca [OPTIONS]\n\n"
        "An ACME (RFC 8555) CA offering dns-persist-01 (draft-ietf-acme-dns-persist-02),\n"
        "dns-01 and http-01. With no options: data in ./dnspersist-ca-data, HTTPS on\n"
        "localhost:14000.\n\n"
        "  --listen HOST:PORT          where to serve (default localhost:14000)\n"
        "  --data DIR                  SQLite database and CA keys (default ./dnspersist-ca-data)\n"
        "  --issuer-domain-name NAME   dns-persist-01 issuer name, repeatable (default HOST)\n"
        "  --external-url URL          the URL clients use (https://HOST[:PORT]; default from\n"
        "                              --listen). Recorded at the first start: every account\n"
        "                              URL, hence every published record, depends on it\n"
        "  --hash-prefix URL           accountHashPrefix (default URL/acme/account-hash/);\n"
        "                              recorded at the first start and kept after; giving a\n"
        "                              new one changes what users publish\n"
        "  --crl-listen HOST:PORT      plain HTTP for the CRL (default HOST:PORT+1 of --listen)\n"
        "  --crl-url URL               the CRL distribution point put in certificates\n"
        "                              (default http://HOST:CRLPORT/crl of --external-url)\n"
        "  --previous-hash-prefix URL  records under this older prefix keep validating\n"
        "                              (repeatable; draft 4.5 migration)\n"
        "  --caa-identity NAME         the CA's CAA identities, repeatable (default: the issuer\n"
        "                              domain names); CAA is always checked (RFC 8659)\n"
        "  --challenges LIST           offered types (default dns-persist-01,dns-01,http-01)\n"
        "  --draft01-compat            also accept draft-01 records and send draft-01 fields\n"
        "  --no-jit                    no Just-in-Time validation: every authorization of a new\n"
        "                              order starts pending (default: an account that passed\n"
        "                              dns-persist-01 before gets authorizations its records\n"
        "                              already cover valid at once; draft section 4.4)\n"
        "  --jit-wait MS               how long a new-order waits for its Just-in-Time look-ups\n"
        "                              (default 25ms, up to 10s; they run on threads of their\n"
        "                              own; what is not done by then stays pending)\n"
        "  --no-cache                  keep no rows or keys in memory (slower; for tests: the\n"
        "                              results must not change; also DNSPERSIST_CA_NO_CACHE=1)\n"
        "  --resolver ADDR[@PORT]      DNS server to forward to (default: full recursion)\n"
        "  --trust-anchor FILE|root    DNSSEC trust anchors: bogus answers fail validation.\n"
        "                              Without --resolver the CA recurses from the root and\n"
        "                              validates with the IANA root anchor (" ROOT_ANCHOR ")\n"
        "                              by default; with --resolver give --trust-anchor root\n"
        "                              (a CA for the public internet must validate)\n"
        "  --http01-port N             port http-01 validation connects to (default 80)\n"
        "  --authz-lifetime T          how long a validation is reused (default 30d)\n"
        "  --cert-lifetime T           certificate lifetime (default 90d)\n"
        "  --threads N                 HTTPS worker threads (default: cores)\n"
        "  --va-threads N              validation threads (default 2)\n"
        "  --rate-limits SPEC          default (a private CA issuing in batches), letsencrypt\n"
        "                              (their published limits), off, or a file of\n"
        "                              'NAME COUNT PERIOD' lines: new-accounts-per-ip,\n"
        "                              new-orders-per-account, pending-authorizations-per-account\n"
        "                              (COUNT only), certificates-per-domain,\n"
        "                              duplicate-certificates, "
        "failed-validations-per-account-name\n"
        "  --idle-timeout T            close a connection silent this long, TLS handshake\n"
        "                              included (default 30s)\n"
        "  --max-connections N         open connections in all (default 4096)\n"
        "  --max-connections-per-ip N  open connections from one address (default 64)\n"
        "  --eab-key KID:B64URL        require external account binding; repeatable\n"
        "  --config FILE               read options from FILE first\n"
        "T is seconds, or a number with s, m, h or d.\n");
}

static int64_t parse_duration(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v <= 0) return -1;
    long long mul = !*end               ? 1
                    : !strcmp(end, "s") ? 1
                    : !strcmp(end, "m") ? 60
                    : !strcmp(end, "h") ? 3600
                    : !strcmp(end, "d") ? 86400
                                        : -1;
    if (mul < 0 || v > 100LL * 365 * 86400 / mul) return -1;
    return v * mul;
}

/* Strings from argv or the config file live until exit: kept here. */
static char *keep(const char *s)
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
        c->issuers[c->n_issuers++] = keep(norm);
    } else if (!strcmp(name, "hash-prefix")) {
        if (!url_ok(val, 0)) return -1;
        snprintf(c->hash_prefix, sizeof c->hash_prefix, "%s", val);
        c->hash_prefix_given = 1;
    } else if (!strcmp(name, "previous-hash-prefix")) {
        if (!url_ok(val, 0) || c->n_previous == DP_MAX_ISSUERS) return -1;
        c->previous_prefixes[c->n_previous++] = keep(val);
    } else if (!strcmp(name, "crl-listen")) {
        const char *colon = strrchr(val, ':');
        long port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (!colon || port <= 0 || port > 65535 || colon == val) return -1;
        snprintf(c->crl_listen_host, sizeof c->crl_listen_host, "%.*s", (int)(colon - val), val);
        c->crl_port = (int)port;
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
        c->caa_identities[c->n_caa++] = keep(norm);
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
        if ((c->authz_lifetime = parse_duration(val)) < 0) return -1;
    } else if (!strcmp(name, "cert-lifetime")) {
        if ((c->cert_lifetime = parse_duration(val)) < 0) return -1;
    } else if (!strcmp(name, "eab-key")) {
        const char *colon = strchr(val, ':');
        unsigned char k[256];
        if (!colon || colon == val || c->n_eab == 16 ||
            dp_b64url_decode(colon + 1, strlen(colon + 1), k, sizeof k) == (size_t)-1)
            return -1;
        char *kid = keep(val);
        kid[colon - val] = '\0';
        c->eab_kid[c->n_eab] = kid;
        c->eab_key[c->n_eab++] = kid + (colon - val) + 1;
    } else if (!strcmp(name, "rate-limits")) {
        char why[512];
        if (rl_config_load(&c->limits, val, why, sizeof why)) {
            fprintf(stderr, "dnspersist-ca: --rate-limits: %s\n", why);
            return -1;
        }
    } else if (!strcmp(name, "jit-wait")) {
        char *end;
        long v = strtol(val, &end, 10);
        long ms = !strcmp(end, "ms") ? v : (!*end || !strcmp(end, "s")) ? v * 1000 : -1;
        if (end == val || ms < 0 || ms > 10000) return -1;
        c->jit_wait_ms = (unsigned)ms;
    } else if (!strcmp(name, "idle-timeout")) {
        int64_t t = parse_duration(val);
        if (t < 1 || t > 3600) return -1;
        c->idle_timeout = (unsigned)t;
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
            fprintf(stderr, "dnspersist-ca: %s line %d: %s '%s'\n", path, n,
                    r == -2 ? "unknown option" : "bad value for", r == -2 ? name : val);
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
static int settle_urls(struct ca *ca)
{
    struct ca_config *c = &ca->cfg;
    char was[640] = "";
    int r = store_meta_get(ca->store, "external_url", was, sizeof was);
    if (r == 1)
        r = store_meta_set(ca->store, "external_url", ca->base);
    else if (r == 0 && strcmp(was, ca->base)) {
        fprintf(stderr,
                "dnspersist-ca: this CA's URLs are %s (recorded in %s/ca.sqlite), not %s: "
                "changing them would change every account URL and invalidate every published "
                "dns-persist-01 record (draft 4.5); to serve on another address or behind a "
                "proxy, give --external-url %s\n",
                was, c->data, ca->base, was);
        return -1;
    }
    was[0] = '\0';
    if (r == 0) r = store_meta_get(ca->store, "hash_prefix", was, sizeof was);
    if (r == 1 || (r == 0 && c->hash_prefix_given && strcmp(was, c->hash_prefix))) {
        int listed = 0;
        for (size_t i = 0; i < c->n_previous; i++)
            listed |= !strcmp(c->previous_prefixes[i], was);
        if (r == 0 && !listed)
            fprintf(stderr,
                    "dnspersist-ca: warning: accountHashPrefix changes from %s to %s; records "
                    "made under the old one stop validating unless --previous-hash-prefix %s\n",
                    was, c->hash_prefix, was);
        r = store_meta_set(ca->store, "hash_prefix", c->hash_prefix);
    } else if (r == 0) {
        snprintf(c->hash_prefix, sizeof c->hash_prefix, "%s", was);
    }
    if (r < 0) fprintf(stderr, "dnspersist-ca: cannot read or record the CA's URLs\n");
    return r < 0 ? -1 : 0;
}

static int bind_address(const char *host, char *out, size_t cap);

/* The CRL's listener, URL and a first CRL. The listener defaults to the
 * next port of --listen and the URL to the external URL's host. A taken
 * port refuses the start rather than moving: the URL goes into every
 * certificate, and a URL that changed with each start would leave the
 * earlier certificates pointing at nothing. NULL after saying why. */
static struct http_server *crl_start(struct ca *ca)
{
    struct ca_config *c = &ca->cfg;
    char addr[256], why[512] = "";
    if (!c->crl_port) {
        snprintf(c->crl_listen_host, sizeof c->crl_listen_host, "%s", c->listen_host);
        c->crl_port = c->port < 65535 ? c->port + 1 : c->port - 1;
    }
    if (!c->crl_url[0]) {
        const char *h = ca->base + strlen("https://");
        size_t hl = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
        snprintf(c->crl_url, sizeof c->crl_url, "http://%.*s:%d/crl", (int)hl, h, c->crl_port);
    }
    struct http_server *s = NULL;
    if (bind_address(c->crl_listen_host, addr, sizeof addr))
        snprintf(why, sizeof why, "cannot resolve %s", c->crl_listen_host);
    else if (!(ca->crl = crl_new()))
        snprintf(why, sizeof why, "out of memory");
    else if (pki_set_crl_url(ca->pki, c->crl_url) || crl_refresh(ca))
        snprintf(why, sizeof why, "cannot build the CRL for %.400s", c->crl_url);
    else if (!(s = http_start(addr, c->crl_port, NULL, NULL, 1, NULL, crl_handle, ca, why,
                              sizeof why))) {
        size_t n = strlen(why);
        snprintf(why + n, sizeof why - n,
                 " (the CRL listener: choose its address with --crl-listen ADDR:PORT)");
    }
    if (!s) fprintf(stderr, "dnspersist-ca: CRL: %s\n", why);
    return s;
}

/* The address to bind for the listener's host name. */
static int bind_address(const char *host, char *out, size_t cap)
{
    unsigned char b[16];
    if (inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1) {
        snprintf(out, cap, "%s", host);
        return 0;
    }
    if (!strcmp(host, "localhost")) {
        snprintf(out, cap, "127.0.0.1");
        return 0;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) || !res) return -1;
    void *addr = res->ai_family == AF_INET
                     ? (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                     : (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    inet_ntop(res->ai_family, addr, out, (socklen_t)cap);
    freeaddrinfo(res);
    return 0;
}

int main(int argc, char **argv)
{
    static struct ca ca;
    struct ca_config *c = &ca.cfg;
    snprintf(c->listen_host, sizeof c->listen_host, "localhost");
    c->port = 14000;
    snprintf(c->data, sizeof c->data, "dnspersist-ca-data");
    c->persist = c->dns01 = c->http01 = 1;
    c->http01_port = 80;
    c->authz_lifetime = 30 * 86400;
    c->cert_lifetime = 90 * 86400;
    c->order_lifetime = 7 * 86400;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    c->threads = cores > 0 ? (unsigned)cores : 2;
    c->va_threads = 2;
    c->jit_wait_ms = 25;
    rl_config_load(&c->limits, "default", NULL, 0);
    c->jit = 1;
    c->no_cache = getenv("DNSPERSIST_CA_NO_CACHE") && flag_on(getenv("DNSPERSIST_CA_NO_CACHE"));

    static const struct option opts[] = {{"listen", required_argument, 0, 0},
                                         {"data", required_argument, 0, 0},
                                         {"issuer-domain-name", required_argument, 0, 0},
                                         {"hash-prefix", required_argument, 0, 0},
                                         {"previous-hash-prefix", required_argument, 0, 0},
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
                                         {"jit-wait", required_argument, 0, 0},
                                         {"rate-limits", required_argument, 0, 0},
                                         {"max-connections", required_argument, 0, 0},
                                         {"max-connections-per-ip", required_argument, 0, 0},
                                         {"eab-key", required_argument, 0, 0},
                                         {"config", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    /* The config file first, so the command line overrides it. */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config") && read_config(c, argv[i + 1])) return 2;
    int o, idx;
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
        if (o == 'h') {
            help();
            return 0;
        }
        if (o == 'c') continue;
        if (o != 0) {
            fprintf(stderr, "dnspersist-ca: %s option '%s' (see --help)\n",
                    o == ':' ? "missing value for" : "unknown", argv[optind - 1]);
            return 2;
        }
        if (set_option(c, opts[idx].name, optarg ? optarg : "")) {
            fprintf(stderr, "dnspersist-ca: bad value for --%s: '%s'\n", opts[idx].name,
                    optarg ? optarg : "");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dnspersist-ca: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    if (c->external_url[0])
        snprintf(ca.base, sizeof ca.base, "%s", c->external_url);
    else
        snprintf(ca.base, sizeof ca.base,
                 strchr(c->listen_host, ':') ? "https://[%s]:%d" : "https://%s:%d", c->listen_host,
                 c->port);
    if (!c->n_issuers) {
        char norm[DP_DOMAIN_MAX + 3];
        if (dp_domain_normalize(c->listen_host, norm, 0, NULL) != DP_OK) {
            fprintf(stderr,
                    "dnspersist-ca: the listener host '%s' is not a domain name: give "
                    "--issuer-domain-name\n",
                    c->listen_host);
            return 2;
        }
        c->issuers[c->n_issuers++] = keep(norm);
    }
    if (!c->hash_prefix[0])
        snprintf(c->hash_prefix, sizeof c->hash_prefix, "%s/acme/account-hash/", ca.base);
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
    if (bind_address(c->listen_host, c->listen_addr, sizeof c->listen_addr)) {
        fprintf(stderr, "dnspersist-ca: cannot resolve the listener host %s\n", c->listen_host);
        return 2;
    }
    /* Everything the CA creates (keys, database, its journal) is for its
     * own user only, from the moment it exists. */
    umask(077);
    if (mkdir(c->data, 0700) && errno != EEXIST) {
        fprintf(stderr, "dnspersist-ca: cannot create %s: %s\n", c->data, strerror(errno));
        return 1;
    }
    /* One server per data directory: the store keeps rows in memory on the
     * promise that no other process writes the database. The lock goes with
     * the process, however it ends. */
    char lock[1100];
    snprintf(lock, sizeof lock, "%s/lock", c->data);
    int lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB)) {
        fprintf(stderr, "dnspersist-ca: %s: %s\n", c->data,
                lock_fd < 0 ? strerror(errno)
                            : "another dnspersist-ca is using this data directory");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* --max-connections needs that many descriptors; the soft limit is
     * often 1024 while the hard one allows far more. */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    pthread_mutex_init(&ca.fin_mu, NULL);
    struct dp_error e = {0};
    char why[512] = "", db[1100];
    const char *tls_names[] = {c->listen_host, c->listen_addr};
    snprintf(db, sizeof db, "%s/ca.sqlite", c->data);
    int rc = 1;
    struct http_server *http = NULL, *crl_http = NULL;
    if (!(ca.dp = dp_ctx_new(&e)) || !(ca.pki = pki_open(c->data, tls_names, 2, &e))) {
        fprintf(stderr, "dnspersist-ca: %s\n", e.detail);
        goto out;
    }
    if (!(ca.store = store_open(db, !c->no_cache, why, sizeof why)) ||
        !(ca.nonces = nonces_new(200000)) || !(ca.keys = wfe_key_cache_new(!c->no_cache)) ||
        !(ca.va = va_create(&ca, ra_validation_done, why, sizeof why))) {
        fprintf(stderr, "dnspersist-ca: %s\n", why[0] ? why : "out of memory");
        goto out;
    }
    if (settle_urls(&ca)) goto out;
    if (!(crl_http = crl_start(&ca))) goto out;
    struct http_limits lim = {c->idle_timeout, c->max_conns_ip, c->max_conns};
    if (!(http =
              http_start(c->listen_addr, c->port, pki_tls_cert_pem(ca.pki), pki_tls_key_pem(ca.pki),
                         c->threads, &lim, wfe_handle, &ca, why, sizeof why))) {
        fprintf(stderr, "dnspersist-ca: %s\n", why);
        goto out;
    }
    /* SIGINT and SIGTERM stay blocked but for sigsuspend: a signal that
     * came between the test of stopping and the wait would otherwise be
     * lost and the server would never stop (pause() had that race). */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    printf("dnspersist-ca: directory %s/directory\n", ca.base);
    printf("dnspersist-ca: root certificate %s/root.pem (clients must trust it)\n", c->data);
    printf("dnspersist-ca: CRL %s\n", c->crl_url);
    printf("dnspersist-ca: DNS %s, DNSSEC %s%s\n",
           c->resolver[0] ? c->resolver : "recursion from the root",
           c->trust_anchor[0] ? "validated with " : "not validated", c->trust_anchor);
    fflush(stdout);
    while (!stopping)
        sigsuspend(&old);
    rc = 0;
out:
    http_stop(http);
    http_stop(crl_http);
    va_destroy(ca.va);
    nonces_free(ca.nonces);
    store_close(ca.store);
    pki_free(ca.pki);
    dp_ctx_free(ca.dp);
    cache_free(ca.keys);
    crl_free(ca.crl);
    curl_global_cleanup();
    return rc;
}
