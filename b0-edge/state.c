/*
 * The edge's state directory: publisher tokens and socket reservations.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b0_b64.h"
#include "b0_buf.h"
#include "b0_conf.h"
#include "b0_file.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "state.h"

#define STATE_MAX (4 * 1024 * 1024)
#define SECRET_LEN 32

static int
path_in(const char *dir, const char *name, char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
		return B0_ERR_TOO_BIG;
	return 0;
}

/* Open dir/name for line-by-line reading; *cp NULL if it does not exist. */
static int
open_state(const char *dir, const char *name, struct b0_conf **cp,
    struct b0_errmsg *em)
{
	char path[PATH_MAX];
	int r;

	*cp = NULL;
	if ((r = path_in(dir, name, path, sizeof(path))) != 0)
		return r;
	r = b0_conf_open(path, B0_FILE_PRIVATE | B0_FILE_OWNER_SELF, cp, em);
	if (r == B0_ERR_SYS(ENOENT)) {
		b0_err_clear(em);
		return 0;
	}
	return r;
}

void
edge_tokens_cleanup(struct edge_tokens *t)
{
	if (t->t != NULL)
		OPENSSL_cleanse(t->t, t->n * sizeof(*t->t));
	free(t->t);
	t->t = NULL;
	t->n = 0;
}

static int
tokens_append(struct edge_tokens *t, const struct edge_token *tok)
{
	struct edge_token *n;

	if ((n = realloc(t->t, (t->n + 1) * sizeof(*n))) == NULL)
		return B0_ERR_ALLOC;
	t->t = n;
	t->t[t->n++] = *tok;
	return 0;
}

int
edge_tokens_load(const char *dir, struct edge_tokens *t, struct b0_errmsg *em)
{
	struct b0_conf *rd = NULL;
	struct b0_conf_line l;
	struct edge_token tok;
	uint64_t created;
	int r;

	memset(t, 0, sizeof(*t));
	if ((r = open_state(dir, "tokens", &rd, em)) != 0 || rd == NULL)
		return r;
	while ((r = b0_conf_next(rd, &l, em)) == 1) {
		memset(&tok, 0, sizeof(tok));
		if (l.argc != 3 || !b0_proto_name_valid(l.argv[0]) ||
		    b0_hex_decode(l.argv[1], tok.hash, 32) != 0 ||
		    b0_parse_u64(l.argv[2], 0, INT64_MAX, &created) != 0) {
			r = b0_conf_error(em, &l, "not NAME SHA256 CREATED");
			break;
		}
		if (edge_token_find(t, l.argv[0]) != NULL) {
			r = b0_conf_error(
			    em, &l, "publisher %s listed twice", l.argv[0]);
			break;
		}
		b0_strlcpy(tok.name, l.argv[0], sizeof(tok.name));
		tok.created = (int64_t)created;
		if ((r = tokens_append(t, &tok)) != 0)
			break;
	}
	b0_conf_free(rd);
	if (r != 0)
		edge_tokens_cleanup(t);
	return r;
}

int
edge_tokens_save(
    const char *dir, const struct edge_tokens *t, struct b0_errmsg *em)
{
	char path[PATH_MAX], hex[65];
	struct b0_buf *b;
	size_t i;
	int r = 0;

	if ((r = path_in(dir, "tokens", path, sizeof(path))) != 0)
		return r;
	if ((b = b0_buf_new(STATE_MAX)) == NULL)
		return B0_ERR_ALLOC;
	r = b0_buf_put_str(b, "# b0-edge publisher tokens: NAME SHA256 "
			      "CREATED.  Use b0-edge token add|ls|revoke.\n");
	for (i = 0; i < t->n && r == 0; i++) {
		b0_hex_encode(t->t[i].hash, 32, hex, sizeof(hex));
		r = b0_buf_putf(b, "%s %s %lld\n", t->t[i].name, hex,
		    (long long)t->t[i].created);
	}
	if (r == 0)
		r = b0_file_write_atomic(
		    path, b0_buf_ptr(b), b0_buf_len(b), 0600, em);
	b0_buf_free(b);
	return r;
}

const struct edge_token *
edge_token_find(const struct edge_tokens *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->t[i].name, name) == 0)
			return &t->t[i];
	}
	return NULL;
}

int
edge_token_add(struct edge_tokens *t, const char *name, char *token,
    size_t size, struct b0_errmsg *em)
{
	uint8_t secret[SECRET_LEN];
	char s64[64];
	struct edge_token tok;
	int r;

	if (!b0_proto_name_valid(name)) {
		b0_err_set(em,
		    "\"%s\" is not a valid publisher name (1 to 32 "
		    "of a-z, 0-9 and -, not starting or ending with -)",
		    name);
		return B0_ERR_FORMAT;
	}
	if (edge_token_find(t, name) != NULL) {
		b0_err_set(em,
		    "publisher %s already has a token (revoke it "
		    "first to make a new one)",
		    name);
		return B0_ERR_EXISTS;
	}
	memset(&tok, 0, sizeof(tok));
	if (RAND_bytes(secret, sizeof(secret)) != 1 ||
	    b0_b64url_encode(secret, sizeof(secret), s64, sizeof(s64)) != 0 ||
	    EVP_Digest(s64, strlen(s64), tok.hash, NULL, EVP_sha256(), NULL) !=
		1) {
		r = B0_ERR_CRYPTO;
		goto out;
	}
	if ((size_t)snprintf(token, size, "b0pt.%s.%s", name, s64) >= size) {
		r = B0_ERR_TOO_BIG;
		goto out;
	}
	b0_strlcpy(tok.name, name, sizeof(tok.name));
	tok.created = (int64_t)time(NULL);
	r = tokens_append(t, &tok);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(s64, sizeof(s64));
	return r;
}

int
edge_token_remove(struct edge_tokens *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->t[i].name, name) == 0) {
			memmove(&t->t[i], &t->t[i + 1],
			    (t->n - i - 1) * sizeof(*t->t));
			t->n--;
			return 0;
		}
	}
	return B0_ERR_NOT_FOUND;
}

int
edge_token_check(const struct edge_tokens *t, const char *token, char *name)
{
	const struct edge_token *tok;
	char n[B0_NAME_SIZE];
	const char *p, *dot;
	uint8_t hash[32];
	size_t nlen;

	if (strncmp(token, "b0pt.", 5) != 0)
		return B0_ERR_AUTH;
	p = token + 5;
	if ((dot = strchr(p, '.')) == NULL ||
	    (nlen = (size_t)(dot - p)) >= sizeof(n))
		return B0_ERR_AUTH;
	memcpy(n, p, nlen);
	n[nlen] = '\0';
	if ((tok = edge_token_find(t, n)) == NULL)
		return B0_ERR_AUTH;
	if (EVP_Digest(
		dot + 1, strlen(dot + 1), hash, NULL, EVP_sha256(), NULL) != 1)
		return B0_ERR_CRYPTO;
	if (!b0_ct_eq(hash, tok->hash, sizeof(hash)))
		return B0_ERR_AUTH;
	b0_strlcpy(name, n, B0_NAME_SIZE);
	return 0;
}

void
edge_resvs_cleanup(struct edge_resvs *rs)
{
	free(rs->r);
	rs->r = NULL;
	rs->n = 0;
}

struct edge_resv *
edge_resv_add(struct edge_resvs *rs, const struct edge_resv *r)
{
	struct edge_resv *n;

	if ((n = realloc(rs->r, (rs->n + 1) * sizeof(*n))) == NULL)
		return NULL;
	rs->r = n;
	rs->r[rs->n] = *r;
	return &rs->r[rs->n++];
}

int
edge_resvs_load(const char *dir, struct edge_resvs *rs, struct b0_errmsg *em)
{
	struct b0_conf *rd = NULL;
	struct b0_conf_line l;
	struct edge_resv v;
	uint32_t port;
	int r;

	memset(rs, 0, sizeof(*rs));
	if ((r = open_state(dir, "sockets", &rd, em)) != 0 || rd == NULL)
		return r;
	while ((r = b0_conf_next(rd, &l, em)) == 1) {
		memset(&v, 0, sizeof(v));
		if (l.argc != 4 || !b0_proto_name_valid(l.argv[0]) ||
		    !b0_proto_name_valid(l.argv[1]) ||
		    strlen(l.argv[2]) >= sizeof(v.dns) ||
		    b0_parse_u32(l.argv[3], 0, 65535, &port) != 0) {
			r = b0_conf_error(
			    em, &l, "not PUBLISHER SOCKET DNS-NAME PORT");
			break;
		}
		b0_strlcpy(v.publisher, l.argv[0], sizeof(v.publisher));
		b0_strlcpy(v.socket, l.argv[1], sizeof(v.socket));
		b0_strlcpy(v.dns, l.argv[2], sizeof(v.dns));
		v.port = (uint16_t)port;
		if (edge_resv_find(rs, v.publisher, v.socket) != NULL ||
		    edge_resv_find_dns(rs, v.dns) != NULL ||
		    (v.port != 0 && edge_resv_find_port(rs, v.port) != NULL)) {
			r = b0_conf_error(em, &l, "duplicate reservation");
			break;
		}
		if (edge_resv_add(rs, &v) == NULL) {
			r = B0_ERR_ALLOC;
			break;
		}
	}
	b0_conf_free(rd);
	if (r != 0)
		edge_resvs_cleanup(rs);
	return r;
}

int
edge_resvs_save(
    const char *dir, const struct edge_resvs *rs, struct b0_errmsg *em)
{
	char path[PATH_MAX];
	struct b0_buf *b;
	size_t i;
	int r;

	if ((r = path_in(dir, "sockets", path, sizeof(path))) != 0)
		return r;
	if ((b = b0_buf_new(STATE_MAX)) == NULL)
		return B0_ERR_ALLOC;
	r = b0_buf_put_str(b, "# b0-edge socket reservations: PUBLISHER "
			      "SOCKET DNS-NAME PORT\n");
	for (i = 0; i < rs->n && r == 0; i++)
		r = b0_buf_putf(b, "%s %s %s %u\n", rs->r[i].publisher,
		    rs->r[i].socket, rs->r[i].dns, (unsigned)rs->r[i].port);
	if (r == 0)
		r = b0_file_write_atomic(
		    path, b0_buf_ptr(b), b0_buf_len(b), 0600, em);
	b0_buf_free(b);
	return r;
}

struct edge_resv *
edge_resv_find(
    const struct edge_resvs *rs, const char *publisher, const char *socket)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		if (strcmp(rs->r[i].publisher, publisher) == 0 &&
		    strcmp(rs->r[i].socket, socket) == 0)
			return &rs->r[i];
	}
	return NULL;
}

struct edge_resv *
edge_resv_find_dns(const struct edge_resvs *rs, const char *dns)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		if (strcmp(rs->r[i].dns, dns) == 0)
			return &rs->r[i];
	}
	return NULL;
}

struct edge_resv *
edge_resv_find_port(const struct edge_resvs *rs, uint16_t port)
{
	size_t i;

	for (i = 0; i < rs->n; i++) {
		if (rs->r[i].port == port)
			return &rs->r[i];
	}
	return NULL;
}
