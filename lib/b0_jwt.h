/*
 * b0_jwt: compact JWS / JWT (RFC 7515, 7519) verification, claim checks,
 * and ES256 signing.
 *
 * The key is chosen by the token's kid from a caller-given set, and the key
 * alone decides the algorithm (b0_jwk.h): the token's alg must name it
 * exactly, so "none", HMAC with a public key, or RS256 against an EC key
 * are refused before any cryptography runs.  Header parameters that point
 * at other keys (jku, x5u, jwk, x5c) and any "crit" extension are refused.
 */
#ifndef B0_JWT_H
#define B0_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "b0_err.h"
#include "b0_json.h"
#include "b0_jwk.h"

#define B0_JWT_MAX_LEN 8192 /* default limit on a token's length */
#define B0_JWT_MAX_SKEW 300 /* most clock skew a caller may allow, s */

struct b0_jwt; /* a verified token */

struct b0_jwt_verify_opts {
	/*
	 * The typ the header must carry, compared without regard to ASCII
	 * case and with an "application/" prefix ignored (RFC 7515 4.1.9),
	 * e.g. "b0-ticket+jwt".  NULL: typ must be absent or "JWT", so an
	 * explicitly typed token (a connection ticket) is never taken for a
	 * plain one.
	 */
	const char *typ;
	size_t max_len; /* longest token accepted; 0: B0_JWT_MAX_LEN */
};

/*
 * b0_jwt_verify(token, len, keys, opts, jwtp, em):
 * Verify the compact JWS in len bytes of token (need not be
 * NUL-terminated) against the key in keys named by its kid; opts may be
 * NULL for the defaults.  Claims are not looked at: follow with
 * b0_jwt_check_claims().  On success *jwtp is a new verified token the
 * caller frees with b0_jwt_free().
 *
 * Returns 0 or:
 *   B0_ERR_TOO_BIG    longer than the limit
 *   B0_ERR_FORMAT     not three strict base64url segments, header or
 *                     payload not a JSON object (duplicate keys included),
 *                     kid missing or not a string
 *   B0_ERR_ALG        alg missing, not ES256/RS256, or not the key's
 *   B0_ERR_UNSUPPORTED crit, jku, x5u, jwk or x5c in the header
 *   B0_ERR_NOT_FOUND  no key with that kid (em names it)
 *   B0_ERR_CLAIM      typ is not the expected one
 *   B0_ERR_SIGNATURE  wrong length, out-of-range r or s, does not verify
 *   B0_ERR_ARG, B0_ERR_ALLOC, B0_ERR_CRYPTO
 * em never quotes more of the token than one short header value.
 */
int b0_jwt_verify(const char *token, size_t len, const struct b0_jwks *keys,
    const struct b0_jwt_verify_opts *opts, struct b0_jwt **jwtp,
    struct b0_errmsg *em);

/* b0_jwt_free(t): Release t.  NULL is fine. */
void b0_jwt_free(struct b0_jwt *t);

/*
 * The parts of a verified token, borrowed from t until b0_jwt_free(t):
 * the payload and header documents (root object at index 0), the key's
 * algorithm, the kid, and the typ (NULL if the header has none).
 */
const struct b0_json *b0_jwt_payload(const struct b0_jwt *t);
const struct b0_json *b0_jwt_header(const struct b0_jwt *t);
enum b0_jwk_alg b0_jwt_alg(const struct b0_jwt *t);
const char *b0_jwt_kid(const struct b0_jwt *t);
const char *b0_jwt_typ(const struct b0_jwt *t);

struct b0_jwt_claims {
	const char *iss;      /* required; compared byte for byte */
	const char *aud;      /* required; see b0_jwt_check_claims() */
	int64_t now;	      /* seconds since the epoch, >= 0 */
	unsigned skew;	      /* seconds, at most B0_JWT_MAX_SKEW */
	int64_t max_lifetime; /* > 0: iat required and exp - iat <= this */
};

/*
 * b0_jwt_check_claims(j, obj, want, em):
 * Check the registered claims of the object obj in j (b0_jwt_payload(t)
 * and 0 for a verified token) against want:
 *   iss  a string equal to want->iss (no normalisation of any kind);
 *   aud  a string equal to want->aud, or an array of strings holding it;
 *        with more than one element, azp must equal want->aud as well
 *        (OIDC Core 3.1.3.7);
 *   exp  required, and now < exp + skew;
 *   nbf  optional, and nbf <= now + skew;
 *   iat  optional (required with max_lifetime), iat <= now + skew and
 *        iat <= exp.
 * Times must be non-negative JSON integers: "123", 1.5 or true are
 * refused.  Returns 0, B0_ERR_EXPIRED, B0_ERR_NOT_YET_VALID, B0_ERR_CLAIM
 * (missing, mistyped or mismatching claim), B0_ERR_FORMAT (obj is not an
 * object), or B0_ERR_ARG (want incomplete, skew above B0_JWT_MAX_SKEW).
 * em names the claim and the values compared.
 */
int b0_jwt_check_claims(const struct b0_json *j, int obj,
    const struct b0_jwt_claims *want, struct b0_errmsg *em);

/*
 * b0_jwt_sign_es256(key, kid, typ, payload, len, tokenp, em):
 * Sign len bytes of payload, which must be a JSON object, with the EC
 * P-256 private key key under header {"alg":"ES256","kid":kid[,"typ":typ]}
 * (typ may be NULL).  *tokenp is a new NUL-terminated compact token; it is
 * a bearer secret: the caller wipes and frees it with b0_str_wipe_free().
 * Returns 0, B0_ERR_KEY (not a P-256 private key), B0_ERR_ARG (bad kid or
 * typ, payload not a JSON object), B0_ERR_TOO_BIG (the token would exceed
 * B0_JWT_MAX_LEN), B0_ERR_ALLOC or B0_ERR_CRYPTO.
 */
int b0_jwt_sign_es256(EVP_PKEY *key, const char *kid, const char *typ,
    const char *payload, size_t len, char **tokenp, struct b0_errmsg *em);

#endif /* B0_JWT_H */
