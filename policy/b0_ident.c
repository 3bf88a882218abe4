/*
 * b0_ident: the grammar of addresses, domains and identities.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "b0_err.h"
#include "b0_ident.h"
#include "b0_utf8.h"

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* RFC 5322 atext. */
static int
is_atext(unsigned char c)
{
	return is_alnum(c) ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
has_nonascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	}
	return 0;
}

/* A character for a message: "_" or \x07 (the caller adds quotes). */
static void
show_char(char *dst, size_t dstsz, unsigned char c)
{
	b0_ident_show(dst, dstsz, (const char *)&c, 1);
}

/*
 * Check the domain d[0, n) label by label and count its labels.  The
 * single-label rule is left to the caller, whose message depends on where
 * the domain stands.
 */
static int
check_domain(const char *d, size_t n, size_t *nlabelsp, struct b0_errmsg *em)
{
	char shown[B0_IDENT_SHOW_SIZE], ch[16];
	size_t i, j, start, len, nlabels = 0;
	int digits;

	*nlabelsp = 0;
	if (n == 0) {
		b0_err_set(em, "the domain is empty");
		return B0_ERR_FORMAT;
	}
	if (has_nonascii(d, n)) {
		b0_err_set(em, "the domain has non-ASCII characters: write it "
			       "in its punycode form (xn--...)");
		return B0_ERR_FORMAT;
	}
	if (n > B0_IDENT_DOMAIN_MAX) {
		b0_err_set(em, "the domain is longer than %d characters",
		    B0_IDENT_DOMAIN_MAX);
		return B0_ERR_FORMAT;
	}
	if (d[0] == '.') {
		b0_err_set(em, "the domain starts with a dot");
		return B0_ERR_FORMAT;
	}
	if (d[n - 1] == '.') {
		b0_err_set(em, "the domain ends with a dot (leave it out)");
		return B0_ERR_FORMAT;
	}
	for (start = 0; start < n; start = i + 1) {
		for (i = start; i < n && d[i] != '.'; i++)
			;
		len = i - start;
		nlabels++;
		b0_ident_show(shown, sizeof(shown), d + start, len);
		if (len == 0) {
			b0_err_set(em, "the domain has two dots in a row");
			return B0_ERR_FORMAT;
		}
		if (len > B0_IDENT_LABEL_MAX) {
			b0_err_set(em,
			    "the domain label \"%s\" is longer than %d "
			    "characters",
			    shown, B0_IDENT_LABEL_MAX);
			return B0_ERR_FORMAT;
		}
		digits = 1;
		for (j = start; j < i; j++) {
			unsigned char c = (unsigned char)d[j];

			if (!is_alnum(c) && c != '-') {
				show_char(ch, sizeof(ch), c);
				b0_err_set(em,
				    "the domain label \"%s\" has \"%s\": only "
				    "letters, digits and \"-\" may appear in a "
				    "domain",
				    shown, ch);
				return B0_ERR_FORMAT;
			}
			if (!(c >= '0' && c <= '9'))
				digits = 0;
		}
		if (d[start] == '-' || d[i - 1] == '-') {
			b0_err_set(em, "the domain label \"%s\" %s with \"-\"",
			    shown, d[start] == '-' ? "starts" : "ends");
			return B0_ERR_FORMAT;
		}
		if (i == n && digits) {
			b0_err_set(em,
			    "the last domain label \"%s\" is all digits: an IP "
			    "address is not a mail domain",
			    shown);
			return B0_ERR_FORMAT;
		}
	}
	*nlabelsp = nlabels;
	return 0;
}

static int
check_local(const char *l, size_t n, struct b0_errmsg *em)
{
	char shown[B0_IDENT_SHOW_SIZE], ch[16];
	size_t i;

	if (n == 0) {
		b0_err_set(em, "there is nothing before the \"@\"");
		return B0_ERR_FORMAT;
	}
	if (l[0] == '"') {
		b0_err_set(em, "quoted local parts (\"...\"@) are not "
			       "supported");
		return B0_ERR_FORMAT;
	}
	if (has_nonascii(l, n)) {
		b0_err_set(em, "the local part has non-ASCII characters, which "
			       "b0 does not support in addresses");
		return B0_ERR_FORMAT;
	}
	b0_ident_show(shown, sizeof(shown), l, n);
	if (n > B0_IDENT_LOCAL_MAX) {
		b0_err_set(em, "the local part is longer than %d characters",
		    B0_IDENT_LOCAL_MAX);
		return B0_ERR_FORMAT;
	}
	if (l[0] == '.' || l[n - 1] == '.') {
		b0_err_set(em, "the local part \"%s\" %s with a dot", shown,
		    l[0] == '.' ? "starts" : "ends");
		return B0_ERR_FORMAT;
	}
	for (i = 0; i < n; i++) {
		if (l[i] == '.' && i + 1 < n && l[i + 1] == '.') {
			b0_err_set(em,
			    "the local part \"%s\" has two dots in a row",
			    shown);
			return B0_ERR_FORMAT;
		}
		if (l[i] != '.' && !is_atext((unsigned char)l[i])) {
			show_char(ch, sizeof(ch), (unsigned char)l[i]);
			b0_err_set(em,
			    "the local part \"%s\" has \"%s\", which may not "
			    "appear in an address",
			    shown, ch);
			return B0_ERR_FORMAT;
		}
	}
	return 0;
}

int
b0_ident_check_email(const char *s, size_t n, struct b0_errmsg *em)
{
	char shown[B0_IDENT_SHOW_SIZE];
	const char *at;
	size_t nlabels, ln;
	int r;

	if (n == 0) {
		b0_err_set(em, "the address is empty");
		return B0_ERR_FORMAT;
	}
	if ((at = memchr(s, '@', n)) == NULL) {
		b0_err_set(em, "there is no \"@\"");
		return B0_ERR_FORMAT;
	}
	ln = (size_t)(at - s);
	if (memchr(at + 1, '@', n - ln - 1) != NULL) {
		b0_err_set(em, "there is more than one \"@\"");
		return B0_ERR_FORMAT;
	}
	if (n > B0_IDENT_EMAIL_MAX) {
		b0_err_set(em, "the address is longer than %d characters",
		    B0_IDENT_EMAIL_MAX);
		return B0_ERR_FORMAT;
	}
	if ((r = check_local(s, ln, em)) != 0)
		return r;
	if (ln + 1 == n) {
		b0_err_set(em, "there is nothing after the \"@\"");
		return B0_ERR_FORMAT;
	}
	if ((r = check_domain(at + 1, n - ln - 1, &nlabels, em)) != 0)
		return r;
	if (nlabels < 2) {
		b0_ident_show(shown, sizeof(shown), at + 1, n - ln - 1);
		b0_err_set(em,
		    "the domain \"%s\" has no dot: an address needs a full "
		    "domain such as example.com",
		    shown);
		return B0_ERR_FORMAT;
	}
	return 0;
}

int
b0_ident_parse(
    const char *s, size_t n, enum b0_ident_kind *kindp, struct b0_errmsg *em)
{
	char shown[B0_IDENT_SHOW_SIZE];
	const char *at;
	size_t nlabels;
	int r;

	if (n == 0) {
		b0_err_set(em, "it is empty");
		return B0_ERR_FORMAT;
	}
	if ((at = memchr(s, '@', n)) != NULL) {
		size_t ln = (size_t)(at - s);
		size_t dn = n - ln - 1;

		if (dn > 0 && memchr(at + 1, '@', dn) == NULL &&
		    (ln == 0 || (ln == 1 && s[0] == '*'))) {
			b0_ident_show(shown, sizeof(shown), at + 1, dn);
			b0_err_set(em,
			    "%s: write the domain alone (\"%s\") to match "
			    "every address at it",
			    ln == 0 ? "there is nothing before the \"@\""
				    : "\"*\" is not a wildcard here",
			    shown);
			return B0_ERR_FORMAT;
		}
		if ((r = b0_ident_check_email(s, n, em)) != 0)
			return r;
		*kindp = B0_IDENT_EMAIL;
		return 0;
	}
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		b0_ident_show(shown, sizeof(shown), s + 1, n - 1);
		b0_err_set(em,
		    "\"*\" is not a wildcard here: write \"%s\" to match "
		    "addresses at any subdomain",
		    shown);
		return B0_ERR_FORMAT;
	}
	if (s[0] == '.') {
		if (n == 1) {
			b0_err_set(em, "a lone dot names no domain");
			return B0_ERR_FORMAT;
		}
		if (s[1] == '.') {
			b0_err_set(em, "it starts with two dots");
			return B0_ERR_FORMAT;
		}
		if ((r = check_domain(s + 1, n - 1, &nlabels, em)) != 0)
			return r;
		if (nlabels < 2) {
			b0_err_set(em,
			    "it would match every domain under a top-level "
			    "domain; name at least two labels, such as "
			    "\".example.com\"");
			return B0_ERR_FORMAT;
		}
		*kindp = B0_IDENT_SUBDOMAIN;
		return 0;
	}
	if ((r = check_domain(s, n, &nlabels, em)) != 0)
		return r;
	if (nlabels < 2) {
		b0_ident_show(shown, sizeof(shown), s, n);
		b0_err_set(em,
		    "it is a single name, neither an address nor a domain: "
		    "did you mean an address such as \"%s@example.com\"?",
		    shown);
		return B0_ERR_FORMAT;
	}
	*kindp = B0_IDENT_DOMAIN;
	return 0;
}

const char *
b0_ident_kind_name(enum b0_ident_kind kind)
{
	switch (kind) {
	case B0_IDENT_EMAIL:
		return "email";
	case B0_IDENT_DOMAIN:
		return "domain";
	case B0_IDENT_SUBDOMAIN:
		return "subdomain";
	}
	return "unknown";
}

/*
 * Characters that would hide or reorder text on a terminal: shown
 * escaped, so "alice@exam<U+202E>ple.com" cannot pass for another name.
 */
static int
is_sneaky(uint32_t cp)
{
	return cp < 0xa0 || cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) ||
	       (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff ||
	       (cp >= 0xfff9 && cp <= 0xfffb) ||
	       (cp >= 0xe0000 && cp <= 0xe0fff);
}

/*
 * The shown form of the character at s[i] (n bytes in all) into piece
 * (16 bytes); returns its length and sets *clenp to the input consumed.
 */
static size_t
show_piece(const char *s, size_t n, size_t i, char *piece, size_t *clenp)
{
	unsigned char c = (unsigned char)s[i];
	uint32_t cp;
	size_t clen;

	*clenp = 1;
	if (c >= 0x20 && c < 0x7f) {
		if (c == '"' || c == '\\') {
			piece[0] = '\\';
			piece[1] = (char)c;
			return 2;
		}
		piece[0] = (char)c;
		return 1;
	}
	if (c >= 0x80 && (clen = b0_utf8_decode(s + i, n - i, &cp)) > 0) {
		*clenp = clen;
		if (!is_sneaky(cp)) {
			memcpy(piece, s + i, clen);
			return clen;
		}
		return (size_t)snprintf(piece, 16, "\\u{%04X}", (unsigned)cp);
	}
	return (size_t)snprintf(piece, 16, "\\x%02x", c);
}

void
b0_ident_show(char *dst, size_t dstsz, const char *s, size_t n)
{
	char piece[16];
	size_t i, o, plen, clen, total = 0, limit;
	int dots;

	if (dstsz == 0)
		return;
	for (i = 0; i < n; i += clen)
		total += show_piece(s, n, i, piece, &clen);
	/* Too long: keep room for "..." when there is room for it at all. */
	dots = total > dstsz - 1 && dstsz - 1 >= 3;
	limit = dots ? dstsz - 1 - 3 : dstsz - 1;
	for (i = 0, o = 0; i < n; i += clen) {
		plen = show_piece(s, n, i, piece, &clen);
		if (o + plen > limit)
			break;
		memcpy(dst + o, piece, plen);
		o += plen;
	}
	if (dots) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}
