/*
 * b0-edge: start-up, the TLS front door, signals, reload and shutdown.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_daemon.h"
#include "b0_file.h"
#include "b0_net.h"
#include "b0_str.h"
#include "edge.h"
#include "http.h"
#include "hauth.h"
#include "hproxy.h"
#include "idp.h"

/* A TLS handshake on the front door must finish within this time. */
#define HANDSHAKE_MS 10000
#define KEEPALIVE_S 30
#define SCRATCH_SIZE (B0_CHAN_CHUNK + B0_FRAME_HDR)

static const char *const alpn[] = {B0_PROTO_ALPN, "http/1.1", NULL};

static int
tls_setup(
    const struct edge_conf *c, struct b0_tls_ctx **tp, struct b0_errmsg *em)
{
	struct b0_tls_config tc;

	memset(&tc, 0, sizeof(tc));
	tc.cert_file = c->cert;
	tc.key_file = c->key;
	tc.alpn = alpn;
	return b0_tls_ctx_new_server(&tc, tp, em);
}

static void
front_free(struct front *f, int close_fd)
{
	struct edge *e = f->e;

	TAILQ_REMOVE(&e->fronts, f, entry);
	b0_timer_cancel(e->loop, &f->timer);
	if (close_fd) {
		b0_loop_del(e->loop, f->fd);
		SSL_free(f->ssl);
		close(f->fd);
	}
	free(f);
}

static void
front_timeout(struct b0_loop *loop, void *cookie)
{
	struct front *f = cookie;

	(void)loop;
	b0_debug(&f->e->log, "%s: TLS handshake timed out", f->peer);
	front_free(f, 1);
}

static void
front_handshake(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct front *f = cookie;
	struct edge *e = f->e;
	struct b0_errmsg em;
	const char *proto;
	int r, want;

	(void)events;
	r = b0_tls_handshake(f->ssl, &want, &em);
	if (r == B0_ERR_AGAIN) {
		b0_loop_mod(loop, fd,
		    want == B0_TLS_WANT_WRITE ? B0_LOOP_WRITE : B0_LOOP_READ);
		return;
	}
	if (r != 0) {
		b0_log_rl(&e->log, &e->rl_visitor, (time_t)b0_loop_wall(),
		    B0_LOG_INFO, "%s: TLS handshake failed: %s", f->peer,
		    b0_err_text(&em, r));
		front_free(f, 1);
		return;
	}
	proto = b0_tls_alpn(f->ssl);
	if (proto != NULL && strcmp(proto, B0_PROTO_ALPN) == 0) {
		if (SSL_version(f->ssl) != TLS1_3_VERSION) {
			b0_notice(&e->log,
			    "%s: b0 protocol over %s refused "
			    "(TLS 1.3 required)",
			    f->peer, SSL_get_version(f->ssl));
			front_free(f, 1);
			return;
		}
		b0_loop_del(loop, fd);
		pconn_new(e, f->fd, f->ssl, f->peer);
		front_free(f, 0);
		return;
	}
	/* http/1.1 or no ALPN: the HTTPS front door (https.c). */
	b0_loop_del(loop, fd);
	hconn_new(e, f->fd, f->ssl, f->peer);
	front_free(f, 0);
}

static void
front_accept(struct b0_loop *loop, int lfd, unsigned events, void *cookie)
{
	struct edge *e = cookie;
	struct sockaddr_storage ss;
	struct b0_errmsg em;
	struct front *f;
	socklen_t len;
	SSL *ssl;
	int fd, n;

	(void)events;
	for (n = 0; n < 64; n++) {
		if (b0_net_accept(lfd, &fd, &ss, &len) != 0)
			return;
		b0_net_tune(fd, KEEPALIVE_S);
		if (b0_tls_server_new(e->tls, fd, &ssl, &em) != 0 ||
		    (f = calloc(1, sizeof(*f))) == NULL) {
			close(fd);
			continue;
		}
		f->e = e;
		f->fd = fd;
		f->ssl = ssl;
		b0_net_addr_str(
		    (struct sockaddr *)&ss, f->peer, sizeof(f->peer));
		if (b0_loop_add(loop, fd, B0_LOOP_READ, front_handshake, f) !=
		    0) {
			SSL_free(ssl);
			close(fd);
			free(f);
			continue;
		}
		TAILQ_INSERT_TAIL(&e->fronts, f, entry);
		b0_timer_set(loop, &f->timer, HANDSHAKE_MS, front_timeout, f);
	}
}

static int
tokens_changed(struct edge *e)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/tokens", e->conf->state_dir);
	if (stat(path, &st) == -1)
		memset(&st, 0, sizeof(st));
	if (st.st_ino == e->tokens_st.st_ino &&
	    st.st_size == e->tokens_st.st_size &&
	    st.st_mtim.tv_sec == e->tokens_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == e->tokens_st.st_mtim.tv_nsec)
		return 0;
	e->tokens_st = st;
	return 1;
}

static void
reload_tokens(struct edge *e)
{
	struct edge_tokens t;
	struct b0_errmsg em;
	int r;

	if ((r = edge_tokens_load(e->conf->state_dir, &t, &em)) != 0) {
		b0_error(&e->log, "reading tokens: %s (keeping the old ones)",
		    b0_err_text(&em, r));
		return;
	}
	edge_tokens_cleanup(&e->tokens);
	e->tokens = t;
	b0_info(&e->log, "tokens loaded: %zu publisher%s", t.n,
	    t.n == 1 ? "" : "s");
	sessions_check_tokens(e);
}

void
edge_tokens_refresh(struct edge *e)
{
	if (tokens_changed(e))
		reload_tokens(e);
}

/* Once a second: notice `b0-edge token revoke` (a new tokens file). */
static void
tick(struct b0_loop *loop, void *cookie)
{
	struct edge *e = cookie;

	edge_tokens_refresh(e);
	if (e->idp != NULL)
		idp_tick(e->idp);
	if (e->hauth != NULL)
		hauth_tick(e->hauth);
	b0_timer_set(loop, &e->tick, 1000, tick, e);
}

/* A different value for a setting that only a restart can change. */
static void
warn_restart(struct edge *e, const char *what, int differs)
{
	if (differs)
		b0_warn(&e->log,
		    "reload: %s changed; restart b0-edge to "
		    "apply it (keeping the old value)",
		    what);
}

static void
reload(struct edge *e)
{
	struct edge_conf *nc = NULL, *oc = e->conf;
	struct b0_tls_ctx *tls = NULL;
	struct b0_errmsg em;
	int r;

	b0_daemon_notify("RELOADING=1");
	if ((r = edge_conf_load(oc->path, &nc, &em)) != 0 ||
	    (r = tls_setup(nc, &tls, &em)) != 0) {
		b0_error(&e->log,
		    "reload failed, keeping the running "
		    "configuration: %s",
		    b0_err_text(&em, r));
		edge_conf_free(nc);
		b0_daemon_notify("READY=1");
		return;
	}
	warn_restart(e, "domain", strcmp(nc->domain, oc->domain) != 0);
	warn_restart(e, "state-dir", strcmp(nc->state_dir, oc->state_dir));
	warn_restart(e, "control-socket",
	    strcmp(nc->control_socket, oc->control_socket) != 0);
	warn_restart(e, "listen",
	    nc->nlisten != oc->nlisten ||
		memcmp(nc->listen, oc->listen, sizeof(nc->listen)) != 0);
	/* Keep what cannot change while running. */
	free(nc->domain);
	free(nc->state_dir);
	free(nc->control_socket);
	nc->domain = oc->domain;
	nc->state_dir = oc->state_dir;
	nc->control_socket = oc->control_socket;
	oc->domain = oc->state_dir = oc->control_socket = NULL;
	memcpy(nc->listen, oc->listen, sizeof(nc->listen));
	nc->nlisten = oc->nlisten;
	edge_conf_free(oc);
	e->conf = nc;
	e->log.max_level = nc->log_level;
	b0_tls_ctx_free(e->tls);
	e->tls = tls;
	if (e->idp != NULL)
		idp_reload(e->idp, e);
	reload_tokens(e);
	b0_notice(&e->log, "configuration reloaded from %s", nc->path);
	b0_daemon_notify("READY=1");
}

static void
on_signal(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct edge *e = cookie;
	int sig;

	(void)events;
	while ((sig = b0_daemon_signal_read(fd)) != 0) {
		if (sig == SIGHUP) {
			reload(e);
			continue;
		}
		b0_notice(&e->log, "%s: shutting down",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		e->stopping = 1;
		b0_loop_stop(loop);
	}
}

/* The state directory exists, private, and belongs to the daemon's user. */
static int
state_dir_setup(struct edge *e, struct b0_errmsg *em)
{
	const char *dir = e->conf->state_dir;
	uid_t uid;
	gid_t gid;
	int r;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		r = b0_err_from_errno();
		b0_err_set(em, "state-dir %s: %s", dir, b0_strerror(r));
		return r;
	}
	if (geteuid() == 0 && e->conf->user != NULL &&
	    b0_daemon_lookup(e->conf->user, &uid, &gid, em) == 0 && uid != 0) {
		char p[PATH_MAX];
		const char *files[] = {"tokens", "sockets"};
		size_t i;

		if (chown(dir, uid, gid) == -1) {
			r = b0_err_from_errno();
			b0_err_set(
			    em, "state-dir %s: chown: %s", dir, b0_strerror(r));
			return r;
		}
		for (i = 0; i < 2; i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
			if (lchown(p, uid, gid) == -1 && errno != ENOENT) {
				r = b0_err_from_errno();
				b0_err_set(
				    em, "%s: chown: %s", p, b0_strerror(r));
				return r;
			}
		}
	}
	return 0;
}

/* The directory of the control socket, created for the daemon's user. */
static void
ctl_dir_setup(struct edge *e)
{
	char dir[PATH_MAX], *slash;
	uid_t uid;
	gid_t gid;

	b0_strlcpy(dir, e->conf->control_socket, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == -1)
		return; /* exists: leave it as the admin made it */
	if (geteuid() == 0 && e->conf->user != NULL &&
	    b0_daemon_lookup(e->conf->user, &uid, &gid, NULL) == 0 &&
	    chown(dir, uid, gid) == -1)
		b0_warn(&e->log, "%s: chown: %s", dir, strerror(errno));
}

static int
listen_all(struct edge *e, struct b0_errmsg *em)
{
	int i, fd, r;

	for (i = 0; i < e->conf->nlisten; i++) {
		const struct edge_addr *a = &e->conf->listen[i];

		if ((r = b0_net_listen(a->host, a->port, &fd, em)) != 0)
			return r;
		e->lfd[e->nlfd++] = fd;
		if ((r = b0_loop_add(
			 e->loop, fd, B0_LOOP_READ, front_accept, e)) != 0)
			return r;
		if (e->https_port == 0)
			b0_net_local_port(fd, &e->https_port);
	}
	return 0;
}

static void
teardown(struct edge *e)
{
	struct front *f;
	int i;

	b0_timer_cancel(e->loop, &e->tick);
	for (i = 0; i < e->nlfd; i++) {
		b0_loop_del(e->loop, e->lfd[i]);
		close(e->lfd[i]);
	}
	e->nlfd = 0;
	b0_ctl_free(e->ctl);
	e->ctl = NULL;
	while ((f = TAILQ_FIRST(&e->fronts)) != NULL)
		front_free(f, 1);
	hconn_free_all(e);
	hproxy_free_all(e);
	pconn_free_all(e);
	while (!TAILQ_EMPTY(&e->socks))
		esock_free(TAILQ_FIRST(&e->socks));
	hauth_free(e->hauth);
	e->hauth = NULL;
	if (e->sigfd != -1) {
		b0_loop_del(e->loop, e->sigfd);
		close(e->sigfd);
	}
	idp_free(e->idp);
	e->idp = NULL;
	edge_tokens_cleanup(&e->tokens);
	edge_resvs_cleanup(&e->resv);
	b0_tls_ctx_free(e->tls);
	free(e->cctx.scratch);
	b0_loop_free(e->loop);
}

int
edge_run(struct edge_conf *conf, int ready_fd)
{
	static const int sigs[] = {SIGHUP, SIGTERM, SIGINT};
	struct b0_ctl_opts co;
	struct edge e;
	struct b0_errmsg em;
	char ready[64];
	int r;

	memset(&e, 0, sizeof(e));
	TAILQ_INIT(&e.sessions);
	TAILQ_INIT(&e.socks);
	TAILQ_INIT(&e.fronts);
	TAILQ_INIT(&e.hconns);
	TAILQ_INIT(&e.hpconns);
	TAILQ_INIT(&e.pending);
	TAILQ_INIT(&e.orphans);
	e.conf = conf;
	e.sigfd = -1;
	e.rl_auth.burst = 10;
	e.rl_auth.interval = 60;
	e.rl_visitor.burst = 20;
	e.rl_visitor.interval = 10;
	b0_log_init(&e.log, "b0-edge", conf->log_level, NULL, NULL);
	b0_err_clear(&em);
	if ((r = b0_loop_new(&e.loop)) != 0)
		goto fail;
	e.cctx.size = SCRATCH_SIZE;
	if ((e.cctx.scratch = malloc(SCRATCH_SIZE)) == NULL) {
		r = B0_ERR_ALLOC;
		goto fail;
	}
	if ((r = tls_setup(conf, &e.tls, &em)) != 0 ||
	    (r = state_dir_setup(&e, &em)) != 0 ||
	    (r = listen_all(&e, &em)) != 0 ||
	    (r = idp_new(&e, &e.idp, &em)) != 0 ||
	    (r = hauth_new(&e, &e.hauth, &em)) != 0)
		goto fail;
	ctl_dir_setup(&e);
	b0_ctl_opts_init(&co);
	if (geteuid() == 0 && conf->user != NULL) /* the socket is the user's */
		(void)b0_daemon_lookup(conf->user, &co.uid, &co.gid, NULL);
	if ((r = b0_ctl_listen(e.loop, conf->control_socket, &co,
		 edge_ctl_handler, &e, &e.ctl, &em)) != 0)
		goto fail;
	if ((r = b0_daemon_drop(conf->user, &em)) != 0)
		goto fail;
	if (geteuid() == 0)
		b0_warn(&e.log,
		    "running as root: set \"user\" in %s to drop "
		    "privileges",
		    conf->path);
	if ((r = edge_resvs_load(conf->state_dir, &e.resv, &em)) != 0)
		goto fail;
	tokens_changed(&e);
	if ((r = edge_tokens_load(conf->state_dir, &e.tokens, &em)) != 0 ||
	    (r = b0_daemon_signalfd(sigs, 3, &e.sigfd)) != 0 ||
	    (r = b0_loop_add(e.loop, e.sigfd, B0_LOOP_READ, on_signal, &e)) !=
		0)
		goto fail;
	b0_timer_set(e.loop, &e.tick, 1000, tick, &e);
	b0_notice(&e.log,
	    "listening on port %u for %s (%zu publisher "
	    "token%s, %zu socket reservation%s)",
	    (unsigned)e.https_port, conf->domain, e.tokens.n,
	    e.tokens.n == 1 ? "" : "s", e.resv.n, e.resv.n == 1 ? "" : "s");
	snprintf(
	    ready, sizeof(ready), "READY=1\nPORT=%u\n", (unsigned)e.https_port);
	b0_daemon_ready_fd(ready_fd, ready);
	b0_daemon_notify("READY=1");
	if ((r = b0_loop_run(e.loop)) != 0)
		b0_error_fr(&e.log, r, "event loop");
	b0_daemon_notify("STOPPING=1");
	teardown(&e);
	edge_conf_free(e.conf);
	return r == 0 ? 0 : 1;
fail:
	b0_error(&e.log, "%s", b0_err_text(&em, r));
	b0_daemon_ready_fd(ready_fd, "ERROR=1\n");
	if (e.loop != NULL)
		teardown(&e);
	edge_conf_free(e.conf);
	return 1;
}
