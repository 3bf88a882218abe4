/*
 * libFuzzer target for policy/b0_usermap: the rules parser from memory and
 * a lookup.
 *
 * Input: an address, "\n", a requested user, "\n", then the rules file.
 * Users are looked up in a fake database (no NSS calls): a name exists when
 * its length is odd, with a uid derived from its bytes; "root" is 0 and
 * names starting with "e" fail with EIO.  Invariants, each an abort():
 *  - a rejection is a format or config error with a message and no map;
 *  - every outcome agrees with its status: OK has a valid existing user
 *    and a rule; system users and bad local parts come from %localpart
 *    rules only; no rule means no rule fields;
 *  - the address in upper case maps the same way;
 *  - b0_usermap_check() allows only the user the lookup gave.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_err.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(                                               \
			    stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                               \
		}                                                              \
	} while (0)

static int
fake_getpw(void *cookie, const char *name, uid_t *uidp)
{
	size_t n = strlen(name), i;
	uid_t uid = 0;

	(void)cookie;
	if (strcmp(name, "root") == 0) {
		*uidp = 0;
		return 0;
	}
	if (name[0] == 'e')
		return B0_ERR_SYS(EIO);
	if (n % 2 == 0)
		return B0_ERR_NOT_FOUND;
	for (i = 0; i < n; i++)
		uid = uid * 31 + (unsigned char)name[i];
	*uidp = uid % 70000;
	return 0;
}

/* Copy the line at *pp (up to "\n" or end) into dst, NUL-terminated. */
static void
take_line(const char **pp, const char *end, char *dst, size_t dstsz)
{
	const char *p = *pp, *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

	*pp = nl != NULL ? nl + 1 : end;
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, p, n);
	dst[n] = '\0';
}

static void
check_result(const struct b0_usermap_result *res, int r)
{
	CHECK((r == 0) == (res->status == B0_USERMAP_OK));
	CHECK(res->reason.text[0] != '\0');
	switch (res->status) {
	case B0_USERMAP_OK:
		CHECK(b0_usermap_valid_user(res->user));
		CHECK(res->rule_identity != NULL && res->rule_line > 0);
		CHECK(fake_getpw(NULL, res->user, &(uid_t){0}) == 0);
		break;
	case B0_USERMAP_BAD_EMAIL:
	case B0_USERMAP_NO_RULE:
		CHECK(r == B0_ERR_DENIED && res->rule_identity == NULL &&
		      res->user[0] == '\0');
		break;
	case B0_USERMAP_BAD_LOCALPART:
	case B0_USERMAP_SYSTEM_USER:
		CHECK(r == B0_ERR_DENIED && res->rule_user != NULL &&
		      strcmp(res->rule_user, "%localpart") == 0);
		break;
	case B0_USERMAP_NO_USER:
		CHECK(r == B0_ERR_DENIED && b0_usermap_valid_user(res->user));
		break;
	case B0_USERMAP_ERROR:
		CHECK(r == B0_ERR_SYS(EIO) && res->user[0] == 'e');
		break;
	default:
		CHECK(0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct b0_usermap *m = NULL;
	struct b0_usermap_result res, res2;
	struct b0_errmsg em;
	char email[300], user[64], upper[300];
	size_t i;
	int r, r2;

	take_line(&p, end, email, sizeof(email));
	take_line(&p, end, user, sizeof(user));
	b0_err_clear(&em);
	r = b0_usermap_parse("fuzz", p, (size_t)(end - p), &m, &em);
	CHECK(r == 0 || r == B0_ERR_FORMAT || r == B0_ERR_CONFIG ||
	      r == B0_ERR_TOO_BIG);
	if (r != 0) {
		CHECK(m == NULL && strncmp(em.text, "fuzz", 4) == 0);
		return 0;
	}
	b0_usermap_set_getpw(m, fake_getpw, NULL);

	r = b0_usermap_lookup(m, email, &res);
	check_result(&res, r);
	for (i = 0; i < sizeof(upper) && email[i] != '\0'; i++)
		upper[i] = (email[i] >= 'a' && email[i] <= 'z')
			       ? (char)(email[i] - 'a' + 'A')
			       : email[i];
	upper[i] = '\0';
	r2 = b0_usermap_lookup(m, upper, &res2);
	CHECK(r == r2 && res.status == res2.status &&
	      strcmp(res.user, res2.user) == 0 &&
	      res.rule_line == res2.rule_line);

	r2 = b0_usermap_check(m, email, user, &res2);
	if (r2 == 0)
		CHECK(r == 0 && strcmp(res.user, user) == 0);
	else if (r == 0)
		CHECK(res2.status == B0_USERMAP_OTHER_USER &&
		      strcmp(res.user, user) != 0);
	b0_usermap_free(m);
	return 0;
}
