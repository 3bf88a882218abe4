/*
 * pam_b0 ticket: one request on b0-publish's identity socket (docs/pam.md,
 * "The identity socket"), bounded by PAM_B0_TIMEOUT_MS and
 * PAM_B0_LINE_MAX.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b0_parse.h"
#include "b0_str.h"

#include "pam_b0.h"

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline (monotonic ms). */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - mono_ms()) <= 0)
			return B0_ERR_TIMEOUT;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		n = poll(&p, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return b0_err_from_errno();
		if (n == 0)
			return B0_ERR_TIMEOUT;
		return 0;
	}
}

/* Is s a textual IP address as sshd writes it in SSH_CONNECTION? */
static int
ip_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 45 && strspn(s, "0123456789abcdefABCDEF.:") == n &&
	       (strchr(s, '.') != NULL || strchr(s, ':') != NULL);
}

int
pam_b0_ticket_answer(const char *sockpath, char *line, size_t have,
    char **ticketp, struct b0_errmsg *em)
{
	char *nl;

	*ticketp = NULL;
	if ((nl = memchr(line, '\n', have)) == NULL) {
		b0_err_set(em, "%s: closed before a whole line", sockpath);
		return B0_ERR_PROTOCOL;
	}
	if ((size_t)(nl - line) + 1 != have) {
		b0_err_set(em, "%s: data after the answer", sockpath);
		return B0_ERR_PROTOCOL;
	}
	*nl = '\0';
	if (memchr(line, '\0', (size_t)(nl - line)) != NULL) {
		b0_err_set(em, "%s: NUL byte in the answer", sockpath);
		return B0_ERR_PROTOCOL;
	}
	if (strcmp(line, "none") == 0) {
		b0_err_set(em, "%s: none", sockpath);
		return B0_ERR_NOT_FOUND;
	}
	if (b0_str_has_prefix(line, "error ")) {
		b0_err_set(em, "b0-publish answers: %.100s", line + 6);
		return B0_ERR_DENIED;
	}
	if (!b0_str_has_prefix(line, "ok ") || line[3] == '\0') {
		b0_err_set(em, "%s: answer is not ok, none or error", sockpath);
		return B0_ERR_PROTOCOL;
	}
	if ((*ticketp = strdup(line + 3)) == NULL)
		return B0_ERR_ALLOC;
	return 0;
}

int
pam_b0_ticket_fetch(const char *sockpath, const char *ip, const char *port,
    char **ticketp, struct b0_errmsg *em)
{
	struct sockaddr_un sa;
	char req[128];
	char *line = NULL, *nl;
	size_t have = 0, reqlen, off = 0;
	int64_t deadline = mono_ms() + PAM_B0_TIMEOUT_MS;
	uint32_t portn;
	ssize_t n;
	int fd = -1, r, e;

	*ticketp = NULL;
	if (!ip_ok(ip) || b0_parse_u32(port, 1, 65535, &portn) != 0) {
		b0_err_set(em, "SSH_CONNECTION does not start with an address "
			       "and a port");
		return B0_ERR_FORMAT;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (b0_strlcpy(sa.sun_path, sockpath, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		b0_err_set(em, "ticket-socket %s: path too long", sockpath);
		return B0_ERR_CONFIG;
	}
	reqlen =
	    (size_t)snprintf(req, sizeof(req), "ticket %s %u\n", ip, portn);
	if ((line = malloc(PAM_B0_LINE_MAX + 1)) == NULL)
		return B0_ERR_ALLOC;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "socket: %s", b0_strerror(r));
		goto out;
	}
	/*
	 * A Unix socket whose backlog is full says EAGAIN and does not go on
	 * connecting by itself: try again until the deadline.
	 */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		if ((e == EAGAIN || e == EINTR) && mono_ms() < deadline) {
			struct timespec ts = {0, 10 * 1000000L};

			nanosleep(&ts, NULL);
			continue;
		}
		if (e == EINPROGRESS) {
			socklen_t elen = sizeof(e);

			if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
				goto io_err;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) ==
			    -1)
				e = errno;
			if (e == 0)
				break;
		}
		r = e == EAGAIN ? B0_ERR_TIMEOUT : B0_ERR_SYS(e);
		b0_err_set(em, "connect %s: %s", sockpath, b0_strerror(r));
		goto out;
	}
	while (off < reqlen) {
		n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
				goto io_err;
			continue;
		}
		if (n == -1) {
			r = b0_err_from_errno();
			goto io_err;
		}
		off += (size_t)n;
	}
	for (;;) {
		if (have == PAM_B0_LINE_MAX) {
			r = B0_ERR_TOO_BIG;
			b0_err_set(em, "%s: answer longer than %d bytes",
			    sockpath, PAM_B0_LINE_MAX);
			goto out;
		}
		n = read(fd, line + have, PAM_B0_LINE_MAX - have);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if ((r = wait_fd(fd, POLLIN, deadline)) != 0)
				goto io_err;
			continue;
		}
		if (n == -1) {
			r = b0_err_from_errno();
			goto io_err;
		}
		if (n == 0) {
			r = B0_ERR_PROTOCOL;
			b0_err_set(
			    em, "%s: closed before a whole line", sockpath);
			goto out;
		}
		have += (size_t)n;
		if ((nl = memchr(line, '\n', have)) != NULL)
			break;
	}
	if ((r = pam_b0_ticket_answer(sockpath, line, have, ticketp, em)) ==
	    B0_ERR_NOT_FOUND)
		b0_err_set(
		    em, "b0-publish has no ticket for %s port %u", ip, portn);
	goto out;
io_err:
	b0_err_set(em, "%s: %s", sockpath, b0_strerror(r));
out:
	if (fd != -1)
		close(fd);
	OPENSSL_cleanse(line, PAM_B0_LINE_MAX + 1);
	free(line);
	return r;
}
