/*
 * b0-proxy: the visitor's client.  What the parts of proxycmd/ share:
 *
 *   msg.c     one-line messages on stderr ("b0-proxy: ...")
 *   conf.c    proxy.conf and the options that mirror it; edge lookup
 *   cache.c   the token cache under $XDG_CACHE_HOME/b0, and its lock
 *   oauth.c   HTTPS to the edge's OAuth endpoints (libcurl)
 *   login.c   the browser (code flow, PKCE) and device flows
 *   token.c   a valid access token: cache, refresh, login, under the lock
 *   stream.c  TLS + CONNECT to a tls socket, and the stdio relay
 *   listen.c  --listen: one stream per local client
 *   main.c    the command line
 *
 * stdout carries the stream and nothing else: nothing here prints to it
 * except main.c's `token`, `status` and `ssh-config` commands.
 */
#ifndef B0_PROXY_H
#define B0_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "b0_buf.h"
#include "b0_err.h"

#define PX_CLIENT_ID "b0-proxy"
#define PX_NAME_MAX 253
/* An access token with less than this left is refreshed. */
#define PX_REFRESH_MARGIN_S 60

/* msg.c */

/*
 * px_say(fmt, ...): one line "b0-proxy: <formatted>" on stderr, control
 * characters replaced by '?'.  Never pass a secret.
 */
void px_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* px_debug(fmt, ...): as px_say when B0_PROXY_DEBUG is set. */
void px_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* qr.c */

/*
 * px_qr_show(url): url as a QR code on stderr, if stderr is a terminal;
 * nothing otherwise or when it cannot be encoded.
 */
void px_qr_show(const char *url);

/* conf.c */

struct px_edge {
	char *domain; /* lower case DNS name */
	char *addr;   /* where to connect; NULL: domain */
	uint16_t port;
};

struct px_conf {
	struct px_edge *edges;
	size_t nedges;
	char *ca;	 /* CA file or directory; NULL: the system's */
	char *cache_dir; /* $XDG_CACHE_HOME/b0 */
};

/* px_conf_init(c): an empty configuration with the cache directory set. */
int px_conf_init(struct px_conf *c, struct b0_errmsg *em);

/*
 * px_conf_default_path(buf, size): $XDG_CONFIG_HOME/b0/proxy.conf (or
 * ~/.config/...).  Returns 0 or B0_ERR_TOO_BIG / B0_ERR_NOT_FOUND.
 */
int px_conf_default_path(char *buf, size_t size);

/*
 * px_conf_load(c, path, must_exist, em):
 * Add the keywords of the file at path to c.  A missing file is fine
 * unless must_exist.  Errors say "file:line: ...".
 */
int px_conf_load(
    struct px_conf *c, const char *path, int must_exist, struct b0_errmsg *em);

/*
 * px_conf_set_edge(c, domain, connect, em):
 * Add or replace (options win over the file) the edge for domain;
 * connect is "ADDRESS:PORT" or NULL (domain:443).
 */
int px_conf_set_edge(struct px_conf *c, const char *domain, const char *connect,
    struct b0_errmsg *em);

/* px_conf_set_ca(c, file, em): trust the CAs in file. */
int px_conf_set_ca(struct px_conf *c, const char *file, struct b0_errmsg *em);

/*
 * px_conf_find(c, name): the edge whose domain is the longest that name
 * ends with at a label boundary ("x.edge.test" is under "edge.test"), or
 * NULL.  Borrowed from c.
 */
const struct px_edge *px_conf_find(const struct px_conf *c, const char *name);

/* px_conf_edge(c, domain): the edge with exactly this domain, or NULL. */
const struct px_edge *px_conf_edge(const struct px_conf *c, const char *domain);

/* px_name_check(name, out, outsz): a DNS name, lower-cased into out. */
int px_name_check(const char *name, char *out, size_t outsz);

void px_conf_cleanup(struct px_conf *c);

/* cache.c */

/* The tokens of one edge.  Strings are owned; px_tokens_cleanup wipes. */
struct px_tokens {
	char *email;
	char *access;
	int64_t expires_at; /* unix seconds */
	char *refresh;
};

void px_tokens_cleanup(struct px_tokens *t);

/*
 * px_cache_lock(c, e, watch_fd, fdp, em):
 * Make sure the cache directory is safe, then take the edge's lock
 * (flock on <domain>.lock), waiting as long as another b0-proxy holds it.
 * While waiting, a POLLHUP/POLLERR on watch_fd (>= 0: our stdout) means
 * the caller went away: B0_ERR_EOF.  *fdp: close it to unlock.
 */
int px_cache_lock(const struct px_conf *c, const struct px_edge *e,
    int watch_fd, int *fdp, struct b0_errmsg *em);

/*
 * px_cache_load(c, e, t, em): read <domain>.json into t (cleared first).
 * B0_ERR_NOT_FOUND when there is none; B0_ERR_PERM when it or its
 * directory is not private to us.
 */
int px_cache_load(const struct px_conf *c, const struct px_edge *e,
    struct px_tokens *t, struct b0_errmsg *em);

/* px_cache_store(c, e, t, em): replace <domain>.json atomically, 0600. */
int px_cache_store(const struct px_conf *c, const struct px_edge *e,
    const struct px_tokens *t, struct b0_errmsg *em);

/* px_cache_remove(c, e, em): delete <domain>.json; 0 if there was none. */
int px_cache_remove(
    const struct px_conf *c, const struct px_edge *e, struct b0_errmsg *em);

/* oauth.c */

struct px_oauth {
	const struct px_conf *conf;
	const struct px_edge *edge;
	char *base; /* https://domain[:port] */
	char *authorization_endpoint;
	char *token_endpoint;
	char *device_endpoint;	   /* NULL if the edge has none */
	char *revocation_endpoint; /* NULL if the edge has none */
};

/* Token endpoint error codes (RFC 6749 5.2, RFC 8628 3.5). */
#define PX_OAUTH_ERRLEN 64

/*
 * px_oauth_discover(o, c, e, em): fetch the edge's discovery document
 * into o (px_oauth_cleanup() after success or failure).
 */
int px_oauth_discover(struct px_oauth *o, const struct px_conf *c,
    const struct px_edge *e, struct b0_errmsg *em);

void px_oauth_cleanup(struct px_oauth *o);

/*
 * px_oauth_revoke(o, refresh, em): RFC 7009, hand the refresh token back
 * so that the edge ends its grant.  B0_ERR_UNSUPPORTED when the edge has
 * no revocation endpoint.
 */
int px_oauth_revoke(
    struct px_oauth *o, const char *refresh, struct b0_errmsg *em);

/*
 * px_oauth_token(o, form, t, err, em):
 * POST form (a secret x-www-form-urlencoded body) to the token endpoint.
 * Returns 0 and t (cleared first) on success; B0_ERR_AUTH with the error
 * code in err (e.g. "invalid_grant", "authorization_pending") when the
 * edge answered with an OAuth error; other codes for transport trouble.
 */
int px_oauth_token(struct px_oauth *o, const struct b0_buf *form,
    struct px_tokens *t, char err[PX_OAUTH_ERRLEN], struct b0_errmsg *em);

struct px_device {
	char *device_code; /* secret */
	char *user_code;
	char *verification_uri;
	char *verification_uri_complete; /* may be NULL */
	int64_t expires_in;
	int64_t interval;
};

/* px_oauth_device_start(o, d, em): RFC 8628 3.1. */
int px_oauth_device_start(
    struct px_oauth *o, struct px_device *d, struct b0_errmsg *em);

void px_device_cleanup(struct px_device *d);

/*
 * px_form_add(b, name, value): append "&name=value" (no '&' first),
 * percent-encoded.
 */
int px_form_add(struct b0_buf *b, const char *name, const char *value);

/* login.c */

#define PX_LOGIN_DEVICE 0x01 /* the device flow even with a browser */

/*
 * px_login(o, flags, watch_fd, t, em): sign in with the browser or the
 * device flow; watch_fd as in px_cache_lock().
 */
int px_login(struct px_oauth *o, unsigned flags, int watch_fd,
    struct px_tokens *t, struct b0_errmsg *em);

/* token.c */

#define PX_TOKEN_LOGIN 0x100	/* sign in even with valid tokens */
#define PX_TOKEN_NO_LOGIN 0x200 /* never sign in: B0_ERR_AUTH instead */

/*
 * px_token_get(c, e, flags, rejected, watch_fd, tokenp, emailp, em):
 * A valid access token for edge e in *tokenp (b0_str_wipe_free()): the
 * cached one if it has PX_REFRESH_MARGIN_S left and is not rejected (a
 * token the edge just refused), else a refreshed one, else a new login
 * (flags: PX_LOGIN_DEVICE, PX_TOKEN_LOGIN; PX_TOKEN_NO_LOGIN: fail with
 * B0_ERR_AUTH where a login would be needed).  All under the edge's lock.
 * emailp (may be NULL) gets the email (free()) or NULL.
 */
int px_token_get(const struct px_conf *c, const struct px_edge *e,
    unsigned flags, const char *rejected, int watch_fd, char **tokenp,
    char **emailp, struct b0_errmsg *em);

/* stream.c */

/*
 * px_stream_run(c, e, host, port, in, out, watch_fd, flags, em):
 * Reach host:port through edge e and relay in/out (fds; the same socket
 * twice in listen mode) with it until both directions end.  Returns 0,
 * or an error with a sentence (access denied, ...) in em.
 */
int px_stream_run(const struct px_conf *c, const struct px_edge *e,
    const char *host, uint16_t port, int in, int out, int watch_fd,
    unsigned flags, struct b0_errmsg *em);

/* listen.c */

/*
 * px_listen_run(c, e, host, port, listen, flags, em): accept on listen
 * ("127.0.0.1:PORT") and run one px_stream_run() per client in a child.
 * Returns only on error (or a signal).
 */
int px_listen_run(const struct px_conf *c, const struct px_edge *e,
    const char *host, uint16_t port, const char *listen, unsigned flags,
    struct b0_errmsg *em);

/*
 * askpass.c: b0-proxy askpass PROMPT (docs/pam.md).
 * px_askpass_prompt(prompt, ip, np, host, hostsz): 0 if prompt is exactly
 * "b0-token part <i>: " or "b0-token part <i>/<n>: " (1 <= i <= n <= 16,
 * no leading zeros), optionally after OpenSSH's "(user@host) ", with i,
 * n (0 when absent) and host ("" when absent, lower case); else -1.
 * px_askpass(c, host, i, n, em): print "<i>/<n> <part i>" of the access
 * token for the edge B0_HOST names, else the edge of host, else the only
 * one with cached tokens (host, if not "", must be under that edge),
 * refreshed first (never a new sign-in) when i is 1 and it expires
 * within PX_REFRESH_MARGIN_S.  Returns 0 or an error with em saying why.
 */
int px_askpass_prompt(
    const char *prompt, unsigned *ip, unsigned *np, char *host, size_t hostsz);
int px_askpass(const struct px_conf *c, const char *host, unsigned i,
    unsigned n, struct b0_errmsg *em);

#endif /* B0_PROXY_H */
