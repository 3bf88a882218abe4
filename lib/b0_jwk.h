/*
 * b0_jwk: signing keys as JSON Web Keys (RFC 7517), key sets (JWKS), RFC
 * 7638 thumbprints, and the edge's own ES256 keys on disk.
 *
 * Every public key carries exactly one algorithm, pinned by what the key is,
 * never by what a token says: an EC P-256 key is ES256 only, an RSA key
 * (2048 bits or more) is RS256 only.  Nothing else is accepted.
 */
#ifndef B0_JWK_H
#define B0_JWK_H

#include <stddef.h>

#include <openssl/evp.h>

#include "b0_err.h"
#include "b0_jsonw.h"

enum b0_jwk_alg {
	B0_JWK_ES256 = 1, /* ECDSA P-256 with SHA-256, raw r||s signatures */
	B0_JWK_RS256 = 2  /* RSASSA-PKCS1-v1_5 with SHA-256 */
};

#define B0_JWK_KID_MAX 128	      /* longest kid, in bytes */
#define B0_JWKS_MAX_BYTES (64 * 1024) /* largest JWKS document */
#define B0_JWKS_MAX_KEYS 32	      /* most usable keys in a set */
#define B0_JWK_RSA_MIN_BITS 2048
#define B0_JWK_RSA_MAX_BITS 8192
#define B0_JWK_THUMBPRINT_SIZE 44 /* 43 base64url characters and a NUL */

struct b0_jwk;	/* one public key: kid, pinned algorithm, EVP_PKEY */
struct b0_jwks; /* a set of keys with distinct kids */

/*
 * b0_jwk_alg_name(alg): "ES256" or "RS256" (static), or "?" for anything
 * else.
 */
const char *b0_jwk_alg_name(enum b0_jwk_alg alg);

/*
 * b0_jwk_pkey_alg(pkey, algp, em):
 * Classify pkey (public or private): an EC key on P-256 is B0_JWK_ES256,
 * an RSA key of B0_JWK_RSA_MIN_BITS..B0_JWK_RSA_MAX_BITS bits with a sane
 * odd exponent is B0_JWK_RS256.  Returns 0 and sets *algp, or B0_ERR_KEY
 * with em saying why the key is unusable.
 */
int b0_jwk_pkey_alg(
    EVP_PKEY *pkey, enum b0_jwk_alg *algp, struct b0_errmsg *em);

/*
 * b0_jwk_pkey_has_private(pkey):
 * 1 if pkey (EC or RSA) holds its private part, else 0.
 */
int b0_jwk_pkey_has_private(EVP_PKEY *pkey);

/*
 * b0_jwks_parse(text, len, setp, em):
 * Parse a JWKS document ({"keys":[...]}, at most B0_JWKS_MAX_BYTES) into a
 * new set the caller frees with b0_jwks_free().
 *
 * Each key needs a kid (printable ASCII, 1..B0_JWK_KID_MAX bytes, unique in
 * the set).  EC keys need crv "P-256" and x, y of exactly 32 bytes naming a
 * point on the curve; RSA keys need n (B0_JWK_RSA_MIN_BITS or more) and an
 * odd e in [3, 2^32).  An alg member must name the key's pinned algorithm.
 * Keys of other types or curves (OKP, oct, P-384...) and keys whose use is
 * not "sig" (encryption keys, as Keycloak publishes next to its signing
 * keys) are skipped; any key carrying private parts ("d", RSA primes)
 * makes the whole set invalid, as does a malformed usable key.
 *
 * Returns 0; B0_ERR_FORMAT (not JSON, wrong structure or member types);
 * B0_ERR_KEY (private parts, bad point, weak RSA, alg mismatch, no usable
 * key at all); B0_ERR_EXISTS (duplicate kid); B0_ERR_TOO_BIG; B0_ERR_ALLOC;
 * B0_ERR_CRYPTO.  em names the key ("key 2 (kid \"k1\"): ...").
 */
int b0_jwks_parse(
    const char *text, size_t len, struct b0_jwks **setp, struct b0_errmsg *em);

/*
 * b0_jwks_new(): An empty set for b0_jwks_add(), or NULL when out of
 * memory.  Free with b0_jwks_free().
 */
struct b0_jwks *b0_jwks_new(void);

/*
 * b0_jwks_add(set, pkey, kid, em):
 * Add the public half of pkey (the caller keeps pkey; a private key is fine,
 * only its public part is copied) under kid, with the algorithm
 * b0_jwk_pkey_alg() gives it.  This is how the edge verifies the tokens it
 * signed itself.  Returns 0, B0_ERR_KEY, B0_ERR_ARG (bad kid),
 * B0_ERR_EXISTS (kid taken), B0_ERR_TOO_BIG (set full), B0_ERR_ALLOC or
 * B0_ERR_CRYPTO.
 */
int b0_jwks_add(
    struct b0_jwks *set, EVP_PKEY *pkey, const char *kid, struct b0_errmsg *em);

/* b0_jwks_free(set): Release set and its keys.  NULL is fine. */
void b0_jwks_free(struct b0_jwks *set);

/* b0_jwks_count(set): The number of usable keys in set. */
size_t b0_jwks_count(const struct b0_jwks *set);

/*
 * b0_jwks_get(set, i): The i-th key (in document order), borrowed from set
 * until it is freed; NULL if i >= b0_jwks_count(set).
 */
const struct b0_jwk *b0_jwks_get(const struct b0_jwks *set, size_t i);

/*
 * b0_jwks_find(set, kid): The key named kid (exact bytes), borrowed from
 * set until it is freed, or NULL.
 */
const struct b0_jwk *b0_jwks_find(const struct b0_jwks *set, const char *kid);

/* Accessors, borrowed from the key's set: kid, pinned algorithm, key. */
const char *b0_jwk_kid(const struct b0_jwk *k);
enum b0_jwk_alg b0_jwk_alg(const struct b0_jwk *k);
EVP_PKEY *b0_jwk_pkey(const struct b0_jwk *k);

/*
 * b0_jwk_generate(pkeyp, em):
 * Make a new EC P-256 private key.  *pkeyp is the caller's, freed with
 * EVP_PKEY_free().  Returns 0 or B0_ERR_CRYPTO.
 */
int b0_jwk_generate(EVP_PKEY **pkeyp, struct b0_errmsg *em);

/*
 * b0_jwk_thumbprint(pkey, out, outsz):
 * The RFC 7638 thumbprint of pkey's public key (SHA-256, base64url, 43
 * characters) into out, NUL-terminated; a good kid.  pkey must pass
 * b0_jwk_pkey_alg().  Returns 0, B0_ERR_KEY, B0_ERR_TOO_BIG (outsz below
 * B0_JWK_THUMBPRINT_SIZE), B0_ERR_ALLOC or B0_ERR_CRYPTO.
 */
int b0_jwk_thumbprint(EVP_PKEY *pkey, char *out, size_t outsz);

/*
 * b0_jwk_write(w, pkey, kid):
 * Write pkey's public key as one JWK object into w: for P-256 kty, crv, x,
 * y; for RSA kty, n, e; then kid, alg and use "sig".  Never any private
 * part.  Errors stick in w as for every b0_jsonw call; the return value
 * only reports a key that cannot be written (B0_ERR_KEY, B0_ERR_ALLOC,
 * B0_ERR_CRYPTO), in which case nothing was written.  A JWKS is
 * {"keys":[...]} around one or more of these.
 */
int b0_jwk_write(struct b0_jsonw *w, EVP_PKEY *pkey, const char *kid);

/*
 * b0_jwk_load_private(path, pkeyp, em):
 * Read an unencrypted PEM private key (PKCS#8 or traditional) from path,
 * which must be a regular file owned by us or root with no permissions for
 * group or others, and must hold a key b0_jwk_pkey_alg() accepts.  *pkeyp
 * is the caller's (EVP_PKEY_free()).  Returns 0, B0_ERR_PERM, B0_ERR_KEY,
 * B0_ERR_FORMAT (no PEM key in the file), B0_ERR_TOO_BIG or
 * B0_ERR_SYS(errno); em starts with path.
 */
int b0_jwk_load_private(
    const char *path, EVP_PKEY **pkeyp, struct b0_errmsg *em);

/*
 * b0_jwk_save_private(path, pkey, em):
 * Write pkey as an unencrypted PKCS#8 PEM file, mode 0600, atomically
 * (temporary file created 0600 with O_EXCL|O_NOFOLLOW, then renamed over
 * path).  Returns 0, B0_ERR_KEY (no private part), B0_ERR_CRYPTO or
 * B0_ERR_SYS(errno); em starts with path.
 */
int b0_jwk_save_private(const char *path, EVP_PKEY *pkey, struct b0_errmsg *em);

#endif /* B0_JWK_H */
