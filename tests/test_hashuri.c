/* test_hashuri.c: lib/hashuri.c, the hashed account URI (H1-H4) and base64url. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "check.h"
#include "dnspersist/dnspersist.h"
#include "internal.h"

#define KEY "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
#define URL "https://ca.example/acct/123"
#define PREFIX "https://ca.example/account-hash/"

static void H3_draft_section_10_2_vectors(void)
{
    char b64[DP_HASHURI_DIGEST_B64_MAX + 1];
    CHECK(dp_hashuri_digest(DP_HASH_SHA256, "example.com", KEY, URL, b64, NULL) == DP_OK);
    CHECK_STR(b64, "5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw");
    CHECK(dp_hashuri_digest(DP_HASH_SHA256, "*", KEY, URL, b64, NULL) == DP_OK);
    CHECK_STR(b64, "NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug");
    char *u = dp_hashuri_compute_alloc(DP_HASH_SHA256, PREFIX, "example.com", KEY, URL, NULL);
    CHECK_STR(u, PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw");
    free(u);
}

/* The H2 input, assembled independently of the library, for the longer digests. */
static void H2_sha384_sha512_match_an_independent_computation(void)
{
    const char *dom = "example.com";
    unsigned char in[256];
    size_t n = 0;
    in[n++] = (unsigned char)strlen(dom);
    memcpy(in + n, dom, strlen(dom)), n += strlen(dom);
    memcpy(in + n, KEY, 43), n += 43;
    memcpy(in + n, URL, strlen(URL)), n += strlen(URL);
    const struct {
        dp_hash_alg alg;
        const EVP_MD *md;
        size_t b64len;
    } t[] = {{DP_HASH_SHA384, EVP_sha384(), 64}, {DP_HASH_SHA512, EVP_sha512(), 86}};
    for (size_t i = 0; i < 2; i++) {
        unsigned char dg[64];
        unsigned int dl;
        EVP_Digest(in, n, dg, &dl, t[i].md, NULL);
        char want[100], got[100];
        dp__b64url_encode(dg, dl, want);
        CHECK(dp_hashuri_digest(t[i].alg, dom, KEY, URL, got, NULL) == DP_OK);
        CHECK_STR(got, want);
        CHECK(strlen(got) == t[i].b64len);
    }
}

/* Account URLs up to 512 octets are hashed in one update, longer ones in
 * four: both give the digest of the same input. */
static void H2_long_account_url_matches_an_independent_computation(void)
{
    const char *dom = "example.com";
    for (size_t ul = 500; ul <= 530; ul += 6) {
        char url[600];
        snprintf(url, sizeof url, "https://ca.example/acct/");
        size_t l = strlen(url);
        memset(url + l, 'a', ul - l);
        url[ul] = '\0';
        unsigned char in[1 + 255 + 43 + 600];
        size_t n = 0;
        in[n++] = (unsigned char)strlen(dom);
        memcpy(in + n, dom, strlen(dom)), n += strlen(dom);
        memcpy(in + n, KEY, 43), n += 43;
        memcpy(in + n, url, ul), n += ul;
        unsigned char dg[32];
        unsigned int dl;
        EVP_Digest(in, n, dg, &dl, EVP_sha256(), NULL);
        char want[100], got[100];
        dp__b64url_encode(dg, dl, want);
        CHECK(dp_hashuri_digest(DP_HASH_SHA256, dom, KEY, url, got, NULL) == DP_OK);
        CHECK_STR(got, want);
    }
}

static void H2_inputs_are_checked(void)
{
    char b64[100];
    struct dp_error e;
    CHECK(dp_hashuri_digest(DP_HASH_SHA256, "Example.com", KEY, URL, b64, &e) == DP_ERR_INVAL);
    CHECK(dp_hashuri_digest(DP_HASH_SHA256, "example.com.", KEY, URL, b64, &e) == DP_ERR_INVAL);
    CHECK(dp_hashuri_digest(DP_HASH_SHA256, "example.com", "short", URL, b64, &e) == DP_ERR_INVAL);
    CHECK(dp_hashuri_digest(DP_HASH_SHA256, "example.com", KEY, "has space", b64, &e) ==
          DP_ERR_INVAL);
    CHECK(dp_hashuri_digest(DP_HASH_SHA256, "example.com", KEY, "", b64, &e) == DP_ERR_INVAL);
    CHECK(dp_hashuri_digest((dp_hash_alg)8, "example.com", KEY, URL, b64, &e) ==
          DP_ERR_UNSUPPORTED);
    CHECK(dp_hashuri_compute_alloc(DP_HASH_SHA256, "", "example.com", KEY, URL, &e) == NULL);
}

static void H1_hash_names_are_exact(void)
{
    dp_hash_alg a;
    CHECK(dp_hashuri_alg_from_name("sha-256", 7, &a) == DP_OK && a == DP_HASH_SHA256);
    CHECK(dp_hashuri_alg_from_name("sha-512", 7, &a) == DP_OK && a == DP_HASH_SHA512);
    CHECK(dp_hashuri_alg_from_name("SHA-256", 7, &a) == DP_ERR_UNSUPPORTED);
    CHECK(dp_hashuri_alg_from_name("sha256", 6, &a) == DP_ERR_UNSUPPORTED);
    CHECK(dp_hashuri_alg_from_name("sha-256-128", 11, &a) == DP_ERR_UNSUPPORTED);
    CHECK(dp_hashuri_alg_size(DP_HASH_SHA384) == 48);
    CHECK_STR(dp_hashuri_alg_name(DP_HASH_SHA512), "sha-512");
}

static dp_code hp(const char *uri, unsigned accepted, struct dp_error *e)
{
    struct dp_hashuri h;
    return dp_hashuri_parse(uri, strlen(uri), PREFIX, accepted, &h, e);
}

static void H4_malformed_hashed_uris(void)
{
    struct dp_error e;
    const char *good = PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw";
    struct dp_hashuri h;
    CHECK(dp_hashuri_parse(good, strlen(good), PREFIX, 0, &h, &e) == DP_OK);
    CHECK(h.alg == DP_HASH_SHA256 && h.digest.len == 43);
    /* Not under the prefix (includes a draft-01 plain URL and a case change). */
    CHECK(hp(URL, 0, &e) == DP_ERR_MALFORMED && !strcmp(e.rule, "H4"));
    CHECK(hp("https://CA.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw",
             0, &e) == DP_ERR_MALFORMED);
    /* Algorithm unknown, or known but not accepted. */
    CHECK(hp(PREFIX "md5/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw", 0, &e) == DP_ERR_MALFORMED);
    CHECK(hp(PREFIX "SHA-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw", 0, &e) ==
          DP_ERR_MALFORMED);
    CHECK(hp(PREFIX "sha-512/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw", DP_HASH_SHA256, &e) ==
              DP_ERR_MALFORMED &&
          !strcmp(e.rule, "H4") && strstr(e.detail, "not accepted"));
    CHECK(hp(PREFIX "sha-256", 0, &e) == DP_ERR_MALFORMED);
    /* Digest of the wrong length, alphabet, padding or trailing bits. */
    CHECK(hp(PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-k", 0, &e) ==
          DP_ERR_MALFORMED);
    CHECK(hp(PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw=", 0, &e) ==
          DP_ERR_MALFORMED);
    CHECK(hp(PREFIX "sha-256/5SQm7n6tPh2+PlLbCKGnViTXX5z19SCN4cPGQHSk-kw", 0, &e) ==
          DP_ERR_MALFORMED);
    CHECK(hp(PREFIX "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kx", 0, &e) ==
          DP_ERR_MALFORMED);
    CHECK(hp(PREFIX "sha-256/", 0, &e) == DP_ERR_MALFORMED);
    CHECK(hp(PREFIX "sha-384/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw", 0, &e) ==
          DP_ERR_MALFORMED);
}

static void b64url_canonical_round_trip(void)
{
    unsigned char in[70], out[70];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof in; n++) {
        char enc[100];
        dp__b64url_encode(in, n, enc);
        CHECK(strlen(enc) == dp__b64url_len(n));
        CHECK(dp__b64url_is_canonical(enc, strlen(enc), n));
        CHECK(dp__b64url_decode(enc, strlen(enc), out, sizeof out) == n && memcmp(in, out, n) == 0);
    }
    CHECK(dp__b64url_decode("AB", 2, out, sizeof out) == (size_t)-1); /* trailing bits set */
    CHECK(dp__b64url_decode("A", 1, out, sizeof out) == (size_t)-1);
    CHECK(dp_hashuri_thumbprint_valid(KEY, 43));
    CHECK(!dp_hashuri_thumbprint_valid(KEY "A", 44));
    CHECK(!dp_hashuri_thumbprint_valid("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xt", 43));
}

int main(void)
{
    RUN(H3_draft_section_10_2_vectors);
    RUN(H2_sha384_sha512_match_an_independent_computation);
    RUN(H2_long_account_url_matches_an_independent_computation);
    RUN(H2_inputs_are_checked);
    RUN(H1_hash_names_are_exact);
    RUN(H4_malformed_hashed_uris);
    RUN(b64url_canonical_round_trip);
    return check_report();
}
