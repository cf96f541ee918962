/*
 * fuzz_jws: libFuzzer target for the request parser the CA runs on every
 * POST body (dp_jws_parse, then dp_jws_verify against the header's own key).
 * Invariants: parse succeeds only with exactly one of jwk/kid and an
 * accepted alg; verify never succeeds on a key the parser did not accept.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnspersist/dnspersist.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dp_jws *j = NULL;
    struct dp_error e;
    dp_code rc = dp_jws_parse((const char *)data, size, &j, &e);
    check(rc == DP_OK || rc == DP_ERR_MALFORMED || rc == DP_ERR_UNSUPPORTED || rc == DP_ERR_NOMEM,
          "parse result");
    if (rc != DP_OK) {
        check(j == NULL, "no object on failure");
        return 0;
    }
    check(!dp_jws_kid(j) != !dp_jws_jwk(j), "exactly one of jwk and kid");
    check(dp_jws_alg(j) && dp_jws_payload(j, NULL), "fields present");
    if (dp_jws_jwk(j)) {
        dp_code v = dp_jws_verify(j, dp_jws_jwk(j), &e);
        check(v == DP_OK || v == DP_ERR_KEY || v == DP_ERR_UNSUPPORTED || v == DP_ERR_UNAUTHORIZED,
              "verify result");
        char tp[DP_THUMBPRINT_BUF];
        if (v == DP_OK)
            check(dp_jws_jwk_thumbprint(j, tp, NULL) == DP_OK, "a verified key has a thumbprint");
    }
    dp_jws_free(j);
    return 0;
}
