/*
 * libFuzzer target for pam_b0's verification (pam_b0/verify.c) and its
 * prompt answers (pam_b0_take_part() in pam_b0/pam_b0.c), linked from the
 * module's objects without PAM.
 *
 * The first byte picks a mode, the rest is the input:
 *   0  verify as a ticket against the fixed JWKS at the fixed time
 *   1  verify as an access token (at+jwt) the same way
 *   2  parse as the JWKS file of the fixed configuration
 *   3  sign as a ticket payload with a key of the set, then verify it: the
 *      claims checks see every payload the fuzzer makes
 *   4  the same as an access token payload
 *   5  prompt answers, each ended by a NUL (an answer is a C string; sshd's
 *      placeholder holds a newline): "i/n part" for parts 1, 2, ... until
 *      n; the token they make is then verified as an access token
 * Anything unexpected (an invariant broken) aborts.  The corpus tokens in
 * tests/fuzz/corpus/pamticket/ are signed by the key "fz-pam" below (its
 * private half is not kept), at FIXED_NOW.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <security/pam_modules.h>

#include "b0_err.h"
#include "b0_ident.h"
#include "b0_jwk.h"
#include "b0_jwt.h"
#include "b0_str.h"

#include "pam_b0.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIXED_NOW 1700000000

static const char fixed_jwks[] =
    "{\"issuer\":\"https://edge.example.com\",\"publisher\":\"lab1\","
    "\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"L366E1Hm68Z9RP6OeDfq"
    "80jRkPE1nNVkIXdBoHuG7Vc\",\"y\":\"GxywpJIjlar7ftRDVPIWonwh8w7FHuFgTR4r0m"
    "s9jAY\",\"kid\":\"fz-pam\",\"alg\":\"ES256\",\"use\":\"sig\"},{\"kty\":"
    "\"RSA\",\"n\":\"rjQe4w1iErjKZC2R-sxylnI6XHARf4k2Yi4PSNp-wM7lPgJwkMTGT4b5"
    "o_vAJEN-ZXwClq5iyYz5a1kzrK7hPzNHU82iSDK8Vv7T0c9btnZkZCrSDbvt_OMxycPjl5Fe"
    "NtOIdyfADhTrkTjntX28ht71Uu0jQrWGmw0bDpWgYL43h0LhKdEWbta1HE4WSYxgM-mcn5Or"
    "DaqYNFQ_Ry--4dnv9OJW6wJ_f-FSCOzaVjZVT7ON6ATUBevLhnyQj2IFryz7qXOjcyqZkWKB"
    "vXpJsez7zqDLr0k9QWjHyqmdWtBBawKRPjW6ea87dc_2qvl4wTPBox0854xd8g1kbVeGRw\","
    "\"e\":\"AQAB\",\"kid\":\"fz-rsa\",\"alg\":\"RS256\",\"use\":\"sig\"}]}";

static char issuer[] = "https://edge.example.com";
static char publisher[] = "lab1";
static char aud[] = "b0-publish:lab1";
static char sock1[] = "ssh-lab1.edge.example.com";
static char sock2[] = "git.edge.example.com";
static char jwks_path[] = "/fuzz/jwks.json";

static struct pam_b0_conf conf;
static struct b0_jwks *keys;
static EVP_PKEY *signer;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct b0_errmsg em;

	(void)argc;
	(void)argv;
	memset(&conf, 0, sizeof(conf));
	conf.issuer = issuer;
	conf.publisher = publisher;
	conf.aud = aud;
	conf.sockets[0] = sock1;
	conf.sockets[1] = sock2;
	conf.nsockets = 2;
	conf.jwks = jwks_path;
	conf.skew = PAM_B0_SKEW_DEFAULT;
	b0_err_clear(&em);
	if (pam_b0_jwks_parse(
		&conf, fixed_jwks, strlen(fixed_jwks), &keys, &em) != 0 ||
	    b0_jwks_count(keys) != 2 || b0_jwk_generate(&signer, NULL) != 0 ||
	    b0_jwks_add(keys, signer, "fz-sign", NULL) != 0)
		abort();
	return 0;
}

static int
all_zero(const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != 0)
			return 0;
	return 1;
}

/* Verify; a yes must carry what the kind promises, a no must say why. */
static void
verify(enum pam_b0_kind kind, const char *tok, size_t len)
{
	struct b0_errmsg em, sub;
	struct pam_b0_id id;
	size_t i;
	int r;

	b0_err_clear(&em);
	memset(&id, 0xa5, sizeof(id));
	r = pam_b0_verify_keys(
	    &conf, kind, keys, tok, len, FIXED_NOW, &id, &em);
	if (r != 0) {
		if (!all_zero(&id, sizeof(id)) ||
		    (r != B0_ERR_ALLOC && em.text[0] == '\0'))
			abort();
		return;
	}
	b0_err_clear(&sub);
	if (memchr(id.email, '\0', sizeof(id.email)) == NULL ||
	    memchr(id.visitor, '\0', sizeof(id.visitor)) == NULL ||
	    memchr(id.socket, '\0', sizeof(id.socket)) == NULL ||
	    b0_ident_check_email(id.email, strlen(id.email), &sub) != 0)
		abort();
	if (kind == PAM_B0_TOKEN) {
		if (id.visitor[0] != '\0' || id.socket[0] != '\0')
			abort();
		return;
	}
	if (id.visitor[0] == '\0' || strchr(id.visitor, ':') == NULL)
		abort();
	for (i = 0; i < conf.nsockets; i++)
		if (strcmp(id.socket, conf.sockets[i]) == 0)
			break;
	if (i == conf.nsockets)
		abort();
}

static void
jwks(const char *text, size_t len)
{
	struct b0_errmsg em;
	struct b0_jwks *set = (struct b0_jwks *)1;
	int r;

	b0_err_clear(&em);
	r = pam_b0_jwks_parse(&conf, text, len, &set, &em);
	if ((r == 0) != (set != NULL) ||
	    (r != 0 && r != B0_ERR_ALLOC && em.text[0] == '\0'))
		abort();
	b0_jwks_free(set);
}

static void
sign(enum pam_b0_kind kind, const char *payload, size_t len)
{
	char *tok = NULL;

	if (b0_jwt_sign_es256(signer, "fz-sign",
		kind == PAM_B0_TICKET ? "b0-ticket+jwt" : "at+jwt", payload,
		len, &tok, NULL) != 0)
		return;
	verify(kind, tok, strlen(tok));
	b0_str_wipe_free(tok);
}

/* The prompt loop of pam_b0.c, over the NUL-ended answers in in. */
static void
prompt(const char *in, size_t len)
{
	size_t cap = (size_t)PAM_B0_PART_MAX * PAM_B0_PARTS_MAX + 1;
	size_t toklen = 0, off = 0, ll;
	struct b0_errmsg em;
	const char *nl;
	char *tok, *a;
	unsigned i, n = 0;
	int pr = PAM_SUCCESS;

	if ((tok = calloc(1, cap)) == NULL)
		abort();
	for (i = 1; n == 0 || i <= n; i++) {
		if (off >= len) {
			pr = PAM_CONV_ERR; /* no more answers */
			break;
		}
		nl = memchr(in + off, '\0', len - off);
		ll = nl != NULL ? (size_t)(nl - (in + off)) : len - off;
		if ((a = strndup(in + off, ll)) == NULL)
			abort();
		off += ll + 1;
		b0_err_clear(&em);
		pr = pam_b0_take_part(a, i, &n, tok, &toklen, &em);
		free(a);
		if (pr != PAM_SUCCESS) {
			if (pr != PAM_AUTH_ERR || em.text[0] == '\0')
				abort();
			break;
		}
		if (n == 0 || n > PAM_B0_PARTS_MAX || i > n ||
		    toklen > (size_t)i * PAM_B0_PART_MAX ||
		    strlen(tok) != toklen)
			abort();
	}
	if (pr == PAM_SUCCESS)
		verify(PAM_B0_TOKEN, tok, toklen);
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t n = size - 1;

	if (size == 0)
		return 0;
	switch (data[0] % 6) {
	case 0:
		verify(PAM_B0_TICKET, in, n);
		break;
	case 1:
		verify(PAM_B0_TOKEN, in, n);
		break;
	case 2:
		jwks(in, n);
		break;
	case 3:
		sign(PAM_B0_TICKET, in, n);
		break;
	case 4:
		sign(PAM_B0_TOKEN, in, n);
		break;
	case 5:
		prompt(in, n);
		break;
	}
	if (ERR_peek_error() != 0)
		abort(); /* every failure path must drain OpenSSL's queue */
	return 0;
}
