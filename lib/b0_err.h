/*
 * b0_err: error codes and error messages.
 *
 * Library functions return 0 on success or a negative B0_ERR_* code.  Where a
 * code alone would leave a person guessing (which line, which field, which
 * peer), the function also takes a struct b0_errmsg and writes a sentence
 * into it.  Neither needs freeing.
 */
#ifndef B0_ERR_H
#define B0_ERR_H

#include <stddef.h>

enum b0_err {
	B0_OK = 0,
	B0_ERR_INTERNAL = -1,	    /* a bug in b0 */
	B0_ERR_ALLOC = -2,	    /* out of memory */
	B0_ERR_ARG = -3,	    /* invalid argument from the caller */
	B0_ERR_FORMAT = -4,	    /* malformed input */
	B0_ERR_INCOMPLETE = -5,	    /* input ends early: need more bytes */
	B0_ERR_TOO_BIG = -6,	    /* input exceeds a size limit */
	B0_ERR_RANGE = -7,	    /* value out of range */
	B0_ERR_NOT_FOUND = -8,	    /* no such thing */
	B0_ERR_EXISTS = -9,	    /* already exists, or a duplicate */
	B0_ERR_UNSUPPORTED = -10,   /* valid but not supported */
	B0_ERR_CRYPTO = -11,	    /* the crypto library failed */
	B0_ERR_SIGNATURE = -12,	    /* signature does not verify */
	B0_ERR_ALG = -13,	    /* algorithm not allowed */
	B0_ERR_KEY = -14,	    /* key unusable: type, size, curve */
	B0_ERR_EXPIRED = -15,	    /* token expired */
	B0_ERR_NOT_YET_VALID = -16, /* token not valid yet */
	B0_ERR_CLAIM = -17,	    /* token claim does not match */
	B0_ERR_TLS = -18,	    /* TLS failure */
	B0_ERR_EOF = -19,	    /* peer closed the connection */
	B0_ERR_TIMEOUT = -20,	    /* timed out */
	B0_ERR_PERM = -21,	    /* unsafe file ownership or permissions */
	B0_ERR_DENIED = -22,	    /* access denied by policy */
	B0_ERR_AGAIN = -23,	    /* would block; try again later */
	B0_ERR_PROTOCOL = -24,	    /* peer violated the protocol */
	B0_ERR_CONFIG = -25,	    /* invalid configuration */
	B0_ERR_AUTH = -26,	    /* authentication failed */
	B0_ERR_LAST = -27,
	/* A system call failed with errno e: B0_ERR_SYS(e). */
	B0_ERR_SYS_BASE = -1000
};

#define B0_ERR_SYS(e) (B0_ERR_SYS_BASE - (e))

/*
 * A sentence about what went wrong.  Writers fill text; an empty text means
 * "nothing more to say than the code".
 */
struct b0_errmsg {
	char text[256];
};

/*
 * b0_strerror(r):
 * Return a static string describing the error code r; never NULL.  For
 * B0_ERR_SYS(e) this is the C library's description of errno e.
 */
const char *b0_strerror(int r);

/*
 * b0_err_errno(r):
 * Return the errno carried by B0_ERR_SYS(e), or 0 if r is another code.
 */
int b0_err_errno(int r);

/*
 * b0_err_from_errno():
 * Return B0_ERR_SYS(errno) (or B0_ERR_INTERNAL if errno is 0).  Call it
 * right after the failing system call.
 */
int b0_err_from_errno(void);

/*
 * b0_err_set(em, fmt, ...):
 * Replace the text of em (which may be NULL: then nothing happens).
 * Control characters in the result are replaced by '?', so text taken from
 * input cannot forge log lines.
 */
void b0_err_set(struct b0_errmsg *em, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * b0_err_prefix(em, fmt, ...):
 * Put "<formatted>: " in front of the text of em (NULL: nothing happens),
 * truncating at the end if needed.  Used to add a file:line or field name.
 */
void b0_err_prefix(struct b0_errmsg *em, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * b0_err_clear(em): Empty the text of em (NULL allowed).
 */
void b0_err_clear(struct b0_errmsg *em);

/*
 * b0_err_text(em, r):
 * The words to show a person: em's text if it has one, else b0_strerror(r).
 * The result is borrowed from em or static.
 */
const char *b0_err_text(const struct b0_errmsg *em, int r);

#endif /* B0_ERR_H */
