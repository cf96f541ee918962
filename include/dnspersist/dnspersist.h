/*
 * libdnspersist: ACME dns-persist-01 (draft-ietf-acme-dns-persist-02).
 * The one header to include. Modules: error, ctx, record, txt, domain,
 * hashuri, jwk, scope, verify, resolver, key, jws, acme, update.
 */
#ifndef DNSPERSIST_H
#define DNSPERSIST_H

#define DP_VERSION "0.1.0"

#include "export.h"
#include "error.h"
#include "ctx.h"
#include "record.h"
#include "txt.h"
#include "domain.h"
#include "hashuri.h"
#include "jwk.h"
#include "scope.h"
#include "verify.h"
#include "resolver.h"
#include "b64url.h"
#include "key.h"
#include "jws.h"
#include "acme.h"
#include "update.h"

#endif
