/*
 * b0_spec: publish specs, containerlab's shorthand for what to publish:
 *
 *	<type>/<port>[/<allowed>]
 *
 *	tcp/22                                raw TCP, anyone
 *	tls/22/alice@example.com,example.org  identity-aware stream
 *	http/3000/example.com                 web app behind a browser login
 *	https/8443                            the upstream speaks HTTPS
 *
 * type is exactly tcp, tls, http or https (lower case); port is 1 to 65535
 * in decimal without sign or leading zeros; allowed is an allow list
 * (b0_allow.h).  A tcp socket carries no identity, so it takes no list.
 * Without a list, tcp, http and https sockets admit anyone (http like
 * mysocket's plain http sockets); a tls socket still admits only people
 * who signed in.
 *
 * The normalised form is the spec in lower case with its entries in the
 * order given; b0_spec_format() writes it, and parsing it gives the same
 * spec again.
 */
#ifndef B0_SPEC_H
#define B0_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "b0_allow.h"
#include "b0_err.h"

/* Longest spec, in bytes; one fits in B0_SPEC_SIZE (b0_proto.h). */
#define B0_SPEC_MAX 1023

enum b0_sock_type {
	B0_SOCK_TCP = 0,
	B0_SOCK_TLS = 1,
	B0_SOCK_HTTP = 2,
	B0_SOCK_HTTPS = 3
};

struct b0_spec {
	enum b0_sock_type type;
	uint16_t port;	       /* 1..65535 */
	struct b0_allow allow; /* allow.n == 0: no list */
};

/*
 * b0_spec_parse(s, sp, em):
 * Parse the NUL-terminated spec s into *sp, which is overwritten (not
 * freed) first.  On success the caller frees it with b0_spec_cleanup(); on
 * failure it holds nothing.  Returns 0, or B0_ERR_FORMAT / B0_ERR_TOO_BIG
 * with em as "<spec>: <what is wrong, naming the part>", or B0_ERR_ALLOC.
 */
int b0_spec_parse(const char *s, struct b0_spec *sp, struct b0_errmsg *em);

/*
 * b0_spec_parsen(s, n, sp, em):
 * As b0_spec_parse() for the n bytes at s, which need not be
 * NUL-terminated; a NUL byte among them is an error.
 */
int b0_spec_parsen(
    const char *s, size_t n, struct b0_spec *sp, struct b0_errmsg *em);

/* b0_spec_cleanup(sp): Free what sp holds.  NULL is fine. */
void b0_spec_cleanup(struct b0_spec *sp);

/*
 * b0_spec_type_name(type):
 * "tcp", "tls", "http" or "https" (static); "unknown" for other values.
 */
const char *b0_spec_type_name(enum b0_sock_type type);

/*
 * b0_spec_format(sp, buf, size):
 * Write the normalised spec into buf, NUL-terminated; B0_SPEC_MAX + 1
 * bytes always suffice for a parsed spec.  Returns 0 or B0_ERR_TOO_BIG.
 */
int b0_spec_format(const struct b0_spec *sp, char *buf, size_t size);

/*
 * b0_spec_login(sp):
 * 1 if visitors must sign in (tls always, http and https with a list),
 * 0 if the socket is open to anyone (tcp, http and https without a list).
 */
int b0_spec_login(const struct b0_spec *sp);

/*
 * b0_spec_who(sp, buf, size):
 * Who may connect, for people, into buf (NUL-terminated): "anyone", "any
 * signed-in person", or the allow list ("alice@example.com, example.org").
 * Returns 0 or B0_ERR_TOO_BIG (buf then holds a truncated string).
 */
int b0_spec_who(const struct b0_spec *sp, char *buf, size_t size);

/*
 * b0_spec_match(sp, email, reason):
 * May the person signed in as email (NULL: not signed in) connect to the
 * socket of sp?  Sockets that need no login admit everyone; a tls socket
 * without a list admits any valid address; otherwise b0_allow_match()
 * decides.  reason (may be NULL) gets the sentence; see b0_allow_match()
 * for returns (0 is allow, anything else a denial).
 */
int b0_spec_match(
    const struct b0_spec *sp, const char *email, struct b0_errmsg *reason);

#endif /* B0_SPEC_H */
