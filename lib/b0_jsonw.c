/*
 * b0_jsonw: write JSON into a b0_buf.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "b0_err.h"
#include "b0_jsonw.h"
#include "b0_utf8.h"

#define ST_WROTE 1  /* a value (or in an object, a key) was written here */
#define ST_OBJECT 2 /* this level is an object, not an array */

void
b0_jsonw_init(struct b0_jsonw *w, struct b0_buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	if (b == NULL)
		w->err = B0_ERR_ARG;
}

static void
fail(struct b0_jsonw *w, int r)
{
	if (w->err == 0)
		w->err = r;
}

static void
put(struct b0_jsonw *w, const void *p, size_t n)
{
	int r;

	if (w->err == 0 && (r = b0_buf_put(w->b, p, n)) != 0)
		fail(w, r);
}

/*
 * Before any value: check that one may go here and write the comma that
 * separates it from the previous element.  Returns 0 if the caller may
 * write the value.
 */
static int
begin_value(struct b0_jsonw *w)
{
	uint8_t *st = &w->state[w->depth];

	if (w->err != 0)
		return -1;
	if (*st & ST_OBJECT) {
		if (!w->after_key) {
			fail(w, B0_ERR_ARG); /* a key must come first */
			return -1;
		}
		w->after_key = 0;
		return 0;
	}
	if (*st & ST_WROTE) {
		if (w->depth == 0) {
			fail(w, B0_ERR_ARG); /* one top-level value only */
			return -1;
		}
		put(w, ",", 1);
	}
	*st |= ST_WROTE;
	return w->err == 0 ? 0 : -1;
}

/*
 * The quoted, escaped form of s[0, n).  Runs of bytes that need no escape
 * are copied whole.
 */
static void
put_string(struct b0_jsonw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, len, elen;
	const char *e;
	char esc[8];
	uint32_t cp;

	put(w, "\"", 1);
	while (i < n && w->err == 0) {
		len = 1;
		elen = 2;
		if (p[i] >= 0x80) {
			if ((len = b0_utf8_decode(s + i, n - i, &cp)) == 0) {
				fail(w, B0_ERR_FORMAT);
				return;
			}
			if (cp != 0x2028 && cp != 0x2029) {
				i += len;
				continue;
			}
			/* Line separators end a JavaScript string. */
			e = cp == 0x2028 ? "\\u2028" : "\\u2029";
			elen = 6;
		} else if (p[i] == '\0') {
			fail(w, B0_ERR_FORMAT); /* b0_json refuses \u0000 */
			return;
		} else if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\' &&
			   p[i] != '<' && p[i] != '>' && p[i] != '&') {
			i++;
			continue;
		} else if (p[i] == '"')
			e = "\\\"";
		else if (p[i] == '\\')
			e = "\\\\";
		else if (p[i] == '\b')
			e = "\\b";
		else if (p[i] == '\f')
			e = "\\f";
		else if (p[i] == '\n')
			e = "\\n";
		else if (p[i] == '\r')
			e = "\\r";
		else if (p[i] == '\t')
			e = "\\t";
		else {
			/* Other controls, and < > & for HTML: \u00XX */
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 0xf];
			e = esc;
			elen = 6;
		}
		put(w, p + run, i - run);
		put(w, e, elen);
		i += len;
		run = i;
	}
	put(w, p + run, i - run);
	put(w, "\"", 1);
}

void
b0_jsonw_obj_begin(struct b0_jsonw *w)
{
	if (begin_value(w) != 0)
		return;
	if (w->depth >= B0_JSONW_MAX_DEPTH) {
		fail(w, B0_ERR_ARG);
		return;
	}
	put(w, "{", 1);
	w->state[++w->depth] = ST_OBJECT;
}

void
b0_jsonw_arr_begin(struct b0_jsonw *w)
{
	if (begin_value(w) != 0)
		return;
	if (w->depth >= B0_JSONW_MAX_DEPTH) {
		fail(w, B0_ERR_ARG);
		return;
	}
	put(w, "[", 1);
	w->state[++w->depth] = 0;
}

static void
end(struct b0_jsonw *w, uint8_t kind, const char *close)
{
	if (w->err != 0)
		return;
	if (w->depth == 0 || (w->state[w->depth] & ST_OBJECT) != kind ||
	    w->after_key) {
		fail(w, B0_ERR_ARG);
		return;
	}
	put(w, close, 1);
	w->depth--;
}

void
b0_jsonw_obj_end(struct b0_jsonw *w)
{
	end(w, ST_OBJECT, "}");
}

void
b0_jsonw_arr_end(struct b0_jsonw *w)
{
	end(w, 0, "]");
}

void
b0_jsonw_key(struct b0_jsonw *w, const char *key)
{
	uint8_t *st = &w->state[w->depth];

	if (w->err != 0)
		return;
	if (!(*st & ST_OBJECT) || w->after_key || key == NULL) {
		fail(w, B0_ERR_ARG);
		return;
	}
	if (*st & ST_WROTE)
		put(w, ",", 1);
	*st |= ST_WROTE;
	put_string(w, key, strlen(key));
	put(w, ":", 1);
	w->after_key = 1;
}

void
b0_jsonw_strn(struct b0_jsonw *w, const char *s, size_t n)
{
	if (w->err == 0 && s == NULL) {
		fail(w, B0_ERR_ARG);
		return;
	}
	if (begin_value(w) != 0)
		return;
	put_string(w, s, n);
}

void
b0_jsonw_str(struct b0_jsonw *w, const char *s)
{
	b0_jsonw_strn(w, s, s == NULL ? 0 : strlen(s));
}

void
b0_jsonw_int(struct b0_jsonw *w, int64_t v)
{
	char num[24];
	int n;

	if (begin_value(w) != 0)
		return;
	n = snprintf(num, sizeof(num), "%" PRId64, v);
	put(w, num, (size_t)n);
}

void
b0_jsonw_bool(struct b0_jsonw *w, int v)
{
	if (begin_value(w) != 0)
		return;
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
}

void
b0_jsonw_null(struct b0_jsonw *w)
{
	if (begin_value(w) != 0)
		return;
	put(w, "null", 4);
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Is s[0, n) exactly -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
valid_number(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && is_digit(s[i])) {
		while (i < n && is_digit(s[i]))
			i++;
	} else
		return 0;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && is_digit(s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	return i == n;
}

void
b0_jsonw_num(struct b0_jsonw *w, const char *s, size_t n)
{
	if (w->err == 0 && s == NULL) {
		fail(w, B0_ERR_ARG);
		return;
	}
	if (w->err == 0 && !valid_number(s, n)) {
		fail(w, B0_ERR_FORMAT);
		return;
	}
	if (begin_value(w) != 0)
		return;
	put(w, s, n);
}

int
b0_jsonw_finish(struct b0_jsonw *w)
{
	if (w->err != 0)
		return w->err;
	if (w->depth != 0 || w->after_key || !(w->state[0] & ST_WROTE))
		return B0_ERR_ARG;
	return 0;
}
