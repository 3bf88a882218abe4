/*
 * What the issuer remembers (grants.c, docs/identity.md): pending
 * authorization requests, authorization codes, device codes and browser
 * sessions in memory, and refresh-token grants in <state-dir>/grants
 * (0600, replaced atomically), of which only SHA-256 hashes of secrets are
 * kept.  A refresh token is "b0rt.<grant id>.<secret>"; each use rotates
 * the secret, and a secret that was rotated away, when used again, revokes
 * the grant (RFC 9700 4.14.2).
 *
 * Ownership: a struct grants is its creator's (grants_free()) and owns
 * every record in it; the pointers the lookups return are borrowed until
 * the record is deleted or expires (the next grants_expire()).  Secrets
 * handed out (codes, tokens, cookies) are the caller's to wipe.
 */
#ifndef EDGE_GRANTS_H
#define EDGE_GRANTS_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "b0_err.h"

#define GRANT_ID_SIZE 33     /* 32 hex and a NUL */
#define GRANT_SECRET_SIZE 44 /* 43 base64url and a NUL */
#define GRANT_TOKEN_SIZE (5 + 32 + 1 + 43 + 1)
#define GRANT_EMAIL_SIZE 255 /* B0_IDENT_EMAIL_MAX + 1 */
#define GRANT_SRC_SIZE 48    /* "builtin" or "upstream:NAME" */
#define GRANT_SCOPE_SIZE 64  /* "openid email offline_access" */
#define GRANT_URI_SIZE 513   /* redirect URIs */
#define GRANT_STATE_SIZE 513 /* state, nonce */
#define GRANT_USER_CODE_SIZE 9
#define GRANT_PREV 4 /* rotated-away secrets remembered per grant */

#define GRANTS_MAX 10000    /* refresh grants; the least recent goes */
#define PENDING_MAX 4096    /* requests, codes, device codes each */
#define OWNER_MAX 32	    /* pending requests, device codes per client */
#define GRANT_OWNER_SIZE 48 /* a client address (IPv6: its /64) */
#define SESSIONS_MAX 20000  /* browser sessions */

#define PREQ_TTL 600	  /* a pending request, s */
#define CODE_TTL 60	  /* an authorization code, s */
#define DEVICE_TTL 600	  /* a device code, s */
#define DEVICE_INTERVAL 5 /* s */
#define SESSION_TTL (12 * 3600)

/* Who signed in, and how. */
struct who {
	char email[GRANT_EMAIL_SIZE];
	char src[GRANT_SRC_SIZE];
};

enum preq_kind {
	PREQ_CODE = 1, /* from /authorize: ends in a redirect with a code */
	PREQ_DEVICE,   /* from /device: ends in the confirmation page */
	PREQ_LOGIN     /* a bare /login: ends in "Signed in" */
};

/* A pending authorization request: someone is signing in for it. */
struct preq {
	char id[GRANT_ID_SIZE];
	char owner[GRANT_OWNER_SIZE]; /* who asked: a flood evicts its own */
	enum preq_kind kind;
	int64_t expires;
	char redirect_uri[GRANT_URI_SIZE];
	char state[GRANT_STATE_SIZE];
	int has_state;
	char nonce[GRANT_STATE_SIZE];
	int has_nonce;
	char challenge[GRANT_SECRET_SIZE];
	char scope[GRANT_SCOPE_SIZE];
	char user_code[GRANT_USER_CODE_SIZE];
	/* Sign-in at an upstream provider. */
	uint8_t browser[32]; /* hash of the b0_csrf cookie that started it */
	char provider[33];
	int upstream;	  /* started; the result is awaited */
	int upstream_end; /* done() came: email set, or why */
	struct who who;
	char why[256];
	TAILQ_ENTRY(preq) entry;
};

/* An authorization code. */
struct acode {
	uint8_t hash[32];
	int64_t expires;
	char redirect_uri[GRANT_URI_SIZE];
	char challenge[GRANT_SECRET_SIZE];
	char nonce[GRANT_STATE_SIZE];
	int has_nonce;
	char scope[GRANT_SCOPE_SIZE];
	struct who who;
	int used;
	char grant[GRANT_ID_SIZE]; /* the grant it produced, "" if none */
	TAILQ_ENTRY(acode) entry;
};

enum dcode_state {
	DCODE_PENDING = 0,
	DCODE_APPROVED,
	DCODE_DENIED,
	DCODE_USED
};

/* A device code (RFC 8628). */
struct dcode {
	uint8_t hash[32];
	char user_code[GRANT_USER_CODE_SIZE]; /* 8 letters, no dash */
	char owner[GRANT_OWNER_SIZE];
	int64_t expires;
	uint64_t last_poll_ms; /* monotonic; 0: not polled yet */
	unsigned interval;
	enum dcode_state state;
	char scope[GRANT_SCOPE_SIZE];
	struct who who;
	char grant[GRANT_ID_SIZE];
	TAILQ_ENTRY(dcode) entry;
};

/* A browser session at the edge (the b0_session cookie). */
struct bsess {
	uint8_t hash[32];
	int64_t expires;
	struct who who;
	TAILQ_ENTRY(bsess) entry;
};

/* A refresh-token grant. */
struct grant {
	char id[GRANT_ID_SIZE];
	struct who who;
	char scope[GRANT_SCOPE_SIZE];
	int64_t created;
	int64_t last_used;
	uint8_t cur[32];
	uint8_t prev[GRANT_PREV][32];
	unsigned nprev;
	TAILQ_ENTRY(grant) entry;
};

struct grants;

/* grants_load(state_dir, gp, em): read state_dir/grants (missing: none). */
int grants_load(
    const char *state_dir, struct grants **gp, struct b0_errmsg *em);
void grants_free(struct grants *g);

/*
 * grants_expire(g, now, refresh_ttl, em): forget what expired at now
 * (wall clock); grants unused for refresh_ttl seconds too, saving the
 * file if any went.  Returns 0 or the error of saving.
 */
int grants_expire(
    struct grants *g, int64_t now, int64_t refresh_ttl, struct b0_errmsg *em);

/* grants_random_b64(out, outsz): 32 random bytes, base64url (43 chars). */
int grants_random_b64(char *out, size_t outsz);

/* grants_hash(s, n, out): SHA-256 of n bytes of s. */
void grants_hash(const char *s, size_t n, uint8_t out[32]);

/*
 * Pending requests: a new one with a random id for client owner (when
 * owner has OWNER_MAX, its oldest goes; when all are taken, the oldest
 * of all); by id; delete.
 */
struct preq *preq_new(
    struct grants *g, enum preq_kind kind, int64_t now, const char *owner);
struct preq *preq_find(struct grants *g, const char *id, int64_t now);
void preq_del(struct grants *g, struct preq *p);

/*
 * acode_new(g, p, who, now, code, codesz): an authorization code for the
 * pending request p (kind PREQ_CODE) signed in as who; the code (a
 * secret) into code.  NULL when out of memory or full.
 */
struct acode *acode_new(struct grants *g, const struct preq *p,
    const struct who *who, int64_t now, char *code, size_t codesz);
/* acode_find(g, code): by the code's hash, expired or used ones too. */
struct acode *acode_find(struct grants *g, const char *code);

/*
 * dcode_new(g, scope, now, owner, device_code, dcsz): a device code for
 * client owner (limited as preq_new()); the secret into device_code, the
 * user code in the record.
 */
struct dcode *dcode_new(struct grants *g, const char *scope, int64_t now,
    const char *owner, char *device_code, size_t dcsz);
struct dcode *dcode_find(struct grants *g, const char *device_code);
/* By user code, as typed: case and dashes ignored; unexpired only. */
struct dcode *dcode_find_user(struct grants *g, const char *typed, int64_t now);
void dcode_del(struct grants *g, struct dcode *d);

/* Browser sessions: cookie value (a secret) into cookie. */
struct bsess *bsess_new(struct grants *g, const struct who *who, int64_t now,
    char *cookie, size_t cookiesz);
struct bsess *bsess_find(struct grants *g, const char *cookie, int64_t now);
void bsess_del(struct grants *g, struct bsess *s);

/*
 * grant_issue(g, who, scope, now, token, tokensz, gp, em): a new grant
 * and its first refresh token (a secret) into token; saved before it
 * returns.  *gp borrowed.
 */
int grant_issue(struct grants *g, const struct who *who, const char *scope,
    int64_t now, char *token, size_t tokensz, struct grant **gp,
    struct b0_errmsg *em);

/*
 * grant_use(g, token, now, refresh_ttl, newtok, newtoksz, gp, em):
 * Rotate the grant of refresh token token: its new token into newtok,
 * saved before it returns; *gp the grant (borrowed).  Returns 0;
 * B0_ERR_AUTH (not a token of a live grant); B0_ERR_DENIED (a rotated-away
 * token: the grant is revoked and em says which, for the log);
 * B0_ERR_EXPIRED (unused too long, now gone); or an error saving.
 */
int grant_use(struct grants *g, const char *token, int64_t now,
    int64_t refresh_ttl, char *newtok, size_t newtoksz, struct grant **gp,
    struct b0_errmsg *em);

/*
 * grant_revoke_token(g, token, id, idsz, em): revoke the grant of refresh
 * token token (its current or a rotated-away one) and save; its id into
 * id.  Returns 0, B0_ERR_AUTH (no such grant) or an error saving.
 */
int grant_revoke_token(struct grants *g, const char *token, char *id,
    size_t idsz, struct b0_errmsg *em);

/* grant_find(g, id), grant_revoke(g, id, em): by id; revoke and save. */
struct grant *grant_find(struct grants *g, const char *id);
int grant_revoke(struct grants *g, const char *id, struct b0_errmsg *em);

/* How many grants (for the log). */
size_t grants_count(const struct grants *g);

#endif /* EDGE_GRANTS_H */
