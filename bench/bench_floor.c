/*
 * bench_floor.c: what this machine charges for the operations a certificate
 * cannot avoid, so that CPU figures can be read against them: a null system
 * call, a loopback TCP message sent and received, and ECDSA P-256 (the JWS
 * verify every POST needs, the CSR's verify, the certificate's signature).
 * Prints one line each. bench_floor.sh adds what a kept-alive HTTPS
 * request costs the CA before any ACME work.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* A connected loopback TCP pair; 0 or -1. */
static int tcp_pair(int fd[2])
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {0};
    socklen_t al = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &al))
        return -1;
    fd[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (fd[0] < 0 || connect(fd[0], (struct sockaddr *)&a, sizeof a)) return -1;
    fd[1] = accept(l, NULL, NULL);
    close(l);
    setsockopt(fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd[1] < 0 ? -1 : 0;
}

int main(void)
{
    enum { CALLS = 200000, MSGS = 50000, SIGS = 2000 };
    double t0 = now_us();
    for (int i = 0; i < CALLS; i++)
        syscall(SYS_getppid);
    printf("null system call (getppid)        %8.2f us\n", (now_us() - t0) / CALLS);

    int fd[2];
    char b[256] = {0};
    if (tcp_pair(fd) == 0) {
        t0 = now_us();
        for (int i = 0; i < MSGS; i++)
            if (send(fd[0], b, sizeof b, 0) != (ssize_t)sizeof b ||
                recv(fd[1], b, sizeof b, MSG_WAITALL) != (ssize_t)sizeof b)
                break;
        printf("loopback TCP message, send + recv %8.2f us\n", (now_us() - t0) / MSGS);
        close(fd[0]);
        close(fd[1]);
    }

    EVP_PKEY *k = EVP_EC_gen("P-256");
    unsigned char sig[80], msg[32] = {1};
    size_t sl = sizeof sig;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!k || !c) return 1;
    t0 = now_us();
    for (int i = 0; i < SIGS; i++) {
        sl = sizeof sig;
        if (EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k) != 1 ||
            EVP_DigestSign(c, sig, &sl, msg, sizeof msg) != 1)
            return 1;
    }
    printf("ES256 sign                        %8.2f us\n", (now_us() - t0) / SIGS);
    t0 = now_us();
    for (int i = 0; i < SIGS; i++)
        if (EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, k) != 1 ||
            EVP_DigestVerify(c, sig, sl, msg, sizeof msg) != 1)
            return 1;
    printf("ES256 verify                      %8.2f us\n", (now_us() - t0) / SIGS);
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return 0;
}
