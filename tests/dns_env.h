/* dns_env.h: reads the DIR/env file tests/dns/knot-env.sh writes. Tests that
 * need the server exit 77 (CTest: skipped) when it is not there. */
#ifndef DP_DNS_ENV_H
#define DP_DNS_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dns_env {
    char resolver[64], ta_secure[512], ta_bogus[512], ta_all[512];
    char issuer[64], account_url[128], thumbprint[64], hash_prefix[128];
    char tsig_secret[128], port[16];
};

static inline int dns_env_load(struct dns_env *e)
{
    const char *path = getenv("DP_DNS_ENV");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        printf("SKIP: no DNS test server (DP_DNS_ENV=%s): tests/dns/knot-env.sh did not run\n",
               path ? path : "(unset)");
        return -1;
    }
    memset(e, 0, sizeof *e);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        const char *v = eq + 1;
#define TAKE(key, field)                                                                           \
    if (!strcmp(line, key)) snprintf(e->field, sizeof e->field, "%s", v);
        TAKE("DNS_RESOLVER", resolver)
        TAKE("DNS_TA_SECURE", ta_secure)
        TAKE("DNS_TA_BOGUS", ta_bogus)
        TAKE("DNS_TA_ALL", ta_all)
        TAKE("DNS_ISSUER", issuer)
        TAKE("DNS_ACCOUNT_URL", account_url)
        TAKE("DNS_THUMBPRINT", thumbprint)
        TAKE("DNS_HASH_PREFIX", hash_prefix)
        TAKE("DNS_TSIG_SECRET", tsig_secret)
        TAKE("DNS_PORT", port)
#undef TAKE
    }
    fclose(f);
    return e->resolver[0] ? 0 : -1;
}

#endif
