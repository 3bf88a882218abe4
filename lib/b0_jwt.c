/*
 * b0_jwt: compact JWS verification with the algorithm pinned by the key,
 * registered-claim checks, and ES256 signing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "b0_b64.h"
#include "b0_buf.h"
#include "b0_err.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_jwk.h"
#include "b0_jwt.h"
#include "b0_str.h"

#define ES256_HALF 32
#define ES256_SIG (2 * ES256_HALF)

struct b0_jwt {
	struct b0_json *header;
	struct b0_json *payload;
	enum b0_jwk_alg alg;
	const char *kid; /* borrowed from header */
	const char *typ; /* borrowed from header, or NULL */
};

/* The order n of P-256: r and s must lie in [1, n-1]. */
static const uint8_t p256_order[ES256_HALF] = {0xff, 0xff, 0xff, 0xff, 0x00,
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
    0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc,
    0x63, 0x25, 0x51};

/*
 * Header parameters that would make us fetch or trust a key named by the
 * token itself.  Keys come only from the caller's set.
 */
static const char *const refused_params[] = {"jku", "x5u", "jwk", "x5c"};

/* Empty OpenSSL's error queue after a failed call.  Returns r. */
static int
ossl_fail(int r, struct b0_errmsg *em, const char *what)
{
	unsigned long e, first = 0;
	char reason[160];

	while ((e = ERR_get_error()) != 0) {
		if (first == 0)
			first = e;
	}
	ERR_clear_error();
	if (first != 0) {
		ERR_error_string_n(first, reason, sizeof(reason));
		b0_err_set(em, "%s: %s", what, reason);
	} else {
		b0_err_set(em, "%s", what);
	}
	return r;
}

/*
 * Decode a base64url segment into a new buffer (*outp, *outlenp; freed by
 * the caller after wiping).  Returns 0, B0_ERR_FORMAT or B0_ERR_ALLOC.
 */
static int
decode_segment(const char *s, size_t n, uint8_t **outp, size_t *outlenp)
{
	size_t cap = n / 4 * 3 + 3;
	uint8_t *out;
	int r;

	*outp = NULL;
	*outlenp = 0;
	if ((out = malloc(cap)) == NULL)
		return B0_ERR_ALLOC;
	if ((r = b0_b64url_decode(s, n, out, cap, outlenp)) != 0) {
		OPENSSL_cleanse(out, cap);
		free(out);
		return B0_ERR_FORMAT;
	}
	*outp = out;
	return 0;
}

static void
wipe_free(uint8_t *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

/* Decode segment s (n characters) of the token; empty is malformed. */
static int
decode_part(const char *what, const char *s, size_t n, uint8_t **rawp,
    size_t *lenp, struct b0_errmsg *em)
{
	int r;

	*rawp = NULL;
	*lenp = 0;
	if (n == 0) {
		b0_err_set(em, "%s segment is empty", what);
		return B0_ERR_FORMAT;
	}
	if ((r = decode_segment(s, n, rawp, lenp)) == B0_ERR_FORMAT)
		b0_err_set(em, "%s segment is not strict base64url", what);
	return r;
}

/* Parse len bytes of raw as a JSON object into *jp. */
static int
parse_object(const char *what, const uint8_t *raw, size_t len,
    struct b0_json **jp, struct b0_errmsg *em)
{
	int r;

	*jp = NULL;
	if ((r = b0_json_parse((const char *)raw, len, NULL, jp, em)) != 0) {
		b0_err_prefix(em, "%s", what);
		return r;
	}
	if (b0_json_type(*jp, 0) != B0_JSON_OBJECT) {
		b0_err_set(em, "%s is a JSON %s, not an object", what,
		    b0_json_type_name(b0_json_type(*jp, 0)));
		b0_json_free(*jp);
		*jp = NULL;
		return B0_ERR_FORMAT;
	}
	return 0;
}

/* typ without an "application/" prefix (RFC 7515 4.1.9), any case. */
static const char *
typ_base(const char *typ)
{
	if (b0_str_ncaseeq(typ, "application/", 12) && strlen(typ) >= 12)
		return typ + 12;
	return typ;
}

/*
 * Check the header h: alg, refused parameters, kid, typ; select the key.
 */
static int
check_header(const struct b0_json *h, const struct b0_jwks *keys,
    const char *want_typ, const struct b0_jwk **keyp, enum b0_jwk_alg *algp,
    const char **kidp, const char **typp, struct b0_errmsg *em)
{
	const struct b0_jwk *key;
	const char *alg, *kid, *typ = NULL;
	enum b0_jwk_alg a;
	size_t i;
	int v, r;

	*keyp = NULL;
	if ((r = b0_json_get_str(h, 0, "alg", &alg)) != 0) {
		b0_err_set(em, "header: alg is %s",
		    r == B0_ERR_NOT_FOUND ? "missing" : "not a string");
		return B0_ERR_ALG;
	}
	/* Case-sensitive (RFC 7515 4.1.1): "none", "None", "HS256"... */
	if (strcmp(alg, "ES256") == 0) {
		a = B0_JWK_ES256;
	} else if (strcmp(alg, "RS256") == 0) {
		a = B0_JWK_RS256;
	} else {
		b0_err_set(em, "header: alg \"%.32s\" is not allowed", alg);
		return B0_ERR_ALG;
	}
	if (b0_json_obj_get(h, 0, "crit", &v) == 0) {
		b0_err_set(em, "header: \"crit\" extensions are not supported");
		return B0_ERR_UNSUPPORTED;
	}
	for (i = 0; i < sizeof(refused_params) / sizeof(refused_params[0]);
	     i++) {
		if (b0_json_obj_get(h, 0, refused_params[i], &v) == 0) {
			b0_err_set(em,
			    "header: \"%s\" is not accepted (keys come only "
			    "from the configured key set)",
			    refused_params[i]);
			return B0_ERR_UNSUPPORTED;
		}
	}
	if ((r = b0_json_get_str(h, 0, "kid", &kid)) != 0) {
		b0_err_set(em, "header: kid is %s",
		    r == B0_ERR_NOT_FOUND ? "missing" : "not a string");
		return B0_ERR_FORMAT;
	}
	if ((key = b0_jwks_find(keys, kid)) == NULL) {
		b0_err_set(em, "no key with kid \"%.64s\"%s", kid,
		    strlen(kid) > 64 ? "..." : "");
		return B0_ERR_NOT_FOUND;
	}
	if (b0_jwk_alg(key) != a) {
		b0_err_set(em,
		    "header: alg %s does not match key \"%.64s\" (%s only)",
		    alg, kid, b0_jwk_alg_name(b0_jwk_alg(key)));
		return B0_ERR_ALG;
	}
	if ((r = b0_json_get_str(h, 0, "typ", &typ)) != 0) {
		if (r != B0_ERR_NOT_FOUND) {
			b0_err_set(em, "header: typ is not a string");
			return B0_ERR_FORMAT;
		}
		typ = NULL;
	}
	if (want_typ != NULL) {
		if (typ == NULL ||
		    !b0_str_caseeq(typ_base(typ), typ_base(want_typ))) {
			b0_err_set(em, "header: typ %s%.40s%s is not \"%s\"",
			    typ == NULL ? "" : "\"",
			    typ == NULL ? "(none)" : typ,
			    typ == NULL ? "" : "\"", want_typ);
			return B0_ERR_CLAIM;
		}
	} else if (typ != NULL && !b0_str_caseeq(typ_base(typ), "JWT")) {
		b0_err_set(
		    em, "header: typ \"%.40s\" is not expected here", typ);
		return B0_ERR_CLAIM;
	}
	*keyp = key;
	*algp = a;
	*kidp = kid;
	*typp = typ;
	return 0;
}

/* Is the 32-byte big-endian integer x in [1, n-1] for the P-256 order? */
static int
in_p256_range(const uint8_t *x)
{
	static const uint8_t zero[ES256_HALF];

	return memcmp(x, zero, ES256_HALF) != 0 &&
	       memcmp(x, p256_order, ES256_HALF) < 0;
}

/*
 * Turn a raw r||s ES256 signature into the DER form EVP_DigestVerify
 * wants; *derp is the caller's (OPENSSL_free).
 */
static int
es256_der(const uint8_t *sig, size_t siglen, unsigned char **derp, int *derlenp,
    struct b0_errmsg *em)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	int r;

	*derp = NULL;
	*derlenp = 0;
	if (siglen != ES256_SIG) {
		b0_err_set(em,
		    "ES256 signature is %zu bytes, not %d (raw r||s)", siglen,
		    ES256_SIG);
		return B0_ERR_SIGNATURE;
	}
	if (!in_p256_range(sig) || !in_p256_range(sig + ES256_HALF)) {
		b0_err_set(em, "ES256 signature: r or s is not in [1, n-1]");
		return B0_ERR_SIGNATURE;
	}
	if ((es = ECDSA_SIG_new()) == NULL ||
	    (br = BN_bin2bn(sig, ES256_HALF, NULL)) == NULL ||
	    (bs = BN_bin2bn(sig + ES256_HALF, ES256_HALF, NULL)) == NULL) {
		r = ossl_fail(B0_ERR_ALLOC, em, "ES256 signature");
		goto out;
	}
	if (ECDSA_SIG_set0(es, br, bs) != 1) {
		r = ossl_fail(B0_ERR_CRYPTO, em, "ES256 signature");
		goto out;
	}
	br = bs = NULL; /* owned by es */
	if ((*derlenp = i2d_ECDSA_SIG(es, derp)) <= 0) {
		*derlenp = 0;
		r = ossl_fail(B0_ERR_CRYPTO, em, "ES256 signature");
		goto out;
	}
	r = 0;
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return r;
}

/* Verify sig over tbs with key (algorithm already matched). */
static int
verify_sig(const struct b0_jwk *key, const uint8_t *tbs, size_t tbslen,
    const uint8_t *sig, size_t siglen, struct b0_errmsg *em)
{
	EVP_PKEY *pkey = b0_jwk_pkey(key);
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *s = sig;
	size_t slen = siglen;
	int derlen = 0, v, r;

	if (b0_jwk_alg(key) == B0_JWK_ES256) {
		if ((r = es256_der(sig, siglen, &der, &derlen, em)) != 0)
			goto out;
		s = der;
		slen = (size_t)derlen;
	} else if (EVP_PKEY_get_size(pkey) <= 0 ||
		   siglen != (size_t)EVP_PKEY_get_size(pkey)) {
		b0_err_set(em,
		    "RS256 signature is %zu bytes, not the modulus length %d",
		    siglen, EVP_PKEY_get_size(pkey));
		r = B0_ERR_SIGNATURE;
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = ossl_fail(B0_ERR_ALLOC, em, "verify");
		goto out;
	}
	if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pkey) != 1 ||
	    (b0_jwk_alg(key) == B0_JWK_RS256 &&
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)) {
		r = ossl_fail(B0_ERR_CRYPTO, em, "verify");
		goto out;
	}
	if ((v = EVP_DigestVerify(md, s, slen, tbs, tbslen)) != 1) {
		/* 0: bad signature; < 0: malformed, which is no better. */
		(void)ossl_fail(0, NULL, "");
		b0_err_set(em,
		    "%s signature does not verify with key \"%.64s\"",
		    b0_jwk_alg_name(b0_jwk_alg(key)), b0_jwk_kid(key));
		r = B0_ERR_SIGNATURE;
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return r;
}

int
b0_jwt_verify(const char *token, size_t len, const struct b0_jwks *keys,
    const struct b0_jwt_verify_opts *opts, struct b0_jwt **jwtp,
    struct b0_errmsg *em)
{
	size_t max =
	    opts != NULL && opts->max_len != 0 ? opts->max_len : B0_JWT_MAX_LEN;
	const char *d1, *d2, *pay, *sig, *end;
	const struct b0_jwk *key;
	struct b0_jwt *t = NULL;
	uint8_t *hraw = NULL, *praw = NULL, *sigbuf = NULL;
	size_t hlen = 0, plen = 0, siglen = 0;
	int r;

	*jwtp = NULL;
	b0_err_clear(em);
	if (token == NULL || keys == NULL)
		return B0_ERR_ARG;
	if (len > max) {
		b0_err_set(em, "token is %zu bytes, more than the limit of %zu",
		    len, max);
		return B0_ERR_TOO_BIG;
	}
	end = token + len;
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL ||
	    memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL) {
		b0_err_set(em, "token is not three dot-separated segments");
		return B0_ERR_FORMAT;
	}
	pay = d1 + 1;
	sig = d2 + 1;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	if ((r = decode_part("header", token, (size_t)(d1 - token), &hraw,
		 &hlen, em)) != 0 ||
	    (r = parse_object("header", hraw, hlen, &t->header, em)) != 0 ||
	    (r = check_header(t->header, keys, opts ? opts->typ : NULL, &key,
		 &t->alg, &t->kid, &t->typ, em)) != 0 ||
	    (r = decode_part(
		 "payload", pay, (size_t)(d2 - pay), &praw, &plen, em)) != 0)
		goto out;
	if ((r = decode_segment(sig, (size_t)(end - sig), &sigbuf, &siglen)) !=
	    0) {
		if (r == B0_ERR_FORMAT)
			b0_err_set(
			    em, "signature segment is not strict base64url");
		goto out;
	}
	/* Parse the payload's JSON only once the signature holds. */
	if ((r = verify_sig(key, (const uint8_t *)token, (size_t)(d2 - token),
		 sigbuf, siglen, em)) != 0 ||
	    (r = parse_object("payload", praw, plen, &t->payload, em)) != 0)
		goto out;
	*jwtp = t;
	t = NULL;
	r = 0;
out:
	wipe_free(hraw, hlen);
	wipe_free(praw, plen);
	wipe_free(sigbuf, siglen);
	b0_jwt_free(t);
	return r;
}

void
b0_jwt_free(struct b0_jwt *t)
{
	if (t == NULL)
		return;
	b0_json_free(t->header);
	b0_json_free(t->payload);
	free(t);
}

const struct b0_json *
b0_jwt_payload(const struct b0_jwt *t)
{
	return t->payload;
}

const struct b0_json *
b0_jwt_header(const struct b0_jwt *t)
{
	return t->header;
}

enum b0_jwk_alg
b0_jwt_alg(const struct b0_jwt *t)
{
	return t->alg;
}

const char *
b0_jwt_kid(const struct b0_jwt *t)
{
	return t->kid;
}

const char *
b0_jwt_typ(const struct b0_jwt *t)
{
	return t->typ;
}

/*
 * Get time claim name: *presentp says whether it is there.  Returns 0 or
 * B0_ERR_CLAIM for a value that is not a non-negative integer.
 */
static int
time_claim(const struct b0_json *j, int obj, const char *name, int64_t *vp,
    int *presentp, struct b0_errmsg *em)
{
	int v, r;

	*vp = 0;
	*presentp = 0;
	if (b0_json_obj_get(j, obj, name, &v) != 0)
		return 0;
	if ((r = b0_json_int(j, v, vp)) != 0) {
		if (r == B0_ERR_RANGE)
			b0_err_set(em, "%s is out of range", name);
		else if (b0_json_type(j, v) == B0_JSON_NUMBER)
			b0_err_set(em, "%s is not an integer", name);
		else
			b0_err_set(em, "%s is not an integer but a JSON %s",
			    name, b0_json_type_name(b0_json_type(j, v)));
		return B0_ERR_CLAIM;
	}
	if (*vp < 0) {
		b0_err_set(em, "%s %lld is negative", name, (long long)*vp);
		return B0_ERR_CLAIM;
	}
	*presentp = 1;
	return 0;
}

static int
check_aud(
    const struct b0_json *j, int obj, const char *want, struct b0_errmsg *em)
{
	const char *s, *azp;
	size_t i, n;
	int v, e, r, found = 0;

	if (b0_json_obj_get(j, obj, "aud", &v) != 0) {
		b0_err_set(em, "aud is missing");
		return B0_ERR_CLAIM;
	}
	if (b0_json_type(j, v) == B0_JSON_STRING) {
		(void)b0_json_str(j, v, &s, NULL);
		if (strcmp(s, want) != 0) {
			b0_err_set(
			    em, "aud \"%.80s\" is not \"%.80s\"", s, want);
			return B0_ERR_CLAIM;
		}
		return 0;
	}
	if (b0_json_type(j, v) != B0_JSON_ARRAY ||
	    (n = b0_json_len(j, v)) == 0) {
		b0_err_set(em, "aud is neither a string nor a non-empty array");
		return B0_ERR_CLAIM;
	}
	for (i = 0; i < n; i++) {
		if (b0_json_arr_get(j, v, i, &e) != 0 ||
		    b0_json_str(j, e, &s, NULL) != 0) {
			b0_err_set(em, "aud[%zu] is not a string", i);
			return B0_ERR_CLAIM;
		}
		if (strcmp(s, want) == 0)
			found = 1;
	}
	if (!found) {
		b0_err_set(em, "aud array does not contain \"%.80s\"", want);
		return B0_ERR_CLAIM;
	}
	if (n > 1) {
		/* OIDC Core 3.1.3.7: several audiences need azp = us. */
		if ((r = b0_json_get_str(j, obj, "azp", &azp)) != 0) {
			b0_err_set(em, "azp is %s, but aud has %zu values",
			    r == B0_ERR_NOT_FOUND ? "missing" : "not a string",
			    n);
			return B0_ERR_CLAIM;
		}
		if (strcmp(azp, want) != 0) {
			b0_err_set(
			    em, "azp \"%.80s\" is not \"%.80s\"", azp, want);
			return B0_ERR_CLAIM;
		}
	}
	return 0;
}

int
b0_jwt_check_claims(const struct b0_json *j, int obj,
    const struct b0_jwt_claims *want, struct b0_errmsg *em)
{
	const char *iss;
	int64_t exp, nbf, iat, now, skew;
	int has_exp, has_nbf, has_iat, r;

	b0_err_clear(em);
	if (want == NULL || want->iss == NULL || want->aud == NULL ||
	    want->now < 0 || want->now > INT64_MAX / 2 ||
	    want->max_lifetime < 0) {
		b0_err_set(
		    em, "claims check: iss, aud and a valid time are required");
		return B0_ERR_ARG;
	}
	if (want->skew > B0_JWT_MAX_SKEW) {
		b0_err_set(em,
		    "claims check: skew of %u s is above the limit of %d s",
		    want->skew, B0_JWT_MAX_SKEW);
		return B0_ERR_ARG;
	}
	if (b0_json_type(j, obj) != B0_JSON_OBJECT) {
		b0_err_set(em, "claims are not a JSON object");
		return B0_ERR_FORMAT;
	}
	now = want->now;
	skew = want->skew;
	if ((r = b0_json_get_str(j, obj, "iss", &iss)) != 0) {
		b0_err_set(em, "iss is %s",
		    r == B0_ERR_NOT_FOUND ? "missing" : "not a string");
		return B0_ERR_CLAIM;
	}
	if (strcmp(iss, want->iss) != 0) {
		b0_err_set(
		    em, "iss \"%.80s\" is not \"%.80s\"", iss, want->iss);
		return B0_ERR_CLAIM;
	}
	if ((r = check_aud(j, obj, want->aud, em)) != 0 ||
	    (r = time_claim(j, obj, "exp", &exp, &has_exp, em)) != 0 ||
	    (r = time_claim(j, obj, "nbf", &nbf, &has_nbf, em)) != 0 ||
	    (r = time_claim(j, obj, "iat", &iat, &has_iat, em)) != 0)
		return r;
	if (!has_exp) {
		b0_err_set(em, "exp is missing");
		return B0_ERR_CLAIM;
	}
	/* now, skew >= 0 and small, exp etc. >= 0: no overflow below. */
	if (exp <= now - skew) {
		b0_err_set(em,
		    "exp %lld is %lld s before now (%lld, skew %lld s)",
		    (long long)exp, (long long)(now - exp), (long long)now,
		    (long long)skew);
		return B0_ERR_EXPIRED;
	}
	if (has_nbf && nbf > now + skew) {
		b0_err_set(em,
		    "nbf %lld is %lld s after now (%lld, skew %lld s)",
		    (long long)nbf, (long long)(nbf - now), (long long)now,
		    (long long)skew);
		return B0_ERR_NOT_YET_VALID;
	}
	if (has_iat && iat > now + skew) {
		b0_err_set(em,
		    "iat %lld is %lld s after now (%lld, skew %lld s)",
		    (long long)iat, (long long)(iat - now), (long long)now,
		    (long long)skew);
		return B0_ERR_NOT_YET_VALID;
	}
	if (has_iat && exp < iat) {
		b0_err_set(em, "exp %lld is before iat %lld", (long long)exp,
		    (long long)iat);
		return B0_ERR_CLAIM;
	}
	if (want->max_lifetime > 0) {
		if (!has_iat) {
			b0_err_set(em, "iat is missing (lifetime limit %lld s)",
			    (long long)want->max_lifetime);
			return B0_ERR_CLAIM;
		}
		if (exp - iat > want->max_lifetime) {
			b0_err_set(em,
			    "lifetime exp - iat = %lld s is above %lld s",
			    (long long)(exp - iat),
			    (long long)want->max_lifetime);
			return B0_ERR_CLAIM;
		}
	}
	return 0;
}

/* Append base64url of n bytes to b. */
static int
put_b64url(struct b0_buf *b, const uint8_t *p, size_t n)
{
	size_t need = b0_b64url_encoded_len(n);
	uint8_t *d;
	int r;

	if (need == SIZE_MAX)
		return B0_ERR_TOO_BIG;
	if ((r = b0_buf_reserve(b, need + 1, &d)) != 0)
		return r;
	if ((r = b0_b64url_encode(p, n, (char *)d, need + 1)) != 0)
		return r;
	return b0_buf_unreserve(b, 1); /* the NUL */
}

/* A header value we are willing to write: printable ASCII, bounded. */
static int
header_value_ok(const char *s)
{
	size_t len = strnlen(s, B0_JWK_KID_MAX + 1);

	if (len == 0 || len > B0_JWK_KID_MAX)
		return 0;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	}
	return 1;
}

/* ECDSA-sign tbs with key; raw r||s, each half left-padded, into sig. */
static int
es256_sign(EVP_PKEY *key, const uint8_t *tbs, size_t tbslen,
    uint8_t sig[ES256_SIG], struct b0_errmsg *em)
{
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	ECDSA_SIG *es = NULL;
	const BIGNUM *br, *bs;
	int r;

	if ((md = EVP_MD_CTX_new()) == NULL) {
		r = ossl_fail(B0_ERR_ALLOC, em, "sign");
		goto out;
	}
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &derlen, tbs, tbslen) != 1) {
		r = ossl_fail(B0_ERR_KEY, em, "sign (not a private key?)");
		goto out;
	}
	if ((der = OPENSSL_malloc(derlen)) == NULL) {
		r = ossl_fail(B0_ERR_ALLOC, em, "sign");
		goto out;
	}
	if (EVP_DigestSign(md, der, &derlen, tbs, tbslen) != 1) {
		r = ossl_fail(B0_ERR_CRYPTO, em, "sign");
		goto out;
	}
	p = der;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL) {
		r = ossl_fail(B0_ERR_CRYPTO, em, "sign: decode signature");
		goto out;
	}
	ECDSA_SIG_get0(es, &br, &bs);
	if (BN_bn2binpad(br, sig, ES256_HALF) != ES256_HALF ||
	    BN_bn2binpad(bs, sig + ES256_HALF, ES256_HALF) != ES256_HALF) {
		r = ossl_fail(B0_ERR_CRYPTO, em, "sign: r or s too long");
		goto out;
	}
	r = 0;
out:
	ECDSA_SIG_free(es);
	OPENSSL_clear_free(der, derlen);
	EVP_MD_CTX_free(md);
	return r;
}

int
b0_jwt_sign_es256(EVP_PKEY *key, const char *kid, const char *typ,
    const char *payload, size_t len, char **tokenp, struct b0_errmsg *em)
{
	struct b0_buf *hdr = NULL, *tok = NULL;
	struct b0_json *check = NULL;
	struct b0_jsonw w;
	enum b0_jwk_alg alg;
	uint8_t sig[ES256_SIG];
	int r;

	*tokenp = NULL;
	if ((r = b0_jwk_pkey_alg(key, &alg, em)) != 0)
		goto out;
	if (alg != B0_JWK_ES256 || !b0_jwk_pkey_has_private(key)) {
		b0_err_set(em, "ES256 signing needs an EC P-256 private key");
		r = B0_ERR_KEY;
		goto out;
	}
	if (kid == NULL || !header_value_ok(kid) ||
	    (typ != NULL && !header_value_ok(typ))) {
		b0_err_set(em,
		    "kid and typ must be 1 to %d printable ASCII characters",
		    B0_JWK_KID_MAX);
		r = B0_ERR_ARG;
		goto out;
	}
	if (payload == NULL || len > B0_JWT_MAX_LEN) {
		b0_err_set(em, "payload longer than %d bytes", B0_JWT_MAX_LEN);
		r = payload == NULL ? B0_ERR_ARG : B0_ERR_TOO_BIG;
		goto out;
	}
	/* Only sign what every verifier will accept as a claims object. */
	if ((r = b0_json_parse(payload, len, NULL, &check, em)) != 0 ||
	    b0_json_type(check, 0) != B0_JSON_OBJECT) {
		if (r == 0)
			b0_err_set(em, "payload is not a JSON object");
		else
			b0_err_prefix(em, "payload");
		r = r == B0_ERR_TOO_BIG ? r : B0_ERR_ARG;
		goto out;
	}
	if ((hdr = b0_buf_new(1024)) == NULL ||
	    (tok = b0_buf_new(B0_JWT_MAX_LEN + 1)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	b0_buf_set_secret(tok);
	b0_jsonw_init(&w, hdr);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "alg");
	b0_jsonw_str(&w, "ES256");
	b0_jsonw_key(&w, "kid");
	b0_jsonw_str(&w, kid);
	if (typ != NULL) {
		b0_jsonw_key(&w, "typ");
		b0_jsonw_str(&w, typ);
	}
	b0_jsonw_obj_end(&w);
	if ((r = b0_jsonw_finish(&w)) != 0)
		goto out;
	if ((r = put_b64url(tok, b0_buf_ptr(hdr), b0_buf_len(hdr))) != 0 ||
	    (r = b0_buf_put_u8(tok, '.')) != 0 ||
	    (r = put_b64url(tok, (const uint8_t *)payload, len)) != 0)
		goto too_big;
	if ((r = es256_sign(key, b0_buf_ptr(tok), b0_buf_len(tok), sig, em)) !=
	    0)
		goto out;
	if ((r = b0_buf_put_u8(tok, '.')) != 0 ||
	    (r = put_b64url(tok, sig, sizeof(sig))) != 0)
		goto too_big;
	if (b0_buf_len(tok) > B0_JWT_MAX_LEN) {
		r = B0_ERR_TOO_BIG;
		goto too_big;
	}
	r = b0_buf_dup_cstr(tok, tokenp);
	goto out;
too_big:
	if (r == B0_ERR_TOO_BIG)
		b0_err_set(
		    em, "token would be longer than %d bytes", B0_JWT_MAX_LEN);
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	b0_json_free(check);
	b0_buf_free(hdr);
	b0_buf_free(tok);
	return r;
}
