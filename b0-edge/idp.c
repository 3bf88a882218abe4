/*
 * b0-edge as OAuth 2.0 authorization server and OpenID Connect issuer
 * (docs/identity.md): the endpoints, the tokens, and the checks of the
 * tokens it issued.  keys.c holds the signing keys, grants.c what is
 * remembered between requests, users.c the built-in accounts, upstream.c
 * the upstream providers, pages.c the HTML.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "b0_b64.h"
#include "b0_daemon.h"
#include "b0_http.h"
#include "b0_ident.h"
#include "b0_jsonw.h"
#include "b0_jwt.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "edge.h"
#include "fails.h"
#include "grants.h"
#include "idp.h"
#include "keys.h"
#include "pages.h"
#include "upstream.h"
#include "users.h"

#define CLIENT_ID "b0-proxy"
#define CLIENT_HTTP "b0-http" /* the edge's own, for http sockets */
#define SKEW 60
#define TICKET_TTL 60
#define SCOPE_GRANTED "openid email"
#define PARAMS_MAX 32
#define ISSUER_SIZE 300

/* Failed sign-ins (and mistyped user codes) per address and account. */
#define FAILS_WINDOW 300
#define FAILS_PER_ADDR 10
#define FAILS_PER_ACCOUNT 10

#define SRC_BUILTIN "builtin"
#define SRC_UPSTREAM "upstream:"

#define COOKIE_SESSION "__Host-b0_session"
#define COOKIE_CSRF "__Host-b0_csrf"

/* One-time logout tickets of the http socket hosts ("switch"). */
#define LOGOUT_TICKETS 256
#define LOGOUT_TICKET_TTL 60

/* A logout ticket (idp_logout_ticket()): its hash, for whom, where back. */
struct logout_ticket {
	uint8_t hash[32];
	uint8_t back[32]; /* SHA-256 of post_logout_redirect_uri */
	int64_t expires;  /* 0: a free slot */
	char email[GRANT_EMAIL_SIZE];
};

/* A login at an upstream provider whose result is awaited. */
struct upcb {
	struct idp *idp;
	char req[GRANT_ID_SIZE];
	char provider[33]; /* who answered */
	int in_call;	   /* done() may come while upstreams_callback() runs */
	int ended;
	char email[GRANT_EMAIL_SIZE];
	char why[256];
	TAILQ_ENTRY(upcb) entry;
};

struct idp {
	struct edge *e;
	const struct b0_log *log;
	char issuer[ISSUER_SIZE];
	char domain[256];
	char state_dir[PATH_MAX];
	int64_t access_ttl;
	int64_t refresh_ttl;
	int builtin;
	char providers[EDGE_MAX_PROVIDERS][33];
	int nproviders;
	struct keys *keys;
	struct users *users;
	struct upstreams *up;
	struct grants *g;
	uint8_t csrf_key[32];
	struct fails fails; /* login form and device codes */
	struct logout_ticket lts[LOGOUT_TICKETS];
	TAILQ_HEAD(, upcb) upcbs;
	struct b0_log_ratelimit rl;
	struct b0_buf scratch; /* a redirect's Location, per request */
	char port_suffix[8];   /* ":PORT" of the issuer, "" for 443 */
	char csp_hosts[300];   /* form-action: https, any socket host, port */
	struct b0_buf jwks;    /* the published keys, for KEYS frames */
	uint64_t jwks_gen;     /* bumped when jwks changes */
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int jwks_update(struct idp *idp);

/* Tokens signed by an older key may live this long after a rotation. */
static int64_t
retain_s(const struct idp *idp)
{
	return keys_retain_s((uint64_t)idp->access_ttl);
}

const char *
idp_issuer(const struct idp *idp)
{
	return idp->issuer;
}

const char *
idp_port_suffix(const struct idp *idp)
{
	return idp != NULL ? idp->port_suffix : "";
}

const char *
idp_csp_hosts(const struct idp *idp)
{
	return idp != NULL ? idp->csp_hosts : "";
}

/* --- small helpers ------------------------------------------------------ */

/* Is peer (or account, if not NULL) locked out?  Seconds to wait. */
static int64_t
limited(struct idp *idp, const char *peer, const char *account, int64_t now)
{
	char key[FAILS_KEY_SIZE], addr[64];
	int64_t w;

	fails_addr(peer, addr, sizeof(addr));
	snprintf(key, sizeof(key), "ip:%s", addr);
	if ((w = fails_wait(&idp->fails, key, FAILS_PER_ADDR, now)) > 0)
		return w;
	if (account == NULL)
		return 0;
	snprintf(key, sizeof(key), "user:%s", account);
	return fails_wait(&idp->fails, key, FAILS_PER_ACCOUNT, now);
}

static void
failed(struct idp *idp, const char *peer, const char *account, int64_t now)
{
	char key[FAILS_KEY_SIZE], addr[64];

	fails_addr(peer, addr, sizeof(addr));
	snprintf(key, sizeof(key), "ip:%s", addr);
	fails_note(&idp->fails, key, now);
	if (account != NULL) {
		snprintf(key, sizeof(key), "user:%s", account);
		fails_note(&idp->fails, key, now);
	}
}

/*
 * cookie(rq, name, out, outsz): copy the value of cookie name if the
 * request carries it exactly once and it looks like ours (43 base64url
 * characters).  Two of them (one tossed in by a sibling domain) count as
 * none.  Returns 1 or 0.
 */
static int
cookie(const struct hreq *rq, const char *name, char *out, size_t outsz)
{
	const struct b0_http_head *h = &rq->req->h;
	size_t i, nlen = strlen(name), found = 0;

	out[0] = '\0';
	for (i = 0; i < h->nfields; i++) {
		const char *v = h->fields[i].value, *end;
		size_t n = h->fields[i].value_len;

		if (!b0_http_field_is(&h->fields[i], "Cookie"))
			continue;
		end = v + n;
		while (v < end) {
			const char *semi = memchr(v, ';', (size_t)(end - v));
			const char *pe = semi != NULL ? semi : end;

			while (v < pe && (*v == ' ' || *v == '\t'))
				v++;
			if ((size_t)(pe - v) > nlen &&
			    memcmp(v, name, nlen) == 0 && v[nlen] == '=') {
				size_t vl = (size_t)(pe - v) - nlen - 1;

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

static void
set_cookie(struct hresp *rs, const char *name, const char *value, long maxage)
{
	if (maxage > 0)
		(void)hresp_header(rs,
		    "Set-Cookie: %s=%s; Path=/; Max-Age=%ld; HttpOnly; Secure; "
		    "SameSite=Lax",
		    name, value, maxage);
	else if (maxage == 0)
		(void)hresp_header(rs,
		    "Set-Cookie: %s=%s; Path=/; HttpOnly; Secure; SameSite=Lax",
		    name, value);
	else
		(void)hresp_header(rs,
		    "Set-Cookie: %s=; Path=/; Max-Age=0; HttpOnly; Secure; "
		    "SameSite=Lax",
		    name);
}

/*
 * The browser's b0_csrf cookie, or a new one set on rs (double submit
 * before sign-in).  Returns 0 or an error.
 */
static int
browser_cookie(const struct hreq *rq, struct hresp *rs, char *out, size_t outsz)
{
	int r;

	if (cookie(rq, COOKIE_CSRF, out, outsz))
		return 0;
	if ((r = grants_random_b64(out, outsz)) != 0)
		return r;
	set_cookie(rs, COOKIE_CSRF, out, 0);
	return 0;
}

/*
 * csrf_token(idp, purpose, binder, req, out): HMAC of what the form is for
 * and what it is bound to ("s:" session cookie or "c:" b0_csrf cookie,
 * and the pending request), base64url.
 */
static void
csrf_token(const struct idp *idp, const char *purpose, const char *binder,
    const char *req, char *out, size_t outsz)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	struct b0_buf b;

	b0_buf_init(&b, 1024);
	b0_buf_set_secret(&b);
	if (b0_buf_putf(&b, "%s%c%s%c%s", purpose, 0, binder, 0, req) != 0 ||
	    HMAC(EVP_sha256(), idp->csrf_key, sizeof(idp->csrf_key),
		b0_buf_ptr(&b), b0_buf_len(&b), mac, &maclen) == NULL ||
	    b0_b64url_encode(mac, 32, out, outsz) != 0) {
		/* A token nothing matches. */
		b0_strlcpy(out, "-", outsz);
	}
	b0_buf_cleanup(&b);
	OPENSSL_cleanse(mac, sizeof(mac));
}

static int
csrf_ok(const struct idp *idp, const char *purpose, const char *binder,
    const char *req, const char *got)
{
	char want[GRANT_SECRET_SIZE];
	int ok;

	if (got == NULL || strlen(got) != 43)
		return 0;
	csrf_token(idp, purpose, binder, req, want, sizeof(want));
	ok = b0_ct_eq(want, got, 43);
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

void
idp_csrf_token(const struct idp *idp, const char *purpose, const char *binder,
    const char *req, char *out, size_t outsz)
{
	csrf_token(idp, purpose, binder, req, out, outsz);
}

int
idp_csrf_check(const struct idp *idp, const struct hreq *rq,
    const char *purpose, const char *binder, const char *req, const char *got,
    struct b0_errmsg *em)
{
	const char *v;
	size_t n, cnt;

	/* Browsers set it and no page can: another site cannot pass. */
	cnt = b0_http_get(&rq->req->h, "Sec-Fetch-Site", &v, &n);
	if (cnt > 1) {
		b0_err_set(em, "Sec-Fetch-Site sent twice");
		return B0_ERR_AUTH;
	}
	if (cnt == 1 && (n != 11 || memcmp(v, "same-origin", 11) != 0)) {
		b0_err_set(em, "Sec-Fetch-Site is \"%.*s\", not same-origin",
		    (int)(n > 16 ? 16 : n), v);
		return B0_ERR_AUTH;
	}
	if (got == NULL || *got == '\0') {
		b0_err_set(em, "no csrf token");
		return B0_ERR_AUTH;
	}
	if (!csrf_ok(idp, purpose, binder, req, got)) {
		b0_err_set(em, "a wrong csrf token");
		return B0_ERR_AUTH;
	}
	return 0;
}

static void
binder(char *out, size_t outsz, char kind, const char *cookie_value)
{
	snprintf(out, outsz, "%c:%s", kind, cookie_value);
}

static int who_current(const struct idp *idp, const char *email,
    const char *src, struct b0_errmsg *em);

/*
 * The browser session of this request, and its cookie value.  A session
 * of someone the edge no longer lets in (`user del`, a provider removed)
 * ends here: the browser signs in again.
 */
static struct bsess *
session_of(struct idp *idp, const struct hreq *rq, char *cv, size_t cvsz)
{
	struct bsess *s;

	if (!cookie(rq, COOKIE_SESSION, cv, cvsz))
		return NULL;
	s = bsess_find(idp->g, cv, now_s());
	if (s != NULL && !who_current(idp, s->who.email, s->who.src, NULL)) {
		bsess_del(idp->g, s);
		s = NULL;
	}
	if (s == NULL) {
		OPENSSL_cleanse(cv, cvsz);
		cv[0] = '\0';
	}
	return s;
}

/* Parse a query or form; a repeated parameter is an error. */
static int
params(const char *s, size_t n, struct b0_http_params *ps, struct b0_errmsg *em)
{
	int r;

	memset(ps, 0, sizeof(*ps));
	r = b0_http_form_parse(s, n, PARAMS_MAX, B0_HTTP_FORM_NODUP, ps, em);
	if (r == B0_ERR_EXISTS)
		b0_err_prefix(em, "a parameter appears twice");
	return r;
}

static int
form_body(
    const struct hreq *rq, struct b0_http_params *ps, struct b0_errmsg *em)
{
	const char *ct;
	size_t ctlen;

	if (b0_http_get(&rq->req->h, "Content-Type", &ct, &ctlen) != 1 ||
	    ctlen < 33 ||
	    !b0_str_ncaseeq(ct, "application/x-www-form-urlencoded", 33) ||
	    (ctlen > 33 && ct[33] != ';' && ct[33] != ' ')) {
		memset(ps, 0, sizeof(*ps));
		b0_err_set(
		    em, "the body must be application/x-www-form-urlencoded");
		return B0_ERR_FORMAT;
	}
	if (rq->body_len > HTTP_BODY_MAX) {
		memset(ps, 0, sizeof(*ps));
		b0_err_set(
		    em, "the body is larger than %d bytes", HTTP_BODY_MAX);
		return B0_ERR_TOO_BIG;
	}
	return params((const char *)rq->body, rq->body_len, ps, em);
}

static const char *
param(const struct b0_http_params *ps, const char *name)
{
	const char *v = b0_http_params_get(ps, name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* "XXXXXXXX" shown as "XXXX-XXXX". */
static void
user_code_show(const char *code, char *out, size_t outsz)
{
	snprintf(out, outsz, "%.4s-%.4s", code, code + 4);
}

static int
email_ok(const char *s)
{
	size_t i;

	if (b0_ident_check_email(s, strlen(s), NULL) != 0 ||
	    strlen(s) >= GRANT_EMAIL_SIZE)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return 0;
	return 1;
}

/* Does a space-separated scope hold word? */
static int
scope_has(const char *scope, const char *word)
{
	size_t n = strlen(word);
	const char *p = scope;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == scope || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/* RFC 6749 3.3 scope tokens, separated by single spaces. */
static int
scope_valid(const char *s)
{
	size_t i;

	if (strlen(s) > 512)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' && i > 0 && s[i + 1] != ' ' && s[i + 1] != '\0')
			continue;
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

/* Is every word of scope one of the words of granted? */
static int
scope_within(const char *scope, const char *granted)
{
	char w[64];
	const char *p = scope;
	size_t n;

	if (!scope_valid(scope))
		return 0;
	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n == 0 || n >= sizeof(w))
			return 0;
		memcpy(w, p, n);
		w[n] = '\0';
		if (!scope_has(granted, w))
			return 0;
		p += n;
		if (*p == ' ')
			p++;
	}
	return 1;
}

/* Visible ASCII only, for state and nonce (carried, not interpreted). */
static int
vschar(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return i < max;
}

/*
 * RFC 8252 7.3: http://127.0.0.1:PORT/PATH or http://[::1]:PORT/PATH,
 * with exactly these host literals, a port, no user info and no fragment;
 * the path (and query) of plain URI characters, so the URI can go into a
 * Location field unchanged.
 */
static int
loopback_uri(const char *s)
{
	const char *p;
	uint32_t port;
	size_t n, i;

	if (strlen(s) >= GRANT_URI_SIZE)
		return 0;
	if (b0_str_has_prefix(s, "http://127.0.0.1:"))
		p = s + 17;
	else if (b0_str_has_prefix(s, "http://[::1]:"))
		p = s + 13;
	else
		return 0;
	n = strspn(p, "0123456789");
	if (n == 0 || n > 5 || b0_parse_u32n(p, n, 1, 65535, &port) != 0)
		return 0;
	p += n;
	if (*p != '/')
		return 0;
	for (i = 0; p[i] != '\0'; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@/?", c))
			continue;
		if (c == '%' && isxdigit((unsigned char)p[i + 1]) &&
		    isxdigit((unsigned char)p[i + 2]))
			continue;
		return 0;
	}
	return 1;
}

/* Plain URI characters for a path and query that go into Location as is. */
static int
uri_path_chars(const char *p)
{
	size_t i;

	for (i = 0; p[i] != '\0'; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@/?", c))
			continue;
		if (c == '%' && isxdigit((unsigned char)p[i + 1]) &&
		    isxdigit((unsigned char)p[i + 2]))
			continue;
		return 0;
	}
	return 1;
}

/*
 * Client b0-http (docs/identity.md): is uri "https://<DNS name of a
 * registered http or https socket><the issuer's :port>/.b0/callback"
 * (exact), or, for the way back from /logout (!exact), exactly the path
 * /.b0/login there with an optional query of plain URI characters (no
 * other path: "/.b0/../x" would leave /.b0/)?
 */
static int
http_socket_uri(const struct idp *idp, const char *uri, int exact)
{
	const struct esock *k;
	const char *p, *rest;
	size_t n;

	if (strlen(uri) >= GRANT_URI_SIZE ||
	    !b0_str_has_prefix(uri, "https://"))
		return 0;
	p = uri + 8;
	TAILQ_FOREACH(k, &idp->e->socks, entry)
	{
		if (k->sp.type != B0_SOCK_HTTP && k->sp.type != B0_SOCK_HTTPS)
			continue;
		n = strlen(k->dns);
		if (n == 0 || strncmp(p, k->dns, n) != 0)
			continue;
		rest = p + n;
		if (!b0_str_has_prefix(rest, idp->port_suffix))
			continue;
		rest += strlen(idp->port_suffix);
		if (exact && strcmp(rest, "/.b0/callback") == 0)
			return 1;
		if (!exact && (strcmp(rest, "/.b0/login") == 0 ||
				  (b0_str_has_prefix(rest, "/.b0/login?") &&
				      uri_path_chars(rest))))
			return 1;
	}
	return 0;
}

/* A PKCE code_challenge or code_verifier (RFC 7636 4.1, 4.2). */
static int
pkce_chars(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-._~") == n;
}

static int
pkce_matches(const char *verifier, const char *challenge)
{
	uint8_t h[32];
	char b[GRANT_SECRET_SIZE];
	unsigned int len = 32;

	if (EVP_Digest(
		verifier, strlen(verifier), h, &len, EVP_sha256(), NULL) != 1 ||
	    b0_b64url_encode(h, 32, b, sizeof(b)) != 0)
		return 0;
	return strlen(challenge) == 43 && b0_ct_eq(b, challenge, 43);
}

/* --- tokens -------------------------------------------------------------- */

static int
sign(struct idp *idp, const char *typ, struct b0_buf *payload, char **tokp,
    struct b0_errmsg *em)
{
	EVP_PKEY *pkey;
	const char *kid;

	keys_signer(idp->keys, &pkey, &kid);
	if (pkey == NULL) {
		b0_err_set(em, "no signing key");
		return B0_ERR_KEY;
	}
	return b0_jwt_sign_es256(pkey, kid, typ,
	    (const char *)b0_buf_ptr(payload), b0_buf_len(payload), tokp, em);
}

static void
jti(char *out, size_t outsz)
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		memset(b, 0, sizeof(b)); /* sign() fails too without RNG */
	b0_hex_encode(b, sizeof(b), out, outsz);
}

static int
access_token(struct idp *idp, const struct who *who, const char *scope,
    int64_t now, char **tokp, struct b0_errmsg *em)
{
	struct b0_buf b;
	struct b0_jsonw w;
	char id[33];
	int r;

	jti(id, sizeof(id));
	b0_buf_init(&b, 4096);
	b0_jsonw_init(&w, &b);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "iss");
	b0_jsonw_str(&w, idp->issuer);
	b0_jsonw_key(&w, "sub");
	b0_jsonw_str(&w, who->email);
	b0_jsonw_key(&w, "aud");
	b0_jsonw_str(&w, idp->issuer);
	b0_jsonw_key(&w, "client_id");
	b0_jsonw_str(&w, CLIENT_ID);
	b0_jsonw_key(&w, "email");
	b0_jsonw_str(&w, who->email);
	b0_jsonw_key(&w, "email_verified");
	b0_jsonw_bool(&w, 1);
	b0_jsonw_key(&w, "iat");
	b0_jsonw_int(&w, now);
	b0_jsonw_key(&w, "exp");
	b0_jsonw_int(&w, now + idp->access_ttl);
	b0_jsonw_key(&w, "jti");
	b0_jsonw_str(&w, id);
	b0_jsonw_key(&w, "scope");
	b0_jsonw_str(&w, scope);
	/* Where the person signed in: decides the checks of later uses. */
	b0_jsonw_key(&w, "b0_src");
	b0_jsonw_str(&w, who->src);
	b0_jsonw_obj_end(&w);
	if ((r = b0_jsonw_finish(&w)) == 0)
		r = sign(idp, "at+jwt", &b, tokp, em);
	b0_buf_cleanup(&b);
	return r;
}

static int
id_token(struct idp *idp, const struct who *who, const struct acode *c,
    int64_t now, char **tokp, struct b0_errmsg *em)
{
	struct b0_buf b;
	struct b0_jsonw w;
	int r;

	b0_buf_init(&b, 4096);
	b0_jsonw_init(&w, &b);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "iss");
	b0_jsonw_str(&w, idp->issuer);
	b0_jsonw_key(&w, "sub");
	b0_jsonw_str(&w, who->email);
	b0_jsonw_key(&w, "aud");
	b0_jsonw_str(&w, CLIENT_ID);
	b0_jsonw_key(&w, "email");
	b0_jsonw_str(&w, who->email);
	b0_jsonw_key(&w, "email_verified");
	b0_jsonw_bool(&w, 1);
	b0_jsonw_key(&w, "iat");
	b0_jsonw_int(&w, now);
	b0_jsonw_key(&w, "exp");
	b0_jsonw_int(&w, now + idp->access_ttl);
	if (c->has_nonce) {
		b0_jsonw_key(&w, "nonce");
		b0_jsonw_str(&w, c->nonce);
	}
	b0_jsonw_obj_end(&w);
	if ((r = b0_jsonw_finish(&w)) == 0)
		r = sign(idp, NULL, &b, tokp, em);
	b0_buf_cleanup(&b);
	return r;
}

/* Is who still someone the edge lets in (account kept, provider kept)? */
static int
who_current(const struct idp *idp, const char *email, const char *src,
    struct b0_errmsg *em)
{
	int i;

	if (strcmp(src, SRC_BUILTIN) == 0) {
		if (idp->builtin && users_has(idp->users, email))
			return 1;
		b0_err_set(em, "%s is no longer a user of this edge", email);
		return 0;
	}
	if (b0_str_has_prefix(src, SRC_UPSTREAM)) {
		for (i = 0; i < idp->nproviders; i++)
			if (strcmp(idp->providers[i],
				src + strlen(SRC_UPSTREAM)) == 0)
				return 1;
		b0_err_set(em, "provider %s is no longer configured",
		    src + strlen(SRC_UPSTREAM));
		return 0;
	}
	b0_err_set(em, "the token names no known sign-in source");
	return 0;
}

int
idp_own_token(struct idp *idp, const char *token, size_t len)
{
	const char *dot, *kid, *have;
	struct b0_json *j = NULL;
	uint8_t head[512];
	size_t n, i, nk;
	int64_t created;
	int signing, published, own = 0;

	if (idp == NULL || token == NULL ||
	    (dot = memchr(token, '.', len)) == NULL ||
	    b0_b64url_decode(
		token, (size_t)(dot - token), head, sizeof(head), &n) != 0 ||
	    b0_json_parse((const char *)head, n, NULL, &j, NULL) != 0 ||
	    b0_json_get_str(j, 0, "kid", &kid) != 0)
		goto out;
	nk = keys_count(idp->keys);
	for (i = 0; i < nk && !own; i++) {
		keys_get(idp->keys, i, &have, &created, &signing, &published,
		    now_s(), 0);
		if (have != NULL && strcmp(have, kid) == 0)
			own = 1;
	}
out:
	b0_json_free(j);
	return own;
}

int
idp_check_access(struct idp *idp, const char *token, size_t len, char *email,
    size_t emailsz, struct b0_errmsg *em)
{
	return idp_check_access_who(
	    idp, token, len, email, emailsz, NULL, 0, NULL, em);
}

int
idp_check_access_who(struct idp *idp, const char *token, size_t len,
    char *email, size_t emailsz, char *srcout, size_t srcsz, int64_t *expp,
    struct b0_errmsg *em)
{
	struct b0_jwt_verify_opts opts;
	struct b0_jwt_claims want;
	struct b0_jwt *t = NULL;
	const struct b0_json *j;
	const char *mail = NULL, *src = NULL;
	int64_t texp = 0;
	int r;

	if (emailsz > 0)
		email[0] = '\0';
	if (srcsz > 0)
		srcout[0] = '\0';
	if (idp == NULL || len == 0) {
		b0_err_set(em, "no token");
		return B0_ERR_AUTH;
	}
	memset(&opts, 0, sizeof(opts));
	opts.typ = "at+jwt";
	if ((r = b0_jwt_verify(token, len,
		 keys_published(idp->keys, now_s(), retain_s(idp)), &opts, &t,
		 em)) != 0)
		goto out;
	memset(&want, 0, sizeof(want));
	want.iss = idp->issuer;
	want.aud = idp->issuer;
	want.now = now_s();
	want.skew = SKEW;
	want.max_lifetime = idp->access_ttl;
	j = b0_jwt_payload(t);
	if ((r = b0_jwt_check_claims(j, 0, &want, em)) != 0) {
		int64_t exp;

		/* In the words a person reads in a 401 body. */
		if (r == B0_ERR_EXPIRED &&
		    b0_json_get_int(j, 0, "exp", &exp) == 0)
			b0_err_set(em, "token expired %lld s ago",
			    (long long)(want.now - exp));
		goto out;
	}
	if (b0_json_get_str(j, 0, "email", &mail) != 0 || !email_ok(mail)) {
		r = B0_ERR_CLAIM;
		b0_err_set(em, "the token's email claim is missing or invalid");
		goto out;
	}
	if (b0_json_get_str(j, 0, "b0_src", &src) != 0)
		src = SRC_BUILTIN; /* fail closed: the strictest check */
	if (!who_current(idp, mail, src, em)) {
		r = B0_ERR_AUTH;
		goto out;
	}
	if (b0_strlcpy(email, mail, emailsz) >= emailsz ||
	    (srcout != NULL && b0_strlcpy(srcout, src, srcsz) >= srcsz)) {
		r = B0_ERR_TOO_BIG;
		b0_err_set(em, "email or sign-in source too long");
		goto out;
	}
	if (expp != NULL && b0_json_get_int(j, 0, "exp", &texp) != 0) {
		r = B0_ERR_CLAIM;
		b0_err_set(em, "the token has no exp");
		goto out;
	}
	if (expp != NULL)
		*expp = texp;
	r = 0;
out:
	b0_jwt_free(t);
	if (r != 0 && emailsz > 0)
		email[0] = '\0';
	if (r != 0 && srcsz > 0)
		srcout[0] = '\0';
	return r;
}

int
idp_sign_ticket(struct idp *idp, const char *publisher, const char *socket_dns,
    const char *email, const char *visitor, const char *id, char **ticketp,
    struct b0_errmsg *em)
{
	struct b0_buf b;
	struct b0_jsonw w;
	char aud[128];
	int64_t now = now_s();
	int r;

	*ticketp = NULL;
	if (idp == NULL) {
		b0_err_set(em, "no issuer");
		return B0_ERR_INTERNAL;
	}
	snprintf(aud, sizeof(aud), "b0-publish:%s", publisher);
	b0_buf_init(&b, 4096);
	b0_jsonw_init(&w, &b);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "iss");
	b0_jsonw_str(&w, idp->issuer);
	b0_jsonw_key(&w, "aud");
	b0_jsonw_str(&w, aud);
	b0_jsonw_key(&w, "sub");
	b0_jsonw_str(&w, email);
	b0_jsonw_key(&w, "email");
	b0_jsonw_str(&w, email);
	b0_jsonw_key(&w, "socket");
	b0_jsonw_str(&w, socket_dns);
	b0_jsonw_key(&w, "visitor");
	b0_jsonw_str(&w, visitor);
	b0_jsonw_key(&w, "jti");
	b0_jsonw_str(&w, id);
	b0_jsonw_key(&w, "iat");
	b0_jsonw_int(&w, now);
	b0_jsonw_key(&w, "exp");
	b0_jsonw_int(&w, now + TICKET_TTL);
	b0_jsonw_obj_end(&w);
	if ((r = b0_jsonw_finish(&w)) == 0)
		r = sign(idp, "b0-ticket+jwt", &b, ticketp, em);
	b0_buf_cleanup(&b);
	return r;
}

/* --- responses ----------------------------------------------------------- */

/* RFC 6749 5.2: {"error", "error_description"}; 401 for invalid_client. */
static void
oauth_error(struct hresp *rs, int status, const char *error, const char *desc)
{
	struct b0_jsonw w;

	hresp_json(rs, status);
	b0_buf_reset(rs->body);
	if (status == 401)
		(void)hresp_header(rs, "WWW-Authenticate: Basic realm=\"b0\"");
	b0_jsonw_init(&w, rs->body);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "error");
	b0_jsonw_str(&w, error);
	if (desc != NULL && desc[0] != '\0') {
		b0_jsonw_key(&w, "error_description");
		b0_jsonw_str(&w, desc);
	}
	b0_jsonw_obj_end(&w);
	if (b0_jsonw_finish(&w) != 0) {
		b0_buf_reset(rs->body);
		(void)b0_buf_put_str(rs->body, "{\"error\":\"server_error\"}");
	}
}

static void
method_not_allowed(struct hresp *rs, const char *allow)
{
	hresp_text(rs, 405, "method not allowed; use %s", allow);
	(void)hresp_header(rs, "Allow: %s", allow);
}

/* A redirect to a checked location, kept alive until the next request. */
static void
redirect(struct idp *idp, struct hresp *rs, struct b0_buf *loc)
{
	const char *s;

	b0_buf_reset(&idp->scratch);
	if (b0_buf_put(&idp->scratch, b0_buf_ptr(loc), b0_buf_len(loc)) != 0 ||
	    b0_buf_cstr(&idp->scratch, &s) != 0) {
		page_error(
		    rs, 500, "Internal error", "The redirect is too long.");
		return;
	}
	hresp_redirect(rs, s);
}

/* The front door's "Signing you in..." page, reloading itself. */
static void
page_waiting(struct hresp *rs, const char *req)
{
	char url[128];

	snprintf(url, sizeof(url), "/login/continue?req=%s", req);
	page_pending(rs, "Signing you in...", "One moment.", url);
}

/* The RFC 6749 4.1.2.1 error redirect to a checked redirect URI. */
static void
authorize_error(struct idp *idp, struct hresp *rs, const char *uri,
    const char *state, const char *error, const char *desc)
{
	struct b0_buf loc;

	b0_buf_init(&loc, 4096);
	if (b0_buf_put_str(&loc, uri) != 0 ||
	    b0_buf_put_str(&loc, strchr(uri, '?') != NULL ? "&" : "?") != 0 ||
	    b0_buf_putf(&loc, "error=%s&error_description=", error) != 0 ||
	    b0_http_pct_encode(&loc, desc, strlen(desc)) != 0 ||
	    (state != NULL &&
		(b0_buf_put_str(&loc, "&state=") != 0 ||
		    b0_http_pct_encode(&loc, state, strlen(state)) != 0))) {
		page_error(rs, 400, "Sign-in failed", desc);
	} else
		redirect(idp, rs, &loc);
	b0_buf_cleanup(&loc);
}

/* --- finishing a sign-in ------------------------------------------------- */

/*
 * site_of(idp, p, out, outsz): the name a person signs in to for p: for
 * client b0-http the DNS name of the http socket its redirect_uri names
 * (checked again: the socket may have gone since), else "" (the edge).
 */
static void
site_of(const struct idp *idp, const struct preq *p, char *out, size_t outsz)
{
	const char *h;
	size_t n;

	out[0] = '\0';
	if (p == NULL || p->kind != PREQ_CODE ||
	    !b0_str_has_prefix(p->redirect_uri, "https://") ||
	    !http_socket_uri(idp, p->redirect_uri, 1))
		return;
	h = p->redirect_uri + 8;
	n = strcspn(h, ":/");
	if (n == 0 || n >= outsz)
		return;
	memcpy(out, h, n);
	out[n] = '\0';
}

static void
login_page(struct idp *idp, const struct hreq *rq, struct hresp *rs,
    const struct preq *p, const char *email, const char *error, int status)
{
	char site[B0_DNS_SIZE];
	const char *req = p->id;
	struct page_provider pp[EDGE_MAX_PROVIDERS];
	char labels[EDGE_MAX_PROVIDERS][64];
	char bc[GRANT_SECRET_SIZE], bind[GRANT_SECRET_SIZE + 2];
	char csrf[GRANT_SECRET_SIZE];
	size_t i, n = idp->up != NULL ? upstreams_count(idp->up) : 0;

	if (browser_cookie(rq, rs, bc, sizeof(bc)) != 0) {
		page_error(rs, 500, "Internal error", "No random numbers.");
		return;
	}
	binder(bind, sizeof(bind), 'c', bc);
	csrf_token(idp, "login", bind, req, csrf, sizeof(csrf));
	if (n > EDGE_MAX_PROVIDERS)
		n = EDGE_MAX_PROVIDERS;
	for (i = 0; i < n; i++) {
		pp[i].name = upstreams_name(idp->up, i);
		snprintf(labels[i], sizeof(labels[i]), "Sign in with %s",
		    pp[i].name);
		pp[i].label = labels[i];
	}
	site_of(idp, p, site, sizeof(site));
	page_login(rs, status, idp->domain, site, req, csrf, email, error,
	    idp->builtin, pp, n);
	OPENSSL_cleanse(bc, sizeof(bc));
	OPENSSL_cleanse(bind, sizeof(bind));
}

static void
device_confirm(struct idp *idp, struct hresp *rs, const struct dcode *d,
    const char *session_cookie, const struct who *who)
{
	char bind[GRANT_SECRET_SIZE + 2], csrf[GRANT_SECRET_SIZE], shown[16];

	binder(bind, sizeof(bind), 's', session_cookie);
	csrf_token(idp, "device", bind, "", csrf, sizeof(csrf));
	user_code_show(d->user_code, shown, sizeof(shown));
	page_device_confirm(rs, csrf, shown, who->email, CLIENT_ID);
	OPENSSL_cleanse(bind, sizeof(bind));
}

/*
 * The person of p signed in as who (browser session session_cookie):
 * finish what p asked for.  p is deleted.
 */
static void
finish(struct idp *idp, const struct hreq *rq, struct hresp *rs, struct preq *p,
    const struct who *who, const char *session_cookie)
{
	char code[GRANT_SECRET_SIZE], detail[400];
	struct b0_buf loc;
	struct dcode *d;

	switch (p->kind) {
	case PREQ_CODE:
		b0_buf_init(&loc, 4096);
		b0_buf_set_secret(&loc);
		if (acode_new(idp->g, p, who, now_s(), code, sizeof(code)) ==
			NULL ||
		    b0_buf_put_str(&loc, p->redirect_uri) != 0 ||
		    b0_buf_put_str(&loc,
			strchr(p->redirect_uri, '?') != NULL ? "&" : "?") !=
			0 ||
		    b0_buf_putf(&loc, "code=%s", code) != 0 ||
		    (p->has_state && (b0_buf_put_str(&loc, "&state=") != 0 ||
					 b0_http_pct_encode(&loc, p->state,
					     strlen(p->state)) != 0)))
			page_error(rs, 500, "Internal error",
			    "Could not make an authorization code.");
		else {
			redirect(idp, rs, &loc);
			b0_info(idp->log, "%s: authorize: code for %s (%s)",
			    rq->peer, who->email, who->src);
		}
		b0_buf_cleanup(&loc);
		OPENSSL_cleanse(code, sizeof(code));
		break;
	case PREQ_DEVICE:
		if ((d = dcode_find_user(idp->g, p->user_code, now_s())) ==
		    NULL) {
			page_error(rs, 400, "Code expired",
			    "That code has expired or was used; start the "
			    "sign-in on your device again.");
			break;
		}
		device_confirm(idp, rs, d, session_cookie, who);
		break;
	case PREQ_LOGIN:
		snprintf(detail, sizeof(detail),
		    "You are signed in to %s as %s.", idp->domain, who->email);
		page_message(rs, 200, "Signed in", detail);
		break;
	}
	preq_del(idp->g, p);
}

/* A new browser session for who, its cookie set on rs. */
static int
new_session(struct idp *idp, const struct hreq *rq, struct hresp *rs,
    const struct who *who, char *cv, size_t cvsz)
{
	if (bsess_new(idp->g, who, now_s(), cv, cvsz) == NULL) {
		page_error(rs, 503, "Busy", "Could not start a session.");
		return B0_ERR_ALLOC;
	}
	set_cookie(rs, COOKIE_SESSION, cv, SESSION_TTL);
	b0_notice(
	    idp->log, "%s: signed in: %s (%s)", rq->peer, who->email, who->src);
	return 0;
}

/* --- endpoints ----------------------------------------------------------- */

static void
discovery(struct idp *idp, struct hresp *rs)
{
	static const char *grants[] = {"authorization_code", "refresh_token",
	    "urn:ietf:params:oauth:grant-type:device_code"};
	static const struct {
		const char *key, *path;
	} ep[] = {
	    {"authorization_endpoint", "/authorize"},
	    {"token_endpoint", "/token"},
	    {"device_authorization_endpoint", "/device_authorization"},
	    {"userinfo_endpoint", "/userinfo"},
	    {"jwks_uri", "/jwks.json"},
	    {"end_session_endpoint", "/logout"},
	    {"revocation_endpoint", "/revoke"},
	};
	struct b0_jsonw w;
	char url[ISSUER_SIZE + 32];
	size_t i;

	hresp_json(rs, 200);
	rs->cache = 1;
	b0_buf_reset(rs->body);
	b0_jsonw_init(&w, rs->body);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "issuer");
	b0_jsonw_str(&w, idp->issuer);
	for (i = 0; i < sizeof(ep) / sizeof(ep[0]); i++) {
		snprintf(url, sizeof(url), "%s%s", idp->issuer, ep[i].path);
		b0_jsonw_key(&w, ep[i].key);
		b0_jsonw_str(&w, url);
	}
	b0_jsonw_key(&w, "response_types_supported");
	b0_jsonw_arr_begin(&w);
	b0_jsonw_str(&w, "code");
	b0_jsonw_arr_end(&w);
	b0_jsonw_key(&w, "grant_types_supported");
	b0_jsonw_arr_begin(&w);
	for (i = 0; i < 3; i++)
		b0_jsonw_str(&w, grants[i]);
	b0_jsonw_arr_end(&w);
	b0_jsonw_key(&w, "code_challenge_methods_supported");
	b0_jsonw_arr_begin(&w);
	b0_jsonw_str(&w, "S256");
	b0_jsonw_arr_end(&w);
	b0_jsonw_key(&w, "token_endpoint_auth_methods_supported");
	b0_jsonw_arr_begin(&w);
	b0_jsonw_str(&w, "none");
	b0_jsonw_arr_end(&w);
	b0_jsonw_key(&w, "revocation_endpoint_auth_methods_supported");
	b0_jsonw_arr_begin(&w);
	b0_jsonw_str(&w, "none");
	b0_jsonw_arr_end(&w);
	b0_jsonw_key(&w, "id_token_signing_alg_values_supported");
	b0_jsonw_arr_begin(&w);
	b0_jsonw_str(&w, "ES256");
	b0_jsonw_arr_end(&w);
	b0_jsonw_key(&w, "subject_types_supported");
	b0_jsonw_arr_begin(&w);
	b0_jsonw_str(&w, "public");
	b0_jsonw_arr_end(&w);
	b0_jsonw_key(&w, "scopes_supported");
	b0_jsonw_arr_begin(&w);
	b0_jsonw_str(&w, "openid");
	b0_jsonw_str(&w, "email");
	b0_jsonw_arr_end(&w);
	b0_jsonw_key(&w, "claims_supported");
	b0_jsonw_arr_begin(&w);
	b0_jsonw_str(&w, "iss");
	b0_jsonw_str(&w, "sub");
	b0_jsonw_str(&w, "aud");
	b0_jsonw_str(&w, "exp");
	b0_jsonw_str(&w, "iat");
	b0_jsonw_str(&w, "email");
	b0_jsonw_str(&w, "email_verified");
	b0_jsonw_str(&w, "nonce");
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	if (b0_jsonw_finish(&w) != 0)
		hresp_text(rs, 500, "discovery document too large");
}

static void
jwks(struct idp *idp, struct hresp *rs)
{
	hresp_json(rs, 200);
	rs->cache = 1;
	b0_buf_reset(rs->body);
	if (keys_write_jwks(idp->keys, now_s(), retain_s(idp), rs->body) != 0)
		hresp_text(rs, 500, "cannot write the key set");
}

static void
authorize(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	const char *cid, *uri, *rt, *cc, *ccm, *scope, *state, *nonce;
	char cv[GRANT_SECRET_SIZE];
	struct bsess *s;
	struct preq *p;
	struct b0_buf loc;
	char owner[GRANT_OWNER_SIZE];
	int r;

	b0_err_clear(&em);
	fails_addr(rq->peer, owner, sizeof(owner));
	if ((r = params(rq->query, strlen(rq->query), &ps, &em)) != 0) {
		page_error(rs, 400, "Invalid request", b0_err_text(&em, r));
		return;
	}
	cid = param(&ps, "client_id");
	uri = param(&ps, "redirect_uri");
	if (cid == NULL ||
	    (strcmp(cid, CLIENT_ID) != 0 && strcmp(cid, CLIENT_HTTP) != 0)) {
		page_error(rs, 400, "Unknown client",
		    cid == NULL ? "The request names no client_id."
				: "The client_id is not b0-proxy.");
		goto out;
	}
	if (strcmp(cid, CLIENT_HTTP) == 0) {
		if (uri == NULL || !http_socket_uri(idp, uri, 1)) {
			page_error(rs, 400, "Invalid redirect URI",
			    "The redirect_uri of b0-http must be "
			    "https://<an http socket of this "
			    "edge>/.b0/callback");
			goto out;
		}
	} else if (uri == NULL || !loopback_uri(uri)) {
		page_error(rs, 400, "Invalid redirect URI",
		    uri == NULL ? "The request has no redirect_uri."
				: "The redirect_uri must be "
				  "http://127.0.0.1:PORT/... or "
				  "http://[::1]:PORT/...");
		goto out;
	}
	state = b0_http_params_get(&ps, "state");
	if (state != NULL && !vschar(state, GRANT_STATE_SIZE)) {
		page_error(rs, 400, "Invalid request",
		    "state is not visible ASCII of at most 512 characters.");
		goto out;
	}
	/* From here on errors go back to the (checked) client. */
	rt = param(&ps, "response_type");
	cc = param(&ps, "code_challenge");
	ccm = param(&ps, "code_challenge_method");
	scope = param(&ps, "scope");
	nonce = b0_http_params_get(&ps, "nonce");
	if (rt == NULL) {
		authorize_error(idp, rs, uri, state, "invalid_request",
		    "response_type is missing");
	} else if (strcmp(rt, "code") != 0) {
		authorize_error(idp, rs, uri, state,
		    "unsupported_response_type", "only response_type=code");
	} else if (cc == NULL || ccm == NULL) {
		authorize_error(idp, rs, uri, state, "invalid_request",
		    "PKCE is required: code_challenge and "
		    "code_challenge_method=S256");
	} else if (strcmp(ccm, "S256") != 0) {
		authorize_error(idp, rs, uri, state, "invalid_request",
		    "code_challenge_method must be S256");
	} else if (strlen(cc) != 43 || !pkce_chars(cc, 43, 43)) {
		authorize_error(idp, rs, uri, state, "invalid_request",
		    "code_challenge is not 43 base64url characters");
	} else if (scope == NULL || !scope_valid(scope) ||
		   !scope_has(scope, "openid")) {
		authorize_error(idp, rs, uri, state, "invalid_scope",
		    "scope must contain openid");
	} else if (nonce != NULL && !vschar(nonce, GRANT_STATE_SIZE)) {
		authorize_error(idp, rs, uri, state, "invalid_request",
		    "nonce is not visible ASCII of at most 512 characters");
	} else if ((p = preq_new(idp->g, PREQ_CODE, now_s(), owner)) == NULL) {
		authorize_error(idp, rs, uri, state, "temporarily_unavailable",
		    "out of memory");
	} else {
		b0_strlcpy(p->redirect_uri, uri, sizeof(p->redirect_uri));
		b0_strlcpy(p->challenge, cc, sizeof(p->challenge));
		b0_strlcpy(p->scope, SCOPE_GRANTED, sizeof(p->scope));
		if (state != NULL) {
			b0_strlcpy(p->state, state, sizeof(p->state));
			p->has_state = 1;
		}
		if (nonce != NULL) {
			b0_strlcpy(p->nonce, nonce, sizeof(p->nonce));
			p->has_nonce = 1;
		}
		if ((s = session_of(idp, rq, cv, sizeof(cv))) != NULL) {
			finish(idp, rq, rs, p, &s->who, cv);
		} else {
			b0_buf_init(&loc, 256);
			(void)b0_buf_putf(&loc, "/login?req=%s", p->id);
			redirect(idp, rs, &loc);
			b0_buf_cleanup(&loc);
		}
		OPENSSL_cleanse(cv, sizeof(cv));
	}
out:
	b0_http_params_cleanup(&ps);
}

/* The pending request named by req, with an error page if there is none. */
static struct preq *
pending(struct idp *idp, struct hresp *rs, const char *req)
{
	struct preq *p;

	if (req == NULL) {
		page_error(rs, 400, "Invalid request",
		    "The sign-in request is missing.");
		return NULL;
	}
	if ((p = preq_find(idp->g, req, now_s())) == NULL)
		page_error(rs, 400, "Sign-in expired",
		    "This sign-in request is unknown or has expired; start "
		    "again from your terminal.");
	return p;
}

static void
login_get(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	char cv[GRANT_SECRET_SIZE];
	const char *req;
	struct bsess *s;
	struct preq *p;
	char owner[GRANT_OWNER_SIZE];
	int r;

	b0_err_clear(&em);
	fails_addr(rq->peer, owner, sizeof(owner));
	if ((r = params(rq->query, strlen(rq->query), &ps, &em)) != 0) {
		page_error(rs, 400, "Invalid request", b0_err_text(&em, r));
		return;
	}
	req = param(&ps, "req");
	if (req == NULL) {
		if ((p = preq_new(idp->g, PREQ_LOGIN, now_s(), owner)) ==
		    NULL) {
			page_error(rs, 503, "Busy", "Try again later.");
			goto out;
		}
	} else if ((p = pending(idp, rs, req)) == NULL)
		goto out;
	if ((s = session_of(idp, rq, cv, sizeof(cv))) != NULL)
		finish(idp, rq, rs, p, &s->who, cv);
	else
		login_page(idp, rq, rs, p, NULL, NULL, 200);
	OPENSSL_cleanse(cv, sizeof(cv));
out:
	b0_http_params_cleanup(&ps);
}

static void
login_post(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	char bc[GRANT_SECRET_SIZE], bind[GRANT_SECRET_SIZE + 2];
	char email[GRANT_EMAIL_SIZE], cv[GRANT_SECRET_SIZE];
	const char *req, *mail, *pw;
	struct who who;
	struct preq *p;
	int64_t now = now_s(), wait;
	int r;

	b0_err_clear(&em);
	if ((r = form_body(rq, &ps, &em)) != 0) {
		page_error(rs, r == B0_ERR_TOO_BIG ? 413 : 400,
		    "Invalid request", b0_err_text(&em, r));
		return;
	}
	req = param(&ps, "req");
	if ((p = pending(idp, rs, req)) == NULL)
		goto out;
	if (!cookie(rq, COOKIE_CSRF, bc, sizeof(bc))) {
		page_error(rs, 403, "Form expired",
		    "Your browser did not send the sign-in cookie; allow "
		    "cookies for this site and reload the page.");
		goto out;
	}
	binder(bind, sizeof(bind), 'c', bc);
	if (!csrf_ok(idp, "login", bind, p->id, param(&ps, "csrf"))) {
		page_error(rs, 403, "Form expired",
		    "The form is out of date; reload the page and sign in "
		    "again.");
		goto out;
	}
	if (!idp->builtin) {
		page_error(rs, 403, "Not available",
		    "This edge has no built-in accounts; use a provider.");
		goto out;
	}
	mail = param(&ps, "email");
	pw = b0_http_params_get(&ps, "password");
	b0_strlcpy(email, mail != NULL ? mail : "", sizeof(email));
	b0_str_lower(email);
	if ((wait = limited(idp, rq->peer, email, now)) > 0) {
		char msg[128];

		snprintf(msg, sizeof(msg),
		    "Too many failed sign-ins; try again in %lld s.",
		    (long long)wait);
		login_page(idp, rq, rs, p, email, msg, 429);
		(void)hresp_header(rs, "Retry-After: %lld", (long long)wait);
		goto out;
	}
	r = B0_ERR_AUTH;
	if (pw != NULL && email_ok(email) &&
	    (r = users_check(idp->users, email, pw)) == B0_ERR_AGAIN) {
		/* The edge's yescrypt budget is spent (no hash ran). */
		b0_log_rl(idp->log, &idp->rl, now, B0_LOG_NOTICE,
		    "%s: login: too many password checks on the edge; "
		    "refused",
		    rq->peer);
		login_page(idp, rq, rs, p, email,
		    "The edge is busy checking passwords; try again in a "
		    "second.",
		    429);
		(void)hresp_header(rs, "Retry-After: 1");
		goto out;
	}
	if (pw == NULL || !email_ok(email) || r != 0) {
		failed(idp, rq->peer, email_ok(email) ? email : NULL, now);
		b0_log_rl(idp->log, &idp->rl, now, B0_LOG_NOTICE,
		    "%s: login: wrong password or unknown user \"%.64s\"",
		    rq->peer, email);
		login_page(
		    idp, rq, rs, p, email, "Wrong email or password.", 401);
		goto out;
	}
	memset(&who, 0, sizeof(who));
	b0_strlcpy(who.email, email, sizeof(who.email));
	b0_strlcpy(who.src, SRC_BUILTIN, sizeof(who.src));
	if (new_session(idp, rq, rs, &who, cv, sizeof(cv)) == 0)
		finish(idp, rq, rs, p, &who, cv);
	OPENSSL_cleanse(cv, sizeof(cv));
out:
	OPENSSL_cleanse(bc, sizeof(bc));
	OPENSSL_cleanse(bind, sizeof(bind));
	b0_http_params_cleanup(&ps);
}

/* Does this browser hold the b0_csrf cookie that started p's upstream login? */
static int
same_browser(const struct hreq *rq, const struct preq *p)
{
	char bc[GRANT_SECRET_SIZE];
	uint8_t h[32];
	int ok;

	if (!cookie(rq, COOKIE_CSRF, bc, sizeof(bc)))
		return 0;
	grants_hash(bc, strlen(bc), h);
	ok = b0_ct_eq(h, p->browser, 32);
	OPENSSL_cleanse(bc, sizeof(bc));
	return ok;
}

static void
login_continue(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	char cv[GRANT_SECRET_SIZE];
	struct who who;
	struct preq *p;
	int r;

	b0_err_clear(&em);
	if ((r = params(rq->query, strlen(rq->query), &ps, &em)) != 0) {
		page_error(rs, 400, "Invalid request", b0_err_text(&em, r));
		return;
	}
	if ((p = pending(idp, rs, param(&ps, "req"))) == NULL)
		goto out;
	if (!p->upstream || !same_browser(rq, p)) {
		page_error(rs, 403, "Sign-in failed",
		    "This sign-in was started in another browser.");
		goto out;
	}
	if (!p->upstream_end) {
		page_waiting(rs, p->id);
		goto out;
	}
	if (p->who.email[0] == '\0') {
		page_error(rs, 401, "Sign-in failed",
		    p->why[0] != '\0' ? p->why : "The provider said no.");
		preq_del(idp->g, p);
		goto out;
	}
	who = p->who;
	if (new_session(idp, rq, rs, &who, cv, sizeof(cv)) == 0)
		finish(idp, rq, rs, p, &who, cv);
	OPENSSL_cleanse(cv, sizeof(cv));
out:
	b0_http_params_cleanup(&ps);
}

static void
upstream_start(
    struct idp *idp, const struct hreq *rq, struct hresp *rs, const char *name)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	char bc[GRANT_SECRET_SIZE], tag[GRANT_ID_SIZE + 40];
	char *loc = NULL;
	struct b0_buf lb;
	struct preq *p;
	int r;

	b0_err_clear(&em);
	if ((r = params(rq->query, strlen(rq->query), &ps, &em)) != 0) {
		page_error(rs, 400, "Invalid request", b0_err_text(&em, r));
		return;
	}
	if ((p = pending(idp, rs, param(&ps, "req"))) == NULL)
		goto out;
	if (!cookie(rq, COOKIE_CSRF, bc, sizeof(bc))) {
		page_error(rs, 403, "Sign-in failed",
		    "Your browser did not send the sign-in cookie; allow "
		    "cookies for this site.");
		goto out;
	}
	/*
	 * The provider's state carries "<request>.<provider>": the answer
	 * says who vouched for the person even if they tried another
	 * provider meanwhile.
	 */
	snprintf(tag, sizeof(tag), "%s.%s", p->id, name);
	r = idp->up == NULL ? B0_ERR_NOT_FOUND
			    : upstreams_start(idp->up, name, tag, &loc, &em);
	if (r != 0) {
		page_error(rs, r == B0_ERR_NOT_FOUND ? 404 : 502,
		    "Sign-in failed",
		    r == B0_ERR_NOT_FOUND ? "There is no such provider."
					  : b0_err_text(&em, r));
		goto out;
	}
	grants_hash(bc, strlen(bc), p->browser);
	b0_strlcpy(p->provider, name, sizeof(p->provider));
	p->upstream = 1;
	p->upstream_end = 0;
	memset(&p->who, 0, sizeof(p->who));
	p->why[0] = '\0';
	b0_buf_init(&lb, 8192);
	(void)b0_buf_put_str(&lb, loc);
	redirect(idp, rs, &lb);
	b0_buf_cleanup(&lb);
out:
	free(loc);
	OPENSSL_cleanse(bc, sizeof(bc));
	b0_http_params_cleanup(&ps);
}

/* The end of a login at a provider: mark its pending request. */
static void
upcb_apply(struct idp *idp, struct upcb *cb)
{
	struct preq *p;

	if ((p = preq_find(idp->g, cb->req, now_s())) == NULL || !p->upstream)
		return;
	p->upstream_end = 1;
	if (cb->email[0] != '\0' && email_ok(cb->email)) {
		b0_strlcpy(p->who.email, cb->email, sizeof(p->who.email));
		snprintf(p->who.src, sizeof(p->who.src), "%s%s", SRC_UPSTREAM,
		    cb->provider);
	} else {
		b0_strlcpy(p->why,
		    cb->why[0] != '\0' ? cb->why
				       : "The provider gave no usable email.",
		    sizeof(p->why));
		b0_notice(
		    idp->log, "login at %s failed: %s", cb->provider, p->why);
	}
}

static void
upstream_done(const char *email, const char *why, void *cookie_)
{
	struct upcb *cb = cookie_;
	struct idp *idp = cb->idp;

	cb->ended = 1;
	b0_strlcpy(cb->email, email != NULL ? email : "", sizeof(cb->email));
	b0_str_lower(cb->email);
	b0_strlcpy(cb->why, why != NULL ? why : "", sizeof(cb->why));
	if (cb->in_call)
		return; /* upstream_callback() applies it */
	upcb_apply(idp, cb);
	TAILQ_REMOVE(&idp->upcbs, cb, entry);
	free(cb);
}

static void
upstream_callback(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_errmsg em;
	struct upcb *cb;
	struct preq *p;
	char *req = NULL, *dot;
	int r;

	b0_err_clear(&em);
	if (idp->up == NULL) {
		page_error(rs, 404, "Sign-in failed", "No providers here.");
		return;
	}
	if ((cb = calloc(1, sizeof(*cb))) == NULL) {
		page_error(rs, 503, "Busy", "Out of memory.");
		return;
	}
	cb->idp = idp;
	cb->in_call = 1;
	TAILQ_INSERT_TAIL(&idp->upcbs, cb, entry);
	r = upstreams_callback(
	    idp->up, rq->query, &req, upstream_done, cb, &em);
	cb->in_call = 0;
	if (r != 0) {
		TAILQ_REMOVE(&idp->upcbs, cb, entry);
		free(cb);
		page_error(rs, 400, "Sign-in failed", b0_err_text(&em, r));
		free(req);
		return;
	}
	/* "<request>.<provider>", as upstream_start() made it. */
	if (req != NULL && (dot = strchr(req, '.')) != NULL &&
	    (size_t)(dot - req) < sizeof(cb->req) &&
	    strlen(dot + 1) < sizeof(cb->provider)) {
		memcpy(cb->req, req, (size_t)(dot - req));
		cb->req[dot - req] = '\0';
		b0_strlcpy(cb->provider, dot + 1, sizeof(cb->provider));
	}
	free(req);
	p = preq_find(idp->g, cb->req, now_s());
	if (p == NULL || !p->upstream || !same_browser(rq, p)) {
		/* done() may still come; it finds nothing to mark. */
		cb->req[0] = '\0';
		page_error(rs, 403, "Sign-in failed",
		    p == NULL ? "This sign-in request is unknown or has "
				"expired; start again."
			      : "This sign-in was started in another "
				"browser.");
	} else
		page_waiting(rs, p->id);
	if (cb->ended) {
		upcb_apply(idp, cb);
		TAILQ_REMOVE(&idp->upcbs, cb, entry);
		free(cb);
	}
}

static void
device_get(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	char cv[GRANT_SECRET_SIZE], bind[GRANT_SECRET_SIZE + 2];
	char csrf[GRANT_SECRET_SIZE];
	const char *uc;
	int r;

	b0_err_clear(&em);
	if ((r = params(rq->query, strlen(rq->query), &ps, &em)) != 0) {
		page_error(rs, 400, "Invalid request", b0_err_text(&em, r));
		return;
	}
	uc = b0_http_params_get(&ps, "user_code");
	if (uc != NULL && (strlen(uc) > 16 || !vschar(uc, 17)))
		uc = NULL;
	if (session_of(idp, rq, cv, sizeof(cv)) != NULL)
		binder(bind, sizeof(bind), 's', cv);
	else if (browser_cookie(rq, rs, cv, sizeof(cv)) == 0)
		binder(bind, sizeof(bind), 'c', cv);
	else {
		page_error(rs, 500, "Internal error", "No random numbers.");
		goto out;
	}
	csrf_token(idp, "device", bind, "", csrf, sizeof(csrf));
	page_device_entry(rs, 200, csrf, uc, NULL);
out:
	OPENSSL_cleanse(cv, sizeof(cv));
	OPENSSL_cleanse(bind, sizeof(bind));
	b0_http_params_cleanup(&ps);
}

static void
device_post(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	char cv[GRANT_SECRET_SIZE], bc[GRANT_SECRET_SIZE];
	char sbind[GRANT_SECRET_SIZE + 2], cbind[GRANT_SECRET_SIZE + 2];
	char csrf[GRANT_SECRET_SIZE];
	const char *uc, *action, *tok;
	struct bsess *s;
	struct dcode *d;
	struct preq *p;
	struct b0_buf loc;
	int64_t now = now_s(), wait;
	char owner[GRANT_OWNER_SIZE];
	int r, ok_s = 0, ok_c = 0;

	b0_err_clear(&em);
	fails_addr(rq->peer, owner, sizeof(owner));
	cv[0] = bc[0] = sbind[0] = cbind[0] = '\0';
	if ((r = form_body(rq, &ps, &em)) != 0) {
		page_error(rs, r == B0_ERR_TOO_BIG ? 413 : 400,
		    "Invalid request", b0_err_text(&em, r));
		return;
	}
	tok = param(&ps, "csrf");
	if ((s = session_of(idp, rq, cv, sizeof(cv))) != NULL) {
		binder(sbind, sizeof(sbind), 's', cv);
		ok_s = csrf_ok(idp, "device", sbind, "", tok);
	}
	if (cookie(rq, COOKIE_CSRF, bc, sizeof(bc))) {
		binder(cbind, sizeof(cbind), 'c', bc);
		ok_c = csrf_ok(idp, "device", cbind, "", tok);
	}
	action = param(&ps, "action");
	/* Approving needs the session's own form. */
	if (!ok_s && (action != NULL || !ok_c)) {
		page_error(rs, 403, "Form expired",
		    "The form is out of date; reload the page and try again.");
		goto out;
	}
	uc = param(&ps, "user_code");
	if ((wait = limited(idp, rq->peer, NULL, now)) > 0) {
		char msg[128];

		snprintf(msg, sizeof(msg),
		    "Too many wrong codes; try again in %lld s.",
		    (long long)wait);
		csrf_token(idp, "device", ok_s ? sbind : cbind, "", csrf,
		    sizeof(csrf));
		page_device_entry(rs, 429, csrf, NULL, msg);
		goto out;
	}
	if (uc == NULL || (d = dcode_find_user(idp->g, uc, now)) == NULL) {
		failed(idp, rq->peer, NULL, now);
		csrf_token(idp, "device", ok_s ? sbind : cbind, "", csrf,
		    sizeof(csrf));
		page_device_entry(rs, 400, csrf, NULL,
		    "That code is unknown or has expired.");
		goto out;
	}
	if (action == NULL) {
		if (s != NULL) {
			device_confirm(idp, rs, d, cv, &s->who);
			goto out;
		}
		if ((p = preq_new(idp->g, PREQ_DEVICE, now, owner)) == NULL) {
			page_error(rs, 503, "Busy", "Try again later.");
			goto out;
		}
		b0_strlcpy(p->user_code, d->user_code, sizeof(p->user_code));
		b0_buf_init(&loc, 256);
		(void)b0_buf_putf(&loc, "/login?req=%s", p->id);
		redirect(idp, rs, &loc);
		b0_buf_cleanup(&loc);
		goto out;
	}
	if (strcmp(action, "approve") == 0) {
		d->state = DCODE_APPROVED;
		d->who = s->who;
		b0_notice(idp->log, "%s: device code approved by %s (%s)",
		    rq->peer, s->who.email, s->who.src);
		page_message(rs, 200, "Signed in",
		    "You can close this window and return to your device.");
	} else if (strcmp(action, "deny") == 0) {
		d->state = DCODE_DENIED;
		b0_notice(idp->log, "%s: device code denied by %s", rq->peer,
		    s->who.email);
		page_message(
		    rs, 200, "Denied", "The device was not signed in.");
	} else
		page_error(rs, 400, "Invalid request",
		    "action must be approve or deny.");
out:
	OPENSSL_cleanse(cv, sizeof(cv));
	OPENSSL_cleanse(bc, sizeof(bc));
	OPENSSL_cleanse(sbind, sizeof(sbind));
	OPENSSL_cleanse(cbind, sizeof(cbind));
	b0_http_params_cleanup(&ps);
}

/* Check client_id of a token or device request: 0, or an error answered. */
static int
token_client(struct hresp *rs, const struct b0_http_params *ps, int required)
{
	const char *cid = param(ps, "client_id");

	if (cid == NULL && required) {
		oauth_error(rs, 400, "invalid_request", "client_id is missing");
		return -1;
	}
	if (cid != NULL && strcmp(cid, CLIENT_ID) != 0) {
		oauth_error(rs, 401, "invalid_client", "unknown client_id");
		return -1;
	}
	return 0;
}

/* The successful token response (RFC 6749 5.1). */
static void
token_ok(struct idp *idp, struct hresp *rs, const char *access,
    const char *refresh, const char *idt, const char *scope)
{
	struct b0_jsonw w;

	hresp_json(rs, 200);
	b0_buf_reset(rs->body);
	b0_jsonw_init(&w, rs->body);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "access_token");
	b0_jsonw_str(&w, access);
	b0_jsonw_key(&w, "token_type");
	b0_jsonw_str(&w, "Bearer");
	b0_jsonw_key(&w, "expires_in");
	b0_jsonw_int(&w, idp->access_ttl);
	b0_jsonw_key(&w, "refresh_token");
	b0_jsonw_str(&w, refresh);
	if (idt != NULL) {
		b0_jsonw_key(&w, "id_token");
		b0_jsonw_str(&w, idt);
	}
	b0_jsonw_key(&w, "scope");
	b0_jsonw_str(&w, scope);
	b0_jsonw_obj_end(&w);
	if (b0_jsonw_finish(&w) != 0)
		oauth_error(rs, 500, "server_error", "response too large");
}

/* A new grant for who and its tokens, answered on rs. */
static void
issue(struct idp *idp, const struct hreq *rq, struct hresp *rs,
    const struct who *who, const char *scope, const struct acode *c,
    char *grant_id, size_t grant_idsz, const char *how)
{
	char rt[GRANT_TOKEN_SIZE];
	char *at = NULL, *idt = NULL;
	struct b0_errmsg em;
	struct grant *gr;
	int64_t now = now_s();
	int r;

	b0_err_clear(&em);
	if ((r = grant_issue(
		 idp->g, who, scope, now, rt, sizeof(rt), &gr, &em)) != 0 ||
	    (r = access_token(idp, who, scope, now, &at, &em)) != 0 ||
	    (c != NULL && (r = id_token(idp, who, c, now, &idt, &em)) != 0)) {
		b0_error(
		    idp->log, "%s: token: %s", rq->peer, b0_err_text(&em, r));
		if (gr != NULL && r != 0)
			(void)grant_revoke(idp->g, gr->id, NULL);
		oauth_error(rs, 500, "server_error", "cannot issue tokens");
		goto out;
	}
	b0_strlcpy(grant_id, gr->id, grant_idsz);
	b0_notice(idp->log, "%s: token: grant %s for %s (%s, %s)", rq->peer,
	    gr->id, who->email, who->src, how);
	token_ok(idp, rs, at, rt, idt, scope);
out:
	b0_str_wipe_free(at);
	b0_str_wipe_free(idt);
	OPENSSL_cleanse(rt, sizeof(rt));
}

static void
token_code(struct idp *idp, const struct hreq *rq, struct hresp *rs,
    const struct b0_http_params *ps)
{
	const char *code = param(ps, "code"), *uri = param(ps, "redirect_uri");
	const char *ver = param(ps, "code_verifier");
	struct acode *c;

	if (token_client(rs, ps, 1) != 0)
		return;
	if (code == NULL || uri == NULL || ver == NULL) {
		oauth_error(rs, 400, "invalid_request",
		    code == NULL  ? "code is missing"
		    : uri == NULL ? "redirect_uri is missing"
				  : "code_verifier is missing");
		return;
	}
	if (!pkce_chars(ver, 43, 128)) {
		oauth_error(rs, 400, "invalid_request",
		    "code_verifier is not 43 to 128 unreserved characters");
		return;
	}
	if ((c = acode_find(idp->g, code)) == NULL) {
		oauth_error(rs, 400, "invalid_grant",
		    "unknown or expired authorization code");
		return;
	}
	if (c->used) {
		if (c->grant[0] != '\0') {
			b0_warn(idp->log,
			    "%s: token: authorization code of grant %s (%s) "
			    "used again: grant revoked",
			    rq->peer, c->grant, c->who.email);
			(void)grant_revoke(idp->g, c->grant, NULL);
			c->grant[0] = '\0';
		}
		oauth_error(rs, 400, "invalid_grant",
		    "the authorization code was already used");
		return;
	}
	c->used = 1; /* one try, right or wrong */
	if (c->expires <= now_s()) {
		oauth_error(
		    rs, 400, "invalid_grant", "the authorization code expired");
		return;
	}
	if (!b0_str_has_prefix(c->redirect_uri, "http://")) {
		/* A code of b0-http: redeemed inside the edge only. */
		oauth_error(rs, 400, "invalid_grant",
		    "the authorization code was not issued to b0-proxy");
		return;
	}
	if (strcmp(uri, c->redirect_uri) != 0) {
		oauth_error(rs, 400, "invalid_grant",
		    "redirect_uri is not the one of the authorization request");
		return;
	}
	if (!pkce_matches(ver, c->challenge)) {
		oauth_error(rs, 400, "invalid_grant",
		    "code_verifier does not match the code_challenge");
		return;
	}
	if (!who_current(idp, c->who.email, c->who.src, NULL)) {
		oauth_error(
		    rs, 400, "invalid_grant", "the account is no longer known");
		return;
	}
	issue(idp, rq, rs, &c->who, c->scope, c, c->grant, sizeof(c->grant),
	    "authorization_code");
}

int
idp_redeem_http(struct idp *idp, const char *code, const char *redirect_uri,
    const char *verifier, char *email, size_t emailsz, char *src, size_t srcsz,
    struct b0_errmsg *em)
{
	struct acode *c;

	if (emailsz > 0)
		email[0] = '\0';
	if (srcsz > 0)
		src[0] = '\0';
	if (idp == NULL || code == NULL || redirect_uri == NULL ||
	    verifier == NULL) {
		b0_err_set(em, "no code");
		return B0_ERR_ARG;
	}
	if ((c = acode_find(idp->g, code)) == NULL) {
		b0_err_set(em, "unknown or expired authorization code");
		return B0_ERR_AUTH;
	}
	if (c->used) {
		b0_err_set(em, "the authorization code was already used");
		return B0_ERR_AUTH;
	}
	c->used = 1;
	if (c->expires <= now_s()) {
		b0_err_set(em, "the authorization code expired");
		return B0_ERR_EXPIRED;
	}
	if (!b0_str_has_prefix(c->redirect_uri, "https://") ||
	    strcmp(c->redirect_uri, redirect_uri) != 0) {
		b0_err_set(em, "the code was issued for another redirect URI");
		return B0_ERR_AUTH;
	}
	if (!pkce_matches(verifier, c->challenge)) {
		b0_err_set(em, "the code verifier does not match");
		return B0_ERR_AUTH;
	}
	if (!who_current(idp, c->who.email, c->who.src, em))
		return B0_ERR_AUTH;
	if (b0_strlcpy(email, c->who.email, emailsz) >= emailsz ||
	    b0_strlcpy(src, c->who.src, srcsz) >= srcsz) {
		email[0] = '\0';
		b0_err_set(em, "email too long");
		return B0_ERR_TOO_BIG;
	}
	return 0;
}

int
idp_who_current(const struct idp *idp, const char *email, const char *src)
{
	return idp != NULL && who_current(idp, email, src, NULL);
}

static void
token_refresh(struct idp *idp, const struct hreq *rq, struct hresp *rs,
    const struct b0_http_params *ps)
{
	const char *rt = param(ps, "refresh_token"),
		   *scope = param(ps, "scope");
	char nrt[GRANT_TOKEN_SIZE];
	char *at = NULL;
	struct b0_errmsg em;
	struct grant *gr;
	int64_t now = now_s();
	int r;

	b0_err_clear(&em);
	if (token_client(rs, ps, 0) != 0)
		return;
	if (rt == NULL) {
		oauth_error(
		    rs, 400, "invalid_request", "refresh_token is missing");
		return;
	}
	if (scope != NULL && !scope_within(scope, SCOPE_GRANTED)) {
		oauth_error(rs, 400, "invalid_scope",
		    "scope must be the one granted (openid email)");
		return;
	}
	r = grant_use(
	    idp->g, rt, now, idp->refresh_ttl, nrt, sizeof(nrt), &gr, &em);
	if (r == B0_ERR_DENIED) {
		b0_warn(
		    idp->log, "%s: token: %s", rq->peer, b0_err_text(&em, r));
		oauth_error(rs, 400, "invalid_grant",
		    "the refresh token was already used; the grant is revoked");
		return;
	}
	if (r == B0_ERR_AUTH || r == B0_ERR_EXPIRED) {
		oauth_error(rs, 400, "invalid_grant",
		    r == B0_ERR_EXPIRED ? "the grant expired"
					: "unknown or revoked refresh token");
		return;
	}
	if (r != 0) {
		b0_error(
		    idp->log, "%s: token: %s", rq->peer, b0_err_text(&em, r));
		oauth_error(rs, 500, "server_error", "cannot rotate the grant");
		return;
	}
	if (!who_current(idp, gr->who.email, gr->who.src, &em)) {
		b0_notice(idp->log, "%s: token: grant %s revoked: %s", rq->peer,
		    gr->id, b0_err_text(&em, 0));
		(void)grant_revoke(idp->g, gr->id, NULL);
		OPENSSL_cleanse(nrt, sizeof(nrt));
		oauth_error(
		    rs, 400, "invalid_grant", "the account is no longer known");
		return;
	}
	if ((r = access_token(idp, &gr->who, gr->scope, now, &at, &em)) != 0) {
		b0_error(
		    idp->log, "%s: token: %s", rq->peer, b0_err_text(&em, r));
		oauth_error(rs, 500, "server_error", "cannot sign");
	} else {
		b0_info(idp->log, "%s: token: grant %s refreshed for %s",
		    rq->peer, gr->id, gr->who.email);
		token_ok(idp, rs, at, nrt, NULL, gr->scope);
	}
	b0_str_wipe_free(at);
	OPENSSL_cleanse(nrt, sizeof(nrt));
}

static void
token_device(struct idp *idp, const struct hreq *rq, struct hresp *rs,
    const struct b0_http_params *ps)
{
	const char *dc = param(ps, "device_code");
	struct dcode *d;
	uint64_t ms = mono_ms();

	if (token_client(rs, ps, 1) != 0)
		return;
	if (dc == NULL) {
		oauth_error(
		    rs, 400, "invalid_request", "device_code is missing");
		return;
	}
	if ((d = dcode_find(idp->g, dc)) == NULL) {
		oauth_error(rs, 400, "invalid_grant", "unknown device_code");
		return;
	}
	if (d->state == DCODE_USED) {
		if (d->grant[0] != '\0') {
			b0_warn(idp->log,
			    "%s: token: device code of grant %s (%s) used "
			    "again: grant revoked",
			    rq->peer, d->grant, d->who.email);
			(void)grant_revoke(idp->g, d->grant, NULL);
			d->grant[0] = '\0';
		}
		oauth_error(rs, 400, "invalid_grant",
		    "the device code was already used");
		return;
	}
	if (d->expires <= now_s()) {
		oauth_error(
		    rs, 400, "expired_token", "the device code expired");
		return;
	}
	if (d->last_poll_ms != 0 &&
	    ms - d->last_poll_ms < (uint64_t)d->interval * 1000) {
		d->last_poll_ms = ms;
		if (d->interval < 60)
			d->interval += 5;
		oauth_error(rs, 400, "slow_down", NULL);
		return;
	}
	d->last_poll_ms = ms;
	switch (d->state) {
	case DCODE_PENDING:
		oauth_error(rs, 400, "authorization_pending", NULL);
		break;
	case DCODE_DENIED:
		oauth_error(
		    rs, 400, "access_denied", "the person denied the request");
		dcode_del(idp->g, d);
		break;
	case DCODE_APPROVED:
		if (!who_current(idp, d->who.email, d->who.src, NULL)) {
			oauth_error(rs, 400, "access_denied",
			    "the account is no longer known");
			dcode_del(idp->g, d);
			break;
		}
		d->state = DCODE_USED;
		issue(idp, rq, rs, &d->who, d->scope, NULL, d->grant,
		    sizeof(d->grant), "device_code");
		break;
	case DCODE_USED:
		break;
	}
}

static void
token(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	const char *gt;
	int r;

	b0_err_clear(&em);
	if ((r = form_body(rq, &ps, &em)) != 0) {
		oauth_error(rs, 400, "invalid_request", b0_err_text(&em, r));
		return;
	}
	if (b0_http_get(&rq->req->h, "Authorization", NULL, NULL) > 0) {
		oauth_error(rs, 401, "invalid_client",
		    "b0-proxy is a public client: send no credentials");
		goto out;
	}
	if ((gt = param(&ps, "grant_type")) == NULL)
		oauth_error(
		    rs, 400, "invalid_request", "grant_type is missing");
	else if (strcmp(gt, "authorization_code") == 0)
		token_code(idp, rq, rs, &ps);
	else if (strcmp(gt, "refresh_token") == 0)
		token_refresh(idp, rq, rs, &ps);
	else if (strcmp(gt, "urn:ietf:params:oauth:grant-type:device_code") ==
		 0)
		token_device(idp, rq, rs, &ps);
	else
		oauth_error(rs, 400, "unsupported_grant_type",
		    "grant_type must be authorization_code, refresh_token or "
		    "urn:ietf:params:oauth:grant-type:device_code");
out:
	b0_http_params_cleanup(&ps);
}

static void
device_authorization(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	char dc[GRANT_SECRET_SIZE], shown[16], url[ISSUER_SIZE + 64];
	const char *scope;
	struct b0_jsonw w;
	struct dcode *d;
	char owner[GRANT_OWNER_SIZE];
	int r;

	b0_err_clear(&em);
	fails_addr(rq->peer, owner, sizeof(owner));
	if ((r = form_body(rq, &ps, &em)) != 0) {
		oauth_error(rs, 400, "invalid_request", b0_err_text(&em, r));
		return;
	}
	if (token_client(rs, &ps, 1) != 0)
		goto out;
	scope = param(&ps, "scope");
	if (scope != NULL &&
	    (!scope_valid(scope) || !scope_has(scope, "openid"))) {
		oauth_error(
		    rs, 400, "invalid_scope", "scope must contain openid");
		goto out;
	}
	if ((d = dcode_new(idp->g, SCOPE_GRANTED, now_s(), owner, dc,
		 sizeof(dc))) == NULL) {
		oauth_error(rs, 503, "temporarily_unavailable", "try again");
		goto out;
	}
	user_code_show(d->user_code, shown, sizeof(shown));
	hresp_json(rs, 200);
	b0_buf_reset(rs->body);
	b0_jsonw_init(&w, rs->body);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "device_code");
	b0_jsonw_str(&w, dc);
	b0_jsonw_key(&w, "user_code");
	b0_jsonw_str(&w, shown);
	snprintf(url, sizeof(url), "%s/device", idp->issuer);
	b0_jsonw_key(&w, "verification_uri");
	b0_jsonw_str(&w, url);
	snprintf(
	    url, sizeof(url), "%s/device?user_code=%s", idp->issuer, shown);
	b0_jsonw_key(&w, "verification_uri_complete");
	b0_jsonw_str(&w, url);
	b0_jsonw_key(&w, "expires_in");
	b0_jsonw_int(&w, DEVICE_TTL);
	b0_jsonw_key(&w, "interval");
	b0_jsonw_int(&w, DEVICE_INTERVAL);
	b0_jsonw_obj_end(&w);
	if (b0_jsonw_finish(&w) != 0)
		oauth_error(rs, 500, "server_error", "response too large");
	b0_info(idp->log, "%s: device_authorization: code issued", rq->peer);
out:
	OPENSSL_cleanse(dc, sizeof(dc));
	b0_http_params_cleanup(&ps);
}

/*
 * RFC 7009: b0-proxy logout hands back its refresh token, and the grant
 * ends.  Unknown tokens (and access tokens, which simply expire) get the
 * same 200.
 */
static void
token_revoke(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	struct b0_http_params ps;
	struct b0_errmsg em;
	char id[GRANT_ID_SIZE];
	const char *tok;
	int r;

	b0_err_clear(&em);
	if ((r = form_body(rq, &ps, &em)) != 0) {
		oauth_error(rs, 400, "invalid_request", b0_err_text(&em, r));
		return;
	}
	if (token_client(rs, &ps, 0) != 0)
		goto out;
	if ((tok = param(&ps, "token")) == NULL) {
		oauth_error(rs, 400, "invalid_request", "token is missing");
		goto out;
	}
	r = grant_revoke_token(idp->g, tok, id, sizeof(id), &em);
	if (r == 0)
		b0_notice(idp->log, "%s: revoke: grant %s ended by its client",
		    rq->peer, id);
	else if (r != B0_ERR_AUTH) {
		b0_error(
		    idp->log, "%s: revoke: %s", rq->peer, b0_err_text(&em, r));
		oauth_error(rs, 503, "temporarily_unavailable",
		    "cannot save the grants");
		goto out;
	}
	hresp_json(rs, 200);
	b0_buf_reset(rs->body);
	(void)b0_buf_put_str(rs->body, "{}");
out:
	b0_http_params_cleanup(&ps);
}

static void
userinfo(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	char email[GRANT_EMAIL_SIZE];
	struct b0_errmsg em;
	struct b0_jsonw w;
	const char *v;
	size_t n;
	int r;

	b0_err_clear(&em);
	if (b0_http_get(&rq->req->h, "Authorization", &v, &n) != 1 || n < 8 ||
	    !b0_str_ncaseeq(v, "Bearer ", 7)) {
		hresp_json(rs, 401);
		(void)b0_buf_put_str(rs->body, "{\"error\":\"invalid_request\","
					       "\"error_description\":\"a "
					       "Bearer token is required\"}");
		(void)hresp_header(rs, "WWW-Authenticate: Bearer");
		return;
	}
	v += 7;
	n -= 7;
	if ((r = idp_check_access(idp, v, n, email, sizeof(email), &em)) != 0) {
		const char *why = b0_err_text(&em, r);
		size_t i;
		char clean[200];

		/* Into a quoted header value: no quotes, no backslashes. */
		b0_strlcpy(clean, why, sizeof(clean));
		for (i = 0; clean[i] != '\0'; i++)
			if (clean[i] == '"' || clean[i] == '\\')
				clean[i] = '\'';
		oauth_error(rs, 401, "invalid_token", why);
		b0_buf_reset(rs->headers);
		(void)hresp_header(rs,
		    "WWW-Authenticate: Bearer error=\"invalid_token\", "
		    "error_description=\"%s\"",
		    clean);
		return;
	}
	hresp_json(rs, 200);
	b0_buf_reset(rs->body);
	b0_jsonw_init(&w, rs->body);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "sub");
	b0_jsonw_str(&w, email);
	b0_jsonw_key(&w, "email");
	b0_jsonw_str(&w, email);
	b0_jsonw_key(&w, "email_verified");
	b0_jsonw_bool(&w, 1);
	b0_jsonw_obj_end(&w);
	(void)b0_jsonw_finish(&w);
}

/* --- logout ------------------------------------------------------------ */

int
idp_logout_ticket(struct idp *idp, const char *email, const char *back,
    char *out, size_t outsz)
{
	struct logout_ticket *t = &idp->lts[0];
	int64_t now = now_s();
	size_t i;
	int r;

	/* A free or expired slot, else the one closest to expiry. */
	for (i = 0; i < LOGOUT_TICKETS; i++) {
		if (idp->lts[i].expires <= now) {
			t = &idp->lts[i];
			break;
		}
		if (idp->lts[i].expires < t->expires)
			t = &idp->lts[i];
	}
	if ((r = grants_random_b64(out, outsz)) != 0)
		return r;
	OPENSSL_cleanse(t, sizeof(*t));
	grants_hash(out, strlen(out), t->hash);
	grants_hash(back, strlen(back), t->back);
	b0_strlcpy(t->email, email, sizeof(t->email));
	b0_str_lower(t->email);
	t->expires = now + LOGOUT_TICKET_TTL;
	return 0;
}

/*
 * Take (spend) the logout ticket got: 1 if it is live, made for back and
 * for email, else 0.  Spent either way.
 */
static int
logout_ticket_take(
    struct idp *idp, const char *got, const char *back, const char *email)
{
	uint8_t h[32], bh[32];
	int64_t now = now_s();
	size_t i;
	int ok = 0;

	if (got == NULL || strlen(got) != 43)
		return 0;
	grants_hash(got, strlen(got), h);
	grants_hash(
	    back != NULL ? back : "", back != NULL ? strlen(back) : 0, bh);
	for (i = 0; i < LOGOUT_TICKETS; i++) {
		struct logout_ticket *t = &idp->lts[i];

		if (t->expires == 0 || !b0_ct_eq(t->hash, h, 32))
			continue;
		ok = t->expires > now && back != NULL &&
		     b0_ct_eq(t->back, bh, 32) &&
		     b0_str_caseeq(t->email, email);
		OPENSSL_cleanse(t, sizeof(*t));
		break;
	}
	OPENSSL_cleanse(h, sizeof(h));
	return ok;
}

/* Signed out (or never signed in): the way back, or the page that says so. */
static void
logout_done(struct idp *idp, struct hresp *rs, const char *back)
{
	struct b0_buf loc;

	set_cookie(rs, COOKIE_SESSION, NULL, -1);
	if (back != NULL) {
		b0_buf_init(&loc, 4096);
		(void)b0_buf_put_str(&loc, back);
		redirect(idp, rs, &loc);
		b0_buf_cleanup(&loc);
	} else
		page_message(rs, 200, "Signed out",
		    "You are signed out of this edge in this browser.");
}

/*
 * /logout ends the browser session (docs/identity.md, "Logout"): a GET
 * only asks (a page whose form POSTs with a CSRF token bound to the
 * session), unless it carries the one-time logout_ticket an http socket
 * host made for this person and this post_logout_redirect_uri (OIDC
 * RP-Initiated Logout; only a socket host's /.b0/login: "Sign in as
 * someone else").  A POST needs the token and, if the browser says where
 * it comes from, Sec-Fetch-Site: same-origin.  Without a session there is
 * nothing to end and nothing to protect.
 */
static void
logout(struct idp *idp, const struct hreq *rq, struct hresp *rs, int post)
{
	char cv[GRANT_SECRET_SIZE], bind[GRANT_SECRET_SIZE + 2];
	char csrf[GRANT_SECRET_SIZE], url[GRANT_URI_SIZE + ISSUER_SIZE + 64];
	struct b0_http_params ps;
	struct b0_errmsg em;
	struct bsess *s;
	const char *back = NULL, *tk;
	int r;

	b0_err_clear(&em);
	cv[0] = bind[0] = '\0';
	r = post ? form_body(rq, &ps, &em)
		 : params(rq->query, strlen(rq->query), &ps, &em);
	if (r != 0) {
		page_error(rs, r == B0_ERR_TOO_BIG ? 413 : 400,
		    "Invalid request", b0_err_text(&em, r));
		goto out;
	}
	back = param(&ps, "post_logout_redirect_uri");
	if (back != NULL && !http_socket_uri(idp, back, 0)) {
		page_error(rs, 400, "Invalid request",
		    "post_logout_redirect_uri must be a /.b0/ path of an "
		    "http socket of this edge.");
		goto out;
	}
	if ((s = session_of(idp, rq, cv, sizeof(cv))) == NULL) {
		logout_done(idp, rs, back);
		goto out;
	}
	binder(bind, sizeof(bind), 's', cv);
	tk = param(&ps, "logout_ticket");
	if (!post && tk != NULL &&
	    logout_ticket_take(idp, tk, back, s->who.email)) {
		b0_info(idp->log, "%s: signed out: %s (logout ticket)",
		    rq->peer, s->who.email);
		bsess_del(idp->g, s);
		logout_done(idp, rs, back);
		goto out;
	}
	if (!post) {
		if (tk != NULL)
			b0_log_rl(idp->log, &idp->rl, now_s(), B0_LOG_INFO,
			    "%s: logout: a logout ticket not for this "
			    "session; asking",
			    rq->peer);
		csrf_token(idp, "logout", bind, "", csrf, sizeof(csrf));
		page_logout(rs, idp->domain, s->who.email, back != NULL,
		    "/logout", csrf, back);
		OPENSSL_cleanse(csrf, sizeof(csrf));
		goto out;
	}
	if ((r = idp_csrf_check(
		 idp, rq, "logout", bind, "", param(&ps, "csrf"), &em)) != 0) {
		b0_log_rl(idp->log, &idp->rl, now_s(), B0_LOG_NOTICE,
		    "%s: logout: sign-out of %s refused: %s", rq->peer,
		    s->who.email, b0_err_text(&em, r));
		snprintf(url, sizeof(url), "%s/logout", idp->issuer);
		page_logout_refused(rs, idp->domain, url);
		goto out;
	}
	b0_info(idp->log, "%s: signed out: %s", rq->peer, s->who.email);
	bsess_del(idp->g, s);
	logout_done(idp, rs, back);
out:
	OPENSSL_cleanse(cv, sizeof(cv));
	OPENSSL_cleanse(bind, sizeof(bind));
	b0_http_params_cleanup(&ps);
}

void
idp_handle(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	const char *path = rq->path, *m = rq->method;
	int get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
	char name[40];
	size_t n;

	if (idp == NULL) {
		hresp_text(rs, 503, "the issuer is not running");
		return;
	}
	rs->form_action = idp->csp_hosts;
	if (strcmp(path, "/.well-known/openid-configuration") == 0) {
		if (get)
			discovery(idp, rs);
		else
			method_not_allowed(rs, "GET");
	} else if (strcmp(path, "/jwks.json") == 0) {
		if (get)
			jwks(idp, rs);
		else
			method_not_allowed(rs, "GET");
	} else if (strcmp(path, "/authorize") == 0) {
		if (get)
			authorize(idp, rq, rs);
		else
			method_not_allowed(rs, "GET");
	} else if (strcmp(path, "/login") == 0) {
		if (get)
			login_get(idp, rq, rs);
		else if (post)
			login_post(idp, rq, rs);
		else
			method_not_allowed(rs, "GET, POST");
	} else if (strcmp(path, "/login/continue") == 0) {
		if (get)
			login_continue(idp, rq, rs);
		else
			method_not_allowed(rs, "GET");
	} else if (strcmp(path, "/token") == 0) {
		if (post)
			token(idp, rq, rs);
		else
			method_not_allowed(rs, "POST");
	} else if (strcmp(path, "/device_authorization") == 0) {
		if (post)
			device_authorization(idp, rq, rs);
		else
			method_not_allowed(rs, "POST");
	} else if (strcmp(path, "/device") == 0) {
		if (get)
			device_get(idp, rq, rs);
		else if (post)
			device_post(idp, rq, rs);
		else
			method_not_allowed(rs, "GET, POST");
	} else if (strcmp(path, "/revoke") == 0) {
		if (post)
			token_revoke(idp, rq, rs);
		else
			method_not_allowed(rs, "POST");
	} else if (strcmp(path, "/userinfo") == 0) {
		if (get || post)
			userinfo(idp, rq, rs);
		else
			method_not_allowed(rs, "GET, POST");
	} else if (strcmp(path, "/logout") == 0) {
		if (get || post)
			logout(idp, rq, rs, post);
		else
			method_not_allowed(rs, "GET, POST");
	} else if (strcmp(path, "/upstream/callback") == 0) {
		if (get)
			upstream_callback(idp, rq, rs);
		else
			method_not_allowed(rs, "GET");
	} else if (b0_str_has_prefix(path, "/upstream/") &&
		   b0_str_has_suffix(path, "/start") &&
		   (n = strlen(path) - 16) > 0 && n < 33) {
		memcpy(name, path + 10, n);
		name[n] = '\0';
		if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
			page_error(rs, 404, "Not found", "No such provider.");
		else if (get)
			upstream_start(idp, rq, rs, name);
		else
			method_not_allowed(rs, "GET");
	} else
		page_error(rs, 404, "Not found", "There is no such page here.");
}

/* --- life cycle ---------------------------------------------------------- */

static void
set_from_conf(struct idp *idp, const struct edge_conf *c)
{
	int i;

	idp->access_ttl = (int64_t)c->access_ttl_s;
	idp->refresh_ttl = (int64_t)c->refresh_ttl_s;
	idp->builtin = c->builtin_users;
	idp->nproviders = c->nproviders;
	for (i = 0; i < c->nproviders; i++)
		b0_strlcpy(idp->providers[i], c->providers[i].name,
		    sizeof(idp->providers[i]));
}

/*
 * Started as root to bind its port, the edge reads and makes its state
 * (keys, users, grants) as the user it is about to become: the state
 * directory and everything in it is that user's (b0-edge's commands write
 * it as that user too), and after the drop that user alone reads and
 * rewrites it.  Provider secrets, which only root may read, are read
 * afterwards as root again.  *switchedp says whether to switch back.
 */
static int
state_user_enter(
    const struct edge_conf *c, int *switchedp, struct b0_errmsg *em)
{
	uid_t uid;
	gid_t gid;
	int r;

	*switchedp = 0;
	if (geteuid() != 0 || c->user == NULL)
		return 0;
	if ((r = b0_daemon_lookup(c->user, &uid, &gid, em)) != 0)
		return r;
	if (uid == 0)
		return 0;
	if (setegid(gid) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "cannot act as group of %s: %s", c->user,
		    b0_strerror(r));
		return r;
	}
	if (seteuid(uid) == -1) {
		r = b0_err_from_errno();
		b0_err_set(
		    em, "cannot act as user %s: %s", c->user, b0_strerror(r));
		/* Still root, so taking the group back cannot fail. */
		if (setegid(0) == -1)
			abort();
		return r;
	}
	*switchedp = 1;
	return 0;
}

/*
 * Back to root after state_user_enter().  A daemon that could not become
 * root again must not go on as if it had: the caller fails.
 */
static int
state_user_leave(int switched, struct b0_errmsg *em)
{
	int r;

	if (!switched)
		return 0;
	if (seteuid(0) == -1 || setegid(0) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "cannot act as root again: %s", b0_strerror(r));
		return r;
	}
	return 0;
}

/*
 * The ":PORT" of an issuer "https://HOST[:PORT][/...]" ("" without one),
 * which the edge's socket hosts share: they are served on the same port.
 */
static void
issuer_port(const char *issuer, char *out, size_t outsz)
{
	const char *a = issuer, *end, *colon;

	out[0] = '\0';
	if (b0_str_has_prefix(a, "https://"))
		a += 8;
	end = a + strcspn(a, "/?#");
	if (*a == '[' && (colon = memchr(a, ']', (size_t)(end - a))) != NULL)
		a = colon;
	if ((colon = memchr(a, ':', (size_t)(end - a))) != NULL &&
	    (size_t)(end - colon) < outsz && end - colon > 1) {
		memcpy(out, colon, (size_t)(end - colon));
		out[end - colon] = '\0';
	}
}

int
idp_new(struct edge *e, struct idp **ip, struct b0_errmsg *em)
{
	const struct edge_conf *c = e->conf;
	struct idp *idp = NULL;
	int r, switched = 0;

	*ip = NULL;
	if ((idp = calloc(1, sizeof(*idp))) == NULL)
		return B0_ERR_ALLOC;
	TAILQ_INIT(&idp->upcbs);
	fails_init(&idp->fails, FAILS_WINDOW);
	b0_buf_init(&idp->scratch, 8192);
	b0_buf_init(&idp->jwks, B0_JWKS_MAX_BYTES);
	b0_buf_set_secret(&idp->scratch);
	idp->e = e;
	idp->log = &e->log;
	idp->rl.burst = 20;
	idp->rl.interval = 60;
	b0_strlcpy(idp->domain, c->domain, sizeof(idp->domain));
	b0_strlcpy(idp->state_dir, c->state_dir, sizeof(idp->state_dir));
	if (c->issuer != NULL)
		b0_strlcpy(idp->issuer, c->issuer, sizeof(idp->issuer));
	else if (e->https_port == 443 || e->https_port == 0)
		snprintf(
		    idp->issuer, sizeof(idp->issuer), "https://%s", c->domain);
	else
		snprintf(idp->issuer, sizeof(idp->issuer), "https://%s:%u",
		    c->domain, (unsigned)e->https_port);
	set_from_conf(idp, c);
	issuer_port(idp->issuer, idp->port_suffix, sizeof(idp->port_suffix));
	snprintf(idp->csp_hosts, sizeof(idp->csp_hosts), "https://*.%s%s",
	    c->domain, idp->port_suffix);
	if (RAND_bytes(idp->csrf_key, sizeof(idp->csrf_key)) != 1) {
		r = B0_ERR_CRYPTO;
		b0_err_set(em, "no random numbers");
		goto out;
	}
	if ((r = state_user_enter(c, &switched, em)) != 0)
		goto out;
	if ((r = keys_load(c->state_dir, 1, &idp->keys, em)) != 0 ||
	    (r = users_load(c->state_dir, &idp->users, em)) != 0 ||
	    (r = grants_load(c->state_dir, &idp->g, em)) != 0) {
		(void)state_user_leave(switched, NULL);
		goto out;
	}
	if ((r = state_user_leave(switched, em)) != 0)
		goto out;
	(void)jwks_update(idp);
	if ((r = upstreams_new(e->loop, c, idp->issuer, &idp->up, em)) != 0)
		goto out;
	b0_info(idp->log,
	    "issuer %s: %zu signing key%s, %zu built-in account%s%s, %zu "
	    "refresh grant%s, %d provider%s",
	    idp->issuer, keys_count(idp->keys),
	    keys_count(idp->keys) == 1 ? "" : "s", users_count(idp->users),
	    users_count(idp->users) == 1 ? "" : "s",
	    idp->builtin ? "" : " (disabled)", grants_count(idp->g),
	    grants_count(idp->g) == 1 ? "" : "s", c->nproviders,
	    c->nproviders == 1 ? "" : "s");
	*ip = idp;
	idp = NULL;
	r = 0;
out:
	idp_free(idp);
	return r;
}

static void
cancel_upcbs(struct idp *idp, const char *why)
{
	struct upcb *cb;
	struct preq *p;

	while ((cb = TAILQ_FIRST(&idp->upcbs)) != NULL) {
		if (idp->up != NULL)
			upstreams_cancel(idp->up, cb);
		if (why != NULL && idp->g != NULL &&
		    (p = preq_find(idp->g, cb->req, now_s())) != NULL) {
			p->upstream_end = 1;
			b0_strlcpy(p->why, why, sizeof(p->why));
		}
		TAILQ_REMOVE(&idp->upcbs, cb, entry);
		free(cb);
	}
}

void
idp_free(struct idp *idp)
{
	if (idp == NULL)
		return;
	cancel_upcbs(idp, NULL);
	upstreams_free(idp->up);
	grants_free(idp->g);
	users_free(idp->users);
	keys_free(idp->keys);
	b0_buf_cleanup(&idp->scratch);
	b0_buf_cleanup(&idp->jwks);
	OPENSSL_cleanse(idp, sizeof(*idp));
	free(idp);
}

/*
 * Rewrite the published keys; 1 if they changed (the generation moved),
 * else 0.  On error the old text is kept.
 */
static int
jwks_update(struct idp *idp)
{
	struct b0_buf nb;
	int changed = 0;

	b0_buf_init(&nb, B0_JWKS_MAX_BYTES);
	if (keys_write_jwks(idp->keys, now_s(), retain_s(idp), &nb) != 0) {
		b0_error(idp->log, "cannot write the key set");
	} else if (b0_buf_len(&nb) != b0_buf_len(&idp->jwks) ||
		   memcmp(b0_buf_ptr(&nb), b0_buf_ptr(&idp->jwks),
		       b0_buf_len(&nb)) != 0) {
		b0_buf_reset(&idp->jwks);
		if (b0_buf_put(&idp->jwks, b0_buf_ptr(&nb), b0_buf_len(&nb)) ==
		    0) {
			idp->jwks_gen++;
			changed = 1;
		}
	}
	b0_buf_cleanup(&nb);
	return changed;
}

uint64_t
idp_jwks(const struct idp *idp, const char **jsonp, size_t *lenp)
{
	*jsonp = b0_buf_len(&idp->jwks) > 0
		     ? (const char *)b0_buf_ptr(&idp->jwks)
		     : NULL;
	*lenp = b0_buf_len(&idp->jwks);
	return idp->jwks_gen;
}

void
idp_tick(struct idp *idp)
{
	struct b0_errmsg em;
	const char *kid;
	EVP_PKEY *pk;
	int r;

	if (idp == NULL)
		return;
	b0_err_clear(&em);
	if ((r = grants_expire(idp->g, now_s(), idp->refresh_ttl, &em)) != 0)
		b0_error(idp->log, "saving grants: %s", b0_err_text(&em, r));
	if ((r = keys_refresh(idp->keys, &em)) == 1) {
		keys_signer(idp->keys, &pk, &kid);
		b0_notice(idp->log, "keys reloaded: %zu, signing with %s",
		    keys_count(idp->keys), kid);
	} else if (r < 0)
		b0_error(idp->log, "reading keys: %s (keeping the old ones)",
		    b0_err_text(&em, r));
	if ((r = users_refresh(idp->users, idp->state_dir, &em)) == 1)
		b0_info(
		    idp->log, "users reloaded: %zu", users_count(idp->users));
	else if (r < 0)
		b0_error(idp->log, "reading users: %s (keeping the old ones)",
		    b0_err_text(&em, r));
	if (jwks_update(idp))
		sessions_send_keys(idp->e);
}

void
idp_reload(struct idp *idp, struct edge *e)
{
	const struct edge_conf *c = e->conf;
	struct upstreams *nu = NULL;
	struct b0_errmsg em;
	int r;

	if (idp == NULL)
		return;
	b0_err_clear(&em);
	if (c->issuer != NULL && strcmp(c->issuer, idp->issuer) != 0)
		b0_warn(idp->log,
		    "reload: issuer changed; restart b0-edge to apply it "
		    "(keeping %s)",
		    idp->issuer);
	if ((r = upstreams_new(e->loop, c, idp->issuer, &nu, &em)) != 0) {
		b0_error(idp->log,
		    "reload: providers: %s (keeping the old identity "
		    "settings)",
		    b0_err_text(&em, r));
		return;
	}
	cancel_upcbs(idp, "The edge was reconfigured; sign in again.");
	upstreams_free(idp->up);
	idp->up = nu;
	set_from_conf(idp, c);
}
