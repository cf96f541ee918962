/*
 * bench_sign: what one issuing-key signature costs, for a key file and a
 * key in a token (PKCS#11, through OpenSSL's pkcs11 provider), measured in
 * the same run so the figures compare. Each signature is an ECDSA P-256
 * SHA-256 signature over a certificate-sized message (what pki_issue and
 * pki_crl do once per certificate or CRL). Prints wall and CPU time per
 * signature for each key given.
 * Usage: bench_sign N KEY... (KEY: a PEM file, or a pkcs11: URI)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "pki_files.h"

static double now(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_sign N KEY...\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    unsigned char msg[700], sig[512];
    memset(msg, 0x5a, sizeof msg);
    for (int i = 2; i < argc; i++) {
        char why[512] = "";
        int uri = !strncmp(argv[i], "pkcs11:", 7);
        EVP_PKEY *k = uri ? pki_load_key_uri(argv[i], why, sizeof why)
                          : pki_load_key(argv[i][0] == '/' ? "" : ".", argv[i], why, sizeof why);
        if (!k) {
            fprintf(stderr, "bench_sign: %s: %s\n", argv[i], why);
            return 1;
        }
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        long done = 0;
        for (long j = 0; j < n; j++) {
            EVP_MD_CTX *ctx = EVP_MD_CTX_new();
            size_t sl = sizeof sig;
            if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
                EVP_DigestSign(ctx, sig, &sl, msg, sizeof msg) == 1)
                done++;
            EVP_MD_CTX_free(ctx);
        }
        double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        printf("%s key: %ld signatures, %.1f us wall, %.1f us CPU (this process) each\n",
               uri ? "token" : "file", done, w * 1e6 / (double)n, c * 1e6 / (double)n);
        EVP_PKEY_free(k);
        if (done != n) return 1;
    }
    return 0;
}
