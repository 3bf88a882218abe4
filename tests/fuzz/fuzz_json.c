/*
 * libFuzzer target for lib/b0_json and lib/b0_jsonw.
 *
 * Invariants, each an abort():
 *  - a rejection is B0_ERR_FORMAT or B0_ERR_TOO_BIG and comes with a message;
 *  - tighter limits only turn an answer into B0_ERR_TOO_BIG;
 *  - every string is NUL-free UTF-8, every key is found by obj_get at its
 *    own member (no duplicates slipped through), integers print as parsed;
 *  - a parsed document rewritten with b0_jsonw parses again to the same
 *    structure, and rewriting that gives the same bytes.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(                                               \
			    stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                               \
		}                                                              \
	} while (0)

/* Check the accessors on value v; recursion is bounded by the depth limit. */
static void
inspect(const struct b0_json *j, int v)
{
	const char *s, *k;
	char num[32];
	size_t n, i;
	int64_t iv;
	int e, f, bv, r;

	switch (b0_json_type(j, v)) {
	case B0_JSON_NULL:
		CHECK(b0_json_bool(j, v, &bv) == B0_ERR_FORMAT);
		break;
	case B0_JSON_BOOL:
		CHECK(b0_json_bool(j, v, &bv) == 0 && (bv == 0 || bv == 1));
		break;
	case B0_JSON_NUMBER:
		CHECK(b0_json_num(j, v, &s, &n) == 0 && strlen(s) == n);
		r = b0_json_int(j, v, &iv);
		CHECK(r == 0 || r == B0_ERR_RANGE || r == B0_ERR_FORMAT);
		if (r == 0 && strcmp(s, "-0") != 0) {
			snprintf(num, sizeof(num), "%" PRId64, iv);
			CHECK(strcmp(num, s) == 0);
		}
		break;
	case B0_JSON_STRING:
		CHECK(b0_json_str(j, v, &s, &n) == 0 && strlen(s) == n);
		CHECK(b0_utf8_valid(s, n));
		CHECK(b0_json_int(j, v, &iv) == B0_ERR_FORMAT);
		break;
	case B0_JSON_ARRAY:
		n = b0_json_len(j, v);
		for (i = 0; i < n; i++) {
			CHECK(b0_json_arr_get(j, v, i, &e) == 0);
			inspect(j, e);
		}
		CHECK(b0_json_arr_get(j, v, n, &e) == B0_ERR_RANGE);
		CHECK(b0_json_obj_get(j, v, "", &e) == B0_ERR_FORMAT);
		break;
	case B0_JSON_OBJECT:
		n = b0_json_len(j, v);
		for (i = 0; i < n; i++) {
			CHECK(b0_json_obj_member(j, v, i, &k, &e) == 0);
			CHECK(b0_utf8_valid(k, strlen(k)));
			CHECK(b0_json_obj_get(j, v, k, &f) == 0 && f == e);
			inspect(j, e);
		}
		CHECK(b0_json_obj_member(j, v, n, &k, &e) == B0_ERR_RANGE);
		CHECK(b0_json_arr_get(j, v, 0, &e) == B0_ERR_FORMAT);
		break;
	default:
		CHECK(0);
	}
}

static void
emit(const struct b0_json *j, int v, struct b0_jsonw *w)
{
	const char *s;
	size_t n, i;
	int64_t iv;
	int e, bv;

	switch (b0_json_type(j, v)) {
	case B0_JSON_NULL:
		b0_jsonw_null(w);
		break;
	case B0_JSON_BOOL:
		b0_json_bool(j, v, &bv);
		b0_jsonw_bool(w, bv);
		break;
	case B0_JSON_NUMBER:
		/* Integers as int64 (except "-0"), the rest as text. */
		b0_json_num(j, v, &s, &n);
		if (b0_json_int(j, v, &iv) == 0 && strcmp(s, "-0") != 0)
			b0_jsonw_int(w, iv);
		else
			b0_jsonw_num(w, s, n);
		break;
	case B0_JSON_STRING:
		b0_json_str(j, v, &s, &n);
		b0_jsonw_strn(w, s, n);
		break;
	case B0_JSON_ARRAY:
		b0_jsonw_arr_begin(w);
		for (i = 0; b0_json_arr_get(j, v, i, &e) == 0; i++)
			emit(j, e, w);
		b0_jsonw_arr_end(w);
		break;
	case B0_JSON_OBJECT:
		b0_jsonw_obj_begin(w);
		for (i = 0; b0_json_obj_member(j, v, i, &s, &e) == 0; i++) {
			b0_jsonw_key(w, s);
			emit(j, e, w);
		}
		b0_jsonw_obj_end(w);
		break;
	default:
		CHECK(0);
	}
}

static int
same(const struct b0_json *a, int va, const struct b0_json *b, int vb)
{
	enum b0_json_type t = b0_json_type(a, va);
	const char *sa, *sb, *ka, *kb;
	size_t la, lb, i;
	int ia, ib, ea, eb;

	if (t == 0 || t != b0_json_type(b, vb))
		return 0;
	switch (t) {
	case B0_JSON_NULL:
		return 1;
	case B0_JSON_BOOL:
		return b0_json_bool(a, va, &ia) == 0 &&
		       b0_json_bool(b, vb, &ib) == 0 && ia == ib;
	case B0_JSON_NUMBER:
		return b0_json_num(a, va, &sa, &la) == 0 &&
		       b0_json_num(b, vb, &sb, &lb) == 0 && la == lb &&
		       memcmp(sa, sb, la) == 0;
	case B0_JSON_STRING:
		return b0_json_str(a, va, &sa, &la) == 0 &&
		       b0_json_str(b, vb, &sb, &lb) == 0 && la == lb &&
		       memcmp(sa, sb, la) == 0;
	case B0_JSON_ARRAY:
	case B0_JSON_OBJECT:
		if (b0_json_len(a, va) != b0_json_len(b, vb))
			return 0;
		for (i = 0; i < b0_json_len(a, va); i++) {
			if (t == B0_JSON_ARRAY) {
				ka = kb = "";
				if (b0_json_arr_get(a, va, i, &ea) != 0 ||
				    b0_json_arr_get(b, vb, i, &eb) != 0)
					return 0;
			} else if (b0_json_obj_member(a, va, i, &ka, &ea) !=
				       0 ||
				   b0_json_obj_member(b, vb, i, &kb, &eb) != 0)
				return 0;
			if (strcmp(ka, kb) != 0 || !same(a, ea, b, eb))
				return 0;
		}
		return 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct b0_json_limits tight = {size, 4, 16};
	const struct b0_json_limits big = {
	    SIZE_MAX, B0_JSON_MAX_DEPTH, B0_JSON_MAX_TOKENS};
	struct b0_json *j = NULL, *j2 = NULL, *jt = NULL;
	struct b0_errmsg em, emt;
	struct b0_buf *out = NULL, *out2 = NULL;
	struct b0_jsonw w;
	int r, rt;

	r = b0_json_parse((const char *)data, size, NULL, &j, &em);
	CHECK(r == 0 || r == B0_ERR_FORMAT || r == B0_ERR_TOO_BIG ||
	      r == B0_ERR_ALLOC);
	CHECK(r == 0 || em.text[0] != '\0');
	CHECK((r == 0) == (j != NULL));

	/* Tighter limits: the same answer, or B0_ERR_TOO_BIG. */
	rt = b0_json_parse((const char *)data, size, &tight, &jt, &emt);
	if (r == 0)
		CHECK(rt == 0 || rt == B0_ERR_TOO_BIG);
	if (r == B0_ERR_FORMAT) {
		CHECK(rt == B0_ERR_FORMAT || rt == B0_ERR_TOO_BIG);
		if (rt == B0_ERR_FORMAT)
			CHECK(strcmp(em.text, emt.text) == 0);
	}
	if (r == 0 && rt == 0)
		CHECK(same(j, 0, jt, 0));
	b0_json_free(jt);
	if (r != 0)
		return 0;

	inspect(j, 0);

	/* Escaping grows a byte to at most 6 ("<" is "\u003c"). */
	out = b0_buf_new(6 * size + 64);
	out2 = b0_buf_new(6 * size + 64);
	CHECK(out != NULL && out2 != NULL);
	b0_jsonw_init(&w, out);
	emit(j, 0, &w);
	CHECK(b0_jsonw_finish(&w) == 0);
	r = b0_json_parse(
	    (const char *)b0_buf_ptr(out), b0_buf_len(out), &big, &j2, &em);
	if (r != 0)
		fprintf(stderr, "rewritten: %s\n", em.text);
	CHECK(r == 0);
	CHECK(same(j, 0, j2, 0));
	b0_jsonw_init(&w, out2);
	emit(j2, 0, &w);
	CHECK(b0_jsonw_finish(&w) == 0);
	CHECK(b0_buf_len(out) == b0_buf_len(out2) &&
	      memcmp(b0_buf_ptr(out), b0_buf_ptr(out2), b0_buf_len(out)) == 0);

	b0_buf_free(out);
	b0_buf_free(out2);
	b0_json_free(j2);
	b0_json_free(j);
	return 0;
}
