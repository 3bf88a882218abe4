/*
 * Unit tests for policy/b0_spec: publish specs.
 */
#include <stdint.h>
#include <string.h>

#include "b0_err.h"
#include "b0_spec.h"
#include "tap.h"

/*
 * Every row is parsed twice: as a C string and from a guard page.  Valid
 * rows give their normalised form, type, port and who may connect; invalid
 * ones an error that names the spec and contains want.
 */
static const struct {
	const char *in;
	int r;
	const char *want; /* normalised form, or a piece of the message */
	enum b0_sock_type type;
	unsigned port;
	const char *who;
} rows[] = {
    /* The four types, with and without lists. */
    {"tcp/22", 0, "tcp/22", B0_SOCK_TCP, 22, "anyone"},
    {"tls/22", 0, "tls/22", B0_SOCK_TLS, 22, "any signed-in person"},
    {"http/3000", 0, "http/3000", B0_SOCK_HTTP, 3000, "anyone"},
    {"https/8443", 0, "https/8443", B0_SOCK_HTTPS, 8443, "anyone"},
    {"tls/22/alice@example.com,example.org", 0,
	"tls/22/alice@example.com,example.org", B0_SOCK_TLS, 22,
	"alice@example.com, example.org"},
    {"http/3000/example.com", 0, "http/3000/example.com", B0_SOCK_HTTP, 3000,
	"example.com"},
    {"https/443/.example.net", 0, "https/443/.example.net", B0_SOCK_HTTPS, 443,
	".example.net"},
    {"tls/1/a@b.co", 0, "tls/1/a@b.co", B0_SOCK_TLS, 1, "a@b.co"},
    {"tls/65535/x.y", 0, "tls/65535/x.y", B0_SOCK_TLS, 65535, "x.y"},
    /* Normalisation: lower case, order kept. */
    {"tls/22/Alice@Example.COM", 0, "tls/22/alice@example.com", B0_SOCK_TLS, 22,
	"alice@example.com"},
    {"tls/22/Z.example,a.example", 0, "tls/22/z.example,a.example", B0_SOCK_TLS,
	22, "z.example, a.example"},
    {"tls/22/.Sub.Example.Com,Bob@x.org", 0,
	"tls/22/.sub.example.com,bob@x.org", B0_SOCK_TLS, 22,
	".sub.example.com, bob@x.org"},
    {"tls/22/xn--bcher-kva.de", 0, "tls/22/xn--bcher-kva.de", B0_SOCK_TLS, 22,
	"xn--bcher-kva.de"},
    {"tls/22/o'brien+lab@a-b.example.com", 0,
	"tls/22/o'brien+lab@a-b.example.com", B0_SOCK_TLS, 22,
	"o'brien+lab@a-b.example.com"},
    {"tls/22/first.last@example.com", 0, "tls/22/first.last@example.com",
	B0_SOCK_TLS, 22, "first.last@example.com"},
    {"tls/22/1.example.com", 0, "tls/22/1.example.com", B0_SOCK_TLS, 22,
	"1.example.com"},
    /* Segments. */
    {"", B0_ERR_FORMAT, "empty spec", 0, 0, NULL},
    {"tls", B0_ERR_FORMAT, "tls: the port is missing", 0, 0, NULL},
    {"tls/", B0_ERR_FORMAT, "tls/: the port is empty", 0, 0, NULL},
    {"tls/22/a/b", B0_ERR_FORMAT, "tls/22/a/b: too many \"/\"", 0, 0, NULL},
    {"tls/22/a@b.com/", B0_ERR_FORMAT, "too many", 0, 0, NULL},
    {"tls//x.com", B0_ERR_FORMAT, "tls//x.com: the port is empty", 0, 0, NULL},
    {"tls/22/", B0_ERR_FORMAT, "tls/22/: nothing follows the last", 0, 0, NULL},
    {"/22", B0_ERR_FORMAT, "/22: the type before the first \"/\" is empty", 0,
	0, NULL},
    {"//", B0_ERR_FORMAT, "the type before", 0, 0, NULL},
    {"tcp/22/", B0_ERR_FORMAT, "nothing follows the last", 0, 0, NULL},
    /* Types. */
    {"TCP/22", B0_ERR_FORMAT,
	"TCP/22: the type \"TCP\" must be written in lower case (\"tcp\"); "
	"the types are tcp, tls, http and https",
	0, 0, NULL},
    {"Tls/22", B0_ERR_FORMAT, "(\"tls\")", 0, 0, NULL},
    {"udp/53", B0_ERR_FORMAT,
	"udp/53: unknown type \"udp\"; the types are tcp, tls, http and https",
	0, 0, NULL},
    {"ssh/22", B0_ERR_FORMAT, "unknown type \"ssh\"", 0, 0, NULL},
    {"tlss/22", B0_ERR_FORMAT, "unknown type \"tlss\"", 0, 0, NULL},
    {"htt/80", B0_ERR_FORMAT, "unknown type \"htt\"", 0, 0, NULL},
    /* Ports. */
    {"tls/0", B0_ERR_FORMAT, "tls/0: the port 0 is out of range", 0, 0, NULL},
    {"tls/65536", B0_ERR_FORMAT, "the port 65536 is out of range", 0, 0, NULL},
    {"tls/99999999999999999999", B0_ERR_FORMAT, "out of range", 0, 0, NULL},
    {"tls/022", B0_ERR_FORMAT,
	"tls/022: the port \"022\" has a leading zero: write 22", 0, 0, NULL},
    {"tls/00", B0_ERR_FORMAT, "the port 00 is out of range", 0, 0, NULL},
    {"tls/+22", B0_ERR_FORMAT, "has a sign", 0, 0, NULL},
    {"tls/-22", B0_ERR_FORMAT, "has a sign", 0, 0, NULL},
    {"tls/ssh", B0_ERR_FORMAT,
	"the port \"ssh\" is not a number from 1 to 65535", 0, 0, NULL},
    {"tls/22a", B0_ERR_FORMAT, "\"22a\" is not a number", 0, 0, NULL},
    {"tls/0x16", B0_ERR_FORMAT, "is not a number", 0, 0, NULL},
    /* Spaces and control characters. */
    {"tls/22/a@b.com, c@d.com", B0_ERR_FORMAT,
	"tls/22/a@b.com, c@d.com: the spec has a space", 0, 0, NULL},
    {" tls/22", B0_ERR_FORMAT, "has a space", 0, 0, NULL},
    {"tls/22 ", B0_ERR_FORMAT, "has a space", 0, 0, NULL},
    {"tls/\t22", B0_ERR_FORMAT, "has a space", 0, 0, NULL},
    {"tls/22\n", B0_ERR_FORMAT, "tls/22\\x0a: the spec has a control", 0, 0,
	NULL},
    /* Allow lists. */
    {"tls/22/a@b.com,,c@d.com", B0_ERR_FORMAT, "empty entry", 0, 0, NULL},
    {"tls/22/a,,b", B0_ERR_FORMAT, "tls/22/a,,b: the allow list has an empty",
	0, 0, NULL},
    {"tls/22/a@b.com,", B0_ERR_FORMAT, "ends with a comma", 0, 0, NULL},
    {"tls/22/,a@b.com", B0_ERR_FORMAT, "starts with a comma", 0, 0, NULL},
    {"tls/22/,", B0_ERR_FORMAT, "with a comma", 0, 0, NULL},
    {"tls/22/alice", B0_ERR_FORMAT,
	"tls/22/alice: entry \"alice\": it is a single name", 0, 0, NULL},
    {"tls/22/localhost", B0_ERR_FORMAT, "entry \"localhost\": it is a single",
	0, 0, NULL},
    {"tls/22/a@b.com,A@B.COM", B0_ERR_FORMAT,
	"entry \"A@B.COM\" repeats entry 1 (\"a@b.com\"; case does not matter)",
	0, 0, NULL},
    {"tls/22/example.com,x.org,EXAMPLE.com", B0_ERR_FORMAT, "repeats entry 1",
	0, 0, NULL},
    {"tls/22/a@@b.com", B0_ERR_FORMAT, "more than one \"@\"", 0, 0, NULL},
    {"tls/22/@b.com", B0_ERR_FORMAT,
	"nothing before the \"@\": write the "
	"domain alone (\"b.com\")",
	0, 0, NULL},
    {"tls/22/*@b.com", B0_ERR_FORMAT, "\"*\" is not a wildcard", 0, 0, NULL},
    {"tls/22/*.b.com", B0_ERR_FORMAT, "write \".b.com\"", 0, 0, NULL},
    {"tls/22/a@", B0_ERR_FORMAT, "nothing after the \"@\"", 0, 0, NULL},
    {"tls/22/.com", B0_ERR_FORMAT, "top-level domain", 0, 0, NULL},
    {"tls/22/..example.com", B0_ERR_FORMAT, "two dots", 0, 0, NULL},
    {"tls/22/a..b@c.com", B0_ERR_FORMAT, "two dots in a row", 0, 0, NULL},
    {"tls/22/\"a\"@c.com", B0_ERR_FORMAT, "quoted local parts", 0, 0, NULL},
    {"tls/22/a(b)@c.com", B0_ERR_FORMAT, "has \"(\", which may not", 0, 0,
	NULL},
    {"tls/22/exa_mple.com", B0_ERR_FORMAT, "label \"exa_mple\" has \"_\"", 0, 0,
	NULL},
    {"tls/22/-x.com", B0_ERR_FORMAT, "starts with \"-\"", 0, 0, NULL},
    {"tls/22/x-.com", B0_ERR_FORMAT, "ends with \"-\"", 0, 0, NULL},
    {"tls/22/b\xc3\xbc"
     "cher.de",
	B0_ERR_FORMAT, "punycode form (xn--...)", 0, 0, NULL},
    {"tls/22/j\xc3\xb6rg@example.com", B0_ERR_FORMAT, "non-ASCII", 0, 0, NULL},
    {"tls/22/a@1.2.3.4", B0_ERR_FORMAT, "is all digits", 0, 0, NULL},
    {"tls/22/a@[1.2.3.4]", B0_ERR_FORMAT, "has \"[\"", 0, 0, NULL},
    {"tls/22/example.com.", B0_ERR_FORMAT, "ends with a dot", 0, 0, NULL},
    /* tcp carries no identity. */
    {"tcp/22/alice@example.com", B0_ERR_FORMAT,
	"tcp/22/alice@example.com: a tcp socket carries no identity, so it "
	"takes no allow list; for an identity-aware stream write "
	"tls/22/alice@example.com",
	0, 0, NULL},
    {"tcp/2222/example.com,.example.org", B0_ERR_FORMAT,
	"write tls/2222/example.com,.example.org", 0, 0, NULL},
};

/* A row's input as a TAP-safe name (no control characters). */
static const char *
nm(const char *s)
{
	static char buf[128];

	b0_ident_show(buf, sizeof(buf), s, strlen(s));
	return buf;
}

static void
test_rows(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct b0_spec sp;
		struct b0_errmsg em;
		char out[B0_SPEC_MAX + 1], who[B0_SPEC_MAX * 2];
		size_t n = strlen(rows[i].in);
		char *g;
		int r;

		b0_err_clear(&em);
		r = b0_spec_parse(rows[i].in, &sp, &em);
		is_int(r, rows[i].r, "spec \"%s\" -> %d", nm(rows[i].in),
		    rows[i].r);
		if (r == 0) {
			is_int(b0_spec_format(&sp, out, sizeof(out)), 0,
			    "spec \"%s\" formats", nm(rows[i].in));
			is_str(out, rows[i].want, "spec \"%s\" normalised",
			    nm(rows[i].in));
			ok(sp.type == rows[i].type && sp.port == rows[i].port,
			    "spec \"%s\" type %s port %u", nm(rows[i].in),
			    b0_spec_type_name(rows[i].type), rows[i].port);
			is_int(b0_spec_who(&sp, who, sizeof(who)), 0,
			    "spec \"%s\" who", nm(rows[i].in));
			is_str(who, rows[i].who, "spec \"%s\" who",
			    nm(rows[i].in));
		} else
			has_str(em.text, rows[i].want, "spec \"%s\" message",
			    nm(rows[i].in));
		b0_spec_cleanup(&sp);

		/* The same from a guard page: no read past the end. */
		g = tap_guard(rows[i].in, n);
		r = b0_spec_parsen(g, n, &sp, NULL);
		is_int(
		    r, rows[i].r, "spec \"%s\" at a page end", nm(rows[i].in));
		b0_spec_cleanup(&sp);
		tap_unguard(g, n);
	}
}

/* Normalised specs parse to themselves; so do their upper-cased lists. */
static void
test_roundtrip(void)
{
	static const char *const in[] = {
	    "tls/22/B@X.org,.Y.example,z.example",
	    "http/8080/A.B.C.D.example",
	    "https/443",
	};
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct b0_spec a, b;
		char fa[B0_SPEC_MAX + 1], fb[B0_SPEC_MAX + 1];

		ok(b0_spec_parse(in[i], &a, NULL) == 0 &&
			b0_spec_format(&a, fa, sizeof(fa)) == 0 &&
			b0_spec_parse(fa, &b, NULL) == 0 &&
			b0_spec_format(&b, fb, sizeof(fb)) == 0 &&
			strcmp(fa, fb) == 0 && a.type == b.type &&
			a.port == b.port && a.allow.n == b.allow.n,
		    "\"%s\" -> \"%s\" parses to itself", in[i], fa);
		b0_spec_cleanup(&a);
		b0_spec_cleanup(&b);
	}
}

/* Fill dst with n copies of c; returns dst + n. */
static char *
fill(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	return dst + n;
}

/* A domain of 253 bytes: three labels of 63, one of 61; first byte c. */
static char *
long_domain(char *p, char c)
{
	char *start = p;

	p = fill(p, 'a', 63);
	*p++ = '.';
	p = fill(p, 'b', 63);
	*p++ = '.';
	p = fill(p, 'c', 63);
	*p++ = '.';
	p = fill(p, 'd', 61);
	*start = c;
	return p;
}

static void
test_limits(void)
{
	char big[B0_SPEC_MAX + 2], out[B0_SPEC_MAX + 1], small[10], *p;
	struct b0_spec sp;
	struct b0_errmsg em;
	int r;

	/* tls/22/ + 3 domains of 253 + an address of 254 + 3 commas. */
	p = big;
	memcpy(p, "tls/22/", 7);
	p = long_domain(p + 7, 'x');
	*p++ = ',';
	p = long_domain(p, 'y');
	*p++ = ',';
	p = long_domain(p, 'z');
	*p++ = ',';
	p = fill(p, 'l', 64);
	*p++ = '@';
	p = fill(p, 'a', 63);
	*p++ = '.';
	p = fill(p, 'b', 63);
	*p++ = '.';
	p = fill(p, 'c', 61);
	*p = '\0';
	is_int(strlen(big), B0_SPEC_MAX, "spec of exactly %d bytes built",
	    B0_SPEC_MAX);
	b0_err_clear(&em);
	r = b0_spec_parse(big, &sp, &em);
	is_int(r, 0, "spec of %d bytes with the longest entries parses",
	    B0_SPEC_MAX);
	if (r != 0)
		tap_diag("%s", em.text);
	is_int(sp.allow.n, 4, "it has 4 entries");
	is_int(b0_spec_format(&sp, out, sizeof(out)), 0,
	    "its normalised form fits B0_SPEC_MAX + 1 bytes");
	is_str(out, big, "and is the spec itself");
	is_int(b0_spec_format(&sp, small, sizeof(small)), B0_ERR_TOO_BIG,
	    "format into a small buffer is B0_ERR_TOO_BIG");
	b0_spec_cleanup(&sp);
	strcat(big, "x");
	b0_err_clear(&em);
	is_int(b0_spec_parse(big, &sp, &em), B0_ERR_TOO_BIG,
	    "spec of %d bytes is too long", B0_SPEC_MAX + 1);
	has_str(em.text, "longer than 1023 bytes", "too long message");
	has_str(em.text, "...", "a long spec is shortened in messages");
	ok(strlen(em.text) < sizeof(em.text) - 1, "message not truncated");

	/* An embedded NUL is refused by parsen. */
	is_int(b0_spec_parsen("tls/22\0x", 8, &sp, NULL), B0_ERR_FORMAT,
	    "NUL byte in a spec");
	is_str(b0_spec_type_name((enum b0_sock_type)9), "unknown",
	    "type name out of range");
}

static void
test_match(void)
{
	static const struct {
		const char *spec, *email;
		int r;
		const char *reason;
	} t[] = {
	    {"tcp/22", NULL, 0, "tcp socket carries no identity"},
	    {"http/80", NULL, 0, "no allow list: anyone may connect"},
	    {"https/443", "a@b.com", 0, "anyone"},
	    {"tls/22", NULL, B0_ERR_ARG, "signed-in people only"},
	    {"tls/22", "a@b.com", 0, "admits any signed-in person"},
	    {"tls/22", "a@b.com@evil.test", B0_ERR_FORMAT,
		"not a valid email address"},
	    {"tls/22/a@b.com", "A@B.com", 0, "matches \"a@b.com\""},
	    {"tls/22/a@b.com", "c@b.com", B0_ERR_DENIED, "matches no entry"},
	    {"http/80/b.com", NULL, B0_ERR_ARG, "not signed in"},
	    {"http/80/b.com", "x@b.com", 0, "every address at b.com"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct b0_spec sp;
		struct b0_errmsg reason;
		int r;

		if (b0_spec_parse(t[i].spec, &sp, NULL) != 0) {
			ok(0, "parse %s", t[i].spec);
			continue;
		}
		r = b0_spec_match(&sp, t[i].email, &reason);
		is_int(r, t[i].r, "%s admits %s: %d", t[i].spec,
		    t[i].email ? t[i].email : "(nobody)", t[i].r);
		has_str(reason.text, t[i].reason, "%s / %s reason", t[i].spec,
		    t[i].email ? t[i].email : "(nobody)");
		b0_spec_cleanup(&sp);
	}
	{
		struct b0_spec sp;

		ok(b0_spec_parse("tls/22", &sp, NULL) == 0 &&
			b0_spec_login(&sp),
		    "tls without a list needs login");
		b0_spec_cleanup(&sp);
		ok(b0_spec_parse("http/80", &sp, NULL) == 0 &&
			!b0_spec_login(&sp),
		    "http without a list needs no login");
		b0_spec_cleanup(&sp);
		ok(b0_spec_parse("http/80/x.com", &sp, NULL) == 0 &&
			b0_spec_login(&sp),
		    "http with a list needs login");
		b0_spec_cleanup(&sp);
	}
}

int
main(void)
{
	test_rows();
	test_roundtrip();
	test_limits();
	test_match();
	return tap_done();
}
