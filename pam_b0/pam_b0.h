/*
 * pam_b0: the parts of the module (docs/pam.md, "pam_b0").
 *
 *	pam_b0.c	the PAM entry points, the decision, its log line
 *	conf.c		module arguments and /etc/b0/pam_b0.conf
 *	ticket.c	b0-publish's identity socket
 *	verify.c	the JWKS file, tickets and access tokens
 *
 * Nothing here keeps state between calls: every call parses its arguments
 * and files into structures on its own stack or heap and frees them.
 */
#ifndef PAM_B0_H
#define PAM_B0_H

#include <stddef.h>
#include <stdint.h>

#include "b0_err.h"
#include "b0_ident.h"

#define PAM_B0_CONF_DEFAULT "/etc/b0/pam_b0.conf"
#define PAM_B0_JWKS_DEFAULT "/var/lib/b0-publish/jwks.json"
#define PAM_B0_TSOCK_DEFAULT "/run/b0-publish/tickets.sock"
#define PAM_B0_SKEW_DEFAULT 60
#define PAM_B0_MAX_SOCKETS 16
#define PAM_B0_LINE_MAX 8192	    /* one line on the identity socket */
#define PAM_B0_TIMEOUT_MS 2000	    /* identity socket, JWKS re-reads */
#define PAM_B0_TICKET_LIFETIME 300  /* most exp - iat of a ticket */
#define PAM_B0_TOKEN_LIFETIME 86400 /* most exp - iat of an access token */
#define PAM_B0_PART_MAX 1000	    /* bytes of token per prompt answer */
#define PAM_B0_PARTS_MAX 16
#define PAM_B0_VISITOR_MAX 64 /* "[v6]:port" */

/* What the module line says. */
struct pam_b0_opts {
	const char *conf; /* borrowed from argv */
	int prompt;	  /* "prompt" given */
	int debug;
};

/* What /etc/b0/pam_b0.conf says; free with pam_b0_conf_free(). */
struct pam_b0_conf {
	char *issuer;
	char *publisher;
	char *aud; /* "b0-publish:<publisher>" */
	char *sockets[PAM_B0_MAX_SOCKETS];
	size_t nsockets;
	char *jwks;
	char *ticket_socket;
	char *users;
	int prompt;
	unsigned skew;
};

/*
 * pam_b0_args(argc, argv, o, em):
 * Parse the module arguments into *o.  Returns 0 or B0_ERR_CONFIG (em
 * names the argument).
 */
int pam_b0_args(
    int argc, const char **argv, struct pam_b0_opts *o, struct b0_errmsg *em);

/*
 * pam_b0_conf_load(path, c, em):
 * Read path (root's, not writable by group or others) into *c, which the
 * caller releases with pam_b0_conf_free() whatever the result.  Returns 0,
 * B0_ERR_CONFIG/B0_ERR_FORMAT ("path:line: ..."), B0_ERR_PERM,
 * B0_ERR_SYS(e) or B0_ERR_ALLOC.
 */
int pam_b0_conf_load(
    const char *path, struct pam_b0_conf *c, struct b0_errmsg *em);
void pam_b0_conf_free(struct pam_b0_conf *c);

/*
 * pam_b0_ticket_fetch(sockpath, ip, port, ticketp, em):
 * Ask b0-publish at sockpath for the ticket of the connection from ip,
 * port.  Returns 0 with *ticketp a new NUL-terminated ticket (a secret:
 * b0_str_wipe_free()), B0_ERR_NOT_FOUND for "none", B0_ERR_DENIED for an
 * "error" answer (em quotes it), B0_ERR_TIMEOUT, B0_ERR_PROTOCOL or
 * B0_ERR_TOO_BIG for a bad answer, B0_ERR_SYS(e) when the socket cannot be
 * reached, B0_ERR_ALLOC.
 */
int pam_b0_ticket_fetch(const char *sockpath, const char *ip, const char *port,
    char **ticketp, struct b0_errmsg *em);

/*
 * pam_b0_ticket_answer(sockpath, line, have, ticketp, em):
 * The answer of pam_b0_ticket_fetch(): the have bytes at line (changed:
 * the newline becomes a NUL) must be one line "ok <ticket>", "none" or
 * "error <text>".  Returns as pam_b0_ticket_fetch() does; sockpath names
 * the socket in em.
 */
int pam_b0_ticket_answer(const char *sockpath, char *line, size_t have,
    char **ticketp, struct b0_errmsg *em);

/* What a verified ticket or token says. */
struct pam_b0_id {
	char email[B0_IDENT_EMAIL_MAX + 1];
	char visitor[PAM_B0_VISITOR_MAX + 1]; /* "" for a token */
	char socket[B0_IDENT_DOMAIN_MAX + 1]; /* "" for a token */
};

enum pam_b0_kind {
	PAM_B0_TICKET = 1, /* typ b0-ticket+jwt, aud b0-publish:<publisher> */
	PAM_B0_TOKEN = 2   /* typ at+jwt, aud the issuer, email_verified */
};

/*
 * pam_b0_verify(c, kind, token, len, now, id, filep, em):
 * Verify len bytes of token as kind against the JWKS file of c at time
 * now, re-reading the file for up to PAM_B0_TIMEOUT_MS when it lacks the
 * token's kid.  Fills *id.  Returns 0 or an error with em saying why;
 * *filep is then 1 when the JWKS file could not be used (unreadable,
 * wrong owner or mode: B0_ERR_PERM; not a key set of the issuer), 0 when
 * the token itself does not verify.
 */
int pam_b0_verify(const struct pam_b0_conf *c, enum pam_b0_kind kind,
    const char *token, size_t len, int64_t now, struct pam_b0_id *id,
    int *filep, struct b0_errmsg *em);

/*
 * The two halves of pam_b0_verify(), without the file (for the fuzz
 * target): pam_b0_jwks_parse(c, text, len, setp, em) parses the JWKS
 * file's len bytes at text (issuer c->issuer, publisher c->publisher if
 * named) into a new *setp (b0_jwks_free()); pam_b0_verify_keys(c, kind,
 * keys, token, len, now, id, em) verifies token against keys.  Both
 * return 0 or an error with em saying why, as pam_b0_verify() does.
 */
struct b0_jwks;
int pam_b0_jwks_parse(const struct pam_b0_conf *c, const char *text, size_t len,
    struct b0_jwks **setp, struct b0_errmsg *em);
int pam_b0_verify_keys(const struct pam_b0_conf *c, enum pam_b0_kind kind,
    const struct b0_jwks *keys, const char *token, size_t len, int64_t now,
    struct pam_b0_id *id, struct b0_errmsg *em);

/*
 * pam_b0_take_part(a, i, np, tok, lenp, em) (pam_b0.c):
 * Check one prompt answer "<i>/<n> <part>" for part i (of *np parts, 0
 * before the first answer) and append the part to tok, which holds *lenp
 * bytes and has room for PAM_B0_PART_MAX * PAM_B0_PARTS_MAX + 1.  Returns
 * PAM_SUCCESS or PAM_AUTH_ERR with em saying why.
 */
int pam_b0_take_part(const char *a, unsigned i, unsigned *np, char *tok,
    size_t *lenp, struct b0_errmsg *em);

#endif /* PAM_B0_H */
