/*
 * b0_jsonw: write JSON into a b0_buf, correctly escaped.
 *
 * Calls never fail individually; the first error (a full buffer, a key
 * where a value belongs, invalid UTF-8 in a string) sticks and is returned
 * by b0_jsonw_finish(), so callers write straight-line code:
 *
 *	b0_jsonw_init(&w, buf);
 *	b0_jsonw_obj_begin(&w);
 *	b0_jsonw_key(&w, "port");
 *	b0_jsonw_int(&w, 22);
 *	b0_jsonw_obj_end(&w);
 *	if ((r = b0_jsonw_finish(&w)) != 0)
 *		goto out;
 */
#ifndef B0_JSONW_H
#define B0_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "b0_buf.h"

#define B0_JSONW_MAX_DEPTH 32

struct b0_jsonw {
	struct b0_buf *b;
	int err;
	unsigned depth;
	/* Per level: 0 nothing written yet, 1 a value written; bit 2: object */
	uint8_t state[B0_JSONW_MAX_DEPTH + 1];
	int after_key; /* a key was written, a value must follow */
};

/*
 * Start writing into b (borrowed; the caller keeps ownership).  Output is
 * appended to what b holds; after an error b may hold a partial value.
 */
void b0_jsonw_init(struct b0_jsonw *w, struct b0_buf *b);

/*
 * Misuse is B0_ERR_ARG: a value where a key belongs, a key outside an
 * object or twice in a row, an end without its begin, nesting deeper than
 * B0_JSONW_MAX_DEPTH, a second top-level value, a NULL string.  Strings and
 * keys must be UTF-8 without NUL bytes (else B0_ERR_FORMAT), so that
 * b0_json_parse() accepts the output; they are escaped so the output can
 * also sit inside HTML or a <script>: '<' '>' '&' U+2028 U+2029 as \uXXXX.
 * Duplicate keys are the caller's business.
 */
void b0_jsonw_obj_begin(struct b0_jsonw *w);
void b0_jsonw_obj_end(struct b0_jsonw *w);
void b0_jsonw_arr_begin(struct b0_jsonw *w);
void b0_jsonw_arr_end(struct b0_jsonw *w);
void b0_jsonw_key(struct b0_jsonw *w, const char *key);
void b0_jsonw_str(struct b0_jsonw *w, const char *s);
void b0_jsonw_strn(struct b0_jsonw *w, const char *s, size_t n);
void b0_jsonw_int(struct b0_jsonw *w, int64_t v);
void b0_jsonw_bool(struct b0_jsonw *w, int v);
void b0_jsonw_null(struct b0_jsonw *w);

/*
 * b0_jsonw_num(w, s, n): the number written as the n bytes of s, which must
 * be an RFC 8259 number ("-1.5e3"; else B0_ERR_FORMAT), e.g. from
 * b0_json_num().
 */
void b0_jsonw_num(struct b0_jsonw *w, const char *s, size_t n);

/*
 * b0_jsonw_finish(w):
 * Return the first error, or B0_ERR_ARG if objects or arrays are still
 * open, or 0 when the buffer holds one complete JSON value.
 */
int b0_jsonw_finish(struct b0_jsonw *w);

#endif /* B0_JSONW_H */
