/*
 * b0_daemon: privileges, readiness and signals for daemons.
 */
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_daemon.h"
#include "b0_str.h"

int
b0_daemon_lookup(
    const char *user, uid_t *uidp, gid_t *gidp, struct b0_errmsg *em)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e;

	if ((e = getpwnam_r(user, &pw, buf, sizeof(buf), &res)) != 0) {
		b0_err_set(em, "user %s: %s", user, strerror(e));
		return B0_ERR_SYS(e);
	}
	if (res == NULL) {
		b0_err_set(em, "user %s does not exist", user);
		return B0_ERR_NOT_FOUND;
	}
	*uidp = pw.pw_uid;
	*gidp = pw.pw_gid;
	return 0;
}

int
b0_daemon_drop(const char *user, struct b0_errmsg *em)
{
	uid_t uid;
	gid_t gid;
	int r;

	if (geteuid() != 0 || user == NULL)
		return 0;
	if ((r = b0_daemon_lookup(user, &uid, &gid, em)) != 0)
		return r;
	if (uid == 0)
		return 0; /* "user root": asked to stay root */
	if (initgroups(user, gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "becoming user %s: %s", user, b0_strerror(r));
		return r;
	}
	if (setuid(0) != -1 || geteuid() == 0) {
		b0_err_set(
		    em, "dropped to user %s but could regain root", user);
		return B0_ERR_INTERNAL;
	}
	return 0;
}

int
b0_daemon_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;
	int fd, r = 0;

	if (path == NULL || *path == '\0')
		return 0;
	if ((path[0] != '/' && path[0] != '@') ||
	    (plen = strlen(path)) >= sizeof(sun.sun_path))
		return B0_ERR_ARG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return b0_err_from_errno();
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		(struct sockaddr *)&sun, len) == -1)
		r = b0_err_from_errno();
	close(fd);
	return r;
}

int
b0_daemon_ready_fd(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return 0;
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			r = b0_err_from_errno();
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	return r;
}

int
b0_daemon_signalfd(const int *sigs, int n, int *fdp)
{
	sigset_t set;
	int i, fd;

	*fdp = -1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (i = 0; i < n; i++)
		sigaddset(&set, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return b0_err_from_errno();
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return b0_err_from_errno();
	*fdp = fd;
	return 0;
}

int
b0_daemon_signal_read(int fd)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(fd, &si, sizeof(si))) == -1 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}
