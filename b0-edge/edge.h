/*
 * b0-edge internals: the structures of the running relay.
 *
 * Ownership: struct edge owns everything below it.  A session (one
 * connected publisher process) owns its control connection and its idle and
 * busy data connections; a data connection whose session ended lives on in
 * edge->orphans until its stream ends.  A socket (struct esock) is owned by
 * the edge and points at the session serving it, or at nothing while its
 * publisher is away.  A visitor waiting for a data channel is owned by the
 * session's queue.
 */
#ifndef EDGE_H
#define EDGE_H

#include <sys/queue.h>
#include <sys/stat.h>

#include <stdint.h>

#include "b0_chan.h"
#include "b0_ctl.h"
#include "b0_log.h"
#include "b0_loop.h"
#include "b0_proto.h"
#include "b0_spec.h"
#include "b0_tls.h"
#include "conf.h"
#include "state.h"

struct edge;
struct session;
struct esock;
struct hconn;
struct idp;
struct tconn;
struct hpconn;
struct hauth;

/* A TLS connection on the front door, before its first b0 frame. */
struct front {
	struct edge *e;
	int fd;
	SSL *ssl;
	char peer[B0_ADDR_SIZE];
	struct b0_timer timer;
	TAILQ_ENTRY(front) entry;
};

enum pconn_kind {
	PC_NEW = 0, /* authenticated nothing yet: HELLO or ATTACH next */
	PC_CONTROL,
	PC_DATA
};

/* A publisher connection: control or data channel. */
struct pconn {
	struct edge *e;
	enum pconn_kind kind;
	struct b0_chan *chan;
	struct session *s; /* NULL: new, or data channel of an ended session */
	char peer[B0_ADDR_SIZE];
	struct b0_timer timer; /* NEW: first frame due; DATA: idle expiry */
	TAILQ_ENTRY(pconn) entry;
	int busy; /* DATA: in the busy list (or orphans), not idle */
	/* The stream on a data channel, for its log line. */
	int streaming;
	int opened; /* the publisher reached the target */
	char stream_sock[B0_DNS_SIZE];
	char visitor[B0_ADDR_SIZE];
	char id[B0_HEXID_SIZE];
};

/* A visitor waiting for a data channel. */
struct visitor {
	struct session *s;
	struct esock *sock;
	int fd;
	char addr[B0_ADDR_SIZE];
	uint64_t since;
	struct b0_timer timer;
	TAILQ_ENTRY(visitor) entry;
};

TAILQ_HEAD(visitor_q, visitor);
TAILQ_HEAD(front_q, front);
TAILQ_HEAD(pconn_q, pconn);

struct session {
	struct edge *e;
	struct pconn *ctl;
	char publisher[B0_NAME_SIZE];
	char id[B0_HEXID_SIZE];
	char key[B0_KEY_SIZE];
	char instance[B0_HEXID_SIZE];
	uint8_t token_hash[32]; /* the token it authenticated with */
	char peer[B0_ADDR_SIZE];
	int64_t since;
	struct pconn_q idle; /* most recently used first */
	struct pconn_q busy;
	unsigned nidle, nbusy;
	uint32_t pool_asked; /* channels asked for and not yet come */
	uint64_t pool_asked_at;
	struct b0_msg_socks want; /* its last REGISTER */
	int takes_keys;		  /* HELLO "keys":true (docs/pam.md) */
	int retry;		  /* sessions_retry(): register again */
	struct visitor_q waitq;	  /* in order of arrival */
	unsigned nwait;
	uint64_t streams;
	struct b0_timer hb;
	TAILQ_ENTRY(session) entry;
};

struct esock {
	struct edge *e;
	char publisher[B0_NAME_SIZE];
	char name[B0_NAME_SIZE];
	char spec[B0_SPEC_SIZE];
	char dns[B0_DNS_SIZE];
	uint16_t port;
	int lfd[EDGE_MAX_LISTEN];
	int nlfd;
	struct session *s; /* serving it; NULL while its publisher is away */
	char instance[B0_HEXID_SIZE];
	uint64_t streams;
	struct b0_spec sp; /* spec parsed: type, port, allow list (owned) */
	TAILQ_HEAD(, tconn) twait; /* tls visitors waiting (tconn.c) */
	/* http and https sockets (docs/http.md): from REGISTER; "" if none. */
	char host[B0_DNS_SIZE];		  /* Host header towards the target */
	char prot_user[B0_NAME_SIZE * 2]; /* basic auth user */
	char prot_hash[B0_TEXT_SIZE];	  /* its yescrypt hash */
	TAILQ_ENTRY(esock) entry;
};

struct edge {
	struct b0_loop *loop;
	struct b0_log log;
	struct edge_conf *conf;
	struct b0_tls_ctx *tls;
	struct b0_chan_ctx cctx;
	int lfd[EDGE_MAX_LISTEN];
	int nlfd;
	uint16_t https_port;
	int sigfd;
	int ready_fd;
	struct edge_tokens tokens;
	struct stat tokens_st;
	struct edge_resvs resv;
	TAILQ_HEAD(, session) sessions;
	TAILQ_HEAD(, esock) socks;
	struct front_q fronts;
	struct pconn_q pending; /* PC_NEW */
	struct pconn_q orphans; /* data channels of ended sessions */
	struct b0_ctl *ctl;
	struct idp *idp;	      /* the issuer (idp.h) */
	struct hauth *hauth;	      /* http sockets: who gets in (hauth.h) */
	TAILQ_HEAD(, hpconn) hpconns; /* http socket connections (hproxy.c) */
	TAILQ_HEAD(, hconn) hconns;   /* HTTPS front-door connections */
	struct b0_timer tick;
	struct b0_log_ratelimit rl_auth;
	struct b0_log_ratelimit rl_visitor;
	int stopping;
	int exit_code;
};

/* edge.c */
int edge_run(struct edge_conf *conf, int ready_fd);
/* Re-read the tokens file if it changed (a token added or revoked). */
void edge_tokens_refresh(struct edge *e);
void edge_random_hex(char *out, size_t bytes);

/* session.c: publisher connections, sessions, registration. */
void pconn_new(struct edge *e, int fd, SSL *ssl, const char *peer);
void pconn_free_all(struct edge *e);
void session_end(struct session *s, const char *why, int cut_streams);
struct session *session_find_id(struct edge *e, const char *id);
void sessions_check_tokens(struct edge *e);
int session_take_idle(struct session *s, struct pconn **pcp);
void session_ask_pool(struct session *s);
/* KEYS (docs/pam.md) to every publisher: the edge's key set changed. */
void sessions_send_keys(struct edge *e);
void esock_free(struct esock *k);

/* visitor.c: public tcp ports and streams. */
int esock_listen(struct esock *k, struct b0_errmsg *em);
void esock_unlisten(struct esock *k);
void visitor_serve_waiting(struct session *s);
void visitor_drop_all(struct session *s, struct esock *only, const char *why);
void stream_start(struct pconn *pc, struct esock *k, int fd, const char *addr);
/*
 * visitor_add(k, fd, addr): what accept() does for a tcp socket, for a
 * connection made elsewhere (hproxy.c's end of a socketpair): fd becomes a
 * stream of socket k at once, or waits for a data channel (closed after
 * 10 s without one, or when the publisher goes).  Returns 0 (fd is taken),
 * B0_ERR_NOT_FOUND (k's publisher is not connected) or B0_ERR_ALLOC (fd
 * stays the caller's).
 */
int visitor_add(struct esock *k, int fd, const char *addr);

/* ctl.c: the control socket (b0-edge ls). */
int edge_ctl_handler(const char *req, const struct b0_ctl_peer *peer,
    struct b0_buf *reply, void *cookie);

#endif /* EDGE_H */
