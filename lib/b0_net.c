/*
 * b0_net: TCP sockets for the daemons.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "b0_net.h"

int
b0_net_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *lenp, struct b0_errmsg *em)
{
	struct addrinfo hints, *res = NULL;
	char ports[8];
	int gr;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(ports, sizeof(ports), "%u", (unsigned)port);
	if ((gr = getaddrinfo(host, ports, &hints, &res)) != 0) {
		/* AI_ADDRCONFIG hides ::1 on hosts without other IPv6. */
		hints.ai_flags = 0;
		gr = getaddrinfo(host, ports, &hints, &res);
	}
	if (gr != 0) {
		b0_err_set(em, "cannot resolve %s: %s", host,
		    gr == EAI_SYSTEM ? strerror(errno) : gai_strerror(gr));
		return B0_ERR_NOT_FOUND;
	}
	if (res->ai_addrlen > sizeof(*ss)) {
		freeaddrinfo(res);
		return B0_ERR_INTERNAL;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*lenp = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
b0_net_listen(const char *host, uint16_t port, int *fdp, struct b0_errmsg *em)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, r;

	*fdp = -1;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else {
		b0_err_set(em, "\"%s\" is not an IP address", host);
		return B0_ERR_FORMAT;
	}
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "socket: %s", b0_strerror(r));
		return r;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(
		    fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 4096) == -1) {
		char a[B0_NET_ADDRSTRLEN];

		r = b0_err_from_errno();
		b0_net_addr_str((struct sockaddr *)&ss, a, sizeof(a));
		b0_err_set(em, "listen on %s: %s", a, b0_strerror(r));
		close(fd);
		return r;
	}
	*fdp = fd;
	return 0;
}

int
b0_net_local_port(int fd, uint16_t *portp)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return b0_err_from_errno();
	if (ss.ss_family == AF_INET)
		*portp = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		*portp = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return B0_ERR_UNSUPPORTED;
	return 0;
}

int
b0_net_accept(int lfd, int *fdp, struct sockaddr_storage *ss, socklen_t *lenp)
{
	struct sockaddr_storage tmp;
	socklen_t tlen = sizeof(tmp);
	int fd;

	*fdp = -1;
	if (ss == NULL) {
		ss = &tmp;
		lenp = &tlen;
	} else
		*lenp = sizeof(*ss);
	fd = accept4(
	    lfd, (struct sockaddr *)ss, lenp, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED)
			return B0_ERR_AGAIN;
		return b0_err_from_errno();
	}
	*fdp = fd;
	return 0;
}

int
b0_net_connect(const struct sockaddr *sa, socklen_t len, int *fdp)
{
	int fd, r;

	*fdp = -1;
	fd = socket(
	    sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return b0_err_from_errno();
	if (connect(fd, sa, len) == 0) {
		*fdp = fd;
		return 0;
	}
	if (errno == EINPROGRESS) {
		*fdp = fd;
		return B0_ERR_AGAIN;
	}
	r = b0_err_from_errno();
	close(fd);
	return r;
}

int
b0_net_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return b0_err_from_errno();
	return err == 0 ? 0 : B0_ERR_SYS(err);
}

void
b0_net_tune(int fd, unsigned keepalive_s)
{
	int one = 1, idle = (int)keepalive_s, intvl = 10, cnt = 3;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (keepalive_s == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

void
b0_net_abort(int fd)
{
	struct linger lg = {1, 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

void
b0_net_addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, size, "%s:%u", a, (unsigned)ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(
		    buf, size, "[%s]:%u", a, (unsigned)ntohs(s6->sin6_port));
	} else
		snprintf(buf, size, "?");
}

void
b0_net_peer_str(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1) {
		snprintf(buf, size, "?");
		return;
	}
	b0_net_addr_str((struct sockaddr *)&ss, buf, size);
}
