/*
 * b0-publish: the built-in static file server of `connect --httpserver
 * DIR` (docs/http.md).  It listens on 127.0.0.1 (an ephemeral port: the
 * socket's target) on the publisher's event loop and serves DIR read-only:
 * GET and HEAD, HTTP/1.1 with keep-alive, index.html for directories, no
 * listings, no dot files, no "..", and no symbolic links at all, as every
 * path component is opened with openat(O_NOFOLLOW) relative to the one
 * before, starting from DIR's fd.
 */
#include <sys/queue.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_buf.h"
#include "b0_daemon.h"
#include "b0_http.h"
#include "b0_net.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "b0_version.h"
#include "pub.h"

#define HTTPD_MAX_CONNS 256
#define HTTPD_IDLE_MS 60000
#define HTTPD_IN_MAX (B0_HTTP_HEAD_MAX + 1024)
#define HTTPD_SEND_CHUNK (256 * 1024)

struct hconn {
	struct httpd *h;
	int fd;
	char peer[B0_ADDR_SIZE];
	struct b0_buf in;
	struct b0_buf out; /* the response head (and an error's body) */
	int file;	   /* being sent, or -1 */
	off_t off, end;
	int close_after; /* close once out and file are sent */
	struct b0_timer timer;
	TAILQ_ENTRY(hconn) entry;
};

struct httpd {
	struct b0_loop *loop;
	const struct b0_log *log;
	int dirfd;
	int lfd;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	TAILQ_HEAD(, hconn) conns;
	unsigned nconns;
};

static const struct {
	const char *ext;
	const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
};

static const char *
content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot != NULL) {
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			if (b0_str_caseeq(dot + 1, types[i].ext))
				return types[i].type;
		}
	}
	return "application/octet-stream";
}

static void hconn_io(
    struct b0_loop *loop, int fd, unsigned events, void *cookie);

static void
hconn_free(struct hconn *hc)
{
	struct httpd *h = hc->h;

	TAILQ_REMOVE(&h->conns, hc, entry);
	h->nconns--;
	b0_timer_cancel(h->loop, &hc->timer);
	b0_loop_del(h->loop, hc->fd);
	close(hc->fd);
	if (hc->file != -1)
		close(hc->file);
	b0_buf_cleanup(&hc->in);
	b0_buf_cleanup(&hc->out);
	free(hc);
}

static void
idle_timeout(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	hconn_free(cookie);
}

/* A response without a file: status, a short text body, and close? */
static void
respond_text(struct hconn *hc, int status, int head_only, const char *extra)
{
	const char *reason = b0_http_reason(status);

	b0_buf_putf(&hc->out,
	    "HTTP/1.1 %d %s\r\n"
	    "Server: b0-publish/%s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s%s"
	    "\r\n",
	    status, reason, B0_VERSION, strlen(reason) + 5, extra ? extra : "",
	    hc->close_after ? "Connection: close\r\n" : "");
	if (!head_only)
		b0_buf_putf(&hc->out, "%d %s\n", status, reason);
}

/*
 * Open the decoded path (starting with '/') under dirfd, one component at
 * a time, refusing dot files, "..", NUL bytes and every symbolic link.
 * Returns an fd of a regular file (with *stp), or -1 with *statusp (404,
 * or 301 for a directory asked without its trailing slash).
 */
static int
open_path(int dirfd, char *path, size_t len, struct stat *stp, int *statusp)
{
	char *comp, *next;
	int cur, fd, trailing;

	*statusp = 404;
	if (len == 0 || path[0] != '/' || memchr(path, '\0', len) != NULL)
		return -1;
	trailing = path[len - 1] == '/';
	if ((cur = dup(dirfd)) == -1)
		return -1;
	for (comp = path + 1; comp != NULL && *comp != '\0'; comp = next) {
		if ((next = strchr(comp, '/')) != NULL)
			*next++ = '\0';
		if (*comp == '\0')
			continue; /* "//" */
		if (comp[0] == '.') {
			close(cur);
			return -1;
		}
		fd = openat(cur, comp,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		close(cur);
		if (fd == -1)
			return -1;
		cur = fd;
	}
	if (fstat(cur, stp) == -1)
		goto fail;
	if (S_ISDIR(stp->st_mode)) {
		if (!trailing) {
			*statusp = 301;
			goto fail;
		}
		fd = openat(cur, "index.html",
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		close(cur);
		if ((cur = fd) == -1 || fstat(cur, stp) == -1)
			goto fail;
	} else if (trailing)
		goto fail;
	if (!S_ISREG(stp->st_mode))
		goto fail;
	return cur;
fail:
	if (cur != -1)
		close(cur);
	return -1;
}

/* Answer one parsed request. */
static void
handle(struct hconn *hc, const struct b0_http_req *req)
{
	struct httpd *h = hc->h;
	char *path = NULL, date[64], extra[B0_HTTP_LINE_MAX + 32];
	size_t plen, dlen;
	const char *q, *name;
	struct stat st;
	struct tm tm;
	int head, status, fd;

	head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
	if (!head &&
	    !(req->method_len == 3 && memcmp(req->method, "GET", 3) == 0)) {
		hc->close_after = 1; /* its body, if any, is not read */
		respond_text(hc, 405, 0, "Allow: GET, HEAD\r\n");
		status = 405;
		goto log;
	}
	if (req->h.body != B0_HTTP_BODY_NONE &&
	    !(req->h.body == B0_HTTP_BODY_LENGTH &&
		req->h.content_length == 0)) {
		hc->close_after = 1;
		respond_text(hc, status = 400, head, NULL);
		goto log;
	}
	if (req->form != B0_HTTP_ORIGIN_FORM) {
		respond_text(hc, status = 400, head, NULL);
		goto log;
	}
	q = memchr(req->target, '?', req->target_len);
	plen = q ? (size_t)(q - req->target) : req->target_len;
	/* An encoded slash would make one component two. */
	if (memmem(req->target, plen, "%2f", 3) != NULL ||
	    memmem(req->target, plen, "%2F", 3) != NULL ||
	    memmem(req->target, plen, "%5c", 3) != NULL ||
	    memmem(req->target, plen, "%5C", 3) != NULL) {
		respond_text(hc, status = 404, head, NULL);
		goto log;
	}
	if ((path = malloc(plen + 1)) == NULL) {
		hc->close_after = 1;
		respond_text(hc, status = 503, head, NULL);
		goto log;
	}
	if (b0_http_pct_decode(req->target, plen, 0, path, plen + 1, &dlen) !=
	    0) {
		respond_text(hc, status = 400, head, NULL);
		goto log;
	}
	name = strrchr(path, '/'); /* still the last one after open_path() */
	name = name != NULL && name[1] != '\0' ? name + 1 : "index.html";
	if ((fd = open_path(h->dirfd, path, dlen, &st, &status)) == -1) {
		if (status == 301) {
			snprintf(extra, sizeof(extra), "Location: %.*s/\r\n",
			    (int)plen, req->target);
			respond_text(hc, status, head, extra);
		} else
			respond_text(hc, status, head, NULL);
		goto log;
	}
	gmtime_r(&st.st_mtime, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	b0_buf_putf(&hc->out,
	    "HTTP/1.1 200 OK\r\n"
	    "Server: b0-publish/%s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %llu\r\n"
	    "Last-Modified: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "%s"
	    "\r\n",
	    B0_VERSION, content_type(name), (unsigned long long)st.st_size,
	    date, hc->close_after ? "Connection: close\r\n" : "");
	status = 200;
	if (head || st.st_size == 0)
		close(fd);
	else {
		hc->file = fd;
		hc->off = 0;
		hc->end = st.st_size;
	}
log:
	b0_debug(h->log, "httpserver %s: %.*s %.*s %d", hc->peer,
	    (int)req->method_len, req->method, (int)req->target_len,
	    req->target, status);
	free(path);
}

/* Send what is queued; returns 1 when all is sent, 0 to wait, -1 to close. */
static int
flush(struct hconn *hc)
{
	unsigned turns = 0;
	ssize_t n;
	int r;

	while (b0_buf_len(&hc->out) > 0) {
		if ((r = b0_buf_write_fd(&hc->out, hc->fd)) == B0_ERR_AGAIN)
			return 0;
		if (r < 0)
			return -1;
	}
	while (hc->file != -1 && hc->off < hc->end) {
		size_t want = (size_t)(hc->end - hc->off);

		/* A fast reader of a big file must not starve the loop. */
		if (turns++ == 4)
			return 0;

		if (want > HTTPD_SEND_CHUNK)
			want = HTTPD_SEND_CHUNK;
		n = sendfile(hc->fd, hc->file, &hc->off, want);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1; /* error, or the file shrank */
	}
	if (hc->file != -1) {
		close(hc->file);
		hc->file = -1;
	}
	return 1;
}

/* Parse and answer requests, one at a time (pipelining in order). */
static int
serve(struct hconn *hc)
{
	struct b0_http_req req;
	struct b0_errmsg em;
	int n, r;

	for (;;) {
		if ((r = flush(hc)) != 1)
			return r;
		if (hc->close_after)
			return -1;
		if (b0_buf_len(&hc->in) == 0)
			return 0;
		n = b0_http_req_parse((const char *)b0_buf_ptr(&hc->in),
		    b0_buf_len(&hc->in), NULL, &req, &em);
		if (n == B0_ERR_INCOMPLETE) {
			if (b0_buf_len(&hc->in) < HTTPD_IN_MAX)
				return 0;
			req.h.error_status = 431;
		}
		if (n < 0) {
			b0_debug(hc->h->log, "httpserver %s: bad request: %s",
			    hc->peer, b0_err_text(&em, n));
			hc->close_after = 1;
			respond_text(hc,
			    req.h.error_status ? req.h.error_status : 400, 0,
			    NULL);
			b0_buf_reset(&hc->in);
			continue;
		}
		if (req.h.minor == 0
			? !b0_http_has_token(&req.h, "Connection", "keep-alive")
			: b0_http_has_token(&req.h, "Connection", "close"))
			hc->close_after = 1;
		handle(hc, &req);
		b0_buf_consume(&hc->in, (size_t)n);
	}
}

static void
hconn_io(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct hconn *hc = cookie;
	int r;

	(void)events;
	b0_timer_set(loop, &hc->timer, HTTPD_IDLE_MS, idle_timeout, hc);
	if (b0_buf_len(&hc->out) == 0 && hc->file == -1 &&
	    b0_buf_len(&hc->in) < HTTPD_IN_MAX) {
		r = b0_buf_read_fd(
		    &hc->in, fd, HTTPD_IN_MAX - b0_buf_len(&hc->in));
		if (r < 0 && r != B0_ERR_AGAIN) {
			hconn_free(hc);
			return;
		}
	}
	if ((r = serve(hc)) < 0) {
		hconn_free(hc);
		return;
	}
	b0_loop_mod(loop, fd,
	    r == 0 && (b0_buf_len(&hc->out) > 0 || hc->file != -1)
		? B0_LOOP_WRITE
		: B0_LOOP_READ);
}

static void
httpd_accept(struct b0_loop *loop, int lfd, unsigned events, void *cookie)
{
	struct httpd *h = cookie;
	struct hconn *hc;
	int fd;

	(void)events;
	while (b0_net_accept(lfd, &fd, NULL, NULL) == 0) {
		if (h->nconns >= HTTPD_MAX_CONNS ||
		    (hc = calloc(1, sizeof(*hc))) == NULL) {
			close(fd);
			continue;
		}
		hc->h = h;
		hc->fd = fd;
		hc->file = -1;
		b0_net_peer_str(fd, hc->peer, sizeof(hc->peer));
		b0_buf_init(&hc->in, HTTPD_IN_MAX);
		b0_buf_init(&hc->out, B0_HTTP_HEAD_MAX);
		TAILQ_INSERT_TAIL(&h->conns, hc, entry);
		h->nconns++;
		if (b0_loop_add(loop, fd, B0_LOOP_READ, hconn_io, hc) != 0) {
			TAILQ_REMOVE(&h->conns, hc, entry);
			h->nconns--;
			b0_buf_cleanup(&hc->in);
			b0_buf_cleanup(&hc->out);
			free(hc);
			close(fd);
			continue;
		}
		b0_timer_set(loop, &hc->timer, HTTPD_IDLE_MS, idle_timeout, hc);
	}
}

int
httpd_new(struct b0_loop *loop, const struct b0_log *log, const char *dir,
    const char *host, uint16_t port, struct httpd **hp, struct b0_errmsg *em)
{
	struct httpd *h;
	struct stat st;
	int r;

	*hp = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return B0_ERR_ALLOC;
	h->loop = loop;
	h->log = log;
	h->lfd = -1;
	h->dirfd = -1;
	TAILQ_INIT(&h->conns);
	if ((h->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "--httpserver %s: %s", dir, b0_strerror(r));
		goto fail;
	}
	if (fstat(h->dirfd, &st) == -1 || !S_ISDIR(st.st_mode)) {
		r = B0_ERR_CONFIG;
		b0_err_set(em, "--httpserver %s: not a directory", dir);
		goto fail;
	}
	if ((r = b0_net_listen(host, port, &h->lfd, em)) != 0)
		goto fail;
	h->addrlen = sizeof(h->addr);
	if (getsockname(h->lfd, (struct sockaddr *)&h->addr, &h->addrlen) ==
	    -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "getsockname: %s", b0_strerror(r));
		goto fail;
	}
	if ((r = b0_loop_add(loop, h->lfd, B0_LOOP_READ, httpd_accept, h)) != 0)
		goto fail;
	*hp = h;
	return 0;
fail:
	httpd_free(h);
	return r;
}

void
httpd_addr(const struct httpd *h, struct sockaddr_storage *ss, socklen_t *lenp)
{
	memcpy(ss, &h->addr, h->addrlen);
	*lenp = h->addrlen;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->conns))
		hconn_free(TAILQ_FIRST(&h->conns));
	if (h->lfd != -1) {
		b0_loop_del(h->loop, h->lfd);
		close(h->lfd);
	}
	if (h->dirfd != -1)
		close(h->dirfd);
	free(h);
}

static void
on_stop(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	(void)events;
	(void)cookie;
	if (b0_daemon_signal_read(fd) != 0)
		b0_loop_stop(loop);
}

int
httpd_main(const char *dir, const char *listen, int ready_fd)
{
	static const int sigs[] = {SIGTERM, SIGINT};
	struct b0_loop *loop = NULL;
	struct httpd *h = NULL;
	struct b0_errmsg em;
	struct b0_log log;
	char host[256], ready[64];
	uint16_t port;
	int sigfd = -1, r;

	b0_log_init(&log, "b0-publish", B0_LOG_DEBUG, NULL, NULL);
	b0_err_clear(&em);
	if (b0_parse_listen(listen, host, sizeof(host), &port) != 0) {
		b0_error(&log, "--listen \"%s\" is not HOST:PORT", listen);
		b0_daemon_ready_fd(ready_fd, "ERROR=1\n");
		return 2;
	}
	if ((r = b0_loop_new(&loop)) != 0 ||
	    (r = httpd_new(loop, &log, dir, host, port, &h, &em)) != 0 ||
	    (r = b0_daemon_signalfd(sigs, 2, &sigfd)) != 0 ||
	    (r = b0_loop_add(loop, sigfd, B0_LOOP_READ, on_stop, loop)) != 0) {
		b0_error(&log, "httpserver: %s", b0_err_text(&em, r));
		b0_daemon_ready_fd(ready_fd, "ERROR=1\n");
		httpd_free(h);
		if (sigfd != -1)
			close(sigfd);
		b0_loop_free(loop);
		return 1;
	}
	b0_net_local_port(h->lfd, &port);
	b0_notice(
	    &log, "httpserver: serving %s on %s:%u", dir, host, (unsigned)port);
	snprintf(ready, sizeof(ready), "READY=1\nPORT=%u\n", (unsigned)port);
	b0_daemon_ready_fd(ready_fd, ready);
	r = b0_loop_run(loop);
	httpd_free(h);
	b0_loop_del(loop, sigfd);
	close(sigfd);
	b0_loop_free(loop);
	return r == 0 ? 0 : 1;
}
