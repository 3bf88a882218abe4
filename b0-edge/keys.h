/*
 * The edge's signing keys (keys.c): <state-dir>/keys/<created>-<kid>.pem,
 * EC P-256, 0600, kid = RFC 7638 thumbprint (docs/identity.md, "Keys").
 * The newest key signs.  The older ones stay published (in the JWKS, and
 * accepted for tokens) while the newest is at most retain_s seconds old,
 * that is while a token they signed may still be valid; after that only
 * the newest is published and `b0-edge key rotate` deletes the others.
 *
 * Ownership: a struct keys is its creator's, freed with keys_free(); it
 * owns the private keys and the key sets it hands out.
 */
#ifndef EDGE_KEYS_H
#define EDGE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_jwk.h"

#define KEYS_MAX 32 /* keys in the directory we accept */

struct keys;

/*
 * keys_retain_s(access_ttl_s): how long older keys stay published after a
 * newer one appears: the longest token lifetime (access tokens, ID tokens,
 * 60 s tickets) and 60 s of clock skew.
 */
int64_t keys_retain_s(uint64_t access_ttl_s);

/*
 * keys_load(state_dir, create, kp, em): read state_dir/keys.  With create,
 * make the directory (0700) and a first key when there is none.  A key
 * file that does not load, or whose kid is not its thumbprint, is an
 * error naming the file.  *kp is the caller's (keys_free()).
 */
int keys_load(
    const char *state_dir, int create, struct keys **kp, struct b0_errmsg *em);
void keys_free(struct keys *k);

/*
 * keys_refresh(k, em): re-read the directory if it changed (a `key
 * rotate`).  Returns 1 if reloaded, 0 if unchanged, or an error (the old
 * keys stay).
 */
int keys_refresh(struct keys *k, struct b0_errmsg *em);

/*
 * keys_signer(k, pkeyp, kidp): the newest key and its kid, borrowed while
 * k lives (until the next keys_refresh()).
 */
void keys_signer(const struct keys *k, EVP_PKEY **pkeyp, const char **kidp);

/*
 * keys_published(k, now, retain_s): the public keys that verify tokens and
 * appear in the JWKS at time now, borrowed until the next keys_refresh().
 */
const struct b0_jwks *keys_published(
    const struct keys *k, int64_t now, int64_t retain_s);

/*
 * keys_write_jwks(k, now, retain_s, out): {"keys":[...]} of the published
 * keys, appended to out.  Returns 0 or an error.
 */
int keys_write_jwks(
    const struct keys *k, int64_t now, int64_t retain_s, struct b0_buf *out);

/* keys_count(k), keys_get(k, i, ...): the keys, oldest first. */
size_t keys_count(const struct keys *k);
void keys_get(const struct keys *k, size_t i, const char **kidp,
    int64_t *createdp, int *signingp, int *publishedp, int64_t now,
    int64_t retain_s);

/*
 * keys_rotate(state_dir, now, retain_s, kid, kidsz, ndeletedp, em):
 * Add a new key created now (its kid into kid) and delete the keys that
 * are no longer published (count in *ndeletedp).  Returns 0 or an error
 * (then nothing was deleted).
 */
int keys_rotate(const char *state_dir, int64_t now, int64_t retain_s, char *kid,
    size_t kidsz, unsigned *ndeletedp, struct b0_errmsg *em);

#endif /* EDGE_KEYS_H */
