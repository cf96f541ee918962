/*
 * metrics.c: the Prometheus counters (metrics.h). Label sets are closed
 * (fixed routes, problem types, challenge types, status codes 100-599), so
 * a hostile client cannot grow the exposition by inventing paths or types.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "ratelimit.h"

#define ADD(x, n) __atomic_fetch_add(&(x), (n), __ATOMIC_RELAXED)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static const char *const routes[] = {
    "directory", "new-nonce", "new-account", "new-order", "key-change",   "revoke-cert", "account",
    "order",     "authz",     "challenge",   "cert",      "renewal-info", "other"};
#define N_ROUTES (sizeof routes / sizeof routes[0])
static const char *const prefixes[] = {
    "/directory",       "/acme/new-nonce",   "/acme/new-account", "/acme/new-order",
    "/acme/key-change", "/acme/revoke-cert", "/acme/acct/",       "/acme/order/",
    "/acme/authz/",     "/acme/chall/",      "/acme/cert/",       "/acme/renewal-info/"};

static const char *const problems[] = {"accountDoesNotExist",
                                       "alreadyReplaced",
                                       "alreadyRevoked",
                                       "badCSR",
                                       "badNonce",
                                       "badPublicKey",
                                       "badRevocationReason",
                                       "badSignatureAlgorithm",
                                       "caa",
                                       "compound",
                                       "connection",
                                       "dns",
                                       "externalAccountRequired",
                                       "incorrectResponse",
                                       "invalidContact",
                                       "invalidProfile",
                                       "malformed",
                                       "orderNotReady",
                                       "rateLimited",
                                       "rejectedIdentifier",
                                       "serverInternal",
                                       "tls",
                                       "unauthorized",
                                       "unsupportedContact",
                                       "unsupportedIdentifier",
                                       "userActionRequired",
                                       "other"};
#define N_PROBLEMS (sizeof problems / sizeof problems[0])

static const char *const ch_types[] = {"dns-persist-01", "dns-01", "http-01"};
static const char *const methods[] = {"GET", "HEAD", "POST", "other"};

/* Seconds; the last bucket is +Inf. */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define N_BOUNDS (sizeof bounds / sizeof bounds[0])

struct hist {
    uint64_t b[N_BOUNDS + 1];
    uint64_t sum_us;
};

static struct {
    uint64_t requests[N_ROUTES][4][5]; /* route, method, status class 1xx..5xx */
    uint64_t status[500];              /* by code, 100..599 */
    uint64_t problems[N_PROBLEMS];
    uint64_t validations[3][2][2]; /* type, jit, valid */
    uint64_t events[M_EVENTS];
    uint64_t mpic_calls[2], mpic_conns; /* by agreed; new connections */
    uint64_t limited[RL_N + 1];         /* by rl_kind; RL_N: the validation queue */
    struct hist latency, db, validation[3];
} m;

static size_t route_of(const char *path)
{
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(path, prefixes[i], n) && (prefixes[i][n - 1] == '/' || !path[n])) return i;
    }
    return N_ROUTES - 1;
}

static size_t problem_index(const char *type)
{
    size_t i = 0;
    while (i < N_PROBLEMS - 1 && strcmp(type, problems[i]))
        i++;
    return i;
}

static void observe(struct hist *h, double s)
{
    size_t i = 0;
    while (i < N_BOUNDS && s > bounds[i])
        i++;
    ADD(h->b[i], 1);
    ADD(h->sum_us, (uint64_t)(s * 1e6));
}

void metrics_request(const char *method, const char *path, int status, const char *problem,
                     double seconds)
{
    size_t mi = 0;
    while (mi < 3 && strcmp(method, methods[mi]))
        mi++;
    if (status >= 100 && status <= 599) {
        ADD(m.requests[route_of(path)][mi][status / 100 - 1], 1);
        ADD(m.status[status - 100], 1);
    }
    if (problem && *problem) ADD(m.problems[problem_index(problem)], 1);
    observe(&m.latency, seconds);
}

void metrics_validation(const char *type, int valid, int jit, double seconds)
{
    for (size_t t = 0; t < 3; t++)
        if (!strcmp(type, ch_types[t])) {
            ADD(m.validations[t][jit ? 1 : 0][valid ? 1 : 0], 1);
            if (seconds >= 0) observe(&m.validation[t], seconds);
        }
}

void metrics_rate_limited(int kind)
{
    if (kind >= 0 && kind <= RL_N) ADD(m.limited[kind], 1);
}

void metrics_event(enum metrics_event ev)
{
    if (ev < M_EVENTS) ADD(m.events[ev], 1);
}

void metrics_mpic(int new_connection, int agreed)
{
    ADD(m.mpic_calls[agreed ? 1 : 0], 1);
    if (new_connection) ADD(m.mpic_conns, 1);
}

void metrics_db(double seconds)
{
    observe(&m.db, seconds);
}

/* The exposition is built in one growing buffer. */
struct out {
    char *b;
    size_t n, cap;
    int oom;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
    if (o->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(o->b + o->n, o->cap - o->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            o->oom = 1;
            return;
        }
        if ((size_t)k < o->cap - o->n) {
            o->n += (size_t)k;
            return;
        }
        char *nb = realloc(o->b, o->cap * 2);
        if (!nb) {
            o->oom = 1;
            return;
        }
        o->b = nb;
        o->cap *= 2;
    }
}

/* One histogram series; labels is "" or 'k="v",' (the le label follows). */
static void emit_series(struct out *o, const char *name, const char *labels, const struct hist *h)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= N_BOUNDS; i++) {
        cum += GET(h->b[i]);
        if (i < N_BOUNDS)
            emit(o, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bounds[i],
                 (unsigned long long)cum);
        else
            emit(o, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
    }
    size_t l = strlen(labels);
    /* _sum and _count carry the labels without the trailing comma. */
    emit(o, "%s_sum%s%.*s%s %.6f\n%s_count%s%.*s%s %llu\n", name, l ? "{" : "",
         (int)(l ? l - 1 : 0), labels, l ? "}" : "", (double)GET(h->sum_us) / 1e6, name,
         l ? "{" : "", (int)(l ? l - 1 : 0), labels, l ? "}" : "", (unsigned long long)cum);
}

static void emit_hist(struct out *o, const char *name, const char *help, const struct hist *h)
{
    emit(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    emit_series(o, name, "", h);
}

static void emit_gauge(struct out *o, const char *name, const char *type, const char *help,
                       double v)
{
    emit(o, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* process_* (metrics_process.c), build information and the CA
 * certificates' expiry: what a dashboard and the alert rules read beside
 * the counters. */
static void emit_process(struct out *o, const struct metrics_now *now)
{
    struct metrics_process p;
    if (metrics_process_read(&p) == 0) {
        emit_gauge(o, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds.", p.cpu_seconds);
        emit_gauge(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                   p.resident_bytes);
        emit_gauge(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                   p.virtual_bytes);
        emit_gauge(o, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds.", p.start_time);
        emit_gauge(o, "process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
        emit_gauge(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                   p.max_fds);
    }
    emit(o,
         "# HELP dnspersist_build_info The running version (always 1).\n"
         "# TYPE dnspersist_build_info gauge\ndnspersist_build_info{version=\"%s\"} 1\n",
         now->version ? now->version : "");
    emit(o, "# HELP dnspersist_ca_certificate_not_after_seconds When each CA certificate "
            "expires (UNIX seconds), by issuer and kind.\n"
            "# TYPE dnspersist_ca_certificate_not_after_seconds gauge\n");
    for (size_t i = 0; i < now->n_expiry; i++)
        emit(o, "dnspersist_ca_certificate_not_after_seconds{issuer=\"%s\",kind=\"%s\"} %lld\n",
             now->expiry[i].name[0] ? now->expiry[i].name : "primary", now->expiry[i].kind,
             (long long)now->expiry[i].not_after);
}

char *metrics_render(const struct metrics_now *now, size_t *len)
{
    struct out o = {malloc(16384), 0, 16384, 0};
    if (!o.b) return NULL;
    static const char *const ev_names[] = {
        "dnspersist_orders_created_total", "dnspersist_certificates_issued_total",
        "dnspersist_orders_invalid_total", "dnspersist_certificates_revoked_total"};
    static const char *const ev_help[] = {"Orders created.", "Certificates issued.",
                                          "Orders that became invalid.", "Certificates revoked."};
    for (int e = 0; e < M_EVENTS; e++)
        emit(&o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", ev_names[e], ev_help[e], ev_names[e],
             ev_names[e], (unsigned long long)GET(m.events[e]));
    emit(&o, "# HELP dnspersist_validations_total Validations by challenge type, whether "
             "Just-in-Time, and result.\n# TYPE dnspersist_validations_total counter\n");
    for (size_t t = 0; t < 3; t++)
        for (int j = 0; j < 2; j++)
            for (int v = 0; v < 2; v++)
                emit(&o,
                     "dnspersist_validations_total{type=\"%s\",jit=\"%s\",result=\"%s\"} "
                     "%llu\n",
                     ch_types[t], j ? "true" : "false", v ? "valid" : "invalid",
                     (unsigned long long)GET(m.validations[t][j][v]));
    emit(&o, "# HELP dnspersist_problems_total ACME problem documents sent, by type.\n"
             "# TYPE dnspersist_problems_total counter\n");
    for (size_t i = 0; i < N_PROBLEMS; i++)
        emit(&o, "dnspersist_problems_total{type=\"%s\"} %llu\n", problems[i],
             (unsigned long long)GET(m.problems[i]));
    emit(&o, "# HELP dnspersist_rate_limited_total Requests refused by a rate limit, by limit "
             "(validation-queue: the queue was full).\n"
             "# TYPE dnspersist_rate_limited_total counter\n");
    for (int k = 0; k <= RL_N; k++)
        emit(&o, "dnspersist_rate_limited_total{limit=\"%s\"} %llu\n",
             k < RL_N ? rl_name((enum rl_kind)k) : "validation-queue",
             (unsigned long long)GET(m.limited[k]));
    emit(&o, "# HELP dnspersist_http_requests_total ACME requests by route, method and status "
             "class.\n# TYPE dnspersist_http_requests_total counter\n");
    for (size_t r = 0; r < N_ROUTES; r++)
        for (size_t mi = 0; mi < 4; mi++)
            for (int c = 0; c < 5; c++) {
                unsigned long long v = GET(m.requests[r][mi][c]);
                if (v)
                    emit(&o,
                         "dnspersist_http_requests_total{route=\"%s\",method=\"%s\","
                         "code=\"%dxx\"} %llu\n",
                         routes[r], methods[mi], c + 1, v);
            }
    emit(&o, "# HELP dnspersist_http_responses_total ACME responses by status code.\n"
             "# TYPE dnspersist_http_responses_total counter\n");
    for (int c = 0; c < 500; c++) {
        unsigned long long v = GET(m.status[c]);
        if (v) emit(&o, "dnspersist_http_responses_total{code=\"%d\"} %llu\n", c + 100, v);
    }
    emit(&o,
         "# HELP dnspersist_mpic_calls_total Corroboration calls to remote perspectives, by "
         "result.\n# TYPE dnspersist_mpic_calls_total counter\n"
         "dnspersist_mpic_calls_total{result=\"agreed\"} %llu\n"
         "dnspersist_mpic_calls_total{result=\"disagreed\"} %llu\n"
         "# HELP dnspersist_mpic_connections_total Connections opened to remote perspectives "
         "(the rest of the calls reused one).\n# TYPE dnspersist_mpic_connections_total counter\n"
         "dnspersist_mpic_connections_total %llu\n",
         (unsigned long long)GET(m.mpic_calls[1]), (unsigned long long)GET(m.mpic_calls[0]),
         (unsigned long long)GET(m.mpic_conns));
    emit_hist(&o, "dnspersist_http_request_duration_seconds",
              "Time to answer an ACME request, in the CA.", &m.latency);
    emit_hist(&o, "dnspersist_db_transaction_duration_seconds",
              "Store transactions and locked reads, lock wait included.", &m.db);
    emit(&o, "# HELP dnspersist_validation_duration_seconds Time to validate an answered "
             "challenge (look-ups, CAA, perspectives), by challenge type.\n"
             "# TYPE dnspersist_validation_duration_seconds histogram\n");
    for (size_t t = 0; t < 3; t++) {
        char lab[40];
        snprintf(lab, sizeof lab, "type=\"%s\",", ch_types[t]);
        emit_series(&o, "dnspersist_validation_duration_seconds", lab, &m.validation[t]);
    }
    emit(&o,
         "# HELP dnspersist_validation_queue_depth Answered challenges waiting for a "
         "validation worker.\n# TYPE dnspersist_validation_queue_depth gauge\n"
         "dnspersist_validation_queue_depth %zu\n",
         now->queue_depth);
    emit(&o,
         "# HELP dnspersist_http_open_connections Connections open now on the ACME "
         "listener.\n# TYPE dnspersist_http_open_connections gauge\n"
         "dnspersist_http_open_connections %zu\n",
         now->open_connections);
    emit_process(&o, now);
    if (o.oom) {
        free(o.b);
        return NULL;
    }
    *len = o.n;
    return o.b;
}
