/*
 * The issuer's memory: pending requests, codes, sessions (in memory) and
 * refresh grants (in <state-dir>/grants).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b0_b64.h"
#include "b0_buf.h"
#include "b0_conf.h"
#include "b0_file.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "grants.h"

#define GRANTS_FILE_MAX (16 * 1024 * 1024)

#ifndef TAILQ_FOREACH_SAFE /* BSD has it, glibc not */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                             \
	for ((var) = TAILQ_FIRST((head));                                      \
	     (var) && ((tvar) = TAILQ_NEXT((var), field), 1); (var) = (tvar))
#endif

/* Letters of user codes (RFC 8628 6.1): no vowels, no look-alikes. */
static const char user_alphabet[] = "BCDFGHJKLMNPQRSTVWXZ";

struct grants {
	char path[PATH_MAX];
	TAILQ_HEAD(, preq) preqs;
	TAILQ_HEAD(, acode) acodes;
	TAILQ_HEAD(, dcode) dcodes;
	TAILQ_HEAD(, bsess) sessions;
	TAILQ_HEAD(grant_q, grant) grants; /* most recently used first */
	size_t npreq, nacode, ndcode, nsess, ngrant;
};

void
grants_hash(const char *s, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	if (EVP_Digest(s, n, out, &len, EVP_sha256(), NULL) != 1)
		memset(out, 0xff, 32); /* matches nothing we made */
}

int
grants_random_b64(char *out, size_t outsz)
{
	uint8_t b[32];
	int r;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return B0_ERR_CRYPTO;
	r = b0_b64url_encode(b, sizeof(b), out, outsz);
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

static int
random_hex(char *out, size_t outsz)
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return B0_ERR_CRYPTO;
	return b0_hex_encode(b, sizeof(b), out, outsz);
}

static int
is_hex32(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* --- pending requests --------------------------------------------------- */

struct preq *
preq_new(struct grants *g, enum preq_kind kind, int64_t now, const char *owner)
{
	struct preq *p, *first = NULL;
	size_t n = 0;

	TAILQ_FOREACH(p, &g->preqs, entry)
	if (strcmp(p->owner, owner) == 0 && n++ == 0)
		first = p;
	/* A flood from one client pushes out its own requests only. */
	if (n >= OWNER_MAX)
		preq_del(g, first);
	else if (g->npreq >= PENDING_MAX)
		preq_del(g, TAILQ_FIRST(&g->preqs));
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	b0_strlcpy(p->owner, owner, sizeof(p->owner));
	if (random_hex(p->id, sizeof(p->id)) != 0) {
		free(p);
		return NULL;
	}
	p->kind = kind;
	p->expires = now + PREQ_TTL;
	TAILQ_INSERT_TAIL(&g->preqs, p, entry);
	g->npreq++;
	return p;
}

struct preq *
preq_find(struct grants *g, const char *id, int64_t now)
{
	struct preq *p;

	if (!is_hex32(id))
		return NULL;
	TAILQ_FOREACH(p, &g->preqs, entry)
	if (strcmp(p->id, id) == 0)
		return p->expires > now ? p : NULL;
	return NULL;
}

void
preq_del(struct grants *g, struct preq *p)
{
	if (p == NULL)
		return;
	TAILQ_REMOVE(&g->preqs, p, entry);
	g->npreq--;
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

/* --- authorization codes ----------------------------------------------- */

static void
acode_del(struct grants *g, struct acode *c)
{
	TAILQ_REMOVE(&g->acodes, c, entry);
	g->nacode--;
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

struct acode *
acode_new(struct grants *g, const struct preq *p, const struct who *who,
    int64_t now, char *code, size_t codesz)
{
	struct acode *c;

	if (g->nacode >= PENDING_MAX)
		acode_del(g, TAILQ_FIRST(&g->acodes));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (grants_random_b64(code, codesz) != 0) {
		free(c);
		return NULL;
	}
	grants_hash(code, strlen(code), c->hash);
	c->expires = now + CODE_TTL;
	memcpy(c->redirect_uri, p->redirect_uri, sizeof(c->redirect_uri));
	memcpy(c->challenge, p->challenge, sizeof(c->challenge));
	memcpy(c->nonce, p->nonce, sizeof(c->nonce));
	c->has_nonce = p->has_nonce;
	memcpy(c->scope, p->scope, sizeof(c->scope));
	c->who = *who;
	TAILQ_INSERT_TAIL(&g->acodes, c, entry);
	g->nacode++;
	return c;
}

struct acode *
acode_find(struct grants *g, const char *code)
{
	struct acode *c;
	uint8_t h[32];

	grants_hash(code, strlen(code), h);
	TAILQ_FOREACH(c, &g->acodes, entry)
	if (b0_ct_eq(c->hash, h, 32))
		return c;
	return NULL;
}

/* --- device codes ------------------------------------------------------- */

struct dcode *
dcode_new(struct grants *g, const char *scope, int64_t now, const char *owner,
    char *device_code, size_t dcsz)
{
	struct dcode *d, *first = NULL;
	uint8_t b[8];
	size_t i, n = 0;
	int tries;

	TAILQ_FOREACH(d, &g->dcodes, entry)
	if (strcmp(d->owner, owner) == 0 && n++ == 0)
		first = d;
	if (n >= OWNER_MAX)
		dcode_del(g, first);
	else if (g->ndcode >= PENDING_MAX)
		dcode_del(g, TAILQ_FIRST(&g->dcodes));
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	b0_strlcpy(d->owner, owner, sizeof(d->owner));
	for (tries = 0; tries < 8; tries++) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			goto fail;
		/* 256 % 20 != 0: take bytes below 240 only, no bias. */
		for (i = 0; i < 8; i++) {
			while (b[i] >= 240)
				if (RAND_bytes(&b[i], 1) != 1)
					goto fail;
			d->user_code[i] = user_alphabet[b[i] % 20];
		}
		d->user_code[8] = '\0';
		if (dcode_find_user(g, d->user_code, now) == NULL)
			break;
	}
	if (tries == 8 || grants_random_b64(device_code, dcsz) != 0)
		goto fail;
	grants_hash(device_code, strlen(device_code), d->hash);
	d->expires = now + DEVICE_TTL;
	d->interval = DEVICE_INTERVAL;
	b0_strlcpy(d->scope, scope, sizeof(d->scope));
	TAILQ_INSERT_TAIL(&g->dcodes, d, entry);
	g->ndcode++;
	return d;
fail:
	free(d);
	return NULL;
}

struct dcode *
dcode_find(struct grants *g, const char *device_code)
{
	struct dcode *d;
	uint8_t h[32];

	grants_hash(device_code, strlen(device_code), h);
	TAILQ_FOREACH(d, &g->dcodes, entry)
	if (b0_ct_eq(d->hash, h, 32))
		return d;
	return NULL;
}

struct dcode *
dcode_find_user(struct grants *g, const char *typed, int64_t now)
{
	struct dcode *d;
	char code[GRANT_USER_CODE_SIZE];
	size_t i, n = 0;

	for (i = 0; typed[i] != '\0'; i++) {
		char ch = typed[i];

		if (ch == '-' || ch == ' ')
			continue;
		if (n == 8)
			return NULL;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (strchr(user_alphabet, ch) == NULL || ch == '\0')
			return NULL;
		code[n++] = ch;
	}
	if (n != 8)
		return NULL;
	code[8] = '\0';
	TAILQ_FOREACH(d, &g->dcodes, entry)
	if (strcmp(d->user_code, code) == 0)
		return d->expires > now && d->state == DCODE_PENDING ? d : NULL;
	return NULL;
}

void
dcode_del(struct grants *g, struct dcode *d)
{
	if (d == NULL)
		return;
	TAILQ_REMOVE(&g->dcodes, d, entry);
	g->ndcode--;
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

/* --- browser sessions --------------------------------------------------- */

struct bsess *
bsess_new(struct grants *g, const struct who *who, int64_t now, char *cookie,
    size_t cookiesz)
{
	struct bsess *s;

	if (g->nsess >= SESSIONS_MAX)
		bsess_del(g, TAILQ_FIRST(&g->sessions));
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if (grants_random_b64(cookie, cookiesz) != 0) {
		free(s);
		return NULL;
	}
	grants_hash(cookie, strlen(cookie), s->hash);
	s->expires = now + SESSION_TTL;
	s->who = *who;
	TAILQ_INSERT_TAIL(&g->sessions, s, entry);
	g->nsess++;
	return s;
}

struct bsess *
bsess_find(struct grants *g, const char *cookie, int64_t now)
{
	struct bsess *s;
	uint8_t h[32];

	if (strlen(cookie) != 43)
		return NULL;
	grants_hash(cookie, strlen(cookie), h);
	TAILQ_FOREACH(s, &g->sessions, entry)
	if (b0_ct_eq(s->hash, h, 32))
		return s->expires > now ? s : NULL;
	return NULL;
}

void
bsess_del(struct grants *g, struct bsess *s)
{
	if (s == NULL)
		return;
	TAILQ_REMOVE(&g->sessions, s, entry);
	g->nsess--;
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* --- refresh grants, and their file ------------------------------------- */

static void
grant_del(struct grants *g, struct grant *gr)
{
	TAILQ_REMOVE(&g->grants, gr, entry);
	g->ngrant--;
	OPENSSL_cleanse(gr, sizeof(*gr));
	free(gr);
}

static int
put_hex(struct b0_buf *b, const uint8_t h[32])
{
	char hex[65];

	b0_hex_encode(h, 32, hex, sizeof(hex));
	return b0_buf_putf(b, " %s", hex);
}

/* Scopes are stored with ',' for ' ' (one word per field). */
static void
scope_swap(char *s, char from, char to)
{
	for (; *s != '\0'; s++)
		if (*s == from)
			*s = to;
}

static int
grants_save(struct grants *g, struct b0_errmsg *em)
{
	struct grant *gr;
	struct b0_buf *b;
	char scope[GRANT_SCOPE_SIZE];
	unsigned i;
	int r;

	if ((b = b0_buf_new(GRANTS_FILE_MAX)) == NULL)
		return B0_ERR_ALLOC;
	r = b0_buf_put_str(b,
	    "# b0-edge refresh grants: ID EMAIL SOURCE SCOPE CREATED "
	    "LAST-USED SHA256 [ROTATED-AWAY SHA256...]\n");
	TAILQ_FOREACH_REVERSE(gr, &g->grants, grant_q, entry)
	{
		if (r != 0)
			break;
		b0_strlcpy(scope, gr->scope, sizeof(scope));
		scope_swap(scope, ' ', ',');
		r = b0_buf_putf(b, "%s \"%s\" %s %s %lld %lld", gr->id,
		    gr->who.email, gr->who.src, scope, (long long)gr->created,
		    (long long)gr->last_used);
		if (r == 0)
			r = put_hex(b, gr->cur);
		for (i = 0; i < gr->nprev && r == 0; i++)
			r = put_hex(b, gr->prev[i]);
		if (r == 0)
			r = b0_buf_put_str(b, "\n");
	}
	if (r == 0)
		r = b0_file_write_atomic(
		    g->path, b0_buf_ptr(b), b0_buf_len(b), 0600, em);
	else
		b0_err_set(em, "%s: too many grants to save", g->path);
	b0_buf_free(b);
	return r;
}

/* A grant line: ID EMAIL SRC SCOPE CREATED LAST CUR [PREV...] */
static int
parse_line(const struct b0_conf_line *l, struct grant *gr)
{
	uint64_t u;
	int i;

	if (l->argc < 7 || l->argc > 7 + GRANT_PREV || !is_hex32(l->argv[0]) ||
	    strlen(l->argv[1]) >= sizeof(gr->who.email) ||
	    strlen(l->argv[2]) >= sizeof(gr->who.src) ||
	    strlen(l->argv[3]) >= sizeof(gr->scope))
		return B0_ERR_FORMAT;
	b0_strlcpy(gr->id, l->argv[0], sizeof(gr->id));
	b0_strlcpy(gr->who.email, l->argv[1], sizeof(gr->who.email));
	b0_strlcpy(gr->who.src, l->argv[2], sizeof(gr->who.src));
	b0_strlcpy(gr->scope, l->argv[3], sizeof(gr->scope));
	scope_swap(gr->scope, ',', ' ');
	if (b0_parse_u64(l->argv[4], 0, INT64_MAX, &u) != 0)
		return B0_ERR_FORMAT;
	gr->created = (int64_t)u;
	if (b0_parse_u64(l->argv[5], 0, INT64_MAX, &u) != 0)
		return B0_ERR_FORMAT;
	gr->last_used = (int64_t)u;
	if (b0_hex_decode(l->argv[6], gr->cur, 32) != 0)
		return B0_ERR_FORMAT;
	for (i = 7; i < l->argc; i++)
		if (b0_hex_decode(l->argv[i], gr->prev[gr->nprev++], 32) != 0)
			return B0_ERR_FORMAT;
	return 0;
}

int
grants_load(const char *state_dir, struct grants **gp, struct b0_errmsg *em)
{
	struct grants *g = NULL;
	struct b0_conf *rd = NULL;
	struct b0_conf_line l;
	struct grant *gr;
	int r;

	*gp = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return B0_ERR_ALLOC;
	TAILQ_INIT(&g->preqs);
	TAILQ_INIT(&g->acodes);
	TAILQ_INIT(&g->dcodes);
	TAILQ_INIT(&g->sessions);
	TAILQ_INIT(&g->grants);
	if ((size_t)snprintf(g->path, sizeof(g->path), "%s/grants",
		state_dir) >= sizeof(g->path)) {
		r = B0_ERR_TOO_BIG;
		goto out;
	}
	r = b0_conf_open(
	    g->path, B0_FILE_PRIVATE | B0_FILE_OWNER_SELF, &rd, em);
	if (r == B0_ERR_SYS(ENOENT)) {
		b0_err_clear(em);
		r = 0;
		goto done;
	}
	if (r != 0)
		goto out;
	while ((r = b0_conf_next(rd, &l, em)) == 1) {
		if ((gr = calloc(1, sizeof(*gr))) == NULL) {
			r = B0_ERR_ALLOC;
			goto out;
		}
		if (parse_line(&l, gr) != 0 || grant_find(g, gr->id) != NULL) {
			free(gr);
			r = b0_conf_error(em, &l,
			    "not ID EMAIL SOURCE SCOPE CREATED "
			    "LAST-USED SHA256 [SHA256...], or a repeated ID");
			goto out;
		}
		/* The file lists the least recently used first. */
		TAILQ_INSERT_HEAD(&g->grants, gr, entry);
		g->ngrant++;
	}
	if (r < 0)
		goto out;
done:
	*gp = g;
	g = NULL;
	r = 0;
out:
	b0_conf_free(rd);
	grants_free(g);
	return r;
}

void
grants_free(struct grants *g)
{
	if (g == NULL)
		return;
	while (!TAILQ_EMPTY(&g->preqs))
		preq_del(g, TAILQ_FIRST(&g->preqs));
	while (!TAILQ_EMPTY(&g->acodes))
		acode_del(g, TAILQ_FIRST(&g->acodes));
	while (!TAILQ_EMPTY(&g->dcodes))
		dcode_del(g, TAILQ_FIRST(&g->dcodes));
	while (!TAILQ_EMPTY(&g->sessions))
		bsess_del(g, TAILQ_FIRST(&g->sessions));
	while (!TAILQ_EMPTY(&g->grants))
		grant_del(g, TAILQ_FIRST(&g->grants));
	free(g);
}

struct grant *
grant_find(struct grants *g, const char *id)
{
	struct grant *gr;

	TAILQ_FOREACH(gr, &g->grants, entry)
	if (strcmp(gr->id, id) == 0)
		return gr;
	return NULL;
}

size_t
grants_count(const struct grants *g)
{
	return g->ngrant;
}

static int
make_token(const char *id, uint8_t hash[32], char *token, size_t tokensz)
{
	char secret[GRANT_SECRET_SIZE];
	int r;

	if ((r = grants_random_b64(secret, sizeof(secret))) != 0)
		return r;
	grants_hash(secret, strlen(secret), hash);
	if ((size_t)snprintf(token, tokensz, "b0rt.%s.%s", id, secret) >=
	    tokensz)
		r = B0_ERR_TOO_BIG;
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

int
grant_issue(struct grants *g, const struct who *who, const char *scope,
    int64_t now, char *token, size_t tokensz, struct grant **gp,
    struct b0_errmsg *em)
{
	struct grant *gr;
	int r;

	*gp = NULL;
	if (g->ngrant >= GRANTS_MAX)
		grant_del(g, TAILQ_LAST(&g->grants, grant_q));
	if ((gr = calloc(1, sizeof(*gr))) == NULL)
		return B0_ERR_ALLOC;
	if ((r = random_hex(gr->id, sizeof(gr->id))) != 0 ||
	    (r = make_token(gr->id, gr->cur, token, tokensz)) != 0) {
		free(gr);
		return r;
	}
	gr->who = *who;
	b0_strlcpy(gr->scope, scope, sizeof(gr->scope));
	gr->created = gr->last_used = now;
	TAILQ_INSERT_HEAD(&g->grants, gr, entry);
	g->ngrant++;
	if ((r = grants_save(g, em)) != 0) {
		grant_del(g, gr);
		OPENSSL_cleanse(token, tokensz);
		return r;
	}
	*gp = gr;
	return 0;
}

int
grant_revoke(struct grants *g, const char *id, struct b0_errmsg *em)
{
	struct grant *gr;

	if ((gr = grant_find(g, id)) == NULL)
		return 0;
	grant_del(g, gr);
	return grants_save(g, em);
}

/*
 * The grant of refresh token token: *grp, and in *prevp whether the token
 * is one of its rotated-away ones.  Returns 0 or B0_ERR_AUTH.
 */
static int
grant_lookup(
    struct grants *g, const char *token, struct grant **grp, int *prevp)
{
	struct grant *gr;
	char id[GRANT_ID_SIZE];
	uint8_t h[32];
	unsigned i;

	*grp = NULL;
	*prevp = 0;
	if (strlen(token) != 5 + 32 + 1 + 43 ||
	    !b0_str_has_prefix(token, "b0rt.") || token[37] != '.')
		return B0_ERR_AUTH;
	memcpy(id, token + 5, 32);
	id[32] = '\0';
	if (!is_hex32(id) || (gr = grant_find(g, id)) == NULL)
		return B0_ERR_AUTH;
	grants_hash(token + 38, 43, h);
	if (b0_ct_eq(h, gr->cur, 32)) {
		*grp = gr;
		return 0;
	}
	for (i = 0; i < gr->nprev; i++)
		if (b0_ct_eq(h, gr->prev[i], 32)) {
			*grp = gr;
			*prevp = 1;
			return 0;
		}
	return B0_ERR_AUTH;
}

int
grant_revoke_token(struct grants *g, const char *token, char *id, size_t idsz,
    struct b0_errmsg *em)
{
	struct grant *gr;
	int prev;

	if (grant_lookup(g, token, &gr, &prev) != 0)
		return B0_ERR_AUTH;
	b0_strlcpy(id, gr->id, idsz);
	grant_del(g, gr);
	return grants_save(g, em);
}

int
grant_use(struct grants *g, const char *token, int64_t now, int64_t refresh_ttl,
    char *newtok, size_t newtoksz, struct grant **gp, struct b0_errmsg *em)
{
	struct grant *gr, saved;
	int prev, r;

	*gp = NULL;
	if (grant_lookup(g, token, &gr, &prev) != 0)
		return B0_ERR_AUTH;
	if (prev) {
		b0_err_set(em,
		    "a rotated-away refresh token of grant %s (%s) was "
		    "used again: grant revoked",
		    gr->id, gr->who.email);
		grant_del(g, gr);
		if ((r = grants_save(g, NULL)) != 0)
			return r;
		return B0_ERR_DENIED;
	}
	if (now - gr->last_used > refresh_ttl) {
		grant_del(g, gr);
		(void)grants_save(g, NULL);
		return B0_ERR_EXPIRED;
	}
	saved = *gr;
	memmove(gr->prev[1], gr->prev[0], (GRANT_PREV - 1) * 32);
	memcpy(gr->prev[0], gr->cur, 32);
	if (gr->nprev < GRANT_PREV)
		gr->nprev++;
	if ((r = make_token(gr->id, gr->cur, newtok, newtoksz)) != 0)
		goto fail;
	gr->last_used = now;
	TAILQ_REMOVE(&g->grants, gr, entry);
	TAILQ_INSERT_HEAD(&g->grants, gr, entry);
	if ((r = grants_save(g, em)) != 0)
		goto fail;
	OPENSSL_cleanse(&saved, sizeof(saved));
	*gp = gr;
	return 0;
fail:
	/* Keep the old token working: the client never saw the new one. */
	memcpy(gr->cur, saved.cur, 32);
	memcpy(gr->prev, saved.prev, sizeof(gr->prev));
	gr->nprev = saved.nprev;
	gr->last_used = saved.last_used;
	OPENSSL_cleanse(&saved, sizeof(saved));
	OPENSSL_cleanse(newtok, newtoksz);
	return r;
}

int
grants_expire(
    struct grants *g, int64_t now, int64_t refresh_ttl, struct b0_errmsg *em)
{
	struct preq *p, *pn;
	struct acode *c, *cn;
	struct dcode *d, *dn;
	struct bsess *s, *sn;
	struct grant *gr, *gn;
	int changed = 0;

	TAILQ_FOREACH_SAFE(p, &g->preqs, entry, pn)
	if (p->expires <= now)
		preq_del(g, p);
	/* Used codes stay until they expire, so a replay is noticed. */
	TAILQ_FOREACH_SAFE(c, &g->acodes, entry, cn)
	if (c->expires <= now)
		acode_del(g, c);
	/* Expired device codes stay a while to answer expired_token. */
	TAILQ_FOREACH_SAFE(d, &g->dcodes, entry, dn)
	if (d->expires + DEVICE_TTL <= now)
		dcode_del(g, d);
	TAILQ_FOREACH_SAFE(s, &g->sessions, entry, sn)
	if (s->expires <= now)
		bsess_del(g, s);
	TAILQ_FOREACH_SAFE(gr, &g->grants, entry, gn)
	if (now - gr->last_used > refresh_ttl) {
		grant_del(g, gr);
		changed = 1;
	}
	return changed ? grants_save(g, em) : 0;
}
