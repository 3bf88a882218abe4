/*
 * b0-publish: what pam_b0 needs from us (docs/pam.md): the edge's keys in
 * a root-owned JWKS file, and the identity socket that answers "which
 * ticket goes with this connection to the target".
 *
 * Both are made before privileges are dropped: the file is opened once
 * and its descriptor kept, so it stays root's; the socket is bound with
 * root as owner and the ticket group as group.  Clients are checked with
 * SO_PEERCRED.  One request per connection, served on the event loop.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b0_b64.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_jwk.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "pub.h"

#define IDENT_LINE_MAX 8192
#define IDENT_TIMEOUT_MS 2000
#define IDENT_MAX_CLIENTS 64
#define KEYS_ASK_MS 10000
#define LOCK_RETRY_MS 100

struct iclient {
	struct ident *id;
	int fd;
	struct b0_buf in;
	struct b0_buf out; /* secret: it may hold a ticket */
	struct b0_timer timer;
	TAILQ_ENTRY(iclient) entry;
};

struct ident {
	struct pub *p;
	/* The JWKS file. */
	int jfd;
	char *jpath;
	struct b0_buf pending; /* the document waiting for the lock */
	int has_pending;
	uint64_t pending_since;
	int lock_warned;
	struct b0_timer jtimer;
	/* The keys the edge sent. */
	struct b0_jwks *keys;
	uint64_t asked_ms;
	int asked;
	/* The socket. */
	int lfd;
	char *spath;
	int has_group;
	gid_t gid;
	int self_ok; /* not root: our own uid may ask too */
	TAILQ_HEAD(, iclient) clients;
	unsigned nclients;
	struct b0_log_ratelimit rl;
};

/*
 * The directory of path must be a directory owned by us (root) that group
 * and others cannot write; create it (0755) if it is missing.
 */
static int
check_parent(const char *what, const char *path, struct b0_errmsg *em)
{
	char dir[PATH_MAX];
	char *slash;
	struct stat st;

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
			int r = b0_err_from_errno();

			b0_err_set(em, "%s: cannot create %s: %s", what, dir,
			    b0_strerror(r));
			return r;
		}
		(void)chmod(dir, 0755); /* whatever the umask */
	}
	if (lstat(dir, &st) == -1) {
		int r = b0_err_from_errno();

		b0_err_set(em, "%s: %s: %s", what, dir, b0_strerror(r));
		return r;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
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

/*
 * The JWKS file holds public keys only, but whoever can open it can
 * flock(2) it and so hold up every login and every update: 0640 root:
 * ticket-group when there is one, else 0600 (pam_b0 runs as root).
 */
static int
jwks_open(struct ident *id, const char *path, struct b0_errmsg *em)
{
	mode_t mode = id->has_group ? 0640 : 0600;
	gid_t gid = id->has_group ? id->gid : getegid();
	struct stat st;
	int r;

	if ((r = check_parent("jwks-file", path, em)) != 0)
		return r;
	if ((id->jfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		 0600)) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "jwks-file %s: %s", path, b0_strerror(r));
		return r;
	}
	if (fstat(id->jfd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid()) {
		b0_err_set(em,
		    "jwks-file %s: must be a regular file owned by %s", path,
		    geteuid() == 0 ? "root" : "us");
		return B0_ERR_PERM;
	}
	if (fchown(id->jfd, geteuid(), gid) == -1 ||
	    fchmod(id->jfd, mode) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em,
		    "jwks-file %s: cannot make it mode %04o, group %u: %s",
		    path, (unsigned)mode, (unsigned)gid, b0_strerror(r));
		return r;
	}
	if ((id->jpath = strdup(path)) == NULL)
		return B0_ERR_ALLOC;
	return 0;
}

/* Write the pending document under an exclusive lock; 1: try later. */
static int
jwks_flush(struct ident *id)
{
	const uint8_t *d = b0_buf_ptr(&id->pending);
	size_t n = b0_buf_len(&id->pending), off = 0;
	ssize_t w;
	int r = 0;

	if (flock(id->jfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK || errno == EINTR)
			return 1;
		r = b0_err_from_errno();
		goto fail;
	}
	if (ftruncate(id->jfd, 0) == -1) {
		r = b0_err_from_errno();
		goto unlock;
	}
	while (off < n) {
		if ((w = pwrite(id->jfd, d + off, n - off, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			r = b0_err_from_errno();
			goto unlock;
		}
		off += (size_t)w;
	}
	if (fsync(id->jfd) == -1)
		r = b0_err_from_errno();
unlock:
	(void)flock(id->jfd, LOCK_UN);
fail:
	if (r != 0)
		b0_error(
		    &id->p->log, "jwks-file %s: %s", id->jpath, b0_strerror(r));
	else
		b0_debug(&id->p->log, "jwks-file %s: %zu key%s written",
		    id->jpath, b0_jwks_count(id->keys),
		    b0_jwks_count(id->keys) == 1 ? "" : "s");
	id->has_pending = 0;
	id->lock_warned = 0;
	b0_buf_reset(&id->pending);
	return 0;
}

static void
jwks_retry(struct b0_loop *loop, void *cookie)
{
	struct ident *id = cookie;

	if (!id->has_pending || jwks_flush(id) == 0)
		return;
	if (!id->lock_warned && b0_loop_now(loop) - id->pending_since > 5000) {
		b0_warn(&id->p->log,
		    "jwks-file %s: locked by a reader for 5 s; still waiting",
		    id->jpath);
		id->lock_warned = 1;
	}
	b0_timer_set(loop, &id->jtimer, LOCK_RETRY_MS, jwks_retry, id);
}

/* The file: {"issuer":...,"publisher":...,"keys":[...]}. */
static int
jwks_write(struct ident *id, const struct b0_msg_keys *m)
{
	struct b0_jsonw w;
	int r;

	b0_buf_reset(&id->pending);
	b0_jsonw_init(&w, &id->pending);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "issuer");
	b0_jsonw_str(&w, m->issuer);
	b0_jsonw_key(&w, "publisher");
	b0_jsonw_str(&w, id->p->welcome.publisher);
	b0_jsonw_obj_end(&w);
	if ((r = b0_jsonw_finish(&w)) != 0 ||
	    (r = b0_buf_unreserve(&id->pending, 1)) != 0 || /* the '}' */
	    (r = b0_buf_put_str(&id->pending, ",\"keys\":")) != 0 ||
	    (r = b0_buf_put(&id->pending, m->keys, m->keys_len)) != 0 ||
	    (r = b0_buf_put_str(&id->pending, "}\n")) != 0) {
		b0_buf_reset(&id->pending);
		return r;
	}
	id->has_pending = 1;
	id->pending_since = b0_loop_now(id->p->loop);
	if (jwks_flush(id) == 1)
		b0_timer_set(
		    id->p->loop, &id->jtimer, LOCK_RETRY_MS, jwks_retry, id);
	return 0;
}

int
ident_keys(struct pub *p, const uint8_t *m, size_t len)
{
	struct ident *id = p->ident;
	struct b0_msg_keys k;
	struct b0_errmsg em;
	int r;

	if ((r = b0_msg_keys_decode(m, len, &k, &em)) != 0) {
		b0_error(&p->log, "edge: %s", em.text);
		return r;
	}
	if (k.request) {
		b0_error(&p->log, "edge: KEYS: an edge sends its keys, not {}");
		return B0_ERR_PROTOCOL;
	}
	b0_debug(&p->log, "edge: %zu key%s for issuer %s", b0_jwks_count(k.set),
	    b0_jwks_count(k.set) == 1 ? "" : "s", k.issuer);
	b0_jwks_free(id->keys);
	id->keys = k.set;
	k.set = NULL;
	if (id->jfd != -1 && (r = jwks_write(id, &k)) != 0)
		b0_error(
		    &p->log, "jwks-file %s: %s", id->jpath, b0_strerror(r));
	b0_msg_keys_cleanup(&k);
	return 0;
}

/* The kid in the header of a compact JWS, into kid; 0 or an error. */
static int
jws_kid(const char *jws, char *kid, size_t size)
{
	uint8_t hdr[1024];
	const char *dot = strchr(jws, '.'), *s;
	struct b0_json *j = NULL;
	size_t n;
	int v, r;

	kid[0] = '\0';
	if (dot == NULL ||
	    b0_b64url_decode(jws, (size_t)(dot - jws), hdr, sizeof(hdr), &n) !=
		0 ||
	    b0_json_parse((const char *)hdr, n, NULL, &j, NULL) != 0)
		return B0_ERR_FORMAT;
	r = B0_ERR_FORMAT;
	if (b0_json_obj_get(j, 0, "kid", &v) == 0 &&
	    b0_json_str(j, v, &s, &n) == 0 && n > 0 && n < size) {
		memcpy(kid, s, n + 1);
		r = 0;
	}
	b0_json_free(j);
	return r;
}

void
ident_check_ticket(struct pub *p, const char *ticket)
{
	struct ident *id = p->ident;
	char kid[B0_JWK_KID_MAX + 1];
	uint64_t now = b0_loop_now(p->loop);

	if (id == NULL || p->ctl == NULL ||
	    jws_kid(ticket, kid, sizeof(kid)) != 0)
		return;
	if (id->keys != NULL && b0_jwks_find(id->keys, kid) != NULL)
		return;
	if (id->asked && now - id->asked_ms < KEYS_ASK_MS)
		return;
	id->asked = 1;
	id->asked_ms = now;
	b0_info(&p->log,
	    "a ticket names key %s, which we lack: asking the "
	    "edge for its keys",
	    kid);
	if (b0_msg_keys_frame(b0_chan_out(p->ctl), NULL, NULL, 0) == 0)
		b0_chan_flush(p->ctl);
}

/* The identity socket. */

static void
iclient_free(struct iclient *cl)
{
	struct ident *id = cl->id;

	TAILQ_REMOVE(&id->clients, cl, entry);
	id->nclients--;
	b0_timer_cancel(id->p->loop, &cl->timer);
	b0_loop_del(id->p->loop, cl->fd);
	close(cl->fd);
	b0_buf_cleanup(&cl->in);
	b0_buf_cleanup(&cl->out);
	free(cl);
}

static void
iclient_timeout(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	iclient_free(cookie);
}

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux >= 4.13 */
#endif
#define PEER_GROUPS_MAX 65536 /* NGROUPS_MAX */

/*
 * The peer is root, (not root) ourselves, or holds the ticket group: as
 * its primary group (SO_PEERCRED) or among the supplementary groups it
 * had when it connected (SO_PEERGROUPS).  The process's credentials, not
 * the group database: no NSS on the event loop, and what the kernel
 * checked on connect().  SO_PEERGROUPS failing: refused.
 */
static int
allowed(const struct ident *id, int fd, const struct ucred *cred)
{
	gid_t small[256], *groups = small;
	socklen_t len = sizeof(small);
	size_t i, n;
	int ok = 0;

	if (cred->uid == 0 || (id->self_ok && cred->uid == geteuid()))
		return 1;
	if (!id->has_group)
		return 0;
	if (cred->gid == id->gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1) {
		if (errno != ERANGE || len == 0 ||
		    len > PEER_GROUPS_MAX * sizeof(gid_t) ||
		    (groups = malloc(len)) == NULL)
			return 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) ==
		    -1)
			goto out;
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !ok; i++)
		ok = groups[i] == id->gid;
out:
	if (groups != small)
		free(groups);
	return ok;
}

int
ident_parse_request(const char *line, char *ip, uint8_t *addr, size_t *alenp,
    uint32_t *portp, const char **errp)
{
	const char *arg, *sp;
	size_t iplen;

	*errp = NULL;
	*alenp = 0;
	*portp = 0;
	ip[0] = '\0';
	if (strncmp(line, "ticket ", 7) != 0) {
		*errp = "error unknown request (ticket <ip> <port>)\n";
		return B0_ERR_FORMAT;
	}
	arg = line + 7;
	if ((sp = strchr(arg, ' ')) == NULL ||
	    (iplen = (size_t)(sp - arg)) == 0 || iplen >= IDENT_IP_SIZE) {
		*errp = "error expected: ticket <ip> <port>\n";
		return B0_ERR_FORMAT;
	}
	memcpy(ip, arg, iplen);
	ip[iplen] = '\0';
	if (inet_pton(AF_INET, ip, addr) == 1)
		*alenp = 4;
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		*alenp = 16;
	else {
		*errp = "error not an IP address\n";
		return B0_ERR_FORMAT;
	}
	if (b0_parse_u32(sp + 1, 1, 65535, portp) != 0) {
		*errp = "error not a port from 1 to 65535\n";
		return B0_ERR_FORMAT;
	}
	return 0;
}

/* Answer one request line into cl->out. */
static void
answer(struct iclient *cl, const char *line)
{
	struct ident *id = cl->id;
	char ip[IDENT_IP_SIZE];
	const char *tk, *err;
	uint8_t addr[16];
	size_t alen;
	uint32_t port;

	if (ident_parse_request(line, ip, addr, &alen, &port, &err) != 0) {
		b0_buf_put_str(&cl->out, err);
		return;
	}
	tk = tickets_get(&id->p->tickets, addr, alen, (uint16_t)port);
	b0_debug(&id->p->log, "ticket-socket: ticket %s %u: %s", ip,
	    (unsigned)port, tk != NULL ? "ok" : "none");
	if (tk == NULL)
		b0_buf_put_str(&cl->out, "none\n");
	else
		b0_buf_putf(&cl->out, "ok %s\n", tk);
}

static void
iclient_io(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct iclient *cl = cookie;
	const uint8_t *nl;
	const char *req;
	int r;

	(void)fd;
	if (b0_buf_len(&cl->out) > 0 || (events & B0_LOOP_WRITE)) {
		r = b0_buf_write_fd(&cl->out, cl->fd);
		if ((r < 0 && r != B0_ERR_AGAIN) || b0_buf_len(&cl->out) == 0)
			iclient_free(cl);
		return;
	}
	r = b0_buf_read_fd(&cl->in, cl->fd, IDENT_LINE_MAX);
	if (r == B0_ERR_AGAIN)
		return;
	nl = memchr(b0_buf_ptr(&cl->in), '\n', b0_buf_len(&cl->in));
	if (nl == NULL && r == B0_ERR_TOO_BIG) {
		b0_buf_put_str(&cl->out, "error request longer than 8 KiB\n");
	} else if (nl == NULL && r < 0) {
		iclient_free(cl);
		return;
	} else if (nl == NULL) {
		return;
	} else {
		b0_buf_unreserve(&cl->in,
		    b0_buf_len(&cl->in) - (size_t)(nl - b0_buf_ptr(&cl->in)));
		if (b0_buf_cstr(&cl->in, &req) != 0)
			b0_buf_put_str(&cl->out, "error NUL in the request\n");
		else
			answer(cl, req);
	}
	if (b0_buf_len(&cl->out) == 0) {
		iclient_free(cl);
		return;
	}
	(void)b0_loop_mod(loop, cl->fd, B0_LOOP_WRITE);
}

static void
ident_accept(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct ident *id = cookie;
	struct iclient *cl;
	struct ucred cred;
	socklen_t len;
	int cfd;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) !=
	       -1) {
		len = sizeof(cred);
		if (id->nclients >= IDENT_MAX_CLIENTS ||
		    getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ==
			-1 ||
		    (cl = calloc(1, sizeof(*cl))) == NULL) {
			close(cfd);
			continue;
		}
		cl->id = id;
		cl->fd = cfd;
		b0_buf_init(&cl->in, IDENT_LINE_MAX);
		b0_buf_init(&cl->out, IDENT_LINE_MAX);
		b0_buf_set_secret(&cl->out);
		if (!allowed(id, cfd, &cred)) {
			b0_log_rl(&id->p->log, &id->rl, (time_t)b0_loop_wall(),
			    B0_LOG_NOTICE,
			    "ticket-socket %s: refused uid %u (pid %d): not "
			    "root%s%s",
			    id->spath, (unsigned)cred.uid, (int)cred.pid,
			    id->has_group ? " nor in group " : "",
			    id->has_group ? id->p->conf->ticket_group : "");
			b0_buf_put_str(&cl->out, "error not allowed\n");
		}
		if (b0_loop_add(loop, cfd,
			b0_buf_len(&cl->out) > 0 ? B0_LOOP_WRITE : B0_LOOP_READ,
			iclient_io, cl) != 0) {
			b0_buf_cleanup(&cl->in);
			b0_buf_cleanup(&cl->out);
			close(cfd);
			free(cl);
			continue;
		}
		b0_timer_set(
		    loop, &cl->timer, IDENT_TIMEOUT_MS, iclient_timeout, cl);
		TAILQ_INSERT_TAIL(&id->clients, cl, entry);
		id->nclients++;
	}
}

static int
sock_open(struct ident *id, const char *path, struct b0_errmsg *em)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		b0_err_set(
		    em, "ticket-socket %s: path too long for a socket", path);
		return B0_ERR_CONFIG;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((r = check_parent("ticket-socket", path, em)) != 0)
		return r;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			b0_err_set(em,
			    "ticket-socket %s: exists and is not a socket",
			    path);
			return B0_ERR_EXISTS;
		}
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return b0_err_from_errno();
		r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
		close(fd);
		if (r == 0) {
			b0_err_set(em,
			    "ticket-socket %s: in use by another running "
			    "b0-publish",
			    path);
			return B0_ERR_EXISTS;
		}
		(void)unlink(path); /* stale */
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return b0_err_from_errno();
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1 ||
	    chown(path, geteuid(), id->has_group ? id->gid : getegid()) == -1 ||
	    chmod(path, id->has_group ? 0660 : 0600) == -1 ||
	    listen(fd, 16) == -1 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "ticket-socket %s: %s", path, b0_strerror(r));
		close(fd);
		(void)unlink(path);
		return r;
	}
	id->lfd = fd;
	if ((id->spath = strdup(path)) == NULL)
		return B0_ERR_ALLOC;
	return b0_loop_add(id->p->loop, fd, B0_LOOP_READ, ident_accept, id);
}

int
ident_open(struct pub *p, int self_ok, struct b0_errmsg *em)
{
	const struct pub_conf *c = p->conf;
	struct ident *id;
	int r = 0;

	if ((id = calloc(1, sizeof(*id))) == NULL)
		return B0_ERR_ALLOC;
	id->p = p;
	id->jfd = -1;
	id->lfd = -1;
	id->self_ok = self_ok;
	id->has_group = c->ticket_group != NULL;
	id->gid = c->ticket_gid;
	id->rl.burst = 10;
	id->rl.interval = 60;
	TAILQ_INIT(&id->clients);
	b0_buf_init(&id->pending, B0_JWKS_MAX_BYTES + 1024);
	p->ident = id;
	if (c->jwks_file != NULL && (r = jwks_open(id, c->jwks_file, em)) != 0)
		return r;
	if (c->ticket_socket != NULL &&
	    (r = sock_open(id, c->ticket_socket, em)) != 0)
		return r;
	if (c->ticket_socket != NULL)
		b0_debug(&p->log, "ticket-socket %s (mode %s%s%s)",
		    c->ticket_socket, id->has_group ? "0660, group " : "0600",
		    id->has_group ? c->ticket_group : "", "");
	return 0;
}

void
ident_free(struct ident *id)
{
	if (id == NULL)
		return;
	while (!TAILQ_EMPTY(&id->clients))
		iclient_free(TAILQ_FIRST(&id->clients));
	if (id->lfd != -1) {
		b0_loop_del(id->p->loop, id->lfd);
		close(id->lfd);
		if (id->spath != NULL)
			(void)unlink(id->spath);
	}
	b0_timer_cancel(id->p->loop, &id->jtimer);
	if (id->jfd != -1)
		close(id->jfd);
	b0_buf_cleanup(&id->pending);
	b0_jwks_free(id->keys);
	free(id->jpath);
	free(id->spath);
	free(id);
}
