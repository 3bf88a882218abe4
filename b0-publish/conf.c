/*
 * b0-publish's configuration file.
 */
#include <sys/stat.h>

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "b0_buf.h"
#include "b0_conf.h"
#include "b0_file.h"
#include "b0_net.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "conf.h"
#include "policy.h"

enum {
	OP_EDGE,
	OP_SERVER_NAME,
	OP_EDGE_CA,
	OP_EDGE_PIN,
	OP_TOKEN_FILE,
	OP_PROXY,
	OP_POOL,
	OP_SOCKET,
	OP_CONTROL,
	OP_USER,
	OP_LOG_LEVEL,
	OP_JWKS_FILE,
	OP_TICKET_SOCKET,
	OP_TICKET_GROUP,
	OP_MAX
};

static const struct b0_conf_keyword keywords[] = {
    {"edge", OP_EDGE, 1, 1, 0},
    {"server-name", OP_SERVER_NAME, 1, 1, 0},
    {"edge-ca", OP_EDGE_CA, 1, 1, 0},
    {"edge-pin", OP_EDGE_PIN, 1, 1, 0},
    {"token-file", OP_TOKEN_FILE, 1, 1, 0},
    {"proxy", OP_PROXY, 1, 1, 0},
    {"pool", OP_POOL, 1, 1, 0},
    {"socket", OP_SOCKET, 2, 3, 1},
    {"control-socket", OP_CONTROL, 1, 1, 0},
    {"user", OP_USER, 1, 1, 0},
    {"log-level", OP_LOG_LEVEL, 1, 1, 0},
    {"jwks-file", OP_JWKS_FILE, 1, 1, 0},
    {"ticket-socket", OP_TICKET_SOCKET, 1, 1, 0},
    {"ticket-group", OP_TICKET_GROUP, 1, 1, 0},
};

struct pub_conf *
pub_conf_new(void)
{
	struct pub_conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->pool = 4;
	c->log_level = B0_LOG_INFO;
	if ((c->jwks_file = strdup(PUB_JWKS_DEFAULT)) == NULL ||
	    (c->ticket_socket = strdup(PUB_TICKETS_DEFAULT)) == NULL) {
		pub_conf_free(c);
		return NULL;
	}
	return c;
}

void
pub_conf_free(struct pub_conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->server_name);
	free(c->edge_ca);
	free(c->edge_pin);
	free(c->token_file);
	if (c->proxy != NULL)
		b0_str_wipe_free(c->proxy);
	free(c->socks);
	free(c->control_socket);
	free(c->user);
	free(c->jwks_file);
	free(c->ticket_socket);
	free(c->ticket_group);
	free(c);
}

/* jwks-file and ticket-socket: an absolute path, or "none" (off). */
static int
conf_path_or_none(
    const struct b0_conf_line *l, char **out, struct b0_errmsg *em)
{
	if (strcmp(l->argv[1], "none") == 0) {
		free(*out);
		*out = NULL;
		return 0;
	}
	if (l->argv[1][0] != '/' || l->argv[1][strlen(l->argv[1]) - 1] == '/')
		return b0_conf_error(em, l,
		    "%s: \"%s\" is not an absolute path to a file (or none)",
		    l->argv[0], l->argv[1]);
	return b0_conf_strdup(l, 1, out, em);
}

/* ticket-group: a group that exists; its gid into *gidp. */
static int
conf_group(
    const struct b0_conf_line *l, char **out, gid_t *gidp, struct b0_errmsg *em)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int e;

	if ((e = getgrnam_r(l->argv[1], &gr, buf, sizeof(buf), &res)) != 0 ||
	    res == NULL)
		return b0_conf_error(em, l, "ticket-group: no group \"%s\"%s%s",
		    l->argv[1], e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
	*gidp = gr.gr_gid;
	return b0_conf_strdup(l, 1, out, em);
}

int
pub_conf_add_socket(struct pub_conf *c, const char *name, const char *spec,
    const char *target, const char *where, struct b0_errmsg *em)
{
	struct pub_socket *ns, s;
	struct b0_spec sp;
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	if (!b0_proto_name_valid(name)) {
		b0_err_set(em,
		    "%s: socket name \"%s\" is not valid (1 to 32 of "
		    "a-z, 0-9 and -, not starting or ending with -)",
		    where, name);
		return B0_ERR_CONFIG;
	}
	for (i = 0; i < c->nsocks; i++) {
		if (strcmp(c->socks[i].name, name) == 0) {
			b0_err_set(em, "%s: socket \"%s\" is defined twice",
			    where, name);
			return B0_ERR_CONFIG;
		}
	}
	if ((r = b0_spec_parse(spec, &sp, em)) != 0) {
		b0_err_prefix(em, "%s", where);
		return B0_ERR_CONFIG;
	}
	if (sp.type != B0_SOCK_TCP && sp.type != B0_SOCK_TLS) {
		b0_err_set(em,
		    "%s: socket %s: %s sockets are not supported by "
		    "this b0-publish yet (tcp and tls only)",
		    where, name, b0_spec_type_name(sp.type));
		b0_spec_cleanup(&sp);
		return B0_ERR_UNSUPPORTED;
	}
	b0_strlcpy(s.name, name, sizeof(s.name));
	r = b0_spec_format(&sp, s.spec, sizeof(s.spec));
	s.target_port = sp.port;
	b0_spec_cleanup(&sp);
	if (r != 0)
		return r;
	if (target == NULL) {
		b0_strlcpy(s.target_host, "127.0.0.1", sizeof(s.target_host));
	} else if ((r = b0_parse_hostport(target, s.target_host,
			sizeof(s.target_host), &s.target_port)) != 0) {
		b0_err_set(em,
		    "%s: socket %s: target \"%s\" is not HOST:PORT "
		    "(like 127.0.0.1:22, lab-r1:22, [::1]:22)",
		    where, name, target);
		return B0_ERR_CONFIG;
	}
	snprintf(s.target, sizeof(s.target),
	    strchr(s.target_host, ':') ? "[%s]:%u" : "%s:%u", s.target_host,
	    (unsigned)s.target_port);
	if ((ns = realloc(c->socks, (c->nsocks + 1) * sizeof(*ns))) == NULL)
		return B0_ERR_ALLOC;
	c->socks = ns;
	c->socks[c->nsocks++] = s;
	return 0;
}

/* "http://[user:pass@]host:port": only the form; the dialer splits it. */
static int
proxy_valid(const char *s)
{
	const char *hp = s + 7, *at;
	char host[256];
	uint16_t port;

	if (strncmp(s, "http://", 7) != 0)
		return 0;
	if ((at = strrchr(hp, '@')) != NULL)
		hp = at + 1;
	if (hp[strlen(hp) - 1] == '/')
		return 0;
	return b0_parse_hostport(hp, host, sizeof(host), &port) == 0;
}

int
pub_conf_load(const char *path, struct pub_conf **cp, struct b0_errmsg *em)
{
	struct pub_conf *c = NULL;
	struct b0_conf *rd = NULL;
	struct b0_conf_line l;
	unsigned seen[OP_MAX] = {0};
	char where[300];
	struct stat st;
	int op, r;

	*cp = NULL;
	if ((c = pub_conf_new()) == NULL || (c->path = strdup(path)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
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
		case OP_EDGE:
			if (b0_parse_hostport(l.argv[1], c->edge_host,
				sizeof(c->edge_host), &c->edge_port) != 0)
				r = b0_conf_error(em, &l,
				    "edge: \"%s\" is not "
				    "HOST:PORT (like edge.example.com:443)",
				    l.argv[1]);
			break;
		case OP_SERVER_NAME:
			r = b0_conf_strdup(&l, 1, &c->server_name, em);
			break;
		case OP_EDGE_CA:
			r = b0_conf_strdup(&l, 1, &c->edge_ca, em);
			break;
		case OP_EDGE_PIN:
			if (strncmp(l.argv[1], "sha256//", 8) != 0) {
				r = b0_conf_error(em, &l,
				    "edge-pin: \"%s\" is "
				    "not sha256//<base64>",
				    l.argv[1]);
				break;
			}
			r = b0_conf_strdup(&l, 1, &c->edge_pin, em);
			break;
		case OP_TOKEN_FILE:
			r = b0_conf_strdup(&l, 1, &c->token_file, em);
			break;
		case OP_PROXY:
			if (!proxy_valid(l.argv[1])) {
				r = b0_conf_error(em, &l,
				    "proxy: not "
				    "http://[user:password@]host:port");
				break;
			}
			r = b0_conf_strdup(&l, 1, &c->proxy, em);
			break;
		case OP_POOL:
			r = b0_conf_u32(&l, 1, 1, 256, &c->pool, em);
			break;
		case OP_SOCKET:
			snprintf(
			    where, sizeof(where), "%s:%u", l.file, l.lineno);
			r = pub_conf_add_socket(c, l.argv[1], l.argv[2],
			    l.argc > 3 ? l.argv[3] : NULL, where, em);
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
		case OP_JWKS_FILE:
			r = conf_path_or_none(&l, &c->jwks_file, em);
			break;
		case OP_TICKET_SOCKET:
			r = conf_path_or_none(&l, &c->ticket_socket, em);
			break;
		case OP_TICKET_GROUP:
			r = conf_group(
			    &l, &c->ticket_group, &c->ticket_gid, em);
			break;
		}
		if (r != 0)
			goto out;
	}
	if (r < 0)
		goto out;
	r = B0_ERR_CONFIG;
	if (c->edge_port == 0) {
		b0_err_set(em,
		    "%s: \"edge\" is required (HOST:PORT of the "
		    "b0-edge, like edge.example.com:443)",
		    path);
		goto out;
	}
	if (c->token_file == NULL) {
		b0_err_set(em,
		    "%s: \"token-file\" is required (a file with "
		    "the token b0-edge token add printed, chmod 600)",
		    path);
		goto out;
	}
	if (c->proxy != NULL && strchr(c->proxy + 7, '@') != NULL &&
	    stat(path, &st) == 0 && (st.st_mode & 004) != 0) {
		b0_err_set(em,
		    "%s: holds a proxy password but anyone can read "
		    "it; run: chmod o-r %s",
		    path, path);
		r = B0_ERR_PERM;
		goto out;
	}
	if (c->control_socket == NULL &&
	    (c->control_socket = strdup("/run/b0-publish/control.sock")) ==
		NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	*cp = c;
	c = NULL;
	r = 0;
out:
	b0_conf_free(rd);
	pub_conf_free(c);
	return r;
}

int
pub_conf_resolve(struct pub_conf *c, struct b0_errmsg *em)
{
	size_t i;
	int r;

	for (i = 0; i < c->nsocks; i++) {
		struct pub_socket *s = &c->socks[i];

		if ((r = b0_net_resolve(s->target_host, s->target_port,
			 &s->addr, &s->addrlen, em)) != 0) {
			b0_err_prefix(em, "socket %s", s->name);
			return r;
		}
	}
	return 0;
}

int
pub_read_token(const char *path, char *token, size_t size, struct b0_errmsg *em)
{
	struct b0_buf b;
	const char *s;
	size_t n;
	int r;

	b0_buf_init(&b, 4096);
	b0_buf_set_secret(&b);
	if ((r = b0_file_read(
		 path, B0_FILE_PRIVATE | B0_FILE_OWNER_SELF, &b, em)) != 0)
		goto out;
	if ((r = b0_buf_cstr(&b, &s)) != 0) {
		b0_err_set(em, "%s: holds a NUL byte", path);
		goto out;
	}
	n = strcspn(s, "\r\n");
	if (s[n] != '\0' && s[n + strspn(s + n, "\r\n")] != '\0') {
		b0_err_set(em, "%s: more than one line", path);
		r = B0_ERR_FORMAT;
		goto out;
	}
	if (n == 0 || n >= size || strncmp(s, "b0pt.", 5) != 0) {
		b0_err_set(em,
		    "%s: not a publisher token (b0pt.<name>.<secret>"
		    ", as printed by b0-edge token add)",
		    path);
		r = B0_ERR_FORMAT;
		goto out;
	}
	memcpy(token, s, n);
	token[n] = '\0';
out:
	b0_buf_cleanup(&b);
	return r;
}
