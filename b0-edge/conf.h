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
