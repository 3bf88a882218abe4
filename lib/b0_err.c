/*
 * b0_err: error codes and error messages.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "b0_err.h"
#include "b0_str.h"
#include "b0_utf8.h"

static const char *const errstr[] = {
    [0] = "success",
    [-B0_ERR_INTERNAL] = "internal error",
    [-B0_ERR_ALLOC] = "out of memory",
    [-B0_ERR_ARG] = "invalid argument",
    [-B0_ERR_FORMAT] = "malformed input",
    [-B0_ERR_INCOMPLETE] = "input is incomplete",
    [-B0_ERR_TOO_BIG] = "input is too large",
    [-B0_ERR_RANGE] = "value out of range",
    [-B0_ERR_NOT_FOUND] = "not found",
    [-B0_ERR_EXISTS] = "already exists",
    [-B0_ERR_UNSUPPORTED] = "not supported",
    [-B0_ERR_CRYPTO] = "cryptographic library failure",
    [-B0_ERR_SIGNATURE] = "signature verification failed",
    [-B0_ERR_ALG] = "algorithm not allowed",
    [-B0_ERR_KEY] = "key not usable",
    [-B0_ERR_EXPIRED] = "token has expired",
    [-B0_ERR_NOT_YET_VALID] = "token is not valid yet",
    [-B0_ERR_CLAIM] = "token claim mismatch",
    [-B0_ERR_TLS] = "TLS failure",
    [-B0_ERR_EOF] = "connection closed by peer",
    [-B0_ERR_TIMEOUT] = "timed out",
    [-B0_ERR_PERM] = "unsafe ownership or permissions",
    [-B0_ERR_DENIED] = "access denied",
    [-B0_ERR_AGAIN] = "resource temporarily unavailable",
    [-B0_ERR_PROTOCOL] = "protocol violation",
    [-B0_ERR_CONFIG] = "invalid configuration",
    [-B0_ERR_AUTH] = "authentication failed",
};

const char *
b0_strerror(int r)
{
	const char *s;

	if (r <= B0_ERR_SYS_BASE) {
		/* strerrordesc_np() is thread-safe and returns static text. */
		if ((s = strerrordesc_np(B0_ERR_SYS_BASE - r)) != NULL)
			return s;
		return "unknown system error";
	}
	if (r > 0 || r <= B0_ERR_LAST)
		return "unknown error";
	return errstr[-r];
}

int
b0_err_errno(int r)
{
	if (r <= B0_ERR_SYS_BASE)
		return B0_ERR_SYS_BASE - r;
	return 0;
}

int
b0_err_from_errno(void)
{
	int e = errno;

	if (e <= 0)
		return B0_ERR_INTERNAL;
	return B0_ERR_SYS(e);
}

/*
 * Replace control characters (a peer's CR/LF) by '?', and cut a character
 * the buffer's end split in two.
 */
static void
sanitize(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	b0_utf8_trim(s);
}

void
b0_err_set(struct b0_errmsg *em, const char *fmt, ...)
{
	va_list ap;

	if (em == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(em->text, sizeof(em->text), fmt, ap);
	va_end(ap);
	sanitize(em->text);
}

void
b0_err_prefix(struct b0_errmsg *em, const char *fmt, ...)
{
	char text[sizeof(em->text)];
	va_list ap;

	if (em == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (em->text[0] != '\0') {
		b0_strlcat(text, ": ", sizeof(text));
		b0_strlcat(text, em->text, sizeof(text));
	}
	memcpy(em->text, text, sizeof(text));
	sanitize(em->text);
}

void
b0_err_clear(struct b0_errmsg *em)
{
	if (em != NULL)
		em->text[0] = '\0';
}

const char *
b0_err_text(const struct b0_errmsg *em, int r)
{
	if (em != NULL && em->text[0] != '\0')
		return em->text;
	return b0_strerror(r);
}
