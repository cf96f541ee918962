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
#include <openssl/rand.h>

#include "app.h"
#include "cache.h"
#include "config.h"
#include "crl.h"
#include "http.h"
#include "log.h"
#include "keys.h"
#include "migrate.h"
#include "mpic.h"
#include "announce.h"
#include "ops.h"
#include "perspective.h"
#include "ra.h"
#include "va.h"
#include "wfe.h"

static volatile sig_atomic_t stopping, reload;
static void on_signal(int sig)
{
    if (sig == SIGHUP)
        reload = 1;
    else
        stopping = 1;
}

/* --tls-cert and --tls-key read and checked (pki_tls_pair_check): 0 with
 * the PEMs in *cert and *key (caller frees), or -1 with why. */
static int tls_pair_read(const struct ca_config *c, char **cert, char **key, char *why, size_t cap)
{
    *cert = config_slurp(c->tls_cert);
    /* A pkcs11: URI names a key in a token, read by GnuTLS (http.c). */
    *key = strncmp(c->tls_key, "pkcs11:", 7) ? config_slurp(c->tls_key) : strdup(c->tls_key);
    int rc = !*cert || !*key
                 ? (snprintf(why, cap, "cannot read %.250s", !*cert ? c->tls_cert : c->tls_key), -1)
                 : pki_tls_pair_check(*cert, *key, why, cap);
    if (rc) {
        free(*cert), free(*key);
        *cert = *key = NULL;
    }
    return rc;
}

/* SIGHUP: what can change without a restart. The log file is reopened
 * (after rotation), the CRL rebuilt, and an operator's listener
 * certificate (--tls-cert) read again: a renewed one needs no restart, a
 * broken one is refused and the old one kept. Listeners, issuing keys and
 * the database stay, since clients hold URLs and records that depend on
 * them. */
static void on_reload(struct app *ca, struct http_server *http)
{
    int lr = log_reopen();
    int cr = crl_refresh(ca->crl);
    const char *tls = "unchanged";
    char why[300] = "", *cert, *key;
    if (ca->cfg.tls_cert[0]) {
        tls = tls_pair_read(&ca->cfg, &cert, &key, why, sizeof why) ||
                      http_set_cert(http, cert, key, why, sizeof why)
                  ? "kept the old one"
                  : "reloaded";
        if (cert) free(cert), free(key);
    }
    log_event(lr || cr || why[0] ? LOG_ERROR : LOG_INFO, "reload", "log",
              lr ? "cannot reopen" : "reopened", "crl", cr ? "cannot rebuild" : "rebuilt",
              "tls_cert", tls, "why", why, NULL);
}

/* The previous accountHashPrefixes recorded in the store ("\n" between),
 * into list; their count, or -1. */
static int recorded_prefixes(struct app *ca, char *list, size_t cap)
{
    int r = store_meta_get(ca->store, "previous_hash_prefixes", list, cap);
    if (r == 1) list[0] = '\0';
    if (r < 0) return -1;
    int n = 0;
    for (const char *p = list; *p; p++)
        n += *p == '\n';
    return n + (list[0] != '\0');
}

static int forgotten(const struct ca_config *c, const char *prefix)
{
    for (size_t i = 0; i < c->n_forget; i++)
        if (!strcmp(c->forget_prefixes[i], prefix)) return 1;
    return 0;
}

/* Records old, the prefix --hash-prefix replaces, as a previous one:
 * 0, or -1 after saying why (too many kept). */
static int keep_prefix(struct app *ca, const char *old)
{
    struct ca_config *c = &ca->cfg;
    char list[DP_MAX_ISSUERS * 641 + 1];
    int n = recorded_prefixes(ca, list, sizeof list);
    if (n < 0) return -1;
    if (forgotten(c, old)) {
        log_console(2, LOG_ERROR,
                    "accountHashPrefix changes from %s to %s; records made under %s "
                    "stop validating (--forget-hash-prefix)\n",
                    old, c->hash_prefix, old);
        return 0;
    }
    for (const char *p = list; *p;) { /* recorded already */
        size_t l = strcspn(p, "\n");
        if (l == strlen(old) && !strncmp(p, old, l)) return 0;
        p += l + (p[l] == '\n');
    }
    if (n >= DP_MAX_ISSUERS) {
        log_console(2, LOG_ERROR,
                    "accountHashPrefix changes from %s to %s, but %d previous prefixes "
                    "are kept already: give --forget-hash-prefix for one whose records may stop "
                    "validating (draft 4.5)\n",
                    old, c->hash_prefix, n);
        return -1;
    }
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s%s", l ? "\n" : "", old);
    if (store_meta_set(ca->store, "previous_hash_prefixes", list)) return -1;
    log_console(2, LOG_ERROR,
                "accountHashPrefix changes from %s to %s; records made under %s keep "
                "validating (recorded as a previous prefix; --forget-hash-prefix %s stops that)\n",
                old, c->hash_prefix, old, old);
    return 0;
}

/* The recorded previous prefixes, less the forgotten ones (which leave the
 * record), join --previous-hash-prefix. 0, or -1 after saying why. */
static int previous_prefixes(struct app *ca)
{
    struct ca_config *c = &ca->cfg;
    char list[DP_MAX_ISSUERS * 641 + 1], kept[sizeof list] = "";
    if (recorded_prefixes(ca, list, sizeof list) < 0) return -1;
    int dropped = 0;
    for (char *p = list; *p;) {
        size_t l = strcspn(p, "\n");
        char one[640];
        snprintf(one, sizeof one, "%.*s", (int)l, p);
        p += l + (p[l] == '\n');
        if (forgotten(c, one)) {
            dropped = 1;
            continue;
        }
        size_t kl = strlen(kept);
        snprintf(kept + kl, sizeof kept - kl, "%s%s", kl ? "\n" : "", one);
        int have = !strcmp(one, c->hash_prefix);
        for (size_t i = 0; i < c->n_previous; i++)
            have |= !strcmp(c->previous_prefixes[i], one);
        if (have) continue;
        if (c->n_previous == DP_MAX_ISSUERS) {
            log_console(2, LOG_ERROR, "more than %d previous accountHashPrefixes\n",
                        DP_MAX_ISSUERS);
            return -1;
        }
        c->previous_prefixes[c->n_previous++] = config_keep(one);
    }
    if (dropped && store_meta_set(ca->store, "previous_hash_prefixes", kept)) return -1;
    return 0;
}

static int settle_urls(struct app *ca)
{
    struct ca_config *c = &ca->cfg;
    char was[640] = "";
    int r = store_meta_get(ca->store, "external_url", was, sizeof was);
    if (r == 1)
        r = store_meta_set(ca->store, "external_url", ca->base);
    else if (r == 0 && strcmp(was, ca->base)) {
        log_console(
            2, LOG_ERROR,
            "this CA's URLs are %s (recorded in %s%s), not %s: "
            "changing them would change every account URL and invalidate every published "
            "dns-persist-01 record (draft 4.5); to serve on another address or behind a "
            "proxy, give --external-url %s\n",
            was, c->database[0] && store_is_url(c->database) ? "the PostgreSQL database" : c->data,
            c->database[0] && store_is_url(c->database) ? "" : "/ca.sqlite", ca->base, was);
        return -1;
    }
    was[0] = '\0';
    if (r == 0) r = store_meta_get(ca->store, "hash_prefix", was, sizeof was);
    if (r == 1 || (r == 0 && c->hash_prefix_given && strcmp(was, c->hash_prefix))) {
        /* Draft 4.5: records published under the replaced prefix must keep
         * validating, so it joins the recorded previous ones (unless the
         * operator forgets it explicitly). */
        if (r == 0 && keep_prefix(ca, was)) return -1;
        r = store_meta_set(ca->store, "hash_prefix", c->hash_prefix);
    } else if (r == 0) {
        snprintf(c->hash_prefix, sizeof c->hash_prefix, "%s", was);
    }
    if (r >= 0 && previous_prefixes(ca)) return -1;
    if (r < 0) log_console(2, LOG_ERROR, "cannot read or record the CA's URLs\n");
    return r < 0 ? -1 : 0;
}

/* The VA's one write (va.h): taking over answered challenges. */
static long claim_leases(void *store, const char *owner, int seconds, size_t max,
                         char (*ids)[ST_ID], char (*accounts)[ST_ID], char (*types)[24])
{
    return store_authz_claim(store, owner, seconds, max, ids, accounts, types);
}

/* The VA's slice of the settled configuration (its URLs and prefixes are
 * final by then). */
static void va_slice(struct app *ca)
{
    const struct ca_config *c = &ca->cfg;
    ca->va_cfg = (struct va_config){
        .threads = c->va_threads,
        .jit_threads = c->threads,
        .jit_wait_ms = c->jit_wait_ms,
        .resolver = c->resolver,
        .trust_anchor = c->trust_anchor,
        .v7 = &c->limits.l[RL_FAILED_VALIDATIONS],
        .lease = (int)c->validation_lease,
        .instance = ca->instance,
        .mpic = &ca->mpic,
        .base = ca->base,
        .issuers = c->issuers,
        .n_issuers = c->n_issuers,
        .hash_prefix = c->hash_prefix,
        .previous = c->previous_prefixes,
        .n_previous = c->n_previous,
        .compat = c->draft01_compat,
        .caa_ids = c->caa_identities,
        .n_caa = c->n_caa,
        .http01_port = c->http01_port,
    };
}

/* The RA's slice of the settled configuration. */
static void ra_slice(struct app *ca)
{
    const struct ca_config *c = &ca->cfg;
    ca->ra_cfg = (struct ra_config){
        .persist = c->persist,
        .dns01 = c->dns01,
        .http01 = c->http01,
        .jit = c->jit,
        .authz_lifetime = c->authz_lifetime,
        .order_lifetime = c->order_lifetime,
        .resolver = c->resolver,
        .limits = &c->limits,
        .profiles = &c->profiles,
        .eab_kid = c->eab_kid,
        .eab_key = c->eab_key,
        .n_eab = c->n_eab,
        .base = ca->base,
        .validation_lease = (int)c->validation_lease,
    };
}

/* The front end's slice of the settled configuration. */
static void wfe_slice(struct app *ca)
{
    const struct ca_config *c = &ca->cfg;
    ca->wfe_cfg = (struct wfe_config){
        .base = ca->base,
        .issuers = c->issuers,
        .n_issuers = c->n_issuers,
        .hash_prefix = c->hash_prefix,
        .caa_identities = c->caa_identities,
        .n_caa = c->n_caa,
        .profiles = &c->profiles,
        .persist = c->persist,
        .eab_required = c->n_eab > 0,
        .draft01_compat = c->draft01_compat,
        .directory_draft01 = c->directory_draft01,
    };
}

static int bind_address(const char *host, char *out, size_t cap);

static int nonce_used(void *arg, const char *nonce, long long expires)
{
    return store_nonce_use(arg, nonce, (int64_t)expires);
}

/* Instances sharing a database accept each other's nonces, each once: the
 * MAC key is the database's (made by the first instance), the used ones a
 * table there. 0, or -1 after saying why. */
static int share_nonces(struct app *ca)
{
    unsigned char key[32], mine[32];
    char b64[64], stored[64];
    if (RAND_bytes(mine, sizeof mine) != 1 ||
        dp_b64url_encode(mine, sizeof mine, b64, sizeof b64) == (size_t)-1 ||
        store_meta_add(ca->store, "nonce_key", b64, stored, sizeof stored) ||
        dp_b64url_decode(stored, strlen(stored), key, sizeof key) != sizeof key) {
        log_console(2, LOG_ERROR, "cannot set up nonces shared with other instances\n");
        return -1;
    }
    nonces_share(ca->nonces, key, nonce_used, ca->store);
    return 0;
}

/* The CRL's listener, URL and a first CRL. The listener defaults to the
 * next port of --listen and the URL to the external URL's host. A taken
 * port refuses the start rather than moving: the URL goes into every
 * certificate, and a URL that changed with each start would leave the
 * earlier certificates pointing at nothing. NULL after saying why. */
static struct http_server *crl_start(struct app *ca)
{
    struct ca_config *c = &ca->cfg;
    char addr[256], why[512] = "";
    struct http_server *s = NULL;
    if (bind_address(c->crl_listen_host, addr, sizeof addr))
        snprintf(why, sizeof why, "cannot resolve %s", c->crl_listen_host);
    else if (!(ca->crl = crl_new(ca->store, ca->pki, ca->instance)))
        snprintf(why, sizeof why, "out of memory");
    else if (pki_set_crl_url(ca->pki, c->crl_url) || crl_refresh(ca->crl) ||
             crl_publisher_start(ca->crl))
        snprintf(why, sizeof why, "cannot build the CRL for %.400s", c->crl_url);
    else if (!(s = http_start(addr, c->crl_port, NULL, NULL, 1, NULL, crl_handle, ca->crl, why,
                              sizeof why))) {
        size_t n = strlen(why);
        snprintf(why + n, sizeof why - n,
                 " (the CRL listener: choose its address with --crl-listen ADDR:PORT)");
    }
    if (!s) log_console(2, LOG_ERROR, "CRL: %s\n", why);
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
    static struct app ca;
    struct ca_config *c = &ca.cfg;
    if (argc > 1 && !strcmp(argv[1], "perspective-credentials"))
        return perspective_credentials(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "migrate")) return ca_migrate(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "keys")) return ca_keys(argc - 1, argv + 1);
    int rc0 = config_load(c, argc, argv);
    if (rc0) return rc0 == 1 ? 0 : 2;
    char lwhy[1200];
    if (log_configure(c->log_level[0] ? c->log_level : NULL,
                      c->log_format[0] ? c->log_format : NULL, c->log_file, lwhy, sizeof lwhy)) {
        log_console(2, LOG_ERROR, "%s\n", lwhy);
        return 2;
    }
    if (c->perspective_server) { /* a remote perspective: no ACME, no store */
        if (bind_address(c->listen_host, c->listen_addr, sizeof c->listen_addr)) {
            log_console(2, LOG_ERROR, "cannot resolve the listener host %s\n", c->listen_host);
            return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        struct perspective_config pc = {c->data,      c->listen_addr,  c->listen_host,
                                        c->port,      c->resolver,     c->trust_anchor,
                                        c->threads,   c->idle_timeout, c->request_timeout,
                                        c->max_conns, c->max_conns_ip};
        int prc = perspective_main(&pc);
        curl_global_cleanup();
        log_close();
        return prc;
    }
    if (c->perspective_quorum > c->n_perspectives) {
        log_console(2, LOG_ERROR, "--perspective-quorum %zu: only %zu --perspective given\n",
                    c->perspective_quorum, c->n_perspectives);
        return 2;
    }
    int dr = config_derive(c, ca.base, sizeof ca.base);
    if (dr) return dr;
    if (bind_address(c->listen_host, c->listen_addr, sizeof c->listen_addr)) {
        log_console(2, LOG_ERROR, "cannot resolve the listener host %s\n", c->listen_host);
        return 2;
    }
    /* Everything the CA creates (keys, database, its journal) is for its
     * own user only, from the moment it exists. */
    umask(077);
    if (mkdir(c->data, 0700) && errno != EEXIST) {
        log_console(2, LOG_ERROR, "cannot create %s: %s\n", c->data, strerror(errno));
        return 1;
    }
    /* One server per data directory with SQLite: the store keeps rows in
     * memory on the promise that no other process writes the database. The
     * lock goes with the process, however it ends. PostgreSQL is shared by
     * design, and its store keeps nothing in memory. */
    int pg = c->database[0] && store_is_url(c->database);
    char lock[1100];
    snprintf(lock, sizeof lock, "%s/lock", c->data);
    int lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (!pg && (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB))) {
        log_console(2, LOG_ERROR, "%s: %s\n", c->data,
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
    struct dp_error e = {0};
    char why[512] = "", db[1100];
    const char *tls_names[] = {c->listen_host, c->listen_addr};
    if (c->database[0])
        snprintf(db, sizeof db, "%s", c->database);
    else
        snprintf(db, sizeof db, "%s/ca.sqlite", c->data);
    int rc = 1;
    struct http_server *http = NULL, *crl_http = NULL, *ops_http = NULL, *plain_http = NULL;
    if (!(ca.dp = dp_ctx_new(&e)) || !(ca.pki = pki_open(c->data, tls_names, 2, &e))) {
        log_console(2, LOG_ERROR, "%s\n", e.detail);
        goto out;
    }
    if (pki_notice(ca.pki)) log_event(LOG_WARN, "keys", "msg", pki_notice(ca.pki), NULL);
    if (c->n_perspectives &&
        perspective_client_load(c->data, &ca.root_pem, &ca.mpic_cert, &ca.mpic_key))
        goto out;
    ca.mpic = (struct mpic_config){c->perspectives,
                                   c->n_perspectives,
                                   c->perspective_timeout_ms,
                                   c->perspective_quorum,
                                   ca.mpic_cert,
                                   ca.mpic_key,
                                   ca.root_pem};
    if (!(ca.store = store_open(db, !c->no_cache && !pg, why, sizeof why)) ||
        !(ca.nonces = nonces_new(200000)) || !(ca.keys = wfe_key_cache_new(!c->no_cache))) {
        log_console(2, LOG_ERROR, "%s\n", why[0] ? why : "out of memory");
        goto out;
    }
    if (settle_urls(&ca)) goto out;
    if (store_new_id(ca.instance) || (store_shared(ca.store) && share_nonces(&ca))) goto out;
    va_slice(&ca);
    ra_slice(&ca);
    if (!(crl_http = crl_start(&ca))) goto out;
    /* The RA first (the VA's results go to it), then its VA, which reads
     * the store and may write only the lease take-over. */
    struct va_claims claims = {claim_leases, ca.store};
    if (!(ca.ra = ra_new(&ca.ra_cfg, ca.store, ca.pki, ca.crl, ca.dp, ca.instance)) ||
        !(ca.va = va_create(&ca.va_cfg, ca.store, &claims, ca.dp, ra_validation_done, ca.ra, why,
                            sizeof why))) {
        log_console(2, LOG_ERROR, "%s\n", why[0] ? why : "out of memory");
        goto out;
    }
    ra_attach_va(ca.ra, ra_va_of(ca.va));
    ca.ops = (struct ops){ca.store, ca.va, ca.pki, NULL};
    wfe_slice(&ca);
    ca.wfe = (struct wfe){&ca.wfe_cfg, ca.ra, ca.store, ca.nonces, ca.keys, ca.pki, ca.dp, ca.base};
    if (c->metrics_port) {
        char maddr[256];
        if (bind_address(c->metrics_host, maddr, sizeof maddr))
            snprintf(why, sizeof why, "cannot resolve %s", c->metrics_host);
        else
            ops_http = http_start(maddr, c->metrics_port, NULL, NULL, 1, NULL, ops_handle, &ca.ops,
                                  why, sizeof why);
        if (!ops_http) {
            log_console(2, LOG_ERROR, "--metrics-listen: %s\n", why);
            goto out;
        }
    }
    struct http_limits lim = {.idle_timeout = c->idle_timeout,
                              .request_timeout = c->request_timeout,
                              .per_ip = c->max_conns_ip,
                              .total = c->max_conns,
                              .trusted = c->trusted,
                              .n_trusted = c->n_trusted,
                              .reloadable = c->tls_cert[0] != '\0'};
    char *own_cert = NULL, *own_key = NULL;
    if (c->tls_cert[0] && tls_pair_read(c, &own_cert, &own_key, why, sizeof why)) {
        log_console(2, LOG_ERROR, "--tls-cert %s: %s\n", c->tls_cert, why);
        goto out;
    }
    http = http_start(c->listen_addr, c->port, own_cert ? own_cert : pki_tls_cert_pem(ca.pki),
                      own_key ? own_key : pki_tls_key_pem(ca.pki), c->threads, &lim, wfe_handle,
                      &ca.wfe, why, sizeof why);
    free(own_cert);
    free(own_key);
    if (!http) {
        log_console(2, LOG_ERROR, "%s\n", why);
        goto out;
    }
    __atomic_store_n(&ca.ops.acme, http, __ATOMIC_RELEASE); /* the scrape reads its connections */
    /* Behind a TLS-terminating proxy: the proxy carries many clients on
     * each connection, so the per-address connection limit is its own. */
    struct http_limits plim = lim;
    plim.forwarded = 1, plim.reloadable = 0, plim.per_ip = c->max_conns;
    if (c->plain_port &&
        !(plain_http = http_start(c->plain_host, c->plain_port, NULL, NULL, c->threads, &plim,
                                  wfe_handle, &ca.wfe, why, sizeof why))) {
        log_console(2, LOG_ERROR, "--listen-plain: %s\n", why);
        goto out;
    }
    /* SIGINT and SIGTERM stay blocked but for sigsuspend: a signal that
     * came between the test of stopping and the wait would otherwise be
     * lost and the server would never stop (pause() had that race). */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, SIG_IGN);
    announce(c, ca.base);
    fflush(stdout);
    while (!stopping) {
        sigsuspend(&old);
        if (reload && !stopping) {
            reload = 0;
            on_reload(&ca, http);
        }
    }
    rc = 0;
out:
    http_stop(ops_http); /* first: a scrape reads the ACME listener */
    http_stop(plain_http);
    http_stop(http);
    http_stop(crl_http);
    va_destroy(ca.va);
    ra_free(ca.ra);
    crl_free(ca.crl); /* its publisher uses the store and the pki */
    nonces_free(ca.nonces);
    store_close(ca.store);
    pki_free(ca.pki);
    dp_ctx_free(ca.dp);
    cache_free(ca.keys);
    curl_global_cleanup();
    free(ca.mpic_cert);
    free(ca.mpic_key);
    free(ca.root_pem);
    log_close();
    return rc;
}
