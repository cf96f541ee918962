/*
 * fuzz_csr: libFuzzer target for the CA's PKCS#10 reader (ca/csr.c), which
 * every finalize runs on the client's bytes. Invariants: an accepted CSR has
 * a key and its names stay within the bound asked for; a refused one leaves
 * nothing behind (LeakSanitizer) and says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "csr.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Both key paths: curve templates (odd inputs) and from scratch (even). */
    static struct csr_curves *curves;
    if (!curves) curves = csr_curves_new();
    struct csr *c = NULL;
    char why[256] = "";
    enum csr_result r = csr_parse(size % 2 ? curves : NULL, data, size, &c, why, sizeof why);
    if (r != CSR_OK) {
        check(c == NULL && why[0] != '\0', "refusal without object, with a reason");
        return 0;
    }
    check(c != NULL && csr_pubkey(c) != NULL, "accepted CSR has a key");
    char names[4][256];
    size_t n = csr_names(c, names, 4);
    check(n <= 5, "names bounded by max + 1");
    X509 *x = X509_new();
    if (x) csr_copy_spki(c, x);
    X509_free(x);
    csr_free(c);
    return 0;
}
