/*
 * b0_chan: a framed TLS connection, and the relay of one stream over it.
 *
 * Data moves through one scratch buffer shared by all channels: a read from
 * the plain socket lands after a 4-byte frame header in scratch and goes to
 * SSL_write from there; SSL_read decrypts into scratch and the DATA payload
 * goes to write(2) from there.  Only what cannot be written at once (the
 * other side is full) is copied into the channel's own buffers, which are
 * freed again when empty, so an idle stream costs this struct and OpenSSL's
 * SSL object, nothing more.
 *
 * Backpressure: while out holds bytes (TLS socket full) the plain socket is
 * not read; while in holds bytes (plain socket full) the TLS socket is not
 * read.  TCP does the rest.
 *
 * A stream's own socket may be a TLS connection too (a visitor of a tls
 * socket at the edge, b0_chan_stream_start_tls()).  It has its own event
 * callback and reader, and deliver_data() and the FIN branch to it, so the
 * plain path pays one pointer test per call and nothing per byte.  Its
 * close_notify is the stream's FIN, the peer's FIN becomes our
 * close_notify (we go on reading: TLS 1.3 half-close), and a TCP close
 * without close_notify is a reset.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_chan.h"
#include "b0_err.h"
#include "b0_net.h"
#include "b0_proto.h"
#include "b0_tls.h"

/* Ceiling for queued outgoing bytes (frames plus one chunk). */
#define OUT_MAX (1024 * 1024)
/* Ceiling for collected non-DATA payloads (the largest frame limit). */
#define MSG_MAX (256 * 1024)
/*
 * Bytes one stream moves in one direction before it yields to the others:
 * a bulk transfer whose source never runs dry must not hold the loop while
 * a small request waits.  One chunk: measured (bench/run, RTT beside a bulk
 * stream), four chunks gave a p50 four times as long and no more MB/s.
 */
#define TURN_BUDGET (1 * B0_CHAN_CHUNK)
/* A reset stream waits this long for the peer's end before we give up. */
#define RESET_WAIT_MS 30000
/* Most bytes a TLS stream takes at its start (head out, early bytes in). */
#define FIRST_MAX (64 * 1024)

enum stream_state {
	S_NONE = 0, /* idle */
	S_EXPECT,   /* OPEN received; DATA/FIN/RST held until start */
	S_RUN,	    /* relaying */
};

struct b0_chan {
	struct b0_loop *loop;
	struct b0_chan_ctx *ctx;
	const struct b0_chan_ops *ops;
	void *cookie;
	int fd;
	SSL *ssl;

	int busy;   /* depth of our own frames on the stack */
	int dead;   /* b0_chan_free() called while busy */
	int closed; /* closed: no more I/O, no more callbacks */
	unsigned events;
	int rd_paused;	    /* inbound frames cannot be delivered now */
	int rd_wants_write; /* SSL_read needs the socket writable */
	int wr_wants_read;  /* SSL_write needs the socket readable */
	uint64_t last_rx;
	struct b0_timer kick; /* resume inbound processing */
	struct b0_timer reset_timer;

	/* Inbound frame parser. */
	uint8_t hdr[B0_FRAME_HDR];
	uint8_t hdr_have;
	uint8_t type;
	uint32_t remain;
	struct b0_buf msg; /* payload of a non-DATA frame */
	struct b0_buf in;  /* decrypted, not yet dispatched */
	struct b0_buf out; /* frames not yet taken by SSL_write */

	/* The stream. */
	enum stream_state s;
	int sfd;
	unsigned sevents;
	int up_ended;	/* we sent FIN or RST */
	int down_ended; /* we received FIN or RST */
	int discard;	/* drop the peer's DATA (after a reset) */
	int wait_sfd;	/* inbound paused until sfd is writable */
	int sfd_parked; /* hung up while we could not read it: unwatched */
	struct b0_chan_stream_stats st;

	/* A stream socket that is a TLS connection (sssl != NULL). */
	SSL *sssl;
	struct b0_buf sout;    /* the head, written before any DATA */
	int s_rd_want;	       /* B0_TLS_WANT_* of the last blocked read */
	int s_wr_want;	       /* ... of the last blocked write or shutdown */
	int s_shut;	       /* close_notify: 0 not yet, 1 to send, 2 sent */
	struct b0_timer skick; /* read what OpenSSL holds; write the head */
};

static void pump_in(struct b0_chan *c);
static void flush_out(struct b0_chan *c);
static void vis_readable(struct b0_chan *c);
static size_t vis_deliver(struct b0_chan *c, const uint8_t *p, size_t len);
static void vis_shutdown(struct b0_chan *c);
static void vis_kick_fn(struct b0_loop *loop, void *cookie);
static void update_events(struct b0_chan *c);
static void chan_fail(struct b0_chan *c, int r, const char *why);

static void
really_free(struct b0_chan *c)
{
	b0_timer_cancel(c->loop, &c->kick);
	b0_timer_cancel(c->loop, &c->reset_timer);
	b0_timer_cancel(c->loop, &c->skick);
	SSL_free(c->sssl);
	b0_buf_cleanup(&c->sout);
	if (c->sfd != -1) {
		b0_loop_del(c->loop, c->sfd);
		b0_net_abort(c->sfd);
	}
	if (c->fd != -1) {
		b0_loop_del(c->loop, c->fd);
		close(c->fd);
	}
	SSL_free(c->ssl);
	b0_buf_cleanup(&c->msg);
	b0_buf_cleanup(&c->in);
	b0_buf_cleanup(&c->out);
	free(c);
}

static void
enter(struct b0_chan *c)
{
	c->busy++;
}

/* Returns 1 if c is gone and the caller must not touch it. */
static int
leave(struct b0_chan *c)
{
	if (--c->busy == 0 && c->dead) {
		really_free(c);
		return 1;
	}
	return 0;
}

void
b0_chan_free(struct b0_chan *c)
{
	if (c == NULL)
		return;
	c->closed = 1;
	if (c->busy > 0) {
		c->dead = 1;
		return;
	}
	really_free(c);
}

/* Pause (or resume) inbound processing; resuming kicks the pump. */
static void kick_fn(struct b0_loop *loop, void *cookie);

static void
resume_in(struct b0_chan *c)
{
	c->rd_paused = 0;
	if (!c->closed)
		b0_loop_defer(c->loop, &c->kick, kick_fn, c);
}

static void
stream_close_sfd(struct b0_chan *c, int abort)
{
	if (c->sfd == -1)
		return;
	b0_loop_del(c->loop, c->sfd);
	if (c->sssl != NULL) {
		/* After a clean end both close_notify alerts were sent. */
		SSL_free(c->sssl);
		c->sssl = NULL;
		b0_buf_cleanup(&c->sout);
		b0_timer_cancel(c->loop, &c->skick);
		c->s_rd_want = c->s_wr_want = c->s_shut = 0;
	}
	if (abort)
		b0_net_abort(c->sfd);
	else
		close(c->sfd);
	c->sfd = -1;
	c->sevents = 0;
	c->wait_sfd = 0;
	c->sfd_parked = 0;
}

/* Both directions ended: close the socket and tell the owner. */
static void
maybe_stream_done(struct b0_chan *c)
{
	struct b0_chan_stream_stats st;

	if (c->s != S_RUN || !c->up_ended || !c->down_ended)
		return;
	if (c->sssl != NULL && c->s_shut == 1)
		return; /* our close_notify is not out yet */
	stream_close_sfd(c, !c->st.clean);
	b0_timer_cancel(c->loop, &c->reset_timer);
	st = c->st;
	st.end_ms = b0_loop_now(c->loop);
	c->s = S_NONE;
	c->discard = 0;
	c->up_ended = c->down_ended = 0;
	memset(&c->st, 0, sizeof(c->st));
	if (c->ops->stream_end != NULL)
		c->ops->stream_end(c, &st, c->cookie);
}

static void
set_how(struct b0_chan *c, const char *how)
{
	if (c->st.how[0] == '\0')
		snprintf(c->st.how, sizeof(c->st.how), "%s", how);
	c->st.clean = 0;
}

static void
reset_timeout(struct b0_loop *loop, void *cookie)
{
	struct b0_chan *c = cookie;

	(void)loop;
	enter(c);
	chan_fail(c, B0_ERR_TIMEOUT, "peer did not end a reset stream");
	leave(c);
}

/* End our direction with RST (if not ended) and drop the socket. */
static void
stream_reset_local(struct b0_chan *c, const char *how, const char *reason)
{
	set_how(c, how);
	stream_close_sfd(c, 1);
	c->discard = 1;
	if (c->rd_paused && c->s == S_RUN)
		resume_in(c);
	if (!c->up_ended) {
		c->up_ended = 1;
		b0_msg_rst_frame(&c->out, reason);
		flush_out(c);
	}
	if (!c->closed && !c->down_ended)
		b0_timer_set(
		    c->loop, &c->reset_timer, RESET_WAIT_MS, reset_timeout, c);
	maybe_stream_done(c);
}

static void
chan_fail(struct b0_chan *c, int r, const char *why)
{
	if (c->closed)
		return;
	c->closed = 1;
	if (c->s == S_RUN) {
		set_how(c, "tunnel lost");
		stream_close_sfd(c, 1);
		c->up_ended = c->down_ended = 1;
		maybe_stream_done(c);
	}
	c->s = S_NONE;
	b0_timer_cancel(c->loop, &c->kick);
	b0_timer_cancel(c->loop, &c->reset_timer);
	if (c->fd != -1) {
		b0_loop_del(c->loop, c->fd);
		if (r == 0 || r == B0_ERR_EOF || r == B0_ERR_TIMEOUT) {
			int want;

			/* Best effort; the socket is non-blocking. */
			(void)b0_tls_shutdown(c->ssl, &want, NULL);
		}
		close(c->fd);
		c->fd = -1;
	}
	if (c->ops->closed != NULL && !c->dead)
		c->ops->closed(c, r, why, c->cookie);
}

void
b0_chan_close(struct b0_chan *c, int r, const char *why)
{
	enter(c);
	chan_fail(c, r, why);
	leave(c);
}

/*
 * Write p[0, len) to the peer: straight from p when nothing is queued,
 * queueing what SSL_write does not take.  SSL_write must be retried with
 * the same bytes; SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets them move to out.
 */
static void
send_bytes(struct b0_chan *c, const uint8_t *p, size_t len)
{
	struct b0_errmsg em;
	int n, want;

	if (b0_buf_len(&c->out) == 0) {
		while (len > 0 && !c->closed) {
			n = b0_tls_write(c->ssl, p, len, &want, &em);
			if (n > 0) {
				p += n;
				len -= (size_t)n;
				continue;
			}
			if (n == B0_ERR_AGAIN) {
				c->wr_wants_read = want == B0_TLS_WANT_READ;
				break;
			}
			chan_fail(c, n, b0_err_text(&em, n));
			return;
		}
	}
	if (len > 0 && !c->closed) {
		if (b0_buf_put(&c->out, p, len) != 0) {
			chan_fail(c, B0_ERR_ALLOC, "output queue full");
			return;
		}
	}
	update_events(c);
}

static void
flush_out(struct b0_chan *c)
{
	struct b0_errmsg em;
	int n, want;

	while (b0_buf_len(&c->out) > 0 && !c->closed) {
		n = b0_tls_write(c->ssl, b0_buf_ptr(&c->out),
		    b0_buf_len(&c->out), &want, &em);
		if (n > 0) {
			b0_buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n == B0_ERR_AGAIN) {
			c->wr_wants_read = want == B0_TLS_WANT_READ;
			break;
		}
		chan_fail(c, n, b0_err_text(&em, n));
		return;
	}
	if (b0_buf_len(&c->out) == 0) {
		/* Nothing queued: give the memory back (idle streams). */
		b0_buf_cleanup(&c->out);
		c->wr_wants_read = 0;
	}
	update_events(c);
}

struct b0_buf *
b0_chan_out(struct b0_chan *c)
{
	return &c->out;
}

void
b0_chan_flush(struct b0_chan *c)
{
	enter(c);
	flush_out(c);
	leave(c);
}

int
b0_chan_send(struct b0_chan *c, uint8_t type, const void *p, size_t len)
{
	int r;

	if (c->closed)
		return B0_ERR_EOF;
	if ((r = b0_proto_frame(&c->out, type, p, len)) != 0)
		return r;
	b0_chan_flush(c);
	return 0;
}

/* Read the plain socket and send DATA frames until it or TLS blocks. */
static void
plain_readable(struct b0_chan *c)
{
	uint8_t *buf = c->ctx->scratch;
	size_t budget = TURN_BUDGET;
	ssize_t n;
	int e;

	/*
	 * Past the budget, epoll (level-triggered) calls again next turn.
	 * A parked socket (hung up, see on_plain) is not watched: it is read
	 * to its end, which the kernel's buffer bounds.
	 */
	while (c->s == S_RUN && c->sfd != -1 && !c->up_ended &&
	       b0_buf_len(&c->out) == 0 && !c->closed &&
	       (budget > 0 || c->sfd_parked)) {
		n = read(c->sfd, buf + B0_FRAME_HDR, B0_CHAN_CHUNK);
		if (n > 0) {
			b0_proto_put_hdr(buf, B0_F_DATA, (uint32_t)n);
			c->st.up += (uint64_t)n;
			budget -= (size_t)n < budget ? (size_t)n : budget;
			send_bytes(c, buf, (size_t)n + B0_FRAME_HDR);
			continue;
		}
		if (n == 0) {
			/* Half-close: the peer shuts down its write side. */
			c->up_ended = 1;
			b0_proto_frame(&c->out, B0_F_FIN, NULL, 0);
			flush_out(c);
			maybe_stream_done(c);
			break;
		}
		e = errno;
		if (e == EINTR)
			continue;
		if (e == EAGAIN || e == EWOULDBLOCK)
			break;
		{
			char how[128];

			snprintf(how, sizeof(how), "read: %s", strerror(e));
			stream_reset_local(c, how, how);
		}
		break;
	}
	update_events(c);
}

/*
 * Deliver DATA payload bytes to the plain socket.  Returns how many were
 * taken; fewer than len pauses inbound processing until sfd is writable.
 */
static size_t
deliver_data(struct b0_chan *c, const uint8_t *p, size_t len)
{
	ssize_t n;
	size_t done = 0;
	int e;

	if (c->discard || c->sfd == -1)
		return len;
	if (c->sssl != NULL)
		return vis_deliver(c, p, len);
	while (done < len) {
		n = write(c->sfd, p + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			c->st.down += (uint64_t)n;
			continue;
		}
		e = errno;
		if (n == -1 && e == EINTR)
			continue;
		if (n == -1 && (e == EAGAIN || e == EWOULDBLOCK)) {
			c->rd_paused = 1;
			c->wait_sfd = 1;
			update_events(c);
			return done;
		}
		{
			char how[128];

			snprintf(how, sizeof(how), "write: %s", strerror(e));
			stream_reset_local(c, how, how);
		}
		return len;
	}
	return done;
}

static int __attribute__((format(printf, 2, 3)))
protocol_error(struct b0_chan *c, const char *fmt, ...)
{
	char why[B0_TEXT_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	b0_msg_error_frame(&c->out, "protocol", why);
	flush_out(c);
	chan_fail(c, B0_ERR_PROTOCOL, why);
	return B0_ERR_PROTOCOL;
}

/* A whole frame other than DATA arrived (payload in c->msg). */
static void
frame_done(struct b0_chan *c)
{
	const uint8_t *p = b0_buf_ptr(&c->msg);
	size_t len = b0_buf_len(&c->msg);
	struct b0_errmsg em;
	char reason[B0_TEXT_SIZE];
	int r;

	switch (c->type) {
	case B0_F_FIN:
		c->down_ended = 1;
		if (c->sfd != -1 && !c->discard && c->sssl != NULL) {
			c->s_shut = 1;
			vis_shutdown(c);
		} else if (c->sfd != -1 && !c->discard)
			(void)shutdown(c->sfd, SHUT_WR);
		maybe_stream_done(c);
		break;
	case B0_F_RST:
		b0_err_clear(&em);
		if (b0_msg_rst_decode(p, len, reason, sizeof(reason), &em) !=
		    0) {
			protocol_error(c, "%s", em.text);
			break;
		}
		c->down_ended = 1;
		{
			char how[B0_TEXT_SIZE + 16];

			snprintf(how, sizeof(how), "reset by peer%s%s",
			    reason[0] ? ": " : "", reason);
			stream_reset_local(c, how, NULL);
		}
		break;
	default:
		if (c->type == B0_F_OPEN && c->s == S_NONE)
			c->s = S_EXPECT;
		if ((r = c->ops->frame(c, c->type, p, len, c->cookie)) != 0 &&
		    !c->closed)
			chan_fail(c, r, "frame refused");
		break;
	}
	b0_buf_cleanup(&c->msg);
}

/*
 * Feed n decrypted bytes to the frame parser.  Returns how many were used;
 * fewer than n when paused or closed.
 */
/* A whole header is in, with nothing left to read for its frame. */
static int
frame_pending(const struct b0_chan *c)
{
	return c->hdr_have == B0_FRAME_HDR && c->remain == 0;
}

static size_t
dispatch(struct b0_chan *c, const uint8_t *p, size_t n)
{
	struct b0_errmsg em;
	size_t used = 0, take, got;
	int stream_frame;

	/*
	 * A header held while the stream was starting (a FIN has no payload)
	 * is complete with no bytes at all: it runs when called with n == 0.
	 */
	while ((used < n || frame_pending(c)) && !c->rd_paused && !c->closed) {
		if (c->hdr_have < B0_FRAME_HDR) {
			take = B0_FRAME_HDR - c->hdr_have;
			if (take > n - used)
				take = n - used;
			memcpy(c->hdr + c->hdr_have, p + used, take);
			c->hdr_have += (uint8_t)take;
			used += take;
			if (c->hdr_have < B0_FRAME_HDR)
				break;
			if (b0_proto_check_hdr(
				c->hdr, &c->type, &c->remain, &em) != 0) {
				protocol_error(c, "%s", em.text);
				return used;
			}
			stream_frame = c->type == B0_F_DATA ||
				       c->type == B0_F_FIN ||
				       c->type == B0_F_RST;
			if (stream_frame && c->s == S_NONE) {
				protocol_error(c, "%s frame without a stream",
				    b0_proto_type_name(c->type));
				return used;
			}
			if (stream_frame && c->down_ended) {
				protocol_error(c,
				    "%s frame after the end of "
				    "the stream",
				    b0_proto_type_name(c->type));
				return used;
			}
			if (c->type == B0_F_DATA && c->remain == 0) {
				protocol_error(c, "empty DATA frame");
				return used;
			}
		}
		/* Stream frames wait for the stream to start. */
		if (c->s == S_EXPECT &&
		    (c->type == B0_F_DATA || c->type == B0_F_FIN ||
			c->type == B0_F_RST)) {
			c->rd_paused = 1;
			break;
		}
		if (c->type == B0_F_DATA) {
			take = c->remain < n - used ? c->remain : n - used;
			got = deliver_data(c, p + used, take);
			used += got;
			c->remain -= (uint32_t)got;
			if (c->remain == 0)
				c->hdr_have = 0;
			continue;
		}
		take = c->remain < n - used ? c->remain : n - used;
		if (take > 0 && b0_buf_put(&c->msg, p + used, take) != 0) {
			chan_fail(c, B0_ERR_ALLOC, "out of memory");
			return used;
		}
		used += take;
		c->remain -= (uint32_t)take;
		if (c->remain == 0) {
			c->hdr_have = 0;
			frame_done(c);
		}
	}
	return used;
}

static void
pump_in(struct b0_chan *c)
{
	uint8_t *buf = c->ctx->scratch;
	struct b0_errmsg em;
	size_t used, budget = TURN_BUDGET;
	int n, want;

	c->rd_wants_write = 0;
	while (!c->rd_paused && !c->closed) {
		if (frame_pending(c)) {
			dispatch(c, buf, 0);
			continue;
		}
		if (budget == 0) {
			/*
			 * Yield.  OpenSSL may hold read-ahead bytes that
			 * epoll cannot see, so come back by timer.
			 */
			b0_loop_defer(c->loop, &c->kick, kick_fn, c);
			break;
		}
		if (b0_buf_len(&c->in) > 0) {
			used =
			    dispatch(c, b0_buf_ptr(&c->in), b0_buf_len(&c->in));
			if (c->closed)
				return;
			b0_buf_consume(&c->in, used);
			if (b0_buf_len(&c->in) == 0)
				b0_buf_cleanup(&c->in);
			continue;
		}
		n = b0_tls_read(c->ssl, buf, c->ctx->size, &want, &em);
		if (n > 0) {
			budget -= (size_t)n < budget ? (size_t)n : budget;
			c->last_rx = b0_loop_now(c->loop);
			used = dispatch(c, buf, (size_t)n);
			if (c->closed)
				return;
			if (used < (size_t)n && b0_buf_put(&c->in, buf + used,
						    (size_t)n - used) != 0) {
				chan_fail(c, B0_ERR_ALLOC, "input queue full");
				return;
			}
			continue;
		}
		if (n == B0_ERR_AGAIN) {
			c->rd_wants_write = want == B0_TLS_WANT_WRITE;
			break;
		}
		chan_fail(c, n,
		    n == B0_ERR_EOF ? "closed by peer" : b0_err_text(&em, n));
		return;
	}
	update_events(c);
}

static void
update_events(struct b0_chan *c)
{
	unsigned ev = 0, sev = 0;

	if (c->closed)
		return;
	if (!c->rd_paused || c->wr_wants_read)
		ev |= B0_LOOP_READ;
	if (b0_buf_len(&c->out) > 0 || c->rd_wants_write)
		ev |= B0_LOOP_WRITE;
	if (ev != c->events && b0_loop_mod(c->loop, c->fd, ev) == 0)
		c->events = ev;
	if (c->sfd == -1 || c->sfd_parked)
		return;
	if (c->sssl != NULL) {
		/* Either way round: a TLS read may wait to write and back. */
		if (c->s == S_RUN && !c->up_ended && b0_buf_len(&c->out) == 0)
			sev |= c->s_rd_want == B0_TLS_WANT_WRITE ? B0_LOOP_WRITE
								 : B0_LOOP_READ;
		if (c->wait_sfd || c->s_shut == 1)
			sev |= c->s_wr_want == B0_TLS_WANT_READ ? B0_LOOP_READ
								: B0_LOOP_WRITE;
	} else {
		if (c->s == S_RUN && !c->up_ended && b0_buf_len(&c->out) == 0)
			sev |= B0_LOOP_READ;
		if (c->wait_sfd)
			sev |= B0_LOOP_WRITE;
	}
	if (sev != c->sevents && b0_loop_mod(c->loop, c->sfd, sev) == 0)
		c->sevents = sev;
}

static void
kick_fn(struct b0_loop *loop, void *cookie)
{
	struct b0_chan *c = cookie;

	(void)loop;
	enter(c);
	pump_in(c);
	leave(c);
}

static void
on_tls(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct b0_chan *c = cookie;

	(void)loop;
	(void)fd;
	enter(c);
	if ((events & B0_LOOP_HUP) && c->rd_paused) {
		/* A reset while we were not reading: nothing more will come. */
		chan_fail(c, B0_ERR_TLS, "connection reset");
		leave(c);
		return;
	}
	if ((events & B0_LOOP_WRITE) || c->wr_wants_read) {
		flush_out(c);
		if (!c->closed && c->sssl != NULL)
			vis_readable(c);
		else if (!c->closed)
			plain_readable(c);
	}
	if (!c->closed &&
	    ((events & (B0_LOOP_READ | B0_LOOP_HUP)) || c->rd_wants_write))
		pump_in(c);
	if (!c->closed)
		update_events(c);
	leave(c);
}

static void
on_plain(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct b0_chan *c = cookie;

	(void)loop;
	enter(c);
	if ((events & (B0_LOOP_WRITE | B0_LOOP_HUP)) && c->wait_sfd) {
		c->wait_sfd = 0;
		c->rd_paused = 0;
		pump_in(c);
	}
	if (!c->closed && (events & (B0_LOOP_READ | B0_LOOP_HUP)))
		plain_readable(c);
	if (!c->closed && (events & B0_LOOP_HUP) && c->sfd == fd) {
		/*
		 * epoll reports a hang-up whatever we asked for.  If we could
		 * not read (TLS is backed up), stop watching: on_tls reads
		 * the rest once TLS drains.  If we had read to the end, the
		 * socket was reset: what we would write next is lost.
		 */
		if (!c->up_ended && b0_buf_len(&c->out) > 0) {
			b0_loop_del(c->loop, fd);
			c->sfd_parked = 1;
			c->sevents = 0;
		} else if (c->up_ended)
			stream_reset_local(
			    c, "connection reset", "connection reset");
	}
	if (!c->closed)
		update_events(c);
	leave(c);
}

/*
 * The TLS stream socket ("visitor").  Its reads and writes map
 * SSL_ERROR_WANT_READ/WRITE onto loop events (s_rd_want, s_wr_want), and
 * what OpenSSL holds decrypted, which epoll cannot see, is read by timer.
 */

/* The TLS side failed: reset the stream with a reason naming it. */
static void
vis_failed(struct b0_chan *c, const char *op, int r, struct b0_errmsg *em)
{
	char how[B0_TEXT_SIZE];

	if (r == B0_ERR_PROTOCOL)
		snprintf(how, sizeof(how),
		    "visitor closed without close_notify (truncated)");
	else
		snprintf(
		    how, sizeof(how), "visitor %s: %s", op, b0_err_text(em, r));
	stream_reset_local(c, how, how);
}

/* Write the head (sout).  Returns 1 when it is all out, else 0. */
static int
vis_flush_head(struct b0_chan *c)
{
	struct b0_errmsg em;
	int n, want;

	while (c->sssl != NULL && b0_buf_len(&c->sout) > 0) {
		n = b0_tls_write(c->sssl, b0_buf_ptr(&c->sout),
		    b0_buf_len(&c->sout), &want, &em);
		if (n > 0) {
			b0_buf_consume(&c->sout, (size_t)n);
			continue;
		}
		if (n == B0_ERR_AGAIN) {
			c->s_wr_want = want;
			return 0;
		}
		vis_failed(c, "write", n, &em);
		return 0;
	}
	b0_buf_cleanup(&c->sout);
	return c->sssl != NULL;
}

static size_t
vis_deliver(struct b0_chan *c, const uint8_t *p, size_t len)
{
	struct b0_errmsg em;
	size_t done = 0;
	int n, want;

	while (done < len) {
		n = b0_tls_write(c->sssl, p + done, len - done, &want, &em);
		if (n > 0) {
			done += (size_t)n;
			c->st.down += (uint64_t)n;
			continue;
		}
		if (n == B0_ERR_AGAIN) {
			/* The same bytes are offered again (they stay in). */
			c->s_wr_want = want;
			c->rd_paused = 1;
			c->wait_sfd = 1;
			update_events(c);
			return done;
		}
		vis_failed(c, "write", n, &em);
		return len;
	}
	return done;
}

/* The peer's FIN: send our close_notify, and go on reading. */
static void
vis_shutdown(struct b0_chan *c)
{
	struct b0_errmsg em;
	int r, want;

	if (c->sssl == NULL || c->s_shut != 1)
		return;
	r = b0_tls_shutdown(c->sssl, &want, &em);
	if (r == B0_ERR_AGAIN) {
		c->s_wr_want = want;
		update_events(c);
		return;
	}
	if (r != 0) {
		vis_failed(c, "close_notify", r, &em);
		return;
	}
	c->s_shut = 2;
	update_events(c);
	maybe_stream_done(c);
}

/* Read the TLS side and send DATA frames until it or the channel blocks. */
static void
vis_readable(struct b0_chan *c)
{
	uint8_t *buf = c->ctx->scratch;
	size_t budget = TURN_BUDGET;
	struct b0_errmsg em;
	int n, want;

	while (c->s == S_RUN && c->sssl != NULL && !c->up_ended &&
	       b0_buf_len(&c->out) == 0 && !c->closed &&
	       (budget > 0 || c->sfd_parked)) {
		n = b0_tls_read(
		    c->sssl, buf + B0_FRAME_HDR, B0_CHAN_CHUNK, &want, &em);
		if (n > 0) {
			c->s_rd_want = B0_TLS_WANT_NONE;
			b0_proto_put_hdr(buf, B0_F_DATA, (uint32_t)n);
			c->st.up += (uint64_t)n;
			budget -= (size_t)n < budget ? (size_t)n : budget;
			send_bytes(c, buf, (size_t)n + B0_FRAME_HDR);
			continue;
		}
		if (n == B0_ERR_AGAIN) {
			c->s_rd_want = want;
			break;
		}
		if (n == B0_ERR_EOF) {
			/* close_notify: the visitor's half-close. */
			c->up_ended = 1;
			b0_proto_frame(&c->out, B0_F_FIN, NULL, 0);
			flush_out(c);
			maybe_stream_done(c);
			break;
		}
		vis_failed(c, "read", n, &em);
		break;
	}
	/* Yielded with bytes inside OpenSSL: epoll would not say so. */
	if (budget == 0 && c->sssl != NULL && !c->closed && !c->up_ended &&
	    b0_buf_len(&c->out) == 0)
		b0_loop_defer(c->loop, &c->skick, vis_kick_fn, c);
	update_events(c);
}

/* A blocked write (head, DATA, close_notify) may go on. */
static void
vis_write_pending(struct b0_chan *c)
{
	if (b0_buf_len(&c->sout) > 0 && !vis_flush_head(c))
		return;
	if (c->sssl != NULL && c->s_shut == 1)
		vis_shutdown(c);
	if (c->sssl != NULL && c->wait_sfd && !c->closed) {
		c->wait_sfd = 0;
		c->rd_paused = 0;
		c->s_wr_want = B0_TLS_WANT_NONE;
		pump_in(c);
	}
}

static void
vis_kick_fn(struct b0_loop *loop, void *cookie)
{
	struct b0_chan *c = cookie;

	(void)loop;
	enter(c);
	if (c->sssl != NULL)
		vis_write_pending(c);
	if (!c->closed && c->sssl != NULL)
		vis_readable(c);
	leave(c);
}

static void
on_vis(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct b0_chan *c = cookie;

	(void)loop;
	enter(c);
	if ((c->wait_sfd || c->s_shut == 1) && c->sssl != NULL)
		vis_write_pending(c);
	if (!c->closed && c->sssl != NULL)
		vis_readable(c);
	if (!c->closed && (events & B0_LOOP_HUP) && c->sfd == fd) {
		/* As on_plain: park while we cannot read; else a reset. */
		if (!c->up_ended && b0_buf_len(&c->out) > 0) {
			b0_loop_del(c->loop, fd);
			c->sfd_parked = 1;
			c->sevents = 0;
		} else if (c->up_ended)
			stream_reset_local(
			    c, "connection reset", "connection reset");
	}
	if (!c->closed)
		update_events(c);
	leave(c);
}

int
b0_chan_new(struct b0_loop *loop, struct b0_chan_ctx *ctx, int fd, SSL *ssl,
    const struct b0_chan_ops *ops, void *cookie, struct b0_chan **cp)
{
	struct b0_chan *c;
	int r;

	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return B0_ERR_ALLOC;
	c->loop = loop;
	c->ctx = ctx;
	c->ops = ops;
	c->cookie = cookie;
	c->fd = fd;
	c->ssl = ssl;
	c->sfd = -1;
	c->last_rx = b0_loop_now(loop);
	b0_buf_init(&c->msg, MSG_MAX);
	b0_buf_init(&c->in, OUT_MAX);
	b0_buf_init(&c->out, OUT_MAX);
	b0_buf_init(&c->sout, FIRST_MAX);
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_RELEASE_BUFFERS);
	/* Read whole TCP segments at once, not a record header at a time. */
	SSL_set_read_ahead(ssl, 1);
	if ((r = b0_loop_add(loop, fd, B0_LOOP_READ, on_tls, c)) != 0) {
		free(c);
		return r;
	}
	c->events = B0_LOOP_READ;
	/* The handshake may have left application data in OpenSSL. */
	b0_loop_defer(loop, &c->kick, kick_fn, c);
	*cp = c;
	return 0;
}

int
b0_chan_stream_start(struct b0_chan *c, int fd)
{
	int r;

	if (c->s == S_RUN)
		return B0_ERR_EXISTS;
	if (c->closed)
		return B0_ERR_EOF;
	if ((r = b0_loop_add(c->loop, fd, B0_LOOP_READ, on_plain, c)) != 0)
		return r;
	c->sfd = fd;
	c->sevents = B0_LOOP_READ;
	c->s = S_RUN;
	c->up_ended = c->down_ended = 0;
	c->discard = 0;
	memset(&c->st, 0, sizeof(c->st));
	c->st.clean = 1;
	c->st.start_ms = b0_loop_now(c->loop);
	resume_in(c);
	return 0;
}

int
b0_chan_stream_start_tls(struct b0_chan *c, int fd, SSL *ssl,
    const void *first_out, size_t first_len, const void *first_in,
    size_t in_len)
{
	const uint8_t *p = first_in;
	size_t off, n, queued;
	int r;

	if (c->s == S_RUN)
		return B0_ERR_EXISTS;
	if (c->closed)
		return B0_ERR_EOF;
	if (first_len > FIRST_MAX || in_len > FIRST_MAX)
		return B0_ERR_TOO_BIG;
	b0_buf_init(&c->sout, FIRST_MAX);
	if (first_len > 0 && b0_buf_put(&c->sout, first_out, first_len) != 0)
		return B0_ERR_ALLOC;
	if ((r = b0_loop_add(c->loop, fd, B0_LOOP_READ, on_vis, c)) != 0) {
		b0_buf_cleanup(&c->sout);
		return r;
	}
	queued = b0_buf_len(&c->out);
	for (off = 0; off < in_len; off += n) {
		n = in_len - off < B0_CHAN_CHUNK ? in_len - off : B0_CHAN_CHUNK;
		if (b0_proto_frame(&c->out, B0_F_DATA, p + off, n) != 0) {
			/* Undo: no DATA may go out without the stream. */
			b0_buf_unreserve(&c->out, b0_buf_len(&c->out) - queued);
			b0_loop_del(c->loop, fd);
			b0_buf_cleanup(&c->sout);
			return B0_ERR_ALLOC;
		}
	}
	SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			      SSL_MODE_RELEASE_BUFFERS);
	c->sfd = fd;
	c->sssl = ssl;
	c->sevents = B0_LOOP_READ;
	c->s_rd_want = c->s_wr_want = B0_TLS_WANT_NONE;
	c->s_shut = 0;
	c->s = S_RUN;
	c->up_ended = c->down_ended = 0;
	c->discard = 0;
	memset(&c->st, 0, sizeof(c->st));
	c->st.clean = 1;
	c->st.up = in_len;
	c->st.start_ms = b0_loop_now(c->loop);
	if (first_len > 0) {
		/* Nothing from the peer goes out before the head. */
		c->rd_paused = 1;
		c->wait_sfd = 1;
	} else
		resume_in(c);
	/*
	 * The head, and what OpenSSL already holds, go from the loop: no
	 * callback runs inside this call.  The caller flushes first_in.
	 */
	b0_loop_defer(c->loop, &c->skick, vis_kick_fn, c);
	return 0;
}

int
b0_chan_stream_refuse(struct b0_chan *c, const char *reason)
{
	if (c->s == S_RUN)
		return B0_ERR_EXISTS;
	if (c->closed)
		return B0_ERR_EOF;
	c->s = S_RUN;
	c->up_ended = c->down_ended = 0;
	memset(&c->st, 0, sizeof(c->st));
	c->st.start_ms = b0_loop_now(c->loop);
	enter(c);
	stream_reset_local(c, reason, reason);
	resume_in(c);
	leave(c);
	return 0;
}

void
b0_chan_stream_reset(struct b0_chan *c, const char *reason)
{
	if (c->s != S_RUN || c->closed)
		return;
	enter(c);
	stream_reset_local(c, reason, reason);
	leave(c);
}

int
b0_chan_is_closed(const struct b0_chan *c)
{
	return c->closed;
}

int
b0_chan_stream_active(const struct b0_chan *c)
{
	return c->s != S_NONE;
}

uint64_t
b0_chan_last_rx(const struct b0_chan *c)
{
	return c->last_rx;
}

int
b0_chan_fd(const struct b0_chan *c)
{
	return c->fd;
}

SSL *
b0_chan_ssl(const struct b0_chan *c)
{
	return c->ssl;
}

void *
b0_chan_cookie(const struct b0_chan *c)
{
	return c->cookie;
}

void
b0_chan_set_cookie(struct b0_chan *c, void *cookie)
{
	c->cookie = cookie;
}
