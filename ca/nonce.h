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

#endif
