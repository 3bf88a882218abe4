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

struct pub_socket {
	char name[B0_NAME_SIZE];
	char spec[B0_SPEC_SIZE]; /* normalised */
	char target_host[256];
	uint16_t target_port;
	char target[300]; /* "host:port" as configured, for messages */
	struct sockaddr_storage addr; /* resolved target */
	socklen_t addrlen;
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
