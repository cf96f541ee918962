/* problem.h: ACME problem documents (RFC 8555 6.7, RFC 7807), shared by the
 * front end (refusals) and the registration authority (stored errors of
 * challenges and orders), so neither depends on the other for them. */
#ifndef CA_PROBLEM_H
#define CA_PROBLEM_H

#include <jansson.h>

#define PROBLEM_NS "urn:ietf:params:acme:error:"

/* The compact JSON of a problem whose type is PROBLEM_NS + type; caller
 * frees. NULL only when out of memory. */
char *problem_json(const char *type, const char *detail, int status);
/* The same with the members of extra (an object, borrowed) added:
 * "algorithms" (RFC 8555 6.2), "subproblems" (6.7.1). */
char *problem_json_extra(const char *type, const char *detail, int status, json_t *extra);

#endif
