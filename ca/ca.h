/* ca.h: the server's configuration and shared context. */
#ifndef CA_CA_H
#define CA_CA_H

#include <pthread.h>
#include <stdint.h>

#include "dnspersist/dnspersist.h"
#include "nonce.h"
#include "pki.h"
#include "store.h"

#define CA_MAX_CHALLENGES 3

struct ca_config {
    char listen_host[256]; /* as clients name it: localhost */
    char listen_addr[256]; /* the IP bound */
    int port;
    char data[1024];
    const char *issuers[DP_MAX_ISSUERS];
    size_t n_issuers;
    char hash_prefix[640];
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
    int jit; /* Just-in-Time dns-persist-01 validation at new-order (A5) */
    const char *eab_kid[16], *eab_key[16]; /* external account binding keys */
    size_t n_eab;
};

struct va;

/* Parsed account keys by thumbprint, so a request does not rebuild its key. */
#define CA_KEYCACHE 1024
#define CA_KEYWAYS 4
struct ca_keyslot {
    char thumb[48];
    struct dp_pubkey *key;
    uint64_t used; /* keys_clock at the last hit: the least recent is evicted */
};

struct ca {
    struct ca_config cfg;
    char base[512]; /* https://host:port */
    struct store *store;
    struct pki *pki;
    struct nonces *nonces;
    struct dp_ctx *dp;
    struct va *va;
    pthread_mutex_t keys_mu;
    /* Orders being finalized ("processing"), held in memory: one HTTPS
     * thread each at most, and a crash leaves the order ready, not stuck. */
    pthread_mutex_t fin_mu;
    char finalizing[64][ST_ID];
    struct ca_keyslot keys[CA_KEYCACHE];
    uint64_t keys_clock;
};

/* acme.c: the ACME handler for http.c. */
struct http_req;
struct http_resp;
void acme_handle(void *ca, const struct http_req *req, struct http_resp *resp);

/* va.c: validation authority. Challenges are queued and validated by
 * va_threads workers, each with its own resolver. */
struct va *va_create(struct ca *ca, char *why, size_t cap);
void va_destroy(struct va *va);
/* Queues the validation of a's challenge of this type (answered by the
 * client); va_overlay then shows it processing. 0 queued; 1 another challenge of a is
 * being validated; 2 this one already is; -1 the queue is full. */
int va_answer(struct va *va, struct st_authz *a, const char *type);
/* Shows a's challenge as processing while it is being validated. */
void va_overlay(struct va *va, struct st_authz *a);

/* Just-in-Time validation (A5; draft 4.4): one identifier of a new order. */
struct va_jit {
    const char *account;
    const char *identifier; /* as ordered, "*." included */
    int valid;              /* out: a dns-persist-01 record authorizes it now */
    int64_t clamp;          /* out: V6 persistUntil, 0 for none */
};
/* Checks the items on the calling thread with a Just-in-Time resolver of
 * the VA (within a 2 s budget). An item whose domain has had too many
 * look-ups lately is not tried. */
void va_jit(struct va *va, struct va_jit *items, size_t n);

/* Problem document JSON (compact) for a type suffix and detail; caller frees. */
char *ca_problem_json(const char *type, const char *detail, int status);

#endif
