/*
 * test_pam: pam_b0 loaded from the build tree through the real Linux-PAM
 * (pam_start_confdir() and a service file in a temporary directory), with
 * a ticket server on a Unix socket speaking b0-publish's identity
 * protocol, tickets and tokens signed here with a P-256 key, and a
 * conversation that answers the prompt mode.  Prints TAP.
 *
 *   test_pam              every case
 *   test_pam --bench N    N pam_authenticate() of a good ticket with a warm
 *                         JWKS; prints median and p99 in microseconds
 *
 * Each refusal is checked twice: the PAM code and the reason the module
 * logged.  The driver defines syslog() and friends (and time()) itself;
 * the executable's symbols come first in the lookup scope, so libpam's
 * pam_syslog() and the dlopen()ed module end up here instead of in
 * syslog, and every case runs at one fixed second.
 *
 * It needs root: the module insists on root-owned files, and the driver
 * gives itself local users alice (2001) and bob (2002) by bind-mounting
 * copies of /etc/passwd and /etc/group in a private mount namespace.
 */
#undef _FORTIFY_SOURCE
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <security/pam_appl.h>

#include "b0_b64.h"
#include "b0_buf.h"
#include "b0_jsonw.h"
#include "b0_jwk.h"
#include "b0_str.h"

#include "tap.h"

#define EXPORT __attribute__((visibility("default")))

#define ISSUER "https://edge.example.com"
#define SOCKNAME "ssh-lab1.edge.example.com"
#define CLIENT "127.0.0.1 40001 127.0.0.1 22"
#define REQUEST "ticket 127.0.0.1 40001"

/* ---- syslog and time, interposed ------------------------------------ */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_last[4096]; /* the last "result=" line */
static char log_all[65536]; /* everything, for the "never a token" check */
static size_t log_all_len;
static int log_last_pri; /* its priority and facility */
static time_t fake_now;

void EXPORT __syslog_chk(int pri, int flag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void EXPORT __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void EXPORT syslog(int pri, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void EXPORT vsyslog(int pri, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
time_t EXPORT time(time_t *t);

static void __attribute__((format(printf, 2, 0)))
log_line(int pri, const char *fmt, va_list ap)
{
	char line[4096];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	pthread_mutex_lock(&log_mu);
	if (strstr(line, "result=") != NULL) {
		b0_strlcpy(log_last, line, sizeof(log_last));
		log_last_pri = pri;
	}
	n = strlen(line);
	if (log_all_len + n + 2 < sizeof(log_all)) {
		memcpy(log_all + log_all_len, line, n);
		log_all_len += n;
		log_all[log_all_len++] = '\n';
		log_all[log_all_len] = '\0';
	}
	pthread_mutex_unlock(&log_mu);
	if (getenv("TEST_PAM_VERBOSE") != NULL)
		printf("# log: %s\n", line);
}

void
vsyslog(int pri, const char *fmt, va_list ap)
{
	log_line(pri, fmt, ap);
}

void
syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(pri, fmt, ap);
	va_end(ap);
}

void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	log_line(pri, fmt, ap);
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	log_line(pri, fmt, ap);
	va_end(ap);
}

time_t
time(time_t *t)
{
	struct timespec ts;
	time_t v;

	if (fake_now != 0)
		v = fake_now;
	else {
		clock_gettime(CLOCK_REALTIME, &ts);
		v = ts.tv_sec;
	}
	if (t != NULL)
		*t = v;
	return v;
}

/* ---- small helpers --------------------------------------------------- */

static char dir[PATH_MAX];    /* the test's temporary directory */
static char sopath[PATH_MAX]; /* build/pam_b0.so */

static void __attribute__((noreturn)) die(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
pathf(char *out, size_t sz, const char *name)
{
	snprintf(out, sz, "%s/%s", dir, name);
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char p[PATH_MAX], tmp[PATH_MAX + 8];
	int fd;

	/*
	 * Replaced at once (rename), so a module reading the file while a
	 * case rewrites it never sees it missing or half written.
	 */
	pathf(p, sizeof(p), name);
	snprintf(tmp, sizeof(tmp), "%s.new", p);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1)
		die(tmp);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(tmp);
	fchmod(fd, mode);
	close(fd);
	if (rename(tmp, p) == -1)
		die(p);
}

static void
chmod_file(const char *name, mode_t mode)
{
	char p[PATH_MAX];

	pathf(p, sizeof(p), name);
	if (chmod(p, mode) == -1)
		die(p);
}

static void
chown_file(const char *name, uid_t uid)
{
	char p[PATH_MAX];

	pathf(p, sizeof(p), name);
	if (chown(p, uid, (gid_t)-1) == -1)
		die(p);
}

static char *
b64url(const void *p, size_t n)
{
	size_t sz = b0_b64url_encoded_len(n) + 1;
	char *s = malloc(sz);

	if (s == NULL || b0_b64url_encode(p, n, s, sz) != 0)
		die("b64url");
	return s;
}

/* ---- keys and tokens ------------------------------------------------- */

static EVP_PKEY *key;  /* the edge's key, in the JWKS */
static EVP_PKEY *key2; /* a key the JWKS lacks (rotation, forgeries) */
static char kid[64], kid2[64];
static char *jwks_good; /* JWKS file text with key */
static char *jwks_both; /* key and key2 */

static char *
jwks_text(const char *issuer, int both, const char *extra_key)
{
	struct b0_buf b;
	struct b0_jsonw w;
	char *s;

	b0_buf_init(&b, 65536);
	b0_jsonw_init(&w, &b);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "issuer");
	b0_jsonw_str(&w, issuer);
	b0_jsonw_key(&w, "publisher");
	b0_jsonw_str(&w, "lab1");
	b0_jsonw_key(&w, "keys");
	b0_jsonw_arr_begin(&w);
	b0_jwk_write(&w, key, kid);
	if (both)
		b0_jwk_write(&w, key2, kid2);
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	if (b0_jsonw_finish(&w) != 0)
		die("jwks");
	s = strndup((const char *)b0_buf_ptr(&b), b0_buf_len(&b));
	b0_buf_cleanup(&b);
	if (extra_key != NULL) {
		/* Put a raw JSON key object first in "keys". */
		char *p = strstr(s, "\"keys\":[");
		size_t off, n;
		char *t;

		off = (size_t)(p - s) + strlen("\"keys\":[");
		n = strlen(s) + strlen(extra_key) + 2;
		t = malloc(n);
		snprintf(t, n, "%.*s%s,%s", (int)off, s, extra_key, s + off);
		free(s);
		s = t;
	}
	return s;
}

/*
 * Expand a template: $K is the kid, $Q the other kid, ~ is now and ~+N,
 * ~-N offsets from it.
 */
static char *
expand(const char *t)
{
	struct b0_buf b;
	char *s;

	b0_buf_init(&b, 1 << 20);
	while (*t != '\0') {
		if (t[0] == '$' && t[1] == 'K') {
			b0_buf_put_str(&b, kid);
			t += 2;
		} else if (t[0] == '$' && t[1] == 'Q') {
			b0_buf_put_str(&b, kid2);
			t += 2;
		} else if (t[0] == '~') {
			long off = 0;
			char *end;

			t++;
			if (*t == '+' || *t == '-') {
				off = strtol(t, &end, 10);
				t = end;
			}
			b0_buf_putf(&b, "%lld", (long long)fake_now + off);
		} else {
			b0_buf_put(&b, t, 1);
			t++;
		}
	}
	s = strndup((const char *)b0_buf_ptr(&b), b0_buf_len(&b));
	b0_buf_cleanup(&b);
	return s;
}

enum sig {
	SIG_ES256 = 0, /* raw r||s, the right way */
	SIG_NONE,      /* "h.p." */
	SIG_NODOT,     /* "h.p" */
	SIG_DER,       /* the DER ECDSA-Sig-Value */
	SIG_GARBAGE,   /* not base64url */
	SIG_SHORT,     /* 63 bytes */
	SIG_HS256_PEM, /* HMAC keyed with the public key's PEM */
	SIG_HS256_JWK, /* HMAC keyed with the x coordinate bytes */
	SIG_OTHERKEY,  /* ES256 with key2 */
	SIG_PADDED,    /* base64url with '=' padding */
	SIG_EXTRA,     /* a fourth segment */
	SIG_ZERO       /* r = s = 0 */
};

static char *
jws(const char *hdr_t, const char *pl_t, enum sig sig)
{
	char *hdr = expand(hdr_t), *pl = expand(pl_t);
	char *h64 = b64url(hdr, strlen(hdr)), *p64 = b64url(pl, strlen(pl));
	char *input, *s64 = NULL, *out;
	unsigned char der[128], raw[64], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t derlen = sizeof(der), n;
	EVP_MD_CTX *md;
	EVP_PKEY *k = sig == SIG_OTHERKEY ? key2 : key;

	n = strlen(h64) + strlen(p64) + 2;
	input = malloc(n);
	snprintf(input, n, "%s.%s", h64, p64);
	if (sig == SIG_HS256_PEM || sig == SIG_HS256_JWK) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *pem = NULL;
		long pemlen;

		PEM_write_bio_PUBKEY(bio, key);
		pemlen = BIO_get_mem_data(bio, &pem);
		if (sig == SIG_HS256_PEM)
			HMAC(EVP_sha256(), pem, (int)pemlen,
			    (unsigned char *)input, strlen(input), mac,
			    &maclen);
		else {
			char *jw = jwks_text(ISSUER, 0, NULL);

			HMAC(EVP_sha256(), jw, (int)strlen(jw),
			    (unsigned char *)input, strlen(input), mac,
			    &maclen);
			free(jw);
		}
		BIO_free(bio);
		s64 = b64url(mac, maclen);
	} else if (sig != SIG_NONE && sig != SIG_NODOT) {
		md = EVP_MD_CTX_new();
		if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
		    EVP_DigestSign(md, der, &derlen, (unsigned char *)input,
			strlen(input)) != 1)
			die("sign");
		EVP_MD_CTX_free(md);
		if (sig == SIG_DER)
			s64 = b64url(der, derlen);
		else {
			const unsigned char *dp = der;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &dp, (long)derlen);

			memset(raw, 0, sizeof(raw));
			BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
			ECDSA_SIG_free(es);
			if (sig == SIG_ZERO)
				memset(raw, 0, sizeof(raw));
			s64 = b64url(raw, sig == SIG_SHORT ? 63 : 64);
		}
	}
	n = strlen(input) + (s64 ? strlen(s64) : 0) + 16;
	out = malloc(n);
	switch (sig) {
	case SIG_NONE:
		snprintf(out, n, "%s.", input);
		break;
	case SIG_NODOT:
		snprintf(out, n, "%s", input);
		break;
	case SIG_GARBAGE:
		snprintf(out, n, "%s.!!%s", input, s64 + 2);
		break;
	case SIG_PADDED:
		snprintf(out, n, "%s.%s==", input, s64);
		break;
	case SIG_EXTRA:
		snprintf(out, n, "%s.%s.AAAA", input, s64);
		break;
	default:
		snprintf(out, n, "%s.%s", input, s64);
	}
	free(hdr);
	free(pl);
	free(h64);
	free(p64);
	free(input);
	free(s64);
	return out;
}

/* ---- the ticket server ---------------------------------------------- */

static struct {
	pthread_mutex_t mu;
	int fd;
	int stop;
	char *answer; /* bytes answered to REQUEST; others get "none" */
	size_t answer_len;
	int delay_ms; /* before answering */
	char last_req[256];
} srv = {PTHREAD_MUTEX_INITIALIZER, -1, 0, NULL, 0, 0, ""};

static void
srv_set(const char *answer, size_t len, int delay_ms)
{
	pthread_mutex_lock(&srv.mu);
	free(srv.answer);
	srv.answer = NULL;
	srv.answer_len = 0;
	if (answer != NULL) {
		srv.answer = malloc(len + 1);
		memcpy(srv.answer, answer, len);
		srv.answer_len = len;
	}
	srv.delay_ms = delay_ms;
	srv.last_req[0] = '\0';
	pthread_mutex_unlock(&srv.mu);
}

/* Answer "ok <ticket>" to the expected request. */
static void
srv_ticket(const char *ticket)
{
	size_t n = strlen(ticket) + 5;
	char *a = malloc(n);

	snprintf(a, n, "ok %s\n", ticket);
	srv_set(a, strlen(a), 0);
	free(a);
}

static void
srv_one(int c)
{
	char req[8200];
	size_t have = 0;
	ssize_t n;
	char *a = NULL;
	size_t alen = 0;
	int delay;

	while (have < sizeof(req) - 1) {
		struct pollfd p = {c, POLLIN, 0};

		if (poll(&p, 1, 3000) <= 0)
			return;
		if ((n = read(c, req + have, sizeof(req) - 1 - have)) <= 0)
			return;
		have += (size_t)n;
		if (memchr(req, '\n', have) != NULL)
			break;
	}
	req[have] = '\0';
	if (have > 0 && req[have - 1] == '\n')
		req[--have] = '\0';
	pthread_mutex_lock(&srv.mu);
	b0_strlcpy(srv.last_req, req, sizeof(srv.last_req));
	if (strcmp(req, REQUEST) == 0 && srv.answer != NULL) {
		a = malloc(srv.answer_len);
		memcpy(a, srv.answer, srv.answer_len);
		alen = srv.answer_len;
	}
	delay = srv.delay_ms;
	pthread_mutex_unlock(&srv.mu);
	if (delay > 0)
		usleep((useconds_t)delay * 1000);
	if (a != NULL) {
		if (send(c, a, alen, MSG_NOSIGNAL) < 0) {
			/* the module gave up */
		}
	} else if (send(c, "none\n", 5, MSG_NOSIGNAL) < 0) {
		/* the module gave up */
	}
	free(a);
}

static void *
srv_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = {srv.fd, POLLIN, 0};
		int c, stop;

		pthread_mutex_lock(&srv.mu);
		stop = srv.stop;
		pthread_mutex_unlock(&srv.mu);
		if (stop)
			return NULL;
		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((c = accept(srv.fd, NULL, NULL)) == -1)
			continue;
		srv_one(c);
		close(c);
	}
}

static void
srv_start(pthread_t *th)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	pathf(sa.sun_path, sizeof(sa.sun_path), "tickets.sock");
	if ((srv.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(srv.fd, 16) == -1)
		die("ticket socket");
	if (pthread_create(th, NULL, srv_main, NULL) != 0)
		die("pthread_create");
}

/* ---- the conversation ----------------------------------------------- */

enum cv {
	CV_NONE = 0, /* no prompt expected: PAM_CONV_ERR */
	CV_PARTS,    /* the token in parts of cv_part bytes */
	CV_FIXED,    /* cv_fixed for every prompt */
	CV_REPEAT,   /* part 1 again for part 2 */
	CV_REORDER,  /* part 2 for part 1 */
	CV_SKIP,     /* part 3 for part 2 */
	CV_NCHANGE,  /* part 2 says n + 1 */
	CV_EMPTY2,   /* "" for part 2 */
	CV_BADCHAR,  /* a space inside the part */
	CV_ZERO,     /* "0/n ..." */
	CV_AGAIN,    /* PAM_CONV_AGAIN */
	CV_FAIL	     /* PAM_CONV_ERR */
};

struct conv {
	enum cv mode;
	const char *token;
	size_t part;	 /* bytes per part */
	unsigned forcen; /* announce this n instead of the real one */
	const char *fixed;
	unsigned nprompts;
	char prompt1[64], prompt2[64];
};

static char *
part_answer(const struct conv *cv, unsigned i, unsigned nsay)
{
	size_t len = strlen(cv->token), off = (size_t)(i - 1) * cv->part, n;
	char *a = malloc(cv->part + 32);

	n = off >= len ? 0 : (len - off < cv->part ? len - off : cv->part);
	snprintf(a, cv->part + 32, "%u/%u %.*s", i, nsay, (int)n,
	    cv->token + (off < len ? off : len));
	return a;
}

static int
conv_fn(int num, const struct pam_message **msg, struct pam_response **resp,
    void *appdata)
{
	struct conv *cv = appdata;
	struct pam_response *r;
	unsigned i, n, nsay;
	int k;

	if (cv->mode == CV_NONE || cv->mode == CV_FAIL)
		return PAM_CONV_ERR;
	if (cv->mode == CV_AGAIN)
		return PAM_CONV_AGAIN;
	if ((r = calloc((size_t)num, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (k = 0; k < num; k++) {
		const char *m = msg[k]->msg;

		cv->nprompts++;
		if (cv->nprompts == 1)
			b0_strlcpy(cv->prompt1, m, sizeof(cv->prompt1));
		else if (cv->nprompts == 2)
			b0_strlcpy(cv->prompt2, m, sizeof(cv->prompt2));
		if (msg[k]->msg_style != PAM_PROMPT_ECHO_OFF ||
		    sscanf(m, "b0-token part %u", &i) != 1) {
			free(r);
			return PAM_CONV_ERR;
		}
		n = cv->part == 0
			? 1
			: (unsigned)((strlen(cv->token) + cv->part - 1) /
				     cv->part);
		nsay = cv->forcen ? cv->forcen : n;
		switch (cv->mode) {
		case CV_FIXED:
			r[k].resp = strdup(cv->fixed);
			break;
		case CV_REPEAT:
			r[k].resp = part_answer(cv, 1, nsay);
			break;
		case CV_REORDER:
			r[k].resp = part_answer(cv, i == 1 ? 2 : 1, nsay);
			break;
		case CV_SKIP:
			r[k].resp = part_answer(cv, i == 2 ? 3 : i, nsay);
			break;
		case CV_NCHANGE:
			r[k].resp =
			    part_answer(cv, i, i == 2 ? nsay + 1 : nsay);
			break;
		case CV_EMPTY2:
			r[k].resp =
			    i == 2 ? strdup("") : part_answer(cv, i, nsay);
			break;
		case CV_BADCHAR:
			r[k].resp = part_answer(cv, i, nsay);
			r[k].resp[strlen(r[k].resp) - 3] = ' ';
			break;
		case CV_ZERO:
			r[k].resp = part_answer(cv, i, nsay);
			r[k].resp[0] = '0';
			break;
		default:
			r[k].resp = part_answer(cv, i, nsay);
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* ---- running the module --------------------------------------------- */

static void
write_service(const char *name, const char *args)
{
	char text[2 * PATH_MAX], conf[PATH_MAX];

	pathf(conf, sizeof(conf), "pam_b0.conf");
	snprintf(text, sizeof(text),
	    "auth required %s conf=%s %s\n"
	    "account required %s conf=%s %s\n",
	    sopath, conf, args, sopath, conf, args);
	snprintf(conf, sizeof(conf), "pam.d/%s", name);
	write_file(conf, text, 0644);
}

struct run {
	const char *service; /* NULL: "b0" */
	const char *user;    /* NULL: alice; "" no PAM_USER */
	const char *conn;    /* NULL: CLIENT; "": none */
	const char *rhost;   /* NULL: no PAM_RHOST */
	struct conv cv;
	int acct; /* also run pam_acct_mgmt, result in acct_rc */
	/* results */
	int rc, acct_rc;
	char env_email[300], env_auth[32], env_visitor[80], env_socket[300];
	char log[4096];
};

static void
env_copy(pam_handle_t *h, const char *k, char *out, size_t sz)
{
	const char *v = pam_getenv(h, k);

	b0_strlcpy(out, v ? v : "", sz);
}

static void
run_pam(struct run *r)
{
	struct pam_conv conv = {conv_fn, &r->cv};
	pam_handle_t *h = NULL;
	char confdir[PATH_MAX], env[300];
	int rc;

	pathf(confdir, sizeof(confdir), "pam.d");
	pthread_mutex_lock(&log_mu);
	log_last[0] = '\0';
	pthread_mutex_unlock(&log_mu);
	rc = pam_start_confdir(r->service ? r->service : "b0",
	    r->user == NULL ? "alice" : (r->user[0] ? r->user : NULL), &conv,
	    confdir, &h);
	if (rc != PAM_SUCCESS) {
		printf("# pam_start_confdir: %d\n", rc);
		r->rc = -1;
		return;
	}
	if (r->conn == NULL || r->conn[0] != '\0') {
		snprintf(env, sizeof(env), "SSH_CONNECTION=%s",
		    r->conn ? r->conn : CLIENT);
		pam_putenv(h, env);
	}
	if (r->rhost != NULL)
		pam_set_item(h, PAM_RHOST, r->rhost);
	r->rc = pam_authenticate(h, 0);
	env_copy(h, "B0_EMAIL", r->env_email, sizeof(r->env_email));
	env_copy(h, "B0_AUTH", r->env_auth, sizeof(r->env_auth));
	env_copy(h, "B0_VISITOR", r->env_visitor, sizeof(r->env_visitor));
	env_copy(h, "B0_SOCKET", r->env_socket, sizeof(r->env_socket));
	pthread_mutex_lock(&log_mu);
	b0_strlcpy(r->log, log_last, sizeof(r->log));
	pthread_mutex_unlock(&log_mu);
	if (r->acct)
		r->acct_rc = pam_acct_mgmt(h, 0);
	pam_end(h, r->rc);
}

static const char *
result_name(int pr)
{
	switch (pr) {
	case PAM_SUCCESS:
		return "success";
	case PAM_IGNORE:
		return "ignore";
	case PAM_AUTH_ERR:
		return "auth-error";
	case PAM_PERM_DENIED:
		return "perm-denied";
	case PAM_USER_UNKNOWN:
		return "user-unknown";
	case PAM_AUTHINFO_UNAVAIL:
		return "authinfo-unavail";
	case PAM_SERVICE_ERR:
		return "service-error";
	case PAM_CONV_ERR:
		return "conv-error";
	case PAM_INCOMPLETE:
		return "incomplete";
	}
	return "?";
}

/* One case: the code and a piece of the logged reason. */
static void
expect(struct run *r, const char *name, int want, const char *reason)
{
	const char *res = strstr(r->log, "reason=");
	char w[512], res_want[64];
	size_t i;

	/* The log line shows the module's double quotes as single ones. */
	b0_strlcpy(w, reason, sizeof(w));
	for (i = 0; w[i] != '\0'; i++)
		if (w[i] == '"')
			w[i] = '\'';
	/*
	 * The module's own code is in its log line; what libpam returns
	 * for a lone PAM_IGNORE is PAM_PERM_DENIED (no module decided).
	 */
	snprintf(res_want, sizeof(res_want), "result=%s ", result_name(want));
	if (!ok(r->rc == (want == PAM_IGNORE ? PAM_PERM_DENIED : want) &&
		    strstr(r->log, res_want) != NULL && res != NULL &&
		    strstr(res, w) != NULL,
		"%s: %s", name, result_name(want))) {
		printf("#   got %d (%s), want %d\n", r->rc,
		    pam_strerror(NULL, r->rc), want);
		printf("#   log: %s\n", r->log);
		printf("#   want reason containing: %s\n", reason);
	}
}

static void
ticket_case(const char *name, const char *hdr, const char *pl, enum sig sig,
    const char *user, int want, const char *reason)
{
	struct run r;
	char *t = jws(hdr, pl, sig);

	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	r.user = user;
	run_pam(&r);
	expect(&r, name, want, reason);
	free(t);
}

/* ---- the files -------------------------------------------------------- */

#define HDR "{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}"
#define C_ISS "\"iss\":\"" ISSUER "\""
#define C_AUD "\"aud\":\"b0-publish:lab1\""
#define C_SOCK "\"socket\":\"" SOCKNAME "\""
#define C_VIS "\"visitor\":\"203.0.113.7:50122\""
#define C_TIME "\"iat\":~,\"exp\":~+60"
#define C_MAIL(e) "\"sub\":\"" e "\",\"email\":\"" e "\""
#define CLAIMS_FOR(e)                                                          \
	"{" C_ISS "," C_AUD "," C_MAIL(e) "," C_SOCK "," C_VIS                 \
					  ",\"jti\":\"s1\"," C_TIME "}"
#define CLAIMS CLAIMS_FOR("alice@example.com")
/* The claims with the time part replaced. */
#define CLAIMS_T(t)                                                            \
	"{" C_ISS "," C_AUD                                                    \
	"," C_MAIL("alice@example.com") "," C_SOCK "," C_VIS "," t "}"

static const char conf_text[] = "# pam_b0 test configuration\n"
				"issuer " ISSUER "\n"
				"publisher lab1\n"
				"socket " SOCKNAME "\n"
				"socket ssh-lab1b.edge.example.com\n"
				"jwks %s/jwks.json\n"
				"ticket-socket %s/tickets.sock\n"
				"users %s/users\n"
				"skew 60\n";

static const char users_text[] = "# IDENTITY USER\n"
				 "ops@example.com root\n"
				 "example.com %localpart\n"
				 "bob@example.org bob\n";

static void
write_conf(void)
{
	char text[4 * PATH_MAX];

	snprintf(text, sizeof(text), conf_text, dir, dir, dir);
	write_file("pam_b0.conf", text, 0644);
}

static void
write_jwks(const char *text)
{
	write_file("jwks.json", text, 0644);
}

/* ---- users, in a private mount namespace ----------------------------- */

static int
add_users(void)
{
	char src[PATH_MAX], dst[PATH_MAX], *text;
	struct b0_buf b;
	const char *files[2] = {"passwd", "group"};
	const char *add[2] = {"alice:x:2001:2001:Alice:/nonexistent:/bin/sh\n"
			      "bob:x:2002:2002:Bob:/nonexistent:/bin/sh\n",
	    "alice:x:2001:\nbob:x:2002:\n"};
	int i, fd;
	ssize_t n;
	char chunk[4096];

	if (unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		snprintf(src, sizeof(src), "/etc/%s", files[i]);
		snprintf(dst, sizeof(dst), "%s/%s", dir, files[i]);
		b0_buf_init(&b, 1 << 22);
		if ((fd = open(src, O_RDONLY)) == -1)
			return -1;
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			b0_buf_put(&b, chunk, (size_t)n);
		close(fd);
		b0_buf_put_str(&b, add[i]);
		text = strndup((const char *)b0_buf_ptr(&b), b0_buf_len(&b));
		b0_buf_cleanup(&b);
		write_file(files[i], text, 0644);
		free(text);
		if (mount(dst, src, "none", MS_BIND, NULL) == -1)
			return -1;
	}
	return getpwnam("alice") != NULL && getpwnam("bob") != NULL ? 0 : -1;
}

/* ---- the cases ------------------------------------------------------ */

static void
good_cases(void)
{
	struct run r;
	char *t;

	t = jws(HDR, CLAIMS, SIG_ES256);
	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	r.acct = 1;
	run_pam(&r);
	expect(&r, "a good ticket logs alice in", PAM_SUCCESS,
	    "ticket verified; rule example.com -> %localpart");
	is_str(r.env_email, "alice@example.com", "B0_EMAIL");
	is_str(r.env_auth, "ticket", "B0_AUTH");
	is_str(r.env_visitor, "203.0.113.7:50122", "B0_VISITOR");
	is_str(r.env_socket, SOCKNAME, "B0_SOCKET");
	is_int(r.acct_rc, PAM_SUCCESS, "account: the rules still map alice");
	has_str(r.log,
	    "user=alice email=alice@example.com "
	    "visitor=203.0.113.7:50122 socket=" SOCKNAME " result=success",
	    "the log line names user, email, visitor, socket, result");
	is_str(srv.last_req, REQUEST, "the module asks for the client's port");
	ok((log_last_pri & LOG_FACMASK) == LOG_AUTHPRIV &&
		LOG_PRI(log_last_pri) == LOG_INFO,
	    "the line goes to authpriv.info");
	free(t);

	ticket_case("bob, mapped by his own rule", HDR,
	    CLAIMS_FOR("bob@example.org"), SIG_ES256, "bob", PAM_SUCCESS,
	    "rule bob@example.org -> bob");
	ticket_case("root when a rule names it", HDR,
	    CLAIMS_FOR("ops@example.com"), SIG_ES256, "root", PAM_SUCCESS,
	    "rule ops@example.com -> root");
	ticket_case("exp one second inside the skew", HDR,
	    CLAIMS_T("\"iat\":~-119,\"exp\":~-59"), SIG_ES256, NULL,
	    PAM_SUCCESS, "ticket verified");
	ticket_case("nbf exactly at the skew", HDR,
	    CLAIMS_T("\"iat\":~,\"nbf\":~+60,\"exp\":~+60"), SIG_ES256, NULL,
	    PAM_SUCCESS, "ticket verified");
	ticket_case("iat exactly at the skew", HDR,
	    CLAIMS_T("\"iat\":~+60,\"exp\":~+120"), SIG_ES256, NULL,
	    PAM_SUCCESS, "ticket verified");
	ticket_case("aud as a one-element array", HDR,
	    "{" C_ISS ",\"aud\":[\"b0-publish:lab1\"]," C_MAIL(
		"alice@example.com") "," C_SOCK "," C_VIS "," C_TIME "}",
	    SIG_ES256, NULL, PAM_SUCCESS, "ticket verified");
	ticket_case("the second configured socket", HDR,
	    "{" C_ISS "," C_AUD "," C_MAIL(
		"alice@example.com") ",\"socket\":\"ssh-lab1b.edge.example."
				     "com\"," C_VIS "," C_TIME "}",
	    SIG_ES256, NULL, PAM_SUCCESS, "ticket verified");
}

static void
debug_case(void)
{
	struct run r;
	char *t = jws(HDR, CLAIMS, SIG_ES256);

	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	r.service = "b0debug";
	pthread_mutex_lock(&log_mu);
	log_all_len = 0;
	log_all[0] = '\0';
	pthread_mutex_unlock(&log_mu);
	run_pam(&r);
	expect(&r, "debug: a good ticket", PAM_SUCCESS, "ticket verified");
	has_str(log_all, "debug: ticket for 127.0.0.1 port 40001: found",
	    "debug: the lookup is logged");
	ok(strstr(log_all, t + 40) == NULL && strstr(log_all, "eyJ") == NULL,
	    "debug: no part of the ticket is logged");
	free(t);
}

static void
header_cases(void)
{
	static const struct {
		const char *name, *hdr;
		enum sig sig;
		const char *reason;
	} c[] = {
	    {"alg none",
		"{\"alg\":\"none\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_NONE, "alg \"none\" is not allowed"},
	    {"alg None",
		"{\"alg\":\"None\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_NONE, "alg \"None\" is not allowed"},
	    {"alg NONE",
		"{\"alg\":\"NONE\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_NONE, "alg \"NONE\" is not allowed"},
	    {"alg nOnE, signed",
		"{\"alg\":\"nOnE\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_ES256, "alg \"nOnE\" is not allowed"},
	    {"alg none without the last dot",
		"{\"alg\":\"none\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_NODOT, "not three dot-separated segments"},
	    {"HS256 keyed with the public key's PEM",
		"{\"alg\":\"HS256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_HS256_PEM, "alg \"HS256\" is not allowed"},
	    {"HS256 keyed with the JWKS text",
		"{\"alg\":\"HS256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_HS256_JWK, "alg \"HS256\" is not allowed"},
	    {"RS256 named for an EC key",
		"{\"alg\":\"RS256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_ES256, "RS256"},
	    {"ES384",
		"{\"alg\":\"ES384\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_ES256, "alg \"ES384\" is not allowed"},
	    {"alg es256 in lower case",
		"{\"alg\":\"es256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_ES256, "alg \"es256\" is not allowed"},
	    {"alg missing", "{\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_ES256, "alg is missing"},
	    {"alg a number",
		"{\"alg\":256,\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_ES256, "alg is"},
	    {"kid missing", "{\"alg\":\"ES256\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_ES256, "kid is missing"},
	    {"kid a number",
		"{\"alg\":\"ES256\",\"kid\":7,\"typ\":\"b0-ticket+jwt\"}",
		SIG_ES256, "kid is"},
	    {"kid traversal",
		"{\"alg\":\"ES256\",\"kid\":\"../../../etc/shadow\",\"typ\":"
		"\"b0-ticket+jwt\"}",
		SIG_ES256, "no key with kid \"../../../etc/shadow\""},
	    {"kid unknown (waits 2 s for new keys)",
		"{\"alg\":\"ES256\",\"kid\":\"$Q\",\"typ\":\"b0-ticket+jwt\"}",
		SIG_OTHERKEY, "no key with kid"},
	    {"our kid, another key's signature", HDR, SIG_OTHERKEY,
		"signature"},
	    {"jku header",
		"{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\","
		"\"jku\":\"http://127.0.0.1:9/jwks.json\"}",
		SIG_ES256, "jku"},
	    {"x5u header",
		"{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\","
		"\"x5u\":\"http://127.0.0.1:9/cert.pem\"}",
		SIG_ES256, "x5u"},
	    {"jwk header with the signer's own key",
		"{\"alg\":\"ES256\",\"kid\":\"$Q\",\"typ\":\"b0-ticket+jwt\","
		"\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\","
		"\"y\":\"AAAA\"}}",
		SIG_OTHERKEY, "jwk"},
	    {"x5c header",
		"{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\","
		"\"x5c\":[\"MIIB\"]}",
		SIG_ES256, "x5c"},
	    {"crit [\"exp\"]",
		"{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\","
		"\"crit\":[\"exp\"],\"exp\":1}",
		SIG_ES256, "\"crit\" extensions are not supported"},
	    {"crit []",
		"{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"b0-ticket+jwt\","
		"\"crit\":[]}",
		SIG_ES256, "\"crit\" extensions are not supported"},
	    {"typ missing", "{\"alg\":\"ES256\",\"kid\":\"$K\"}", SIG_ES256,
		"typ"},
	    {"typ JWT", "{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"JWT\"}",
		SIG_ES256, "typ"},
	    {"an access token offered as a ticket",
		"{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"at+jwt\"}",
		SIG_ES256, "is not \"b0-ticket+jwt\""},
	    {"duplicate alg in the header",
		"{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":"
		"\"b0-ticket+jwt\"}",
		SIG_ES256, "duplicate key \"alg\""},
	    {"header not an object", "[\"ES256\"]", SIG_ES256, "not an object"},
	    {"header not JSON", "{alg:ES256}", SIG_ES256, "header"},
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct timespec a, b;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &a);
		ticket_case(c[i].name, c[i].hdr, CLAIMS, c[i].sig, NULL,
		    PAM_AUTH_ERR, c[i].reason);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ms = (b.tv_sec - a.tv_sec) * 1000 +
		     (b.tv_nsec - a.tv_nsec) / 1000000;
		if (strstr(c[i].name, "waits 2 s") != NULL)
			ok(ms >= 1900 && ms < 6000,
			    "an unknown kid: the file was looked at for 2 s "
			    "(%ld ms)",
			    ms);
	}
}

static void
signature_cases(void)
{
	static const struct {
		const char *name;
		enum sig sig;
		const char *reason;
	} c[] = {
	    {"stripped signature", SIG_NONE, "signature is 0 bytes"},
	    {"signature and its dot stripped", SIG_NODOT,
		"not three dot-separated segments"},
	    {"malformed signature", SIG_GARBAGE, "not strict base64url"},
	    {"DER ES256 signature", SIG_DER, "signature"},
	    {"63-byte signature", SIG_SHORT, "signature"},
	    {"r = s = 0", SIG_ZERO, "r or s is not in [1, n-1]"},
	    {"signature with base64 padding", SIG_PADDED,
		"not strict base64url"},
	    {"a fourth segment", SIG_EXTRA, "not three dot-separated"},
	};
	struct run r;
	char *good, *other, *swapped, *dot1, *dot2;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		ticket_case(c[i].name, HDR, CLAIMS, c[i].sig, NULL,
		    PAM_AUTH_ERR, c[i].reason);

	/* bob's signed ticket with alice's payload in its middle. */
	good = jws(HDR, CLAIMS_FOR("bob@example.org"), SIG_ES256);
	other = jws(HDR, CLAIMS, SIG_ES256);
	dot1 = strchr(good, '.');
	dot2 = strchr(dot1 + 1, '.');
	swapped = malloc(strlen(good) + strlen(other) + 1);
	{
		char *o1 = strchr(other, '.'), *o2 = strchr(o1 + 1, '.');

		sprintf(swapped, "%.*s%.*s%s", (int)(dot1 - good), good,
		    (int)(o2 - o1), o1, dot2);
	}
	srv_ticket(swapped);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "swapped payload", PAM_AUTH_ERR, "signature");
	free(swapped);

	/* A space inside the ticket. */
	swapped = strdup(other);
	swapped[10] = ' ';
	srv_ticket(swapped);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "a space inside the ticket", PAM_AUTH_ERR,
	    "not strict base64url");
	free(swapped);
	free(good);
	free(other);
}

static void
claim_cases(void)
{
	static const struct {
		const char *name, *claims;
		const char *reason;
	} c[] = {
	    {"expired exactly at the skew",
		CLAIMS_T("\"iat\":~-120,\"exp\":~-60"), "exp"},
	    {"expired one second past the skew",
		CLAIMS_T("\"iat\":~-121,\"exp\":~-61"), "exp"},
	    {"expired long ago", CLAIMS_T("\"iat\":1000,\"exp\":1060"), "exp"},
	    {"not yet valid: nbf one second past the skew",
		CLAIMS_T("\"iat\":~,\"nbf\":~+61,\"exp\":~+60"), "nbf"},
	    {"iat one second past the skew",
		CLAIMS_T("\"iat\":~+61,\"exp\":~+120"), "iat"},
	    {"lifetime 301 s", CLAIMS_T("\"iat\":~-1,\"exp\":~+300"),
		"lifetime"},
	    {"iat missing", CLAIMS_T("\"exp\":~+60"), "iat is missing"},
	    {"exp missing", CLAIMS_T("\"iat\":~"), "exp is missing"},
	    {"exp a string", CLAIMS_T("\"iat\":~,\"exp\":\"~+60\""),
		"exp is not an integer"},
	    {"exp a fraction", CLAIMS_T("\"iat\":~,\"exp\":~+60.5"),
		"exp is not an integer"},
	    {"exp negative", CLAIMS_T("\"iat\":~,\"exp\":-1"), "negative"},
	    {"exp before iat", CLAIMS_T("\"iat\":~+30,\"exp\":~+20"),
		"before iat"},
	    {"iss with a trailing slash",
		"{\"iss\":\"" ISSUER "/\"," C_AUD "," C_MAIL(
		    "alice@example.com") "," C_SOCK "," C_VIS "," C_TIME "}",
		"iss"},
	    {"iss over http",
		"{\"iss\":\"http://edge.example.com\"," C_AUD "," C_MAIL(
		    "alice@example.com") "," C_SOCK "," C_VIS "," C_TIME "}",
		"iss"},
	    {"iss in another case",
		"{\"iss\":\"https://EDGE.example.com\"," C_AUD "," C_MAIL(
		    "alice@example.com") "," C_SOCK "," C_VIS "," C_TIME "}",
		"iss"},
	    {"iss missing",
		"{" C_AUD "," C_MAIL("alice@example.com") "," C_SOCK "," C_VIS
							  "," C_TIME "}",
		"iss is missing"},
	    {"aud of another publisher",
		"{" C_ISS ",\"aud\":\"b0-publish:lab2\"," C_MAIL(
		    "alice@example.com") "," C_SOCK "," C_VIS "," C_TIME "}",
		"aud"},
	    {"aud the issuer (an access token's)",
		"{" C_ISS ",\"aud\":\"" ISSUER "\"," C_MAIL(
		    "alice@example.com") "," C_SOCK "," C_VIS "," C_TIME "}",
		"aud"},
	    {"aud array without azp",
		"{" C_ISS ",\"aud\":[\"b0-publish:lab1\",\"other\"]," C_MAIL(
		    "alice@example.com") "," C_SOCK "," C_VIS "," C_TIME "}",
		"azp"},
	    {"aud missing",
		"{" C_ISS "," C_MAIL("alice@example.com") "," C_SOCK "," C_VIS
							  "," C_TIME "}",
		"aud is missing"},
	    {"a ticket for another socket",
		"{" C_ISS "," C_AUD "," C_MAIL(
		    "alice@example.com") ",\"socket\":\"ssh-lab2.edge.example."
					 "com\"," C_VIS "," C_TIME "}",
		"socket \"ssh-lab2.edge.example.com\" is not"},
	    {"socket name in upper case",
		"{" C_ISS "," C_AUD "," C_MAIL(
		    "alice@example.com") ",\"socket\":\"SSH-LAB1.edge.example."
					 "com\"," C_VIS "," C_TIME "}",
		"is not one of this host's"},
	    {"socket missing",
		"{" C_ISS "," C_AUD
		"," C_MAIL("alice@example.com") "," C_VIS "," C_TIME "}",
		"socket claim missing"},
	    {"visitor missing",
		"{" C_ISS "," C_AUD
		"," C_MAIL("alice@example.com") "," C_SOCK "," C_TIME "}",
		"visitor claim missing"},
	    {"visitor with a newline",
		"{" C_ISS "," C_AUD "," C_MAIL(
		    "alice@example.com") "," C_SOCK
					 ",\"visitor\":\"1.2.3.4:5\\nresult="
					 "success\"," C_TIME "}",
		"visitor claim missing or not ip:port"},
	    {"email missing",
		"{" C_ISS "," C_AUD "," C_SOCK "," C_VIS "," C_TIME "}",
		"email claim missing"},
	    {"duplicate email claim",
		"{" C_ISS "," C_AUD ",\"email\":\"bob@example.org\"," C_MAIL(
		    "alice@example.com") "," C_SOCK "," C_VIS "," C_TIME "}",
		"duplicate key \"email\""},
	    {"\\u0000 in the email",
		"{" C_ISS "," C_AUD
		",\"email\":\"alice@example.com\\u0000@evil.test\"," C_SOCK
		"," C_VIS "," C_TIME "}",
		"payload"},
	    {"email not an address",
		"{" C_ISS "," C_AUD ",\"email\":\"alice\"," C_SOCK "," C_VIS
		"," C_TIME "}",
		"email claim is not an address"},
	    {"email a number",
		"{" C_ISS "," C_AUD ",\"email\":7," C_SOCK "," C_VIS "," C_TIME
		"}",
		"email claim missing or not a string"},
	    {"email with two @",
		"{" C_ISS "," C_AUD
		",\"email\":\"alice@evil.test@example.com\"," C_SOCK "," C_VIS
		"," C_TIME "}",
		"email claim is not an address"},
	    {"claims not an object", "[1]", "not an object"},
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		ticket_case(c[i].name, HDR, c[i].claims, SIG_ES256, NULL,
		    PAM_AUTH_ERR, c[i].reason);
}

static void
mapping_cases(void)
{
	ticket_case("look-alike example.com.evil.test", HDR,
	    CLAIMS_FOR("alice@example.com.evil.test"), SIG_ES256, NULL,
	    PAM_PERM_DENIED, "no-rule");
	ticket_case("look-alike evilexample.com", HDR,
	    CLAIMS_FOR("alice@evilexample.com"), SIG_ES256, NULL,
	    PAM_PERM_DENIED, "no-rule");
	ticket_case("a subdomain of example.com", HDR,
	    CLAIMS_FOR("alice@sub.example.com"), SIG_ES256, NULL,
	    PAM_PERM_DENIED, "no-rule");
	ticket_case("%localpart giving root", HDR,
	    CLAIMS_FOR("root@example.com"), SIG_ES256, "root", PAM_PERM_DENIED,
	    "system-user");
	ticket_case("%localpart giving daemon", HDR,
	    CLAIMS_FOR("daemon@example.com"), SIG_ES256, "daemon",
	    PAM_PERM_DENIED, "system-user");
	ticket_case("%localpart giving nobody", HDR,
	    CLAIMS_FOR("nobody@example.com"), SIG_ES256, "nobody",
	    PAM_PERM_DENIED, "system-user");
	ticket_case("alice's ticket, PAM_USER bob", HDR, CLAIMS, SIG_ES256,
	    "bob", PAM_PERM_DENIED, "other-user");
	ticket_case("bob's ticket, PAM_USER alice", HDR,
	    CLAIMS_FOR("bob@example.org"), SIG_ES256, "alice", PAM_PERM_DENIED,
	    "other-user");
	ticket_case("ops (root) ticket, PAM_USER alice", HDR,
	    CLAIMS_FOR("ops@example.com"), SIG_ES256, "alice", PAM_PERM_DENIED,
	    "other-user");
	ticket_case("mapped to a user the host lacks", HDR,
	    CLAIMS_FOR("carol@example.com"), SIG_ES256, "alice",
	    PAM_PERM_DENIED, "carol");
	ticket_case("PAM_USER not a local user", HDR,
	    CLAIMS_FOR("mallory@example.com"), SIG_ES256, "mallory",
	    PAM_USER_UNKNOWN, "no local user mallory");
	ticket_case("PAM_USER with a newline", HDR, CLAIMS, SIG_ES256,
	    "alice\nresult=success", PAM_USER_UNKNOWN, "no local user");
}

static void
socket_cases(void)
{
	struct run r;
	char *t, *big;
	char p[PATH_MAX];

	/* The stream ended: b0-publish dropped the ticket. */
	srv_set(NULL, 0, 0);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "a ticket whose connection has closed (none)", PAM_IGNORE,
	    "no ticket: b0-publish has no ticket for 127.0.0.1 port 40001");
	is_str(r.env_auth, "", "no B0_AUTH after PAM_IGNORE");

	t = jws(HDR, CLAIMS, SIG_ES256);
	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	r.conn = "127.0.0.1 40002 127.0.0.1 22";
	run_pam(&r);
	expect(
	    &r, "another client port gets no ticket", PAM_IGNORE, "no ticket");
	memset(&r, 0, sizeof(r));
	r.conn = "";
	run_pam(&r);
	expect(&r, "no SSH_CONNECTION", PAM_IGNORE,
	    "no ticket: no "
	    "SSH_CONNECTION");
	memset(&r, 0, sizeof(r));
	r.conn = "garbage";
	run_pam(&r);
	expect(&r, "SSH_CONNECTION malformed", PAM_AUTHINFO_UNAVAIL,
	    "SSH_CONNECTION is malformed");
	memset(&r, 0, sizeof(r));
	r.conn = "127.0.0.1\nticket 10.0.0.1 40001 127.0.0.1 22";
	run_pam(&r);
	expect(&r, "SSH_CONNECTION smuggling a second request",
	    PAM_AUTHINFO_UNAVAIL, "SSH_CONNECTION");
	memset(&r, 0, sizeof(r));
	r.conn = "127.0.0.1 0 127.0.0.1 22";
	run_pam(&r);
	expect(&r, "SSH_CONNECTION port 0", PAM_AUTHINFO_UNAVAIL,
	    "SSH_CONNECTION does not start with an address and a port");

	srv_set("error not allowed\n", 18, 0);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "the socket refuses us", PAM_AUTHINFO_UNAVAIL,
	    "b0-publish answers: not allowed");
	srv_set("maybe\n", 6, 0);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "an answer that is not ok/none/error", PAM_AUTHINFO_UNAVAIL,
	    "answer is not ok, none or error");
	srv_set("ok abc", 6, 0);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "an answer without its newline", PAM_AUTHINFO_UNAVAIL,
	    "closed before a whole line");
	srv_set("ok a\0b\n", 7, 0);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "a NUL in the answer", PAM_AUTHINFO_UNAVAIL, "NUL byte");
	srv_set("none\nok x\n", 10, 0);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(
	    &r, "two answers", PAM_AUTHINFO_UNAVAIL, "data after the answer");

	big = malloc(9000 + 8);
	memcpy(big, "ok ", 3);
	memset(big + 3, 'A', 9000);
	big[9003] = '\n';
	srv_set(big, 9004, 0);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "a huge ticket line", PAM_AUTHINFO_UNAVAIL,
	    "answer longer than 8192 bytes");
	/* Just under the line limit: a ticket with a huge payload. */
	{
		char *pl = malloc(8000), *tk;

		snprintf(pl, 8000,
		    "{" C_ISS "," C_AUD "," C_MAIL(
			"alice@example.com") "," C_SOCK "," C_VIS "," C_TIME
					     ",\"pad\":\"%05000d\"}",
		    0);
		tk = jws(HDR, pl, SIG_ES256);
		srv_ticket(tk);
		memset(&r, 0, sizeof(r));
		run_pam(&r);
		expect(&r, "a 7 KiB ticket that fits the line verifies",
		    PAM_SUCCESS, "ticket verified");
		free(tk);
		free(pl);
	}
	/* Huge JSON: deep nesting in the payload. */
	{
		char pl[2200];
		size_t k;
		char *tk;

		k = (size_t)snprintf(pl, sizeof(pl), "{" C_ISS ",\"x\":");
		for (; k < 1100; k++)
			pl[k] = '[';
		for (; k < 2100; k++)
			pl[k] = ']';
		pl[k++] = '}';
		pl[k] = '\0';
		tk = jws(HDR, pl, SIG_ES256);
		srv_ticket(tk);
		memset(&r, 0, sizeof(r));
		run_pam(&r);
		expect(
		    &r, "deeply nested JSON payload", PAM_AUTH_ERR, "payload");
		free(tk);
	}
	free(big);

	srv_ticket(t);
	srv.delay_ms = 3000;
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "a server that does not answer in 2 s", PAM_AUTHINFO_UNAVAIL,
	    "tickets.sock: timed out");
	srv_set(NULL, 0, 0);

	/* No socket at all: b0-publish does not run. */
	pathf(p, sizeof(p), "tickets.sock");
	{
		char moved[PATH_MAX];

		pathf(moved, sizeof(moved), "tickets.sock.away");
		rename(p, moved);
		memset(&r, 0, sizeof(r));
		run_pam(&r);
		expect(
		    &r, "no identity socket", PAM_AUTHINFO_UNAVAIL, "connect");
		rename(moved, p);
	}
	free(t);
}

static void
file_cases(void)
{
	struct run r;
	char *t, *s;
	char p[PATH_MAX], q[PATH_MAX];

	t = jws(HDR, CLAIMS, SIG_ES256);
	srv_ticket(t);

	chmod_file("users", 0646);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "rules file writable by others", PAM_SERVICE_ERR, "users");
	chmod_file("users", 0664);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(
	    &r, "rules file writable by its group", PAM_SERVICE_ERR, "users");
	chmod_file("users", 0644);
	chown_file("users", 65534);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "rules file owned by nobody", PAM_SERVICE_ERR, "users");
	chown_file("users", 0);

	chown_file("pam_b0.conf", 65534);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "config not root-owned", PAM_SERVICE_ERR, "pam_b0.conf");
	chown_file("pam_b0.conf", 0);
	chmod_file("pam_b0.conf", 0666);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "config writable by others", PAM_SERVICE_ERR, "pam_b0.conf");
	chmod_file("pam_b0.conf", 0644);
	pathf(p, sizeof(p), "pam_b0.conf");
	pathf(q, sizeof(q), "pam_b0.conf.real");
	rename(p, q);
	if (symlink(q, p) == -1)
		die("symlink");
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "config a symlink", PAM_SERVICE_ERR, "pam_b0.conf");
	unlink(p);
	rename(q, p);

	chown_file("jwks.json", 65534);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "JWKS not root-owned", PAM_SERVICE_ERR, "jwks.json");
	chown_file("jwks.json", 0);
	chmod_file("jwks.json", 0664);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "JWKS writable by its group", PAM_SERVICE_ERR, "jwks.json");
	chmod_file("jwks.json", 0644);

	s = jwks_text("https://evil.example.com", 0, NULL);
	write_jwks(s);
	free(s);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "JWKS of another issuer", PAM_AUTHINFO_UNAVAIL,
	    "are not those of issuer");
	s = jwks_text(ISSUER, 0, NULL);
	{
		char *pp = strstr(s, "\"lab1\"");

		memcpy(pp, "\"lab9\"", 6);
	}
	write_jwks(s);
	free(s);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "JWKS of another publisher", PAM_AUTHINFO_UNAVAIL,
	    "b0-publish is publisher \"lab9\"");
	s = jwks_text(ISSUER, 0,
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"p\",\"x\":"
	    "\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":"
	    "\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\",\"d\":"
	    "\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}");
	write_jwks(s);
	free(s);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(
	    &r, "JWKS holding a private key", PAM_AUTHINFO_UNAVAIL, "private");
	write_jwks("");
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "JWKS empty", PAM_AUTHINFO_UNAVAIL, "empty");
	pathf(p, sizeof(p), "jwks.json");
	unlink(p);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "JWKS missing", PAM_AUTHINFO_UNAVAIL, "jwks.json");
	write_jwks(jwks_good);

	write_file(
	    "pam_b0.conf", "issuer " ISSUER "\nsocket " SOCKNAME "\n", 0644);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "config without publisher", PAM_SERVICE_ERR,
	    "publisher is missing");
	write_file("pam_b0.conf",
	    "issuer " ISSUER "\npublisher lab1\nsocket " SOCKNAME
	    "\nfrobnicate yes\n",
	    0644);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "config with an unknown keyword", PAM_SERVICE_ERR,
	    "pam_b0.conf:4");
	write_file("pam_b0.conf",
	    "issuer " ISSUER "\npublisher lab1\nsocket " SOCKNAME
	    "\nskew 301\n",
	    0644);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	expect(&r, "config with skew over 300", PAM_SERVICE_ERR, "skew");
	write_conf();

	memset(&r, 0, sizeof(r));
	r.service = "b0badarg";
	run_pam(&r);
	expect(&r, "unknown module argument", PAM_SERVICE_ERR,
	    "module argument \"frob\" is unknown");
	memset(&r, 0, sizeof(r));
	r.service = "b0relconf";
	run_pam(&r);
	expect(&r, "conf= a relative path", PAM_SERVICE_ERR,
	    "module argument \"conf=pam_b0.conf\" is unknown");
	memset(&r, 0, sizeof(r));
	r.user = "";
	run_pam(&r);
	expect(&r, "no PAM_USER", PAM_USER_UNKNOWN, "no PAM_USER");

	/* The kid appears in the file 0.5 s later: the module waits. */
	{
		char *t2 = jws("{\"alg\":\"ES256\",\"kid\":\"$Q\",\"typ\":"
			       "\"b0-ticket+jwt\"}",
		    CLAIMS, SIG_OTHERKEY);
		pid_t pid;
		int st;

		srv_ticket(t2);
		fflush(stdout);
		if ((pid = fork()) == 0) {
			usleep(500000);
			write_jwks(jwks_both);
			_exit(0);
		}
		memset(&r, 0, sizeof(r));
		run_pam(&r);
		waitpid(pid, &st, 0);
		expect(&r, "a new kid in the JWKS within 2 s", PAM_SUCCESS,
		    "ticket verified");
		write_jwks(jwks_good);
		free(t2);
	}
	free(t);
}

static char *
access_token(const char *claims_t)
{
	return jws("{\"alg\":\"ES256\",\"kid\":\"$K\",\"typ\":\"at+jwt\"}",
	    claims_t, SIG_ES256);
}

#define AT_BASE                                                                \
	"\"iss\":\"" ISSUER "\",\"aud\":\"" ISSUER "\","                       \
	"\"sub\":\"alice@example.com\",\"email\":\"alice@example.com\","       \
	"\"client_id\":\"b0-proxy\",\"iat\":~,\"exp\":~+600"
#define AT_CLAIMS "{" AT_BASE ",\"email_verified\":true}"

static void
prompt_case(const char *name, const char *token, enum cv mode, size_t part,
    unsigned forcen, const char *fixed, const char *user, int want,
    const char *reason)
{
	struct run r;

	srv_set(NULL, 0, 0);
	memset(&r, 0, sizeof(r));
	r.service = "b0prompt";
	r.user = user;
	r.cv.mode = mode;
	r.cv.token = token;
	r.cv.part = part;
	r.cv.forcen = forcen;
	r.cv.fixed = fixed;
	run_pam(&r);
	expect(&r, name, want, reason);
}

static void
prompt_cases(void)
{
	struct run r;
	char *good, *longt, *t;
	char pad[3000];

	good = access_token(AT_CLAIMS);
	memset(pad, 'x', 2500);
	pad[2500] = '\0';
	{
		char tpl[4000];

		snprintf(tpl, sizeof(tpl),
		    "{" AT_BASE ",\"email_verified\":true,\"pad\":\"%s\"}",
		    pad);
		longt = access_token(tpl);
	}

	srv_set(NULL, 0, 0);
	memset(&r, 0, sizeof(r));
	r.service = "b0prompt";
	r.cv.mode = CV_PARTS;
	r.cv.token = good;
	r.cv.part = 100;
	r.acct = 1;
	run_pam(&r);
	expect(&r, "prompt: a token in parts of 100", PAM_SUCCESS,
	    "token verified; rule example.com");
	is_str(r.env_auth, "token", "prompt: B0_AUTH=token");
	is_str(r.env_email, "alice@example.com", "prompt: B0_EMAIL");
	is_str(r.env_visitor, "127.0.0.1:40001",
	    "prompt: B0_VISITOR from SSH_CONNECTION");
	is_str(r.cv.prompt1, "b0-token part 1: ", "prompt 1 has no n");
	ok(strncmp(r.cv.prompt2, "b0-token part 2/", 16) == 0,
	    "prompt 2 names n: %s", r.cv.prompt2);
	is_int(r.acct_rc, PAM_SUCCESS, "account after a token login");

	prompt_case("prompt: a long token in parts of 1000", longt, CV_PARTS,
	    1000, 0, NULL, NULL, PAM_SUCCESS, "token verified");
	prompt_case("prompt: a token in one part", good, CV_PARTS, 1000, 0,
	    NULL, NULL, PAM_SUCCESS, "token verified");
	prompt_case("prompt: token for alice, PAM_USER bob", good, CV_PARTS,
	    1000, 0, NULL, "bob", PAM_PERM_DENIED, "other-user");

	t = access_token("{" AT_BASE ",\"email_verified\":false}");
	prompt_case("prompt: email_verified false", t, CV_PARTS, 1000, 0, NULL,
	    NULL, PAM_AUTH_ERR, "email_verified is not true");
	free(t);
	t = access_token("{" AT_BASE "}");
	prompt_case("prompt: email_verified missing", t, CV_PARTS, 1000, 0,
	    NULL, NULL, PAM_AUTH_ERR, "email_verified is not true");
	free(t);
	t = access_token("{" AT_BASE ",\"email_verified\":\"true\"}");
	prompt_case("prompt: email_verified \"true\"", t, CV_PARTS, 1000, 0,
	    NULL, NULL, PAM_AUTH_ERR, "email_verified is not true");
	free(t);
	t = access_token("{" AT_BASE ",\"email_verified\":1}");
	prompt_case("prompt: email_verified 1", t, CV_PARTS, 1000, 0, NULL,
	    NULL, PAM_AUTH_ERR, "email_verified is not true");
	free(t);
	t = jws(HDR, CLAIMS, SIG_ES256);
	prompt_case("prompt: a ticket offered as a token", t, CV_PARTS, 1000, 0,
	    NULL, NULL, PAM_AUTH_ERR, "is not \"at+jwt\"");
	free(t);
	t = access_token("{\"iss\":\"" ISSUER "\",\"aud\":\"b0-publish:lab1\","
			 "\"email\":\"alice@example.com\",\"email_verified\":"
			 "true,\"iat\":~,\"exp\":~+600}");
	prompt_case("prompt: token with a ticket's aud", t, CV_PARTS, 1000, 0,
	    NULL, NULL, PAM_AUTH_ERR, "aud");
	free(t);
	t = access_token("{" AT_BASE ",\"email_verified\":true,\"exp\":1}");
	prompt_case("prompt: token with two exp", t, CV_PARTS, 1000, 0, NULL,
	    NULL, PAM_AUTH_ERR, "duplicate key \"exp\"");
	free(t);
	t = access_token("{\"iss\":\"" ISSUER "\",\"aud\":\"" ISSUER "\","
			 "\"email\":\"alice@example.com\",\"email_verified\":"
			 "true,\"iat\":~-700,\"exp\":~-100}");
	prompt_case("prompt: expired token", t, CV_PARTS, 1000, 0, NULL, NULL,
	    PAM_AUTH_ERR, "exp");
	free(t);

	{
		/* 5000 JSON values: more than b0_json takes. */
		char *tpl = malloc(12000), *tk;
		size_t k;

		k = (size_t)snprintf(tpl, 12000,
		    "{" AT_BASE ",\"email_verified\":true,\"x\":[0");
		while (k < 10000) {
			memcpy(tpl + k, ",0", 2);
			k += 2;
		}
		memcpy(tpl + k, "]}", 3);
		tk = access_token(tpl);
		prompt_case("prompt: huge JSON in a 14-part token", tk,
		    CV_PARTS, 1000, 0, NULL, NULL, PAM_AUTH_ERR,
		    "payload: more than 4096 values");
		free(tk);
		free(tpl);
	}
	prompt_case("prompt: sshd's placeholder answer", good, CV_FIXED, 100, 0,
	    "\b\n\r\177INCORRECT", NULL, PAM_AUTH_ERR,
	    "sshd's placeholder answer");
	prompt_case("prompt: an empty answer", good, CV_FIXED, 100, 0, "", NULL,
	    PAM_AUTH_ERR, "is not \"i/n part\"");
	prompt_case("prompt: a password for an answer", good, CV_FIXED, 100, 0,
	    "hunter2", NULL, PAM_AUTH_ERR, "is not \"i/n part\"");
	prompt_case("prompt: a missing part (empty part 2)", good, CV_EMPTY2,
	    100, 0, NULL, NULL, PAM_AUTH_ERR, "part 2: the answer is not");
	prompt_case("prompt: part 3 for part 2", good, CV_SKIP, 100, 0, NULL,
	    NULL, PAM_AUTH_ERR, "part 2 asked, part 3 answered");
	prompt_case("prompt: a repeated part", good, CV_REPEAT, 100, 0, NULL,
	    NULL, PAM_AUTH_ERR, "part 2 asked, part 1 answered");
	prompt_case("prompt: reordered parts", good, CV_REORDER, 100, 0, NULL,
	    NULL, PAM_AUTH_ERR, "part 1 asked, part 2 answered");
	prompt_case("prompt: n changes", good, CV_NCHANGE, 100, 0, NULL, NULL,
	    PAM_AUTH_ERR, "n changed");
	prompt_case("prompt: a part of 1001 bytes", longt, CV_PARTS, 1001, 0,
	    NULL, NULL, PAM_AUTH_ERR, "1001 bytes, not 1 to 1000");
	prompt_case("prompt: 17 parts", good, CV_PARTS, 100, 17, NULL, NULL,
	    PAM_AUTH_ERR, "n from 1 to 16");
	prompt_case("prompt: n smaller than the token", good, CV_PARTS, 100, 2,
	    NULL, NULL, PAM_AUTH_ERR, "token");
	prompt_case("prompt: a space inside a part", good, CV_BADCHAR, 100, 0,
	    NULL, NULL, PAM_AUTH_ERR, "not base64url or '.'");
	prompt_case("prompt: part 0", good, CV_ZERO, 100, 0, NULL, NULL,
	    PAM_AUTH_ERR, "is not \"i/n part\"");
	prompt_case("prompt: conversation fails", good, CV_FAIL, 100, 0, NULL,
	    NULL, PAM_CONV_ERR, "conversation");
	prompt_case("prompt: conversation says again", good, CV_AGAIN, 100, 0,
	    NULL, NULL, PAM_INCOMPLETE, "conversation");

	memset(&r, 0, sizeof(r));
	r.cv.mode = CV_NONE;
	run_pam(&r);
	expect(
	    &r, "no prompt without the prompt option", PAM_IGNORE, "no ticket");
	ok(r.cv.nprompts == 0, "nothing was asked");

	/* "prompt yes" in the file does what the argument does. */
	{
		char text[4 * PATH_MAX];

		snprintf(text, sizeof(text), conf_text, dir, dir, dir);
		b0_strlcat(text, "prompt yes\n", sizeof(text));
		write_file("pam_b0.conf", text, 0644);
		memset(&r, 0, sizeof(r));
		r.cv.mode = CV_PARTS;
		r.cv.token = good;
		r.cv.part = 500;
		run_pam(&r);
		expect(&r, "prompt yes in the configuration file", PAM_SUCCESS,
		    "token verified");
		write_conf();
	}

	/* IPv6: the request names the address, B0_VISITOR brackets it. */
	memset(&r, 0, sizeof(r));
	r.service = "b0prompt";
	r.conn = "2001:db8::7 40001 2001:db8::1 22";
	r.cv.mode = CV_PARTS;
	r.cv.token = good;
	r.cv.part = 500;
	run_pam(&r);
	expect(&r, "prompt: an IPv6 client", PAM_SUCCESS, "token verified");
	is_str(srv.last_req, "ticket 2001:db8::7 40001",
	    "IPv6: the identity socket is asked for the address as sshd gave "
	    "it");
	is_str(r.env_visitor, "[2001:db8::7]:40001", "IPv6: B0_VISITOR");
	free(good);
	free(longt);
}

/*
 * SSH_CONNECTION from the process's environment is not sshd's: a local
 * user running su could name someone else's connection.
 */
static void
getenv_case(void)
{
	struct run r;
	char *t = jws(HDR, CLAIMS, SIG_ES256);

	srv_ticket(t);
	setenv("SSH_CONNECTION", CLIENT, 1);
	memset(&r, 0, sizeof(r));
	r.conn = "";
	run_pam(&r);
	unsetenv("SSH_CONNECTION");
	expect(&r, "SSH_CONNECTION from the process environment: refused",
	    PAM_IGNORE, "no ticket: no SSH_CONNECTION in the PAM environment");
	free(t);
}

/* PAM_RHOST, when it is an address, must be SSH_CONNECTION's client. */
static void
rhost_cases(void)
{
	struct run r;
	char *t = jws(HDR, CLAIMS, SIG_ES256);

	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	r.rhost = "127.0.0.1";
	run_pam(&r);
	expect(&r, "PAM_RHOST is the SSH_CONNECTION client", PAM_SUCCESS,
	    "ticket verified");
	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	r.rhost = "10.9.8.7";
	run_pam(&r);
	expect(&r, "PAM_RHOST is another address", PAM_AUTH_ERR,
	    "SSH_CONNECTION client 127.0.0.1 is not PAM_RHOST 10.9.8.7");
	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	r.rhost = "::1";
	run_pam(&r);
	expect(&r, "PAM_RHOST is an IPv6 address, the client IPv4",
	    PAM_AUTH_ERR, "is not PAM_RHOST ::1");
	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	r.rhost = "client.example.org";
	run_pam(&r);
	expect(&r, "PAM_RHOST is a host name (UseDNS): not compared",
	    PAM_SUCCESS, "ticket verified");
	free(t);
}

static void
account_cases(void)
{
	struct conv cv;
	struct pam_conv conv = {conv_fn, &cv};
	pam_handle_t *h = NULL;
	char confdir[PATH_MAX];

	typedef int sm_fn(pam_handle_t *, int, int, const char **);
	sm_fn *acct, *setcred;
	char arg[PATH_MAX + 8];
	const char *args[1] = {arg};
	void *dl;

	memset(&cv, 0, sizeof(cv));
	pathf(confdir, sizeof(confdir), "pam.d");
	pam_start_confdir("b0", "alice", &conv, confdir, &h);
	/*
	 * libpam turns a stack where every module says PAM_IGNORE into
	 * PAM_PERM_DENIED; call the module's functions to see its own codes.
	 */
	snprintf(arg, sizeof(arg), "conf=%s/pam_b0.conf", dir);
	if ((dl = dlopen(sopath, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (acct = (sm_fn *)dlsym(dl, "pam_sm_acct_mgmt")) == NULL ||
	    (setcred = (sm_fn *)dlsym(dl, "pam_sm_setcred")) == NULL) {
		printf("Bail out! dlopen %s: %s\n", sopath, dlerror());
		exit(1);
	}
	is_int(acct(h, 0, 1, args), PAM_IGNORE,
	    "account: not our login: PAM_IGNORE");
	is_int(setcred(h, PAM_ESTABLISH_CRED, 1, args), PAM_IGNORE,
	    "setcred: PAM_IGNORE");
	is_int(pam_acct_mgmt(h, 0), PAM_PERM_DENIED,
	    "account through libpam: a lone PAM_IGNORE is no success");
	dlclose(dl);
	pam_putenv(h, "B0_AUTH=ticket");
	pam_putenv(h, "B0_EMAIL=bob@example.org");
	is_int(pam_acct_mgmt(h, 0), PAM_PERM_DENIED,
	    "account: B0_EMAIL that maps to another user: PAM_PERM_DENIED");
	has_str(log_last, "other-user", "account: the reason is logged");
	pam_putenv(h, "B0_EMAIL=alice@example.com");
	is_int(pam_acct_mgmt(h, 0), PAM_SUCCESS,
	    "account: B0_EMAIL that maps to alice: PAM_SUCCESS");
	pam_end(h, PAM_SUCCESS);
}

/* Run a good, a refused and a misconfigured case with fd 1 and 2 caught. */
static void
silence_case(void)
{
	struct run r;
	char p[PATH_MAX];
	struct stat st;
	char *t = jws(HDR, CLAIMS, SIG_ES256);
	int fd, save1, save2;

	pathf(p, sizeof(p), "stdio");
	fflush(stdout);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (save1 = dup(1)) == -1 || (save2 = dup(2)) == -1)
		die("stdio");
	dup2(fd, 1);
	dup2(fd, 2);
	srv_ticket(t);
	memset(&r, 0, sizeof(r));
	run_pam(&r);
	memset(&r, 0, sizeof(r));
	r.user = "bob";
	run_pam(&r);
	memset(&r, 0, sizeof(r));
	r.service = "b0badarg";
	run_pam(&r);
	memset(&r, 0, sizeof(r));
	r.service = "b0prompt";
	r.conn = "";
	r.cv.mode = CV_FIXED;
	r.cv.fixed = "junk";
	run_pam(&r);
	dup2(save1, 1);
	dup2(save2, 2);
	close(save1);
	close(save2);
	close(fd);
	ok(stat(p, &st) == 0 && st.st_size == 0,
	    "the module writes nothing to stdout or stderr");
	free(t);
}

static void
manners_cases(void)
{
	char cmd[PATH_MAX + 64], line[512];
	FILE *f;
	int bad = 0, n = 0;
	void *dl;

	snprintf(cmd, sizeof(cmd), "nm -D --defined-only %s", sopath);
	if ((f = popen(cmd, "r")) == NULL)
		die("nm");
	while (fgets(line, sizeof(line), f) != NULL) {
		char *sym = strrchr(line, ' ');

		if (sym == NULL)
			continue;
		n++;
		if (strncmp(sym + 1, "pam_sm_", 7) != 0) {
			printf("# exported: %s", sym + 1);
			bad++;
		}
	}
	pclose(f);
	ok(bad == 0 && n == 3, "nm -D: only pam_sm_* exported (%d symbols)", n);
	snprintf(
	    cmd, sizeof(cmd), "readelf -d %s | grep -c -e curl -e ssl", sopath);
	if ((f = popen(cmd, "r")) == NULL)
		die("readelf");
	line[0] = '\0';
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	pclose(f);
	{
		char cmd2[PATH_MAX + 64];

		snprintf(cmd2, sizeof(cmd2),
		    "readelf -d %s | grep NEEDED | grep -c curl", sopath);
		f = popen(cmd2, "r");
		if (f == NULL || fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		if (f != NULL)
			pclose(f);
	}
	ok(strncmp(line, "0", 1) == 0, "the module does not link libcurl");
	/* Mutable globals live in .data or .bss; crt's own are fine. */
	snprintf(cmd, sizeof(cmd),
	    "objdump -t %s | awk '$4 == \".data\" || $4 == \".bss\"' | "
	    "grep -v -e completed.0 -e __TMC_END__ -e __dso_handle | wc -l",
	    sopath);
	f = popen(cmd, "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	if (f != NULL)
		pclose(f);
	line[strcspn(line, "\n")] = '\0';
	ok(strcmp(line, "0") == 0,
	    "no mutable global variables in the module (.data/.bss): %s", line);
	dl = dlopen(sopath, RTLD_NOW | RTLD_LOCAL);
	ok(dl != NULL, "dlopen(RTLD_NOW) resolves everything");
	if (dl != NULL)
		dlclose(dl);
	ok(strstr(log_all, "eyJ") == NULL,
	    "no log line holds a token or part of one");
}

/* ---- set-up ----------------------------------------------------------- */

static void
setup(const char *argv0)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;
	char *users;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1)
		die("readlink");
	exe[n] = '\0';
	(void)argv0;
	/* BUILD/tests/test_pam -> BUILD/pam_b0.so */
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	snprintf(sopath, sizeof(sopath), "%s/pam_b0.so", exe);
	if (getenv("PAM_B0_SO") != NULL)
		b0_strlcpy(sopath, getenv("PAM_B0_SO"), sizeof(sopath));

	snprintf(dir, sizeof(dir), "/tmp/test_pam.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	chmod(dir, 0755);
	pathf(exe, sizeof(exe), "pam.d");
	mkdir(exe, 0755);

	fake_now = time(NULL);
	fake_now = fake_now - fake_now % 1000; /* any fixed second */
	if (b0_jwk_generate(&key, NULL) != 0 ||
	    b0_jwk_generate(&key2, NULL) != 0 ||
	    b0_jwk_thumbprint(key, kid, sizeof(kid)) != 0 ||
	    b0_jwk_thumbprint(key2, kid2, sizeof(kid2)) != 0)
		die("keys");
	jwks_good = jwks_text(ISSUER, 0, NULL);
	jwks_both = jwks_text(ISSUER, 1, NULL);
	write_jwks(jwks_good);
	write_conf();
	users = strdup(users_text);
	write_file("users", users, 0644);
	free(users);
	write_service("b0", "");
	write_service("b0prompt", "prompt");
	write_service("b0badarg", "frob");
	write_service("b0debug", "debug");
	{
		char text[2 * PATH_MAX];

		snprintf(text, sizeof(text),
		    "auth required %s conf=pam_b0.conf\n", sopath);
		write_file("pam.d/b0relconf", text, 0644);
	}
}

static void
cleanup(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	EVP_PKEY_free(key);
	EVP_PKEY_free(key2);
	free(jwks_good);
	free(jwks_both);
	free(srv.answer);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
bench(unsigned n)
{
	struct conv cv;
	struct pam_conv conv = {conv_fn, &cv};
	char confdir[PATH_MAX], *t;
	uint64_t *us = calloc(n, sizeof(*us));
	unsigned i, fails = 0;

	memset(&cv, 0, sizeof(cv));
	pathf(confdir, sizeof(confdir), "pam.d");
	t = jws(HDR, CLAIMS, SIG_ES256);
	srv_ticket(t);
	for (i = 0; i < n; i++) {
		pam_handle_t *h = NULL;
		struct timespec a, b;
		int rc;

		pam_start_confdir("b0", "alice", &conv, confdir, &h);
		pam_putenv(h, "SSH_CONNECTION=" CLIENT);
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = pam_authenticate(h, 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		pam_end(h, rc);
		if (rc != PAM_SUCCESS)
			fails++;
		us[i] = (uint64_t)((b.tv_sec - a.tv_sec) * 1000000 +
				   (b.tv_nsec - a.tv_nsec) / 1000);
	}
	qsort(us, n, sizeof(*us), cmp_u64);
	printf("pam_b0 decisions: %u, failed: %u, median_us: %llu, "
	       "p99_us: %llu, max_us: %llu\n",
	    n, fails, (unsigned long long)us[n / 2],
	    (unsigned long long)us[n - 1 - n / 100],
	    (unsigned long long)us[n - 1]);
	free(us);
	free(t);
	return fails == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	pthread_t th;
	unsigned nbench = 0;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--bench") == 0)
		nbench = (unsigned)strtoul(argv[2], NULL, 10);
	else if (argc != 1) {
		fprintf(stderr, "usage: test_pam [--bench N]\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("1..0 # SKIP not root: pam_b0 trusts only root-owned "
		       "files, and the test adds users in a mount namespace\n");
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup(argv[0]);
	if (add_users() != 0) {
		printf("1..0 # SKIP cannot add alice and bob in a private "
		       "mount namespace: %s\n",
		    strerror(errno));
		cleanup();
		return 0;
	}
	srv_start(&th);
	if (nbench > 0) {
		rc = bench(nbench);
	} else {
		good_cases();
		debug_case();
		getenv_case();
		rhost_cases();
		header_cases();
		signature_cases();
		claim_cases();
		mapping_cases();
		socket_cases();
		file_cases();
		prompt_cases();
		account_cases();
		silence_case();
		manners_cases();
		rc = 0;
	}
	pthread_mutex_lock(&srv.mu);
	srv.stop = 1;
	pthread_mutex_unlock(&srv.mu);
	pthread_join(th, NULL);
	close(srv.fd);
	cleanup();
	return nbench > 0 ? rc : tap_done();
}
