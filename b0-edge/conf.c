/*
 * The edge's configuration file.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_conf.h"
#include "b0_file.h"
#include "b0_http.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "conf.h"

enum {
	OP_DOMAIN,
	OP_LISTEN,
	OP_CERT,
	OP_KEY,
	OP_TCP_PORTS,
	OP_TCP_LISTEN,
	OP_STATE_DIR,
	OP_CONTROL,
	OP_USER,
	OP_LOG_LEVEL,
	OP_HEARTBEAT,
	OP_CHANNEL_IDLE,
	OP_POOL_MAX,
	OP_ISSUER,
	OP_ACCESS_TTL,
	OP_REFRESH_TTL,
	OP_USERS,
	OP_PROVIDER,
	OP_PROVIDER_CA,
	OP_HTTP_HEAD_MAX,
	OP_HTTP_LINE_MAX,
	OP_HTTP_FIELDS_MAX,
	OP_HTTP_BODY_MAX,
	OP_HTTP_IDLE,
	OP_HTTP_UPSTREAM,
	OP_HTTP_SESSION_TTL,
	OP_MAX
};

static const struct b0_conf_keyword keywords[] = {
    {"domain", OP_DOMAIN, 1, 1, 0},
    {"listen", OP_LISTEN, 1, 1, 1},
    {"certificate", OP_CERT, 1, 1, 0},
    {"key", OP_KEY, 1, 1, 0},
    {"tcp-ports", OP_TCP_PORTS, 1, 1, 0},
    {"tcp-listen", OP_TCP_LISTEN, 1, 1, 1},
    {"state-dir", OP_STATE_DIR, 1, 1, 0},
    {"control-socket", OP_CONTROL, 1, 1, 0},
    {"user", OP_USER, 1, 1, 0},
    {"log-level", OP_LOG_LEVEL, 1, 1, 0},
    {"heartbeat", OP_HEARTBEAT, 1, 1, 0},
    {"channel-idle", OP_CHANNEL_IDLE, 1, 1, 0},
    {"pool-max", OP_POOL_MAX, 1, 1, 0},
    {"issuer", OP_ISSUER, 1, 1, 0},
    {"access-token-lifetime", OP_ACCESS_TTL, 1, 1, 0},
    {"refresh-token-lifetime", OP_REFRESH_TTL, 1, 1, 0},
    {"users", OP_USERS, 1, 1, 0},
    {"provider", OP_PROVIDER, 4, 4, 1},
    {"provider-ca", OP_PROVIDER_CA, 1, 1, 0},
    {"http-head-max", OP_HTTP_HEAD_MAX, 1, 1, 0},
    {"http-line-max", OP_HTTP_LINE_MAX, 1, 1, 0},
    {"http-fields-max", OP_HTTP_FIELDS_MAX, 1, 1, 0},
    {"http-body-max", OP_HTTP_BODY_MAX, 1, 1, 0},
    {"http-idle-timeout", OP_HTTP_IDLE, 1, 1, 0},
    {"http-upstream-timeout", OP_HTTP_UPSTREAM, 1, 1, 0},
    {"http-session-lifetime", OP_HTTP_SESSION_TTL, 1, 1, 0},
};

void
edge_conf_free(struct edge_conf *c)
{
	int i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->domain);
	free(c->cert);
	free(c->key);
	free(c->state_dir);
	free(c->control_socket);
	free(c->user);
	free(c->issuer);
	for (i = 0; i < c->nproviders; i++) {
		free(c->providers[i].name);
		free(c->providers[i].issuer);
		free(c->providers[i].client_id);
		free(c->providers[i].secret_file);
	}
	free(c->provider_ca);
	free(c);
}

static int
is_literal_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* A DNS name we can put socket names under: lower-case LDH labels. */
static int
domain_valid(const char *s)
{
	size_t i, label = 0, n = strlen(s);

	if (n == 0 || n > 200 || s[0] == '.' || s[n - 1] == '.' ||
	    s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') ||
			(s[i] == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

static int
parse_listen(
    const struct b0_conf_line *l, struct edge_addr *a, struct b0_errmsg *em)
{
	int r;

	r = b0_parse_listen(l->argv[1], a->host, sizeof(a->host), &a->port);
	if (r == 0 && !is_literal_ip(a->host))
		r = B0_ERR_FORMAT;
	if (r == B0_ERR_RANGE)
		return b0_conf_error(em, l,
		    "listen: port of \"%s\" is not "
		    "from 0 to 65535",
		    l->argv[1]);
	if (r != 0)
		return b0_conf_error(em, l,
		    "listen: \"%s\" is not ADDRESS:PORT "
		    "with a literal address (0.0.0.0:443, [::]:443)",
		    l->argv[1]);
	return 0;
}

static int
parse_range(const struct b0_conf_line *l, uint16_t *lo, uint16_t *hi,
    struct b0_errmsg *em)
{
	const char *s = l->argv[1], *dash = strchr(s, '-');
	uint32_t a, b;

	if (dash == NULL ||
	    b0_parse_u32n(s, (size_t)(dash - s), 1, 65535, &a) != 0 ||
	    b0_parse_u32(dash + 1, 1, 65535, &b) != 0 || b < a)
		return b0_conf_error(em, l,
		    "tcp-ports: \"%s\" is not a range "
		    "LOW-HIGH of ports (like 20000-29999)",
		    s);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/*
 * An https URL fit for an OAuth issuer: "https://" HOST [":" PORT] [PATH],
 * HOST a lower-case DNS name, no user info, query, fragment or trailing
 * slash.  The edge's own issuer takes no path (its endpoints sit at /);
 * with host non-NULL the host is copied there.
 */
static int
https_url_valid(const char *s, int path_ok, char *host, size_t hostsz)
{
	const char *h, *end, *colon;
	char name[256];
	uint32_t port;
	size_t n, i;

	if (!b0_str_has_prefix(s, "https://") || strlen(s) > 512)
		return 0;
	h = s + 8;
	end = h + strcspn(h, "/");
	if (*end != '\0' && !path_ok)
		return 0;
	colon = memchr(h, ':', (size_t)(end - h));
	n = (size_t)((colon != NULL ? colon : end) - h);
	if (n == 0 || n >= sizeof(name))
		return 0;
	memcpy(name, h, n);
	name[n] = '\0';
	if (!domain_valid(name))
		return 0;
	if (colon != NULL && b0_parse_u32n(colon + 1, (size_t)(end - colon - 1),
				 1, 65535, &port) != 0)
		return 0;
	for (i = 0; end[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)end[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' ||
		    ch == '\\')
			return 0;
	}
	if (*end != '\0' && end[strlen(end) - 1] == '/')
		return 0;
	if (host != NULL && b0_strlcpy(host, name, hostsz) >= hostsz)
		return 0;
	return 1;
}

/*
 * A provider on the edge host itself (and the tests' provider) may use
 * plain http to 127.0.0.1 or [::1]: nothing crosses a network.  Port and
 * path follow https_url_valid().
 */
static int
loopback_http_url_valid(const char *s)
{
	const char *rest;
	char u[520];

	if (b0_str_has_prefix(s, "http://127.0.0.1"))
		rest = s + 16;
	else if (b0_str_has_prefix(s, "http://[::1]"))
		rest = s + 12;
	else
		return 0;
	return (*rest == '\0' || *rest == ':' || *rest == '/') &&
	       (size_t)snprintf(u, sizeof(u), "https://127.0.0.1%s", rest) <
		   sizeof(u) &&
	       https_url_valid(u, 1, NULL, 0);
}

/* provider NAME ISSUER CLIENT-ID SECRET-FILE */
static int
parse_provider(
    const struct b0_conf_line *l, struct edge_conf *c, struct b0_errmsg *em)
{
	struct edge_provider *p;
	const char *name = l->argv[1], *cid = l->argv[3];
	size_t i, n = strlen(name);
	int r;

	if (c->nproviders == EDGE_MAX_PROVIDERS)
		return b0_conf_error(
		    em, l, "at most %d providers", EDGE_MAX_PROVIDERS);
	if (n == 0 || n > 32 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
			 "0123456789-") != n)
		return b0_conf_error(em, l,
		    "provider: name \"%s\" is not 1 to 32 of a-z, 0-9 "
		    "and -",
		    name);
	for (i = 0; i < (size_t)c->nproviders; i++)
		if (strcmp(c->providers[i].name, name) == 0)
			return b0_conf_error(
			    em, l, "provider: %s is named twice", name);
	if (!https_url_valid(l->argv[2], 1, NULL, 0) &&
	    !loopback_http_url_valid(l->argv[2]))
		return b0_conf_error(em, l,
		    "provider %s: issuer \"%s\" is not an https URL "
		    "(https://host[:port][/path], no trailing slash)",
		    name, l->argv[2]);
	n = strlen(cid);
	for (i = 0; i < n; i++)
		if ((unsigned char)cid[i] <= 0x20 ||
		    (unsigned char)cid[i] >= 0x7f)
			break;
	if (n == 0 || n > 256 || i < n)
		return b0_conf_error(em, l,
		    "provider %s: client id is not 1 to 256 printable "
		    "characters",
		    name);
	if (l->argv[4][0] != '/')
		return b0_conf_error(em, l,
		    "provider %s: secret file \"%s\" is not an absolute "
		    "path",
		    name, l->argv[4]);
	p = &c->providers[c->nproviders++];
	if ((r = b0_conf_strdup(l, 1, &p->name, em)) != 0 ||
	    (r = b0_conf_strdup(l, 2, &p->issuer, em)) != 0 ||
	    (r = b0_conf_strdup(l, 3, &p->client_id, em)) != 0 ||
	    (r = b0_conf_strdup(l, 4, &p->secret_file, em)) != 0)
		return r;
	return 0;
}

static int
set_defaults(struct edge_conf *c)
{
	if (c->nlisten == 0) {
		strcpy(c->listen[0].host, "0.0.0.0");
		c->listen[0].port = 443;
		strcpy(c->listen[1].host, "::");
		c->listen[1].port = 443;
		c->nlisten = 2;
	}
	if (c->ntcp_listen == 0) {
		strcpy(c->tcp_listen[0], "0.0.0.0");
		strcpy(c->tcp_listen[1], "::");
		c->ntcp_listen = 2;
	}
	if (c->port_lo == 0) {
		c->port_lo = 20000;
		c->port_hi = 29999;
	}
	if ((c->state_dir == NULL &&
		(c->state_dir = strdup("/var/lib/b0-edge")) == NULL) ||
	    (c->control_socket == NULL &&
		(c->control_socket = strdup("/run/b0-edge/control.sock")) ==
		    NULL))
		return B0_ERR_ALLOC;
	return 0;
}

int
edge_conf_load(const char *path, struct edge_conf **cp, struct b0_errmsg *em)
{
	struct edge_conf *c = NULL;
	struct b0_conf *rd = NULL;
	struct b0_conf_line l;
	unsigned seen[OP_MAX] = {0};
	char issuer_host[256] = "";
	uint64_t ms, sz;
	uint32_t u;
	int op, r;

	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	c->log_level = B0_LOG_INFO;
	c->heartbeat_ms = 10000;
	c->channel_idle_ms = 600000;
	c->pool_max = 64;
	c->access_ttl_s = 600;
	c->refresh_ttl_s = 30 * 86400;
	c->builtin_users = 1;
	c->http_head_max = B0_HTTP_HEAD_MAX;
	c->http_line_max = B0_HTTP_LINE_MAX;
	c->http_fields_max = B0_HTTP_FIELDS_MAX;
	c->http_body_max = 0;
	c->http_idle_ms = 60000;
	c->http_upstream_ms = 60000;
	c->http_session_ttl_s = 43200;
	if ((r = b0_conf_open(path, B0_FILE_NO_WRITE_OTHERS, &rd, em)) != 0)
		goto out;
	while ((r = b0_conf_next(rd, &l, em)) == 1) {
		if ((op = b0_conf_lookup(keywords,
			 sizeof(keywords) / sizeof(keywords[0]), &l, seen,
			 OP_MAX, em)) < 0) {
			r = op;
			goto out;
		}
		r = 0;
		switch (op) {
		case OP_DOMAIN:
			if (!domain_valid(l.argv[1])) {
				r = b0_conf_error(em, &l,
				    "domain: \"%s\" is "
				    "not a lower-case DNS name",
				    l.argv[1]);
				break;
			}
			r = b0_conf_strdup(&l, 1, &c->domain, em);
			break;
		case OP_LISTEN:
			if (c->nlisten == EDGE_MAX_LISTEN) {
				r = b0_conf_error(em, &l,
				    "at most %d listen "
				    "addresses",
				    EDGE_MAX_LISTEN);
				break;
			}
			r = parse_listen(&l, &c->listen[c->nlisten++], em);
			break;
		case OP_CERT:
			r = b0_conf_strdup(&l, 1, &c->cert, em);
			break;
		case OP_KEY:
			r = b0_conf_strdup(&l, 1, &c->key, em);
			break;
		case OP_TCP_PORTS:
			r = parse_range(&l, &c->port_lo, &c->port_hi, em);
			break;
		case OP_TCP_LISTEN:
			if (c->ntcp_listen == EDGE_MAX_LISTEN) {
				r = b0_conf_error(em, &l,
				    "at most %d "
				    "tcp-listen addresses",
				    EDGE_MAX_LISTEN);
				break;
			}
			if (!is_literal_ip(l.argv[1]) ||
			    strlen(l.argv[1]) >= sizeof(c->tcp_listen[0])) {
				r = b0_conf_error(em, &l,
				    "tcp-listen: \"%s\" "
				    "is not a literal IP address",
				    l.argv[1]);
				break;
			}
			strcpy(c->tcp_listen[c->ntcp_listen++], l.argv[1]);
			break;
		case OP_STATE_DIR:
			r = b0_conf_strdup(&l, 1, &c->state_dir, em);
			break;
		case OP_CONTROL:
			r = b0_conf_strdup(&l, 1, &c->control_socket, em);
			break;
		case OP_USER:
			r = b0_conf_strdup(&l, 1, &c->user, em);
			break;
		case OP_LOG_LEVEL:
			r = b0_conf_log_level(&l, 1, &c->log_level, em);
			break;
		case OP_HEARTBEAT:
			r = b0_conf_duration_ms(
			    &l, 1, 1000, 3600000, &c->heartbeat_ms, em);
			break;
		case OP_CHANNEL_IDLE:
			r = b0_conf_duration_ms(
			    &l, 1, 1000, 86400000, &c->channel_idle_ms, em);
			break;
		case OP_POOL_MAX:
			r = b0_conf_u32(&l, 1, 1, 4096, &u, em);
			c->pool_max = u;
			break;
		case OP_ISSUER:
			if (!https_url_valid(l.argv[1], 0, issuer_host,
				sizeof(issuer_host))) {
				r = b0_conf_error(em, &l,
				    "issuer: \"%s\" is not https://HOST or "
				    "https://HOST:PORT (lower-case, no path)",
				    l.argv[1]);
				break;
			}
			r = b0_conf_strdup(&l, 1, &c->issuer, em);
			break;
		case OP_ACCESS_TTL:
			r = b0_conf_duration_ms(
			    &l, 1, 60000, 86400000, &ms, em);
			c->access_ttl_s = ms / 1000;
			break;
		case OP_REFRESH_TTL:
			r = b0_conf_duration_ms(
			    &l, 1, 60000, 366 * 86400000ULL, &ms, em);
			c->refresh_ttl_s = ms / 1000;
			break;
		case OP_USERS:
			if (strcmp(l.argv[1], "builtin") == 0)
				c->builtin_users = 1;
			else if (strcmp(l.argv[1], "none") == 0)
				c->builtin_users = 0;
			else
				r = b0_conf_error(em, &l,
				    "users: \"%s\" is not builtin or none",
				    l.argv[1]);
			break;
		case OP_PROVIDER:
			r = parse_provider(&l, c, em);
			break;
		case OP_PROVIDER_CA:
			r = b0_conf_strdup(&l, 1, &c->provider_ca, em);
			break;
		case OP_HTTP_HEAD_MAX:
			/* The front door reads a first request this large. */
			r = b0_conf_size(&l, 1, 1024, 32768, &sz, em);
			c->http_head_max = (size_t)sz;
			break;
		case OP_HTTP_LINE_MAX:
			r = b0_conf_size(&l, 1, 256, 32768, &sz, em);
			c->http_line_max = (size_t)sz;
			break;
		case OP_HTTP_FIELDS_MAX:
			r = b0_conf_u32(&l, 1, 1, B0_HTTP_FIELDS_MAX, &u, em);
			c->http_fields_max = u;
			break;
		case OP_HTTP_BODY_MAX:
			r = b0_conf_size(&l, 1, 0, UINT64_MAX, &sz, em);
			c->http_body_max = sz;
			break;
		case OP_HTTP_IDLE:
			r = b0_conf_duration_ms(
			    &l, 1, 1000, 86400000, &c->http_idle_ms, em);
			break;
		case OP_HTTP_UPSTREAM:
			r = b0_conf_duration_ms(
			    &l, 1, 1000, 86400000, &c->http_upstream_ms, em);
			break;
		case OP_HTTP_SESSION_TTL:
			r = b0_conf_duration_ms(
			    &l, 1, 60000, 366 * 86400000ULL, &ms, em);
			c->http_session_ttl_s = ms / 1000;
			break;
		}
		if (r != 0)
			goto out;
	}
	if (r < 0)
		goto out;
	r = B0_ERR_CONFIG;
	if (c->domain == NULL) {
		b0_err_set(em,
		    "%s: \"domain\" is required (the DNS name "
		    "whose subdomains name the sockets)",
		    path);
		goto out;
	}
	if (c->cert == NULL || c->key == NULL) {
		b0_err_set(em,
		    "%s: \"certificate\" and \"key\" are required "
		    "(a certificate for %s and *.%s)",
		    path, c->domain, c->domain);
		goto out;
	}
	if (c->issuer != NULL && strcmp(issuer_host, c->domain) != 0) {
		b0_err_set(em,
		    "%s:%u: issuer: host %s is not the domain %s (the "
		    "issuer's endpoints are served for the domain)",
		    path, seen[OP_ISSUER], issuer_host, c->domain);
		goto out;
	}
	if ((r = set_defaults(c)) != 0)
		goto out;
	*cp = c;
	c = NULL;
	r = 0;
out:
	b0_conf_free(rd);
	edge_conf_free(c);
	return r;
}
