/*
 * b0-edge: publisher connections, sessions and socket registration
 * (docs/protocol.md, "Control channel" and "Data channels").
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_b64.h"
#include "b0_str.h"
#include "edge.h"
#include "idp.h"
#include "policy.h"
#include "hauth.h"
#include "hproxy.h"
#include "tconn.h"

/* A new connection must say HELLO or ATTACH within this time. */
#define FIRST_FRAME_MS 10000
/* POOL requests not answered in this time are asked again. */
#define POOL_RETRY_MS 2000

static int pconn_frame(struct b0_chan *c, uint8_t type, const uint8_t *p,
    size_t len, void *cookie);
static void pconn_stream_end(
    struct b0_chan *c, const struct b0_chan_stream_stats *st, void *cookie);
static void pconn_closed(
    struct b0_chan *c, int r, const char *why, void *cookie);

static int session_register(struct session *s);
static int register_sock(struct session *s, const struct b0_msg_sock *in,
    struct b0_msg_sock *out, int is_tcp, struct b0_spec *sp);
static struct esock *esock_find(
    struct edge *e, const char *publisher, const char *name);

static const struct b0_chan_ops pconn_ops = {
    pconn_frame,
    pconn_stream_end,
    pconn_closed,
};

void
edge_random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	if (bytes > sizeof(r) || RAND_bytes(r, (int)bytes) != 1)
		abort(); /* no randomness: nothing we could safely do */
	b0_hex_encode(r, bytes, out, bytes * 2 + 1);
}

/* Where a pconn sits: pending, a session's idle or busy list, orphans. */
static struct pconn_q *
pconn_list(struct pconn *pc)
{
	if (pc->kind != PC_DATA)
		return &pc->e->pending;
	if (pc->s == NULL)
		return &pc->e->orphans;
	return pc->busy ? &pc->s->busy : &pc->s->idle;
}

static void
first_frame_timeout(struct b0_loop *loop, void *cookie)
{
	struct pconn *pc = cookie;

	(void)loop;
	b0_notice(&pc->e->log, "%s: no HELLO or ATTACH within %d s; closing",
	    pc->peer, FIRST_FRAME_MS / 1000);
	b0_chan_close(pc->chan, B0_ERR_TIMEOUT, "no first frame");
}

void
pconn_new(struct edge *e, int fd, SSL *ssl, const char *peer)
{
	struct pconn *pc;
	int r;

	if ((pc = calloc(1, sizeof(*pc))) == NULL) {
		SSL_free(ssl);
		close(fd);
		return;
	}
	pc->e = e;
	pc->kind = PC_NEW;
	b0_strlcpy(pc->peer, peer, sizeof(pc->peer));
	if ((r = b0_chan_new(
		 e->loop, &e->cctx, fd, ssl, &pconn_ops, pc, &pc->chan)) != 0) {
		b0_error_fr(&e->log, r, "%s: channel", peer);
		SSL_free(ssl);
		close(fd);
		free(pc);
		return;
	}
	TAILQ_INSERT_TAIL(&e->pending, pc, entry);
	b0_timer_set(
	    e->loop, &pc->timer, FIRST_FRAME_MS, first_frame_timeout, pc);
}

static void
pconn_free(struct pconn *pc)
{
	TAILQ_REMOVE(pconn_list(pc), pc, entry);
	if (pc->s != NULL && pc->kind == PC_DATA) {
		if (pc->busy)
			pc->s->nbusy--;
		else
			pc->s->nidle--;
	}
	b0_timer_cancel(pc->e->loop, &pc->timer);
	b0_chan_free(pc->chan);
	tconn_stream_forget(pc);
	free(pc);
}

/* Send ERROR and close: the reason goes to the publisher and the log. */
static int
refuse(struct pconn *pc, const char *code, const char *msg)
{
	b0_msg_error_frame(b0_chan_out(pc->chan), code, msg);
	b0_chan_flush(pc->chan);
	return B0_ERR_DENIED;
}

static void
idle_expired(struct b0_loop *loop, void *cookie)
{
	struct pconn *pc = cookie;

	(void)loop;
	b0_debug(&pc->e->log, "%s: idle data channel expired", pc->peer);
	b0_chan_close(pc->chan, 0, "idle");
}

/* A data channel (new or after a stream) joins its session's idle pool. */
static void
data_make_idle(struct pconn *pc)
{
	struct session *s = pc->s;

	pc->busy = 0;
	TAILQ_INSERT_HEAD(&s->idle, pc, entry);
	s->nidle++;
	b0_timer_set(s->e->loop, &pc->timer, s->e->conf->channel_idle_ms,
	    idle_expired, pc);
	if (s->nidle > s->e->conf->pool_max) {
		/* Too many: retire the one that has been idle longest. */
		b0_chan_close(
		    TAILQ_LAST(&s->idle, pconn_q)->chan, 0, "pool full");
	}
	visitor_serve_waiting(s);
}

int
session_take_idle(struct session *s, struct pconn **pcp)
{
	struct pconn *pc = TAILQ_FIRST(&s->idle);

	*pcp = NULL;
	if (pc == NULL)
		return B0_ERR_NOT_FOUND;
	TAILQ_REMOVE(&s->idle, pc, entry);
	s->nidle--;
	b0_timer_cancel(s->e->loop, &pc->timer);
	pc->busy = 1;
	TAILQ_INSERT_TAIL(&s->busy, pc, entry);
	s->nbusy++;
	*pcp = pc;
	return 0;
}

void
session_ask_pool(struct session *s)
{
	uint64_t now = b0_loop_now(s->e->loop);
	uint32_t want;

	if (s->pool_asked > 0 && now - s->pool_asked_at > POOL_RETRY_MS)
		s->pool_asked = 0;
	if (s->nwait <= s->pool_asked)
		return;
	want = s->nwait - s->pool_asked;
	if (want > 1024)
		want = 1024;
	if (b0_msg_pool_frame(b0_chan_out(s->ctl->chan), want) == 0) {
		b0_chan_flush(s->ctl->chan);
		s->pool_asked += want;
		s->pool_asked_at = now;
	}
}

struct session *
session_find_id(struct edge *e, const char *id)
{
	struct session *s;

	TAILQ_FOREACH(s, &e->sessions, entry)
	{
		if (strcmp(s->id, id) == 0)
			return s;
	}
	return NULL;
}

static void
heartbeat(struct b0_loop *loop, void *cookie)
{
	struct session *s = cookie;
	uint64_t hb = s->e->conf->heartbeat_ms;
	char why[64];

	if (b0_loop_now(loop) - b0_chan_last_rx(s->ctl->chan) > 3 * hb) {
		snprintf(why, sizeof(why), "no heartbeat for %llu s",
		    (unsigned long long)(3 * hb / 1000));
		b0_chan_close(s->ctl->chan, B0_ERR_TIMEOUT, why);
		return;
	}
	b0_chan_send(s->ctl->chan, B0_F_PING, "b0", 2);
	b0_timer_set(loop, &s->hb, hb, heartbeat, s);
}

/*
 * Sockets of publisher s->publisher were freed: its other sessions that
 * asked for sockets they did not get (held by the session that ended, say
 * a b0-publish that restarted before the edge noticed its predecessor was
 * gone) register again and get an updated REGISTERED.
 */
static void
sessions_retry(struct edge *e, const char *publisher)
{
	struct session *s;
	struct esock *k;
	size_t i;

	TAILQ_FOREACH(s, &e->sessions, entry)
	{
		s->retry = 0;
		if (strcmp(s->publisher, publisher) != 0 || s->ctl == NULL)
			continue;
		for (i = 0; i < s->want.n; i++) {
			k = esock_find(e, publisher, s->want.socks[i].name);
			if (k == NULL || k->s != s)
				s->retry = 1;
		}
	}
	/* Each once; from the top every time, as a failure ends sessions. */
	for (;;) {
		TAILQ_FOREACH(s, &e->sessions, entry)
		{
			if (s->retry)
				break;
		}
		if (s == NULL)
			break;
		s->retry = 0;
		if (session_register(s) != 0)
			b0_chan_close(
			    s->ctl->chan, B0_ERR_ALLOC, "out of memory");
	}
}

void
session_end(struct session *s, const char *why, int cut_streams)
{
	struct edge *e = s->e;
	struct pconn *pc;
	struct esock *k;
	char publisher[B0_NAME_SIZE];
	int held = 0;

	b0_notice(&e->log,
	    "publisher %s disconnected (%s, from %s): %s; "
	    "%u stream%s %s",
	    s->publisher, s->id, s->peer, why, s->nbusy,
	    s->nbusy == 1 ? "" : "s",
	    cut_streams ? "cut" : "continue until they end");
	TAILQ_FOREACH(k, &e->socks, entry)
	{
		if (k->s == s) {
			k->s = NULL;
			held = 1;
		}
	}
	visitor_drop_all(s, NULL, "the publisher went away");
	b0_timer_cancel(e->loop, &s->hb);
	/*
	 * Busy data channels outlive the session, unless cut.  A stream the
	 * publisher has not answered (OPENED) yet is cut too: if the publisher
	 * is gone (a lost network, a frozen process) nothing else would ever
	 * end it, and its visitor would hang.
	 */
	while ((pc = TAILQ_FIRST(&s->busy)) != NULL) {
		TAILQ_REMOVE(&s->busy, pc, entry);
		s->nbusy--;
		pc->s = NULL;
		TAILQ_INSERT_TAIL(&e->orphans, pc, entry);
		if (!cut_streams && pc->streaming && !pc->opened)
			b0_chan_stream_reset(pc->chan,
			    "the publisher went away before the stream opened");
		if (cut_streams || (pc->streaming && !pc->opened))
			b0_chan_close(pc->chan, B0_ERR_DENIED, why);
	}
	while ((pc = TAILQ_FIRST(&s->idle)) != NULL)
		b0_chan_close(pc->chan, 0, why);
	if (s->ctl != NULL) {
		pc = s->ctl;
		s->ctl = NULL;
		pc->s = NULL;
		pc->kind = PC_NEW;
		TAILQ_INSERT_TAIL(&e->pending, pc, entry);
		b0_chan_close(pc->chan, 0, why);
	}
	TAILQ_REMOVE(&e->sessions, s, entry);
	b0_strlcpy(publisher, s->publisher, sizeof(publisher));
	b0_msg_socks_cleanup(&s->want);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
	/* Not on revocation or shutdown: those end every session. */
	if (held && !cut_streams)
		sessions_retry(e, publisher);
}

/*
 * KEYS (docs/pam.md): the edge's issuer and published keys, queued on s's
 * control channel.  An edge without an identity provider sends none.
 */
static int
session_send_keys(struct session *s)
{
	const char *json;
	size_t len;
	int r;

	if (s->e->idp == NULL || !s->takes_keys)
		return 0;
	(void)idp_jwks(s->e->idp, &json, &len);
	if (json == NULL)
		return 0;
	if ((r = b0_msg_keys_frame(b0_chan_out(s->ctl->chan),
		 idp_issuer(s->e->idp), json, len)) != 0) {
		b0_error(&s->e->log, "publisher %s: cannot send KEYS: %s",
		    s->publisher, b0_strerror(r));
		return r;
	}
	b0_chan_flush(s->ctl->chan);
	return 0;
}

void
sessions_send_keys(struct edge *e)
{
	struct session *s;

	TAILQ_FOREACH(s, &e->sessions, entry)
	{
		if (session_send_keys(s) == 0)
			b0_debug(&e->log, "publisher %s: new keys sent",
			    s->publisher);
	}
}

/* P->E KEYS: a publisher asks for the keys (a kid it does not know). */
static int
on_keys(struct pconn *pc, const uint8_t *p, size_t len)
{
	struct b0_msg_keys m;
	struct b0_errmsg em;
	int r;

	if ((r = b0_msg_keys_decode(p, len, &m, &em)) != 0 || !m.request) {
		b0_msg_keys_cleanup(&m);
		if (r == 0)
			b0_err_set(&em, "KEYS: a publisher sends only {}");
		b0_notice(&pc->e->log, "%s publisher %s: bad KEYS: %s",
		    pc->peer, pc->s->publisher, em.text);
		return refuse(pc, "protocol", em.text);
	}
	b0_debug(
	    &pc->e->log, "publisher %s asked for the keys", pc->s->publisher);
	pc->s->takes_keys = 1; /* it asked */
	return session_send_keys(pc->s);
}

static int
on_hello(struct pconn *pc, const uint8_t *p, size_t len)
{
	struct edge *e = pc->e;
	struct b0_msg_hello h;
	struct b0_msg_welcome w;
	struct session *s, *old;
	struct b0_errmsg em;
	char name[B0_NAME_SIZE];
	unsigned char key[32];
	int r;

	if ((r = b0_msg_hello_decode(p, len, &h, &em)) != 0) {
		b0_notice(&e->log, "%s: bad HELLO: %s", pc->peer, em.text);
		return refuse(pc, "protocol", em.text);
	}
	if ((r = edge_token_check(&e->tokens, h.token, name)) == B0_ERR_AUTH) {
		/* Added a moment ago, before the once-a-second look? */
		edge_tokens_refresh(e);
		r = edge_token_check(&e->tokens, h.token, name);
	}
	OPENSSL_cleanse(h.token, sizeof(h.token));
	if (h.v != B0_PROTO_VERSION) {
		b0_notice(&e->log, "%s: protocol version %lld not supported",
		    pc->peer, (long long)h.v);
		return refuse(pc, "version",
		    "this edge speaks protocol "
		    "version 1");
	}
	if (r != 0) {
		b0_log_rl(&e->log, &e->rl_auth, (time_t)b0_loop_wall(),
		    B0_LOG_NOTICE,
		    "%s: publisher token refused (unknown or "
		    "revoked)",
		    pc->peer);
		return refuse(pc, "auth",
		    "publisher token not accepted "
		    "(unknown or revoked)");
	}
	/* Our own earlier session whose death we have not noticed yet. */
	TAILQ_FOREACH(old, &e->sessions, entry)
	{
		if (strcmp(old->publisher, name) == 0 &&
		    strcmp(old->instance, h.instance) == 0)
			break;
	}
	if (old != NULL) {
		b0_msg_error_frame(b0_chan_out(old->ctl->chan), "replaced",
		    "a new connection of this b0-publish replaced this one");
		b0_chan_flush(old->ctl->chan);
		session_end(old, "replaced by its reconnection", 0);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return B0_ERR_ALLOC;
	s->e = e;
	s->ctl = pc;
	b0_strlcpy(s->publisher, name, sizeof(s->publisher));
	b0_strlcpy(s->instance, h.instance, sizeof(s->instance));
	s->takes_keys = h.keys;
	b0_strlcpy(s->peer, pc->peer, sizeof(s->peer));
	edge_random_hex(s->id, 16);
	if (RAND_bytes(key, sizeof(key)) != 1 ||
	    b0_b64url_encode(key, sizeof(key), s->key, sizeof(s->key)) != 0)
		abort();
	OPENSSL_cleanse(key, sizeof(key));
	s->since = b0_loop_wall();
	TAILQ_INIT(&s->waitq);
	TAILQ_INIT(&s->idle);
	TAILQ_INIT(&s->busy);
	memcpy(s->token_hash, edge_token_find(&e->tokens, name)->hash,
	    sizeof(s->token_hash));
	TAILQ_INSERT_TAIL(&e->sessions, s, entry);
	TAILQ_REMOVE(&e->pending, pc, entry);
	b0_timer_cancel(e->loop, &pc->timer);
	pc->kind = PC_CONTROL;
	pc->s = s;

	memset(&w, 0, sizeof(w));
	w.v = B0_PROTO_VERSION;
	b0_strlcpy(w.publisher, name, sizeof(w.publisher));
	b0_strlcpy(w.session, s->id, sizeof(w.session));
	b0_strlcpy(w.key, s->key, sizeof(w.key));
	w.heartbeat = (uint32_t)(e->conf->heartbeat_ms / 1000);
	b0_strlcpy(w.domain, e->conf->domain, sizeof(w.domain));
	w.https_port = e->https_port;
	r = b0_msg_welcome_frame(b0_chan_out(pc->chan), &w);
	OPENSSL_cleanse(w.key, sizeof(w.key));
	if (r != 0)
		return r;
	b0_chan_flush(pc->chan);
	(void)session_send_keys(s); /* logged; the tunnel works without */
	b0_timer_set(e->loop, &s->hb, e->conf->heartbeat_ms, heartbeat, s);
	b0_notice(&e->log, "publisher %s connected from %s (session %s, %s)",
	    name, pc->peer, s->id, h.agent[0] ? h.agent : "unknown agent");
	return 0;
}

static int
on_attach(struct pconn *pc, const uint8_t *p, size_t len)
{
	struct edge *e = pc->e;
	struct b0_msg_attach a;
	struct b0_errmsg em;
	struct session *s;
	int ok;

	if (b0_msg_attach_decode(p, len, &a, &em) != 0) {
		b0_notice(&e->log, "%s: bad ATTACH: %s", pc->peer, em.text);
		return refuse(pc, "protocol", em.text);
	}
	s = session_find_id(e, a.session);
	ok = s != NULL && b0_ct_eq(s->key, a.key, sizeof(s->key));
	OPENSSL_cleanse(a.key, sizeof(a.key));
	if (!ok) {
		b0_log_rl(&e->log, &e->rl_auth, (time_t)b0_loop_wall(),
		    B0_LOG_NOTICE,
		    "%s: data channel for an unknown session "
		    "or with a wrong key",
		    pc->peer);
		return refuse(pc, "auth", "unknown session");
	}
	TAILQ_REMOVE(&e->pending, pc, entry);
	b0_timer_cancel(e->loop, &pc->timer);
	pc->kind = PC_DATA;
	pc->s = s;
	if (s->pool_asked > 0)
		s->pool_asked--;
	data_make_idle(pc);
	return 0;
}

/*
 * Check a publish spec with the policy library into *sp (the caller's on
 * success: b0_spec_cleanup()).
 */
static int
check_spec(const char *spec, struct b0_spec *sp, struct b0_errmsg *em)
{
	int r;

	if ((r = b0_spec_parse(spec, sp, em)) != 0)
		return r;
	return 0;
}

/*
 * The http options of a socket in REGISTER (docs/http.md, "On the
 * wire"): only on http and https sockets; a user of 1 to 64 visible ASCII
 * characters without ':', and a yescrypt hash, both or neither.
 */
static int
check_http_opts(const struct b0_msg_sock *in, const struct b0_spec *sp,
    struct b0_errmsg *em)
{
	int http = sp->type == B0_SOCK_HTTP || sp->type == B0_SOCK_HTTPS;
	size_t i, n = strlen(in->prot_user);

	if (!http && (in->host[0] != '\0' || in->prot_user[0] != '\0' ||
			 in->prot_hash[0] != '\0')) {
		b0_err_set(em, "%s sockets take no host or protected option",
		    b0_spec_type_name(sp->type));
		return B0_ERR_FORMAT;
	}
	if ((in->prot_user[0] == '\0') != (in->prot_hash[0] == '\0')) {
		b0_err_set(em, "protected needs both a user and a hash");
		return B0_ERR_FORMAT;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)in->prot_user[i] <= 0x20 ||
		    (unsigned char)in->prot_user[i] >= 0x7f ||
		    in->prot_user[i] == ':')
			break;
	if (n > 64 || i < n) {
		b0_err_set(em,
		    "protected: the user is not 1 to 64 visible ASCII "
		    "characters without ':'");
		return B0_ERR_FORMAT;
	}
	if (n > 0 && !b0_str_has_prefix(in->prot_hash, "$y$")) {
		b0_err_set(em, "protected: the hash is not a yescrypt ($y$) "
			       "hash");
		return B0_ERR_FORMAT;
	}
	for (i = 0; in->host[i] != '\0'; i++)
		if ((unsigned char)in->host[i] <= 0x20 ||
		    (unsigned char)in->host[i] >= 0x7f)
			break;
	if (in->host[i] != '\0') {
		b0_err_set(em, "host: not visible ASCII");
		return B0_ERR_FORMAT;
	}
	return 0;
}

/* Find a free public port for a new tcp socket, or 0. */
static uint16_t
alloc_port(struct edge *e)
{
	uint32_t p;

	for (p = e->conf->port_lo; p <= e->conf->port_hi; p++) {
		if (edge_resv_find_port(&e->resv, (uint16_t)p) == NULL)
			return (uint16_t)p;
	}
	return 0;
}

static struct esock *
esock_find(struct edge *e, const char *publisher, const char *name)
{
	struct esock *k;

	TAILQ_FOREACH(k, &e->socks, entry)
	{
		if (strcmp(k->publisher, publisher) == 0 &&
		    strcmp(k->name, name) == 0)
			return k;
	}
	return NULL;
}

void
esock_free(struct esock *k)
{
	struct edge *e = k->e;

	if (k->s != NULL)
		visitor_drop_all(k->s, k, "the socket was removed");
	tconn_drop_waiting(e, NULL, k, "the socket was removed");
	hproxy_drop_socket(k);
	hauth_drop_socket(e->hauth, k);
	esock_unlisten(k);
	TAILQ_REMOVE(&e->socks, k, entry);
	b0_spec_cleanup(&k->sp);
	OPENSSL_cleanse(k->prot_hash, sizeof(k->prot_hash));
	free(k);
}

/* The refusal of one socket, for REGISTERED (long names are cut). */
static void __attribute__((format(printf, 2, 3)))
sock_error(struct b0_msg_sock *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
}

/*
 * Register one socket for session s: reserve its name and port (stable
 * across restarts), listen, and fill in out (dns and port, or error).
 * Returns 1 if the reservations changed.
 */
static int
register_one(
    struct session *s, const struct b0_msg_sock *in, struct b0_msg_sock *out)
{
	struct b0_errmsg em;
	struct b0_spec sp;
	int is_tcp, changed;

	*out = *in;
	b0_err_clear(&em);
	if (check_spec(in->spec, &sp, &em) != 0) {
		b0_strlcpy(out->error, em.text, sizeof(out->error));
		return 0;
	}
	if (check_http_opts(in, &sp, &em) != 0) {
		b0_strlcpy(out->error, em.text, sizeof(out->error));
		b0_spec_cleanup(&sp);
		return 0;
	}
	is_tcp = sp.type == B0_SOCK_TCP;
	changed = register_sock(s, in, out, is_tcp, &sp);
	b0_spec_cleanup(&sp);
	return changed;
}

/* register_one() for a checked spec; takes what *sp holds if it keeps it. */
static int
register_sock(struct session *s, const struct b0_msg_sock *in,
    struct b0_msg_sock *out, int is_tcp, struct b0_spec *sp)
{
	struct edge *e = s->e;
	struct edge_resv nr, *rv;
	struct b0_errmsg em;
	struct esock *k;
	int changed = 0;

	b0_err_clear(&em);
	if ((size_t)snprintf(out->dns, sizeof(out->dns), "%s-%s.%s", in->name,
		s->publisher, e->conf->domain) >= sizeof(out->dns) ||
	    strlen(in->name) + 1 + strlen(s->publisher) > 63) {
		sock_error(out,
		    "the DNS label "
		    "%s-%s is longer than 63 characters; use a shorter socket "
		    "name",
		    in->name, s->publisher);
		return 0;
	}
	k = esock_find(e, s->publisher, in->name);
	if (k != NULL && k->s != NULL && k->s != s &&
	    strcmp(k->instance, s->instance) != 0) {
		sock_error(out,
		    "socket %s is served "
		    "by another b0-publish of %s (connected from %s)",
		    in->name, s->publisher, k->s->peer);
		return 0;
	}
	rv = edge_resv_find_dns(&e->resv, out->dns);
	if (rv != NULL && (strcmp(rv->publisher, s->publisher) != 0 ||
			      strcmp(rv->socket, in->name) != 0)) {
		sock_error(out,
		    "the name %s is taken "
		    "by socket %s of publisher %s",
		    out->dns, rv->socket, rv->publisher);
		return 0;
	}
	if (rv == NULL) {
		memset(&nr, 0, sizeof(nr));
		b0_strlcpy(nr.publisher, s->publisher, sizeof(nr.publisher));
		b0_strlcpy(nr.socket, in->name, sizeof(nr.socket));
		b0_strlcpy(nr.dns, out->dns, sizeof(nr.dns));
		if ((rv = edge_resv_add(&e->resv, &nr)) == NULL) {
			b0_strlcpy(
			    out->error, "out of memory", sizeof(out->error));
			return 0;
		}
		changed = 1;
	}
	if (is_tcp && rv->port == 0) {
		if ((rv->port = alloc_port(e)) == 0) {
			sock_error(out,
			    "no free port "
			    "left in tcp-ports %u-%u",
			    (unsigned)e->conf->port_lo,
			    (unsigned)e->conf->port_hi);
			return changed;
		}
		changed = 1;
	}
	out->port = is_tcp ? rv->port : e->https_port;
	if (k == NULL) {
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			b0_strlcpy(
			    out->error, "out of memory", sizeof(out->error));
			return changed;
		}
		k->e = e;
		b0_strlcpy(k->publisher, s->publisher, sizeof(k->publisher));
		b0_strlcpy(k->name, in->name, sizeof(k->name));
		TAILQ_INIT(&k->twait);
		TAILQ_INSERT_TAIL(&e->socks, k, entry);
	}
	b0_spec_cleanup(&k->sp);
	k->sp = *sp;
	memset(sp, 0, sizeof(*sp)); /* transferred */
	b0_strlcpy(k->spec, in->spec, sizeof(k->spec));
	b0_strlcpy(k->dns, out->dns, sizeof(k->dns));
	b0_strlcpy(k->instance, s->instance, sizeof(k->instance));
	b0_strlcpy(k->host, in->host, sizeof(k->host));
	b0_strlcpy(k->prot_user, in->prot_user, sizeof(k->prot_user));
	b0_strlcpy(k->prot_hash, in->prot_hash, sizeof(k->prot_hash));
	if (k->nlfd > 0 && k->port != out->port)
		esock_unlisten(k);
	k->port = out->port;
	if (k->nlfd == 0 && is_tcp && esock_listen(k, &em) != 0) {
		b0_strlcpy(out->error, em.text, sizeof(out->error));
		esock_free(k);
		return changed;
	}
	k->s = s;
	return changed;
}

/*
 * Register the sockets of s->want (all of them, every time: idempotent) and
 * answer with REGISTERED, which the edge also sends unasked when sockets
 * the session could not have become free (sessions_retry()).
 */
static int
session_register(struct session *s)
{
	struct edge *e = s->e;
	struct b0_msg_socks out;
	struct b0_errmsg em;
	struct esock *k, *next;
	int changed = 0, r;
	size_t i, j;

	memset(&out, 0, sizeof(out));
	if (s->want.n > 0 &&
	    (out.socks = calloc(s->want.n, sizeof(*out.socks))) == NULL)
		return B0_ERR_ALLOC;
	out.n = s->want.n;
	for (i = 0; i < s->want.n; i++)
		changed |= register_one(s, &s->want.socks[i], &out.socks[i]);
	/* Sockets this session served and no longer lists go away. */
	for (k = TAILQ_FIRST(&e->socks); k != NULL; k = next) {
		next = TAILQ_NEXT(k, entry);
		if (k->s != s)
			continue;
		for (j = 0; j < out.n; j++) {
			if (strcmp(out.socks[j].name, k->name) == 0 &&
			    out.socks[j].error[0] == '\0')
				break;
		}
		if (j == out.n) {
			b0_notice(&e->log, "publisher %s removed socket %s",
			    s->publisher, k->dns);
			esock_free(k);
		}
	}
	if (changed &&
	    (r = edge_resvs_save(e->conf->state_dir, &e->resv, &em)) != 0)
		b0_error(&e->log, "saving socket reservations: %s",
		    b0_err_text(&em, r));
	for (i = 0; i < out.n; i++) {
		if (out.socks[i].error[0] != '\0')
			b0_notice(&e->log,
			    "publisher %s: socket %s (%s) "
			    "refused: %s",
			    s->publisher, out.socks[i].name, out.socks[i].spec,
			    out.socks[i].error);
		else
			b0_info(&e->log,
			    "publisher %s: socket %s (%s) at "
			    "%s port %u",
			    s->publisher, out.socks[i].name, out.socks[i].spec,
			    out.socks[i].dns, (unsigned)out.socks[i].port);
	}
	r = b0_msg_socks_frame(b0_chan_out(s->ctl->chan), 1, &out);
	b0_chan_flush(s->ctl->chan);
	b0_msg_socks_cleanup(&out);
	return r;
}

static int
on_register(struct pconn *pc, const uint8_t *p, size_t len)
{
	struct session *s = pc->s;
	struct b0_msg_socks in;
	struct b0_errmsg em;

	if (b0_msg_socks_decode(p, len, 0, &in, &em) != 0) {
		b0_notice(&s->e->log, "publisher %s: bad REGISTER: %s",
		    s->publisher, em.text);
		return refuse(pc, "protocol", em.text);
	}
	b0_msg_socks_cleanup(&s->want);
	s->want = in;
	return session_register(s);
}

static int
pconn_frame(
    struct b0_chan *c, uint8_t type, const uint8_t *p, size_t len, void *cookie)
{
	struct pconn *pc = cookie;
	struct b0_msg_error err;
	struct b0_errmsg em;
	char msg[64];

	(void)c;
	if (type == B0_F_ERROR) {
		if (b0_msg_error_decode(p, len, &err, &em) == 0)
			b0_notice(&pc->e->log,
			    "%s%s%s: error from publisher: "
			    "%s: %s",
			    pc->peer, pc->s ? " publisher " : "",
			    pc->s ? pc->s->publisher : "", err.code,
			    err.message);
		return B0_ERR_PROTOCOL;
	}
	switch (pc->kind) {
	case PC_NEW:
		if (type == B0_F_HELLO)
			return on_hello(pc, p, len);
		if (type == B0_F_ATTACH)
			return on_attach(pc, p, len);
		break;
	case PC_CONTROL:
		if (type == B0_F_REGISTER)
			return on_register(pc, p, len);
		if (type == B0_F_KEYS)
			return on_keys(pc, p, len);
		if (type == B0_F_PING)
			return b0_chan_send(pc->chan, B0_F_PONG, p, len);
		if (type == B0_F_PONG)
			return 0;
		break;
	case PC_DATA:
		if (type == B0_F_OPENED && pc->streaming && !pc->opened) {
			pc->opened = 1;
			return 0;
		}
		break;
	}
	snprintf(
	    msg, sizeof(msg), "unexpected %s frame", b0_proto_type_name(type));
	b0_notice(&pc->e->log, "%s: %s", pc->peer, msg);
	return refuse(pc, "protocol", msg);
}

static void
pconn_stream_end(
    struct b0_chan *c, const struct b0_chan_stream_stats *st, void *cookie)
{
	struct pconn *pc = cookie;
	struct edge *e = pc->e;
	uint64_t ms = st->end_ms - st->start_ms;
	const char *who = tconn_stream_who(pc);

	/*
	 * One line per visitor connection (bytes as seen by the visitor),
	 * with the identity for tls sockets.
	 */
	b0_info(&e->log,
	    "socket %s visitor %s%s%s%s: sent %llu received %llu "
	    "duration %llu.%03llus: %s",
	    pc->stream_sock, pc->visitor, who ? " (" : "", who ? who : "",
	    who ? ")" : "", (unsigned long long)st->up,
	    (unsigned long long)st->down, (unsigned long long)(ms / 1000),
	    (unsigned long long)(ms % 1000), st->clean ? "closed" : st->how);
	if (!st->clean)
		hproxy_stream_end(e, pc->stream_sock, pc->visitor, st->how);
	tconn_stream_forget(pc);
	pc->streaming = 0;
	pc->opened = 0;
	if (b0_chan_is_closed(c))
		return; /* the tunnel is lost: closed() follows, no reuse */
	if (pc->s == NULL) {
		/* Its session is gone: this channel retires now. */
		b0_chan_close(pc->chan, 0, "session ended");
		return;
	}
	TAILQ_REMOVE(&pc->s->busy, pc, entry);
	pc->s->nbusy--;
	data_make_idle(pc);
}

static void
pconn_closed(struct b0_chan *c, int r, const char *why, void *cookie)
{
	struct pconn *pc = cookie;
	struct session *s = pc->s;

	(void)c;
	if (pc->kind == PC_CONTROL && s != NULL) {
		s->ctl = NULL;
		pc->s = NULL;
		pc->kind = PC_NEW;
		TAILQ_INSERT_TAIL(&pc->e->pending, pc, entry);
		session_end(s,
		    r == B0_ERR_EOF ? "closed by publisher"
				    : (why ? why : b0_strerror(r)),
		    0);
	}
	pconn_free(pc);
}

void
pconn_free_all(struct edge *e)
{
	while (!TAILQ_EMPTY(&e->sessions))
		session_end(
		    TAILQ_FIRST(&e->sessions), "the edge is shutting down", 1);
	while (!TAILQ_EMPTY(&e->pending))
		pconn_free(TAILQ_FIRST(&e->pending));
	while (!TAILQ_EMPTY(&e->orphans))
		pconn_free(TAILQ_FIRST(&e->orphans));
}

void
sessions_check_tokens(struct edge *e)
{
	const struct edge_token *t;
	struct session *s, *next;

	for (s = TAILQ_FIRST(&e->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		t = edge_token_find(&e->tokens, s->publisher);
		if (t != NULL && b0_ct_eq(t->hash, s->token_hash, 32))
			continue;
		b0_notice(&e->log,
		    "publisher %s: token revoked; cutting its "
		    "tunnels",
		    s->publisher);
		b0_msg_error_frame(b0_chan_out(s->ctl->chan), "revoked",
		    "the publisher token was revoked");
		b0_chan_flush(s->ctl->chan);
		session_end(s, "token revoked", 1);
	}
}
