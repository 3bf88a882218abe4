/*
 * b0_spec: publish specs <type>/<port>[/<allowed>].
 */
#include <stdio.h>
#include <string.h>

#include "b0_allow.h"
#include "b0_err.h"
#include "b0_ident.h"
#include "b0_parse.h"
#include "b0_spec.h"
#include "b0_str.h"

#define SPEC_FORM "<type>/<port>[/<allowed>]"
#define SPEC_TYPES "the types are tcp, tls, http and https"

static const char *const type_names[] = {
    [B0_SOCK_TCP] = "tcp",
    [B0_SOCK_TLS] = "tls",
    [B0_SOCK_HTTP] = "http",
    [B0_SOCK_HTTPS] = "https",
};

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

const char *
b0_spec_type_name(enum b0_sock_type type)
{
	if ((unsigned)type >= NTYPES)
		return "unknown";
	return type_names[type];
}

/* The type named by t[0, n): exact (lower case) only. */
static int
parse_type(const char *spec, const char *t, size_t n, enum b0_sock_type *typep,
    struct b0_errmsg *em)
{
	char shown[B0_IDENT_SHOW_SIZE];
	size_t i;

	for (i = 0; i < NTYPES; i++) {
		if (strlen(type_names[i]) == n &&
		    memcmp(type_names[i], t, n) == 0) {
			*typep = (enum b0_sock_type)i;
			return 0;
		}
	}
	b0_ident_show(shown, sizeof(shown), t, n);
	for (i = 0; i < NTYPES; i++) {
		if (strlen(type_names[i]) == n &&
		    b0_str_ncaseeq(type_names[i], t, n)) {
			b0_err_set(em,
			    "%s: the type \"%s\" must be written in lower case "
			    "(\"%s\"); " SPEC_TYPES,
			    spec, shown, type_names[i]);
			return B0_ERR_FORMAT;
		}
	}
	b0_err_set(em, "%s: unknown type \"%s\"; " SPEC_TYPES, spec, shown);
	return B0_ERR_FORMAT;
}

static int
parse_port(const char *spec, const char *p, size_t n, uint16_t *portp,
    struct b0_errmsg *em)
{
	char shown[B0_IDENT_SHOW_SIZE];
	uint32_t v;
	size_t i, zeros;
	int r;

	if ((r = b0_parse_u32n(p, n, 1, 65535, &v)) == 0) {
		*portp = (uint16_t)v;
		return 0;
	}
	b0_ident_show(shown, sizeof(shown), p, n);
	for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		;
	for (zeros = 0; zeros < n && p[zeros] == '0'; zeros++)
		;
	if (r == B0_ERR_FORMAT && i == n && zeros > 0 && zeros < n &&
	    n - zeros <= 5 &&
	    b0_parse_u32n(p + zeros, n - zeros, 1, 65535, &v) == 0) {
		b0_err_set(em,
		    "%s: the port \"%s\" has a leading zero: write %u", spec,
		    shown, (unsigned)v);
		return B0_ERR_FORMAT;
	}
	if (i == n) {
		b0_err_set(em,
		    "%s: the port %s is out of range: ports go from "
		    "1 to 65535",
		    spec, shown);
		return B0_ERR_FORMAT;
	}
	if (p[0] == '+' || p[0] == '-') {
		b0_err_set(em,
		    "%s: the port \"%s\" has a sign: write the number alone",
		    spec, shown);
		return B0_ERR_FORMAT;
	}
	b0_err_set(em, "%s: the port \"%s\" is not a number from 1 to 65535%s",
	    spec, shown,
	    b0_ascii_lower(p[0]) >= 'a' && b0_ascii_lower(p[0]) <= 'z'
		? " (give services by number: 22, not ssh)"
		: "");
	return B0_ERR_FORMAT;
}

static int
spec_parse(const char *s, size_t n, struct b0_spec *sp, struct b0_errmsg *em)
{
	struct b0_spec p;
	char shown[B0_IDENT_SHOW_SIZE], hint[B0_IDENT_SHOW_SIZE];
	const char *seg[3];
	size_t len[3], nseg, i, start;
	int r = B0_ERR_INTERNAL;

	memset(sp, 0, sizeof(*sp));
	memset(&p, 0, sizeof(p));
	if (n == 0) {
		b0_err_set(em, "empty spec: write " SPEC_FORM
			       ", such as tls/22/alice@example.com");
		return B0_ERR_FORMAT;
	}
	b0_ident_show(shown, sizeof(shown), s, n);
	if (n > B0_SPEC_MAX) {
		b0_err_set(em, "%s: the spec is longer than %d bytes", shown,
		    B0_SPEC_MAX);
		return B0_ERR_TOO_BIG;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t') {
			b0_err_set(em,
			    "%s: the spec has a space: it is one word, with no "
			    "spaces around \"/\" or \",\"",
			    shown);
			return B0_ERR_FORMAT;
		}
		if (c < 0x20 || c == 0x7f) {
			b0_err_set(
			    em, "%s: the spec has a control character", shown);
			return B0_ERR_FORMAT;
		}
	}
	for (nseg = 0, start = 0; start <= n; start = i + 1) {
		for (i = start; i < n && s[i] != '/'; i++)
			;
		if (nseg == 3) {
			b0_err_set(em,
			    "%s: too many \"/\": a spec has at most three "
			    "parts, " SPEC_FORM
			    " (addresses with \"/\" cannot be listed)",
			    shown);
			return B0_ERR_FORMAT;
		}
		seg[nseg] = s + start;
		len[nseg] = i - start;
		nseg++;
	}
	if (len[0] == 0) {
		b0_err_set(em,
		    "%s: the type before the first \"/\" is empty; "
		    "write " SPEC_FORM,
		    shown);
		return B0_ERR_FORMAT;
	}
	if (nseg == 1) {
		b0_err_set(em,
		    "%s: the port is missing: write " SPEC_FORM
		    ", such as tls/22",
		    shown);
		return B0_ERR_FORMAT;
	}
	if (len[1] == 0) {
		b0_err_set(
		    em, "%s: the port is empty; write " SPEC_FORM, shown);
		return B0_ERR_FORMAT;
	}
	if (nseg == 3 && len[2] == 0) {
		b0_err_set(em,
		    "%s: nothing follows the last \"/\": remove it, or list "
		    "who may connect after it",
		    shown);
		return B0_ERR_FORMAT;
	}
	if ((r = parse_type(shown, seg[0], len[0], &p.type, em)) != 0 ||
	    (r = parse_port(shown, seg[1], len[1], &p.port, em)) != 0)
		return r;
	if (nseg == 3) {
		if (p.type == B0_SOCK_TCP) {
			/* The same spec as tls: everything after "tcp". */
			b0_ident_show(hint, sizeof(hint), s + 3, n - 3);
			b0_err_set(em,
			    "%s: a tcp socket carries no identity, so it takes "
			    "no allow list; for an identity-aware stream "
			    "write tls%s",
			    shown, hint);
			return B0_ERR_FORMAT;
		}
		if ((r = b0_allow_parse(seg[2], len[2], &p.allow, em)) != 0) {
			b0_err_prefix(em, "%s", shown);
			return r;
		}
	}
	*sp = p;
	return 0;
}

int
b0_spec_parsen(
    const char *s, size_t n, struct b0_spec *sp, struct b0_errmsg *em)
{
	return spec_parse(s, n, sp, em);
}

int
b0_spec_parse(const char *s, struct b0_spec *sp, struct b0_errmsg *em)
{
	return b0_spec_parsen(s, strlen(s), sp, em);
}

void
b0_spec_cleanup(struct b0_spec *sp)
{
	if (sp == NULL)
		return;
	b0_allow_cleanup(&sp->allow);
}

int
b0_spec_format(const struct b0_spec *sp, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, "%s/%u%s", b0_spec_type_name(sp->type),
	    (unsigned)sp->port, sp->allow.n > 0 ? "/" : "");
	if (n < 0 || (size_t)n >= size)
		return B0_ERR_TOO_BIG;
	if (sp->allow.n == 0)
		return 0;
	return b0_allow_join(&sp->allow, ",", buf + n, size - (size_t)n);
}

int
b0_spec_login(const struct b0_spec *sp)
{
	return sp->type == B0_SOCK_TLS ||
	       (sp->type != B0_SOCK_TCP && sp->allow.n > 0);
}

int
b0_spec_who(const struct b0_spec *sp, char *buf, size_t size)
{
	const char *who = "anyone";

	if (sp->allow.n > 0)
		return b0_allow_join(&sp->allow, ", ", buf, size);
	if (sp->type == B0_SOCK_TLS)
		who = "any signed-in person";
	return b0_strlcpy(buf, who, size) >= size ? B0_ERR_TOO_BIG : 0;
}

int
b0_spec_match(
    const struct b0_spec *sp, const char *email, struct b0_errmsg *reason)
{
	char shown[B0_IDENT_SHOW_SIZE];
	size_t n;

	b0_err_clear(reason);
	if (!b0_spec_login(sp)) {
		if (sp->type == B0_SOCK_TCP)
			b0_err_set(reason, "a tcp socket carries no identity: "
					   "anyone may connect");
		else
			b0_err_set(reason, "the socket has no allow list: "
					   "anyone may connect");
		return 0;
	}
	if (sp->allow.n > 0)
		return b0_allow_match(&sp->allow, email, reason);
	if (email == NULL) {
		b0_err_set(reason, "the socket admits signed-in people only");
		return B0_ERR_ARG;
	}
	n = strlen(email);
	b0_ident_show(shown, sizeof(shown), email, n);
	if (b0_ident_check_email(email, n, reason) != 0) {
		b0_err_prefix(
		    reason, "\"%s\" is not a valid email address", shown);
		return B0_ERR_FORMAT;
	}
	b0_err_set(reason,
	    "%s is signed in, and the socket admits any signed-in person",
	    shown);
	return 0;
}
