/*
 * b0_conf: configuration files of "keyword argument..." lines.
 *
 *	# a comment
 *	edge     edge.example.com:443
 *	socket   ssh tcp/22 127.0.0.1:22
 *	banner   "two words"
 *
 * Arguments are separated by spaces or tabs; double quotes group words
 * (with \" and \\ inside); '#' at the start of a word begins a comment.
 * Control characters, NUL bytes, invalid UTF-8 and overlong lines are
 * errors.  Every message starts with "file:line: ".
 *
 * A program keeps its keywords in a table of {name, op, args} and handles
 * each op in one switch, as OpenSSH's readconf.c does; b0_conf_lookup()
 * turns unknown keywords, wrong argument counts and repeated keywords into
 * errors.
 */
#ifndef B0_CONF_H
#define B0_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "b0_err.h"
#include "b0_log.h"

#define B0_CONF_MAX_LINE 4096
#define B0_CONF_MAX_ARGS 16
#define B0_CONF_MAX_SIZE (1024 * 1024)

struct b0_conf;

/* One line: argv[0] is the keyword.  Borrowed until the next call. */
struct b0_conf_line {
	const char *file;
	unsigned lineno;
	int argc;
	char *argv[B0_CONF_MAX_ARGS];
};

struct b0_conf_keyword {
	const char *name;
	int op;	      /* >= 0, below the size of the caller's seen[] */
	int min_args; /* not counting the keyword */
	int max_args;
	int repeat; /* may appear more than once */
};

/*
 * b0_conf_open(path, file_flags, cp, em):
 * Read the file at path (checked with b0_file_open() and file_flags, see
 * b0_file.h) and return a reader in *cp; free with b0_conf_free().
 */
int b0_conf_open(const char *path, unsigned file_flags, struct b0_conf **cp,
    struct b0_errmsg *em);

/*
 * b0_conf_open_mem(name, text, len, cp, em):
 * A reader over len bytes of text (copied), called name in messages.
 */
int b0_conf_open_mem(const char *name, const char *text, size_t len,
    struct b0_conf **cp, struct b0_errmsg *em);

/* b0_conf_free(c): Release c.  NULL is fine. */
void b0_conf_free(struct b0_conf *c);

/*
 * b0_conf_next(c, line, em):
 * Read the next line that is not empty or a comment into *line.  Returns 1
 * for a line, 0 at the end of the file, or B0_ERR_FORMAT.
 */
int b0_conf_next(
    struct b0_conf *c, struct b0_conf_line *line, struct b0_errmsg *em);

/*
 * b0_conf_lookup(table, ntable, line, seen, nseen, em):
 * Find line's keyword in table and check its argument count.  seen (may be
 * NULL) is the caller's array of nseen line numbers, indexed by op and
 * zeroed before the first line; it catches keywords given twice.  Returns
 * the op (>= 0) or B0_ERR_CONFIG with a message.
 */
int b0_conf_lookup(const struct b0_conf_keyword *table, size_t ntable,
    const struct b0_conf_line *line, unsigned *seen, size_t nseen,
    struct b0_errmsg *em);

/*
 * b0_conf_error(em, line, fmt, ...):
 * Set em to "file:line: <formatted>".  Returns B0_ERR_CONFIG, so callers
 * can write: return b0_conf_error(em, l, "...").
 */
int b0_conf_error(struct b0_errmsg *em, const struct b0_conf_line *line,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Typed arguments: argv[i] of line parsed with b0_parse; on failure em says
 * "file:line: <keyword>: "<arg>" is not ..." and B0_ERR_CONFIG is returned.
 */
int b0_conf_u32(const struct b0_conf_line *line, int i, uint32_t min,
    uint32_t max, uint32_t *out, struct b0_errmsg *em);
int b0_conf_bool(
    const struct b0_conf_line *line, int i, int *out, struct b0_errmsg *em);
int b0_conf_duration_ms(const struct b0_conf_line *line, int i, uint64_t min,
    uint64_t max, uint64_t *out, struct b0_errmsg *em);
int b0_conf_size(const struct b0_conf_line *line, int i, uint64_t min,
    uint64_t max, uint64_t *out, struct b0_errmsg *em);
int b0_conf_log_level(const struct b0_conf_line *line, int i,
    enum b0_log_level *out, struct b0_errmsg *em);

/*
 * b0_conf_strdup(line, i, out, em):
 * A copy of argv[i] the caller frees with free(); *out is freed first, so
 * a keyword given twice (when allowed) keeps the last value.
 */
int b0_conf_strdup(
    const struct b0_conf_line *line, int i, char **out, struct b0_errmsg *em);

#endif /* B0_CONF_H */
