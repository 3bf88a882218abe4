/*
 * Unit tests for lib/b0_http: request and response heads, chunked bodies,
 * form data and percent coding.
 */
#include <stdint.h>
#include <string.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_http.h"
#include "tap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Where the head of s ends: after the first CRLFCRLF past leading CRLFs. */
static size_t
head_len(const char *s)
{
	size_t skip = 0;
	const char *e;

	while (strncmp(s + skip, "\r\n", 2) == 0)
		skip += 2;
	e = strstr(s + skip, "\r\n\r\n");
	return e == NULL ? 0 : (size_t)(e - s) + 4;
}

/* Parse s (guarded) as a request; the guard copy is returned in *gp. */
static int
req_g(const char *s, struct b0_http_req *rq, struct b0_errmsg *em, char **gp)
{
	size_t n = strlen(s);

	*gp = tap_guard(s, n);
	em->text[0] = '\0';
	return b0_http_req_parse(*gp, n, NULL, rq, em);
}

/* Every proper prefix of a valid head must be INCOMPLETE. */
static void
prefixes(const char *s, int response, const char *name)
{
	struct b0_http_req rq;
	struct b0_http_resp rs;
	struct b0_errmsg em;
	size_t hl = head_len(s), i;
	int bad = 0, r;

	for (i = 0; i < hl; i++) {
		char *g = tap_guard(s, i);

		r = response ? b0_http_resp_parse(g, i, "GET", NULL, &rs, &em)
			     : b0_http_req_parse(g, i, NULL, &rq, &em);
		tap_unguard(g, i);
		if (r != B0_ERR_INCOMPLETE) {
			tap_diag(
			    "prefix %zu of %s: %d (%s)", i, name, r, em.text);
			bad++;
			break;
		}
	}
	ok(bad == 0, "%s: all %zu prefixes incomplete", name, hl);
}

static void
test_good_requests(void)
{
	static const struct {
		const char *in;
		const char *method, *target;
		enum b0_http_form form;
		size_t nfields;
		int minor;
		enum b0_http_body body;
		uint64_t cl;
	} t[] = {
	    {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/",
		B0_HTTP_ORIGIN_FORM, 1, 1, B0_HTTP_BODY_NONE, 0},
	    {"GET /p/a?x=1&y=%20 HTTP/1.1\r\nHost: e.test:8443\r\n"
	     "Accept: */*\r\n\r\n",
		"GET", "/p/a?x=1&y=%20", B0_HTTP_ORIGIN_FORM, 2, 1,
		B0_HTTP_BODY_NONE, 0},
	    {"CONNECT ssh.e.test:22 HTTP/1.1\r\nHost: ssh.e.test:22\r\n"
	     "Authorization: Bearer abc.def.ghi\r\n\r\n",
		"CONNECT", "ssh.e.test:22", B0_HTTP_AUTHORITY_FORM, 2, 1,
		B0_HTTP_BODY_NONE, 0},
	    {"CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443"
	     "\r\n\r\n",
		"CONNECT", "[2001:db8::1]:443", B0_HTTP_AUTHORITY_FORM, 1, 1,
		B0_HTTP_BODY_NONE, 0},
	    {"CONNECT 10.0.0.1:65535 HTTP/1.0\r\n\r\n", "CONNECT",
		"10.0.0.1:65535", B0_HTTP_AUTHORITY_FORM, 0, 0,
		B0_HTTP_BODY_NONE, 0},
	    {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "*",
		B0_HTTP_ASTERISK_FORM, 1, 1, B0_HTTP_BODY_NONE, 0},
	    {"OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n", "OPTIONS", "/x",
		B0_HTTP_ORIGIN_FORM, 1, 1, B0_HTTP_BODY_NONE, 0},
	    {"POST /token HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	     "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
	     "a=b&c",
		"POST", "/token", B0_HTTP_ORIGIN_FORM, 3, 1,
		B0_HTTP_BODY_LENGTH, 5},
	    {"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	     "\r\n0\r\n\r\n",
		"POST", "/u", B0_HTTP_ORIGIN_FORM, 2, 1, B0_HTTP_BODY_CHUNKED,
		0},
	    {"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n"
	     "\r\n",
		"POST", "/u", B0_HTTP_ORIGIN_FORM, 2, 1, B0_HTTP_BODY_CHUNKED,
		0},
	    {"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked,"
	     "\r\n\r\n",
		"POST", "/u", B0_HTTP_ORIGIN_FORM, 2, 1, B0_HTTP_BODY_CHUNKED,
		0},
	    /* Repeated but equal Content-Length fields collapse (RFC 9110
	     * section 8.6 allows it); "007" is 1*DIGIT. */
	    {"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n"
	     "content-length: 007\r\n\r\n",
		"PUT", "/x", B0_HTTP_ORIGIN_FORM, 3, 1, B0_HTTP_BODY_LENGTH, 7},
	    {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "POST",
		"/x", B0_HTTP_ORIGIN_FORM, 2, 1, B0_HTTP_BODY_LENGTH, 0},
	    {"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: "
	     "18446744073709551615\r\n\r\n",
		"POST", "/x", B0_HTTP_ORIGIN_FORM, 2, 1, B0_HTTP_BODY_LENGTH,
		UINT64_MAX},
	    {"GET / HTTP/1.0\r\n\r\n", "GET", "/", B0_HTTP_ORIGIN_FORM, 0, 0,
		B0_HTTP_BODY_NONE, 0},
	    {"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET", "/",
		B0_HTTP_ORIGIN_FORM, 1, 1, B0_HTTP_BODY_NONE, 0},
	    /* OWS trimmed; empty values, obs-text and HTAB inside kept. */
	    {"GET / HTTP/1.1\r\nHost:a\r\nX-E:\r\nX-S:  \t \r\n"
	     "X-T: a\tb \xc3\xa9 \t\r\n\r\n",
		"GET", "/", B0_HTTP_ORIGIN_FORM, 4, 1, B0_HTTP_BODY_NONE, 0},
	    {"M-SEARCH! /x HTTP/1.1\r\nHost: a\r\n\r\n", "M-SEARCH!", "/x",
		B0_HTTP_ORIGIN_FORM, 1, 1, B0_HTTP_BODY_NONE, 0},
	    {"GET /a|b{c}^[d]`e\\ HTTP/1.1\r\nHost: a\r\n\r\n", "GET",
		"/a|b{c}^[d]`e\\", B0_HTTP_ORIGIN_FORM, 1, 1, B0_HTTP_BODY_NONE,
		0},
	    {"GET / HTTP/1.1\r\nHost: h_1-x.example.com\r\n\r\n", "GET", "/",
		B0_HTTP_ORIGIN_FORM, 1, 1, B0_HTTP_BODY_NONE, 0},
	};
	struct b0_http_req rq;
	struct b0_errmsg em;
	size_t i;
	char *g;
	int r;

	for (i = 0; i < N(t); i++) {
		r = req_g(t[i].in, &rq, &em, &g);
		is_int(r, head_len(t[i].in), "good request %zu parses (%s)", i,
		    em.text);
		if (r > 0) {
			ok(rq.method_len == strlen(t[i].method) &&
				memcmp(rq.method, t[i].method, rq.method_len) ==
				    0,
			    "good request %zu method", i);
			ok(rq.target_len == strlen(t[i].target) &&
				memcmp(rq.target, t[i].target, rq.target_len) ==
				    0,
			    "good request %zu target", i);
			is_int(rq.form, t[i].form, "good request %zu form", i);
			is_int(rq.h.nfields, t[i].nfields,
			    "good request %zu field count", i);
			is_int(rq.h.minor, t[i].minor,
			    "good request %zu version", i);
			is_int(
			    rq.h.body, t[i].body, "good request %zu body", i);
			ok(rq.h.content_length == t[i].cl,
			    "good request %zu content length", i);
			is_int(
			    rq.h.head_len, r, "good request %zu head_len", i);
			is_int(rq.h.error_status, 0,
			    "good request %zu no status", i);
		}
		tap_unguard(g, strlen(t[i].in));
		prefixes(t[i].in, 0, "good request");
	}
}

static void
test_fields(void)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: e.test\r\n"
				 "X-E:\r\nX-T: a\tb \t\r\n"
				 "Connection: keep-alive, Upgrade\r\n"
				 "cOnNeCtIoN:close\r\n"
				 "Upgrade: websocket\r\n\r\n";
	struct b0_http_req rq;
	struct b0_errmsg em;
	const char *v;
	size_t vl;
	char *g;

	is_int(req_g(in, &rq, &em, &g), strlen(in), "fields request parses");
	ok(rq.host_len == 6 && memcmp(rq.host, "e.test", 6) == 0, "host");
	is_int(b0_http_get(&rq.h, "x-e", &v, &vl), 1, "empty field found");
	ok(v != NULL && vl == 0, "empty field value");
	is_int(b0_http_get(&rq.h, "X-T", &v, &vl), 1, "X-T found");
	ok(vl == 3 && memcmp(v, "a\tb", 3) == 0,
	    "inner whitespace kept, outer trimmed");
	is_int(b0_http_get(&rq.h, "connection", &v, &vl), 2,
	    "two Connection fields");
	ok(vl == 19 && memcmp(v, "keep-alive, Upgrade", 19) == 0,
	    "first Connection value");
	is_int(b0_http_get(&rq.h, "Cookie", &v, &vl), 0, "absent field");
	ok(v == NULL && vl == 0, "absent field value");
	is_int(b0_http_get(&rq.h, "Host", NULL, NULL), 1, "NULL outputs");
	ok(b0_http_has_token(&rq.h, "Connection", "upgrade"),
	    "Connection has upgrade");
	ok(b0_http_has_token(&rq.h, "Connection", "CLOSE"),
	    "Connection has close (second field)");
	ok(!b0_http_has_token(&rq.h, "Connection", "keep"),
	    "no partial token match");
	ok(!b0_http_has_token(&rq.h, "Upgrade", "web"), "no prefix match");
	ok(b0_http_has_token(&rq.h, "upgrade", "WebSocket"), "Upgrade");
	ok(b0_http_field_is(&rq.h.fields[0], "HOST"), "field_is");
	ok(!b0_http_field_is(&rq.h.fields[0], "Hos"), "field_is length");
	/* Pointers sit inside the buffer. */
	ok(rq.h.fields[5].name >= g &&
		rq.h.fields[5].value + rq.h.fields[5].value_len <=
		    g + strlen(in),
	    "field pointers inside the buffer");
	tap_unguard(g, strlen(in));

	ok(b0_http_list_has(" a ,, b\t,c", 10, "b"), "list with empties");
	ok(b0_http_list_has("a,b", 3, "a"), "list first");
	ok(!b0_http_list_has("ab", 2, "a"), "list no prefix");
	ok(!b0_http_list_has("", 0, "a"), "empty list");
	ok(!b0_http_list_has(",,,", 3, ""), "empty token never matches");
	is_str(b0_http_reason(431), "Request Header Fields Too Large",
	    "reason 431");
	is_str(b0_http_reason(421), "Misdirected Request", "reason 421");
	is_str(b0_http_reason(799), "", "unknown reason");
}

static void
test_bad_requests(void)
{
	static const struct {
		const char *in;
		int r, status;
		const char *msg;
	} t[] = {
	    /* Line endings. */
	    {"GET / HTTP/1.1\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"request line: bare LF"},
	    {"GET / HTTP/1.1\r\nHost: a\n\r\n", B0_ERR_FORMAT, 400,
		"header line 1: bare LF"},
	    {"GET / HTTP/1.1\r\nHost: a\r\n\n", B0_ERR_FORMAT, 400,
		"header line 2: bare LF"},
	    {"GET / HTTP/1.1\rHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"request line: bare CR"},
	    {"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", B0_ERR_FORMAT, 400,
		"header line 1: bare CR"},
	    {"GET / HTTP/1.1\r\nX: a\r\r\n\r\n", B0_ERR_FORMAT, 400, "bare CR"},
	    {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"bare LF"},
	    /* Request line. */
	    {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"no method"},
	    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"empty target"},
	    {"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid HTTP version"},
	    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid HTTP version"},
	    {"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid character 0x09 in method"},
	    {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid character 0x28 in method"},
	    {"GET\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400, "no target"},
	    {"GET /\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400, "no HTTP version"},
	    {"GET / http/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid HTTP version"},
	    {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid HTTP version"},
	    {"GET / HTTP/1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid HTTP version"},
	    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", B0_ERR_UNSUPPORTED, 505,
		"HTTP version HTTP/2.0 not supported"},
	    {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", B0_ERR_UNSUPPORTED, 505,
		"not supported"},
	    {"GET / HTTP/0.9\r\n\r\n", B0_ERR_UNSUPPORTED, 505,
		"not supported"},
	    {"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid character 0x09 in target"},
	    {"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid character 0xc3 in target"},
	    {"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid character 0x7f in target"},
	    {"GET /a#f HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"fragment"},
	    {"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"absolute-form target not accepted"},
	    {"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"target must start with /"},
	    {"GET a:443 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"target must start with /"},
	    {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"target * is for OPTIONS only"},
	    {"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"CONNECT target must be host:port"},
	    {"CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT a: HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT :22 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT a:0 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT a:65536 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT a:000022 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT a:2x HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT a@b:22 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT http://a:22 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT,
		400, "host:port"},
	    {"CONNECT [::1] HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT [::1:22 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT []:22 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    {"CONNECT [g::1]:22 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT,
		400, "host:port"},
	    {"CONNECT ::1:22 HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"host:port"},
	    /* Field lines. */
	    {"GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", B0_ERR_FORMAT, 400,
		"header line 2: space before colon"},
	    {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"header line 1: space before colon"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", B0_ERR_FORMAT,
		400,
		"header line 3: starts with whitespace (obsolete line "
		"folding)"},
	    {"GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"header line 1: starts with whitespace"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", B0_ERR_FORMAT, 400,
		"header line 2: no colon"},
	    {"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", B0_ERR_FORMAT, 400,
		"header line 2: empty field name"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nX(Y): b\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid character 0x28 in field name"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: b\r\n\r\n", B0_ERR_FORMAT,
		400, "invalid character 0xc3 in field name"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01"
	     "c\r\n\r\n",
		B0_ERR_FORMAT, 400,
		"header line 2: invalid character 0x01 in the value of X-A"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", B0_ERR_FORMAT,
		400, "invalid character 0x7f"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nX-A: \x1b[31m\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid character 0x1b"},
	    /* Framing (request smuggling). */
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n",
		B0_ERR_FORMAT, 400,
		"Content-Length and Transfer-Encoding both present"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	     "Content-Length: 0\r\n\r\n",
		B0_ERR_FORMAT, 400, "both present"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	     "Content-Length: 6\r\n\r\n",
		B0_ERR_FORMAT, 400, "Content-Length values differ"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
		B0_ERR_FORMAT, 400, "header line 2: invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	     "18446744073709551616\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	     "99999999999999999999999999\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid Content-Length"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, "
	     "identity\r\n\r\n",
		B0_ERR_FORMAT, 400, "does not end in chunked"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n"
	     "\r\n",
		B0_ERR_FORMAT, 400, "does not end in chunked"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	     "Transfer-Encoding: identity\r\n\r\n",
		B0_ERR_FORMAT, 400, "does not end in chunked"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n",
		B0_ERR_FORMAT, 400, "chunked more than once"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, "
	     "chunked\r\n\r\n",
		B0_ERR_FORMAT, 400, "chunked more than once"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, "
	     "chunked\r\n\r\n",
		B0_ERR_UNSUPPORTED, 501,
		"Transfer-Encoding gzip not supported"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n"
	     "\r\n",
		B0_ERR_FORMAT, 400, "does not end in chunked"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n"
	     "\r\n",
		B0_ERR_FORMAT, 400, "invalid Transfer-Encoding"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n"
	     "\r\n",
		B0_ERR_FORMAT, 400, "invalid Transfer-Encoding"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n",
		B0_ERR_FORMAT, 400, "empty Transfer-Encoding"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , \r\n\r\n",
		B0_ERR_FORMAT, 400, "empty Transfer-Encoding"},
	    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		B0_ERR_FORMAT, 400, "Transfer-Encoding in an HTTP/1.0 message"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n"
	     "\r\n",
		B0_ERR_FORMAT, 400, "space before colon"},
	    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n"
	     "\r\n",
		B0_ERR_FORMAT, 400, "obsolete line folding"},
	    /* Host. */
	    {"GET / HTTP/1.1\r\n\r\n", B0_ERR_FORMAT, 400, "no Host header"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", B0_ERR_FORMAT, 400,
		"more than one Host header"},
	    {"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", B0_ERR_FORMAT, 400,
		"more than one Host header"},
	    {"GET / HTTP/1.1\r\nHost:\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid Host header"},
	    {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid Host header"},
	    {"GET / HTTP/1.1\r\nHost: a:\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid Host header"},
	    {"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid Host header"},
	    {"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid Host header"},
	    {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid Host header"},
	    {"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", B0_ERR_FORMAT, 400,
		"invalid Host header"},
	    /* Header injection: a second request hidden in a value. */
	    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rGET /admin HTTP/1.1\r\n\r\n",
		B0_ERR_FORMAT, 400, "bare CR"},
	    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\nHost: evil\r\n\r\n",
		B0_ERR_FORMAT, 400, "bare LF"},
	    {"GET /\r\nHost: evil HTTP/1.1\r\nHost: a\r\n\r\n", B0_ERR_FORMAT,
		400, "no HTTP version"},
	    {"GET /%0d%0a HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n",
		B0_ERR_FORMAT, 400, "invalid character 0x00"},
	};
	struct b0_http_req rq;
	struct b0_errmsg em;
	size_t i, n;
	char *g;
	int r;

	for (i = 0; i < N(t); i++) {
		n = strlen(t[i].in);
		if (strstr(t[i].msg, "0x00") != NULL)
			n += strlen(t[i].in + n + 1) + 1; /* embedded NUL */
		g = tap_guard(t[i].in, n);
		em.text[0] = '\0';
		r = b0_http_req_parse(g, n, NULL, &rq, &em);
		tap_unguard(g, n);
		is_int(r, t[i].r, "bad request %zu rejected", i);
		is_int(rq.h.error_status, t[i].status, "bad request %zu status",
		    i);
		has_str(em.text, t[i].msg, "bad request %zu message", i);
	}
}

static void
test_limits(void)
{
	struct b0_http_limits lim = {256, 64, 8, 3};
	struct b0_http_req rq;
	struct b0_errmsg em;
	struct b0_buf b;
	const char *s;
	size_t i;
	int r;

	b0_buf_init(&b, 1 << 20);

	/* 64 fields pass, 65 do not (Host counts). */
	b0_buf_put_str(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < 64; i++)
		b0_buf_putf(&b, "X-%zu: v\r\n", i);
	b0_buf_put_str(&b, "\r\n");
	r = b0_http_req_parse(
	    (const char *)b0_buf_ptr(&b), b0_buf_len(&b), NULL, &rq, &em);
	is_int(r, b0_buf_len(&b), "64 fields parse");
	is_int(rq.h.nfields, 64, "64 fields kept");
	b0_buf_reset(&b);
	b0_buf_put_str(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < 65; i++)
		b0_buf_putf(&b, "X-%zu: v\r\n", i);
	/* Rejected before the end of the head arrives. */
	r = b0_http_req_parse(
	    (const char *)b0_buf_ptr(&b), b0_buf_len(&b), NULL, &rq, &em);
	is_int(r, B0_ERR_TOO_BIG, "65 fields rejected early");
	is_int(rq.h.error_status, 431, "65 fields: 431");
	has_str(em.text, "more than 64 header fields", "65 fields message");

	/* A head over 16 KiB. */
	b0_buf_reset(&b);
	b0_buf_put_str(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < 5; i++) {
		b0_buf_put_str(&b, "X: ");
		while (b0_buf_len(&b) % 4096 != 4000)
			b0_buf_put_u8(&b, 'v');
		b0_buf_put_str(&b, "\r\n");
	}
	r = b0_http_req_parse(
	    (const char *)b0_buf_ptr(&b), b0_buf_len(&b), NULL, &rq, &em);
	is_int(r, B0_ERR_TOO_BIG, "head over 16 KiB");
	has_str(em.text, "head longer than 16384 bytes", "head message");

	/* A request line over 8 KiB, still incomplete: 414. */
	b0_buf_reset(&b);
	b0_buf_put_str(&b, "GET /");
	for (i = 0; i < 8200; i++)
		b0_buf_put_u8(&b, 'a');
	r = b0_http_req_parse(
	    (const char *)b0_buf_ptr(&b), b0_buf_len(&b), NULL, &rq, &em);
	is_int(r, B0_ERR_TOO_BIG, "long request line");
	is_int(rq.h.error_status, 414, "long request line: 414");
	has_str(em.text, "request line longer than 8192 bytes",
	    "long request line message");
	/* A long field line, also caught before its end. */
	b0_buf_reset(&b);
	b0_buf_put_str(&b, "GET / HTTP/1.1\r\nHost: a\r\nCookie: ");
	for (i = 0; i < 8200; i++)
		b0_buf_put_u8(&b, 'c');
	r = b0_http_req_parse(
	    (const char *)b0_buf_ptr(&b), b0_buf_len(&b), NULL, &rq, &em);
	is_int(r, B0_ERR_TOO_BIG, "long field line");
	is_int(rq.h.error_status, 431, "long field line: 431");
	has_str(em.text, "header line 2 longer than 8192 bytes",
	    "long field line message");
	/* Endless empty lines before the request line. */
	b0_buf_reset(&b);
	for (i = 0; i < 9000; i++)
		b0_buf_put_str(&b, "\r\n");
	r = b0_http_req_parse(
	    (const char *)b0_buf_ptr(&b), b0_buf_len(&b), NULL, &rq, &em);
	is_int(r, B0_ERR_TOO_BIG, "endless empty lines");
	b0_buf_cleanup(&b);

	/* Caller limits. */
	s = "GET / HTTP/1.1\r\nHost: a\r\nX-AAAAAA: 1\r\nY: 2\r\n\r\n";
	is_int(b0_http_req_parse(s, strlen(s), &lim, &rq, &em), strlen(s),
	    "within caller limits");
	s = "GET / HTTP/1.1\r\nHost: a\r\nX-AAAAAAA: 1\r\n\r\n";
	is_int(b0_http_req_parse(s, strlen(s), &lim, &rq, &em), B0_ERR_TOO_BIG,
	    "name over caller limit");
	has_str(em.text, "header line 2: field name longer than 8 bytes",
	    "name limit message");
	s = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\nZ: 3\r\n\r\n";
	is_int(b0_http_req_parse(s, strlen(s), &lim, &rq, &em), B0_ERR_TOO_BIG,
	    "fields over caller limit");
	s = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaa HTTP/1.1\r\nHost: a\r\n\r\n";
	is_int(b0_http_req_parse(s, strlen(s), &lim, &rq, &em), B0_ERR_TOO_BIG,
	    "line over caller limit");
	lim.fields_max = B0_HTTP_FIELDS_MAX + 1;
	is_int(b0_http_req_parse(s, strlen(s), &lim, &rq, &em), B0_ERR_ARG,
	    "fields_max above the array");
	is_int(b0_http_req_parse("", 0, NULL, &rq, &em), B0_ERR_INCOMPLETE,
	    "empty input");
}

static void
test_responses(void)
{
	static const struct {
		const char *in, *method;
		int r, status;
		enum b0_http_body body;
		const char *reason;
	} t[] = {
	    {"HTTP/1.1 200 OK\r\n\r\n", "CONNECT", 0, 200, B0_HTTP_BODY_NONE,
		"OK"},
	    {"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n", "CONNECT",
		0, 200, B0_HTTP_BODY_NONE, "Connection established"},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", "CONNECT", 0,
		200, B0_HTTP_BODY_NONE, "OK"},
	    {"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden",
		"CONNECT", 0, 403, B0_HTTP_BODY_LENGTH, "Forbidden"},
	    {"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n"
	     "WWW-Authenticate: Bearer\r\n\r\n",
		"CONNECT", 0, 401, B0_HTTP_BODY_CHUNKED, "Unauthorized"},
	    {"HTTP/1.1 502 \r\n\r\n", "CONNECT", 0, 502, B0_HTTP_BODY_EOF, ""},
	    {"HTTP/1.1 504\r\n\r\n", "CONNECT", 0, 504, B0_HTTP_BODY_EOF, ""},
	    {"HTTP/1.0 200 OK\r\n\r\n", "GET", 0, 200, B0_HTTP_BODY_EOF, "OK"},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", 0, 200,
		B0_HTTP_BODY_NONE, "OK"},
	    {"HTTP/1.1 204 No Content\r\n\r\n", NULL, 0, 204, B0_HTTP_BODY_NONE,
		"No Content"},
	    {"HTTP/1.1 304 Not Modified\r\n\r\n", "GET", 0, 304,
		B0_HTTP_BODY_NONE, "Not Modified"},
	    {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		"GET", 0, 101, B0_HTTP_BODY_NONE, "Switching Protocols"},
	    {"HTTP/1.1 404 Not \t Found \xc3\xa9\r\nContent-Length: 0\r\n\r\n",
		"GET", 0, 404, B0_HTTP_BODY_LENGTH, "Not \t Found \xc3\xa9"},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: "
	     "chunked\r\n\r\n",
		"GET", B0_ERR_FORMAT, 0, 0, "both present"},
	    {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
	     "\r\n",
		"GET", B0_ERR_FORMAT, 0, 0, "values differ"},
	    {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET",
		B0_ERR_FORMAT, 0, 0, "HTTP/1.0"},
	    {"HTTP/1.1 200 OK\nX: y\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"status line: bare LF"},
	    {"HTTP/1.1 200 OK\r\nX : y\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"header line 1: space before colon"},
	    {"HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", "GET", B0_ERR_FORMAT, 0,
		0, "header line 2: starts with whitespace"},
	    {"HTTP/1.1 2000 OK\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"not \"HTTP/1.x NNN reason\""},
	    {"HTTP/1.1 20 OK\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"status line"},
	    {"HTTP/1.1  200 OK\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"status line"},
	    {"HTTP/1.1 2x0 OK\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"status line"},
	    {"HTTP/1.1 099 Low\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"status 99 out of range"},
	    {"HTTP/1.1 600 High\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"status 600 out of range"},
	    {"HTTP/1.1 200 O\x01K\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"invalid character 0x01 in reason"},
	    {"HTTP/2 200 OK\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"status line: invalid HTTP version"},
	    {"HTTP/2.0 200 OK\r\n\r\n", "GET", B0_ERR_UNSUPPORTED, 0, 0,
		"not supported"},
	    {"HTTP/1.1\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0, "status line"},
	    {"HTTP/1\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"invalid HTTP version"},
	    {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "CONNECT", B0_ERR_FORMAT, 0, 0,
		"invalid HTTP version"},
	    {"\r\nHTTP/1.1 200 OK\r\n\r\n", "GET", B0_ERR_FORMAT, 0, 0,
		"status line: invalid HTTP version"},
	};
	struct b0_http_resp rs;
	struct b0_errmsg em;
	size_t i, n;
	char *g;
	int r;

	for (i = 0; i < N(t); i++) {
		n = strlen(t[i].in);
		g = tap_guard(t[i].in, n);
		em.text[0] = '\0';
		r = b0_http_resp_parse(g, n, t[i].method, NULL, &rs, &em);
		if (t[i].r == 0) {
			is_int(r, head_len(t[i].in), "response %zu parses (%s)",
			    i, em.text);
			is_int(
			    rs.status, t[i].status, "response %zu status", i);
			is_int(rs.h.body, t[i].body, "response %zu body", i);
			ok(rs.reason_len == strlen(t[i].reason) &&
				memcmp(rs.reason, t[i].reason, rs.reason_len) ==
				    0,
			    "response %zu reason", i);
			prefixes(t[i].in, 1, "response");
		} else {
			is_int(r, t[i].r, "bad response %zu rejected", i);
			/* For failures, reason holds the message. */
			has_str(em.text, t[i].reason,
			    "bad response %zu message", i);
		}
		tap_unguard(g, n);
	}
}

/* Decode in[0, n) fed in pieces of at most step bytes (0: all at once). */
static int
chunked(const char *in, size_t n, size_t step, uint64_t max, struct b0_buf *out,
    size_t *usedp, struct b0_errmsg *em)
{
	struct b0_http_chunked c;
	size_t off = 0, k, used;
	int r = B0_ERR_INCOMPLETE;

	b0_http_chunked_init(&c, max);
	b0_buf_reset(out);
	em->text[0] = '\0';
	*usedp = 0;
	while (off < n) {
		uint8_t *g;

		k = step == 0 || n - off < step ? n - off : step;
		g = tap_guard(in + off, k);
		r = b0_http_chunked_decode(&c, g, k, &used, out, em);
		tap_unguard(g, k);
		if (used > k)
			return B0_ERR_INTERNAL;
		off += used;
		if (r != B0_ERR_INCOMPLETE || used < k)
			break;
	}
	*usedp = off;
	if (r == 0 && b0_http_chunked_total(&c) != b0_buf_len(out))
		return B0_ERR_INTERNAL;
	return r;
}

static void
test_chunked(void)
{
	static const struct {
		const char *in;
		uint64_t max;
		int r;
		const char *data; /* or, for errors, the message */
		size_t rest;	  /* bytes after the body */
	} t[] = {
	    {"5\r\nhello\r\n0\r\n\r\n", 100, 0, "hello", 0},
	    {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 11, 0, "hello world", 0},
	    {"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", 100, 0,
		"0123456789abcdefghij", 0},
	    {"0005\r\nhello\r\n000\r\n\r\n", 100, 0, "hello", 0},
	    {"0\r\n\r\n", 0, 0, "", 0},
	    {"0\r\n\r\nGET / HTTP/1.1\r\n", 0, 0, "", 16},
	    {"5;a=b\r\nhello\r\n0;x;y=\"q \\\" s\"\r\n\r\n", 100, 0, "hello",
		0},
	    {"5 ; a = b ;c\t;d=\"\"\r\nhello\r\n0\r\n\r\n", 100, 0, "hello", 0},
	    {"5\r\nhello\r\n0\r\nX-T: 1\r\nY:\r\nZ: a\tb\xc3\xa9\r\n\r\nrest",
		100, 0, "hello", 4},
	    {"2\r\n\r\n\r\n0\r\n\r\n", 100, 0, "\r\n", 0},
	    /* Errors. */
	    {"5\nhello\r\n0\r\n\r\n", 100, B0_ERR_FORMAT, "bare LF", 0},
	    {"5\r\nhello\n0\r\n\r\n", 100, B0_ERR_FORMAT, "bare LF", 0},
	    {"5\r\nhelloX\r\n0\r\n\r\n", 100, B0_ERR_FORMAT,
		"chunk data not followed by CRLF", 0},
	    {"5\r\nhello\r\r0\r\n\r\n", 100, B0_ERR_FORMAT,
		"chunk data not followed by CRLF", 0},
	    {"5\rhello\r\n0\r\n\r\n", 100, B0_ERR_FORMAT, "bare CR", 0},
	    {"+5\r\nhello\r\n0\r\n\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk size", 0},
	    {" 5\r\nhello\r\n0\r\n\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk size", 0},
	    {"-1\r\n", 100, B0_ERR_FORMAT, "invalid chunk size", 0},
	    {"0x5\r\nhello\r\n0\r\n\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk size", 0},
	    {"g\r\n", 100, B0_ERR_FORMAT, "invalid chunk size", 0},
	    {"\r\n", 100, B0_ERR_FORMAT, "invalid chunk size", 0},
	    {"5 \r\nhello\r\n0\r\n\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk extension", 0},
	    {"5 5\r\nhello\r\n", 100, B0_ERR_FORMAT, "invalid chunk extension",
		0},
	    {"5;\r\nhello\r\n", 100, B0_ERR_FORMAT, "invalid chunk extension",
		0},
	    {"5;a=\r\nhello\r\n", 100, B0_ERR_FORMAT, "invalid chunk extension",
		0},
	    {"5;a =\r\nhello\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk extension", 0},
	    {"5;a \r\nhello\r\n", 100, B0_ERR_FORMAT, "invalid chunk extension",
		0},
	    {"5;a=\"x\r\nhello\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk extension", 0},
	    {"5;a=b c\r\nhello\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk extension", 0},
	    {"5;a\x01\r\nhello\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk extension", 0},
	    {"5;a=\"\x7f\"\r\nhello\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk extension", 0},
	    {"5;a=\"x\"y\r\nhello\r\n", 100, B0_ERR_FORMAT,
		"invalid chunk extension", 0},
	    {"5;a=b\nhello\r\n", 100, B0_ERR_FORMAT, "bare LF", 0},
	    {"0\r\n X: 1\r\n\r\n", 100, B0_ERR_FORMAT,
		"trailer starts with whitespace", 0},
	    {"0\r\nX : 1\r\n\r\n", 100, B0_ERR_FORMAT,
		"trailer: space before colon", 0},
	    {"0\r\nX\r\n\r\n", 100, B0_ERR_FORMAT, "invalid trailer field", 0},
	    {"0\r\n: 1\r\n\r\n", 100, B0_ERR_FORMAT, "invalid trailer field",
		0},
	    {"0\r\nX: \x01\r\n\r\n", 100, B0_ERR_FORMAT,
		"invalid character 0x01 in trailer", 0},
	    {"0\r\nX: 1\n\r\n", 100, B0_ERR_FORMAT, "bare LF", 0},
	    {"0\r\nX: 1\r\r\n", 100, B0_ERR_FORMAT, "bare CR", 0},
	    {"0\r\n\rX", 100, B0_ERR_FORMAT, "bare CR", 0},
	    {"0\r\n\n", 100, B0_ERR_FORMAT, "bare LF", 0},
	    /* Limits. */
	    {"b\r\nhello world\r\n0\r\n\r\n", 10, B0_ERR_TOO_BIG,
		"body larger than 10 bytes", 0},
	    {"6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n", 10, B0_ERR_TOO_BIG,
		"body larger than 10 bytes", 0},
	    {"ffffffffffffffffff\r\n", UINT64_MAX, B0_ERR_TOO_BIG,
		"body larger than", 0},
	    {"10000000000000000\r\n", UINT64_MAX, B0_ERR_TOO_BIG,
		"body larger than", 0},
	};
	struct b0_errmsg em;
	struct b0_buf out;
	size_t i, step, used, n;
	int r, bad;

	b0_buf_init(&out, 1 << 20);
	for (i = 0; i < N(t); i++) {
		n = strlen(t[i].in);
		r = chunked(t[i].in, n, 0, t[i].max, &out, &used, &em);
		is_int(r, t[i].r, "chunked %zu (%s)", i, em.text);
		if (t[i].r != 0) {
			has_str(em.text, t[i].data, "chunked %zu message", i);
			continue;
		}
		is_int(used, n - t[i].rest, "chunked %zu consumed", i);
		ok(b0_buf_len(&out) == strlen(t[i].data) &&
			memcmp(b0_buf_ptr(&out), t[i].data, b0_buf_len(&out)) ==
			    0,
		    "chunked %zu data", i);
		/* The same in pieces of every size, down to one byte. */
		bad = 0;
		for (step = 1; step < n && !bad; step++) {
			r = chunked(
			    t[i].in, n, step, t[i].max, &out, &used, &em);
			if (r != 0 || used != n - t[i].rest ||
			    b0_buf_len(&out) != strlen(t[i].data) ||
			    memcmp(b0_buf_ptr(&out), t[i].data,
				b0_buf_len(&out)) != 0) {
				tap_diag(
				    "step %zu: r %d used %zu", step, r, used);
				bad = 1;
			}
		}
		ok(!bad, "chunked %zu split every way", i);
	}
	b0_buf_cleanup(&out);
}

static void
test_chunked_more(void)
{
	static const char body[] = "5\r\nhello\r\n0\r\n\r\n";
	struct b0_http_chunked c;
	struct b0_errmsg em;
	struct b0_buf out, big;
	size_t used, off, i;
	int r;

	/* Every split point: INCOMPLETE until the last byte, then 0. */
	for (i = 1; i < sizeof(body) - 1; i++) {
		b0_http_chunked_init(&c, 100);
		r = b0_http_chunked_decode(
		    &c, (const uint8_t *)body, i, &used, NULL, &em);
		if (r != B0_ERR_INCOMPLETE || used != i)
			break;
		r = b0_http_chunked_decode(&c, (const uint8_t *)body + i,
		    sizeof(body) - 1 - i, &used, NULL, &em);
		if (r != 0 || used != sizeof(body) - 1 - i)
			break;
	}
	is_int(i, sizeof(body) - 1, "every split point (out NULL)");
	is_int(b0_http_chunked_total(&c), 5, "total counted without out");
	/* Done stays done and consumes nothing. */
	is_int(b0_http_chunked_decode(
		   &c, (const uint8_t *)"x", 1, &used, NULL, &em),
	    0, "done stays done");
	is_int(used, 0, "done consumes nothing");

	/* A full out buffer pauses decoding. */
	b0_buf_init(&out, 3);
	b0_http_chunked_init(&c, 100);
	r = b0_http_chunked_decode(
	    &c, (const uint8_t *)body, sizeof(body) - 1, &used, &out, &em);
	is_int(r, B0_ERR_INCOMPLETE, "out full: incomplete");
	is_int(used, 6, "out full: stopped after 3 data bytes");
	ok(memcmp(b0_buf_ptr(&out), "hel", 3) == 0, "out full: data");
	b0_buf_reset(&out);
	off = used;
	r = b0_http_chunked_decode(&c, (const uint8_t *)body + off,
	    sizeof(body) - 1 - off, &used, &out, &em);
	is_int(r, 0, "out drained: done");
	is_int(off + used, sizeof(body) - 1, "out drained: all consumed");
	ok(b0_buf_len(&out) == 2 && memcmp(b0_buf_ptr(&out), "lo", 2) == 0,
	    "out drained: rest of data");
	b0_buf_cleanup(&out);

	/* Failure is sticky. */
	b0_http_chunked_init(&c, 100);
	b0_http_chunked_decode(&c, (const uint8_t *)"z", 1, &used, NULL, &em);
	is_int(b0_http_chunked_decode(
		   &c, (const uint8_t *)"0\r\n\r\n", 5, &used, NULL, &em),
	    B0_ERR_FORMAT, "failure is sticky");

	/* A size line over 4 KiB. */
	b0_buf_init(&big, 1 << 20);
	b0_buf_put_str(&big, "5;a=");
	for (i = 0; i < 5000; i++)
		b0_buf_put_u8(&big, 'x');
	b0_http_chunked_init(&c, 100);
	is_int(b0_http_chunked_decode(
		   &c, b0_buf_ptr(&big), b0_buf_len(&big), &used, NULL, &em),
	    B0_ERR_TOO_BIG, "long size line");
	has_str(em.text, "line longer than 4096 bytes", "long line message");
	/* Framing that dwarfs the data. */
	b0_buf_reset(&big);
	for (i = 0; i < 40; i++) {
		while (b0_buf_len(&big) % 4000 != 3990)
			b0_buf_put_u8(&big, '0');
		b0_buf_put_str(&big, "1\r\nx\r\n");
	}
	b0_http_chunked_init(&c, 1 << 20);
	is_int(b0_http_chunked_decode(
		   &c, b0_buf_ptr(&big), b0_buf_len(&big), &used, NULL, &em),
	    B0_ERR_TOO_BIG, "framing outweighs data");
	has_str(em.text, "framing outweighs data", "framing message");
	/* 64 trailers pass, 65 do not. */
	for (r = 64; r <= 65; r++) {
		b0_buf_reset(&big);
		b0_buf_put_str(&big, "0\r\n");
		for (i = 0; i < (size_t)r; i++)
			b0_buf_putf(&big, "T%zu: v\r\n", i);
		b0_buf_put_str(&big, "\r\n");
		b0_http_chunked_init(&c, 100);
		is_int(b0_http_chunked_decode(&c, b0_buf_ptr(&big),
			   b0_buf_len(&big), &used, NULL, &em),
		    r == 64 ? 0 : B0_ERR_TOO_BIG, "%d trailers", r);
	}
	b0_buf_cleanup(&big);
}

static void
test_form(void)
{
	static const struct {
		const char *in;
		size_t max;
		int flags, r;
		const char *want; /* "n=v|n=v", or the error message */
	} t[] = {
	    {"a=1&b=2", 10, 0, 0, "a=1|b=2"},
	    {"a=1&&b=2", 10, 0, 0, "a=1|b=2"},
	    {"&&a=1&", 10, 0, 0, "a=1"},
	    {"", 10, 0, 0, ""},
	    {"&", 10, 0, 0, ""},
	    {"a", 10, 0, 0, "a="},
	    {"a=", 10, 0, 0, "a="},
	    {"a=b=c", 10, 0, 0, "a=b=c"},
	    {"a+b=c+d", 10, 0, 0, "a b=c d"},
	    {"a=%2B%2b%20", 10, 0, 0, "a=++ "},
	    {"%41=%e2%82%AC", 10, 0, 0, "A=\xe2\x82\xac"},
	    {"a=\xc3\xa9", 10, 0, 0, "a=\xc3\xa9"},
	    {"a=%26&b=%3D", 10, 0, 0, "a=&|b=="},
	    {"a=1&a=2", 10, 0, 0, "a=1|a=2"},
	    {"grant_type=authorization_code&code=x&redirect_uri=http%3A%2F%2F"
	     "127.0.0.1%3A5000%2Fcb&code_verifier=v",
		10, B0_HTTP_FORM_NODUP, 0,
		"grant_type=authorization_code|code=x|redirect_uri="
		"http://127.0.0.1:5000/cb|code_verifier=v"},
	    {"a=1&b&c", 3, 0, 0, "a=1|b=|c="},
	    /* Errors. */
	    {"a=1&a=2", 10, B0_HTTP_FORM_NODUP, B0_ERR_EXISTS,
		"parameter \"a\" repeated"},
	    {"a=1&b&a", 10, B0_HTTP_FORM_NODUP, B0_ERR_EXISTS,
		"parameter \"a\" repeated"},
	    {"a+b=1&a%20b=2", 10, B0_HTTP_FORM_NODUP, B0_ERR_EXISTS,
		"parameter \"a b\" repeated"},
	    {"a&b&c&d", 3, 0, B0_ERR_TOO_BIG, "more than 3 parameters"},
	    {"a=%", 10, 0, B0_ERR_FORMAT,
		"parameter 1: bad percent escape in value"},
	    {"a=%4", 10, 0, B0_ERR_FORMAT, "bad percent escape"},
	    {"a=%zz", 10, 0, B0_ERR_FORMAT, "bad percent escape"},
	    {"a=%4g", 10, 0, B0_ERR_FORMAT, "bad percent escape"},
	    {"a=1&%=1", 10, 0, B0_ERR_FORMAT,
		"parameter 2: bad percent escape in name"},
	    {"a=%%41", 10, 0, B0_ERR_FORMAT, "bad percent escape"},
	    {"=x", 10, 0, B0_ERR_FORMAT, "parameter 1: empty name"},
	    {"a=1&=", 10, 0, B0_ERR_FORMAT, "parameter 2: empty name"},
	    {"a=%00", 10, 0, B0_ERR_FORMAT, "parameter 1: NUL in value"},
	    {"a%00b=1", 10, 0, B0_ERR_FORMAT, "NUL in name"},
	    {"a=%ff", 10, 0, B0_ERR_FORMAT,
		"parameter 1: value is not valid UTF-8"},
	    {"a=\xff", 10, 0, B0_ERR_FORMAT, "value is not valid UTF-8"},
	    {"%c3=1", 10, 0, B0_ERR_FORMAT, "name is not valid UTF-8"},
	    {"a=%c0%af", 10, 0, B0_ERR_FORMAT, "not valid UTF-8"},
	    {"a=%ed%a0%80", 10, 0, B0_ERR_FORMAT, "not valid UTF-8"},
	    {"a=%e2%82", 10, 0, B0_ERR_FORMAT, "not valid UTF-8"},
	};
	struct b0_http_params ps;
	struct b0_errmsg em;
	struct b0_buf got;
	const char *cs;
	size_t i, j;
	char *g;
	int r;

	b0_buf_init(&got, 1 << 16);
	for (i = 0; i < N(t); i++) {
		size_t n = strlen(t[i].in);

		g = tap_guard(t[i].in, n);
		em.text[0] = '\0';
		r = b0_http_form_parse(g, n, t[i].max, t[i].flags, &ps, &em);
		tap_unguard(g, n);
		is_int(r, t[i].r, "form %zu (%s)", i, em.text);
		if (r != 0) {
			has_str(em.text, t[i].want, "form %zu message", i);
			ok(ps.n == 0 && ps.p == NULL && ps.mem == NULL,
			    "form %zu: nothing left to free", i);
			continue;
		}
		b0_buf_reset(&got);
		for (j = 0; j < ps.n; j++)
			b0_buf_putf(&got, "%s%s=%s", j > 0 ? "|" : "",
			    ps.p[j].name, ps.p[j].value);
		b0_buf_cstr(&got, &cs);
		is_str(cs, t[i].want, "form %zu pairs", i);
		b0_http_params_cleanup(&ps);
	}
	b0_buf_cleanup(&got);

	cs = "a=1&b=&a=2";
	is_int(b0_http_form_parse(cs, strlen(cs), 10, 0, &ps, &em), 0,
	    "lookup form");
	is_str(b0_http_params_get(&ps, "a"), "1", "get first");
	is_str(b0_http_params_get(&ps, "b"), "", "get empty");
	ok(b0_http_params_get(&ps, "c") == NULL, "get absent");
	ok(b0_http_params_get(&ps, "A") == NULL, "get is case-sensitive");
	is_int(b0_http_params_count(&ps, "a"), 2, "count dupes");
	is_int(b0_http_params_count(&ps, "z"), 0, "count absent");
	b0_http_params_cleanup(&ps);
	b0_http_params_cleanup(&ps);
	ok(ps.p == NULL && ps.n == 0, "cleanup twice is fine");
}

static void
test_pct(void)
{
	static const struct {
		const char *in;
		int plus, r;
		const char *want;
		size_t wantlen;
	} t[] = {
	    {"", 0, 0, "", 0},
	    {"abc", 0, 0, "abc", 3},
	    {"a+b%20c", 0, 0, "a+b c", 5},
	    {"a+b%20c", 1, 0, "a b c", 5},
	    {"%2f%2F", 0, 0, "//", 2},
	    {"%00x", 0, 0, "\0x", 2},
	    {"%", 0, B0_ERR_FORMAT, NULL, 0},
	    {"%a", 0, B0_ERR_FORMAT, NULL, 0},
	    {"x%", 0, B0_ERR_FORMAT, NULL, 0},
	    {"%g0", 0, B0_ERR_FORMAT, NULL, 0},
	    {"%0g", 0, B0_ERR_FORMAT, NULL, 0},
	    {"% 1", 0, B0_ERR_FORMAT, NULL, 0},
	};
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} e[] = {
	    {"", 0, ""},
	    {"AZaz09-._~", 10, "AZaz09-._~"},
	    {"a b+c&d=e/f?g#h%", 16, "a%20b%2Bc%26d%3De%2Ff%3Fg%23h%25"},
	    {"\xc3\xa9\x00\x7f", 4, "%C3%A9%00%7F"},
	    {"http://127.0.0.1:5000/cb", 24,
		"http%3A%2F%2F127.0.0.1%3A5000%2Fcb"},
	};
	struct b0_buf b;
	char out[64], small[3];
	const char *cs;
	size_t i, len;
	int r;

	for (i = 0; i < N(t); i++) {
		char *g = tap_guard(t[i].in, strlen(t[i].in));

		r = b0_http_pct_decode(
		    g, strlen(t[i].in), t[i].plus, out, sizeof(out), &len);
		tap_unguard(g, strlen(t[i].in));
		is_int(r, t[i].r, "pct_decode %zu", i);
		if (r == 0)
			ok(len == t[i].wantlen &&
				memcmp(out, t[i].want, len) == 0 &&
				out[len] == '\0',
			    "pct_decode %zu result", i);
	}
	is_int(b0_http_pct_decode("abc", 3, 0, small, sizeof(small), &len),
	    B0_ERR_TOO_BIG, "pct_decode: no room for the NUL");
	is_int(b0_http_pct_decode("%41b", 4, 0, small, sizeof(small), &len), 0,
	    "pct_decode: decoded length fits");
	is_int(b0_http_pct_decode("", 0, 0, small, 0, &len), B0_ERR_TOO_BIG,
	    "pct_decode: zero-sized out");

	b0_buf_init(&b, 1 << 10);
	for (i = 0; i < N(e); i++) {
		b0_buf_reset(&b);
		is_int(b0_http_pct_encode(&b, e[i].in, e[i].n), 0,
		    "pct_encode %zu", i);
		b0_buf_cstr(&b, &cs);
		is_str(cs, e[i].want, "pct_encode %zu result", i);
		/* Round trip. */
		ok(b0_http_pct_decode(
		       cs, strlen(cs), 1, out, sizeof(out), &len) == 0 &&
			len == e[i].n && memcmp(out, e[i].in, len) == 0,
		    "pct_encode %zu round trip", i);
	}
	b0_buf_cleanup(&b);
	b0_buf_init(&b, 5);
	is_int(b0_http_pct_encode(&b, "a  b", 4), B0_ERR_TOO_BIG,
	    "pct_encode past the buffer's max");
	is_int(b0_buf_len(&b), 0, "pct_encode wrote nothing");
	b0_buf_cleanup(&b);
}

int
main(void)
{
	test_good_requests();
	test_fields();
	test_bad_requests();
	test_limits();
	test_responses();
	test_chunked();
	test_chunked_more();
	test_form();
	test_pct();
	return tap_done();
}
