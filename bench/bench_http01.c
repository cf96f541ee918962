/*
 * bench_http01.c: the http-01 responder of bench_ca's typical mode when it
 * drives a CA through http-01 (TYPICAL_CHALLENGE=http-01), the flow this
 * CA and a peer such as Pebble both serve. It answers
 * GET /.well-known/acme-challenge/TOKEN with the key authorization the
 * client registered for TOKEN. A thread a connection, each with a read
 * deadline: serving one connection at a time let any connection that sends
 * nothing (a validator that gave up, a stray client) stall every
 * validation behind it, the likeliest reading of a CI run of bench_peer
 * that stalled for minutes. Its
 * cost is the client's, not the CA's, which is what is measured.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench_ca.h"

#define SLOTS 4096

static struct {
    char token[128], keyauth[256];
} slots[SLOTS];
static unsigned next;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

void bench_http01_set(const char *token, const char *keyauth)
{
    pthread_mutex_lock(&mu);
    unsigned i = next++ % SLOTS;
    snprintf(slots[i].token, sizeof slots[i].token, "%s", token);
    snprintf(slots[i].keyauth, sizeof slots[i].keyauth, "%s", keyauth);
    pthread_mutex_unlock(&mu);
}

static void answer(int fd)
{
    char req[4096] = "", ka[256] = "";
    size_t n = 0;
    while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t k = read(fd, req + n, sizeof req - 1 - n);
        if (k <= 0) break;
        n += (size_t)k;
        req[n] = '\0';
    }
    req[n] = '\0';
    const char *p = strstr(req, "/.well-known/acme-challenge/");
    if (p) {
        p += strlen("/.well-known/acme-challenge/");
        size_t tl = strcspn(p, " ?\r\n");
        pthread_mutex_lock(&mu);
        for (unsigned i = 0; i < SLOTS && !ka[0]; i++)
            if (strlen(slots[i].token) == tl && !strncmp(slots[i].token, p, tl))
                snprintf(ka, sizeof ka, "%s", slots[i].keyauth);
        pthread_mutex_unlock(&mu);
    }
    char resp[512];
    int l = ka[0] ? snprintf(resp, sizeof resp,
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                             "%zu\r\nConnection: close\r\n\r\n%s",
                             strlen(ka), ka)
                  : snprintf(resp, sizeof resp,
                             "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: "
                             "close\r\n\r\n");
    if (write(fd, resp, (size_t)l) < 0) { /* the validator went away: its failure shows */
    }
    close(fd);
}

static void *answer_thread(void *arg)
{
    answer((int)(long)arg);
    return NULL;
}

static void *serve(void *arg)
{
    int s = (int)(long)arg;
    for (;;) {
        int fd = accept(s, NULL, NULL);
        if (fd < 0) continue;
        struct timeval tv = {5, 0}; /* an idle connection ends, failing only itself */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        pthread_t t;
        if (pthread_create(&t, NULL, answer_thread, (void *)(long)fd)) {
            answer(fd);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

int bench_http01_start(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 256)) {
        fprintf(stderr, "bench_ca: cannot serve http-01 on 127.0.0.1:%d\n", port);
        if (s >= 0) close(s);
        return -1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, serve, (void *)(long)s)) return -1;
    pthread_detach(t);
    return 0;
}
