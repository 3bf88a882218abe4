/*
 * libFuzzer target for lib/b0_jwt, lib/b0_jwk and lib/b0_b64.
 *
 * The first byte picks a mode, the rest is the input:
 *   0  verify as a token against a fixed key set, then check its claims
 *   1  the same, expecting typ "b0-ticket+jwt" and a 4 KiB limit
 *   2  parse as a JWKS; every key must survive write + parse + thumbprint
 *   3  sign as an ES256 payload; whatever is signed must verify
 *   4  parse as JSON and check the claims of it
 *   5  base64url and base64 decode; what decodes must re-encode exactly
 * Anything unexpected (an invariant broken) aborts.  The key set is made
 * once: the corpus tokens in tests/fuzz/corpus/jwt/ are signed by the keys
 * below (their private halves are not kept), plus a key generated at start
 * for mode 3.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "b0_b64.h"
#include "b0_buf.h"
#include "b0_err.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_jwk.h"
#include "b0_jwt.h"
#include "b0_str.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fixed_jwks[] =
    "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"amjwlYmvfVFwUxhWOow"
    "roGaEHVbAraXiA2N4b-pf_zs\",\"y\":\"xTKIH58Ji8M7G1GYMbTtVdDcGEeNNhxU_4mIH"
    "G8ElOU\",\"kid\":\"fz-ec\",\"alg\":\"ES256\",\"use\":\"sig\"},{\"kty\":"
    "\"RSA\",\"n\":\"rjQe4w1iErjKZC2R-sxylnI6XHARf4k2Yi4PSNp-wM7lPgJwkMTGT4b5"
    "o_vAJEN-ZXwClq5iyYz5a1kzrK7hPzNHU82iSDK8Vv7T0c9btnZkZCrSDbvt_OMxycPjl5Fe"
    "NtOIdyfADhTrkTjntX28ht71Uu0jQrWGmw0bDpWgYL43h0LhKdEWbta1HE4WSYxgM-mcn5Or"
    "DaqYNFQ_Ry--4dnv9OJW6wJ_f-FSCOzaVjZVT7ON6ATUBevLhnyQj2IFryz7qXOjcyqZkWKB"
    "vXpJsez7zqDLr0k9QWjHyqmdWtBBawKRPjW6ea87dc_2qvl4wTPBox0854xd8g1kbVeGRw\","
    "\"e\":\"AQAB\",\"kid\":\"fz-rsa\",\"alg\":\"RS256\",\"use\":\"sig\"}]}";

static struct b0_jwks *keys;
static EVP_PKEY *signer;

static const struct b0_jwt_claims want = {
    "https://edge.example.com", "b0-edge", 1700000000, 60, 3600};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (b0_jwks_parse(fixed_jwks, strlen(fixed_jwks), &keys, NULL) != 0 ||
	    b0_jwk_generate(&signer, NULL) != 0 ||
	    b0_jwks_add(keys, signer, "fz-sign", NULL) != 0)
		abort();
	return 0;
}

static void
verify(const char *tok, size_t len, const struct b0_jwt_verify_opts *o)
{
	struct b0_errmsg em;
	struct b0_jwt *t = NULL;
	int r;

	r = b0_jwt_verify(tok, len, keys, o, &t, &em);
	if ((r == 0) != (t != NULL))
		abort();
	if (t == NULL)
		return;
	if (b0_json_type(b0_jwt_payload(t), 0) != B0_JSON_OBJECT ||
	    b0_json_type(b0_jwt_header(t), 0) != B0_JSON_OBJECT ||
	    b0_jwks_find(keys, b0_jwt_kid(t)) == NULL ||
	    b0_jwk_alg(b0_jwks_find(keys, b0_jwt_kid(t))) != b0_jwt_alg(t))
		abort();
	(void)b0_jwt_check_claims(b0_jwt_payload(t), 0, &want, &em);
	b0_jwt_free(t);
}

/* Every parsed key must write, parse back as the same key, and hash. */
static void
jwks(const char *text, size_t len)
{
	struct b0_jwks *set = NULL, *again = NULL;
	struct b0_buf *b = NULL;
	struct b0_jsonw w;
	char tp[B0_JWK_THUMBPRINT_SIZE];
	size_t i;

	if (b0_jwks_parse(text, len, &set, NULL) != 0) {
		if (set != NULL)
			abort();
		return;
	}
	if ((b = b0_buf_new(2 * B0_JWKS_MAX_BYTES)) == NULL)
		abort();
	b0_jsonw_init(&w, b);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "keys");
	b0_jsonw_arr_begin(&w);
	for (i = 0; i < b0_jwks_count(set); i++) {
		const struct b0_jwk *k = b0_jwks_get(set, i);

		if (b0_jwk_write(&w, b0_jwk_pkey(k), b0_jwk_kid(k)) != 0 ||
		    b0_jwk_thumbprint(b0_jwk_pkey(k), tp, sizeof(tp)) != 0)
			abort();
	}
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	if (b0_jsonw_finish(&w) != 0 ||
	    b0_jwks_parse((const char *)b0_buf_ptr(b), b0_buf_len(b), &again,
		NULL) != 0 ||
	    b0_jwks_count(again) != b0_jwks_count(set))
		abort();
	for (i = 0; i < b0_jwks_count(set); i++) {
		const struct b0_jwk *k = b0_jwks_get(set, i);
		const struct b0_jwk *k2 = b0_jwks_find(again, b0_jwk_kid(k));

		if (k2 == NULL || b0_jwk_alg(k) != b0_jwk_alg(k2) ||
		    EVP_PKEY_eq(b0_jwk_pkey(k), b0_jwk_pkey(k2)) != 1)
			abort();
	}
	b0_jwks_free(again);
	b0_jwks_free(set);
	b0_buf_free(b);
}

static void
sign(const char *payload, size_t len)
{
	struct b0_errmsg em;
	struct b0_jwt *t = NULL;
	char *tok = NULL;
	int r;

	r = b0_jwt_sign_es256(signer, "fz-sign", NULL, payload, len, &tok, &em);
	if ((r == 0) != (tok != NULL))
		abort();
	if (tok == NULL)
		return;
	if (b0_jwt_verify(tok, strlen(tok), keys, NULL, &t, &em) != 0)
		abort();
	(void)b0_jwt_check_claims(b0_jwt_payload(t), 0, &want, &em);
	b0_jwt_free(t);
	b0_str_wipe_free(tok);
}

static void
claims(const char *text, size_t len)
{
	struct b0_errmsg em;
	struct b0_json *j = NULL;

	if (b0_json_parse(text, len, NULL, &j, NULL) != 0)
		return;
	(void)b0_jwt_check_claims(j, 0, &want, &em);
	b0_json_free(j);
}

static void
b64(const char *in, size_t n)
{
	uint8_t *out;
	char *re;
	size_t cap = n, len;

	if ((out = malloc(cap + 1)) == NULL ||
	    (re = malloc(cap * 2 + 8)) == NULL)
		abort();
	if (b0_b64url_decode(in, n, out, cap, &len) == 0 &&
	    (b0_b64url_encode(out, len, re, cap * 2 + 8) != 0 ||
		strlen(re) != n || memcmp(re, in, n) != 0))
		abort();
	if (b0_b64_decode(in, n, out, cap, &len) == 0 &&
	    (b0_b64_encode(out, len, re, cap * 2 + 8) != 0 || strlen(re) != n ||
		memcmp(re, in, n) != 0))
		abort();
	free(re);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct b0_jwt_verify_opts ticket = {"b0-ticket+jwt", 4096};
	const char *in = (const char *)data + 1;
	size_t n = size - 1;

	if (size == 0)
		return 0;
	switch (data[0] % 6) {
	case 0:
		verify(in, n, NULL);
		break;
	case 1:
		verify(in, n, &ticket);
		break;
	case 2:
		jwks(in, n);
		break;
	case 3:
		sign(in, n);
		break;
	case 4:
		claims(in, n);
		break;
	case 5:
		b64(in, n);
		break;
	}
	if (ERR_peek_error() != 0)
		abort(); /* every failure path must drain OpenSSL's queue */
	return 0;
}
