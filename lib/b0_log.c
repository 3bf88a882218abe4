/*
 * b0_log: log lines through a sink the caller chooses.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "b0_err.h"
#include "b0_log.h"
#include "b0_parse.h"
#include "b0_utf8.h"

#define LINE_MAX_LEN 1024

static const char *const level_names[] = {
    [B0_LOG_ERR] = "error",
    [B0_LOG_WARN] = "warn",
    [B0_LOG_NOTICE] = "notice",
    [B0_LOG_INFO] = "info",
    [B0_LOG_DEBUG] = "debug",
};

/* syslog(3) priorities, also the "<N>" prefixes journald understands. */
static const int level_prio[] = {
    [B0_LOG_ERR] = LOG_ERR,
    [B0_LOG_WARN] = LOG_WARNING,
    [B0_LOG_NOTICE] = LOG_NOTICE,
    [B0_LOG_INFO] = LOG_INFO,
    [B0_LOG_DEBUG] = LOG_DEBUG,
};

/* Is stderr the stream named by $JOURNAL_STREAM ("dev:ino")? */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM"), *colon;
	char dev_s[32];
	uint64_t dev, ino;
	struct stat st;

	if (js == NULL || (colon = strchr(js, ':')) == NULL ||
	    (size_t)(colon - js) >= sizeof(dev_s))
		return 0;
	memcpy(dev_s, js, (size_t)(colon - js));
	dev_s[colon - js] = '\0';
	if (b0_parse_u64(dev_s, 0, UINT64_MAX, &dev) != 0 ||
	    b0_parse_u64(colon + 1, 0, UINT64_MAX, &ino) != 0)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

void
b0_log_init(struct b0_log *lg, const char *ident, enum b0_log_level max_level,
    b0_log_sink_fn *sink, void *cookie)
{
	memset(lg, 0, sizeof(*lg));
	snprintf(lg->ident, sizeof(lg->ident), "%s", ident ? ident : "b0");
	lg->max_level = max_level;
	if (sink == NULL) {
		lg->sink = b0_log_sink_stderr;
		lg->cookie = lg;
		lg->journal = stderr_is_journal();
	} else {
		lg->sink = sink;
		lg->cookie = cookie;
	}
}

void
b0_log_sink_stderr(void *cookie, enum b0_log_level level, const char *line)
{
	const struct b0_log *lg = cookie;
	int saved = errno;

	if (lg != NULL && lg->journal)
		fprintf(stderr, "<%d>%s\n", level_prio[level], line);
	else
		fprintf(stderr, "%s: %s\n", lg ? lg->ident : "b0", line);
	errno = saved;
}

void
b0_log_sink_syslog(void *cookie, enum b0_log_level level, const char *line)
{
	(void)cookie;
	syslog(level_prio[level], "%s", line);
}

void
b0_log_sink_null(void *cookie, enum b0_log_level level, const char *line)
{
	(void)cookie;
	(void)level;
	(void)line;
}

int
b0_log_level_parse(const char *s, enum b0_log_level *levelp)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*levelp = (enum b0_log_level)i;
			return 0;
		}
	}
	return B0_ERR_FORMAT;
}

const char *
b0_log_level_name(enum b0_log_level level)
{
	if ((unsigned)level > B0_LOG_DEBUG)
		return "?";
	return level_names[level];
}

/*
 * Replace control characters (a peer's CR/LF, ESC...) by '?', and cut a
 * character the line's end split in two.
 */
static void
sanitize(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	b0_utf8_trim(s);
}

void
b0_logv(const struct b0_log *lg, enum b0_log_level level, const char *fmt,
    va_list ap)
{
	char line[LINE_MAX_LEN];
	int saved = errno;

	if (lg == NULL || lg->sink == NULL || level > lg->max_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	sanitize(line);
	lg->sink(lg->cookie, level, line);
	errno = saved;
}

void
b0_log(const struct b0_log *lg, enum b0_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	b0_logv(lg, level, fmt, ap);
	va_end(ap);
}

void
b0_log_r(const struct b0_log *lg, enum b0_log_level level, const char *func,
    int r, const char *fmt, ...)
{
	char msg[LINE_MAX_LEN];
	va_list ap;

	if (lg == NULL || level > lg->max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (func != NULL && r != 0)
		b0_log(lg, level, "%s: %s: %s", func, msg, b0_strerror(r));
	else if (func != NULL)
		b0_log(lg, level, "%s: %s", func, msg);
	else if (r != 0)
		b0_log(lg, level, "%s: %s", msg, b0_strerror(r));
	else
		b0_log(lg, level, "%s", msg);
}

void
b0_log_rl(const struct b0_log *lg, struct b0_log_ratelimit *rl, time_t now,
    enum b0_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (lg == NULL || level > lg->max_level)
		return;
	if (rl->interval == 0 || now >= rl->window + (time_t)rl->interval ||
	    now < rl->window) {
		if (rl->dropped > 0)
			b0_log(lg, level, "%u similar messages suppressed",
			    rl->dropped);
		rl->window = now;
		rl->count = 0;
		rl->dropped = 0;
	}
	if (rl->count >= rl->burst) {
		rl->dropped++;
		return;
	}
	rl->count++;
	va_start(ap, fmt);
	b0_logv(lg, level, fmt, ap);
	va_end(ap);
}
