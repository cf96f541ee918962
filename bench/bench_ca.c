/*
 * bench_ca: certificates issued end to end by dnspersist-ca with
 * dns-persist-01, driven by the library's ACME client over kept-alive
 * connections (ES256 account keys, P-256 certificate keys). Records are
 * published beforehand: one wildcard TXT per client account
 * (*.c<k>.web.test, the "*" hashed form), so every name below validates.
 *
 * Prints certificates per second at each concurrency, the server's CPU time
 * per certificate (utime+stime from /proc/PID/stat) and its peak RSS
 * (VmHWM) once every certificate is issued.
 *
 * Usage: bench_ca DNSPERSIST_CA DNS_ENV_FILE [CERTS_AT_32
 * [jit|no-jit|shortlived|typical|typical-jit [SERVER_ARGS...]]] (default 10000 certificates at
 * concurrency 32, jit) With no-jit the CA runs --no-jit: every order answers its dns-persist-01
 * challenge. By default an account's orders after its first validation are
 * authorized Just-in-Time (draft 4.4); the count of those is printed.
 * typical drives the CA as certbot, lego and acme.sh do (bench_typical.c),
 * on --no-jit (the challenge flow); typical-jit on the default CA. Both use
 * ACCOUNTS accounts (default 1000) as well as one.
 * The DNS env file comes from tests/dns/knot-env.sh; bench/bench_ca.sh runs it all.
 * BENCH_DNS=tcp (or udp) has the CA resolve over tcp: (or udp:), the
 * pipelining stub.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_ca.h"
#include "ca_harness.h"
#include "dnspersist/dnspersist.h"

#define MAX_CLIENTS 32

static char dir_url[160], root[512], prefix[256], tsig[512], dns_port[512];
static pid_t server;
/* BENCH_CA_EXTERNAL="DIRECTORY ROOT_PEM PID[,PID...]": drive CAs started
 * elsewhere (several instances behind a load balancer); CPU is summed over
 * the pids. */
static pid_t ext_pids[8];
static int n_ext;

struct client {
    int id;
    struct dp_key *key;
    struct dp_acme *a;
    long todo, done, failed;
    int round;
};

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double pid_cpu(pid_t pid);
double bench_server_cpu(void)
{
    if (!n_ext) return pid_cpu(server);
    double s = 0;
    for (int i = 0; i < n_ext; i++)
        s += pid_cpu(ext_pids[i]);
    return s;
}

static double pid_cpu(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof buf, f)) {
        if (f) fclose(f);
        return 0;
    }
    fclose(f);
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    /* fields after ')': state(3) ... utime(14) stime(15) */
    if (p) sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long server_hwm_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)server);
    FILE *f = fopen(path, "r");
    long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static void *run(void *arg)
{
    struct client *c = arg;
    for (long i = 0; i < c->todo; i++) {
        char name[128];
        snprintf(name, sizeof name, "h%d-%ld.c%d.web.test", c->round, i, c->id);
        const char *names[] = {name};
        struct dp_key *ck = dp_key_generate(DP_KEY_EC256, NULL);
        char *pem = NULL;
        struct dp_error e;
        if (ck && dp_acme_issue(c->a, names, 1, ck, &pem, &e) == DP_OK) {
            c->done++;
        } else {
            if (c->failed++ < 3) fprintf(stderr, "bench_ca: %s: %s\n", name, e.detail);
        }
        free(pem);
        dp_key_free(ck);
    }
    return NULL;
}

static int publish(struct client *c)
{
    char *uri = dp_hashuri_compute_alloc(DP_HASH_SHA256, prefix, "*", dp_key_thumbprint(c->key),
                                         dp_acme_account_url(c->a), NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "knsupdate -y hmac-sha256:test-key:%s", tsig);
    FILE *p = popen(cmd, "w");
    if (!p || !uri) return -1;
    fprintf(p,
            "server 127.0.0.1 %s\nzone web.test\nupdate add *.c%d.web.test. 300 TXT \"ca.test; "
            "accounturi=%s\"\nsend\n",
            dns_port, c->id, uri);
    free(uri);
    return pclose(p) == 0 ? 0 : -1;
}

/* Records for the typical mode, sent 50 to an update. */
static char pending[64 * 1024];
static int n_pending;

int bench_publish(const char *owner, const char *uri, int flush)
{
    size_t used = strlen(pending);
    snprintf(pending + used, sizeof pending - used,
             "update add %s. 300 TXT \"ca.test; accounturi=%s\"\n", owner, uri);
    if (++n_pending < 50 && !flush) return 0;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "knsupdate -y hmac-sha256:test-key:%s", tsig);
    FILE *p = popen(cmd, "w");
    if (!p) return -1;
    fprintf(p, "server 127.0.0.1 %s\nzone web.test\n%ssend\n", dns_port, pending);
    pending[0] = '\0';
    n_pending = 0;
    return pclose(p) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ca DNSPERSIST_CA DNS_ENV_FILE [CERTS_AT_32 "
                        "[jit|no-jit|shortlived|typical|typical-jit [SERVER_ARGS...]]]\n"
                        "  shortlived: Just-in-Time, every order asking for that profile\n");
        return 2;
    }
    long total32 = argc > 3 ? atol(argv[3]) : 10000;
    const char *mode = argc > 4 ? argv[4] : "jit";
    int typical = !strncmp(mode, "typical", 7);
    int no_jit = !strcmp(mode, "no-jit") || !strcmp(mode, "typical");
    const char *profile = argc > 4 && !strcmp(argv[4], "shortlived") ? "shortlived" : NULL;
    char resolver[512] = "", line[512];
    FILE *f = fopen(argv[2], "r");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "DNS_RESOLVER=", 13))
            snprintf(resolver, sizeof resolver, "%s", line + 13);
        if (!strncmp(line, "DNS_TSIG_SECRET=", 16)) snprintf(tsig, sizeof tsig, "%s", line + 16);
        if (!strncmp(line, "DNS_PORT=", 9)) snprintf(dns_port, sizeof dns_port, "%s", line + 9);
    }
    if (f) fclose(f);
    /* BENCH_DNS=tcp or udp: the CA resolves over tcp: or udp: (lib/stub.c). */
    const char *bd = getenv("BENCH_DNS");
    if (resolver[0] && bd && (!strcmp(bd, "tcp") || !strcmp(bd, "udp"))) {
        char t[520];
        snprintf(t, sizeof t, "%s:%s", bd, resolver);
        snprintf(resolver, sizeof resolver, "%.*s", (int)(sizeof resolver - 1), t);
    }
    if (!resolver[0]) {
        fprintf(stderr, "bench_ca: no DNS_RESOLVER in %s\n", argv[2]);
        return 2;
    }
    char tmp[] = "/tmp/dp-bench-ca-XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    int port = harness_free_port();
    char listen[64], data[300];
    snprintf(listen, sizeof listen, "localhost:%d", port);
    /* BENCH_CA_DATA: a data directory made beforehand (bench_mpic.sh makes
     * the perspectives' credentials from its root first). */
    snprintf(data, sizeof data, "%s", getenv("BENCH_CA_DATA") ? getenv("BENCH_CA_DATA") : "");
    if (!data[0]) snprintf(data, sizeof data, "%s/ca", tmp);
    snprintf(dir_url, sizeof dir_url, "https://localhost:%d/directory", port);
    snprintf(root, sizeof root, "%s/root.pem", data);
    snprintf(prefix, sizeof prefix, "https://localhost:%d/acme/account-hash/", port);
    /* Arguments after the mode go to the server as they are (--threads 1, ...). */
    char *args[32] = {argv[1],  "--listen",   listen,   "--data",
                      data,     "--resolver", resolver, "--issuer-domain-name",
                      "ca.test"};
    int na = 9;
    if (no_jit) args[na++] = "--no-jit";
    /* The typical mode makes its accounts from one address: the defaults
     * with room for them. */
    char limits[400];
    snprintf(limits, sizeof limits, "%s/limits", tmp);
    if (typical) {
        FILE *lf = fopen(limits, "w");
        if (!lf) return 1;
        fprintf(lf, "new-accounts-per-ip 100000 1h\n");
        fclose(lf);
        args[na++] = "--rate-limits";
        args[na++] = limits;
    }
    for (int i = 5; i < argc && na < 31; i++)
        args[na++] = argv[i];
    char log[400];
    snprintf(log, sizeof log, "%s/ca.log", tmp);
    const char *ext = getenv("BENCH_CA_EXTERNAL");
    if (ext) {
        char pids[200] = "";
        if (sscanf(ext, "%159s %511s %199s", dir_url, root, pids) != 3) {
            fprintf(stderr, "bench_ca: BENCH_CA_EXTERNAL=\"DIRECTORY ROOT PID,...\"\n");
            return 2;
        }
        for (char *t = strtok(pids, ","); t && n_ext < 8; t = strtok(NULL, ","))
            ext_pids[n_ext++] = (pid_t)atoi(t);
        server = ext_pids[0];
        /* Another CA (a peer such as Pebble, bench_peer.sh) has no such
         * prefix; the typical mode's http-01 flow does not need one. */
        const char *d = strstr(dir_url, "/directory");
        snprintf(prefix, sizeof prefix, "%.*s/acme/account-hash/",
                 (int)(d ? d - dir_url : (long)strlen(dir_url)), dir_url);
        snprintf(log, sizeof log, "/dev/null");
    } else {
        server = harness_spawn_log(argv[1], args, log);
    }
    static struct client cl[MAX_CLIENTS];
    int ready = 0;
    double started = bench_now();
    /* The root appears before the listener (a PostgreSQL store connects
     * and migrates in between): wait for both. */
    for (long long end = harness_deadline(90); !ready && harness_now_ms() < end;) {
        ready = access(root, R_OK) == 0 && (n_ext || !harness_port_free(port));
        if (!ready) harness_poll_pause();
    }
    if (!n_ext) printf("start-up: listening %.2f s after the CA started\n", bench_now() - started);
    /* Listening is not yet answering: the directory is fetched first. */
    struct dp_key *probe_key = dp_key_generate(DP_KEY_EC256, NULL);
    struct dp_acme *probe = NULL;
    for (long long end = harness_deadline(90); ready && !probe && harness_now_ms() < end;) {
        struct dp_acme_config pc = {dir_url, root, 2000, 0};
        if (!(probe = dp_acme_new(&pc, probe_key, NULL))) harness_poll_pause();
    }
    dp_acme_free(probe);
    dp_key_free(probe_key);
    if (!ready || !probe) {
        fprintf(stderr, "bench_ca: the CA at %s did not answer within the deadline\n", dir_url);
        if (!n_ext) harness_stop(server);
        return 1;
    }
    if (typical) {
        const char *na_env = getenv("ACCOUNTS");
        printf("bench_ca: dnspersist-ca%s on %s, Knot DNS on %s, the typical client pattern\n",
               no_jit ? " --no-jit" : "", listen, resolver);
        int rc = bench_typical(dir_url, root, prefix, total32, na_env ? atoi(na_env) : 1000);
        printf("server peak RSS: %.1f MB\n", server_hwm_kb() / 1024.0);
        if (!n_ext) harness_stop(server);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
        if (system(cmd)) fprintf(stderr, "bench_ca: could not remove %s\n", tmp);
        return rc;
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        cl[i].id = i;
        cl[i].key = dp_key_generate(DP_KEY_EC256, NULL);
        struct dp_acme_config cfg = {dir_url, root, 30000, 60000};
        struct dp_error e;
        cl[i].a = dp_acme_new(&cfg, cl[i].key, &e);
        if (!cl[i].a || dp_acme_account(cl[i].a, 0, NULL, 1, &e) != DP_OK ||
            dp_acme_set_profile(cl[i].a, profile, &e) != DP_OK || publish(&cl[i])) {
            fprintf(stderr, "bench_ca: client %d: %s\n", i, e.detail);
            harness_stop(server);
            return 1;
        }
    }
    printf("bench_ca: dnspersist-ca%s on %s, Knot DNS on %s, dns-persist-01, ES256 accounts, "
           "P-256 certificates\n",
           no_jit    ? " --no-jit"
           : profile ? " (profile shortlived)"
                     : "",
           listen, resolver);
    const int conc[] = {1, 8, 32};
    const long counts[] = {total32 / 50 > 20 ? total32 / 50 : 20,
                           total32 / 5 > 80 ? total32 / 5 : 80, total32};
    long all = 0;
    int failed = 0;
    for (int r = 0; r < 3; r++) {
        int n = conc[r];
        pthread_t th[MAX_CLIENTS];
        double cpu0 = bench_server_cpu(), t0 = bench_now();
        for (int i = 0; i < n; i++) {
            cl[i].todo = counts[r] / n;
            cl[i].done = cl[i].failed = 0;
            cl[i].round = r;
            pthread_create(&th[i], NULL, run, &cl[i]);
        }
        long done = 0, fails = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(th[i], NULL);
            done += cl[i].done;
            fails += cl[i].failed;
        }
        double dt = bench_now() - t0, cpu = bench_server_cpu() - cpu0;
        all += done;
        failed |= fails > 0;
        printf("concurrency %2d: %6ld certificates in %6.2f s = %7.1f certificates/s; server CPU "
               "%.3f ms/certificate; %ld failed\n",
               n, done, dt, done / dt, done ? cpu * 1e3 / done : 0.0, fails);
        fflush(stdout);
    }
    printf("server peak RSS after %ld certificates: %.1f MB\n", all, server_hwm_kb() / 1024.0);
    long jit = 0;
    FILE *lf = fopen(log, "r");
    while (lf && fgets(line, sizeof line, lf))
        jit += strstr(line, "just in time") != NULL;
    if (lf) fclose(lf);
    printf("orders authorized Just-in-Time (no challenge): %ld of %ld\n", jit, all);
    /* The WAL's bound (store_sqlite.c): about 4 MB between checkpoints, cut
     * back to 16 MB at most; before statements were reset it grew without end. */
    struct stat wal, db;
    char wp[400];
    snprintf(wp, sizeof wp, "%s/ca.sqlite-wal", data);
    long wal_b = stat(wp, &wal) ? 0 : (long)wal.st_size;
    snprintf(wp, sizeof wp, "%s/ca.sqlite", data);
    long db_b = stat(wp, &db) ? 0 : (long)db.st_size;
    printf("database after %ld certificates: %.1f MB, its WAL %.1f MB\n", all, db_b / 1048576.0,
           wal_b / 1048576.0);
    for (int i = 0; i < MAX_CLIENTS; i++) {
        dp_acme_free(cl[i].a);
        dp_key_free(cl[i].key);
    }
    if (!n_ext) harness_stop(server);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd)) fprintf(stderr, "bench_ca: could not remove %s\n", tmp);
    return failed;
}
