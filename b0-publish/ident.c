/*
 * b0-publish: what pam_b0 needs from us (docs/pam.md): the edge's keys in
 * a root-owned JWKS file, and the identity socket that answers "which
 * ticket goes with this connection to the target".
 *
 * Both are made before privileges are dropped: the file is opened once
 * and its descriptor kept, so it stays root's; the socket is bound with
 * root as owner and the ticket group as group.  b0_ctl serves it on the
 * event loop, one request per connection; allowed() checks the client's
 * credentials.
 */
#include <sys/file.h>
#include <sys/stat.h>

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
	struct b0_ctl *sock;
	int has_group;
	gid_t gid;
	int self_ok; /* not root: our own uid may ask too */
	struct b0_log_ratelimit rl;
};

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

	if ((r = b0_ctl_check_parent("jwks-file", path, (uid_t)-1, em)) != 0)
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

/*
 * The peer is root, (not root) ourselves, or holds the ticket group: as
 * its primary group or among the supplementary groups it had when it
 * connected.  The process's credentials, not the group database: no NSS
 * on the event loop, and what the kernel checked on connect().  Its
 * supplementary groups unknown (SO_PEERGROUPS failed, too many): refused.
 */
static int
allowed(const struct b0_ctl_peer *peer, void *cookie)
{
	struct ident *id = cookie;

	if (peer->uid == 0 || (id->self_ok && peer->uid == geteuid()) ||
	    (id->has_group && b0_ctl_peer_in_group(peer, id->gid)))
		return 1;
	b0_log_rl(&id->p->log, &id->rl, (time_t)b0_loop_wall(), B0_LOG_NOTICE,
	    "ticket-socket %s: refused uid %u (pid %d): not root%s%s",
	    id->p->conf->ticket_socket, (unsigned)peer->uid, (int)peer->pid,
	    id->has_group ? " nor in group " : "",
	    id->has_group ? id->p->conf->ticket_group : "");
	return 0;
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

/* Answer one request line (allowed() let the peer in). */
static int
answer(const char *line, const struct b0_ctl_peer *peer, struct b0_buf *out,
    void *cookie)
{
	struct ident *id = cookie;
	char ip[IDENT_IP_SIZE];
	const char *tk, *err;
	uint8_t addr[16];
	size_t alen;
	uint32_t port;

	(void)peer;
	if (ident_parse_request(line, ip, addr, &alen, &port, &err) != 0)
		return b0_buf_put_str(out, err);
	tk = tickets_get(&id->p->tickets, addr, alen, (uint16_t)port);
	b0_debug(&id->p->log, "ticket-socket: ticket %s %u: %s", ip,
	    (unsigned)port, tk != NULL ? "ok" : "none");
	if (tk == NULL)
		return b0_buf_put_str(out, "none\n");
	return b0_buf_putf(out, "ok %s\n", tk);
}

/*
 * Root's, group ticket-group, 0660 (0600 without a group); one line each
 * way, at most 8 KiB, 2 s (docs/pam.md).
 */
static int
sock_open(struct ident *id, const char *path, struct b0_errmsg *em)
{
	struct b0_ctl_opts o;

	b0_ctl_opts_init(&o);
	o.what = "ticket-socket";
	o.mode = id->has_group ? 0660 : 0600;
	if (id->has_group)
		o.gid = id->gid;
	o.request_max = IDENT_LINE_MAX;
	o.timeout_ms = IDENT_TIMEOUT_MS;
	o.max_clients = IDENT_MAX_CLIENTS;
	o.secret = 1; /* a ticket */
	o.allow = allowed;
	o.refused = "error not allowed\n";
	o.too_long = "error request longer than 8 KiB\n";
	o.bad_line = "error NUL in the request\n";
	return b0_ctl_listen(id->p->loop, path, &o, answer, id, &id->sock, em);
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
	id->self_ok = self_ok;
	id->has_group = c->ticket_group != NULL;
	id->gid = c->ticket_gid;
	id->rl.burst = 10;
	id->rl.interval = 60;
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
	b0_ctl_free(id->sock);
	b0_timer_cancel(id->p->loop, &id->jtimer);
	if (id->jfd != -1)
		close(id->jfd);
	b0_buf_cleanup(&id->pending);
	b0_jwks_free(id->keys);
	free(id->jpath);
	free(id);
}
