/*
 * b0_buf: a growable byte buffer with a ceiling, after OpenSSH's sshbuf.
 *
 * Data lives in d[off, len).  Appending past max fails with B0_ERR_TOO_BIG,
 * so every buffer fed by a peer or a file is bounded from the start.  A
 * buffer marked secret is wiped before its memory is released or moved.
 */
#ifndef B0_BUF_H
#define B0_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct b0_buf {
	uint8_t *d;
	size_t off;   /* first unread byte */
	size_t len;   /* end of data */
	size_t alloc; /* bytes allocated at d */
	size_t max;   /* most bytes of data the buffer may ever hold */
	int secret;   /* wipe on free, reset and reallocation */
};

/*
 * b0_buf_new(max):
 * Allocate an empty buffer that holds at most max bytes.  Returns NULL when
 * out of memory.  Free with b0_buf_free().
 */
struct b0_buf *b0_buf_new(size_t max);

/* b0_buf_free(b): Release b and its data (wiped if secret).  NULL is fine. */
void b0_buf_free(struct b0_buf *b);

/* For buffers embedded in other structs: init, then cleanup (frees data). */
void b0_buf_init(struct b0_buf *b, size_t max);
void b0_buf_cleanup(struct b0_buf *b);

/* b0_buf_set_secret(b): Wipe b's memory whenever it is released. */
void b0_buf_set_secret(struct b0_buf *b);

/* Unread bytes, a pointer to them (borrowed until b changes), room left. */
size_t b0_buf_len(const struct b0_buf *b);
const uint8_t *b0_buf_ptr(const struct b0_buf *b);
uint8_t *b0_buf_mutable_ptr(const struct b0_buf *b);
size_t b0_buf_avail(const struct b0_buf *b);

/* b0_buf_reset(b): Drop all data, keep the allocation (wiped if secret). */
void b0_buf_reset(struct b0_buf *b);

/*
 * b0_buf_reserve(b, n, dpp):
 * Append n uninitialised bytes and set *dpp (may be NULL) to them.  Returns
 * 0, B0_ERR_TOO_BIG past max, or B0_ERR_ALLOC.
 */
int b0_buf_reserve(struct b0_buf *b, size_t n, uint8_t **dpp);

/*
 * b0_buf_unreserve(b, n): Remove n bytes from the end (after a short read
 * into reserved space).  Returns 0 or B0_ERR_ARG if fewer than n are there.
 */
int b0_buf_unreserve(struct b0_buf *b, size_t n);

/* Append bytes; formatted text (without its NUL); big-endian integers. */
int b0_buf_put(struct b0_buf *b, const void *p, size_t n);
int b0_buf_put_str(struct b0_buf *b, const char *s);
int b0_buf_putf(struct b0_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int b0_buf_putfv(struct b0_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
int b0_buf_put_u8(struct b0_buf *b, uint8_t v);
int b0_buf_put_u16(struct b0_buf *b, uint16_t v);
int b0_buf_put_u32(struct b0_buf *b, uint32_t v);
int b0_buf_put_u64(struct b0_buf *b, uint64_t v);

/*
 * Take bytes from the front.  b0_buf_get copies n bytes to p (p may be NULL
 * to skip); b0_buf_consume drops n.  Both return B0_ERR_INCOMPLETE when
 * fewer than n bytes are there, and then take nothing.
 */
int b0_buf_get(struct b0_buf *b, void *p, size_t n);
int b0_buf_consume(struct b0_buf *b, size_t n);
int b0_buf_get_u8(struct b0_buf *b, uint8_t *vp);
int b0_buf_get_u16(struct b0_buf *b, uint16_t *vp);
int b0_buf_get_u32(struct b0_buf *b, uint32_t *vp);
int b0_buf_get_u64(struct b0_buf *b, uint64_t *vp);

/*
 * b0_buf_cstr(b, sp):
 * NUL-terminate the data (the NUL is not counted in the length) and set *sp
 * to it, borrowed until b changes.  Returns B0_ERR_FORMAT if the data holds
 * a NUL byte, so the string is the whole data.
 */
int b0_buf_cstr(struct b0_buf *b, const char **sp);

/*
 * b0_buf_dup_cstr(b, sp):
 * As b0_buf_cstr but *sp is a new string the caller frees with free().
 */
int b0_buf_dup_cstr(const struct b0_buf *b, char **sp);

/*
 * b0_buf_read_fd(b, fd, n):
 * read(2) at most n bytes (and at most the room left) from fd onto the end
 * of b.  Returns the number of bytes read (> 0), B0_ERR_EOF at end of file,
 * B0_ERR_AGAIN if fd would block, B0_ERR_TOO_BIG if b is full, or
 * B0_ERR_SYS(errno).
 */
int b0_buf_read_fd(struct b0_buf *b, int fd, size_t n);

/*
 * b0_buf_write_fd(b, fd):
 * write(2) unread bytes to fd and consume what was written.  Returns the
 * number written (>= 0), B0_ERR_AGAIN, or B0_ERR_SYS(errno).
 */
int b0_buf_write_fd(struct b0_buf *b, int fd);

/* Big-endian loads and stores for wire formats. */
static inline uint16_t
b0_peek_u16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
b0_peek_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void
b0_poke_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
b0_poke_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* B0_BUF_H */
