/* announce.h: the start-up lines (announce.c). */
#ifndef CA_ANNOUNCE_H
#define CA_ANNOUNCE_H

#include "config.h"

/* base: the CA's external URL. */
void announce(const struct ca_config *c, const char *base);

#endif
