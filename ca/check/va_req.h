/*
 * va_req.h: one validation as a self-contained request: everything a check
 * needs (identifier, challenge type and its parameters, the CA's CAA
 * identities, the account), so the same check runs on the primary from
 * its state and on a remote perspective from the request alone (MPIC,
 * CA/B BR 3.2.2.9). Also its wire form (JSON), and a check's answer.
 */
#ifndef CA_VA_REQ_H
#define CA_VA_REQ_H

#include <stdint.h>

#include "dnspersist/dnspersist.h"
#include "store_read.h"

/* Every key an account ever had counts (draft 4.2): the primary checks
 * them all, read from the store, with no cap. A perspective is asked
 * about the one key whose record the primary found, so what it accepts is
 * bounded well below any request body limit. */
#define VA_REQ_MAX_KEYS 16

/* A check's result. */
struct va_result {
    int valid;
    const char *type; /* problem type suffix when not valid */
    int status;       /* its HTTP status */
    char detail[700];
    int64_t clamp;          /* V6: the latest expiry persistUntil allows, 0 for none */
    char fail_key[320];     /* V7: the (record, account) a failure counts against, or "" */
    char record[300];       /* dns-persist-01: the record name that matched */
    long key;               /* dns-persist-01: the request's thumbprint that matched, or -1 */
    char perspectives[600]; /* MPIC: the remote perspectives that agreed, or "" */
    double seconds;         /* how long the validation took (metrics) */
};

struct va_req {
    char type[24]; /* dns-persist-01, dns-01, http-01, or caa (CAA alone) */
    char identifier[256];
    int wildcard;
    char account[ST_ID]; /* the primary's id (V7 keys); not sent */
    char account_url[640];
    int account_valid; /* V5: read from live state */
    /* dns-persist-01 */
    char issuers[DP_MAX_ISSUERS][DP_DOMAIN_MAX + 3];
    size_t n_issuers;
    char (*thumbs)[48]; /* current key first, then older ones; owned (va_req_clear) */
    size_t n_thumbs;
    char hash_prefix[640];
    char previous[DP_MAX_ISSUERS][640];
    size_t n_previous;
    int compat; /* draft-01 records accepted too */
    /* dns-01, http-01 */
    char token[64];
    char key_auth[160];
    int http01_port;
    /* CAA, after the method passes (or alone for type caa) */
    char caa_ids[DP_MAX_ISSUERS][DP_DOMAIN_MAX + 3];
    size_t n_caa;
    char method[24];
};

/* Frees what q owns (not q). */
void va_req_clear(struct va_req *q);

/* Wire form. va_req_json: caller frees; with key >= 0 (a dns-persist-01
 * request whose record matched that thumbprint at the primary) it names
 * that key alone. va_req_parse: 0, or -1 with why. */
char *va_req_json(const struct va_req *q, long key);
int va_req_parse(const char *json, size_t len, struct va_req *q, char *why, size_t cap);

/* A check's answer: valid, or the problem; for dns-persist-01 the record
 * that matched and V6's clamp. */
char *va_result_json(const struct va_result *r, const char *record);
int va_result_parse(const char *json, size_t len, struct va_result *r, char *record, size_t rcap);

#endif
