/* bench_ca.h: what bench_ca.c lends its typical mode (bench_typical.c). */
#ifndef DP_BENCH_CA_H
#define DP_BENCH_CA_H

double bench_now(void);
/* The CA's CPU seconds so far (summed over instances when external). */
double bench_server_cpu(void);
/* Adds owner TXT "ca.test; accounturi=URI" to web.test; sent in batches,
 * and at once when flush. 0 or -1. */
int bench_publish(const char *owner, const char *uri, int flush);
/* The http-01 responder (bench_http01.c): started once on 127.0.0.1:port;
 * a token's key authorization registered before its challenge is answered. */
int bench_http01_start(int port);
void bench_http01_set(const char *token, const char *keyauth);
/* Runs the typical client pattern (bench_typical.c); 0 when nothing failed. */
int bench_typical(const char *dir_url, const char *root, const char *prefix, long total32,
                  int n_accounts);

#endif
