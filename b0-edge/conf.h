/*
 * The edge's configuration file (/etc/b0/edge.conf, b0-edge(8)).
 */
#ifndef EDGE_CONF_H
#define EDGE_CONF_H

#include <stdint.h>

#include "b0_err.h"
#include "b0_log.h"

#define EDGE_CONF_DEFAULT "/etc/b0/edge.conf"
#define EDGE_MAX_LISTEN 8

struct edge_addr {
	char host[64]; /* a literal address */
	uint16_t port;
};

#define EDGE_MAX_PROVIDERS 8

/* An upstream OpenID Connect provider: provider NAME ISSUER CLIENT-ID FILE */
struct edge_provider {
	char *name;   /* [a-z0-9-], 1..32; the login page's button */
	char *issuer; /* https URL, as its discovery document says */
	char *client_id;
	char *secret_file; /* the client secret, a 0600 file */
};

struct edge_conf {
	char *path;
	char *domain;
	struct edge_addr listen[EDGE_MAX_LISTEN];
	int nlisten;
	char *cert;
	char *key;
	uint16_t port_lo, port_hi;
	char tcp_listen[EDGE_MAX_LISTEN][64];
	int ntcp_listen;
	char *state_dir;
	char *control_socket;
	char *user;
	enum b0_log_level log_level;
	uint64_t heartbeat_ms;
	uint64_t channel_idle_ms; /* an idle data channel lives this long */
	uint32_t pool_max;	  /* idle data channels kept per publisher */
	/* Identity (docs/identity.md). */
	char *issuer;		/* NULL: https://<domain>[:<port>] */
	uint64_t access_ttl_s;	/* access-token-lifetime, default 600 */
	uint64_t refresh_ttl_s; /* refresh-token-lifetime, 30 days */
	int builtin_users;	/* users builtin|none (default builtin) */
	struct edge_provider providers[EDGE_MAX_PROVIDERS];
	int nproviders;
	char *provider_ca; /* CA file for providers; NULL: system CAs */
	/* http sockets (docs/http.md). */
	size_t http_head_max;	     /* http-head-max, 16384 */
	size_t http_line_max;	     /* http-line-max, 8192 */
	size_t http_fields_max;	     /* http-fields-max, 64 */
	uint64_t http_body_max;	     /* http-body-max, 0: unlimited */
	uint64_t http_idle_ms;	     /* http-idle-timeout, 60 s */
	uint64_t http_upstream_ms;   /* http-upstream-timeout, 60 s */
	uint64_t http_session_ttl_s; /* http-session-lifetime, 43200 */
};

/*
 * edge_conf_load(path, cp, em):
 * Read and check path; *cp is a new configuration the caller frees with
 * edge_conf_free().  em says "file:line: what".
 */
int edge_conf_load(
    const char *path, struct edge_conf **cp, struct b0_errmsg *em);

void edge_conf_free(struct edge_conf *c);

#endif /* EDGE_CONF_H */
