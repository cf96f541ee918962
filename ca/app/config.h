/* config.h: dnspersist-ca's configuration, as options and a config file
 * give it (config.c). app/main.c derives each component's slice from it
 * once the URLs and prefixes are settled. */
#ifndef CA_CONFIG_H
#define CA_CONFIG_H

#include <stdint.h>

#include "dnspersist/dnspersist.h"
#include "profile.h"
#include "proxy.h"
#include "ratelimit.h"

struct ca_config {
    char listen_host[256]; /* as clients name it: localhost */
    char listen_addr[256]; /* the IP bound */
    int port;
    char data[1024];
    const char *issuers[DP_MAX_ISSUERS];
    size_t n_issuers;
    char hash_prefix[640];
    int hash_prefix_given;                         /* --hash-prefix: replaces the recorded prefix */
    char external_url[512];                        /* --external-url, "" for the listener's */
    const char *previous_prefixes[DP_MAX_ISSUERS]; /* --previous-hash-prefix, and recorded */
    size_t n_previous;
    const char *forget_prefixes[DP_MAX_ISSUERS]; /* --forget-hash-prefix: may break */
    size_t n_forget;
    const char *caa_identities[DP_MAX_ISSUERS];
    size_t n_caa;
    int persist, dns01, http01; /* challenge types offered */
    int draft01_compat;
    char resolver[128];
    char trust_anchor[1024];
    int http01_port;
    int64_t authz_lifetime; /* seconds a validation is reused */
    int64_t cert_lifetime;
    int64_t order_lifetime;
    unsigned threads;
    unsigned va_threads;
    unsigned idle_timeout;              /* seconds a connection may stay silent (30) */
    unsigned request_timeout;           /* seconds a request may take to arrive whole (30) */
    unsigned max_conns, max_conns_ip;   /* open connections: all, one address */
    char tls_cert[1024], tls_key[1024]; /* --tls-cert, --tls-key: "" for tls.pem */
    struct proxy_cidr trusted[PROXY_MAX_TRUSTED]; /* --trusted-proxy */
    size_t n_trusted;
    unsigned jit_wait_ms; /* --jit-wait: how long a new-order waits for its look-ups */
    int jit;              /* Just-in-Time dns-persist-01 validation at new-order (A5) */
    const char *eab_kid[16], *eab_key[16]; /* external account binding keys */
    size_t n_eab;
    int no_cache;              /* --no-cache: no in-memory rows or keys (tests) */
    char crl_listen_host[256]; /* plain HTTP for the CRL; "" port 0: the default */
    int crl_port;
    char crl_url[512];        /* the CRL distribution point in certificates */
    struct rl_config limits;  /* --rate-limits */
    struct profiles profiles; /* built-in, then --profile */
    const char *profile_specs[PROFILE_MAX];
    size_t n_profile_specs;
    char default_profile[32];         /* --default-profile, "" for classic */
    char log_level[8], log_format[8]; /* "" for info, text */
    char log_file[1024];              /* "" for standard error */
    char metrics_host[256];           /* --metrics-listen; port 0: no metrics listener */
    char plain_host[256]; /* --listen-plain, for a TLS-terminating proxy; port 0: none */
    int plain_port;
    int metrics_port;
    int directory_draft01; /* --directory-meta draft01: no issuerDomainNames, accountHashPrefix */
    /* MPIC (mpic.h): remote perspectives, how long to wait for them, how
     * many must agree (0: the BR table); or this process is one. */
    const char *perspectives[16];
    size_t n_perspectives;
    unsigned perspective_timeout_ms;
    size_t perspective_quorum;
    int perspective_server;
    char database[1100]; /* --database: sqlite:PATH or postgresql://...; "" for DATA/ca.sqlite */
    int64_t validation_lease; /* seconds an instance holds an answered challenge (shared DB) */
};

/* Defaults, then --config FILE, then the command line into c. 0 to run;
 * 1 after printing --help; 2 after saying what is wrong. */
int config_load(struct ca_config *c, int argc, char **argv);
/* Prints the usage (--help) to standard output. */
void config_help(void);
/* The settings derived from the loaded ones, once, before any component
 * takes its slice; base (cap) gets the CA's https:// URL. 0, or 2 after
 * saying what is wrong. */
int config_derive(struct ca_config *c, char *base, size_t cap);
/* A copy of s that lives as long as the process (option values); exits on
 * out of memory, at start-up only. */
char *config_keep(const char *s);
/* A file's text (up to 1 MiB), NUL-terminated, caller frees; NULL when it
 * cannot be read. */
char *config_slurp(const char *path);

/* Debian's dns-root-data: the IANA root zone's trust anchor. */
#define ROOT_ANCHOR "/usr/share/dns/root.key"

#endif
