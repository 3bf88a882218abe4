/*
 * b0-edge: the public tcp ports of tcp sockets, and visitors' streams.
 *
 * A visitor's connection takes an idle data channel of the publisher
 * serving the socket and becomes a stream on it at once (OPEN, then the
 * relay); with no idle channel it waits briefly while the publisher dials
 * more; with no publisher it is closed at once, and the log says why.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_net.h"
#include "b0_str.h"
#include "edge.h"
#include "tconn.h"

/* A visitor waits at most this long for a data channel. */
#define WAIT_MS 10000
/* TCP keepalive on visitors' connections: dead peers go away. */
#define VISITOR_KEEPALIVE_S 60

void
stream_start(struct pconn *pc, struct esock *k, int fd, const char *addr)
{
	struct edge *e = pc->e;
	struct b0_msg_open o;
	int r;

	memset(&o, 0, sizeof(o));
	b0_strlcpy(o.socket, k->name, sizeof(o.socket));
	b0_strlcpy(o.visitor, addr, sizeof(o.visitor));
	edge_random_hex(o.id, 16);
	pc->streaming = 1;
	pc->opened = 0;
	b0_strlcpy(pc->stream_sock, k->dns, sizeof(pc->stream_sock));
	b0_strlcpy(pc->visitor, addr, sizeof(pc->visitor));
	b0_strlcpy(pc->id, o.id, sizeof(pc->id));
	k->streams++;
	if (pc->s != NULL)
		pc->s->streams++;
	if ((r = b0_msg_open_frame(b0_chan_out(pc->chan), &o)) != 0 ||
	    (r = b0_chan_stream_start(pc->chan, fd)) != 0) {
		b0_error_fr(&e->log, r, "socket %s visitor %s: starting stream",
		    k->dns, addr);
		close(fd);
		b0_chan_close(pc->chan, r, "cannot start stream");
		return;
	}
	b0_chan_flush(pc->chan);
	b0_debug(
	    &e->log, "socket %s visitor %s: stream %s", k->dns, addr, o.id);
}

static void
visitor_free(struct visitor *v, const char *why)
{
	struct session *s = v->s;

	TAILQ_REMOVE(&s->waitq, v, entry);
	s->nwait--;
	b0_timer_cancel(s->e->loop, &v->timer);
	if (why != NULL) {
		b0_notice(&s->e->log, "socket %s visitor %s: closed: %s",
		    v->sock->dns, v->addr, why);
		close(v->fd);
	}
	free(v);
}

static void
visitor_timeout(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	visitor_free(cookie, "no data channel from the publisher within 10 s");
}

/* Serve the waiting visitors, tcp (waitq) and tls (tconn.c), oldest first. */
void
visitor_serve_waiting(struct session *s)
{
	struct visitor *v;
	struct tconn *t;
	struct pconn *pc;
	uint64_t tsince;

	while (!TAILQ_EMPTY(&s->idle)) {
		v = TAILQ_FIRST(&s->waitq);
		t = tconn_oldest(s, &tsince);
		if ((v == NULL && t == NULL) || session_take_idle(s, &pc) != 0)
			break;
		if (t != NULL && (v == NULL || tsince < v->since)) {
			tconn_serve(t, pc);
			continue;
		}
		stream_start(pc, v->sock, v->fd, v->addr);
		visitor_free(v, NULL);
	}
}

void
visitor_drop_all(struct session *s, struct esock *only, const char *why)
{
	struct visitor *v, *next;

	for (v = TAILQ_FIRST(&s->waitq); v != NULL; v = next) {
		next = TAILQ_NEXT(v, entry);
		if (only == NULL || v->sock == only)
			visitor_free(v, why);
	}
	tconn_drop_waiting(s->e, s, only, why);
}

int
visitor_add(struct esock *k, int fd, const char *addr)
{
	struct edge *e = k->e;
	struct session *s = k->s;
	struct visitor *v;
	struct pconn *pc;

	if (s == NULL)
		return B0_ERR_NOT_FOUND;
	if (session_take_idle(s, &pc) == 0) {
		stream_start(pc, k, fd, addr);
		return 0;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return B0_ERR_ALLOC;
	v->s = s;
	v->sock = k;
	v->fd = fd;
	b0_strlcpy(v->addr, addr, sizeof(v->addr));
	v->since = b0_loop_now(e->loop);
	TAILQ_INSERT_TAIL(&s->waitq, v, entry);
	s->nwait++;
	b0_timer_set(e->loop, &v->timer, WAIT_MS, visitor_timeout, v);
	session_ask_pool(s);
	return 0;
}

static void
visitor_accept(struct b0_loop *loop, int lfd, unsigned events, void *cookie)
{
	struct esock *k = cookie;
	struct edge *e = k->e;
	struct sockaddr_storage ss;
	char addr[B0_ADDR_SIZE];
	socklen_t len;
	int fd, n;

	(void)loop;
	(void)events;
	/* A bounded batch per wake-up keeps one busy port from starving. */
	for (n = 0; n < 64; n++) {
		if (b0_net_accept(lfd, &fd, &ss, &len) != 0)
			return;
		b0_net_addr_str((struct sockaddr *)&ss, addr, sizeof(addr));
		if (k->s == NULL) {
			b0_log_rl(&e->log, &e->rl_visitor,
			    (time_t)b0_loop_wall(), B0_LOG_NOTICE,
			    "socket %s visitor %s: refused: publisher %s is "
			    "not connected",
			    k->dns, addr, k->publisher);
			close(fd);
			continue;
		}
		b0_net_tune(fd, VISITOR_KEEPALIVE_S);
		if (visitor_add(k, fd, addr) != 0)
			close(fd);
	}
}

int
esock_listen(struct esock *k, struct b0_errmsg *em)
{
	struct edge *e = k->e;
	struct b0_errmsg lem;
	int i, fd, r = 0;

	for (i = 0; i < e->conf->ntcp_listen; i++) {
		if ((r = b0_net_listen(
			 e->conf->tcp_listen[i], k->port, &fd, &lem)) != 0) {
			/* An address family the host lacks is not fatal. */
			b0_warn(&e->log, "socket %s: %s", k->dns, lem.text);
			b0_err_set(em, "%s", lem.text);
			continue;
		}
		if ((r = b0_loop_add(
			 e->loop, fd, B0_LOOP_READ, visitor_accept, k)) != 0) {
			close(fd);
			b0_err_set(em, "port %u: %s", (unsigned)k->port,
			    b0_strerror(r));
			continue;
		}
		k->lfd[k->nlfd++] = fd;
	}
	return k->nlfd > 0 ? 0 : (r != 0 ? r : B0_ERR_CONFIG);
}

void
esock_unlisten(struct esock *k)
{
	int i;

	for (i = 0; i < k->nlfd; i++) {
		b0_loop_del(k->e->loop, k->lfd[i]);
		close(k->lfd[i]);
	}
	k->nlfd = 0;
}
