/*
 * Unit tests for policy/b0_ident (addresses, identities) and
 * policy/b0_allow (allow lists, matching).
 */
#include <string.h>

#include "b0_allow.h"
#include "b0_err.h"
#include "b0_ident.h"
#include "b0_utf8.h"
#include "tap.h"

/* A TAP-safe name for an input (no control characters). */
static const char *
nm(const char *s)
{
	static char buf[128];

	b0_ident_show(buf, sizeof(buf), s, strlen(s));
	return buf;
}

static char *
rep(char *p, char c, size_t n)
{
	memset(p, c, n);
	return p + n;
}

static void
test_email(void)
{
	static const struct {
		const char *in;
		int r;
		const char *msg;
	} t[] = {
	    {"alice@example.com", 0, NULL},
	    {"Alice@Example.COM", 0, NULL},
	    {"a@b.co", 0, NULL},
	    {"first.last@sub.example.co.uk", 0, NULL},
	    {"o'brien+tag@example.com", 0, NULL},
	    {"!#$%&'*+-/=?^_`{|}~@example.com", 0, NULL},
	    {"a@xn--bcher-kva.de", 0, NULL},
	    {"a@1example.com", 0, NULL},
	    {"a@a-b.c-d.example", 0, NULL},
	    {"", B0_ERR_FORMAT, "empty"},
	    {"alice", B0_ERR_FORMAT, "no \"@\""},
	    {"alice.example.com", B0_ERR_FORMAT, "no \"@\""},
	    {"a@example.com@evil.test", B0_ERR_FORMAT, "more than one \"@\""},
	    {"a@@example.com", B0_ERR_FORMAT, "more than one \"@\""},
	    {"@example.com", B0_ERR_FORMAT, "nothing before the \"@\""},
	    {"alice@", B0_ERR_FORMAT, "nothing after the \"@\""},
	    {"alice@localhost", B0_ERR_FORMAT, "\"localhost\" has no dot"},
	    {"alice@com", B0_ERR_FORMAT, "has no dot"},
	    {".alice@example.com", B0_ERR_FORMAT, "starts with a dot"},
	    {"alice.@example.com", B0_ERR_FORMAT, "ends with a dot"},
	    {"al..ice@example.com", B0_ERR_FORMAT, "two dots in a row"},
	    {"\"alice\"@example.com", B0_ERR_FORMAT, "quoted local parts"},
	    {"al ice@example.com", B0_ERR_FORMAT, "has \" \""},
	    {"al,ice@example.com", B0_ERR_FORMAT, "has \",\""},
	    {"al(ice)@example.com", B0_ERR_FORMAT, "has \"(\""},
	    {"a\\b@example.com", B0_ERR_FORMAT, "has \"\\\\\""},
	    {"a\x01@example.com", B0_ERR_FORMAT, "has \"\\x01\""},
	    {"j\xc3\xb6rg@example.com", B0_ERR_FORMAT,
		"the local part has non-ASCII characters"},
	    {"a@b\xc3\xbc"
	     "cher.de",
		B0_ERR_FORMAT, "punycode"},
	    {"a@\xff.com", B0_ERR_FORMAT, "the domain has non-ASCII"},
	    {"a@.example.com", B0_ERR_FORMAT, "starts with a dot"},
	    {"a@example.com.", B0_ERR_FORMAT, "ends with a dot"},
	    {"a@example..com", B0_ERR_FORMAT, "two dots in a row"},
	    {"a@-example.com", B0_ERR_FORMAT, "starts with \"-\""},
	    {"a@example-.com", B0_ERR_FORMAT, "ends with \"-\""},
	    {"a@exa_mple.com", B0_ERR_FORMAT, "has \"_\""},
	    {"a@exa mple.com", B0_ERR_FORMAT, "has \" \""},
	    {"a@[192.0.2.1]", B0_ERR_FORMAT, "has \"[\""},
	    {"a@192.0.2.1", B0_ERR_FORMAT, "all digits"},
	    {"a@example.123", B0_ERR_FORMAT, "all digits"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct b0_errmsg em;
		size_t n = strlen(t[i].in);
		char *g;

		b0_err_clear(&em);
		is_int(b0_ident_check_email(t[i].in, n, &em), t[i].r,
		    "email \"%s\" -> %d", nm(t[i].in), t[i].r);
		if (t[i].msg != NULL)
			has_str(em.text, t[i].msg, "email \"%s\" message",
			    nm(t[i].in));
		g = tap_guard(t[i].in, n);
		is_int(b0_ident_check_email(g, n, NULL), t[i].r,
		    "email \"%s\" at a page end", nm(t[i].in));
		tap_unguard(g, n);
	}
}

/* Length limits: local part 64, domain 253, label 63, address 254. */
static void
test_email_limits(void)
{
	char buf[600], *p;
	struct b0_errmsg em;

	p = rep(buf, 'l', 64);
	*p++ = '@';
	p = rep(p, 'a', 63);
	*p++ = '.';
	p = rep(p, 'b', 63);
	*p++ = '.';
	p = rep(p, 'c', 61);
	*p = '\0';
	is_int(strlen(buf), 254, "address of 254 built");
	is_int(b0_ident_check_email(buf, strlen(buf), NULL), 0,
	    "address of 254 with local part of 64 is valid");
	p[0] = 'c';
	p[1] = '\0';
	b0_err_clear(&em);
	is_int(b0_ident_check_email(buf, strlen(buf), &em), B0_ERR_FORMAT,
	    "address of 255 is not");
	has_str(em.text, "longer than 254", "address length message");

	p = rep(buf, 'l', 65);
	memcpy(p, "@example.com", 13);
	b0_err_clear(&em);
	is_int(b0_ident_check_email(buf, strlen(buf), &em), B0_ERR_FORMAT,
	    "local part of 65");
	has_str(em.text, "local part is longer than 64", "local part message");

	p = buf;
	*p++ = 'a';
	*p++ = '@';
	p = rep(p, 'x', 64);
	memcpy(p, ".com", 5);
	b0_err_clear(&em);
	is_int(b0_ident_check_email(buf, strlen(buf), &em), B0_ERR_FORMAT,
	    "label of 64");
	has_str(em.text, "longer than 63", "label message");
	has_str(em.text, "...", "a long label is shortened in the message");
	memcpy(buf + 2 + 63, ".com", 5);
	is_int(b0_ident_check_email(buf, strlen(buf), NULL), 0,
	    "label of 63 is fine");

	/* domain of 254 as an identity: 63.63.63.62 */
	p = rep(buf, 'a', 63);
	*p++ = '.';
	p = rep(p, 'b', 63);
	*p++ = '.';
	p = rep(p, 'c', 63);
	*p++ = '.';
	p = rep(p, 'd', 62);
	*p = '\0';
	{
		enum b0_ident_kind k;

		b0_err_clear(&em);
		is_int(b0_ident_parse(buf, strlen(buf), &k, &em), B0_ERR_FORMAT,
		    "domain of 254 refused");
		has_str(em.text, "longer than 253", "domain length message");
		buf[strlen(buf) - 1] = '\0';
		is_int(b0_ident_parse(buf, strlen(buf), &k, NULL), 0,
		    "domain of 253 accepted");
	}
}

static void
test_ident(void)
{
	static const struct {
		const char *in;
		int r;
		enum b0_ident_kind kind;
		const char *msg;
	} t[] = {
	    {"alice@example.com", 0, B0_IDENT_EMAIL, NULL},
	    {"example.com", 0, B0_IDENT_DOMAIN, NULL},
	    {"Example.COM", 0, B0_IDENT_DOMAIN, NULL},
	    {".example.com", 0, B0_IDENT_SUBDOMAIN, NULL},
	    {".a.b.example.com", 0, B0_IDENT_SUBDOMAIN, NULL},
	    {"", B0_ERR_FORMAT, 0, "empty"},
	    {"alice", B0_ERR_FORMAT, 0,
		"a single name, neither an address nor a domain: did you mean "
		"an address such as \"alice@example.com\"?"},
	    {"localhost", B0_ERR_FORMAT, 0, "single name"},
	    {".", B0_ERR_FORMAT, 0, "lone dot"},
	    {".com", B0_ERR_FORMAT, 0, "top-level domain"},
	    {"..example.com", B0_ERR_FORMAT, 0, "two dots"},
	    {"*@example.com", B0_ERR_FORMAT, 0,
		"\"*\" is not a wildcard here: write the domain alone "
		"(\"example.com\")"},
	    {"@example.com", B0_ERR_FORMAT, 0,
		"nothing before the \"@\": write the domain alone"},
	    {"*.example.com", B0_ERR_FORMAT, 0, "write \".example.com\""},
	    {"*", B0_ERR_FORMAT, 0, "has \"*\""},
	    {"a@b@example.com", B0_ERR_FORMAT, 0, "more than one"},
	    {"@", B0_ERR_FORMAT, 0, "nothing before"},
	    {"example.com.", B0_ERR_FORMAT, 0, "ends with a dot"},
	    {"ex ample.com", B0_ERR_FORMAT, 0, "has \" \""},
	    {"xn--caf-dma.fr", 0, B0_IDENT_DOMAIN, NULL},
	    {"caf\xc3\xa9.fr", B0_ERR_FORMAT, 0, "xn--"},
	    {"10.0.0.1", B0_ERR_FORMAT, 0, "all digits"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		enum b0_ident_kind k = (enum b0_ident_kind)99;
		struct b0_errmsg em;
		size_t n = strlen(t[i].in);
		char *g;
		int r;

		b0_err_clear(&em);
		r = b0_ident_parse(t[i].in, n, &k, &em);
		is_int(r, t[i].r, "identity \"%s\" -> %d", nm(t[i].in), t[i].r);
		if (t[i].r == 0)
			is_str(b0_ident_kind_name(k),
			    b0_ident_kind_name(t[i].kind),
			    "identity \"%s\" kind", nm(t[i].in));
		else
			has_str(em.text, t[i].msg, "identity \"%s\" message",
			    nm(t[i].in));
		g = tap_guard(t[i].in, n);
		is_int(b0_ident_parse(g, n, &k, NULL), t[i].r,
		    "identity \"%s\" at a page end", nm(t[i].in));
		tap_unguard(g, n);
	}
}

static void
test_show(void)
{
	static const struct {
		const char *in;
		size_t size;
		const char *want;
	} t[] = {
	    {"plain", 64, "plain"},
	    {"a\"b\\c", 64, "a\\\"b\\\\c"},
	    {"tab\there", 64, "tab\\x09here"},
	    {"nl\n", 64, "nl\\x0a"},
	    {"b\xc3\xbc"
	     "cher",
		64,
		"b\xc3\xbc"
		"cher"},
	    {"bad\xff", 64, "bad\\xff"},
	    {"cut\xc3", 64, "cut\\xc3"},
	    {"rtl\xe2\x80\xae", 64, "rtl\\u{202E}"},
	    {"zw\xe2\x80\x8b", 64, "zw\\u{200B}"},
	    {"c1\xc2\x85", 64, "c1\\u{0085}"},
	    {"abcdefghij", 8, "abcd..."},
	    {"abcdefg", 8, "abcdefg"},
	    {"abc\ndefg", 8, "abc..."},
	    {"abcdefghij", 3, "ab"},
	    {"", 8, ""},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char out[64];

		b0_ident_show(out, t[i].size, t[i].in, strlen(t[i].in));
		is_str(out, t[i].want, "show \"%s\" in %zu", nm(t[i].in),
		    t[i].size);
	}
}

static void
test_fix_utf8(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"plain", "plain"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"caf\xc3", "caf"},
	    {"x\xe2\x80", "x"},
	    {"ok\xf0\x9f\x98\x80", "ok\xf0\x9f\x98\x80"},
	    {"ok\xf0\x9f\x98", "ok"},
	    {"a\xff"
	     "b",
		"a"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[32];

		strcpy(buf, t[i].in);
		b0_utf8_trim(buf);
		is_str(buf, t[i].want, "fix_utf8 \"%s\"", nm(t[i].in));
	}
}

/* Nested messages keep their advice, however long the quoted parts. */
static void
test_long_messages(void)
{
	char list[400], *p = list;
	struct b0_allow a;
	struct b0_errmsg em;
	size_t i;

	for (i = 0; i < 60; i++) {
		memcpy(p, "\xc3\xa9", 2);
		p += 2;
	}
	strcpy(p, ".com");
	b0_err_clear(&em);
	is_int(b0_allow_parse(list, strlen(list), &a, &em), B0_ERR_FORMAT,
	    "long non-ASCII entry refused");
	has_str(em.text, "punycode form (xn--...)",
	    "the advice survives a long entry");
	ok(b0_utf8_valid(em.text, strlen(em.text)), "message is UTF-8");
	p = list;
	for (i = 0; i < 40; i++)
		*p++ = 'b';
	*p++ = '@';
	for (i = 0; i < 100; i++) {
		memcpy(p, "\xc3\xa9", 2);
		p += 2;
	}
	strcpy(p, ".com");
	is_int(b0_allow_parse(list, strlen(list), &a, &em), B0_ERR_FORMAT,
	    "long non-ASCII address refused");
	ok(b0_utf8_valid(em.text, strlen(em.text)), "message is UTF-8");
}

static void
test_parse_list(void)
{
	static const struct {
		const char *in;
		int r;
		size_t n;
		const char *joined; /* or a piece of the message */
	} t[] = {
	    {"a@b.com", 0, 1, "a@b.com"},
	    {"A@B.com,example.ORG,.Sub.Example.NET", 0, 3,
		"a@b.com,example.org,.sub.example.net"},
	    {"b.com,a.com", 0, 2, "b.com,a.com"},
	    {"b.com,.b.com,x@b.com", 0, 3, "b.com,.b.com,x@b.com"},
	    {"", B0_ERR_FORMAT, 0, "the allow list is empty"},
	    {",", B0_ERR_FORMAT, 0, "starts with a comma"},
	    {"a@b.com,", B0_ERR_FORMAT, 0, "ends with a comma"},
	    {",a@b.com", B0_ERR_FORMAT, 0, "starts with a comma"},
	    {"a@b.com,,c.com", B0_ERR_FORMAT, 0, "an empty entry"},
	    {"a,,b", B0_ERR_FORMAT, 0, "an empty entry"},
	    {"a@b.com, c.com", B0_ERR_FORMAT, 0, "has a space"},
	    {"a@b.com,alice", B0_ERR_FORMAT, 0,
		"entry \"alice\": it is a single name"},
	    {"x.com,X.COM", B0_ERR_FORMAT, 0,
		"entry \"X.COM\" repeats entry 1 (\"x.com\""},
	    {".x.com,y.com,.X.com", B0_ERR_FORMAT, 0, "repeats entry 1"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct b0_allow a;
		struct b0_errmsg em;
		char out[512];
		int r;

		b0_err_clear(&em);
		r = b0_allow_parse(t[i].in, strlen(t[i].in), &a, &em);
		is_int(r, t[i].r, "list \"%s\" -> %d", t[i].in, t[i].r);
		if (r == 0) {
			is_int(a.n, t[i].n, "list \"%s\" has %zu entries",
			    t[i].in, t[i].n);
			b0_allow_join(&a, ",", out, sizeof(out));
			is_str(out, t[i].joined, "list \"%s\" normalised",
			    t[i].in);
		} else {
			has_str(em.text, t[i].joined, "list \"%s\" message",
			    t[i].in);
			ok(a.n == 0 && a.v == NULL && a.buf == NULL,
			    "list \"%s\" left empty", t[i].in);
		}
		b0_allow_cleanup(&a);
	}
}

static void
test_list_limits(void)
{
	char buf[B0_ALLOW_MAX * 8 + 16], small[8];
	struct b0_allow a;
	struct b0_errmsg em;
	size_t i, len = 0;

	for (i = 0; i < B0_ALLOW_MAX; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "%s%03zx.io", i ? "," : "", i);
	is_int(b0_allow_parse(buf, len, &a, NULL), 0, "%d entries parse",
	    B0_ALLOW_MAX);
	is_int(a.n, B0_ALLOW_MAX, "all of them");
	is_int(b0_allow_join(&a, ",", small, sizeof(small)), B0_ERR_TOO_BIG,
	    "join into a small buffer");
	b0_allow_cleanup(&a);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, ",zzz.io");
	b0_err_clear(&em);
	is_int(b0_allow_parse(buf, len, &a, &em), B0_ERR_TOO_BIG,
	    "%d entries do not", B0_ALLOW_MAX + 1);
	has_str(em.text, "more than 256", "too many entries message");
	b0_allow_cleanup(NULL);
}

/*
 * Matching, with the look-alikes: one list per row, the address, the
 * expected result and a piece of the reason.
 */
static void
test_match(void)
{
	static const struct {
		const char *list, *email;
		int r;
		const char *reason;
	} t[] = {
	    /* Addresses: exact, case-insensitive on both parts. */
	    {"alice@example.com", "alice@example.com", 0,
		"matches \"alice@example.com\""},
	    {"alice@example.com", "ALICE@EXAMPLE.COM", 0, "matches"},
	    {"Alice@Example.com", "alice@example.COM", 0, "matches"},
	    {"alice@example.com", "alice2@example.com", B0_ERR_DENIED,
		"matches no entry"},
	    {"alice@example.com", "lice@example.com", B0_ERR_DENIED,
		"no entry"},
	    {"alice@example.com", "alice@example.co", B0_ERR_DENIED,
		"no entry"},
	    {"alice@example.com", "alice@example.com.evil.test", B0_ERR_DENIED,
		"no entry"},
	    {"alice@example.com", "alice@sub.example.com", B0_ERR_DENIED,
		"no entry"},
	    {"alice@example.com", "xalice@example.com", B0_ERR_DENIED,
		"no entry"},
	    /* Domains match at the "@" only. */
	    {"example.com", "a@example.com", 0,
		"matches \"example.com\" (every address at example.com)"},
	    {"example.com", "A@EXAMPLE.com", 0, "every address at"},
	    {"example.com", "a@evilexample.com", B0_ERR_DENIED, "no entry"},
	    {"example.com", "a@example.com.evil.test", B0_ERR_DENIED,
		"no entry"},
	    {"example.com", "a@sub.example.com", B0_ERR_DENIED,
		"\"example.com\" matches that exact domain only; add "
		"\".example.com\""},
	    {"example.com", "example.com@evil.test", B0_ERR_DENIED, "no entry"},
	    {"example.com", "a@example.co", B0_ERR_DENIED, "no entry"},
	    {"example.com", "a@xexample.com", B0_ERR_DENIED, "no entry"},
	    {"example.com", "a@example.com@evil.test", B0_ERR_FORMAT,
		"\"a@example.com@evil.test\" is not a valid email address: "
		"there is more than one \"@\""},
	    /* Subdomains: any depth, never the domain itself. */
	    {".example.com", "a@x.example.com", 0,
		"(every address at a subdomain of example.com)"},
	    {".example.com", "a@y.x.example.com", 0, "matches"},
	    {".example.com", "a@X.EXAMPLE.COM", 0, "matches"},
	    {".example.com", "a@example.com", B0_ERR_DENIED,
		"\".example.com\" matches subdomains only; add "
		"\"example.com\""},
	    {".example.com", "a@badexample.com", B0_ERR_DENIED, "no entry"},
	    {".example.com", "a@x.badexample.com", B0_ERR_DENIED, "no entry"},
	    {".example.com", "a@x.example.com.evil.test", B0_ERR_DENIED,
		"no entry"},
	    {".example.com", "a@example.com.x", B0_ERR_DENIED, "no entry"},
	    {".x.example.com", "a@x.example.com", B0_ERR_DENIED,
		"subdomains only"},
	    {".x.example.com", "a@y.example.com", B0_ERR_DENIED, "no entry"},
	    /* Several entries: the first match names itself. */
	    {"bob@b.org,example.com,.example.net", "bob@b.org", 0,
		"\"bob@b.org\""},
	    {"bob@b.org,example.com,.example.net", "carol@example.com", 0,
		"\"example.com\""},
	    {"bob@b.org,example.com,.example.net", "dan@lab.example.net", 0,
		"\".example.net\""},
	    {"bob@b.org,example.com,.example.net", "eve@example.net",
		B0_ERR_DENIED, "subdomains only"},
	    {"bob@b.org,example.com,.example.net", "bob@c.org", B0_ERR_DENIED,
		"bob@c.org matches no entry of the allow list"},
	    {"example.com,a@example.com", "a@example.com", 0,
		"\"example.com\""},
	    /* Invalid addresses from a token: denied with the reason. */
	    {"example.com", "", B0_ERR_FORMAT, "the address is empty"},
	    {"example.com", "alice", B0_ERR_FORMAT, "no \"@\""},
	    {"example.com", "@example.com", B0_ERR_FORMAT, "nothing before"},
	    {"example.com", "a@example.com.", B0_ERR_FORMAT, "ends with a dot"},
	    {"example.com", "a..b@example.com", B0_ERR_FORMAT, "two dots"},
	    {"example.com", "\"a\"@example.com", B0_ERR_FORMAT, "quoted"},
	    {"example.com", "a@example.com\n", B0_ERR_FORMAT, "\\x0a"},
	    {"example.com", "a@exam\xe2\x80\xaeple.com", B0_ERR_FORMAT,
		"\\u{202E}"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct b0_allow a;
		struct b0_errmsg reason;
		int r;

		if (b0_allow_parse(t[i].list, strlen(t[i].list), &a, NULL) !=
		    0) {
			ok(0, "list \"%s\" parses", t[i].list);
			continue;
		}
		r = b0_allow_match(&a, t[i].email, &reason);
		is_int(r, t[i].r, "[%s] %s \"%s\"", t[i].list,
		    t[i].r == 0 ? "allows" : "denies", nm(t[i].email));
		has_str(reason.text, t[i].reason, "[%s] \"%s\" reason",
		    t[i].list, nm(t[i].email));
		b0_allow_cleanup(&a);
	}
	{
		struct b0_allow empty = {NULL, NULL, 0};
		struct b0_errmsg reason;

		is_int(b0_allow_match(&empty, "a@b.com", &reason),
		    B0_ERR_DENIED, "the empty list matches nothing");
		has_str(reason.text, "empty", "empty list reason");
		is_int(b0_allow_match(&empty, NULL, &reason), B0_ERR_ARG,
		    "no address: denied");
		is_int(b0_allow_match(NULL, "a@b.com", NULL), B0_ERR_DENIED,
		    "NULL list and reason");
	}
}

int
main(void)
{
	test_email();
	test_email_limits();
	test_ident();
	test_show();
	test_fix_utf8();
	test_long_messages();
	test_parse_list();
	test_list_limits();
	test_match();
	return tap_done();
}
