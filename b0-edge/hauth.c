/*
 * Who gets into an http socket (hauth.h, docs/http.md "Who gets in"):
 * Bearer access tokens, the app session cookie b0_app and the code flow
 * through the edge's own issuer that makes it (client b0-http, redeemed
 * in-process), the 403 page, basic auth for protected sockets, and the
 * /.b0/ endpoints of every socket host.
 *
 * Everything lives in memory: app sessions (keyed by the SHA-256 of their
 * cookie, bound to the socket's DNS name), pending logins (keyed by the
 * SHA-256 of the b0_login cookie that binds state and PKCE verifier to
 * the browser), successful basic-auth credentials (an HMAC of the header
 * under a per-process random key, 5 minutes) and failed basic-auth tries
 * per visitor address.  An edge restart ends app sessions; the edge's own
 * session brings the person back with one redirect.
 */
#include <sys/queue.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "b0_b64.h"
#include "b0_http.h"
#include "b0_spec.h"
#include "b0_str.h"
#include "edge.h"
#include "fails.h"
#include "grants.h"
#include "hauth.h"
#include "idp.h"
#include "pages.h"
#include "users.h"

#define COOKIE_LOGIN "__Host-b0_login"
#define SECRET_SIZE 44 /* 43 base64url characters and a NUL */
#define SRC_SIZE 48
#define RETURN_MAX 2048 /* a longer path comes back to "/" */

#define SESS_BUCKETS 1024 /* a power of two */
#define SESS_MAX 20000
#define LOGIN_MAX 4096
#define LOGIN_PER_ADDR 32 /* a flood from one address evicts its own */
#define LOGIN_TTL 600
#define CHECK_EVERY 60 /* s between checks that people still exist */

#define BASIC_TTL 300
#define BASIC_SLOTS 256
#define BASIC_MAX 1024 /* the decoded "user:password" */
#define FAIL_WINDOW 300
#define FAIL_MAX 10

#define BEARER_WAYS 4 /* a set of the token cache: the oldest goes */
#define BEARER_SETS 256
#define BEARER_MAX (BEARER_WAYS * BEARER_SETS) /* 1024 tokens */

/* An app session: the b0_app cookie of one socket host. */
struct asess {
	uint8_t hash[32];
	int64_t expires;
	char dns[B0_DNS_SIZE];
	char email[HAUTH_EMAIL_SIZE];
	char src[SRC_SIZE];
	char *refused; /* the page last refused (403): "Sign in as someone
			  else" comes back to it; NULL if none */
	TAILQ_ENTRY(asess) entry;
};

/* A login under way: the b0_login cookie, state, verifier, way back. */
struct alogin {
	uint8_t hash[32];
	int64_t expires;
	char dns[B0_DNS_SIZE];
	char owner[64]; /* the visitor's address (IPv6: its /64) */
	char state[SECRET_SIZE];
	char verifier[SECRET_SIZE];
	char ret[RETURN_MAX];
	TAILQ_ENTRY(alogin) entry;
};

struct basic_ok {
	uint8_t mac[32];
	int64_t expires;
};

/* A Bearer token that passed idp_check_access, until its exp at most. */
struct bearer_ok {
	uint8_t hash[32]; /* SHA-256 of the token */
	int64_t exp;	  /* 0: a free slot */
	uint64_t added;	  /* order of insertion: the oldest of a set goes */
	char email[HAUTH_EMAIL_SIZE];
	char src[SRC_SIZE];
};

TAILQ_HEAD(asess_q, asess);

struct hauth {
	struct edge *e;
	const struct b0_log *log;
	struct asess_q sess[SESS_BUCKETS];
	size_t nsess;
	TAILQ_HEAD(, alogin) logins; /* oldest first */
	size_t nlogins;
	uint8_t key[32];
	struct basic_ok ok[BASIC_SLOTS];
	unsigned ok_next;
	struct fails fails; /* wrong basic-auth passwords by address */
	struct bearer_ok tok[BEARER_MAX];
	uint64_t tok_added;
	int64_t last_check;
	struct b0_log_ratelimit rl;
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static void
sha256(const char *s, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	if (EVP_Digest(s, n, out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0, 32); /* matches nothing: no cookie hashes so */
}

/*
 * cookie(rq, name, out, outsz): the value of cookie name if the request
 * carries it exactly once and it looks like ours (43 base64url
 * characters).  Returns 1 or 0.
 */
static int
cookie(const struct hreq *rq, const char *name, char *out, size_t outsz)
{
	const struct b0_http_head *h = &rq->req->h;
	size_t i, nlen = strlen(name), found = 0;

	out[0] = '\0';
	for (i = 0; i < h->nfields; i++) {
		const char *v = h->fields[i].value, *end;

		if (!b0_http_field_is(&h->fields[i], "Cookie"))
			continue;
		end = v + h->fields[i].value_len;
		while (v < end) {
			const char *semi = memchr(v, ';', (size_t)(end - v));
			const char *pe = semi != NULL ? semi : end;
			size_t vl;

			while (v < pe && (*v == ' ' || *v == '\t'))
				v++;
			if ((size_t)(pe - v) > nlen &&
			    memcmp(v, name, nlen) == 0 && v[nlen] == '=') {
				vl = (size_t)(pe - v) - nlen - 1;
				found++;
				if (vl == 43 && vl < outsz &&
				    strspn(v + nlen + 1,
					"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
					"mnopqrstuvwxyz0123456789-_") >= 43) {
					memcpy(out, v + nlen + 1, vl);
					out[vl] = '\0';
				} else
					out[0] = '\0';
			}
			v = pe + 1;
		}
	}
	if (found != 1 || out[0] == '\0') {
		OPENSSL_cleanse(out, outsz);
		out[0] = '\0';
		return 0;
	}
	return 1;
}

/* Does the request's Accept take HTML (a browser)? */
static int
wants_html(const struct hreq *rq)
{
	const struct b0_http_head *h = &rq->req->h;
	size_t i, j, n;

	for (i = 0; i < h->nfields; i++) {
		if (!b0_http_field_is(&h->fields[i], "Accept"))
			continue;
		n = h->fields[i].value_len;
		for (j = 0; j + 9 <= n; j++)
			if (b0_str_ncaseeq(
				h->fields[i].value + j, "text/html", 9))
				return 1;
	}
	return 0;
}

static void
answer_error(const struct hreq *rq, struct hresp *rs, int status,
    const char *title, const char *detail)
{
	if (wants_html(rq))
		page_error(rs, status, title, detail);
	else
		hresp_text(rs, status, "%s: %s", title, detail);
}

/* https://<dns>[:port]<path> of socket k into out. */
static int
socket_url(struct hauth *h, const struct esock *k, const char *path,
    struct b0_buf *out)
{
	return b0_buf_putf(
	    out, "https://%s%s%s", k->dns, idp_port_suffix(h->e->idp), path);
}

/* --- app sessions --------------------------------------------------------- */

static struct asess_q *
bucket(struct hauth *h, const uint8_t hash[32])
{
	return &h->sess[(hash[0] | (unsigned)hash[1] << 8) &
			(SESS_BUCKETS - 1)];
}

static void
sess_del(struct hauth *h, struct asess *s)
{
	TAILQ_REMOVE(bucket(h, s->hash), s, entry);
	h->nsess--;
	free(s->refused);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* The soonest to expire goes when the table is full. */
static void
sess_evict(struct hauth *h)
{
	struct asess *s, *old = NULL;
	size_t i;

	for (i = 0; i < SESS_BUCKETS; i++)
		TAILQ_FOREACH(s, &h->sess[i], entry)
		{
			if (old == NULL || s->expires < old->expires)
				old = s;
		}
	if (old != NULL)
		sess_del(h, old);
}

/* A new session on k for email (from src); its cookie value into cv. */
static int
sess_new(struct hauth *h, const struct esock *k, const char *email,
    const char *src, int64_t ttl, char *cv, size_t cvsz)
{
	struct asess *s;
	int r;

	if (h->nsess >= SESS_MAX)
		sess_evict(h);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return B0_ERR_ALLOC;
	if ((r = grants_random_b64(cv, cvsz)) != 0) {
		free(s);
		return r;
	}
	sha256(cv, strlen(cv), s->hash);
	s->expires = now_s() + ttl;
	b0_strlcpy(s->dns, k->dns, sizeof(s->dns));
	b0_strlcpy(s->email, email, sizeof(s->email));
	b0_str_lower(s->email);
	b0_strlcpy(s->src, src, sizeof(s->src));
	TAILQ_INSERT_HEAD(bucket(h, s->hash), s, entry);
	h->nsess++;
	return 0;
}

/* The live session of this request's b0_app cookie on k, or NULL. */
static struct asess *
sess_of(struct hauth *h, const struct esock *k, const struct hreq *rq)
{
	char cv[SECRET_SIZE];
	uint8_t hash[32];
	struct asess *s;

	if (!cookie(rq, HAUTH_COOKIE, cv, sizeof(cv)))
		return NULL;
	sha256(cv, strlen(cv), hash);
	OPENSSL_cleanse(cv, sizeof(cv));
	TAILQ_FOREACH(s, bucket(h, hash), entry)
	{
		if (b0_ct_eq(s->hash, hash, 32) && strcmp(s->dns, k->dns) == 0)
			return s->expires > now_s() ? s : NULL;
	}
	return NULL;
}

/* --- logins --------------------------------------------------------------- */

static void
login_del(struct hauth *h, struct alogin *l)
{
	TAILQ_REMOVE(&h->logins, l, entry);
	h->nlogins--;
	OPENSSL_cleanse(l, sizeof(*l));
	free(l);
}

static struct alogin *
login_of(struct hauth *h, const struct hreq *rq)
{
	char cv[SECRET_SIZE];
	uint8_t hash[32];
	struct alogin *l;

	if (!cookie(rq, COOKIE_LOGIN, cv, sizeof(cv)))
		return NULL;
	sha256(cv, strlen(cv), hash);
	OPENSSL_cleanse(cv, sizeof(cv));
	TAILQ_FOREACH(l, &h->logins, entry)
	{
		if (b0_ct_eq(l->hash, hash, 32))
			return l->expires > now_s() ? l : NULL;
	}
	return NULL;
}

/*
 * A path of our own host to come back to, origin-form and relative: one
 * "/" first, no "//" anywhere, no backslash, no CR or LF (nor any other
 * control character).
 */
static int
return_ok(const char *t)
{
	size_t i;

	if (t[0] != '/' || strstr(t, "//") != NULL)
		return 0;
	for (i = 0; t[i] != '\0'; i++)
		if (t[i] == '\\' || (unsigned char)t[i] < 0x20 ||
		    (unsigned char)t[i] == 0x7f)
			return 0;
	return 1;
}

/* The request's path and query, if fit to come back to, else "/". */
static void
return_of(const struct hreq *rq, char *ret, size_t retsz)
{
	/* From path and query: rq->target may be cut. */
	if ((size_t)snprintf(ret, retsz, "%s%s%s", rq->path,
		rq->query[0] != '\0' ? "?" : "", rq->query) >= retsz ||
	    !return_ok(ret))
		b0_strlcpy(ret, "/", retsz);
}

/*
 * Room for one more login: the oldest of this visitor's address goes when
 * it has LOGIN_PER_ADDR, else the oldest of all when the table is full.
 */
static void
login_make_room(struct hauth *h, const struct hreq *rq)
{
	struct alogin *l, *first = NULL;
	char owner[64];
	size_t n = 0;

	fails_addr(rq->peer != NULL ? rq->peer : "", owner, sizeof(owner));
	TAILQ_FOREACH(l, &h->logins, entry)
	{
		if (strcmp(l->owner, owner) != 0)
			continue;
		if (first == NULL)
			first = l;
		n++;
	}
	if (n >= LOGIN_PER_ADDR)
		login_del(h, first);
	else if (h->nlogins >= LOGIN_MAX)
		login_del(h, TAILQ_FIRST(&h->logins));
}

/*
 * Send the browser to the edge's sign-in (client b0-http), to come back
 * to ret (a checked path) on k.
 */
static void
login_start(struct hauth *h, const struct esock *k, const struct hreq *rq,
    struct hresp *rs, const char *ret)
{
	struct alogin *l = NULL;
	char cv[SECRET_SIZE], challenge[SECRET_SIZE];
	uint8_t dg[32];
	struct b0_buf loc, cb;
	int r = B0_ERR_ALLOC;

	b0_buf_init(&loc, 8192);
	b0_buf_init(&cb, 1024);
	cv[0] = '\0';
	login_make_room(h, rq);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto out;
	if ((r = grants_random_b64(cv, sizeof(cv))) != 0 ||
	    (r = grants_random_b64(l->state, sizeof(l->state))) != 0 ||
	    (r = grants_random_b64(l->verifier, sizeof(l->verifier))) != 0)
		goto out;
	sha256(l->verifier, strlen(l->verifier), dg);
	if ((r = b0_b64url_encode(dg, 32, challenge, sizeof(challenge))) != 0)
		goto out;
	sha256(cv, strlen(cv), l->hash);
	l->expires = now_s() + LOGIN_TTL;
	b0_strlcpy(l->dns, k->dns, sizeof(l->dns));
	fails_addr(
	    rq->peer != NULL ? rq->peer : "", l->owner, sizeof(l->owner));
	b0_strlcpy(l->ret, ret, sizeof(l->ret));
	if ((r = socket_url(h, k, "/.b0/callback", &cb)) != 0 ||
	    (r = b0_buf_putf(&loc,
		 "%s/authorize?client_id=b0-http&response_type=code"
		 "&redirect_uri=",
		 idp_issuer(h->e->idp))) != 0 ||
	    (r = b0_http_pct_encode(
		 &loc, (const char *)b0_buf_ptr(&cb), b0_buf_len(&cb))) != 0 ||
	    (r = b0_buf_putf(&loc,
		 "&scope=openid%%20email&state=%s&code_challenge=%s"
		 "&code_challenge_method=S256",
		 l->state, challenge)) != 0 ||
	    (r = b0_buf_put(&loc, "", 1)) != 0)
		goto out;
	TAILQ_INSERT_TAIL(&h->logins, l, entry);
	h->nlogins++;
	l = NULL; /* kept */
	hresp_redirect(rs, (const char *)b0_buf_ptr(&loc));
	(void)hresp_header(rs,
	    "Set-Cookie: " COOKIE_LOGIN "=%s; Path=/; Max-Age=%d; "
	    "HttpOnly; Secure; SameSite=Lax",
	    cv, LOGIN_TTL);
	r = 0;
out:
	if (r != 0)
		answer_error(rq, rs, 503, "Busy", "Could not start a sign-in.");
	if (l != NULL) {
		OPENSSL_cleanse(l, sizeof(*l));
		free(l);
	}
	OPENSSL_cleanse(cv, sizeof(cv));
	b0_buf_cleanup(&loc);
	b0_buf_cleanup(&cb);
}

/*
 * login_keep(h, k, rq, rs, ret): remember ret (a checked path) for this
 * browser until its /.b0/login on k, under a fresh b0_login cookie.
 */
static int
login_keep(struct hauth *h, const struct esock *k, const struct hreq *rq,
    struct hresp *rs, const char *ret)
{
	struct alogin *l;
	char cv[SECRET_SIZE];
	int r;

	login_make_room(h, rq);
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return B0_ERR_ALLOC;
	if ((r = grants_random_b64(cv, sizeof(cv))) != 0 ||
	    (r = grants_random_b64(l->state, sizeof(l->state))) != 0 ||
	    (r = grants_random_b64(l->verifier, sizeof(l->verifier))) != 0) {
		OPENSSL_cleanse(l, sizeof(*l));
		free(l);
		OPENSSL_cleanse(cv, sizeof(cv));
		return r;
	}
	sha256(cv, strlen(cv), l->hash);
	l->expires = now_s() + LOGIN_TTL;
	b0_strlcpy(l->dns, k->dns, sizeof(l->dns));
	fails_addr(
	    rq->peer != NULL ? rq->peer : "", l->owner, sizeof(l->owner));
	b0_strlcpy(l->ret, ret, sizeof(l->ret));
	TAILQ_INSERT_TAIL(&h->logins, l, entry);
	h->nlogins++;
	(void)hresp_header(rs,
	    "Set-Cookie: " COOKIE_LOGIN "=%s; Path=/; Max-Age=%d; "
	    "HttpOnly; Secure; SameSite=Lax",
	    cv, LOGIN_TTL);
	OPENSSL_cleanse(cv, sizeof(cv));
	return 0;
}

/*
 * /.b0/login: a fresh sign-in on k, back to the path this browser's
 * b0_login record keeps (after "Sign in as someone else"), else to "/".
 */
static void
login_again(
    struct hauth *h, struct esock *k, const struct hreq *rq, struct hresp *rs)
{
	char ret[RETURN_MAX];
	struct alogin *l;

	b0_strlcpy(ret, "/", sizeof(ret));
	if ((l = login_of(h, rq)) != NULL && strcmp(l->dns, k->dns) == 0) {
		if (return_ok(l->ret))
			b0_strlcpy(ret, l->ret, sizeof(ret));
		login_del(h, l);
	}
	login_start(h, k, rq, rs, ret);
}

/* --- the /.b0/ endpoints -------------------------------------------------- */

static void
clear_login_cookie(struct hresp *rs)
{
	(void)hresp_header(rs, "Set-Cookie: " COOKIE_LOGIN "=; Path=/; "
			       "Max-Age=0; HttpOnly; Secure; SameSite=Lax");
}

static void
callback(
    struct hauth *h, struct esock *k, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	const char *code, *state, *err;
	char email[HAUTH_EMAIL_SIZE], src[SRC_SIZE], cv[SECRET_SIZE];
	char ret[RETURN_MAX];
	struct alogin *l;
	struct b0_buf cb;
	int r;

	b0_err_clear(&em);
	b0_buf_init(&cb, 1024);
	cv[0] = '\0';
	memset(&ps, 0, sizeof(ps));
	if ((r = b0_http_form_parse(rq->query, strlen(rq->query), 16,
		 B0_HTTP_FORM_NODUP, &ps, &em)) != 0) {
		answer_error(
		    rq, rs, 400, "Invalid request", b0_err_text(&em, r));
		goto out;
	}
	code = b0_http_params_get(&ps, "code");
	state = b0_http_params_get(&ps, "state");
	err = b0_http_params_get(&ps, "error");
	l = login_of(h, rq);
	if (l == NULL || strcmp(l->dns, k->dns) != 0) {
		answer_error(rq, rs, 400, "Sign-in failed",
		    "This sign-in was started in another browser or has "
		    "expired; open the site again.");
		goto out;
	}
	if (state == NULL || strlen(state) != strlen(l->state) ||
	    !b0_ct_eq(state, l->state, strlen(l->state))) {
		b0_log_rl(h->log, &h->rl, now_s(), B0_LOG_NOTICE,
		    "%s: http %s: callback with the wrong state refused",
		    rq->peer, k->dns);
		login_del(h, l);
		clear_login_cookie(rs);
		answer_error(rq, rs, 400, "Sign-in failed",
		    "The answer does not belong to the sign-in this browser "
		    "started; open the site again.");
		goto out;
	}
	b0_strlcpy(ret, l->ret, sizeof(ret));
	if (err != NULL || code == NULL) {
		login_del(h, l);
		clear_login_cookie(rs);
		answer_error(rq, rs, 401, "Sign-in failed",
		    err != NULL ? "The sign-in was refused."
				: "The answer carries no code.");
		goto out;
	}
	r = socket_url(h, k, "/.b0/callback", &cb);
	if (r == 0)
		r = b0_buf_put(&cb, "", 1);
	if (r == 0)
		r = idp_redeem_http(h->e->idp, code,
		    (const char *)b0_buf_ptr(&cb), l->verifier, email,
		    sizeof(email), src, sizeof(src), &em);
	login_del(h, l);
	clear_login_cookie(rs);
	if (r != 0) {
		answer_error(
		    rq, rs, 400, "Sign-in failed", b0_err_text(&em, r));
		goto out;
	}
	if (sess_new(h, k, email, src, (int64_t)h->e->conf->http_session_ttl_s,
		cv, sizeof(cv)) != 0) {
		answer_error(rq, rs, 503, "Busy", "Could not start a session.");
		goto out;
	}
	b0_notice(h->log, "%s: http %s: signed in: %s (%s)", rq->peer, k->dns,
	    email, src);
	hresp_redirect(rs, ret);
	(void)hresp_header(rs,
	    "Set-Cookie: " HAUTH_COOKIE "=%s; Path=/; Max-Age=%llu; "
	    "HttpOnly; Secure; SameSite=Lax",
	    cv, (unsigned long long)h->e->conf->http_session_ttl_s);
out:
	OPENSSL_cleanse(cv, sizeof(cv));
	b0_buf_cleanup(&cb);
	b0_http_params_cleanup(&ps);
}

/* What the CSRF token of /.b0/logout is bound to: the app session. */
static void
logout_binder(const struct asess *s, char *out, size_t outsz)
{
	char hv[SECRET_SIZE];

	if (b0_b64url_encode(s->hash, 32, hv, sizeof(hv)) != 0)
		hv[0] = '\0';
	snprintf(out, outsz, "a:%s", hv);
	OPENSSL_cleanse(hv, sizeof(hv));
}

static const char *
logout_purpose(int sw)
{
	return sw ? "http-switch" : "http-logout";
}

/* The CSRF token of /.b0/logout on k for session s into out. */
static void
logout_token(struct hauth *h, const struct esock *k, const struct asess *s,
    int sw, char *out, size_t outsz)
{
	char bind[SECRET_SIZE + 2];

	logout_binder(s, bind, sizeof(bind));
	idp_csrf_token(h->e->idp, logout_purpose(sw), bind, k->dns, out, outsz);
	OPENSSL_cleanse(bind, sizeof(bind));
}

/*
 * The form action of /.b0/logout for s: the token rides in the query,
 * since the edge reads no body on a socket host (the connection closes
 * after the answer instead).
 */
static int
logout_action(struct hauth *h, const struct esock *k, const struct asess *s,
    int sw, struct b0_buf *out)
{
	char tok[SECRET_SIZE];
	int r;

	logout_token(h, k, s, sw, tok, sizeof(tok));
	r = b0_buf_putf(
	    out, "/.b0/logout?%scsrf=%s", sw ? "switch=1&" : "", tok);
	if (r == 0)
		r = b0_buf_put(out, "", 1);
	OPENSSL_cleanse(tok, sizeof(tok));
	return r;
}

/* Where the edge's /logout comes back to: /.b0/login on k (NUL-ended). */
static int
edge_back(struct hauth *h, const struct esock *k, struct b0_buf *back)
{
	int r;

	b0_buf_reset(back);
	if ((r = socket_url(h, k, "/.b0/login", back)) == 0)
		r = b0_buf_put(back, "", 1);
	return r;
}

/*
 * The edge's /logout, back to /.b0/login on k, with a logout ticket
 * (NULL: none, the edge asks) into loc (NUL-terminated).
 */
static int
edge_logout_url(struct hauth *h, const struct esock *k, const char *ticket,
    struct b0_buf *loc)
{
	struct b0_buf back;
	int r;

	b0_buf_init(&back, 1024);
	if ((r = edge_back(h, k, &back)) == 0 &&
	    (r = b0_buf_putf(loc, "%s/logout?post_logout_redirect_uri=",
		 idp_issuer(h->e->idp))) == 0 &&
	    (r = b0_http_pct_encode(loc, (const char *)b0_buf_ptr(&back),
		 b0_buf_len(&back) - 1)) == 0 &&
	    ticket != NULL)
		r = b0_buf_putf(loc, "&logout_ticket=%s", ticket);
	if (r == 0)
		r = b0_buf_put(loc, "", 1);
	b0_buf_cleanup(&back);
	return r;
}

static void
clear_app_cookie(struct hresp *rs)
{
	(void)hresp_header(rs, "Set-Cookie: " HAUTH_COOKIE "=; Path=/; "
			       "Max-Age=0; HttpOnly; Secure; SameSite=Lax");
}

/*
 * /.b0/logout (docs/http.md): a GET asks (a page whose form POSTs with a
 * token bound to the app session); a POST with that token, from this
 * origin, ends the app session, and with switch=1 also the edge's
 * session (a one-time logout ticket in the redirect to the edge's
 * /logout) before a fresh login.  Without an app session nothing ends
 * here: switch=1 goes to the edge's /logout, which asks for itself.
 */
static void
logout(struct hauth *h, struct esock *k, const struct hreq *rq,
    struct hresp *rs, int post)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	struct asess *s;
	struct b0_buf loc, act, back;
	char detail[400], ret[RETURN_MAX], ticket[SECRET_SIZE];
	char bind[SECRET_SIZE + 2];
	const char *v;
	int r, sw;

	b0_err_clear(&em);
	memset(&ps, 0, sizeof(ps));
	b0_buf_init(&loc, 4096);
	b0_buf_init(&act, 1024);
	b0_buf_init(&back, 1024);
	b0_buf_set_secret(&loc); /* the ticket */
	b0_buf_set_secret(&act); /* the token */
	ticket[0] = '\0';
	if ((r = b0_http_form_parse(rq->query, strlen(rq->query), 16,
		 B0_HTTP_FORM_NODUP, &ps, &em)) != 0) {
		answer_error(
		    rq, rs, 400, "Invalid request", b0_err_text(&em, r));
		goto out;
	}
	v = b0_http_params_get(&ps, "switch");
	sw = v != NULL && strcmp(v, "1") == 0;
	if ((s = sess_of(h, k, rq)) == NULL) {
		/* Nothing to end here, nothing to protect. */
		clear_app_cookie(rs);
		if (sw) {
			if (edge_logout_url(h, k, NULL, &loc) != 0) {
				answer_error(rq, rs, 500, "Internal error",
				    "The redirect is too long.");
				goto out;
			}
			hresp_redirect(rs, (const char *)b0_buf_ptr(&loc));
			goto out;
		}
		snprintf(detail, sizeof(detail), "You are signed out of %s.",
		    k->dns);
		if (wants_html(rq) || !post)
			page_message(rs, 200, "Signed out", detail);
		else
			hresp_text(rs, 200, "%s", detail);
		goto out;
	}
	if (!post) {
		if (logout_action(h, k, s, sw, &act) != 0) {
			answer_error(rq, rs, 500, "Internal error",
			    "The page is too long.");
			goto out;
		}
		page_logout(rs, k->dns, s->email, sw,
		    (const char *)b0_buf_ptr(&act), NULL, NULL);
		rs->form_action = idp_issuer(h->e->idp);
		goto out;
	}
	logout_binder(s, bind, sizeof(bind));
	r = idp_csrf_check(h->e->idp, rq, logout_purpose(sw), bind, k->dns,
	    b0_http_params_get(&ps, "csrf"), &em);
	OPENSSL_cleanse(bind, sizeof(bind));
	if (r != 0) {
		b0_log_rl(h->log, &h->rl, now_s(), B0_LOG_NOTICE,
		    "%s: http %s: sign-out of %s refused: %s", rq->peer, k->dns,
		    s->email, b0_err_text(&em, r));
		if (socket_url(h, k,
			sw ? "/.b0/logout?switch=1" : "/.b0/logout",
			&act) != 0 ||
		    b0_buf_put(&act, "", 1) != 0)
			answer_error(rq, rs, 403, "Sign-out refused",
			    "This sign-out request did not come from this "
			    "site.");
		else if (wants_html(rq))
			page_logout_refused(
			    rs, k->dns, (const char *)b0_buf_ptr(&act));
		else
			hresp_text(rs, 403,
			    "This sign-out request did not come from this "
			    "site. Sign out again from %s.",
			    (const char *)b0_buf_ptr(&act));
		goto out;
	}
	b0_info(
	    h->log, "%s: http %s: signed out: %s", rq->peer, k->dns, s->email);
	b0_strlcpy(ret, "/", sizeof(ret));
	if (s->refused != NULL && return_ok(s->refused))
		b0_strlcpy(ret, s->refused, sizeof(ret));
	if (sw && (edge_back(h, k, &back) != 0 ||
		      idp_logout_ticket(h->e->idp, s->email,
			  (const char *)b0_buf_ptr(&back), ticket,
			  sizeof(ticket)) != 0))
		ticket[0] = '\0';
	sess_del(h, s);
	clear_app_cookie(rs);
	if (!sw) {
		snprintf(detail, sizeof(detail), "You are signed out of %s.",
		    k->dns);
		if (wants_html(rq))
			page_message(rs, 200, "Signed out", detail);
		else
			hresp_text(rs, 200, "%s", detail);
		goto out;
	}
	/* The page that refused them, kept here until /.b0/login. */
	if (strcmp(ret, "/") != 0 && login_keep(h, k, rq, rs, ret) != 0) {
		answer_error(rq, rs, 503, "Busy", "Could not start a sign-in.");
		goto out;
	}
	/* End the edge's session too (no ticket: the edge asks). */
	if (edge_logout_url(h, k, ticket[0] != '\0' ? ticket : NULL, &loc) !=
	    0) {
		answer_error(
		    rq, rs, 500, "Internal error", "The redirect is too long.");
		goto out;
	}
	hresp_redirect(rs, (const char *)b0_buf_ptr(&loc));
out:
	OPENSSL_cleanse(ticket, sizeof(ticket));
	b0_buf_cleanup(&loc);
	b0_buf_cleanup(&act);
	b0_buf_cleanup(&back);
	b0_http_params_cleanup(&ps);
}

static void
endpoint(
    struct hauth *h, struct esock *k, const struct hreq *rq, struct hresp *rs)
{
	int get =
	    strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;
	int post = strcmp(rq->method, "POST") == 0;

	if (strcmp(rq->path, "/.b0/callback") == 0) {
		if (get)
			callback(h, k, rq, rs);
		else {
			hresp_text(rs, 405, "method not allowed; use GET");
			(void)hresp_header(rs, "Allow: GET, HEAD");
		}
	} else if (strcmp(rq->path, "/.b0/logout") == 0) {
		if (get || post)
			logout(h, k, rq, rs, post);
		else {
			hresp_text(
			    rs, 405, "method not allowed; use GET or POST");
			(void)hresp_header(rs, "Allow: GET, HEAD, POST");
		}
	} else if (strcmp(rq->path, "/.b0/login") == 0) {
		if (get)
			login_again(h, k, rq, rs);
		else {
			hresp_text(rs, 405, "method not allowed; use GET");
			(void)hresp_header(rs, "Allow: GET, HEAD");
		}
	} else
		answer_error(
		    rq, rs, 404, "Not found", "There is no such page here.");
}

/* --- basic auth ----------------------------------------------------------- */

/* The cache key of one Authorization value on k.  Returns 1, 0 on error. */
static int
basic_mac(struct hauth *h, const struct esock *k, const char *v, size_t n,
    uint8_t mac[32])
{
	unsigned int len = 32;
	struct b0_buf b;
	int ok = 1;

	/* The socket, its user and hash: a new password ends the cache. */
	b0_buf_init(&b, B0_DNS_SIZE + sizeof(k->prot_user) +
			    sizeof(k->prot_hash) + B0_HTTP_LINE_MAX);
	b0_buf_set_secret(&b);
	if (b0_buf_putf(&b, "%s%c%s%c%s%c", k->dns, 0, k->prot_user, 0,
		k->prot_hash, 0) != 0 ||
	    b0_buf_put(&b, v, n) != 0 ||
	    HMAC(EVP_sha256(), h->key, sizeof(h->key), b0_buf_ptr(&b),
		b0_buf_len(&b), mac, &len) == NULL)
		ok = 0;
	b0_buf_cleanup(&b);
	return ok;
}

/* Is user:password (decoded) right for k?  Costs a yescrypt. */
static int
basic_check(const struct esock *k, const char *cred)
{
	struct crypt_data *cd;
	const char *colon = strchr(cred, ':'), *out;
	size_t ulen;
	int ok = 0;

	if (colon == NULL || strncmp(k->prot_hash, "$y$", 3) != 0)
		return 0;
	ulen = (size_t)(colon - cred);
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	out = crypt_rn(colon + 1, k->prot_hash, cd, sizeof(*cd));
	if (out != NULL && strlen(out) == strlen(k->prot_hash) &&
	    b0_ct_eq(out, k->prot_hash, strlen(out)) &&
	    ulen == strlen(k->prot_user) && b0_ct_eq(cred, k->prot_user, ulen))
		ok = 1;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

static void
basic_refuse(const struct hreq *rq, struct hresp *rs, const struct esock *k,
    const char *why)
{
	if (wants_html(rq))
		page_http_basic(rs, k->dns, why);
	else
		hresp_text(rs, 401, "%s asks for a user name and password%s%s",
		    k->dns, why != NULL ? ": " : "", why != NULL ? why : "");
	(void)hresp_header(rs,
	    "WWW-Authenticate: Basic realm=\"%s\", charset=\"UTF-8\"", k->dns);
}

/* 1 if the request carries k's basic-auth credentials, else answered. */
static int
basic_ok(struct hauth *h, const struct esock *k, const struct hreq *rq,
    struct hresp *rs, struct hwho *who)
{
	const char *v;
	size_t n, dn = 0, i;
	uint8_t mac[32], raw[BASIC_MAX + 1];
	char addr[64];
	int64_t now = now_s(), wait;
	int ok = 0, cacheable;

	if (b0_http_get(&rq->req->h, "Authorization", &v, &n) != 1 || n < 7 ||
	    !b0_str_ncaseeq(v, "Basic ", 6)) {
		basic_refuse(rq, rs, k, NULL);
		return 0;
	}
	v += 6;
	n -= 6;
	while (n > 0 && *v == ' ') {
		v++;
		n--;
	}
	cacheable = basic_mac(h, k, v, n, mac);
	for (i = 0; cacheable && i < BASIC_SLOTS; i++)
		if (h->ok[i].expires > now && b0_ct_eq(h->ok[i].mac, mac, 32)) {
			ok = 1;
			break;
		}
	fails_addr(rq->peer != NULL ? rq->peer : "", addr, sizeof(addr));
	if (!ok && (wait = fails_wait(&h->fails, addr, FAIL_MAX, now)) > 0) {
		answer_error(rq, rs, 429, "Too many tries",
		    "Too many wrong passwords from your address; wait a few "
		    "minutes.");
		(void)hresp_header(rs, "Retry-After: %lld", (long long)wait);
		return 0;
	}
	if (!ok && users_crypt_take() != 0) {
		/* The edge's yescrypt budget is spent: no hash, no failure. */
		b0_log_rl(h->log, &h->rl, now, B0_LOG_NOTICE,
		    "%s: http %s: too many password checks on the edge; "
		    "refused",
		    rq->peer, k->dns);
		answer_error(rq, rs, 429, "Too many tries",
		    "The edge is busy checking passwords; try again in a "
		    "second.");
		(void)hresp_header(rs, "Retry-After: 1");
		OPENSSL_cleanse(mac, sizeof(mac));
		return 0;
	}
	if (!ok) {
		if (b0_b64_decode(v, n, raw, BASIC_MAX, &dn) == 0) {
			raw[dn] = '\0';
			ok = memchr(raw, '\0', dn) == NULL &&
			     basic_check(k, (const char *)raw);
		}
		if (ok && cacheable) {
			h->ok[h->ok_next].expires = now + BASIC_TTL;
			memcpy(h->ok[h->ok_next].mac, mac, 32);
			h->ok_next = (h->ok_next + 1) % BASIC_SLOTS;
		} else if (!ok) {
			fails_note(&h->fails, addr, now);
			b0_log_rl(h->log, &h->rl, now, B0_LOG_NOTICE,
			    "%s: http %s: wrong basic-auth user or password",
			    rq->peer, k->dns);
		}
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(mac, sizeof(mac));
	if (!ok) {
		basic_refuse(rq, rs, k, "wrong user name or password");
		return 0;
	}
	b0_strlcpy(who->user, k->prot_user, sizeof(who->user));
	who->strip_authorization = 1;
	return 1;
}

/* --- the decision --------------------------------------------------------- */

static int
is_protected(const struct esock *k)
{
	return k->prot_user[0] != '\0' && k->prot_hash[0] != '\0';
}

/* --- the Bearer token cache ----------------------------------------------- */

static struct bearer_ok *
tok_set(struct hauth *h, const uint8_t hash[32])
{
	return &h->tok[((hash[0] | (unsigned)hash[1] << 8) % BEARER_SETS) *
		       BEARER_WAYS];
}

/* The live cache entry of a token's hash, or NULL. */
static struct bearer_ok *
tok_find(struct hauth *h, const uint8_t hash[32], int64_t now)
{
	struct bearer_ok *set = tok_set(h, hash);
	size_t i;

	for (i = 0; i < BEARER_WAYS; i++) {
		if (set[i].exp == 0 || !b0_ct_eq(set[i].hash, hash, 32))
			continue;
		if (set[i].exp > now)
			return &set[i];
		OPENSSL_cleanse(&set[i], sizeof(set[i])); /* expired */
	}
	return NULL;
}

/* Remember a good token (its hash) until exp: a free slot or the oldest. */
static void
tok_add(struct hauth *h, const uint8_t hash[32], int64_t exp, const char *email,
    const char *src)
{
	struct bearer_ok *set = tok_set(h, hash), *b = &set[0];
	size_t i;

	for (i = 0; i < BEARER_WAYS; i++) {
		if (set[i].exp == 0) {
			b = &set[i];
			break;
		}
		if (set[i].added < b->added)
			b = &set[i];
	}
	memset(b, 0, sizeof(*b));
	memcpy(b->hash, hash, 32);
	b->exp = exp;
	b->added = ++h->tok_added;
	b0_strlcpy(b->email, email, sizeof(b->email));
	b0_strlcpy(b->src, src, sizeof(b->src));
}

/* Authorization: Bearer: 1 and who filled, 0 not sent, -1 answered. */
static int
bearer(struct hauth *h, const struct esock *k, const struct hreq *rq,
    struct hresp *rs, struct hwho *who)
{
	struct b0_errmsg em;
	struct bearer_ok *b;
	const char *v;
	size_t n, cnt;
	char clean[200], src[SRC_SIZE];
	uint8_t hash[32];
	int64_t now = now_s(), exp = 0;
	int r;

	cnt = b0_http_get(&rq->req->h, "Authorization", &v, &n);
	if (cnt == 0 || n < 7 || !b0_str_ncaseeq(v, "Bearer ", 7))
		return cnt > 1 ? -2 : 0;
	if (cnt > 1)
		return -2;
	v += 7;
	n -= 7;
	b0_err_clear(&em);
	sha256(v, n, hash);
	/* A cached token counts while the edge still has its key. */
	if ((b = tok_find(h, hash, now)) != NULL &&
	    !idp_own_token(h->e->idp, v, n)) {
		OPENSSL_cleanse(b, sizeof(*b));
		b = NULL;
	}
	if (b != NULL) {
		b0_strlcpy(who->email, b->email, sizeof(who->email));
		who->via = HAUTH_BEARER;
		who->strip_authorization = 1;
		return 1;
	}
	r = idp_check_access_who(h->e->idp, v, n, who->email,
	    sizeof(who->email), src, sizeof(src), &exp, &em);
	if (r == 0 && exp > now) {
		/*
		 * Checked once; the cache answers until exp, user del, or
		 * the key's deletion.
		 */
		b0_debug(h->log,
		    "%s: http %s: bearer token of %s verified, cached for %lld "
		    "s",
		    rq->peer, k->dns, who->email, (long long)(exp - now));
		tok_add(h, hash, exp, who->email, src);
	}
	if (r != 0) {
		size_t i;

		b0_strlcpy(clean, b0_err_text(&em, r), sizeof(clean));
		for (i = 0; clean[i] != '\0'; i++)
			if (clean[i] == '"' || clean[i] == '\\')
				clean[i] = '\'';
		b0_log_rl(h->log, &h->rl, now_s(), B0_LOG_INFO,
		    "%s: http %s: bearer token refused: %s", rq->peer, k->dns,
		    clean);
		hresp_text(rs, 401, "invalid token: %s", clean);
		(void)hresp_header(rs,
		    "WWW-Authenticate: Bearer error=\"invalid_token\", "
		    "error_description=\"%s\"",
		    clean);
		who->email[0] = '\0';
		return -1;
	}
	who->via = HAUTH_BEARER;
	who->strip_authorization = 1;
	return 1;
}

/*
 * Does Authorization carry one of the edge's own tokens (b0-proxy token)?
 * Any Authorization header that is a Bearer of the edge's keys counts.
 */
static int
own_bearer(struct hauth *h, const struct hreq *rq)
{
	const struct b0_http_head *hd = &rq->req->h;
	const char *v;
	size_t i, n;

	for (i = 0; i < hd->nfields; i++) {
		if (!b0_http_field_is(&hd->fields[i], "Authorization"))
			continue;
		v = hd->fields[i].value;
		n = hd->fields[i].value_len;
		if (n < 7 || !b0_str_ncaseeq(v, "Bearer ", 7))
			continue;
		v += 7;
		n -= 7;
		while (n > 0 && *v == ' ') {
			v++;
			n--;
		}
		if (idp_own_token(h->e->idp, v, n))
			return 1;
	}
	return 0;
}

enum hauth_result
hauth_request(struct hauth *h, struct esock *k, const struct hreq *rq,
    struct hresp *rs, struct hwho *who)
{
	struct b0_errmsg reason;
	struct asess *s = NULL;
	struct b0_buf act;
	char ret[RETURN_MAX];
	int r;

	memset(who, 0, sizeof(*who));
	if (h == NULL || h->e->idp == NULL) {
		hresp_text(rs, 503, "the edge cannot check who you are");
		return HAUTH_ANSWERED;
	}
	if (b0_str_has_prefix(rq->path, "/.b0/")) {
		endpoint(h, k, rq, rs);
		return HAUTH_ANSWERED;
	}
	if (is_protected(k) && !basic_ok(h, k, rq, rs, who))
		return HAUTH_ANSWERED;
	if (!b0_spec_login(&k->sp)) {
		who->via = HAUTH_NONE;
		/* The edge's own access tokens stay at the edge. */
		if (!who->strip_authorization && own_bearer(h, rq))
			who->strip_authorization = 1;
		return HAUTH_PASS;
	}
	r = is_protected(k) ? 0 : bearer(h, k, rq, rs, who);
	if (r == -1)
		return HAUTH_ANSWERED;
	if (r == -2) {
		hresp_text(rs, 400, "more than one Authorization header");
		return HAUTH_ANSWERED;
	}
	if (r == 0) {
		if ((s = sess_of(h, k, rq)) != NULL) {
			who->via = HAUTH_SESSION;
			b0_strlcpy(who->email, s->email, sizeof(who->email));
		} else if (strcmp(rq->method, "GET") == 0 ||
			   strcmp(rq->method, "HEAD") == 0) {
			return_of(rq, ret, sizeof(ret));
			login_start(h, k, rq, rs, ret);
			return HAUTH_ANSWERED;
		} else {
			hresp_text(rs, 401,
			    "sign in first: open https://%s%s/ in a browser, "
			    "or send Authorization: Bearer <access token>",
			    k->dns, idp_port_suffix(h->e->idp));
			(void)hresp_header(rs,
			    "WWW-Authenticate: Bearer realm=\"%s\"", k->dns);
			return HAUTH_ANSWERED;
		}
	}
	b0_str_lower(who->email);
	b0_err_clear(&reason);
	if (b0_spec_match(&k->sp, who->email, &reason) == 0)
		return HAUTH_PASS;
	b0_log_rl(h->log, &h->rl, now_s(), B0_LOG_NOTICE,
	    "%s: http %s: %s refused: %s", rq->peer, k->dns, who->email,
	    b0_err_text(&reason, B0_ERR_DENIED));
	/* "Sign in as someone else" comes back here. */
	return_of(rq, ret, sizeof(ret));
	if (s != NULL && strcmp(ret, "/") != 0) {
		free(s->refused);
		s->refused = strdup(ret);
	}
	if (wants_html(rq) && s != NULL) {
		/* One click: the form POSTs with the session's token. */
		b0_buf_init(&act, 1024);
		b0_buf_set_secret(&act);
		if (logout_action(h, k, s, 1, &act) == 0) {
			page_http_denied(rs, who->email, k->dns,
			    (const char *)b0_buf_ptr(&act), 1);
			rs->form_action = idp_issuer(h->e->idp);
		} else
			page_http_denied(
			    rs, who->email, k->dns, "/.b0/logout?switch=1", 0);
		b0_buf_cleanup(&act);
	} else if (wants_html(rq))
		page_http_denied(
		    rs, who->email, k->dns, "/.b0/logout?switch=1", 0);
	else
		hresp_text(
		    rs, 403, "%s is not allowed on %s", who->email, k->dns);
	return HAUTH_ANSWERED;
}

/* --- life cycle ----------------------------------------------------------- */

int
hauth_new(struct edge *e, struct hauth **hp, struct b0_errmsg *em)
{
	struct hauth *h;
	size_t i;

	*hp = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return B0_ERR_ALLOC;
	h->e = e;
	h->log = &e->log;
	fails_init(&h->fails, FAIL_WINDOW);
	h->rl.burst = 20;
	h->rl.interval = 60;
	for (i = 0; i < SESS_BUCKETS; i++)
		TAILQ_INIT(&h->sess[i]);
	TAILQ_INIT(&h->logins);
	h->last_check = now_s();
	if (RAND_bytes(h->key, sizeof(h->key)) != 1) {
		free(h);
		b0_err_set(em, "no random numbers");
		return B0_ERR_CRYPTO;
	}
	*hp = h;
	return 0;
}

void
hauth_free(struct hauth *h)
{
	struct asess *s;
	struct alogin *l;
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < SESS_BUCKETS; i++)
		while ((s = TAILQ_FIRST(&h->sess[i])) != NULL)
			sess_del(h, s);
	while ((l = TAILQ_FIRST(&h->logins)) != NULL)
		login_del(h, l);
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
}

void
hauth_tick(struct hauth *h)
{
	struct asess *s, *next;
	struct alogin *l;
	int64_t now = now_s();
	int check;
	size_t i;

	if (h == NULL)
		return;
	while ((l = TAILQ_FIRST(&h->logins)) != NULL && l->expires <= now)
		login_del(h, l);
	check = now - h->last_check >= CHECK_EVERY;
	if (check)
		h->last_check = now;
	for (i = 0; i < BEARER_MAX; i++) {
		struct bearer_ok *b = &h->tok[i];

		if (b->exp == 0)
			continue;
		if (b->exp <= now ||
		    (check && !idp_who_current(h->e->idp, b->email, b->src)))
			OPENSSL_cleanse(b, sizeof(*b));
	}
	for (i = 0; i < SESS_BUCKETS; i++)
		for (s = TAILQ_FIRST(&h->sess[i]); s != NULL; s = next) {
			next = TAILQ_NEXT(s, entry);
			if (s->expires <= now)
				sess_del(h, s);
			else if (check && !idp_who_current(
					      h->e->idp, s->email, s->src)) {
				b0_notice(h->log,
				    "http %s: session of %s ended: no longer "
				    "a user of this edge",
				    s->dns, s->email);
				sess_del(h, s);
			}
		}
}

void
hauth_drop_socket(struct hauth *h, struct esock *k)
{
	struct asess *s, *next;
	struct alogin *l, *lnext;
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < SESS_BUCKETS; i++)
		for (s = TAILQ_FIRST(&h->sess[i]); s != NULL; s = next) {
			next = TAILQ_NEXT(s, entry);
			if (strcmp(s->dns, k->dns) == 0)
				sess_del(h, s);
		}
	for (l = TAILQ_FIRST(&h->logins); l != NULL; l = lnext) {
		lnext = TAILQ_NEXT(l, entry);
		if (strcmp(l->dns, k->dns) == 0)
			login_del(h, l);
	}
}
