/*
 * b0_conf: configuration files of "keyword argument..." lines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_buf.h"
#include "b0_conf.h"
#include "b0_file.h"
#include "b0_parse.h"
#include "b0_utf8.h"

struct b0_conf {
	char *name;
	char *text; /* the whole file, NUL-terminated */
	size_t len;
	size_t pos;
	unsigned lineno;
	char line[B0_CONF_MAX_LINE + 1]; /* the current line, split in place */
};

static int
conf_new(const char *name, const char *text, size_t len, struct b0_conf **cp,
    struct b0_errmsg *em)
{
	struct b0_conf *c;

	*cp = NULL;
	if (len > B0_CONF_MAX_SIZE) {
		b0_err_set(
		    em, "%s: larger than %d bytes", name, B0_CONF_MAX_SIZE);
		return B0_ERR_TOO_BIG;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->name = strdup(name)) == NULL ||
	    (c->text = malloc(len + 1)) == NULL) {
		b0_conf_free(c);
		return B0_ERR_ALLOC;
	}
	if (len > 0)
		memcpy(c->text, text, len);
	c->text[len] = '\0';
	c->len = len;
	*cp = c;
	return 0;
}

int
b0_conf_open_mem(const char *name, const char *text, size_t len,
    struct b0_conf **cp, struct b0_errmsg *em)
{
	return conf_new(name, text, len, cp, em);
}

int
b0_conf_open(const char *path, unsigned file_flags, struct b0_conf **cp,
    struct b0_errmsg *em)
{
	struct b0_buf *raw;
	int r;

	*cp = NULL;
	if ((raw = b0_buf_new(B0_CONF_MAX_SIZE)) == NULL)
		return B0_ERR_ALLOC;
	if ((r = b0_file_read(path, file_flags, raw, em)) == 0)
		r = conf_new(path, (const char *)b0_buf_ptr(raw),
		    b0_buf_len(raw), cp, em);
	b0_buf_free(raw);
	return r;
}

void
b0_conf_free(struct b0_conf *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->text);
	free(c);
}

static int
line_error(struct b0_conf *c, struct b0_errmsg *em, const char *what)
{
	b0_err_set(em, "%s:%u: %s", c->name, c->lineno, what);
	return B0_ERR_FORMAT;
}

/*
 * Split c->line into words in place.  Quotes group; \" and \\ are the only
 * escapes, inside quotes only.
 */
static int
split(struct b0_conf *c, struct b0_conf_line *l, struct b0_errmsg *em)
{
	char *p = c->line, *w;

	l->argc = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			return 0;
		if (l->argc == B0_CONF_MAX_ARGS)
			return line_error(c, em, "too many words on one line");
		w = p;
		l->argv[l->argc++] = w;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0')
					return line_error(c, em,
					    "unterminated quoted string");
				if (*p == '"')
					break;
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				*w++ = *p++;
			}
			p++;
			if (*p != '\0' && *p != ' ' && *p != '\t')
				return line_error(
				    c, em, "a quoted string must end a word");
			if (*p != '\0')
				p++;
			*w = '\0';
			continue;
		}
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (*p == '"')
				return line_error(c, em,
				    "a quote inside a word; quote the whole "
				    "word");
			p++;
		}
		if (*p != '\0')
			*p++ = '\0';
	}
}

int
b0_conf_next(struct b0_conf *c, struct b0_conf_line *l, struct b0_errmsg *em)
{
	const char *start, *nl;
	size_t n, i;
	int r;

	memset(l, 0, sizeof(*l));
	l->file = c->name;
	while (c->pos < c->len) {
		start = c->text + c->pos;
		nl = memchr(start, '\n', c->len - c->pos);
		n = nl ? (size_t)(nl - start) : c->len - c->pos;
		c->pos += n + (nl != NULL);
		c->lineno++;
		l->lineno = c->lineno;
		if (n > B0_CONF_MAX_LINE)
			return line_error(c, em, "line too long");
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)start[i];

			if (ch == '\0')
				return line_error(c, em, "NUL byte");
			if (ch == '\r')
				return line_error(c, em,
				    "carriage return "
				    "(Windows line endings? run dos2unix)");
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return line_error(c, em, "control character");
		}
		if (!b0_utf8_valid(start, n))
			return line_error(c, em, "invalid UTF-8");
		memcpy(c->line, start, n);
		c->line[n] = '\0';
		if ((r = split(c, l, em)) != 0)
			return r;
		if (l->argc > 0)
			return 1;
	}
	return 0;
}

int
b0_conf_error(
    struct b0_errmsg *em, const struct b0_conf_line *l, const char *fmt, ...)
{
	char msg[sizeof(em->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b0_err_set(em, "%s:%u: %s", l->file, l->lineno, msg);
	return B0_ERR_CONFIG;
}

int
b0_conf_lookup(const struct b0_conf_keyword *table, size_t ntable,
    const struct b0_conf_line *l, unsigned *seen, size_t nseen,
    struct b0_errmsg *em)
{
	const struct b0_conf_keyword *k = NULL;
	int nargs = l->argc - 1;
	size_t i;

	for (i = 0; i < ntable; i++) {
		if (strcmp(table[i].name, l->argv[0]) == 0) {
			k = &table[i];
			break;
		}
	}
	if (k == NULL)
		return b0_conf_error(
		    em, l, "unknown keyword \"%s\"", l->argv[0]);
	if (nargs < k->min_args || nargs > k->max_args) {
		if (k->min_args == k->max_args)
			return b0_conf_error(em, l,
			    "\"%s\" takes %d argument%s, not %d", k->name,
			    k->min_args, k->min_args == 1 ? "" : "s", nargs);
		return b0_conf_error(em, l,
		    "\"%s\" takes %d to %d arguments, not %d", k->name,
		    k->min_args, k->max_args, nargs);
	}
	if (seen != NULL && !k->repeat) {
		if (k->op < 0 || (size_t)k->op >= nseen)
			return b0_conf_error(
			    em, l, "internal error: op %d", k->op);
		if (seen[k->op] != 0)
			return b0_conf_error(em, l,
			    "\"%s\" is already set on line %u", k->name,
			    seen[k->op]);
		seen[k->op] = l->lineno;
	}
	return k->op;
}

int
b0_conf_u32(const struct b0_conf_line *l, int i, uint32_t min, uint32_t max,
    uint32_t *out, struct b0_errmsg *em)
{
	if (b0_parse_u32(l->argv[i], min, max, out) != 0)
		return b0_conf_error(em, l,
		    "%s: \"%s\" is not a whole number from %u to %u",
		    l->argv[0], l->argv[i], min, max);
	return 0;
}

int
b0_conf_log_level(const struct b0_conf_line *l, int i, enum b0_log_level *out,
    struct b0_errmsg *em)
{
	if (b0_log_level_parse(l->argv[i], out) != 0)
		return b0_conf_error(em, l,
		    "%s: \"%s\" is not error, warn, notice, info or debug",
		    l->argv[0], l->argv[i]);
	return 0;
}

int
b0_conf_bool(
    const struct b0_conf_line *l, int i, int *out, struct b0_errmsg *em)
{
	if (b0_parse_bool(l->argv[i], out) != 0)
		return b0_conf_error(em, l, "%s: \"%s\" is not yes or no",
		    l->argv[0], l->argv[i]);
	return 0;
}

int
b0_conf_duration_ms(const struct b0_conf_line *l, int i, uint64_t min,
    uint64_t max, uint64_t *out, struct b0_errmsg *em)
{
	int r;

	if ((r = b0_parse_duration_ms(l->argv[i], min, max, out)) ==
	    B0_ERR_RANGE)
		return b0_conf_error(em, l,
		    "%s: \"%s\" is outside %llums to %llums", l->argv[0],
		    l->argv[i], (unsigned long long)min,
		    (unsigned long long)max);
	if (r != 0)
		return b0_conf_error(em, l,
		    "%s: \"%s\" is not a duration (like 30s, 5m, 250ms)",
		    l->argv[0], l->argv[i]);
	return 0;
}

int
b0_conf_size(const struct b0_conf_line *l, int i, uint64_t min, uint64_t max,
    uint64_t *out, struct b0_errmsg *em)
{
	int r;

	if ((r = b0_parse_size(l->argv[i], min, max, out)) == B0_ERR_RANGE)
		return b0_conf_error(em, l,
		    "%s: \"%s\" is outside %llu to %llu bytes", l->argv[0],
		    l->argv[i], (unsigned long long)min,
		    (unsigned long long)max);
	if (r != 0)
		return b0_conf_error(em, l,
		    "%s: \"%s\" is not a size (like 4096, 64K, 1M)", l->argv[0],
		    l->argv[i]);
	return 0;
}

int
b0_conf_strdup(
    const struct b0_conf_line *l, int i, char **out, struct b0_errmsg *em)
{
	char *s;

	(void)em;
	if ((s = strdup(l->argv[i])) == NULL)
		return B0_ERR_ALLOC;
	free(*out);
	*out = s;
	return 0;
}
