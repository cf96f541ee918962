/* test_mpic.c: the pieces of multi-perspective corroboration that need no
 * network: the BR quorum table (and --perspective-quorum only tightening
 * it), the wire form of a check request, which a perspective parses as
 * strictly as any client input, and the primary's reading of an HTTP
 * answer (mh_parse). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mpic.h"
#include "mpic_http.h"
#include "va_req.h"

static void quorum_table(void)
{
    /* BR 3.2.2.9: 2-5 remote perspectives, one may disagree; 6 or more, two. */
    CHECK(mpic_allowed(1, 0) == 0);
    CHECK(mpic_allowed(2, 0) == 1);
    CHECK(mpic_allowed(5, 0) == 1);
    CHECK(mpic_allowed(6, 0) == 2);
    CHECK(mpic_allowed(16, 0) == 2);
    /* A quorum tightens: 3 of 3 must agree. */
    CHECK(mpic_allowed(3, 3) == 0);
    /* ...and never loosens: 2 of 6 would allow 4 to disagree. */
    CHECK(mpic_allowed(6, 2) == 2);
    CHECK(mpic_allowed(6, 5) == 1);
}

static void request(struct va_req *q)
{
    memset(q, 0, sizeof *q);
    snprintf(q->type, sizeof q->type, "dns-persist-01");
    snprintf(q->identifier, sizeof q->identifier, "www.example.test");
    q->wildcard = 1;
    snprintf(q->account_url, sizeof q->account_url, "https://ca.test/acme/acct/1");
    q->account_valid = 1;
    snprintf(q->issuers[q->n_issuers++], sizeof q->issuers[0], "ca.test");
    q->thumbs = calloc(2, sizeof *q->thumbs);
    snprintf(q->thumbs[0], sizeof q->thumbs[0], "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    snprintf(q->thumbs[1], sizeof q->thumbs[1], "older");
    q->n_thumbs = 2;
    snprintf(q->hash_prefix, sizeof q->hash_prefix, "https://ca.test/acme/account-hash/");
    snprintf(q->caa_ids[q->n_caa++], sizeof q->caa_ids[0], "ca.test");
    snprintf(q->method, sizeof q->method, "dns-persist-01");
    q->http01_port = 80;
}

static void round_trip(void)
{
    struct va_req q, back;
    request(&q);
    char *j = va_req_json(&q, -1), why[200];
    CHECK(j != NULL);
    CHECK(va_req_parse(j, strlen(j), &back, why, sizeof why) == 0);
    CHECK_STR(back.type, q.type);
    CHECK_STR(back.identifier, q.identifier);
    CHECK(back.wildcard == 1 && back.account_valid == 1);
    CHECK(back.n_thumbs == 2);
    if (back.n_thumbs == 2) CHECK_STR(back.thumbs[1], "older");
    CHECK_STR(back.hash_prefix, q.hash_prefix);
    CHECK(back.n_caa == 1 && back.n_issuers == 1);
    CHECK_STR(back.account, ""); /* the primary's id is never sent */
    va_req_clear(&back);
    free(j);
    va_req_clear(&q);
}

/* Draft 4.2: the primary checks every key; a perspective is asked about
 * the one that matched (key >= 0): a history of thousands of keys never
 * reaches the wire, and a request naming more than VA_REQ_MAX_KEYS is
 * refused. */
static void matched_key_alone(void)
{
    struct va_req q, back;
    request(&q);
    char *j = va_req_json(&q, 1), why[200] = "";
    CHECK(j && va_req_parse(j, strlen(j), &back, why, sizeof why) == 0);
    CHECK(back.n_thumbs == 1);
    if (back.n_thumbs == 1) CHECK_STR(back.thumbs[0], "older");
    va_req_clear(&back);
    free(j);
    va_req_clear(&q);
    request(&q);
    free(q.thumbs);
    q.thumbs = calloc(5000, sizeof *q.thumbs);
    for (size_t i = 0; i < 5000; i++)
        snprintf(q.thumbs[i], sizeof q.thumbs[0], "k%zu", i);
    q.n_thumbs = 5000;
    j = va_req_json(&q, 4321);
    CHECK(j && strlen(j) < 4096 && va_req_parse(j, strlen(j), &back, why, sizeof why) == 0 &&
          back.n_thumbs == 1 && !strcmp(back.thumbs[0], "k4321"));
    va_req_clear(&back);
    free(j);
    j = va_req_json(&q, -1); /* the whole history: refused by a perspective */
    CHECK(j && va_req_parse(j, strlen(j), &back, why, sizeof why) == -1 &&
          strstr(why, "thumbprints"));
    free(j);
    va_req_clear(&q);
}

/* Each mutation of a good request must be refused, naming the field. */
static void refused(const char *from, const char *to, const char *field)
{
    struct va_req q, back;
    request(&q);
    char *j = va_req_json(&q, -1), why[200] = "";
    va_req_clear(&q);
    char *at = j ? strstr(j, from) : NULL;
    CHECK(at != NULL);
    if (!at) {
        free(j);
        return;
    }
    size_t n = strlen(j) - strlen(from) + strlen(to) + 1;
    char *m = malloc(n);
    snprintf(m, n, "%.*s%s%s", (int)(at - j), j, to, at + strlen(from));
    int rc = va_req_parse(m, strlen(m), &back, why, sizeof why);
    CHECK(rc == -1);
    if (rc == 0) {
        fprintf(stderr, "  accepted: %s\n", m);
        va_req_clear(&back);
    }
    CHECK(strstr(why, field) != NULL);
    free(m);
    free(j);
}

/* mh_parse on the whole of s: its result, with *h filled. */
static int parse(const char *s, struct mh_head *h)
{
    char why[120];
    return mh_parse(s, strlen(s), h, why, sizeof why);
}

static void http_answers(void)
{
    struct mh_head h;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: 14\r\n\r\n{\"valid\":true}";
    CHECK(parse(ok, &h) == 1);
    CHECK(h.status == 200 && h.body_len == 14 && !h.close);
    CHECK(!strncmp(ok + h.body_off, "{\"valid\"", 8));
    /* Every proper prefix is incomplete, never an error. */
    int prefixes = 1;
    char why[120];
    for (size_t l = 0; l < strlen(ok); l++)
        prefixes &= mh_parse(ok, l, &h, why, sizeof why) == 0;
    CHECK(prefixes);
    /* The server will close: HTTP/1.0, Connection: close, or more bytes
     * than the answer (nothing after it is ever read as the next one). */
    CHECK(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &h) == 1 && h.close);
    CHECK(parse("HTTP/1.1 403 Forbidden\r\nconnection: Close\r\ncontent-LENGTH:  2 \r\n\r\n{}",
                &h) == 1 &&
          h.close && h.status == 403 && h.body_len == 2);
    CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1", &h) == 1 && h.close);
    CHECK(parse("HTTP/1.1 200\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", &h) == 1);
    /* Malformed: refused, not guessed at. */
    const char *bad[] = {
        "HTTP/1.1 200 OK\r\n\r\n{}",                                                 /* no length */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", /* chunked */
        "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n{}", /* no overflow */
        "HTTP/1.1 200 OK\r\nContent-Length: 9000\r\n\r\n{}",                    /* > MH_BUF */
        "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
        "HTTP/2 200\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
    };
    int refused_all = 1;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int r = parse(bad[i], &h);
        if (r != -1) fprintf(stderr, "accepted (%d): %s\n", r, bad[i]);
        refused_all &= r == -1;
    }
    CHECK(refused_all);
    /* Headers that never end: refused once the buffer is full. */
    static char big[MH_BUF];
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 21);
    memset(big + 21, 'a', sizeof big - 22);
    big[sizeof big - 1] = '\0';
    CHECK(mh_parse(big, sizeof big - 1, &h, why, sizeof why) == -1);
    CHECK(mh_parse(big, 100, &h, why, sizeof why) == 0);
}

int main(void)
{
    http_answers();
    quorum_table();
    round_trip();
    matched_key_alone();
    refused("\"type\":\"dns-persist-01\"", "\"type\":\"tls-alpn-01\"", "type");
    refused("\"identifier\":\"www.example.test\"", "\"identifier\":\"bad name!\"", "identifier");
    refused("\"issuers\":[\"ca.test\"]", "\"issuers\":[]", "issuers");
    refused("\"caaIdentities\":[\"ca.test\"]", "\"caaIdentities\":[]", "caaIdentities");
    refused("\"token\":\"\"", "\"token\":\"../../etc\"", "token");
    refused("\"http01Port\":80", "\"http01Port\":70000", "http01Port");
    refused("\"accountUrl\":", "\"accountUrl\":1,\"x\":", "accountUrl");
    refused("{\"type\"", "[{\"type\"", "not a JSON object");
    /* Results: a problem type outside the known set is not trusted. */
    struct va_result r;
    const char *in = "{\"valid\":false,\"type\":\"whatever\",\"status\":200,\"detail\":\"x\"}";
    CHECK(va_result_parse(in, strlen(in), &r, NULL, 0) == 0);
    CHECK(!r.valid);
    CHECK_STR(r.type, "serverInternal");
    CHECK(r.status == 400);
    CHECK(va_result_parse("{}", 2, &r, NULL, 0) == -1);
    return check_report();
}
