/*
 * b0_allow: allow lists and matching addresses against them.
 */
#include <stdlib.h>
#include <string.h>

#include "b0_allow.h"
#include "b0_err.h"
#include "b0_ident.h"
#include "b0_str.h"

static int
allow_parse(const char *s, size_t n, struct b0_allow *a, struct b0_errmsg *em)
{
	struct b0_allow l = {NULL, NULL, 0};
	char shown[B0_IDENT_SHOW_SIZE], other[B0_IDENT_SHOW_SIZE];
	enum b0_ident_kind kind;
	size_t i, j, start, len, count = 1;
	int r = B0_ERR_INTERNAL;

	memset(a, 0, sizeof(*a));
	if (n == 0) {
		b0_err_set(em, "the allow list is empty");
		return B0_ERR_FORMAT;
	}
	if (memchr(s, ' ', n) != NULL || memchr(s, '\t', n) != NULL) {
		b0_err_set(em, "the allow list has a space: separate entries "
			       "with \",\" alone");
		return B0_ERR_FORMAT;
	}
	if (s[0] == ',' || s[n - 1] == ',') {
		b0_err_set(em, "the allow list %s with a comma",
		    s[0] == ',' ? "starts" : "ends");
		return B0_ERR_FORMAT;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == ',' && i + 1 < n && s[i + 1] == ',') {
			b0_err_set(em, "the allow list has an empty entry (two "
				       "commas in a row)");
			return B0_ERR_FORMAT;
		}
		count += s[i] == ',';
	}
	if (count > B0_ALLOW_MAX) {
		b0_err_set(em, "the allow list has %zu entries, more than %d",
		    count, B0_ALLOW_MAX);
		return B0_ERR_TOO_BIG;
	}
	if ((l.buf = malloc(n + 1)) == NULL ||
	    (l.v = calloc(count, sizeof(*l.v))) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	for (start = 0; start <= n; start += len + 1) {
		for (len = 0; start + len < n && s[start + len] != ','; len++)
			;
		b0_ident_show(shown, sizeof(shown), s + start, len);
		if ((r = b0_ident_parse(s + start, len, &kind, em)) != 0) {
			b0_err_prefix(em, "entry \"%s\"", shown);
			goto out;
		}
		for (i = 0; i < len; i++)
			l.buf[start + i] = b0_ascii_lower(s[start + i]);
		l.buf[start + len] = '\0';
		for (j = 0; j < l.n; j++) {
			if (strcmp(l.v[j].text, l.buf + start) == 0) {
				b0_ident_show(other, sizeof(other), l.v[j].text,
				    strlen(l.v[j].text));
				b0_err_set(em,
				    "entry \"%s\" repeats entry %zu (\"%s\"; "
				    "case does not matter)",
				    shown, j + 1, other);
				r = B0_ERR_FORMAT;
				goto out;
			}
		}
		l.v[l.n].kind = kind;
		l.v[l.n].text = l.buf + start;
		l.n++;
	}
	*a = l;
	memset(&l, 0, sizeof(l)); /* transferred */
	r = 0;
out:
	b0_allow_cleanup(&l);
	return r;
}

int
b0_allow_parse(
    const char *s, size_t n, struct b0_allow *a, struct b0_errmsg *em)
{
	return allow_parse(s, n, a, em);
}

void
b0_allow_cleanup(struct b0_allow *a)
{
	if (a == NULL)
		return;
	free(a->v);
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int
b0_allow_join(const struct b0_allow *a, const char *sep, char *buf, size_t size)
{
	size_t i;

	if (size == 0)
		return B0_ERR_TOO_BIG;
	buf[0] = '\0';
	for (i = 0; i < a->n; i++) {
		if ((i > 0 && b0_strlcat(buf, sep, size) >= size) ||
		    b0_strlcat(buf, a->v[i].text, size) >= size)
			return B0_ERR_TOO_BIG;
	}
	return 0;
}

/* Does domain (dn bytes, a valid domain) match entry e? */
static int
entry_matches(const struct b0_allow_entry *e, const char *email,
    const char *domain, size_t dn)
{
	size_t tl;

	switch (e->kind) {
	case B0_IDENT_EMAIL:
		return b0_str_caseeq(email, e->text);
	case B0_IDENT_DOMAIN:
		return b0_str_caseeq(domain, e->text);
	case B0_IDENT_SUBDOMAIN:
		/* e->text starts with ".": a whole label must precede it. */
		tl = strlen(e->text);
		return dn > tl && b0_str_ncaseeq(domain + dn - tl, e->text, tl);
	}
	return 0;
}

/* A hint for an address that just misses entry e, or 0. */
static int
near_miss(const struct b0_allow_entry *e, const char *domain, size_t dn,
    struct b0_errmsg *hint)
{
	size_t tl = strlen(e->text);

	if (e->kind == B0_IDENT_SUBDOMAIN &&
	    b0_str_caseeq(domain, e->text + 1)) {
		b0_err_set(hint,
		    "\"%s\" matches subdomains only; add \"%s\" for addresses "
		    "at %s itself",
		    e->text, e->text + 1, e->text + 1);
		return 1;
	}
	if (e->kind == B0_IDENT_DOMAIN && dn > tl + 1 &&
	    domain[dn - tl - 1] == '.' &&
	    b0_str_ncaseeq(domain + dn - tl, e->text, tl)) {
		b0_err_set(hint,
		    "\"%s\" matches that exact domain only; add \".%s\" for "
		    "its subdomains",
		    e->text, e->text);
		return 1;
	}
	return 0;
}

static int
allow_match(
    const struct b0_allow *a, const char *email, struct b0_errmsg *reason)
{
	char shown[B0_IDENT_SHOW_SIZE];
	struct b0_errmsg hint;
	const struct b0_allow_entry *e;
	const char *domain;
	size_t n, dn, i;

	b0_err_clear(reason);
	if (email == NULL) {
		b0_err_set(reason, "there is no address to match (not signed "
				   "in)");
		return B0_ERR_ARG;
	}
	n = strlen(email);
	b0_ident_show(shown, sizeof(shown), email, n);
	if (b0_ident_check_email(email, n, reason) != 0) {
		b0_err_prefix(
		    reason, "\"%s\" is not a valid email address", shown);
		return B0_ERR_FORMAT;
	}
	domain = strchr(email, '@') + 1;
	dn = strlen(domain);
	if (a == NULL || a->n == 0) {
		b0_err_set(reason, "the allow list is empty");
		return B0_ERR_DENIED;
	}
	for (i = 0; i < a->n; i++) {
		e = &a->v[i];
		if (!entry_matches(e, email, domain, dn))
			continue;
		if (e->kind == B0_IDENT_EMAIL)
			b0_err_set(reason, "%s matches \"%s\"", shown, e->text);
		else if (e->kind == B0_IDENT_DOMAIN)
			b0_err_set(reason,
			    "%s matches \"%s\" (every address at %s)", shown,
			    e->text, e->text);
		else
			b0_err_set(reason,
			    "%s matches \"%s\" (every address at a subdomain "
			    "of %s)",
			    shown, e->text, e->text + 1);
		return 0;
	}
	b0_err_clear(&hint);
	for (i = 0; i < a->n; i++) {
		if (near_miss(&a->v[i], domain, dn, &hint))
			break;
	}
	if (hint.text[0] != '\0')
		b0_err_set(reason, "%s matches no entry of the allow list; %s",
		    shown, hint.text);
	else
		b0_err_set(
		    reason, "%s matches no entry of the allow list", shown);
	return B0_ERR_DENIED;
}

int
b0_allow_match(
    const struct b0_allow *a, const char *email, struct b0_errmsg *reason)
{
	return allow_match(a, email, reason);
}
