/*
 * b0_allow: allow lists, the third part of a publish spec
 * ("alice@example.com,example.org,.example.net"), and matching a verified
 * address against them.
 *
 * Entries are identities (b0_ident.h), kept in lower case and in the
 * order given.  Matching folds ASCII case on both sides of the "@".  RFC
 * 5321 lets the local part be case-sensitive, but no mail provider in
 * practice gives "Alice@" and "alice@" to two people, while identity
 * providers do hand back the case a person typed at sign-up: a
 * case-sensitive compare would lock out the right person and protect no
 * one.  Non-ASCII is refused outright, so there is no Unicode folding to
 * get wrong.
 */
#ifndef B0_ALLOW_H
#define B0_ALLOW_H

#include <stddef.h>

#include "b0_err.h"
#include "b0_ident.h"

#define B0_ALLOW_MAX 256 /* most entries in one list */

struct b0_allow_entry {
	enum b0_ident_kind kind;
	const char *text; /* lower case, borrowed from the list */
};

/* A list; n == 0 is the empty list.  Zero-initialised is a valid empty list. */
struct b0_allow {
	char *buf; /* the entries, NUL-separated */
	struct b0_allow_entry *v;
	size_t n;
};

/*
 * b0_allow_parse(s, n, a, em):
 * Parse the n bytes at s (need not be NUL-terminated) as a comma-separated
 * list of at least one identity: no spaces, no empty entries, no entry
 * twice (after case folding), at most B0_ALLOW_MAX entries.  *a is
 * overwritten (not freed) first; on success the caller frees it with
 * b0_allow_cleanup(), on failure it is empty.  Returns 0, B0_ERR_FORMAT or
 * B0_ERR_TOO_BIG with em naming the entry and what is wrong, or
 * B0_ERR_ALLOC.
 */
int b0_allow_parse(
    const char *s, size_t n, struct b0_allow *a, struct b0_errmsg *em);

/* b0_allow_cleanup(a): Free what a holds and empty it.  NULL is fine. */
void b0_allow_cleanup(struct b0_allow *a);

/*
 * b0_allow_join(a, sep, buf, size):
 * Write a's entries separated by sep (",": the normalised list; ", ": for
 * people) into buf, NUL-terminated.  Returns 0 or B0_ERR_TOO_BIG (buf then
 * holds a truncated string).
 */
int b0_allow_join(
    const struct b0_allow *a, const char *sep, char *buf, size_t size);

/*
 * b0_allow_match(a, email, reason):
 * Does the verified address email (NUL-terminated) match an entry of a?
 *   alice@example.com  the same address;
 *   example.com        an address whose domain is example.com, compared
 *                      from the "@" on: never a@evilexample.com,
 *                      a@example.com.evil.test or a@sub.example.com;
 *   .example.com       an address at any subdomain of example.com
 *                      (a@x.example.com, a@y.x.example.com), never at
 *                      example.com itself or at badexample.com.
 * The address is checked first with b0_ident_check_email(): a token that
 * carries "a@example.com@evil.test" matches nothing.  The empty list
 * matches nothing; what a socket without a list admits is the caller's
 * business (b0_spec_match()).
 *
 * reason (may be NULL) gets a sentence: the entry that matched, or why
 * none did, with a hint for near misses.  It may name entries of the list,
 * so log it rather than show it to the person refused.
 *
 * Returns 0 (allow) or a denial: B0_ERR_DENIED (no entry matches, or the
 * list is empty), B0_ERR_FORMAT (email is not a valid address),
 * B0_ERR_ARG (email is NULL).  Anything but 0 is a denial.
 */
int b0_allow_match(
    const struct b0_allow *a, const char *email, struct b0_errmsg *reason);

#endif /* B0_ALLOW_H */
