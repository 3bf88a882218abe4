/*
 * b0_json: validated JSON documents.
 *
 * Three passes over the input, none of them recursive:
 *  1. validate() checks the whole RFC 8259 grammar plus our own rules (strict
 *     UTF-8, no "\u0000", no unpaired surrogates) byte by byte, keeping open
 *     arrays and objects on an explicit stack no deeper than the limit, and
 *     counts the tokens;
 *  2. jsmn splits the known-good text into exactly that many tokens;
 *  3. build() copies strings (unescaped) and numbers into one arena, gives
 *     every container an array of its children and refuses duplicate keys.
 * jsmn alone accepts "[1,]", "[1 2]", "{} {}" and more, hence pass 1.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "b0_json.h"
#include "b0_utf8.h"

/* These change jsmntok_t: define them just above the only include. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

struct node {
	enum b0_json_type type;
	int b;	    /* BOOL: 0 or 1 */
	size_t pos; /* byte offset in the input, for messages */
	size_t len; /* STRING, NUMBER: bytes in text; ARRAY, OBJECT: children */
	size_t at;  /* STRING, NUMBER: offset in text; ARRAY, OBJECT: in kids */
};

struct b0_json {
	struct node *v; /* values and keys, in document order */
	size_t n;
	char *text; /* strings and numbers, each NUL-terminated */
	size_t textsz;
	int *kids; /* per container: elements, or keys (their value: key + 1) */
};

/* What pass 1 learnt: token count and where the top-level value is. */
struct shape {
	size_t ntok;
	size_t root, rootend;
};

enum vstate { V_VALUE = 0, V_KEY, V_AFTER };

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t
skip_ws(const unsigned char *p, size_t len, size_t i)
{
	while (i < len && is_ws(p[i]))
		i++;
	return i;
}

/* A byte for a message: 'x' if printable ASCII, else its hex value. */
static const char *
show(unsigned char c, char buf[16])
{
	if (c >= 0x20 && c < 0x7f && c != '\'')
		snprintf(buf, 16, "'%c'", c);
	else
		snprintf(buf, 16, "byte 0x%02x", c);
	return buf;
}

/* Four hex digits at p[at, at + 4), all within len. */
static int
hex4(const unsigned char *p, size_t len, size_t at, uint32_t *cpp)
{
	uint32_t cp = 0;
	size_t i;

	if (at > len || len - at < 4)
		return -1;
	for (i = at; i < at + 4; i++) {
		unsigned char c = p[i];

		if (is_digit(c))
			cp = cp << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			cp = cp << 4 | (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			cp = cp << 4 | (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*cpp = cp;
	return 0;
}

/* The string starting with the quote at *ip; on success *ip is past it. */
static int
scan_string(
    const unsigned char *p, size_t len, size_t *ip, struct b0_errmsg *em)
{
	size_t start = *ip, i = start + 1, n;
	uint32_t cp, lo;

	for (;;) {
		if (i >= len) {
			b0_err_set(
			    em, "unterminated string at offset %zu", start);
			return B0_ERR_FORMAT;
		}
		if (p[i] == '"')
			break;
		if (p[i] < 0x20) {
			b0_err_set(em,
			    "control character 0x%02x in string at offset %zu",
			    p[i], i);
			return B0_ERR_FORMAT;
		}
		if (p[i] >= 0x80) {
			if ((n = b0_utf8_decode(
				 (const char *)p + i, len - i, &cp)) == 0) {
				b0_err_set(
				    em, "invalid UTF-8 at offset %zu", i);
				return B0_ERR_FORMAT;
			}
			i += n;
			continue;
		}
		if (p[i] != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= len) {
			b0_err_set(
			    em, "unterminated string at offset %zu", start);
			return B0_ERR_FORMAT;
		}
		switch (p[i + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			i += 2;
			continue;
		case 'u':
			break;
		default:
			b0_err_set(em, "invalid escape at offset %zu", i);
			return B0_ERR_FORMAT;
		}
		if (hex4(p, len, i + 2, &cp) != 0) {
			b0_err_set(em, "invalid \\u escape at offset %zu", i);
			return B0_ERR_FORMAT;
		}
		if (cp == 0) {
			b0_err_set(em, "\\u0000 in string at offset %zu", i);
			return B0_ERR_FORMAT;
		}
		if (cp >= 0xd800 && cp <= 0xdbff && i + 7 < len &&
		    p[i + 6] == '\\' && p[i + 7] == 'u' &&
		    hex4(p, len, i + 8, &lo) == 0 && lo >= 0xdc00 &&
		    lo <= 0xdfff) {
			i += 12;
			continue;
		}
		if (cp >= 0xd800 && cp <= 0xdfff) {
			b0_err_set(em,
			    "unpaired surrogate \\u%04x at offset %zu",
			    (unsigned)cp, i);
			return B0_ERR_FORMAT;
		}
		i += 6;
	}
	*ip = i + 1;
	return 0;
}

/*
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at *ip.  A letter, digit,
 * '.', '+' or '-' right after it ("01", "0x10", "1.5.2") makes the whole
 * number invalid; other characters are left to the grammar.
 */
static int
scan_number(
    const unsigned char *p, size_t len, size_t *ip, struct b0_errmsg *em)
{
	size_t start = *ip, i = start;

	if (i < len && p[i] == '-')
		i++;
	if (i < len && p[i] == '0')
		i++;
	else if (i < len && is_digit(p[i])) {
		while (i < len && is_digit(p[i]))
			i++;
	} else
		goto bad;
	if (i < len && p[i] == '.') {
		i++;
		if (i >= len || !is_digit(p[i]))
			goto bad;
		while (i < len && is_digit(p[i]))
			i++;
	}
	if (i < len && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < len && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= len || !is_digit(p[i]))
			goto bad;
		while (i < len && is_digit(p[i]))
			i++;
	}
	if (i < len && (is_alpha(p[i]) || is_digit(p[i]) || p[i] == '.' ||
			   p[i] == '+' || p[i] == '-'))
		goto bad;
	*ip = i;
	return 0;
bad:
	b0_err_set(em, "invalid number at offset %zu", start);
	return B0_ERR_FORMAT;
}

/* true, false or null at *ip, and not the start of a longer word. */
static int
scan_literal(
    const unsigned char *p, size_t len, size_t *ip, struct b0_errmsg *em)
{
	static const char *const words[] = {"true", "false", "null"};
	size_t start = *ip, i = start, k;

	while (i < len && (is_alpha(p[i]) || is_digit(p[i]) || p[i] == '_'))
		i++;
	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		if (i - start == strlen(words[k]) &&
		    memcmp(p + start, words[k], i - start) == 0) {
			*ip = i;
			return 0;
		}
	}
	b0_err_set(em, "invalid literal at offset %zu", start);
	return B0_ERR_FORMAT;
}

/*
 * Pass 1: is p[0, len) exactly one RFC 8259 value (with whitespace around)
 * within the depth and token limits?  stack holds one byte per open array
 * (0) or object (1) and has room for min(max_depth, len) of them.
 */
static int
validate(const unsigned char *p, size_t len, unsigned max_depth,
    size_t max_tokens, uint8_t *stack, struct shape *sh, struct b0_errmsg *em)
{
	enum vstate st = V_VALUE;
	size_t i, depth = 0, ntok = 0, comma;
	char buf[16];
	int r;

	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		b0_err_set(em, "byte order mark at offset 0");
		return B0_ERR_FORMAT;
	}
	i = skip_ws(p, len, 0);
	if (i == len) {
		b0_err_set(em, "no value (empty input)");
		return B0_ERR_FORMAT;
	}
	sh->root = i;
	for (;;) {
		i = skip_ws(p, len, i);
		if (st == V_AFTER && depth == 0) {
			if (i < len) {
				b0_err_set(em,
				    "data after the value at offset %zu", i);
				return B0_ERR_FORMAT;
			}
			break;
		}
		if (i >= len) {
			b0_err_set(
			    em, "unexpected end of input at offset %zu", i);
			return B0_ERR_FORMAT;
		}
		if (st == V_AFTER) {
			unsigned char close = stack[depth - 1] ? '}' : ']';

			if (p[i] == close) {
				i++;
				if (--depth == 0)
					sh->rootend = i;
				continue;
			}
			if (p[i] != ',') {
				if (p[i] == '}' || p[i] == ']' || p[i] == ':')
					b0_err_set(em,
					    "unexpected %s at offset %zu",
					    show(p[i], buf), i);
				else
					b0_err_set(em,
					    "missing comma at offset %zu", i);
				return B0_ERR_FORMAT;
			}
			comma = i;
			i = skip_ws(p, len, i + 1);
			if (i < len && p[i] == close) {
				b0_err_set(
				    em, "trailing comma at offset %zu", comma);
				return B0_ERR_FORMAT;
			}
			st = stack[depth - 1] ? V_KEY : V_VALUE;
			continue;
		}
		if (++ntok > max_tokens) {
			b0_err_set(em,
			    "more than %zu values (keys included) at offset "
			    "%zu",
			    max_tokens, i);
			return B0_ERR_TOO_BIG;
		}
		if (st == V_KEY) {
			if (p[i] != '"') {
				b0_err_set(em,
				    "object key is not a string at offset %zu",
				    i);
				return B0_ERR_FORMAT;
			}
			if ((r = scan_string(p, len, &i, em)) != 0)
				return r;
			i = skip_ws(p, len, i);
			if (i >= len || p[i] != ':') {
				b0_err_set(em, "expected ':' at offset %zu", i);
				return B0_ERR_FORMAT;
			}
			i++;
			st = V_VALUE;
			continue;
		}
		/* V_VALUE */
		st = V_AFTER;
		if (p[i] == '[' || p[i] == '{') {
			unsigned char close = p[i] == '{' ? '}' : ']';

			if (depth >= max_depth) {
				b0_err_set(em,
				    "nesting deeper than %u at offset %zu",
				    max_depth, i);
				return B0_ERR_TOO_BIG;
			}
			stack[depth++] = p[i] == '{';
			i = skip_ws(p, len, i + 1);
			if (i < len && p[i] == close)
				st = V_AFTER; /* empty: the loop closes it */
			else
				st = close == '}' ? V_KEY : V_VALUE;
			continue;
		}
		if (p[i] == '"')
			r = scan_string(p, len, &i, em);
		else if (p[i] == '-' || p[i] == '+' || p[i] == '.' ||
			 is_digit(p[i]))
			r = scan_number(p, len, &i, em);
		else if (is_alpha(p[i]))
			r = scan_literal(p, len, &i, em);
		else if (p[i] == ',' && depth > 0 && !stack[depth - 1]) {
			b0_err_set(em, "missing value at offset %zu", i);
			r = B0_ERR_FORMAT;
		} else {
			b0_err_set(em,
			    "expected a value at offset %zu, found %s", i,
			    show(p[i], buf));
			r = B0_ERR_FORMAT;
		}
		if (r != 0)
			return r;
		if (depth == 0)
			sh->rootend = i;
	}
	sh->ntok = ntok;
	return 0;
}

/* Unescape a validated string body s[0, n) into out (room for cap bytes). */
static int
unescape(
    const unsigned char *s, size_t n, char *out, size_t cap, size_t *outlen)
{
	size_t i = 0, o = 0, k;
	uint32_t cp, lo;
	char c;

	while (i < n) {
		if (o >= cap)
			return B0_ERR_INTERNAL;
		if (s[i] != '\\') {
			out[o++] = (char)s[i++];
			continue;
		}
		if (i + 1 >= n)
			return B0_ERR_INTERNAL;
		switch (s[i + 1]) {
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			c = 0;
			break;
		default:
			c = (char)s[i + 1];
			break;
		}
		if (c != 0) {
			out[o++] = c;
			i += 2;
			continue;
		}
		if (hex4(s, n, i + 2, &cp) != 0)
			return B0_ERR_INTERNAL;
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 1 >= n || s[i] != '\\' || s[i + 1] != 'u' ||
			    hex4(s, n, i + 2, &lo) != 0)
				return B0_ERR_INTERNAL;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		}
		{
			char u[4];

			if ((k = b0_utf8_encode(cp, u)) == 0 || k > cap - o)
				return B0_ERR_INTERNAL;
			memcpy(out + o, u, k);
			o += k;
		}
	}
	*outlen = o;
	return 0;
}

struct keyent {
	const char *s;
	size_t len, pos;
};

static int
keyent_cmp(const void *a, const void *b)
{
	const struct keyent *x = a, *y = b;
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->s, y->s, x->len)) != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * Report the duplicate key that comes first in the document: sort each
 * object's keys (by length, bytes, offset) and look at neighbours.
 */
static int
check_duplicates(
    const struct b0_json *j, struct keyent *ke, struct b0_errmsg *em)
{
	const struct keyent *dup = NULL;
	struct keyent found;
	size_t o, i, n, cut;

	for (o = 0; o < j->n; o++) {
		const struct node *obj = &j->v[o];

		if (obj->type != B0_JSON_OBJECT || obj->len < 2)
			continue;
		for (i = 0; i < obj->len; i++) {
			const struct node *k = &j->v[j->kids[obj->at + i]];

			ke[i].s = j->text + k->at;
			ke[i].len = k->len;
			ke[i].pos = k->pos;
		}
		qsort(ke, obj->len, sizeof(*ke), keyent_cmp);
		for (i = 1; i < obj->len; i++) {
			if (ke[i].len != ke[i - 1].len ||
			    memcmp(ke[i].s, ke[i - 1].s, ke[i].len) != 0)
				continue;
			if (dup == NULL || ke[i].pos < dup->pos) {
				found = ke[i];
				dup = &found;
			}
			/* Skip the rest of this run: later offsets. */
			while (i + 1 < obj->len && ke[i + 1].len == ke[i].len &&
			       memcmp(ke[i + 1].s, ke[i].s, ke[i].len) == 0)
				i++;
		}
	}
	if (dup == NULL)
		return 0;
	/* Quote at most 40 bytes of the key, cut at a character boundary. */
	n = dup->len;
	cut = n > 40 ? 40 : n;
	while (
	    cut < n && cut > 0 && ((unsigned char)dup->s[cut] & 0xc0) == 0x80)
		cut--;
	b0_err_set(em, "duplicate key \"%.*s%s\" at offset %zu", (int)cut,
	    dup->s, cut < n ? "..." : "", dup->pos);
	return B0_ERR_FORMAT;
}

static int
is_container(const jsmntok_t *t)
{
	return t->type == JSMN_ARRAY || t->type == JSMN_OBJECT;
}

/*
 * Pass 3: nodes, text and kids of j from the n tokens tok of input p.
 * Anything unexpected here means pass 1 and jsmn disagree: a bug.
 */
static int
build(struct b0_json *j, const unsigned char *p, size_t len,
    const jsmntok_t *tok, size_t n)
{
	size_t i, nk = 0, t = 0, start, end, used;
	int r;

	for (i = 0; i < n; i++) {
		struct node *v = &j->v[i];

		if (tok[i].start < 0 || tok[i].end < tok[i].start ||
		    (size_t)tok[i].end > len || tok[i].size < 0 ||
		    (i == 0) != (tok[i].parent < 0) ||
		    (i > 0 && (size_t)tok[i].parent >= i))
			return B0_ERR_INTERNAL;
		start = (size_t)tok[i].start;
		end = (size_t)tok[i].end;
		v->pos = start;
		switch (tok[i].type) {
		case JSMN_OBJECT:
		case JSMN_ARRAY:
			v->type = tok[i].type == JSMN_OBJECT ? B0_JSON_OBJECT
							     : B0_JSON_ARRAY;
			v->at = nk;
			v->len = 0;
			if ((size_t)tok[i].size > n - nk)
				return B0_ERR_INTERNAL;
			nk += (size_t)tok[i].size;
			break;
		case JSMN_STRING:
			v->type = B0_JSON_STRING;
			v->pos = start - 1; /* the opening quote */
			v->at = t;
			if (t >= j->textsz)
				return B0_ERR_INTERNAL;
			if ((r = unescape(p + start, end - start, j->text + t,
				 j->textsz - t - 1, &used)) != 0)
				return r;
			v->len = used;
			t += used;
			j->text[t++] = '\0';
			break;
		case JSMN_PRIMITIVE:
			if (end == start)
				return B0_ERR_INTERNAL;
			if (p[start] == 't' || p[start] == 'f') {
				v->type = B0_JSON_BOOL;
				v->b = p[start] == 't';
			} else if (p[start] == 'n')
				v->type = B0_JSON_NULL;
			else {
				v->type = B0_JSON_NUMBER;
				v->at = t;
				v->len = end - start;
				if (v->len >= j->textsz - t)
					return B0_ERR_INTERNAL;
				memcpy(j->text + t, p + start, v->len);
				t += v->len;
				j->text[t++] = '\0';
			}
			break;
		default:
			return B0_ERR_INTERNAL;
		}
	}
	/* Children in document order; an object's are its keys. */
	for (i = 1; i < n; i++) {
		size_t par = (size_t)tok[i].parent;
		struct node *pv = &j->v[par];

		if (is_container(&tok[par])) {
			if (pv->len >= (size_t)tok[par].size ||
			    (tok[par].type == JSMN_OBJECT &&
				(tok[i].type != JSMN_STRING ||
				    tok[i].size != 1)))
				return B0_ERR_INTERNAL;
			j->kids[pv->at + pv->len++] = (int)i;
		} else if (tok[par].type != JSMN_STRING || par + 1 != i)
			return B0_ERR_INTERNAL; /* a value follows its key */
	}
	for (i = 0; i < n; i++) {
		if (is_container(&tok[i]) && j->v[i].len != (size_t)tok[i].size)
			return B0_ERR_INTERNAL;
	}
	return 0;
}

/* The token of a top-level string, number or literal, which jsmn in strict
 * mode will not take without a delimiter after it. */
static void
scalar_token(const unsigned char *p, const struct shape *sh, jsmntok_t *t)
{
	memset(t, 0, sizeof(*t));
	t->parent = -1;
	if (p[sh->root] == '"') {
		t->type = JSMN_STRING;
		t->start = (int)sh->root + 1;
		t->end = (int)sh->rootend - 1;
	} else {
		t->type = JSMN_PRIMITIVE;
		t->start = (int)sh->root;
		t->end = (int)sh->rootend;
	}
}

int
b0_json_parse(const char *text, size_t len, const struct b0_json_limits *limits,
    struct b0_json **jp, struct b0_errmsg *em)
{
	static const struct b0_json_limits defaults = {
	    B0_JSON_MAX_BYTES, B0_JSON_MAX_DEPTH, B0_JSON_MAX_TOKENS};
	const unsigned char *p = (const unsigned char *)text;
	const struct b0_json_limits *lim = limits ? limits : &defaults;
	struct b0_json *j = NULL;
	struct keyent *ke = NULL;
	jsmntok_t *tok = NULL;
	uint8_t *stack = NULL;
	struct shape sh = {0, 0, 0};
	size_t nstack, max_tokens;
	jsmn_parser jsp;
	int r = B0_ERR_INTERNAL, jr;

	b0_err_clear(em);
	if (jp == NULL || (text == NULL && len > 0)) {
		b0_err_set(em, "invalid arguments");
		return B0_ERR_ARG;
	}
	*jp = NULL;
	/* jsmn keeps offsets in int. */
	if (len > lim->max_bytes || len >= INT_MAX) {
		b0_err_set(em, "input of %zu bytes is over the limit of %zu",
		    len, lim->max_bytes);
		r = B0_ERR_TOO_BIG;
		goto out;
	}
	/* Each open bracket is a byte of input: no deeper stack is needed. */
	nstack = lim->max_depth < len ? lim->max_depth : len;
	max_tokens = lim->max_tokens;
	if ((stack = malloc(nstack + 1)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	if ((r = validate(
		 p, len, lim->max_depth, max_tokens, stack, &sh, em)) != 0)
		goto out;
	/* Every token is at least one byte: ntok <= len < INT_MAX. */
	if ((tok = calloc(sh.ntok, sizeof(*tok))) == NULL ||
	    (j = calloc(1, sizeof(*j))) == NULL ||
	    (j->v = calloc(sh.ntok, sizeof(*j->v))) == NULL ||
	    (j->kids = calloc(sh.ntok, sizeof(*j->kids))) == NULL ||
	    (ke = calloc(sh.ntok, sizeof(*ke))) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	j->n = sh.ntok;
	/* Unescaping never lengthens a string; each copy gets a NUL. */
	j->textsz = len + sh.ntok + 1;
	if ((j->text = malloc(j->textsz)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	if (p[sh.root] != '[' && p[sh.root] != '{')
		scalar_token(p, &sh, &tok[0]);
	else {
		jsmn_init(&jsp);
		jr = jsmn_parse(&jsp, text, len, tok, (unsigned)sh.ntok);
		if (jr < 0 || (size_t)jr != sh.ntok) {
			b0_err_set(em,
			    "internal error: jsmn returned %d "
			    "at offset %u, expected %zu tokens",
			    jr, jsp.pos, sh.ntok);
			r = B0_ERR_INTERNAL;
			goto out;
		}
	}
	if ((r = build(j, p, len, tok, sh.ntok)) != 0) {
		b0_err_set(em, "internal error: inconsistent tokens");
		goto out;
	}
	if ((r = check_duplicates(j, ke, em)) != 0)
		goto out;
	*jp = j;
	j = NULL; /* transferred */
	r = 0;
out:
	free(stack);
	free(tok);
	free(ke);
	b0_json_free(j);
	return r;
}

void
b0_json_free(struct b0_json *j)
{
	if (j == NULL)
		return;
	/* Documents may hold tokens or passwords. */
	if (j->text != NULL)
		OPENSSL_cleanse(j->text, j->textsz);
	free(j->text);
	free(j->v);
	free(j->kids);
	free(j);
}

/* The node of value v, or NULL for a bad index. */
static const struct node *
get_node(const struct b0_json *j, int v)
{
	if (j == NULL || v < 0 || (size_t)v >= j->n)
		return NULL;
	return &j->v[v];
}

enum b0_json_type
b0_json_type(const struct b0_json *j, int v)
{
	const struct node *n = get_node(j, v);

	return n == NULL ? 0 : n->type;
}

const char *
b0_json_type_name(enum b0_json_type t)
{
	switch (t) {
	case B0_JSON_NULL:
		return "null";
	case B0_JSON_BOOL:
		return "boolean";
	case B0_JSON_NUMBER:
		return "number";
	case B0_JSON_STRING:
		return "string";
	case B0_JSON_ARRAY:
		return "array";
	case B0_JSON_OBJECT:
		return "object";
	}
	return "invalid";
}

size_t
b0_json_len(const struct b0_json *j, int v)
{
	const struct node *n = get_node(j, v);

	if (n == NULL ||
	    (n->type != B0_JSON_ARRAY && n->type != B0_JSON_OBJECT))
		return 0;
	return n->len;
}

int
b0_json_obj_get(const struct b0_json *j, int obj, const char *key, int *vp)
{
	const struct node *n = get_node(j, obj), *k;
	size_t i, klen;

	*vp = -1;
	if (n == NULL || key == NULL)
		return B0_ERR_ARG;
	if (n->type != B0_JSON_OBJECT)
		return B0_ERR_FORMAT;
	klen = strlen(key);
	for (i = 0; i < n->len; i++) {
		k = &j->v[j->kids[n->at + i]];
		if (k->len == klen && memcmp(j->text + k->at, key, klen) == 0) {
			*vp = j->kids[n->at + i] + 1;
			return 0;
		}
	}
	return B0_ERR_NOT_FOUND;
}

int
b0_json_obj_member(
    const struct b0_json *j, int obj, size_t i, const char **keyp, int *vp)
{
	const struct node *n = get_node(j, obj);
	int k;

	*keyp = NULL;
	*vp = -1;
	if (n == NULL)
		return B0_ERR_ARG;
	if (n->type != B0_JSON_OBJECT)
		return B0_ERR_FORMAT;
	if (i >= n->len)
		return B0_ERR_RANGE;
	k = j->kids[n->at + i];
	*keyp = j->text + j->v[k].at;
	*vp = k + 1;
	return 0;
}

int
b0_json_arr_get(const struct b0_json *j, int arr, size_t i, int *vp)
{
	const struct node *n = get_node(j, arr);

	*vp = -1;
	if (n == NULL)
		return B0_ERR_ARG;
	if (n->type != B0_JSON_ARRAY)
		return B0_ERR_FORMAT;
	if (i >= n->len)
		return B0_ERR_RANGE;
	*vp = j->kids[n->at + i];
	return 0;
}

int
b0_json_str(const struct b0_json *j, int v, const char **sp, size_t *lenp)
{
	const struct node *n = get_node(j, v);

	*sp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if (n == NULL)
		return B0_ERR_ARG;
	if (n->type != B0_JSON_STRING)
		return B0_ERR_FORMAT;
	*sp = j->text + n->at;
	if (lenp != NULL)
		*lenp = n->len;
	return 0;
}

int
b0_json_num(const struct b0_json *j, int v, const char **sp, size_t *lenp)
{
	const struct node *n = get_node(j, v);

	*sp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if (n == NULL)
		return B0_ERR_ARG;
	if (n->type != B0_JSON_NUMBER)
		return B0_ERR_FORMAT;
	*sp = j->text + n->at;
	if (lenp != NULL)
		*lenp = n->len;
	return 0;
}

int
b0_json_int(const struct b0_json *j, int v, int64_t *out)
{
	const struct node *n = get_node(j, v);
	uint64_t mag = 0, max;
	const char *s;
	size_t i, neg;

	if (n == NULL)
		return B0_ERR_ARG;
	if (n->type != B0_JSON_NUMBER)
		return B0_ERR_FORMAT;
	s = j->text + n->at;
	neg = s[0] == '-';
	for (i = neg; i < n->len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return B0_ERR_FORMAT; /* fraction or exponent */
	}
	max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (i = neg; i < n->len; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (mag > (max - d) / 10)
			return B0_ERR_RANGE;
		mag = mag * 10 + d;
	}
	if (!neg)
		*out = (int64_t)mag;
	else if (mag == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)mag;
	return 0;
}

int
b0_json_bool(const struct b0_json *j, int v, int *out)
{
	const struct node *n = get_node(j, v);

	if (n == NULL)
		return B0_ERR_ARG;
	if (n->type != B0_JSON_BOOL)
		return B0_ERR_FORMAT;
	*out = n->b;
	return 0;
}

int
b0_json_get_str(
    const struct b0_json *j, int obj, const char *key, const char **sp)
{
	int r, v;

	*sp = NULL;
	if ((r = b0_json_obj_get(j, obj, key, &v)) != 0)
		return r;
	return b0_json_str(j, v, sp, NULL);
}

int
b0_json_get_int(const struct b0_json *j, int obj, const char *key, int64_t *out)
{
	int r, v;

	if ((r = b0_json_obj_get(j, obj, key, &v)) != 0)
		return r;
	return b0_json_int(j, v, out);
}

int
b0_json_get_bool(const struct b0_json *j, int obj, const char *key, int *out)
{
	int r, v;

	if ((r = b0_json_obj_get(j, obj, key, &v)) != 0)
		return r;
	return b0_json_bool(j, v, out);
}
