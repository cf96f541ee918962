/*
 * test_ca_requests.c: broken ACME requests against a running dnspersist-ca,
 * each with the HTTP status and problem type RFC 8555 calls for. Needs no
 * DNS: the server is started with a resolver nobody answers.
 *
 * Usage: test_ca_requests PATH/TO/dnspersist-ca
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ca_harness.h"
#include "check.h"
#include "dnspersist/dnspersist.h"

static char base[128], root[512], dir_url[160];

struct answer {
    long status;
    char type[128];
    char nonce[64];
    char location[256];
    int retry_after;
    char next[256];  /* the Link rel="next" URL, if any */
    char link[1024]; /* every Link header, joined with ", " */
    char *body;
};

static size_t on_body(char *p, size_t s, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t old = a->body ? strlen(a->body) : 0;
    char *nb = realloc(a->body, old + s * n + 1);
    if (!nb) return 0;
    memcpy(nb + old, p, s * n);
    nb[old + s * n] = '\0';
    a->body = nb;
    return s * n;
}

static size_t on_header(char *p, size_t s, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t l = s * n;
    if (l > 14 && !strncasecmp(p, "Replay-Nonce: ", 14))
        snprintf(a->nonce, sizeof a->nonce, "%.*s", (int)(l - 16), p + 14);
    if (l > 13 && !strncasecmp(p, "Retry-After: ", 13)) a->retry_after = atoi(p + 13);
    if (l > 10 && !strncasecmp(p, "Location: ", 10))
        snprintf(a->location, sizeof a->location, "%.*s", (int)(l - 12), p + 10);
    if (l > 8 && !strncasecmp(p, "Link: ", 6)) {
        size_t have = strlen(a->link);
        snprintf(a->link + have, sizeof a->link - have, "%s%.*s", have ? ", " : "", (int)(l - 8),
                 p + 6);
    }
    const char *nx = l > 6 && !strncasecmp(p, "Link: ", 6) ? strstr(p, ">;rel=\"next\"") : NULL;
    if (nx && nx < p + l) {
        const char *lt = nx;
        while (lt > p && *lt != '<')
            lt--;
        snprintf(a->next, sizeof a->next, "%.*s", (int)(nx - lt - 1), lt + 1);
    }
    return l;
}

static struct answer req(const char *method, const char *path, const char *body, const char *ctype)
{
    struct answer a = {0};
    CURL *c = curl_easy_init();
    char u[512];
    snprintf(u, sizeof u, "%s%s", base, path);
    struct curl_slist *h = NULL;
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/jose+json");
    h = curl_slist_append(h, ct);
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_CAINFO, root);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
    if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    } else if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET")) { /* PUT, DELETE, ...: as given */
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    json_t *o = a.body ? json_loads(a.body, 0, NULL) : NULL;
    const char *t = json_string_value(json_object_get(o, "type"));
    snprintf(a.type, sizeof a.type, "%s",
             t ? t + (strncmp(t, "urn:ietf:params:acme:error:", 27) ? 0 : 27) : "");
    json_decref(o);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return a;
}

static char *nonce(void)
{
    struct answer a = req("HEAD", "/acme/new-nonce", NULL, NULL);
    free(a.body);
    return strdup(a.nonce);
}

static char *b64(const char *s)
{
    return dp_b64url_encode_alloc(s, strlen(s));
}

/* A JWS with a hand-written protected header, signed by key. */
static char *forge(const struct dp_key *key, const char *header, const char *payload)
{
    char *h = b64(header), *p = b64(payload);
    char input[8192];
    snprintf(input, sizeof input, "%s.%s", h, p);
    unsigned char *sig = NULL;
    size_t sl = 0;
    dp_key_sign(key, input, strlen(input), &sig, &sl, NULL);
    char *s = dp_b64url_encode_alloc(sig, sl);
    json_t *o = json_pack("{s:s,s:s,s:s}", "protected", h, "payload", p, "signature", s ? s : "");
    char *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(h);
    free(p);
    free(s);
    free(sig);
    return out;
}

static struct dp_key *key;
static char acct_url[256];
static char processing_authz[300]; /* an authorization whose challenge was answered */

static void expect(const char *name, struct answer a, long status, const char *type)
{
    int good = a.status == status && !strcmp(a.type, type) && a.nonce[0];
    if (!good)
        fprintf(stderr, "%s: got %ld %s (nonce '%s'), want %ld %s\n", name, a.status, a.type,
                a.nonce, status, type);
    CHECK(good);
    printf("%s %s\n", good ? "ok  " : "FAIL", name);
    free(a.body);
}

static char *signed_req(const struct dp_key *k, const char *kid, const char *path,
                        const char *payload)
{
    char u[512], *n = nonce();
    snprintf(u, sizeof u, "%s%s", base, path);
    char *b = dp_jws_sign_alloc(k, kid, n, u, payload, NULL);
    free(n);
    return b;
}

/* Request hygiene (issue 11, item 8): what a sloppy or hostile client
 * sends that must be refused, not stored or cut. */
static void hygiene(void)
{
    char hdr[4096], jwk[1024], *b, *n;
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
    /* A jwk carrying its private part. */
    snprintf(jwk, sizeof jwk, "%s", dp_key_jwk(k));
    jwk[strlen(jwk) - 1] = '\0';
    n = nonce();
    snprintf(hdr, sizeof hdr,
             "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-account\",\"jwk\":%s,"
             "\"d\":\"AAAA\"}}",
             n, base, jwk);
    free(n);
    b = forge(k, hdr, "{}");
    expect("jwk_private_member", req("POST", "/acme/new-account", b, NULL), 400, "badPublicKey");
    free(b);
    /* A curve outside the set (secp256k1). */
    char *c = strstr(jwk, "P-256");
    char k1[1100];
    if (c) snprintf(k1, sizeof k1, "%.*ssecp256k1%s}", (int)(c - jwk), jwk, c + 5);
    n = nonce();
    snprintf(hdr, sizeof hdr,
             "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-account\",\"jwk\":%s}", n,
             base, c ? k1 : "{}");
    free(n);
    b = forge(k, hdr, "{}");
    expect("jwk_secp256k1", req("POST", "/acme/new-account", b, NULL), 400, "badPublicKey");
    free(b);
    /* Ed25519 signs fine but is not an account key type here. */
    struct dp_key *ed = dp_key_generate(DP_KEY_ED25519, NULL);
    b = signed_req(ed, NULL, "/acme/new-account", "{}");
    expect("account_key_ed25519", req("POST", "/acme/new-account", b, NULL), 400, "badPublicKey");
    free(b);
    dp_key_free(ed);
    /* Content type: a longer type is not this one. */
    b = signed_req(k, NULL, "/acme/new-account", "{}");
    expect("content_type_prefix", req("POST", "/acme/new-account", b, "application/jose+jsonx"),
           415, "malformed");
    free(b);
    /* POST-as-GET to newAccount. */
    b = signed_req(k, NULL, "/acme/new-account", "");
    expect("new_account_post_as_get", req("POST", "/acme/new-account", b, NULL), 400, "malformed");
    free(b);
    /* Contacts: a control character; more than fits, never cut. */
    b = signed_req(k, NULL, "/acme/new-account",
                   "{\"contact\":[\"mailto:a@example.com\\r\\nBcc: x@example.com\"]}");
    expect("contact_crlf", req("POST", "/acme/new-account", b, NULL), 400, "invalidContact");
    free(b);
    char many[4096] = "{\"contact\":[";
    for (int i = 0; i < 10; i++) {
        size_t l = strlen(many);
        snprintf(many + l, sizeof many - l, "%s\"mailto:%0230d@example.com\"", i ? "," : "", i);
    }
    strcat(many, "]}");
    b = signed_req(k, NULL, "/acme/new-account", many);
    expect("contacts_over_total_size", req("POST", "/acme/new-account", b, NULL), 400,
           "invalidContact");
    free(b);
    /* A deactivated account's key at newAccount: unauthorized, not the account. */
    b = signed_req(k, NULL, "/acme/new-account", "{}");
    struct answer a = req("POST", "/acme/new-account", b, NULL);
    free(b);
    char kid[512] = "";
    if (a.status == 201) snprintf(kid, sizeof kid, "%s", a.location);
    free(a.body);
    CHECK(kid[0] != '\0');
    b = signed_req(k, kid, kid + strlen(base), "{\"status\":\"deactivated\"}");
    a = req("POST", kid + strlen(base), b, NULL);
    free(b);
    CHECK(a.status == 200);
    free(a.body);
    b = signed_req(k, NULL, "/acme/new-account", "{}");
    expect("deactivated_key_new_account", req("POST", "/acme/new-account", b, NULL), 401,
           "unauthorized");
    free(b);
    dp_key_free(k);
}

/* Hostile requests as data (issue 11): raw ones first (no valid JWS
 * needed), then payloads signed by the test account. Every one gets its
 * status and problem type, a fresh nonce, and changes nothing. */
struct raw_case {
    const char *name, *method, *path, *ctype, *body;
    long status;
    const char *type;
};

static const struct raw_case raw_cases[] = {
    {"get_on_new_account", "GET", "/acme/new-account", NULL, NULL, 405, "malformed"},
    {"put_on_new_order", "PUT", "/acme/new-order", NULL, "{}", 405, "malformed"},
    {"delete_directory", "DELETE", "/directory", NULL, NULL, 405, "malformed"},
    {"get_unknown_path", "GET", "/nothing-here", NULL, NULL, 404, "malformed"},
    {"post_unknown_path", "POST", "/acme/nothing", NULL, "{}", 404, "malformed"},
    {"post_empty_account_id", "POST", "/acme/acct/", NULL, "{}", 404, "malformed"},
    {"post_overlong_order_id", "POST",
     "/acme/order/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     NULL, "{}", 404, "malformed"},
    {"post_account_subresource", "POST", "/acme/acct/x/keys", NULL, "{}", 404, "malformed"},
    {"get_certificate", "GET", "/acme/cert/x", NULL, NULL, 405, "malformed"},
    {"content_type_text", "POST", "/acme/new-order", "text/plain", "{}", 415, "malformed"},
    {"content_type_json", "POST", "/acme/new-order", "application/json", "{}", 415, "malformed"},
    {"content_type_jose", "POST", "/acme/new-order", "application/jose", "{}", 415, "malformed"},
    {"content_type_empty", "POST", "/acme/new-order", "", "{}", 415, "malformed"},
    {"body_empty", "POST", "/acme/new-order", NULL, "", 400, "malformed"},
    {"body_null", "POST", "/acme/new-order", NULL, "null", 400, "malformed"},
    {"body_array", "POST", "/acme/new-order", NULL, "[]", 400, "malformed"},
    {"body_empty_object", "POST", "/acme/new-order", NULL, "{}", 400, "malformed"},
    {"body_number", "POST", "/acme/new-order", NULL, "12345", 400, "malformed"},
    {"body_truncated_json", "POST", "/acme/new-order", NULL, "{\"protected\":\"eyJ", 400,
     "malformed"},
    {"body_duplicate_members", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"e30\",\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AA\"}", 400,
     "malformed"},
    {"protected_not_string", "POST", "/acme/new-order", NULL,
     "{\"protected\":1,\"payload\":\"\",\"signature\":\"AA\"}", 400, "malformed"},
    {"protected_not_base64url", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"!!!!\",\"payload\":\"\",\"signature\":\"AA\"}", 400, "malformed"},
    {"protected_base64_padding", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"e30=\",\"payload\":\"\",\"signature\":\"AA\"}", 400, "malformed"},
    {"protected_not_json", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"aGVsbG8\",\"payload\":\"\",\"signature\":\"AA\"}", 400, "malformed"},
    {"protected_json_array", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"W10\",\"payload\":\"\",\"signature\":\"AA\"}", 400, "malformed"},
    {"protected_no_alg", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"AA\"}", 400, "malformed"},
    {"signature_missing", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"e30\",\"payload\":\"\"}", 400, "malformed"},
    {"payload_missing", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"e30\",\"signature\":\"AA\"}", 400, "malformed"},
    {"general_serialization", "POST", "/acme/new-order", NULL,
     "{\"payload\":\"\",\"signatures\":[{\"protected\":\"e30\",\"signature\":\"AA\"}]}", 400,
     "malformed"},
    {"unprotected_header", "POST", "/acme/new-order", NULL,
     "{\"protected\":\"e30\",\"header\":{\"alg\":\"none\"},\"payload\":\"\",\"signature\":\"AA\"}",
     400, "malformed"},
    {"compact_serialization", "POST", "/acme/new-order", NULL, "e30.e30.AA", 400, "malformed"},
    {"nul_in_body", "POST", "/acme/new-order", NULL, "{\"protected\":\"e30\\u0000\"}", 400,
     "malformed"},
    {"renewal_info_garbage", "GET", "/acme/renewal-info/%%%", NULL, NULL, 400, "malformed"},
    {"renewal_info_unknown", "GET", "/acme/renewal-info/AAAA.AAAA", NULL, NULL, 404, "malformed"},
    {"renewal_info_no_dot", "GET", "/acme/renewal-info/AAAA", NULL, NULL, 400, "malformed"},
};

/* alg values a protected header may carry, and their refusal. */
static const struct {
    const char *name, *alg;
    const char *type;
} alg_cases[] = {
    {"alg_es256k", "\"ES256K\"", "badSignatureAlgorithm"},
    {"alg_ps256", "\"PS256\"", "badSignatureAlgorithm"},
    {"alg_rs1", "\"RS1\"", "badSignatureAlgorithm"},
    {"alg_lowercase", "\"es256\"", "badSignatureAlgorithm"},
    {"alg_number", "256", "malformed"},
    {"alg_empty", "\"\"", "badSignatureAlgorithm"},
};

/* Payloads of new-order, signed by the test account. */
static const struct {
    const char *name, *payload;
    long status;
    const char *type;
} order_cases[] = {
    {"order_payload_array", "[]", 400, "malformed"},
    {"order_no_identifiers", "{}", 400, "malformed"},
    {"order_identifiers_object", "{\"identifiers\":{}}", 400, "malformed"},
    {"order_identifier_string", "{\"identifiers\":[\"a.example.com\"]}", 400, "malformed"},
    {"order_identifier_no_type", "{\"identifiers\":[{\"value\":\"a.example.com\"}]}", 400,
     "malformed"},
    {"order_identifier_value_number", "{\"identifiers\":[{\"type\":\"dns\",\"value\":5}]}", 400,
     "malformed"},
    {"order_identifier_type_email",
     "{\"identifiers\":[{\"type\":\"email\",\"value\":\"a@example.com\"}]}", 400,
     "unsupportedIdentifier"},
    {"order_name_with_space",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a b.example.com\"}]}", 400,
     "rejectedIdentifier"},
    {"order_name_empty_label",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a..example.com\"}]}", 400,
     "rejectedIdentifier"},
    {"order_name_label_64",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":"
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com\"}]}",
     400, "rejectedIdentifier"},
    {"order_name_wildcard_inside",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.*.example.com\"}]}", 400,
     "rejectedIdentifier"},
    {"order_name_double_wildcard",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.*.example.com\"}]}", 400,
     "rejectedIdentifier"},
    {"order_name_underscore_start",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"-a.example.com\"}]}", 400,
     "rejectedIdentifier"},
    {"order_name_bad_punycode",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"xn--zz.example.com\"}]}", 400,
     "rejectedIdentifier"},
    {"order_name_single_label", "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"localhost\"}]}",
     400, "rejectedIdentifier"},
    {"order_name_ipv6", "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"::1\"}]}", 400,
     "rejectedIdentifier"},
    {"order_unknown_profile",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"p.example.com\"}],\"profile\":\"nope\"}", 400,
     "invalidProfile"},
    {"order_profile_number",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"p.example.com\"}],\"profile\":7}", 400,
     "malformed"},
    {"order_name_control_char",
     "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a\\u0007.example.com\"}]}", 400,
     "rejectedIdentifier"},
};

/* Other resources, signed by the test account ("ACCT" in a path is its id). */
static const struct {
    const char *name, *path, *payload;
    long status;
    const char *type;
} signed_cases[] = {
    {"account_contact_not_array", "ACCT", "{\"contact\":\"mailto:a@example.com\"}", 400,
     "malformed"},
    {"account_contact_number", "ACCT", "{\"contact\":[5]}", 400, "malformed"},
    {"account_contact_mailto_empty", "ACCT", "{\"contact\":[\"mailto:\"]}", 400, "invalidContact"},
    {"account_contact_tel", "ACCT", "{\"contact\":[\"tel:+15555550100\"]}", 400,
     "unsupportedContact"},
    {"account_contact_two_addresses", "ACCT",
     "{\"contact\":[\"mailto:a@example.com,b@example.com\"]}", 400, "invalidContact"},
    {"account_contact_eleven", "ACCT",
     "{\"contact\":[\"mailto:a@e.com\",\"mailto:a@e.com\",\"mailto:a@e.com\",\"mailto:a@e.com\","
     "\"mailto:a@e.com\",\"mailto:a@e.com\",\"mailto:a@e.com\",\"mailto:a@e.com\",\"mailto:a@e."
     "com\","
     "\"mailto:a@e.com\",\"mailto:a@e.com\"]}",
     400, "malformed"},
    {"account_status_number", "ACCT", "{\"status\":5}", 400, "malformed"},
    {"account_orders_page_garbage", "ACCT/orders/xyz", "", 404, "malformed"},
    {"account_orders_with_payload", "ACCT/orders", "{}", 400, "malformed"},
    {"key_change_empty_object", "/acme/key-change", "{}", 400, "malformed"},
    {"key_change_not_jws", "/acme/key-change", "{\"protected\":\"e30\"}", 400, "malformed"},
    {"revoke_no_certificate", "/acme/revoke-cert", "{}", 400, "malformed"},
    {"revoke_certificate_number", "/acme/revoke-cert", "{\"certificate\":5}", 400, "malformed"},
    {"revoke_certificate_not_base64url", "/acme/revoke-cert", "{\"certificate\":\"!!!\"}", 400,
     "malformed"},
    {"revoke_certificate_not_der", "/acme/revoke-cert", "{\"certificate\":\"AAAA\"}", 404,
     "malformed"},
    {"unknown_order", "/acme/order/AAAAAAAAAAAAAAAA", "", 404, "malformed"},
    {"unknown_order_finalize", "/acme/order/AAAAAAAAAAAAAAAA/finalize", "{\"csr\":\"AA\"}", 404,
     "malformed"},
    {"unknown_authz", "/acme/authz/AAAAAAAAAAAAAAAA", "", 404, "malformed"},
    {"unknown_challenge", "/acme/chall/AAAAAAAAAAAAAAAA/0", "{}", 404, "malformed"},
    {"unknown_certificate", "/acme/cert/AAAAAAAAAAAAAAAA", "", 404, "malformed"},
};

static void data_tables(void)
{
    size_t total = 0;
    for (size_t i = 0; i < sizeof raw_cases / sizeof *raw_cases; i++, total++) {
        const struct raw_case *c = &raw_cases[i];
        expect(c->name, req(c->method, c->path, c->body, c->ctype), c->status, c->type);
    }
    char hdr[4096], *b, *n;
    for (size_t i = 0; i < sizeof alg_cases / sizeof *alg_cases; i++, total++) {
        n = nonce();
        snprintf(hdr, sizeof hdr,
                 "{\"alg\":%s,\"nonce\":\"%s\",\"url\":\"%s/acme/new-order\",\"kid\":\"%s\"}",
                 alg_cases[i].alg, n, base, acct_url);
        free(n);
        b = forge(key, hdr, "{}");
        expect(alg_cases[i].name, req("POST", "/acme/new-order", b, NULL), 400, alg_cases[i].type);
        free(b);
    }
    /* Header members of the wrong type. */
    static const char *const bad_header_names[] = {"kid_number", "url_number", "nonce_number",
                                                   "jwk_string"};
    for (size_t i = 0; i < 4; i++, total++) {
        n = nonce();
        if (i == 0)
            snprintf(hdr, sizeof hdr,
                     "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-order\",\"kid\":5}",
                     n, base);
        else if (i == 1)
            snprintf(hdr, sizeof hdr,
                     "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"url\":5,\"kid\":\"%s\"}", n, acct_url);
        else if (i == 2)
            snprintf(hdr, sizeof hdr,
                     "{\"alg\":\"ES256\",\"nonce\":5,\"url\":\"%s/acme/new-order\",\"kid\":\"%s\"}",
                     base, acct_url);
        else
            snprintf(
                hdr, sizeof hdr,
                "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-order\",\"jwk\":\"x\"}",
                n, base);
        free(n);
        b = forge(key, hdr, "{}");
        struct answer a = req("POST", "/acme/new-order", b, NULL);
        free(b);
        int good = a.status >= 400 && a.status < 500 && a.type[0] && a.nonce[0];
        if (!good) fprintf(stderr, "%s: got %ld %s\n", bad_header_names[i], a.status, a.type);
        CHECK(good);
        printf("%s %s\n", good ? "ok  " : "FAIL", bad_header_names[i]);
        free(a.body);
    }
    for (size_t i = 0; i < sizeof order_cases / sizeof *order_cases; i++, total++) {
        b = signed_req(key, acct_url, "/acme/new-order", order_cases[i].payload);
        expect(order_cases[i].name, req("POST", "/acme/new-order", b, NULL), order_cases[i].status,
               order_cases[i].type);
        free(b);
    }
    for (size_t i = 0; i < sizeof signed_cases / sizeof *signed_cases; i++, total++) {
        char path[400];
        const char *pp = signed_cases[i].path;
        if (!strncmp(pp, "ACCT", 4))
            snprintf(path, sizeof path, "%s%s", acct_url + strlen(base), pp + 4);
        else
            snprintf(path, sizeof path, "%s", pp);
        b = signed_req(key, acct_url, path, signed_cases[i].payload);
        expect(signed_cases[i].name, req("POST", path, b, NULL), signed_cases[i].status,
               signed_cases[i].type);
        free(b);
    }
    /* The order shows its profile; none asked for: the default. */
    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"p.example.com\"}],"
                   "\"profile\":\"shortlived\"}");
    struct answer po = req("POST", "/acme/new-order", b, NULL);
    free(b);
    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"p2.example.com\"}]}");
    struct answer pd = req("POST", "/acme/new-order", b, NULL);
    free(b);
    int shows = po.status == 201 && po.body && strstr(po.body, "\"profile\":\"shortlived\"") &&
                pd.status == 201 && pd.body && strstr(pd.body, "\"profile\":\"classic\"");
    CHECK(shows);
    printf("%s order_shows_profile\n", shows ? "ok  " : "FAIL");
    free(po.body);
    free(pd.body);
    struct answer dir = req("GET", "/directory", NULL, NULL);
    int meta = dir.body && strstr(dir.body, "\"profiles\"") && strstr(dir.body, "\"shortlived\"");
    CHECK(meta);
    printf("%s directory_meta_profiles\n", meta ? "ok  " : "FAIL");
    free(dir.body);
    /* 101 names. */
    char *many = malloc(101 * 64 + 64);
    strcpy(many, "{\"identifiers\":[");
    for (int i = 0; i < 101; i++)
        sprintf(many + strlen(many), "%s{\"type\":\"dns\",\"value\":\"n%d.example.com\"}",
                i ? "," : "", i);
    strcat(many, "]}");
    b = signed_req(key, acct_url, "/acme/new-order", many);
    expect("order_101_names", req("POST", "/acme/new-order", b, NULL), 400, "malformed");
    free(b);
    free(many);
    total++;
    printf("data tables: %zu hostile requests\n", total);
}

/* RFC 8555 and JOSE details (issue 24): a crit header refused (RFC 7515
 * 4.1.11); badSignatureAlgorithm lists the algorithms (6.2); several
 * refused identifiers in one rejectedIdentifier with a subproblem each
 * (6.7.1); a challenge's response keeps the index link beside "up" (7.1,
 * 7.5.1). */
static void rfc8555_details(void)
{
    char hdr[4096], *b, *n = nonce();
    snprintf(hdr, sizeof hdr,
             "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-order\",\"kid\":\"%s\","
             "\"crit\":[\"b64\"],\"b64\":false}",
             n, base, acct_url);
    free(n);
    b = forge(key, hdr, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"c.example.com\"}]}");
    struct answer c = req("POST", "/acme/new-order", b, NULL);
    free(b);
    int crit = c.status == 400 && !strcmp(c.type, "malformed") && c.body && strstr(c.body, "crit");
    CHECK(crit);
    printf("%s jws_crit_refused\n", crit ? "ok  " : "FAIL");
    free(c.body);

    n = nonce();
    snprintf(hdr, sizeof hdr,
             "{\"alg\":\"ES256K\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-order\",\"kid\":\"%s\"}",
             n, base, acct_url);
    free(n);
    b = forge(key, hdr, "{}");
    struct answer a = req("POST", "/acme/new-order", b, NULL);
    free(b);
    json_t *aj = json_loads(a.body ? a.body : "", 0, NULL),
           *algs = json_object_get(aj, "algorithms");
    int listed = a.status == 400 && !strcmp(a.type, "badSignatureAlgorithm") &&
                 json_is_array(algs) && json_array_size(algs) == 5;
    size_t i;
    json_t *v;
    int es256 = 0;
    json_array_foreach(algs, i, v) es256 |= !strcmp(json_string_value(v) ?: "", "ES256");
    CHECK(listed && es256);
    printf("%s bad_signature_algorithm_lists_algorithms\n", listed && es256 ? "ok  " : "FAIL");
    json_decref(aj);
    free(a.body);

    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a..example.com\"},"
                   "{\"type\":\"dns\",\"value\":\"ok.example.com\"},"
                   "{\"type\":\"email\",\"value\":\"a@example.com\"},"
                   "{\"type\":\"dns\",\"value\":\"co.uk\"}]}");
    struct answer s3 = req("POST", "/acme/new-order", b, NULL);
    free(b);
    json_t *sj = json_loads(s3.body ? s3.body : "", 0, NULL),
           *subs = json_object_get(sj, "subproblems");
    const char *want[][2] = {{"a..example.com", "rejectedIdentifier"},
                             {"a@example.com", "unsupportedIdentifier"},
                             {"co.uk", "rejectedIdentifier"}};
    int sub_ok =
        s3.status == 400 && !strcmp(s3.type, "rejectedIdentifier") && json_array_size(subs) == 3;
    for (size_t k = 0; sub_ok && k < 3; k++) {
        json_t *sp = json_array_get(subs, k);
        const char *t = json_string_value(json_object_get(sp, "type")) ?: "";
        sub_ok =
            !strcmp(json_string_value(json_object_get(json_object_get(sp, "identifier"), "value"))
                        ?: "",
                    want[k][0]) &&
            strlen(t) > 27 && !strcmp(t + 27, want[k][1]) &&
            json_string_value(json_object_get(sp, "detail"));
    }
    if (!sub_ok) fprintf(stderr, "subproblems: %ld %s\n", s3.status, s3.body ? s3.body : "");
    CHECK(sub_ok);
    printf("%s rejected_identifiers_as_subproblems\n", sub_ok ? "ok  " : "FAIL");
    json_decref(sj);
    free(s3.body);

    /* The challenge of the authorization answered earlier (processing). */
    char ch[400];
    snprintf(ch, sizeof ch, "/acme/chall/%s/dns-persist-01",
             processing_authz + strlen("/acme/authz/"));
    b = signed_req(key, acct_url, ch, NULL);
    struct answer l = req("POST", ch, b, NULL);
    free(b);
    int links = l.status == 200 && strstr(l.link, "rel=\"index\"") && strstr(l.link, "rel=\"up\"");
    if (!links) fprintf(stderr, "challenge links: %ld '%s'\n", l.status, l.link);
    CHECK(links);
    printf("%s challenge_keeps_index_and_up_links\n", links ? "ok  " : "FAIL");
    free(l.body);
}

static void table(void)
{
    char hdr[4096], u[512], *b, *n;
    data_tables();
    expect("not_json", req("POST", "/acme/new-account", "hello", NULL), 400, "malformed");
    expect("wrong_content_type", req("POST", "/acme/new-account", "{}", "application/json"), 415,
           "malformed");
    n = nonce();
    snprintf(hdr, sizeof hdr,
             "{\"alg\":\"none\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-account\",\"jwk\":%s}", n,
             base, dp_key_jwk(key));
    b = forge(key, hdr, "{}");
    expect("alg_none", req("POST", "/acme/new-account", b, NULL), 400, "badSignatureAlgorithm");
    free(b);
    snprintf(hdr, sizeof hdr,
             "{\"alg\":\"HS256\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-account\",\"jwk\":%s}", n,
             base, dp_key_jwk(key));
    b = forge(key, hdr, "{}");
    expect("alg_hmac", req("POST", "/acme/new-account", b, NULL), 400, "badSignatureAlgorithm");
    free(b);
    free(n);
    n = nonce();
    snprintf(hdr, sizeof hdr,
             "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"url\":\"%s/acme/"
             "new-account\",\"jwk\":%s,\"kid\":\"%s\"}",
             n, base, dp_key_jwk(key), acct_url);
    b = forge(key, hdr, "{}");
    expect("jwk_and_kid", req("POST", "/acme/new-account", b, NULL), 400, "malformed");
    free(b);
    free(n);
    n = nonce();
    snprintf(hdr, sizeof hdr, "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"jwk\":%s}", n,
             dp_key_jwk(key));
    b = forge(key, hdr, "{}");
    expect("no_url", req("POST", "/acme/new-account", b, NULL), 401, "unauthorized");
    free(b);
    free(n);
    b = signed_req(key, NULL, "/acme/new-order", "{}");
    expect("url_mismatch", req("POST", "/acme/new-account", b, NULL), 401, "unauthorized");
    free(b);
    snprintf(u, sizeof u, "%s/acme/new-account", base);
    b = dp_jws_sign_alloc(key, NULL, "AAAAAAAAAAAAAAAAAAAAAA", u, "{}", NULL);
    expect("unknown_nonce", req("POST", "/acme/new-account", b, NULL), 400, "badNonce");
    free(b);
    b = signed_req(key, NULL, "/acme/new-account", "{}");
    struct answer first = req("POST", "/acme/new-account", b, NULL);
    CHECK(first.status == 200);
    free(first.body);
    expect("nonce_reuse", req("POST", "/acme/new-account", b, NULL), 400, "badNonce");
    free(b);
    b = signed_req(key, "https://nowhere.example/acct_url/1", "/acme/new-order", "{}");
    expect("kid_unknown", req("POST", "/acme/new-order", b, NULL), 400, "accountDoesNotExist");
    free(b);
    snprintf(u, sizeof u, "%s/acme/acct/AAAAAAAAAAAAAAAA", base);
    b = signed_req(key, u, "/acme/new-order", "{}");
    expect("kid_no_such_account", req("POST", "/acme/new-order", b, NULL), 400,
           "accountDoesNotExist");
    free(b);
    /* A valid JWS whose payload was swapped after signing. */
    b = signed_req(key, acct_url, "/acme/new-order", "{\"identifiers\":[]}");
    json_t *o = json_loads(b, 0, NULL);
    char *p2 = b64("{\"identifiers\":[{\"type\":\"dns\",\"value\":\"evil.example\"}]}");
    json_object_set_new(o, "payload", json_string(p2));
    char *tampered = json_dumps(o, JSON_COMPACT);
    expect("bad_signature", req("POST", "/acme/new-order", tampered, NULL), 400, "malformed");
    free(tampered);
    free(p2);
    json_decref(o);
    free(b);
    b = signed_req(key, NULL, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"}]}");
    expect("order_with_jwk", req("POST", "/acme/new-order", b, NULL), 400, "malformed");
    free(b);
    b = signed_req(key, acct_url, "/acme/new-account", "{}");
    expect("new_account_with_kid", req("POST", "/acme/new-account", b, NULL), 400, "malformed");
    free(b);
    /* Keys: RSA under 2048 bits; an algorithm that does not fit the key. */
    EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, small, NULL, NULL, 0, NULL, NULL);
    char *pem;
    long pl = BIO_get_mem_data(bio, &pem);
    struct dp_key *sk = dp_key_load_pem(pem, (size_t)pl, NULL);
    b = signed_req(sk, NULL, "/acme/new-account", "{}");
    expect("rsa_1024", req("POST", "/acme/new-account", b, NULL), 400, "badPublicKey");
    free(b);
    dp_key_free(sk);
    BIO_free(bio);
    EVP_PKEY_free(small);
    struct dp_key *p384 = dp_key_generate(DP_KEY_EC384, NULL);
    n = nonce();
    snprintf(hdr, sizeof hdr,
             "{\"alg\":\"ES256\",\"nonce\":\"%s\",\"url\":\"%s/acme/new-account\",\"jwk\":%s}", n,
             base, dp_key_jwk(p384));
    b = forge(p384, hdr, "{}");
    expect("alg_does_not_fit_key", req("POST", "/acme/new-account", b, NULL), 400,
           "badSignatureAlgorithm");
    free(b);
    free(n);
    dp_key_free(p384);
    hygiene();
    char *big = malloc(70000);
    memset(big, 'a', 69999);
    big[69999] = '\0';
    expect("body_too_big", req("POST", "/acme/new-account", big, NULL), 413, "malformed");
    free(big);
    /* Payload checks. */
    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"ip\",\"value\":\"192.0.2.1\"}]}");
    expect("identifier_ip", req("POST", "/acme/new-order", b, NULL), 400, "unsupportedIdentifier");
    free(b);
    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"Bad..Name\"}]}");
    expect("identifier_bad_name", req("POST", "/acme/new-order", b, NULL), 400,
           "rejectedIdentifier");
    free(b);
    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"co.uk\"}]}");
    expect("identifier_public_suffix", req("POST", "/acme/new-order", b, NULL), 400,
           "rejectedIdentifier");
    free(b);
    b = signed_req(key, acct_url, "/acme/new-order", "{\"identifiers\":[]}");
    expect("identifiers_empty", req("POST", "/acme/new-order", b, NULL), 400, "malformed");
    free(b);
    struct dp_key *k2 = dp_key_generate(DP_KEY_EC384, NULL);
    b = signed_req(k2, NULL, "/acme/new-account", "{\"contact\":[\"http://example.com\"]}");
    expect("contact_unsupported", req("POST", "/acme/new-account", b, NULL), 400,
           "unsupportedContact");
    free(b);
    b = signed_req(k2, NULL, "/acme/new-account", "{\"onlyReturnExisting\":true}");
    expect("only_return_existing", req("POST", "/acme/new-account", b, NULL), 400,
           "accountDoesNotExist");
    free(b);
    /* Orders: finalize too early; another account's order. */
    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example.com\"}]}");
    struct answer ord = req("POST", "/acme/new-order", b, NULL);
    free(b);
    CHECK(ord.status == 201 && ord.location[0]);
    char fin[320], opath[300];
    snprintf(opath, sizeof opath, "%s", ord.location + strlen(base));
    snprintf(fin, sizeof fin, "%s/finalize", opath);
    free(ord.body);
    b = signed_req(key, acct_url, fin, "{\"csr\":\"AAAA\"}");
    expect("finalize_not_ready", req("POST", fin, b, NULL), 403, "orderNotReady");
    free(b);
    b = signed_req(k2, NULL, "/acme/new-account", "{}");
    struct answer a2 = req("POST", "/acme/new-account", b, NULL);
    free(b);
    char acct2[256];
    snprintf(acct2, sizeof acct2, "%s", a2.location);
    free(a2.body);
    b = signed_req(k2, acct2, opath, NULL);
    expect("other_accounts_order", req("POST", opath, b, NULL), 404, "malformed");
    free(b);
    b = signed_req(k2, acct2, "/acme/acct/AAAA", "{\"status\":\"deactivated\"}");
    expect("deactivate_other_account", req("POST", "/acme/acct/AAAA", b, NULL), 401,
           "unauthorized");
    free(b);
    b = signed_req(key, acct_url, acct_url + strlen(base), "{\"status\":\"valid\"}");
    expect("account_status_not_deactivated", req("POST", acct_url + strlen(base), b, NULL), 400,
           "malformed");
    free(b);
    expect("get_on_post_resource", req("GET", "/acme/new-account", NULL, NULL), 405, "malformed");

    /* An answered challenge is processing (the resolver here never answers,
     * so it stays so); answering it again is harmless, answering another
     * challenge of the same authorization is refused. */
    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"p.example.com\"}]}");
    struct answer po = req("POST", "/acme/new-order", b, NULL);
    free(b);
    json_t *pj = json_loads(po.body ? po.body : "", 0, NULL);
    const char *paz = json_string_value(json_array_get(json_object_get(pj, "authorizations"), 0));
    char pazpath[300] = "", chp[340], chd[340];
    if (paz) snprintf(pazpath, sizeof pazpath, "%s", paz + strlen(base));
    json_decref(pj);
    free(po.body);
    snprintf(chp, sizeof chp, "/acme/chall/%s/dns-persist-01", pazpath + strlen("/acme/authz/"));
    snprintf(chd, sizeof chd, "/acme/chall/%s/dns-01", pazpath + strlen("/acme/authz/"));
    long long answered = harness_now_ms(); /* before the answer: a lower bound */
    for (int round = 0; round < 2; round++) {
        b = signed_req(key, acct_url, chp, "{}");
        struct answer pc = req("POST", chp, b, NULL);
        free(b);
        CHECK(pc.status == 200 && pc.body && strstr(pc.body, "\"status\":\"processing\""));
        free(pc.body);
    }
    b = signed_req(key, acct_url, chd, "{}");
    expect("answer_second_challenge_while_processing", req("POST", chd, b, NULL), 400, "malformed");
    free(b);
    b = signed_req(key, acct_url, pazpath, NULL);
    struct answer pa = req("POST", pazpath, b, NULL);
    free(b);
    CHECK(pa.status == 200 && pa.body && strstr(pa.body, "\"status\":\"processing\"") &&
          strstr(pa.body, "\"status\":\"pending\""));
    snprintf(processing_authz, sizeof processing_authz, "%s", pazpath);
    /* A fresh answer is polled at once; one processing for over a second
     * asks the client to wait (Retry-After, RFC 8555 7.5.1). Polled until
     * it does (the resolver never answers, so it stays processing); that it
     * came no sooner than a second after the answer is a lower bound, which
     * a slow machine can only make longer. */
    CHECK(pa.retry_after == 0);
    struct answer slow = {0};
    for (long long end = harness_deadline(60); harness_now_ms() < end;) {
        free(slow.body);
        b = signed_req(key, acct_url, pazpath, NULL);
        slow = req("POST", pazpath, b, NULL);
        free(b);
        if (slow.status != 200 || slow.retry_after) break;
        usleep(100000); /* the poll interval */
    }
    long long waited = harness_now_ms() - answered;
    CHECK(slow.status == 200 && slow.retry_after == 1 && waited >= 1000);
    printf("%s slow_validation_sends_retry_after (after %lld ms)\n",
           slow.status == 200 && slow.retry_after == 1 && waited >= 1000 ? "ok  " : "FAIL", waited);
    free(slow.body);
    printf("%s answered_challenge_is_processing\n",
           pa.status == 200 && pa.body && strstr(pa.body, "processing") ? "ok  " : "FAIL");
    free(pa.body);
    rfc8555_details();

    /* A wildcard is offered DNS-based challenges only (RFC 8555 7.1.3); its
     * dns-persist-01 challenge carries every issuer name and no token (A2). */
    b = signed_req(key, acct_url, "/acme/new-order",
                   "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"*.w.example.com\"}]}");
    struct answer wo = req("POST", "/acme/new-order", b, NULL);
    free(b);
    json_t *wj = json_loads(wo.body ? wo.body : "", 0, NULL);
    const char *az = json_string_value(json_array_get(json_object_get(wj, "authorizations"), 0));
    char azpath[300] = "";
    if (az) snprintf(azpath, sizeof azpath, "%s", az + strlen(base));
    json_decref(wj);
    free(wo.body);
    b = signed_req(key, acct_url, azpath, NULL);
    struct answer aw = req("POST", azpath, b, NULL);
    free(b);
    json_t *aj = json_loads(aw.body ? aw.body : "", 0, NULL);
    json_t *chs = json_object_get(aj, "challenges"), *ch;
    size_t i;
    int http = 0, persist = 0, dns01 = 0, shape = 0;
    json_array_foreach(chs, i, ch)
    {
        const char *t = json_string_value(json_object_get(ch, "type"));
        http |= !strcmp(t, "http-01");
        dns01 |= !strcmp(t, "dns-01");
        if (!strcmp(t, "dns-persist-01")) {
            persist = 1;
            json_t *names = json_object_get(ch, "issuerDomainNames");
            shape = json_array_size(names) == 1 && !json_object_get(ch, "token") &&
                    !json_object_get(ch, "issuer-domain-names");
        }
    }
    CHECK(aw.status == 200 && persist && dns01 && !http && shape);
    CHECK(json_is_true(json_object_get(aj, "wildcard")));
    printf("%s wildcard_offers_dns_challenges_only\n",
           aw.status == 200 && persist && dns01 && !http && shape ? "ok  " : "FAIL");
    json_decref(aj);
    free(aw.body);
    /* Deactivating the authorization makes the order invalid. */
    b = signed_req(key, acct_url, azpath, "{\"status\":\"deactivated\"}");
    struct answer ad = req("POST", azpath, b, NULL);
    free(b);
    CHECK(ad.status == 200 && ad.body && strstr(ad.body, "\"status\":\"deactivated\""));
    free(ad.body);
    b = signed_req(key, acct_url, azpath, "{\"status\":\"deactivated\"}");
    expect("deactivate_twice", req("POST", azpath, b, NULL), 403, "unauthorized");
    free(b);
    dp_key_free(k2);
}

/* A base64url DER CSR for key with these SANs (comma-separated DNS names),
 * signed by sign (NULL: key). Caller frees. */
static char *csr_b64(EVP_PKEY *pub, EVP_PKEY *sign, const char *sans)
{
    X509_REQ *r = X509_REQ_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, sans);
    unsigned char *der = NULL;
    int ok = r && exts && e && X509_REQ_set_version(r, 0) && X509_REQ_set_pubkey(r, pub) &&
             sk_X509_EXTENSION_push(exts, e) && X509_REQ_add_extensions(r, exts);
    if (!ok) X509_EXTENSION_free(e);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    EVP_PKEY *s = sign ? sign : pub;
    ok = ok && X509_REQ_sign(r, s, EVP_PKEY_is_a(s, "ED25519") ? NULL : EVP_sha256()) > 0;
    int len = ok ? i2d_X509_REQ(r, &der) : -1;
    X509_REQ_free(r);
    char *b = len > 0 ? dp_b64url_encode_alloc(der, (size_t)len) : NULL;
    OPENSSL_free(der);
    return b;
}

static struct answer finalize_with(const char *fin, const char *csr)
{
    char payload[8192];
    snprintf(payload, sizeof payload, "{\"csr\":\"%s\"}", csr ? csr : "");
    char *b = signed_req(key, acct_url, fin, payload);
    struct answer a = req("POST", fin, b, NULL);
    free(b);
    return a;
}

/* The reason codes CA/B BR 7.2.2 allows a subscriber (0, 1, 3, 4, 5, 9)
 * only, whatever the JSON type or size (2^32 + 1 would be 1 if narrowed to
 * 32 bits): not cACompromise (2), certificateHold (6), the unused 7,
 * removeFromCRL (8) or aACompromise (10). Then one revocation (superseded),
 * a second answers alreadyRevoked, a keyCompromise raises the entry's
 * reason once (BR 7.2.2), and a fourth answers alreadyRevoked. */
/* The certificate at cert_path (POST-as-GET by the account), or NULL. */
static X509 *fetch_cert(const char *cert_path)
{
    char *b = signed_req(key, acct_url, cert_path, NULL);
    struct answer c = req("POST", cert_path, b, NULL);
    free(b);
    BIO *bio = BIO_new_mem_buf(c.body ? c.body : "", -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(c.body);
    return x;
}

static void revocation_reasons(const char *cert_path)
{
    X509 *x = fetch_cert(cert_path);
    unsigned char *der = NULL;
    int dl = x ? i2d_X509(x, &der) : -1;
    X509_free(x);
    char *b, *cert = dl > 0 ? dp_b64url_encode_alloc(der, (size_t)dl) : NULL;
    OPENSSL_free(der);
    CHECK(cert != NULL);
    if (!cert) return;
    const char *bad[] = {"-1", "2",          "6",     "7",   "8",   "10",
                         "11", "4294967297", "\"1\"", "1.5", "null"};
    char payload[8192], name[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(payload, sizeof payload, "{\"certificate\":\"%s\",\"reason\":%s}", cert, bad[i]);
        snprintf(name, sizeof name, "revoke_reason_%s", bad[i]);
        b = signed_req(key, acct_url, "/acme/revoke-cert", payload);
        expect(name, req("POST", "/acme/revoke-cert", b, NULL), 400, "badRevocationReason");
        free(b);
    }
    snprintf(payload, sizeof payload, "{\"certificate\":\"%s\",\"reason\":4}", cert);
    b = signed_req(key, acct_url, "/acme/revoke-cert", payload);
    struct answer ok = req("POST", "/acme/revoke-cert", b, NULL);
    free(b);
    CHECK(ok.status == 200);
    printf("%s revoke_reason_4\n", ok.status == 200 ? "ok  " : "FAIL");
    free(ok.body);
    b = signed_req(key, acct_url, "/acme/revoke-cert", payload);
    expect("revoke_twice", req("POST", "/acme/revoke-cert", b, NULL), 400, "alreadyRevoked");
    free(b);
    snprintf(payload, sizeof payload, "{\"certificate\":\"%s\",\"reason\":1}", cert);
    b = signed_req(key, acct_url, "/acme/revoke-cert", payload);
    struct answer raised = req("POST", "/acme/revoke-cert", b, NULL);
    free(b);
    CHECK(raised.status == 200);
    printf("%s revoke_raised_to_key_compromise\n", raised.status == 200 ? "ok  " : "FAIL");
    free(raised.body);
    b = signed_req(key, acct_url, "/acme/revoke-cert", payload);
    expect("revoke_key_compromise_twice", req("POST", "/acme/revoke-cert", b, NULL), 400,
           "alreadyRevoked");
    free(b);
    free(cert);
}

/* RFC 9773: the certificate ID of x (base64url AKI "." base64url serial). */
static void cert_id(X509 *x, char *out, size_t cap)
{
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    unsigned char *der = NULL;
    int l = i2d_ASN1_INTEGER(sn, &der); /* tag, one-octet length, value */
    char *a =
        aki ? dp_b64url_encode_alloc(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki))
            : NULL;
    char *v = l > 2 ? dp_b64url_encode_alloc(der + 2, (size_t)l - 2) : NULL;
    snprintf(out, cap, "%s.%s", a ? a : "", v ? v : "");
    free(a);
    free(v);
    OPENSSL_free(der);
}

/* renewalInfo checks its certificate ID; newOrder's replaces names a
 * certificate of the same account sharing an identifier, once. */
static void ari_and_replaces(const char *cert_path)
{
    X509 *x = fetch_cert(cert_path);
    char id[256], path[400], payload[700];
    CHECK(x != NULL);
    if (!x) return;
    cert_id(x, id, sizeof id);
    X509_free(x);
    snprintf(path, sizeof path, "/acme/renewal-info/%s", id);
    struct answer ri = req("GET", path, NULL, NULL);
    CHECK(ri.status == 200 && ri.retry_after > 0 && ri.body && strstr(ri.body, "suggestedWindow"));
    printf("%s renewal_info_known_id\n", ri.status == 200 ? "ok  " : "FAIL");
    free(ri.body);
    snprintf(path, sizeof path, "/acme/renewal-info/AAAA%s", strchr(id, '.'));
    struct answer wrong = req("GET", path, NULL, NULL);
    CHECK(wrong.status == 404 && !strcmp(wrong.type, "malformed"));
    printf("%s renewal_info_other_aki\n", wrong.status == 404 ? "ok  " : "FAIL");
    free(wrong.body);
    struct answer bad = req("GET", "/acme/renewal-info/no-dot-here", NULL, NULL);
    CHECK(bad.status == 400 && !strcmp(bad.type, "malformed"));
    free(bad.body);
    snprintf(payload, sizeof payload,
             "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"g.example.com\"}],"
             "\"replaces\":\"%s\"}",
             id);
    char *b = signed_req(key, acct_url, "/acme/new-order", payload);
    expect("replaces_no_shared_identifier", req("POST", "/acme/new-order", b, NULL), 400,
           "malformed");
    free(b);
    snprintf(payload, sizeof payload,
             "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"f.example.com\"}],"
             "\"replaces\":\"%s\"}",
             id);
    struct dp_key *k2 = dp_key_generate(DP_KEY_EC256, NULL);
    b = signed_req(k2, NULL, "/acme/new-account", "{}");
    struct answer a2 = req("POST", "/acme/new-account", b, NULL);
    free(b);
    free(a2.body);
    b = signed_req(k2, a2.location, "/acme/new-order", payload);
    expect("replaces_other_accounts_certificate", req("POST", "/acme/new-order", b, NULL), 400,
           "malformed");
    free(b);
    dp_key_free(k2);
    b = signed_req(key, acct_url, "/acme/new-order", payload);
    struct answer o = req("POST", "/acme/new-order", b, NULL);
    free(b);
    CHECK(o.status == 201 && o.body && strstr(o.body, "\"replaces\""));
    printf("%s replaces_accepted\n", o.status == 201 ? "ok  " : "FAIL");
    free(o.body);
    b = signed_req(key, acct_url, "/acme/new-order", payload);
    expect("replaces_twice", req("POST", "/acme/new-order", b, NULL), 409, "alreadyReplaced");
    free(b);
}

/* Finalize on a ready order: each bad CSR is badCSR and leaves the order
 * ready (RFC 8555 7.4); then a good one issues. */
static void finalize_table(const char *opath)
{
    char fin[340];
    snprintf(fin, sizeof fin, "%s/finalize", opath);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
             *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
             *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024),
             *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"),
             *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"),
             *rsa4608 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4608);
    char *akp = dp_key_private_pem_alloc(key, NULL);
    BIO *ab = akp ? BIO_new_mem_buf(akp, -1) : NULL;
    EVP_PKEY *acctk = ab ? PEM_read_bio_PrivateKey(ab, NULL, NULL, NULL) : NULL;
    BIO_free(ab);
    free(akp);
    CHECK(acctk != NULL);
    struct {
        const char *name;
        char *csr;
    } bad[] = {
        {"csr_not_base64url", strdup("not*base64")},
        {"csr_not_der", strdup("AAAAAAAA")},
        {"csr_other_names", csr_b64(ec, NULL, "DNS:f.example.com,DNS:g.example.com")},
        {"csr_wrong_signer", csr_b64(ec, other, "DNS:f.example.com")},
        {"csr_rsa_1024", csr_b64(rsa1024, NULL, "DNS:f.example.com")},
        {"csr_ec_p521", csr_b64(p521, NULL, "DNS:f.example.com")},
        {"csr_ed25519", csr_b64(ed, NULL, "DNS:f.example.com")},
        {"csr_ip_address", csr_b64(ec, NULL, "DNS:f.example.com,IP:192.0.2.1")},
        {"csr_rsa_4608", csr_b64(rsa4608, NULL, "DNS:f.example.com")},
        {"csr_account_key", acctk ? csr_b64(acctk, NULL, "DNS:f.example.com") : NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(bad[i].csr != NULL);
        expect(bad[i].name, finalize_with(fin, bad[i].csr), 400, "badCSR");
        free(bad[i].csr);
    }
    char *good = csr_b64(ec, NULL, "DNS:F.example.com");
    struct answer g = finalize_with(fin, good);
    int issued = g.status == 200 && g.body && strstr(g.body, "\"status\":\"valid\"") &&
                 strstr(g.body, "\"certificate\"");
    CHECK(issued);
    printf("%s csr_good_after_bad_ones_issues\n", issued ? "ok  " : "FAIL");
    json_t *gj = json_loads(g.body ? g.body : "", 0, NULL);
    const char *cu = json_string_value(json_object_get(gj, "certificate"));
    if (cu) revocation_reasons(cu + strlen(base));
    if (cu) ari_and_replaces(cu + strlen(base));
    json_decref(gj);
    free(g.body);
    /* Once valid, the order cannot be finalized again. */
    expect("finalize_twice", finalize_with(fin, good), 403, "orderNotReady");
    free(good);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(other);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(rsa4608);
    EVP_PKEY_free(acctk);
}

/* The server under test, restarted by the tests below. */
static const char *ca_bin;
static char *const *ca_args;
static pid_t ca_pid;
static char data_dir[256], tmp_dir[64];

/* Until the directory answers; a failed check (naming why) if it never does. */
static void wait_up(void)
{
    long long deadline = harness_deadline(90);
    int st = 0;
    while (harness_now_ms() < deadline) {
        struct answer d = req("GET", "/directory", NULL, NULL);
        free(d.body);
        if (d.status == 200) return;
        if (!harness_running(ca_pid, &st)) {
            fprintf(stderr, "the CA exited (status %d) before answering\n", st);
            CHECK(!"the CA answers");
            return;
        }
        harness_poll_pause();
    }
    fprintf(stderr, "the CA did not answer %s/directory within the deadline\n", base);
    CHECK(!"the CA answers");
}

/* Stops the server: SIGTERM lets it finish what it does, SIGKILL is a crash. */
static void server_stop(int sig)
{
    int st = 0;
    kill(ca_pid, sig);
    waitpid(ca_pid, &st, 0);
    /* A clean stop exits 0: under LeakSanitizer a leak makes it 23. */
    if (sig == SIGTERM) CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void server_start(void)
{
    ca_pid = harness_spawn(ca_bin, ca_args);
    wait_up();
}

/* One SQL statement on the stopped server's database. */
static int db_exec(const char *sql)
{
    char cmd[2048];
    harness_db_cmd(data_dir, sql, cmd, sizeof cmd);
    return system(cmd);
}

/* 1 when the server started with args exits at once with status 1, the
 * first line of its standard error (written to log) containing want. */
static int start_refused(char *const *args, const char *log, const char *want)
{
    pid_t pid = harness_spawn_log(ca_bin, args, log);
    int st = 0;
    long long deadline = harness_deadline(60);
    while (harness_running(pid, &st) && harness_now_ms() < deadline)
        harness_poll_pause();
    /* The refusal is on some line: a first start may say first where it
     * put the new root key. */
    char msg[512] = "", line[512];
    int said = 0;
    FILE *lf = fopen(log, "r");
    while (lf && !said && fgets(line, sizeof line, lf)) {
        said = strstr(line, want) != NULL;
        if (!msg[0] || said) snprintf(msg, sizeof msg, "%s", line);
    }
    if (lf) fclose(lf);
    int refused = WIFEXITED(st) && WEXITSTATUS(st) == 1 && said;
    if (!refused) {
        harness_stop(pid);
        fprintf(stderr, "server not refused (%s): %s\n", want, msg);
    }
    return refused;
}

/* A second server on the same data directory refuses to start: the first
 * keeps rows in memory and must be the only writer. */
static void second_server_on_same_data_refused(void)
{
    if (harness_on_pg()) { /* by design: instances share a PostgreSQL database */
        printf("skip second_server_on_same_data_refused: the data directory lock is the SQLite "
               "store's\n");
        return;
    }
    char listen2[64], log2[300];
    snprintf(listen2, sizeof listen2, "localhost:%d", harness_free_port());
    snprintf(log2, sizeof log2, "%s/second.log", tmp_dir);
    char *args2[] = {(char *)ca_bin, "--listen", listen2, "--data", data_dir, NULL};
    int refused = start_refused(args2, log2, "another dnspersist-ca is using this data directory");
    CHECK(refused);
}

/* The CRL listener's port taken: the start is refused, naming the flag
 * that moves it, rather than moving to a port that would change the CRL URL
 * written into certificates at every start. */
static void crl_port_taken_refused(void)
{
    int p = harness_free_port();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)(p + 1));
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 && listen(s, 1) == 0);
    char listen2[64], data2[300], log2[300];
    snprintf(listen2, sizeof listen2, "localhost:%d", p);
    snprintf(data2, sizeof data2, "%s/crl-taken", tmp_dir);
    snprintf(log2, sizeof log2, "%s/crl-taken.log", tmp_dir);
    char *args2[] = {(char *)ca_bin, "--listen",   listen2,       "--data",
                     data2,          "--resolver", "127.0.0.1@1", "--issuer-domain-name",
                     "ca.test",      NULL};
    int refused = start_refused(args2, log2, "--crl-listen");
    CHECK(refused);
    if (s >= 0) close(s);
}

/* The data directory and what the CA wrote are its user's alone (0700,
 * 0600 for keys and the database); a key file opened to the group is
 * refused at start, naming the file and the fix, and works again once
 * closed. */
static int mode_of(const char *name)
{
    char path[400];
    struct stat st;
    snprintf(path, sizeof path, "%s%s%s", data_dir, name[0] ? "/" : "", name);
    return stat(path, &st) ? -1 : (int)(st.st_mode & 0777);
}

static void key_files_private(void)
{
    CHECK(mode_of("") == 0700);
    /* The root key is not in the running set: beside it, the user's alone. */
    CHECK(mode_of("root.key") == -1);
    char home[400];
    struct stat st;
    snprintf(home, sizeof home, "%s.root-key/root.key", data_dir);
    CHECK(stat(home, &st) == 0 && (st.st_mode & 0777) == 0600);
    snprintf(home, sizeof home, "%s.root-key", data_dir);
    CHECK(stat(home, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK(mode_of("intermediate.key") == 0600);
    CHECK(mode_of("tls.key") == 0600);
    if (!harness_on_pg()) CHECK(mode_of("ca.sqlite") == 0600); /* PostgreSQL: no file here */
    server_stop(SIGTERM);
    char path[400], log[300];
    snprintf(path, sizeof path, "%s/intermediate.key", data_dir);
    CHECK(chmod(path, 0640) == 0);
    snprintf(log, sizeof log, "%s/keymode.log", tmp_dir);
    int refused = start_refused(ca_args, log, "intermediate.key is open to its group or others");
    CHECK(refused);
    CHECK(chmod(path, 0600) == 0);
    server_start();
}

/* RFC 8555 7.1.2.1: the account's orders URL lists its orders, 100 a page
 * with Link rel="next"; another account may not read it. */
static void orders_list_paginated(void)
{
    struct dp_key *k = dp_key_generate(DP_KEY_EC256, NULL);
    char *b = signed_req(k, NULL, "/acme/new-account", "{}");
    struct answer a = req("POST", "/acme/new-account", b, NULL);
    free(b);
    free(a.body);
    char kid[256], path[320];
    snprintf(kid, sizeof kid, "%s", a.location);
    CHECK(a.status == 201);
    int made = 0;
    for (int i = 0; i < 103; i++) {
        char pl[200];
        snprintf(pl, sizeof pl,
                 "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"o%d.example.com\"}]}", i);
        b = signed_req(k, kid, "/acme/new-order", pl);
        struct answer o = req("POST", "/acme/new-order", b, NULL);
        made += o.status == 201;
        free(b);
        free(o.body);
    }
    CHECK(made == 103);
    snprintf(path, sizeof path, "%s/orders", kid + strlen(base));
    b = signed_req(k, kid, path, "");
    struct answer p1 = req("POST", path, b, NULL);
    free(b);
    json_t *j = json_loads(p1.body ? p1.body : "", 0, NULL);
    size_t n1 = json_array_size(json_object_get(j, "orders"));
    const char *first = json_string_value(json_array_get(json_object_get(j, "orders"), 0));
    int ours = first && !strncmp(first, base, strlen(base)) && strstr(first, "/acme/order/");
    json_decref(j);
    CHECK(p1.status == 200 && n1 == 100 && ours && p1.next[0]);
    size_t n2 = 0;
    if (p1.next[0]) {
        snprintf(path, sizeof path, "%s", p1.next + strlen(base));
        b = signed_req(k, kid, path, "");
        struct answer p2 = req("POST", path, b, NULL);
        free(b);
        j = json_loads(p2.body ? p2.body : "", 0, NULL);
        n2 = json_array_size(json_object_get(j, "orders"));
        json_decref(j);
        CHECK(p2.status == 200 && !p2.next[0]);
        free(p2.body);
    }
    CHECK(n2 == 3);
    printf("%s orders_list_paginated (%zu + %zu)\n", n1 == 100 && n2 == 3 ? "ok  " : "FAIL", n1,
           n2);
    free(p1.body);
    /* Another account's list. */
    snprintf(path, sizeof path, "%s/orders", kid + strlen(base));
    b = signed_req(key, acct_url, path, "");
    expect("orders_of_another_account", req("POST", path, b, NULL), 401, "unauthorized");
    free(b);
    dp_key_free(k);
}

/* A database written by a newer version (higher schema version) is not
 * touched: the server refuses to start and says why. */
static void newer_schema_refused(void)
{
    server_stop(SIGTERM);
    char cmd[2048], was[32] = "";
    int pg = harness_on_pg();
    harness_db_cmd(data_dir, pg ? "SELECT version FROM dnspersist_schema" : "PRAGMA user_version",
                   cmd, sizeof cmd);
    FILE *p = popen(cmd, "r");
    if (p && !fgets(was, sizeof was, p)) was[0] = '\0';
    if (p) pclose(p);
    CHECK(atoi(was) > 0);
    CHECK(db_exec(pg ? "UPDATE dnspersist_schema SET version=999" : "PRAGMA user_version=999") ==
          0);
    char log[300];
    snprintf(log, sizeof log, "%s/newer.log", tmp_dir);
    int refused = start_refused(ca_args, log, "schema version 999");
    CHECK(refused);
    snprintf(cmd, sizeof cmd,
             pg ? "UPDATE dnspersist_schema SET version=%d" : "PRAGMA user_version=%d", atoi(was));
    CHECK(db_exec(cmd) == 0);
    server_start();
}

/* A crash while a challenge is being validated leaves it pending, to be
 * answered again: the processing state is not stored. (A graceful stop
 * lets the validation finish and store its result.) Data from earlier
 * versions that stored "processing" is reset too. The restart also makes
 * an order ready by editing its authorization (no DNS here), for the
 * finalize table. */
static void processing_is_pending_after_restart(void)
{
    char *fb = signed_req(key, acct_url, "/acme/new-order",
                          "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"f.example.com\"}]}");
    struct answer fo = req("POST", "/acme/new-order", fb, NULL);
    free(fb);
    char fpath[300] = "";
    if (fo.status == 201) snprintf(fpath, sizeof fpath, "%s", fo.location + strlen(base));
    free(fo.body);
    server_stop(SIGKILL);
    char upd[400];
    const char *now =
        harness_on_pg() ? "extract(epoch from now())::bigint" : "strftime('%s','now')";
    snprintf(upd, sizeof upd,
             "UPDATE authzs SET status='valid', ch_type='dns-persist-01', ch_status='valid', "
             "ch_validated=%s, expires=%s+3600 WHERE identifier='f.example.com'",
             now, now);
    CHECK(db_exec(upd) == 0);
    CHECK(db_exec("UPDATE authzs SET ch_type='dns-persist-01', ch_status='processing' WHERE "
                  "status='pending'") == 0);
    server_start();
    /* SQLite: answers live in the VA's memory, so a stored "processing" is
     * pending again at once. PostgreSQL: such a row is a lease that no live
     * instance holds; within a lease and a sweep (3 s + 2 s here) a live
     * instance holds it and validates it anew: nothing stays processing
     * unowned. */
    struct answer pa = {0};
    json_t *pj = NULL, *pch;
    size_t pi;
    int pending = 0;
    if (harness_on_pg()) {
        /* Polled until no row is processing unowned (they all were at the
         * start: the rows were set so with the server stopped). */
        char cmd[2048], out[32] = "";
        harness_db_cmd(data_dir,
                       "SELECT count(*) FROM authzs WHERE ch_status='processing' AND "
                       "lease_until < extract(epoch from now())::bigint",
                       cmd, sizeof cmd);
        for (long long end = harness_deadline(90); !pending && harness_now_ms() < end;) {
            FILE *f = popen(cmd, "r");
            if (!f || !fgets(out, sizeof out, f)) out[0] = '\0';
            if (f) pclose(f);
            pending = atoi(out) == 0 && out[0] == '0';
            if (!pending) usleep(200000); /* the poll interval */
        }
        pa.body = strdup(out);
    } else {
        char *pb = signed_req(key, acct_url, processing_authz, NULL);
        pa = req("POST", processing_authz, pb, NULL);
        free(pb);
        pj = json_loads(pa.body ? pa.body : "", 0, NULL);
        pending = pa.status == 200 &&
                  !strcmp(json_string_value(json_object_get(pj, "status")) ?: "", "pending");
        json_array_foreach(json_object_get(pj, "challenges"), pi, pch)
        {
            pending &= !strcmp(json_string_value(json_object_get(pch, "status")) ?: "", "pending");
        }
    }
    json_decref(pj);
    if (!pending) fprintf(stderr, "after restart: %s\n", pa.body ? pa.body : "");
    CHECK(pending);
    free(pa.body);
    CHECK(fpath[0] != '\0');
    if (fpath[0]) finalize_table(fpath);
}

/* Just-in-Time validation against a resolver that never answers: the
 * account is marked as having passed dns-persist-01 (in the database, with
 * the server stopped: it caches account rows), and a new order for three
 * names comes back pending without waiting for the look-ups: the CA's
 * debug log says, for each order's look-ups, whether the order had been
 * answered before they ended (decided under the VA's lock, so this is a
 * fact of the CA, not a reading of the test's clock). */
static void jit_lookups_bounded_by_budget(void)
{
    server_stop(SIGTERM);
    CHECK(db_exec("UPDATE accounts SET did_persist=1") == 0);
    char log[300], *args[32];
    snprintf(log, sizeof log, "%s/jit.log", tmp_dir);
    size_t n = 0;
    while (ca_args[n] && n < 24) {
        args[n] = ca_args[n];
        n++;
    }
    char *more[] = {"--log-level", "debug", "--log-format", "json", "--log-file", log, NULL};
    for (size_t i = 0; more[i]; i++)
        args[n++] = more[i];
    args[n] = NULL;
    char *const *saved = ca_args;
    ca_args = args;
    server_start();
    char *b = signed_req(key, acct_url, "/acme/new-order",
                         "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.jit.example.com\"},"
                         "{\"type\":\"dns\",\"value\":\"b.jit.example.com\"},"
                         "{\"type\":\"dns\",\"value\":\"c.jit.example.com\"}]}");
    struct answer o = req("POST", "/acme/new-order", b, NULL);
    CHECK(o.status == 201 && o.body && strstr(o.body, "\"status\":\"pending\""));
    /* The look-ups end (within the 2 s budget); their line follows. */
    char line[1024] = "";
    int seen = 0;
    for (long long end = harness_deadline(60); !seen && harness_now_ms() < end;) {
        FILE *f = fopen(log, "r");
        while (f && !seen && fgets(line, sizeof line, f))
            seen = strstr(line, "\"event\":\"jit\"") != NULL;
        if (f) fclose(f);
        if (!seen) harness_poll_pause();
    }
    int first = seen && strstr(line, "\"order\":\"answered first\"");
    if (!first) fprintf(stderr, "jit log line: %s\n", seen ? line : "(none within the deadline)");
    CHECK(first);
    printf("%s new_order_answered_before_its_unanswered_lookups_ended\n", first ? "ok  " : "FAIL");
    if (seen) printf("     %s", line);
    free(o.body);
    free(b);
    server_stop(SIGTERM);
    ca_args = saved;
    server_start();
}

/* GET /directory from the server listening at url (not base). */
static json_t *directory_at(const char *url)
{
    char saved[sizeof base], at[sizeof base];
    snprintf(at, sizeof at, "%s", url); /* url may be base itself */
    snprintf(saved, sizeof saved, "%s", base);
    snprintf(base, sizeof base, "%s", at);
    struct answer d = {0};
    for (long long end = harness_deadline(90); d.status != 200 && harness_now_ms() < end;) {
        free(d.body);
        d = req("GET", "/directory", NULL, NULL);
        if (d.status != 200) harness_poll_pause();
    }
    snprintf(base, sizeof base, "%s", saved);
    json_t *o = d.body ? json_loads(d.body, 0, NULL) : NULL;
    free(d.body);
    return o;
}

/* Draft 4.5: the URLs and the accountHashPrefix that published records
 * depend on are recorded at the first start. Moving the listener without
 * --external-url is refused; with it, every URL stays; a new --hash-prefix
 * is recorded and kept on later starts. */
static void urls_and_prefix_are_stable(void)
{
    server_stop(SIGTERM);
    char listen2[64], url2[96], log[300], prefix[] = "https://hashes.example/h/";
    int port2 = harness_free_port();
    snprintf(listen2, sizeof listen2, "localhost:%d", port2);
    snprintf(url2, sizeof url2, "https://localhost:%d", port2);
    snprintf(log, sizeof log, "%s/moved.log", tmp_dir);
    char *moved[] = {(char *)ca_bin, "--listen", listen2, "--data", data_dir, NULL};
    char want[300];
    snprintf(want, sizeof want, "give --external-url %s", base);
    CHECK(start_refused(moved, log, want));
    char *proxied[] = {(char *)ca_bin, "--listen",       listen2, "--data",
                       data_dir,       "--external-url", base,    NULL};
    pid_t pid = harness_spawn(ca_bin, proxied);
    json_t *d = directory_at(url2);
    const char *na = json_string_value(json_object_get(d, "newAccount"));
    CHECK(na && !strncmp(na, base, strlen(base)));
    json_decref(d);
    harness_stop(pid);
    char *args3[16];
    int n = 0;
    for (; ca_args[n]; n++)
        args3[n] = ca_args[n];
    args3[n++] = "--hash-prefix";
    args3[n++] = prefix;
    args3[n] = NULL;
    pid = harness_spawn(ca_bin, args3);
    d = directory_at(base);
    const char *hp =
        json_string_value(json_object_get(json_object_get(d, "meta"), "accountHashPrefix"));
    CHECK(hp && !strcmp(hp, prefix));
    json_decref(d);
    harness_stop(pid);
    server_start(); /* without --hash-prefix: the recorded one */
    d = directory_at(base);
    hp = json_string_value(json_object_get(json_object_get(d, "meta"), "accountHashPrefix"));
    CHECK(hp && !strcmp(hp, prefix));
    json_decref(d);
}

/* Without --resolver the CA recurses from the root and validates DNSSEC
 * with the IANA root anchor (dns-root-data) by default; with a --resolver,
 * --trust-anchor root asks for the same anchor. It says so at start. */
static void dnssec_by_default(void)
{
    const char *modes[][2] = {{"", "DNSSEC validated with /usr/share/dns/root.key"},
                              {"--resolver 127.0.0.2@9", "DNSSEC not validated"},
                              {"--resolver 127.0.0.2@9 --trust-anchor root",
                               "DNSSEC validated with /usr/share/dns/root.key"}};
    for (int i = 0; i < 3; i++) {
        char cmd[2000], line[512];
        /* A readiness wait, not a fixed sleep: the loop ends as soon as the
         * CA prints its DNS line, and gives up after 1800 polls of 50 ms
         * (a 90 s deadline, for a slow machine pinned to one core). */
        snprintf(cmd, sizeof cmd,
                 "o=%s/dnssec%d.out; %s --listen localhost:%d --data %s/dnssec%d %s >$o 2>&1 & "
                 "for _ in $(seq 1800); do grep -q 'dnspersist-ca: DNS ' $o && break; sleep 0.05; "
                 "done; kill $! ; wait $! ; grep -m1 'dnspersist-ca: DNS ' $o",
                 tmp_dir, i, ca_bin, harness_free_port(), tmp_dir, i, modes[i][0]);
        FILE *p = popen(cmd, "r");
        int found = p && fgets(line, sizeof line, p) && strstr(line, modes[i][1]);
        if (p) pclose(p);
        if (!found) fprintf(stderr, "'%s': no line with '%s'\n", modes[i][0], modes[i][1]);
        CHECK(found);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    ca_bin = argv[1];
    if (harness_pg_missing()) return 77;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/dp-test-req-XXXXXX");
    if (!mkdtemp(tmp_dir)) return 1;
    int port = harness_free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "localhost:%d", port);
    snprintf(data_dir, sizeof data_dir, "%s/ca", tmp_dir);
    snprintf(base, sizeof base, "https://localhost:%d", port);
    snprintf(root, sizeof root, "%s/root.pem", data_dir);
    snprintf(dir_url, sizeof dir_url, "%s/directory", base);
    char *args[] = {argv[1],      "--listen",    listen,      "--data", data_dir,
                    "--resolver", "127.0.0.2@9", "--threads", "2",      NULL};
    ca_args = args;
    ca_pid = harness_spawn(argv[1], args);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    key = dp_key_generate(DP_KEY_EC256, NULL);
    struct dp_acme *ac = NULL;
    for (long long end = harness_deadline(90); !ac && harness_now_ms() < end;) {
        struct dp_acme_config cfg = {dir_url, root, 2000, 0};
        if (access(root, R_OK) == 0) ac = dp_acme_new(&cfg, key, NULL);
        if (!ac) harness_poll_pause();
    }
    CHECK(ac && dp_acme_account(ac, 0, NULL, 1, NULL) == DP_OK);
    if (ac) {
        snprintf(acct_url, sizeof acct_url, "%s", dp_acme_account_url(ac));
        table();
        RUN(second_server_on_same_data_refused);
        RUN(processing_is_pending_after_restart);
        RUN(newer_schema_refused);
        RUN(crl_port_taken_refused);
        RUN(key_files_private);
        RUN(orders_list_paginated);
        RUN(jit_lookups_bounded_by_budget);
        RUN(urls_and_prefix_are_stable);
        RUN(dnssec_by_default);
    }
    dp_acme_free(ac);
    dp_key_free(key);
    int stopped = harness_stop(ca_pid);
    if (stopped)
        fprintf(stderr, "the CA exited %d at its stop (23: LeakSanitizer found leaks)\n", stopped);
    CHECK(stopped == 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmp_dir);
    curl_global_cleanup();
    return check_report();
}
