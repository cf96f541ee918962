/* problem.c: ACME problem documents. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "problem.h"

char *problem_json_extra(const char *type, const char *detail, int status, json_t *extra)
{
    char t[128];
    snprintf(t, sizeof t, PROBLEM_NS "%s", type);
    json_t *o = json_pack("{s:s,s:s,s:i}", "type", t, "detail", detail, "status", status);
    if (o && extra) json_object_update_missing(o, extra);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

char *problem_json(const char *type, const char *detail, int status)
{
    return problem_json_extra(type, detail, status, NULL);
}
