/*
 * b0_ident: the grammar of identities, shared by allow lists (b0_allow.h)
 * and the identity-to-user rules of a target host (b0_usermap.h).
 *
 * An address is RFC 5322 dot-atom "local@domain" (no quoted local parts,
 * no address literals), at most 254 characters with a local part of at
 * most 64 (RFC 5321).  A domain is at least two LDH labels of 1 to 63
 * characters, at most 253 in all, ASCII only (internationalised names in
 * their punycode xn-- form), and its last label is not all digits (an IP
 * address is not a mail domain).  A single label ("alice", "localhost") is
 * refused: in an allow list it is almost always an address missing its
 * domain.
 *
 * An identity (an allow-list entry, the left side of a user rule) is one
 * of:
 *	alice@example.com	that address
 *	example.com		any address at exactly that domain
 *	.example.com		any address at any subdomain of example.com,
 *				not at example.com itself
 */
#ifndef B0_IDENT_H
#define B0_IDENT_H

#include <stddef.h>

#include "b0_err.h"

#define B0_IDENT_EMAIL_MAX 254	/* longest address */
#define B0_IDENT_LOCAL_MAX 64	/* longest local part */
#define B0_IDENT_DOMAIN_MAX 253 /* longest domain */
#define B0_IDENT_LABEL_MAX 63	/* longest label of a domain */
#define B0_IDENT_MAX 254	/* longest identity of any kind */

/*
 * Room for a b0_ident_show() of something long, with its "...".  Nested
 * messages (spec, entry, label) quote three parts in one struct b0_errmsg,
 * so each stays well below a third of it.
 */
#define B0_IDENT_SHOW_SIZE 52

enum b0_ident_kind {
	B0_IDENT_EMAIL = 0,    /* alice@example.com */
	B0_IDENT_DOMAIN = 1,   /* example.com */
	B0_IDENT_SUBDOMAIN = 2 /* .example.com */
};

/*
 * b0_ident_check_email(s, n, em):
 * Check that the n bytes at s (need not be NUL-terminated) are one valid
 * address.  Returns 0, or B0_ERR_FORMAT with em saying what is wrong
 * ("has more than one \"@\"", "local part \"a..b\" has two dots in a
 * row"); the caller puts the address in front with b0_err_prefix().
 */
int b0_ident_check_email(const char *s, size_t n, struct b0_errmsg *em);

/*
 * b0_ident_parse(s, n, kindp, em):
 * Check that the n bytes at s are one identity and set *kindp to its kind.
 * Case is not looked at (callers fold it).  Messages explain look-alike
 * mistakes: "*@example.com" and "@example.com" point at "example.com",
 * "*.example.com" at ".example.com".  Returns 0, or B0_ERR_FORMAT with em
 * saying what is wrong, without naming the identity itself.
 */
int b0_ident_parse(
    const char *s, size_t n, enum b0_ident_kind *kindp, struct b0_errmsg *em);

/*
 * b0_ident_kind_name(kind):
 * "email", "domain" or "subdomain"; static.
 */
const char *b0_ident_kind_name(enum b0_ident_kind kind);

/*
 * b0_ident_show(dst, dstsz, s, n):
 * Write the n bytes at s into dst (dstsz > 0 bytes, always NUL-terminated)
 * as safe text for messages and logs: control and invisible or
 * direction-changing characters, invalid UTF-8, '"' and '\\' are escaped
 * (\xNN, \u{NNNN}, \", \\); when it does not fit, it is cut at a character
 * and ends in "...".  So text from a peer can be quoted without forging
 * lines or hiding what it is.
 */
void b0_ident_show(char *dst, size_t dstsz, const char *s, size_t n);

#endif /* B0_IDENT_H */
