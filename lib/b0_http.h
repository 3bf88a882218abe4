/*
 * b0_http: HTTP/1.1 message heads (RFC 9112), chunked bodies, and
 * application/x-www-form-urlencoded data, parsed strictly.
 *
 * Strict because the edge sits in front of other HTTP servers: any byte
 * sequence two parsers could read differently (request smuggling, header
 * injection) is refused rather than interpreted.  In particular:
 *   - lines end in CRLF; a bare LF or bare CR anywhere is an error;
 *   - no whitespace between a field name and its colon, no line folding;
 *   - field values hold no NUL, CR, LF or other control byte except HTAB;
 *   - one framing: Content-Length (digits only, repeats must agree) or
 *     Transfer-Encoding: chunked (exactly that), never both; no
 *     Transfer-Encoding in HTTP/1.0;
 *   - HTTP/1.1 requests carry exactly one Host, HTTP/1.0 at most one;
 *   - request targets: origin-form ("/path?query"), authority-form
 *     ("host:port", "[v6]:port") for CONNECT only, "*" for OPTIONS only;
 *     absolute-form ("http://host/") is refused (b0-edge is no forward
 *     proxy, and it would make Host ambiguous).
 * Leading empty lines (CRLF) before a request line are skipped, as RFC
 * 9112 section 2.2 asks.
 *
 * The head parsers do not allocate: the strings in the results point into
 * the caller's buffer, are NOT NUL-terminated (use the _len fields), and
 * stay valid for as long as that buffer does.
 */
#ifndef B0_HTTP_H
#define B0_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "b0_buf.h"
#include "b0_err.h"

/* Default limits (struct b0_http_limits). */
#define B0_HTTP_HEAD_MAX (16 * 1024) /* whole head, empty line included */
#define B0_HTTP_LINE_MAX (8 * 1024)  /* start line, and each field line */
#define B0_HTTP_NAME_MAX 256	     /* a field name */
#define B0_HTTP_FIELDS_MAX 64	     /* also the size of the fields array */

/* Limits for the head parsers; pass NULL for the defaults above. */
struct b0_http_limits {
	size_t head_max;
	size_t line_max;
	size_t name_max;
	size_t fields_max; /* at most B0_HTTP_FIELDS_MAX */
};

struct b0_http_field {
	const char *name; /* a token; compare with b0_http_field_is() */
	size_t name_len;
	const char *value; /* leading and trailing SP/HTAB removed */
	size_t value_len;
};

/* How the body that follows a head is framed. */
enum b0_http_body {
	B0_HTTP_BODY_NONE = 0, /* no body */
	B0_HTTP_BODY_LENGTH,   /* content_length bytes (possibly 0) */
	B0_HTTP_BODY_CHUNKED,  /* chunked coding: b0_http_chunked_decode() */
	B0_HTTP_BODY_EOF       /* responses only: until the peer closes */
};

/* What requests and responses share. */
struct b0_http_head {
	struct b0_http_field fields[B0_HTTP_FIELDS_MAX];
	size_t nfields;
	int minor;		 /* HTTP/1.minor: 0 or 1 */
	enum b0_http_body body;	 /* see b0_http_resp_parse() for responses */
	uint64_t content_length; /* if a Content-Length field was present */
	size_t head_len;	 /* bytes up to and including the empty line */
	/*
	 * After a failed parse (not B0_ERR_INCOMPLETE): the status a server
	 * should answer with: 400, 414 (request line too long), 431 (fields
	 * too large or too many), 501 (transfer coding), 505 (version).
	 * 0 after success.
	 */
	int error_status;
};

enum b0_http_form {
	B0_HTTP_ORIGIN_FORM = 0, /* "/path?query" */
	B0_HTTP_AUTHORITY_FORM,	 /* "host:port", CONNECT only */
	B0_HTTP_ASTERISK_FORM	 /* "*", OPTIONS only */
};

struct b0_http_req {
	const char *method; /* a token, case-sensitive ("GET", "CONNECT") */
	size_t method_len;
	const char *target; /* visible ASCII except '#' */
	size_t target_len;
	enum b0_http_form form;
	const char *host; /* the Host field's value, or NULL (HTTP/1.0) */
	size_t host_len;
	struct b0_http_head h;
};

struct b0_http_resp {
	int status; /* 100 to 599 */
	const char *reason;
	size_t reason_len;
	struct b0_http_head h;
};

/*
 * b0_http_req_parse(buf, len, lim, req, em):
 * Parse the request head at the start of buf[0, len), which may be cut
 * short anywhere.  Returns the number of bytes the head takes (> 0; the
 * body or the next request starts there), B0_ERR_INCOMPLETE when the head
 * is not complete yet (call again with more bytes: every prefix of a valid
 * head gives this, never an error), B0_ERR_TOO_BIG past a limit in lim
 * (NULL: defaults), B0_ERR_UNSUPPORTED (HTTP version other than 1.0/1.1,
 * transfer coding other than chunked) or B0_ERR_FORMAT.  On errors em (may
 * be NULL) says what and where, e.g. "header line 3: space before colon",
 * in words fit for a 400 response body or a log line, and
 * req->h.error_status suggests the status code.  The head is re-scanned on
 * every call; its size is bounded by lim->head_max.
 */
int b0_http_req_parse(const char *buf, size_t len,
    const struct b0_http_limits *lim, struct b0_http_req *req,
    struct b0_errmsg *em);

/*
 * b0_http_resp_parse(buf, len, method, lim, resp, em):
 * As b0_http_req_parse() for a response head ("HTTP/1.1 200 OK"; the
 * reason phrase may be empty or missing).  method is that of the request
 * answered ("CONNECT", "HEAD"...; NULL is taken as "GET"); it decides
 * resp->h.body: none for HEAD, 1xx, 204, 304 and for 2xx to CONNECT (the
 * tunnel starts right after the head), else chunked, Content-Length, or
 * until the connection closes.
 */
int b0_http_resp_parse(const char *buf, size_t len, const char *method,
    const struct b0_http_limits *lim, struct b0_http_resp *resp,
    struct b0_errmsg *em);

/* b0_http_field_is(f, name): 1 if f is named name (ASCII case-insensitive). */
int b0_http_field_is(const struct b0_http_field *f, const char *name);

/*
 * b0_http_get(h, name, valuep, lenp):
 * Return how many fields of h are named name (case-insensitive), and set
 * *valuep and *lenp (either may be NULL) to the first one's value, or to
 * NULL and 0 if there is none.
 */
size_t b0_http_get(const struct b0_http_head *h, const char *name,
    const char **valuep, size_t *lenp);

/*
 * b0_http_list_has(value, len, token):
 * 1 if the comma-separated list value[0, len) has an element equal to
 * token, ignoring case and the whitespace around elements ("Connection:
 * keep-alive, Upgrade" has "upgrade").
 */
int b0_http_list_has(const char *value, size_t len, const char *token);

/*
 * b0_http_has_token(h, name, token):
 * b0_http_list_has() over every field named name in h, as a list split
 * across repeated fields is one list (RFC 9110 section 5.3).
 */
int b0_http_has_token(
    const struct b0_http_head *h, const char *name, const char *token);

/*
 * b0_http_reason(status): the standard reason phrase ("Bad Request"), or
 * "" for codes b0 does not know.  Static.
 */
const char *b0_http_reason(int status);

/*
 * Chunked bodies (RFC 9112 section 7.1), decoded incrementally.  Chunk
 * sizes are hex digits only (no sign, no space, no 0x); extensions must
 * follow the grammar (token [= token / quoted-string]) and are ignored;
 * trailer fields must be well formed (as header fields) and are ignored.
 * Size lines and trailer lines hold at most B0_HTTP_CHUNK_LINE_MAX bytes,
 * trailers at most B0_HTTP_FIELDS_MAX fields, and all framing (size lines,
 * CRLFs, trailers) together may outweigh the data by at most
 * B0_HTTP_CHUNK_SLACK bytes, so a peer cannot make us spin on framing.
 */
#define B0_HTTP_CHUNK_LINE_MAX 4096
#define B0_HTTP_CHUNK_SLACK (64 * 1024)

struct b0_http_chunked {
	int state; /* private, as are the rest */
	uint64_t left;
	uint64_t total;
	uint64_t max;
	uint64_t framing;
	size_t line;
	size_t ntrailers;
};

/* b0_http_chunked_init(c, max): start a body of at most max data bytes. */
void b0_http_chunked_init(struct b0_http_chunked *c, uint64_t max);

/*
 * b0_http_chunked_decode(c, in, len, usedp, out, em):
 * Consume up to len bytes of chunked body from in and append the data
 * they carry to out (NULL: discard it).  *usedp is set to the bytes of in
 * consumed.  Returns 0 when the body is complete (last chunk and trailers
 * read; in[*usedp] starts the next message; later calls consume nothing
 * and return 0), B0_ERR_INCOMPLETE when it wants more input or, with
 * *usedp < len, more room in out (drain out and call again with the rest),
 * B0_ERR_TOO_BIG (data beyond max, a line or the framing too long) or
 * B0_ERR_FORMAT, with em saying why.  After an error c stays failed.
 */
int b0_http_chunked_decode(struct b0_http_chunked *c, const uint8_t *in,
    size_t len, size_t *usedp, struct b0_buf *out, struct b0_errmsg *em);

/* b0_http_chunked_total(c): data bytes decoded so far. */
uint64_t b0_http_chunked_total(const struct b0_http_chunked *c);

/*
 * b0_http_pct_decode(s, n, plus, out, outsz, outlenp):
 * Percent-decode s[0, n) into out and NUL-terminate it; with plus, '+'
 * becomes a space (form data).  Every '%' must start "%XX" (hex, either
 * case).  n + 1 bytes of out always suffice.  Sets *outlenp to the decoded
 * length (without the NUL; the data may hold NULs from "%00").  Returns 0,
 * B0_ERR_FORMAT or B0_ERR_TOO_BIG.
 */
int b0_http_pct_decode(const char *s, size_t n, int plus, char *out,
    size_t outsz, size_t *outlenp);

/*
 * b0_http_pct_encode(out, s, n):
 * Append s[0, n) to out with every byte but ALPHA / DIGIT / "-._~"
 * written as "%XX" (upper-case hex): safe in a path segment, a query
 * value and form data alike.  Returns 0, B0_ERR_TOO_BIG or B0_ERR_ALLOC.
 */
int b0_http_pct_encode(struct b0_buf *out, const char *s, size_t n);

/*
 * application/x-www-form-urlencoded (and query strings, the same syntax):
 * "name=value" pairs joined by '&'; empty pairs ("a&&b") are skipped; a
 * pair without '=' has the value "".  Names and values are percent-
 * decoded with '+' as space, must be valid UTF-8 without NUL, and names
 * must not be empty.
 */
#define B0_HTTP_FORM_NODUP 0x01 /* a repeated name is an error (OAuth) */

struct b0_http_param {
	const char *name; /* NUL-terminated, owned by the b0_http_params */
	const char *value;
};

struct b0_http_params {
	struct b0_http_param *p;
	size_t n;
	char *mem; /* private: the decoded strings */
	size_t memsz;
};

/*
 * b0_http_form_parse(s, len, max, flags, ps, em):
 * Parse s[0, len) into ps, which the caller frees with
 * b0_http_params_cleanup() after success (on failure nothing is left to
 * free).  At most max pairs.  flags: B0_HTTP_FORM_NODUP.  Returns 0,
 * B0_ERR_FORMAT (bad escape, bad UTF-8, NUL, empty name), B0_ERR_EXISTS
 * (repeated name with NODUP), B0_ERR_TOO_BIG (more than max pairs) or
 * B0_ERR_ALLOC; em names the pair.
 */
int b0_http_form_parse(const char *s, size_t len, size_t max, int flags,
    struct b0_http_params *ps, struct b0_errmsg *em);

/*
 * b0_http_params_cleanup(ps): wipe (values may be passwords or codes) and
 * free what ps holds, and empty it.  Safe on an emptied or zeroed ps.
 */
void b0_http_params_cleanup(struct b0_http_params *ps);

/*
 * b0_http_params_get(ps, name): the value of the first pair named name
 * (case-sensitive), borrowed from ps, or NULL.
 */
const char *b0_http_params_get(
    const struct b0_http_params *ps, const char *name);

/* b0_http_params_count(ps, name): how many pairs are named name. */
size_t b0_http_params_count(const struct b0_http_params *ps, const char *name);

#endif /* B0_HTTP_H */
