/*
 * b0_buf: a growable byte buffer with a ceiling.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b0_buf.h"
#include "b0_err.h"

#define BUF_MIN_ALLOC 256

struct b0_buf *
b0_buf_new(size_t max)
{
	struct b0_buf *b;

	if ((b = malloc(sizeof(*b))) == NULL)
		return NULL;
	b0_buf_init(b, max);
	return b;
}

void
b0_buf_init(struct b0_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	/* Far below SIZE_MAX, so max + 1 and doubling never overflow. */
	b->max = max > SIZE_MAX / 4 ? SIZE_MAX / 4 : max;
}

void
b0_buf_cleanup(struct b0_buf *b)
{
	if (b == NULL)
		return;
	if (b->d != NULL && b->secret)
		OPENSSL_cleanse(b->d, b->alloc);
	free(b->d);
	b->d = NULL;
	b->off = b->len = b->alloc = 0;
}

void
b0_buf_free(struct b0_buf *b)
{
	if (b == NULL)
		return;
	b0_buf_cleanup(b);
	free(b);
}

void
b0_buf_set_secret(struct b0_buf *b)
{
	b->secret = 1;
}

size_t
b0_buf_len(const struct b0_buf *b)
{
	return b->len - b->off;
}

const uint8_t *
b0_buf_ptr(const struct b0_buf *b)
{
	return b->d == NULL ? (const uint8_t *)"" : b->d + b->off;
}

uint8_t *
b0_buf_mutable_ptr(const struct b0_buf *b)
{
	return b->d == NULL ? NULL : b->d + b->off;
}

size_t
b0_buf_avail(const struct b0_buf *b)
{
	return b->max - b0_buf_len(b);
}

void
b0_buf_reset(struct b0_buf *b)
{
	if (b->d != NULL && b->secret)
		OPENSSL_cleanse(b->d, b->alloc);
	b->off = b->len = 0;
}

/* Make room for n more bytes at the end, compacting or growing. */
static int
make_room(struct b0_buf *b, size_t n)
{
	size_t have = b->len - b->off, want, nalloc;
	uint8_t *nd;

	if (n > b->max - have)
		return B0_ERR_TOO_BIG;
	want = have + n;
	if (b->alloc - b->len >= n)
		return 0;
	if (b->alloc >= want) {
		/* Enough space overall: move the data to the front. */
		memmove(b->d, b->d + b->off, have);
		if (b->secret)
			OPENSSL_cleanse(b->d + have, b->alloc - have);
		b->off = 0;
		b->len = have;
		return 0;
	}
	nalloc = b->alloc < BUF_MIN_ALLOC ? BUF_MIN_ALLOC : b->alloc;
	while (nalloc < want)
		nalloc *= 2;
	/* Room for the NUL of b0_buf_cstr() without growing again. */
	if (nalloc > b->max + 1)
		nalloc = b->max + 1 < want ? want : b->max + 1;
	if ((nd = malloc(nalloc)) == NULL)
		return B0_ERR_ALLOC;
	if (have > 0)
		memcpy(nd, b->d + b->off, have);
	if (b->d != NULL && b->secret)
		OPENSSL_cleanse(b->d, b->alloc);
	free(b->d);
	b->d = nd;
	b->alloc = nalloc;
	b->off = 0;
	b->len = have;
	return 0;
}

int
b0_buf_reserve(struct b0_buf *b, size_t n, uint8_t **dpp)
{
	int r;

	if (dpp != NULL)
		*dpp = NULL;
	if ((r = make_room(b, n)) != 0)
		return r;
	if (dpp != NULL)
		*dpp = b->d + b->len;
	b->len += n;
	return 0;
}

int
b0_buf_unreserve(struct b0_buf *b, size_t n)
{
	if (n > b->len - b->off)
		return B0_ERR_ARG;
	b->len -= n;
	return 0;
}

int
b0_buf_put(struct b0_buf *b, const void *p, size_t n)
{
	uint8_t *d;
	int r;

	if (n == 0)
		return 0;
	if ((r = b0_buf_reserve(b, n, &d)) != 0)
		return r;
	memcpy(d, p, n);
	return 0;
}

int
b0_buf_put_str(struct b0_buf *b, const char *s)
{
	return b0_buf_put(b, s, strlen(s));
}

int
b0_buf_putfv(struct b0_buf *b, const char *fmt, va_list ap)
{
	size_t max = b->max;
	va_list ap2;
	uint8_t *d;
	int n, r;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return B0_ERR_FORMAT;
	if ((size_t)n > b0_buf_avail(b))
		return B0_ERR_TOO_BIG;
	/* vsnprintf writes a NUL after the text: let it use one byte past max.
	 */
	b->max = max + 1;
	r = b0_buf_reserve(b, (size_t)n + 1, &d);
	b->max = max;
	if (r != 0)
		return r;
	vsnprintf((char *)d, (size_t)n + 1, fmt, ap);
	b->len--;
	return 0;
}

int
b0_buf_putf(struct b0_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = b0_buf_putfv(b, fmt, ap);
	va_end(ap);
	return r;
}

int
b0_buf_put_u8(struct b0_buf *b, uint8_t v)
{
	return b0_buf_put(b, &v, 1);
}

int
b0_buf_put_u16(struct b0_buf *b, uint16_t v)
{
	uint8_t p[2];

	b0_poke_u16(p, v);
	return b0_buf_put(b, p, sizeof(p));
}

int
b0_buf_put_u32(struct b0_buf *b, uint32_t v)
{
	uint8_t p[4];

	b0_poke_u32(p, v);
	return b0_buf_put(b, p, sizeof(p));
}

int
b0_buf_put_u64(struct b0_buf *b, uint64_t v)
{
	uint8_t p[8];

	b0_poke_u32(p, (uint32_t)(v >> 32));
	b0_poke_u32(p + 4, (uint32_t)v);
	return b0_buf_put(b, p, sizeof(p));
}

int
b0_buf_get(struct b0_buf *b, void *p, size_t n)
{
	if (n > b->len - b->off)
		return B0_ERR_INCOMPLETE;
	if (p != NULL && n > 0)
		memcpy(p, b->d + b->off, n);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
	return 0;
}

int
b0_buf_consume(struct b0_buf *b, size_t n)
{
	return b0_buf_get(b, NULL, n);
}

int
b0_buf_get_u8(struct b0_buf *b, uint8_t *vp)
{
	return b0_buf_get(b, vp, 1);
}

int
b0_buf_get_u16(struct b0_buf *b, uint16_t *vp)
{
	uint8_t p[2];
	int r;

	if ((r = b0_buf_get(b, p, sizeof(p))) != 0)
		return r;
	*vp = b0_peek_u16(p);
	return 0;
}

int
b0_buf_get_u32(struct b0_buf *b, uint32_t *vp)
{
	uint8_t p[4];
	int r;

	if ((r = b0_buf_get(b, p, sizeof(p))) != 0)
		return r;
	*vp = b0_peek_u32(p);
	return 0;
}

int
b0_buf_get_u64(struct b0_buf *b, uint64_t *vp)
{
	uint8_t p[8];
	int r;

	if ((r = b0_buf_get(b, p, sizeof(p))) != 0)
		return r;
	*vp = (uint64_t)b0_peek_u32(p) << 32 | b0_peek_u32(p + 4);
	return 0;
}

int
b0_buf_cstr(struct b0_buf *b, const char **sp)
{
	size_t have = b->len - b->off;
	int r;

	*sp = NULL;
	if (have > 0 && memchr(b->d + b->off, '\0', have) != NULL)
		return B0_ERR_FORMAT;
	if (b->alloc == b->len) {
		/* The NUL may use the byte past max: it is not data. */
		size_t max = b->max;

		b->max = max + 1;
		r = make_room(b, 1);
		b->max = max;
		if (r != 0)
			return r;
	}
	b->d[b->len] = '\0';
	*sp = (const char *)b->d + b->off;
	return 0;
}

int
b0_buf_dup_cstr(const struct b0_buf *b, char **sp)
{
	size_t have = b->len - b->off;
	char *s;

	*sp = NULL;
	if (have > 0 && memchr(b->d + b->off, '\0', have) != NULL)
		return B0_ERR_FORMAT;
	if ((s = malloc(have + 1)) == NULL)
		return B0_ERR_ALLOC;
	if (have > 0)
		memcpy(s, b->d + b->off, have);
	s[have] = '\0';
	*sp = s;
	return 0;
}

int
b0_buf_read_fd(struct b0_buf *b, int fd, size_t n)
{
	uint8_t *d;
	ssize_t got;
	int r, saved;

	if (n > b0_buf_avail(b))
		n = b0_buf_avail(b);
	if (n == 0)
		return B0_ERR_TOO_BIG;
	if ((r = b0_buf_reserve(b, n, &d)) != 0)
		return r;
	do {
		got = read(fd, d, n);
	} while (got == -1 && errno == EINTR);
	saved = errno;
	b->len -= n - (got > 0 ? (size_t)got : 0);
	if (got == -1) {
		if (saved == EAGAIN || saved == EWOULDBLOCK)
			return B0_ERR_AGAIN;
		return B0_ERR_SYS(saved);
	}
	if (got == 0)
		return B0_ERR_EOF;
	return got > INT32_MAX ? INT32_MAX : (int)got;
}

int
b0_buf_write_fd(struct b0_buf *b, int fd)
{
	size_t have = b->len - b->off;
	ssize_t put;
	int saved;

	if (have == 0)
		return 0;
	if (have > INT32_MAX)
		have = INT32_MAX;
	do {
		put = write(fd, b->d + b->off, have);
	} while (put == -1 && errno == EINTR);
	if (put == -1) {
		saved = errno;
		if (saved == EAGAIN || saved == EWOULDBLOCK)
			return B0_ERR_AGAIN;
		return B0_ERR_SYS(saved);
	}
	b0_buf_consume(b, (size_t)put);
	return (int)put;
}
