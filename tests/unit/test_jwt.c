/*
 * Unit tests for lib/b0_jwk and lib/b0_jwt: key sets, verification against
 * hand-made good and malicious tokens, claims, signing, keys on disk.
 *
 * All keys are generated here with OpenSSL; tokens are built here too
 * (independently of b0_jwt_sign_es256), so a bug shared by signer and
 * verifier cannot hide.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "b0_b64.h"
#include "b0_buf.h"
#include "b0_err.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_jwk.h"
#include "b0_jwt.h"
#include "b0_str.h"
#include "tap.h"

#define ISS "https://edge.example.com"
#define AUD "b0-edge"
#define NOW 1700000000LL

static EVP_PKEY *ec1, *ec2, *rsa1, *rsa1024, *p384;
static struct b0_jwks *set; /* ec1 as "ec1", rsa1 as "rsa1" */

/* Every string the helpers allocate, freed at the end. */
static char *allocs[4096];
static size_t nallocs;

static char *
keep(char *s)
{
	if (s == NULL || nallocs == sizeof(allocs) / sizeof(allocs[0])) {
		fprintf(stderr, "test: out of memory or slots\n");
		exit(2);
	}
	allocs[nallocs++] = s;
	return s;
}

static void
free_all(void)
{
	while (nallocs > 0)
		free(allocs[--nallocs]);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) == -1)
		s = NULL;
	va_end(ap);
	return keep(s);
}

static char *
b64(const void *p, size_t n)
{
	size_t need = b0_b64url_encoded_len(n) + 1;
	char *s = keep(malloc(need));

	if (b0_b64url_encode(p, n, s, need) != 0)
		exit(2);
	return s;
}

static char *
b64s(const char *s)
{
	return b64(s, strlen(s));
}

/* A BIGNUM parameter of pkey as base64url, padded to pad bytes if > 0. */
static char *
bn_param(EVP_PKEY *pkey, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		exit(2);
	n = pad > 0 ? pad : BN_num_bytes(bn);
	if (BN_bn2binpad(bn, buf, n) != n)
		exit(2);
	BN_free(bn);
	return b64(buf, (size_t)n);
}

/* JWK JSON members of a public key (no braces), for hand-made sets. */
static char *
ec_members(EVP_PKEY *k)
{
	return fmt("\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"",
	    bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, 32),
	    bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
}

static char *
rsa_members(EVP_PKEY *k)
{
	return fmt("\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"",
	    bn_param(k, OSSL_PKEY_PARAM_RSA_N, 0),
	    bn_param(k, OSSL_PKEY_PARAM_RSA_E, 0));
}

enum how { SIG_ES, SIG_ES_DER, SIG_RS, SIG_NONE };

/* Sign tbs; raw r||s for SIG_ES.  Returns the signature length. */
static size_t
sign(EVP_PKEY *k, enum how how, const char *tbs, uint8_t *sig)
{
	EVP_MD_CTX *md;
	uint8_t der[1024];
	size_t len = sizeof(der);
	const unsigned char *p = der;
	ECDSA_SIG *es;
	const BIGNUM *r, *s;

	if (how == SIG_NONE)
		return 0;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, der, &len, (const uint8_t *)tbs, strlen(tbs)) !=
		1)
		exit(2);
	EVP_MD_CTX_free(md);
	if (how != SIG_ES) {
		memcpy(sig, der, len);
		return len;
	}
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		exit(2);
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, sig, 32);
	BN_bn2binpad(s, sig + 32, 32);
	ECDSA_SIG_free(es);
	return 64;
}

/* A compact token with header hdr and payload pay, signed as told. */
static char *
mk(const char *hdr, const char *pay, EVP_PKEY *k, enum how how)
{
	char *tbs = fmt("%s.%s", b64s(hdr), b64s(pay));
	uint8_t sig[1024];
	size_t n = sign(k, how, tbs, sig);

	return fmt("%s.%s", tbs, b64(sig, n));
}

/* The same with the signing input given already encoded. */
static char *
mk_raw(const char *tbs, EVP_PKEY *k, enum how how)
{
	uint8_t sig[1024];
	size_t n = sign(k, how, tbs, sig);

	return fmt("%s.%s", tbs, b64(sig, n));
}

/* A token "signed" with HMAC-SHA256 keyed with key (n bytes). */
static char *
mk_hmac(const char *hdr, const char *pay, const void *key, size_t n,
    const EVP_MD *mdalg)
{
	char *tbs = fmt("%s.%s", b64s(hdr), b64s(pay));
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(mdalg, key, (int)n, (const uint8_t *)tbs, strlen(tbs), mac,
		&maclen) == NULL)
		exit(2);
	return fmt("%s.%s", tbs, b64(mac, maclen));
}

/* A token with header hdr, payload pay and raw signature bytes. */
static char *
mk_sig(const char *hdr, const char *pay, const uint8_t *sig, size_t n)
{
	return fmt("%s.%s.%s", b64s(hdr), b64s(pay), b64(sig, n));
}

static const char *good_pay =
    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice@example.com\","
    "\"email\":\"alice@example.com\",\"iat\":1700000000,"
    "\"exp\":1700000600}";

#define EC_HDR "{\"alg\":\"ES256\",\"kid\":\"ec1\"}"
#define RS_HDR "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}"

static struct b0_errmsg em;

/* Verify tok against the set with expected typ; free the result. */
static int
vfy_opts(const char *tok, size_t len, const char *typ, size_t max)
{
	struct b0_jwt_verify_opts o = {typ, max};
	struct b0_jwt *t = NULL;
	int r;

	b0_err_clear(&em);
	r = b0_jwt_verify(tok, len, set, &o, &t, &em);
	if ((r == 0) != (t != NULL))
		r = -9999; /* output and result disagree */
	b0_jwt_free(t);
	return r;
}

static int
vfy(const char *tok)
{
	return vfy_opts(tok, strlen(tok), NULL, 0);
}

static int
vfy_typ(const char *tok, const char *typ)
{
	return vfy_opts(tok, strlen(tok), typ, 0);
}

static EVP_PKEY *
gen_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_RSA_gen(bits);

	if (k == NULL)
		exit(2);
	return k;
}

static EVP_PKEY *
gen_ec(const char *curve)
{
	EVP_PKEY *k = EVP_EC_gen(curve);

	if (k == NULL)
		exit(2);
	return k;
}

/* Parse a JWKS document; free the set. */
static int
jwks(const char *text)
{
	struct b0_jwks *s = NULL;
	int r;

	b0_err_clear(&em);
	r = b0_jwks_parse(text, strlen(text), &s, &em);
	if ((r == 0) != (s != NULL))
		r = -9999;
	b0_jwks_free(s);
	return r;
}

static int
jwks_count(const char *text, size_t *np)
{
	struct b0_jwks *s = NULL;
	int r;

	*np = 0;
	b0_err_clear(&em);
	if ((r = b0_jwks_parse(text, strlen(text), &s, &em)) == 0)
		*np = b0_jwks_count(s);
	b0_jwks_free(s);
	return r;
}

static void
setup(void)
{
	struct b0_errmsg e = {{0}};

	ec1 = gen_ec("P-256");
	ec2 = gen_ec("P-256");
	p384 = gen_ec("P-384");
	rsa1 = gen_rsa(2048);
	rsa1024 = gen_rsa(1024);
	if ((set = b0_jwks_new()) == NULL ||
	    b0_jwks_add(set, ec1, "ec1", &e) != 0 ||
	    b0_jwks_add(set, rsa1, "rsa1", &e) != 0) {
		fprintf(stderr, "setup: %s\n", e.text);
		exit(2);
	}
}

static void
test_good(void)
{
	struct b0_jwt *t = NULL;
	const char *tok = mk(EC_HDR, good_pay, ec1, SIG_ES), *s = NULL;
	int64_t exp = 0;

	is_int(vfy(tok), 0, "ES256 token verifies");
	is_int(
	    vfy(mk(RS_HDR, good_pay, rsa1, SIG_RS)), 0, "RS256 token verifies");
	is_int(vfy(mk("{\"kid\":\"ec1\",\"typ\":\"JWT\",\"alg\":\"ES256\","
		      "\"x-extra\":[1,{\"a\":null}]}",
		   good_pay, ec1, SIG_ES)),
	    0, "unknown header members are ignored");
	is_int(b0_jwt_verify(tok, strlen(tok), set, NULL, &t, &em), 0,
	    "verify with NULL opts");
	if (t == NULL)
		return;
	is_int(b0_json_get_str(b0_jwt_payload(t), 0, "email", &s), 0,
	    "payload readable");
	is_str(s, "alice@example.com", "payload email");
	is_int(b0_json_get_int(b0_jwt_payload(t), 0, "exp", &exp), 0,
	    "payload exp readable");
	is_int(exp, 1700000600, "payload exp value");
	is_str(b0_jwt_kid(t), "ec1", "kid accessor");
	is_int(b0_jwt_alg(t), B0_JWK_ES256, "alg accessor");
	ok(b0_jwt_typ(t) == NULL, "typ accessor: none");
	is_int(b0_json_get_str(b0_jwt_header(t), 0, "alg", &s), 0,
	    "header readable");
	is_str(s, "ES256", "header alg");
	b0_jwt_free(t);
	b0_jwt_free(NULL);
}

static void
test_alg_none(void)
{
	static const char *const nones[] = {"none", "None", "NONE", "nOnE"};
	uint8_t fake[64];
	size_t i;

	memset(fake, 0x41, sizeof(fake));
	for (i = 0; i < 4; i++) {
		char *h = fmt("{\"alg\":\"%s\",\"kid\":\"ec1\"}", nones[i]);
		char *h2 = fmt("{\"alg\":\"%s\"}", nones[i]);

		is_int(vfy(mk(h, good_pay, NULL, SIG_NONE)), B0_ERR_ALG,
		    "alg %s, empty signature", nones[i]);
		has_str(em.text, "not allowed", "alg %s: message", nones[i]);
		is_int(vfy(mk_sig(h, good_pay, fake, sizeof(fake))), B0_ERR_ALG,
		    "alg %s with a signature", nones[i]);
		is_int(vfy(mk(h2, good_pay, NULL, SIG_NONE)), B0_ERR_ALG,
		    "alg %s without kid", nones[i]);
	}
	is_int(vfy(fmt("%s.%s", b64s("{\"alg\":\"none\",\"kid\":\"ec1\"}"),
		   b64s(good_pay))),
	    B0_ERR_FORMAT, "alg none with two segments");
}

static void
test_alg_confusion(void)
{
	BIO *bio = BIO_new(BIO_s_mem());
	struct b0_buf *jwk = b0_buf_new(4096);
	struct b0_jsonw w;
	char *pem;
	long pemlen;

	if (bio == NULL || jwk == NULL || PEM_write_bio_PUBKEY(bio, ec1) != 1)
		exit(2);
	pemlen = BIO_get_mem_data(bio, &pem);
	b0_jsonw_init(&w, jwk);
	b0_jwk_write(&w, ec1, "ec1");
	if (b0_jsonw_finish(&w) != 0)
		exit(2);
	is_int(vfy(mk_hmac("{\"alg\":\"HS256\",\"kid\":\"ec1\"}", good_pay, pem,
		   (size_t)pemlen, EVP_sha256())),
	    B0_ERR_ALG, "HS256 keyed with the EC public key PEM");
	is_int(vfy(mk_hmac("{\"alg\":\"HS256\",\"kid\":\"ec1\"}", good_pay,
		   b0_buf_ptr(jwk), b0_buf_len(jwk), EVP_sha256())),
	    B0_ERR_ALG, "HS256 keyed with the EC public JWK");
	BIO_free(bio);
	b0_buf_free(jwk);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, rsa1) != 1)
		exit(2);
	pemlen = BIO_get_mem_data(bio, &pem);
	is_int(vfy(mk_hmac("{\"alg\":\"HS256\",\"kid\":\"rsa1\"}", good_pay,
		   pem, (size_t)pemlen, EVP_sha256())),
	    B0_ERR_ALG, "HS256 keyed with the RSA public key PEM");
	is_int(vfy(mk_hmac("{\"alg\":\"HS384\",\"kid\":\"rsa1\"}", good_pay,
		   pem, (size_t)pemlen, EVP_sha384())),
	    B0_ERR_ALG, "HS384 keyed with the RSA public key PEM");
	is_int(vfy(mk_hmac("{\"alg\":\"HS512\",\"kid\":\"rsa1\"}", good_pay,
		   pem, (size_t)pemlen, EVP_sha512())),
	    B0_ERR_ALG, "HS512 keyed with the RSA public key PEM");
	BIO_free(bio);

	is_int(vfy(mk("{\"alg\":\"RS256\",\"kid\":\"ec1\"}", good_pay, rsa1,
		   SIG_RS)),
	    B0_ERR_ALG, "RS256 header on the EC key");
	has_str(em.text, "ES256 only", "RS256 on EC: message");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_ALG, "ES256 header on the RSA key");
	is_int(vfy(mk("{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", good_pay, rsa1,
		   SIG_RS)),
	    B0_ERR_ALG, "PS256 refused");
	is_int(vfy(mk("{\"alg\":\"RS512\",\"kid\":\"rsa1\"}", good_pay, rsa1,
		   SIG_RS)),
	    B0_ERR_ALG, "RS512 refused");
	is_int(vfy(mk("{\"alg\":\"ES384\",\"kid\":\"ec1\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_ALG, "ES384 refused");
	is_int(vfy(mk("{\"alg\":\"EdDSA\",\"kid\":\"ec1\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_ALG, "EdDSA refused");
	is_int(vfy(mk("{\"alg\":\"es256\",\"kid\":\"ec1\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_ALG, "alg is case-sensitive (es256)");
	is_int(vfy(mk("{\"alg\":\"ES256 \",\"kid\":\"ec1\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_ALG, "alg with a trailing space");
	is_int(vfy(mk("{\"kid\":\"ec1\"}", good_pay, ec1, SIG_ES)), B0_ERR_ALG,
	    "alg missing");
	has_str(em.text, "missing", "alg missing: message");
	is_int(vfy(mk("{\"alg\":256,\"kid\":\"ec1\"}", good_pay, ec1, SIG_ES)),
	    B0_ERR_ALG, "alg not a string");
	is_int(vfy(mk("{\"alg\":[\"ES256\"],\"kid\":\"ec1\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_ALG, "alg an array");
}

static void
test_structure(void)
{
	const char *a = mk(EC_HDR, good_pay, ec1, SIG_ES);
	const char *b = mk(EC_HDR,
	    "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"mallory\","
	    "\"exp\":1700000600}",
	    ec1, SIG_ES);
	const char *ha = b64s(EC_HDR), *pa = b64s(good_pay);
	const char *sa = strrchr(a, '.') + 1;
	const char *pb = strchr(b, '.') + 1;
	char *swapped =
	    fmt("%s.%.*s.%s", ha, (int)(strchr(pb, '.') - pb), pb, sa);

	is_int(vfy(swapped), B0_ERR_SIGNATURE,
	    "payload of B with header and signature of A");
	is_int(vfy(fmt("%s.%s.", ha, pa)), B0_ERR_SIGNATURE,
	    "ES256 signature stripped (h.p.)");
	has_str(em.text, "0 bytes", "stripped: message");
	is_int(vfy(fmt("%s.%s.", b64s(RS_HDR), pa)), B0_ERR_SIGNATURE,
	    "RS256 signature stripped");
	is_int(vfy(fmt("%s.%s", ha, pa)), B0_ERR_FORMAT, "missing segment");
	is_int(vfy(ha), B0_ERR_FORMAT, "one segment");
	is_int(vfy(fmt("%s.x", a)), B0_ERR_FORMAT, "extra segment");
	is_int(vfy(fmt("%s.", a)), B0_ERR_FORMAT, "extra empty segment");
	is_int(vfy(fmt(".%s.%s", pa, sa)), B0_ERR_FORMAT, "empty header");
	is_int(vfy(fmt("%s..%s", ha, sa)), B0_ERR_FORMAT, "empty payload");
	is_int(vfy(".."), B0_ERR_FORMAT, "all segments empty");
	is_int(vfy("."), B0_ERR_FORMAT, "a lone dot");
	is_int(vfy(""), B0_ERR_FORMAT, "empty token");
	is_int(vfy("not a token"), B0_ERR_FORMAT, "words");
	is_int(vfy(fmt("Bearer %s", a)), B0_ERR_FORMAT, "Bearer prefix");
	is_int(vfy(fmt("%s=.%s.%s", ha, pa, sa)), B0_ERR_FORMAT,
	    "padding in header");
	is_int(vfy(fmt("%s.%s==.%s", ha, b64s("{\"a\":1}"), sa)), B0_ERR_FORMAT,
	    "padding in payload");
	is_int(vfy(fmt("%s.%s.%s=", ha, pa, sa)), B0_ERR_FORMAT,
	    "padding in signature");
	is_int(vfy(fmt(" %s", a)), B0_ERR_FORMAT, "leading space");
	is_int(vfy(fmt("%s\n", a)), B0_ERR_FORMAT, "trailing newline");
	is_int(vfy(fmt("%s. %s.%s", ha, pa, sa)), B0_ERR_FORMAT,
	    "space after a dot");
	is_int(vfy(fmt("%.10s\t%s", a, a + 10)), B0_ERR_FORMAT,
	    "tab inside the header");
	is_int(vfy(fmt("%s.%s.%.20s+%s", ha, pa, sa, sa + 21)), B0_ERR_FORMAT,
	    "'+' in the signature");
	is_int(vfy(fmt("%s.%s.%.20s/%s", ha, pa, sa, sa + 21)), B0_ERR_FORMAT,
	    "'/' in the signature");
	{
		char *nul = fmt("%s", a);
		size_t len = strlen(nul);

		nul[5] = '\0';
		is_int(vfy_opts(nul, len, NULL, 0), B0_ERR_FORMAT,
		    "NUL byte inside the token");
	}
	is_int(vfy(mk("[\"ES256\"]", good_pay, ec1, SIG_ES)), B0_ERR_FORMAT,
	    "header is an array");
	has_str(em.text, "not an object", "array header: message");
	is_int(vfy(mk("\"ES256\"", good_pay, ec1, SIG_ES)), B0_ERR_FORMAT,
	    "header is a string");
	is_int(vfy(mk("null", good_pay, ec1, SIG_ES)), B0_ERR_FORMAT,
	    "header is null");
	is_int(vfy(mk("{alg:ES256}", good_pay, ec1, SIG_ES)), B0_ERR_FORMAT,
	    "header is not JSON");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec1\"} ", good_pay, ec1,
		   SIG_ES)),
	    0, "header with trailing JSON whitespace");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec1\"}x", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_FORMAT, "header with trailing garbage");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"alg\":\"none\"}",
		   good_pay, ec1, SIG_ES)),
	    B0_ERR_FORMAT, "duplicate alg in header");
	has_str(em.text, "duplicate", "duplicate header key: message");
	is_int(vfy(mk("{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":\"ec1\"}",
		   good_pay, ec1, SIG_ES)),
	    B0_ERR_FORMAT, "duplicate alg in header (none first)");
	is_int(vfy(mk(EC_HDR,
		   "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"sub\":\"root\"}",
		   ec1, SIG_ES)),
	    B0_ERR_FORMAT, "duplicate claim in a signed payload");
	has_str(em.text, "duplicate", "duplicate claim: message");
	is_int(vfy(mk(EC_HDR, "[1,2]", ec1, SIG_ES)), B0_ERR_FORMAT,
	    "signed payload is an array");
	is_int(vfy(mk(EC_HDR, "not json", ec1, SIG_ES)), B0_ERR_FORMAT,
	    "signed payload is not JSON");
	is_int(vfy(mk_raw(fmt("%s.%s", ha, "eyJhIjoxfQ=="), ec1, SIG_ES)),
	    B0_ERR_FORMAT, "signed payload with base64 padding");
	is_int(vfy(mk_raw(fmt("%s.%s", ha, "eyJhIjoxfR"), ec1, SIG_ES)),
	    B0_ERR_FORMAT, "signed payload with non-zero leftover bits");
	is_int(vfy(mk(EC_HDR, "", ec1, SIG_ES)), B0_ERR_FORMAT,
	    "signed empty payload");
}

/* The order of P-256. */
static const uint8_t order[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25,
    0x51};

static void
test_es256_sig(void)
{
	char *tbs = fmt("%s.%s", b64s(EC_HDR), b64s(good_pay));
	uint8_t raw[64], der[200], bad[80];
	size_t derlen;

	sign(ec1, SIG_ES, tbs, raw);
	derlen = sign(ec1, SIG_ES_DER, tbs, der);
	is_int(vfy(fmt("%s.%s", tbs, b64(raw, 64))), 0, "raw r||s verifies");
	is_int(vfy(fmt("%s.%s", tbs, b64(der, derlen))), B0_ERR_SIGNATURE,
	    "DER-encoded ES256 signature refused");
	has_str(em.text, "not 64", "DER signature: message");
	is_int(vfy(fmt("%s.%s", tbs, b64(raw, 63))), B0_ERR_SIGNATURE,
	    "63-byte ES256 signature");
	memcpy(bad, raw, 64);
	bad[64] = 0;
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 65))), B0_ERR_SIGNATURE,
	    "65-byte ES256 signature");
	memset(bad, 0, 32);
	memcpy(bad + 32, raw + 32, 32);
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 64))), B0_ERR_SIGNATURE,
	    "ES256 r = 0");
	has_str(em.text, "[1, n-1]", "r = 0: message");
	memcpy(bad, raw, 32);
	memset(bad + 32, 0, 32);
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 64))), B0_ERR_SIGNATURE,
	    "ES256 s = 0");
	memset(bad, 0, 64);
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 64))), B0_ERR_SIGNATURE,
	    "ES256 r = s = 0");
	memcpy(bad, order, 32);
	memcpy(bad + 32, raw + 32, 32);
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 64))), B0_ERR_SIGNATURE,
	    "ES256 r = n");
	has_str(em.text, "[1, n-1]", "r = n: message");
	memcpy(bad, raw, 32);
	memcpy(bad + 32, order, 32);
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 64))), B0_ERR_SIGNATURE,
	    "ES256 s = n");
	memset(bad, 0xff, 32);
	memcpy(bad + 32, raw + 32, 32);
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 64))), B0_ERR_SIGNATURE,
	    "ES256 r = 2^256 - 1");
	memcpy(bad, order, 32);
	bad[31]--; /* n - 1: in range, but not the signature */
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 64))), B0_ERR_SIGNATURE,
	    "ES256 r = n - 1 does not verify");
	has_str(em.text, "does not verify", "r = n - 1: message");
	memcpy(bad, raw, 64);
	bad[63] ^= 1;
	is_int(vfy(fmt("%s.%s", tbs, b64(bad, 64))), B0_ERR_SIGNATURE,
	    "ES256 signature with one bit flipped");
	is_int(vfy(mk(EC_HDR, good_pay, ec2, SIG_ES)), B0_ERR_SIGNATURE,
	    "ES256 signed by another P-256 key");
}

static void
test_rs256_sig(void)
{
	char *tbs = fmt("%s.%s", b64s(RS_HDR), b64s(good_pay));
	uint8_t sig[512];
	size_t n = sign(rsa1, SIG_RS, tbs, sig);
	EVP_PKEY *other = gen_rsa(2048);

	is_int(n, 256, "RSA-2048 signature is 256 bytes");
	is_int(vfy(fmt("%s.%s", tbs, b64(sig, n))), 0, "RS256 verifies");
	is_int(vfy(fmt("%s.%s", tbs, b64(sig, n - 1))), B0_ERR_SIGNATURE,
	    "RS256 signature one byte short");
	has_str(em.text, "modulus", "short RS256: message");
	sig[n] = 0;
	is_int(vfy(fmt("%s.%s", tbs, b64(sig, n + 1))), B0_ERR_SIGNATURE,
	    "RS256 signature one byte long");
	sig[100] ^= 0x10;
	is_int(vfy(fmt("%s.%s", tbs, b64(sig, n))), B0_ERR_SIGNATURE,
	    "RS256 signature with one bit flipped");
	memset(sig, 0xff, n);
	is_int(vfy(fmt("%s.%s", tbs, b64(sig, n))), B0_ERR_SIGNATURE,
	    "RS256 signature above the modulus");
	is_int(vfy(mk(RS_HDR, good_pay, other, SIG_RS)), B0_ERR_SIGNATURE,
	    "RS256 signed by another RSA key");
	EVP_PKEY_free(other);
}

static void
test_header_params(void)
{
	static const char *const refused[] = {"jku", "x5u", "jwk", "x5c"};
	size_t i;

	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"crit\":[\"exp\"],"
		      "\"exp\":1}",
		   good_pay, ec1, SIG_ES)),
	    B0_ERR_UNSUPPORTED, "crit refused");
	has_str(em.text, "crit", "crit: message");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"crit\":[]}",
		   good_pay, ec1, SIG_ES)),
	    B0_ERR_UNSUPPORTED, "empty crit refused");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"b64\":false,"
		      "\"crit\":[\"b64\"]}",
		   good_pay, ec1, SIG_ES)),
	    B0_ERR_UNSUPPORTED, "crit b64 (RFC 7797) refused");
	for (i = 0; i < 4; i++) {
		is_int(vfy(mk(fmt("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"%s\":"
				  "\"https://evil.example/k\"}",
				  refused[i]),
			   good_pay, ec1, SIG_ES)),
		    B0_ERR_UNSUPPORTED, "header %s refused", refused[i]);
		has_str(em.text, refused[i], "header %s: message", refused[i]);
	}
	is_int(vfy(mk(fmt("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"jwk\":{%s}}",
			  ec_members(ec2)),
		   good_pay, ec2, SIG_ES)),
	    B0_ERR_UNSUPPORTED, "embedded jwk of the signing key refused");
	is_int(vfy(mk("{\"alg\":\"ES256\"}", good_pay, ec1, SIG_ES)),
	    B0_ERR_FORMAT, "kid missing");
	has_str(em.text, "kid is missing", "kid missing: message");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":1}", good_pay, ec1, SIG_ES)),
	    B0_ERR_FORMAT, "kid not a string");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec9\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_NOT_FOUND, "kid unknown");
	has_str(em.text, "\"ec9\"", "kid unknown: message names it");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"../../etc/passwd\"}",
		   good_pay, ec1, SIG_ES)),
	    B0_ERR_NOT_FOUND, "kid with path traversal is just unknown");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"/dev/zero\"}", good_pay,
		   ec1, SIG_ES)),
	    B0_ERR_NOT_FOUND, "kid naming a file is just unknown");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"EC1\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_NOT_FOUND, "kid is compared exactly");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec1 \"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_NOT_FOUND, "kid with a trailing space");
	is_int(
	    vfy(mk("{\"alg\":\"ES256\",\"kid\":\"\"}", good_pay, ec1, SIG_ES)),
	    B0_ERR_NOT_FOUND, "empty kid");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"x\\ny\"}", good_pay, ec1,
		   SIG_ES)),
	    B0_ERR_NOT_FOUND, "kid with a newline");
	ok(strchr(em.text, '\n') == NULL, "kid with a newline: message "
					  "has no newline");
	is_int(vfy(mk("{\"alg\":\"ES256\",\"kid\":\"ec1\\u0000\"}", good_pay,
		   ec1, SIG_ES)),
	    B0_ERR_FORMAT, "kid with \\u0000");
	{
		char big[600];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		is_int(vfy(mk(fmt("{\"alg\":\"ES256\",\"kid\":\"%s\"}", big),
			   good_pay, ec1, SIG_ES)),
		    B0_ERR_NOT_FOUND, "long unknown kid");
		ok(strlen(em.text) < 120, "long kid: message is truncated");
	}
}

static void
test_typ(void)
{
	static const struct {
		const char *typ; /* in the header; NULL: none */
		const char *want;
		int r;
	} t[] = {
	    {"b0-ticket+jwt", "b0-ticket+jwt", 0},
	    {"B0-Ticket+JWT", "b0-ticket+jwt", 0},
	    {"application/b0-ticket+jwt", "b0-ticket+jwt", 0},
	    {"Application/B0-TICKET+JWT", "b0-ticket+jwt", 0},
	    {"b0-ticket+jwt", "application/b0-ticket+jwt", 0},
	    {"JWT", "b0-ticket+jwt", B0_ERR_CLAIM},
	    {NULL, "b0-ticket+jwt", B0_ERR_CLAIM},
	    {"at+jwt", "b0-ticket+jwt", B0_ERR_CLAIM},
	    {"b0-ticket+jwt ", "b0-ticket+jwt", B0_ERR_CLAIM},
	    {"application/", "b0-ticket+jwt", B0_ERR_CLAIM},
	    {"x-b0-ticket+jwt", "b0-ticket+jwt", B0_ERR_CLAIM},
	    {"JWT", NULL, 0},
	    {"jwt", NULL, 0},
	    {"application/jwt", NULL, 0},
	    {NULL, NULL, 0},
	    {"b0-ticket+jwt", NULL, B0_ERR_CLAIM},
	    {"at+jwt", NULL, B0_ERR_CLAIM},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *h = t[i].typ == NULL
				    ? EC_HDR
				    : fmt("{\"alg\":\"ES256\",\"kid\":\"ec1\","
					  "\"typ\":\"%s\"}",
					  t[i].typ);

		is_int(vfy_typ(mk(h, good_pay, ec1, SIG_ES), t[i].want), t[i].r,
		    "typ %s%s%s, expecting %s", t[i].typ ? "\"" : "",
		    t[i].typ ? t[i].typ : "absent", t[i].typ ? "\"" : "",
		    t[i].want ? t[i].want : "JWT/none");
	}
	is_int(vfy_typ(mk("{\"alg\":\"ES256\",\"kid\":\"ec1\",\"typ\":7}",
			   good_pay, ec1, SIG_ES),
		   "b0-ticket+jwt"),
	    B0_ERR_FORMAT, "typ not a string");
	has_str(em.text, "typ", "typ: message");
}

static void
test_size(void)
{
	char *filler = keep(malloc(9000));
	const char *tok;
	size_t len;
	char *g;

	memset(filler, 'a', 8999);
	filler[8999] = '\0';
	tok = mk(EC_HDR, fmt("{\"iss\":\"" ISS "\",\"x\":\"%s\"}", filler), ec1,
	    SIG_ES);
	is_int(vfy(tok), B0_ERR_TOO_BIG, "token over 8 KiB");
	has_str(em.text, "8192", "too big: message");
	is_int(vfy_opts(tok, strlen(tok), NULL, 20000), 0,
	    "same token with a raised limit");
	tok = mk(EC_HDR, good_pay, ec1, SIG_ES);
	len = strlen(tok);
	is_int(vfy_opts(tok, len, NULL, len), 0, "token at the limit");
	is_int(vfy_opts(tok, len, NULL, len - 1), B0_ERR_TOO_BIG,
	    "token one byte over the limit");
	g = tap_guard(tok, len);
	is_int(vfy_opts(g, len, NULL, 0), 0, "token at a page end");
	tap_unguard(g, len);
	g = tap_guard(tok, len - 1);
	is_int(vfy_opts(g, len - 1, NULL, 0), B0_ERR_FORMAT,
	    "token short of a character at a page end (4k+1)");
	tap_unguard(g, len - 1);
	g = tap_guard(tok, len - 2);
	is_int(vfy_opts(g, len - 2, NULL, 0), B0_ERR_SIGNATURE,
	    "token short of two characters at a page end (63 bytes)");
	tap_unguard(g, len - 2);
	g = tap_guard(tok, 20);
	is_int(vfy_opts(g, 20, NULL, 0), B0_ERR_FORMAT,
	    "token prefix at a page end");
	tap_unguard(g, 20);
	g = tap_guard("a.b.", 4);
	is_int(vfy_opts(g, 4, NULL, 0), B0_ERR_FORMAT, "a.b. at a page end");
	tap_unguard(g, 4);
	g = tap_guard(tok, 0);
	is_int(vfy_opts(g, 0, NULL, 0), B0_ERR_FORMAT, "empty at a page end");
	tap_unguard(g, 0);
	{
		struct b0_jwt *t = (struct b0_jwt *)1; /* must be cleared */

		is_int(b0_jwt_verify(tok, len, NULL, NULL, &t, &em), B0_ERR_ARG,
		    "verify without a key set");
		ok(t == NULL, "output cleared on error");
	}
}

/* Check claims of the JSON text pay. */
static int
claims(const char *pay, const char *iss, const char *aud, int64_t now,
    unsigned skew, int64_t max_lifetime)
{
	struct b0_jwt_claims c = {iss, aud, now, skew, max_lifetime};
	struct b0_json *j = NULL;
	int r;

	if (b0_json_parse(pay, strlen(pay), NULL, &j, NULL) != 0) {
		tap_diag("bad test JSON: %s", pay);
		return -9999;
	}
	b0_err_clear(&em);
	r = b0_jwt_check_claims(j, 0, &c, &em);
	b0_json_free(j);
	return r;
}

/* Claims with iss and aud good and the given time members. */
static int
times(const char *members, unsigned skew, int64_t max_lifetime)
{
	return claims(fmt("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"%s%s}",
			  *members ? "," : "", members),
	    ISS, AUD, NOW, skew, max_lifetime);
}

static void
test_claims_time(void)
{
	is_int(claims(good_pay, ISS, AUD, NOW, 0, 0), 0, "good claims");
	is_int(claims(good_pay, ISS, AUD, NOW, 60, 600), 0,
	    "good claims, lifetime at the limit");
	is_int(times("\"exp\":1699996400", 60, 0), B0_ERR_EXPIRED,
	    "exp an hour ago");
	has_str(em.text, "exp 1699996400", "exp past: message names exp");
	is_int(times("\"exp\":1700000000", 0, 0), B0_ERR_EXPIRED,
	    "exp exactly now, no skew");
	is_int(times("\"exp\":1700000001", 0, 0), 0, "exp a second ahead");
	is_int(times("\"exp\":1699999941", 60, 0), 0,
	    "exp 59 s ago, within 60 s skew");
	is_int(times("\"exp\":1699999940", 60, 0), B0_ERR_EXPIRED,
	    "exp 60 s ago, at the skew");
	is_int(times("\"exp\":1699999701", 300, 0), 0,
	    "exp 299 s ago, within 300 s skew");
	is_int(times("\"exp\":1699999700", 300, 0), B0_ERR_EXPIRED,
	    "exp 300 s ago, at 300 s skew");
	is_int(times("\"exp\":0", 60, 0), B0_ERR_EXPIRED, "exp 0");
	is_int(times("\"exp\":1700000600,\"nbf\":1700003600", 60, 0),
	    B0_ERR_NOT_YET_VALID, "nbf an hour ahead");
	has_str(em.text, "nbf", "nbf future: message");
	is_int(times("\"exp\":1700000600,\"nbf\":1700000060", 60, 0), 0,
	    "nbf 60 s ahead, within skew");
	is_int(times("\"exp\":1700000600,\"nbf\":1700000061", 60, 0),
	    B0_ERR_NOT_YET_VALID, "nbf 61 s ahead, beyond skew");
	is_int(times("\"exp\":1700000600,\"nbf\":1700000000", 0, 0), 0,
	    "nbf exactly now");
	is_int(times("\"exp\":1700009000,\"iat\":1700003600", 60, 0),
	    B0_ERR_NOT_YET_VALID, "iat an hour ahead");
	has_str(em.text, "iat", "iat future: message");
	is_int(times("\"exp\":1700000600,\"iat\":1700000030", 60, 0), 0,
	    "iat 30 s ahead, within skew");
	is_int(times("\"exp\":\"1700000600\"", 60, 0), B0_ERR_CLAIM,
	    "exp as a string");
	has_str(em.text, "exp", "exp string: message");
	is_int(times("\"exp\":1700000600.5", 60, 0), B0_ERR_CLAIM,
	    "exp with a fraction");
	is_int(times("\"exp\":1.5", 60, 0), B0_ERR_CLAIM, "exp 1.5");
	is_int(times("\"exp\":1.7e9", 60, 0), B0_ERR_CLAIM,
	    "exp with an exponent");
	is_int(times("\"exp\":true", 60, 0), B0_ERR_CLAIM, "exp true");
	is_int(times("\"exp\":null", 60, 0), B0_ERR_CLAIM, "exp null");
	is_int(
	    times("\"exp\":[1700000600]", 60, 0), B0_ERR_CLAIM, "exp an array");
	is_int(times("\"exp\":-1", 60, 0), B0_ERR_CLAIM, "exp negative");
	is_int(times("\"exp\":99999999999999999999", 60, 0), B0_ERR_CLAIM,
	    "exp beyond int64");
	is_int(
	    times("\"exp\":9223372036854775807", 60, 0), 0, "exp at INT64_MAX");
	is_int(times("", 60, 0), B0_ERR_CLAIM, "exp missing");
	has_str(em.text, "exp is missing", "exp missing: message");
	is_int(times("\"nbf\":1699999000", 60, 0), B0_ERR_CLAIM,
	    "exp missing, nbf present");
	is_int(times("\"exp\":1700000600,\"nbf\":\"0\"", 60, 0), B0_ERR_CLAIM,
	    "nbf as a string");
	is_int(times("\"exp\":1700000600,\"iat\":1.5", 60, 0), B0_ERR_CLAIM,
	    "iat 1.5");
	is_int(times("\"exp\":1700000600,\"iat\":false", 60, 0), B0_ERR_CLAIM,
	    "iat false");
	is_int(times("\"exp\":1700000050,\"iat\":1700000100", 300, 0),
	    B0_ERR_CLAIM, "exp before iat");
	is_int(times("\"exp\":1700000600,\"iat\":1700000000", 60, 300),
	    B0_ERR_CLAIM, "lifetime 600 s above a 300 s maximum");
	has_str(em.text, "lifetime", "lifetime: message");
	is_int(times("\"exp\":1700000300,\"iat\":1700000000", 60, 300), 0,
	    "lifetime at the maximum");
	is_int(times("\"exp\":1700000300", 60, 300), B0_ERR_CLAIM,
	    "maximum lifetime needs iat");
}

static void
test_claims_iss_aud(void)
{
	static const char *const bad_iss[] = {"https://edge.example.com/",
	    "http://edge.example.com", "https://Edge.example.com",
	    "HTTPS://edge.example.com", "https://edge.example.com.",
	    "https://edge.example.co", "https://edge.example.com:443",
	    " https://edge.example.com", ""};
	size_t i;

	for (i = 0; i < sizeof(bad_iss) / sizeof(bad_iss[0]); i++) {
		is_int(claims(fmt("{\"iss\":\"%s\",\"aud\":\"" AUD "\","
				  "\"exp\":1700000600}",
				  bad_iss[i]),
			   ISS, AUD, NOW, 60, 0),
		    B0_ERR_CLAIM, "iss \"%s\" is not " ISS, bad_iss[i]);
	}
	has_str(em.text, "iss", "iss mismatch: message");
	is_int(claims("{\"aud\":\"" AUD "\",\"exp\":1700000600}", ISS, AUD, NOW,
		   60, 0),
	    B0_ERR_CLAIM, "iss missing");
	is_int(claims("{\"iss\":[\"" ISS "\"],\"aud\":\"" AUD "\","
		      "\"exp\":1700000600}",
		   ISS, AUD, NOW, 60, 0),
	    B0_ERR_CLAIM, "iss an array");
	is_int(claims("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\","
		      "\"exp\":1700000600}",
		   ISS "/", AUD, NOW, 60, 0),
	    B0_ERR_CLAIM, "expected iss with a slash, token without");

#define AUDC(aud_json, extra)                                                  \
	claims("{\"iss\":\"" ISS "\",\"aud\":" aud_json                        \
	       ",\"exp\":1700000600" extra "}",                                \
	    ISS, AUD, NOW, 60, 0)
	is_int(AUDC("\"" AUD "\"", ""), 0, "aud string");
	is_int(AUDC("\"other\"", ""), B0_ERR_CLAIM, "aud other string");
	has_str(em.text, "aud", "aud mismatch: message");
	is_int(AUDC("\"B0-EDGE\"", ""), B0_ERR_CLAIM, "aud differs in case");
	is_int(AUDC("\"" AUD " \"", ""), B0_ERR_CLAIM, "aud trailing space");
	is_int(AUDC("[\"" AUD "\"]", ""), 0, "aud array of one");
	is_int(AUDC("[\"other\",\"" AUD "\"]", ""), B0_ERR_CLAIM,
	    "aud array of two without azp");
	has_str(em.text, "azp", "aud array without azp: message");
	is_int(AUDC("[\"other\",\"" AUD "\"]", ",\"azp\":\"" AUD "\""), 0,
	    "aud array of two with azp = us");
	is_int(AUDC("[\"other\",\"" AUD "\"]", ",\"azp\":\"other\""),
	    B0_ERR_CLAIM, "aud array of two with azp = other");
	is_int(AUDC("[\"other\",\"" AUD "\"]", ",\"azp\":[\"" AUD "\"]"),
	    B0_ERR_CLAIM, "azp not a string");
	is_int(AUDC("[\"other\"]", ""), B0_ERR_CLAIM, "aud array without us");
	is_int(AUDC("[\"other\",\"more\"]", ",\"azp\":\"" AUD "\""),
	    B0_ERR_CLAIM, "azp = us but aud without us");
	is_int(AUDC("[]", ""), B0_ERR_CLAIM, "aud empty array");
	is_int(AUDC("[\"" AUD "\",1]", ",\"azp\":\"" AUD "\""), B0_ERR_CLAIM,
	    "aud array with a number");
	is_int(AUDC("[[\"" AUD "\"]]", ""), B0_ERR_CLAIM, "aud nested array");
	is_int(AUDC("1", ""), B0_ERR_CLAIM, "aud a number");
	is_int(AUDC("null", ""), B0_ERR_CLAIM, "aud null");
	is_int(AUDC("{\"" AUD "\":1}", ""), B0_ERR_CLAIM, "aud an object");
	is_int(claims("{\"iss\":\"" ISS "\",\"exp\":1700000600}", ISS, AUD, NOW,
		   60, 0),
	    B0_ERR_CLAIM, "aud missing");
#undef AUDC
}

static void
test_claims_args(void)
{
	struct b0_jwt_claims c = {ISS, AUD, NOW, 60, 0};
	struct b0_json *j = NULL;

	is_int(claims(good_pay, ISS, AUD, NOW, 300, 0), 0, "skew 300 allowed");
	is_int(claims(good_pay, ISS, AUD, NOW, 301, 0), B0_ERR_ARG,
	    "skew 301 refused");
	has_str(em.text, "300", "skew: message");
	is_int(claims(good_pay, ISS, AUD, NOW, 100000, 0), B0_ERR_ARG,
	    "skew of a day refused");
	is_int(claims(good_pay, NULL, AUD, NOW, 60, 0), B0_ERR_ARG,
	    "iss NULL refused");
	is_int(claims(good_pay, ISS, NULL, NOW, 60, 0), B0_ERR_ARG,
	    "aud NULL refused");
	is_int(claims(good_pay, ISS, AUD, -1, 60, 0), B0_ERR_ARG,
	    "negative now refused");
	is_int(claims(good_pay, ISS, AUD, NOW, 60, -1), B0_ERR_ARG,
	    "negative max lifetime refused");
	if (b0_json_parse("[1]", 3, NULL, &j, NULL) != 0)
		exit(2);
	is_int(b0_jwt_check_claims(j, 0, &c, &em), B0_ERR_FORMAT,
	    "claims of an array");
	is_int(b0_jwt_check_claims(j, 0, NULL, &em), B0_ERR_ARG,
	    "claims without expectations");
	b0_json_free(j);
}

static void
test_jwks(void)
{
	const char *ec = ec_members(ec1), *ec_b = ec_members(ec2);
	const char *rsa = rsa_members(rsa1);
	struct b0_jwks *s = NULL;
	const struct b0_jwk *k;
	size_t n;
	char *doc;

	doc = fmt("{\"keys\":[{%s,\"kid\":\"a\",\"use\":\"sig\",\"alg\":"
		  "\"ES256\"},{%s,\"kid\":\"b\",\"alg\":\"RS256\"}]}",
	    ec, rsa);
	is_int(b0_jwks_parse(doc, strlen(doc), &s, &em), 0, "good set");
	is_int(b0_jwks_count(s), 2, "good set: two keys");
	k = b0_jwks_find(s, "a");
	ok(k != NULL && b0_jwk_alg(k) == B0_JWK_ES256 &&
		strcmp(b0_jwk_kid(k), "a") == 0,
	    "EC key is ES256");
	ok(k != NULL && EVP_PKEY_eq(b0_jwk_pkey(k), ec1) == 1,
	    "EC key equals the original");
	k = b0_jwks_find(s, "b");
	ok(k != NULL && b0_jwk_alg(k) == B0_JWK_RS256, "RSA key is RS256");
	ok(k != NULL && EVP_PKEY_eq(b0_jwk_pkey(k), rsa1) == 1,
	    "RSA key equals the original");
	ok(b0_jwks_find(s, "c") == NULL, "find unknown kid");
	ok(b0_jwks_get(s, 1) == k && b0_jwks_get(s, 2) == NULL, "get by index");
	b0_jwks_free(s);
	b0_jwks_free(NULL);

	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\"},{%s,\"kid\":\"a\"}]}",
		   ec, ec_b)),
	    B0_ERR_EXISTS, "duplicate kid");
	has_str(em.text, "\"a\"", "duplicate kid: message");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\"},{%s,\"kid\":\"a\"}]}",
		   ec, rsa)),
	    B0_ERR_EXISTS, "duplicate kid across key types");
	is_int(
	    jwks(fmt("{\"keys\":[{%s}]}", ec)), B0_ERR_FORMAT, "missing kid");
	has_str(em.text, "kid", "missing kid: message");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"\"}]}", ec)), B0_ERR_FORMAT,
	    "empty kid");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":7}]}", ec)), B0_ERR_FORMAT,
	    "kid a number");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\\u0001b\"}]}", ec)),
	    B0_ERR_FORMAT, "kid with a control character");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"caf\\u00e9\"}]}", ec)),
	    B0_ERR_FORMAT, "kid with non-ASCII");
	{
		char big[B0_JWK_KID_MAX + 2];

		memset(big, 'k', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"%s\"}]}", ec, big)),
		    B0_ERR_FORMAT, "kid of %d bytes", B0_JWK_KID_MAX + 1);
		big[sizeof(big) - 2] = '\0';
		is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"%s\"}]}", ec, big)),
		    0, "kid of %d bytes", B0_JWK_KID_MAX);
	}
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\",\"d\":\"%s\"}]}", ec,
		   bn_param(ec1, OSSL_PKEY_PARAM_PRIV_KEY, 32))),
	    B0_ERR_KEY, "EC private key in a set");
	has_str(em.text, "private", "private key: message");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"b\",\"p\":\"AQAB\"}]}", rsa)),
	    B0_ERR_KEY, "RSA prime in a set");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\"},{\"kty\":\"OKP\","
			"\"crv\":\"Ed25519\",\"x\":\"AA\",\"d\":\"AA\","
			"\"kid\":\"o\"}]}",
		   ec)),
	    B0_ERR_KEY, "private part even on an unsupported key");

	{
		char *x = bn_param(ec1, OSSL_PKEY_PARAM_EC_PUB_X, 32);
		char *y = bn_param(ec1, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		char *y2 = fmt("%s", y);
		uint8_t y33[33];

		memset(y33, 0x5a, sizeof(y33));

		/* Flip a bit that the last base64url character carries. */
		y2[40] = y2[40] == 'A' ? 'B' : 'A';
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				"\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"a\"}]}",
			   x, y2)),
		    B0_ERR_KEY, "point not on the curve");
		has_str(em.text, "P-256", "bad point: message");
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				"\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"a\"}]}",
			   b64("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			       "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
			       32),
			   b64("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
			       "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
			       32))),
		    B0_ERR_KEY, "point (0, 0)");
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				"\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"a\"}]}",
			   x, b64("\1", 1))),
		    B0_ERR_KEY, "y of one byte");
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				"\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"a\"}]}",
			   x, b64(y33, 33))),
		    B0_ERR_KEY, "y of 33 bytes");
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				"\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"a\"}]}",
			   b64(y33, 31), y)),
		    B0_ERR_KEY, "x of 31 bytes");
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				"\"x\":\"%s=\",\"y\":\"%s\",\"kid\":\"a\"}]}",
			   x, y)),
		    B0_ERR_FORMAT, "x with padding");
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
				"\"y\":\"%s\",\"kid\":\"a\"}]}",
			   y)),
		    B0_ERR_FORMAT, "x missing");
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"x\":\"%s\","
				"\"y\":\"%s\",\"kid\":\"a\"}]}",
			   x, y)),
		    B0_ERR_FORMAT, "crv missing");
	}
	is_int(jwks(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\","
			"\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"p384\"}]}",
		   bn_param(p384, OSSL_PKEY_PARAM_EC_PUB_X, 48),
		   bn_param(p384, OSSL_PKEY_PARAM_EC_PUB_Y, 48))),
	    B0_ERR_KEY, "only a P-384 key: no usable key");
	has_str(em.text, "no usable key", "P-384 only: message");
	has_str(em.text, "P-384", "P-384 only: message names the curve");
	is_int(jwks_count(fmt("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\","
			      "\"x\":\"%s\",\"y\":\"%s\",\"kid\":\"p384\"},"
			      "{%s,\"kid\":\"a\"}]}",
			      bn_param(p384, OSSL_PKEY_PARAM_EC_PUB_X, 48),
			      bn_param(p384, OSSL_PKEY_PARAM_EC_PUB_Y, 48), ec),
		   &n),
	    0, "P-384 key skipped next to a P-256 key");
	is_int(n, 1, "P-384 skipped: one key left");
	is_int(jwks(fmt(
		   "{\"keys\":[{%s,\"kid\":\"weak\"}]}", rsa_members(rsa1024))),
	    B0_ERR_KEY, "RSA-1024 refused");
	has_str(em.text, "1024", "RSA-1024: message names the size");
	is_int(jwks(fmt("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":"
			"\"AQAA\",\"kid\":\"r\"}]}",
		   bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, 0))),
	    B0_ERR_KEY, "RSA e = 65536 (even)");
	is_int(jwks(fmt("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":"
			"\"AQ\",\"kid\":\"r\"}]}",
		   bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, 0))),
	    B0_ERR_KEY, "RSA e = 1");
	is_int(jwks(fmt("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":"
			"\"AQAAAAAB\",\"kid\":\"r\"}]}",
		   bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, 0))),
	    B0_ERR_KEY, "RSA e of 40 bits");
	is_int(jwks(fmt("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":"
			"\"Aw\",\"kid\":\"r\"}]}",
		   bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, 0))),
	    0, "RSA e = 3 accepted");
	{
		uint8_t even[256];
		BIGNUM *nb = NULL;

		if (EVP_PKEY_get_bn_param(rsa1, OSSL_PKEY_PARAM_RSA_N, &nb) !=
		    1)
			exit(2);
		BN_bn2binpad(nb, even, 256);
		BN_free(nb);
		even[255] &= 0xfe;
		is_int(jwks(fmt("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\","
				"\"e\":\"AQAB\",\"kid\":\"r\"}]}",
			   b64(even, 256))),
		    B0_ERR_KEY, "RSA even modulus");
	}
	is_int(
	    jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\",\"alg\":\"RS256\"}]}", ec)),
	    B0_ERR_KEY, "EC key with alg RS256");
	has_str(em.text, "RS256", "alg mismatch: message");
	is_int(
	    jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\",\"alg\":\"ES384\"}]}", ec)),
	    B0_ERR_KEY, "P-256 key with alg ES384");
	is_int(
	    jwks(fmt("{\"keys\":[{%s,\"kid\":\"b\",\"alg\":\"ES256\"}]}", rsa)),
	    B0_ERR_KEY, "RSA key with alg ES256");
	is_int(
	    jwks(fmt("{\"keys\":[{%s,\"kid\":\"b\",\"alg\":\"HS256\"}]}", rsa)),
	    B0_ERR_KEY, "RSA key with alg HS256");
	is_int(
	    jwks(fmt("{\"keys\":[{%s,\"kid\":\"b\",\"alg\":\"PS256\"}]}", rsa)),
	    B0_ERR_KEY, "RSA key with alg PS256");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\",\"alg\":1}]}", ec)),
	    B0_ERR_FORMAT, "alg a number");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\",\"use\":\"enc\"}]}", ec)),
	    B0_ERR_KEY, "only a use=enc key: no usable key");
	has_str(em.text, "enc", "use enc: message");
	is_int(jwks_count(fmt("{\"keys\":[{%s,\"kid\":\"enc\",\"use\":\"enc\","
			      "\"alg\":\"RSA-OAEP\"},{%s,\"kid\":\"sig\","
			      "\"use\":\"sig\",\"alg\":\"RS256\"}]}",
			      rsa, rsa),
		   &n),
	    0, "Keycloak-style set: enc key skipped");
	is_int(n, 1, "Keycloak-style set: one key");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\",\"use\":true}]}", ec)),
	    B0_ERR_FORMAT, "use not a string");
	is_int(jwks("{\"keys\":[]}"), B0_ERR_KEY, "empty set");
	has_str(em.text, "no keys", "empty set: message");
	is_int(jwks("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":"
		    "\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\","
		    "\"kid\":\"ed\"},{\"kty\":\"oct\",\"k\":\"c2VjcmV0\","
		    "\"kid\":\"hs\"}]}"),
	    B0_ERR_KEY, "only OKP and oct keys: no usable key");
	has_str(em.text, "2 skipped", "unsupported only: message");
	is_int(jwks("{\"keys\":[{\"crv\":\"P-256\",\"kid\":\"a\"}]}"),
	    B0_ERR_FORMAT, "kty missing");
	is_int(jwks("{\"keys\":[\"a\"]}"), B0_ERR_FORMAT, "key a string");
	is_int(jwks("{\"keys\":{}}"), B0_ERR_FORMAT, "keys an object");
	is_int(jwks("{}"), B0_ERR_FORMAT, "no keys member");
	is_int(jwks("[]"), B0_ERR_FORMAT, "top level array");
	is_int(jwks("garbage"), B0_ERR_FORMAT, "garbage");
	is_int(jwks(""), B0_ERR_FORMAT, "empty document");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\"}]}x", ec)), B0_ERR_FORMAT,
	    "trailing garbage");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\"}],\"keys\":[]}", ec)),
	    B0_ERR_FORMAT, "duplicate keys member");
	is_int(jwks(fmt("{\"keys\":[{%s,\"kid\":\"a\",\"kid\":\"b\"}]}", ec)),
	    B0_ERR_FORMAT, "duplicate kid member in one key");
	is_int(jwks_count(fmt("{\"keys\":[{%s,\"kid\":\"ms\",\"use\":\"sig\","
			      "\"x5t\":\"abc\",\"x5c\":[\"MIIB\"],"
			      "\"issuer\":\"https://login.example\"}]}",
			      rsa),
		   &n),
	    0, "extra members (x5c, x5t) in a key are ignored");
	{
		char *big = keep(malloc(B0_JWKS_MAX_BYTES + 100));

		memset(big, ' ', B0_JWKS_MAX_BYTES + 99);
		memcpy(big, "{\"keys\":[]}", 11);
		big[B0_JWKS_MAX_BYTES + 99] = '\0';
		is_int(jwks(big), B0_ERR_TOO_BIG, "set over 64 KiB");
	}
	{
		struct b0_buf *b = b0_buf_new(B0_JWKS_MAX_BYTES);
		int i;

		b0_buf_put_str(b, "{\"keys\":[");
		for (i = 0; i <= B0_JWKS_MAX_KEYS; i++)
			b0_buf_putf(
			    b, "%s{%s,\"kid\":\"k%d\"}", i ? "," : "", ec, i);
		b0_buf_put_str(b, "]}");
		b0_buf_put_u8(b, 0);
		is_int(jwks((const char *)b0_buf_ptr(b)), B0_ERR_TOO_BIG,
		    "more than %d keys", B0_JWKS_MAX_KEYS);
		b0_buf_free(b);
	}
}

static void
test_keys(void)
{
	struct b0_jwks *s = b0_jwks_new();
	struct b0_buf *b = b0_buf_new(8192);
	struct b0_jsonw w;
	enum b0_jwk_alg alg;
	char tp[B0_JWK_THUMBPRINT_SIZE], tp2[B0_JWK_THUMBPRINT_SIZE];
	const struct b0_jwk *k;
	BIGNUM *priv = NULL;
	EVP_PKEY *gen = NULL;
	struct b0_jwks *parsed = NULL;

	is_int(b0_jwk_pkey_alg(ec1, &alg, &em), 0, "P-256 classifies");
	is_int(alg, B0_JWK_ES256, "P-256 is ES256");
	is_int(b0_jwk_pkey_alg(rsa1, &alg, &em), 0, "RSA-2048 classifies");
	is_int(alg, B0_JWK_RS256, "RSA-2048 is RS256");
	is_int(b0_jwk_pkey_alg(p384, &alg, &em), B0_ERR_KEY, "P-384 refused");
	has_str(em.text, "secp384r1", "P-384: message");
	is_int(b0_jwk_pkey_alg(rsa1024, &alg, &em), B0_ERR_KEY,
	    "RSA-1024 refused");
	is_str(b0_jwk_alg_name(B0_JWK_RS256), "RS256", "alg name");
	is_str(b0_jwk_alg_name(0), "?", "alg name of nothing");

	is_int(b0_jwks_add(s, ec1, "mine", &em), 0, "add a private key");
	k = b0_jwks_find(s, "mine");
	ok(k != NULL && EVP_PKEY_get_bn_param(b0_jwk_pkey(k),
			    OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1,
	    "the set holds only the public half");
	ERR_clear_error();
	BN_free(priv);
	is_int(b0_jwks_add(s, ec2, "mine", &em), B0_ERR_EXISTS,
	    "add under a taken kid");
	is_int(b0_jwks_add(s, p384, "p384", &em), B0_ERR_KEY, "add P-384");
	is_int(
	    b0_jwks_add(s, rsa1024, "weak", &em), B0_ERR_KEY, "add RSA-1024");
	is_int(b0_jwks_add(s, ec2, "", &em), B0_ERR_ARG, "add with empty kid");
	is_int(b0_jwks_add(s, ec2, "a\nb", &em), B0_ERR_ARG,
	    "add with a newline in kid");
	is_int(b0_jwks_count(s), 1, "failed adds leave the set alone");
	b0_jwks_free(s);

	/* RFC 7638 section 3.1. */
	{
		const char *rfc =
		    "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJXZ"
		    "ptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhD"
		    "R1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n"
		    "9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic"
		    "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qN"
		    "Lyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIq"
		    "bw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\","
		    "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}]}";

		is_int(b0_jwks_parse(rfc, strlen(rfc), &parsed, &em), 0,
		    "RFC 7638 example key parses");
		if (parsed != NULL) {
			is_int(b0_jwk_thumbprint(
				   b0_jwk_pkey(b0_jwks_get(parsed, 0)), tp,
				   sizeof(tp)),
			    0, "RFC 7638 thumbprint");
			is_str(tp,
			    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
			    "RFC 7638 thumbprint value");
		}
		b0_jwks_free(parsed);
		parsed = NULL;
	}
	is_int(b0_jwk_thumbprint(ec1, tp, sizeof(tp)), 0, "EC thumbprint");
	is_int(strlen(tp), 43, "EC thumbprint length");
	is_int(b0_jwk_thumbprint(ec1, tp2, 43), B0_ERR_TOO_BIG,
	    "thumbprint needs 44 bytes");
	is_int(b0_jwk_thumbprint(p384, tp2, sizeof(tp2)), B0_ERR_KEY,
	    "no thumbprint for P-384");

	b0_jsonw_init(&w, b);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "keys");
	b0_jsonw_arr_begin(&w);
	is_int(b0_jwk_write(&w, ec1, tp), 0, "write EC JWK");
	is_int(b0_jwk_write(&w, rsa1, "rsa"), 0, "write RSA JWK");
	is_int(b0_jwk_write(&w, p384, "p384"), B0_ERR_KEY,
	    "write P-384 JWK refused");
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	is_int(b0_jsonw_finish(&w), 0, "JWKS written");
	b0_buf_put_u8(b, 0);
	{
		const char *doc = (const char *)b0_buf_ptr(b);

		ok(strstr(doc, "\"d\"") == NULL, "written JWKS has no d");
		has_str(doc, "\"use\":\"sig\"", "written JWKS has use sig");
		has_str(doc, "\"alg\":\"ES256\"", "written JWKS has ES256");
		has_str(doc, "\"crv\":\"P-256\"", "written JWKS has crv");
		is_int(b0_jwks_parse(doc, strlen(doc), &parsed, &em), 0,
		    "written JWKS parses");
		k = b0_jwks_find(parsed, tp);
		ok(k != NULL && EVP_PKEY_eq(b0_jwk_pkey(k), ec1) == 1,
		    "written EC key round-trips");
		ok(k != NULL &&
			b0_jwk_thumbprint(b0_jwk_pkey(k), tp2, sizeof(tp2)) ==
			    0 &&
			strcmp(tp, tp2) == 0,
		    "thumbprint survives the round trip");
		k = b0_jwks_find(parsed, "rsa");
		ok(k != NULL && EVP_PKEY_eq(b0_jwk_pkey(k), rsa1) == 1,
		    "written RSA key round-trips");
		b0_jwks_free(parsed);
	}
	b0_buf_free(b);

	is_int(b0_jwk_generate(&gen, &em), 0, "generate");
	is_int(b0_jwk_pkey_alg(gen, &alg, &em), 0, "generated key classifies");
	is_int(alg, B0_JWK_ES256, "generated key is ES256");
	EVP_PKEY_free(gen);
}

static void
test_sign(void)
{
	struct b0_jwks *s = b0_jwks_new();
	struct b0_jwks *saved = set;
	char *tok = NULL;
	int i, bad = 0;
	char *big;

	is_int(b0_jwt_sign_es256(
		   ec1, "ec1", NULL, good_pay, strlen(good_pay), &tok, &em),
	    0, "sign");
	if (tok != NULL) {
		is_int(vfy(tok), 0, "signed token verifies");
		ok(strncmp(tok, "eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSJ9.", 37) ==
			0,
		    "header is {\"alg\":\"ES256\",\"kid\":\"ec1\"}");
		is_int(strlen(strrchr(tok, '.') + 1), 86,
		    "signature is 86 characters (64 bytes)");
		b0_str_wipe_free(tok);
	}
	is_int(b0_jwt_sign_es256(ec1, "ec1", "b0-ticket+jwt", good_pay,
		   strlen(good_pay), &tok, &em),
	    0, "sign with typ");
	if (tok != NULL) {
		is_int(vfy_typ(tok, "b0-ticket+jwt"), 0,
		    "ticket verifies as a ticket");
		is_int(vfy(tok), B0_ERR_CLAIM,
		    "ticket does not verify as a plain token");
		b0_str_wipe_free(tok);
	}
	/* Enough signatures that some r or s is shorter than 32 bytes. */
	for (i = 0; i < 600; i++) {
		if (b0_jwt_sign_es256(ec2, "k", NULL, "{}", 2, &tok, &em) !=
		    0) {
			bad++;
			continue;
		}
		set = s;
		if (i == 0 && b0_jwks_add(s, ec2, "k", &em) != 0)
			bad++;
		if (vfy(tok) != 0)
			bad++;
		set = saved;
		b0_str_wipe_free(tok);
	}
	is_int(bad, 0, "600 signatures verify (left-padded r and s)");
	b0_jwks_free(s);

	is_int(b0_jwt_sign_es256(rsa1, "r", NULL, "{}", 2, &tok, &em),
	    B0_ERR_KEY, "sign with RSA refused");
	is_int(b0_jwt_sign_es256(p384, "p", NULL, "{}", 2, &tok, &em),
	    B0_ERR_KEY, "sign with P-384 refused");
	is_int(b0_jwt_sign_es256(b0_jwk_pkey(b0_jwks_find(set, "ec1")), "p",
		   NULL, "{}", 2, &tok, &em),
	    B0_ERR_KEY, "sign with a public key refused");
	is_int(b0_jwt_sign_es256(ec1, "k", NULL, "[1]", 3, &tok, &em),
	    B0_ERR_ARG, "sign an array payload refused");
	is_int(b0_jwt_sign_es256(
		   ec1, "k", NULL, "{\"a\":1,\"a\":2}", 13, &tok, &em),
	    B0_ERR_ARG, "sign a payload with duplicate claims refused");
	is_int(b0_jwt_sign_es256(ec1, "k", NULL, "{", 1, &tok, &em), B0_ERR_ARG,
	    "sign garbage refused");
	is_int(b0_jwt_sign_es256(ec1, NULL, NULL, "{}", 2, &tok, &em),
	    B0_ERR_ARG, "sign without kid refused");
	is_int(b0_jwt_sign_es256(ec1, "a\"b\nc", NULL, "{}", 2, &tok, &em),
	    B0_ERR_ARG, "sign with a control character in kid refused");
	is_int(b0_jwt_sign_es256(ec1, "k", "", "{}", 2, &tok, &em), B0_ERR_ARG,
	    "sign with empty typ refused");
	big = keep(malloc(8000));
	memset(big, ' ', 7999);
	big[0] = '{';
	big[7998] = '}';
	big[7999] = '\0';
	is_int(b0_jwt_sign_es256(ec1, "k", NULL, big, 7999, &tok, &em),
	    B0_ERR_TOO_BIG, "sign a token over 8 KiB refused");
	ok(tok == NULL, "no token after an error");
}

static void
test_pem(void)
{
	char dir[] = "/tmp/test_jwt.XXXXXX";
	char *path, *pub, *p384path, *link;
	struct stat st;
	EVP_PKEY *k = NULL;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		exit(2);
	path = fmt("%s/key.pem", dir);
	pub = fmt("%s/pub.pem", dir);
	p384path = fmt("%s/p384.pem", dir);
	link = fmt("%s/link.pem", dir);

	is_int(b0_jwk_save_private(path, ec1, &em), 0, "save private key");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "saved with mode 0600");
	is_int(b0_jwk_save_private(path, ec2, &em), 0, "save over a key");
	is_int(b0_jwk_load_private(path, &k, &em), 0, "load private key");
	ok(k != NULL && EVP_PKEY_eq(k, ec2) == 1,
	    "loaded key is the saved one");
	EVP_PKEY_free(k);
	k = NULL;
	is_int(b0_jwk_save_private(
		   path, b0_jwk_pkey(b0_jwks_find(set, "ec1")), &em),
	    B0_ERR_KEY, "save a public key refused");
	is_int(b0_jwk_save_private(p384path, p384, &em), B0_ERR_KEY,
	    "save a P-384 key refused");
	is_int(chmod(path, 0644), 0, "chmod 644");
	is_int(b0_jwk_load_private(path, &k, &em), B0_ERR_PERM,
	    "load a group-readable key refused");
	has_str(em.text, "chmod", "permissions: message");
	chmod(path, 0600);
	is_int(symlink(path, link), 0, "symlink");
	ok(b0_jwk_load_private(link, &k, &em) < 0 && k == NULL,
	    "load through a symlink refused");
	is_int(b0_jwk_load_private(fmt("%s/none.pem", dir), &k, &em),
	    B0_ERR_SYS(ENOENT), "load a missing file");
	if ((f = fopen(pub, "w")) == NULL || PEM_write_PUBKEY(f, ec1) != 1)
		exit(2);
	fclose(f);
	chmod(pub, 0600);
	is_int(b0_jwk_load_private(pub, &k, &em), B0_ERR_FORMAT,
	    "load a public key PEM refused");
	if ((f = fopen(p384path, "w")) == NULL ||
	    PEM_write_PrivateKey(f, p384, NULL, NULL, 0, NULL, NULL) != 1)
		exit(2);
	fclose(f);
	chmod(p384path, 0600);
	is_int(b0_jwk_load_private(p384path, &k, &em), B0_ERR_KEY,
	    "load a P-384 private key refused");
	if ((f = fopen(p384path, "w")) == NULL ||
	    PEM_write_PrivateKey(f, ec1, EVP_aes_128_cbc(),
		(unsigned char *)"pw", 2, NULL, NULL) != 1)
		exit(2);
	fclose(f);
	is_int(b0_jwk_load_private(p384path, &k, &em), B0_ERR_FORMAT,
	    "load an encrypted key refused without prompting");
	ok(ERR_peek_error() == 0, "OpenSSL error queue drained");
	unlink(path);
	unlink(pub);
	unlink(p384path);
	unlink(link);
	rmdir(dir);
}

int
main(void)
{
	setup();
	test_good();
	test_alg_none();
	test_alg_confusion();
	test_structure();
	test_es256_sig();
	test_rs256_sig();
	test_header_params();
	test_typ();
	test_size();
	test_claims_time();
	test_claims_iss_aud();
	test_claims_args();
	test_jwks();
	test_keys();
	test_sign();
	test_pem();
	ok(ERR_peek_error() == 0, "OpenSSL error queue is empty at the end");
	b0_jwks_free(set);
	EVP_PKEY_free(ec1);
	EVP_PKEY_free(ec2);
	EVP_PKEY_free(rsa1);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(p384);
	free_all();
	return tap_done();
}
