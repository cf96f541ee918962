/*
 * hashuri.c: the hashed account URI of draft-02 section 4.1 (H1 to H4).
 * The only SHA-2 use in the library outside the thumbprint; digests go
 * through OpenSSL's EVP one-shot so any provider (FIPS included) serves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"
#include "hashuri_int.h"

static const struct {
    dp_hash_alg alg;
    const char *name;
    size_t size;
} algs[] = {
    {DP_HASH_SHA256, "sha-256", 32},
    {DP_HASH_SHA384, "sha-384", 48},
    {DP_HASH_SHA512, "sha-512", 64},
};

const char *dp_hashuri_alg_name(dp_hash_alg alg)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (algs[i].alg == alg) return algs[i].name;
    return NULL;
}

size_t dp_hashuri_alg_size(dp_hash_alg alg)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (algs[i].alg == alg) return algs[i].size;
    return 0;
}

dp_code dp_hashuri_alg_from_name(const char *name, size_t len, dp_hash_alg *alg)
{
    if (!name) return DP_ERR_INVAL;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strlen(algs[i].name) == len && memcmp(algs[i].name, name, len) == 0) {
            if (alg) *alg = algs[i].alg;
            return DP_OK;
        }
    return DP_ERR_UNSUPPORTED;
}

const EVP_MD *dp__hash_md(dp_hash_alg alg)
{
    switch (alg) {
    case DP_HASH_SHA256:
        return EVP_sha256();
    case DP_HASH_SHA384:
        return EVP_sha384();
    case DP_HASH_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

int dp_hashuri_thumbprint_valid(const char *s, size_t len)
{
    return s && dp__b64url_is_canonical(s, len, 32);
}

int dp__account_url_valid(const char *url)
{
    if (!url || !*url) return 0;
    for (const char *p = url; *p; p++)
        if (!dp__is_value_char((unsigned char)*p)) return 0;
    return 1;
}

dp_code dp__hashuri_digest_bin(const EVP_MD *md, EVP_MD_CTX *mctx, const char *domain, size_t dlen,
                               const char *thumb, const char *url, size_t ulen, unsigned char *dg,
                               unsigned int *dglen)
{
    unsigned char lenbyte = (unsigned char)dlen;
    /* A NULL md re-initializes mctx with its current digest, skipping the provider look-up. */
    if (!EVP_DigestInit_ex2(mctx, md, NULL)) return DP_ERR_CRYPTO;
    /* One update when the input fits: each EVP call has a cost of its own,
     * near the hashing itself at these sizes (the verifier's hot path). */
    unsigned char buf[1 + 255 + DP_THUMBPRINT_LEN + 512];
    int ok;
    if (dlen <= 255 && ulen <= 512) {
        buf[0] = lenbyte;
        memcpy(buf + 1, domain, dlen);
        memcpy(buf + 1 + dlen, thumb, DP_THUMBPRINT_LEN);
        memcpy(buf + 1 + dlen + DP_THUMBPRINT_LEN, url, ulen);
        ok = EVP_DigestUpdate(mctx, buf, 1 + dlen + DP_THUMBPRINT_LEN + ulen);
    } else {
        ok = EVP_DigestUpdate(mctx, &lenbyte, 1) && EVP_DigestUpdate(mctx, domain, dlen) &&
             EVP_DigestUpdate(mctx, thumb, DP_THUMBPRINT_LEN) && EVP_DigestUpdate(mctx, url, ulen);
    }
    return ok && EVP_DigestFinal_ex(mctx, dg, dglen) ? DP_OK : DP_ERR_CRYPTO;
}

static dp_code check_inputs(dp_hash_alg alg, const char *domain, const char *thumbprint,
                            const char *account_url, struct dp_error *err)
{
    if (!dp_hashuri_alg_name(alg))
        return dp__fail(err, DP_ERR_UNSUPPORTED, "H1", DP_NO_OFFSET, "unknown hash algorithm");
    if (!domain || !thumbprint || !account_url)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    if (strcmp(domain, "*") != 0) {
        char norm[DP_DOMAIN_MAX + 1];
        if (dp_domain_normalize(domain, norm, 0, NULL) != DP_OK || strcmp(norm, domain) != 0)
            return dp__fail(err, DP_ERR_INVAL, "H2", DP_NO_OFFSET,
                            "domain '%s' is not a normalized name (lowercase A-labels, no "
                            "trailing dot) or '*'",
                            domain);
    }
    if (!dp_hashuri_thumbprint_valid(thumbprint, strlen(thumbprint)))
        return dp__fail(err, DP_ERR_INVAL, "H2", DP_NO_OFFSET,
                        "thumbprint is not 43 characters of unpadded base64url");
    if (!dp__account_url_valid(account_url))
        return dp__fail(err, DP_ERR_INVAL, "H2", DP_NO_OFFSET,
                        "account URL is empty or has a blank, ';', control or non-ASCII octet");
    return DP_OK;
}

dp_code dp_hashuri_digest(dp_hash_alg alg, const char *domain, const char *thumbprint,
                          const char *account_url, char *b64, struct dp_error *err)
{
    dp_error_clear(err);
    dp_code rc = check_inputs(alg, domain, thumbprint, account_url, err);
    if (rc != DP_OK) return rc;
    if (!b64) return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL output");
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (!mctx) return dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
    unsigned char dg[EVP_MAX_MD_SIZE];
    unsigned int dglen = 0;
    rc = dp__hashuri_digest_bin(dp__hash_md(alg), mctx, domain, strlen(domain), thumbprint,
                                account_url, strlen(account_url), dg, &dglen);
    EVP_MD_CTX_free(mctx);
    if (rc == DP_OK) dp__b64url_encode(dg, dglen, b64);
    if (rc != DP_OK) return dp__fail(err, rc, NULL, DP_NO_OFFSET, "digest computation failed");
    return DP_OK;
}

char *dp_hashuri_compute_alloc(dp_hash_alg alg, const char *prefix, const char *domain,
                               const char *thumbprint, const char *account_url,
                               struct dp_error *err)
{
    char b64[DP_HASHURI_DIGEST_B64_MAX + 1];
    if (!prefix || !dp__account_url_valid(prefix)) {
        dp__fail(err, DP_ERR_INVAL, "H1", DP_NO_OFFSET,
                 "hash prefix is empty or has a blank, ';', control or non-ASCII octet");
        return NULL;
    }
    if (dp_hashuri_digest(alg, domain, thumbprint, account_url, b64, err) != DP_OK) return NULL;
    const char *name = dp_hashuri_alg_name(alg);
    size_t n = strlen(prefix) + strlen(name) + 1 + strlen(b64) + 1;
    char *out = malloc(n);
    if (!out) {
        dp__fail(err, DP_ERR_NOMEM, NULL, DP_NO_OFFSET, "out of memory");
        return NULL;
    }
    snprintf(out, n, "%s%s/%s", prefix, name, b64);
    return out;
}

dp_code dp_hashuri_parse(const char *uri, size_t len, const char *prefix, unsigned accepted,
                         struct dp_hashuri *out, struct dp_error *err)
{
    dp_error_clear(err);
    if (!uri || !prefix || !out)
        return dp__fail(err, DP_ERR_INVAL, NULL, DP_NO_OFFSET, "NULL argument");
    if (accepted == 0) accepted = DP_HASH_DEFAULT_ACCEPTED;
    size_t plen = strlen(prefix);
    if (len < plen || memcmp(uri, prefix, plen) != 0)
        return dp__fail(err, DP_ERR_MALFORMED, "H4", 0,
                        "accounturi is not under this CA's accountHashPrefix %s", prefix);
    const char *alg = uri + plen;
    const char *slash = memchr(alg, '/', len - plen);
    if (!slash)
        return dp__fail(err, DP_ERR_MALFORMED, "H1", plen,
                        "accounturi has no '<hash-alg>/' after the prefix (octet %zu)", plen);
    size_t alen = (size_t)(slash - alg);
    dp_hash_alg a;
    if (dp_hashuri_alg_from_name(alg, alen, &a) != DP_OK)
        return dp__fail(err, DP_ERR_MALFORMED, "H4", plen,
                        "hash algorithm '%.*s' is not a known RFC 6920 name (octet %zu)",
                        (int)(alen > 32 ? 32 : alen), alg, plen);
    if (!(accepted & a))
        return dp__fail(err, DP_ERR_MALFORMED, "H4", plen,
                        "hash algorithm '%s' is not accepted by this CA", dp_hashuri_alg_name(a));
    const char *dg = slash + 1;
    size_t dlen = len - (size_t)(dg - uri);
    if (!dp__b64url_is_canonical(dg, dlen, dp_hashuri_alg_size(a)))
        return dp__fail(err, DP_ERR_MALFORMED, "H1", (size_t)(dg - uri),
                        "digest is not %zu characters of canonical unpadded base64url for %s",
                        dp__b64url_len(dp_hashuri_alg_size(a)), dp_hashuri_alg_name(a));
    out->alg = a;
    out->digest.ptr = dg;
    out->digest.len = dlen;
    return DP_OK;
}
