/*
 * b0-publish: keeps the tunnel to the edge up (docs/protocol.md): the
 * control channel with its heartbeat and reconnects, and a pool of idle data
 * channels, each of which becomes a stream to a local target when the edge
 * sends OPEN.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b0_daemon.h"
#include "b0_net.h"
#include "b0_spec.h"
#include "b0_str.h"
#include "b0_version.h"
#include "pub.h"

#define SCRATCH_SIZE (B0_CHAN_CHUNK + B0_FRAME_HDR)
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define TARGET_CONNECT_MS 10000
#define TARGET_KEEPALIVE_S 60
#define MAX_CHANNELS 1024
#define UNREGISTER_WAIT_MS 3000

static void connect_edge(struct pub *p);
static void log_unverified(struct pub *p);
static void top_up(struct pub *p);

static const struct b0_chan_ops ctl_ops;
static const struct b0_chan_ops data_ops;
static void data_dial_done(struct dial *d, int r, const char *why);

static uint32_t
random_u32(void)
{
	uint32_t v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)getpid();
	return v;
}

static void
retry_fn(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	connect_edge(cookie);
}

/* Jittered exponential backoff: half the delay fixed, half random. */
static void
schedule_reconnect(struct pub *p, const char *why)
{
	uint64_t delay = BACKOFF_MIN_MS;
	unsigned i;

	if (p->stopping)
		return;
	for (i = 0; i < p->attempt && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	delay = delay / 2 + random_u32() % (delay / 2 + 1);
	p->attempt++;
	p->state = P_WAIT;
	b0_warn(&p->log, "%s; retrying in %llu.%llus", why,
	    (unsigned long long)(delay / 1000),
	    (unsigned long long)(delay % 1000 / 100));
	b0_daemon_notify("STATUS=waiting to reconnect to the edge");
	b0_timer_set(p->loop, &p->retry, delay, retry_fn, p);
}

static void
fatal(struct pub *p, const char *why)
{
	b0_error(&p->log, "%s", why);
	p->exit_code = 78; /* EX_CONFIG: restarting will not help */
	p->stopping = 1;
	p->done = 1;
}

static void
random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	if (bytes > sizeof(r) || RAND_bytes(r, (int)bytes) != 1)
		abort(); /* no randomness: nothing we could safely do */
	b0_hex_encode(r, bytes, out, bytes * 2 + 1);
}

/* The stream's ticket goes with the stream (or its refusal). */
static void
drop_ticket(struct dchan *dc)
{
	b0_str_wipe_free(dc->ticket);
	dc->ticket = NULL;
	tickets_del(&dc->p->tickets, dc->tk);
	dc->tk = NULL;
}

static void
dchan_free(struct dchan *dc)
{
	struct pub *p = dc->p;

	TAILQ_REMOVE(dc->busy ? &p->busy : &p->idle, dc, entry);
	if (dc->busy)
		p->nbusy--;
	else
		p->nidle--;
	b0_timer_cancel(p->loop, &dc->timer);
	if (dc->tfd != -1) {
		b0_loop_del(p->loop, dc->tfd);
		SSL_free(dc->tssl);
		close(dc->tfd);
	}
	b0_chan_free(dc->chan);
	drop_ticket(dc);
	free(dc);
}

static void
close_idle(struct pub *p, const char *why)
{
	struct dchan *dc;

	while ((dc = TAILQ_FIRST(&p->idle)) != NULL)
		b0_chan_close(dc->chan, 0, why);
}

static void
ctl_lost(struct pub *p, const char *why)
{
	char msg[300];

	b0_timer_cancel(p->loop, &p->hb);
	if (p->ctl != NULL) {
		struct b0_chan *c = p->ctl;

		p->ctl = NULL;
		b0_chan_free(c);
	}
	close_idle(p, "control channel lost");
	if (p->state == P_UNREGISTER) {
		p->done = 1;
		return;
	}
	snprintf(msg, sizeof(msg), "connection to the edge %s:%u lost: %s",
	    p->conf->edge_host, (unsigned)p->conf->edge_port, why);
	schedule_reconnect(p, msg);
}

static void
heartbeat(struct b0_loop *loop, void *cookie)
{
	struct pub *p = cookie;
	uint64_t hb = (uint64_t)p->welcome.heartbeat * 1000;
	char why[64];

	if (p->ctl == NULL)
		return;
	if (b0_loop_now(loop) - b0_chan_last_rx(p->ctl) > 3 * hb) {
		snprintf(why, sizeof(why), "no heartbeat for %u s",
		    3 * p->welcome.heartbeat);
		b0_chan_close(p->ctl, B0_ERR_TIMEOUT, why);
		return;
	}
	b0_chan_send(p->ctl, B0_F_PING, "b0", 2);
	b0_timer_set(loop, &p->hb, hb, heartbeat, p);
}

static int
send_register(struct pub *p, int empty)
{
	struct b0_msg_socks m;
	size_t i;
	int r;

	memset(&m, 0, sizeof(m));
	if (!empty && p->conf->nsocks > 0) {
		if ((m.socks = calloc(p->conf->nsocks, sizeof(*m.socks))) ==
		    NULL)
			return B0_ERR_ALLOC;
		m.n = p->conf->nsocks;
		for (i = 0; i < m.n; i++) {
			b0_strlcpy(m.socks[i].name, p->conf->socks[i].name,
			    sizeof(m.socks[i].name));
			b0_strlcpy(m.socks[i].spec, p->conf->socks[i].spec,
			    sizeof(m.socks[i].spec));
			b0_strlcpy(m.socks[i].host, p->conf->socks[i].host,
			    sizeof(m.socks[i].host));
			b0_strlcpy(m.socks[i].prot_user,
			    p->conf->socks[i].prot_user,
			    sizeof(m.socks[i].prot_user));
			b0_strlcpy(m.socks[i].prot_hash,
			    p->conf->socks[i].prot_hash,
			    sizeof(m.socks[i].prot_hash));
		}
	}
	r = b0_msg_socks_frame(b0_chan_out(p->ctl), 0, &m);
	for (i = 0; i < m.n; i++)
		OPENSSL_cleanse(
		    m.socks[i].prot_hash, sizeof(m.socks[i].prot_hash));
	b0_msg_socks_cleanup(&m);
	if (r == 0)
		b0_chan_flush(p->ctl);
	return r;
}

/* Print the table of published sockets when it changed. */
static void
print_table(struct pub *p)
{
	struct b0_buf json, table;
	struct b0_errmsg em;
	size_t i;

	for (i = 0; i < p->registered.n; i++) {
		if (p->registered.socks[i].error[0] != '\0')
			b0_error(&p->log,
			    "socket %s (%s) refused by the "
			    "edge: %s",
			    p->registered.socks[i].name,
			    p->registered.socks[i].spec,
			    p->registered.socks[i].error);
	}
	b0_buf_init(&json, B0_CTL_REPLY_MAX);
	b0_buf_init(&table, B0_CTL_REPLY_MAX);
	if (pub_ls_json(p, &json) == 0 &&
	    pub_table_from_json((const char *)b0_buf_ptr(&json),
		b0_buf_len(&json), &table, &em) == 0 &&
	    b0_buf_put_u8(&table, 0) == 0 &&
	    strcmp((const char *)b0_buf_ptr(&table), p->printed) != 0) {
		fputs((const char *)b0_buf_ptr(&table), stdout);
		fflush(stdout);
		b0_strlcpy(p->printed, (const char *)b0_buf_ptr(&table),
		    sizeof(p->printed));
	}
	b0_buf_cleanup(&json);
	b0_buf_cleanup(&table);
}

static int
on_welcome(struct pub *p, const uint8_t *m, size_t len)
{
	struct b0_errmsg em;
	int r;

	if ((r = b0_msg_welcome_decode(m, len, &p->welcome, &em)) != 0) {
		b0_error(&p->log, "edge: %s", em.text);
		return r;
	}
	b0_notice(&p->log,
	    "connected to the edge %s:%u as publisher %s "
	    "(session %s)",
	    p->conf->edge_host, (unsigned)p->conf->edge_port,
	    p->welcome.publisher, p->welcome.session);
	if ((r = send_register(p, 0)) != 0)
		return r;
	p->state = P_REGISTER;
	b0_timer_set(p->loop, &p->hb, (uint64_t)p->welcome.heartbeat * 1000,
	    heartbeat, p);
	return 0;
}

static int
on_registered(struct pub *p, const uint8_t *m, size_t len)
{
	struct b0_errmsg em;
	char status[128];
	size_t i, ok = 0;
	int r;

	b0_msg_socks_cleanup(&p->registered);
	if ((r = b0_msg_socks_decode(m, len, 1, &p->registered, &em)) != 0) {
		b0_error(&p->log, "edge: %s", em.text);
		return r;
	}
	if (p->state == P_UNREGISTER) {
		b0_notice(&p->log, "sockets removed from the edge");
		p->done = 1;
		return 0;
	}
	if (p->state != P_UP)
		p->up_since = b0_loop_wall();
	p->state = P_UP;
	p->attempt = 0;
	for (i = 0; i < p->registered.n; i++)
		ok += p->registered.socks[i].error[0] == '\0';
	b0_info(&p->log, "registered %zu of %zu socket%s", ok, p->registered.n,
	    p->registered.n == 1 ? "" : "s");
	print_table(p);
	snprintf(status, sizeof(status),
	    "STATUS=publishing %zu socket%s "
	    "through %s",
	    ok, ok == 1 ? "" : "s", p->conf->edge_host);
	b0_daemon_notify(status);
	top_up(p);
	return 0;
}

static int
ctl_frame(
    struct b0_chan *c, uint8_t type, const uint8_t *m, size_t len, void *cookie)
{
	struct pub *p = cookie;
	struct b0_msg_error err;
	struct b0_errmsg em;
	uint32_t want, i;

	switch (type) {
	case B0_F_WELCOME:
		if (p->state != P_HELLO)
			break;
		return on_welcome(p, m, len);
	case B0_F_REGISTERED:
		if (p->state < P_REGISTER)
			break;
		return on_registered(p, m, len);
	case B0_F_POOL:
		if (b0_msg_pool_decode(m, len, &want, &em) != 0)
			return B0_ERR_PROTOCOL;
		for (i = 0; i < want &&
			    p->nidle + p->nbusy + p->ndial_data < MAX_CHANNELS;
		     i++)
			if (dial_start(p, DIAL_DATA, data_dial_done) != 0)
				break;
		return 0;
	case B0_F_PING:
		return b0_chan_send(c, B0_F_PONG, m, len);
	case B0_F_PONG:
		return 0;
	case B0_F_KEYS:
		if (p->state < P_REGISTER)
			break;
		return ident_keys(p, m, len);
	case B0_F_ERROR:
		if (b0_msg_error_decode(m, len, &err, &em) != 0)
			return B0_ERR_PROTOCOL;
		if (strcmp(err.code, "auth") == 0 ||
		    strcmp(err.code, "revoked") == 0 ||
		    strcmp(err.code, "version") == 0) {
			char why[400];

			snprintf(why, sizeof(why),
			    "the edge %s:%u refused "
			    "us: %s (%s)",
			    p->conf->edge_host, (unsigned)p->conf->edge_port,
			    err.message, err.code);
			fatal(p, why);
			return B0_ERR_DENIED;
		}
		b0_warn(&p->log, "edge: %s: %s", err.code, err.message);
		return B0_ERR_PROTOCOL;
	}
	b0_error(&p->log, "edge sent an unexpected %s frame",
	    b0_proto_type_name(type));
	return B0_ERR_PROTOCOL;
}

static void
ctl_closed(struct b0_chan *c, int r, const char *why, void *cookie)
{
	struct pub *p = cookie;

	(void)c;
	if (p->stopping && p->state != P_UNREGISTER) {
		p->ctl = NULL;
		b0_chan_free(c);
		return;
	}
	ctl_lost(p, r == B0_ERR_EOF ? "closed by the edge"
				    : (why ? why : b0_strerror(r)));
}

static const struct b0_chan_ops ctl_ops = {ctl_frame, NULL, ctl_closed};

static void
ctl_dial_done(struct dial *d, int r, const char *why)
{
	struct pub *p = d->p;
	struct b0_msg_hello h;
	char msg[400];

	if (r != 0) {
		snprintf(msg, sizeof(msg), "cannot reach the edge %s:%u: %s",
		    p->conf->edge_host, (unsigned)p->conf->edge_port, why);
		dial_free(d);
		schedule_reconnect(p, msg);
		return;
	}
	r = b0_chan_new(p->loop, &p->cctx, d->fd, d->ssl, &ctl_ops, p, &p->ctl);
	if (r != 0) {
		dial_free(d);
		schedule_reconnect(p, "cannot set up the control channel");
		return;
	}
	d->fd = -1;
	d->ssl = NULL;
	dial_free(d);
	memset(&h, 0, sizeof(h));
	h.v = B0_PROTO_VERSION;
	b0_strlcpy(h.token, p->token, sizeof(h.token));
	b0_strlcpy(h.instance, p->instance, sizeof(h.instance));
	snprintf(h.agent, sizeof(h.agent), "b0-publish/%s", B0_VERSION);
	h.keys = 1;
	r = b0_msg_hello_frame(b0_chan_out(p->ctl), &h);
	OPENSSL_cleanse(h.token, sizeof(h.token));
	if (r != 0) {
		b0_chan_close(p->ctl, r, "cannot send HELLO");
		return;
	}
	b0_chan_flush(p->ctl);
	p->state = P_HELLO;
}

static void
connect_edge(struct pub *p)
{
	struct b0_errmsg em;
	char msg[400];
	int r;

	p->state = P_DIALING;
	b0_err_clear(&em);
	if ((r = dial_setup(p, &em)) != 0 ||
	    (r = dial_start(p, DIAL_CONTROL, ctl_dial_done)) != 0) {
		snprintf(msg, sizeof(msg), "cannot reach the edge %s:%u: %s",
		    p->conf->edge_host, (unsigned)p->conf->edge_port,
		    b0_err_text(&em, r));
		schedule_reconnect(p, msg);
	}
}

/* Data channels. */

static void
opened(struct dchan *dc, int fd)
{
	int r;

	b0_net_tune(fd, TARGET_KEEPALIVE_S);
	if (dc->ticket != NULL) {
		if ((r = tickets_put(
			 &dc->p->tickets, fd, dc->ticket, &dc->tk)) != 0)
			b0_warn(&dc->p->log,
			    "socket %s visitor %s: cannot keep its connection "
			    "ticket: %s",
			    dc->socket, dc->visitor, b0_strerror(r));
		else
			b0_debug(&dc->p->log,
			    "socket %s visitor %s: connection ticket kept "
			    "for %s",
			    dc->socket, dc->visitor, dc->tk->local);
		b0_str_wipe_free(dc->ticket);
		dc->ticket = NULL;
	}
	if ((r = b0_chan_send(dc->chan, B0_F_OPENED, NULL, 0)) != 0 ||
	    (r = b0_chan_stream_start(dc->chan, fd)) != 0) {
		close(fd);
		b0_chan_close(dc->chan, r, "cannot start the stream");
	}
}

static void
refuse_why(struct dchan *dc, const char *why)
{
	b0_warn(&dc->p->log, "socket %s visitor %s: %s", dc->socket,
	    dc->visitor, why);
	drop_ticket(dc);
	b0_chan_stream_refuse(dc->chan, why);
}

static void
refuse(struct dchan *dc, const char *target, int r)
{
	char why[B0_TEXT_SIZE];

	snprintf(why, sizeof(why), "connect %s: %s", target, b0_strerror(r));
	refuse_why(dc, why);
}

static const struct pub_socket *
find_socket(const struct pub *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->conf->nsocks; i++) {
		if (strcmp(p->conf->socks[i].name, name) == 0)
			return &p->conf->socks[i];
	}
	return NULL;
}

/* An https target: the TLS handshake, then the stream over it. */
static void
target_tls_done(struct dchan *dc, int r, const char *err)
{
	int fd = dc->tfd;
	SSL *ssl = dc->tssl;
	char why[B0_TEXT_SIZE];

	b0_timer_cancel(dc->p->loop, &dc->timer);
	b0_loop_del(dc->p->loop, fd);
	dc->tfd = -1;
	dc->tssl = NULL;
	if (r != 0) {
		snprintf(why, sizeof(why), "tls %s: %s", dc->target, err);
		SSL_free(ssl);
		close(fd);
		refuse_why(dc, why);
		return;
	}
	if (dc->ticket != NULL) {
		/* The ticket of an identity-aware stream: as in opened(). */
		if (tickets_put(&dc->p->tickets, fd, dc->ticket, &dc->tk) != 0)
			b0_warn(&dc->p->log,
			    "socket %s visitor %s: cannot keep its connection "
			    "ticket",
			    dc->socket, dc->visitor);
		b0_str_wipe_free(dc->ticket);
		dc->ticket = NULL;
	}
	if ((r = b0_chan_send(dc->chan, B0_F_OPENED, NULL, 0)) != 0 ||
	    (r = b0_chan_stream_start_tls(
		 dc->chan, fd, ssl, NULL, 0, NULL, 0)) != 0) {
		SSL_free(ssl);
		close(fd);
		b0_chan_close(dc->chan, r, "cannot start the stream");
	}
}

static void
target_tls_io(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct dchan *dc = cookie;
	struct b0_errmsg em;
	int r, want;

	(void)events;
	b0_err_clear(&em);
	r = b0_tls_handshake(dc->tssl, &want, &em);
	if (r == B0_ERR_AGAIN) {
		b0_loop_mod(loop, fd,
		    want == B0_TLS_WANT_WRITE ? B0_LOOP_WRITE : B0_LOOP_READ);
		return;
	}
	target_tls_done(dc, r, r == 0 ? NULL : b0_err_text(&em, r));
}

static void
target_tls_timeout(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	target_tls_done(cookie, B0_ERR_TIMEOUT, "handshake timed out");
}

static void
target_tls_start(struct dchan *dc, const struct pub_socket *s, int fd)
{
	struct b0_errmsg em;
	char why[B0_TEXT_SIZE];
	int r;

	b0_net_tune(fd, TARGET_KEEPALIVE_S);
	b0_err_clear(&em);
	if ((r = b0_tls_client_new(s->tls, fd, s->tls_name, &dc->tssl, &em)) !=
	    0) {
		snprintf(why, sizeof(why), "tls %s: %s", s->target,
		    b0_err_text(&em, r));
		close(fd);
		refuse_why(dc, why);
		return;
	}
	if (!s->tls_verify)
		SSL_set_verify(dc->tssl, SSL_VERIFY_NONE, NULL);
	dc->tfd = fd;
	if ((r = b0_loop_add(
		 dc->p->loop, fd, B0_LOOP_WRITE, target_tls_io, dc)) != 0) {
		target_tls_done(dc, r, b0_strerror(r));
		return;
	}
	b0_timer_set(
	    dc->p->loop, &dc->timer, TARGET_CONNECT_MS, target_tls_timeout, dc);
}

/* The target's TCP connection is up: relay, or TLS first. */
static void
connected(struct dchan *dc, const struct pub_socket *s, int fd)
{
	if (s != NULL && s->type == B0_SOCK_HTTPS && s->tls != NULL)
		target_tls_start(dc, s, fd);
	else
		opened(dc, fd);
}

static void
target_done(struct dchan *dc, int r)
{
	const struct pub_socket *s = find_socket(dc->p, dc->socket);
	int fd = dc->tfd;

	b0_timer_cancel(dc->p->loop, &dc->timer);
	b0_loop_del(dc->p->loop, fd);
	dc->tfd = -1;
	if (r == 0) {
		connected(dc, s, fd);
		return;
	}
	close(fd);
	refuse(dc, dc->target, r);
}

static void
target_writable(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	(void)loop;
	(void)events;
	target_done(cookie, b0_net_connect_result(fd));
}

static void
target_timeout(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	target_done(cookie, B0_ERR_TIMEOUT);
}

static int
on_open(struct dchan *dc, const uint8_t *m, size_t len)
{
	struct pub *p = dc->p;
	const struct pub_socket *s;
	struct b0_msg_open o;
	struct b0_errmsg em;
	int fd, r;

	if ((r = b0_msg_open_decode(m, len, &o, &em)) != 0) {
		b0_error(&p->log, "edge: %s", em.text);
		return r;
	}
	if (o.ticket[0] != '\0' && (dc->ticket = strdup(o.ticket)) == NULL) {
		OPENSSL_cleanse(&o, sizeof(o));
		return B0_ERR_ALLOC;
	}
	if (o.ticket[0] != '\0')
		ident_check_ticket(p, o.ticket);
	OPENSSL_cleanse(o.ticket, sizeof(o.ticket));
	TAILQ_REMOVE(&p->idle, dc, entry);
	p->nidle--;
	dc->busy = 1;
	TAILQ_INSERT_TAIL(&p->busy, dc, entry);
	p->nbusy++;
	b0_strlcpy(dc->socket, o.socket, sizeof(dc->socket));
	b0_strlcpy(dc->visitor, o.visitor, sizeof(dc->visitor));
	top_up(p);
	if ((s = find_socket(p, o.socket)) == NULL) {
		b0_warn(&p->log,
		    "edge opened a stream for socket %s, which "
		    "is not published here",
		    o.socket);
		return b0_chan_stream_refuse(dc->chan, "no such socket here");
	}
	b0_debug(&p->log, "socket %s visitor %s: stream %s to %s", s->name,
	    o.visitor, o.id, s->target);
	b0_strlcpy(dc->target, s->target, sizeof(dc->target));
	r = b0_net_connect((const struct sockaddr *)&s->addr, s->addrlen, &fd);
	if (r == 0) {
		connected(dc, s, fd);
		return 0;
	}
	if (r != B0_ERR_AGAIN) {
		refuse(dc, s->target, r);
		return 0;
	}
	dc->tfd = fd;
	if ((r = b0_loop_add(
		 p->loop, fd, B0_LOOP_WRITE, target_writable, dc)) != 0) {
		close(fd);
		dc->tfd = -1;
		refuse(dc, s->target, r);
		return 0;
	}
	b0_timer_set(
	    p->loop, &dc->timer, TARGET_CONNECT_MS, target_timeout, dc);
	return 0;
}

static int
data_frame(
    struct b0_chan *c, uint8_t type, const uint8_t *m, size_t len, void *cookie)
{
	struct dchan *dc = cookie;
	struct b0_msg_error err;
	struct b0_errmsg em;

	(void)c;
	if (type == B0_F_OPEN && !dc->busy)
		return on_open(dc, m, len);
	if (type == B0_F_ERROR && b0_msg_error_decode(m, len, &err, &em) == 0)
		b0_warn(&dc->p->log, "edge (data channel): %s: %s", err.code,
		    err.message);
	else
		b0_error(&dc->p->log,
		    "edge sent an unexpected %s frame on a "
		    "data channel",
		    b0_proto_type_name(type));
	return B0_ERR_PROTOCOL;
}

static void
data_stream_end(
    struct b0_chan *c, const struct b0_chan_stream_stats *st, void *cookie)
{
	struct dchan *dc = cookie;
	struct pub *p = dc->p;

	b0_debug(&p->log,
	    "socket %s visitor %s: to target %llu, from target "
	    "%llu: %s",
	    dc->socket, dc->visitor, (unsigned long long)st->down,
	    (unsigned long long)st->up, st->clean ? "closed" : st->how);
	drop_ticket(dc);
	TAILQ_REMOVE(&p->busy, dc, entry);
	p->nbusy--;
	dc->busy = 0;
	TAILQ_INSERT_HEAD(&p->idle, dc, entry);
	p->nidle++;
	/*
	 * A channel of an earlier session cannot take new streams.  Surplus
	 * idle channels are the edge's to retire (docs/protocol.md): the edge
	 * may be handing this one a visitor right now.
	 */
	if (p->state != P_UP || strcmp(dc->session, p->welcome.session) != 0)
		b0_chan_close(c, 0, "not needed");
}

static void
data_closed(struct b0_chan *c, int r, const char *why, void *cookie)
{
	struct dchan *dc = cookie;
	struct pub *p = dc->p;

	(void)c;
	if (r != 0 && r != B0_ERR_EOF && !p->stopping)
		b0_debug(&p->log, "data channel closed: %s",
		    why ? why : b0_strerror(r));
	dchan_free(dc);
	top_up(p);
}

static const struct b0_chan_ops data_ops = {
    data_frame,
    data_stream_end,
    data_closed,
};

static void
data_dial_done(struct dial *d, int r, const char *why)
{
	struct pub *p = d->p;
	struct b0_msg_attach a;
	struct dchan *dc;

	if (r != 0) {
		b0_warn(&p->log, "data channel: %s", why);
		dial_free(d);
		return;
	}
	if (p->state != P_UP || (dc = calloc(1, sizeof(*dc))) == NULL) {
		dial_free(d);
		return;
	}
	dc->p = p;
	dc->tfd = -1;
	b0_strlcpy(dc->session, p->welcome.session, sizeof(dc->session));
	if (b0_chan_new(p->loop, &p->cctx, d->fd, d->ssl, &data_ops, dc,
		&dc->chan) != 0) {
		free(dc);
		dial_free(d);
		return;
	}
	d->fd = -1;
	d->ssl = NULL;
	dial_free(d);
	TAILQ_INSERT_HEAD(&p->idle, dc, entry);
	p->nidle++;
	memset(&a, 0, sizeof(a));
	b0_strlcpy(a.session, p->welcome.session, sizeof(a.session));
	b0_strlcpy(a.key, p->welcome.key, sizeof(a.key));
	r = b0_msg_attach_frame(b0_chan_out(dc->chan), &a);
	OPENSSL_cleanse(a.key, sizeof(a.key));
	if (r != 0) {
		b0_chan_close(dc->chan, r, "cannot send ATTACH");
		return;
	}
	b0_chan_flush(dc->chan);
}

/* Keep conf->pool idle data channels (or dialing) while registered. */
static void
top_up(struct pub *p)
{
	while (p->state == P_UP && !p->stopping &&
	       p->nidle + p->ndial_data < p->conf->pool &&
	       p->nidle + p->nbusy + p->ndial_data < MAX_CHANNELS) {
		if (dial_start(p, DIAL_DATA, data_dial_done) != 0)
			break;
	}
}

static void
unregister_timeout(struct b0_loop *loop, void *cookie)
{
	struct pub *p = cookie;

	(void)loop;
	b0_warn(&p->log, "the edge did not confirm the removal in time");
	p->done = 1;
}

/* Both NULL, or the same string. */
static int
str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
reload(struct pub *p)
{
	struct pub_conf *nc = NULL;
	struct b0_errmsg em;
	int r, reconnect;

	b0_daemon_notify("RELOADING=1");
	b0_err_clear(&em);
	if ((r = pub_conf_load(p->conf->path, &nc, &em)) != 0 ||
	    (r = pub_conf_prepare(nc, &em)) != 0 ||
	    (r = pub_conf_resolve(nc, &em)) != 0) {
		b0_error(&p->log,
		    "reload failed, keeping the running "
		    "configuration: %s",
		    b0_err_text(&em, r));
		pub_conf_free(nc);
		b0_daemon_notify("READY=1");
		return;
	}
	reconnect = strcmp(nc->edge_host, p->conf->edge_host) != 0 ||
		    nc->edge_port != p->conf->edge_port;
	b0_warn(&p->log, "%s",
	    reconnect ? "reload: the edge changed; restart "
			"b0-publish to move to it"
		      : "reload: configuration reloaded");
	if (!str_eq(nc->jwks_file, p->conf->jwks_file) ||
	    !str_eq(nc->ticket_socket, p->conf->ticket_socket) ||
	    !str_eq(nc->ticket_group, p->conf->ticket_group))
		b0_warn(&p->log, "reload: jwks-file, ticket-socket and "
				 "ticket-group change on a restart only");
	/* Edge, TLS and token settings need a restart; take the sockets. */
	pub_socks_free(p->conf->socks, p->conf->nsocks);
	p->conf->socks = nc->socks;
	p->conf->nsocks = nc->nsocks;
	nc->socks = NULL;
	nc->nsocks = 0;
	log_unverified(p);
	p->conf->pool = nc->pool;
	p->conf->log_level = nc->log_level;
	p->log.max_level = nc->log_level;
	pub_conf_free(nc);
	if (p->state == P_UP && p->ctl != NULL)
		send_register(p, 0);
	b0_daemon_notify("READY=1");
}

static void
on_signal(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct pub *p = cookie;
	int sig;

	(void)events;
	while ((sig = b0_daemon_signal_read(fd)) != 0) {
		if (sig == SIGHUP && !p->connect_mode) {
			reload(p);
			continue;
		}
		if (sig == SIGHUP)
			continue;
		if (p->stopping) {
			/* A second Ctrl-C: do not wait for the edge. */
			p->done = 1;
			continue;
		}
		p->stopping = 1;
		if (p->connect_mode && p->state == P_UP && p->ctl != NULL &&
		    send_register(p, 1) == 0) {
			b0_notice(&p->log, "removing the socket from the edge");
			p->state = P_UNREGISTER;
			b0_timer_set(loop, &p->retry, UNREGISTER_WAIT_MS,
			    unregister_timeout, p);
			continue;
		}
		b0_notice(&p->log, "stopping");
		p->done = 1;
	}
}

static void
teardown(struct pub *p)
{
	struct dchan *dc;

	b0_timer_cancel(p->loop, &p->retry);
	b0_timer_cancel(p->loop, &p->hb);
	while (!TAILQ_EMPTY(&p->dials))
		dial_free(TAILQ_FIRST(&p->dials));
	while ((dc = TAILQ_FIRST(&p->busy)) != NULL)
		dchan_free(dc);
	while ((dc = TAILQ_FIRST(&p->idle)) != NULL)
		dchan_free(dc);
	if (p->ctl != NULL) {
		/* A clean close_notify: the edge logs "closed by publisher". */
		p->stopping = 1;
		p->state = P_WAIT;
		b0_chan_close(p->ctl, 0, "stopping");
	}
	b0_ctl_free(p->ctlsock);
	httpd_free(p->httpd);
	if (p->sigfd != -1)
		close(p->sigfd);
	b0_msg_socks_cleanup(&p->registered);
	ident_free(p->ident);
	p->ident = NULL;
	tickets_cleanup(&p->tickets);
	b0_tls_ctx_free(p->tls);
	free(p->cctx.scratch);
	OPENSSL_cleanse(p->token, sizeof(p->token));
	OPENSSL_cleanse(&p->welcome, sizeof(p->welcome));
	OPENSSL_cleanse(p->proxy_auth, sizeof(p->proxy_auth));
	b0_loop_free(p->loop);
}

/* Say at start (and reload) which https targets go unverified. */
static void
log_unverified(struct pub *p)
{
	size_t i;

	for (i = 0; i < p->conf->nsocks; i++) {
		const struct pub_socket *s = &p->conf->socks[i];

		if (s->type == B0_SOCK_HTTPS && !s->tls_verify)
			b0_warn(&p->log,
			    "socket %s: tls-verify=no: the certificate of "
			    "%s is not verified",
			    s->name, s->target);
	}
}

/* connect --httpserver: the built-in server becomes the target. */
static int
start_httpd(struct pub *p, struct b0_errmsg *em)
{
	struct pub_socket *s = NULL;
	char addr[B0_ADDR_SIZE];
	size_t i;
	int r;

	for (i = 0; i < p->conf->nsocks; i++) {
		if (p->conf->socks[i].httpserver != NULL)
			s = &p->conf->socks[i];
	}
	if (s == NULL)
		return 0;
	if ((r = httpd_new(p->loop, &p->log, s->httpserver, "127.0.0.1", 0,
		 &p->httpd, em)) != 0)
		return r;
	httpd_addr(p->httpd, &s->addr, &s->addrlen);
	b0_net_addr_str((struct sockaddr *)&s->addr, addr, sizeof(addr));
	snprintf(s->target, sizeof(s->target), "%s", addr);
	b0_notice(&p->log, "serving %s read-only on %s (socket %s)",
	    s->httpserver, addr, s->name);
	return 0;
}

/*
 * A quick share (b0-publish connect) keeps its JWKS file and identity
 * socket in $XDG_RUNTIME_DIR/b0-publish, apart from the daemon's (which
 * may be running), or has none without XDG_RUNTIME_DIR.  Not root: only
 * that user (and root) may ask; pam_b0 trusts root's files only.
 */
static int
connect_paths(struct pub_conf *c)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char path[PATH_MAX];

	free(c->jwks_file);
	free(c->ticket_socket);
	free(c->ticket_group);
	c->jwks_file = c->ticket_socket = c->ticket_group = NULL;
	if (xdg == NULL || xdg[0] != '/')
		return 0;
	snprintf(path, sizeof(path), "%s/b0-publish/jwks.json", xdg);
	if ((c->jwks_file = strdup(path)) == NULL)
		return B0_ERR_ALLOC;
	snprintf(path, sizeof(path), "%s/b0-publish/tickets.sock", xdg);
	if ((c->ticket_socket = strdup(path)) == NULL)
		return B0_ERR_ALLOC;
	return 0;
}

/*
 * The JWKS file and the identity socket, before privileges are dropped.
 * The daemon fails without them; a quick share goes on without.
 */
static int
open_ident(struct pub *p, struct b0_errmsg *em)
{
	struct pub_conf *c = p->conf;
	int r;

	if (p->connect_mode && (r = connect_paths(c)) != 0)
		return r;
	if ((r = ident_open(p, p->connect_mode && geteuid() != 0, em)) == 0) {
		if (p->connect_mode && c->ticket_socket == NULL)
			b0_notice(&p->log,
			    "no XDG_RUNTIME_DIR: no identity socket and no "
			    "JWKS file for this share");
		return 0;
	}
	if (!p->connect_mode)
		return r;
	b0_warn(&p->log, "%s; going on without an identity socket",
	    b0_err_text(em, r));
	b0_err_clear(em);
	ident_free(p->ident);
	p->ident = NULL;
	free(c->jwks_file);
	free(c->ticket_socket);
	c->jwks_file = c->ticket_socket = NULL;
	return ident_open(p, 0, em);
}

int
pub_run(struct pub_conf *conf, int connect_mode, int ready_fd)
{
	static const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
	static const char *const alpn[] = {B0_PROTO_ALPN, NULL};
	struct b0_tls_config tc;
	struct b0_ctl_opts co;
	struct b0_errmsg em;
	struct pub p;
	int r;

	memset(&p, 0, sizeof(p));
	TAILQ_INIT(&p.dials);
	TAILQ_INIT(&p.idle);
	TAILQ_INIT(&p.busy);
	tickets_init(&p.tickets);
	p.conf = conf;
	p.sigfd = -1;
	p.connect_mode = connect_mode;
	b0_log_init(&p.log, "b0-publish", conf->log_level, NULL, NULL);
	b0_err_clear(&em);
	random_hex(p.instance, 16);
	memset(&tc, 0, sizeof(tc));
	tc.ca = conf->edge_ca;
	tc.pin = conf->edge_pin;
	tc.alpn = alpn;
	tc.tls13_only = 1;
	p.cctx.size = SCRATCH_SIZE;
	if ((r = b0_loop_new(&p.loop)) != 0 ||
	    (p.cctx.scratch = malloc(SCRATCH_SIZE)) == NULL ||
	    (r = pub_read_token(
		 conf->token_file, p.token, sizeof(p.token), &em)) != 0 ||
	    (r = b0_tls_ctx_new_client(&tc, &p.tls, &em)) != 0 ||
	    (r = pub_conf_prepare(conf, &em)) != 0 ||
	    (r = pub_conf_resolve(conf, &em)) != 0 ||
	    (r = start_httpd(&p, &em)) != 0)
		goto fail;
	log_unverified(&p);
	b0_ctl_opts_init(&co);
	if (conf->control_socket != NULL &&
	    (r = b0_ctl_listen(p.loop, conf->control_socket, &co,
		 pub_ctl_handler, &p, &p.ctlsock, &em)) != 0)
		goto fail;
	if ((r = open_ident(&p, &em)) != 0)
		goto fail;
	if ((r = b0_daemon_drop(conf->user, &em)) != 0 ||
	    (r = b0_daemon_signalfd(sigs, 3, &p.sigfd)) != 0 ||
	    (r = b0_loop_add(p.loop, p.sigfd, B0_LOOP_READ, on_signal, &p)) !=
		0)
		goto fail;
	b0_daemon_notify("READY=1");
	connect_edge(&p);
	while (!p.done) {
		if (ready_fd >= 0 && p.state == P_UP) {
			b0_daemon_ready_fd(ready_fd, "READY=1\n");
			ready_fd = -1;
		}
		if ((r = b0_loop_once(p.loop, -1)) != 0)
			break;
	}
	b0_daemon_notify("STOPPING=1");
	r = p.exit_code;
	teardown(&p);
	return r;
fail:
	b0_error(&p.log, "%s", b0_err_text(&em, r));
	b0_daemon_ready_fd(ready_fd, "ERROR=1\n");
	teardown(&p);
	return r == B0_ERR_CONFIG || r == B0_ERR_PERM ? 78 : 1;
}
