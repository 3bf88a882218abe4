/*
 * b0_json: validated JSON documents with typed accessors.
 *
 * jsmn tokenizes (only b0_json.c includes jsmn.h); this module adds what
 * jsmn does not check, so that everything it hands out is RFC 8259 JSON:
 * exact grammar (no trailing or missing commas, one top-level value, strict
 * numbers and literals), strings that are valid UTF-8 with valid escapes,
 * no "\u0000", no unpaired surrogates, no raw control characters, and no
 * duplicate keys in an object.  Size, depth and token count are limited.
 *
 * A document owns unescaped, NUL-terminated copies of its strings, so the
 * input may be freed after b0_json_parse() returns.  Values are named by an
 * int index valid for the life of the document; the root value is 0.
 */
#ifndef B0_JSON_H
#define B0_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "b0_err.h"

struct b0_json;

/*
 * Keep max_depth small: besides the nesting it bounds the work per closing
 * bracket (jsmn walks up the open containers), so parsing costs
 * O(bytes * depth).  Inputs of INT_MAX bytes or more are always too big.
 */
struct b0_json_limits {
	size_t max_bytes;    /* input size */
	unsigned max_depth;  /* nesting of arrays and objects */
	unsigned max_tokens; /* values, keys included */
};

/* Defaults used when limits is NULL. */
#define B0_JSON_MAX_BYTES (64 * 1024)
#define B0_JSON_MAX_DEPTH 32
#define B0_JSON_MAX_TOKENS 4096

enum b0_json_type {
	B0_JSON_NULL = 1,
	B0_JSON_BOOL = 2,
	B0_JSON_NUMBER = 3,
	B0_JSON_STRING = 4,
	B0_JSON_ARRAY = 5,
	B0_JSON_OBJECT = 6
};

/*
 * b0_json_parse(text, len, limits, jp, em):
 * Parse and validate len bytes of text (need not be NUL-terminated) under
 * limits (NULL: the defaults).  On success *jp is a new document the caller
 * frees with b0_json_free().  Returns 0, B0_ERR_TOO_BIG (a limit), or
 * B0_ERR_FORMAT with em saying what is wrong and at which byte offset
 * (from 0: "duplicate key \"exp\" at offset 31"); also B0_ERR_ALLOC, and
 * B0_ERR_ARG for a NULL jp or NULL text with len > 0.  em may be NULL; on
 * success its text is emptied.
 */
int b0_json_parse(const char *text, size_t len,
    const struct b0_json_limits *limits, struct b0_json **jp,
    struct b0_errmsg *em);

/* b0_json_free(j): Release j.  NULL is fine. */
void b0_json_free(struct b0_json *j);

/*
 * Accessors take a value index v from b0_json_parse() (the root is 0),
 * b0_json_obj_get(), b0_json_obj_member() or b0_json_arr_get().  An index
 * that is not a value of j is a caller bug: B0_ERR_ARG.  Pointer outputs
 * are cleared first; integer and boolean outputs are left alone on error,
 * so a caller may preset a default and ignore B0_ERR_NOT_FOUND.
 */

/* The type of value v; 0 if v is not a valid index. */
enum b0_json_type b0_json_type(const struct b0_json *j, int v);

/* A static name for a type ("string", "object"...) for error messages. */
const char *b0_json_type_name(enum b0_json_type t);

/* Members of an object or elements of an array; 0 for other values. */
size_t b0_json_len(const struct b0_json *j, int v);

/*
 * b0_json_obj_get(j, obj, key, vp):
 * Find key in object obj.  Returns 0 and sets *vp, B0_ERR_NOT_FOUND, or
 * B0_ERR_FORMAT if obj is not an object.
 */
int b0_json_obj_get(const struct b0_json *j, int obj, const char *key, int *vp);

/*
 * b0_json_obj_member(j, obj, i, keyp, vp):
 * The i-th member of object obj, in document order: *keyp is the key
 * (borrowed from j), *vp the value.  Returns 0, B0_ERR_RANGE or
 * B0_ERR_FORMAT.
 */
int b0_json_obj_member(
    const struct b0_json *j, int obj, size_t i, const char **keyp, int *vp);

/* b0_json_arr_get(j, arr, i, vp): The i-th element; as obj_member. */
int b0_json_arr_get(const struct b0_json *j, int arr, size_t i, int *vp);

/*
 * Typed values.  Each returns 0, or B0_ERR_FORMAT when v has another type.
 * b0_json_str: *sp is borrowed from j (unescaped, NUL-terminated, no NUL
 * inside); lenp may be NULL.  b0_json_int: integers only (no fraction or
 * exponent), B0_ERR_RANGE outside int64_t.
 */
int b0_json_str(const struct b0_json *j, int v, const char **sp, size_t *lenp);
int b0_json_int(const struct b0_json *j, int v, int64_t *out);
int b0_json_bool(const struct b0_json *j, int v, int *out);

/*
 * b0_json_num(j, v, sp, lenp):
 * Any number, as the RFC 8259 text it was written as ("-1.5e3"): *sp is
 * borrowed from j and NUL-terminated; lenp may be NULL.  For numbers that
 * are not int64_t (fractions, exponents, big integers), and to copy a
 * number into b0_jsonw_num() unchanged.  Returns 0 or B0_ERR_FORMAT.
 */
int b0_json_num(const struct b0_json *j, int v, const char **sp, size_t *lenp);

/*
 * By key, for the common case: b0_json_get_str(j, obj, "iss", &s).
 * Return 0, B0_ERR_NOT_FOUND (no such key), B0_ERR_FORMAT (wrong type or
 * obj not an object) or B0_ERR_RANGE.
 */
int b0_json_get_str(
    const struct b0_json *j, int obj, const char *key, const char **sp);
int b0_json_get_int(
    const struct b0_json *j, int obj, const char *key, int64_t *out);
int b0_json_get_bool(
    const struct b0_json *j, int obj, const char *key, int *out);

#endif /* B0_JSON_H */
