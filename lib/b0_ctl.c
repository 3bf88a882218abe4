/*
 * b0_ctl: a daemon's local socket server.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_ctl.h"
#include "b0_str.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux >= 4.13 */
#endif

struct client {
	struct b0_ctl *ctl;
	int fd;
	struct b0_ctl_peer peer;
	struct b0_buf in;
	struct b0_buf out;
	struct b0_timer timer;
	struct client *next;
};

struct b0_ctl {
	struct b0_loop *loop;
	int fd;
	char *path;
	struct b0_ctl_opts o;
	b0_ctl_handler_fn *handler;
	void *cookie;
	struct client *clients;
	int nclients;
};

int
b0_ctl_peer_in_group(const struct b0_ctl_peer *peer, gid_t gid)
{
	int i;

	if (peer->gid == gid)
		return 1;
	for (i = 0; i < peer->ngroups; i++)
		if (peer->groups[i] == gid)
			return 1;
	return 0;
}

/* The credentials of the peer on fd; the groups fail closed (ngroups -1). */
static int
peer_get(int fd, struct b0_ctl_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(peer, 0, sizeof(*peer));
	peer->ngroups = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred))
		return -1;
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	len = sizeof(peer->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, peer->groups, &len) == 0)
		peer->ngroups = (int)(len / sizeof(gid_t));
	return 0;
}

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

/* Answer with s, or close when there is none. */
static void
client_answer(struct client *cl, const char *s)
{
	if (s != NULL)
		(void)b0_buf_put_str(&cl->out, s);
}

static void
client_io(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct client *cl = cookie;
	struct b0_ctl *ctl = cl->ctl;
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
	r = b0_buf_read_fd(&cl->in, cl->fd, ctl->o.request_max);
	if (r == B0_ERR_AGAIN)
		return;
	nl = memchr(b0_buf_ptr(&cl->in), '\n', b0_buf_len(&cl->in));
	if (nl == NULL && r == B0_ERR_TOO_BIG)
		client_answer(cl, ctl->o.too_long);
	else if (nl == NULL && r < 0) {
		client_free(cl);
		return;
	} else if (nl == NULL)
		return;
	else {
		b0_buf_unreserve(&cl->in,
		    b0_buf_len(&cl->in) - (size_t)(nl - b0_buf_ptr(&cl->in)));
		if (b0_buf_cstr(&cl->in, &req) != 0)
			client_answer(cl, ctl->o.bad_line);
		else if (ctl->handler(req, &cl->peer, &cl->out, ctl->cookie) !=
			 0)
			b0_buf_reset(&cl->out);
	}
	if (b0_buf_len(&cl->out) == 0) {
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
	int cfd;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) !=
	       -1) {
		if (ctl->nclients >= ctl->o.max_clients ||
		    (cl = calloc(1, sizeof(*cl))) == NULL) {
			close(cfd);
			continue;
		}
		if (peer_get(cfd, &cl->peer) != 0) {
			free(cl);
			close(cfd);
			continue;
		}
		cl->ctl = ctl;
		cl->fd = cfd;
		b0_buf_init(&cl->in, ctl->o.request_max);
		b0_buf_init(&cl->out, B0_CTL_REPLY_MAX);
		if (ctl->o.secret)
			b0_buf_set_secret(&cl->out);
		if (ctl->o.allow != NULL &&
		    !ctl->o.allow(&cl->peer, ctl->cookie)) {
			if (ctl->o.refused == NULL) {
				b0_buf_cleanup(&cl->out);
				free(cl);
				close(cfd);
				continue;
			}
			client_answer(cl, ctl->o.refused);
		}
		if (b0_loop_add(loop, cfd,
			b0_buf_len(&cl->out) > 0 ? B0_LOOP_WRITE : B0_LOOP_READ,
			client_io, cl) != 0) {
			b0_buf_cleanup(&cl->out);
			free(cl);
			close(cfd);
			continue;
		}
		b0_timer_set(
		    loop, &cl->timer, ctl->o.timeout_ms, client_timeout, cl);
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

void
b0_ctl_opts_init(struct b0_ctl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->what = "control-socket";
	o->mode = 0660;
	o->uid = (uid_t)-1;
	o->gid = (gid_t)-1;
}

int
b0_ctl_check_parent(
    const char *what, const char *path, uid_t uid, struct b0_errmsg *em)
{
	char dir[PATH_MAX];
	char *slash;
	struct stat st;
	int r;

	if (b0_strlcpy(dir, path, sizeof(dir)) >= sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL) {
		b0_err_set(em, "%s %s: not an absolute path", what, path);
		return B0_ERR_CONFIG;
	}
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (lstat(dir, &st) == -1 && errno == ENOENT) {
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			r = b0_err_from_errno();
			b0_err_set(em, "%s: cannot create %s: %s", what, dir,
			    b0_strerror(r));
			return r;
		}
		(void)chmod(dir, 0755); /* whatever the umask */
	}
	if (lstat(dir, &st) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s: %s", what, dir, b0_strerror(r));
		return r;
	}
	if (!S_ISDIR(st.st_mode) ||
	    (st.st_uid != geteuid() &&
		(uid == (uid_t)-1 || st.st_uid != uid)) ||
	    (st.st_mode & 022) != 0) {
		b0_err_set(em,
		    "%s: %s must be a directory owned by %s that group and "
		    "others cannot write (it is %s, uid %u, mode %04o)",
		    what, dir, geteuid() == 0 ? "root" : "us",
		    S_ISDIR(st.st_mode) ? "a directory" : "not a directory",
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return B0_ERR_PERM;
	}
	return 0;
}

/* A socket at path: 0 none or stale (removed), else an error. */
static int
replace_stale(
    const char *what, const struct sockaddr_un *sun, struct b0_errmsg *em)
{
	const char *path = sun->sun_path;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		b0_err_set(em, "%s %s: exists and is not a socket", what, path);
		return B0_ERR_EXISTS;
	}
	if ((fd = socket(
		 AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return b0_err_from_errno();
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (r == 0 || errno == EAGAIN) {
		close(fd);
		b0_err_set(em, "%s %s: in use by another running %s", what,
		    path, program_invocation_short_name);
		return B0_ERR_EXISTS;
	}
	close(fd);
	(void)unlink(path);
	return 0;
}

int
b0_ctl_listen(struct b0_loop *loop, const char *path,
    const struct b0_ctl_opts *o, b0_ctl_handler_fn *handler, void *cookie,
    struct b0_ctl **ctlp, struct b0_errmsg *em)
{
	struct b0_ctl *ctl = NULL;
	struct sockaddr_un sun;
	mode_t old;
	int fd = -1, r;

	*ctlp = NULL;
	if ((r = fill_addr(path, &sun, em)) != 0 ||
	    (r = b0_ctl_check_parent(o->what, path, o->uid, em)) != 0 ||
	    (r = replace_stale(o->what, &sun, em)) != 0)
		return r;
	if ((fd = socket(
		 AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto sys;
	old = umask(077); /* nobody connects before the chmod */
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1 || chown(path, o->uid, o->gid) == -1 ||
	    chmod(path, o->mode) == -1 || listen(fd, 16) == -1)
		goto sys;
	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (ctl->path = strdup(path)) == NULL) {
		r = B0_ERR_ALLOC;
		goto fail;
	}
	ctl->loop = loop;
	ctl->fd = fd;
	ctl->o = *o;
	if (ctl->o.request_max == 0)
		ctl->o.request_max = B0_CTL_REQUEST_MAX;
	if (ctl->o.timeout_ms <= 0)
		ctl->o.timeout_ms = B0_CTL_TIMEOUT_MS;
	if (ctl->o.max_clients <= 0)
		ctl->o.max_clients = B0_CTL_MAX_CLIENTS;
	ctl->handler = handler;
	ctl->cookie = cookie;
	if ((r = b0_loop_add(loop, fd, B0_LOOP_READ, ctl_accept, ctl)) != 0)
		goto fail;
	*ctlp = ctl;
	return 0;
sys:
	r = b0_err_from_errno();
	b0_err_set(em, "%s %s: %s", o->what, path, b0_strerror(r));
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
