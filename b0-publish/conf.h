/*
 * b0-publish's configuration file (/etc/b0/publish.conf).
 */
#ifndef PUB_CONF_H
#define PUB_CONF_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stdint.h>

#include "b0_err.h"
#include "b0_log.h"
#include "b0_proto.h"

#define PUB_CONF_DEFAULT "/etc/b0/publish.conf"
#define PUB_JWKS_DEFAULT "/var/lib/b0-publish/jwks.json"
#define PUB_TICKETS_DEFAULT "/run/b0-publish/tickets.sock"

struct b0_tls_ctx;

/*
 * A published socket.  It owns password_file, tls_ca, httpserver and tls:
 * pub_socks_free().
 */
struct pub_socket {
	char name[B0_NAME_SIZE];
	char spec[B0_SPEC_SIZE]; /* normalised */
	int type;		 /* enum b0_sock_type */
	char where[300];	 /* "file:line" or "connect", for messages */
	char target_host[256];
	uint16_t target_port;
	char target[300]; /* "host:port" as configured, for messages */
	struct sockaddr_storage addr; /* resolved target */
	socklen_t addrlen;
	/* http and https sockets (docs/http.md); "" or NULL when not set. */
	char host[B0_DNS_SIZE];		  /* host=: Host towards the target */
	char prot_user[B0_NAME_SIZE * 2]; /* protected=USER */
	char *password_file;		  /* password-file=PATH */
	char prot_hash[B0_TEXT_SIZE];	  /* pub_conf_prepare(): yescrypt */
	char *tls_ca;			  /* tls-ca=FILE */
	char tls_name[256];	/* tls-name=, else host=, else the target */
	int tls_verify;		/* 0 after tls-verify=no */
	struct b0_tls_ctx *tls; /* https: pub_conf_prepare() */
	char *httpserver;	/* connect --httpserver DIR */
};

struct pub_conf {
	char *path;
	char edge_host[256];
	uint16_t edge_port;
	char *server_name; /* name to verify and send as SNI */
	char *edge_ca;
	char *edge_pin;
	char *token_file;
	char *proxy; /* http://[user:pass@]host:port */
	uint32_t pool;
	struct pub_socket *socks;
	size_t nsocks;
	char *control_socket;
	char *user;
	enum b0_log_level log_level;
	/* docs/pam.md; NULL: "none" (off) */
	char *jwks_file;     /* jwks-file */
	char *ticket_socket; /* ticket-socket */
	char *ticket_group;  /* ticket-group; NULL: none */
	gid_t ticket_gid;
};

/*
 * pub_conf_load(path, cp, em):
 * Read and check path (specs checked with policy/, targets parsed but not
 * resolved); free with pub_conf_free().
 */
int pub_conf_load(const char *path, struct pub_conf **cp, struct b0_errmsg *em);

/*
 * pub_conf_add_socket(c, name, spec, target, where, em):
 * Check and add one socket (used by the file and by `connect`); where
 * prefixes messages ("file:line" or "--port").  target NULL: 127.0.0.1
 * and the spec's port.
 */
int pub_conf_add_socket(struct pub_conf *c, const char *name, const char *spec,
    const char *target, const char *where, struct b0_errmsg *em);

/*
 * pub_conf_add_socket_opts(c, name, spec, target, opts, nopts, where, em):
 * As pub_conf_add_socket() with the socket's OPTION=VALUE words
 * (docs/http.md): protected, password-file, host, tls-ca, tls-name,
 * tls-verify.  An unknown, repeated or misplaced option is B0_ERR_CONFIG
 * naming where and the option.
 */
int pub_conf_add_socket_opts(struct pub_conf *c, const char *name,
    const char *spec, const char *target, char *const *opts, size_t nopts,
    const char *where, struct b0_errmsg *em);

/*
 * pub_conf_prepare(c, em):
 * What the sockets need from files before they run: read each
 * password-file (0600, root's or ours, one line), hash it with yescrypt
 * under a fresh salt and wipe it; make each https socket's TLS client
 * context (tls-ca or the system's CAs).  Messages name file:line.
 */
int pub_conf_prepare(struct pub_conf *c, struct b0_errmsg *em);

/* pub_socks_free(s, n): free the array s of n sockets and what they own. */
void pub_socks_free(struct pub_socket *s, size_t n);

/* pub_conf_new(): an empty configuration with defaults (for connect). */
struct pub_conf *pub_conf_new(void);

void pub_conf_free(struct pub_conf *c);

/*
 * pub_conf_resolve(c, em): resolve every socket's target (blocking).
 */
int pub_conf_resolve(struct pub_conf *c, struct b0_errmsg *em);

/*
 * pub_read_token(path, token, size, em):
 * Read the publisher token from path (0600, ours or root's, one line).
 */
int pub_read_token(
    const char *path, char *token, size_t size, struct b0_errmsg *em);

#endif /* PUB_CONF_H */
