/*
 * b0_chan: a framed TLS connection between publisher and edge, and the
 * relay of one stream at a time over it (docs/protocol.md).
 *
 * A channel owns its fd and SSL (after the handshake, which the owner
 * drives) and, while a stream runs, the stream's plain socket.  Frames other
 * than DATA, FIN and RST go to the owner's frame() callback; the stream's
 * DATA/FIN/RST are relayed to and from the plain socket here, with the
 * half-close and abort rules of the protocol, so edge and publisher share one
 * data path.  When both directions of a stream have ended, stream_end() is
 * called and the channel is idle again: the owner may start another stream
 * on it or close it.
 *
 * Callbacks may call any b0_chan function on the channel, b0_chan_free()
 * included: the channel notices and stops touching itself.
 */
#ifndef B0_CHAN_H
#define B0_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "b0_buf.h"
#include "b0_loop.h"

struct b0_chan;

/* Scratch memory shared by all channels of a process (one thread). */
struct b0_chan_ctx {
	uint8_t *scratch;
	size_t size; /* at least B0_CHAN_CHUNK + B0_FRAME_HDR */
};

/* How much a stream reads from its plain socket at once. */
#define B0_CHAN_CHUNK (64 * 1024 - 4)

/* How a stream ended, for the owner's log line. */
struct b0_chan_stream_stats {
	uint64_t up;	   /* bytes from the plain socket to the peer */
	uint64_t down;	   /* bytes from the peer to the plain socket */
	uint64_t start_ms; /* loop clock when the stream started */
	uint64_t end_ms;
	int clean;     /* both directions ended with FIN */
	char how[160]; /* "closed", "reset by visitor", "reset by peer:
			  connect ...: Connection refused", ... */
};

struct b0_chan_ops {
	/*
	 * A whole non-stream frame (anything but DATA, FIN, RST) arrived.
	 * Return 0, or an error code to close the channel (why: em text).
	 */
	int (*frame)(struct b0_chan *c, uint8_t type, const uint8_t *p,
	    size_t len, void *cookie);
	/*
	 * The stream ended in both directions; its plain socket is closed.
	 * The channel is idle (unless it closed: then closed() follows).
	 */
	void (*stream_end)(struct b0_chan *c,
	    const struct b0_chan_stream_stats *st, void *cookie);
	/*
	 * The channel is closed (r is B0_ERR_EOF after the peer's clean
	 * close, else why).  A running stream was reset first, with
	 * stream_end().  The owner frees c with b0_chan_free().
	 */
	void (*closed)(struct b0_chan *c, int r, const char *why, void *cookie);
};

/*
 * b0_chan_new(loop, ctx, fd, ssl, ops, cookie, cp):
 * Take ownership of fd and ssl (handshake done) and start reading frames.
 * Returns 0 and *cp, or an error (fd and ssl are then the caller's still).
 */
int b0_chan_new(struct b0_loop *loop, struct b0_chan_ctx *ctx, int fd, SSL *ssl,
    const struct b0_chan_ops *ops, void *cookie, struct b0_chan **cp);

/*
 * b0_chan_free(c):
 * Close everything c owns (a running stream's socket with a reset) without
 * calling back.  NULL is fine.
 */
void b0_chan_free(struct b0_chan *c);

/*
 * b0_chan_close(c, r, why):
 * Close c: reset a running stream, send TLS close_notify (best effort), and
 * call closed(c, r, why) (why may be NULL).  The owner then frees c.
 */
void b0_chan_close(struct b0_chan *c, int r, const char *why);

/* The queue of outgoing frames: append frames (b0_msg_*_frame), flush. */
struct b0_buf *b0_chan_out(struct b0_chan *c);
void b0_chan_flush(struct b0_chan *c);

/* b0_chan_send(c, type, p, len): append one frame and flush. */
int b0_chan_send(struct b0_chan *c, uint8_t type, const void *p, size_t len);

/*
 * b0_chan_stream_start(c, fd):
 * Relay a stream between the peer's DATA frames and fd (a connected
 * socket, which c now owns).  DATA that arrived before the start was held.
 * Returns 0, or B0_ERR_EXISTS if a stream runs.
 */
int b0_chan_stream_start(struct b0_chan *c, int fd);

/*
 * b0_chan_stream_start_tls(c, fd, ssl, first_out, first_len, first_in,
 *     in_len):
 * As b0_chan_stream_start() for a stream whose socket is a TLS connection
 * (fd connected and non-blocking, ssl's handshake done; c owns both from
 * now on, and closes them when the stream ends).  first_out[0, first_len)
 * is written to ssl before any of the peer's bytes (an HTTP response head;
 * first_len may be 0); first_in[0, in_len) are bytes already read from
 * ssl, sent to the peer first (queued: call b0_chan_flush()).  Both are
 * copied, at most 64 KiB each.  The visitor's close_notify is the stream's
 * FIN towards the peer, the peer's FIN becomes close_notify towards the
 * visitor (which may go on sending: TLS 1.3 half-close), and a TCP close
 * without close_notify resets the stream.  No callback runs during the
 * call.  Returns 0, B0_ERR_EXISTS (a stream runs), B0_ERR_EOF (c is
 * closed), B0_ERR_TOO_BIG or B0_ERR_ALLOC; on error fd and ssl stay the
 * caller's.
 */
int b0_chan_stream_start_tls(struct b0_chan *c, int fd, SSL *ssl,
    const void *first_out, size_t first_len, const void *first_in,
    size_t in_len);

/*
 * b0_chan_stream_refuse(c, reason):
 * Answer an opened stream that has no socket (the target refused): send
 * RST with reason and discard the peer's DATA until its FIN or RST, then
 * stream_end() as usual.
 */
int b0_chan_stream_refuse(struct b0_chan *c, const char *reason);

/* b0_chan_stream_reset(c, reason): abort the running stream (RST both ways). */
void b0_chan_stream_reset(struct b0_chan *c, const char *reason);

/*
 * Is c closed (closed() called or about to be)?  A stream_end() callback
 * of a channel that is closing must not hand it another stream.
 */
int b0_chan_is_closed(const struct b0_chan *c);

/* Is a stream running (started or refused, not yet ended)? */
int b0_chan_stream_active(const struct b0_chan *c);

/* Loop-clock ms of the last frame received (for idle and heartbeat). */
uint64_t b0_chan_last_rx(const struct b0_chan *c);

/* The channel's TCP fd and SSL (borrowed). */
int b0_chan_fd(const struct b0_chan *c);
SSL *b0_chan_ssl(const struct b0_chan *c);

/* Owner's data, for callbacks that need it. */
void *b0_chan_cookie(const struct b0_chan *c);
void b0_chan_set_cookie(struct b0_chan *c, void *cookie);

#endif /* B0_CHAN_H */
