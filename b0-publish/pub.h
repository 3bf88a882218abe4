/*
 * b0-publish internals: the running publisher.
 *
 * Ownership: struct pub owns its control channel, its data channels (idle
 * and busy) and the dials in progress.  A data channel owns the socket of
 * the stream it relays (through b0_chan) and, while connecting, the
 * target's socket.
 */
#ifndef PUB_H
#define PUB_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>

#include "b0_chan.h"
#include "b0_ctl.h"
#include "b0_log.h"
#include "b0_loop.h"
#include "b0_proto.h"
#include "b0_tls.h"
#include "conf.h"

struct pub;
struct ident;

enum dial_purpose { DIAL_CONTROL, DIAL_DATA };

/* A connection to the edge being made: TCP, proxy CONNECT, TLS. */
struct dial {
	struct pub *p;
	enum dial_purpose purpose;
	int state;
	int fd;
	SSL *ssl;
	struct b0_buf io; /* the proxy exchange */
	struct b0_timer timer;
	void (*done)(struct dial *d, int r, const char *why);
	TAILQ_ENTRY(dial) entry;
};

/* A connection ticket, kept while the stream's target connection lives. */
struct ticket {
	char local[B0_ADDR_SIZE]; /* our end of the target connection */
	uint8_t ip[16];		  /* its address: 4 bytes for IPv4 ... */
	size_t iplen;		  /* ... (also v4-mapped IPv6), else 16 */
	uint16_t port;		  /* its port */
	char *jwt;		  /* secret: wiped when dropped, never logged */
	TAILQ_ENTRY(ticket) entry;
};

TAILQ_HEAD(ticket_q, ticket);

struct tickets {
	struct ticket_q q; /* oldest first */
	size_t n;
};

/* A data channel. */
struct dchan {
	struct pub *p;
	struct b0_chan *chan;
	char session[B0_HEXID_SIZE]; /* the control session it attached to */
	int busy;
	int tfd;	  /* target socket while connecting */
	SSL *tssl;	  /* https targets: while the handshake runs */
	char target[300]; /* for messages */
	struct b0_timer timer;
	char socket[B0_NAME_SIZE];
	char visitor[B0_ADDR_SIZE];
	char *ticket;	   /* from OPEN, until the target is connected */
	struct ticket *tk; /* then in p->tickets, until the stream ends */
	TAILQ_ENTRY(dchan) entry;
};

TAILQ_HEAD(dial_q, dial);
TAILQ_HEAD(dchan_q, dchan);

enum pub_state {
	P_WAIT = 0,   /* waiting to (re)connect */
	P_DIALING,    /* control connection being made */
	P_HELLO,      /* HELLO sent */
	P_REGISTER,   /* REGISTER sent */
	P_UP,	      /* registered */
	P_UNREGISTER, /* connect mode ending: REGISTER [] sent */
};

struct pub {
	struct b0_loop *loop;
	struct b0_log log;
	struct pub_conf *conf;
	struct b0_tls_ctx *tls;
	struct b0_chan_ctx cctx;
	char instance[B0_HEXID_SIZE];
	char token[B0_TOKEN_SIZE];
	/* Where to dial: the proxy if configured, else the edge. */
	struct sockaddr_storage dial_addr;
	socklen_t dial_addrlen;
	char proxy_host[256];
	uint16_t proxy_port;
	char proxy_auth[512]; /* "Basic ..." or "" */

	enum pub_state state;
	struct b0_chan *ctl;
	struct dial_q dials;
	unsigned ndial_data;
	struct b0_msg_welcome welcome;
	struct b0_msg_socks registered;
	char printed[4096]; /* the last table printed, to print changes */
	unsigned attempt;
	struct b0_timer retry;
	struct b0_timer hb;
	int64_t up_since;

	struct dchan_q idle, busy;
	unsigned nidle, nbusy;
	struct tickets tickets;
	struct ident *ident; /* the JWKS file and the identity socket */

	struct httpd *httpd; /* connect --httpserver */
	struct b0_ctl *ctlsock;
	int sigfd;
	int connect_mode; /* remove the sockets from the edge on exit */
	int stopping;
	int done; /* leave the event loop */
	int exit_code;
};

/* dial.c */
int dial_setup(struct pub *p, struct b0_errmsg *em);
int dial_start(struct pub *p, enum dial_purpose purpose,
    void (*done)(struct dial *d, int r, const char *why));
void dial_free(struct dial *d);

/* pub.c */
int pub_run(struct pub_conf *conf, int connect_mode, int ready_fd);

/*
 * tickets.c: the connection tickets of running streams.
 * tickets_put(ts, fd, jwt, tkp): keep a copy of jwt against the local
 * address and port of the connected socket fd; *tkp is the entry (owned by
 * ts; drop it with tickets_del()).  Returns 0, B0_ERR_SYS(errno),
 * B0_ERR_UNSUPPORTED (not IPv4 or IPv6) or B0_ERR_ALLOC.
 * tickets_get(ts, ip, iplen, port): the ticket of the connection from
 * local address ip (iplen 4: IPv4, 16: IPv6; a v4-mapped IPv6 address
 * matches its IPv4 form) and port, borrowed until its entry is dropped, or
 * NULL.
 */
void tickets_init(struct tickets *ts);
int tickets_put(
    struct tickets *ts, int fd, const char *jwt, struct ticket **tkp);
const char *tickets_get(
    const struct tickets *ts, const uint8_t *ip, size_t iplen, uint16_t port);
void tickets_del(struct tickets *ts, struct ticket *tk);
void tickets_cleanup(struct tickets *ts);

/*
 * httpd.c: the static file server of `connect --httpserver DIR`.
 * httpd_new(loop, log, dir, host, port, hp, em): open dir (kept open: the
 * root of every lookup) and listen on host:port (port 0: any) on loop;
 * log is borrowed for as long as *hp lives.  Free with httpd_free().
 * httpd_addr(h, ss, lenp): the address it listens on, the socket's target.
 * httpd_main(dir, listen, ready_fd): the hidden `b0-publish httpserver DIR
 * --listen HOST:PORT` mode for tests: serve until SIGTERM or SIGINT,
 * reporting READY=1 and PORT=N on ready_fd.  Returns an exit status.
 */
struct httpd;
int httpd_new(struct b0_loop *loop, const struct b0_log *log, const char *dir,
    const char *host, uint16_t port, struct httpd **hp, struct b0_errmsg *em);
void httpd_addr(
    const struct httpd *h, struct sockaddr_storage *ss, socklen_t *lenp);
void httpd_free(struct httpd *h);
int httpd_main(const char *dir, const char *listen, int ready_fd);

/*
 * ident.c: the JWKS file and the identity socket (docs/pam.md).
 * ident_open(p, self_ok, em): open p->conf->jwks_file and bind
 * p->conf->ticket_socket (either may be NULL: off), before privileges are
 * dropped; p->ident is set even on error (ident_free() it).  self_ok: our
 * own uid may query too (b0-publish connect as a user).
 * ident_keys(p, m, len): an E->P KEYS frame: keep the keys, rewrite the
 * file.  Returns 0 or B0_ERR_PROTOCOL.
 * ident_check_ticket(p, ticket): an OPEN carried ticket: if its kid is not
 * among the keys, ask the edge for them (at most once per 10 s).
 */
int ident_open(struct pub *p, int self_ok, struct b0_errmsg *em);
int ident_keys(struct pub *p, const uint8_t *m, size_t len);
void ident_check_ticket(struct pub *p, const char *ticket);
void ident_free(struct ident *id);

/*
 * ident_parse_request(line, ip, addr, alenp, portp, errp): one request
 * line of the identity socket (NUL-terminated, no newline), "ticket <ip>
 * <port>".  Returns 0 with ip (IDENT_IP_SIZE bytes) the address as given,
 * addr (16 bytes) and *alenp (4 or 16) its bytes, *portp 1 to 65535; or
 * B0_ERR_FORMAT with *errp the answer line ("error ...\n").
 */
#define IDENT_IP_SIZE 47 /* INET6_ADDRSTRLEN + 1 */
int ident_parse_request(const char *line, char *ip, uint8_t *addr,
    size_t *alenp, uint32_t *portp, const char **errp);

/* ls.c: the control socket and the table of published sockets. */
int pub_ctl_handler(const char *req, const struct b0_ctl_peer *peer,
    struct b0_buf *reply, void *cookie);
int pub_ls_json(struct pub *p, struct b0_buf *out);
int pub_table_from_json(
    const char *json, size_t len, struct b0_buf *out, struct b0_errmsg *em);

#endif /* PUB_H */
