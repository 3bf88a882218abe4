/*
 * b0-edge: the reverse proxy of http and https sockets (hproxy.h,
 * docs/http.md "At the edge").
 *
 * One struct hpconn per visitor connection, taken from the front door on
 * its first request.  Towards the publisher it speaks plain HTTP/1.1 over
 * one end of a socketpair; the other end is a visitor of the socket
 * (visitor_add()), so the data channel, POOL and the relay are those of
 * tcp sockets.  One visitor connection is one stream, one connection to
 * the target, and its requests are served one at a time, in order: a
 * request head (b0_http, the limits of edge.conf), hauth_request(), the
 * head towards the target (docs/http.md "Headers towards the target"),
 * the body (Content-Length counted, chunked decoded and re-encoded), the
 * target's response head (parsed as strictly), its body by its framing,
 * then the next request.  After a WebSocket upgrade's 101 both directions
 * are relayed as bytes.
 *
 * Flow control: every buffer has a ceiling, and a side is read only
 * while the buffer it fills has room (STYLE.md: stop reading a side
 * whose peer is full).  Everything runs in pump(), called on any event:
 * it reads, moves and writes until nothing moves, then waits for what it
 * needs.  Functions below never free the connection; they set
 * HP_DEAD and pump() frees it.
 */
#include <sys/socket.h>

#include <openssl/crypto.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "b0_net.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "edge.h"
#include "hauth.h"
#include "hproxy.h"
#include "http.h"
#include "pages.h"

#define CHUNK (16 * 1024)
#define UIN_MAX (64 * 1024)   /* the target's bytes not yet moved */
#define BODY_HIGH (64 * 1024) /* body bytes queued towards a side */
#define WRITE_MS 30000	      /* a closing answer must drain by then */
#define HEAD_MS 15000
#define LINGER_MS 2000	       /* after close_notify, the client's EOF */
#define DRAIN_MAX (256 * 1024) /* input discarded while closing */
#define KEEPALIVE_S 60	       /* TCP keepalive on the visitor */
#define PEER_IP_SIZE B0_ADDR_SIZE

enum hp_state {
	HP_HTTP = 0, /* requests and responses */
	HP_TUNNEL,   /* after a 101: bytes both ways */
	HP_CLOSING,  /* the last answer drains, then close_notify */
	HP_LINGER,   /* close_notify sent: wait for the client's EOF */
	HP_DEAD	     /* pump() frees it */
};

enum rq_state {
	RQ_NONE = 0, /* no request being served */
	RQ_LENGTH,   /* Content-Length bytes to move */
	RQ_CHUNKED,  /* a chunked body to decode and re-encode */
	RQ_DONE	     /* the request is out; its response is awaited */
};

enum rs_state {
	RS_NONE = 0,
	RS_HEAD,    /* waiting for the target's response head */
	RS_LENGTH,  /* Content-Length bytes */
	RS_CHUNKED, /* passed through; the decoder finds its end */
	RS_EOF,	    /* until the target closes */
	RS_DONE
};

enum hp_timer {
	TM_NONE = 0,
	TM_IDLE,     /* between requests, a request body that stalls, or a
			visitor who does not read the response */
	TM_UPSTREAM, /* the target's response head */
	TM_HEAD,     /* a request head, once begun, must arrive whole */
	TM_WRITE,    /* the closing answer */
	TM_LINGER
};

struct hpconn {
	struct edge *e;
	struct esock *k;
	enum hp_state state;
	/* The visitor: TLS. */
	int vfd;
	SSL *ssl;
	int vrwant, vwwant; /* what the last read, write waits for */
	int v_eof;
	int shut_sent;
	size_t drained;
	struct b0_buf vin, vout;
	/* The publisher: our end of the socketpair. */
	int ufd;
	int u_eof;
	struct b0_buf uin, uout;
	char peer[B0_ADDR_SIZE];
	char ip[PEER_IP_SIZE];
	/* The request being served. */
	enum rq_state rq;
	enum rs_state rs;
	int closing;		/* close after this exchange */
	int ws;			/* a WebSocket upgrade was asked for */
	int head_req;		/* HEAD: the response has no body */
	int html;		/* the request's Accept has text/html */
	int expect;		/* the request asked for 100-continue */
	char why[B0_TEXT_SIZE]; /* how the stream ended, if it did */
	int v10;		/* an HTTP/1.0 visitor */
	uint64_t left;		/* RQ_LENGTH, RS_LENGTH: bytes to go */
	size_t cur_head; /* bytes of the request head at the start of vin */
	struct b0_http_chunked rqc, rsc;
	struct b0_buf chunk; /* decoded request chunk data */
	char method[32];
	char path[256];
	char ident[HAUTH_EMAIL_SIZE + 8];
	int status;
	uint64_t rbytes;   /* response body bytes */
	uint64_t up, down; /* tunnel bytes */
	uint64_t t0;
	enum hp_timer tmode;
	struct b0_timer timer;
	struct b0_timer defer;
	TAILQ_ENTRY(hpconn) entry;
};

static void pump(struct hpconn *c);
static void log_request(struct hpconn *c);
static void hp_io(struct b0_loop *loop, int fd, unsigned events, void *cookie);
static void hp_start(struct b0_loop *loop, void *cookie);

static void
hp_free(struct hpconn *c)
{
	struct edge *e = c->e;

	log_request(c); /* a response cut short, a WebSocket that ended */
	b0_timer_cancel(e->loop, &c->timer);
	b0_timer_cancel(e->loop, &c->defer);
	TAILQ_REMOVE(&e->hpconns, c, entry);
	if (c->vfd != -1) {
		b0_loop_del(e->loop, c->vfd);
		close(c->vfd);
	}
	SSL_free(c->ssl);
	if (c->ufd != -1) {
		b0_loop_del(e->loop, c->ufd);
		close(c->ufd);
	}
	b0_buf_cleanup(&c->vin);
	b0_buf_cleanup(&c->vout);
	b0_buf_cleanup(&c->uin);
	b0_buf_cleanup(&c->uout);
	b0_buf_cleanup(&c->chunk);
	free(c);
}

void
hproxy_free_all(struct edge *e)
{
	struct hpconn *c;

	while ((c = TAILQ_FIRST(&e->hpconns)) != NULL)
		hp_free(c);
}

void
hproxy_stream_end(
    struct edge *e, const char *dns, const char *visitor, const char *how)
{
	struct hpconn *c;
	const char *p;

	if ((p = strstr(how, ": ")) != NULL &&
	    (b0_str_has_prefix(how, "reset by peer") ||
		b0_str_has_prefix(how, "refused")))
		how = p + 2;
	if (b0_str_has_prefix(how, "connect "))
		how += 8;
	TAILQ_FOREACH(c, &e->hpconns, entry)
	{
		if (c->ufd != -1 && c->k != NULL &&
		    strcmp(c->k->dns, dns) == 0 &&
		    strcmp(c->peer, visitor) == 0) {
			b0_strlcpy(c->why, how, sizeof(c->why));
			return;
		}
	}
}

void
hproxy_drop_socket(struct esock *k)
{
	struct hpconn *c, *next;

	for (c = TAILQ_FIRST(&k->e->hpconns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->k == k) {
			b0_info(&k->e->log,
			    "http %s %s: closed: the socket was removed",
			    k->dns, c->peer);
			hp_free(c);
		}
	}
}

/* The access log line of docs/http.md, once a response is out. */
static void
log_request(struct hpconn *c)
{
	struct edge *e = c->e;
	unsigned long long ms = b0_loop_now(e->loop) - c->t0;

	if (c->status == 0)
		return;
	if (c->status == 101)
		b0_info(&e->log, "http %s %s %s %s %s 101 %llu/%llu %llums",
		    c->k != NULL ? c->k->dns : "-", c->peer,
		    c->ident[0] ? c->ident : "-", c->method, c->path,
		    (unsigned long long)c->up, (unsigned long long)c->down, ms);
	else
		b0_info(&e->log, "http %s %s %s %s %s %d %llu %llums",
		    c->k != NULL ? c->k->dns : "-", c->peer,
		    c->ident[0] ? c->ident : "-", c->method, c->path, c->status,
		    (unsigned long long)c->rbytes, ms);
	c->status = 0;
}

/* Start closing: what is queued for the visitor goes out first. */
static void
start_close(struct hpconn *c)
{
	if (c->state == HP_DEAD || c->state == HP_CLOSING ||
	    c->state == HP_LINGER)
		return;
	c->state = HP_CLOSING;
	if (c->ufd != -1) {
		b0_loop_del(c->e->loop, c->ufd);
		close(c->ufd);
		c->ufd = -1;
	}
	b0_buf_reset(&c->vin);
	b0_buf_reset(&c->uin);
	b0_buf_reset(&c->uout);
}

static int
accepts_html(const struct b0_http_head *h)
{
	const char *v;
	size_t i, n;

	for (i = 0; i < h->nfields; i++) {
		if (!b0_http_field_is(&h->fields[i], "Accept"))
			continue;
		v = h->fields[i].value;
		n = h->fields[i].value_len;
		if (n >= 9 && memmem(v, n, "text/html", 9) != NULL)
			return 1;
	}
	return 0;
}

/*
 * Answer the current request ourselves with rs (hauth's, or an error),
 * and close after it if close or the exchange cannot go on.
 */
static void
answer(struct hpconn *c, struct hresp *rs, int close_after)
{
	if (close_after || c->closing)
		rs->close = 1;
	b0_buf_reset(&c->vout);
	hresp_put(&c->vout, c->method[0] ? c->method : "GET", rs);
	c->status = rs->status;
	c->rbytes = strcmp(c->method, "HEAD") == 0 ? 0 : b0_buf_len(rs->body);
	log_request(c);
	c->rq = RQ_NONE;
	c->rs = RS_NONE;
	if (rs->close) {
		start_close(c);
	} else {
		/* A request without a body: the next one follows. */
		b0_buf_consume(&c->vin, c->cur_head);
	}
	c->cur_head = 0;
}

/* An error page (HTML when the request accepts it) and close, or not. */
static void __attribute__((format(printf, 5, 6)))
answer_error(struct hpconn *c, const struct b0_http_head *h, int status,
    int close_after, const char *fmt, ...)
{
	struct b0_buf hdr, body;
	struct hresp rs;
	char text[B0_TEXT_SIZE + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	b0_buf_init(&hdr, B0_HTTP_HEAD_MAX);
	b0_buf_init(&body, HTTP_RESP_MAX);
	memset(&rs, 0, sizeof(rs));
	rs.headers = &hdr;
	rs.body = &body;
	if ((h != NULL && accepts_html(h)) || (h == NULL && c->html))
		page_error(&rs, status, b0_http_reason(status), text);
	else
		hresp_text(&rs, status, "%s", text);
	answer(c, &rs, close_after);
	b0_buf_cleanup(&hdr);
	b0_buf_cleanup(&body);
}

/* "ip:port" or "[v6]:port" -> the address alone (no brackets). */
static void
peer_ip(const char *peer, char *out, size_t outsz)
{
	const char *end;
	size_t n;

	if (peer[0] == '[') {
		peer++;
		end = strchr(peer, ']');
	} else {
		end = strrchr(peer, ':');
	}
	n = end != NULL ? (size_t)(end - peer) : strlen(peer);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, peer, n);
	out[n] = '\0';
}

/* Is the Host value v[0, n) the socket's name, with the edge's port? */
static int
host_ok(const struct hpconn *c, const char *v, size_t n)
{
	const char *dns = c->k->dns;
	size_t dl = strlen(dns);
	uint32_t port;

	if (n < dl || strncasecmp(v, dns, dl) != 0)
		return 0;
	if (n == dl)
		return 1;
	if (v[dl] != ':' ||
	    b0_parse_u32n(v + dl + 1, n - dl - 1, 1, 65535, &port) != 0)
		return 0;
	return port == c->e->https_port;
}

/* Is field f named in the Connection header(s) of h? */
static int
named_in_connection(const struct b0_http_head *h, const struct b0_http_field *f)
{
	char name[B0_HTTP_NAME_MAX + 1];

	if (f->name_len >= sizeof(name))
		return 0;
	memcpy(name, f->name, f->name_len);
	name[f->name_len] = '\0';
	return b0_http_has_token(h, "Connection", name);
}

static int
is_hop_by_hop(const struct b0_http_head *h, const struct b0_http_field *f)
{
	static const char *const hop[] = {"Connection", "Keep-Alive",
	    "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
	    "Content-Length"};
	size_t i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (b0_http_field_is(f, hop[i]))
			return 1;
	return named_in_connection(h, f);
}

/* Append v[0, n) to out with the cookie named name removed. */
static int
put_cookies(
    struct b0_buf *out, const char *v, size_t n, const char *name, int *firstp)
{
	size_t i = 0, s, e, nl = strlen(name);
	int r;

	while (i < n) {
		for (s = i; s < n && (v[s] == ' ' || v[s] == '\t'); s++)
			;
		for (e = s; e < n && v[e] != ';'; e++)
			;
		i = e + 1;
		if (e == s)
			continue;
		if ((size_t)(e - s) > nl && memcmp(v + s, name, nl) == 0 &&
		    v[s + nl] == '=')
			continue;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if ((r = b0_buf_put_str(out, *firstp ? "Cookie: " : "; ")) !=
			0 ||
		    (r = b0_buf_put(out, v + s, e - s)) != 0)
			return r;
		*firstp = 0;
	}
	return 0;
}

/* Forwarded's node: an IPv4 address alone is a token; the rest quoted. */
static int
put_forwarded(
    struct b0_buf *o, const struct hpconn *c, const char *host, size_t hlen)
{
	int r;

	r = b0_buf_putf(o, "for=\"%s\";", c->peer);
	if (r == 0 && memchr(host, ':', hlen) != NULL)
		r = b0_buf_putf(o, "host=\"%.*s\";", (int)hlen, host);
	else if (r == 0)
		r = b0_buf_putf(o, "host=%.*s;", (int)hlen, host);
	if (r == 0)
		r = b0_buf_put_str(o, "proto=https\r\n");
	return r;
}

/* Both values of the fields named name, joined by ", ", then ", ". */
static int
put_joined(struct b0_buf *o, const struct b0_http_head *h, const char *name)
{
	size_t i;
	int r;

	for (i = 0; i < h->nfields; i++) {
		if (!b0_http_field_is(&h->fields[i], name) ||
		    h->fields[i].value_len == 0)
			continue;
		if ((r = b0_buf_put(
			 o, h->fields[i].value, h->fields[i].value_len)) != 0 ||
		    (r = b0_buf_put_str(o, ", ")) != 0)
			return r;
	}
	return 0;
}

/* The request head towards the target (docs/http.md). */
static int
build_head(
    struct hpconn *c, const struct b0_http_req *req, const struct hwho *who)
{
	struct b0_buf *o = &c->uout;
	const struct b0_http_head *h = &req->h;
	const struct b0_http_field *f;
	const char *host;
	size_t i, hlen;
	int r = 0, first = 1;

	if (req->host != NULL) {
		host = req->host;
		hlen = req->host_len;
	} else {
		host = c->k->dns;
		hlen = strlen(host);
	}
	r = b0_buf_putf(o, "%.*s %.*s HTTP/1.%d\r\n", (int)req->method_len,
	    req->method, (int)req->target_len, req->target, req->h.minor);
	if (r == 0 && c->k->host[0] != '\0')
		r = b0_buf_putf(o, "Host: %s\r\n", c->k->host);
	else if (r == 0)
		r = b0_buf_putf(o, "Host: %.*s\r\n", (int)hlen, host);
	for (i = 0; r == 0 && i < h->nfields; i++) {
		f = &h->fields[i];
		if (is_hop_by_hop(h, f) || b0_http_field_is(f, "Host") ||
		    (f->name_len >= 5 &&
			strncasecmp(f->name, "X-B0-", 5) == 0) ||
		    b0_http_field_is(f, "X-Real-IP") ||
		    b0_http_field_is(f, "X-Forwarded-Proto") ||
		    b0_http_field_is(f, "X-Forwarded-Host") ||
		    b0_http_field_is(f, "X-Forwarded-For") ||
		    b0_http_field_is(f, "Forwarded") ||
		    (who->strip_authorization &&
			b0_http_field_is(f, "Authorization")))
			continue;
		if (b0_http_field_is(f, "Cookie"))
			continue;
		r = b0_buf_putf(o, "%.*s: %.*s\r\n", (int)f->name_len, f->name,
		    (int)f->value_len, f->value);
	}
	/* Cookie fields become one (RFC 6265 section 5.4), ours left out. */
	for (i = 0; r == 0 && i < h->nfields; i++) {
		f = &h->fields[i];
		if (b0_http_field_is(f, "Cookie"))
			r = put_cookies(
			    o, f->value, f->value_len, HAUTH_COOKIE, &first);
	}
	if (r == 0 && !first)
		r = b0_buf_put_str(o, "\r\n");
	if (r == 0)
		r = b0_buf_put_str(o, "X-Forwarded-For: ");
	if (r == 0)
		r = put_joined(o, h, "X-Forwarded-For");
	if (r == 0)
		r = b0_buf_putf(o, "%s\r\nForwarded: ", c->ip);
	if (r == 0)
		r = put_joined(o, h, "Forwarded");
	if (r == 0)
		r = put_forwarded(o, c, host, hlen);
	if (r == 0)
		r = b0_buf_putf(o,
		    "X-Forwarded-Proto: https\r\n"
		    "X-Forwarded-Host: %s\r\n"
		    "X-Real-IP: %s\r\n"
		    "X-B0-Auth: %s\r\n",
		    c->k->dns, c->ip,
		    who->via == HAUTH_SESSION  ? "session"
		    : who->via == HAUTH_BEARER ? "bearer"
					       : "none");
	if (r == 0 && who->via != HAUTH_NONE && who->email[0] != '\0')
		r = b0_buf_putf(o, "X-B0-Email: %s\r\n", who->email);
	if (r == 0 && who->user[0] != '\0')
		r = b0_buf_putf(o, "X-B0-User: %s\r\n", who->user);
	if (r == 0 && h->body == B0_HTTP_BODY_LENGTH)
		r = b0_buf_putf(o, "Content-Length: %llu\r\n",
		    (unsigned long long)h->content_length);
	else if (r == 0 && h->body == B0_HTTP_BODY_CHUNKED)
		r = b0_buf_put_str(o, "Transfer-Encoding: chunked\r\n");
	if (r == 0 && c->ws)
		r = b0_buf_put_str(
		    o, "Connection: upgrade\r\nUpgrade: websocket\r\n");
	if (r == 0)
		r = b0_buf_put_str(o, "\r\n");
	return r;
}

/* Does a field value hold CR or LF (hauth's strings, k->host)? */
static int
has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* Make the stream to the publisher: a socketpair, one end a visitor. */
static int
open_upstream(struct hpconn *c)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		sv) == -1)
		return B0_ERR_SYS(errno);
	if ((r = visitor_add(c->k, sv[1], c->peer)) != 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if ((r = b0_loop_add(c->e->loop, sv[0], 0, hp_io, c)) != 0) {
		close(sv[0]);
		return r;
	}
	c->ufd = sv[0];
	c->why[0] = '\0';
	return 0;
}

/*
 * Take the request at the start of vin, if its head is whole: check it,
 * ask hauth, and queue its head towards the target.
 */
static void
start_request(struct hpconn *c)
{
	struct edge *e = c->e;
	struct esock *k = c->k;
	struct b0_http_limits lim;
	struct b0_http_req req;
	struct b0_errmsg em;
	struct b0_buf hdr, body;
	struct hresp rs;
	struct hreq rq;
	struct hwho who;
	enum hauth_result ar;
	char *target = NULL, *path;
	const char *q;
	size_t plen;
	int r, hlen, has_body;

	lim.head_max = e->conf->http_head_max;
	lim.line_max = e->conf->http_line_max;
	lim.name_max = B0_HTTP_NAME_MAX;
	lim.fields_max = e->conf->http_fields_max;
	b0_err_clear(&em);
	hlen = b0_http_req_parse((const char *)b0_buf_ptr(&c->vin),
	    b0_buf_len(&c->vin), &lim, &req, &em);
	if (hlen == B0_ERR_INCOMPLETE)
		return;
	c->t0 = b0_loop_now(e->loop);
	c->method[0] = '\0';
	c->path[0] = '\0';
	c->ident[0] = '\0';
	c->rbytes = 0;
	c->ws = 0;
	if (hlen < 0) {
		b0_strlcpy(c->method, "-", sizeof(c->method));
		b0_strlcpy(c->path, "-", sizeof(c->path));
		b0_log_rl(&e->log, &e->rl_visitor, (time_t)b0_loop_wall(),
		    B0_LOG_INFO, "http %s %s: refused: %s", k->dns, c->peer,
		    b0_err_text(&em, hlen));
		answer_error(c, NULL,
		    req.h.error_status ? req.h.error_status : 400, 1, "%s",
		    b0_err_text(&em, hlen));
		return;
	}
	snprintf(c->method, sizeof(c->method), "%.*s", (int)req.method_len,
	    req.method);
	/* The target, then its path: NUL-terminated copies for hauth. */
	if ((target = malloc(2 * (req.target_len + 1))) == NULL) {
		answer_error(c, NULL, 503, 1, "out of memory");
		return;
	}
	memcpy(target, req.target, req.target_len);
	target[req.target_len] = '\0';
	q = memchr(target, '?', req.target_len);
	plen = q != NULL ? (size_t)(q - target) : req.target_len;
	path = target + req.target_len + 1;
	memcpy(path, target, plen);
	path[plen] = '\0';
	b0_strlcpy(c->path, path, sizeof(c->path));
	c->head_req = strcmp(c->method, "HEAD") == 0;
	c->html = accepts_html(&req.h);
	c->expect = b0_http_has_token(&req.h, "Expect", "100-continue");
	c->v10 = req.h.minor == 0;
	if (req.h.minor == 0
		? !b0_http_has_token(&req.h, "Connection", "keep-alive")
		: b0_http_has_token(&req.h, "Connection", "close"))
		c->closing = 1;
	/* The request's body cannot be skipped: an answer of ours ends it. */
	has_body =
	    req.h.body == B0_HTTP_BODY_CHUNKED ||
	    (req.h.body == B0_HTTP_BODY_LENGTH && req.h.content_length > 0);
	c->cur_head = (size_t)hlen;
	if (req.form != B0_HTTP_ORIGIN_FORM) {
		answer_error(c, &req.h, 400, 1,
		    "%s takes origin-form request targets only (\"/path\")",
		    k->dns);
		goto out;
	}
	if (req.host != NULL && !host_ok(c, req.host, req.host_len)) {
		answer_error(c, &req.h, 421, has_body,
		    "the Host header names another host than %s", k->dns);
		goto out;
	}
	if (req.h.body == B0_HTTP_BODY_LENGTH && e->conf->http_body_max > 0 &&
	    req.h.content_length > e->conf->http_body_max) {
		answer_error(c, &req.h, 413, 1,
		    "the request body is larger than %llu bytes",
		    (unsigned long long)e->conf->http_body_max);
		goto out;
	}

	memset(&rq, 0, sizeof(rq));
	rq.e = e;
	rq.hc = NULL;
	rq.req = &req;
	rq.method = c->method;
	rq.target = target;
	rq.path = path;
	rq.query = q != NULL ? target + plen + 1 : "";
	rq.host = k->dns;
	rq.peer = c->peer;
	b0_buf_init(&hdr, B0_HTTP_HEAD_MAX);
	b0_buf_init(&body, HTTP_RESP_MAX);
	b0_buf_set_secret(&hdr);
	b0_buf_set_secret(&body);
	memset(&rs, 0, sizeof(rs));
	rs.headers = &hdr;
	rs.body = &body;
	memset(&who, 0, sizeof(who));
	ar = hauth_request(e->hauth, k, &rq, &rs, &who);
	/* Who was let in, or refused (a 403 names them in the log too). */
	if (who.email[0] != '\0' && !has_crlf(who.email))
		b0_strlcpy(c->ident, who.email, sizeof(c->ident));
	else if (who.user[0] != '\0' && !has_crlf(who.user))
		snprintf(c->ident, sizeof(c->ident), "basic:%s", who.user);
	if (ar == HAUTH_ANSWERED) {
		if (rs.status < 100 || rs.status > 599) {
			b0_error(&e->log, "http %s: hauth gave status %d",
			    k->dns, rs.status);
			hresp_text(&rs, 500, "internal error");
		}
		answer(c, &rs, has_body);
		b0_buf_cleanup(&hdr);
		b0_buf_cleanup(&body);
		goto out;
	}
	b0_buf_cleanup(&hdr);
	b0_buf_cleanup(&body);
	if (has_crlf(who.email) || has_crlf(who.user) || has_crlf(k->host)) {
		answer_error(c, &req.h, 500, 1, "internal error");
		goto out;
	}
	/* Never the target's: /.b0/ is the edge's on every socket host. */
	if (b0_str_has_prefix(path, "/.b0/")) {
		answer_error(
		    c, &req.h, 404, has_body, "no such page: %s", c->path);
		goto out;
	}
	if (k->s == NULL) {
		answer_error(c, &req.h, 502, has_body,
		    "publisher %s is not connected", k->publisher);
		goto out;
	}
	if (c->ufd != -1 && c->u_eof) {
		/* The target closed between requests: a new stream. */
		b0_loop_del(e->loop, c->ufd);
		close(c->ufd);
		c->ufd = -1;
		c->u_eof = 0;
		b0_buf_reset(&c->uin);
		b0_buf_reset(&c->uout);
	}
	if (c->ufd == -1 && (r = open_upstream(c)) != 0) {
		if (r == B0_ERR_NOT_FOUND)
			answer_error(c, &req.h, 502, has_body,
			    "publisher %s is not connected", k->publisher);
		else
			answer_error(c, &req.h, 503, 1,
			    "the edge could not open a stream: %s",
			    b0_strerror(r));
		goto out;
	}
	c->ws = strcmp(c->method, "GET") == 0 && req.h.minor == 1 &&
		b0_http_has_token(&req.h, "Upgrade", "websocket") &&
		b0_http_has_token(&req.h, "Connection", "upgrade");
	if ((r = build_head(c, &req, &who)) != 0) {
		b0_buf_reset(&c->uout);
		answer_error(c, &req.h, 431, 1,
		    "the request head is too large to forward");
		goto out;
	}
	b0_buf_consume(&c->vin, (size_t)hlen);
	c->cur_head = 0;
	c->rs = RS_HEAD;
	if (req.h.body == B0_HTTP_BODY_LENGTH && req.h.content_length > 0) {
		c->rq = RQ_LENGTH;
		c->left = req.h.content_length;
	} else if (req.h.body == B0_HTTP_BODY_CHUNKED) {
		c->rq = RQ_CHUNKED;
		b0_http_chunked_init(&c->rqc, e->conf->http_body_max > 0
						  ? e->conf->http_body_max
						  : UINT64_MAX);
	} else {
		c->rq = RQ_DONE;
	}
out:
	free(target);
}

/* Move request body bytes from vin to uout.  Returns 1 if any moved. */
static int
move_request_body(struct hpconn *c)
{
	struct b0_errmsg em;
	size_t n, used;
	int r, moved = 0;

	if (c->rq == RQ_LENGTH) {
		n = b0_buf_len(&c->vin);
		if (n > c->left)
			n = (size_t)c->left;
		if (n > b0_buf_avail(&c->uout))
			n = b0_buf_avail(&c->uout);
		if (b0_buf_len(&c->uout) >= BODY_HIGH || n == 0)
			return 0;
		(void)b0_buf_put(&c->uout, b0_buf_ptr(&c->vin), n);
		b0_buf_consume(&c->vin, n);
		c->left -= n;
		if (c->left == 0)
			c->rq = RQ_DONE;
		return 1;
	}
	if (c->rq != RQ_CHUNKED)
		return 0;
	while (b0_buf_len(&c->uout) < BODY_HIGH && b0_buf_len(&c->vin) > 0) {
		b0_buf_reset(&c->chunk);
		b0_err_clear(&em);
		r = b0_http_chunked_decode(&c->rqc, b0_buf_ptr(&c->vin),
		    b0_buf_len(&c->vin), &used, &c->chunk, &em);
		b0_buf_consume(&c->vin, used);
		if (used > 0)
			moved = 1;
		if (b0_buf_len(&c->chunk) > 0)
			(void)b0_buf_putf(
			    &c->uout, "%zx\r\n", b0_buf_len(&c->chunk));
		(void)b0_buf_put(
		    &c->uout, b0_buf_ptr(&c->chunk), b0_buf_len(&c->chunk));
		if (b0_buf_len(&c->chunk) > 0)
			(void)b0_buf_put_str(&c->uout, "\r\n");
		if (r == 0) {
			(void)b0_buf_put_str(&c->uout, "0\r\n\r\n");
			c->rq = RQ_DONE;
			return 1;
		}
		if (r != B0_ERR_INCOMPLETE) {
			b0_log_rl(&c->e->log, &c->e->rl_visitor,
			    (time_t)b0_loop_wall(), B0_LOG_INFO,
			    "http %s %s: chunked body: %s", c->k->dns, c->peer,
			    b0_err_text(&em, r));
			if (c->rs == RS_HEAD)
				answer_error(c, NULL,
				    r == B0_ERR_TOO_BIG ? 413 : 400, 1,
				    "chunked request body: %s",
				    b0_err_text(&em, r));
			else
				c->state = HP_DEAD;
			return 1;
		}
		if (used == 0)
			break;
	}
	return moved;
}

/* The visitor's copy of the target's response head. */
static int
put_response_head(struct hpconn *c, const struct b0_http_resp *resp)
{
	const struct b0_http_head *h = &resp->h;
	struct b0_buf *o = &c->vout;
	size_t i;
	int r;

	r = b0_buf_putf(o, "HTTP/1.1 %d %.*s\r\n", resp->status,
	    (int)resp->reason_len, resp->reason);
	for (i = 0; r == 0 && i < h->nfields; i++) {
		if (is_hop_by_hop(h, &h->fields[i]))
			continue;
		r = b0_buf_putf(o, "%.*s: %.*s\r\n", (int)h->fields[i].name_len,
		    h->fields[i].name, (int)h->fields[i].value_len,
		    h->fields[i].value);
	}
	if (r == 0 && resp->status == 101)
		return b0_buf_put_str(
		    o, "Connection: upgrade\r\nUpgrade: websocket\r\n\r\n");
	if (r == 0 && b0_http_get(h, "Content-Length", NULL, NULL) > 0 &&
	    h->body != B0_HTTP_BODY_CHUNKED)
		r = b0_buf_putf(o, "Content-Length: %llu\r\n",
		    (unsigned long long)h->content_length);
	/* HTTP/1.0 knows no chunks: the data alone, then the close. */
	if (r == 0 && h->body == B0_HTTP_BODY_CHUNKED && !c->v10)
		r = b0_buf_put_str(o, "Transfer-Encoding: chunked\r\n");
	if (r == 0)
		r = b0_buf_put_str(o, c->closing
					  ? "Connection: close\r\n\r\n"
					  : "Connection: keep-alive\r\n\r\n");
	return r;
}

/* The target's response head, if it is whole in uin. */
static void
take_response_head(struct hpconn *c)
{
	struct b0_http_limits lim;
	struct b0_http_resp resp;
	struct b0_errmsg em;
	int n;

	lim.head_max = c->e->conf->http_head_max;
	lim.line_max = c->e->conf->http_line_max;
	lim.name_max = B0_HTTP_NAME_MAX;
	lim.fields_max = c->e->conf->http_fields_max;
	b0_err_clear(&em);
	n = b0_http_resp_parse((const char *)b0_buf_ptr(&c->uin),
	    b0_buf_len(&c->uin), c->method, &lim, &resp, &em);
	if (n == B0_ERR_INCOMPLETE && !c->u_eof)
		return;
	if (n < 0) {
		if (n == B0_ERR_INCOMPLETE && b0_buf_len(&c->uin) == 0) {
			b0_notice(&c->e->log,
			    "http %s %s: the stream closed before a response",
			    c->k->dns, c->peer);
			if (c->why[0] != '\0')
				answer_error(c, NULL, 502, 1,
				    "nothing answered at the target (%s)",
				    c->why);
			else
				answer_error(c, NULL, 502, 1,
				    "nothing answered at the target of %s (the "
				    "publisher could not reach it, or it "
				    "closed "
				    "the connection)",
				    c->k->dns);
			return;
		}
		b0_notice(&c->e->log, "http %s %s: malformed response: %s",
		    c->k->dns, c->peer,
		    n == B0_ERR_INCOMPLETE ? "cut short" : b0_err_text(&em, n));
		answer_error(
		    c, NULL, 502, 1, "the target's response was malformed");
		return;
	}
	if (resp.status >= 100 && resp.status < 200 && resp.status != 101) {
		if (resp.status == 100 && c->expect && !c->v10)
			(void)b0_buf_put_str(
			    &c->vout, "HTTP/1.1 100 Continue\r\n\r\n");
		b0_buf_consume(&c->uin, (size_t)n);
		return;
	}
	if (resp.status == 101 &&
	    (!c->ws || !b0_http_has_token(&resp.h, "Upgrade", "websocket"))) {
		b0_notice(&c->e->log,
		    "http %s %s: 101 without a WebSocket "
		    "upgrade",
		    c->k->dns, c->peer);
		answer_error(
		    c, NULL, 502, 1, "the target switched protocols unasked");
		return;
	}
	if (b0_http_has_token(&resp.h, "Connection", "close") ||
	    resp.h.body == B0_HTTP_BODY_EOF || c->v10)
		c->closing = 1;
	if (put_response_head(c, &resp) != 0) {
		b0_buf_reset(&c->vout);
		answer_error(c, NULL, 502, 1,
		    "the target's response head was too large");
		return;
	}
	b0_buf_consume(&c->uin, (size_t)n);
	c->status = resp.status;
	if (resp.status == 101) {
		c->state = HP_TUNNEL;
		c->rs = RS_DONE;
		c->rq = RQ_DONE;
		return;
	}
	switch (resp.h.body) {
	case B0_HTTP_BODY_NONE:
		c->rs = RS_DONE;
		break;
	case B0_HTTP_BODY_LENGTH:
		c->left = resp.h.content_length;
		c->rs = c->left > 0 ? RS_LENGTH : RS_DONE;
		break;
	case B0_HTTP_BODY_CHUNKED:
		b0_http_chunked_init(&c->rsc, UINT64_MAX);
		c->rs = RS_CHUNKED;
		break;
	case B0_HTTP_BODY_EOF:
		c->rs = RS_EOF;
		break;
	}
}

/* Move response body bytes from uin to vout.  Returns 1 if any moved. */
static int
move_response_body(struct hpconn *c)
{
	struct b0_errmsg em;
	size_t n, used;
	uint64_t before;
	int r;

	n = b0_buf_len(&c->uin);
	if (b0_buf_len(&c->vout) >= BODY_HIGH || n == 0)
		return 0;
	if (n > BODY_HIGH)
		n = BODY_HIGH;
	switch (c->rs) {
	case RS_LENGTH:
		if (n > c->left)
			n = (size_t)c->left;
		(void)b0_buf_put(&c->vout, b0_buf_ptr(&c->uin), n);
		b0_buf_consume(&c->uin, n);
		c->left -= n;
		c->rbytes += n;
		if (c->left == 0)
			c->rs = RS_DONE;
		return 1;
	case RS_EOF:
		(void)b0_buf_put(&c->vout, b0_buf_ptr(&c->uin), n);
		b0_buf_consume(&c->uin, n);
		c->rbytes += n;
		return 1;
	case RS_CHUNKED:
		before = b0_http_chunked_total(&c->rsc);
		b0_err_clear(&em);
		/* An HTTP/1.0 visitor gets the data decoded, unframed. */
		r = b0_http_chunked_decode(&c->rsc, b0_buf_ptr(&c->uin), n,
		    &used, c->v10 ? &c->vout : NULL, &em);
		if (!c->v10)
			(void)b0_buf_put(&c->vout, b0_buf_ptr(&c->uin), used);
		b0_buf_consume(&c->uin, used);
		c->rbytes += b0_http_chunked_total(&c->rsc) - before;
		if (r == 0) {
			c->rs = RS_DONE;
		} else if (r != B0_ERR_INCOMPLETE) {
			/* Half a response is out: all we can do is close. */
			b0_notice(&c->e->log,
			    "http %s %s: the target's chunked body: %s",
			    c->k->dns, c->peer, b0_err_text(&em, r));
			c->state = HP_DEAD;
		}
		return used > 0;
	default:
		return 0;
	}
}

/* One step of the exchanges.  Returns 1 if anything changed. */
static int
process(struct hpconn *c)
{
	size_t n;
	int moved = 0;

	if (c->state == HP_TUNNEL) {
		n = b0_buf_len(&c->vin);
		if (n > b0_buf_avail(&c->uout))
			n = b0_buf_avail(&c->uout);
		if (n > 0 && b0_buf_len(&c->uout) < BODY_HIGH) {
			(void)b0_buf_put(&c->uout, b0_buf_ptr(&c->vin), n);
			b0_buf_consume(&c->vin, n);
			c->up += n;
			moved = 1;
		}
		n = b0_buf_len(&c->uin);
		if (n > 0 && b0_buf_len(&c->vout) < BODY_HIGH) {
			(void)b0_buf_put(&c->vout, b0_buf_ptr(&c->uin), n);
			b0_buf_consume(&c->uin, n);
			c->down += n;
			moved = 1;
		}
		if ((c->v_eof && b0_buf_len(&c->vin) == 0 &&
			b0_buf_len(&c->uout) == 0) ||
		    (c->u_eof && b0_buf_len(&c->uin) == 0)) {
			log_request(c);
			start_close(c);
			moved = 1;
		}
		return moved;
	}
	if (c->state != HP_HTTP)
		return 0;
	if (c->rs == RS_NONE) {
		if (b0_buf_len(&c->uin) > 0) {
			/* The target spoke unasked: as above, no way on. */
			b0_notice(&c->e->log,
			    "http %s %s: the target sent %zu bytes while no "
			    "request was outstanding; closing the connection",
			    c->k->dns, c->peer, b0_buf_len(&c->uin));
			start_close(c);
			return 1;
		}
		if (b0_buf_len(&c->vin) == 0) {
			/* The visitor is done: its last answer goes first. */
			if (c->v_eof)
				start_close(c);
			return c->v_eof;
		}
		/* One at a time: the last request's bytes go out first. */
		if (b0_buf_len(&c->uout) > 0 || b0_buf_len(&c->vout) > 0)
			return 0;
		start_request(c);
		return c->rs != RS_NONE || c->state != HP_HTTP ||
		       b0_buf_len(&c->vout) > 0;
	}
	if (c->rq == RQ_LENGTH || c->rq == RQ_CHUNKED) {
		moved |= move_request_body(c);
		if (c->state != HP_HTTP)
			return 1;
		if ((c->rq == RQ_LENGTH || c->rq == RQ_CHUNKED) && c->v_eof &&
		    b0_buf_len(&c->vin) == 0) {
			/* The visitor gave up in the middle of its body. */
			c->state = HP_DEAD;
			return 1;
		}
	}
	if (c->rs == RS_HEAD) {
		n = b0_buf_len(&c->uin);
		take_response_head(c);
		/* A 1xx consumed is progress: the final head may follow. */
		if (c->state != HP_HTTP || c->rs != RS_HEAD ||
		    b0_buf_len(&c->uin) != n)
			return 1;
	}
	if (c->rs == RS_LENGTH || c->rs == RS_CHUNKED || c->rs == RS_EOF) {
		moved |= move_response_body(c);
		if (c->state != HP_HTTP)
			return 1;
		if (c->rs == RS_EOF && c->u_eof && b0_buf_len(&c->uin) == 0)
			c->rs = RS_DONE;
		else if (c->rs != RS_DONE && c->u_eof &&
			 b0_buf_len(&c->uin) == 0) {
			b0_notice(&c->e->log,
			    "http %s %s: the target's response was cut short",
			    c->k->dns, c->peer);
			c->state = HP_DEAD;
			return 1;
		}
	}
	if (c->rs == RS_DONE) {
		if (c->rq != RQ_DONE)
			/* Answered before the body was in: no way on. */
			c->closing = 1;
		if (b0_buf_len(&c->uin) > 0) {
			/*
			 * Bytes past the response's end (a body on HEAD,
			 * 204 or 304, more than its Content-Length) would be
			 * read as the next response: no further request
			 * goes to this stream.
			 */
			b0_notice(&c->e->log,
			    "http %s %s: the target sent %zu bytes past its "
			    "response; closing the connection",
			    c->k->dns, c->peer, b0_buf_len(&c->uin));
			c->closing = 1;
		}
		log_request(c);
		c->rs = RS_NONE;
		c->rq = RQ_NONE;
		if (c->closing)
			start_close(c);
		return 1;
	}
	return moved;
}

/* Read from the visitor while vin has room.  Returns 1 if anything came. */
static int
visitor_read(struct hpconn *c)
{
	struct b0_errmsg em;
	uint8_t *d, junk[4096];
	int n, got = 0;

	if (c->v_eof)
		return 0;
	if (c->state == HP_CLOSING || c->state == HP_LINGER) {
		/* Unread input would reset the connection under our answer. */
		while (c->drained < DRAIN_MAX) {
			n = b0_tls_read(
			    c->ssl, junk, sizeof(junk), &c->vrwant, &em);
			if (n == B0_ERR_AGAIN)
				break;
			if (n < 0) {
				c->v_eof = 1;
				break;
			}
			c->drained += (size_t)n;
			got = 1;
		}
		OPENSSL_cleanse(junk, sizeof(junk));
		return got;
	}
	while (b0_buf_avail(&c->vin) >= CHUNK) {
		if (b0_buf_reserve(&c->vin, CHUNK, &d) != 0)
			break;
		n = b0_tls_read(c->ssl, d, CHUNK, &c->vrwant, &em);
		b0_buf_unreserve(&c->vin, CHUNK - (n > 0 ? (size_t)n : 0));
		if (n == B0_ERR_AGAIN)
			break;
		if (n < 0) {
			c->v_eof = 1;
			return 1;
		}
		c->vrwant = B0_TLS_WANT_NONE;
		got = 1;
	}
	return got;
}

static int
visitor_write(struct hpconn *c)
{
	struct b0_errmsg em;
	int n, put = 0;

	while (b0_buf_len(&c->vout) > 0) {
		n = b0_tls_write(c->ssl, b0_buf_ptr(&c->vout),
		    b0_buf_len(&c->vout), &c->vwwant, &em);
		if (n == B0_ERR_AGAIN)
			return put;
		if (n < 0) {
			b0_debug(&c->e->log, "http %s %s: write: %s",
			    c->k != NULL ? c->k->dns : "-", c->peer,
			    b0_err_text(&em, n));
			c->state = HP_DEAD;
			return 1;
		}
		c->vwwant = B0_TLS_WANT_NONE;
		b0_buf_consume(&c->vout, (size_t)n);
		put = 1;
	}
	return put;
}

static int
upstream_read(struct hpconn *c)
{
	uint8_t *d;
	ssize_t n;
	int got = 0;

	if (c->ufd == -1 || c->u_eof)
		return 0;
	while (b0_buf_avail(&c->uin) >= CHUNK) {
		if (b0_buf_reserve(&c->uin, CHUNK, &d) != 0)
			break;
		n = read(c->ufd, d, CHUNK);
		b0_buf_unreserve(&c->uin, CHUNK - (n > 0 ? (size_t)n : 0));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			c->u_eof = 1;
			return 1;
		}
		got = 1;
	}
	return got;
}

static int
upstream_write(struct hpconn *c)
{
	ssize_t n;
	int put = 0;

	if (c->ufd == -1)
		return 0;
	while (b0_buf_len(&c->uout) > 0) {
		n = send(c->ufd, b0_buf_ptr(&c->uout), b0_buf_len(&c->uout),
		    MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return put;
		if (n <= 0) {
			/* The stream is gone: what it said, if anything. */
			b0_buf_reset(&c->uout);
			c->u_eof = 1;
			return 1;
		}
		b0_buf_consume(&c->uout, (size_t)n);
		put = 1;
	}
	return put;
}

static void
hp_timeout(struct b0_loop *loop, void *cookie)
{
	struct hpconn *c = cookie;
	enum hp_timer was = c->tmode;

	(void)loop;
	c->tmode = TM_NONE;
	switch (c->state) {
	case HP_HTTP:
		if (c->rs == RS_HEAD && c->rq == RQ_DONE) {
			b0_notice(&c->e->log,
			    "http %s %s: no response from the target within "
			    "%llu s",
			    c->k->dns, c->peer,
			    (unsigned long long)(c->e->conf->http_upstream_ms /
						 1000));
			answer_error(c, NULL, 504, 1,
			    "the target did not answer within %llu s",
			    (unsigned long long)(c->e->conf->http_upstream_ms /
						 1000));
			break;
		}
		if (was == TM_HEAD) {
			b0_strlcpy(c->method, "-", sizeof(c->method));
			b0_strlcpy(c->path, "-", sizeof(c->path));
			answer_error(c, NULL, 408, 1,
			    "the request did not arrive whole within %d s",
			    HEAD_MS / 1000);
			break;
		}
		if (c->rs == RS_NONE && b0_buf_len(&c->vout) == 0) {
			/* Idle: a clean close (close_notify). */
			start_close(c);
			break;
		}
		b0_notice(&c->e->log, "http %s %s: transfer stalled", c->k->dns,
		    c->peer);
		c->state = HP_DEAD;
		break;
	default:
		c->state = HP_DEAD;
		break;
	}
	pump(c);
}

/* Arm the timer the state asks for; progress re-arms the idle one. */
static void
set_timer(struct hpconn *c, int progress)
{
	struct edge *e = c->e;
	enum hp_timer want = TM_IDLE;
	uint64_t ms = e->conf->http_idle_ms;

	if (c->state == HP_TUNNEL) {
		want = TM_NONE;
	} else if (c->state == HP_CLOSING) {
		want = TM_WRITE;
		ms = WRITE_MS;
	} else if (c->state == HP_LINGER) {
		want = TM_LINGER;
		ms = LINGER_MS;
	} else if (c->rs == RS_HEAD && c->rq == RQ_DONE) {
		want = TM_UPSTREAM;
		ms = e->conf->http_upstream_ms;
	} else if (c->rs == RS_LENGTH || c->rs == RS_CHUNKED ||
		   c->rs == RS_EOF) {
		/*
		 * A response body streams: however long the target is quiet
		 * (server-sent events, long polls), the target or the visitor
		 * ends it (TCP keepalive finds a visitor gone).  Only a
		 * visitor who stops reading what waits for them is cut.
		 */
		if (b0_buf_len(&c->vout) == 0)
			want = TM_NONE;
	} else if (c->rs == RS_NONE && b0_buf_len(&c->vin) > 0 &&
		   b0_buf_len(&c->vout) == 0 && b0_buf_len(&c->uout) == 0) {
		/* Progress does not extend it: no head a byte a minute. */
		want = TM_HEAD;
		ms = HEAD_MS;
	}
	if (want == TM_NONE) {
		b0_timer_cancel(e->loop, &c->timer);
	} else if (want != c->tmode || (want == TM_IDLE && progress)) {
		b0_timer_set(e->loop, &c->timer, ms, hp_timeout, c);
	}
	c->tmode = want;
}

/* The events each side waits for, from the buffers and TLS's wants. */
static void
arm(struct hpconn *c)
{
	unsigned ev = 0;
	int rd;

	rd = !c->v_eof && (c->state == HP_CLOSING || c->state == HP_LINGER ||
			      b0_buf_avail(&c->vin) >= CHUNK);
	if (rd)
		ev |= c->vrwant == B0_TLS_WANT_WRITE ? B0_LOOP_WRITE
						     : B0_LOOP_READ;
	if (b0_buf_len(&c->vout) > 0 ||
	    (c->state == HP_CLOSING && c->vwwant != B0_TLS_WANT_NONE))
		ev |= c->vwwant == B0_TLS_WANT_READ ? B0_LOOP_READ
						    : B0_LOOP_WRITE;
	b0_loop_mod(c->e->loop, c->vfd, ev);
	if (c->ufd != -1) {
		ev = 0;
		if (!c->u_eof && b0_buf_avail(&c->uin) >= CHUNK)
			ev |= B0_LOOP_READ;
		if (b0_buf_len(&c->uout) > 0)
			ev |= B0_LOOP_WRITE;
		b0_loop_mod(c->e->loop, c->ufd, ev);
	}
}

/* Closing: once the answer is out, close_notify, then wait for EOF. */
static int
closing_step(struct hpconn *c)
{
	struct b0_errmsg em;
	int n;

	if (c->state == HP_CLOSING && b0_buf_len(&c->vout) == 0) {
		n = b0_tls_shutdown(c->ssl, &c->vwwant, &em);
		if (n == B0_ERR_AGAIN)
			return 0;
		if (n != 0) {
			c->state = HP_DEAD;
			return 1;
		}
		c->vwwant = B0_TLS_WANT_NONE;
		(void)shutdown(c->vfd, SHUT_WR);
		c->state = HP_LINGER;
		return 1;
	}
	if (c->state == HP_LINGER && (c->v_eof || c->drained >= DRAIN_MAX)) {
		c->state = HP_DEAD;
		return 1;
	}
	return 0;
}

static void
pump(struct hpconn *c)
{
	int progress, any = 0, rounds;

	for (rounds = 0; rounds < 64 && c->state != HP_DEAD; rounds++) {
		progress = visitor_read(c);
		progress |= upstream_read(c);
		if (c->state != HP_DEAD)
			progress |= process(c);
		if (c->state != HP_DEAD)
			progress |= upstream_write(c);
		if (c->state != HP_DEAD)
			progress |= visitor_write(c);
		if (c->state == HP_CLOSING || c->state == HP_LINGER)
			progress |= closing_step(c);
		any |= progress;
		if (!progress)
			break;
	}
	if (c->state == HP_DEAD) {
		hp_free(c);
		return;
	}
	if (rounds == 64)
		/* Busy: yield to the others, come back next turn. */
		b0_loop_defer(c->e->loop, &c->defer, hp_start, c);
	set_timer(c, any);
	arm(c);
}

static void
hp_io(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	(void)loop;
	(void)fd;
	(void)events;
	pump(cookie);
}

static void
hp_start(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	pump(cookie);
}

void
hproxy_handle(struct esock *k, const struct hreq *rq, struct hresp *rs)
{
	struct edge *e = rq->e;
	struct hpconn *c;
	size_t vin_max;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		hresp_text(rs, 503, "out of memory");
		rs->close = 1;
		return;
	}
	c->e = e;
	c->k = k;
	c->vfd = -1;
	c->ufd = -1;
	b0_strlcpy(c->peer, rq->peer, sizeof(c->peer));
	peer_ip(c->peer, c->ip, sizeof(c->ip));
	vin_max = e->conf->http_head_max + 4 * CHUNK;
	b0_buf_init(&c->vin, vin_max);
	b0_buf_init(&c->vout, HTTP_RESP_MAX + 2 * B0_HTTP_HEAD_MAX);
	b0_buf_init(&c->uin, UIN_MAX);
	b0_buf_init(&c->uout, BODY_HIGH + 2 * e->conf->http_head_max + 8192);
	b0_buf_init(&c->chunk, CHUNK);
	/* Requests carry cookies, tokens and passwords. */
	b0_buf_set_secret(&c->vin);
	b0_buf_set_secret(&c->uout);
	b0_buf_set_secret(&c->chunk);
	TAILQ_INSERT_TAIL(&e->hpconns, c, entry);
	if ((r = hconn_take(rq->hc, &c->vfd, &c->ssl, &c->vin)) != 0) {
		b0_error_fr(
		    &e->log, r, "http %s %s: taking over", k->dns, c->peer);
		c->vfd = -1;
		c->ssl = NULL;
		hp_free(c);
		hresp_text(rs, 500, "internal error");
		rs->close = 1;
		return;
	}
	rs->status = 0; /* ours now */
	b0_net_tune(c->vfd, KEEPALIVE_S);
	if ((r = b0_loop_add(e->loop, c->vfd, 0, hp_io, c)) != 0 ||
	    (r = b0_loop_defer(e->loop, &c->defer, hp_start, c)) != 0) {
		b0_error_fr(
		    &e->log, r, "http %s %s: taking over", k->dns, c->peer);
		hp_free(c);
		return;
	}
}
