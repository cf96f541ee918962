/* config.h: dnspersist-ca's options (config.c). */
#ifndef CA_CONFIG_H
#define CA_CONFIG_H

#include "ca.h"

/* Defaults, then --config FILE, then the command line into c. 0 to run;
 * 1 after printing --help; 2 after saying what is wrong. */
int config_load(struct ca_config *c, int argc, char **argv);
/* A copy of s that lives as long as the process (option values); exits on
 * out of memory, at start-up only. */
char *config_keep(const char *s);

/* Debian's dns-root-data: the IANA root zone's trust anchor. */
#define ROOT_ANCHOR "/usr/share/dns/root.key"

#endif
