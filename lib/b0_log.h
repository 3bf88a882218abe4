/*
 * b0_log: log lines through a sink the caller chooses.
 *
 * The library never prints.  A program sets up one struct b0_log in main()
 * with a sink (stderr for daemons under systemd and for command-line tools,
 * syslog, or a PAM module's pam_syslog wrapper) and passes it to code that
 * logs.  Every line is sanitised: control characters from peers cannot forge
 * log lines.
 */
#ifndef B0_LOG_H
#define B0_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

/* Ordered by urgency, as syslog(3). */
enum b0_log_level {
	B0_LOG_ERR = 0,
	B0_LOG_WARN = 1,
	B0_LOG_NOTICE = 2,
	B0_LOG_INFO = 3,
	B0_LOG_DEBUG = 4
};

/*
 * A sink receives one complete, sanitised line without a trailing newline.
 * cookie is the value given to b0_log_init().
 */
typedef void b0_log_sink_fn(
    void *cookie, enum b0_log_level level, const char *line);

struct b0_log {
	b0_log_sink_fn *sink;
	void *cookie;
	enum b0_log_level max_level; /* lines above this are dropped */
	char ident[32];		     /* "b0-edge"; prefixed by stderr sink */
	int journal;		     /* stderr is journald: "<N>" prefixes */
};

/*
 * A rate limit for one kind of message (OpenSSH log_ratelimit): at most
 * burst lines per interval seconds, then one summary of what was dropped.
 * Zero-initialise, then set burst and interval.
 */
struct b0_log_ratelimit {
	unsigned burst;
	unsigned interval;
	time_t window;
	unsigned count;
	unsigned dropped;
};

/*
 * b0_log_init(lg, ident, max_level, sink, cookie):
 * Set up lg.  sink NULL means b0_log_sink_stderr.  When stderr is connected
 * to journald (JOURNAL_STREAM names it), the stderr sink prefixes lines
 * with "<N>" priorities instead of the ident, as sd-daemon(3) describes.
 */
void b0_log_init(struct b0_log *lg, const char *ident,
    enum b0_log_level max_level, b0_log_sink_fn *sink, void *cookie);

/* Sinks.  cookie: the struct b0_log itself for stderr; unused for syslog. */
void b0_log_sink_stderr(
    void *cookie, enum b0_log_level level, const char *line);
void b0_log_sink_syslog(
    void *cookie, enum b0_log_level level, const char *line);
void b0_log_sink_null(void *cookie, enum b0_log_level level, const char *line);

/*
 * b0_log_level_parse(s, levelp):
 * Parse "error", "warn", "notice", "info" or "debug".  Returns 0 or
 * B0_ERR_FORMAT.
 */
int b0_log_level_parse(const char *s, enum b0_log_level *levelp);

/* b0_log_level_name(level): static name of level. */
const char *b0_log_level_name(enum b0_log_level level);

/*
 * b0_log(lg, level, fmt, ...):
 * Format and hand one line to lg's sink if level <= lg->max_level.  lg may
 * be NULL (then nothing is logged).
 */
void b0_log(const struct b0_log *lg, enum b0_log_level level, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
void b0_logv(const struct b0_log *lg, enum b0_log_level level, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

/*
 * b0_log_r(lg, level, func, r, fmt, ...):
 * As b0_log, with "func: " in front when func is not NULL and
 * ": <b0_strerror(r)>" after when r is not 0.
 */
void b0_log_r(const struct b0_log *lg, enum b0_log_level level,
    const char *func, int r, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * b0_log_rl(lg, rl, level, fmt, ...):
 * As b0_log, but at most rl->burst lines per rl->interval seconds; when a
 * new interval starts after drops, "N similar messages suppressed" is
 * logged first.  now is the caller's clock (seconds).
 */
void b0_log_rl(const struct b0_log *lg, struct b0_log_ratelimit *rl, time_t now,
    enum b0_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* OpenSSH-style shorthands: _f adds the function name, _fr an error code. */
#define b0_error(lg, ...) b0_log((lg), B0_LOG_ERR, __VA_ARGS__)
#define b0_warn(lg, ...) b0_log((lg), B0_LOG_WARN, __VA_ARGS__)
#define b0_notice(lg, ...) b0_log((lg), B0_LOG_NOTICE, __VA_ARGS__)
#define b0_info(lg, ...) b0_log((lg), B0_LOG_INFO, __VA_ARGS__)
#define b0_debug(lg, ...) b0_log((lg), B0_LOG_DEBUG, __VA_ARGS__)
#define b0_error_f(lg, ...) b0_log_r((lg), B0_LOG_ERR, __func__, 0, __VA_ARGS__)
#define b0_error_fr(lg, r, ...)                                                \
	b0_log_r((lg), B0_LOG_ERR, __func__, (r), __VA_ARGS__)
#define b0_debug_f(lg, ...)                                                    \
	b0_log_r((lg), B0_LOG_DEBUG, __func__, 0, __VA_ARGS__)
#define b0_debug_fr(lg, r, ...)                                                \
	b0_log_r((lg), B0_LOG_DEBUG, __func__, (r), __VA_ARGS__)

#endif /* B0_LOG_H */
