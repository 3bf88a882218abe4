/*
 * A tls socket through the edge: TLS to the edge with SNI and certificate
 * name = the socket's name, "CONNECT name:port" with the access token,
 * and after "200" a relay between in/out and the TLS stream.
 *
 * The relay is one poll() loop with the half-close bookkeeping of
 * OpenSSH's regress/netcat.c readwrite(): EOF on in sends our
 * close_notify (the edge turns it into a FIN towards the target) while we
 * keep reading; the edge's close_notify closes out once what came before
 * it is written.  SSL_ERROR_WANT_READ/WRITE become poll events on the
 * socket, whichever direction asked for them.
 */
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_http.h"
#include "b0_net.h"
#include "b0_str.h"
#include "b0_tls.h"
#include "b0_version.h"
#include "proxy.h"

#define CONNECT_TIMEOUT_MS 10000
#define HANDSHAKE_TIMEOUT_MS 15000
/* The edge waits up to 10 s for a data channel before its 504. */
#define RESPONSE_TIMEOUT_MS 30000
#define RELAY_BUF (32 * 1024)

struct rbuf {
	uint8_t d[RELAY_BUF];
	size_t off, len;
};

static size_t
rbuf_room(struct rbuf *b)
{
	if (b->len == 0)
		b->off = 0;
	if (b->off > 0 && b->off + b->len > RELAY_BUF / 2) {
		memmove(b->d, b->d + b->off, b->len);
		b->off = 0;
	}
	return RELAY_BUF - b->off - b->len;
}

static uint8_t *
rbuf_tail(struct rbuf *b)
{
	return b->d + b->off + b->len;
}

static void
rbuf_consume(struct rbuf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

static int
ms_left(const struct timespec *start, int limit)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - start->tv_sec) * 1000 +
	     (now.tv_nsec - start->tv_nsec) / 1000000;
	return ms >= limit ? 0 : (int)(limit - ms);
}

static int
wait_sock(int fd, int want, int ms)
{
	struct pollfd p;

	p.fd = fd;
	p.events = want == B0_TLS_WANT_WRITE ? POLLOUT : POLLIN;
	p.revents = 0;
	return poll(&p, 1, ms);
}

static int
edge_connect(const struct px_edge *e, int *fdp, struct b0_errmsg *em)
{
	const char *host = e->addr != NULL ? e->addr : e->domain;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd = -1, r;

	*fdp = -1;
	if ((r = b0_net_resolve(host, e->port, &ss, &sslen, em)) != 0)
		return r;
	r = b0_net_connect((struct sockaddr *)&ss, sslen, &fd);
	if (r == B0_ERR_AGAIN) {
		if (wait_sock(fd, B0_TLS_WANT_WRITE, CONNECT_TIMEOUT_MS) <= 0)
			r = B0_ERR_TIMEOUT;
		else
			r = b0_net_connect_result(fd);
	}
	if (r != 0) {
		b0_err_set(em, "cannot connect to the edge %s at %s:%u: %s",
		    e->domain, host, (unsigned)e->port, b0_strerror(r));
		if (fd != -1)
			close(fd);
		return r;
	}
	b0_net_tune(fd, 30);
	*fdp = fd;
	return 0;
}

static int
tls_write_all(SSL *ssl, const struct b0_buf *b, struct b0_errmsg *em)
{
	struct timespec start;
	size_t off = 0;
	int want, n, ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (off < b0_buf_len(b)) {
		n = b0_tls_write(
		    ssl, b0_buf_ptr(b) + off, b0_buf_len(b) - off, &want, em);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n != B0_ERR_AGAIN)
			return n;
		if ((ms = ms_left(&start, RESPONSE_TIMEOUT_MS)) == 0 ||
		    wait_sock(SSL_get_fd(ssl), want, ms) <= 0) {
			b0_err_set(em, "timed out sending to the edge");
			return B0_ERR_TIMEOUT;
		}
	}
	return 0;
}

/*
 * Read into buf until at least need bytes are there (need 0: until a
 * response head parses), the peer ends, or time runs out.
 */
static int
read_response(SSL *ssl, char *buf, size_t size, size_t *lenp, size_t need,
    int limit_ms, struct b0_http_resp *resp, struct b0_errmsg *em)
{
	struct timespec start;
	int want, n, r, ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (need == 0 && *lenp > 0) {
			r = b0_http_resp_parse(
			    buf, *lenp, "CONNECT", NULL, resp, em);
			if (r > 0)
				return 0;
			if (r != B0_ERR_INCOMPLETE) {
				b0_err_prefix(em, "bad answer from the edge");
				return r;
			}
		} else if (need > 0 && *lenp >= need) {
			return 0;
		}
		if (*lenp == size) {
			b0_err_set(em, "the edge's answer is too long");
			return B0_ERR_TOO_BIG;
		}
		n = b0_tls_read(ssl, buf + *lenp, size - *lenp, &want, em);
		if (n > 0) {
			*lenp += (size_t)n;
			continue;
		}
		if (n != B0_ERR_AGAIN) {
			if (need > 0)
				return 0; /* a body cut short: show what came */
			if (n == B0_ERR_EOF || n == B0_ERR_PROTOCOL)
				b0_err_set(em, "the edge closed the connection "
					       "without an answer");
			return n;
		}
		if ((ms = ms_left(&start, limit_ms)) == 0 ||
		    wait_sock(SSL_get_fd(ssl), want, ms) <= 0) {
			b0_err_set(em, "no answer from the edge in %d s",
			    limit_ms / 1000);
			return B0_ERR_TIMEOUT;
		}
	}
}

/* The first line of an error body, or "". */
static void
body_line(const char *body, size_t n, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; i < n && i + 1 < outsz; i++) {
		if (body[i] == '\r' || body[i] == '\n')
			break;
		out[i] = body[i];
	}
	out[i] = '\0';
}

struct relay {
	int in, out, same;
	SSL *ssl;
	struct rbuf up;	  /* in -> TLS */
	struct rbuf down; /* TLS -> out */
	int in_eof;	  /* nothing more from in */
	int tls_eof;	  /* nothing more from the edge */
	int out_done;	  /* out closed, or broken */
	int shut_done;	  /* our close_notify sent (or the write side died) */
	int rd_want, wr_want;
	int truncated;
	int sigfd; /* SIGHUP (ssh's goodbye), SIGTERM, SIGINT; or -1 */
};

static void
close_out(struct relay *rl)
{
	struct stat st;
	int fd;

	rl->out_done = 1;
	if (fstat(rl->out, &st) == 0 && S_ISSOCK(st.st_mode)) {
		(void)shutdown(rl->out, SHUT_WR);
		return;
	}
	/* Keep the descriptor number taken: /dev/null replaces the pipe. */
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) != -1) {
		(void)dup2(fd, rl->out);
		close(fd);
	}
}

static int
relay_tls(struct relay *rl, struct b0_errmsg *em)
{
	size_t room;
	int n, want;

	while (!rl->tls_eof && !rl->out_done && rl->rd_want == 0 &&
	       (room = rbuf_room(&rl->down)) > 0) {
		n = b0_tls_read(rl->ssl, rbuf_tail(&rl->down), room, &want, em);
		if (n > 0) {
			rl->down.len += (size_t)n;
		} else if (n == B0_ERR_AGAIN) {
			rl->rd_want = want;
		} else if (n == B0_ERR_EOF) {
			rl->tls_eof = 1;
		} else if (n == B0_ERR_PROTOCOL) {
			rl->tls_eof = 1;
			rl->truncated = 1;
		} else {
			return n;
		}
	}
	while (rl->up.len > 0 && !rl->shut_done && rl->wr_want == 0) {
		n = b0_tls_write(
		    rl->ssl, rl->up.d + rl->up.off, rl->up.len, &want, em);
		if (n > 0) {
			rbuf_consume(&rl->up, (size_t)n);
		} else if (n == B0_ERR_AGAIN) {
			rl->wr_want = want;
		} else {
			/* The edge is gone for writing; reading may go on. */
			px_debug("writing to the edge: %s", b0_err_text(em, n));
			rl->shut_done = rl->in_eof = 1;
			rl->up.len = 0;
		}
	}
	if (rl->up.len == 0 && rl->in_eof && !rl->shut_done &&
	    rl->wr_want == 0) {
		n = b0_tls_shutdown(rl->ssl, &want, em);
		if (n == B0_ERR_AGAIN)
			rl->wr_want = want;
		else
			rl->shut_done = 1;
	}
	return 0;
}

static void
relay_out(struct relay *rl)
{
	ssize_t n;

	while (rl->down.len > 0 && !rl->out_done) {
		n = write(rl->out, rl->down.d + rl->down.off, rl->down.len);
		if (n > 0) {
			rbuf_consume(&rl->down, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* EPIPE: ssh is gone; drop what it will never read. */
		rl->down.len = 0;
		close_out(rl);
	}
	if (!rl->out_done && rl->down.len == 0 && rl->tls_eof)
		close_out(rl);
}

/*
 * A signal ends the relay, but with our close_notify first, so that the
 * edge sees an orderly end rather than a truncation.
 */
static void
relay_signal(struct relay *rl)
{
	struct signalfd_siginfo si;
	int want;

	if (read(rl->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	px_debug("signal %u: closing the stream", (unsigned)si.ssi_signo);
	if (!rl->shut_done && rl->wr_want == 0) {
		(void)b0_tls_shutdown(rl->ssl, &want, NULL);
		rl->shut_done = 1;
	}
	rl->out_done = 1;
}

static int
relay_run(struct relay *rl, struct b0_errmsg *em)
{
	struct pollfd p[4];
	ssize_t n;
	int r;

	for (;;) {
		if ((r = relay_tls(rl, em)) != 0)
			return r;
		relay_out(rl);
		if (rl->out_done && rl->shut_done)
			break;
		if (rl->out_done && rl->tls_eof && rl->in_eof &&
		    rl->up.len == 0 && rl->wr_want == 0)
			break;
		/* Room made for the edge's bytes: read on before waiting. */
		if (!rl->tls_eof && !rl->out_done && rl->rd_want == 0 &&
		    rbuf_room(&rl->down) > 0)
			continue;
		p[0].fd = -1;
		p[0].events = 0;
		if (!rl->in_eof && rbuf_room(&rl->up) > 0) {
			p[0].fd = rl->in;
			p[0].events = POLLIN;
		}
		/* Watch out even when idle: a hang-up means ssh is gone. */
		p[1].fd = rl->out_done || (rl->same && rl->down.len == 0)
			      ? -1
			      : rl->out;
		p[1].events = rl->down.len > 0 ? POLLOUT : 0;
		p[2].fd = SSL_get_fd(rl->ssl);
		p[2].events = 0;
		if (rl->rd_want == B0_TLS_WANT_READ ||
		    rl->wr_want == B0_TLS_WANT_READ)
			p[2].events |= POLLIN;
		if (rl->rd_want == B0_TLS_WANT_WRITE ||
		    rl->wr_want == B0_TLS_WANT_WRITE)
			p[2].events |= POLLOUT;
		if (p[2].events == 0)
			p[2].fd = -1;
		p[3].fd = rl->sigfd;
		p[3].events = POLLIN;
		p[0].revents = p[1].revents = p[2].revents = p[3].revents = 0;
		if (poll(p, 4, -1) == -1) {
			if (errno == EINTR)
				continue;
			return b0_err_from_errno();
		}
		if (p[3].revents != 0) {
			relay_signal(rl);
			if (rl->out_done && rl->shut_done)
				return 0;
		}
		if (p[2].revents != 0)
			rl->rd_want = rl->wr_want = 0;
		if (p[0].revents != 0) {
			n = read(
			    rl->in, rbuf_tail(&rl->up), rbuf_room(&rl->up));
			if (n > 0)
				rl->up.len += (size_t)n;
			else if (n == 0 ||
				 (errno != EAGAIN && errno != EWOULDBLOCK &&
				     errno != EINTR))
				rl->in_eof = 1;
		}
		if ((p[1].revents & (POLLERR | POLLHUP)) != 0 &&
		    rl->down.len == 0 && !rl->same)
			close_out(rl);
	}
	if (rl->truncated) {
		b0_err_set(em, "the edge ended the stream without close_notify "
			       "(truncated)");
		return B0_ERR_PROTOCOL;
	}
	return 0;
}

static void
set_nonblock(int fd)
{
	int fl;

	if (isatty(fd))
		return; /* shared with the shell: leave it as it is */
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/*
 * One CONNECT.  Returns 0 with *sslp and *fdp (the tunnel; early bytes
 * after the head in rl->down) when the edge said 200; else the status in
 * *statusp and the body's first line in line.
 */
static int
open_stream(struct b0_tls_ctx *ctx, const struct px_edge *e, const char *host,
    uint16_t port, const char *token, struct relay *rl, int *statusp,
    char *line, size_t linesz, struct b0_errmsg *em)
{
	char buf[B0_HTTP_HEAD_MAX + 1024];
	struct b0_http_resp resp;
	struct b0_buf *req = NULL;
	SSL *ssl = NULL;
	size_t len = 0, need;
	int fd = -1, r;

	*statusp = 0;
	line[0] = '\0';
	if ((r = edge_connect(e, &fd, em)) != 0)
		goto out;
	if ((r = b0_tls_client_new(ctx, fd, host, &ssl, em)) != 0)
		goto out;
	if ((r = b0_tls_handshake_timed(ssl, HANDSHAKE_TIMEOUT_MS, em)) != 0) {
		b0_err_prefix(em, "TLS to the edge %s for %s", e->domain, host);
		goto out;
	}
	if ((req = b0_buf_new(16384)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	b0_buf_set_secret(req);
	if ((r = b0_buf_putf(req,
		 "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n"
		 "Authorization: Bearer %s\r\n"
		 "User-Agent: b0-proxy/" B0_VERSION "\r\n\r\n",
		 host, (unsigned)port, host, (unsigned)port, token)) != 0) {
		b0_err_set(em, "the access token is too long");
		goto out;
	}
	if ((r = tls_write_all(ssl, req, em)) != 0 ||
	    (r = read_response(ssl, buf, sizeof(buf), &len, 0,
		 RESPONSE_TIMEOUT_MS, &resp, em)) != 0)
		goto out;
	*statusp = resp.status;
	if (resp.status == 200) {
		memcpy(
		    rl->down.d, buf + resp.h.head_len, len - resp.h.head_len);
		rl->down.len = len - resp.h.head_len;
		rl->ssl = ssl;
		ssl = NULL;
		fd = -1; /* transferred with the SSL */
		r = 0;
		goto out;
	}
	need = resp.h.head_len;
	if (resp.h.body == B0_HTTP_BODY_LENGTH)
		need += resp.h.content_length > 1024
			    ? 1024
			    : (size_t)resp.h.content_length;
	else if (resp.h.body == B0_HTTP_BODY_EOF)
		need = sizeof(buf);
	(void)read_response(
	    ssl, buf, sizeof(buf), &len, need, 5000, &resp, NULL);
	body_line(buf + resp.h.head_len, len - resp.h.head_len, line, linesz);
	r = B0_ERR_DENIED;
out:
	b0_buf_free(req);
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd != -1)
		close(fd);
	return r;
}

int
px_stream_run(const struct px_conf *c, const struct px_edge *e,
    const char *host, uint16_t port, int in, int out, int watch_fd,
    unsigned flags, struct b0_errmsg *em)
{
	static const char *const alpn[] = {"http/1.1", NULL};
	struct b0_tls_config cfg;
	struct b0_tls_ctx *ctx = NULL;
	struct relay *rl = NULL;
	char *token = NULL, *email = NULL, *rejected = NULL;
	char line[1024];
	sigset_t sigs;
	int r, status, attempt;

	memset(&cfg, 0, sizeof(cfg));
	cfg.ca = c->ca;
	cfg.alpn = alpn;
	if ((r = b0_tls_ctx_new_client(&cfg, &ctx, em)) != 0)
		goto out;
	if ((rl = calloc(1, sizeof(*rl))) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	rl->in = in;
	rl->out = out;
	rl->same = in == out;
	rl->sigfd = -1;
	for (attempt = 0;; attempt++) {
		if ((r = px_token_get(c, e, flags, rejected, watch_fd, &token,
			 &email, em)) != 0)
			goto out;
		r = open_stream(ctx, e, host, port, token, rl, &status, line,
		    sizeof(line), em);
		if (r != B0_ERR_DENIED)
			break;
		if (status == 401 && attempt == 0) {
			/* Revoked or expired early: refresh or sign in, once.
			 */
			px_debug(
			    "%s refused the access token: %s", e->domain, line);
			b0_str_wipe_free(rejected);
			rejected = token;
			token = NULL;
			free(email);
			email = NULL;
			continue;
		}
		switch (status) {
		case 401:
			b0_err_set(em, "not authorized on %s: %s", host, line);
			break;
		case 403:
			if (line[0] != '\0')
				b0_err_set(em, "access denied: %s", line);
			else
				b0_err_set(em,
				    "access denied: %s is not allowed on %s",
				    email ? email : "you", host);
			break;
		case 404:
			b0_err_set(em, "no such socket %s at %s%s%s", host,
			    e->domain, line[0] ? ": " : "", line);
			break;
		case 502:
			b0_err_set(em, "%s is unavailable%s%s", host,
			    line[0] ? ": " : "", line);
			break;
		case 504:
			b0_err_set(em, "%s did not answer in time%s%s", host,
			    line[0] ? ": " : "", line);
			break;
		default:
			b0_err_set(em, "the edge %s answered HTTP %d%s%s",
			    e->domain, status, line[0] ? ": " : "", line);
			break;
		}
		goto out;
	}
	if (r != 0)
		goto out;
	b0_str_wipe_free(token);
	token = NULL;
	px_debug(
	    "connected to %s:%u through %s", host, (unsigned)port, e->domain);
	set_nonblock(in);
	set_nonblock(out);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) == 0)
		rl->sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	r = relay_run(rl, em);
out:
	if (rl != NULL) {
		if (rl->sigfd != -1)
			close(rl->sigfd);
		if (rl->ssl != NULL) {
			int fd = SSL_get_fd(rl->ssl);

			SSL_free(rl->ssl);
			close(fd);
		}
		free(rl);
	}
	b0_tls_ctx_free(ctx);
	b0_str_wipe_free(token);
	b0_str_wipe_free(rejected);
	free(email);
	return r;
}
