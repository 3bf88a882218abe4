/*
 * pam_b0 verify: the JWKS file b0-publish keeps, and the checks a
 * connection ticket or an access token must pass (docs/pam.md, "The
 * decision").
 */
#include <sys/file.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_file.h"
#include "b0_ident.h"
#include "b0_json.h"
#include "b0_jwk.h"
#include "b0_jwt.h"
#include "b0_str.h"

#include "pam_b0.h"

/* The JWKS document and the issuer and publisher around it. */
#define JWKS_FILE_MAX (B0_JWKS_MAX_BYTES + 1024)

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
pam_b0_jwks_parse(const struct pam_b0_conf *c, const char *text, size_t len,
    struct b0_jwks **setp, struct b0_errmsg *em)
{
	struct b0_json *j = NULL;
	const char *iss = NULL, *pub = NULL;
	int r;

	*setp = NULL;
	if ((r = b0_json_parse(text, len, NULL, &j, em)) != 0) {
		b0_err_prefix(em, "%s", c->jwks);
		goto out;
	}
	if (b0_json_get_str(j, 0, "issuer", &iss) != 0 ||
	    strcmp(iss, c->issuer) != 0) {
		r = B0_ERR_CONFIG;
		b0_err_set(em, "%s: the keys are not those of issuer %s",
		    c->jwks, c->issuer);
		goto out;
	}
	if (b0_json_get_str(j, 0, "publisher", &pub) == 0 &&
	    strcmp(pub, c->publisher) != 0) {
		r = B0_ERR_CONFIG;
		b0_err_set(em,
		    "%s: b0-publish is publisher \"%.64s\", the configuration "
		    "says \"%s\"",
		    c->jwks, pub, c->publisher);
		goto out;
	}
	if ((r = b0_jwks_parse(text, len, setp, em)) != 0) {
		b0_err_prefix(em, "%s", c->jwks);
		goto out;
	}
	r = 0;
out:
	b0_json_free(j);
	return r;
}

/*
 * Read the JWKS file under a shared lock (b0-publish truncates and
 * rewrites it under an exclusive one) and parse its keys, after checking
 * that it names our issuer.
 */
static int
jwks_load(const struct pam_b0_conf *c, int64_t deadline, struct b0_jwks **setp,
    struct b0_errmsg *em)
{
	char *text = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, r;

	*setp = NULL;
	if ((r = b0_file_open(c->jwks,
		 B0_FILE_OWNER_ROOT | B0_FILE_NO_WRITE_OTHERS, &fd, em)) != 0)
		goto out;
	while (flock(fd, LOCK_SH | LOCK_NB) == -1) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    mono_ms() >= deadline) {
			r = errno == EWOULDBLOCK ? B0_ERR_TIMEOUT
						 : b0_err_from_errno();
			b0_err_set(
			    em, "%s: cannot lock: %s", c->jwks, b0_strerror(r));
			goto out;
		}
		sleep_ms(10);
	}
	if ((text = malloc(JWKS_FILE_MAX + 1)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	for (;;) {
		n = read(fd, text + len, JWKS_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = b0_err_from_errno();
			b0_err_set(em, "%s: %s", c->jwks, b0_strerror(r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > JWKS_FILE_MAX) {
			r = B0_ERR_TOO_BIG;
			b0_err_set(
			    em, "%s: over %d bytes", c->jwks, JWKS_FILE_MAX);
			goto out;
		}
	}
	if (len == 0) {
		r = B0_ERR_FORMAT;
		b0_err_set(em,
		    "%s: empty (b0-publish has not had the edge's "
		    "keys yet)",
		    c->jwks);
		goto out;
	}
	r = pam_b0_jwks_parse(c, text, len, setp, em);
out:
	free(text);
	if (fd != -1)
		close(fd);
	return r;
}

/* "ip:port" or "[v6]:port", as the edge writes the visitor. */
static int
visitor_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 3 && n <= PAM_B0_VISITOR_MAX &&
	       strspn(s, "0123456789abcdefABCDEF.:[]") == n &&
	       strchr(s, ':') != NULL;
}

/* The claims beyond the registered ones. */
static int
check_more(const struct pam_b0_conf *c, enum pam_b0_kind kind,
    const struct b0_json *j, struct pam_b0_id *id, struct b0_errmsg *em)
{
	const char *email = NULL, *sock = NULL, *vis = NULL;
	struct b0_errmsg sub;
	size_t i;
	int v = 0;

	if (b0_json_get_str(j, 0, "email", &email) != 0) {
		b0_err_set(em, "email claim missing or not a string");
		return B0_ERR_CLAIM;
	}
	b0_err_clear(&sub);
	if (b0_ident_check_email(email, strlen(email), &sub) != 0) {
		b0_err_set(em, "email claim is not an address: %s", sub.text);
		return B0_ERR_CLAIM;
	}
	b0_strlcpy(id->email, email, sizeof(id->email));
	if (kind == PAM_B0_TOKEN) {
		if (b0_json_get_bool(j, 0, "email_verified", &v) != 0 ||
		    v != 1) {
			b0_err_set(em, "email_verified is not true");
			return B0_ERR_CLAIM;
		}
		return 0;
	}
	if (b0_json_get_str(j, 0, "socket", &sock) != 0) {
		b0_err_set(em, "socket claim missing or not a string");
		return B0_ERR_CLAIM;
	}
	for (i = 0; i < c->nsockets; i++)
		if (strcmp(sock, c->sockets[i]) == 0)
			break;
	if (i == c->nsockets) {
		b0_err_set(
		    em, "socket \"%.80s\" is not one of this host's", sock);
		return B0_ERR_CLAIM;
	}
	b0_strlcpy(id->socket, sock, sizeof(id->socket));
	if (b0_json_get_str(j, 0, "visitor", &vis) != 0 || !visitor_ok(vis)) {
		b0_err_set(em, "visitor claim missing or not ip:port");
		return B0_ERR_CLAIM;
	}
	b0_strlcpy(id->visitor, vis, sizeof(id->visitor));
	return 0;
}

int
pam_b0_verify_keys(const struct pam_b0_conf *c, enum pam_b0_kind kind,
    const struct b0_jwks *keys, const char *token, size_t len, int64_t now,
    struct pam_b0_id *id, struct b0_errmsg *em)
{
	struct b0_jwt_verify_opts opts;
	struct b0_jwt_claims want;
	struct b0_jwt *t = NULL;
	int r;

	memset(id, 0, sizeof(*id));
	memset(&opts, 0, sizeof(opts));
	opts.typ = kind == PAM_B0_TICKET ? "b0-ticket+jwt" : "at+jwt";
	opts.max_len = PAM_B0_PART_MAX * PAM_B0_PARTS_MAX;
	if ((r = b0_jwt_verify(token, len, keys, &opts, &t, em)) != 0)
		goto out;
	if (b0_jwt_alg(t) != B0_JWK_ES256) {
		r = B0_ERR_ALG;
		b0_err_set(
		    em, "alg %s is not ES256", b0_jwk_alg_name(b0_jwt_alg(t)));
		goto out;
	}
	memset(&want, 0, sizeof(want));
	want.iss = c->issuer;
	want.aud = kind == PAM_B0_TICKET ? c->aud : c->issuer;
	want.now = now;
	want.skew = c->skew;
	want.max_lifetime = kind == PAM_B0_TICKET ? PAM_B0_TICKET_LIFETIME
						  : PAM_B0_TOKEN_LIFETIME;
	if ((r = b0_jwt_check_claims(b0_jwt_payload(t), 0, &want, em)) != 0 ||
	    (r = check_more(c, kind, b0_jwt_payload(t), id, em)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		memset(id, 0, sizeof(*id));
	b0_jwt_free(t);
	return r;
}

int
pam_b0_verify(const struct pam_b0_conf *c, enum pam_b0_kind kind,
    const char *token, size_t len, int64_t now, struct pam_b0_id *id,
    int *filep, struct b0_errmsg *em)
{
	struct b0_jwks *keys = NULL;
	int64_t deadline = mono_ms() + PAM_B0_TIMEOUT_MS;
	int r;

	memset(id, 0, sizeof(*id));
	*filep = 0;
	for (;;) {
		if ((r = jwks_load(c, deadline, &keys, em)) != 0) {
			*filep = 1;
			break;
		}
		/* Only b0_jwt_verify() says B0_ERR_NOT_FOUND: a kid we lack. */
		r = pam_b0_verify_keys(c, kind, keys, token, len, now, id, em);
		if (r != B0_ERR_NOT_FOUND || mono_ms() >= deadline)
			break;
		/* b0-publish fetches keys it lacks: look again shortly. */
		b0_jwks_free(keys);
		keys = NULL;
		sleep_ms(100);
	}
	b0_jwks_free(keys);
	return r;
}
