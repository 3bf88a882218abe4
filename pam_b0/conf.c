/*
 * pam_b0 configuration: the module's arguments and its configuration file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_conf.h"
#include "b0_file.h"
#include "b0_ident.h"
#include "b0_jwt.h"
#include "b0_str.h"

#include "pam_b0.h"

int
pam_b0_args(
    int argc, const char **argv, struct pam_b0_opts *o, struct b0_errmsg *em)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->conf = PAM_B0_CONF_DEFAULT;
	for (i = 0; i < argc; i++) {
		if (b0_str_has_prefix(argv[i], "conf=") &&
		    argv[i][strlen("conf=")] == '/')
			o->conf = argv[i] + strlen("conf=");
		else if (strcmp(argv[i], "prompt") == 0)
			o->prompt = 1;
		else if (strcmp(argv[i], "debug") == 0)
			o->debug = 1;
		else {
			b0_err_set(em,
			    "module argument \"%.64s\" is unknown (conf=/PATH, "
			    "prompt, debug)",
			    argv[i]);
			return B0_ERR_CONFIG;
		}
	}
	return 0;
}

void
pam_b0_conf_free(struct pam_b0_conf *c)
{
	size_t i;

	free(c->issuer);
	free(c->publisher);
	free(c->aud);
	for (i = 0; i < c->nsockets; i++)
		free(c->sockets[i]);
	free(c->jwks);
	free(c->ticket_socket);
	free(c->users);
	memset(c, 0, sizeof(*c));
}

enum {
	OP_ISSUER = 0,
	OP_PUBLISHER,
	OP_SOCKET,
	OP_JWKS,
	OP_TICKET_SOCKET,
	OP_USERS,
	OP_PROMPT,
	OP_SKEW,
	OP_COUNT
};

static const struct b0_conf_keyword keywords[] = {
    {"issuer", OP_ISSUER, 1, 1, 0},
    {"publisher", OP_PUBLISHER, 1, 1, 0},
    {"socket", OP_SOCKET, 1, 1, 1},
    {"jwks", OP_JWKS, 1, 1, 0},
    {"ticket-socket", OP_TICKET_SOCKET, 1, 1, 0},
    {"users", OP_USERS, 1, 1, 0},
    {"prompt", OP_PROMPT, 1, 1, 0},
    {"skew", OP_SKEW, 1, 1, 0},
};

/* An absolute path, for the files the module trusts. */
static int
conf_path(const struct b0_conf_line *l, char **out, struct b0_errmsg *em)
{
	if (l->argv[1][0] != '/')
		return b0_conf_error(em, l,
		    "%s: \"%s\" is not an absolute path", l->argv[0],
		    l->argv[1]);
	return b0_conf_strdup(l, 1, out, em);
}

static int
conf_line(struct pam_b0_conf *c, const struct b0_conf_line *l, int op,
    struct b0_errmsg *em)
{
	struct b0_errmsg sub;
	enum b0_ident_kind kind;
	uint32_t v;
	int r;

	switch (op) {
	case OP_ISSUER:
		if (!b0_str_has_prefix(l->argv[1], "https://"))
			return b0_conf_error(em, l,
			    "issuer: \"%s\" is not an https:// URL",
			    l->argv[1]);
		return b0_conf_strdup(l, 1, &c->issuer, em);
	case OP_PUBLISHER:
		if (strlen(l->argv[1]) > 64 || l->argv[1][0] == '\0' ||
		    strspn(l->argv[1], "abcdefghijklmnopqrstuvwxyz"
				       "0123456789-_.") != strlen(l->argv[1]))
			return b0_conf_error(em, l,
			    "publisher: \"%s\" is not a publisher name",
			    l->argv[1]);
		return b0_conf_strdup(l, 1, &c->publisher, em);
	case OP_SOCKET:
		if (c->nsockets == PAM_B0_MAX_SOCKETS)
			return b0_conf_error(
			    em, l, "socket: more than %d", PAM_B0_MAX_SOCKETS);
		b0_err_clear(&sub);
		if (b0_ident_parse(
			l->argv[1], strlen(l->argv[1]), &kind, &sub) != 0 ||
		    kind != B0_IDENT_DOMAIN)
			return b0_conf_error(em, l,
			    "socket: \"%s\" is not a DNS name", l->argv[1]);
		if ((r = b0_conf_strdup(l, 1, &c->sockets[c->nsockets], em)) !=
		    0)
			return r;
		c->nsockets++;
		return 0;
	case OP_JWKS:
		return conf_path(l, &c->jwks, em);
	case OP_TICKET_SOCKET:
		return conf_path(l, &c->ticket_socket, em);
	case OP_USERS:
		return conf_path(l, &c->users, em);
	case OP_PROMPT:
		return b0_conf_bool(l, 1, &c->prompt, em);
	case OP_SKEW:
		if ((r = b0_conf_u32(l, 1, 0, B0_JWT_MAX_SKEW, &v, em)) != 0)
			return r;
		c->skew = v;
		return 0;
	}
	return B0_ERR_INTERNAL;
}

static int
conf_default(char **p, const char *def)
{
	if (*p == NULL && (*p = strdup(def)) == NULL)
		return B0_ERR_ALLOC;
	return 0;
}

int
pam_b0_conf_load(const char *path, struct pam_b0_conf *c, struct b0_errmsg *em)
{
	struct b0_conf *cf = NULL;
	struct b0_conf_line l;
	unsigned seen[OP_COUNT];
	size_t n;
	int r, op;

	memset(c, 0, sizeof(*c));
	memset(seen, 0, sizeof(seen));
	c->skew = PAM_B0_SKEW_DEFAULT;
	if ((r = b0_conf_open(path,
		 B0_FILE_OWNER_ROOT | B0_FILE_NO_WRITE_OTHERS, &cf, em)) != 0)
		goto out;
	while ((r = b0_conf_next(cf, &l, em)) == 1) {
		if ((op = b0_conf_lookup(keywords,
			 sizeof(keywords) / sizeof(keywords[0]), &l, seen,
			 OP_COUNT, em)) < 0) {
			r = op;
			goto out;
		}
		if ((r = conf_line(c, &l, op, em)) != 0)
			goto out;
	}
	if (r != 0)
		goto out;
	r = B0_ERR_CONFIG;
	if (c->issuer == NULL) {
		b0_err_set(em, "%s: issuer is missing", path);
		goto out;
	}
	if (c->publisher == NULL) {
		b0_err_set(em, "%s: publisher is missing", path);
		goto out;
	}
	if (c->nsockets == 0) {
		b0_err_set(em, "%s: no socket line", path);
		goto out;
	}
	n = strlen("b0-publish:") + strlen(c->publisher) + 1;
	if ((c->aud = malloc(n)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	snprintf(c->aud, n, "b0-publish:%s", c->publisher);
	if ((r = conf_default(&c->jwks, PAM_B0_JWKS_DEFAULT)) != 0 ||
	    (r = conf_default(&c->ticket_socket, PAM_B0_TSOCK_DEFAULT)) != 0 ||
	    (r = conf_default(&c->users, "/etc/b0/users")) != 0)
		goto out;
	r = 0;
out:
	b0_conf_free(cf);
	return r;
}
