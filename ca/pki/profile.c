/*
 * profile.c: the certificate profiles and their definition language, one
 * line per profile:
 *
 *   profile NAME lifetime=7d cn=no crl=no eku=serverAuth challenges=dns-persist-01
 *           description=Free text to the end of the line
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "profile.h"

static const char *const ch_types[] = {"dns-persist-01", "dns-01", "http-01"}; /* RA_CH_TYPES */

void profiles_builtin(struct profiles *ps, int64_t classic_lifetime)
{
    memset(ps, 0, sizeof *ps);
    ps->p[0] = (struct profile){"classic", "", classic_lifetime, 1, 1, 0, 0};
    snprintf(ps->p[0].description, sizeof ps->p[0].description,
             "The default: serverAuth, the first name as subject common name, %lld days, "
             "with a CRL distribution point",
             (long long)(classic_lifetime / 86400));
    ps->p[1] = (struct profile){"tlsserver", "", classic_lifetime, 0, 1, 0, 0};
    snprintf(ps->p[1].description, sizeof ps->p[1].description,
             "serverAuth only, no subject common name, %lld days",
             (long long)(classic_lifetime / 86400));
    ps->p[2] = (struct profile){"shortlived",
                                "160 hours (under 7 days), serverAuth, no subject common name, "
                                "no CRL distribution point (it expires before a CRL would "
                                "matter); renew every few days, with ARI",
                                160 * 3600,
                                0,
                                0,
                                0,
                                0};
    ps->n = 3;
    ps->def = 0;
}

static int yes_no(const char *v)
{
    return !strcmp(v, "yes") ? 1 : !strcmp(v, "no") ? 0 : -1;
}

int profiles_add(struct profiles *ps, const char *spec, char *why, size_t cap)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL, *name = strtok_r(buf, " \t", &save);
    if (!name || strlen(name) >= sizeof ps->p[0].name || strchr(name, '=')) {
        snprintf(why, cap, "a profile starts with its name (at most 31 characters)");
        return -1;
    }
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_')) {
            snprintf(why, cap, "profile name '%s': lowercase letters, digits, - and _ only", name);
            return -1;
        }
    struct profile p = {.lifetime = 90 * 86400, .cn = 0, .crl = 1};
    snprintf(p.name, sizeof p.name, "%s", name);
    char *tok;
    while ((tok = strtok_r(NULL, " \t", &save))) {
        char *eq = strchr(tok, '=');
        if (!eq) goto bad;
        *eq = '\0';
        const char *k = tok, *v = eq + 1;
        if (!strcmp(k, "description")) {
            /* the rest of the line, blanks included */
            snprintf(p.description, sizeof p.description, "%s%s%s", v, save && *save ? " " : "",
                     save ? save : "");
            break;
        } else if (!strcmp(k, "lifetime")) {
            if ((p.lifetime = ca_duration(v, 3650LL * 86400)) < 0) goto bad;
        } else if (!strcmp(k, "cn") || !strcmp(k, "crl")) {
            int b = yes_no(v);
            if (b < 0) goto bad;
            *(!strcmp(k, "cn") ? &p.cn : &p.crl) = b;
        } else if (!strcmp(k, "eku")) {
            if (!strcmp(v, "serverAuth"))
                p.client_auth = 0;
            else if (!strcmp(v, "serverAuth,clientAuth"))
                p.client_auth = 1;
            else
                goto bad;
        } else if (!strcmp(k, "challenges")) {
            char list[256], *s2 = NULL;
            snprintf(list, sizeof list, "%s", v);
            for (char *t = strtok_r(list, ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
                size_t i = 0;
                while (i < 3 && strcmp(ch_types[i], t))
                    i++;
                if (i == 3) goto bad;
                p.challenges |= 1u << i;
            }
        } else {
            goto bad;
        }
    }
    if (!p.description[0]) snprintf(p.description, sizeof p.description, "%s", p.name);
    size_t i = 0;
    while (i < ps->n && strcmp(ps->p[i].name, p.name))
        i++;
    if (i == PROFILE_MAX) {
        snprintf(why, cap, "at most %d profiles", PROFILE_MAX);
        return -1;
    }
    ps->p[i] = p;
    if (i == ps->n) ps->n++;
    ps->narrowing |= p.challenges != 0;
    return 0;
bad:
    snprintf(why, cap,
             "profile %s: '%s' is not one of lifetime=T, cn=yes|no, crl=yes|no, "
             "eku=serverAuth[,clientAuth], challenges=TYPE[,TYPE], description=TEXT",
             p.name, tok);
    return -1;
}

const struct profile *profiles_find(const struct profiles *ps, const char *name)
{
    for (size_t i = 0; name && i < ps->n; i++)
        if (!strcmp(ps->p[i].name, name)) return &ps->p[i];
    return NULL;
}

void profiles_list(const struct profiles *ps, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ps->n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "", ps->p[i].name);
}
