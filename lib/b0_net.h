/*
 * b0_net: TCP sockets for the daemons: listening, accepting, non-blocking
 * connects, the options every b0 connection gets, and addresses as text.
 * Every socket is non-blocking and close-on-exec.
 */
#ifndef B0_NET_H
#define B0_NET_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "b0_err.h"

/* Room for "[ipv6%scope]:65535". */
#define B0_NET_ADDRSTRLEN 80

/*
 * b0_net_resolve(host, port, ss, lenp, em):
 * Resolve host (a name or a literal address) to its first TCP address, for
 * connecting.  Blocking (getaddrinfo); call at start-up or reconnect, not
 * per stream.
 */
int b0_net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *lenp, struct b0_errmsg *em);

/*
 * b0_net_listen(host, port, fdp, em):
 * Listen on a literal address (e.g. "0.0.0.0", "::", "127.0.0.1") and port
 * (0: any).  IPv6 sockets are IPV6_V6ONLY so "0.0.0.0" and "::" can both be
 * bound.  Returns 0 and an fd in *fdp, or an error naming the address.
 */
int b0_net_listen(
    const char *host, uint16_t port, int *fdp, struct b0_errmsg *em);

/* b0_net_local_port(fd, portp): the port fd is bound to. */
int b0_net_local_port(int fd, uint16_t *portp);

/*
 * b0_net_accept(lfd, fdp, ss, lenp):
 * Accept one connection (non-blocking, close-on-exec).  ss and lenp may be
 * NULL.  Returns 0, B0_ERR_AGAIN when none is waiting, or B0_ERR_SYS.
 */
int b0_net_accept(
    int lfd, int *fdp, struct sockaddr_storage *ss, socklen_t *lenp);

/*
 * b0_net_connect(sa, len, fdp):
 * Start a non-blocking connect.  Returns 0 (connected), B0_ERR_AGAIN (in
 * progress: wait for writability, then b0_net_connect_result()), or
 * B0_ERR_SYS(errno).  *fdp is set in the first two cases.
 */
int b0_net_connect(const struct sockaddr *sa, socklen_t len, int *fdp);

/* b0_net_connect_result(fd): 0 or B0_ERR_SYS(the connect's errno). */
int b0_net_connect_result(int fd);

/*
 * b0_net_tune(fd, keepalive_s):
 * TCP_NODELAY (no Nagle delay on small writes: each costs ssh 40 ms) and,
 * if keepalive_s > 0, keepalive probes after that many idle seconds.
 */
void b0_net_tune(int fd, unsigned keepalive_s);

/* b0_net_abort(fd): close fd with a TCP RST instead of a FIN. */
void b0_net_abort(int fd);

/* b0_net_addr_str(sa, buf, size): "192.0.2.1:22" or "[2001:db8::1]:22". */
void b0_net_addr_str(const struct sockaddr *sa, char *buf, size_t size);

/* b0_net_peer_str(fd, buf, size): the peer's address as text, or "?". */
void b0_net_peer_str(int fd, char *buf, size_t size);

#endif /* B0_NET_H */
