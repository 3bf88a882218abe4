/*
 * Built-in accounts (users.c): <state-dir>/users, "email yescrypt-hash
 * created" lines, 0600, replaced atomically (docs/identity.md).
 *
 * Ownership: a struct users is its creator's; users_free() releases it.
 * Passwords are wiped by the functions that take them, never kept.
 */
#ifndef EDGE_USERS_H
#define EDGE_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "b0_err.h"

struct users;

/* users_load(dir, up, em): read dir/users (missing: no users). */
int users_load(const char *dir, struct users **up, struct b0_errmsg *em);
void users_free(struct users *u);

/*
 * users_refresh(u, dir, em): re-read dir/users if it changed (stat);
 * keeps the old set on error.  Returns 1 if reloaded, 0 if unchanged, or
 * an error.
 */
int users_refresh(struct users *u, const char *dir, struct b0_errmsg *em);

/* users_count(u): how many accounts. */
size_t users_count(const struct users *u);

/* users_has(u, email): 1 if email (any case) has an account. */
int users_has(const struct users *u, const char *email);

/*
 * users_check(u, email, password): 0 if the password is right for email
 * (compared with crypt_r on its yescrypt hash), else B0_ERR_AUTH.  An
 * unknown email costs the same time (a dummy hash is checked).  Takes a
 * token of users_crypt_take first: B0_ERR_AGAIN (no hash run) when the
 * edge's budget is spent.
 */
int users_check(const struct users *u, const char *email, const char *password);

/*
 * users_crypt_take(): 0 if a yescrypt may run now, else B0_ERR_AGAIN.
 * One token bucket for the whole process (the edge's loop): at most
 * USERS_CRYPT_RATE hashes a second, bursts of USERS_CRYPT_BURST, so
 * password guesses from any number of addresses cannot stall the relay.
 */
#define USERS_CRYPT_RATE 10
#define USERS_CRYPT_BURST 20
int users_crypt_take(void);

/*
 * For `b0-edge user add/del/ls` (main.c): add or replace email's hash
 * (made here with crypt_gensalt_rn("$y$") and crypt_rn), remove it,
 * save the file, iterate.  email is validated (b0_ident) and lowered.
 */
int users_set(struct users *u, const char *email, const char *password,
    struct b0_errmsg *em);
int users_del(struct users *u, const char *email);
int users_save(const struct users *u, const char *dir, struct b0_errmsg *em);
/* users_get(u, i, emailp, createdp): the i-th account; B0_ERR_NOT_FOUND past
 * the end. */
int users_get(
    const struct users *u, size_t i, const char **emailp, int64_t *createdp);

#endif /* EDGE_USERS_H */
