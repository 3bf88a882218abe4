/*
 * b0-jwtsign: sign a JSON payload as a compact ES256 JWS, for the tests
 * that show the edge and pam_b0 refusing tokens (another issuer, wrong
 * audience, expired, a key the edge does not know, a swapped payload).
 * Test-only: it signs whatever it is given, with whatever key it is given.
 *
 *   b0-jwtsign KEY.pem KID [TYP] < payload.json     prints the token
 *   b0-jwtsign --new-key KEY.pem                      writes a P-256 key
 *
 * The key is a PEM P-256 private key (mode 0600, as b0_jwk_load_private
 * demands: an edge's keys/<time>-<kid>.pem qualifies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b0_err.h"
#include "b0_jwk.h"
#include "b0_jwt.h"
#include "b0_str.h"

#define PAYLOAD_MAX 6000

int
main(int argc, char **argv)
{
	struct b0_errmsg em;
	EVP_PKEY *key = NULL;
	char payload[PAYLOAD_MAX + 1], *token = NULL;
	size_t n;
	int r;

	b0_err_clear(&em);
	if (argc == 3 && strcmp(argv[1], "--new-key") == 0) {
		if ((r = b0_jwk_generate(&key, &em)) != 0 ||
		    (r = b0_jwk_save_private(argv[2], key, &em)) != 0) {
			fprintf(
			    stderr, "b0-jwtsign: %s\n", b0_err_text(&em, r));
			EVP_PKEY_free(key);
			return 1;
		}
		EVP_PKEY_free(key);
		return 0;
	}
	if (argc < 3 || argc > 4) {
		fprintf(stderr,
		    "usage: b0-jwtsign KEY.pem KID [TYP] < payload\n"
		    "       b0-jwtsign --new-key KEY.pem\n");
		return 2;
	}
	n = fread(payload, 1, PAYLOAD_MAX + 1, stdin);
	if (n > PAYLOAD_MAX) {
		fprintf(
		    stderr, "b0-jwtsign: payload over %d bytes\n", PAYLOAD_MAX);
		return 1;
	}
	while (n > 0 && (payload[n - 1] == '\n' || payload[n - 1] == ' '))
		n--;
	payload[n] = '\0';
	if ((r = b0_jwk_load_private(argv[1], &key, &em)) != 0 ||
	    (r = b0_jwt_sign_es256(key, argv[2], argc == 4 ? argv[3] : NULL,
		 payload, n, &token, &em)) != 0) {
		fprintf(stderr, "b0-jwtsign: %s\n", b0_err_text(&em, r));
		EVP_PKEY_free(key);
		return 1;
	}
	printf("%s\n", token);
	b0_str_wipe_free(token);
	EVP_PKEY_free(key);
	return 0;
}
