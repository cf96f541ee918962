/*
 * test_ca_revoke.c: dnspersist-ca end to end: revocation (RFC 8555 7.6) by the account and by the
 * certificate's key, forgeries refused, and the CRL (RFC 5280). Its own CAs (the fixture,
 * ca_fixture.h) on the real Knot DNS server.
 *
 * Usage: test_ca_revoke PATH/TO/dnspersist-ca   (DP_DNS_ENV names the DNS env file)
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca_fixture.h"
#include "ca_harness.h"
#include "check.h"

static struct ca ca02;

/* A look-alike of the certificate in pem: same issuer name, serial and
 * authority key identifier, but the attacker's key, self-signed. *key gets
 * the attacker's key (jwk for the request). Caller frees the result. */
static char *forge(const char *pem, struct dp_key **key)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *real = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    char *out = NULL;
    int aki = real ? X509_get_ext_by_NID(real, NID_authority_key_identifier, -1) : -1;
    if (real && pk && x && X509_set_version(x, 2) &&
        X509_set_serialNumber(x, X509_get_serialNumber(real)) &&
        X509_set_issuer_name(x, X509_get_issuer_name(real)) &&
        X509_set_subject_name(x, X509_get_subject_name(real)) &&
        X509_set1_notBefore(x, X509_get0_notBefore(real)) &&
        X509_set1_notAfter(x, X509_get0_notAfter(real)) && X509_set_pubkey(x, pk) &&
        (aki < 0 || X509_add_ext(x, X509_get_ext(real, aki), -1)) &&
        X509_sign(x, pk, EVP_sha256())) {
        BIO *o = BIO_new(BIO_s_mem()), *k = BIO_new(BIO_s_mem());
        char *d;
        long l;
        if (PEM_write_bio_X509(o, x) && (l = BIO_get_mem_data(o, &d)) > 0) out = strndup(d, l);
        if (PEM_write_bio_PrivateKey(k, pk, NULL, NULL, 0, NULL, NULL) &&
            (l = BIO_get_mem_data(k, &d)) > 0)
            *key = dp_key_load_pem(d, (size_t)l, NULL);
        BIO_free(o);
        BIO_free(k);
    }
    X509_free(x);
    X509_free(real);
    EVP_PKEY_free(pk);
    return out;
}

/* RFC 8555 7.6: a certificate copied in issuer and serial but signed by
 * another key revokes nothing; an account authorized for every name may. */
static void revocation_refuses_forgeries(void)
{
    struct acct ac, other;
    CHECK(acct_new(&ca02, &ac) == 0);
    CHECK(acct_new(&ca02, &other) == 0);
    char d[128];
    unique(d, sizeof d, "forge");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    char *pem = NULL;
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL), *evil = NULL;
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem, &e) == DP_OK);
    char *fake = pem ? forge(pem, &evil) : NULL;
    CHECK(fake && evil);
    /* Signed by the look-alike's own key (jwk), and by another account (kid). */
    CHECK(fake && evil && dp_acme_revoke(other.a, fake, 1, evil, &e) != DP_OK &&
          strstr(problem_type(&other), ":malformed"));
    CHECK(fake && dp_acme_revoke(other.a, fake, 1, NULL, &e) != DP_OK);
    char *pem2 = NULL;
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem2, &e) == DP_OK);
    CHECK(pem2 && dp_acme_revoke(other.a, pem2, 0, NULL, &e) == DP_ERR_UNAUTHORIZED);
    /* The other account, once it holds a valid authorization of the name
     * (its own record, its own certificate), may revoke ours. */
    CHECK(publish(&ca02, &other, d, NULL, NULL) == 0);
    CHECK(issue(&ca02, &other, d, &e) == DP_OK);
    CHECK(pem2 && dp_acme_revoke(other.a, pem2, 5, NULL, &e) == DP_OK);
    /* The forgeries revoked nothing: the real certificate is revoked now,
     * for the first time. */
    CHECK(pem && dp_acme_revoke(ac.a, pem, 1, NULL, &e) == DP_OK);
    free(pem);
    free(pem2);
    free(fake);
    dp_key_free(k);
    dp_key_free(evil);
    acct_free(&ac);
    acct_free(&other);
}

/* Writes the leaf and the rest of a PEM chain to two files in tmpdir. */
static int write_chain(const char *pem, const char *leaf_path, const char *rest_path)
{
    const char *second = strstr(pem + 1, "-----BEGIN CERTIFICATE-----");
    FILE *l = fopen(leaf_path, "w"), *r = fopen(rest_path, "w");
    int ok = l && r && second && fwrite(pem, 1, (size_t)(second - pem), l) && fputs(second, r) >= 0;
    if (l) fclose(l);
    if (r) fclose(r);
    return ok ? 0 : -1;
}

/* RFC 5280 CRLs: every certificate names the CRL; after a revocation the
 * CRL (fetched over plain HTTP from that URL) makes `openssl verify
 * -crl_check` refuse the revoked certificate and accept the other. */
static void revocation_published_in_crl(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128];
    unique(d, sizeof d, "crl");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    char *pem1 = NULL, *pem2 = NULL;
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem1, &e) == DP_OK);
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem2, &e) == DP_OK);
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 1, NULL, &e) == DP_OK);
    char p1[600], p2[600], chain[600], crl[600], cmd[4096], url[300] = "";
    snprintf(p1, sizeof p1, "%s/crl-revoked.pem", tmpdir);
    snprintf(p2, sizeof p2, "%s/crl-good.pem", tmpdir);
    snprintf(chain, sizeof chain, "%s/crl-chain.pem", tmpdir);
    snprintf(crl, sizeof crl, "%s/crl.pem", tmpdir);
    CHECK(pem1 && pem2 && write_chain(pem1, p1, chain) == 0 && write_chain(pem2, p2, chain) == 0);
    /* The URL, as the certificate names it. */
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in %s -noout -ext crlDistributionPoints | grep -o 'http://[^ ]*'", p1);
    FILE *f = popen(cmd, "r");
    if (f && !fgets(url, sizeof url, f)) url[0] = '\0';
    if (f) pclose(f);
    url[strcspn(url, "\n")] = '\0';
    CHECK(!strncmp(url, "http://localhost:", 17));
    snprintf(cmd, sizeof cmd, "curl -sf '%s' | openssl crl -inform DER -out %s", url, crl);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "openssl verify -crl_check -CAfile %s -untrusted %s -CRLfile %s %s 2>&1 | "
             "grep -q 'certificate revoked'",
             ca02.root, chain, crl, p1);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "openssl verify -crl_check -CAfile %s -untrusted %s -CRLfile %s %s >/dev/null 2>&1",
             ca02.root, chain, crl, p2);
    CHECK(system(cmd) == 0);
    /* Reason keyCompromise (1) is in the CRL entry. */
    snprintf(cmd, sizeof cmd, "openssl crl -in %s -noout -text | grep -q 'Key Compromise'", crl);
    CHECK(system(cmd) == 0);
    free(pem1);
    free(pem2);
    dp_key_free(k);
    acct_free(&ac);
}

/* The entry of the certificate in pem in the CA's CRL (fetched from the URL
 * the certificate names): "-" when not listed, its reason as openssl prints
 * it ("Key Compromise", "Superseded"...), or "none" when it has no reason
 * code. "?" when the CRL cannot be had. */
static void crl_entry(const char *pem, char *out, size_t cap)
{
    char leaf[300], rest[300], cmd[4096];
    snprintf(leaf, sizeof leaf, "%s/entry-leaf.pem", tmpdir);
    snprintf(rest, sizeof rest, "%s/entry-rest.pem", tmpdir);
    snprintf(out, cap, "?");
    if (write_chain(pem, leaf, rest)) return;
    snprintf(
        cmd, sizeof cmd,
        "url=$(openssl x509 -in %s -noout -ext crlDistributionPoints | grep -o 'http://[^ ]*'); "
        "serial=$(openssl x509 -in %s -noout -serial | cut -d= -f2); "
        "curl -sf \"$url\" | openssl crl -inform DER -noout -text > %s/entry.txt || exit 1; "
        "awk -v s=\"$serial\" '/Serial Number:/ { if (on) exit; on = toupper($3) == toupper(s) } "
        "on && /CRL Reason Code/ { getline; gsub(/^ +| +$/, \"\"); r = $0 } "
        "END { print on ? (r ? r : \"none\") : \"-\" }' %s/entry.txt",
        leaf, leaf, tmpdir, tmpdir);
    FILE *f = popen(cmd, "r");
    if (f && fgets(out, (int)cap, f)) out[strcspn(out, "\n")] = '\0';
    if (f && pclose(f)) snprintf(out, cap, "?");
}

/* CA/B BR 7.2.2: a subscriber's revocation carries 0, 1, 3, 4, 5 or 9.
 * removeFromCRL (8) once hid a revocation: revoked by the certificate's
 * key with reason 8, the CRL listed it as removed, and the account's later
 * keyCompromise revocation got alreadyRevoked. Now 2, 6, 8 and 10 are
 * refused and change nothing. */
static void revocation_reasons_br_7_2_2(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128], entry[64];
    unique(d, sizeof d, "reasons");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    char *pem = NULL;
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem, &e) == DP_OK && pem);
    if (!pem) goto out;
    const int refused[] = {2, 6, 8, 10};
    for (size_t i = 0; i < 4; i++) {
        CHECK(dp_acme_revoke(ac.a, pem, refused[i], k, &e) != DP_OK &&
              strstr(problem_type(&ac), ":badRevocationReason"));
        CHECK(dp_acme_revoke(ac.a, pem, refused[i], NULL, &e) != DP_OK &&
              strstr(problem_type(&ac), ":badRevocationReason"));
    }
    crl_entry(pem, entry, sizeof entry);
    CHECK_STR(entry, "-");
    /* The account's keyCompromise revocation is the first. */
    CHECK(dp_acme_revoke(ac.a, pem, 1, NULL, &e) == DP_OK);
    crl_entry(pem, entry, sizeof entry);
    CHECK_STR(entry, "Key Compromise");
out:
    free(pem);
    dp_key_free(k);
    acct_free(&ac);
}

/* BR 7.2.2: a CA that learns of a key compromise after another revocation
 * SHOULD change the entry's reason to keyCompromise. Here: revoked as
 * superseded by the account; keyCompromise proven by the certificate's key
 * raises the entry (the revocation date kept); a third gets alreadyRevoked,
 * as does superseded again (a reason is never lowered). */
static void key_compromise_raises_an_earlier_reason(void)
{
    struct acct ac, other;
    CHECK(acct_new(&ca02, &ac) == 0);
    CHECK(acct_new(&ca02, &other) == 0);
    char d[128], entry[64];
    unique(d, sizeof d, "raise");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    char *pem = NULL;
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
    CHECK(dp_acme_issue(ac.a, names, 1, k, &pem, &e) == DP_OK && pem);
    if (!pem) goto out;
    CHECK(dp_acme_revoke(ac.a, pem, 4, NULL, &e) == DP_OK);
    crl_entry(pem, entry, sizeof entry);
    CHECK_STR(entry, "Superseded");
    CHECK(dp_acme_revoke(ac.a, pem, 4, NULL, &e) != DP_OK &&
          strstr(problem_type(&ac), ":alreadyRevoked"));
    CHECK(dp_acme_revoke(other.a, pem, 1, k, &e) == DP_OK);
    crl_entry(pem, entry, sizeof entry);
    CHECK_STR(entry, "Key Compromise");
    CHECK(dp_acme_revoke(other.a, pem, 1, k, &e) != DP_OK &&
          strstr(problem_type(&other), ":alreadyRevoked"));
    CHECK(dp_acme_revoke(ac.a, pem, 4, NULL, &e) != DP_OK &&
          strstr(problem_type(&ac), ":alreadyRevoked"));
    crl_entry(pem, entry, sizeof entry);
    CHECK_STR(entry, "Key Compromise");
out:
    free(pem);
    dp_key_free(k);
    acct_free(&ac);
    acct_free(&other);
}

/* A key reported compromised (keyCompromise from the account, or any
 * revocation signed by the certificate's own key) is refused for good:
 * in a CSR (badPublicKey at finalize), as a new account's key, and as an
 * account's new key (key change). A key revoked for another reason by the
 * account is not. */
static void compromised_keys_refused(void)
{
    struct acct ac;
    CHECK(acct_new(&ca02, &ac) == 0);
    char d[128];
    unique(d, sizeof d, "blocked");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    /* Each key type the CA certifies: the thumbprint refused at finalize
     * (from the CSR's key) must be the one recorded (from the certificate). */
    struct dp_key *k[5];
    char *pem[5] = {NULL, NULL, NULL, NULL, NULL};
    static const enum dp_key_type type[5] = {DP_KEY_EC256, DP_KEY_EC256, DP_KEY_EC256,
                                             DP_KEY_RSA2048, DP_KEY_EC384};
    for (int i = 0; i < 5; i++) {
        k[i] = dp_key_generate(type[i], NULL);
        CHECK(dp_acme_issue(ac.a, names, 1, k[i], &pem[i], &e) == DP_OK && pem[i]);
    }
    if (!pem[0] || !pem[1] || !pem[2] || !pem[3] || !pem[4]) goto out;
    CHECK(dp_acme_revoke(ac.a, pem[0], 1, NULL, &e) == DP_OK); /* keyCompromise */
    CHECK(dp_acme_revoke(ac.a, pem[1], 0, k[1], &e) == DP_OK); /* by its own key */
    CHECK(dp_acme_revoke(ac.a, pem[2], 4, NULL, &e) == DP_OK); /* superseded */
    CHECK(dp_acme_revoke(ac.a, pem[3], 1, NULL, &e) == DP_OK); /* RSA, keyCompromise */
    CHECK(dp_acme_revoke(ac.a, pem[4], 0, k[4], &e) == DP_OK); /* P-384, by its own key */
    char *again = NULL;
    for (int i = 0; i < 5; i++) {
        if (i == 2) continue;
        CHECK(dp_acme_issue(ac.a, names, 1, k[i], &again, &e) != DP_OK &&
              strstr(problem_type(&ac), ":badPublicKey"));
        free(again);
        again = NULL;
    }
    CHECK(dp_acme_issue(ac.a, names, 1, k[2], &again, &e) == DP_OK);
    free(again);
    /* As an account's key: new, and by key change. */
    struct dp_acme_config cfg = {ca02.dir, ca02.root, 10000, 20000};
    struct dp_acme *na = dp_acme_new(&cfg, k[0], &e);
    CHECK(na && dp_acme_account(na, 0, NULL, 1, &e) != DP_OK &&
          strstr(dp_acme_last_problem(na)->type, ":badPublicKey"));
    dp_acme_free(na);
    CHECK(dp_acme_key_change(ac.a, k[1], &e) != DP_OK &&
          strstr(problem_type(&ac), ":badPublicKey"));
out:
    for (int i = 0; i < 5; i++) {
        free(pem[i]);
        dp_key_free(k[i]);
    }
    acct_free(&ac);
}

static void revocation_by_account_and_by_key(void)
{
    struct acct ac, other;
    CHECK(acct_new(&ca02, &ac) == 0);
    CHECK(acct_new(&ca02, &other) == 0);
    char d[128];
    unique(d, sizeof d, "revoke");
    CHECK(publish(&ca02, &ac, d, NULL, NULL) == 0);
    struct dp_error e;
    const char *names[] = {d};
    char *pem1 = NULL, *pem2 = NULL;
    struct dp_key *k1 = dp_key_generate(DP_KEY_EC256, NULL),
                  *k2 = dp_key_generate(DP_KEY_RSA2048, NULL);
    CHECK(dp_acme_issue(ac.a, names, 1, k1, &pem1, &e) == DP_OK);
    CHECK(dp_acme_issue(ac.a, names, 1, k2, &pem2, &e) == DP_OK);
    /* Another account may not revoke it. */
    CHECK(pem1 && dp_acme_revoke(other.a, pem1, 0, NULL, &e) == DP_ERR_UNAUTHORIZED);
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 1, NULL, &e) == DP_OK);
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 1, NULL, &e) != DP_OK &&
          strstr(problem_type(&ac), ":alreadyRevoked"));
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 4, NULL, &e) != DP_OK &&
          strstr(problem_type(&ac), ":alreadyRevoked"));
    /* The certificate's own key may (jwk-signed), a wrong key may not. */
    CHECK(pem2 && dp_acme_revoke(other.a, pem2, 0, k1, &e) == DP_ERR_UNAUTHORIZED);
    CHECK(pem2 && dp_acme_revoke(other.a, pem2, 4, k2, &e) == DP_OK);
    CHECK(pem1 && dp_acme_revoke(ac.a, pem1, 7, NULL, &e) != DP_OK && /* reason 7 is unused */
          strstr(problem_type(&ac), ":badRevocationReason"));
    free(pem1);
    free(pem2);
    dp_key_free(k1);
    dp_key_free(k2);
    acct_free(&ac);
    acct_free(&other);
}

int main(int argc, char **argv)
{
    int rc = fixture_init(argc, argv, "revoke");
    if (rc) return rc;
    fixture_ca(&ca02, "ca02");
    CHECK(ca_start(&ca02) == 0);
    if (!check_failed) {
        RUN(revocation_by_account_and_by_key);
        RUN(revocation_refuses_forgeries);
        RUN(revocation_published_in_crl);
        RUN(revocation_reasons_br_7_2_2);
        RUN(key_compromise_raises_an_earlier_reason);
        RUN(compromised_keys_refused);
    }
    ca_stop(&ca02);
    fixture_done();
    return check_report();
}
