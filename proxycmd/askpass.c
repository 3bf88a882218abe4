/*
 * b0-proxy askpass PROMPT: the SSH_ASKPASS helper that answers pam_b0's
 * token prompts (docs/pam.md, "Prompting for a token").  OpenSSH cuts a
 * keyboard-interactive answer at 1023 bytes, so the token goes in parts of
 * at most 1000 bytes: for "b0-token part <i>: " or "b0-token part <i>/<n>: "
 * it prints "<i>/<n> <part i>".  Any other prompt (a password, a host key
 * question) gets nothing and exit status 1: this never answers a prompt it
 * was not made for.  OpenSSH 8.4 and later put "(user@host) " before the
 * prompt; host must then be under the edge whose token we send.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b0_parse.h"
#include "b0_str.h"
#include "proxy.h"

#define PART_MAX 1000
#define PARTS_MAX 16

/* 1..16 in decimal, no leading zero: exactly what pam_b0 asks. */
static int
small_num(const char *s, size_t n, unsigned *out)
{
	if (n == 0 || n > 2 || s[0] < '1' || s[0] > '9' ||
	    (n == 2 && (s[1] < '0' || s[1] > '9')))
		return -1;
	*out = (unsigned)(s[0] - '0');
	if (n == 2)
		*out = *out * 10 + (unsigned)(s[1] - '0');
	return *out >= 1 && *out <= PARTS_MAX ? 0 : -1;
}

/*
 * OpenSSH (since 8.4) shows keyboard-interactive prompts as "(user@host)
 * prompt": take host, which must be a DNS name, into host.  Returns the
 * rest of the prompt, or NULL if the prefix is malformed.
 */
static const char *
ssh_prefix(const char *p, char *host, size_t hostsz)
{
	const char *close, *at;
	char name[PX_NAME_MAX + 1];
	size_t n;

	host[0] = '\0';
	if (p[0] != '(')
		return p;
	if ((close = strstr(p, ") ")) == NULL)
		return NULL;
	for (at = close; at > p && *at != '@'; at--)
		;
	if (at == p || at == p + 1 || (n = (size_t)(close - at - 1)) == 0 ||
	    n >= sizeof(name))
		return NULL;
	memcpy(name, at + 1, n);
	name[n] = '\0';
	if (px_name_check(name, host, hostsz) != 0)
		return NULL;
	return close + 2;
}

int
px_askpass_prompt(
    const char *prompt, unsigned *ip, unsigned *np, char *host, size_t hostsz)
{
	static const char head[] = "b0-token part ";
	const char *p, *end, *slash;

	*ip = *np = 0;
	if ((p = ssh_prefix(prompt, host, hostsz)) == NULL)
		return -1;
	if (strncmp(p, head, sizeof(head) - 1) != 0)
		return -1;
	p += sizeof(head) - 1;
	if ((end = strchr(p, ':')) == NULL || strcmp(end, ": ") != 0)
		return -1;
	if ((slash = memchr(p, '/', (size_t)(end - p))) == NULL)
		return small_num(p, (size_t)(end - p), ip);
	if (small_num(p, (size_t)(slash - p), ip) != 0 ||
	    small_num(slash + 1, (size_t)(end - slash - 1), np) != 0 ||
	    *ip > *np)
		return -1;
	return 0;
}

/* 1 if host is e's domain or a name under it. */
static int
under(const struct px_conf *c, const struct px_edge *e, const char *host)
{
	return b0_str_caseeq(host, e->domain) || px_conf_find(c, host) == e;
}

/*
 * The edge: B0_HOST (an edge's domain, or a socket's name under one), else
 * the host ssh named in the prompt, else the only configured edge with
 * cached tokens.  The host in the prompt, if any, must be under it: a
 * server elsewhere that asks for a b0 token gets none.
 */
static int
pick(const struct px_conf *c, const char *shost, const struct px_edge **ep,
    struct b0_errmsg *em)
{
	const char *host = getenv("B0_HOST");
	char name[PX_NAME_MAX + 1];
	struct px_tokens t;
	size_t i, n = 0;

	*ep = NULL;
	if ((host == NULL || host[0] == '\0') && shost[0] != '\0')
		host = shost;
	if (host != NULL && host[0] != '\0') {
		if (px_name_check(host, name, sizeof(name)) != 0) {
			b0_err_set(
			    em, "B0_HOST \"%.64s\" is not a DNS name", host);
			return B0_ERR_CONFIG;
		}
		if ((*ep = px_conf_edge(c, name)) == NULL &&
		    (*ep = px_conf_find(c, name)) == NULL) {
			b0_err_set(em,
			    "%s %s is no configured edge nor under one",
			    host == shost ? "the host" : "B0_HOST", name);
			*ep = NULL;
			return B0_ERR_CONFIG;
		}
		if (shost[0] != '\0' && !under(c, *ep, shost)) {
			b0_err_set(em,
			    "%s asks for a token of %s, which it is not under",
			    shost, (*ep)->domain);
			*ep = NULL;
			return B0_ERR_DENIED;
		}
		return 0;
	}
	for (i = 0; i < c->nedges; i++) {
		if (px_cache_load(c, &c->edges[i], &t, em) == 0) {
			*ep = &c->edges[i];
			n++;
		}
		px_tokens_cleanup(&t);
	}
	b0_err_clear(em);
	if (n == 1)
		return 0;
	*ep = NULL;
	if (n == 0)
		b0_err_set(
		    em, "not signed in at any edge (run b0-proxy login)");
	else
		b0_err_set(em,
		    "signed in at %zu edges: set B0_HOST to the one to answer "
		    "for",
		    n);
	return B0_ERR_CONFIG;
}

int
px_askpass(const struct px_conf *c, const char *shost, unsigned i, unsigned n,
    struct b0_errmsg *em)
{
	const struct px_edge *e;
	struct px_tokens t;
	char *token = NULL;
	size_t len, parts, off, plen;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = pick(c, shost, &e, em)) != 0)
		return r;
	if (i == 1) {
		/* A refresh when it expires within a minute; no sign-in. */
		if ((r = px_token_get(c, e, PX_TOKEN_NO_LOGIN, NULL, -1, &token,
			 NULL, em)) != 0)
			goto out;
	} else {
		/* The token part 1 gave: the cached one as it is. */
		if ((r = px_cache_load(c, e, &t, em)) != 0) {
			if (r == B0_ERR_NOT_FOUND)
				b0_err_set(em,
				    "%s: not signed in (run b0-proxy login)",
				    e->domain);
			goto out;
		}
		if (t.expires_at <= (int64_t)time(NULL)) {
			b0_err_set(
			    em, "%s: the access token has expired", e->domain);
			r = B0_ERR_EXPIRED;
			goto out;
		}
		if ((token = strdup(t.access)) == NULL) {
			r = B0_ERR_ALLOC;
			goto out;
		}
	}
	len = strlen(token);
	parts = (len + PART_MAX - 1) / PART_MAX;
	if (len == 0 || parts > PARTS_MAX) {
		b0_err_set(em, "%s: the access token is %zu bytes (1 to %d)",
		    e->domain, len, PART_MAX * PARTS_MAX);
		r = B0_ERR_TOO_BIG;
		goto out;
	}
	if (i > parts || (n != 0 && n != parts)) {
		b0_err_set(em,
		    "%s: asked for part %u%s%.0u of a token in %zu parts (a "
		    "newer token than the one part 1 sent?)",
		    e->domain, i, n != 0 ? "/" : "", n, parts);
		r = B0_ERR_ARG;
		goto out;
	}
	off = (size_t)(i - 1) * PART_MAX;
	plen = len - off < PART_MAX ? len - off : PART_MAX;
	printf("%u/%zu %.*s\n", i, parts, (int)plen, token + off);
	r = fflush(stdout) == 0 ? 0 : B0_ERR_SYS(EIO);
out:
	b0_str_wipe_free(token);
	px_tokens_cleanup(&t);
	return r;
}
