/*
 * b0-edge: tls sockets (docs/identity.md, "tls sockets: the visitor's
 * CONNECT").  The front door (https.c) hands us a request whose TLS server
 * name is a tls socket's; we check it in this order, answering the first
 * failure through https.c:
 *
 *   CONNECT, to an authority naming the socket   400
 *   Authorization: Bearer <access token>          401 (WWW-Authenticate)
 *   the token (idp_check_access())                401 with the reason
 *   the socket's allow list (b0_spec_match())     403
 *   the publisher connected                       502
 *
 * The authority's port is checked for form only, not for value: the name
 * picks the socket, and a tls socket has one target, so a client that
 * says :22, :443 or the spec's port reaches the same thing.
 *
 * Nothing goes to the publisher for a refused visitor.  An admitted one
 * gets a connection ticket (idp_sign_ticket()) and its TLS connection is
 * taken from https.c (hconn_take()); it becomes a stream on an idle data
 * channel at once (OPEN with the ticket, "200 Connection established",
 * then the relay: b0_chan_stream_start_tls()), or waits for one like a
 * tcp visitor (visitor.c): 504 after 10 s, 502 if the publisher goes.
 * Those answers we write on the taken connection ourselves.
 *
 * Ownership: a waiting struct tconn is owned by its socket's queue
 * (esock->twait) and owns the fd, the SSL, the bytes the client sent after
 * its request, and the ticket.  Once its stream starts, the data channel
 * owns fd and SSL, and the list below keeps the identity for the log line.
 */
#include <sys/socket.h>

#include <openssl/crypto.h>

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
#include "http.h"
#include "idp.h"
#include "tconn.h"

/* A visitor waits at most this long for a data channel. */
#define WAIT_MS 10000
/* TCP keepalive on visitors' connections: dead peers go away. */
#define VISITOR_KEEPALIVE_S 60
/* Bytes the client sent after its request that we carry (hconn's max). */
#define REST_MAX (64 * 1024)
/* Unread input dropped before an error answer, at most. */
#define DRAIN_MAX (64 * 1024)

static const char head_200[] = "HTTP/1.1 200 Connection established\r\n\r\n";

struct tconn {
	struct edge *e;
	struct esock *k;
	struct session *s; /* whose queue counts us (s->nwait) */
	int fd;
	SSL *ssl;
	struct b0_buf rest;
	char *ticket;
	char id[B0_HEXID_SIZE];
	char email[B0_IDENT_EMAIL_MAX + 1];
	char peer[B0_ADDR_SIZE];
	uint64_t since;
	struct b0_timer timer;
	TAILQ_ENTRY(tconn) entry;
};

/* The identity of each running tls stream, for its line in the log. */
struct tstream {
	const struct pconn *pc;
	char email[B0_IDENT_EMAIL_MAX + 1];
	TAILQ_ENTRY(tstream) entry;
};

static TAILQ_HEAD(, tstream) tstreams = TAILQ_HEAD_INITIALIZER(tstreams);

static void
tconn_free(struct tconn *t)
{
	b0_timer_cancel(t->e->loop, &t->timer);
	b0_buf_cleanup(&t->rest);
	b0_str_wipe_free(t->ticket);
	SSL_free(t->ssl);
	if (t->fd != -1)
		close(t->fd);
	free(t);
}

/*
 * Answer on a taken connection and end it: non-blocking, best effort (a
 * short answer fits in an empty socket buffer), then close_notify.  What
 * the client sent and we did not read is dropped first: closing a socket
 * with unread input sends a reset, which can destroy the answer before
 * the client reads it.
 */
static void __attribute__((format(printf, 3, 4)))
answer_taken(struct tconn *t, int status, const char *fmt, ...)
{
	char text[B0_TEXT_SIZE + 64], buf[B0_TEXT_SIZE + 512];
	uint8_t junk[4096];
	struct b0_errmsg em;
	size_t drained = 0;
	va_list ap;
	int n, want;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	while (drained < DRAIN_MAX &&
	       (n = b0_tls_read(t->ssl, junk, sizeof(junk), &want, &em)) > 0)
		drained += (size_t)n;
	n = snprintf(buf, sizeof(buf),
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n%s\n",
	    status, b0_http_reason(status), strlen(text) + 1, text);
	if (n > 0 && (size_t)n < sizeof(buf) &&
	    b0_tls_write(t->ssl, buf, (size_t)n, &want, &em) > 0)
		(void)b0_tls_shutdown(t->ssl, &want, &em);
	OPENSSL_cleanse(junk, sizeof(junk));
}

/* Is target ("host:port", authority-form) the socket's name? */
static int
authority_is(const char *target, const char *dns)
{
	const char *colon = strrchr(target, ':');
	size_t n;
	uint32_t port;

	if (colon == NULL || target[0] == '[')
		return 0;
	n = (size_t)(colon - target);
	if (b0_parse_u32(colon + 1, 1, 65535, &port) != 0)
		return 0;
	/* A trailing dot names the same host. */
	if (n > 0 && target[n - 1] == '.')
		n--;
	return n == strlen(dns) && strncasecmp(target, dns, n) == 0;
}

static void
tstream_add(const struct pconn *pc, const char *email)
{
	struct tstream *ts;

	if ((ts = calloc(1, sizeof(*ts))) == NULL)
		return; /* the log line then lacks the identity */
	ts->pc = pc;
	b0_strlcpy(ts->email, email, sizeof(ts->email));
	TAILQ_INSERT_TAIL(&tstreams, ts, entry);
}

static struct tstream *
tstream_find(const struct pconn *pc)
{
	struct tstream *ts;

	TAILQ_FOREACH(ts, &tstreams, entry)
	{
		if (ts->pc == pc)
			return ts;
	}
	return NULL;
}

const char *
tconn_stream_who(const struct pconn *pc)
{
	const struct tstream *ts = tstream_find(pc);

	return ts != NULL ? ts->email : NULL;
}

void
tconn_stream_forget(const struct pconn *pc)
{
	struct tstream *ts = tstream_find(pc);

	if (ts != NULL) {
		TAILQ_REMOVE(&tstreams, ts, entry);
		free(ts);
	}
}

/* Take t off its socket's queue. */
static void
unqueue(struct tconn *t)
{
	TAILQ_REMOVE(&t->k->twait, t, entry);
	t->s->nwait--;
	t->s = NULL;
	b0_timer_cancel(t->e->loop, &t->timer);
}

/* Start t's stream on the data channel pc; t is freed. */
static void
start(struct pconn *pc, struct tconn *t)
{
	struct edge *e = t->e;
	struct esock *k = t->k;
	struct b0_msg_open o;
	int r;

	memset(&o, 0, sizeof(o));
	b0_strlcpy(o.socket, k->name, sizeof(o.socket));
	b0_strlcpy(o.visitor, t->peer, sizeof(o.visitor));
	b0_strlcpy(o.id, t->id, sizeof(o.id));
	b0_strlcpy(o.ticket, t->ticket, sizeof(o.ticket));
	pc->streaming = 1;
	pc->opened = 0;
	b0_strlcpy(pc->stream_sock, k->dns, sizeof(pc->stream_sock));
	b0_strlcpy(pc->visitor, t->peer, sizeof(pc->visitor));
	b0_strlcpy(pc->id, t->id, sizeof(pc->id));
	k->streams++;
	if (pc->s != NULL)
		pc->s->streams++;
	r = b0_msg_open_frame(b0_chan_out(pc->chan), &o);
	OPENSSL_cleanse(&o, sizeof(o));
	if (r == 0)
		r = b0_chan_stream_start_tls(pc->chan, t->fd, t->ssl, head_200,
		    sizeof(head_200) - 1, b0_buf_ptr(&t->rest),
		    b0_buf_len(&t->rest));
	if (r != 0) {
		b0_error_fr(&e->log, r, "socket %s visitor %s: starting stream",
		    k->dns, t->peer);
		answer_taken(t, 502, "the edge could not start the stream");
		tconn_free(t);
		b0_chan_close(pc->chan, r, "cannot start stream");
		return;
	}
	t->fd = -1; /* the channel's now */
	t->ssl = NULL;
	tstream_add(pc, t->email);
	b0_debug(&e->log, "socket %s visitor %s (%s): stream %s", k->dns,
	    t->peer, t->email, t->id);
	tconn_free(t);
	/* Last: a failure here ends the stream and may free pc. */
	b0_chan_flush(pc->chan);
}

static void
wait_timeout(struct b0_loop *loop, void *cookie)
{
	struct tconn *t = cookie;
	char publisher[B0_NAME_SIZE];

	(void)loop;
	b0_strlcpy(publisher, t->k->publisher, sizeof(publisher));
	b0_notice(&t->e->log,
	    "socket %s visitor %s (%s): closed: no data channel from the "
	    "publisher within %d s",
	    t->k->dns, t->peer, t->email, WAIT_MS / 1000);
	unqueue(t);
	answer_taken(t, 504,
	    "no data channel from publisher %s became free within %d s",
	    publisher, WAIT_MS / 1000);
	tconn_free(t);
}

struct tconn *
tconn_oldest(struct session *s, uint64_t *sincep)
{
	struct tconn *best = NULL, *t;
	struct esock *k;

	TAILQ_FOREACH(k, &s->e->socks, entry)
	{
		t = TAILQ_FIRST(&k->twait);
		if (t != NULL && t->s == s &&
		    (best == NULL || t->since < best->since))
			best = t;
	}
	*sincep = best != NULL ? best->since : 0;
	return best;
}

void
tconn_serve(struct tconn *t, struct pconn *pc)
{
	unqueue(t);
	start(pc, t);
}

void
tconn_drop_waiting(
    struct edge *e, struct session *s, struct esock *only, const char *why)
{
	struct tconn *t, *next;
	struct esock *k;

	TAILQ_FOREACH(k, &e->socks, entry)
	{
		if (only != NULL && k != only)
			continue;
		for (t = TAILQ_FIRST(&k->twait); t != NULL; t = next) {
			next = TAILQ_NEXT(t, entry);
			if (s != NULL && t->s != s)
				continue;
			b0_notice(&e->log,
			    "socket %s visitor %s (%s): closed: %s", k->dns,
			    t->peer, t->email, why);
			unqueue(t);
			answer_taken(t, 502, "%s", why);
			tconn_free(t);
		}
	}
}

/* A refusal through https.c, logged (rate-limited: visitors are many). */
static void __attribute__((format(printf, 4, 5)))
refuse(struct esock *k, const struct hreq *rq, int status, const char *fmt, ...)
{
	struct edge *e = rq->e;
	char why[B0_TEXT_SIZE + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	b0_log_rl(&e->log, &e->rl_visitor, (time_t)b0_loop_wall(),
	    B0_LOG_NOTICE, "socket %s visitor %s: refused (%d): %s", k->dns,
	    rq->peer, status, why);
}

void
tconn_handle(struct esock *k, const struct hreq *rq, struct hresp *rs)
{
	struct edge *e = rq->e;
	struct b0_errmsg em, reason;
	struct tconn *t = NULL;
	struct pconn *pc;
	const char *auth;
	char email[B0_IDENT_EMAIL_MAX + 1];
	size_t n, alen;
	int r;

	rs->close = 1; /* a refused CONNECT ends the connection */
	if (strcmp(rq->method, "CONNECT") != 0) {
		hresp_text(rs, 400,
		    "%s is a tls socket: it takes CONNECT (b0-proxy --host %s)",
		    k->dns, k->dns);
		refuse(k, rq, 400, "%s, not CONNECT", rq->method);
		return;
	}
	if (!authority_is(rq->target, k->dns)) {
		hresp_text(rs, 400, "CONNECT %.80s does not name %s:<port>",
		    rq->target, k->dns);
		refuse(k, rq, 400, "CONNECT to another authority");
		return;
	}
	if (k->sp.type != B0_SOCK_TLS) {
		hresp_text(rs, 421, "%s is not served on this port", k->dns);
		return;
	}
	n = b0_http_get(&rq->req->h, "Authorization", &auth, &alen);
	if (n == 0) {
		(void)hresp_header(rs, "WWW-Authenticate: Bearer realm=\"%s\"",
		    e->conf->domain);
		hresp_text(rs, 401,
		    "sign in first: %s admits signed-in people only "
		    "(no Authorization: Bearer token)",
		    k->dns);
		refuse(k, rq, 401, "no access token");
		return;
	}
	if (n > 1 || alen <= 7 || strncasecmp(auth, "Bearer ", 7) != 0) {
		(void)hresp_header(rs,
		    "WWW-Authenticate: Bearer realm=\"%s\", "
		    "error=\"invalid_request\"",
		    e->conf->domain);
		hresp_text(rs, 401,
		    "the Authorization header must be one \"Bearer <access "
		    "token>\"");
		refuse(k, rq, 401, "malformed Authorization header");
		return;
	}
	auth += 7;
	alen -= 7;
	while (alen > 0 && *auth == ' ') {
		auth++;
		alen--;
	}
	b0_err_clear(&em);
	if ((r = idp_check_access(
		 e->idp, auth, alen, email, sizeof(email), &em)) != 0) {
		(void)hresp_header(rs,
		    "WWW-Authenticate: Bearer realm=\"%s\", "
		    "error=\"invalid_token\"",
		    e->conf->domain);
		hresp_text(
		    rs, 401, "access token refused: %s", b0_err_text(&em, r));
		refuse(k, rq, 401, "access token: %s", b0_err_text(&em, r));
		return;
	}
	b0_err_clear(&reason);
	if (b0_spec_match(&k->sp, email, &reason) != 0) {
		/* reason may name entries of the list: the log's, not theirs.
		 */
		hresp_text(rs, 403, "%s is not allowed on %s", email, k->dns);
		refuse(k, rq, 403, "%s: %s", email, reason.text);
		return;
	}
	if (k->s == NULL) {
		hresp_text(
		    rs, 502, "publisher %s is not connected", k->publisher);
		refuse(k, rq, 502, "%s: publisher %s is not connected", email,
		    k->publisher);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		hresp_text(rs, 503, "out of memory");
		return;
	}
	t->e = e;
	t->k = k;
	t->fd = -1;
	b0_buf_init(&t->rest, REST_MAX);
	b0_strlcpy(t->email, email, sizeof(t->email));
	b0_strlcpy(t->peer, rq->peer, sizeof(t->peer));
	edge_random_hex(t->id, 16);
	b0_err_clear(&em);
	if ((r = idp_sign_ticket(e->idp, k->publisher, k->dns, email, t->peer,
		 t->id, &t->ticket, &em)) != 0 ||
	    t->ticket == NULL || strlen(t->ticket) >= B0_TICKET_SIZE) {
		b0_error(&e->log, "socket %s visitor %s: connection ticket: %s",
		    k->dns, t->peer,
		    r != 0 ? b0_err_text(&em, r) : "too long or missing");
		hresp_text(rs, 500, "the edge could not issue a ticket");
		tconn_free(t);
		return;
	}
	if ((r = hconn_take(rq->hc, &t->fd, &t->ssl, &t->rest)) != 0) {
		b0_error_fr(&e->log, r, "socket %s visitor %s: taking over",
		    k->dns, t->peer);
		hresp_text(rs, 500, "internal error");
		t->fd = -1;
		t->ssl = NULL;
		tconn_free(t);
		return;
	}
	rs->status = 0; /* ours now */
	b0_net_tune(t->fd, VISITOR_KEEPALIVE_S);
	if (session_take_idle(k->s, &pc) == 0) {
		start(pc, t);
		return;
	}
	t->s = k->s;
	t->since = b0_loop_now(e->loop);
	TAILQ_INSERT_TAIL(&k->twait, t, entry);
	t->s->nwait++;
	b0_timer_set(e->loop, &t->timer, WAIT_MS, wait_timeout, t);
	session_ask_pool(t->s);
}
