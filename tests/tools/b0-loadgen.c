/*
 * b0-loadgen: the load generator of bench/run, and the target server it
 * talks to, in one program, so that every relay is measured with the same
 * client and the same server.
 *
 *   b0-loadgen serve --listen HOST:PORT [--ready-fd N]
 *   b0-loadgen throughput --connect HOST:PORT [--time T] [--dir down|up]
 *   b0-loadgen rtt --connect HOST:PORT [--count N] [--size B]
 *   b0-loadgen rtt-under-load --connect HOST:PORT [--time T] [--size B]
 *   b0-loadgen setup --connect HOST:PORT [--time T] [--parallel K]
 *   b0-loadgen idle --connect HOST:PORT --count N [--ready-fd N]
 *   b0-loadgen freeport [--listen HOST]
 *
 * The server is one epoll loop; the client's first byte picks what it does
 * with the connection:
 *
 *   'E'  echo every byte after this one
 *   'D'  send bytes as fast as the connection takes them, until EOF
 *   'U'  swallow bytes until EOF, then answer "<count>\n" and close
 *   'A'  answer one byte 'a', then close at EOF (a minimal request)
 *
 * Each client subcommand prints one line on stdout, "FIGURE key=value ...",
 * for bench/run to parse.  Times come from CLOCK_MONOTONIC; 1 MB is 10^6
 * bytes.  Every socket has TCP_NODELAY.  Client sockets are blocking: a
 * blocked read() is the quickest way to learn that a reply arrived.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_daemon.h"
#include "b0_err.h"
#include "b0_net.h"
#include "b0_parse.h"

#define IO_CHUNK (256 * 1024)
/* Bytes a 'D' connection may write per wake-up: the loop stays fair. */
#define SOURCE_BURST (128 * 1024)
#define ECHO_BUF (64 * 1024)
#define MAX_SAMPLES (16 * 1024 * 1024)
#define MAX_PARALLEL 64
#define MAX_IDLE 100000
#define RTT_WARMUP 200
#define SETUP_WARMUP 50
/* How long a client waits for any one reply before it gives up. */
#define REPLY_TIMEOUT_MS 10000

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "b0-loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double
mb_per_s(uint64_t bytes, uint64_t ns)
{
	return ns == 0 ? 0 : (double)bytes * 1e3 / (double)ns;
}

/* Options shared by the subcommands; each uses some of them. */
struct opts {
	const char *listen;
	const char *connect;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t time_ms;
	uint32_t count;
	uint32_t size;
	uint32_t parallel;
	int ready_fd;
	int up; /* throughput: client to server instead of server to client */
	uint32_t
	    bulk_rate; /* rtt-under-load: MB/s the bulk reader takes; 0: all */
};

/* Growable array of samples in ns, with a ceiling. */
struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void
samples_add(struct samples *s, uint64_t ns)
{
	uint64_t *nv;
	size_t ncap;

	if (s->n == s->cap) {
		if (s->cap >= MAX_SAMPLES)
			return; /* enough for any percentile we print */
		ncap = s->cap == 0 ? 4096 : s->cap * 2;
		if ((nv = realloc(s->v, ncap * sizeof(*nv))) == NULL)
			die("out of memory");
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = ns;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in microseconds; s must be sorted. */
static double
pct_us(const struct samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)ceil(p / 100.0 * (double)s->n);
	if (i > 0)
		i--;
	if (i >= s->n)
		i = s->n - 1;
	return (double)s->v[i] / 1e3;
}

static void
print_latency(const struct samples *s)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		sum += (double)s->v[i];
	printf(" n=%zu p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f "
	       "max_us=%.1f mean_us=%.1f",
	    s->n, pct_us(s, 50), pct_us(s, 90), pct_us(s, 99), pct_us(s, 99.9),
	    s->n ? (double)s->v[s->n - 1] / 1e3 : 0,
	    s->n ? sum / (double)s->n / 1e3 : 0);
}

/* Client sockets. */

static int
dial(const struct opts *o)
{
	int fd, one = 1;

	fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (
	    connect(fd, (const struct sockaddr *)&o->addr, o->addrlen) == -1) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, b, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Wait up to ms for fd to be readable: 0, or -1 with errno (ETIMEDOUT). */
static int
wait_readable(int fd, int ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	int n;

	while ((n = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

/*
 * Read exactly len bytes.  fast: block in read() at once (the lowest
 * latency), trusting the peer to answer; else poll with a time limit.
 * Returns 0, or -1 with errno (0 at EOF).
 */
static int
read_full(int fd, void *p, size_t len, int fast)
{
	uint8_t *b = p;
	ssize_t n;

	while (len > 0) {
		if (!fast && wait_readable(fd, REPLY_TIMEOUT_MS) == -1)
			return -1;
		if ((n = read(fd, b, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = 0;
			return -1;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static const char *
why(void)
{
	return errno == 0 ? "connection closed" : strerror(errno);
}

/* The server. */

enum smode {
	M_NEW = 0,
	M_ECHO,
	M_DOWN,
	M_UP,
	M_ACK,
};

struct sconn {
	int fd;
	enum smode mode;
	unsigned events;
	uint8_t *pend; /* echo bytes not yet written back */
	size_t pend_off, pend_len;
	uint64_t count;
};

struct server {
	int epfd, lfd;
	uint8_t *rbuf;	 /* reads land here */
	uint8_t *source; /* what 'D' connections send */
};

static void
sconn_free(struct server *sv, struct sconn *c)
{
	(void)epoll_ctl(sv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pend);
	free(c);
}

static void
sconn_want(struct server *sv, struct sconn *c, unsigned ev)
{
	struct epoll_event e;

	if (ev == c->events)
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = c;
	if (epoll_ctl(sv->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

/* Write back what echo could not; returns -1 if c must go. */
static int
echo_flush(struct server *sv, struct sconn *c)
{
	ssize_t n;

	while (c->pend_len > 0) {
		n = write(c->fd, c->pend + c->pend_off, c->pend_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			sconn_want(sv, c, EPOLLOUT);
			return 0;
		}
		if (n == -1)
			return -1;
		c->pend_off += (size_t)n;
		c->pend_len -= (size_t)n;
	}
	free(c->pend);
	c->pend = NULL;
	c->pend_off = 0;
	sconn_want(sv, c, EPOLLIN);
	return 0;
}

static int
echo_bytes(struct server *sv, struct sconn *c, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(c->fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	if (len == 0)
		return 0;
	/* The peer is not reading: hold the rest and stop reading. */
	if ((c->pend = malloc(len)) == NULL)
		return -1;
	memcpy(c->pend, p, len);
	c->pend_off = 0;
	c->pend_len = len;
	sconn_want(sv, c, EPOLLOUT);
	return 0;
}

static int
source_write(struct server *sv, struct sconn *c)
{
	size_t done = 0;
	ssize_t n;

	while (done < SOURCE_BURST) {
		n = write(c->fd, sv->source, IO_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* A byte arrived on a new connection: its mode. */
static int
start_mode(struct server *sv, struct sconn *c, uint8_t m)
{
	switch (m) {
	case 'E':
		c->mode = M_ECHO;
		return 0;
	case 'D':
		c->mode = M_DOWN;
		sconn_want(sv, c, EPOLLIN | EPOLLOUT);
		return source_write(sv, c);
	case 'U':
		c->mode = M_UP;
		return 0;
	case 'A':
		c->mode = M_ACK;
		/* An empty socket buffer takes one byte. */
		return write(c->fd, "a", 1) == 1 ? 0 : -1;
	}
	return -1;
}

/* Readable: returns -1 if c must go. */
static int
sconn_read(struct server *sv, struct sconn *c)
{
	ssize_t n;
	size_t off;
	char reply[32];
	int len;

	while (c->pend == NULL) {
		n = read(c->fd, sv->rbuf, IO_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			if (n == 0 && c->mode == M_UP) {
				len = snprintf(reply, sizeof(reply), "%llu\n",
				    (unsigned long long)c->count);
				if (write(c->fd, reply, (size_t)len) != len)
					return -1;
			}
			return -1;
		}
		off = 0;
		if (c->mode == M_NEW) {
			if (start_mode(sv, c, sv->rbuf[0]) != 0)
				return -1;
			off = 1;
		}
		if (c->mode == M_ECHO && (size_t)n > off &&
		    echo_bytes(sv, c, sv->rbuf + off, (size_t)n - off) != 0)
			return -1;
		if (c->mode == M_UP)
			c->count += (uint64_t)n - off;
	}
	return 0;
}

static void
server_accept(struct server *sv)
{
	struct epoll_event e;
	struct sconn *c;
	int fd, n;

	for (n = 0; n < 64; n++) {
		if (b0_net_accept(sv->lfd, &fd, NULL, NULL) != 0)
			return;
		b0_net_tune(fd, 0);
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN;
		e.data.ptr = c;
		if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, fd, &e) == -1) {
			close(fd);
			free(c);
		}
	}
}

static int
cmd_serve(const struct opts *o)
{
	struct epoll_event e, evs[64];
	struct server sv;
	struct b0_errmsg em;
	struct sconn *c;
	char host[256], ready[64];
	uint16_t port;
	int i, n, r, gone;

	if (o->listen == NULL)
		die("serve: --listen HOST:PORT is required");
	if (b0_parse_listen(o->listen, host, sizeof(host), &port) != 0)
		die("serve: --listen \"%s\" is not HOST:PORT", o->listen);
	memset(&sv, 0, sizeof(sv));
	b0_err_clear(&em);
	if ((r = b0_net_listen(host, port, &sv.lfd, &em)) != 0)
		die("serve: %s", b0_err_text(&em, r));
	if ((r = b0_net_local_port(sv.lfd, &port)) != 0)
		die("serve: %s", b0_strerror(r));
	if ((sv.epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	if ((sv.rbuf = malloc(IO_CHUNK)) == NULL ||
	    (sv.source = malloc(IO_CHUNK)) == NULL)
		die("out of memory");
	for (i = 0; i < IO_CHUNK; i++)
		sv.source[i] = (uint8_t)('a' + i % 26);
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = NULL;
	if (epoll_ctl(sv.epfd, EPOLL_CTL_ADD, sv.lfd, &e) == -1)
		die("epoll_ctl: %s", strerror(errno));
	snprintf(ready, sizeof(ready), "READY=1\nPORT=%u\n", (unsigned)port);
	if (o->ready_fd >= 0)
		b0_daemon_ready_fd(o->ready_fd, ready);
	else {
		printf("%s", ready);
		fflush(stdout);
	}
	for (;;) {
		if ((n = epoll_wait(sv.epfd, evs, 64, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			if ((c = evs[i].data.ptr) == NULL) {
				server_accept(&sv);
				continue;
			}
			gone = 0;
			if ((evs[i].events & EPOLLOUT) && c->mode == M_DOWN)
				gone = source_write(&sv, c) != 0;
			else if ((evs[i].events & EPOLLOUT) && c->pend != NULL)
				gone = echo_flush(&sv, c) != 0;
			if (!gone &&
			    (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				gone = sconn_read(&sv, c) != 0;
			if (gone)
				sconn_free(&sv, c);
		}
	}
}

/* Figures. */

static int
cmd_throughput(const struct opts *o)
{
	uint8_t *buf;
	uint64_t t0, t1, tfirst = 0, bytes = 0, end, got;
	ssize_t n;
	int fd;

	if ((buf = malloc(IO_CHUNK)) == NULL)
		die("out of memory");
	memset(buf, 'u', IO_CHUNK);
	if ((fd = dial(o)) == -1)
		die("connect %s: %s", o->connect, strerror(errno));
	t0 = now_ns();
	end = t0 + o->time_ms * 1000000u;
	if (o->up) {
		char reply[32];
		size_t have = 0;

		if (write_all(fd, "U", 1) == -1)
			die("write: %s", strerror(errno));
		while (now_ns() < end) {
			if (write_all(fd, buf, IO_CHUNK) == -1)
				die("write: %s", strerror(errno));
			bytes += IO_CHUNK;
		}
		if (shutdown(fd, SHUT_WR) == -1)
			die("shutdown: %s", strerror(errno));
		/* The server's count, once everything in flight arrived. */
		while (have < sizeof(reply) - 1 &&
		       (have == 0 || reply[have - 1] != '\n')) {
			if (wait_readable(fd, REPLY_TIMEOUT_MS) == -1)
				die("count: %s", why());
			n = read(fd, reply + have, sizeof(reply) - 1 - have);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				die("count: %s", n == 0 ? "closed" : why());
			have += (size_t)n;
		}
		t1 = now_ns();
		reply[have - 1] = '\0';
		if (b0_parse_u64(reply, 0, UINT64_MAX, &got) != 0)
			die("count: \"%s\" is not a number", reply);
		if (got != bytes)
			die("sent %llu bytes, the server got %llu",
			    (unsigned long long)bytes, (unsigned long long)got);
		printf("throughput dir=up bytes=%llu seconds=%.3f mbps=%.1f\n",
		    (unsigned long long)got, (double)(t1 - t0) / 1e9,
		    mb_per_s(got, t1 - t0));
	} else {
		if (write_all(fd, "D", 1) == -1)
			die("write: %s", strerror(errno));
		/* Timed from the first byte: the connect is not the point. */
		for (;;) {
			if (wait_readable(fd, REPLY_TIMEOUT_MS) == -1)
				die("read: %s", why());
			n = read(fd, buf, IO_CHUNK);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				die("read: %s", n == 0 ? "closed" : why());
			t1 = now_ns();
			if (tfirst == 0) {
				tfirst = t1;
				end = tfirst + o->time_ms * 1000000u;
				continue;
			}
			bytes += (uint64_t)n;
			if (t1 >= end)
				break;
		}
		/* End cleanly: the server sees EOF and closes; drain. */
		if (shutdown(fd, SHUT_WR) == -1)
			die("shutdown: %s", strerror(errno));
		while ((n = read(fd, buf, IO_CHUNK)) != 0) {
			if (n == -1 && errno != EINTR)
				break;
		}
		printf("throughput dir=down bytes=%llu seconds=%.3f "
		       "mbps=%.1f\n",
		    (unsigned long long)bytes, (double)(t1 - tfirst) / 1e9,
		    mb_per_s(bytes, t1 - tfirst));
	}
	close(fd);
	free(buf);
	return 0;
}

/*
 * Ping-pong of size bytes on fd (already in echo mode) until count round
 * trips or the deadline (0: none); after warmup unrecorded ones.
 */
static void
ping_pong(int fd, uint32_t size, uint32_t warmup, uint32_t count,
    uint64_t deadline, struct samples *s)
{
	uint8_t out[4096], in[4096];
	uint64_t t0, t1;
	uint32_t i;

	memset(out, 'p', sizeof(out));
	for (i = 0; i < warmup + count; i++) {
		t0 = now_ns();
		if (write_all(fd, out, size) == -1)
			die("write: %s", strerror(errno));
		if (read_full(fd, in, size, 1) == -1)
			die("read: %s", why());
		t1 = now_ns();
		if (i >= warmup)
			samples_add(s, t1 - t0);
		if (deadline != 0 && t1 >= deadline)
			break;
	}
}

static int
cmd_rtt(const struct opts *o)
{
	struct samples s = {0};
	int fd;

	if ((fd = dial(o)) == -1)
		die("connect %s: %s", o->connect, strerror(errno));
	if (write_all(fd, "E", 1) == -1)
		die("write: %s", strerror(errno));
	ping_pong(fd, o->size, RTT_WARMUP, o->count, 0, &s);
	close(fd);
	qsort(s.v, s.n, sizeof(*s.v), cmp_u64);
	printf("rtt size=%u", (unsigned)o->size);
	print_latency(&s);
	printf("\n");
	free(s.v);
	return 0;
}

/*
 * The bulk half of rtt-under-load, in a child process: read a 'D' stream
 * (at most o->bulk_rate MB/s if set: the reader paces itself and TCP's flow
 * control paces the sender) until the parent writes to ctl (or closes it),
 * after telling it on report that bytes flow; then report "bytes ns\n".
 */
static void __attribute__((noreturn))
bulk_child(const struct opts *o, int ctl, int report)
{
	struct pollfd pfd[2];
	uint8_t *buf;
	uint64_t t0 = 0, bytes = 0, t1, due;
	char line[64];
	ssize_t n;
	int fd, len, told = 0, wait_ms;

	if ((buf = malloc(IO_CHUNK)) == NULL)
		_exit(1);
	if ((fd = dial(o)) == -1 || write_all(fd, "D", 1) == -1) {
		fprintf(stderr, "b0-loadgen: bulk: %s\n", strerror(errno));
		_exit(1);
	}
	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = ctl;
	pfd[1].events = POLLIN;
	for (;;) {
		wait_ms = REPLY_TIMEOUT_MS;
		pfd[0].events = POLLIN;
		if (o->bulk_rate > 0 && t0 != 0) {
			/* Ahead of the rate: sleep (on ctl only) until due. */
			due = t0 + bytes * 1000u / o->bulk_rate;
			t1 = now_ns();
			if (due > t1) {
				pfd[0].events = 0;
				wait_ms = (int)((due - t1) / 1000000u) + 1;
			}
		}
		n = poll(pfd, 2, wait_ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || (n == 0 && pfd[0].events != 0)) {
			fprintf(stderr, "b0-loadgen: bulk: stalled\n");
			_exit(1);
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents == 0)
			continue;
		n = read(fd, buf, o->bulk_rate > 0 ? 16384 : IO_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "b0-loadgen: bulk: %s\n",
			    n == 0 ? "closed" : strerror(errno));
			_exit(1);
		}
		if (t0 == 0)
			t0 = now_ns();
		else
			bytes += (uint64_t)n;
		if (!told && bytes >= 1024 * 1024) {
			told = 1;
			(void)write_all(report, "go\n", 3);
		}
	}
	t1 = now_ns();
	len = snprintf(line, sizeof(line), "%llu %llu\n",
	    (unsigned long long)bytes, (unsigned long long)(t1 - t0));
	(void)write_all(report, line, (size_t)len);
	(void)shutdown(fd, SHUT_WR);
	while (
	    (n = read(fd, buf, IO_CHUNK)) != 0 && !(n == -1 && errno != EINTR))
		;
	_exit(0);
}

/* Read a line of at most size - 1 bytes from fd (blocking, bounded). */
static int
read_line(int fd, char *buf, size_t size)
{
	size_t have = 0;
	ssize_t n;

	while (have < size - 1) {
		if (wait_readable(fd, REPLY_TIMEOUT_MS) == -1)
			return -1;
		if ((n = read(fd, buf + have, 1)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (buf[have] == '\n')
			break;
		have++;
	}
	buf[have] = '\0';
	return 0;
}

static int
cmd_rtt_under_load(const struct opts *o)
{
	struct samples s = {0};
	char line[64], *sp;
	uint64_t bytes, ns;
	int ctl[2], rep[2], fd, status;
	pid_t pid;

	if (pipe2(ctl, O_CLOEXEC) == -1 || pipe2(rep, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(ctl[1]);
		close(rep[0]);
		bulk_child(o, ctl[0], rep[1]);
	}
	close(ctl[0]);
	close(rep[1]);
	if (read_line(rep[0], line, sizeof(line)) == -1 ||
	    strcmp(line, "go") != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		die("the bulk stream did not start");
	}
	if ((fd = dial(o)) == -1)
		die("connect %s: %s", o->connect, strerror(errno));
	if (write_all(fd, "E", 1) == -1)
		die("write: %s", strerror(errno));
	ping_pong(fd, o->size, 20, UINT32_MAX - 20,
	    now_ns() + o->time_ms * 1000000u, &s);
	close(fd);
	(void)write_all(ctl[1], "x", 1);
	close(ctl[1]);
	if (read_line(rep[0], line, sizeof(line)) == -1 ||
	    (sp = strchr(line, ' ')) == NULL)
		die("no report from the bulk stream");
	*sp++ = '\0';
	if (b0_parse_u64(line, 0, UINT64_MAX, &bytes) != 0 ||
	    b0_parse_u64(sp, 0, UINT64_MAX, &ns) != 0)
		die("bad report from the bulk stream");
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("the bulk stream failed");
	close(rep[0]);
	qsort(s.v, s.n, sizeof(*s.v), cmp_u64);
	printf("rtt-under-load size=%u bulk_rate=%u bulk_mbps=%.1f",
	    (unsigned)o->size, (unsigned)o->bulk_rate, mb_per_s(bytes, ns));
	print_latency(&s);
	printf("\n");
	free(s.v);
	return 0;
}

/* One short stream: connect, 'A', one byte back, close.  0 or -1. */
static int
one_setup(const struct opts *o)
{
	uint8_t b;
	int fd, r = -1;

	if ((fd = dial(o)) == -1)
		return -1;
	if (write_all(fd, "A", 1) == 0 && read_full(fd, &b, 1, 0) == 0 &&
	    b == 'a')
		r = 0;
	close(fd);
	return r;
}

/*
 * A setup worker: short streams back to back until deadline; writes
 * "n errors ns" then the samples (uint32 ns each) to out.
 */
static void
setup_worker(const struct opts *o, uint64_t deadline, int out)
{
	struct samples s = {0};
	uint64_t t0, t1, start, errors = 0;
	uint32_t v;
	char line[96];
	int len;
	size_t i;

	start = now_ns();
	for (;;) {
		t0 = now_ns();
		if (t0 >= deadline)
			break;
		if (one_setup(o) != 0) {
			if (errors++ == 0)
				fprintf(
				    stderr, "b0-loadgen: setup: %s\n", why());
			continue;
		}
		t1 = now_ns();
		samples_add(&s, t1 - t0);
	}
	len = snprintf(line, sizeof(line), "%zu %llu %llu\n", s.n,
	    (unsigned long long)errors, (unsigned long long)(now_ns() - start));
	(void)write_all(out, line, (size_t)len);
	for (i = 0; i < s.n; i++) {
		v = s.v[i] > UINT32_MAX ? UINT32_MAX : (uint32_t)s.v[i];
		(void)write_all(out, &v, sizeof(v));
	}
	free(s.v);
}

static int
cmd_setup(const struct opts *o)
{
	struct samples s = {0};
	pid_t pids[MAX_PARALLEL];
	int fds[MAX_PARALLEL][2];
	uint64_t deadline, n, errors, ns, total_err = 0;
	double rate = 0;
	uint32_t i, j, v;
	char line[96], *a, *b;
	int status, failed = 0;

	/* Warm up: the relay's pools and caches, not the figure. */
	for (i = 0; i < SETUP_WARMUP; i++)
		if (one_setup(o) != 0)
			die("setup: %s", why());
	deadline = now_ns() + o->time_ms * 1000000u;
	fflush(stdout);
	for (i = 0; i < o->parallel; i++) {
		if (pipe2(fds[i], O_CLOEXEC) == -1)
			die("pipe: %s", strerror(errno));
		if ((pids[i] = fork()) == -1)
			die("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			close(fds[i][0]);
			setup_worker(o, deadline, fds[i][1]);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < o->parallel; i++) {
		if (read_line(fds[i][0], line, sizeof(line)) == -1 ||
		    (a = strchr(line, ' ')) == NULL ||
		    (b = strchr(a + 1, ' ')) == NULL) {
			failed = 1;
			continue;
		}
		*a++ = '\0';
		*b++ = '\0';
		if (b0_parse_u64(line, 0, UINT64_MAX, &n) != 0 ||
		    b0_parse_u64(a, 0, UINT64_MAX, &errors) != 0 ||
		    b0_parse_u64(b, 1, UINT64_MAX, &ns) != 0) {
			failed = 1;
			continue;
		}
		for (j = 0; j < n; j++) {
			if (read_full(fds[i][0], &v, sizeof(v), 0) == -1) {
				failed = 1;
				break;
			}
			samples_add(&s, v);
		}
		total_err += errors;
		rate += (double)n * 1e9 / (double)ns;
		close(fds[i][0]);
	}
	for (i = 0; i < o->parallel; i++)
		if (waitpid(pids[i], &status, 0) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed)
		die("setup: a worker failed");
	qsort(s.v, s.n, sizeof(*s.v), cmp_u64);
	printf("setup parallel=%u errors=%llu rate=%.0f", (unsigned)o->parallel,
	    (unsigned long long)total_err, rate);
	print_latency(&s);
	printf("\n");
	free(s.v);
	return 0;
}

/*
 * Open count streams, one round trip each, and hold them idle; say so on
 * the ready fd (or stdout).  At EOF or a line on stdin, check that every
 * one still answers, print the figure and exit.
 */
static int
cmd_idle(const struct opts *o)
{
	int *fds;
	uint64_t t0, t1;
	uint32_t i, alive = 0;
	char b[2], line[16];

	if (o->count > MAX_IDLE)
		die("idle: at most %d streams", MAX_IDLE);
	if ((fds = calloc(o->count, sizeof(*fds))) == NULL)
		die("out of memory");
	t0 = now_ns();
	for (i = 0; i < o->count; i++) {
		if ((fds[i] = dial(o)) == -1)
			die("idle: connect #%u: %s", (unsigned)i,
			    strerror(errno));
		if (write_all(fds[i], "Ex", 2) == -1 ||
		    read_full(fds[i], b, 1, 0) == -1)
			die("idle: stream #%u: %s", (unsigned)i, why());
	}
	t1 = now_ns();
	if (o->ready_fd >= 0)
		b0_daemon_ready_fd(o->ready_fd, "READY=1\n");
	else {
		printf("READY=1\n");
		fflush(stdout);
	}
	/* Hold until told (a line or EOF on stdin). */
	while (read(0, line, sizeof(line)) == -1 && errno == EINTR)
		;
	for (i = 0; i < o->count; i++) {
		if (write_all(fds[i], "y", 1) == 0 &&
		    read_full(fds[i], b, 1, 0) == 0)
			alive++;
		close(fds[i]);
	}
	printf("idle n=%u alive=%u open_seconds=%.3f open_rate=%.0f\n",
	    (unsigned)o->count, (unsigned)alive, (double)(t1 - t0) / 1e9,
	    (double)o->count * 1e9 / (double)(t1 - t0));
	free(fds);
	return alive == o->count ? 0 : 1;
}

/* A port that was free a moment ago, for daemons that cannot take 0. */
static int
cmd_freeport(const struct opts *o)
{
	struct b0_errmsg em;
	uint16_t port;
	int fd, r;

	b0_err_clear(&em);
	if ((r = b0_net_listen(
		 o->listen ? o->listen : "127.0.0.1", 0, &fd, &em)) != 0 ||
	    (r = b0_net_local_port(fd, &port)) != 0)
		die("freeport: %s", b0_err_text(&em, r));
	close(fd);
	printf("%u\n", (unsigned)port);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: b0-loadgen serve --listen HOST:PORT [--ready-fd N]\n"
	    "       b0-loadgen throughput --connect HOST:PORT [--time T] "
	    "[--dir down|up]\n"
	    "       b0-loadgen rtt --connect HOST:PORT [--count N] [--size B]\n"
	    "       b0-loadgen rtt-under-load --connect HOST:PORT [--time T] "
	    "[--size B]\n"
	    "                  [--bulk-rate MBPS]\n"
	    "       b0-loadgen setup --connect HOST:PORT [--time T] "
	    "[--parallel K]\n"
	    "       b0-loadgen idle --connect HOST:PORT --count N "
	    "[--ready-fd N]\n"
	    "       b0-loadgen freeport [--listen HOST]\n"
	    "\n"
	    "The target server of the benchmark and its load generator.\n"
	    "Each figure prints one line of key=value pairs (times in us,\n"
	    "throughput in MB/s of 10^6 bytes).  T is a duration (2s, "
	    "500ms).\n"
	    "Defaults: --time 2s, --dir down, --count 5000 (rtt) or 1000\n"
	    "(idle), --size 16, --parallel 1, --bulk-rate 0 (as fast as it\n"
	    "goes).\n");
}

/* Room for the descriptors of many idle streams. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	enum {
		O_LISTEN = 256,
		O_CONNECT,
		O_TIME,
		O_COUNT,
		O_SIZE,
		O_PAR,
		O_READY,
		O_DIR,
		O_RATE
	};
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"connect", required_argument, NULL, O_CONNECT},
	    {"time", required_argument, NULL, O_TIME},
	    {"count", required_argument, NULL, O_COUNT},
	    {"size", required_argument, NULL, O_SIZE},
	    {"parallel", required_argument, NULL, O_PAR},
	    {"ready-fd", required_argument, NULL, O_READY},
	    {"dir", required_argument, NULL, O_DIR},
	    {"bulk-rate", required_argument, NULL, O_RATE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct b0_errmsg em;
	struct opts o;
	const char *cmd;
	char host[256];
	uint16_t port;
	uint32_t u;
	int ch, count_set = 0, r;

	memset(&o, 0, sizeof(o));
	o.time_ms = 2000;
	o.count = 5000;
	o.size = 16;
	o.parallel = 1;
	o.ready_fd = -1;
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_LISTEN:
			o.listen = optarg;
			break;
		case O_CONNECT:
			o.connect = optarg;
			break;
		case O_TIME:
			if (b0_parse_duration_ms(
				optarg, 1, 3600 * 1000, &o.time_ms) != 0)
				die("--time \"%s\" is not a duration", optarg);
			break;
		case O_COUNT:
			if (b0_parse_u32(optarg, 1, 100000000, &o.count) != 0)
				die("--count \"%s\" is not a count", optarg);
			count_set = 1;
			break;
		case O_SIZE:
			if (b0_parse_u32(optarg, 1, 4096, &o.size) != 0)
				die("--size \"%s\" is not from 1 to 4096",
				    optarg);
			break;
		case O_PAR:
			if (b0_parse_u32(
				optarg, 1, MAX_PARALLEL, &o.parallel) != 0)
				die("--parallel \"%s\" is not from 1 to %d",
				    optarg, MAX_PARALLEL);
			break;
		case O_READY:
			if (b0_parse_u32(optarg, 3, 1024, &u) != 0)
				die("--ready-fd \"%s\" is not from 3 to 1024",
				    optarg);
			o.ready_fd = (int)u;
			break;
		case O_DIR:
			if (strcmp(optarg, "down") != 0 &&
			    strcmp(optarg, "up") != 0)
				die("--dir is down or up");
			o.up = strcmp(optarg, "up") == 0;
			break;
		case O_RATE:
			if (b0_parse_u32(optarg, 0, 100000, &o.bulk_rate) != 0)
				die("--bulk-rate \"%s\" is not MB/s from 0 to "
				    "100000",
				    optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc)
		die("unexpected argument \"%s\"", argv[optind]);
	(void)signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(&o);
	if (strcmp(cmd, "freeport") == 0)
		return cmd_freeport(&o);
	if (o.connect == NULL)
		die("%s: --connect HOST:PORT is required", cmd);
	if (b0_parse_hostport(o.connect, host, sizeof(host), &port) != 0)
		die("--connect \"%s\" is not HOST:PORT", o.connect);
	b0_err_clear(&em);
	if ((r = b0_net_resolve(host, port, &o.addr, &o.addrlen, &em)) != 0)
		die("%s", b0_err_text(&em, r));
	if (strcmp(cmd, "throughput") == 0)
		return cmd_throughput(&o);
	if (strcmp(cmd, "rtt") == 0)
		return cmd_rtt(&o);
	if (strcmp(cmd, "rtt-under-load") == 0)
		return cmd_rtt_under_load(&o);
	if (strcmp(cmd, "setup") == 0)
		return cmd_setup(&o);
	if (strcmp(cmd, "idle") == 0) {
		if (!count_set)
			o.count = 1000;
		return cmd_idle(&o);
	}
	die("unknown subcommand \"%s\" (see b0-loadgen --help)", cmd);
}
