/*
 * The edge's state directory: publisher tokens and socket reservations,
 * each a small text file replaced atomically.
 *
 *   tokens    NAME SHA256-OF-SECRET CREATED      (0600)
 *   sockets   PUBLISHER SOCKET DNS-NAME PORT     (0600; PORT 0: no tcp port)
 */
#ifndef EDGE_STATE_H
#define EDGE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "b0_err.h"
#include "b0_proto.h"

struct edge_token {
	char name[B0_NAME_SIZE];
	uint8_t hash[32];
	int64_t created;
};

struct edge_tokens {
	struct edge_token *t;
	size_t n;
};

struct edge_resv {
	char publisher[B0_NAME_SIZE];
	char socket[B0_NAME_SIZE];
	char dns[B0_DNS_SIZE];
	uint16_t port;
};

struct edge_resvs {
	struct edge_resv *r;
	size_t n;
};

/* Room for "b0pt.<name>.<43 base64url>". */
#define EDGE_TOKEN_SIZE (5 + B0_NAME_SIZE + 1 + 44)

/*
 * edge_tokens_load(dir, t, em) / edge_tokens_save(dir, t, em):
 * Read or atomically replace dir/tokens.  A missing file is an empty set.
 */
int edge_tokens_load(
    const char *dir, struct edge_tokens *t, struct b0_errmsg *em);
int edge_tokens_save(
    const char *dir, const struct edge_tokens *t, struct b0_errmsg *em);
void edge_tokens_cleanup(struct edge_tokens *t);

/*
 * edge_token_add(t, name, token, size, em):
 * Make a new secret for name, add its hash to t and write the token
 * ("b0pt.<name>.<secret>") to token.  B0_ERR_EXISTS if name has one.
 */
int edge_token_add(struct edge_tokens *t, const char *name, char *token,
    size_t size, struct b0_errmsg *em);

/* edge_token_remove(t, name): 0 or B0_ERR_NOT_FOUND. */
int edge_token_remove(struct edge_tokens *t, const char *name);

/*
 * edge_token_check(t, token, name):
 * If token is valid, copy its publisher name to name (B0_NAME_SIZE) and
 * return 0; else B0_ERR_AUTH.  Constant time in the secret.
 */
int edge_token_check(
    const struct edge_tokens *t, const char *token, char *name);

/* The token entry of name, or NULL. */
const struct edge_token *edge_token_find(
    const struct edge_tokens *t, const char *name);

int edge_resvs_load(
    const char *dir, struct edge_resvs *rs, struct b0_errmsg *em);
int edge_resvs_save(
    const char *dir, const struct edge_resvs *rs, struct b0_errmsg *em);
void edge_resvs_cleanup(struct edge_resvs *rs);

/* Lookups: NULL if none. */
struct edge_resv *edge_resv_find(
    const struct edge_resvs *rs, const char *publisher, const char *socket);
struct edge_resv *edge_resv_find_dns(
    const struct edge_resvs *rs, const char *dns);
struct edge_resv *edge_resv_find_port(
    const struct edge_resvs *rs, uint16_t port);

/* Add a reservation (copied).  Returns a pointer to it, or NULL (ENOMEM). */
struct edge_resv *edge_resv_add(
    struct edge_resvs *rs, const struct edge_resv *r);

#endif /* EDGE_STATE_H */
