/*
 * Unit tests for lib/b0_conf, lib/b0_file, lib/b0_log and lib/b0_utf8.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "b0_buf.h"
#include "b0_conf.h"
#include "b0_err.h"
#include "b0_file.h"
#include "b0_log.h"
#include "b0_utf8.h"
#include "tap.h"

enum { OP_EDGE, OP_PORT, OP_SOCKET, OP_BANNER, OP_LOGLEVEL, OP_MAX };

static const struct b0_conf_keyword keywords[] = {
    {"edge", OP_EDGE, 1, 1, 0},
    {"port", OP_PORT, 1, 1, 0},
    {"socket", OP_SOCKET, 2, 3, 1},
    {"banner", OP_BANNER, 1, 1, 0},
    {"log-level", OP_LOGLEVEL, 1, 1, 0},
};

/* Read all of text; return the first error (0) and the message in em. */
static int
read_all(const char *text, struct b0_errmsg *em, char *words, size_t wsz)
{
	struct b0_conf *c = NULL;
	struct b0_conf_line l;
	unsigned seen[OP_MAX] = {0};
	char *g = tap_guard(text, strlen(text));
	int r, op, i;

	b0_err_clear(em);
	words[0] = '\0';
	if ((r = b0_conf_open_mem("t.conf", g, strlen(text), &c, em)) != 0)
		goto out;
	while ((r = b0_conf_next(c, &l, em)) == 1) {
		if ((op = b0_conf_lookup(keywords,
			 sizeof(keywords) / sizeof(keywords[0]), &l, seen,
			 OP_MAX, em)) < 0) {
			r = op;
			goto out;
		}
		for (i = 0; i < l.argc; i++) {
			strncat(words, l.argv[i], wsz - strlen(words) - 1);
			strncat(words, "|", wsz - strlen(words) - 1);
		}
		if (op == OP_PORT) {
			uint32_t port;

			if ((r = b0_conf_u32(&l, 1, 1, 65535, &port, em)) != 0)
				goto out;
		}
		if (op == OP_LOGLEVEL) {
			enum b0_log_level lvl;

			if ((r = b0_conf_log_level(&l, 1, &lvl, em)) != 0)
				goto out;
		}
	}
out:
	b0_conf_free(c);
	tap_unguard(g, strlen(text));
	return r;
}

static void
test_conf(void)
{
	static const struct {
		const char *text;
		int r;
		const char *want; /* words joined by '|', or error fragment */
	} t[] = {
	    {"", 0, ""},
	    {"# only a comment\n\n   \n\t\n", 0, ""},
	    {"edge e.example.com:443\n", 0, "edge|e.example.com:443|"},
	    {"edge e:443", 0, "edge|e:443|"}, /* no final newline */
	    {"  edge\te:443   # trailing comment\n", 0, "edge|e:443|"},
	    {"banner \"two words\"\n", 0, "banner|two words|"},
	    {"banner \"say \\\"hi\\\" \\\\o/\"\n", 0,
		"banner|say \"hi\" \\o/|"},
	    {"banner \"\"\n", 0, "banner||"},
	    {"banner caf\xc3\xa9\n", 0, "banner|caf\xc3\xa9|"},
	    {"socket a tcp/22\nsocket b tcp/23 h:1\n", 0,
		"socket|a|tcp/22|socket|b|tcp/23|h:1|"},
	    {"edge a:1\nedge b:2\n", B0_ERR_CONFIG,
		"t.conf:2: \"edge\" is already set on line 1"},
	    {"edgy a:1\n", B0_ERR_CONFIG, "t.conf:1: unknown keyword \"edgy\""},
	    {"\n\nedge\n", B0_ERR_CONFIG,
		"t.conf:3: \"edge\" takes 1 argument, not 0"},
	    {"edge a b\n", B0_ERR_CONFIG,
		"t.conf:1: \"edge\" takes 1 argument, not 2"},
	    {"socket a\n", B0_ERR_CONFIG,
		"t.conf:1: \"socket\" takes 2 to 3 arguments, not 1"},
	    {"port 0\n", B0_ERR_CONFIG,
		"t.conf:1: port: \"0\" is not a whole number from 1 to "
		"65535"},
	    {"port 022\n", B0_ERR_CONFIG, "\"022\" is not a whole number"},
	    {"log-level debug\n", 0, "log-level|debug|"},
	    {"log-level loud\n", B0_ERR_CONFIG,
		"t.conf:1: log-level: \"loud\" is not error, warn, notice, "
		"info or debug"},
	    {"banner \"open\n", B0_ERR_FORMAT,
		"t.conf:1: unterminated quoted string"},
	    {"banner \"a\"b\n", B0_ERR_FORMAT,
		"a quoted string must end a word"},
	    {"banner a\"b\"\n", B0_ERR_FORMAT, "a quote inside a word"},
	    {"edge a:1\r\n", B0_ERR_FORMAT, "t.conf:1: carriage return"},
	    {"edge a\x01:1\n", B0_ERR_FORMAT, "control character"},
	    {"edge a\x7f:1\n", B0_ERR_FORMAT, "control character"},
	    {"banner caf\xe9\n", B0_ERR_FORMAT, "t.conf:1: invalid UTF-8"},
	    {"banner \xc0\xaf\n", B0_ERR_FORMAT, "invalid UTF-8"},
	    {"banner \xed\xa0\x80\n", B0_ERR_FORMAT, "invalid UTF-8"},
	    {"a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", B0_ERR_FORMAT,
		"too many words"},
	};
	struct b0_errmsg em;
	char words[512];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = read_all(t[i].text, &em, words, sizeof(words));

		is_int(r, t[i].r, "conf row %zu returns %d", i, t[i].r);
		if (t[i].r == 0)
			is_str(words, t[i].want, "conf row %zu words", i);
		else
			has_str(em.text, t[i].want, "conf row %zu message", i);
	}
}

static void
test_conf_limits(void)
{
	struct b0_errmsg em;
	char words[64];
	char *big;
	struct b0_conf *c;

	big = malloc(B0_CONF_MAX_LINE + 16);
	memset(big, 'a', B0_CONF_MAX_LINE + 1);
	big[B0_CONF_MAX_LINE + 1] = '\0';
	is_int(read_all(big, &em, words, sizeof(words)), B0_ERR_FORMAT,
	    "line one byte over the limit");
	has_str(em.text, "t.conf:1: line too long", "line too long message");
	big[B0_CONF_MAX_LINE] = '\0';
	is_int(read_all(big, &em, words, sizeof(words)), B0_ERR_CONFIG,
	    "line at the limit is read (then unknown keyword)");
	free(big);
	big = calloc(1, B0_CONF_MAX_SIZE + 1);
	is_int(b0_conf_open_mem("big", big, B0_CONF_MAX_SIZE + 1, &c, &em),
	    B0_ERR_TOO_BIG, "file over the size limit");
	free(big);
}

static void
test_conf_file(void)
{
	char dir[] = "/tmp/b0-test-conf.XXXXXX", path[128];
	struct b0_errmsg em;
	struct b0_conf *c = NULL;
	struct b0_conf_line l;
	int fd;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/edge.conf", dir);
	is_int(
	    b0_conf_open(path, 0, &c, &em), B0_ERR_SYS(ENOENT), "missing file");
	has_str(em.text, "edge.conf: No such file or directory",
	    "missing file message names it");
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	tap_need(write(fd, "edge x:1\n", 9) == 9);
	close(fd);
	is_int(b0_conf_open(path, 0, &c, &em), 0, "open file");
	is_int(b0_conf_next(c, &l, &em), 1, "a line");
	is_str(l.file, path, "line names the file");
	is_int(l.lineno, 1, "line number");
	is_int(b0_conf_next(c, &l, &em), 0, "end");
	b0_conf_free(c);
	c = NULL;
	is_int(b0_conf_open(path, B0_FILE_PRIVATE, &c, &em), B0_ERR_PERM,
	    "0644 refused for a secret");
	has_str(em.text, "chmod 600", "message says how to mend it");
	unlink(path);
	rmdir(dir);
}

static void
test_file(void)
{
	char dir[] = "/tmp/b0-test-file.XXXXXX", path[128], link[128];
	char sub[160];
	struct b0_errmsg em;
	struct b0_buf *b = b0_buf_new(16);
	struct stat st;
	int fd;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	is_int(b0_file_write_atomic(path, "hello", 5, 0600, &em), 0,
	    "atomic write");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
	    "mode 0600 despite umask");
	is_int(b0_file_read(path, B0_FILE_PRIVATE | B0_FILE_OWNER_SELF, b, &em),
	    0, "read back as private, own file");
	ok(b0_buf_len(b) == 5 && memcmp(b0_buf_ptr(b), "hello", 5) == 0,
	    "content");
	is_int(b0_file_write_atomic(path, "0123456789abcdefX", 17, 0644, &em),
	    0, "replace");
	b0_buf_reset(b);
	is_int(b0_file_read(path, 0, b, &em), B0_ERR_TOO_BIG,
	    "file over buffer max");
	has_str(em.text, "larger than the limit of 16 bytes", "limit named");
	b0_buf_reset(b);
	is_int(b0_file_write_atomic(path, "0123456789abcdef", 16, 0644, &em), 0,
	    "exactly max");
	is_int(b0_file_read(path, 0, b, &em), 0, "file of exactly max");
	is_int(b0_file_read(path, B0_FILE_PRIVATE, b, &em), B0_ERR_PERM,
	    "0644 not private");
	chmod(path, 0664);
	is_int(b0_file_open(path, B0_FILE_NO_WRITE_OTHERS, &fd, &em),
	    B0_ERR_PERM, "group-writable refused");
	has_str(em.text, "chmod go-w", "how to mend");
	tap_need(symlink(path, link) == 0);
	is_int(b0_file_open(link, 0, &fd, &em), B0_ERR_SYS(ELOOP),
	    "symlink not followed");
	has_str(em.text, "symbolic link", "symlink message");
	is_int(b0_file_open(dir, 0, &fd, &em), B0_ERR_FORMAT,
	    "directory is not a regular file");
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");

		chmod(path, 0644);
		if (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) == 0) {
			is_int(b0_file_open(path, B0_FILE_OWNER_ROOT, &fd, &em),
			    B0_ERR_PERM, "owner must be root");
			has_str(em.text, "must be owned by root", "owner msg");
		}
	}
	snprintf(sub, sizeof(sub), "%s/cache", dir);
	is_int(b0_file_mkdir_private(sub, &em), 0, "mkdir private");
	ok(stat(sub, &st) == 0 && (st.st_mode & 07777) == 0700, "0700");
	is_int(b0_file_mkdir_private(sub, &em), 0, "existing is fine");
	chmod(sub, 0755);
	is_int(b0_file_mkdir_private(sub, &em), B0_ERR_PERM,
	    "0755 directory refused");
	is_int(b0_file_mkdir_private(link, &em), B0_ERR_PERM,
	    "symlink refused as directory");
	is_int(b0_file_write_atomic("/nonexistent-dir/x", "a", 1, 0600, &em),
	    B0_ERR_SYS(ENOENT), "write into missing directory");
	has_str(em.text, "/nonexistent-dir/x: create", "step named");
	unlink(link);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	b0_buf_free(b);
}

struct capture {
	int n;
	enum b0_log_level level;
	char last[1100];
};

static void
capture_sink(void *cookie, enum b0_log_level level, const char *line)
{
	struct capture *c = cookie;

	c->n++;
	c->level = level;
	snprintf(c->last, sizeof(c->last), "%s", line);
}

static void
test_log(void)
{
	struct capture cap = {0};
	struct b0_log lg;
	struct b0_log_ratelimit rl = {.burst = 3, .interval = 10};
	enum b0_log_level lv;
	int i;

	b0_log_init(&lg, "t", B0_LOG_INFO, capture_sink, &cap);
	b0_info(&lg, "hello %d", 1);
	is_str(cap.last, "hello 1", "info logged");
	b0_debug(&lg, "hidden");
	is_int(cap.n, 1, "debug dropped at info");
	b0_log(&lg, B0_LOG_WARN, "peer said \"%s\"", "a\nfake: line\x1b[2J");
	is_str(cap.last, "peer said \"a?fake: line?[2J\"",
	    "newline and escape neutralised");
	b0_error_fr(&lg, B0_ERR_TIMEOUT, "connect %s", "edge");
	is_str(cap.last, "test_log: connect edge: timed out", "_fr format");
	is_int(cap.level, B0_LOG_ERR, "level passed to sink");
	b0_log(NULL, B0_LOG_ERR, "nothing");
	ok(1, "NULL log is fine");
	cap.n = 0;
	for (i = 0; i < 10; i++)
		b0_log_rl(&lg, &rl, 100, B0_LOG_INFO, "flood %d", i);
	is_int(cap.n, 3, "rate limit: 3 of 10 in one interval");
	b0_log_rl(&lg, &rl, 111, B0_LOG_INFO, "after");
	is_int(cap.n, 5, "summary then the line");
	is_str(cap.last, "after", "line after summary");
	is_int(b0_log_level_parse("debug", &lv), 0, "parse debug");
	is_int(lv, B0_LOG_DEBUG, "debug value");
	is_int(
	    b0_log_level_parse("verbose", &lv), B0_ERR_FORMAT, "unknown level");
	is_str(b0_log_level_name(B0_LOG_NOTICE), "notice", "level name");
}

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t n;
		int valid;
	} t[] = {
	    {"plain", 5, 1},
	    {"\xc3\xa9", 2, 1},
	    {"\xe2\x82\xac", 3, 1},
	    {"\xf0\x9f\x98\x80", 4, 1},
	    {"\xf4\x8f\xbf\xbf", 4, 1},	    /* U+10FFFF */
	    {"\xc3", 1, 0},		    /* cut off */
	    {"\xe2\x82", 2, 0},		    /* cut off */
	    {"\x80", 1, 0},		    /* lone continuation */
	    {"\xc0\x80", 2, 0},		    /* overlong NUL */
	    {"\xc1\xbf", 2, 0},		    /* overlong */
	    {"\xe0\x80\xaf", 3, 0},	    /* overlong / */
	    {"\xf0\x80\x80\xaf", 4, 0},	    /* overlong / */
	    {"\xed\xa0\x80", 3, 0},	    /* U+D800 */
	    {"\xed\xbf\xbf", 3, 0},	    /* U+DFFF */
	    {"\xf4\x90\x80\x80", 4, 0},	    /* U+110000 */
	    {"\xf8\x88\x80\x80\x80", 5, 0}, /* 5-byte form */
	    {"\xff", 1, 0},
	    {"a\xc3\xa9z\xe2", 5, 0},
	};
	size_t i;
	char out[4];

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *g = tap_guard(t[i].s, t[i].n);

		is_int(b0_utf8_valid(g, t[i].n), t[i].valid, "utf8 row %zu", i);
		tap_unguard(g, t[i].n);
	}
	is_int(b0_utf8_encode(0xe9, out), 2, "encode U+E9");
	ok(memcmp(out, "\xc3\xa9", 2) == 0, "encode U+E9 bytes");
	is_int(b0_utf8_encode(0x1f600, out), 4, "encode U+1F600");
	is_int(b0_utf8_encode(0xd800, out), 0, "no surrogates");
	is_int(b0_utf8_encode(0x110000, out), 0, "nothing above U+10FFFF");
}

int
main(void)
{
	test_conf();
	test_conf_limits();
	test_conf_file();
	test_file();
	test_log();
	test_utf8();
	return tap_done();
}
