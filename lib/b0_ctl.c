/*
 * b0_ctl: a daemon's local control socket.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_ctl.h"

#define MAX_CLIENTS 32
#define CLIENT_TIMEOUT_MS 5000

struct client {
	struct b0_ctl *ctl;
	int fd;
	uid_t uid;
	struct b0_buf in;
	struct b0_buf out;
	struct b0_timer timer;
	struct client *next;
};

struct b0_ctl {
	struct b0_loop *loop;
	int fd;
	char *path;
	b0_ctl_handler_fn *handler;
	void *cookie;
	struct client *clients;
	int nclients;
};

static void
client_free(struct client *cl)
{
	struct b0_ctl *ctl = cl->ctl;
	struct client **pp;

	for (pp = &ctl->clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	ctl->nclients--;
	b0_timer_cancel(ctl->loop, &cl->timer);
	b0_loop_del(ctl->loop, cl->fd);
	close(cl->fd);
	b0_buf_cleanup(&cl->in);
	b0_buf_cleanup(&cl->out);
	free(cl);
}

static void
client_timeout(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	client_free(cookie);
}

static void
client_io(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct client *cl = cookie;
	const uint8_t *nl;
	const char *req;
	int r;

	(void)fd;
	if (b0_buf_len(&cl->out) > 0 || (events & B0_LOOP_WRITE)) {
		r = b0_buf_write_fd(&cl->out, cl->fd);
		if ((r < 0 && r != B0_ERR_AGAIN) || b0_buf_len(&cl->out) == 0)
			client_free(cl);
		return;
	}
	r = b0_buf_read_fd(&cl->in, cl->fd, B0_CTL_REQUEST_MAX);
	if (r == B0_ERR_AGAIN)
		return;
	if (r < 0) {
		client_free(cl);
		return;
	}
	nl = memchr(b0_buf_ptr(&cl->in), '\n', b0_buf_len(&cl->in));
	if (nl == NULL)
		return;
	b0_buf_unreserve(
	    &cl->in, b0_buf_len(&cl->in) - (size_t)(nl - b0_buf_ptr(&cl->in)));
	if (b0_buf_cstr(&cl->in, &req) != 0 ||
	    cl->ctl->handler(req, cl->uid, &cl->out, cl->ctl->cookie) != 0 ||
	    b0_buf_len(&cl->out) == 0) {
		client_free(cl);
		return;
	}
	(void)b0_loop_mod(loop, cl->fd, B0_LOOP_WRITE);
}

static void
ctl_accept(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct b0_ctl *ctl = cookie;
	struct client *cl;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int cfd;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) !=
	       -1) {
		if (ctl->nclients >= MAX_CLIENTS ||
		    getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ==
			-1 ||
		    (cl = calloc(1, sizeof(*cl))) == NULL) {
			close(cfd);
			continue;
		}
		cl->ctl = ctl;
		cl->fd = cfd;
		cl->uid = cred.uid;
		b0_buf_init(&cl->in, B0_CTL_REQUEST_MAX);
		b0_buf_init(&cl->out, B0_CTL_REPLY_MAX);
		if (b0_loop_add(loop, cfd, B0_LOOP_READ, client_io, cl) != 0) {
			close(cfd);
			free(cl);
			continue;
		}
		b0_timer_set(
		    loop, &cl->timer, CLIENT_TIMEOUT_MS, client_timeout, cl);
		cl->next = ctl->clients;
		ctl->clients = cl;
		ctl->nclients++;
	}
}

static int
fill_addr(const char *path, struct sockaddr_un *sun, struct b0_errmsg *em)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		b0_err_set(em, "%s: path too long for a socket", path);
		return B0_ERR_TOO_BIG;
	}
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

int
b0_ctl_listen(struct b0_loop *loop, const char *path, mode_t mode,
    b0_ctl_handler_fn *handler, void *cookie, struct b0_ctl **ctlp,
    struct b0_errmsg *em)
{
	struct b0_ctl *ctl = NULL;
	struct sockaddr_un sun;
	struct stat st;
	int fd = -1, r;

	*ctlp = NULL;
	if ((r = fill_addr(path, &sun, em)) != 0)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			b0_err_set(em, "%s: exists and is not a socket", path);
			return B0_ERR_EXISTS;
		}
		(void)unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, mode) == -1 || listen(fd, 16) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", path, b0_strerror(r));
		goto fail;
	}
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->path = strdup(path)) == NULL) {
		r = B0_ERR_ALLOC;
		goto fail;
	}
	ctl->loop = loop;
	ctl->fd = fd;
	ctl->handler = handler;
	ctl->cookie = cookie;
	if ((r = b0_loop_add(loop, fd, B0_LOOP_READ, ctl_accept, ctl)) != 0)
		goto fail;
	*ctlp = ctl;
	return 0;
fail:
	if (fd != -1) {
		close(fd);
		(void)unlink(path);
	}
	if (ctl != NULL)
		free(ctl->path);
	free(ctl);
	return r;
}

void
b0_ctl_free(struct b0_ctl *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->clients != NULL)
		client_free(ctl->clients);
	b0_loop_del(ctl->loop, ctl->fd);
	close(ctl->fd);
	(void)unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {fd, events, 0};
	int n;

	while ((n = poll(&pfd, 1, timeout_ms)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return b0_err_from_errno();
	return n == 0 ? B0_ERR_TIMEOUT : 0;
}

int
b0_ctl_request(const char *path, const char *request, int timeout_ms,
    struct b0_buf *reply, struct b0_errmsg *em)
{
	struct sockaddr_un sun;
	struct b0_buf req;
	int fd, r;

	if ((r = fill_addr(path, &sun, em)) != 0)
		return r;
	if ((fd = socket(
		 AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return b0_err_from_errno();
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "connect %s: %s", path, b0_strerror(r));
		close(fd);
		return r;
	}
	b0_buf_init(&req, B0_CTL_REQUEST_MAX + 1);
	if ((r = b0_buf_putf(&req, "%s\n", request)) != 0)
		goto out;
	while (b0_buf_len(&req) > 0) {
		if ((r = wait_fd(fd, POLLOUT, timeout_ms)) != 0)
			goto out;
		if ((r = b0_buf_write_fd(&req, fd)) < 0 && r != B0_ERR_AGAIN)
			goto out;
	}
	for (;;) {
		if ((r = wait_fd(fd, POLLIN, timeout_ms)) != 0)
			goto out;
		r = b0_buf_read_fd(reply, fd, 65536);
		if (r == B0_ERR_EOF) {
			r = 0;
			break;
		}
		if (r < 0 && r != B0_ERR_AGAIN)
			goto out;
	}
out:
	if (r != 0 && em != NULL && em->text[0] == '\0')
		b0_err_set(em, "%s: %s", path, b0_strerror(r));
	b0_buf_cleanup(&req);
	close(fd);
	return r;
}
