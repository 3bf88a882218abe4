/*
 * Upstream OpenID Connect providers (docs/identity.md, "Upstream
 * providers"): the edge signs people in at Google, Keycloak, ... as a
 * confidential client (client_secret_post) with the authorization code
 * flow, PKCE S256 and a nonce, and takes the email of a verified ID token.
 *
 * Every network exchange (discovery, JWKS, the token endpoint) runs with
 * libcurl's easy interface on a thread of its own, so the relay's loop
 * never waits.  A thread works only on its struct job (copies of what it
 * needs, plus the CA bundle that lives as long as the struct upstreams)
 * and, when done, writes the job's address into a pipe the loop watches;
 * the loop joins the thread and takes the results.  Everything else (the
 * providers' keys, pending logins, callbacks) is touched by the loop only.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b0_b64.h"
#include "b0_buf.h"
#include "b0_file.h"
#include "b0_http.h"
#include "b0_ident.h"
#include "b0_json.h"
#include "b0_jwt.h"
#include "b0_log.h"
#include "b0_str.h"
#include "b0_version.h"
#include "conf.h"
#include "upstream.h"

#define UP_DOC_MAX (64 * 1024)	   /* discovery, JWKS, token responses */
#define UP_TIMEOUT_MS 10000	   /* whole exchange */
#define UP_CONNECT_TIMEOUT_MS 5000 /* TCP + TLS handshake */
#define UP_STATE_TTL_MS (10 * 60 * 1000)
#define UP_PENDING_MAX 4096		/* logins begun and not come back */
#define UP_JOBS_MAX 64			/* threads at once */
#define UP_RETRY_MIN_MS 5000		/* first retry of discovery */
#define UP_RETRY_MAX_MS (5 * 60 * 1000) /* backoff ceiling */
#define UP_JWKS_MIN_GAP_MS 10000	/* unknown kid: refetch at most */
#define UP_SKEW 60			/* seconds of clock skew allowed */
#define UP_ID_TOKEN_LIFE (24 * 3600)	/* longest ID token lifetime */
#define UP_SECRET_MAX 1024
#define UP_URL_MAX 2048
#define UP_REQ_MAX 128
#define UP_CODE_MAX 2048
#define UP_RAND_BYTES 32
#define UP_RAND_SIZE 44 /* 43 base64url characters and a NUL */

struct upstreams;

struct provider {
	struct upstreams *u;
	size_t idx;
	char *name;
	char *issuer;
	char *client_id;
	char *secret; /* wiped */
	int loopback; /* an http://127.0.0.1 or http://[::1] issuer */
	/* From discovery; NULL until it succeeded. */
	char *authz_ep;
	char *token_ep;
	char *jwks_uri;
	struct b0_jwks *jwks;
	int discovering;   /* a discovery job runs */
	uint64_t tried_at; /* loop time discovery last started */
	uint64_t retry_ms; /* the next backoff */
	uint64_t jwks_at;  /* loop time of the last refetch (unknown kid) */
	struct b0_timer retry;
};

/* A login sent to a provider and not back yet (keyed by state). */
struct pending {
	char state[UP_RAND_SIZE];
	char nonce[UP_RAND_SIZE];
	char verifier[UP_RAND_SIZE];
	char *req;
	size_t prov;
	uint64_t expires; /* loop ms */
	int64_t started;  /* wall seconds */
	TAILQ_ENTRY(pending) entry;
};

/* A login back from its provider: the code exchange and ID token check. */
struct exchange {
	size_t prov;
	char nonce[UP_RAND_SIZE];
	int64_t started;
	upstream_done_fn *done; /* NULL once cancelled */
	void *cookie;
	char *id_token; /* wiped */
	int refetched;	/* the JWKS was fetched again for it */
	TAILQ_ENTRY(exchange) entry;
};

enum job_kind {
	JOB_DISCOVER = 0, /* discovery document, then its JWKS */
	JOB_JWKS = 1,	  /* the JWKS again (unknown kid) */
	JOB_TOKEN = 2	  /* the code exchange */
};

struct job {
	enum job_kind kind;
	size_t prov;
	struct exchange *x; /* JOB_TOKEN, and JOB_JWKS for an exchange */
	/* Inputs, the job's own copies. */
	char *url;
	char *issuer;	    /* JOB_DISCOVER: what the document must say */
	struct b0_buf post; /* JOB_TOKEN: the form (secret: wiped) */
	int loopback;
	const uint8_t *ca; /* borrowed from the upstreams: immutable */
	size_t ca_len;
	atomic_int *stop;
	int wfd;
	/* Results. */
	int r;
	char why[256];
	char *authz_ep, *token_ep, *jwks_uri;
	struct b0_jwks *jwks;
	char *id_token;
	pthread_t th;
	TAILQ_ENTRY(job) entry;
};

TAILQ_HEAD(job_q, job);
TAILQ_HEAD(pending_q, pending);
TAILQ_HEAD(exchange_q, exchange);

struct upstreams {
	struct b0_loop *loop;
	struct b0_log log;
	char *redirect_uri;
	struct provider *p;
	size_t n;
	uint8_t *ca; /* provider-ca (PEM), or NULL for the system's */
	size_t ca_len;
	int pfd[2];
	atomic_int stop;
	int curl;
	struct job_q jobs;
	size_t njobs;
	struct pending_q pending;
	size_t npending;
	struct exchange_q exchanges;
};

/* ---- URLs ---- */

/*
 * url_ok(url, loopback_ok): an absolute https URL we are willing to
 * fetch.  With loopback_ok, plain http to 127.0.0.1 or [::1] is allowed
 * too: for the tests and for a provider on the edge host itself, where
 * nothing crosses a network.  Nothing else travels without TLS.
 */
static int
url_ok(const char *url, int loopback_ok)
{
	const char *host, *p;
	size_t n = strlen(url);

	if (n > UP_URL_MAX)
		return 0;
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '#' || *p == '\\')
			return 0;
	}
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (loopback_ok && (strncmp(url, "http://127.0.0.1", 16) == 0 &&
				    strchr(":/", url[16]) != NULL))
		host = url + 7;
	else if (loopback_ok && (strncmp(url, "http://[::1]", 12) == 0 &&
				    strchr(":/", url[12]) != NULL))
		host = url + 7;
	else
		return 0;
	/* A host, and no user info in the authority. */
	if (*host == '\0' || *host == '/' || *host == ':')
		return 0;
	for (p = host; *p != '\0' && *p != '/' && *p != '?'; p++) {
		if (*p == '@')
			return 0;
	}
	return 1;
}

static int
url_is_loopback_http(const char *url)
{
	return strncmp(url, "http://", 7) == 0 && url_ok(url, 1);
}

/* strdup(base) without its trailing slashes, then suffix. */
static char *
url_join(const char *base, const char *suffix)
{
	size_t n = strlen(base);
	char *s;

	while (n > 0 && base[n - 1] == '/')
		n--;
	if ((s = malloc(n + strlen(suffix) + 1)) == NULL)
		return NULL;
	memcpy(s, base, n);
	strcpy(s + n, suffix);
	return s;
}

/* ---- The worker threads (they touch nothing but their job) ---- */

static size_t
on_body(char *data, size_t size, size_t nmemb, void *cookie)
{
	struct b0_buf *b = cookie;
	size_t n = size * nmemb;

	if (b0_buf_put(b, data, n) != 0)
		return 0; /* too big: curl fails with CURLE_WRITE_ERROR */
	return n;
}

static int
on_progress(void *cookie, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	atomic_int *stop = cookie;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(stop) ? 1 : 0;
}

/*
 * http_fetch(j, url, post, out, statusp): GET url (or POST the form post
 * when not NULL) into out; *statusp gets the HTTP status.  TLS is
 * verified against the system's CAs or the provider-ca bundle; no
 * redirects, no other protocols.  On failure j->why says why.
 */
static int
http_fetch(struct job *j, const char *url, const struct b0_buf *post,
    struct b0_buf *out, long *statusp)
{
	char err[CURL_ERROR_SIZE];
	struct curl_slist *hdrs = NULL;
	struct curl_blob blob;
	const char *protos = j->loopback ? "http,https" : "https";
	CURL *c;
	CURLcode cr;
	int r = B0_ERR_PROTOCOL;

	*statusp = 0;
	err[0] = '\0';
	if ((c = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(NULL, "Accept: application/json")) ==
		NULL) {
		snprintf(j->why, sizeof(j->why), "out of memory");
		r = B0_ERR_ALLOC;
		goto out;
	}
	cr = curl_easy_setopt(c, CURLOPT_URL, url);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protos);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(
		    c, CURLOPT_TIMEOUT_MS, (long)UP_TIMEOUT_MS);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(
		    c, CURLOPT_CONNECTTIMEOUT_MS, (long)UP_CONNECT_TIMEOUT_MS);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(
		    c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cr == CURLE_OK && j->ca != NULL) {
		/* Only these CAs: no bundle, no directory of the system's. */
		blob.data = (void *)(uintptr_t)j->ca;
		blob.len = j->ca_len;
		blob.flags = CURL_BLOB_NOCOPY;
		cr = curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		if (cr == CURLE_OK)
			cr = curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		if (cr == CURLE_OK)
			cr = curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	/* A loopback provider is never reached through a proxy. */
	if (cr == CURLE_OK && j->loopback)
		cr = curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(
		    c, CURLOPT_USERAGENT, "b0-edge/" B0_VERSION);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_XFERINFODATA, j->stop);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (cr == CURLE_OK)
		cr = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	if (cr == CURLE_OK && post != NULL) {
		/* Not copied by curl, so the job's buffer is the one wiped. */
		cr = curl_easy_setopt(
		    c, CURLOPT_POSTFIELDSIZE, (long)b0_buf_len(post));
		if (cr == CURLE_OK)
			cr = curl_easy_setopt(
			    c, CURLOPT_POSTFIELDS, b0_buf_ptr(post));
	}
	if (cr != CURLE_OK) {
		snprintf(j->why, sizeof(j->why), "libcurl: %s",
		    curl_easy_strerror(cr));
		r = B0_ERR_INTERNAL;
		goto out;
	}
	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		if (cr == CURLE_WRITE_ERROR)
			snprintf(j->why, sizeof(j->why),
			    "%s: the answer is larger than %d bytes", url,
			    UP_DOC_MAX);
		else
			snprintf(j->why, sizeof(j->why), "%s: %s", url,
			    err[0] != '\0' ? err : curl_easy_strerror(cr));
		r = cr == CURLE_OPERATION_TIMEDOUT ? B0_ERR_TIMEOUT
		    : cr == CURLE_PEER_FAILED_VERIFICATION ||
			    cr == CURLE_SSL_CONNECT_ERROR
			? B0_ERR_TLS
			: B0_ERR_PROTOCOL;
		goto out;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, statusp);
	r = 0;
out:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	return r;
}

/* Fetch a JSON document (status 200) and parse it into *jp. */
static int
fetch_json(
    struct job *j, const char *url, struct b0_buf *body, struct b0_json **jp)
{
	struct b0_errmsg em;
	long status;
	int r;

	*jp = NULL;
	b0_err_clear(&em);
	if ((r = http_fetch(j, url, NULL, body, &status)) != 0)
		return r;
	if (status != 200) {
		snprintf(
		    j->why, sizeof(j->why), "%s: HTTP status %ld", url, status);
		return B0_ERR_PROTOCOL;
	}
	if ((r = b0_json_parse((const char *)b0_buf_ptr(body), b0_buf_len(body),
		 NULL, jp, &em)) != 0)
		snprintf(j->why, sizeof(j->why), "%s: not JSON: %s", url,
		    b0_err_text(&em, r));
	return r;
}

static int
fetch_jwks(struct job *j, const char *url)
{
	struct b0_errmsg em;
	struct b0_buf body;
	long status;
	int r;

	b0_err_clear(&em);
	b0_buf_init(&body, UP_DOC_MAX);
	if ((r = http_fetch(j, url, NULL, &body, &status)) != 0)
		goto out;
	if (status != 200) {
		snprintf(
		    j->why, sizeof(j->why), "%s: HTTP status %ld", url, status);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	if ((r = b0_jwks_parse((const char *)b0_buf_ptr(&body),
		 b0_buf_len(&body), &j->jwks, &em)) != 0)
		snprintf(
		    j->why, sizeof(j->why), "%s: %s", url, b0_err_text(&em, r));
out:
	b0_buf_cleanup(&body);
	return r;
}

/* A discovery member that must be an acceptable URL; copied to *outp. */
static int
disc_url(struct job *j, const struct b0_json *doc, const char *key, char **outp)
{
	const char *s;

	if (b0_json_get_str(doc, 0, key, &s) != 0) {
		snprintf(j->why, sizeof(j->why),
		    "%s: %s is missing or not a string", j->url, key);
		return B0_ERR_PROTOCOL;
	}
	/* A remote provider may not send us to plain http on loopback. */
	if (!url_ok(s, j->loopback)) {
		snprintf(j->why, sizeof(j->why),
		    "%s: %s \"%.80s\" is not an https URL", j->url, key, s);
		return B0_ERR_PROTOCOL;
	}
	if ((*outp = strdup(s)) == NULL)
		return B0_ERR_ALLOC;
	return 0;
}

static void
job_discover(struct job *j)
{
	struct b0_json *doc = NULL;
	struct b0_buf body;
	const char *iss;
	int r;

	b0_buf_init(&body, UP_DOC_MAX);
	if ((r = fetch_json(j, j->url, &body, &doc)) != 0)
		goto out;
	if (b0_json_get_str(doc, 0, "issuer", &iss) != 0) {
		snprintf(j->why, sizeof(j->why),
		    "%s: issuer is missing or not a string", j->url);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	/* OpenID Connect Discovery 1.0, section 4.3: exactly equal. */
	if (strcmp(iss, j->issuer) != 0) {
		snprintf(j->why, sizeof(j->why),
		    "%s: issuer \"%.80s\" is not the configured \"%.80s\"",
		    j->url, iss, j->issuer);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	if ((r = disc_url(j, doc, "authorization_endpoint", &j->authz_ep)) !=
		0 ||
	    (r = disc_url(j, doc, "token_endpoint", &j->token_ep)) != 0 ||
	    (r = disc_url(j, doc, "jwks_uri", &j->jwks_uri)) != 0)
		goto out;
	r = fetch_jwks(j, j->jwks_uri);
out:
	b0_json_free(doc);
	b0_buf_cleanup(&body);
	j->r = r;
}

static void
job_token(struct job *j)
{
	struct b0_errmsg em;
	struct b0_json *doc = NULL;
	struct b0_buf body;
	const char *s = NULL, *desc = NULL;
	size_t n = 0;
	long status;
	int r, v;

	b0_err_clear(&em);
	b0_buf_init(&body, UP_DOC_MAX);
	b0_buf_set_secret(&body); /* tokens */
	if ((r = http_fetch(j, j->url, &j->post, &body, &status)) != 0)
		goto out;
	r = b0_json_parse((const char *)b0_buf_ptr(&body), b0_buf_len(&body),
	    NULL, &doc, &em);
	if (status != 200) {
		/* RFC 6749 5.2: {"error": ..., "error_description": ...} */
		if (r == 0 && b0_json_get_str(doc, 0, "error", &s) == 0) {
			(void)b0_json_get_str(
			    doc, 0, "error_description", &desc);
			snprintf(j->why, sizeof(j->why),
			    "the token endpoint refused the code: "
			    "%.64s%s%.120s",
			    s, desc != NULL ? ": " : "",
			    desc != NULL ? desc : "");
		} else
			snprintf(j->why, sizeof(j->why),
			    "the token endpoint answered HTTP status %ld",
			    status);
		r = B0_ERR_DENIED;
		goto out;
	}
	if (r != 0) {
		snprintf(j->why, sizeof(j->why),
		    "the token endpoint's answer is not JSON: %s",
		    b0_err_text(&em, r));
		goto out;
	}
	if (b0_json_obj_get(doc, 0, "id_token", &v) != 0 ||
	    b0_json_str(doc, v, &s, &n) != 0 || n == 0 || n > B0_JWT_MAX_LEN) {
		snprintf(j->why, sizeof(j->why),
		    "the token endpoint's answer has no usable id_token");
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	if ((j->id_token = strdup(s)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	b0_json_free(doc);
	b0_buf_cleanup(&body);
	j->r = r;
}

static void *
job_main(void *arg)
{
	struct job *j = arg;
	ssize_t w;

	switch (j->kind) {
	case JOB_DISCOVER:
		job_discover(j);
		break;
	case JOB_JWKS:
		j->r = fetch_jwks(j, j->url);
		break;
	case JOB_TOKEN:
		job_token(j);
		break;
	}
	/* A pointer is far below PIPE_BUF: the write is atomic. */
	do
		w = write(j->wfd, &j, sizeof(j));
	while (w == -1 && errno == EINTR);
	return NULL;
}

/* ---- The loop's side ---- */

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->url);
	free(j->issuer);
	b0_buf_cleanup(&j->post);
	free(j->authz_ep);
	free(j->token_ep);
	free(j->jwks_uri);
	b0_jwks_free(j->jwks);
	b0_str_wipe_free(j->id_token);
	free(j);
}

static struct job *
job_new(struct upstreams *u, enum job_kind kind, size_t prov)
{
	struct job *j;

	if (u->njobs >= UP_JOBS_MAX || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->kind = kind;
	j->prov = prov;
	j->loopback = u->p[prov].loopback;
	j->ca = u->ca;
	j->ca_len = u->ca_len;
	j->stop = &u->stop;
	j->wfd = u->pfd[1];
	b0_buf_init(&j->post, 16 * 1024);
	b0_buf_set_secret(&j->post);
	return j;
}

/* Start j on its thread; on failure j is freed. */
static int
job_start(struct upstreams *u, struct job *j)
{
	sigset_t all, old;
	int e;

	/* Signals stay with the loop's thread: workers block them all. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&j->th, NULL, job_main, j);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		b0_log(&u->log, B0_LOG_ERR, "upstream: no thread: %s",
		    strerror(e));
		job_free(j);
		return B0_ERR_SYS(e);
	}
	TAILQ_INSERT_TAIL(&u->jobs, j, entry);
	u->njobs++;
	return 0;
}

static void prov_discover(struct provider *p);

static void
on_retry(struct b0_loop *loop, void *cookie)
{
	(void)loop;
	prov_discover(cookie);
}

static void
prov_discover(struct provider *p)
{
	struct upstreams *u = p->u;
	struct job *j;

	if (p->discovering || atomic_load(&u->stop))
		return;
	b0_timer_cancel(u->loop, &p->retry);
	if ((j = job_new(u, JOB_DISCOVER, p->idx)) == NULL ||
	    (j->url = url_join(
		 p->issuer, "/.well-known/openid-configuration")) == NULL ||
	    (j->issuer = strdup(p->issuer)) == NULL) {
		job_free(j);
		(void)b0_timer_set(
		    u->loop, &p->retry, p->retry_ms, on_retry, p);
		return;
	}
	if (job_start(u, j) != 0) {
		(void)b0_timer_set(
		    u->loop, &p->retry, p->retry_ms, on_retry, p);
		return;
	}
	p->discovering = 1;
	p->tried_at = b0_loop_now(u->loop);
}

static void
exchange_finish(
    struct upstreams *u, struct exchange *x, const char *email, const char *why)
{
	upstream_done_fn *done = x->done;
	void *cookie = x->cookie;
	struct provider *p = &u->p[x->prov];

	TAILQ_REMOVE(&u->exchanges, x, entry);
	if (email != NULL)
		b0_log(&u->log, B0_LOG_INFO, "upstream %s: signed in %s",
		    p->name, email);
	else
		b0_log(&u->log, B0_LOG_NOTICE,
		    "upstream %s: sign-in failed: %s", p->name, why);
	b0_str_wipe_free(x->id_token);
	OPENSSL_cleanse(x->nonce, sizeof(x->nonce));
	free(x);
	if (done != NULL)
		done(email, why, cookie);
}

static int exchange_refetch(struct upstreams *u, struct exchange *x);

/* Check the ID token of x and end it either way (or refetch the keys). */
static void
exchange_verify(struct upstreams *u, struct exchange *x)
{
	struct provider *p = &u->p[x->prov];
	struct b0_jwt_verify_opts opts;
	struct b0_jwt_claims want;
	struct b0_errmsg em;
	struct b0_jwt *t = NULL;
	const struct b0_json *pl;
	char email[B0_IDENT_EMAIL_MAX + 1], why[300];
	const char *s;
	size_t n;
	int64_t iat;
	int r, v, verified = 0;

	b0_err_clear(&em);
	why[0] = '\0';
	memset(&opts, 0, sizeof(opts));
	if (p->jwks == NULL)
		r = B0_ERR_NOT_FOUND;
	else
		r = b0_jwt_verify(
		    x->id_token, strlen(x->id_token), p->jwks, &opts, &t, &em);
	if (r == B0_ERR_NOT_FOUND && !x->refetched && p->jwks_uri != NULL &&
	    (p->jwks_at == 0 ||
		b0_loop_now(u->loop) - p->jwks_at >= UP_JWKS_MIN_GAP_MS)) {
		/* The provider may have rotated its keys: ask once more. */
		if (exchange_refetch(u, x) == 0)
			return;
	}
	if (r != 0) {
		snprintf(why, sizeof(why),
		    "the ID token from %s does not verify: %s", p->name,
		    b0_err_text(&em, r));
		goto out;
	}
	pl = b0_jwt_payload(t);
	memset(&want, 0, sizeof(want));
	want.iss = p->issuer;
	want.aud = p->client_id; /* an array: azp must be ours too */
	want.now = b0_loop_wall();
	want.skew = UP_SKEW;
	want.max_lifetime = UP_ID_TOKEN_LIFE; /* and so iat is required */
	if ((r = b0_jwt_check_claims(pl, 0, &want, &em)) != 0) {
		snprintf(why, sizeof(why), "the ID token from %s: %s", p->name,
		    b0_err_text(&em, r));
		goto out;
	}
	/* Issued for this login, not before it began. */
	if (b0_json_get_int(pl, 0, "iat", &iat) != 0 ||
	    iat + UP_SKEW < x->started) {
		snprintf(why, sizeof(why),
		    "the ID token from %s was issued before this sign-in began",
		    p->name);
		goto out;
	}
	if (b0_json_get_str(pl, 0, "azp", &s) == 0 &&
	    strcmp(s, p->client_id) != 0) {
		snprintf(why, sizeof(why),
		    "the ID token from %s is for client \"%.64s\" (azp)",
		    p->name, s);
		goto out;
	}
	if (b0_json_get_str(pl, 0, "nonce", &s) != 0 ||
	    strlen(s) != strlen(x->nonce) ||
	    !b0_ct_eq(s, x->nonce, strlen(x->nonce))) {
		snprintf(why, sizeof(why),
		    "the ID token from %s does not carry this sign-in's nonce",
		    p->name);
		goto out;
	}
	/* Exactly JSON true: "true", 1 or a missing claim are not enough. */
	if (b0_json_obj_get(pl, 0, "email_verified", &v) != 0 ||
	    b0_json_bool(pl, v, &verified) != 0 || !verified) {
		snprintf(why, sizeof(why),
		    "%s has not verified this account's email address",
		    p->name);
		goto out;
	}
	if (b0_json_get_str(pl, 0, "email", &s) != 0) {
		snprintf(why, sizeof(why),
		    "the ID token from %s carries no email address", p->name);
		goto out;
	}
	n = strlen(s);
	if (n >= sizeof(email) || b0_ident_check_email(s, n, &em) != 0) {
		char show[B0_IDENT_SHOW_SIZE];

		b0_ident_show(show, sizeof(show), s, n);
		snprintf(why, sizeof(why),
		    "%s gave \"%s\", which is not an email address b0 takes",
		    p->name, show);
		goto out;
	}
	memcpy(email, s, n + 1);
	b0_str_lower(email);
out:
	b0_jwt_free(t);
	if (why[0] != '\0')
		exchange_finish(u, x, NULL, why);
	else
		exchange_finish(u, x, email, NULL);
}

static int
exchange_refetch(struct upstreams *u, struct exchange *x)
{
	struct provider *p = &u->p[x->prov];
	struct job *j;

	if ((j = job_new(u, JOB_JWKS, x->prov)) == NULL)
		return B0_ERR_ALLOC;
	if ((j->url = strdup(p->jwks_uri)) == NULL) {
		job_free(j);
		return B0_ERR_ALLOC;
	}
	j->x = x;
	if (job_start(u, j) != 0)
		return B0_ERR_INTERNAL;
	x->refetched = 1;
	p->jwks_at = b0_loop_now(u->loop);
	return 0;
}

static void
job_done(struct upstreams *u, struct job *j)
{
	struct provider *p = &u->p[j->prov];
	struct exchange *x = j->x;
	char why[300];

	switch (j->kind) {
	case JOB_DISCOVER:
		p->discovering = 0;
		if (j->r != 0) {
			b0_log(&u->log, B0_LOG_WARN,
			    "upstream %s: %s; trying again in %llu s", p->name,
			    j->why[0] != '\0' ? j->why : b0_strerror(j->r),
			    (unsigned long long)(p->retry_ms / 1000));
			(void)b0_timer_set(
			    u->loop, &p->retry, p->retry_ms, on_retry, p);
			p->retry_ms *= 2;
			if (p->retry_ms > UP_RETRY_MAX_MS)
				p->retry_ms = UP_RETRY_MAX_MS;
			break;
		}
		free(p->authz_ep);
		free(p->token_ep);
		free(p->jwks_uri);
		b0_jwks_free(p->jwks);
		p->authz_ep = j->authz_ep;
		p->token_ep = j->token_ep;
		p->jwks_uri = j->jwks_uri;
		p->jwks = j->jwks;
		j->authz_ep = j->token_ep = j->jwks_uri = NULL;
		j->jwks = NULL; /* transferred */
		p->retry_ms = UP_RETRY_MIN_MS;
		b0_log(&u->log, B0_LOG_INFO,
		    "upstream %s: %s is ready (%zu signing keys)", p->name,
		    p->issuer, b0_jwks_count(p->jwks));
		break;
	case JOB_JWKS:
		if (j->r == 0) {
			b0_jwks_free(p->jwks);
			p->jwks = j->jwks;
			j->jwks = NULL; /* transferred */
			b0_log(&u->log, B0_LOG_INFO,
			    "upstream %s: fetched its keys again (%zu)",
			    p->name, b0_jwks_count(p->jwks));
		}
		if (x == NULL)
			break;
		if (j->r != 0) {
			snprintf(why, sizeof(why),
			    "cannot fetch the keys of %s: %s", p->name,
			    j->why[0] != '\0' ? j->why : b0_strerror(j->r));
			exchange_finish(u, x, NULL, why);
		} else
			exchange_verify(u, x);
		break;
	case JOB_TOKEN:
		if (j->r != 0) {
			snprintf(why, sizeof(why), "%s: %s", p->name,
			    j->why[0] != '\0' ? j->why : b0_strerror(j->r));
			exchange_finish(u, x, NULL, why);
			break;
		}
		x->id_token = j->id_token;
		j->id_token = NULL; /* transferred */
		exchange_verify(u, x);
		break;
	}
}

static void
on_pipe(struct b0_loop *loop, int fd, unsigned events, void *cookie)
{
	struct upstreams *u = cookie;
	struct job *got[16], *j;
	ssize_t n;
	size_t i;

	(void)loop;
	(void)events;
	if ((n = read(fd, got, sizeof(got))) <= 0)
		return;
	for (i = 0; i < (size_t)n / sizeof(got[0]); i++) {
		TAILQ_FOREACH(j, &u->jobs, entry)
		{
			if (j == got[i])
				break;
		}
		if (j == NULL)
			continue; /* cannot happen: the pipe is ours */
		(void)pthread_join(j->th, NULL);
		TAILQ_REMOVE(&u->jobs, j, entry);
		u->njobs--;
		job_done(u, j);
		job_free(j);
	}
}

/* ---- Set-up ---- */

/* The client secret: one line of a file only we can read. */
static int
read_secret(
    const struct edge_provider *cp, char **secretp, struct b0_errmsg *em)
{
	struct b0_buf b;
	const char *s;
	size_t n, i;
	int r;

	*secretp = NULL;
	b0_buf_init(&b, UP_SECRET_MAX + 2);
	b0_buf_set_secret(&b);
	if ((r = b0_file_read(cp->secret_file,
		 B0_FILE_PRIVATE | B0_FILE_OWNER_SELF, &b, em)) != 0) {
		if (r == B0_ERR_TOO_BIG)
			b0_err_set(em,
			    "%s: a client secret of more than %d "
			    "bytes",
			    cp->secret_file, UP_SECRET_MAX);
		goto out;
	}
	n = b0_buf_len(&b);
	s = (const char *)b0_buf_ptr(&b);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			break;
	}
	if (n == 0 || i < n) {
		b0_err_set(em,
		    "%s: the client secret of provider %s must be one line of "
		    "printable text",
		    cp->secret_file, cp->name);
		r = B0_ERR_CONFIG;
		goto out;
	}
	if ((*secretp = malloc(n + 1)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	memcpy(*secretp, s, n);
	(*secretp)[n] = '\0';
	r = 0;
out:
	b0_buf_cleanup(&b);
	return r;
}

static void
prov_cleanup(struct provider *p)
{
	free(p->name);
	free(p->issuer);
	free(p->client_id);
	b0_str_wipe_free(p->secret);
	free(p->authz_ep);
	free(p->token_ep);
	free(p->jwks_uri);
	b0_jwks_free(p->jwks);
	memset(p, 0, sizeof(*p));
}

static void
pending_free(struct pending *pd)
{
	if (pd == NULL)
		return;
	free(pd->req);
	OPENSSL_cleanse(pd, sizeof(*pd));
	free(pd);
}

void
upstreams_free(struct upstreams *u)
{
	struct exchange *x;
	struct pending *pd;
	struct job *j;
	size_t i;

	if (u == NULL)
		return;
	/* Threads see stop at their next progress call and give up. */
	atomic_store(&u->stop, 1);
	while ((j = TAILQ_FIRST(&u->jobs)) != NULL) {
		(void)pthread_join(j->th, NULL);
		TAILQ_REMOVE(&u->jobs, j, entry);
		job_free(j);
	}
	while ((x = TAILQ_FIRST(&u->exchanges)) != NULL) {
		TAILQ_REMOVE(&u->exchanges, x, entry);
		b0_str_wipe_free(x->id_token);
		free(x);
	}
	while ((pd = TAILQ_FIRST(&u->pending)) != NULL) {
		TAILQ_REMOVE(&u->pending, pd, entry);
		pending_free(pd);
	}
	for (i = 0; i < u->n; i++) {
		b0_timer_cancel(u->loop, &u->p[i].retry);
		prov_cleanup(&u->p[i]);
	}
	free(u->p);
	if (u->pfd[0] != -1) {
		b0_loop_del(u->loop, u->pfd[0]);
		close(u->pfd[0]);
	}
	if (u->pfd[1] != -1)
		close(u->pfd[1]);
	free(u->ca);
	free(u->redirect_uri);
	if (u->curl)
		curl_global_cleanup();
	free(u);
}

int
upstreams_new(struct b0_loop *loop, const struct edge_conf *conf,
    const char *edge_issuer, struct upstreams **up, struct b0_errmsg *em)
{
	struct upstreams *u = NULL;
	struct b0_buf ca;
	size_t i;
	int r, flags;

	*up = NULL;
	b0_buf_init(&ca, 1024 * 1024);
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	u->loop = loop;
	u->pfd[0] = u->pfd[1] = -1;
	TAILQ_INIT(&u->jobs);
	TAILQ_INIT(&u->pending);
	TAILQ_INIT(&u->exchanges);
	b0_log_init(&u->log, "b0-edge", conf->log_level, NULL, NULL);
	if (conf->nproviders <= 0) {
		*up = u;
		return 0;
	}
	if (edge_issuer == NULL || !url_ok(edge_issuer, 1)) {
		b0_err_set(em, "issuer \"%.100s\" is not an https URL",
		    edge_issuer != NULL ? edge_issuer : "");
		r = B0_ERR_CONFIG;
		goto out;
	}
	if ((u->redirect_uri = url_join(edge_issuer, "/upstream/callback")) ==
		NULL ||
	    (u->p = calloc((size_t)conf->nproviders, sizeof(*u->p))) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	if (conf->provider_ca != NULL) {
		/* Read now: the edge may not be able to once it drops root. */
		if ((r = b0_file_read(conf->provider_ca,
			 B0_FILE_NO_WRITE_OTHERS, &ca, em)) != 0)
			goto out;
		if ((u->ca = malloc(b0_buf_len(&ca))) == NULL) {
			r = B0_ERR_ALLOC;
			goto out;
		}
		memcpy(u->ca, b0_buf_ptr(&ca), b0_buf_len(&ca));
		u->ca_len = b0_buf_len(&ca);
	}
	for (i = 0; i < (size_t)conf->nproviders; i++) {
		const struct edge_provider *cp = &conf->providers[i];
		struct provider *p = &u->p[i];

		p->u = u;
		p->idx = i;
		p->retry_ms = UP_RETRY_MIN_MS;
		if (cp->name == NULL || cp->issuer == NULL ||
		    cp->client_id == NULL || cp->secret_file == NULL) {
			b0_err_set(em, "provider %zu: incomplete", i + 1);
			r = B0_ERR_CONFIG;
			goto out;
		}
		if (!url_ok(cp->issuer, 1)) {
			b0_err_set(em,
			    "provider %s: issuer \"%.100s\" is not an https "
			    "URL (plain http only to 127.0.0.1 or [::1])",
			    cp->name, cp->issuer);
			r = B0_ERR_CONFIG;
			goto out;
		}
		u->n = i + 1;
		if ((p->name = strdup(cp->name)) == NULL ||
		    (p->issuer = strdup(cp->issuer)) == NULL ||
		    (p->client_id = strdup(cp->client_id)) == NULL) {
			r = B0_ERR_ALLOC;
			goto out;
		}
		p->loopback = url_is_loopback_http(p->issuer);
		if ((r = read_secret(cp, &p->secret, em)) != 0)
			goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		b0_err_set(em, "libcurl does not start");
		r = B0_ERR_INTERNAL;
		goto out;
	}
	u->curl = 1;
	if (pipe2(u->pfd, O_CLOEXEC) == -1) {
		r = b0_err_from_errno();
		u->pfd[0] = u->pfd[1] = -1;
		goto out;
	}
	if ((flags = fcntl(u->pfd[0], F_GETFL)) == -1 ||
	    fcntl(u->pfd[0], F_SETFL, flags | O_NONBLOCK) == -1) {
		r = b0_err_from_errno();
		goto out;
	}
	if ((r = b0_loop_add(loop, u->pfd[0], B0_LOOP_READ, on_pipe, u)) != 0)
		goto out;
	/* Discovery runs in the background; until it works, retries. */
	for (i = 0; i < u->n; i++)
		prov_discover(&u->p[i]);
	*up = u;
	u = NULL; /* transferred */
	r = 0;
out:
	b0_buf_cleanup(&ca);
	upstreams_free(u);
	return r;
}

size_t
upstreams_count(const struct upstreams *u)
{
	return u == NULL ? 0 : u->n;
}

const char *
upstreams_name(const struct upstreams *u, size_t i)
{
	if (u == NULL || i >= u->n)
		return NULL;
	return u->p[i].name;
}

/* ---- Logins ---- */

static int
rand_b64(char out[UP_RAND_SIZE])
{
	uint8_t rnd[UP_RAND_BYTES];
	int r = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    b0_b64url_encode(rnd, sizeof(rnd), out, UP_RAND_SIZE) != 0)
		r = B0_ERR_CRYPTO;
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return r;
}

static void
pending_prune(struct upstreams *u)
{
	struct pending *pd, *next;
	uint64_t now = b0_loop_now(u->loop);

	for (pd = TAILQ_FIRST(&u->pending); pd != NULL; pd = next) {
		next = TAILQ_NEXT(pd, entry);
		if (pd->expires <= now || u->npending > UP_PENDING_MAX) {
			TAILQ_REMOVE(&u->pending, pd, entry);
			u->npending--;
			pending_free(pd);
		}
	}
}

static int
req_ok(const char *req)
{
	size_t n = strlen(req), i;

	if (n == 0 || n > UP_REQ_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)req[i] <= 0x20 ||
		    (unsigned char)req[i] >= 0x7f)
			return 0;
	}
	return 1;
}

/* Append "&name=value" (or "?" first) with value percent-encoded. */
static int
put_param(struct b0_buf *b, char sep, const char *name, const char *value)
{
	int r;

	if ((r = b0_buf_putf(b, "%c%s=", sep, name)) != 0)
		return r;
	return b0_http_pct_encode(b, value, strlen(value));
}

int
upstreams_start(struct upstreams *u, const char *name, const char *req,
    char **locationp, struct b0_errmsg *em)
{
	struct provider *p = NULL;
	struct pending *pd = NULL;
	uint8_t dig[32];
	char challenge[UP_RAND_SIZE];
	struct b0_buf b;
	const char *s;
	size_t i;
	int r;

	*locationp = NULL;
	b0_buf_init(&b, 2 * UP_URL_MAX + 1024);
	for (i = 0; u != NULL && name != NULL && i < u->n; i++) {
		if (strcmp(u->p[i].name, name) == 0)
			p = &u->p[i];
	}
	if (p == NULL) {
		b0_err_set(em, "no identity provider named \"%.32s\"",
		    name != NULL ? name : "");
		return B0_ERR_NOT_FOUND;
	}
	if (req == NULL || !req_ok(req)) {
		b0_err_set(em, "bad sign-in request id");
		return B0_ERR_ARG;
	}
	if (p->authz_ep == NULL) {
		/* Now rather than at the next retry, but not at every click. */
		if (b0_loop_now(u->loop) - p->tried_at >= UP_RETRY_MIN_MS)
			prov_discover(p);
		b0_err_set(em,
		    "%s cannot be reached at the moment; try again in a "
		    "little while",
		    p->name);
		return B0_ERR_AGAIN;
	}
	pending_prune(u);
	if (u->npending >= UP_PENDING_MAX) {
		struct pending *old = TAILQ_FIRST(&u->pending);

		TAILQ_REMOVE(&u->pending, old, entry);
		u->npending--;
		pending_free(old);
	}
	if ((pd = calloc(1, sizeof(*pd))) == NULL ||
	    (pd->req = strdup(req)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	pd->prov = p->idx;
	pd->expires = b0_loop_now(u->loop) + UP_STATE_TTL_MS;
	pd->started = b0_loop_wall();
	if ((r = rand_b64(pd->state)) != 0 || (r = rand_b64(pd->nonce)) != 0 ||
	    (r = rand_b64(pd->verifier)) != 0)
		goto out;
	/* RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
	if (EVP_Digest(pd->verifier, strlen(pd->verifier), dig, NULL,
		EVP_sha256(), NULL) != 1 ||
	    b0_b64url_encode(dig, sizeof(dig), challenge, sizeof(challenge)) !=
		0) {
		r = B0_ERR_CRYPTO;
		goto out;
	}
	if ((r = b0_buf_put_str(&b, p->authz_ep)) != 0 ||
	    (r = put_param(&b, strchr(p->authz_ep, '?') != NULL ? '&' : '?',
		 "response_type", "code")) != 0 ||
	    (r = put_param(&b, '&', "client_id", p->client_id)) != 0 ||
	    (r = put_param(&b, '&', "redirect_uri", u->redirect_uri)) != 0 ||
	    (r = put_param(&b, '&', "scope", "openid email")) != 0 ||
	    (r = put_param(&b, '&', "state", pd->state)) != 0 ||
	    (r = put_param(&b, '&', "nonce", pd->nonce)) != 0 ||
	    (r = put_param(&b, '&', "code_challenge", challenge)) != 0 ||
	    (r = put_param(&b, '&', "code_challenge_method", "S256")) != 0 ||
	    (r = b0_buf_cstr(&b, &s)) != 0)
		goto out;
	if ((*locationp = strdup(s)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	TAILQ_INSERT_TAIL(&u->pending, pd, entry);
	u->npending++;
	pd = NULL; /* transferred */
	r = 0;
out:
	if (r != 0 && r != B0_ERR_ALLOC)
		b0_err_set(em, "cannot start a sign-in at %s: %s", p->name,
		    b0_strerror(r));
	pending_free(pd);
	b0_buf_cleanup(&b);
	return r;
}

/* The pending login with this state, taken off the list (single use). */
static struct pending *
pending_take(struct upstreams *u, const char *state)
{
	struct pending *pd, *found = NULL;
	size_t n = strlen(state);

	pending_prune(u);
	TAILQ_FOREACH(pd, &u->pending, entry)
	{
		if (n == strlen(pd->state) && b0_ct_eq(pd->state, state, n))
			found = pd;
	}
	if (found != NULL) {
		TAILQ_REMOVE(&u->pending, found, entry);
		u->npending--;
	}
	return found;
}

int
upstreams_callback(struct upstreams *u, const char *query, char **reqp,
    upstream_done_fn *done, void *cookie, struct b0_errmsg *em)
{
	struct b0_http_params ps;
	struct pending *pd = NULL;
	struct exchange *x = NULL;
	struct provider *p;
	struct job *j = NULL;
	const char *state, *code, *err, *desc, *iss;
	char *req = NULL;
	int r;

	*reqp = NULL;
	memset(&ps, 0, sizeof(ps));
	if (u == NULL || u->n == 0) {
		b0_err_set(em, "no identity providers are configured");
		return B0_ERR_NOT_FOUND;
	}
	if ((r = b0_http_form_parse(query != NULL ? query : "",
		 query != NULL ? strlen(query) : 0, 32, B0_HTTP_FORM_NODUP, &ps,
		 em)) != 0) {
		b0_err_prefix(em, "the provider's answer");
		return B0_ERR_FORMAT;
	}
	if ((state = b0_http_params_get(&ps, "state")) == NULL) {
		b0_err_set(em, "the provider's answer has no state");
		r = B0_ERR_FORMAT;
		goto out;
	}
	if ((pd = pending_take(u, state)) == NULL) {
		b0_err_set(em, "this sign-in is unknown, used or older than "
			       "10 minutes; start again");
		r = B0_ERR_NOT_FOUND;
		goto out;
	}
	p = &u->p[pd->prov];
	/* RFC 9207: an iss parameter must name the provider we asked. */
	if ((iss = b0_http_params_get(&ps, "iss")) != NULL &&
	    strcmp(iss, p->issuer) != 0) {
		b0_err_set(em,
		    "the answer claims to come from \"%.80s\", not %s", iss,
		    p->issuer);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	if ((err = b0_http_params_get(&ps, "error")) != NULL) {
		desc = b0_http_params_get(&ps, "error_description");
		b0_err_set(em, "%s did not sign you in: %.64s%s%.120s", p->name,
		    err, desc != NULL ? ": " : "", desc != NULL ? desc : "");
		r = B0_ERR_DENIED;
		goto out;
	}
	code = b0_http_params_get(&ps, "code");
	if (code == NULL || *code == '\0' || strlen(code) > UP_CODE_MAX) {
		b0_err_set(em, "the answer of %s has no usable code", p->name);
		r = B0_ERR_FORMAT;
		goto out;
	}
	if (p->token_ep == NULL) {
		b0_err_set(em, "%s cannot be reached at the moment", p->name);
		r = B0_ERR_AGAIN;
		goto out;
	}
	if ((req = strdup(pd->req)) == NULL ||
	    (x = calloc(1, sizeof(*x))) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	x->prov = pd->prov;
	memcpy(x->nonce, pd->nonce, sizeof(x->nonce));
	x->started = pd->started;
	x->done = done;
	x->cookie = cookie;
	if ((j = job_new(u, JOB_TOKEN, pd->prov)) == NULL) {
		b0_err_set(em, "too many sign-ins at once; try again");
		r = B0_ERR_AGAIN;
		goto out;
	}
	/* client_secret_post (RFC 6749 2.3.1), with the PKCE verifier. */
	if ((j->url = strdup(p->token_ep)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	if ((r = put_param(
		 &j->post, '&', "grant_type", "authorization_code")) != 0 ||
	    (r = put_param(&j->post, '&', "code", code)) != 0 ||
	    (r = put_param(&j->post, '&', "redirect_uri", u->redirect_uri)) !=
		0 ||
	    (r = put_param(&j->post, '&', "client_id", p->client_id)) != 0 ||
	    (r = put_param(&j->post, '&', "client_secret", p->secret)) != 0 ||
	    (r = put_param(&j->post, '&', "code_verifier", pd->verifier)) !=
		0 ||
	    (r = b0_buf_consume(&j->post, 1)) != 0) /* the first '&' */
		goto out;
	j->x = x;
	r = job_start(u, j);
	j = NULL; /* freed by job_start() on failure */
	if (r != 0) {
		b0_err_set(em, "cannot reach %s now; try again", p->name);
		goto out;
	}
	TAILQ_INSERT_TAIL(&u->exchanges, x, entry);
	x = NULL; /* the job's now */
	*reqp = req;
	req = NULL; /* transferred */
	r = 0;
out:
	job_free(j);
	free(x);
	free(req);
	pending_free(pd);
	b0_http_params_cleanup(&ps);
	return r;
}

void
upstreams_cancel(struct upstreams *u, void *cookie)
{
	struct exchange *x;

	if (u == NULL)
		return;
	TAILQ_FOREACH(x, &u->exchanges, entry)
	{
		if (x->cookie == cookie)
			x->done = NULL;
	}
}
