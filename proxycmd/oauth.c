/*
 * HTTPS to the edge's OAuth endpoints with libcurl: discovery, the token
 * endpoint, device authorization.  The edge's certificate is verified
 * against the system CAs or the configured ca (never skipped), and an edge
 * configured with ADDRESS:PORT is reached there with CURLOPT_CONNECT_TO
 * while the URL, SNI and certificate name stay the edge's domain.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "b0_b64.h"
#include "b0_http.h"
#include "b0_json.h"
#include "b0_str.h"
#include "b0_version.h"
#include "proxy.h"

#define BODY_MAX (64 * 1024)

static size_t
on_body(char *p, size_t size, size_t n, void *cookie)
{
	struct b0_buf *b = cookie;

	if (b0_buf_put(b, p, size * n) != 0)
		return 0; /* too big: curl fails with CURLE_WRITE_ERROR */
	return size * n;
}

/*
 * One request: GET url, or POST form (a secret, not copied by curl).
 * *statusp gets the HTTP status, body the response (secret).
 */
static int
request(struct px_oauth *o, const char *url, const struct b0_buf *form,
    long *statusp, struct b0_buf *body, struct b0_errmsg *em)
{
	char errbuf[CURL_ERROR_SIZE], connect_to[600];
	const struct px_edge *e = o->edge;
	struct curl_slist *hdrs = NULL, *ct = NULL;
	struct stat st;
	CURL *h = NULL;
	CURLcode cr;
	int r = B0_ERR_ALLOC;

	*statusp = 0;
	errbuf[0] = '\0';
	if ((h = curl_easy_init()) == NULL)
		goto out;
	if ((hdrs = curl_slist_append(NULL, "Accept: application/json")) ==
	    NULL)
		goto out;
	if (e->addr != NULL) {
		snprintf(connect_to, sizeof(connect_to), "%s:%u:%s%s%s:%u",
		    e->domain, (unsigned)e->port,
		    strchr(e->addr, ':') ? "[" : "", e->addr,
		    strchr(e->addr, ':') ? "]" : "", (unsigned)e->port);
		if ((ct = curl_slist_append(NULL, connect_to)) == NULL)
			goto out;
	}
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "b0-proxy/" B0_VERSION) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK) {
		r = B0_ERR_INTERNAL;
		goto out;
	}
	if (ct != NULL &&
	    curl_easy_setopt(h, CURLOPT_CONNECT_TO, ct) != CURLE_OK) {
		r = B0_ERR_INTERNAL;
		goto out;
	}
	if (o->conf->ca != NULL) {
		int dir = stat(o->conf->ca, &st) == 0 && S_ISDIR(st.st_mode);

		if (curl_easy_setopt(h, dir ? CURLOPT_CAPATH : CURLOPT_CAINFO,
			o->conf->ca) != CURLE_OK) {
			r = B0_ERR_INTERNAL;
			goto out;
		}
	}
	if (form != NULL && (curl_easy_setopt(h, CURLOPT_POSTFIELDS,
				 b0_buf_ptr(form)) != CURLE_OK ||
				curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
				    (long)b0_buf_len(form)) != CURLE_OK)) {
		r = B0_ERR_INTERNAL;
		goto out;
	}
	if ((cr = curl_easy_perform(h)) != CURLE_OK) {
		b0_err_set(em, "%s: %s", url,
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cr));
		r = cr == CURLE_OPERATION_TIMEDOUT ? B0_ERR_TIMEOUT
		    : cr == CURLE_PEER_FAILED_VERIFICATION ||
			    cr == CURLE_SSL_CONNECT_ERROR
			? B0_ERR_TLS
			: B0_ERR_PROTOCOL;
		goto out;
	}
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, statusp);
	r = 0;
out:
	curl_slist_free_all(hdrs);
	curl_slist_free_all(ct);
	if (h != NULL)
		curl_easy_cleanup(h);
	return r;
}

/* GET or POST url and parse the JSON answer (any status) into *jp. */
static int
request_json(struct px_oauth *o, const char *url, const struct b0_buf *form,
    long *statusp, struct b0_json **jp, struct b0_errmsg *em)
{
	struct b0_buf *body = NULL;
	int r;

	*jp = NULL;
	if ((body = b0_buf_new(BODY_MAX)) == NULL)
		return B0_ERR_ALLOC;
	b0_buf_set_secret(body);
	if ((r = request(o, url, form, statusp, body, em)) != 0)
		goto out;
	if ((r = b0_json_parse((const char *)b0_buf_ptr(body), b0_buf_len(body),
		 NULL, jp, em)) != 0) {
		b0_err_prefix(em, "%s: HTTP %ld, not JSON", url, *statusp);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
out:
	b0_buf_free(body);
	return r;
}

static int
endpoint(const struct b0_json *j, const char *key, int required, char **out,
    const char *url, struct b0_errmsg *em)
{
	const char *s;

	*out = NULL;
	if (b0_json_get_str(j, 0, key, &s) != 0) {
		if (!required)
			return 0;
		b0_err_set(em, "%s: no \"%s\"", url, key);
		return B0_ERR_PROTOCOL;
	}
	if (!b0_str_has_prefix(s, "https://")) {
		b0_err_set(em, "%s: \"%s\" is not an https URL", url, key);
		return B0_ERR_PROTOCOL;
	}
	if ((*out = strdup(s)) == NULL)
		return B0_ERR_ALLOC;
	return 0;
}

int
px_oauth_discover(struct px_oauth *o, const struct px_conf *c,
    const struct px_edge *e, struct b0_errmsg *em)
{
	char base[PX_NAME_MAX + 32], url[PX_NAME_MAX + 80];
	struct b0_json *j = NULL;
	long status;
	int r;

	memset(o, 0, sizeof(*o));
	o->conf = c;
	o->edge = e;
	if (e->port == 443)
		snprintf(base, sizeof(base), "https://%s", e->domain);
	else
		snprintf(base, sizeof(base), "https://%s:%u", e->domain,
		    (unsigned)e->port);
	snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", base);
	if ((o->base = strdup(base)) == NULL)
		return B0_ERR_ALLOC;
	if ((r = request_json(o, url, NULL, &status, &j, em)) != 0)
		goto out;
	if (status != 200) {
		b0_err_set(em, "%s: HTTP %ld", url, status);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	if ((r = endpoint(j, "authorization_endpoint", 1,
		 &o->authorization_endpoint, url, em)) != 0 ||
	    (r = endpoint(
		 j, "token_endpoint", 1, &o->token_endpoint, url, em)) != 0 ||
	    (r = endpoint(j, "device_authorization_endpoint", 0,
		 &o->device_endpoint, url, em)) != 0 ||
	    (r = endpoint(j, "revocation_endpoint", 0, &o->revocation_endpoint,
		 url, em)) != 0)
		goto out;
	px_debug("%s: token endpoint %s", e->domain, o->token_endpoint);
out:
	b0_json_free(j);
	return r;
}

void
px_oauth_cleanup(struct px_oauth *o)
{
	free(o->base);
	free(o->authorization_endpoint);
	free(o->token_endpoint);
	free(o->device_endpoint);
	free(o->revocation_endpoint);
	memset(o, 0, sizeof(*o));
}

int
px_oauth_revoke(struct px_oauth *o, const char *refresh, struct b0_errmsg *em)
{
	struct b0_buf *form = NULL, *body = NULL;
	long status;
	int r = B0_ERR_ALLOC;

	if (o->revocation_endpoint == NULL) {
		b0_err_set(em, "%s offers no revocation", o->edge->domain);
		return B0_ERR_UNSUPPORTED;
	}
	if ((form = b0_buf_new(8192)) == NULL ||
	    (body = b0_buf_new(BODY_MAX)) == NULL)
		goto out;
	b0_buf_set_secret(form);
	if ((r = px_form_add(form, "token", refresh)) != 0 ||
	    (r = px_form_add(form, "token_type_hint", "refresh_token")) != 0 ||
	    (r = px_form_add(form, "client_id", PX_CLIENT_ID)) != 0 ||
	    (r = request(o, o->revocation_endpoint, form, &status, body, em)) !=
		0)
		goto out;
	/* RFC 7009 2.2: 200 even for a token the edge no longer knows. */
	if (status != 200) {
		b0_err_set(em, "%s: HTTP %ld", o->revocation_endpoint, status);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	r = 0;
out:
	b0_buf_free(form);
	b0_buf_free(body);
	return r;
}

int
px_form_add(struct b0_buf *b, const char *name, const char *value)
{
	int r;

	if ((b0_buf_len(b) > 0 && (r = b0_buf_put(b, "&", 1)) != 0) ||
	    (r = b0_http_pct_encode(b, name, strlen(name))) != 0 ||
	    (r = b0_buf_put(b, "=", 1)) != 0 ||
	    (r = b0_http_pct_encode(b, value, strlen(value))) != 0)
		return r;
	return 0;
}

/* The email claim of a JWT access token, read without verifying it. */
static char *
jwt_email(const char *tok)
{
	const char *p = strchr(tok, '.'), *q;
	uint8_t *raw = NULL;
	struct b0_json *j = NULL;
	const char *s;
	char *email = NULL;
	size_t n;

	if (p == NULL || (q = strchr(p + 1, '.')) == NULL ||
	    (size_t)(q - p - 1) > 16384 ||
	    (raw = malloc((size_t)(q - p))) == NULL)
		return NULL;
	if (b0_b64url_decode(
		p + 1, (size_t)(q - p - 1), raw, (size_t)(q - p), &n) == 0 &&
	    b0_json_parse((const char *)raw, n, NULL, &j, NULL) == 0 &&
	    b0_json_get_str(j, 0, "email", &s) == 0)
		email = strdup(s);
	b0_json_free(j);
	OPENSSL_cleanse(raw, (size_t)(q - p));
	free(raw);
	return email;
}

int
px_oauth_token(struct px_oauth *o, const struct b0_buf *form,
    struct px_tokens *t, char err[PX_OAUTH_ERRLEN], struct b0_errmsg *em)
{
	struct b0_json *j = NULL;
	const char *s, *desc;
	int64_t expires_in = 0;
	long status;
	int r;

	memset(t, 0, sizeof(*t));
	err[0] = '\0';
	if ((r = request_json(o, o->token_endpoint, form, &status, &j, em)) !=
	    0)
		goto out;
	if (status != 200) {
		if (b0_json_get_str(j, 0, "error", &s) != 0) {
			b0_err_set(em, "%s: HTTP %ld without an OAuth error",
			    o->token_endpoint, status);
			r = B0_ERR_PROTOCOL;
			goto out;
		}
		b0_strlcpy(err, s, PX_OAUTH_ERRLEN);
		if (b0_json_get_str(j, 0, "error_description", &desc) != 0)
			desc = "";
		b0_err_set(em, "%s%s%s", s, desc[0] ? ": " : "", desc);
		r = B0_ERR_AUTH;
		goto out;
	}
	if (b0_json_get_str(j, 0, "access_token", &s) != 0 ||
	    (t->access = strdup(s)) == NULL) {
		b0_err_set(
		    em, "%s: no access_token in the answer", o->token_endpoint);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	if (b0_json_get_str(j, 0, "refresh_token", &s) == 0 &&
	    (t->refresh = strdup(s)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	if (b0_json_get_int(j, 0, "expires_in", &expires_in) != 0 ||
	    expires_in <= 0 || expires_in > 366 * 86400) {
		b0_err_set(em, "%s: no valid expires_in in the answer",
		    o->token_endpoint);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	t->expires_at = (int64_t)time(NULL) + expires_in;
	t->email = jwt_email(t->access);
	r = 0;
out:
	if (r != 0)
		px_tokens_cleanup(t);
	b0_json_free(j);
	return r;
}

void
px_device_cleanup(struct px_device *d)
{
	b0_str_wipe_free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->verification_uri_complete);
	memset(d, 0, sizeof(*d));
}

int
px_oauth_device_start(
    struct px_oauth *o, struct px_device *d, struct b0_errmsg *em)
{
	struct b0_buf *form = NULL;
	struct b0_json *j = NULL;
	const char *s;
	long status;
	int r;

	memset(d, 0, sizeof(*d));
	if (o->device_endpoint == NULL) {
		b0_err_set(em, "%s offers no device flow", o->edge->domain);
		return B0_ERR_UNSUPPORTED;
	}
	if ((form = b0_buf_new(4096)) == NULL)
		return B0_ERR_ALLOC;
	if ((r = px_form_add(form, "client_id", PX_CLIENT_ID)) != 0 ||
	    (r = px_form_add(form, "scope", "openid email")) != 0)
		goto out;
	if ((r = request_json(o, o->device_endpoint, form, &status, &j, em)) !=
	    0)
		goto out;
	if (status != 200) {
		const char *desc = "";

		if (b0_json_get_str(j, 0, "error", &s) != 0)
			s = "no OAuth error";
		(void)b0_json_get_str(j, 0, "error_description", &desc);
		b0_err_set(em, "%s: HTTP %ld: %s%s%s", o->device_endpoint,
		    status, s, desc[0] ? ": " : "", desc);
		r = B0_ERR_PROTOCOL;
		goto out;
	}
	r = B0_ERR_PROTOCOL;
	if (b0_json_get_str(j, 0, "device_code", &s) != 0 ||
	    (d->device_code = strdup(s)) == NULL ||
	    b0_json_get_str(j, 0, "user_code", &s) != 0 ||
	    (d->user_code = strdup(s)) == NULL ||
	    b0_json_get_str(j, 0, "verification_uri", &s) != 0 ||
	    (d->verification_uri = strdup(s)) == NULL ||
	    b0_json_get_int(j, 0, "expires_in", &d->expires_in) != 0) {
		b0_err_set(em, "%s: incomplete answer", o->device_endpoint);
		goto out;
	}
	if (b0_json_get_str(j, 0, "verification_uri_complete", &s) == 0 &&
	    (d->verification_uri_complete = strdup(s)) == NULL)
		goto out;
	d->interval = 5;
	(void)b0_json_get_int(j, 0, "interval", &d->interval);
	if (d->interval < 1 || d->interval > 60)
		d->interval = 5;
	if (d->expires_in < 1 || d->expires_in > 3600)
		d->expires_in = 600;
	r = 0;
out:
	if (r != 0)
		px_device_cleanup(d);
	b0_json_free(j);
	b0_buf_free(form);
	return r;
}
