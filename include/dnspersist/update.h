/*
 * update: RFC 2136 dynamic updates signed with TSIG (RFC 8945), to publish
 * and withdraw _validation-persist records on an authoritative server.
 * Only the one record named is added or removed: other CAs' records at the
 * same name stay.
 */
#ifndef DNSPERSIST_UPDATE_H
#define DNSPERSIST_UPDATE_H

#include "error.h"

struct dp_tsig {
    char name[256];
    char algorithm[64]; /* hmac-sha256, hmac-sha512, ... */
    char secret[256];   /* base64 */
};

/* A TSIG key from path: BIND's (and knsupdate's) key file, key "NAME" {
 * algorithm ALG; secret "B64"; };, Knot's `keymgr -t` output, or a file of
 * one ALG:NAME:SECRET line; when path is no file, path itself may be
 * ALG:NAME:SECRET (knsupdate -y). DP_OK, DP_ERR_IO, DP_ERR_MALFORMED. */
DP_API dp_code dp_update_tsig_load(const char *path, struct dp_tsig *out, struct dp_error *err);

/* Adds (add=1) or deletes (add=0) the TXT record value at name on server
 * ("ADDR[@PORT]"), in the zone found by asking the server for name's SOA.
 * Then waits, up to wait_ms, until the server answers accordingly.
 * DP_OK; DP_ERR_UNAUTHORIZED (the server refused: NOTAUTH/REFUSED, a bad
 * TSIG key); DP_ERR_DNS (no answer, no zone); DP_ERR_INVAL. */
DP_API dp_code dp_update_txt(const char *server, const struct dp_tsig *key, const char *name,
                             const char *value, int add, unsigned ttl, unsigned wait_ms,
                             struct dp_error *err);

/* As dp_update_txt, for a record of any type given in presentation form
 * (type "CAA", rdata "0 issue \"ca.example\""; type "CNAME", rdata
 * "target.example."): what a test of the CA's CAA and CNAME handling
 * needs beside the TXT record. */
DP_API dp_code dp_update_rr(const char *server, const struct dp_tsig *key, const char *name,
                            const char *type, const char *rdata, int add, unsigned ttl,
                            unsigned wait_ms, struct dp_error *err);

/* The TXT values the server holds at name (strings joined), asked directly
 * over TCP. Returns DP_OK with *values (caller frees with dp_update_values_free)
 * and *n, or DP_ERR_DNS / DP_ERR_INVAL. */
DP_API dp_code dp_update_txt_fetch(const char *server, const char *name, char ***values, size_t *n,
                                   struct dp_error *err);
DP_API void dp_update_values_free(char **values, size_t n);

#endif
