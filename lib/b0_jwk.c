/*
 * b0_jwk: JSON Web Keys and key sets, with the algorithm pinned by the key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "b0_b64.h"
#include "b0_buf.h"
#include "b0_err.h"
#include "b0_file.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_jwk.h"

#define P256_COORD 32
#define RSA_MAX_BYTES (B0_JWK_RSA_MAX_BITS / 8)
#define PEM_MAX (16 * 1024)

struct b0_jwk {
	char kid[B0_JWK_KID_MAX + 1];
	enum b0_jwk_alg alg;
	EVP_PKEY *pkey;
};

struct b0_jwks {
	struct b0_jwk keys[B0_JWKS_MAX_KEYS];
	size_t n;
};

/*
 * Empty OpenSSL's error queue after a failed call and, if em is given, say
 * what failed with the first queued reason.  Returns r.
 */
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

const char *
b0_jwk_alg_name(enum b0_jwk_alg alg)
{
	switch (alg) {
	case B0_JWK_ES256:
		return "ES256";
	case B0_JWK_RS256:
		return "RS256";
	}
	return "?";
}

/* A kid we can name in messages and compare: printable ASCII, bounded. */
static int
kid_ok(const char *kid, size_t len)
{
	size_t i;

	if (len == 0 || len > B0_JWK_KID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)kid[i] < 0x20 ||
		    (unsigned char)kid[i] > 0x7e)
			return 0;
	}
	return 1;
}

static int
rsa_check(EVP_PKEY *pkey, struct b0_errmsg *em)
{
	BIGNUM *n = NULL, *e = NULL;
	int bits, r = B0_ERR_KEY;

	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		r = ossl_fail(B0_ERR_KEY, em, "RSA key without n or e");
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits < B0_JWK_RSA_MIN_BITS || bits > B0_JWK_RSA_MAX_BITS) {
		b0_err_set(em, "RSA modulus of %d bits (need %d to %d)", bits,
		    B0_JWK_RSA_MIN_BITS, B0_JWK_RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(n)) {
		b0_err_set(em, "RSA modulus is even");
		goto out;
	}
	/* e = 3 is the smallest sound exponent; 65537 is usual. */
	if (!BN_is_odd(e) || BN_num_bits(e) > 32 ||
	    BN_cmp(e, BN_value_one()) <= 0) {
		b0_err_set(em, "RSA exponent is not odd and in [3, 2^32)");
		goto out;
	}
	r = 0;
out:
	BN_free(n);
	BN_free(e);
	return r;
}

int
b0_jwk_pkey_alg(EVP_PKEY *pkey, enum b0_jwk_alg *algp, struct b0_errmsg *em)
{
	char group[64];
	size_t glen = 0;
	int r;

	*algp = 0;
	if (pkey == NULL) {
		b0_err_set(em, "no key");
		return B0_ERR_KEY;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pkey,
			OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
			&glen) != 1)
			return ossl_fail(
			    B0_ERR_KEY, em, "EC key without a named curve");
		if (strcmp(group, "prime256v1") != 0) {
			b0_err_set(em,
			    "EC curve %s is not supported (P-256 only)", group);
			return B0_ERR_KEY;
		}
		*algp = B0_JWK_ES256;
		return 0;
	}
	/* "RSA" only: an RSA-PSS key is a different type and refused. */
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		if ((r = rsa_check(pkey, em)) != 0)
			return r;
		*algp = B0_JWK_RS256;
		return 0;
	}
	b0_err_set(em, "key type %s is not supported (EC P-256 or RSA only)",
	    EVP_PKEY_get0_type_name(pkey) != NULL
		? EVP_PKEY_get0_type_name(pkey)
		: "?");
	return B0_ERR_KEY;
}

int
b0_jwk_pkey_has_private(EVP_PKEY *pkey)
{
	const char *name = EVP_PKEY_is_a(pkey, "RSA")
			       ? OSSL_PKEY_PARAM_RSA_D
			       : OSSL_PKEY_PARAM_PRIV_KEY;
	BIGNUM *d = NULL;
	int ok = EVP_PKEY_get_bn_param(pkey, name, &d) == 1;

	BN_clear_free(d);
	if (!ok)
		(void)ossl_fail(0, NULL, "");
	return ok;
}

/* Decode a base64url member of key object k into out (outsz bytes). */
static int
get_b64(const struct b0_json *j, int k, const char *name, uint8_t *out,
    size_t outsz, size_t *lenp, struct b0_errmsg *em)
{
	const char *s;
	size_t len;
	int v, r;

	*lenp = 0;
	if ((r = b0_json_obj_get(j, k, name, &v)) != 0) {
		b0_err_set(em, "\"%s\" is missing", name);
		return B0_ERR_FORMAT;
	}
	if (b0_json_str(j, v, &s, &len) != 0) {
		b0_err_set(em, "\"%s\" is not a string", name);
		return B0_ERR_FORMAT;
	}
	r = b0_b64url_decode(s, len, out, outsz, lenp);
	if (r == B0_ERR_TOO_BIG) {
		b0_err_set(em, "\"%s\" is longer than %zu bytes", name, outsz);
		return B0_ERR_KEY;
	}
	if (r != 0) {
		b0_err_set(em, "\"%s\" is not strict base64url", name);
		return B0_ERR_FORMAT;
	}
	return 0;
}

/* Build an EC P-256 public key from JWK x and y; the point is checked. */
static int
ec_from_jwk(
    const struct b0_json *j, int k, EVP_PKEY **pkeyp, struct b0_errmsg *em)
{
	uint8_t pt[1 + 2 * P256_COORD];
	char group[] = "prime256v1";
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pkey = NULL;
	size_t xlen, ylen;
	int r;

	*pkeyp = NULL;
	pt[0] = 0x04; /* uncompressed point */
	if ((r = get_b64(j, k, "x", pt + 1, P256_COORD, &xlen, em)) != 0 ||
	    (r = get_b64(
		 j, k, "y", pt + 1 + P256_COORD, P256_COORD, &ylen, em)) != 0)
		goto out;
	if (xlen != P256_COORD || ylen != P256_COORD) {
		b0_err_set(em, "x and y must be %d bytes each (got %zu, %zu)",
		    P256_COORD, xlen, ylen);
		r = B0_ERR_KEY;
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		r = ossl_fail(B0_ERR_CRYPTO, em, "EC key context");
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		r = ossl_fail(B0_ERR_KEY, em, "x, y: not a point on P-256");
		goto out;
	}
	/* fromdata checks the curve equation; this also checks the order. */
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		r = ossl_fail(B0_ERR_ALLOC, em, "EC key check");
		goto out;
	}
	if (EVP_PKEY_public_check(chk) != 1) {
		r = ossl_fail(B0_ERR_KEY, em, "x, y: not a valid P-256 key");
		goto out;
	}
	*pkeyp = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* Build an RSA public key from JWK n and e. */
static int
rsa_from_jwk(
    const struct b0_json *j, int k, EVP_PKEY **pkeyp, struct b0_errmsg *em)
{
	uint8_t nb[RSA_MAX_BYTES + 1], eb[8];
	size_t nlen, elen;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r;

	*pkeyp = NULL;
	if ((r = get_b64(j, k, "n", nb, sizeof(nb), &nlen, em)) != 0 ||
	    (r = get_b64(j, k, "e", eb, sizeof(eb), &elen, em)) != 0)
		goto out;
	if (nlen == 0 || elen == 0) {
		b0_err_set(em, "empty n or e");
		r = B0_ERR_KEY;
		goto out;
	}
	if ((n = BN_bin2bn(nb, (int)nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1) {
		r = ossl_fail(B0_ERR_ALLOC, em, "RSA key parameters");
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		r = ossl_fail(B0_ERR_KEY, em, "n, e: not an RSA key");
		goto out;
	}
	*pkeyp = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

/* Is member name present in object k? */
static int
has_member(const struct b0_json *j, int k, const char *name)
{
	int v;

	return b0_json_obj_get(j, k, name, &v) == 0;
}

/*
 * Parse key object k.  Returns 0 with *pkeyp set (a usable key), 0 with
 * *pkeyp NULL and em saying why (a key to skip), or an error.
 */
static int
parse_key(const struct b0_json *j, int k, char *kid, enum b0_jwk_alg *algp,
    EVP_PKEY **pkeyp, struct b0_errmsg *em)
{
	static const char *const private_parts[] = {
	    "d", "p", "q", "dp", "dq", "qi", "oth"};
	const char *kty, *crv, *s;
	size_t i, len;
	enum b0_jwk_alg alg, have;
	int v, r;

	*pkeyp = NULL;
	kid[0] = '\0';
	for (i = 0; i < sizeof(private_parts) / sizeof(private_parts[0]); i++) {
		if (has_member(j, k, private_parts[i])) {
			b0_err_set(em,
			    "holds private key material (\"%s\"); a key set "
			    "must only have public keys",
			    private_parts[i]);
			return B0_ERR_KEY;
		}
	}
	if (b0_json_get_str(j, k, "kty", &kty) != 0) {
		b0_err_set(em, "\"kty\" is missing or not a string");
		return B0_ERR_FORMAT;
	}
	if (strcmp(kty, "EC") == 0) {
		if (b0_json_get_str(j, k, "crv", &crv) != 0) {
			b0_err_set(em, "\"crv\" is missing or not a string");
			return B0_ERR_FORMAT;
		}
		if (strcmp(crv, "P-256") != 0) {
			b0_err_set(em, "curve \"%.32s\" is not supported", crv);
			return 0;
		}
		alg = B0_JWK_ES256;
	} else if (strcmp(kty, "RSA") == 0) {
		alg = B0_JWK_RS256;
	} else {
		b0_err_set(em, "key type \"%.32s\" is not supported", kty);
		return 0;
	}
	if ((r = b0_json_get_str(j, k, "use", &s)) == 0) {
		if (strcmp(s, "sig") != 0) {
			b0_err_set(em, "use \"%.32s\" is not \"sig\"", s);
			return 0;
		}
	} else if (r != B0_ERR_NOT_FOUND) {
		b0_err_set(em, "\"use\" is not a string");
		return B0_ERR_FORMAT;
	}
	if (b0_json_obj_get(j, k, "kid", &v) != 0) {
		b0_err_set(em, "\"kid\" is missing");
		return B0_ERR_FORMAT;
	}
	if (b0_json_str(j, v, &s, &len) != 0 || !kid_ok(s, len)) {
		b0_err_set(em,
		    "\"kid\" must be a string of 1 to %d printable ASCII "
		    "characters",
		    B0_JWK_KID_MAX);
		return B0_ERR_FORMAT;
	}
	memcpy(kid, s, len + 1);
	if ((r = b0_json_get_str(j, k, "alg", &s)) == 0) {
		if (strcmp(s, b0_jwk_alg_name(alg)) != 0) {
			b0_err_set(em,
			    "alg \"%.32s\" does not fit kty %s (only %s)", s,
			    kty, b0_jwk_alg_name(alg));
			return B0_ERR_KEY;
		}
	} else if (r != B0_ERR_NOT_FOUND) {
		b0_err_set(em, "\"alg\" is not a string");
		return B0_ERR_FORMAT;
	}
	if (alg == B0_JWK_ES256)
		r = ec_from_jwk(j, k, pkeyp, em);
	else
		r = rsa_from_jwk(j, k, pkeyp, em);
	if (r != 0)
		return r;
	/* The same checks as for keys handed to b0_jwks_add(). */
	if ((r = b0_jwk_pkey_alg(*pkeyp, &have, em)) != 0 || have != alg) {
		EVP_PKEY_free(*pkeyp);
		*pkeyp = NULL;
		return r != 0 ? r : B0_ERR_INTERNAL;
	}
	*algp = alg;
	return 0;
}

static const struct b0_jwk *
find(const struct b0_jwks *set, const char *kid)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	}
	return NULL;
}

struct b0_jwks *
b0_jwks_new(void)
{
	return calloc(1, sizeof(struct b0_jwks));
}

void
b0_jwks_free(struct b0_jwks *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		EVP_PKEY_free(set->keys[i].pkey);
	free(set);
}

int
b0_jwks_parse(
    const char *text, size_t len, struct b0_jwks **setp, struct b0_errmsg *em)
{
	static const struct b0_json_limits limits = {
	    B0_JWKS_MAX_BYTES, 8, B0_JSON_MAX_TOKENS};
	struct b0_errmsg skip = {{0}}, kem;
	struct b0_json *j = NULL;
	struct b0_jwks *set = NULL;
	char kid[B0_JWK_KID_MAX + 1];
	enum b0_jwk_alg alg;
	EVP_PKEY *pkey = NULL;
	size_t i, nkeys, skipped = 0;
	int keys, k, r;

	*setp = NULL;
	if ((r = b0_json_parse(text, len, &limits, &j, em)) != 0) {
		b0_err_prefix(em, "key set");
		goto out;
	}
	if (b0_json_type(j, 0) != B0_JSON_OBJECT ||
	    b0_json_obj_get(j, 0, "keys", &keys) != 0 ||
	    b0_json_type(j, keys) != B0_JSON_ARRAY) {
		b0_err_set(em, "key set: not an object with a \"keys\" array");
		r = B0_ERR_FORMAT;
		goto out;
	}
	if ((set = b0_jwks_new()) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	nkeys = b0_json_len(j, keys);
	for (i = 0; i < nkeys; i++) {
		if ((r = b0_json_arr_get(j, keys, i, &k)) != 0)
			goto out;
		if (b0_json_type(j, k) != B0_JSON_OBJECT) {
			b0_err_set(em, "key set: key %zu is not an object", i);
			r = B0_ERR_FORMAT;
			goto out;
		}
		b0_err_clear(&kem);
		if ((r = parse_key(j, k, kid, &alg, &pkey, &kem)) != 0) {
			if (kid[0] != '\0')
				b0_err_set(em,
				    "key set: key %zu (kid \"%.64s\"): %s", i,
				    kid, kem.text);
			else
				b0_err_set(
				    em, "key set: key %zu: %s", i, kem.text);
			goto out;
		}
		if (pkey == NULL) {
			if (skipped++ == 0)
				b0_err_set(&skip, "key %zu: %s", i, kem.text);
			continue;
		}
		if (find(set, kid) != NULL) {
			b0_err_set(em,
			    "key set: key %zu: kid \"%.64s\" is used twice", i,
			    kid);
			r = B0_ERR_EXISTS;
			goto out;
		}
		if (set->n == B0_JWKS_MAX_KEYS) {
			b0_err_set(em, "key set: more than %d usable keys",
			    B0_JWKS_MAX_KEYS);
			r = B0_ERR_TOO_BIG;
			goto out;
		}
		memcpy(set->keys[set->n].kid, kid, sizeof(kid));
		set->keys[set->n].alg = alg;
		set->keys[set->n].pkey = pkey;
		set->n++;
		pkey = NULL;
	}
	if (set->n == 0) {
		if (skipped > 0)
			b0_err_set(em,
			    "key set: no usable key (%zu skipped; %s)", skipped,
			    skip.text);
		else
			b0_err_set(em, "key set: no keys");
		r = B0_ERR_KEY;
		goto out;
	}
	b0_err_clear(em);
	*setp = set;
	set = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	b0_jwks_free(set);
	b0_json_free(j);
	return r;
}

int
b0_jwks_add(
    struct b0_jwks *set, EVP_PKEY *pkey, const char *kid, struct b0_errmsg *em)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	enum b0_jwk_alg alg;
	size_t klen;
	int len, r;

	if (set == NULL || kid == NULL ||
	    !kid_ok(kid, (klen = strnlen(kid, B0_JWK_KID_MAX + 1)))) {
		b0_err_set(em, "kid must be 1 to %d printable ASCII characters",
		    B0_JWK_KID_MAX);
		return B0_ERR_ARG;
	}
	if ((r = b0_jwk_pkey_alg(pkey, &alg, em)) != 0)
		return r;
	if (find(set, kid) != NULL) {
		b0_err_set(em, "kid \"%.64s\" is already in the set", kid);
		return B0_ERR_EXISTS;
	}
	if (set->n == B0_JWKS_MAX_KEYS) {
		b0_err_set(em, "more than %d keys", B0_JWKS_MAX_KEYS);
		return B0_ERR_TOO_BIG;
	}
	/* Round-trip through SubjectPublicKeyInfo: only the public half. */
	if ((len = i2d_PUBKEY(pkey, &der)) <= 0) {
		r = ossl_fail(B0_ERR_CRYPTO, em, "encode public key");
		goto out;
	}
	p = der;
	if ((pub = d2i_PUBKEY(NULL, &p, len)) == NULL) {
		r = ossl_fail(B0_ERR_CRYPTO, em, "decode public key");
		goto out;
	}
	memcpy(set->keys[set->n].kid, kid, klen + 1);
	set->keys[set->n].alg = alg;
	set->keys[set->n].pkey = pub;
	set->n++;
	pub = NULL;
	r = 0;
out:
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	return r;
}

size_t
b0_jwks_count(const struct b0_jwks *set)
{
	return set == NULL ? 0 : set->n;
}

const struct b0_jwk *
b0_jwks_get(const struct b0_jwks *set, size_t i)
{
	if (set == NULL || i >= set->n)
		return NULL;
	return &set->keys[i];
}

const struct b0_jwk *
b0_jwks_find(const struct b0_jwks *set, const char *kid)
{
	if (set == NULL || kid == NULL)
		return NULL;
	return find(set, kid);
}

const char *
b0_jwk_kid(const struct b0_jwk *k)
{
	return k->kid;
}

enum b0_jwk_alg
b0_jwk_alg(const struct b0_jwk *k)
{
	return k->alg;
}

EVP_PKEY *
b0_jwk_pkey(const struct b0_jwk *k)
{
	return k->pkey;
}

int
b0_jwk_generate(EVP_PKEY **pkeyp, struct b0_errmsg *em)
{
	if ((*pkeyp = EVP_EC_gen("P-256")) == NULL)
		return ossl_fail(B0_ERR_CRYPTO, em, "generate P-256 key");
	return 0;
}

/* BN as base64url of its big-endian bytes, left-padded to pad bytes. */
static int
bn_b64url(const BIGNUM *bn, int pad, char *out, size_t outsz)
{
	uint8_t b[RSA_MAX_BYTES];
	int n = pad > 0 ? pad : BN_num_bytes(bn);

	if (n <= 0 || n > (int)sizeof(b) || BN_bn2binpad(bn, b, n) != n)
		return B0_ERR_KEY;
	return b0_b64url_encode(b, (size_t)n, out, outsz);
}

/*
 * The two public members of pkey as base64url, in RFC 7638 order: EC
 * x then y (32 bytes each), RSA e then n.  *algp says which.
 */
static int
pub_members(EVP_PKEY *pkey, enum b0_jwk_alg *algp, char *a, size_t asz, char *b,
    size_t bsz)
{
	BIGNUM *x = NULL, *y = NULL;
	int r;

	if ((r = b0_jwk_pkey_alg(pkey, algp, NULL)) != 0)
		return r;
	if (*algp == B0_JWK_ES256) {
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) !=
			1 ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) !=
			1) {
			r = ossl_fail(B0_ERR_CRYPTO, NULL, "");
			goto out;
		}
		if ((r = bn_b64url(x, P256_COORD, a, asz)) != 0 ||
		    (r = bn_b64url(y, P256_COORD, b, bsz)) != 0)
			goto out;
	} else {
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &x) !=
			1 ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &y) !=
			1) {
			r = ossl_fail(B0_ERR_CRYPTO, NULL, "");
			goto out;
		}
		if ((r = bn_b64url(x, 0, a, asz)) != 0 ||
		    (r = bn_b64url(y, 0, b, bsz)) != 0)
			goto out;
	}
	r = 0;
out:
	BN_free(x);
	BN_free(y);
	return r;
}

/* RFC 7638: the required members only, sorted, no whitespace. */
#define THUMB_EC "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}"
#define THUMB_RSA "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}"

/* Room for base64url of an 8192-bit modulus. */
#define MEMBER_MAX (RSA_MAX_BYTES / 3 * 4 + 8)

int
b0_jwk_thumbprint(EVP_PKEY *pkey, char *out, size_t outsz)
{
	char a[MEMBER_MAX], b[MEMBER_MAX];
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct b0_buf *json = NULL;
	enum b0_jwk_alg alg;
	int r;

	if (outsz < B0_JWK_THUMBPRINT_SIZE)
		return B0_ERR_TOO_BIG;
	if ((r = pub_members(pkey, &alg, a, sizeof(a), b, sizeof(b))) != 0)
		return r;
	if ((json = b0_buf_new(2 * MEMBER_MAX + 64)) == NULL)
		return B0_ERR_ALLOC;
	if (alg == B0_JWK_ES256)
		r = b0_buf_putf(json, THUMB_EC, a, b);
	else
		r = b0_buf_putf(json, THUMB_RSA, a, b);
	if (r != 0)
		goto out;
	if (EVP_Digest(b0_buf_ptr(json), b0_buf_len(json), md, &mdlen,
		EVP_sha256(), NULL) != 1) {
		r = ossl_fail(B0_ERR_CRYPTO, NULL, "");
		goto out;
	}
	r = b0_b64url_encode(md, mdlen, out, outsz);
out:
	b0_buf_free(json);
	return r;
}

int
b0_jwk_write(struct b0_jsonw *w, EVP_PKEY *pkey, const char *kid)
{
	char a[MEMBER_MAX], b[MEMBER_MAX];
	enum b0_jwk_alg alg;
	int r;

	if ((r = pub_members(pkey, &alg, a, sizeof(a), b, sizeof(b))) != 0)
		return r;
	b0_jsonw_obj_begin(w);
	b0_jsonw_key(w, "kty");
	if (alg == B0_JWK_ES256) {
		b0_jsonw_str(w, "EC");
		b0_jsonw_key(w, "crv");
		b0_jsonw_str(w, "P-256");
		b0_jsonw_key(w, "x");
		b0_jsonw_str(w, a);
		b0_jsonw_key(w, "y");
		b0_jsonw_str(w, b);
	} else {
		b0_jsonw_str(w, "RSA");
		b0_jsonw_key(w, "n");
		b0_jsonw_str(w, b);
		b0_jsonw_key(w, "e");
		b0_jsonw_str(w, a);
	}
	b0_jsonw_key(w, "kid");
	b0_jsonw_str(w, kid);
	b0_jsonw_key(w, "alg");
	b0_jsonw_str(w, b0_jwk_alg_name(alg));
	b0_jsonw_key(w, "use");
	b0_jsonw_str(w, "sig");
	b0_jsonw_obj_end(w);
	return 0;
}

/* Never prompt on a terminal for a passphrase: encrypted keys fail. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
b0_jwk_load_private(const char *path, EVP_PKEY **pkeyp, struct b0_errmsg *em)
{
	struct b0_buf *pem = NULL;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	enum b0_jwk_alg alg;
	int r;

	*pkeyp = NULL;
	if ((pem = b0_buf_new(PEM_MAX)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	b0_buf_set_secret(pem);
	if ((r = b0_file_read(
		 path, B0_FILE_PRIVATE | B0_FILE_OWNER_SELF, pem, em)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(b0_buf_ptr(pem), (int)b0_buf_len(pem))) ==
	    NULL) {
		r = ossl_fail(B0_ERR_ALLOC, em, path);
		goto out;
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) ==
	    NULL) {
		r = ossl_fail(
		    B0_ERR_FORMAT, em, "no unencrypted PEM private key");
		b0_err_prefix(em, "%s", path);
		goto out;
	}
	if ((r = b0_jwk_pkey_alg(pkey, &alg, em)) != 0) {
		b0_err_prefix(em, "%s", path);
		goto out;
	}
	*pkeyp = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	b0_buf_free(pem);
	return r;
}

int
b0_jwk_save_private(const char *path, EVP_PKEY *pkey, struct b0_errmsg *em)
{
	BIO *bio = NULL;
	char *data;
	long len;
	enum b0_jwk_alg alg;
	int r;

	if ((r = b0_jwk_pkey_alg(pkey, &alg, em)) != 0) {
		b0_err_prefix(em, "%s", path);
		goto out;
	}
	if (!b0_jwk_pkey_has_private(pkey)) {
		b0_err_set(em, "%s: not a private key", path);
		r = B0_ERR_KEY;
		goto out;
	}
	/* A secure-memory BIO wipes what it held, growth included. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		r = ossl_fail(B0_ERR_ALLOC, em, path);
		goto out;
	}
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) !=
	    1) {
		r = ossl_fail(B0_ERR_KEY, em, "cannot write the private key");
		b0_err_prefix(em, "%s", path);
		goto out;
	}
	if ((len = BIO_get_mem_data(bio, &data)) <= 0) {
		r = ossl_fail(B0_ERR_CRYPTO, em, path);
		goto out;
	}
	r = b0_file_write_atomic(path, data, (size_t)len, 0600, em);
out:
	BIO_free(bio);
	return r;
}
