/* nonce.h: anti-replay nonces (RFC 8555 6.5): issued, then consumed once. */
#ifndef CA_NONCE_H
#define CA_NONCE_H

struct nonces;

/* Keeps at most cap outstanding nonces; the oldest are forgotten first. */
struct nonces *nonces_new(unsigned cap);
void nonces_free(struct nonces *n);
/* Writes a fresh nonce (22 characters + NUL) into out; 0 on success. */
int nonces_issue(struct nonces *n, char out[32]);
/* 1 when nonce was outstanding (it is consumed), 0 otherwise. */
int nonces_consume(struct nonces *n, const char *nonce);

/* Shared mode, for instances behind one name: a nonce carries its issue
 * time and a MAC under key (the same at every instance), so any instance
 * recognizes one that any issued; used() (a shared table) says whether it
 * is the first use: 1 first, 0 seen before, -1 error. Nonces older than
 * NONCE_SHARED_TTL are refused without asking. */
#define NONCE_SHARED_TTL 3600
void nonces_share(struct nonces *n, const unsigned char key[32],
                  int (*used)(void *arg, const char *nonce, long long expires), void *arg);

#endif
