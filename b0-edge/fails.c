/*
 * fails: failed tries counted by key (fails.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>

#include "b0_str.h"
#include "fails.h"

void
fails_init(struct fails *f, int64_t window_s)
{
	memset(f, 0, sizeof(*f));
	f->window = window_s;
}

/* key's live slot; with make, a new one if it has none. */
static struct fails_slot *
slot(struct fails *f, const char *key, int64_t now, int make)
{
	struct fails_slot *s, *oldest = &f->slot[0];
	size_t i;

	for (i = 0; i < FAILS_SLOTS; i++) {
		s = &f->slot[i];
		if (s->n > 0 && now - s->since >= f->window)
			s->n = 0;
		if (s->n > 0 && strcmp(s->key, key) == 0)
			return s;
		if (s->n == 0 || s->since < oldest->since)
			oldest = s;
	}
	if (!make)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	b0_strlcpy(oldest->key, key, sizeof(oldest->key));
	oldest->since = now;
	return oldest;
}

int64_t
fails_wait(struct fails *f, const char *key, unsigned limit, int64_t now)
{
	struct fails_slot *s = slot(f, key, now, 0);

	if (s == NULL || s->n < limit)
		return 0;
	return s->since + f->window - now;
}

void
fails_note(struct fails *f, const char *key, int64_t now)
{
	slot(f, key, now, 1)->n++;
}

void
fails_addr(const char *peer, char *out, size_t outsz)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);
	char a[64];
	struct in6_addr in6;

	if (n >= sizeof(a))
		n = sizeof(a) - 1;
	memcpy(a, peer, n);
	a[n] = '\0';
	if (n > 2 && a[0] == '[' && a[n - 1] == ']') {
		a[n - 1] = '\0';
		if (inet_pton(AF_INET6, a + 1, &in6) == 1) {
			memset(in6.s6_addr + 8, 0, 8);
			if (inet_ntop(AF_INET6, &in6, a, sizeof(a)) != NULL) {
				snprintf(out, outsz, "%s/64", a);
				return;
			}
		}
		memmove(a, a + 1, n);
	}
	b0_strlcpy(out, a, outsz);
}
