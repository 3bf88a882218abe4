/*
 * proxy.conf: which edge serves which socket names, and whom to trust.
 *
 *	edge DOMAIN [ADDRESS:PORT]   *.DOMAIN goes to this edge (at ADDRESS)
 *	ca FILE                      trust these CAs, not the system's
 *
 * The same keywords exist as options (--edge, --connect, --ca), which win
 * over the file.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_conf.h"
#include "b0_file.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "proxy.h"

enum { OP_EDGE = 0, OP_CA, OP_MAX };

static const struct b0_conf_keyword keywords[] = {
    {"edge", OP_EDGE, 1, 2, 1},
    {"ca", OP_CA, 1, 1, 0},
};

static const char *
home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && h[0] == '/')
		return h;
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    pw->pw_dir[0] == '/')
		return pw->pw_dir;
	return NULL;
}

/* $VAR/sub if VAR is an absolute path, else ~/dflt/sub (XDG base dirs). */
static int
xdg_path(
    const char *var, const char *dflt, const char *sub, char *buf, size_t size)
{
	const char *x = getenv(var), *home;
	int n;

	if (x != NULL && x[0] == '/')
		n = snprintf(buf, size, "%s/%s", x, sub);
	else if ((home = home_dir()) != NULL)
		n = snprintf(buf, size, "%s/%s/%s", home, dflt, sub);
	else
		return B0_ERR_NOT_FOUND;
	if (n < 0 || (size_t)n >= size)
		return B0_ERR_TOO_BIG;
	return 0;
}

int
px_conf_default_path(char *buf, size_t size)
{
	return xdg_path(
	    "XDG_CONFIG_HOME", ".config", "b0/proxy.conf", buf, size);
}

int
px_conf_init(struct px_conf *c, struct b0_errmsg *em)
{
	char dir[PATH_MAX];

	memset(c, 0, sizeof(*c));
	if (xdg_path("XDG_CACHE_HOME", ".cache", "b0", dir, sizeof(dir)) != 0) {
		b0_err_set(em, "cannot find the cache directory: set HOME or "
			       "XDG_CACHE_HOME");
		return B0_ERR_CONFIG;
	}
	if ((c->cache_dir = strdup(dir)) == NULL)
		return B0_ERR_ALLOC;
	return 0;
}

int
px_name_check(const char *name, char *out, size_t outsz)
{
	size_t i, n = strlen(name), label = 0;

	if (n > 0 && name[n - 1] == '.')
		n--; /* one trailing dot, as in "host.example.com." */
	if (n == 0 || n > PX_NAME_MAX || n + 1 > outsz)
		return B0_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		char ch = b0_ascii_lower(name[i]);

		if (ch == '.') {
			if (label == 0 || name[i - 1] == '-')
				return B0_ERR_FORMAT;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') ||
			   (ch >= '0' && ch <= '9') || ch == '_' ||
			   (ch == '-' && label > 0)) {
			if (++label > 63)
				return B0_ERR_FORMAT;
		} else {
			return B0_ERR_FORMAT;
		}
		out[i] = ch;
	}
	if (name[n - 1] == '-')
		return B0_ERR_FORMAT;
	out[n] = '\0';
	return 0;
}

static int
edge_set(struct px_conf *c, const char *domain, const char *connect,
    int replace, struct b0_errmsg *em)
{
	char dom[PX_NAME_MAX + 1], host[256];
	struct px_edge *e = NULL, *ne;
	uint16_t port = 443;
	char *addr = NULL;
	size_t i;

	if (px_name_check(domain, dom, sizeof(dom)) != 0) {
		b0_err_set(em, "edge: \"%s\" is not a DNS name", domain);
		return B0_ERR_CONFIG;
	}
	if (connect != NULL) {
		if (b0_parse_hostport(connect, host, sizeof(host), &port) !=
		    0) {
			b0_err_set(em,
			    "edge %s: \"%s\" is not ADDRESS:PORT (e.g. "
			    "192.0.2.1:443, [2001:db8::1]:443)",
			    dom, connect);
			return B0_ERR_CONFIG;
		}
		if ((addr = strdup(host)) == NULL)
			return B0_ERR_ALLOC;
	}
	for (i = 0; i < c->nedges; i++) {
		if (strcmp(c->edges[i].domain, dom) == 0)
			e = &c->edges[i];
	}
	if (e != NULL && !replace) {
		free(addr);
		b0_err_set(em, "edge %s is given twice", dom);
		return B0_ERR_CONFIG;
	}
	if (e == NULL) {
		ne = reallocarray(c->edges, c->nedges + 1, sizeof(*ne));
		if (ne == NULL) {
			free(addr);
			return B0_ERR_ALLOC;
		}
		c->edges = ne;
		e = &c->edges[c->nedges];
		memset(e, 0, sizeof(*e));
		if ((e->domain = strdup(dom)) == NULL) {
			free(addr);
			return B0_ERR_ALLOC;
		}
		c->nedges++;
	}
	/* --edge DOMAIN alone keeps the file's address for it. */
	if (addr != NULL || !replace) {
		free(e->addr);
		e->addr = addr;
		e->port = port;
	}
	if (e->port == 0)
		e->port = 443;
	return 0;
}

int
px_conf_set_edge(struct px_conf *c, const char *domain, const char *connect,
    struct b0_errmsg *em)
{
	return edge_set(c, domain, connect, 1, em);
}

int
px_conf_set_ca(struct px_conf *c, const char *file, struct b0_errmsg *em)
{
	char *s;

	if (file[0] == '\0') {
		b0_err_set(em, "ca: empty file name");
		return B0_ERR_CONFIG;
	}
	if ((s = strdup(file)) == NULL)
		return B0_ERR_ALLOC;
	free(c->ca);
	c->ca = s;
	return 0;
}

int
px_conf_load(
    struct px_conf *c, const char *path, int must_exist, struct b0_errmsg *em)
{
	struct b0_conf *cf = NULL;
	struct b0_conf_line l;
	unsigned seen[OP_MAX] = {0};
	int r, op;

	if (!must_exist && access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if ((r = b0_conf_open(path,
		 B0_FILE_OWNER_SELF | B0_FILE_NO_WRITE_OTHERS, &cf, em)) != 0)
		goto out;
	while ((r = b0_conf_next(cf, &l, em)) == 1) {
		if ((op = b0_conf_lookup(keywords,
			 sizeof(keywords) / sizeof(keywords[0]), &l, seen,
			 OP_MAX, em)) < 0) {
			r = op;
			goto out;
		}
		switch (op) {
		case OP_EDGE:
			r = edge_set(
			    c, l.argv[1], l.argc > 2 ? l.argv[2] : NULL, 0, em);
			break;
		case OP_CA:
			r = px_conf_set_ca(c, l.argv[1], em);
			break;
		default:
			r = B0_ERR_INTERNAL;
			break;
		}
		if (r != 0) {
			b0_err_prefix(em, "%s:%u", l.file, l.lineno);
			goto out;
		}
	}
out:
	b0_conf_free(cf);
	return r < 0 ? r : 0;
}

const struct px_edge *
px_conf_find(const struct px_conf *c, const char *name)
{
	const struct px_edge *best = NULL;
	size_t i, n = strlen(name), d;

	for (i = 0; i < c->nedges; i++) {
		d = strlen(c->edges[i].domain);
		if (n <= d + 1 || name[n - d - 1] != '.' ||
		    strcmp(name + n - d, c->edges[i].domain) != 0)
			continue;
		if (best == NULL || d > strlen(best->domain))
			best = &c->edges[i];
	}
	return best;
}

const struct px_edge *
px_conf_edge(const struct px_conf *c, const char *domain)
{
	size_t i;

	for (i = 0; i < c->nedges; i++) {
		if (b0_str_caseeq(c->edges[i].domain, domain))
			return &c->edges[i];
	}
	return NULL;
}

void
px_conf_cleanup(struct px_conf *c)
{
	size_t i;

	for (i = 0; i < c->nedges; i++) {
		free(c->edges[i].domain);
		free(c->edges[i].addr);
	}
	free(c->edges);
	free(c->ca);
	free(c->cache_dir);
	memset(c, 0, sizeof(*c));
}
