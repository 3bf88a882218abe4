/*
 * b0-publish's configuration file.
 */
#include <sys/stat.h>

#include <crypt.h>
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
#include "b0_tls.h"
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
    {"socket", OP_SOCKET, 2, B0_CONF_MAX_ARGS - 1, 1},
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
	pub_socks_free(c->socks, c->nsocks);
	free(c->control_socket);
	free(c->user);
	free(c->jwks_file);
	free(c->ticket_socket);
	free(c->ticket_group);
	free(c);
}

void
pub_socks_free(struct pub_socket *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(s[i].password_file);
		free(s[i].tls_ca);
		free(s[i].httpserver);
		b0_tls_ctx_free(s[i].tls);
		OPENSSL_cleanse(s[i].prot_hash, sizeof(s[i].prot_hash));
	}
	free(s);
}

static void
sock_cleanup(struct pub_socket *s)
{
	free(s->password_file);
	free(s->tls_ca);
	free(s->httpserver);
	memset(s, 0, sizeof(*s));
}

/* The options of http and https sockets (docs/http.md). */
enum {
	SO_PROTECTED,
	SO_PASSWORD_FILE,
	SO_HOST,
	SO_TLS_CA,
	SO_TLS_NAME,
	SO_TLS_VERIFY,
	SO_MAX
};

static const struct {
	const char *name;
	int https_only;
} sock_opts[SO_MAX] = {
    {"protected", 0},
    {"password-file", 0},
    {"host", 0},
    {"tls-ca", 1},
    {"tls-name", 1},
    {"tls-verify", 1},
};

static int
sock_options(struct pub_socket *s, char *const *opts, size_t nopts,
    const char *where, struct b0_errmsg *em)
{
	int seen[SO_MAX] = {0};
	const char *eq, *v;
	size_t i, n;
	int o;

	for (i = 0; i < nopts; i++) {
		if ((eq = strchr(opts[i], '=')) == NULL) {
			b0_err_set(em,
			    "%s: socket %s: \"%s\" is not OPTION=VALUE "
			    "(after the target, only options)",
			    where, s->name, opts[i]);
			return B0_ERR_CONFIG;
		}
		n = (size_t)(eq - opts[i]);
		v = eq + 1;
		for (o = 0; o < SO_MAX; o++) {
			if (strlen(sock_opts[o].name) == n &&
			    strncmp(opts[i], sock_opts[o].name, n) == 0)
				break;
		}
		if (o == SO_MAX) {
			b0_err_set(em,
			    "%s: socket %s: unknown option \"%.*s\" "
			    "(protected, "
			    "password-file, host, tls-ca, tls-name, "
			    "tls-verify)",
			    where, s->name, (int)n, opts[i]);
			return B0_ERR_CONFIG;
		}
		if (seen[o]++) {
			b0_err_set(em, "%s: socket %s: %s is given twice",
			    where, s->name, sock_opts[o].name);
			return B0_ERR_CONFIG;
		}
		if (s->type != B0_SOCK_HTTP && s->type != B0_SOCK_HTTPS) {
			b0_err_set(em,
			    "%s: socket %s: %s is for http and https sockets, "
			    "not %s",
			    where, s->name, sock_opts[o].name,
			    b0_spec_type_name(s->type));
			return B0_ERR_CONFIG;
		}
		if (sock_opts[o].https_only && s->type != B0_SOCK_HTTPS) {
			b0_err_set(em,
			    "%s: socket %s: %s is for https sockets, not %s",
			    where, s->name, sock_opts[o].name,
			    b0_spec_type_name(s->type));
			return B0_ERR_CONFIG;
		}
		if (*v == '\0') {
			b0_err_set(em, "%s: socket %s: %s has no value", where,
			    s->name, sock_opts[o].name);
			return B0_ERR_CONFIG;
		}
		switch (o) {
		case SO_PROTECTED:
			if (!b0_proto_prot_user_valid(v)) {
				b0_err_set(em,
				    "%s: socket %s: protected=\"%s\" is not a "
				    "user name (1 to 64 visible ASCII "
				    "characters, no ':')",
				    where, s->name, v);
				return B0_ERR_CONFIG;
			}
			b0_strlcpy(s->prot_user, v, sizeof(s->prot_user));
			break;
		case SO_PASSWORD_FILE:
			if ((s->password_file = strdup(v)) == NULL)
				return B0_ERR_ALLOC;
			break;
		case SO_HOST:
			if (!b0_proto_host_valid(v)) {
				b0_err_set(em,
				    "%s: socket %s: host=\"%s\" is not a host "
				    "name or address, with an optional :port",
				    where, s->name, v);
				return B0_ERR_CONFIG;
			}
			b0_strlcpy(s->host, v, sizeof(s->host));
			break;
		case SO_TLS_CA:
			if ((s->tls_ca = strdup(v)) == NULL)
				return B0_ERR_ALLOC;
			break;
		case SO_TLS_NAME:
			if (!b0_proto_host_valid(v) || strchr(v, ':') != NULL) {
				b0_err_set(em,
				    "%s: socket %s: tls-name=\"%s\" is not a "
				    "DNS name or an IP address",
				    where, s->name, v);
				return B0_ERR_CONFIG;
			}
			b0_strlcpy(s->tls_name, v, sizeof(s->tls_name));
			break;
		case SO_TLS_VERIFY:
			if (strcmp(v, "no") != 0 && strcmp(v, "yes") != 0) {
				b0_err_set(em,
				    "%s: socket %s: tls-verify=\"%s\" is not "
				    "yes or no",
				    where, s->name, v);
				return B0_ERR_CONFIG;
			}
			s->tls_verify = strcmp(v, "yes") == 0;
			break;
		}
	}
	if (seen[SO_PROTECTED] != seen[SO_PASSWORD_FILE]) {
		b0_err_set(em, "%s: socket %s: %s", where, s->name,
		    seen[SO_PROTECTED] ? "protected needs password-file"
				       : "password-file needs protected");
		return B0_ERR_CONFIG;
	}
	if (!s->tls_verify && seen[SO_TLS_CA]) {
		b0_err_set(em,
		    "%s: socket %s: tls-ca and tls-verify=no contradict "
		    "each other",
		    where, s->name);
		return B0_ERR_CONFIG;
	}
	return 0;
}

/* The name an https target is verified as and sent in SNI. */
static void
sock_tls_name(struct pub_socket *s)
{
	size_t n;

	if (s->type != B0_SOCK_HTTPS || s->tls_name[0] != '\0')
		return;
	if (s->host[0] == '\0') {
		b0_strlcpy(s->tls_name, s->target_host, sizeof(s->tls_name));
		return;
	}
	/* host= without its port ("[::1]:8443" is "[::1]"). */
	if (s->host[0] == '[')
		n = strcspn(s->host, "]") + 1;
	else
		n = strcspn(s->host, ":");
	if (n >= sizeof(s->tls_name))
		n = sizeof(s->tls_name) - 1;
	memcpy(s->tls_name, s->host, n);
	s->tls_name[n] = '\0';
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
	return pub_conf_add_socket_opts(
	    c, name, spec, target, NULL, 0, where, em);
}

int
pub_conf_add_socket_opts(struct pub_conf *c, const char *name, const char *spec,
    const char *target, char *const *opts, size_t nopts, const char *where,
    struct b0_errmsg *em)
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
	b0_strlcpy(s.name, name, sizeof(s.name));
	b0_strlcpy(s.where, where, sizeof(s.where));
	s.type = (int)sp.type;
	s.tls_verify = 1;
	r = b0_spec_format(&sp, s.spec, sizeof(s.spec));
	s.target_port = sp.port;
	b0_spec_cleanup(&sp);
	if (r != 0)
		return r;
	if ((r = sock_options(&s, opts, nopts, where, em)) != 0)
		goto fail;
	r = B0_ERR_CONFIG;
	if (target == NULL) {
		b0_strlcpy(s.target_host, "127.0.0.1", sizeof(s.target_host));
	} else if (b0_parse_hostport(target, s.target_host,
		       sizeof(s.target_host), &s.target_port) != 0) {
		b0_err_set(em,
		    "%s: socket %s: target \"%s\" is not HOST:PORT "
		    "(like 127.0.0.1:22, lab-r1:22, [::1]:22)",
		    where, name, target);
		goto fail;
	}
	snprintf(s.target, sizeof(s.target),
	    strchr(s.target_host, ':') ? "[%s]:%u" : "%s:%u", s.target_host,
	    (unsigned)s.target_port);
	sock_tls_name(&s);
	if ((ns = realloc(c->socks, (c->nsocks + 1) * sizeof(*ns))) == NULL) {
		r = B0_ERR_ALLOC;
		goto fail;
	}
	c->socks = ns;
	c->socks[c->nsocks++] = s;
	return 0;
fail:
	sock_cleanup(&s);
	return r;
}

/* Read a password file and keep only its yescrypt hash. */
static int
hash_password(struct pub_socket *s, struct b0_errmsg *em)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	struct b0_buf b;
	const char *pw, *h;
	char *line = NULL;
	size_t n;
	int r;

	b0_buf_init(&b, 4096);
	b0_buf_set_secret(&b);
	if ((r = b0_file_read(s->password_file,
		 B0_FILE_PRIVATE | B0_FILE_OWNER_SELF, &b, em)) != 0)
		goto out;
	r = B0_ERR_FORMAT;
	if (b0_buf_cstr(&b, &pw) != 0) {
		b0_err_set(em, "%s: holds a NUL byte", s->password_file);
		goto out;
	}
	n = strcspn(pw, "\r\n");
	if (pw[n] != '\0' && pw[n + strspn(pw + n, "\r\n")] != '\0') {
		b0_err_set(em, "%s: more than one line", s->password_file);
		goto out;
	}
	if (n == 0) {
		b0_err_set(em, "%s: the password is empty", s->password_file);
		goto out;
	}
	r = B0_ERR_ALLOC;
	if ((line = malloc(n + 1)) == NULL ||
	    (cd = calloc(1, sizeof(*cd))) == NULL)
		goto out;
	memcpy(line, pw, n);
	line[n] = '\0';
	r = B0_ERR_CRYPTO;
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL) {
		b0_err_set(em, "cannot make a yescrypt salt");
		goto out;
	}
	if ((h = crypt_r(line, salt, cd)) == NULL || h[0] == '*' ||
	    !b0_proto_prot_hash_valid(h) || strlen(h) >= sizeof(s->prot_hash)) {
		b0_err_set(em, "yescrypt failed");
		goto out;
	}
	b0_strlcpy(s->prot_hash, h, sizeof(s->prot_hash));
	r = 0;
out:
	if (line != NULL)
		b0_str_wipe_free(line);
	if (cd != NULL) {
		OPENSSL_cleanse(cd, sizeof(*cd));
		free(cd);
	}
	b0_buf_cleanup(&b);
	return r;
}

static int
make_tls(struct pub_socket *s, struct b0_errmsg *em)
{
	static const char *const alpn[] = {"http/1.1", NULL};
	struct b0_tls_config tc;

	memset(&tc, 0, sizeof(tc));
	tc.ca = s->tls_ca;
	tc.alpn = alpn;
	return b0_tls_ctx_new_client(&tc, &s->tls, em);
}

int
pub_conf_prepare(struct pub_conf *c, struct b0_errmsg *em)
{
	size_t i;
	int r;

	for (i = 0; i < c->nsocks; i++) {
		struct pub_socket *s = &c->socks[i];

		if (s->password_file != NULL && s->prot_hash[0] == '\0' &&
		    (r = hash_password(s, em)) != 0) {
			b0_err_prefix(em, "%s: socket %s: password-file",
			    s->where, s->name);
			return r;
		}
		if (s->type == B0_SOCK_HTTPS && s->tls == NULL &&
		    (r = make_tls(s, em)) != 0) {
			b0_err_prefix(em, "%s: socket %s: %s", s->where,
			    s->name, s->tls_ca ? "tls-ca" : "system CAs");
			return r;
		}
	}
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
	int op, r, tgt;

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
			/* A target has no '='; options do. */
			tgt = l.argc > 3 && strchr(l.argv[3], '=') == NULL;
			r = pub_conf_add_socket_opts(c, l.argv[1], l.argv[2],
			    tgt ? l.argv[3] : NULL, l.argv + 3 + tgt,
			    (size_t)(l.argc - 3 - tgt > 0 ? l.argc - 3 - tgt
							  : 0),
			    where, em);
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

		if (s->httpserver != NULL)
			continue; /* the built-in server: pub_run() */
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
