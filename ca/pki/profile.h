/* profile.h: certificate profiles (draft-ietf-acme-profiles): what a
 * certificate of each looks like, offered in the directory's
 * meta.profiles and chosen by newOrder's "profile". */
#ifndef CA_PROFILE_H
#define CA_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#define PROFILE_MAX 16

struct profile {
    char name[32];
    char description[200];
    int64_t lifetime;    /* seconds */
    int cn;              /* subject common name: the first name */
    int crl;             /* CRL distribution point */
    int client_auth;     /* EKU clientAuth besides serverAuth */
    unsigned challenges; /* allowed challenge types, a bit per RA_CH_TYPES index; 0: all */
};

struct profiles {
    struct profile p[PROFILE_MAX];
    size_t n;
    size_t def;    /* the default's index */
    int narrowing; /* some profile narrows the challenge types (profiles_add sets it) */
};

/* The built-in ones: classic (the default: classic_lifetime, CN, CRL),
 * tlsserver (no CN) and shortlived (160 hours, no CN, no CRL). */
void profiles_builtin(struct profiles *ps, int64_t classic_lifetime);
/* Adds or replaces one from "NAME [lifetime=T] [cn=yes|no] [crl=yes|no]
 * [eku=serverAuth|serverAuth,clientAuth] [challenges=TYPE,...]
 * [description=TEXT TO THE END]". 0, or -1 with why. */
int profiles_add(struct profiles *ps, const char *spec, char *why, size_t cap);
/* NULL when there is no such profile. */
const struct profile *profiles_find(const struct profiles *ps, const char *name);
/* The known names, comma-separated, for problem details. */
void profiles_list(const struct profiles *ps, char *out, size_t cap);

#endif
