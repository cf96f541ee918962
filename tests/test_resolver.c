/* test_resolver.c: lib/resolver.c against a real Knot DNS server
 * (tests/dns/knot-env.sh), each case over UDP (libunbound), over "tcp:"
 * and over "udp:" (the pipelining stub, stub.c), plus the stub against
 * servers that misbehave on purpose (tests/dns/fault_tcp_dns.py). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "dnspersist/dnspersist.h"
#include "dns_env.h"

static struct dns_env env;
/* The forwarder every case below uses: env.resolver, then "tcp:" + it. */
static char fwdr[300];

struct got {
    int calls;
    enum dp_dns_status status;
    enum dp_dnssec dnssec;
    size_t n_rrs;
    char canon[256];
    char detail[512];
    char joined[4096]; /* first record, strings joined */
    size_t n_strings;
};

static void collect(void *arg, size_t index, const struct dp_dns_answer *a)
{
    struct got *g = (struct got *)arg + index;
    g->calls++;
    g->status = a->status;
    g->dnssec = a->dnssec;
    g->n_rrs = a->n_rrs;
    snprintf(g->canon, sizeof g->canon, "%s", a->canonname ? a->canonname : "");
    snprintf(g->detail, sizeof g->detail, "%s", a->detail);
    if (a->txt && a->n_rrs) {
        size_t len;
        dp_txt_join(&a->txt[0], g->joined, sizeof g->joined, &len, NULL);
        g->n_strings = a->txt[0].n_strings;
    }
}

static struct got one(struct dp_resolver *r, const char *name)
{
    struct got g = {0};
    const char *names[] = {name};
    CHECK(dp_resolver_batch(r, names, 1, DP_DNS_TYPE_TXT, collect, &g, NULL) == DP_OK);
    CHECK(g.calls == 1);
    return g;
}

static struct dp_resolver *mk(const char *fwd, const char *ta, unsigned timeout)
{
    struct dp_resolver_config c = {fwd, ta, timeout, 0, 0};
    struct dp_error e;
    struct dp_resolver *r = dp_resolver_new(&c, &e);
    if (!r) fprintf(stderr, "resolver: %s\n", e.detail);
    return r;
}

static void V1_records_found_and_joined(void)
{
    struct dp_resolver *r = mk(fwdr, NULL, 3000);
    struct got g = one(r, "_validation-persist.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 2 && g.dnssec == DP_DNSSEC_UNKNOWN);
    g = one(r, "_validation-persist.long.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 1 && g.n_strings == 2);
    CHECK(strlen(g.joined) > 255 &&
          strncmp(g.joined, "ca.test; accounturi=https://ca.test/", 36) == 0);
    CHECK(strstr(g.joined, "/sha-256/") != NULL); /* the split fell inside "sha-256": joined back */
    dp_resolver_free(r);
}

static void V1_cname_is_followed(void)
{
    struct dp_resolver *r = mk(fwdr, NULL, 3000);
    struct got g = one(r, "_validation-persist.cname.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 1);
    CHECK_STR(g.canon, "_validation-persist.target.other.test.");
    dp_resolver_free(r);
}

/* A 2.5 KB answer comes truncated over UDP and whole over TCP (libunbound
 * retries); one over DP_DNS_MAX_RRS records fails rather than being cut. */
static void V1_large_answers(void)
{
    struct dp_resolver *r = mk(fwdr, NULL, 3000);
    struct got g = one(r, "_validation-persist.tc.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.n_rrs == 40);
    g = one(r, "_validation-persist.big.plain.test");
    CHECK(g.status == DP_DNS_FAILED && strstr(g.detail, "limit"));
    dp_resolver_free(r);
}

static void V4_no_records_is_not_a_failure(void)
{
    struct dp_resolver *r = mk(fwdr, NULL, 3000);
    CHECK(one(r, "_validation-persist.nothing.plain.test").status == DP_DNS_NXDOMAIN);
    CHECK(one(r, "nodata.plain.test").status == DP_DNS_NODATA);
    dp_resolver_free(r);
}

static void V4_refused_and_unreachable_are_failures(void)
{
    struct dp_resolver *r = mk(fwdr, NULL, 3000);
    struct got g = one(r, "_validation-persist.example.com");
    CHECK(g.status == DP_DNS_FAILED && g.detail[0]);
    dp_resolver_free(r);
    /* Nothing listens on port 9 of 127.0.0.2: a timeout or SERVFAIL, never data. */
    char dead[64];
    snprintf(dead, sizeof dead, "%s127.0.0.2@9",
             !strncmp(fwdr, "tcp:", 4)   ? "tcp:"
             : !strncmp(fwdr, "udp:", 4) ? "udp:"
                                         : "");
    r = mk(dead, NULL, 700);
    g = one(r, "_validation-persist.plain.test");
    CHECK(g.status == DP_DNS_FAILED);
    dp_resolver_free(r);
}

static void V8_dnssec_secure_insecure_bogus(void)
{
    struct dp_resolver *r = mk(env.resolver, env.ta_all, 3000);
    CHECK(dp_resolver_validates(r));
    struct got g = one(r, "_validation-persist.secure.test");
    CHECK(g.status == DP_DNS_FOUND && g.dnssec == DP_DNSSEC_SECURE);
    g = one(r, "_validation-persist.bogus.test");
    CHECK(g.status == DP_DNS_FAILED && g.dnssec == DP_DNSSEC_BOGUS && strstr(g.detail, "bogus"));
    g = one(r, "_validation-persist.plain.test");
    CHECK(g.status == DP_DNS_FOUND && g.dnssec == DP_DNSSEC_INSECURE);
    dp_resolver_free(r);
    /* Without a trust anchor the altered record is served as it is: what V8 guards against. */
    r = mk(fwdr, NULL, 3000);
    g = one(r, "_validation-persist.bogus.test");
    CHECK(g.status == DP_DNS_FOUND && g.dnssec == DP_DNSSEC_UNKNOWN &&
          strstr(g.joined, "x=altered"));
    dp_resolver_free(r);
}

static void batch_answers_every_name_once_over(const char *fwd)
{
    static const char *kinds[] = {
        "_validation-persist.plain.test", "_validation-persist.nothing.plain.test",
        "_validation-persist.cname.plain.test", "_validation-persist.example.com"};
    enum { N = 400 };
    const char *names[N];
    for (int i = 0; i < N; i++)
        names[i] = kinds[i % 4];
    struct got *g = calloc(N, sizeof *g);
    struct dp_resolver_config c = {fwd, NULL, 5000, 32, 0};
    struct dp_resolver *r = dp_resolver_new(&c, NULL);
    CHECK(r && dp_resolver_batch(r, names, N, DP_DNS_TYPE_TXT, collect, g, NULL) == DP_OK);
    int ok = 1;
    for (int i = 0; i < N; i++) {
        enum dp_dns_status want = (enum dp_dns_status[]){DP_DNS_FOUND, DP_DNS_NXDOMAIN,
                                                         DP_DNS_FOUND, DP_DNS_FAILED}[i % 4];
        if (g[i].calls != 1 || g[i].status != want) ok = 0;
    }
    CHECK(ok);
    free(g);
    dp_resolver_free(r);
}

static void batch_answers_every_name_once(void)
{
    batch_answers_every_name_once_over(fwdr);
}

/* "tcp:ADDR" or "udp:ADDR" with a trust anchor is not the stub: DNSSEC is
 * validated (libunbound), the forgery still caught (V8). */
static void V8_tcp_udp_with_trust_anchor_validate(void)
{
    for (int t = 0; t < 2; t++) {
        char f[300];
        snprintf(f, sizeof f, "%s:%s", t ? "udp" : "tcp", env.resolver);
        struct dp_resolver *r = mk(f, env.ta_all, 3000);
        CHECK(r && dp_resolver_validates(r));
        if (!r) return;
        struct got g = one(r, "_validation-persist.secure.test");
        CHECK(g.status == DP_DNS_FOUND && g.dnssec == DP_DNSSEC_SECURE);
        g = one(r, "_validation-persist.bogus.test");
        CHECK(g.status == DP_DNS_FAILED && g.dnssec == DP_DNSSEC_BOGUS);
        dp_resolver_free(r);
    }
}

static void bad_configuration(void)
{
    struct dp_error e;
    struct dp_resolver_config c = {"not an address", NULL, 0, 0, 0};
    CHECK(dp_resolver_new(&c, &e) == NULL && e.code == DP_ERR_INVAL);
    c = (struct dp_resolver_config){"tcp:", NULL, 0, 0, 0};
    CHECK(dp_resolver_new(&c, &e) == NULL && e.code == DP_ERR_INVAL && strstr(e.detail, "tcp:"));
    c = (struct dp_resolver_config){"udp:resolver.example", NULL, 0, 0, 0};
    CHECK(dp_resolver_new(&c, &e) == NULL && e.code == DP_ERR_INVAL &&
          strstr(e.detail, "'udp:resolver.example' is not udp:ADDR[@PORT]"));
    c = (struct dp_resolver_config){NULL, "/nonexistent/ta", 0, 0, 0};
    CHECK(dp_resolver_new(&c, &e) == NULL && e.code == DP_ERR_IO);
}

/* A free loopback TCP port. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
                       !getsockname(fd, (struct sockaddr *)&a, &l)
                   ? ntohs(a.sin_port)
                   : 0;
    if (fd >= 0) close(fd);
    return port;
}

/* Starts fault_tcp_dns.py in mode on a free port; its pid, 0 on failure. */
static pid_t fault_server(const char *mode, int *port)
{
    *port = free_port();
    char ps[16];
    snprintf(ps, sizeof ps, "%d", *port);
    int p[2];
    if (pipe(p)) return 0;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execlp("python3", "python3", FAULT_DNS, ps, mode, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[16] = "";
    size_t have = 0; /* the whole line, however many writes it came in */
    while (pid > 0 && have < sizeof line - 1 && !strchr(line, '\n')) {
        ssize_t got = read(p[0], line + have, sizeof line - 1 - have);
        if (got <= 0) break;
        have += (size_t)got;
    }
    close(p[0]);
    if (strncmp(line, "ready\n", 6)) {
        if (pid > 0) kill(pid, SIGTERM), waitpid(pid, NULL, 0);
        return 0;
    }
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* N distinct names under fault.test, asked in one batch of the stub. */
static int batch_over(const char *f, unsigned in_flight, unsigned timeout, struct got *g, int n)
{
    static char store[256][64];
    const char *names[256];
    if (n > 256) return 0;
    for (int i = 0; i < n; i++) {
        snprintf(store[i], sizeof store[i], "_validation-persist.n%d.fault.test", i);
        names[i] = store[i];
    }
    struct dp_resolver_config c = {f, NULL, timeout, in_flight, 0};
    struct dp_resolver *r = dp_resolver_new(&c, NULL);
    int ok =
        r && dp_resolver_batch(r, names, (size_t)n, DP_DNS_TYPE_TXT, collect, g, NULL) == DP_OK;
    dp_resolver_free(r);
    return ok;
}

/* n names asked of fault_tcp_dns.py in mode ("udp-" modes over udp:,
 * the others over tcp:), in flight at most in_flight, within timeout ms:
 * 1 when every one was answered once, NXDOMAIN. */
static int all_nxdomain_within(const char *mode, unsigned in_flight, int n, unsigned timeout)
{
    int port;
    pid_t pid = fault_server(mode, &port);
    if (!pid) return 0;
    char f[64];
    snprintf(f, sizeof f, "%s:127.0.0.1@%d", strncmp(mode, "udp-", 4) ? "tcp" : "udp", port);
    struct got g[20] = {0};
    int ok = n <= 20 && batch_over(f, in_flight, timeout, g, n);
    for (int i = 0; ok && i < n; i++) {
        ok = g[i].calls == 1 && g[i].status == DP_DNS_NXDOMAIN;
        if (!ok)
            printf("  %s: name %d: %d calls, status %d (%s)\n", mode, i, g[i].calls,
                   (int)g[i].status, g[i].detail);
    }
    stop(pid);
    return ok;
}

static int all_nxdomain_from(const char *mode, unsigned in_flight, int n)
{
    return all_nxdomain_within(mode, in_flight, n, 3000);
}

/* Kept connections closed by the server after every answer are made
 * again, and what was in flight is asked again: every name is answered,
 * none fails. (A fake server: Knot cannot be made to do this.) */
static void stub_server_closes_connections(void)
{
    CHECK(all_nxdomain_from("close1", 8, 20));
}

/* Answers with another ID, or another question (both REFUSED), are not
 * taken for the query's (a fake server again: Knot answers only
 * correctly). */
static void stub_ignores_mismatched_answers(void)
{
    CHECK(all_nxdomain_from("wrong", 5, 5));
}

/* Over UDP, answers with another ID, another question, or the question
 * in another case than it was asked in (DNS 0x20), are all ignored: an
 * off-path forger must guess the port, the ID and the case of every
 * letter. (A fake server: Knot answers only correctly.) */
static void stub_udp_ignores_forged_answers(void)
{
    CHECK(all_nxdomain_from("udp-wrong", 5, 5));
}

/* A lost datagram is sent again (after a third of the timeout), and the
 * answer to the second taken. */
static void stub_udp_lost_query_sent_again(void)
{
    CHECK(all_nxdomain_within("udp-drop1", 4, 4, 1500));
}

/* Three names asked over udp: of fault_tcp_dns.py in mode, within
 * timeout ms: 1 when each failed once, its reason holding want and also
 * (when not NULL). */
static int all_fail_over_udp(const char *mode, unsigned timeout, const char *want, const char *also)
{
    int port;
    pid_t pid = fault_server(mode, &port);
    if (pid <= 0) return 0;
    char f[64];
    snprintf(f, sizeof f, "udp:127.0.0.1@%d", port);
    struct got g[3] = {0};
    int ok = batch_over(f, 3, timeout, g, 3);
    for (int i = 0; i < 3; i++)
        ok &= g[i].calls == 1 && g[i].status == DP_DNS_FAILED && strstr(g[i].detail, want) &&
              (!also || strstr(g[i].detail, also));
    if (!ok) printf("  %s: %s / %s / %s\n", mode, g[0].detail, g[1].detail, g[2].detail);
    stop(pid);
    return ok;
}

/* A resolver that does not repeat the question's case cannot be told
 * from a forger: every query fails, and the failure says why and what to
 * use instead. */
static void stub_udp_case_not_kept_is_named(void)
{
    CHECK(all_fail_over_udp("udp-lower", 600, "0x20", "tcp:"));
}

/* Truncated answers are asked again over TCP; a server with nothing on
 * TCP fails each such query at once, each naming the refused connect
 * (not a timeout). */
static void stub_udp_truncated_without_tcp_fails(void)
{
    CHECK(all_fail_over_udp("udp-tc", 2000, "cannot connect to the resolver", NULL));
}

/* Lines in file (0 when it is missing). */
static int lines_in(const char *file)
{
    FILE *f = fopen(file, "r");
    int n = 0, ch;
    while (f && (ch = fgetc(f)) != EOF)
        n += ch == '\n';
    if (f) fclose(f);
    return n;
}

/* A big batch spreads over several connections, since a server serves
 * one connection's queries in turn (Knot on one thread); a CA's few
 * questions keep to one connection. Every name answered once either way. */
static void stub_spreads_only_big_batches(void)
{
    char tally[] = "/tmp/dp-tally-XXXXXX", mode[64], f[64];
    int fd = mkstemp(tally), port;
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    snprintf(mode, sizeof mode, "tally:%s", tally);
    pid_t pid = fault_server(mode, &port);
    CHECK(pid > 0);
    snprintf(f, sizeof f, "tcp:127.0.0.1@%d", port);
    static struct got g[256];
    int ok = pid > 0 && batch_over(f, 256, 3000, g, 3);
    for (int i = 0; ok && i < 3; i++)
        ok = g[i].calls == 1 && g[i].status == DP_DNS_NXDOMAIN;
    CHECK(ok);
    CHECK(lines_in(tally) == 1);
    memset(g, 0, sizeof g);
    ok = pid > 0 && batch_over(f, 256, 3000, g, 256);
    for (int i = 0; ok && i < 256; i++)
        ok = g[i].calls == 1 && g[i].status == DP_DNS_NXDOMAIN;
    CHECK(ok);
    int conns = lines_in(tally) - 1;
    if (conns != 4) printf("  the batch of 256 took %d connections, not 4\n", conns);
    CHECK(conns == 4);
    if (pid > 0) stop(pid);
    unlink(tally);
}

/* A server that never answers, over TCP (takes connections) and over UDP
 * (takes datagrams): each query fails at its deadline (over UDP after its
 * resends), once, never hangs and never reads as data. */
static void stub_silent_server_times_out(void)
{
    for (int udp = 0; udp < 2; udp++) {
        int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0), port = free_port();
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((unsigned short)port);
        CHECK(fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) && (udp || !listen(fd, 8)));
        char f[64];
        snprintf(f, sizeof f, "%s:127.0.0.1@%d", udp ? "udp" : "tcp", port);
        struct got g[3] = {0};
        CHECK(batch_over(f, 3, udp ? 600 : 400, g, 3));
        int ok = 1;
        for (int i = 0; i < 3; i++)
            ok &=
                g[i].calls == 1 && g[i].status == DP_DNS_FAILED && strstr(g[i].detail, "timed out");
        CHECK(ok);
        if (fd >= 0) close(fd);
    }
}

int main(void)
{
    if (dns_env_load(&env)) return 77;
    static const char *transports[] = {"", "tcp:", "udp:"}; /* libunbound, the stub twice */
    for (int t = 0; t < 3; t++) {
        snprintf(fwdr, sizeof fwdr, "%s%s", transports[t], env.resolver);
        printf("-- forwarder %s\n", fwdr);
        RUN(V1_records_found_and_joined);
        RUN(V1_cname_is_followed);
        RUN(V1_large_answers);
        RUN(V4_no_records_is_not_a_failure);
        RUN(V4_refused_and_unreachable_are_failures);
        RUN(batch_answers_every_name_once);
    }
    snprintf(fwdr, sizeof fwdr, "%s", env.resolver);
    RUN(V8_dnssec_secure_insecure_bogus);
    RUN(V8_tcp_udp_with_trust_anchor_validate);
    RUN(stub_server_closes_connections);
    RUN(stub_ignores_mismatched_answers);
    RUN(stub_silent_server_times_out);
    RUN(stub_spreads_only_big_batches);
    RUN(stub_udp_ignores_forged_answers);
    RUN(stub_udp_lost_query_sent_again);
    RUN(stub_udp_case_not_kept_is_named);
    RUN(stub_udp_truncated_without_tcp_fails);
    RUN(bad_configuration);
    return check_report();
}
