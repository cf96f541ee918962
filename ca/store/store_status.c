/*
 * store_status.c: the statuses' one name table (store_read.h). Pure, so
 * the RA's status-machine tests link it alone.
 */
#include <string.h>

#include "store_read.h"

static const char *const STATUS_NAMES[] = {
    "", "pending", "ready", "processing", "valid", "invalid", "deactivated", "expired", "revoked"};

const char *st_status_name(enum st_status s)
{
    return (size_t)s < sizeof STATUS_NAMES / sizeof *STATUS_NAMES ? STATUS_NAMES[s] : "";
}

enum st_status st_status_parse(const char *s)
{
    for (size_t i = 1; s && i < sizeof STATUS_NAMES / sizeof *STATUS_NAMES; i++)
        if (!strcmp(s, STATUS_NAMES[i])) return (enum st_status)i;
    return ST_UNKNOWN;
}
