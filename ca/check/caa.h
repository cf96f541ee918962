/*
 * caa.h: the CAA decision (RFC 8659 section 4, RFC 8657's accounturi and
 * validationmethods) over one RRset, the closest one to the name (the
 * climb and the look-ups are va_caa.c's). A pure function, so that every
 * case can be tested without DNS.
 */
#ifndef CA_CAA_H
#define CA_CAA_H

#include <stddef.h>

#define CAA_MAX_PROPS 64
#define CAA_MAX_VALUE 1024

struct caa_prop {
    unsigned char flags; /* 128: critical */
    char tag[256];       /* as written; compared without case */
    char value[CAA_MAX_VALUE];
    size_t value_len;
    int value_too_long; /* longer than CAA_MAX_VALUE: never authorizes */
};

struct caa_rrset {
    size_t n;
    int too_many; /* more than CAA_MAX_PROPS properties: refused */
    struct caa_prop p[CAA_MAX_PROPS];
};

/* Adds one CAA RDATA (flags, tag length, tag, value) to set; -1 when it
 * is not a CAA RDATA (empty tag, bad lengths), which refuses issuance. */
int caa_add(struct caa_rrset *set, const unsigned char *rdata, size_t len);

/* 1 when the RRset permits issuance for a (wildcard) name to the account
 * at account_url validated by method, for a CA with these identities; 0
 * with why (one line naming the property at fault) otherwise. */
int caa_permits(const struct caa_rrset *set, const char *const *identities, size_t n_identities,
                int wildcard, const char *account_url, const char *method, char *why, size_t cap);

#endif
