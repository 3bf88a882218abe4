/*
 * test_ctl: b0_ctl, the local socket server: what the handler learns of
 * its peer (pid, uid, gid, groups), the per-listener limits (request
 * size, timeout), the answers to refused and malformed requests, and
 * the socket's file: owner, mode, stale and live sockets, its directory.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_ctl.h"
#include "tap.h"

static struct b0_loop *loop;
static char dir[64], path[128];
static struct b0_ctl_peer seen;
static int calls, allow_ok = 1;

static int
handler(const char *req, const struct b0_ctl_peer *peer, struct b0_buf *out,
    void *cookie)
{
	(void)cookie;
	calls++;
	seen = *peer;
	if (strcmp(req, "fail") == 0)
		return B0_ERR_UNSUPPORTED;
	return b0_buf_putf(out, "hello %s\n", req);
}

static int
allow(const struct b0_ctl_peer *peer, void *cookie)
{
	(void)peer;
	(void)cookie;
	return allow_ok;
}

static int
dial(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Send len bytes of req (none if req is NULL), run the loop until the
 * server closes or wait_ms pass; the answer into out.  1 closed, 0 not.
 */
static int
ask(const void *req, size_t len, char *out, size_t size, int wait_ms)
{
	size_t n = 0;
	ssize_t k;
	int fd, i, closed = 0;

	out[0] = '\0';
	if ((fd = dial()) == -1)
		return -1;
	if (req != NULL && write(fd, req, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	for (i = 0; i < wait_ms / 10 && !closed; i++) {
		b0_loop_once(loop, 10);
		while ((k = read(fd, out + n, size - 1 - n)) > 0)
			n += (size_t)k;
		closed = k == 0 || (k == -1 && errno != EAGAIN);
	}
	out[n] = '\0';
	close(fd);
	return closed;
}

static struct b0_ctl *
start(const struct b0_ctl_opts *o)
{
	struct b0_errmsg em;
	struct b0_ctl *ctl = NULL;
	int r;

	b0_err_clear(&em);
	r = b0_ctl_listen(loop, path, o, handler, NULL, &ctl, &em);
	if (!ok(r == 0, "listen %s", path))
		printf("#   %s\n", em.text);
	return ctl;
}

static void
test_basic(void)
{
	struct b0_ctl_opts o;
	struct b0_ctl *ctl;
	struct stat st;
	char out[256];

	b0_ctl_opts_init(&o);
	if ((ctl = start(&o)) == NULL)
		return;
	ok(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
		(st.st_mode & 07777) == 0660,
	    "the socket is mode 0660");
	calls = 0;
	is_int(ask("ls\n", 3, out, sizeof(out), 2000), 1, "ls: closed");
	is_str(out, "hello ls\n", "ls: answered");
	is_int(seen.uid, geteuid(), "the handler sees our uid");
	is_int(seen.gid, getegid(), "the handler sees our gid");
	is_int(seen.pid, getpid(), "the handler sees our pid");
	ok(seen.ngroups >= 0 && seen.ngroups == getgroups(0, NULL),
	    "the handler sees our %d supplementary groups", seen.ngroups);
	ok(b0_ctl_peer_in_group(&seen, getegid()), "in our primary group");
	is_int(ask("fail\n", 5, out, sizeof(out), 2000), 1, "error: closed");
	is_str(out, "", "error: no answer");
	calls = 0;
	is_int(ask("a\0b\n", 4, out, sizeof(out), 2000), 1, "NUL: closed");
	is_str(out, "", "NUL: no answer by default");
	is_int(calls, 0, "NUL: the handler is not asked");
	b0_ctl_free(ctl);
	ok(lstat(path, &st) == -1 && errno == ENOENT, "free unlinks it");
}

static void
test_limits(void)
{
	char big[64], out[256];
	struct b0_ctl_opts o;
	struct b0_ctl *ctl;
	uint64_t t0;
	int r;

	memset(big, 'x', sizeof(big));
	b0_ctl_opts_init(&o);
	o.request_max = 16;
	o.timeout_ms = 200;
	if ((ctl = start(&o)) == NULL)
		return;
	calls = 0;
	is_int(ask(big, sizeof(big), out, sizeof(out), 2000), 1,
	    "a request over request_max: closed");
	is_str(out, "", "over request_max: no answer by default");
	is_int(calls, 0, "over request_max: the handler is not asked");
	big[14] = '\n';
	is_int(ask(big, 15, out, sizeof(out), 2000), 1, "15 bytes + newline");
	is_str(out, "hello xxxxxxxxxxxxxx\n", "request_max bytes: answered");
	t0 = b0_loop_now(loop);
	r = ask(NULL, 0, out, sizeof(out), 2000);
	is_int(r, 1, "a silent client is closed");
	ok(b0_loop_now(loop) - t0 >= 190 && b0_loop_now(loop) - t0 < 1000,
	    "after timeout_ms (%llu ms)",
	    (unsigned long long)(b0_loop_now(loop) - t0));
	is_str(out, "", "silent: no answer");
	is_int(ask("ti", 2, out, sizeof(out), 2000), 1,
	    "half a line is timed out too");
	b0_ctl_free(ctl);

	b0_ctl_opts_init(&o);
	o.request_max = 16;
	o.too_long = "error long\n";
	o.bad_line = "error nul\n";
	o.refused = "error no\n";
	o.allow = allow;
	if ((ctl = start(&o)) == NULL)
		return;
	big[14] = 'x';
	ask(big, sizeof(big), out, sizeof(out), 2000);
	is_str(out, "error long\n", "too_long answers");
	ask("a\0b\n", 4, out, sizeof(out), 2000);
	is_str(out, "error nul\n", "bad_line answers");
	allow_ok = 0;
	calls = 0;
	is_int(ask(NULL, 0, out, sizeof(out), 2000), 1,
	    "refused: closed without a request");
	is_str(out, "error no\n", "refused answers at once");
	is_int(calls, 0, "refused: the handler is not asked");
	allow_ok = 1;
	ask("ok\n", 3, out, sizeof(out), 2000);
	is_str(out, "hello ok\n", "allowed: answered");
	b0_ctl_free(ctl);
}

/* A child as uid/gid with groups asks "who"; we serve it. 0: answered. */
static int
child_ask(uid_t uid, gid_t gid, const gid_t *groups, size_t n)
{
	char out[64];
	ssize_t k;
	pid_t pid;
	int fd, st = -1, i;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (setgroups(n, groups) == -1 || setgid(gid) == -1 ||
		    setuid(uid) == -1 || (fd = dial()) == -1 ||
		    write(fd, "who\n", 4) != 4)
			_exit(2);
		(void)fcntl(fd, F_SETFL, 0);
		k = read(fd, out, sizeof(out));
		_exit(k == 10 && memcmp(out, "hello who\n", 10) == 0 ? 0 : 1);
	}
	for (i = 0; i < 300; i++) {
		b0_loop_once(loop, 10);
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void
test_peer_groups(void)
{
	static gid_t many[B0_CTL_PEER_GROUPS + 10];
	const gid_t few[] = {4, 27, 5000};
	struct b0_ctl_opts o;
	struct b0_ctl *ctl;
	size_t i;

	if (geteuid() != 0) {
		printf("ok %d # skip not root: no other uid to be\n", ++tap_n);
		return;
	}
	b0_ctl_opts_init(&o);
	o.mode = 0666;
	if ((ctl = start(&o)) == NULL)
		return;
	(void)chmod(dir, 0755);
	is_int(child_ask(4321, 1234, few, 3), 0, "uid 4321 is answered");
	is_int(seen.uid, 4321, "the handler sees its uid");
	is_int(seen.gid, 1234, "the handler sees its gid");
	is_int(seen.ngroups, 3, "the handler sees its 3 groups");
	ok(seen.ngroups == 3 && seen.groups[0] == 4 && seen.groups[1] == 27 &&
		seen.groups[2] == 5000,
	    "groups 4 27 5000");
	ok(b0_ctl_peer_in_group(&seen, 1234), "in its primary group");
	ok(b0_ctl_peer_in_group(&seen, 5000), "in a supplementary group");
	ok(!b0_ctl_peer_in_group(&seen, 0), "not in group 0");
	for (i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = (gid_t)(10000 + i);
	is_int(child_ask(4321, 1234, many, sizeof(many) / sizeof(many[0])), 0,
	    "a peer with %zu groups is answered",
	    sizeof(many) / sizeof(many[0]));
	is_int(seen.ngroups, -1, "its groups are unknown: more than fit");
	ok(!b0_ctl_peer_in_group(&seen, 10000), "so group checks fail closed");
	ok(b0_ctl_peer_in_group(&seen, 1234), "its primary group still counts");
	b0_ctl_free(ctl);
	(void)chmod(dir, 0700);
}

static void
test_file(void)
{
	struct b0_ctl_opts o;
	struct b0_errmsg em;
	struct b0_ctl *ctl = NULL, *ctl2 = NULL;
	struct stat st;
	char sub[192], out[64];
	int fd, r;

	/* A stale socket: nobody listens; it is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, path, strlen(path));
		ok(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
		    "a stale socket");
	}
	close(fd);
	b0_ctl_opts_init(&o);
	o.mode = 0600;
	if (getuid() == 0)
		o.gid = 4321;
	if ((ctl = start(&o)) == NULL)
		return;
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "stale socket replaced; mode 0600");
	if (getuid() == 0)
		is_int(st.st_gid, 4321, "group as asked");
	ask("x\n", 2, out, sizeof(out), 2000);
	is_str(out, "hello x\n", "the new one answers");
	/* A live one: refused. */
	b0_err_clear(&em);
	r = b0_ctl_listen(loop, path, &o, handler, NULL, &ctl2, &em);
	is_int(r, B0_ERR_EXISTS, "a live socket is not taken");
	ok(strstr(em.text, "in use by another running test_ctl") != NULL,
	    "message: %s", em.text);
	ask("y\n", 2, out, sizeof(out), 2000);
	is_str(out, "hello y\n", "the first still answers");
	b0_ctl_free(ctl);
	/* Not a socket. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	b0_err_clear(&em);
	r = b0_ctl_listen(loop, path, &o, handler, NULL, &ctl2, &em);
	is_int(r, B0_ERR_EXISTS, "a file is not replaced");
	ok(strstr(em.text, "control-socket") != NULL &&
		strstr(em.text, "exists and is not a socket") != NULL,
	    "message: %s", em.text);
	unlink(path);
	/* A directory group or others can write. */
	snprintf(sub, sizeof(sub), "%s/open", dir);
	mkdir(sub, 0777);
	chmod(sub, 0777);
	snprintf(sub, sizeof(sub), "%s/open/s.sock", dir);
	b0_err_clear(&em);
	r = b0_ctl_listen(loop, sub, &o, handler, NULL, &ctl2, &em);
	is_int(r, B0_ERR_PERM, "a writable directory is refused");
	ok(strstr(em.text, "group and others cannot write") != NULL,
	    "message: %s", em.text);
	/* A missing one is made, 0755. */
	snprintf(sub, sizeof(sub), "%s/new/s.sock", dir);
	b0_err_clear(&em);
	r = b0_ctl_listen(loop, sub, &o, handler, NULL, &ctl2, &em);
	snprintf(out, sizeof(out), "%s/new", dir);
	ok(r == 0 && stat(out, &st) == 0 && (st.st_mode & 07777) == 0755,
	    "a missing directory is made 0755");
	b0_ctl_free(ctl2);
	rmdir(out);
	snprintf(sub, sizeof(sub), "%s/open", dir);
	rmdir(sub);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/test_ctl.XXXXXX");
	if (mkdtemp(dir) == NULL || b0_loop_new(&loop) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/c.sock", dir);
	test_basic();
	test_limits();
	test_peer_groups();
	test_file();
	b0_loop_free(loop);
	unlink(path);
	rmdir(dir);
	return tap_done();
}
