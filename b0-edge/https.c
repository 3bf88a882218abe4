/*
 * b0-edge: the HTTPS front door (http.h).  A TLS connection on the edge's
 * port whose ALPN is http/1.1 or absent becomes a struct hconn here: it
 * reads requests strictly (b0_http), answers each through the handler
 * for the host the client named, and keeps the connection alive between
 * requests.  Pipelined requests are answered in order, one at a time.
 *
 * Timeouts keep slow clients from holding memory: a request must arrive
 * whole within REQUEST_MS of its first byte, an idle connection lives
 * IDLE_MS, and a response must drain within WRITE_MS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_str.h"
#include "edge.h"
#include "hproxy.h"
#include "http.h"
#include "idp.h"
#include "tconn.h"

#define REQUEST_MS 15000
#define IDLE_MS 60000
#define WRITE_MS 30000
#define READ_CHUNK (16 * 1024)
#define HCONN_MAX 4096 /* connections at once; more are closed at once */

enum hconn_state {
	H_READ = 0, /* reading (and answering) requests */
	H_WRITE,    /* a response is being written */
	H_SHUTDOWN  /* sending close_notify, then free */
};

struct hconn {
	struct edge *e;
	int fd;
	SSL *ssl;
	enum hconn_state state;
	int closing;	   /* close once the response is out */
	int want;	   /* what the last TLS call waits for */
	int sent_continue; /* 100 Continue sent for the current request */
	char peer[B0_ADDR_SIZE];
	char sni[256];
	struct b0_buf in;
	struct b0_buf out;
	struct b0_buf rhdr; /* the handler's extra headers */
	struct b0_buf rbody;
	size_t cur_len; /* bytes of the request being handled */
	uint64_t started;
	struct b0_timer timer;
	TAILQ_ENTRY(hconn) entry;
};

static unsigned nhconns;

static void hconn_io(
    struct b0_loop *loop, int fd, unsigned events, void *cookie);

const char *
hconn_peer(const struct hconn *hc)
{
	return hc->peer;
}

const char *
hconn_sni(const struct hconn *hc)
{
	return hc->sni;
}

static void
hconn_free(struct hconn *hc, int close_fd)
{
	struct edge *e = hc->e;

	b0_timer_cancel(e->loop, &hc->timer);
	TAILQ_REMOVE(&e->hconns, hc, entry);
	nhconns--;
	if (close_fd) {
		b0_loop_del(e->loop, hc->fd);
		SSL_free(hc->ssl);
		close(hc->fd);
	}
	b0_buf_cleanup(&hc->in);
	b0_buf_cleanup(&hc->out);
	b0_buf_cleanup(&hc->rhdr);
	b0_buf_cleanup(&hc->rbody);
	free(hc);
}

void
hconn_free_all(struct edge *e)
{
	struct hconn *hc;

	while ((hc = TAILQ_FIRST(&e->hconns)) != NULL)
		hconn_free(hc, 1);
}

static void
hconn_timeout(struct b0_loop *loop, void *cookie)
{
	struct hconn *hc = cookie;

	(void)loop;
	b0_debug(&hc->e->log, "%s: https: %s", hc->peer,
	    hc->state == H_WRITE      ? "response not taken in time"
	    : b0_buf_len(&hc->in) > 0 ? "request not complete in time"
				      : "idle connection closed");
	hconn_free(hc, 1);
}

/* Wait for what the connection needs next. */
static void
hconn_arm(struct hconn *hc)
{
	unsigned ev;

	if (hc->want == B0_TLS_WANT_WRITE)
		ev = B0_LOOP_WRITE;
	else if (hc->want == B0_TLS_WANT_READ)
		ev = B0_LOOP_READ;
	else
		ev = hc->state == H_READ ? B0_LOOP_READ : B0_LOOP_WRITE;
	b0_loop_mod(hc->e->loop, hc->fd, ev);
}

void
hconn_new(struct edge *e, int fd, SSL *ssl, const char *peer)
{
	struct hconn *hc;
	const char *sni;

	if (nhconns >= HCONN_MAX || (hc = calloc(1, sizeof(*hc))) == NULL) {
		b0_loop_del(e->loop, fd);
		SSL_free(ssl);
		close(fd);
		return;
	}
	hc->e = e;
	hc->fd = fd;
	hc->ssl = ssl;
	b0_strlcpy(hc->peer, peer, sizeof(hc->peer));
	if ((sni = b0_tls_sni(ssl)) != NULL) {
		b0_strlcpy(hc->sni, sni, sizeof(hc->sni));
		b0_str_lower(hc->sni);
	}
	b0_buf_init(&hc->in, B0_HTTP_HEAD_MAX + HTTP_BODY_MAX + READ_CHUNK);
	b0_buf_init(&hc->out, HTTP_RESP_MAX + B0_HTTP_HEAD_MAX);
	b0_buf_init(&hc->rhdr, B0_HTTP_HEAD_MAX);
	b0_buf_init(&hc->rbody, HTTP_RESP_MAX);
	/* Requests carry passwords and codes, responses tokens: wipe them. */
	b0_buf_set_secret(&hc->in);
	b0_buf_set_secret(&hc->out);
	b0_buf_set_secret(&hc->rbody);
	TAILQ_INSERT_TAIL(&e->hconns, hc, entry);
	nhconns++;
	if (b0_loop_add(e->loop, fd, B0_LOOP_READ, hconn_io, hc) != 0) {
		hconn_free(hc, 1);
		return;
	}
	b0_timer_set(e->loop, &hc->timer, REQUEST_MS, hconn_timeout, hc);
	/* TLS may hold request bytes read with the handshake. */
	hconn_io(e->loop, fd, B0_LOOP_READ, hc);
}

/* Response helpers for handlers (http.h). */

int
hresp_header(struct hresp *rs, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = b0_buf_putfv(rs->headers, fmt, ap);
	va_end(ap);
	if (r == 0)
		r = b0_buf_put(rs->headers, "\r\n", 2);
	return r;
}

void
hresp_text(struct hresp *rs, int status, const char *fmt, ...)
{
	va_list ap;

	rs->status = status;
	rs->content_type = "text/plain; charset=utf-8";
	b0_buf_reset(rs->body);
	va_start(ap, fmt);
	(void)b0_buf_putfv(rs->body, fmt, ap);
	va_end(ap);
	(void)b0_buf_put(rs->body, "\n", 1);
}

void
hresp_json(struct hresp *rs, int status)
{
	rs->status = status;
	rs->content_type = "application/json";
}

void
hresp_redirect(struct hresp *rs, const char *location)
{
	rs->status = 302;
	rs->content_type = NULL;
	b0_buf_reset(rs->body);
	(void)hresp_header(rs, "Location: %s", location);
}

int
hconn_take(struct hconn *hc, int *fdp, SSL **sslp, struct b0_buf *rest)
{
	size_t left;
	int r;

	left = b0_buf_len(&hc->in) - hc->cur_len;
	if (left > 0 && (r = b0_buf_put(rest, b0_buf_ptr(&hc->in) + hc->cur_len,
			     left)) != 0)
		return r;
	b0_loop_del(hc->e->loop, hc->fd);
	*fdp = hc->fd;
	*sslp = hc->ssl;
	hc->fd = -1;
	hc->ssl = NULL;
	return 0;
}

/* The host part of a Host value: "[v6]:port", "name:port" or "name". */
static void
host_only(const char *v, size_t n, char *out, size_t outsz)
{
	size_t i;

	if (n > 0 && v[0] == '[') {
		for (i = 0; i < n && v[i] != ']'; i++)
			;
		n = i < n ? i + 1 : n;
	} else {
		for (i = 0; i < n && v[i] != ':'; i++)
			;
		n = i;
	}
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	b0_str_lower(out);
}

static struct esock *
find_sock(struct edge *e, const char *dns)
{
	struct esock *k;

	TAILQ_FOREACH(k, &e->socks, entry)
	{
		if (strcmp(k->dns, dns) == 0)
			return k;
	}
	return NULL;
}

void
hresp_put(struct b0_buf *o, const char *method, const struct hresp *rs)
{
	char date[64];
	struct tm tm;
	time_t now;
	size_t blen = b0_buf_len(rs->body);
	int head = strcmp(method, "HEAD") == 0;

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	(void)b0_buf_putf(o, "HTTP/1.1 %d %s\r\nDate: %s\r\n", rs->status,
	    b0_http_reason(rs->status), date);
	if (rs->content_type != NULL)
		(void)b0_buf_putf(o, "Content-Type: %s\r\n", rs->content_type);
	(void)b0_buf_putf(o, "Content-Length: %zu\r\n", blen);
	if (rs->cache)
		(void)b0_buf_put_str(
		    o, "Cache-Control: public, max-age=300\r\n");
	else
		(void)b0_buf_put_str(
		    o, "Cache-Control: no-store\r\nPragma: no-cache\r\n");
	(void)b0_buf_put_str(o,
	    "X-Content-Type-Options: nosniff\r\n"
	    "Strict-Transport-Security: max-age=31536000\r\n");
	/* The sign-in form may end in a redirect to an http socket host. */
	if (rs->is_html)
		(void)b0_buf_putf(o,
		    "Content-Security-Policy: default-src 'none'; "
		    "style-src 'unsafe-inline'; img-src data:; "
		    "form-action 'self'%s%s http://127.0.0.1:* http://[::1]:*; "
		    "frame-ancestors 'none'; base-uri 'none'\r\n"
		    "X-Frame-Options: DENY\r\n"
		    "Referrer-Policy: no-referrer\r\n",
		    rs->form_action != NULL ? " " : "",
		    rs->form_action != NULL ? rs->form_action : "");
	if (rs->headers != NULL)
		(void)b0_buf_put(
		    o, b0_buf_ptr(rs->headers), b0_buf_len(rs->headers));
	(void)b0_buf_put_str(o, rs->close ? "Connection: close\r\n\r\n"
					  : "Connection: keep-alive\r\n\r\n");
	if (!head)
		(void)b0_buf_put(o, b0_buf_ptr(rs->body), blen);
}

static void
put_response(struct hconn *hc, const char *method, const struct hresp *rs)
{
	struct hresp c = *rs;

	c.close = rs->close || hc->closing;
	hresp_put(&hc->out, method, &c);
}

static int
is_http_sock(const struct esock *k)
{
	return k->sp.type == B0_SOCK_HTTP || k->sp.type == B0_SOCK_HTTPS;
}

/* Answer an unparsable request and close. */
static void
bad_request(struct hconn *hc, int status, const char *why)
{
	struct hresp rs;

	memset(&rs, 0, sizeof(rs));
	b0_buf_reset(&hc->rhdr);
	rs.headers = &hc->rhdr;
	rs.body = &hc->rbody;
	hresp_text(&rs, status, "%s", why);
	rs.close = 1;
	hc->closing = 1;
	b0_log_rl(&hc->e->log, &hc->e->rl_visitor, (time_t)b0_loop_wall(),
	    B0_LOG_INFO, "%s: https %s: %d %s", hc->peer,
	    hc->sni[0] ? hc->sni : "(no SNI)", status, why);
	put_response(hc, "GET", &rs);
	b0_buf_reset(&hc->in);
	hc->state = H_WRITE;
}

/*
 * Copy the parts of the request into NUL-terminated strings in mem and
 * fill rq.  Returns 0, or -1 if they do not fit (cannot happen within the
 * parser's limits, which mem is sized for).
 */
static int
fill_hreq(struct hconn *hc, const struct b0_http_req *req, char *mem,
    size_t memsz, const char *host, struct hreq *rq)
{
	size_t need = req->method_len + 2 * req->target_len + 3;
	const char *q;
	size_t plen;
	char *p = mem;

	if (need > memsz)
		return -1;
	memcpy(p, req->method, req->method_len);
	p[req->method_len] = '\0';
	rq->method = p;
	p += req->method_len + 1;
	memcpy(p, req->target, req->target_len);
	p[req->target_len] = '\0';
	rq->target = p;
	p += req->target_len + 1;
	q = memchr(req->target, '?', req->target_len);
	plen = q ? (size_t)(q - req->target) : req->target_len;
	memcpy(p, req->target, plen);
	p[plen] = '\0';
	rq->path = p;
	rq->query = q ? rq->target + plen + 1 : "";
	rq->e = hc->e;
	rq->hc = hc;
	rq->req = req;
	rq->host = host;
	rq->peer = hc->peer;
	return 0;
}

/* Handle the request at the start of hc->in, if it is whole. */
static int
handle_one(struct hconn *hc)
{
	struct edge *e = hc->e;
	struct b0_http_req req;
	struct b0_errmsg em;
	struct hresp rs;
	struct hreq rq;
	struct b0_http_limits lim;
	char host[256], mem[2 * B0_HTTP_LINE_MAX + 64];
	const uint8_t *p = b0_buf_ptr(&hc->in);
	size_t len = b0_buf_len(&hc->in), body = 0;
	struct esock *k, *hk = NULL;
	uint64_t t0;
	int r;

	if (len == 0)
		return 0;
	/* An http socket's requests go to hproxy.c, body and all. */
	if (hc->sni[0] != '\0' && (k = find_sock(e, hc->sni)) != NULL &&
	    is_http_sock(k))
		hk = k;
	lim.head_max = e->conf->http_head_max;
	lim.line_max = e->conf->http_line_max;
	lim.name_max = B0_HTTP_NAME_MAX;
	lim.fields_max = e->conf->http_fields_max;
	b0_err_clear(&em);
	r = b0_http_req_parse(
	    (const char *)p, len, hk != NULL ? &lim : NULL, &req, &em);
	if (r == B0_ERR_INCOMPLETE) {
		/* Whole requests are bounded: a buffer full of one is abuse. */
		if (b0_buf_avail(&hc->in) < READ_CHUNK)
			bad_request(hc, 431, "request too large");
		return 0;
	}
	if (r < 0) {
		bad_request(hc, req.h.error_status ? req.h.error_status : 400,
		    b0_err_text(&em, r));
		return 0;
	}
	if (hk != NULL) {
		/* hconn_take() hands hproxy.c this request as well. */
		r = 0;
		body = 0;
	} else if (req.h.body == B0_HTTP_BODY_CHUNKED) {
		bad_request(hc, 411,
		    "chunked request bodies are not accepted "
		    "here; send Content-Length");
		return 0;
	}
	if (hk == NULL && req.h.body == B0_HTTP_BODY_LENGTH) {
		if (req.h.content_length > HTTP_BODY_MAX) {
			bad_request(hc, 413, "request body too large");
			return 0;
		}
		body = (size_t)req.h.content_length;
	}
	if (len < (size_t)r + body) {
		if (!hc->sent_continue &&
		    b0_http_has_token(&req.h, "Expect", "100-continue")) {
			(void)b0_buf_put_str(
			    &hc->out, "HTTP/1.1 100 Continue\r\n\r\n");
			hc->sent_continue = 1;
			hc->state = H_WRITE;
		}
		return 0;
	}
	hc->cur_len = (size_t)r + body;

	/* The host: SNI, which must agree with Host when both are there. */
	host[0] = '\0';
	if (req.host != NULL)
		host_only(req.host, req.host_len, host, sizeof(host));
	if (hc->sni[0] != '\0') {
		if (host[0] != '\0' && strcmp(host, hc->sni) != 0) {
			bad_request(hc, 421,
			    "the Host header names another host than the "
			    "TLS server name");
			return 0;
		}
		b0_strlcpy(host, hc->sni, sizeof(host));
	}
	if (host[0] == '\0') {
		bad_request(hc, 400, "no host named (TLS server name or Host)");
		return 0;
	}

	memset(&rq, 0, sizeof(rq));
	if (fill_hreq(hc, &req, mem, sizeof(mem), host, &rq) != 0) {
		bad_request(hc, 414, "request target too long");
		return 0;
	}
	rq.body = p + r;
	rq.body_len = body;
	if (req.h.minor == 0
		? !b0_http_has_token(&req.h, "Connection", "keep-alive")
		: b0_http_has_token(&req.h, "Connection", "close"))
		hc->closing = 1;

	memset(&rs, 0, sizeof(rs));
	b0_buf_reset(&hc->rhdr);
	b0_buf_reset(&hc->rbody);
	rs.headers = &hc->rhdr;
	rs.body = &hc->rbody;
	t0 = b0_loop_now(e->loop);
	if (strcmp(host, e->conf->domain) == 0)
		idp_handle(e->idp, &rq, &rs);
	else if (hk != NULL)
		hproxy_handle(hk, &rq, &rs);
	else if ((k = find_sock(e, host)) != NULL &&
		 b0_str_has_prefix(k->spec, "tls/"))
		tconn_handle(k, &rq, &rs);
	else if (k != NULL)
		hresp_text(&rs, 421, "%s is not served on this port", host);
	else
		hresp_text(&rs, 404, "no socket named %s on this edge", host);

	if (rs.status == 0 && hc->fd == -1) {
		/* Taken over (a tls socket's stream, an http socket). */
		hconn_free(hc, 0);
		return -1;
	}
	if (rs.status < 100 || rs.status > 599) {
		b0_error(&e->log, "%s: https %s %s: handler gave status %d",
		    hc->peer, rq.method, rq.path, rs.status);
		hresp_text(&rs, 500, "internal error");
		rs.close = 1;
	}
	if (rs.close)
		hc->closing = 1;
	put_response(hc, rq.method, &rs);
	b0_info(&e->log, "%s: https %s %s %s: %d, %zu bytes, %llu ms", hc->peer,
	    host, rq.method, rq.path, rs.status, b0_buf_len(rs.body),
	    (unsigned long long)(b0_loop_now(e->loop) - t0));
	b0_buf_consume(&hc->in, hc->cur_len);
	hc->cur_len = 0;
	hc->sent_continue = 0;
	hc->state = H_WRITE;
	return 0;
}

/* Write what is queued.  Returns 0, or -1 if hc was freed. */
static int
hconn_flush(struct hconn *hc)
{
	struct b0_errmsg em;
	int n;

	while (b0_buf_len(&hc->out) > 0) {
		n = b0_tls_write(hc->ssl, b0_buf_ptr(&hc->out),
		    b0_buf_len(&hc->out), &hc->want, &em);
		if (n == B0_ERR_AGAIN)
			return 0;
		if (n < 0) {
			b0_debug(&hc->e->log, "%s: https write: %s", hc->peer,
			    b0_err_text(&em, n));
			hconn_free(hc, 1);
			return -1;
		}
		b0_buf_consume(&hc->out, (size_t)n);
	}
	hc->want = B0_TLS_WANT_NONE;
	if (hc->closing) {
		hc->state = H_SHUTDOWN;
		n = b0_tls_shutdown(hc->ssl, &hc->want, &em);
		if (n == B0_ERR_AGAIN)
			return 0;
		hconn_free(hc, 1);
		return -1;
	}
	hc->state = H_READ;
	b0_timer_set(hc->e->loop, &hc->timer,
	    b0_buf_len(&hc->in) > 0 ? REQUEST_MS : IDLE_MS, hconn_timeout, hc);
	return 0;
}

/* Read what TLS has.  Returns 0, or -1 if hc was freed. */
static int
hconn_read(struct hconn *hc)
{
	struct b0_errmsg em;
	uint8_t *d;
	int n, was_empty = b0_buf_len(&hc->in) == 0;

	/* Stop when full: handle_one() makes room, or refuses. */
	while (b0_buf_avail(&hc->in) >= READ_CHUNK) {
		if (b0_buf_reserve(&hc->in, READ_CHUNK, &d) != 0) {
			hconn_free(hc, 1);
			return -1;
		}
		n = b0_tls_read(hc->ssl, d, READ_CHUNK, &hc->want, &em);
		b0_buf_unreserve(&hc->in, READ_CHUNK - (n > 0 ? (size_t)n : 0));
		if (n == B0_ERR_AGAIN)
			break;
		if (n < 0) {
			/* The client is gone (or closed cleanly). */
			hconn_free(hc, 1);
			return -1;
		}
		if (was_empty) {
			was_empty = 0;
			b0_timer_set(hc->e->loop, &hc->timer, REQUEST_MS,
			    hconn_timeout, hc);
		}
	}
	return 0;
}

static void
hconn_process(struct hconn *hc)
{
	for (;;) {
		if (hc->state == H_READ) {
			if (hconn_read(hc) != 0)
				return;
			if (hc->state == H_READ && handle_one(hc) != 0)
				return;
			if (hc->state == H_READ)
				break;
		}
		if (hc->state == H_WRITE || hc->state == H_SHUTDOWN) {
			if (hconn_flush(hc) != 0)
				return;
			if (hc->state != H_READ)
				break;
			/* A pipelined request may be waiting in hc->in. */
			if (handle_one(hc) != 0)
				return;
			if (hc->state == H_READ)
				continue;
		}
	}
	hconn_arm(hc);
}

static void
hconn_io(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct hconn *hc = cookie;

	(void)loop;
	(void)fd;
	(void)events;
	if (hc->state == H_WRITE)
		b0_timer_set(
		    hc->e->loop, &hc->timer, WRITE_MS, hconn_timeout, hc);
	hconn_process(hc);
}
