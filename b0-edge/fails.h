/*
 * fails: failed tries counted by key, for the edge's lockouts (the login
 * form and device codes by address and by account, basic auth by
 * address).  A fixed table: each key's slot counts from its first failure
 * for a window, then starts again; when the table is full the oldest slot
 * is taken.  The edge's loop thread only.
 */
#ifndef B0_EDGE_FAILS_H
#define B0_EDGE_FAILS_H

#include <stddef.h>
#include <stdint.h>

#define FAILS_SLOTS 1024
#define FAILS_KEY_SIZE 264 /* "user:" and an email */

struct fails_slot {
	char key[FAILS_KEY_SIZE];
	int64_t since; /* the first failure of this window */
	unsigned n;    /* 0: a free slot */
};

struct fails {
	int64_t window; /* seconds */
	struct fails_slot slot[FAILS_SLOTS];
};

/* fails_init(f, window_s): an empty table counting over window_s. */
void fails_init(struct fails *f, int64_t window_s);

/*
 * fails_wait(f, key, limit, now): seconds until key may try again after
 * limit failures in its window, or 0 if it may now.
 */
int64_t fails_wait(
    struct fails *f, const char *key, unsigned limit, int64_t now);

/* fails_note(f, key, now): one more failure of key. */
void fails_note(struct fails *f, const char *key, int64_t now);

/*
 * fails_addr(peer, out, outsz): the client behind peer ("ip:port",
 * "[v6]:port") as limits and bindings count it: its IPv4 address, or the
 * /64 of its IPv6 address (what one household gets).
 */
void fails_addr(const char *peer, char *out, size_t outsz);

#endif /* B0_EDGE_FAILS_H */
