/*
 * Signing in: the authorization code flow with PKCE (S256) on a loopback
 * redirect (RFC 8252) in a browser, or the device authorization grant (RFC
 * 8628) where there is no browser.
 *
 * The browser is $BROWSER (a command; the URL is its last argument) or
 * xdg-open, started with its stdin, stdout and stderr on /dev/null (our
 * stdout is the ssh stream) in a process group of its own, so that it can
 * be ended with everything it started if we give up.  The authorize URL
 * holds no secret (the PKCE verifier stays here), so argv is fine for it.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "b0_b64.h"
#include "b0_http.h"
#include "b0_net.h"
#include "b0_str.h"
#include "proxy.h"

#define LOGIN_TIMEOUT_S 180
#define CALLBACK_PATH "/callback"

/* The browser's process group, for the signal handler to end it. */
static volatile sig_atomic_t browser_pgid;

static void
on_signal(int sig)
{
	if (browser_pgid > 0)
		(void)kill(-(pid_t)browser_pgid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
catch_signals(void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
}

static pid_t
browser_start(const char *url)
{
	const char *b = getenv("BROWSER");
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0) {
		(void)setpgid(pid, pid);
		browser_pgid = pid;
		return pid;
	}
	(void)setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (b != NULL && b[0] != '\0')
		execl("/bin/sh", "sh", "-c", "exec $BROWSER \"$1\"", "sh", url,
		    (char *)NULL);
	else
		execlp("xdg-open", "xdg-open", url, (char *)NULL);
	_exit(127);
}

/* Reap the browser if it is done; with kill_it, end its group first. */
static void
browser_end(pid_t pid, int kill_it)
{
	if (pid <= 0)
		return;
	if (kill_it)
		(void)kill(-pid, SIGTERM);
	(void)waitpid(pid, NULL, kill_it ? 0 : WNOHANG);
	browser_pgid = 0;
}

static int
random_b64(size_t n, char *out, size_t outsz)
{
	uint8_t raw[64];
	int r;

	if (n > sizeof(raw) || RAND_bytes(raw, (int)n) != 1)
		return B0_ERR_CRYPTO;
	r = b0_b64url_encode(raw, n, out, outsz);
	OPENSSL_cleanse(raw, sizeof(raw));
	return r;
}

/* Wait up to ms for fd (POLLIN), or for watch_fd to hang up. */
/* Milliseconds on the monotonic clock. */
static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
wait_fd(int fd, int watch_fd, int ms, struct b0_errmsg *em)
{
	struct pollfd p[2];
	int n;

	p[0].fd = fd;
	p[0].events = POLLIN;
	p[1].fd = watch_fd;
	p[1].events = 0;
	p[0].revents = p[1].revents = 0;
	if ((n = poll(p, 2, ms)) == -1) {
		if (errno == EINTR)
			return 0;
		return b0_err_from_errno();
	}
	if ((p[1].revents & (POLLHUP | POLLERR)) != 0) {
		b0_err_set(em, "the ssh client went away");
		return B0_ERR_EOF;
	}
	return (p[0].revents != 0) ? 1 : 0;
}

static void
html_escape(struct b0_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			(void)b0_buf_put_str(b, "&lt;");
			break;
		case '>':
			(void)b0_buf_put_str(b, "&gt;");
			break;
		case '&':
			(void)b0_buf_put_str(b, "&amp;");
			break;
		case '"':
			(void)b0_buf_put_str(b, "&quot;");
			break;
		default:
			(void)b0_buf_put(b, s, 1);
		}
	}
}

/* Answer the browser on fd with a small page: h1 title, p.detail. */
static void
reply(int fd, int status, const char *title, const char *detail)
{
	struct b0_buf *page = b0_buf_new(8192), *head = b0_buf_new(2048);
	size_t off;
	ssize_t n;

	if (page == NULL || head == NULL)
		goto out;
	(void)b0_buf_put_str(page,
	    "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>b0-proxy</title><style>body{font-family:sans-serif;"
	    "margin:4em auto;max-width:36em}</style></head><body><h1>");
	html_escape(page, title);
	(void)b0_buf_put_str(page, "</h1><p class=\"detail\">");
	html_escape(page, detail);
	(void)b0_buf_put_str(page, "</p></body></html>\n");
	(void)b0_buf_putf(head,
	    "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Content-Security-Policy: default-src 'none'; "
	    "style-src 'unsafe-inline'; frame-ancestors 'none'\r\n"
	    "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n"
	    "Connection: close\r\n\r\n",
	    status, b0_http_reason(status), b0_buf_len(page));
	(void)b0_buf_put(head, b0_buf_ptr(page), b0_buf_len(page));
	for (off = 0; off < b0_buf_len(head); off += (size_t)n) {
		n = send(fd, b0_buf_ptr(head) + off, b0_buf_len(head) - off,
		    MSG_NOSIGNAL);
		if (n <= 0)
			break;
	}
out:
	b0_buf_free(page);
	b0_buf_free(head);
}

/* A browser connection to the loopback listener. */
struct cb_conn {
	int fd; /* -1: free slot */
	size_t len;
	time_t deadline;
	char buf[8192];
};

#define CB_CONNS 8   /* browsers open spare connections (preconnect) */
#define CB_IDLE_S 10 /* per connection */

/*
 * Read what the browser sent on c.  Returns 2 while the request is not
 * complete, 1 with the code in *codep (b0_str_wipe_free()), 0 for a
 * request to ignore (answered already) or a connection gone, or
 * B0_ERR_AUTH when the edge sent an error (answered too).
 */
static int
callback(struct cb_conn *c, const char *state, const char *edge, char **codep,
    struct b0_errmsg *em)
{
	struct b0_http_req req;
	struct b0_http_params ps;
	struct b0_errmsg pem;
	const char *q, *s, *code, *err, *desc;
	int fd = c->fd;
	size_t plen;
	ssize_t n;
	int r;

	*codep = NULL;
	memset(&ps, 0, sizeof(ps));
	if (c->len == sizeof(c->buf)) {
		reply(fd, 431, "Request too large", "");
		return 0;
	}
	n = recv(fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 2;
	if (n <= 0)
		return 0;
	c->len += (size_t)n;
	r = b0_http_req_parse(c->buf, c->len, NULL, &req, &pem);
	if (r == B0_ERR_INCOMPLETE)
		return 2;
	if (r < 0) {
		reply(fd, 400, "Bad request", pem.text);
		return 0;
	}
	q = memchr(req.target, '?', req.target_len);
	plen = q != NULL ? (size_t)(q - req.target) : req.target_len;
	if (req.method_len != 3 || memcmp(req.method, "GET", 3) != 0 ||
	    plen != strlen(CALLBACK_PATH) ||
	    memcmp(req.target, CALLBACK_PATH, plen) != 0) {
		reply(fd, 404, "Not found", "b0-proxy waits for its callback.");
		return 0;
	}
	if (q == NULL || b0_http_form_parse(q + 1,
			     req.target_len - (size_t)(q + 1 - req.target), 32,
			     B0_HTTP_FORM_NODUP, &ps, &pem) != 0) {
		reply(fd, 400, "Bad request", "Malformed callback parameters.");
		return 0;
	}
	s = b0_http_params_get(&ps, "state");
	if (s == NULL || strlen(s) != strlen(state) ||
	    !b0_ct_eq(s, state, strlen(state))) {
		px_say("ignored a sign-in callback with a wrong state");
		reply(fd, 400, "Wrong state",
		    "This answer is not for this sign-in; it was ignored.");
		b0_http_params_cleanup(&ps);
		return 0;
	}
	if ((err = b0_http_params_get(&ps, "error")) != NULL) {
		desc = b0_http_params_get(&ps, "error_description");
		b0_err_set(em, "sign-in to %s failed: %s%s%s", edge, err,
		    desc ? ": " : "", desc ? desc : "");
		reply(fd, 400, "Sign-in failed", em->text);
		b0_http_params_cleanup(&ps);
		return B0_ERR_AUTH;
	}
	if ((code = b0_http_params_get(&ps, "code")) == NULL ||
	    (*codep = strdup(code)) == NULL) {
		reply(fd, 400, "Bad request", "The callback has no code.");
		b0_http_params_cleanup(&ps);
		return 0;
	}
	b0_http_params_cleanup(&ps);
	return 1;
}

static int
code_flow(
    struct px_oauth *o, int watch_fd, struct px_tokens *t, struct b0_errmsg *em)
{
	char verifier[64], challenge[64], state[32], redirect[64];
	char err[PX_OAUTH_ERRLEN], title[PX_NAME_MAX + 32];
	uint8_t digest[SHA256_DIGEST_LENGTH];
	struct b0_buf *url = NULL, *form = NULL;
	const char *edge = o->edge->domain;
	struct cb_conn *conns = NULL;
	char *code = NULL;
	time_t deadline;
	pid_t browser = -1;
	uint16_t port;
	int lfd = -1, cfd = -1, nfd, r, i;

	memset(t, 0, sizeof(*t));
	if ((conns = calloc(CB_CONNS, sizeof(*conns))) == NULL)
		return B0_ERR_ALLOC;
	for (i = 0; i < CB_CONNS; i++)
		conns[i].fd = -1;
	if ((r = b0_net_listen("127.0.0.1", 0, &lfd, em)) != 0 ||
	    (r = b0_net_local_port(lfd, &port)) != 0)
		goto out;
	snprintf(redirect, sizeof(redirect), "http://127.0.0.1:%u%s",
	    (unsigned)port, CALLBACK_PATH);
	if ((r = random_b64(32, verifier, sizeof(verifier))) != 0 ||
	    (r = random_b64(16, state, sizeof(state))) != 0)
		goto out;
	SHA256((const uint8_t *)verifier, strlen(verifier), digest);
	if ((r = b0_b64url_encode(
		 digest, sizeof(digest), challenge, sizeof(challenge))) != 0)
		goto out;
	r = B0_ERR_ALLOC;
	if ((url = b0_buf_new(8192)) == NULL ||
	    (form = b0_buf_new(16384)) == NULL)
		goto out;
	b0_buf_set_secret(form);
	if (b0_buf_put_str(url, o->authorization_endpoint) != 0 ||
	    b0_buf_put_str(
		url, strchr(o->authorization_endpoint, '?') ? "&" : "?") != 0 ||
	    b0_buf_put_str(url, "response_type=code") != 0 ||
	    px_form_add(url, "client_id", PX_CLIENT_ID) != 0 ||
	    px_form_add(url, "redirect_uri", redirect) != 0 ||
	    px_form_add(url, "scope", "openid email") != 0 ||
	    px_form_add(url, "state", state) != 0 ||
	    px_form_add(url, "code_challenge", challenge) != 0 ||
	    px_form_add(url, "code_challenge_method", "S256") != 0 ||
	    b0_buf_put(url, "", 1) != 0)
		goto out;
	catch_signals(on_signal);
	if ((browser = browser_start((const char *)b0_buf_ptr(url))) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "cannot start the browser: %s", b0_strerror(r));
		goto out;
	}
	px_say("signing in to %s in the browser (waiting up to %d minutes); "
	       "if none opened, visit %s",
	    edge, LOGIN_TIMEOUT_S / 60, (const char *)b0_buf_ptr(url));
	deadline = time(NULL) + LOGIN_TIMEOUT_S;
	for (i = 0; i < CB_CONNS; i++)
		conns[i].fd = -1;
	while (code == NULL) {
		struct pollfd p[CB_CONNS + 2];
		time_t now = time(NULL);

		browser_end(browser, 0);
		if (now >= deadline) {
			b0_err_set(em,
			    "sign-in to %s timed out after %d minutes", edge,
			    LOGIN_TIMEOUT_S / 60);
			r = B0_ERR_TIMEOUT;
			goto out;
		}
		p[0].fd = lfd;
		p[0].events = POLLIN;
		p[1].fd = watch_fd;
		p[1].events = 0;
		for (i = 0; i < CB_CONNS; i++) {
			if (conns[i].fd != -1 && now >= conns[i].deadline) {
				close(conns[i].fd);
				conns[i].fd = -1;
			}
			p[i + 2].fd = conns[i].fd;
			p[i + 2].events = POLLIN;
		}
		for (i = 0; i < CB_CONNS + 2; i++)
			p[i].revents = 0;
		if (poll(p, CB_CONNS + 2, 1000) == -1 && errno != EINTR) {
			r = b0_err_from_errno();
			goto out;
		}
		if ((p[1].revents & (POLLHUP | POLLERR)) != 0) {
			b0_err_set(em, "the ssh client went away");
			r = B0_ERR_EOF;
			goto out;
		}
		for (i = 0; i < CB_CONNS && code == NULL; i++) {
			if (p[i + 2].revents == 0 || conns[i].fd == -1)
				continue;
			if ((r = callback(&conns[i], state, edge, &code, em)) <
			    0)
				goto out;
			if (r == 1) {
				cfd = conns[i].fd;
				conns[i].fd = -1;
			} else if (r == 0) {
				close(conns[i].fd);
				conns[i].fd = -1;
			}
		}
		if (code != NULL || p[0].revents == 0 ||
		    b0_net_accept(lfd, &nfd, NULL, NULL) != 0)
			continue;
		for (i = 0; i < CB_CONNS && conns[i].fd != -1; i++)
			;
		if (i == CB_CONNS) {
			close(nfd); /* too many at once: not a browser */
			continue;
		}
		conns[i].fd = nfd;
		conns[i].len = 0;
		conns[i].deadline = now + CB_IDLE_S;
	}
	if ((r = px_form_add(form, "grant_type", "authorization_code")) != 0 ||
	    (r = px_form_add(form, "code", code)) != 0 ||
	    (r = px_form_add(form, "redirect_uri", redirect)) != 0 ||
	    (r = px_form_add(form, "client_id", PX_CLIENT_ID)) != 0 ||
	    (r = px_form_add(form, "code_verifier", verifier)) != 0)
		goto out;
	if ((r = px_oauth_token(o, form, t, err, em)) != 0) {
		b0_err_prefix(em, "sign-in to %s failed", edge);
		reply(cfd, 400, "Sign-in failed", em->text);
		goto out;
	}
	snprintf(title, sizeof(title), "Signed in to %s", edge);
	reply(cfd, 200, title, "You can close this page.");
	r = 0;
out:
	if (browser > 0)
		browser_end(browser, r != 0);
	catch_signals(SIG_DFL);
	if (cfd != -1)
		close(cfd);
	if (lfd != -1)
		close(lfd);
	for (i = 0; i < CB_CONNS; i++) {
		if (conns[i].fd != -1)
			close(conns[i].fd);
	}
	/* A request may hold the code. */
	OPENSSL_cleanse(conns, CB_CONNS * sizeof(*conns));
	free(conns);
	b0_str_wipe_free(code);
	OPENSSL_cleanse(verifier, sizeof(verifier));
	b0_buf_free(url);
	b0_buf_free(form);
	return r;
}

static int
device_flow(
    struct px_oauth *o, int watch_fd, struct px_tokens *t, struct b0_errmsg *em)
{
	struct px_device d;
	struct b0_buf *form = NULL;
	char err[PX_OAUTH_ERRLEN];
	time_t deadline;
	uint64_t next;
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = px_oauth_device_start(o, &d, em)) != 0)
		return r;
	if ((form = b0_buf_new(8192)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	b0_buf_set_secret(form);
	if ((r = px_form_add(form, "grant_type",
		 "urn:ietf:params:oauth:grant-type:device_code")) != 0 ||
	    (r = px_form_add(form, "device_code", d.device_code)) != 0 ||
	    (r = px_form_add(form, "client_id", PX_CLIENT_ID)) != 0)
		goto out;
	px_say("to sign in to %s, open %s and enter the code %s (waiting up "
	       "to %d minutes)",
	    o->edge->domain, d.verification_uri, d.user_code,
	    (int)((d.expires_in + 59) / 60));
	if (d.verification_uri_complete != NULL) {
		px_say("or open %s", d.verification_uri_complete);
		px_qr_show(d.verification_uri_complete);
	}
	deadline = time(NULL) + d.expires_in;
	for (;;) {
		/*
		 * At least interval seconds from the last answer (RFC 8628
		 * 3.5), on a clock finer than time(): rounding to whole
		 * seconds would poll up to a second early.
		 */
		next = mono_ms() + (uint64_t)d.interval * 1000;
		while (mono_ms() < next) {
			if ((r = wait_fd(-1, watch_fd, 200, em)) < 0)
				goto out;
		}
		r = px_oauth_token(o, form, t, err, em);
		if (r == 0)
			break;
		if (r != B0_ERR_AUTH)
			goto out;
		if (strcmp(err, "authorization_pending") == 0) {
			/* keep polling */
		} else if (strcmp(err, "slow_down") == 0) {
			d.interval += 5; /* RFC 8628 3.5 */
		} else if (strcmp(err, "access_denied") == 0) {
			b0_err_set(
			    em, "sign-in to %s was denied", o->edge->domain);
			goto out;
		} else if (strcmp(err, "expired_token") == 0) {
			b0_err_set(em,
			    "the code for %s expired; run b0-proxy "
			    "login again",
			    o->edge->domain);
			r = B0_ERR_TIMEOUT;
			goto out;
		} else {
			b0_err_prefix(
			    em, "sign-in to %s failed", o->edge->domain);
			goto out;
		}
		if (time(NULL) >= deadline) {
			b0_err_set(
			    em, "sign-in to %s timed out", o->edge->domain);
			r = B0_ERR_TIMEOUT;
			goto out;
		}
	}
	r = 0;
out:
	px_device_cleanup(&d);
	b0_buf_free(form);
	return r;
}

int
px_login(struct px_oauth *o, unsigned flags, int watch_fd, struct px_tokens *t,
    struct b0_errmsg *em)
{
	const char *b = getenv("BROWSER");
	int browser = (b != NULL && b[0] != '\0') ||
		      getenv("DISPLAY") != NULL ||
		      getenv("WAYLAND_DISPLAY") != NULL;
	int r;

	if ((flags & PX_LOGIN_DEVICE) || !browser) {
		px_debug("device flow (no QR code: built without libqrencode)");
		r = device_flow(o, watch_fd, t, em);
	} else {
		r = code_flow(o, watch_fd, t, em);
	}
	if (r == 0)
		px_say("signed in to %s as %s", o->edge->domain,
		    t->email != NULL ? t->email : "(unknown)");
	return r;
}
