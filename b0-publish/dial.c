/*
 * b0-publish: connections to the edge, made without blocking: TCP to the
 * edge (or to an HTTP proxy, then CONNECT through it), then TLS 1.3 with
 * ALPN b0/1, verifying the edge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b0_b64.h"
#include "b0_net.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "b0_version.h"
#include "pub.h"

#define DIAL_TIMEOUT_MS 15000
#define PROXY_REPLY_MAX 8192
#define KEEPALIVE_S 30

enum { D_TCP, D_PROXY_WRITE, D_PROXY_READ, D_TLS };

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes of s into out (NUL-terminated); RFC 3986. */
static int
pct_decode(const char *s, size_t n, char *out, size_t size)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (o + 1 >= size)
			return B0_ERR_TOO_BIG;
		if (s[i] == '%') {
			if (i + 2 >= n)
				return B0_ERR_FORMAT;
			if ((hi = unhex(s[i + 1])) < 0 ||
			    (lo = unhex(s[i + 2])) < 0)
				return B0_ERR_FORMAT;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return 0;
}

/*
 * Resolve where to dial, once per control connection attempt: the proxy
 * (with its credentials as a Proxy-Authorization value) or the edge.
 */
int
dial_setup(struct pub *p, struct b0_errmsg *em)
{
	const struct pub_conf *c = p->conf;
	const char *hp, *at;
	char cred[256], b64[400];
	int r;

	p->proxy_host[0] = '\0';
	OPENSSL_cleanse(p->proxy_auth, sizeof(p->proxy_auth));
	if (c->proxy == NULL)
		return b0_net_resolve(c->edge_host, c->edge_port, &p->dial_addr,
		    &p->dial_addrlen, em);
	hp = c->proxy + 7; /* after http:// */
	if ((at = strrchr(hp, '@')) != NULL) {
		const char *colon = memchr(hp, ':', (size_t)(at - hp));
		char user[128], pass[128];

		if (colon == NULL ||
		    pct_decode(hp, (size_t)(colon - hp), user, sizeof(user)) !=
			0 ||
		    pct_decode(colon + 1, (size_t)(at - colon - 1), pass,
			sizeof(pass)) != 0) {
			b0_err_set(em, "proxy: credentials are not "
				       "user:password (percent-encoded)");
			return B0_ERR_CONFIG;
		}
		snprintf(cred, sizeof(cred), "%s:%s", user, pass);
		OPENSSL_cleanse(pass, sizeof(pass));
		r = b0_b64_encode(
		    (const uint8_t *)cred, strlen(cred), b64, sizeof(b64));
		OPENSSL_cleanse(cred, sizeof(cred));
		if (r != 0)
			return r;
		snprintf(p->proxy_auth, sizeof(p->proxy_auth), "Basic %s", b64);
		OPENSSL_cleanse(b64, sizeof(b64));
		hp = at + 1;
	}
	if ((r = b0_parse_hostport(hp, p->proxy_host, sizeof(p->proxy_host),
		 &p->proxy_port)) != 0) {
		b0_err_set(em, "proxy: \"%s\" is not host:port", hp);
		return B0_ERR_CONFIG;
	}
	if ((r = b0_net_resolve(p->proxy_host, p->proxy_port, &p->dial_addr,
		 &p->dial_addrlen, em)) != 0)
		b0_err_prefix(em, "proxy");
	return r;
}

void
dial_free(struct dial *d)
{
	struct pub *p = d->p;

	TAILQ_REMOVE(&p->dials, d, entry);
	if (d->purpose == DIAL_DATA)
		p->ndial_data--;
	b0_timer_cancel(p->loop, &d->timer);
	if (d->fd != -1) {
		b0_loop_del(p->loop, d->fd);
		close(d->fd);
	}
	SSL_free(d->ssl);
	b0_buf_cleanup(&d->io);
	free(d);
}

static void
finish(struct dial *d, int r, const char *why)
{
	void (*done)(struct dial *, int, const char *) = d->done;

	b0_timer_cancel(d->p->loop, &d->timer);
	if (d->fd != -1)
		b0_loop_del(d->p->loop, d->fd);
	done(d, r, why);
}

static void
dial_timeout(struct b0_loop *loop, void *cookie)
{
	struct dial *d = cookie;

	(void)loop;
	finish(d, B0_ERR_TIMEOUT,
	    d->state == D_TLS	? "TLS handshake timed out"
	    : d->state == D_TCP ? "connect timed out"
				: "proxy did not answer CONNECT in time");
}

static void dial_io(
    struct b0_loop *loop, int fd, unsigned events, void *cookie);

static void
start_tls(struct dial *d)
{
	struct pub *p = d->p;
	const char *name =
	    p->conf->server_name ? p->conf->server_name : p->conf->edge_host;
	struct b0_errmsg em;
	int r;

	d->state = D_TLS;
	if ((r = b0_tls_client_new(p->tls, d->fd, name, &d->ssl, &em)) != 0) {
		finish(d, r, b0_err_text(&em, r));
		return;
	}
	dial_io(p->loop, d->fd, B0_LOOP_WRITE, d);
}

static void
proxy_request(struct dial *d)
{
	const struct pub *p = d->p;
	char hp[300];

	snprintf(hp, sizeof(hp),
	    strchr(p->conf->edge_host, ':') ? "[%s]:%u" : "%s:%u",
	    p->conf->edge_host, (unsigned)p->conf->edge_port);
	b0_buf_set_secret(&d->io);
	b0_buf_putf(&d->io, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", hp, hp);
	if (p->proxy_auth[0] != '\0')
		b0_buf_putf(
		    &d->io, "Proxy-Authorization: %s\r\n", p->proxy_auth);
	b0_buf_putf(&d->io, "User-Agent: b0-publish/%s\r\n\r\n", B0_VERSION);
	d->state = D_PROXY_WRITE;
}

/* Check the proxy's answer to CONNECT: a 2xx status line, then headers. */
static int
proxy_reply(struct dial *d, char *why, size_t size)
{
	const char *s, *end;
	uint32_t status;
	size_t n;

	if (b0_buf_cstr(&d->io, &s) != 0) {
		snprintf(why, size, "proxy sent a NUL byte");
		return B0_ERR_PROTOCOL;
	}
	if ((end = strstr(s, "\r\n\r\n")) == NULL)
		return B0_ERR_INCOMPLETE;
	if ((size_t)(end + 4 - s) != b0_buf_len(&d->io)) {
		snprintf(why, size, "proxy sent data after its answer");
		return B0_ERR_PROTOCOL;
	}
	n = strcspn(s, "\r\n");
	if (strncmp(s, "HTTP/1.", 7) != 0 || n < 12 || s[8] != ' ' ||
	    b0_parse_u32n(s + 9, 3, 100, 599, &status) != 0) {
		snprintf(why, size, "proxy %s:%u does not speak HTTP",
		    d->p->proxy_host, (unsigned)d->p->proxy_port);
		return B0_ERR_PROTOCOL;
	}
	if (status / 100 != 2) {
		snprintf(why, size, "proxy %s:%u refused CONNECT: %.*s%s",
		    d->p->proxy_host, (unsigned)d->p->proxy_port,
		    (int)(n > 80 ? 80 : n), s,
		    /* tinyproxy answers a bad BasicAuth with 401. */
		    status == 407 || status == 401
			? " (wrong or missing proxy credentials)"
			: "");
		return B0_ERR_DENIED;
	}
	return 0;
}

static void
dial_io(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct dial *d = cookie;
	struct b0_errmsg em;
	char why[256];
	int r, want;

	(void)events;
	switch (d->state) {
	case D_TCP:
		if ((r = b0_net_connect_result(fd)) != 0) {
			snprintf(why, sizeof(why), "connect to %s%s: %s",
			    d->p->proxy_host[0] ? "proxy " : "",
			    d->p->proxy_host[0] ? d->p->proxy_host
						: d->p->conf->edge_host,
			    b0_strerror(r));
			finish(d, r, why);
			return;
		}
		if (d->p->proxy_host[0] == '\0') {
			start_tls(d);
			return;
		}
		proxy_request(d);
		/* FALLTHROUGH */
	case D_PROXY_WRITE:
		r = b0_buf_write_fd(&d->io, fd);
		if (r < 0 && r != B0_ERR_AGAIN) {
			finish(d, r, "writing to the proxy failed");
			return;
		}
		if (b0_buf_len(&d->io) > 0) {
			b0_loop_mod(loop, fd, B0_LOOP_WRITE);
			return;
		}
		b0_buf_reset(&d->io);
		d->state = D_PROXY_READ;
		b0_loop_mod(loop, fd, B0_LOOP_READ);
		return;
	case D_PROXY_READ:
		/* Byte by byte: what follows the answer belongs to TLS. */
		r = b0_buf_read_fd(&d->io, fd, 1);
		if (r == B0_ERR_AGAIN)
			return;
		if (r < 0) {
			finish(d, r,
			    r == B0_ERR_EOF ? "proxy closed the "
					      "connection"
					    : "reading from the proxy "
					      "failed");
			return;
		}
		if ((r = proxy_reply(d, why, sizeof(why))) == B0_ERR_INCOMPLETE)
			return;
		if (r != 0) {
			finish(d, r, why);
			return;
		}
		b0_buf_cleanup(&d->io);
		start_tls(d);
		return;
	case D_TLS:
		r = b0_tls_handshake(d->ssl, &want, &em);
		if (r == B0_ERR_AGAIN) {
			b0_loop_mod(loop, fd,
			    want == B0_TLS_WANT_WRITE ? B0_LOOP_WRITE
						      : B0_LOOP_READ);
			return;
		}
		if (r != 0) {
			snprintf(why, sizeof(why), "TLS with the edge: %s",
			    b0_err_text(&em, r));
			finish(d, r, why);
			return;
		}
		finish(d, 0, NULL);
		return;
	}
}

int
dial_start(struct pub *p, enum dial_purpose purpose,
    void (*done)(struct dial *d, int r, const char *why))
{
	struct dial *d;
	int r, fd;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return B0_ERR_ALLOC;
	d->p = p;
	d->purpose = purpose;
	d->done = done;
	d->fd = -1;
	d->state = D_TCP;
	b0_buf_init(&d->io, PROXY_REPLY_MAX);
	TAILQ_INSERT_TAIL(&p->dials, d, entry);
	if (purpose == DIAL_DATA)
		p->ndial_data++;
	r = b0_net_connect(
	    (struct sockaddr *)&p->dial_addr, p->dial_addrlen, &fd);
	if (r != 0 && r != B0_ERR_AGAIN) {
		dial_free(d);
		return r;
	}
	d->fd = fd;
	b0_net_tune(fd, KEEPALIVE_S);
	if ((r = b0_loop_add(p->loop, fd, B0_LOOP_WRITE, dial_io, d)) != 0) {
		dial_free(d);
		return r;
	}
	b0_timer_set(p->loop, &d->timer, DIAL_TIMEOUT_MS, dial_timeout, d);
	return 0;
}
