/*
 * libFuzzer target for policy/b0_spec, b0_allow and b0_ident.
 *
 * Input: a spec, then optionally "\n" and an address.  Invariants, each an
 * abort():
 *  - a rejection is B0_ERR_FORMAT or B0_ERR_TOO_BIG, comes with a message
 *    free of control characters, and leaves the spec empty;
 *  - a valid spec formats to the input in lower case, and the formatted
 *    spec parses to the same spec and formats to the same bytes;
 *  - the same bytes parsed as an allow list agree with the spec parser
 *    about each entry;
 *  - matching never allows an invalid address, and gives the same answer
 *    for the address in upper and in lower case;
 *  - b0_ident_show() output fits, is UTF-8 and has no control characters.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_err.h"
#include "b0_str.h"
#include "b0_utf8.h"
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

/* Messages end up in logs and JSON: UTF-8 without control characters. */
static void
check_text(const char *s)
{
	CHECK(b0_utf8_valid(s, strlen(s)));
	for (; *s != '\0'; s++)
		CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
}

static void
check_show(const char *s, size_t n)
{
	char out[B0_IDENT_SHOW_SIZE], tiny[5];

	b0_ident_show(out, sizeof(out), s, n);
	CHECK(strlen(out) < sizeof(out));
	CHECK(b0_utf8_valid(out, strlen(out)));
	check_text(out);
	b0_ident_show(tiny, sizeof(tiny), s, n);
	CHECK(strlen(tiny) < sizeof(tiny));
	check_text(tiny);
}

static int
same_spec(const struct b0_spec *a, const struct b0_spec *b)
{
	size_t i;

	if (a->type != b->type || a->port != b->port ||
	    a->allow.n != b->allow.n)
		return 0;
	for (i = 0; i < a->allow.n; i++) {
		if (a->allow.v[i].kind != b->allow.v[i].kind ||
		    strcmp(a->allow.v[i].text, b->allow.v[i].text) != 0)
			return 0;
	}
	return 1;
}

static void
check_match(const struct b0_spec *sp, const char *email)
{
	struct b0_errmsg reason;
	char upper[512];
	size_t i, n = strlen(email);
	int r, r2;

	r = b0_spec_match(sp, email, &reason);
	CHECK(r == 0 || r == B0_ERR_DENIED || r == B0_ERR_FORMAT);
	CHECK(reason.text[0] != '\0');
	check_text(reason.text);
	if (!b0_spec_login(sp)) {
		CHECK(r == 0);
		return;
	}
	if (r == 0)
		CHECK(b0_ident_check_email(email, n, NULL) == 0);
	if (n >= sizeof(upper))
		return;
	for (i = 0; i <= n; i++)
		upper[i] = (email[i] >= 'a' && email[i] <= 'z')
			       ? (char)(email[i] - 'a' + 'A')
			       : email[i];
	r2 = b0_spec_match(sp, upper, NULL);
	CHECK(r == r2);
	if (sp->allow.n > 0)
		CHECK(b0_allow_match(&sp->allow, email, NULL) == r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl;
	struct b0_spec sp, sp2;
	struct b0_allow list;
	struct b0_errmsg em;
	char f1[B0_SPEC_MAX + 1], f2[B0_SPEC_MAX + 1], who[2 * B0_SPEC_MAX];
	char email[300];
	size_t sn, en, i;
	int r;

	nl = memchr(s, '\n', size);
	sn = nl != NULL ? (size_t)(nl - s) : size;
	email[0] = '\0';
	if (nl != NULL) {
		en = size - sn - 1;
		if (en >= sizeof(email))
			en = sizeof(email) - 1;
		memcpy(email, nl + 1, en);
		email[en] = '\0';
	}
	check_show(s, size);

	b0_err_clear(&em);
	r = b0_spec_parsen(s, sn, &sp, &em);
	CHECK(r == 0 || r == B0_ERR_FORMAT || r == B0_ERR_TOO_BIG);
	if (r != 0) {
		CHECK(em.text[0] != '\0');
		check_text(em.text);
		CHECK(sp.allow.n == 0 && sp.allow.v == NULL &&
		      sp.allow.buf == NULL);
	} else {
		CHECK(sp.port >= 1);
		CHECK(strcmp(b0_spec_type_name(sp.type), "unknown") != 0);
		CHECK(sp.type != B0_SOCK_TCP || sp.allow.n == 0);
		CHECK(b0_spec_format(&sp, f1, sizeof(f1)) == 0);
		CHECK(strlen(f1) == sn);
		for (i = 0; i < sn; i++)
			CHECK(f1[i] == b0_ascii_lower(s[i]));
		CHECK(b0_spec_parse(f1, &sp2, NULL) == 0);
		CHECK(same_spec(&sp, &sp2));
		CHECK(b0_spec_format(&sp2, f2, sizeof(f2)) == 0);
		CHECK(strcmp(f1, f2) == 0);
		CHECK(b0_spec_who(&sp, who, sizeof(who)) == 0);
		b0_spec_cleanup(&sp2);
		check_match(&sp, email);
	}

	/* The same bytes as an allow list on their own. */
	b0_err_clear(&em);
	r = b0_allow_parse(s, sn, &list, &em);
	CHECK(r == 0 || r == B0_ERR_FORMAT || r == B0_ERR_TOO_BIG);
	if (r != 0) {
		CHECK(em.text[0] != '\0' && list.n == 0);
		check_text(em.text);
	} else {
		enum b0_ident_kind k;

		CHECK(list.n >= 1 && list.n <= B0_ALLOW_MAX);
		for (i = 0; i < list.n; i++) {
			CHECK(b0_ident_parse(list.v[i].text,
				  strlen(list.v[i].text), &k, NULL) == 0);
			CHECK(k == list.v[i].kind);
		}
		r = b0_allow_match(&list, email, &em);
		CHECK(r == 0 || r == B0_ERR_DENIED || r == B0_ERR_FORMAT);
		if (r == 0)
			CHECK(b0_ident_check_email(
				  email, strlen(email), NULL) == 0);
	}
	b0_allow_cleanup(&list);
	b0_spec_cleanup(&sp);
	return 0;
}
