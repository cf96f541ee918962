/*
 * http_accept.h: accepting connections for libmicrohttpd when some come
 * through trusted proxies (PROXY protocol v2, proxy.h). One thread; a
 * socket is handed on as soon as it is known whose it is.
 */
#ifndef CA_HTTP_ACCEPT_H
#define CA_HTTP_ACCEPT_H

#include <stddef.h>

#include "proxy.h"

/* Takes fd (its own from then on, closing it when it cannot serve it) with
 * the client's address. */
typedef void (*http_hand_fn)(void *arg, int fd, const struct sockaddr *sa, socklen_t len);

struct http_acceptor;

/* Accepts on the listening socket lfd (the caller's, and closed by it after
 * http_accept_stop). NULL when the thread cannot start. */
struct http_acceptor *http_accept_start(int lfd, const struct proxy_cidr *trusted, size_t n,
                                        http_hand_fn hand, void *arg);
void http_accept_stop(struct http_acceptor *a);

#endif
