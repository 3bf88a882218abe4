/*
 * Unit tests for lib/b0_chan: the relay of streams over a framed TLS
 * channel.  Two channels in one process, one event loop, real TLS 1.3 over
 * a socketpair with a certificate the test makes; each side's "plain"
 * socket is the other end of a socketpair the test reads and writes.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "b0_chan.h"
#include "b0_err.h"
#include "b0_loop.h"
#include "b0_proto.h"
#include "b0_tls.h"
#include "tap.h"

static char dir[] = "/tmp/b0-test-chan.XXXXXX";
static char certpath[128], keypath[128];

/* A self-signed P-256 certificate for b0.test. */
static int
make_cert(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	FILE *f;

	if (k == NULL || x == NULL || mkdtemp(dir) == NULL)
		return -1;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"b0.test", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext =
	    X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:b0.test");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, k, EVP_sha256());
	snprintf(certpath, sizeof(certpath), "%s/cert.pem", dir);
	snprintf(keypath, sizeof(keypath), "%s/key.pem", dir);
	if ((f = fopen(certpath, "w")) == NULL)
		return -1;
	PEM_write_X509(f, x);
	fclose(f);
	umask(077);
	if ((f = fopen(keypath, "w")) == NULL)
		return -1;
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
	return 0;
}

/*
 * A connected TCP pair on 127.0.0.1 (non-blocking): unlike a socketpair, it
 * has resets, which is what the plain side of a stream must carry.
 */
static void
tcp_pair(int sv[2])
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&sin, sizeof(sin));
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&sin, &len);
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	connect(sv[0], (struct sockaddr *)&sin, sizeof(sin));
	sv[1] = accept(l, NULL, NULL);
	close(l);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* What each side's callbacks saw. */
struct side {
	const char *name;
	struct b0_chan *c;
	int plain_test; /* the test's end of the plain socketpair */
	int plain_chan; /* the channel's end */
	int refuse;	/* answer OPEN with a refusal */
	int opens, frames, ended, closed, close_r;
	struct b0_chan_stream_stats st;
};

static int
on_frame(
    struct b0_chan *c, uint8_t type, const uint8_t *p, size_t len, void *cookie)
{
	struct side *s = cookie;
	int sv[2];

	(void)p;
	(void)len;
	s->frames++;
	if (type != B0_F_OPEN)
		return 0;
	s->opens++;
	if (s->refuse)
		return b0_chan_stream_refuse(c, "connect 127.0.0.1:9: refused");
	tcp_pair(sv);
	s->plain_test = sv[0];
	s->plain_chan = sv[1];
	return b0_chan_stream_start(c, sv[1]);
}

static void
on_end(struct b0_chan *c, const struct b0_chan_stream_stats *st, void *cookie)
{
	struct side *s = cookie;

	(void)c;
	s->ended++;
	s->st = *st;
}

static void
on_closed(struct b0_chan *c, int r, const char *why, void *cookie)
{
	struct side *s = cookie;

	(void)c;
	(void)why;
	s->closed++;
	s->close_r = r;
}

static const struct b0_chan_ops ops = {on_frame, on_end, on_closed};

static struct b0_loop *loop;
static struct b0_chan_ctx cctx;

/* Run the loop until cond is true or 5 s pass; evaluates to cond's last
 * value (cond is evaluated once per turn, never again after). */
#define RUN_UNTIL(cond)                                                        \
	({                                                                     \
		struct timespec t0_, t1_;                                      \
		int ok_;                                                       \
		clock_gettime(CLOCK_MONOTONIC, &t0_);                          \
		for (;;) {                                                     \
			if ((ok_ = (cond)))                                    \
				break;                                         \
			b0_loop_once(loop, 5);                                 \
			clock_gettime(CLOCK_MONOTONIC, &t1_);                  \
			if (t1_.tv_sec - t0_.tv_sec > 5)                       \
				break;                                         \
		}                                                              \
		ok_;                                                           \
	})

/* A connected pair of handshaken SSLs over a socketpair. */
static int
tls_pair(SSL **cs, SSL **ss, int *cfd, int *sfd)
{
	static const char *const alpn[] = {B0_PROTO_ALPN, NULL};
	static struct b0_tls_ctx *cctx_tls, *sctx_tls;
	struct b0_tls_config tc;
	struct b0_errmsg em;
	int sv[2], wc = 1, ws = 1, rc = B0_ERR_AGAIN, rs = B0_ERR_AGAIN, i;

	if (cctx_tls == NULL) {
		memset(&tc, 0, sizeof(tc));
		tc.cert_file = certpath;
		tc.key_file = keypath;
		tc.alpn = alpn;
		tc.tls13_only = 1;
		if (b0_tls_ctx_new_server(&tc, &sctx_tls, &em) != 0)
			return -1;
		memset(&tc, 0, sizeof(tc));
		tc.ca = certpath;
		tc.alpn = alpn;
		tc.tls13_only = 1;
		if (b0_tls_ctx_new_client(&tc, &cctx_tls, &em) != 0)
			return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1 ||
	    b0_tls_client_new(cctx_tls, sv[0], "b0.test", cs, &em) != 0 ||
	    b0_tls_server_new(sctx_tls, sv[1], ss, &em) != 0)
		return -1;
	for (i = 0; i < 1000 && (rc == B0_ERR_AGAIN || rs == B0_ERR_AGAIN);
	     i++) {
		if (rc == B0_ERR_AGAIN)
			rc = b0_tls_handshake(*cs, &wc, &em);
		if (rs == B0_ERR_AGAIN)
			rs = b0_tls_handshake(*ss, &ws, &em);
	}
	*cfd = sv[0];
	*sfd = sv[1];
	return rc == 0 && rs == 0 ? 0 : -1;
}

static int
pair(struct side *a, struct side *b)
{
	SSL *cs, *ss;
	int cfd, sfd;

	if (tls_pair(&cs, &ss, &cfd, &sfd) != 0)
		return -1;
	if (b0_chan_new(loop, &cctx, cfd, cs, &ops, a, &a->c) != 0 ||
	    b0_chan_new(loop, &cctx, sfd, ss, &ops, b, &b->c) != 0)
		return -1;
	return 0;
}

/* The edge side (a) opens a stream to the publisher side (b). */
static void
open_stream(struct side *a, struct side *b)
{
	static const char open[] =
	    "{\"socket\":\"s\",\"visitor\":\"1.2.3.4:5\","
	    "\"id\":\"0123456789abcdef0123456789abcdef\"}";
	int sv[2], opens = b->opens;

	tcp_pair(sv);
	a->plain_test = sv[0];
	a->plain_chan = sv[1];
	b0_chan_send(a->c, B0_F_OPEN, open, sizeof(open) - 1);
	b0_chan_stream_start(a->c, sv[1]);
	RUN_UNTIL(b->opens > opens);
}

/* Read what is there from fd into buf (at most size), running the loop. */
static ssize_t
read_some(int fd, char *buf, size_t size)
{
	ssize_t n = -1;

	RUN_UNTIL((n = read(fd, buf, size)) >= 0 ||
		  (errno != EAGAIN && errno != EWOULDBLOCK));
	return n;
}

static void
test_half_close_and_reuse(void)
{
	struct side a = {.name = "edge"}, b = {.name = "publisher"};
	char buf[64];
	ssize_t n;
	int round;

	ok(pair(&a, &b) == 0, "TLS pair and channels");
	for (round = 1; round <= 2; round++) {
		open_stream(&a, &b);
		is_int(b.opens, round, "round %d: publisher got OPEN", round);
		tap_need(write(a.plain_test, "hello", 5) == 5);
		n = read_some(b.plain_test, buf, sizeof(buf));
		ok(n == 5 && memcmp(buf, "hello", 5) == 0,
		    "round %d: bytes reach the other side", round);
		/* The visitor shuts down its write side... */
		shutdown(a.plain_test, SHUT_WR);
		n = read_some(b.plain_test, buf, sizeof(buf));
		is_int(n, 0, "round %d: FIN arrives as EOF", round);
		is_int(a.ended + b.ended, 2 * (round - 1),
		    "round %d: stream still open one way", round);
		/* ...and still gets the answer. */
		tap_need(write(b.plain_test, "answer", 6) == 6);
		n = read_some(a.plain_test, buf, sizeof(buf));
		ok(n == 6 && memcmp(buf, "answer", 6) == 0,
		    "round %d: half-closed visitor still receives", round);
		close(b.plain_test);
		RUN_UNTIL(a.ended == round && b.ended == round);
		is_int(a.ended, round, "round %d: edge stream ended", round);
		is_int(
		    b.ended, round, "round %d: publisher stream ended", round);
		ok(a.st.clean && b.st.clean, "round %d: ended cleanly", round);
		is_int(a.st.up, 5, "round %d: edge counted 5 up", round);
		is_int(a.st.down, 6, "round %d: edge counted 6 down", round);
		n = read_some(a.plain_test, buf, sizeof(buf));
		is_int(n, 0, "round %d: visitor sees EOF", round);
		close(a.plain_test);
		ok(!b0_chan_stream_active(a.c) && !b0_chan_stream_active(b.c),
		    "round %d: channel idle again", round);
	}
	is_int(a.closed + b.closed, 0, "channels stay open across streams");
	b0_chan_free(a.c);
	b0_chan_free(b.c);
}

static void
test_reset_and_refuse(void)
{
	struct side a = {.name = "edge"}, b = {.name = "publisher"};
	struct linger lg = {1, 0};
	char buf[64];
	ssize_t n;

	pair(&a, &b);
	/* The target resets: the visitor sees a reset, not a clean end. */
	open_stream(&a, &b);
	tap_need(write(a.plain_test, "x", 1) == 1);
	read_some(b.plain_test, buf, sizeof(buf));
	setsockopt(b.plain_test, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	tap_need(write(b.plain_test, "partial", 7) == 7);
	close(b.plain_test);
	RUN_UNTIL(a.ended == 1 && b.ended == 1);
	ok(a.ended == 1 && b.ended == 1, "reset ends the stream both sides");
	ok(!a.st.clean, "edge side not clean");
	has_str(a.st.how, "reset by peer", "edge says reset by peer");
	errno = 0;
	n = read_some(a.plain_test, buf, sizeof(buf));
	while (n > 0)
		n = read_some(a.plain_test, buf, sizeof(buf));
	ok(n == 0 || errno == ECONNRESET, "visitor socket ends");
	close(a.plain_test);
	is_int(a.closed + b.closed, 0, "channel survives a reset stream");

	/* The target refuses: the visitor is closed at once. */
	b.refuse = 1;
	open_stream(&a, &b);
	RUN_UNTIL(a.ended == 2 && b.ended == 2);
	is_int(a.ended, 2, "refused stream ends at the edge");
	has_str(a.st.how, "connect 127.0.0.1:9: refused",
	    "the refusal reason reaches the edge");
	n = read_some(a.plain_test, buf, sizeof(buf));
	ok(n <= 0, "visitor of a refused stream is closed");
	close(a.plain_test);
	b.refuse = 0;
	/* And the channel still carries the next stream. */
	open_stream(&a, &b);
	tap_need(write(a.plain_test, "again", 5) == 5);
	n = read_some(b.plain_test, buf, sizeof(buf));
	ok(n == 5, "a stream after a refusal works");
	close(a.plain_test);
	close(b.plain_test);
	RUN_UNTIL(a.ended == 3 && b.ended == 3);
	b0_chan_free(a.c);
	b0_chan_free(b.c);
}

static void
test_bulk_backpressure(void)
{
	struct side a = {.name = "edge"}, b = {.name = "publisher"};
	size_t total = 8u << 20, sent = 0, got = 0, i;
	unsigned char *src = malloc(total), *dst = malloc(total);
	int reads = 0;

	for (i = 0; i < total; i++)
		src[i] = (unsigned char)(i * 7 + i / 4099);
	pair(&a, &b);
	open_stream(&a, &b);
	while (got < total && reads < 100000) {
		ssize_t n;

		if (sent < total) {
			n = write(a.plain_test, src + sent,
			    total - sent > 65536 ? 65536 : total - sent);
			if (n > 0)
				sent += (size_t)n;
			if (sent == total)
				shutdown(a.plain_test, SHUT_WR);
		}
		b0_loop_once(loop, 1);
		/*
		 * A slow reader (16 KiB a turn, the writer offers 64 KiB):
		 * every buffer on the way fills and each side must wait.
		 */
		n = read(b.plain_test, dst + got,
		    total - got > 16384 ? 16384 : total - got);
		if (n > 0)
			got += (size_t)n;
		reads++;
	}
	is_int(got, total, "8 MiB through a slow reader");
	ok(memcmp(src, dst, total) == 0, "bytes equal");
	close(b.plain_test);
	RUN_UNTIL(a.ended == 1 && b.ended == 1);
	ok(a.st.clean && b.st.clean, "bulk stream ends cleanly");
	ok(a.st.up == total && b.st.down == total, "both counted 8 MiB");
	close(a.plain_test);
	b0_chan_free(a.c);
	b0_chan_free(b.c);
	free(src);
	free(dst);
}

/* A hostile peer: raw frames written with SSL_write into a channel. */
static void
test_hostile_peer(void)
{
	static const struct {
		const char *what;
		const uint8_t *frames;
		size_t len;
	} t[] = {
	    {"DATA without a stream", (const uint8_t *)"\x13\0\0\x01x", 5},
	    {"FIN without a stream", (const uint8_t *)"\x14\0\0\0", 4},
	    {"unknown frame type", (const uint8_t *)"\x7f\0\0\0", 4},
	    {"OPENED with a payload", (const uint8_t *)"\x12\0\0\x01x", 5},
	    {"PING over 64 bytes", (const uint8_t *)"\x06\0\0\x41", 4},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct side b = {.name = "publisher"};
		SSL *cs, *ss;
		int cfd, sfd;

		if (tls_pair(&cs, &ss, &cfd, &sfd) != 0 ||
		    b0_chan_new(loop, &cctx, sfd, ss, &ops, &b, &b.c) != 0) {
			ok(0, "%s: set-up", t[i].what);
			continue;
		}
		SSL_write(cs, t[i].frames, (int)t[i].len);
		RUN_UNTIL(b.closed == 1);
		is_int(b.closed, 1, "%s: channel closed", t[i].what);
		is_int(b.close_r, B0_ERR_PROTOCOL, "%s: as a protocol error",
		    t[i].what);
		b0_chan_free(b.c);
		SSL_free(cs);
		close(cfd);
	}
	{
		/* DATA after the peer's FIN. */
		struct side a = {.name = "edge"}, b = {.name = "publisher"};
		SSL *cs, *ss;
		int cfd, sfd;
		static const char open[] =
		    "\x11\0\0\x4b{\"socket\":\"s\",\"visitor\":\"1.2.3.4:5\","
		    "\"id\":\"0123456789abcdef0123456789abcdef\"}";

		(void)a;
		tls_pair(&cs, &ss, &cfd, &sfd);
		b0_chan_new(loop, &cctx, sfd, ss, &ops, &b, &b.c);
		SSL_write(cs, open, sizeof(open) - 1);
		RUN_UNTIL(b.opens == 1);
		SSL_write(cs, "\x14\0\0\0\x13\0\0\x01x", 9);
		RUN_UNTIL(b.closed == 1);
		is_int(b.close_r, B0_ERR_PROTOCOL, "DATA after FIN refused");
		is_int(b.ended, 1, "its stream ended first (reset)");
		close(b.plain_test);
		b0_chan_free(b.c);
		SSL_free(cs);
		close(cfd);
	}
}

/* The peer's TCP connection dies without close_notify mid-stream. */
static void
test_truncation(void)
{
	struct side a = {.name = "edge"}, b = {.name = "publisher"};
	SSL *cs, *ss;
	int cfd, sfd;
	char buf[16];
	ssize_t n;

	tls_pair(&cs, &ss, &cfd, &sfd);
	b0_chan_new(loop, &cctx, sfd, ss, &ops, &b, &b.c);
	SSL_write(cs,
	    "\x11\0\0\x4b{\"socket\":\"s\",\"visitor\":\"1.2.3.4:5\","
	    "\"id\":\"0123456789abcdef0123456789abcdef\"}",
	    79);
	RUN_UNTIL(b.opens == 1);
	close(cfd); /* no close_notify */
	RUN_UNTIL(b.closed == 1);
	is_int(b.ended, 1, "truncated channel ends its stream");
	ok(!b.st.clean, "not cleanly");
	n = read_some(b.plain_test, buf, sizeof(buf));
	ok(n == -1 && errno == ECONNRESET,
	    "the target sees a reset, never a clean EOF");
	close(b.plain_test);
	b0_chan_free(b.c);
	SSL_free(cs);
	(void)a;
}

/*
 * tls streams: the edge side's stream socket is a TLS connection (a
 * visitor of a tls socket); the test plays the visitor with its own SSL.
 */
#define HEAD "HTTP/1.1 200 Connection established\r\n\r\n"

struct vis {
	SSL *ssl;
	int fd;
};

/* Open a stream whose edge-side socket is the server end of a TLS pair. */
static int
open_tls_stream(
    struct side *a, struct side *b, struct vis *v, const char *early)
{
	SSL *ss;
	int sfd, opens = b->opens, r;
	static const char open[] =
	    "{\"socket\":\"s\",\"visitor\":\"1.2.3.4:5\","
	    "\"id\":\"0123456789abcdef0123456789abcdef\"}";

	if (tls_pair(&v->ssl, &ss, &v->fd, &sfd) != 0)
		return -1;
	SSL_set_mode(v->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
	b0_chan_send(a->c, B0_F_OPEN, open, sizeof(open) - 1);
	r = b0_chan_stream_start_tls(a->c, sfd, ss, HEAD, strlen(HEAD), early,
	    early ? strlen(early) : 0);
	b0_chan_flush(a->c);
	RUN_UNTIL(b->opens > opens);
	return r;
}

/*
 * Read from the visitor's SSL, running the loop: > 0 bytes, 0 for
 * close_notify, -1 for another end (errno ECONNRESET for a truncation).
 */
static int
vis_read(struct vis *v, char *buf, int size)
{
	int n = -1, e = 0;

	RUN_UNTIL((n = SSL_read(v->ssl, buf, size)) > 0 ||
		  (e = SSL_get_error(v->ssl, n)) != SSL_ERROR_WANT_READ);
	if (n > 0)
		return n;
	ERR_clear_error();
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = ECONNRESET;
	return -1;
}

/* Read exactly len bytes from the visitor's SSL. */
static int
vis_read_all(struct vis *v, char *buf, int len)
{
	int got = 0, n;

	while (got < len) {
		if ((n = vis_read(v, buf + got, len - got)) <= 0)
			return got;
		got += n;
	}
	return got;
}

static void
vis_write(struct vis *v, const char *s)
{
	int n;

	RUN_UNTIL((n = SSL_write(v->ssl, s, (int)strlen(s))) > 0 ||
		  SSL_get_error(v->ssl, n) != SSL_ERROR_WANT_WRITE);
}

static void
vis_close_notify(struct vis *v)
{
	int n;

	RUN_UNTIL((n = SSL_shutdown(v->ssl)) >= 0 ||
		  SSL_get_error(v->ssl, n) != SSL_ERROR_WANT_WRITE);
}

static void
vis_free(struct vis *v)
{
	SSL_free(v->ssl);
	close(v->fd);
}

static void
test_tls_data_and_half_close(void)
{
	struct side a = {.name = "edge"}, b = {.name = "publisher"};
	struct vis v;
	char buf[128];
	ssize_t n;

	pair(&a, &b);
	/* Bytes both ways; the head first; early bytes first upstream. */
	ok(open_tls_stream(&a, &b, &v, "early;") == 0,
	    "tls: stream starts on a TLS socket");
	n = vis_read_all(&v, buf, (int)strlen(HEAD));
	ok(n == (ssize_t)strlen(HEAD) && memcmp(buf, HEAD, n) == 0,
	    "tls: the visitor gets the head first");
	vis_write(&v, "hello");
	n = 0;
	while (n < 11) {
		ssize_t k = read_some(b.plain_test, buf + n, sizeof(buf) - n);

		if (k <= 0)
			break;
		n += k;
	}
	ok(n == 11 && memcmp(buf, "early;hello", 11) == 0,
	    "tls: early bytes, then the visitor's, reach the target");
	tap_need(write(b.plain_test, "answer", 6) == 6);
	n = vis_read_all(&v, buf, 6);
	ok(n == 6 && memcmp(buf, "answer", 6) == 0,
	    "tls: the target's bytes reach the visitor");

	/* The visitor's close_notify is its half-close... */
	vis_close_notify(&v);
	n = read_some(b.plain_test, buf, sizeof(buf));
	is_int(n, 0, "tls: visitor's close_notify arrives as EOF");
	is_int(a.ended + b.ended, 0, "tls: stream still open one way");
	/* ...and it still gets the answer. */
	tap_need(write(b.plain_test, "after", 5) == 5);
	n = vis_read_all(&v, buf, 5);
	ok(n == 5 && memcmp(buf, "after", 5) == 0,
	    "tls: half-closed visitor still receives");
	close(b.plain_test);
	n = vis_read(&v, buf, sizeof(buf));
	is_int(n, 0, "tls: the target's FIN is close_notify to the visitor");
	RUN_UNTIL(a.ended == 1 && b.ended == 1);
	ok(a.ended == 1 && b.ended == 1 && a.st.clean && b.st.clean,
	    "tls: stream ended cleanly both sides");
	is_int(a.st.up, 11, "tls: edge counted 11 up (early bytes too)");
	is_int(a.st.down, 11, "tls: edge counted 11 down");
	vis_free(&v);

	/* The other way round: the target half-closes first. */
	ok(open_tls_stream(&a, &b, &v, NULL) == 0, "tls: second stream");
	n = vis_read_all(&v, buf, (int)strlen(HEAD));
	tap_need(write(b.plain_test, "bye", 3) == 3);
	shutdown(b.plain_test, SHUT_WR);
	n = vis_read_all(&v, buf, 3);
	ok(n == 3 && memcmp(buf, "bye", 3) == 0, "tls: data before the FIN");
	n = vis_read(&v, buf, sizeof(buf));
	is_int(n, 0, "tls: target's FIN arrives as close_notify");
	is_int(a.ended + b.ended, 2, "tls: stream still open the other way");
	vis_write(&v, "late");
	n = read_some(b.plain_test, buf, sizeof(buf));
	ok(n == 4 && memcmp(buf, "late", 4) == 0,
	    "tls: the visitor still sends after our close_notify");
	vis_close_notify(&v);
	n = read_some(b.plain_test, buf, sizeof(buf));
	is_int(n, 0, "tls: then its close_notify is EOF at the target");
	RUN_UNTIL(a.ended == 2 && b.ended == 2);
	ok(a.ended == 2 && a.st.clean && b.st.clean,
	    "tls: second stream ended cleanly");
	{
		char c;

		RUN_UNTIL(read(v.fd, &c, 1) == 0);
		ok(read(v.fd, &c, 1) == 0, "tls: then the TCP close follows");
	}
	close(b.plain_test);
	vis_free(&v);
	ok(!b0_chan_stream_active(a.c) && a.closed + b.closed == 0,
	    "tls: channel idle again");
	b0_chan_free(a.c);
	b0_chan_free(b.c);
}

static void
test_tls_truncation_and_reset(void)
{
	struct side a = {.name = "edge"}, b = {.name = "publisher"};
	struct linger lg = {1, 0};
	struct vis v;
	char buf[64];
	ssize_t n;

	pair(&a, &b);
	/* A TCP close without close_notify is a reset, not an end. */
	open_tls_stream(&a, &b, &v, NULL);
	vis_read_all(&v, buf, (int)strlen(HEAD));
	vis_write(&v, "x");
	read_some(b.plain_test, buf, sizeof(buf));
	close(v.fd);
	v.fd = -1;
	RUN_UNTIL(a.ended == 1 && b.ended == 1);
	ok(a.ended == 1 && b.ended == 1, "tls: truncation ends the stream");
	ok(!a.st.clean, "tls: not cleanly");
	has_str(a.st.how, "without close_notify", "tls: the log says why");
	errno = 0;
	n = read_some(b.plain_test, buf, sizeof(buf));
	ok(n == -1 && errno == ECONNRESET,
	    "tls: the target sees a reset, never a clean EOF");
	close(b.plain_test);
	SSL_free(v.ssl);

	/* The target resets: the visitor gets no close_notify. */
	open_tls_stream(&a, &b, &v, NULL);
	vis_read_all(&v, buf, (int)strlen(HEAD));
	setsockopt(b.plain_test, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(b.plain_test);
	RUN_UNTIL(a.ended == 2 && b.ended == 2);
	n = vis_read(&v, buf, sizeof(buf));
	ok(n == -1, "tls: a reset reaches the visitor as a truncation");
	is_int(a.closed + b.closed, 0, "tls: channel survives");
	vis_free(&v);
	b0_chan_free(a.c);
	b0_chan_free(b.c);
}

static void
test_tls_bulk(void)
{
	struct side a = {.name = "edge"}, b = {.name = "publisher"};
	size_t total = 8u << 20, sent = 0, got = 0, i;
	unsigned char *src = malloc(total), *dst = malloc(total);
	char head[64];
	struct vis v;
	int turns = 0, n, vdone = 0;

	for (i = 0; i < total; i++)
		src[i] = (unsigned char)(i * 7 + i / 4099);
	pair(&a, &b);
	open_tls_stream(&a, &b, &v, NULL);
	vis_read_all(&v, head, (int)strlen(HEAD));
	/* Visitor to target, a slow target. */
	while (got < total && turns < 200000) {
		ssize_t k;

		if (sent < total) {
			n = SSL_write(v.ssl, src + sent,
			    total - sent > 65536 ? 65536 : (int)(total - sent));
			if (n > 0)
				sent += (size_t)n;
			else
				ERR_clear_error();
		}
		if (sent == total && !vdone) {
			vdone = SSL_shutdown(v.ssl) >= 0;
			ERR_clear_error();
		}
		b0_loop_once(loop, 1);
		k = read(b.plain_test, dst + got,
		    total - got > 16384 ? 16384 : total - got);
		if (k > 0)
			got += (size_t)k;
		turns++;
	}
	is_int(got, total, "tls: 8 MiB from the visitor through a slow target");
	ok(memcmp(src, dst, total) == 0, "tls: bytes equal");
	/* Target to visitor, a slow visitor. */
	sent = got = 0;
	memset(dst, 0, total);
	turns = 0;
	while (got < total && turns < 200000) {
		ssize_t k;

		if (sent < total) {
			k = write(b.plain_test, src + sent,
			    total - sent > 65536 ? 65536 : total - sent);
			if (k > 0)
				sent += (size_t)k;
			if (sent == total)
				shutdown(b.plain_test, SHUT_WR);
		}
		b0_loop_once(loop, 1);
		n = SSL_read(v.ssl, dst + got,
		    total - got > 16384 ? 16384 : (int)(total - got));
		if (n > 0)
			got += (size_t)n;
		else
			ERR_clear_error();
		turns++;
	}
	is_int(got, total, "tls: 8 MiB to a slow visitor");
	ok(memcmp(src, dst, total) == 0, "tls: bytes equal");
	RUN_UNTIL(a.ended == 1 && b.ended == 1);
	ok(a.st.clean && b.st.clean, "tls: bulk stream ends cleanly");
	ok(a.st.up == total && a.st.down == total, "tls: edge counted both");
	close(b.plain_test);
	vis_free(&v);
	b0_chan_free(a.c);
	b0_chan_free(b.c);
	free(src);
	free(dst);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (make_cert() != 0 || b0_loop_new(&loop) != 0) {
		printf("Bail out! set-up failed\n");
		return 1;
	}
	cctx.size = B0_CHAN_CHUNK + B0_FRAME_HDR;
	cctx.scratch = malloc(cctx.size);
	test_half_close_and_reuse();
	test_reset_and_refuse();
	test_bulk_backpressure();
	test_hostile_peer();
	test_truncation();
	test_tls_data_and_half_close();
	test_tls_truncation_and_reset();
	test_tls_bulk();
	b0_loop_free(loop);
	free(cctx.scratch);
	unlink(certpath);
	unlink(keypath);
	rmdir(dir);
	return tap_done();
}
