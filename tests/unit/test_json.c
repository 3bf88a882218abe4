/*
 * Unit tests for lib/b0_json and lib/b0_jsonw.
 *
 * Every input is parsed from a copy that ends at a PROT_NONE page
 * (tap_guard), and the copy is unmapped before the document is looked at,
 * so reading past len or keeping pointers into the input crashes.
 */
#include <limits.h>
#include <stdint.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "tap.h"

/* A string literal and its length, embedded NULs included. */
#define S(x) x, sizeof(x) - 1

/* A printable rendering of input for test names (static buffer). */
static const char *
vis(const char *s, size_t n)
{
	static char out[80];
	size_t i, o = 0;

	for (i = 0; i < n && o + 8 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(
			    out + o, sizeof(out) - o, "\\x%02x", c);
	}
	if (i < n)
		memcpy(out + o, "...", 4);
	else
		out[o] = '\0';
	return out;
}

static int
parse_g(const char *in, size_t len, const struct b0_json_limits *lim,
    struct b0_json **jp, struct b0_errmsg *em)
{
	char *g = tap_guard(in, len);
	int r;

	r = b0_json_parse(g, len, lim, jp, em);
	tap_unguard(g, len);
	return r;
}

/* Structural equality of value va in a and vb in b. */
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

/* Write value v of j with w, as any program would. */
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
		/* Integers as int64, unless "-0" which would become "0". */
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
	}
}

static const struct {
	const char *in;
	size_t len;
	enum b0_json_type type;
	size_t n; /* b0_json_len of the root */
} valid[] = {
    {S("null"), B0_JSON_NULL, 0},
    {S("true"), B0_JSON_BOOL, 0},
    {S("false"), B0_JSON_BOOL, 0},
    {S("0"), B0_JSON_NUMBER, 0},
    {S("-0"), B0_JSON_NUMBER, 0},
    {S("7"), B0_JSON_NUMBER, 0},
    {S("-12.5e+3"), B0_JSON_NUMBER, 0},
    {S("1E-7"), B0_JSON_NUMBER, 0},
    {S("0.0"), B0_JSON_NUMBER, 0},
    {S("123456789012345678901234567890"), B0_JSON_NUMBER, 0},
    {S("\"\""), B0_JSON_STRING, 0},
    {S("\"abc\""), B0_JSON_STRING, 0},
    {S("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\""), B0_JSON_STRING, 0},
    {S("\"\\ud83d\\ude00 \xf0\x9f\x98\x80 \xc3\xa9 \xe2\x82\xac\""),
	B0_JSON_STRING, 0},
    {S("\"\xf4\x8f\xbf\xbf\""), B0_JSON_STRING, 0},
    {S("\"\x7f\""), B0_JSON_STRING, 0},
    {S("[]"), B0_JSON_ARRAY, 0},
    {S("{}"), B0_JSON_OBJECT, 0},
    {S("[ ]"), B0_JSON_ARRAY, 0},
    {S("{ \t\r\n}"), B0_JSON_OBJECT, 0},
    {S(" \t\r\n[1] \t\r\n"), B0_JSON_ARRAY, 1},
    {S(" 1 "), B0_JSON_NUMBER, 0},
    {S("\n\"x\"\n"), B0_JSON_STRING, 0},
    {S("[1,\"a\",true,false,null,[],{}]"), B0_JSON_ARRAY, 7},
    {S("[ 1 , 2 ]"), B0_JSON_ARRAY, 2},
    {S("[[[[]]]]"), B0_JSON_ARRAY, 1},
    {S("{\"a\":1}"), B0_JSON_OBJECT, 1},
    {S("{ \"a\" : 1 , \"b\" : [ 2 ] }"), B0_JSON_OBJECT, 2},
    {S("{\"a\":{\"a\":{\"a\":null}}}"), B0_JSON_OBJECT, 1},
    {S("{\"a\":1,\"A\":2,\"a \":3,\"\":4}"), B0_JSON_OBJECT, 4},
    {S("{\"x\":{\"k\":1},\"y\":{\"k\":1}}"), B0_JSON_OBJECT, 2},
    {S("{\"sub\":\"u\",\"exp\":1700000000,\"aud\":[\"a\",\"b\"]}"),
	B0_JSON_OBJECT, 3},
    {S("[-0,0.5,1e5,1E+5,1e-5,-1.25E-10]"), B0_JSON_ARRAY, 6},
    {S("{\"a\":1,\"\\u00e9\":2,\"\xc3\xa9\\u0020\":3}"), B0_JSON_OBJECT, 3},
    {S("[\"\\ud800\\udc00\",\"\\udbff\\udfff\"]"), B0_JSON_ARRAY, 2},
    {S("[\"<>&\\u2028\"]"), B0_JSON_ARRAY, 1},
};

static void
test_valid(void)
{
	struct b0_errmsg em;
	struct b0_json *j, *j2;
	struct b0_buf *b;
	struct b0_jsonw w;
	size_t i;
	int r;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		strcpy(em.text, "stale");
		j = NULL;
		r = parse_g(valid[i].in, valid[i].len, NULL, &j, &em);
		is_int(
		    r, 0, "valid %zu: %s", i, vis(valid[i].in, valid[i].len));
		if (r != 0) {
			tap_diag("%s", em.text);
			continue;
		}
		is_str(em.text, "", "valid %zu: message cleared", i);
		is_int(b0_json_type(j, 0), valid[i].type, "valid %zu: type", i);
		is_int(b0_json_len(j, 0), valid[i].n, "valid %zu: length", i);

		/* Round trip: write it out, parse again, same structure. */
		b = b0_buf_new(4096);
		b0_jsonw_init(&w, b);
		emit(j, 0, &w);
		is_int(b0_jsonw_finish(&w), 0, "valid %zu: rewritten", i);
		j2 = NULL;
		r = parse_g(
		    (const char *)b0_buf_ptr(b), b0_buf_len(b), NULL, &j2, &em);
		is_int(r, 0, "valid %zu: rewritten parses", i);
		ok(r == 0 && same(j, 0, j2, 0), "valid %zu: round trip", i);
		b0_json_free(j2);
		b0_buf_free(b);
		b0_json_free(j);
	}
}

static const struct {
	const char *in;
	size_t len;
	int r;
	const char *msg;
} invalid[] = {
    /* jsmn accepts all of these */
    {S("[1,]"), B0_ERR_FORMAT, "trailing comma at offset 2"},
    {S("{\"a\":1,}"), B0_ERR_FORMAT, "trailing comma at offset 6"},
    {S("[1, ]"), B0_ERR_FORMAT, "trailing comma at offset 2"},
    {S("[1 2]"), B0_ERR_FORMAT, "missing comma at offset 3"},
    {S("{\"a\":1 \"b\":2}"), B0_ERR_FORMAT, "missing comma at offset 7"},
    {S("[\"a\"\"b\"]"), B0_ERR_FORMAT, "missing comma at offset 4"},
    {S("[[] {}]"), B0_ERR_FORMAT, "missing comma at offset 4"},
    {S("{\"a\":1,\"a\":2}"), B0_ERR_FORMAT, "duplicate key \"a\" at offset 7"},
    {S("{\"a\":1,\"\\u0061\":2}"), B0_ERR_FORMAT,
	"duplicate key \"a\" at offset 7"},
    {S("{\"\xc3\xa9\":1,\"\\u00e9\":2}"), B0_ERR_FORMAT,
	"duplicate key \"\xc3\xa9\" at offset 8"},
    {S("{\"x\":{\"exp\":1,\"b\":2,\"exp\":3}}"), B0_ERR_FORMAT,
	"duplicate key \"exp\" at offset 20"},
    {S("{\"b\":1,\"a\":1,\"b\":2,\"a\":2}"), B0_ERR_FORMAT,
	"duplicate key \"b\" at offset 13"},
    {S("{\"\":1,\"\":2}"), B0_ERR_FORMAT, "duplicate key \"\" at offset 6"},
    {S("{\"a\":1,\"a\":2,\"a\":3}"), B0_ERR_FORMAT,
	"duplicate key \"a\" at offset 7"},
    {S("{\"c\":{\"a\":1,\"a\":2},\"c\":3}"), B0_ERR_FORMAT,
	"duplicate key \"a\" at offset 12"},
    {S("[{\"k\":1},{\"k\":2,\"k\":3}]"), B0_ERR_FORMAT,
	"duplicate key \"k\" at offset 16"},
    {S("{\"0123456789012345678901234567890123456789xyz\":1,"
       "\"0123456789012345678901234567890123456789xyz\":2}"),
	B0_ERR_FORMAT,
	"duplicate key \"0123456789012345678901234567890123456789...\" at "
	"offset 49"},
    {S("{\"012345678901234567890123456789012345678\xc3\xa9\":1,"
       "\"012345678901234567890123456789012345678\xc3\xa9\":2}"),
	B0_ERR_FORMAT,
	"duplicate key \"012345678901234567890123456789012345678...\" at "
	"offset 47"},
    {S("\"\\u0000\""), B0_ERR_FORMAT, "\\u0000 in string at offset 1"},
    {S("{\"a\\u0000\":1}"), B0_ERR_FORMAT, "\\u0000 in string at offset 3"},
    {S("\"\xc3\x28\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"a\x80\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 2"},
    {S("\"\xc0\xaf\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xc1\xbf\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xe0\x80\xaf\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xf0\x80\x80\xaf\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xed\xa0\x80\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xed\xbf\xbf\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xf4\x90\x80\x80\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xf8\x88\x80\x80\x80\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xff\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\xe2\x82\""), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"ab\xe2\x82"), B0_ERR_FORMAT, "invalid UTF-8 at offset 3"},
    {S("\"\xf0\x9f\x98"), B0_ERR_FORMAT, "invalid UTF-8 at offset 1"},
    {S("\"\\ud800\""), B0_ERR_FORMAT, "unpaired surrogate \\ud800 at offset 1"},
    {S("\"\\udc00\""), B0_ERR_FORMAT, "unpaired surrogate \\udc00 at offset 1"},
    {S("\"\\ud800\\u0041\""), B0_ERR_FORMAT,
	"unpaired surrogate \\ud800 at offset 1"},
    {S("\"\\ud800\\ud800\""), B0_ERR_FORMAT,
	"unpaired surrogate \\ud800 at offset 1"},
    {S("\"\\ud800x\\udc00\""), B0_ERR_FORMAT,
	"unpaired surrogate \\ud800 at offset 1"},
    {S("\"\\uDBFF\\n\""), B0_ERR_FORMAT,
	"unpaired surrogate \\udbff at offset 1"},
    {S("\"a\\ud800"), B0_ERR_FORMAT, "unpaired surrogate \\ud800 at offset 2"},
    {S("\"\\ud800\\"), B0_ERR_FORMAT, "unpaired surrogate \\ud800 at offset 1"},
    {S("\"\\ud800\\u"), B0_ERR_FORMAT,
	"unpaired surrogate \\ud800 at offset 1"},
    {S("\"\\ud800\\udc0"), B0_ERR_FORMAT,
	"unpaired surrogate \\ud800 at offset 1"},
    {S("\"\\ud800\\udc0\""), B0_ERR_FORMAT,
	"unpaired surrogate \\ud800 at offset 1"},
    {S("\"\\ud83d\\ude00\\ude00\""), B0_ERR_FORMAT,
	"unpaired surrogate \\ude00 at offset 13"},
    {S("{} {}"), B0_ERR_FORMAT, "data after the value at offset 3"},
    {S("1 2"), B0_ERR_FORMAT, "data after the value at offset 2"},
    {S("\"a\"\"b\""), B0_ERR_FORMAT, "data after the value at offset 3"},
    {S("[]]"), B0_ERR_FORMAT, "data after the value at offset 2"},
    {S("{}}"), B0_ERR_FORMAT, "data after the value at offset 2"},
    {S("\"a\":1"), B0_ERR_FORMAT, "data after the value at offset 3"},
    {S("1\0"), B0_ERR_FORMAT, "data after the value at offset 1"},
    {S("null,"), B0_ERR_FORMAT, "data after the value at offset 4"},
    {S("\"a\nb\""), B0_ERR_FORMAT,
	"control character 0x0a in string at offset 2"},
    {S("\"\t\""), B0_ERR_FORMAT,
	"control character 0x09 in string at offset 1"},
    {S("\"\x1f\""), B0_ERR_FORMAT,
	"control character 0x1f in string at offset 1"},
    {S("\"a\0b\""), B0_ERR_FORMAT,
	"control character 0x00 in string at offset 2"},
    {S("{\"a\rb\":1}"), B0_ERR_FORMAT,
	"control character 0x0d in string at offset 3"},
    {S("01"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("[01]"), B0_ERR_FORMAT, "invalid number at offset 1"},
    {S("-01"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("00"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("1."), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("[1.]"), B0_ERR_FORMAT, "invalid number at offset 1"},
    {S("1.e5"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S(".5"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("-"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("[-]"), B0_ERR_FORMAT, "invalid number at offset 1"},
    {S("- 1"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("+1"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("1e"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("1e+"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("1E-"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("0x10"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("1.5.2"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("2-1"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("1e5e5"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("[1a]"), B0_ERR_FORMAT, "invalid number at offset 1"},
    {S("-Infinity"), B0_ERR_FORMAT, "invalid number at offset 0"},
    {S("NaN"), B0_ERR_FORMAT, "invalid literal at offset 0"},
    {S("Infinity"), B0_ERR_FORMAT, "invalid literal at offset 0"},
    {S("tru"), B0_ERR_FORMAT, "invalid literal at offset 0"},
    {S("nulll"), B0_ERR_FORMAT, "invalid literal at offset 0"},
    {S("True"), B0_ERR_FORMAT, "invalid literal at offset 0"},
    {S("NULL"), B0_ERR_FORMAT, "invalid literal at offset 0"},
    {S("[fals]"), B0_ERR_FORMAT, "invalid literal at offset 1"},
    {S("[true1]"), B0_ERR_FORMAT, "invalid literal at offset 1"},
    {S("{\"a\":nul}"), B0_ERR_FORMAT, "invalid literal at offset 5"},
    {S("undefined"), B0_ERR_FORMAT, "invalid literal at offset 0"},
    {S("{1:2}"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("{a:1}"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("{true:1}"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("{null:1}"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("{[]:1}"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("{{}:1}"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("{\"a\":1,2:3}"), B0_ERR_FORMAT,
	"object key is not a string at offset 7"},
    {S("{'a':1}"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("{\"a\"}"), B0_ERR_FORMAT, "expected ':' at offset 4"},
    {S("{\"a\" 1}"), B0_ERR_FORMAT, "expected ':' at offset 5"},
    {S("{\"a\""), B0_ERR_FORMAT, "expected ':' at offset 4"},
    {S("{\"a\":}"), B0_ERR_FORMAT, "expected a value at offset 5, found '}'"},
    {S("{\"a\"::1}"), B0_ERR_FORMAT, "expected a value at offset 5, found ':'"},
    {S("[1:2]"), B0_ERR_FORMAT, "unexpected ':' at offset 2"},
    {S("{\"a\":1:2}"), B0_ERR_FORMAT, "unexpected ':' at offset 6"},
    {S("\xef\xbb\xbf{}"), B0_ERR_FORMAT, "byte order mark at offset 0"},
    {S("\xef\xbb\xbf"), B0_ERR_FORMAT, "byte order mark at offset 0"},
    {S(""), B0_ERR_FORMAT, "empty input"},
    {S(" \t\r\n"), B0_ERR_FORMAT, "empty input"},
    {S("["), B0_ERR_FORMAT, "unexpected end of input at offset 1"},
    {S("{"), B0_ERR_FORMAT, "unexpected end of input at offset 1"},
    {S("[1"), B0_ERR_FORMAT, "unexpected end of input at offset 2"},
    {S("[1,"), B0_ERR_FORMAT, "unexpected end of input at offset 3"},
    {S("{\"a\":"), B0_ERR_FORMAT, "unexpected end of input at offset 5"},
    {S("{\"a\":1"), B0_ERR_FORMAT, "unexpected end of input at offset 6"},
    {S("[[[]]"), B0_ERR_FORMAT, "unexpected end of input at offset 5"},
    {S("\"abc"), B0_ERR_FORMAT, "unterminated string at offset 0"},
    {S("[\"abc\\\"]"), B0_ERR_FORMAT, "unterminated string at offset 1"},
    {S("\"\\"), B0_ERR_FORMAT, "unterminated string at offset 0"},
    {S("]"), B0_ERR_FORMAT, "expected a value at offset 0, found ']'"},
    {S("}"), B0_ERR_FORMAT, "expected a value at offset 0, found '}'"},
    {S(","), B0_ERR_FORMAT, "expected a value at offset 0, found ','"},
    {S(":"), B0_ERR_FORMAT, "expected a value at offset 0, found ':'"},
    {S("[}"), B0_ERR_FORMAT, "expected a value at offset 1, found '}'"},
    {S("{]"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("{\"a\":1]"), B0_ERR_FORMAT, "unexpected ']' at offset 6"},
    {S("[1}"), B0_ERR_FORMAT, "unexpected '}' at offset 2"},
    {S("[,1]"), B0_ERR_FORMAT, "missing value at offset 1"},
    {S("[1,,2]"), B0_ERR_FORMAT, "missing value at offset 3"},
    {S("{,}"), B0_ERR_FORMAT, "object key is not a string at offset 1"},
    {S("\"\\x\""), B0_ERR_FORMAT, "invalid escape at offset 1"},
    {S("\"\\'\""), B0_ERR_FORMAT, "invalid escape at offset 1"},
    {S("\"\\U0041\""), B0_ERR_FORMAT, "invalid escape at offset 1"},
    {S("\"\\u12\""), B0_ERR_FORMAT, "invalid \\u escape at offset 1"},
    {S("\"\\u12G4\""), B0_ERR_FORMAT, "invalid \\u escape at offset 1"},
    {S("\"\\u00"), B0_ERR_FORMAT, "invalid \\u escape at offset 1"},
    {S("'a'"), B0_ERR_FORMAT, "expected a value at offset 0, found byte 0x27"},
    {S("/* c */ 1"), B0_ERR_FORMAT, "expected a value at offset 0, found '/'"},
    {S("[1]//"), B0_ERR_FORMAT, "data after the value at offset 3"},
    {S("\f1"), B0_ERR_FORMAT, "expected a value at offset 0, found byte 0x0c"},
    {S("\v1"), B0_ERR_FORMAT, "expected a value at offset 0, found byte 0x0b"},
    {S("1\f"), B0_ERR_FORMAT, "data after the value at offset 1"},
    {S("\xc2\xa0"
       "1"),
	B0_ERR_FORMAT, "expected a value at offset 0, found byte 0xc2"},
    {S("\0"), B0_ERR_FORMAT, "expected a value at offset 0, found byte 0x00"},
    {S("[\"a\",\0]"), B0_ERR_FORMAT,
	"expected a value at offset 5, found byte 0x00"},
};

static void
test_invalid(void)
{
	struct b0_errmsg em;
	struct b0_json *j;
	size_t i;
	int r;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		j = (struct b0_json *)&em; /* must be cleared */
		em.text[0] = '\0';
		r = parse_g(invalid[i].in, invalid[i].len, NULL, &j, &em);
		is_int(r, invalid[i].r, "invalid %zu: %s", i,
		    vis(invalid[i].in, invalid[i].len));
		has_str(em.text, invalid[i].msg, "invalid %zu: message", i);
		ok(j == NULL, "invalid %zu: no document", i);
		if (r == 0)
			b0_json_free(j);
	}
}

static void
test_args(void)
{
	struct b0_errmsg em;
	struct b0_json *j = NULL;

	is_int(b0_json_parse(NULL, 0, NULL, &j, &em), B0_ERR_FORMAT,
	    "NULL text, length 0: empty input");
	is_int(b0_json_parse(NULL, 1, NULL, &j, &em), B0_ERR_ARG,
	    "NULL text with a length");
	is_int(b0_json_parse("1 ", 2, NULL, NULL, &em), B0_ERR_ARG,
	    "NULL document pointer");
	is_int(b0_json_parse("1 ", 2, NULL, &j, NULL), 0, "NULL errmsg ok");
	b0_json_free(j);
	is_int(b0_json_parse("[", 1, NULL, &j, NULL), B0_ERR_FORMAT,
	    "NULL errmsg on error");
	b0_json_free(NULL);
	ok(1, "b0_json_free(NULL)");
}

/* "[[...[]...]]" nested n deep, or only the opening brackets. */
static char *
nest(size_t n, int closed, size_t *lenp)
{
	size_t len = closed ? 2 * n : n, i;
	char *s = malloc(len + 1);

	if (s == NULL)
		exit(2);
	for (i = 0; i < n; i++) {
		s[i] = '[';
		if (closed)
			s[len - 1 - i] = ']';
	}
	s[len] = '\0';
	*lenp = len;
	return s;
}

static void
test_limits(void)
{
	struct b0_json_limits lim;
	struct b0_errmsg em;
	struct b0_json *j = NULL;
	size_t len, i;
	char *s;
	int r, v;

	/* Bytes: the default and a small limit, at and one past. */
	len = B0_JSON_MAX_BYTES;
	if ((s = malloc(len + 2)) == NULL)
		exit(2);
	memset(s, 'a', len + 1);
	s[0] = '"';
	s[len - 1] = '"';
	is_int(parse_g(s, len, NULL, &j, &em), 0, "default byte limit: at");
	is_int(b0_json_type(j, 0), B0_JSON_STRING, "64 KiB string");
	b0_json_free(j);
	s[len - 1] = 'a';
	s[len] = '"';
	is_int(parse_g(s, len + 1, NULL, &j, &em), B0_ERR_TOO_BIG,
	    "default byte limit: one past");
	has_str(em.text, "65537 bytes is over the limit of 65536",
	    "byte limit message");
	ok(j == NULL, "no document past the byte limit");
	free(s);
	lim = (struct b0_json_limits){10, 32, 100};
	is_int(parse_g(S("\"12345678\""), &lim, &j, &em), 0, "10 bytes of 10");
	b0_json_free(j);
	is_int(parse_g(S("\"123456789\""), &lim, &j, &em), B0_ERR_TOO_BIG,
	    "11 bytes of 10");
	is_int(parse_g(S(" [1,2,3,4] "), &lim, &j, &em), B0_ERR_TOO_BIG,
	    "whitespace counts");

	/* Depth: the default, and small limits. */
	s = nest(B0_JSON_MAX_DEPTH, 1, &len);
	is_int(parse_g(s, len, NULL, &j, &em), 0, "depth 32 of 32");
	free(s);
	for (i = 0, v = 0; b0_json_arr_get(j, v, 0, &v) == 0; i++)
		;
	is_int(i, B0_JSON_MAX_DEPTH - 1, "walked 31 levels down");
	b0_json_free(j);
	s = nest(B0_JSON_MAX_DEPTH + 1, 1, &len);
	is_int(
	    parse_g(s, len, NULL, &j, &em), B0_ERR_TOO_BIG, "depth 33 of 32");
	has_str(
	    em.text, "nesting deeper than 32 at offset 32", "depth message");
	free(s);
	lim = (struct b0_json_limits){1024, 2, 100};
	is_int(parse_g(S("{\"a\":[1]}"), &lim, &j, &em), 0, "depth 2 of 2");
	b0_json_free(j);
	is_int(parse_g(S("{\"a\":[{}]}"), &lim, &j, &em), B0_ERR_TOO_BIG,
	    "depth 3 of 2");
	has_str(em.text, "nesting deeper than 2 at offset 6",
	    "depth message, objects");
	lim.max_depth = 0;
	is_int(parse_g(S("\"x\""), &lim, &j, &em), 0, "depth 0: a string");
	b0_json_free(j);
	is_int(parse_g(S("[]"), &lim, &j, &em), B0_ERR_TOO_BIG,
	    "depth 0: no array");

	/* A million brackets: refused at the limit, no deep recursion. */
	s = nest(1000000, 0, &len);
	lim = (struct b0_json_limits){SIZE_MAX, B0_JSON_MAX_DEPTH, 100};
	is_int(parse_g(s, len, &lim, &j, &em), B0_ERR_TOO_BIG,
	    "1e6 open brackets: too deep");
	lim = (struct b0_json_limits){SIZE_MAX, UINT_MAX, UINT_MAX};
	is_int(parse_g(s, len, &lim, &j, &em), B0_ERR_FORMAT,
	    "1e6 open brackets, no depth limit: unterminated");
	free(s);
	s = nest(10000, 1, &len);
	r = parse_g(s, len, &lim, &j, &em);
	is_int(r, 0, "10000 deep, no depth limit: parses without recursion");
	if (r == 0) {
		for (i = 0, v = 0; b0_json_arr_get(j, v, 0, &v) == 0; i++)
			;
		is_int(i, 9999, "walked 9999 levels down");
		b0_json_free(j);
	}
	free(s);

	/* Tokens: keys count too. */
	lim = (struct b0_json_limits){1024, 32, 3};
	is_int(parse_g(S("[1,2]"), &lim, &j, &em), 0, "3 tokens of 3");
	b0_json_free(j);
	is_int(parse_g(S("{\"a\":1}"), &lim, &j, &em), 0, "object of 3 tokens");
	b0_json_free(j);
	is_int(parse_g(S("[1,2,3]"), &lim, &j, &em), B0_ERR_TOO_BIG,
	    "4 tokens of 3");
	has_str(em.text, "more than 3 values (keys included) at offset 5",
	    "token message");
	is_int(parse_g(S("{\"a\":1,\"b\":2}"), &lim, &j, &em), B0_ERR_TOO_BIG,
	    "5 tokens of 3");
	lim.max_tokens = 0;
	is_int(parse_g(S("1 "), &lim, &j, &em), B0_ERR_TOO_BIG, "0 tokens");

	len = 1 + 2 * (B0_JSON_MAX_TOKENS - 1);
	if ((s = malloc(len + 2)) == NULL)
		exit(2);
	s[0] = '[';
	for (i = 1; i < len; i += 2)
		memcpy(s + i, "0,", 2);
	s[len - 1] = ']';
	is_int(parse_g(s, len, NULL, &j, &em), 0, "4096 tokens of 4096");
	is_int(b0_json_len(j, 0), B0_JSON_MAX_TOKENS - 1, "4095 elements");
	is_int(b0_json_arr_get(j, 0, 4094, &v), 0, "last element");
	is_int(v, 4095, "last element index");
	b0_json_free(j);
	s[len - 1] = ',';
	s[len] = '0';
	s[len + 1] = ']';
	is_int(parse_g(s, len + 2, NULL, &j, &em), B0_ERR_TOO_BIG,
	    "4097 tokens of 4096");
	free(s);
}

static const char doc[] =
    "{\"iss\":\"https://edge.example\",\"n\":42,\"neg\":-7,\"t\":true,"
    "\"f\":false,\"z\":null,\"arr\":[1,\"two\",[3],{\"four\":4}],"
    "\"o\":{\"k\":\"v\"},"
    "\"s\":\"a\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\\t\\u20AC\","
    "\"max\":9223372036854775807,\"min\":-9223372036854775808,"
    "\"over\":9223372036854775808,\"under\":-9223372036854775809,"
    "\"frac\":1.5,\"exp\":1e3,\"negz\":-0,\"huge\":1e400,"
    "\"k\\\"q\":1,\"e\":\"\"}";

static const char *const doc_keys[] = {"iss", "n", "neg", "t", "f", "z", "arr",
    "o", "s", "max", "min", "over", "under", "frac", "exp", "negz", "huge",
    "k\"q", "e"};

static void
test_accessors(void)
{
	struct b0_errmsg em;
	struct b0_json *j = NULL;
	const char *s, *k;
	size_t i, n;
	int64_t iv;
	int v, e, bv, r;
	char *copy;

	/* The document must not point into the input. */
	copy = strdup(doc);
	r = b0_json_parse(copy, strlen(copy), NULL, &j, &em);
	memset(copy, 'x', strlen(copy));
	free(copy);
	is_int(r, 0, "accessor document parses");
	if (r != 0) {
		tap_diag("%s", em.text);
		return;
	}
	is_int(b0_json_type(j, 0), B0_JSON_OBJECT, "root is an object");
	is_int(b0_json_len(j, 0), sizeof(doc_keys) / sizeof(doc_keys[0]),
	    "member count");
	for (i = 0; i < sizeof(doc_keys) / sizeof(doc_keys[0]); i++) {
		is_int(b0_json_obj_member(j, 0, i, &k, &v), 0, "member %zu", i);
		is_str(k, doc_keys[i], "member %zu key, in order", i);
		is_int(b0_json_obj_get(j, 0, doc_keys[i], &e), 0, "get %s",
		    doc_keys[i]);
		is_int(e, v, "get %s finds member %zu", doc_keys[i], i);
	}
	k = "stale";
	v = 99;
	is_int(b0_json_obj_member(j, 0, i, &k, &v), B0_ERR_RANGE,
	    "member past the end");
	ok(k == NULL && v == -1, "member past the end clears outputs");
	is_int(b0_json_obj_member(j, 0, SIZE_MAX, &k, &v), B0_ERR_RANGE,
	    "member SIZE_MAX");

	v = 99;
	is_int(b0_json_obj_get(j, 0, "missing", &v), B0_ERR_NOT_FOUND,
	    "missing key");
	is_int(v, -1, "missing key clears *vp");
	is_int(b0_json_obj_get(j, 0, "is", &v), B0_ERR_NOT_FOUND,
	    "prefix of a key is not the key");
	is_int(b0_json_obj_get(j, 0, "iss ", &v), B0_ERR_NOT_FOUND,
	    "longer than a key is not the key");
	is_int(b0_json_obj_get(j, 0, "", &v), B0_ERR_NOT_FOUND, "empty key");

	/* Strings, unescaped: surrogate pair to 4-byte UTF-8. */
	is_int(b0_json_get_str(j, 0, "s", &s), 0, "get_str s");
	is_str(
	    s, "a\xc3\xa9\xf0\x9f\x98\x80\n\"\\/\t\xe2\x82\xac", "unescaped");
	is_int(b0_json_obj_get(j, 0, "s", &v), 0, "get s");
	is_int(b0_json_str(j, v, &s, &n), 0, "str s");
	is_int(n, 15, "unescaped length");
	is_int(b0_json_str(j, v, &s, NULL), 0, "str with NULL lenp");
	is_int(b0_json_get_str(j, 0, "e", &s), 0, "empty string");
	is_str(s, "", "empty string value");
	is_int(b0_json_get_str(j, 0, "iss", &s), 0, "get_str iss");
	is_str(s, "https://edge.example", "iss value");
	is_int(b0_json_get_str(j, 0, "n", &s), B0_ERR_FORMAT,
	    "get_str on a number");
	ok(s == NULL, "get_str on a number clears *sp");
	is_int(b0_json_get_str(j, 0, "nope", &s), B0_ERR_NOT_FOUND,
	    "get_str missing");
	is_int(b0_json_get_int(j, 0, "k\"q", &iv), 0, "key with a quote");

	/* Integers. */
	iv = 5;
	is_int(b0_json_get_int(j, 0, "n", &iv), 0, "get_int n");
	is_int(iv, 42, "n value");
	is_int(b0_json_get_int(j, 0, "neg", &iv), 0, "get_int neg");
	is_int(iv, -7, "neg value");
	is_int(b0_json_get_int(j, 0, "max", &iv), 0, "INT64_MAX");
	ok(iv == INT64_MAX, "INT64_MAX value");
	is_int(b0_json_get_int(j, 0, "min", &iv), 0, "INT64_MIN");
	ok(iv == INT64_MIN, "INT64_MIN value");
	iv = 5;
	is_int(
	    b0_json_get_int(j, 0, "over", &iv), B0_ERR_RANGE, "INT64_MAX + 1");
	is_int(
	    b0_json_get_int(j, 0, "under", &iv), B0_ERR_RANGE, "INT64_MIN - 1");
	is_int(b0_json_get_int(j, 0, "frac", &iv), B0_ERR_FORMAT,
	    "fraction is not an integer");
	is_int(b0_json_get_int(j, 0, "exp", &iv), B0_ERR_FORMAT,
	    "exponent is not an integer");
	is_int(b0_json_get_int(j, 0, "huge", &iv), B0_ERR_FORMAT,
	    "1e400 is not an integer");
	is_int(b0_json_get_int(j, 0, "iss", &iv), B0_ERR_FORMAT,
	    "string is not an integer");
	is_int(b0_json_get_int(j, 0, "z", &iv), B0_ERR_FORMAT,
	    "null is not an integer");
	is_int(iv, 5, "failed get_int leaves the output alone");
	is_int(b0_json_get_int(j, 0, "negz", &iv), 0, "-0");
	is_int(iv, 0, "-0 is 0");
	is_int(b0_json_obj_get(j, 0, "frac", &v), 0, "get frac");
	is_int(b0_json_num(j, v, &s, &n), 0, "num frac");
	is_str(s, "1.5", "num frac text");
	is_int(n, 3, "num frac length");
	is_int(b0_json_obj_get(j, 0, "huge", &v), 0, "get huge");
	is_int(b0_json_num(j, v, &s, NULL), 0, "num huge");
	is_str(s, "1e400", "num huge text");
	is_int(b0_json_num(j, -1, &s, &n), B0_ERR_ARG, "num bad index");
	is_int(b0_json_get_int(j, 0, "nope", &iv), B0_ERR_NOT_FOUND,
	    "get_int missing");
	is_int(b0_json_get_int(j, 1000, "n", &iv), B0_ERR_ARG,
	    "get_int bad index");
	is_int(b0_json_num(j, 0, &s, &n), B0_ERR_FORMAT, "num on object");
	ok(s == NULL && n == 0, "num on object clears outputs");

	/* Booleans. */
	bv = 7;
	is_int(b0_json_get_bool(j, 0, "t", &bv), 0, "get_bool t");
	is_int(bv, 1, "t is 1");
	is_int(b0_json_get_bool(j, 0, "f", &bv), 0, "get_bool f");
	is_int(bv, 0, "f is 0");
	bv = 7;
	is_int(b0_json_get_bool(j, 0, "z", &bv), B0_ERR_FORMAT,
	    "null is not a boolean");
	is_int(b0_json_get_bool(j, 0, "n", &bv), B0_ERR_FORMAT,
	    "number is not a boolean");
	is_int(bv, 7, "failed get_bool leaves the output alone");
	is_int(b0_json_get_bool(j, 0, "x", &bv), B0_ERR_NOT_FOUND,
	    "get_bool missing");
	is_int(b0_json_obj_get(j, 0, "z", &v), 0, "get z");
	is_int(b0_json_type(j, v), B0_JSON_NULL, "z is null");

	/* Arrays. */
	is_int(b0_json_obj_get(j, 0, "arr", &v), 0, "get arr");
	is_int(b0_json_type(j, v), B0_JSON_ARRAY, "arr is an array");
	is_int(b0_json_len(j, v), 4, "arr length");
	is_int(b0_json_arr_get(j, v, 0, &e), 0, "arr[0]");
	is_int(b0_json_int(j, e, &iv), 0, "arr[0] int");
	is_int(iv, 1, "arr[0] value");
	is_int(b0_json_arr_get(j, v, 1, &e), 0, "arr[1]");
	is_int(b0_json_str(j, e, &s, NULL), 0, "arr[1] str");
	is_str(s, "two", "arr[1] value");
	is_int(b0_json_arr_get(j, v, 2, &e), 0, "arr[2]");
	is_int(b0_json_type(j, e), B0_JSON_ARRAY, "arr[2] is an array");
	is_int(b0_json_len(j, e), 1, "arr[2] length");
	is_int(b0_json_arr_get(j, v, 3, &e), 0, "arr[3]");
	is_int(b0_json_get_int(j, e, "four", &iv), 0, "arr[3].four");
	is_int(iv, 4, "arr[3].four value");
	e = 99;
	is_int(b0_json_arr_get(j, v, 4, &e), B0_ERR_RANGE, "arr[4]");
	is_int(e, -1, "arr[4] clears *vp");
	is_int(
	    b0_json_arr_get(j, v, SIZE_MAX, &e), B0_ERR_RANGE, "arr[SIZE_MAX]");
	is_int(b0_json_arr_get(j, 0, 0, &e), B0_ERR_FORMAT,
	    "arr_get on an object");
	is_int(b0_json_obj_get(j, v, "a", &e), B0_ERR_FORMAT,
	    "obj_get on an array");
	is_int(b0_json_obj_member(j, v, 0, &k, &e), B0_ERR_FORMAT,
	    "obj_member on an array");
	is_int(b0_json_get_str(j, v, "a", &s), B0_ERR_FORMAT,
	    "get_str on an array");
	is_int(b0_json_obj_get(j, 0, "o", &v), 0, "get o");
	is_int(b0_json_get_str(j, v, "k", &s), 0, "o.k");
	is_str(s, "v", "o.k value");
	is_int(b0_json_len(j, v), 1, "o length");

	/* Bad indices and types. */
	is_int(b0_json_type(j, -1), 0, "type of index -1");
	is_int(b0_json_type(j, 100000), 0, "type of a huge index");
	is_int(b0_json_type(NULL, 0), 0, "type in a NULL document");
	is_int(b0_json_len(j, -1), 0, "len of index -1");
	is_int(b0_json_obj_get(j, 0, "s", &v), 0, "get s again");
	is_int(b0_json_len(j, v), 0, "len of a string");
	is_int(b0_json_str(j, -1, &s, NULL), B0_ERR_ARG, "str bad index");
	is_int(b0_json_int(j, 100000, &iv), B0_ERR_ARG, "int bad index");
	is_int(b0_json_bool(j, -5, &bv), B0_ERR_ARG, "bool bad index");
	is_int(
	    b0_json_obj_get(j, -1, "a", &v), B0_ERR_ARG, "obj_get bad index");
	is_int(b0_json_obj_get(j, 0, NULL, &v), B0_ERR_ARG, "obj_get NULL key");
	is_int(
	    b0_json_arr_get(j, 100000, 0, &v), B0_ERR_ARG, "arr_get bad index");
	is_int(b0_json_obj_member(j, 100000, 0, &k, &v), B0_ERR_ARG,
	    "obj_member bad index");
	is_str(b0_json_type_name(B0_JSON_NULL), "null", "type name null");
	is_str(b0_json_type_name(B0_JSON_BOOL), "boolean", "type name bool");
	is_str(b0_json_type_name(B0_JSON_NUMBER), "number", "type name number");
	is_str(b0_json_type_name(B0_JSON_STRING), "string", "type name string");
	is_str(b0_json_type_name(B0_JSON_ARRAY), "array", "type name array");
	is_str(b0_json_type_name(B0_JSON_OBJECT), "object", "type name object");
	is_str(b0_json_type_name(0), "invalid", "type name of 0");
	b0_json_free(j);

	/* Integers at top level and in arrays. */
	{
		static const struct {
			const char *in;
			int r;
			int64_t want;
		} t[] = {
		    {"0 ", 0, 0},
		    {"-1 ", 0, -1},
		    {"[9223372036854775807]", 0, INT64_MAX},
		    {"[-9223372036854775808]", 0, INT64_MIN},
		    {"[9223372036854775808]", B0_ERR_RANGE, 0},
		    {"[-9223372036854775809]", B0_ERR_RANGE, 0},
		    {"[18446744073709551616]", B0_ERR_RANGE, 0},
		    {"[99999999999999999999999999]", B0_ERR_RANGE, 0},
		    {"[1.0]", B0_ERR_FORMAT, 0},
		    {"[1E2]", B0_ERR_FORMAT, 0},
		    {"[-0.0]", B0_ERR_FORMAT, 0},
		};

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			iv = 12345;
			if (parse_g(t[i].in, strlen(t[i].in), NULL, &j, &em) !=
			    0) {
				ok(0, "int %s parses", t[i].in);
				continue;
			}
			v = 0;
			if (b0_json_type(j, 0) == B0_JSON_ARRAY)
				b0_json_arr_get(j, 0, 0, &v);
			is_int(
			    b0_json_int(j, v, &iv), t[i].r, "int %s", t[i].in);
			ok(iv == (t[i].r == 0 ? t[i].want : 12345),
			    "int %s value", t[i].in);
			b0_json_free(j);
		}
	}
}

/* Run f on a fresh writer; check the result and the exact output. */
static void
check_writer(void (*f)(struct b0_jsonw *), int want_r, const char *want,
    const char *name)
{
	struct b0_buf *b = b0_buf_new(4096);
	struct b0_jsonw w;
	const char *s = NULL;

	b0_jsonw_init(&w, b);
	f(&w);
	is_int(b0_jsonw_finish(&w), want_r, "writer %s: result", name);
	if (want != NULL) {
		b0_buf_cstr(b, &s);
		is_str(s, want, "writer %s: output", name);
	}
	b0_buf_free(b);
}

static void
w_all(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "port");
	b0_jsonw_int(w, 22);
	b0_jsonw_key(w, "s");
	b0_jsonw_str(w, "x y");
	b0_jsonw_key(w, "t");
	b0_jsonw_bool(w, 1);
	b0_jsonw_key(w, "f");
	b0_jsonw_bool(w, 0);
	b0_jsonw_key(w, "n");
	b0_jsonw_null(w);
	b0_jsonw_key(w, "a");
	b0_jsonw_arr_begin(w);
	b0_jsonw_int(w, 1);
	b0_jsonw_int(w, -2);
	b0_jsonw_arr_begin(w);
	b0_jsonw_arr_end(w);
	b0_jsonw_obj_begin(w);
	b0_jsonw_obj_end(w);
	b0_jsonw_num(w, "-1.5e3", 6);
	b0_jsonw_arr_end(w);
	b0_jsonw_key(w, "o");
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "");
	b0_jsonw_str(w, "");
	b0_jsonw_obj_end(w);
	b0_jsonw_obj_end(w);
}

static void
w_int_max(struct b0_jsonw *w)
{
	b0_jsonw_int(w, INT64_MAX);
}

static void
w_int_min(struct b0_jsonw *w)
{
	b0_jsonw_arr_begin(w);
	b0_jsonw_int(w, INT64_MIN);
	b0_jsonw_int(w, 0);
	b0_jsonw_arr_end(w);
}

static void
w_str_top(struct b0_jsonw *w)
{
	b0_jsonw_str(w, "top");
}

static void
w_null_top(struct b0_jsonw *w)
{
	b0_jsonw_null(w);
}

static void
w_escapes(struct b0_jsonw *w)
{
	b0_jsonw_str(w, "\"\\/\b\f\n\r\t\x01\x1f\x7f</script>&");
}

static void
w_unicode(struct b0_jsonw *w)
{
	b0_jsonw_str(w, "\xc3\xa9\xf0\x9f\x98\x80\xe2\x80\xa8\xe2\x80\xa9"
			"\xe2\x80\xa7\xef\xbf\xbf");
}

static void
w_key_escape(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "<a\"b>");
	b0_jsonw_strn(w, "abcdef", 3);
	b0_jsonw_obj_end(w);
}

static void
w_bad_utf8(struct b0_jsonw *w)
{
	b0_jsonw_str(w, "a\xc3\x28");
}

static void
w_bad_utf8_key(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "\xff");
	b0_jsonw_int(w, 1);
	b0_jsonw_obj_end(w);
}

static void
w_cut_utf8(struct b0_jsonw *w)
{
	b0_jsonw_strn(w, "\xe2\x82\xac", 2);
}

static void
w_surrogate_utf8(struct b0_jsonw *w)
{
	b0_jsonw_str(w, "\xed\xa0\x80");
}

static void
w_overlong(struct b0_jsonw *w)
{
	b0_jsonw_str(w, "\xc0\xaf");
}

static void
w_nul(struct b0_jsonw *w)
{
	b0_jsonw_strn(w, "a\0b", 3);
}

static void
w_bad_num(struct b0_jsonw *w)
{
	b0_jsonw_num(w, "01", 2);
}

static void
w_bad_num2(struct b0_jsonw *w)
{
	b0_jsonw_num(w, "1.", 2);
}

static void
w_bad_num3(struct b0_jsonw *w)
{
	b0_jsonw_num(w, "", 0);
}

static void
w_bad_num4(struct b0_jsonw *w)
{
	b0_jsonw_num(w, "1e5 ", 4);
}

static void
w_value_no_key(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_int(w, 1);
	b0_jsonw_obj_end(w);
}

static void
w_key_in_array(struct b0_jsonw *w)
{
	b0_jsonw_arr_begin(w);
	b0_jsonw_key(w, "a");
	b0_jsonw_arr_end(w);
}

static void
w_key_top(struct b0_jsonw *w)
{
	b0_jsonw_key(w, "a");
}

static void
w_key_twice(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "a");
	b0_jsonw_key(w, "b");
	b0_jsonw_int(w, 1);
	b0_jsonw_obj_end(w);
}

static void
w_key_no_value(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "a");
	b0_jsonw_obj_end(w);
}

static void
w_wrong_end(struct b0_jsonw *w)
{
	b0_jsonw_arr_begin(w);
	b0_jsonw_obj_end(w);
}

static void
w_wrong_end2(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_arr_end(w);
}

static void
w_end_top(struct b0_jsonw *w)
{
	b0_jsonw_int(w, 1);
	b0_jsonw_arr_end(w);
}

static void
w_unclosed(struct b0_jsonw *w)
{
	b0_jsonw_arr_begin(w);
	b0_jsonw_arr_begin(w);
	b0_jsonw_arr_end(w);
}

static void
w_unfinished_key(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "a");
}

static void
w_nothing(struct b0_jsonw *w)
{
	(void)w;
}

static void
w_two_values(struct b0_jsonw *w)
{
	b0_jsonw_int(w, 1);
	b0_jsonw_int(w, 2);
}

static void
w_null_str(struct b0_jsonw *w)
{
	b0_jsonw_str(w, NULL);
}

static void
w_null_key(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, NULL);
}

static void
nest_w(struct b0_jsonw *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		b0_jsonw_arr_begin(w);
	for (i = 0; i < n; i++)
		b0_jsonw_arr_end(w);
}

static void
w_depth_max(struct b0_jsonw *w)
{
	nest_w(w, B0_JSONW_MAX_DEPTH);
}

static void
w_depth_over(struct b0_jsonw *w)
{
	nest_w(w, B0_JSONW_MAX_DEPTH + 1);
}

static void
nest_obj(struct b0_jsonw *w, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		b0_jsonw_obj_begin(w);
		b0_jsonw_key(w, "k");
	}
	b0_jsonw_null(w);
	for (i = 0; i < n; i++)
		b0_jsonw_obj_end(w);
}

static void
w_obj_depth_max(struct b0_jsonw *w)
{
	nest_obj(w, B0_JSONW_MAX_DEPTH);
}

static void
w_obj_depth_over(struct b0_jsonw *w)
{
	nest_obj(w, B0_JSONW_MAX_DEPTH + 1);
}

static void
w_after_error(struct b0_jsonw *w)
{
	b0_jsonw_obj_begin(w);
	b0_jsonw_int(w, 1); /* ARG: no key */
	b0_jsonw_key(w, "a");
	b0_jsonw_obj_begin(w);
	b0_jsonw_arr_begin(w);
	b0_jsonw_str(w, "s");
	b0_jsonw_strn(w, NULL, 0);
	b0_jsonw_int(w, 2);
	b0_jsonw_bool(w, 1);
	b0_jsonw_null(w);
	b0_jsonw_num(w, "1", 1);
	b0_jsonw_num(w, NULL, 0);
	b0_jsonw_num(w, "x", 1);
	b0_jsonw_arr_end(w);
	b0_jsonw_obj_end(w);
	b0_jsonw_obj_end(w);
}

static void
w_num_null(struct b0_jsonw *w)
{
	b0_jsonw_num(w, NULL, 0);
}

static void
w_sticky(struct b0_jsonw *w)
{
	b0_jsonw_arr_begin(w);
	b0_jsonw_str(w, "\xff"); /* FORMAT: sticks */
	b0_jsonw_key(w, "a");	 /* would be ARG */
	b0_jsonw_arr_end(w);
	b0_jsonw_arr_end(w); /* would be ARG */
}

static void
test_writer(void)
{
	static const struct {
		void (*f)(struct b0_jsonw *);
		int r;
		const char *out;
		const char *name;
	} t[] = {
	    {w_all, 0,
		"{\"port\":22,\"s\":\"x y\",\"t\":true,\"f\":false,"
		"\"n\":null,\"a\":[1,-2,[],{},-1.5e3],\"o\":{\"\":\"\"}}",
		"every type"},
	    {w_int_max, 0, "9223372036854775807", "INT64_MAX"},
	    {w_int_min, 0, "[-9223372036854775808,0]", "INT64_MIN"},
	    {w_str_top, 0, "\"top\"", "top-level string"},
	    {w_null_top, 0, "null", "top-level null"},
	    {w_escapes, 0,
		"\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f"
		"\\u003c/script\\u003e\\u0026\"",
		"escapes"},
	    {w_unicode, 0,
		"\"\xc3\xa9\xf0\x9f\x98\x80\\u2028\\u2029\xe2\x80\xa7"
		"\xef\xbf\xbf\"",
		"UTF-8 kept, U+2028 U+2029 escaped"},
	    {w_key_escape, 0, "{\"\\u003ca\\\"b\\u003e\":\"abc\"}",
		"key escaped, strn"},
	    {w_depth_max, 0,
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
		"]]",
		"depth 32"},
	    {w_bad_utf8, B0_ERR_FORMAT, NULL, "invalid UTF-8"},
	    {w_bad_utf8_key, B0_ERR_FORMAT, NULL, "invalid UTF-8 key"},
	    {w_cut_utf8, B0_ERR_FORMAT, NULL, "UTF-8 cut by strn"},
	    {w_surrogate_utf8, B0_ERR_FORMAT, NULL, "surrogate in UTF-8"},
	    {w_overlong, B0_ERR_FORMAT, NULL, "overlong UTF-8"},
	    {w_nul, B0_ERR_FORMAT, NULL, "NUL in strn"},
	    {w_bad_num, B0_ERR_FORMAT, NULL, "num 01"},
	    {w_bad_num2, B0_ERR_FORMAT, NULL, "num 1."},
	    {w_bad_num3, B0_ERR_FORMAT, NULL, "num empty"},
	    {w_bad_num4, B0_ERR_FORMAT, NULL, "num with a space"},
	    {w_value_no_key, B0_ERR_ARG, "{", "value without key"},
	    {w_key_in_array, B0_ERR_ARG, "[", "key in array"},
	    {w_key_top, B0_ERR_ARG, "", "key at top level"},
	    {w_key_twice, B0_ERR_ARG, "{\"a\":", "two keys in a row"},
	    {w_key_no_value, B0_ERR_ARG, "{\"a\":", "key without value"},
	    {w_wrong_end, B0_ERR_ARG, "[", "obj_end closes an array"},
	    {w_wrong_end2, B0_ERR_ARG, "{", "arr_end closes an object"},
	    {w_end_top, B0_ERR_ARG, "1", "end with nothing open"},
	    {w_unclosed, B0_ERR_ARG, "[[]", "left open"},
	    {w_unfinished_key, B0_ERR_ARG, "{\"a\":", "key left hanging"},
	    {w_nothing, B0_ERR_ARG, "", "nothing written"},
	    {w_two_values, B0_ERR_ARG, "1", "two top-level values"},
	    {w_null_str, B0_ERR_ARG, "", "NULL string"},
	    {w_null_key, B0_ERR_ARG, "{", "NULL key"},
	    {w_depth_over, B0_ERR_ARG, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		"depth 33"},
	    {w_sticky, B0_ERR_FORMAT, "[\"", "first error sticks"},
	    {w_obj_depth_max, 0,
		"{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{"
		"\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":"
		"{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{"
		"\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":null}}}}}}}}}}"
		"}}}}}}}}}}}}}}}}}}}}}}",
		"object depth 32"},
	    {w_obj_depth_over, B0_ERR_ARG,
		"{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{"
		"\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":"
		"{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{"
		"\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":{\"k\":",
		"object depth 33"},
	    {w_after_error, B0_ERR_ARG, "{", "nothing after an error"},
	    {w_num_null, B0_ERR_ARG, "", "NULL number"},
	};
	struct b0_buf *b;
	struct b0_jsonw w;
	size_t i;
	const char *s;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check_writer(t[i].f, t[i].r, t[i].out, t[i].name);

	/* A full buffer sticks as B0_ERR_TOO_BIG. */
	b = b0_buf_new(5);
	b0_jsonw_init(&w, b);
	b0_jsonw_arr_begin(&w);
	b0_jsonw_int(&w, 1);
	b0_jsonw_int(&w, 2);
	b0_jsonw_int(&w, 3);
	b0_jsonw_arr_end(&w);
	is_int(b0_jsonw_finish(&w), B0_ERR_TOO_BIG, "writer: buffer full");
	b0_buf_free(b);

	/* Appends to what the buffer holds. */
	b = b0_buf_new(64);
	b0_buf_put_str(b, "x=");
	b0_jsonw_init(&w, b);
	b0_jsonw_bool(&w, 1);
	is_int(b0_jsonw_finish(&w), 0, "writer: append");
	b0_buf_cstr(b, &s);
	is_str(s, "x=true", "writer: append output");
	b0_buf_free(b);

	b0_jsonw_init(&w, NULL);
	b0_jsonw_null(&w);
	is_int(b0_jsonw_finish(&w), B0_ERR_ARG, "writer: NULL buffer");
}

static void
test_writer_num(void)
{
	static const struct {
		const char *in;
		int r;
	} t[] = {
	    {"0", 0},
	    {"-0", 0},
	    {"7", 0},
	    {"-1.5", 0},
	    {"10.25", 0},
	    {"1e5", 0},
	    {"1E+5", 0},
	    {"1e-05", 0},
	    {"-123.456e-7", 0},
	    {"", B0_ERR_FORMAT},
	    {"01", B0_ERR_FORMAT},
	    {"1.", B0_ERR_FORMAT},
	    {".5", B0_ERR_FORMAT},
	    {"-", B0_ERR_FORMAT},
	    {"+1", B0_ERR_FORMAT},
	    {"1e", B0_ERR_FORMAT},
	    {"1e+", B0_ERR_FORMAT},
	    {"1.e5", B0_ERR_FORMAT},
	    {"0x10", B0_ERR_FORMAT},
	    {"NaN", B0_ERR_FORMAT},
	    {"1 ", B0_ERR_FORMAT},
	    {"1.5.2", B0_ERR_FORMAT},
	    {"--1", B0_ERR_FORMAT},
	};
	struct b0_buf *b;
	struct b0_jsonw w;
	const char *s;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b = b0_buf_new(64);
		b0_jsonw_init(&w, b);
		b0_jsonw_num(&w, t[i].in, strlen(t[i].in));
		is_int(
		    b0_jsonw_finish(&w), t[i].r, "writer num \"%s\"", t[i].in);
		b0_buf_cstr(b, &s);
		is_str(s, t[i].r == 0 ? t[i].in : "",
		    "writer num \"%s\" output", t[i].in);
		b0_buf_free(b);
	}
}

/* Parse, rewrite; the output must be exactly want (compact, canonical). */
static void
test_roundtrip(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"{\"a\":[1,2.5,\"x\"],\"b\":null}",
		"{\"a\":[1,2.5,\"x\"],\"b\":null}"},
	    {" { \"a\" : \"\\u0041\\/\" , \"b\" : [ true , false ] } ",
		"{\"a\":\"A/\",\"b\":[true,false]}"},
	    {"\"\\u003c\\u003e\\u0026\\u2028\\ud83d\\ude00\\u00e9\"",
		"\"\\u003c\\u003e\\u0026\\u2028\xf0\x9f\x98\x80\xc3\xa9\""},
	    {"[-0,1E+2,9223372036854775807,-9223372036854775808,1e400]",
		"[-0,1E+2,9223372036854775807,-9223372036854775808,1e400]"},
	    {"[\"\\u0001\\u001F\\b\"]", "[\"\\u0001\\u001f\\b\"]"},
	    {"{\"\":{\"\":[[]]}}", "{\"\":{\"\":[[]]}}"},
	};
	struct b0_json *j, *j2;
	struct b0_errmsg em;
	struct b0_buf *b;
	struct b0_jsonw w;
	const char *s;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		j = j2 = NULL;
		if (parse_g(t[i].in, strlen(t[i].in), NULL, &j, &em) != 0) {
			ok(0, "roundtrip %zu parses: %s", i, em.text);
			continue;
		}
		b = b0_buf_new(1024);
		b0_jsonw_init(&w, b);
		emit(j, 0, &w);
		is_int(b0_jsonw_finish(&w), 0, "roundtrip %zu: written", i);
		b0_buf_cstr(b, &s);
		is_str(s, t[i].want, "roundtrip %zu: output", i);
		is_int(parse_g(s, strlen(s), NULL, &j2, &em), 0,
		    "roundtrip %zu: output parses", i);
		ok(same(j, 0, j2, 0), "roundtrip %zu: same structure", i);
		b0_json_free(j2);
		b0_json_free(j);
		b0_buf_free(b);
	}

	/* same() itself must notice differences. */
	{
		struct b0_json *x = NULL, *y = NULL;

		parse_g(S("{\"a\":[1,\"b\"]}"), NULL, &x, &em);
		parse_g(S("{\"a\":[1,\"c\"]}"), NULL, &y, &em);
		ok(x != NULL && y != NULL && !same(x, 0, y, 0),
		    "same() sees a changed string");
		b0_json_free(y);
		parse_g(S("{\"b\":[1,\"b\"]}"), NULL, &y, &em);
		ok(y != NULL && !same(x, 0, y, 0), "same() sees a changed key");
		b0_json_free(y);
		parse_g(S("{\"a\":[1.0,\"b\"]}"), NULL, &y, &em);
		ok(y != NULL && !same(x, 0, y, 0),
		    "same() sees a changed number");
		b0_json_free(y);
		b0_json_free(x);
	}
}

int
main(void)
{
	test_valid();
	test_invalid();
	test_args();
	test_limits();
	test_accessors();
	test_writer();
	test_writer_num();
	test_roundtrip();
	return tap_done();
}
