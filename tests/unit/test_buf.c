/*
 * Unit tests for lib/b0_buf and lib/b0_err.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "tap.h"

static void
test_ceiling(void)
{
	struct b0_buf *b = b0_buf_new(10);
	uint8_t *d;

	ok(b != NULL, "new");
	is_int(b0_buf_put(b, "0123456789", 10), 0, "fill to max");
	is_int(b0_buf_len(b), 10, "len at max");
	is_int(b0_buf_avail(b), 0, "no room left");
	is_int(b0_buf_put(b, "x", 1), B0_ERR_TOO_BIG, "one past max refused");
	is_int(b0_buf_len(b), 10, "failed put leaves data");
	is_int(b0_buf_reserve(b, 1, &d), B0_ERR_TOO_BIG, "reserve past max");
	ok(d == NULL, "failed reserve clears pointer");
	is_int(b0_buf_consume(b, 4), 0, "consume 4");
	is_int(b0_buf_put(b, "abcd", 4), 0, "room again after consume");
	ok(memcmp(b0_buf_ptr(b), "456789abcd", 10) == 0, "data compacted");
	is_int(b0_buf_consume(b, 11), B0_ERR_INCOMPLETE, "consume too much");
	is_int(b0_buf_len(b), 10, "failed consume takes nothing");
	b0_buf_free(b);
	b0_buf_free(NULL);
	ok(1, "free(NULL) is fine");
}

static void
test_ints(void)
{
	struct b0_buf b;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	b0_buf_init(&b, 64);
	is_int(b0_buf_put_u8(&b, 0xab) | b0_buf_put_u16(&b, 0x1234) |
		   b0_buf_put_u32(&b, 0xdeadbeef) |
		   b0_buf_put_u64(&b, 0x0102030405060708ULL),
	    0, "put ints");
	is_int(b0_buf_len(&b), 15, "15 bytes");
	ok(memcmp(b0_buf_ptr(&b), "\xab\x12\x34\xde\xad\xbe\xef", 7) == 0,
	    "big-endian layout");
	is_int(b0_buf_get_u8(&b, &u8), 0, "get u8");
	is_int(u8, 0xab, "u8 value");
	is_int(b0_buf_get_u16(&b, &u16), 0, "get u16");
	is_int(u16, 0x1234, "u16 value");
	is_int(b0_buf_get_u32(&b, &u32), 0, "get u32");
	ok(u32 == 0xdeadbeef, "u32 value");
	is_int(b0_buf_get_u64(&b, &u64), 0, "get u64");
	ok(u64 == 0x0102030405060708ULL, "u64 value");
	is_int(b0_buf_get_u8(&b, &u8), B0_ERR_INCOMPLETE, "empty get");
	b0_buf_cleanup(&b);
}

static void
test_text(void)
{
	struct b0_buf *b = b0_buf_new(8);
	const char *s;
	char *dup;

	is_int(b0_buf_putf(b, "%s-%d", "ab", 12345), 0, "putf fits 8");
	is_int(b0_buf_cstr(b, &s), 0, "cstr at max");
	is_str(s, "ab-12345", "cstr value");
	is_int(b0_buf_putf(b, "x"), B0_ERR_TOO_BIG, "putf past max");
	b0_buf_reset(b);
	is_int(b0_buf_putf(b, "%s", "123456789"), B0_ERR_TOO_BIG,
	    "putf longer than max");
	is_int(b0_buf_len(b), 0, "failed putf adds nothing");
	is_int(b0_buf_put(b, "a\0b", 3), 0, "put with NUL");
	is_int(b0_buf_cstr(b, &s), B0_ERR_FORMAT, "cstr refuses inner NUL");
	is_int(b0_buf_dup_cstr(b, &dup), B0_ERR_FORMAT,
	    "dup_cstr refuses inner NUL");
	b0_buf_reset(b);
	b0_buf_put_str(b, "hello");
	is_int(b0_buf_dup_cstr(b, &dup), 0, "dup_cstr");
	is_str(dup, "hello", "dup_cstr value");
	free(dup);
	b0_buf_free(b);
}

static void
test_growth_secret(void)
{
	struct b0_buf *b = b0_buf_new(1 << 20);
	size_t i;
	int bad = 0;

	b0_buf_set_secret(b);
	for (i = 0; i < 100000; i++) {
		if (b0_buf_put_u8(b, (uint8_t)i) != 0)
			bad++;
	}
	is_int(bad, 0, "grow to 100000 bytes");
	for (i = 0; i < 100000; i++) {
		if (b0_buf_ptr(b)[i] != (uint8_t)i)
			bad++;
	}
	is_int(bad, 0, "content kept across growth");
	b0_buf_free(b);
}

static void
test_fd(void)
{
	struct b0_buf *b = b0_buf_new(6);
	int p[2];

	if (pipe2(p, O_NONBLOCK) == -1)
		return;
	is_int(b0_buf_read_fd(b, p[0], 100), B0_ERR_AGAIN, "read empty pipe");
	tap_need(write(p[1], "abcdefgh", 8) == 8);
	is_int(b0_buf_read_fd(b, p[0], 4), 4, "read at most n");
	is_int(b0_buf_read_fd(b, p[0], 100), 2, "read at most the room");
	is_int(b0_buf_read_fd(b, p[0], 100), B0_ERR_TOO_BIG, "read when full");
	is_int(b0_buf_write_fd(b, p[1]), 6, "write all");
	is_int(b0_buf_len(b), 0, "written bytes consumed");
	close(p[1]);
	is_int(b0_buf_read_fd(b, p[0], 100), 6, "read rest");
	is_int(b0_buf_read_fd(b, p[0], 100), B0_ERR_TOO_BIG, "full again");
	b0_buf_reset(b);
	is_int(b0_buf_read_fd(b, p[0], 100), 2, "the last 2 of 8 + 6 bytes");
	is_int(b0_buf_read_fd(b, p[0], 100), B0_ERR_EOF, "EOF");
	close(p[0]);
	is_int(b0_buf_read_fd(b, p[0], 100), B0_ERR_SYS(EBADF), "closed fd");
	b0_buf_free(b);
}

static void
test_err(void)
{
	struct b0_errmsg em;

	is_str(b0_strerror(0), "success", "strerror 0");
	is_str(b0_strerror(B0_ERR_TOO_BIG), "input is too large",
	    "strerror TOO_BIG");
	is_str(b0_strerror(B0_ERR_SYS(ENOENT)), "No such file or directory",
	    "strerror SYS(ENOENT)");
	is_int(b0_err_errno(B0_ERR_SYS(EACCES)), EACCES, "errno round trip");
	is_int(b0_err_errno(B0_ERR_FORMAT), 0, "no errno in FORMAT");
	is_str(b0_strerror(5), "unknown error", "positive code");
	is_str(b0_strerror(B0_ERR_LAST), "unknown error", "past the table");
	b0_err_clear(&em);
	is_str(b0_err_text(&em, B0_ERR_EOF), "connection closed by peer",
	    "text falls back to code");
	b0_err_set(&em, "bad\r\nline %d", 3);
	is_str(em.text, "bad??line 3", "control characters replaced");
	b0_err_prefix(&em, "%s:%u", "f.conf", 7u);
	is_str(em.text, "f.conf:7: bad??line 3", "prefix");
	b0_err_set(NULL, "x");
	b0_err_prefix(NULL, "x");
	ok(1, "NULL errmsg is fine");
}

int
main(void)
{
	test_ceiling();
	test_ints();
	test_text();
	test_growth_secret();
	test_fd();
	test_err();
	return tap_done();
}
