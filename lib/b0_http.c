/*
 * b0_http: strict HTTP/1.1 message heads, chunked bodies and form data.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_http.h"
#include "b0_str.h"
#include "b0_utf8.h"

static const struct b0_http_limits default_limits = {
    B0_HTTP_HEAD_MAX,
    B0_HTTP_LINE_MAX,
    B0_HTTP_NAME_MAX,
    B0_HTTP_FIELDS_MAX,
};

/* Character classes (RFC 9110 section 5.6.2, 5.5; RFC 3986). */
static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
hexval(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
is_tchar(unsigned char c)
{
	return is_alpha(c) || is_digit(c) ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
is_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static int
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* field-vchar, SP and HTAB: what a field value (or reason) may hold. */
static int
is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Is s[0, n) equal to the C string t, ignoring ASCII case? */
static int
span_caseeq(const char *s, size_t n, const char *t)
{
	return strlen(t) == n && b0_str_ncaseeq(s, t, n);
}

static int
span_eq(const char *s, size_t n, const char *t)
{
	return strlen(t) == n && memcmp(s, t, n) == 0;
}

/* Record a parse failure: its text, its suggested status, its code. */
static int __attribute__((format(printf, 5, 6))) fail(struct b0_http_head *h,
    struct b0_errmsg *em, int r, int status, const char *fmt, ...)
{
	char text[sizeof(em->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	b0_err_set(em, "%s", text);
	h->error_status = status;
	return r;
}

/* "request line", "status line" or "header line N" (N from 1). */
static const char *
where(char *buf, size_t sz, const char *first, size_t line)
{
	if (line == 0)
		return first;
	snprintf(buf, sz, "header line %zu", line);
	return buf;
}

/*
 * Find the empty line that ends the head in buf[start, len): set *endp
 * just past it.  Checks line endings and the size limits on the way, so
 * that a peer dribbling a huge or broken head is stopped early.
 */
static int
find_end(const char *buf, size_t len, size_t start,
    const struct b0_http_limits *lim, const char *first, struct b0_http_head *h,
    struct b0_errmsg *em, size_t *endp)
{
	size_t i, ls = start, nl = 0, cur;
	char w[32];

	for (i = start; i < len; i++) {
		if (i >= lim->head_max)
			return fail(h, em, B0_ERR_TOO_BIG, nl == 0 ? 414 : 431,
			    "head longer than %zu bytes", lim->head_max);
		if (buf[i] == '\n')
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "%s: bare LF (lines must end in CRLF)",
			    where(w, sizeof(w), first, nl));
		if (buf[i] != '\r')
			continue;
		if (i + 1 == len)
			break;
		if (buf[i + 1] != '\n')
			return fail(h, em, B0_ERR_FORMAT, 400, "%s: bare CR",
			    where(w, sizeof(w), first, nl));
		if (i == ls) {
			if (i + 2 > lim->head_max)
				return fail(h, em, B0_ERR_TOO_BIG, 431,
				    "head longer than %zu bytes",
				    lim->head_max);
			*endp = i + 2;
			return 0;
		}
		if (i - ls > lim->line_max)
			return fail(h, em, B0_ERR_TOO_BIG, nl == 0 ? 414 : 431,
			    "%s longer than %zu bytes",
			    where(w, sizeof(w), first, nl), lim->line_max);
		if (++nl > lim->fields_max + 1)
			return fail(h, em, B0_ERR_TOO_BIG, 431,
			    "more than %zu header fields", lim->fields_max);
		ls = ++i + 1;
	}
	cur = (i < len ? i : len) - ls;
	if (cur > lim->line_max)
		return fail(h, em, B0_ERR_TOO_BIG, nl == 0 ? 414 : 431,
		    "%s longer than %zu bytes", where(w, sizeof(w), first, nl),
		    lim->line_max);
	return B0_ERR_INCOMPLETE;
}

/* Parse one field line (no CRLF), field line number n, into h. */
static int
parse_field(const char *line, size_t ll, size_t n,
    const struct b0_http_limits *lim, struct b0_http_head *h,
    struct b0_errmsg *em)
{
	struct b0_http_field *f;
	size_t i, v, e, j;

	if (is_ows((unsigned char)line[0]))
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "header line %zu: starts with whitespace (obsolete line "
		    "folding)",
		    n);
	for (i = 0; i < ll && is_tchar((unsigned char)line[i]); i++)
		;
	if (i == ll)
		return fail(
		    h, em, B0_ERR_FORMAT, 400, "header line %zu: no colon", n);
	if (is_ows((unsigned char)line[i]))
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "header line %zu: space before colon", n);
	if (line[i] != ':')
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "header line %zu: invalid character 0x%02x in field name",
		    n, (unsigned char)line[i]);
	if (i == 0)
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "header line %zu: empty field name", n);
	if (i > lim->name_max)
		return fail(h, em, B0_ERR_TOO_BIG, 431,
		    "header line %zu: field name longer than %zu bytes", n,
		    lim->name_max);
	for (v = i + 1; v < ll && is_ows((unsigned char)line[v]); v++)
		;
	for (e = ll; e > v && is_ows((unsigned char)line[e - 1]); e--)
		;
	for (j = v; j < e; j++) {
		if (!is_field_char((unsigned char)line[j]))
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "header line %zu: invalid character 0x%02x in the "
			    "value of %.*s",
			    n, (unsigned char)line[j], (int)(i < 40 ? i : 40),
			    line);
	}
	if (h->nfields >= lim->fields_max)
		return fail(h, em, B0_ERR_TOO_BIG, 431,
		    "more than %zu header fields", lim->fields_max);
	f = &h->fields[h->nfields++];
	f->name = line;
	f->name_len = i;
	f->value = line + v;
	f->value_len = e - v;
	return 0;
}

/* Parse the field lines in buf[p, end) (end: the final empty line). */
static int
parse_fields(const char *buf, size_t p, size_t end,
    const struct b0_http_limits *lim, struct b0_http_head *h,
    struct b0_errmsg *em)
{
	const char *line, *cr;
	size_t n;
	int r;

	for (n = 1; p < end; n++) {
		line = buf + p;
		/* find_end() saw a CRLF ending every line before end. */
		if ((cr = memchr(line, '\r', end - p)) == NULL)
			return fail(h, em, B0_ERR_INTERNAL, 500, "lost a CR");
		if ((r = parse_field(
			 line, (size_t)(cr - line), n, lim, h, em)) != 0)
			return r;
		p += (size_t)(cr - line) + 2;
	}
	return 0;
}

/*
 * host [":" port] with host a DNS-style name or an IPv4 address, or a
 * bracketed IPv6 address; port 1 to 65535, required if need_port.  Stricter
 * than RFC 3986's reg-name on purpose: b0-edge routes on these.
 */
static int
authority_valid(const char *s, size_t n, int need_port)
{
	size_t i = 0, hend, ncolon = 0;
	uint32_t port = 0;

	if (n > 0 && s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++) {
			if (s[i] == ':')
				ncolon++;
			else if (hexval((unsigned char)s[i]) < 0 && s[i] != '.')
				return 0;
		}
		if (i == n || i == 1 || ncolon < 2)
			return 0;
		hend = ++i;
	} else {
		for (; i < n && s[i] != ':'; i++) {
			if (!is_alpha((unsigned char)s[i]) &&
			    !is_digit((unsigned char)s[i]) && s[i] != '.' &&
			    s[i] != '-' && s[i] != '_')
				return 0;
		}
		if (i == 0)
			return 0;
		hend = i;
	}
	if (hend == n)
		return !need_port;
	if (s[hend] != ':' || n - hend - 1 == 0 || n - hend - 1 > 5)
		return 0;
	for (i = hend + 1; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return 0;
		port = port * 10 + (uint32_t)(s[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

/* Parse "HTTP/1.x" at s (8 bytes available) into h->minor. */
static int
parse_version(const char *s, size_t n, const char *first,
    struct b0_http_head *h, struct b0_errmsg *em)
{
	if (n == 8 && memcmp(s, "HTTP/1.", 7) == 0 &&
	    (s[7] == '0' || s[7] == '1')) {
		h->minor = s[7] - '0';
		return 0;
	}
	if (n == 8 && memcmp(s, "HTTP/", 5) == 0 &&
	    is_digit((unsigned char)s[5]) && s[6] == '.' &&
	    is_digit((unsigned char)s[7]))
		return fail(h, em, B0_ERR_UNSUPPORTED, 505,
		    "%s: HTTP version %.8s not supported", first, s);
	return fail(
	    h, em, B0_ERR_FORMAT, 400, "%s: invalid HTTP version", first);
}

static int
parse_request_line(
    const char *line, size_t ll, struct b0_http_req *req, struct b0_errmsg *em)
{
	struct b0_http_head *h = &req->h;
	const char *t;
	size_t i, j, tl;
	int r;

	for (i = 0; i < ll && is_tchar((unsigned char)line[i]); i++)
		;
	if (i == 0)
		return fail(
		    h, em, B0_ERR_FORMAT, 400, "request line: no method");
	if (i == ll)
		return fail(
		    h, em, B0_ERR_FORMAT, 400, "request line: no target");
	if (line[i] != ' ')
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "request line: invalid character 0x%02x in method",
		    (unsigned char)line[i]);
	req->method = line;
	req->method_len = i;
	for (j = i + 1; j < ll && line[j] != ' '; j++) {
		unsigned char c = (unsigned char)line[j];

		if (c == '#')
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "request line: fragment (#) in target");
		if (c <= 0x20 || c >= 0x7f)
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "request line: invalid character 0x%02x in target",
			    c);
	}
	t = line + i + 1;
	tl = j - i - 1;
	if (tl == 0)
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "request line: empty target (or two spaces)");
	if (j == ll)
		return fail(
		    h, em, B0_ERR_FORMAT, 400, "request line: no HTTP version");
	if ((r = parse_version(
		 line + j + 1, ll - j - 1, "request line", h, em)) != 0)
		return r;
	req->target = t;
	req->target_len = tl;
	if (span_eq(req->method, req->method_len, "CONNECT")) {
		if (!authority_valid(t, tl, 1))
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "request line: CONNECT target must be host:port");
		req->form = B0_HTTP_AUTHORITY_FORM;
	} else if (span_eq(t, tl, "*")) {
		if (!span_eq(req->method, req->method_len, "OPTIONS"))
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "request line: target * is for OPTIONS only");
		req->form = B0_HTTP_ASTERISK_FORM;
	} else if (t[0] == '/') {
		req->form = B0_HTTP_ORIGIN_FORM;
	} else {
		for (i = 0;
		     i < tl && (is_alpha((unsigned char)t[i]) ||
				   is_digit((unsigned char)t[i]) ||
				   t[i] == '+' || t[i] == '-' || t[i] == '.');
		     i++)
			;
		if (i > 0 && i + 2 < tl && memcmp(t + i, "://", 3) == 0)
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "request line: absolute-form target not accepted");
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "request line: target must start with /");
	}
	return 0;
}

static int
parse_status_line(const char *line, size_t ll, struct b0_http_resp *resp,
    struct b0_errmsg *em)
{
	struct b0_http_head *h = &resp->h;
	size_t i;
	int r;

	if ((r = parse_version(line, ll < 8 ? ll : 8, "status line", h, em)) !=
	    0)
		return r;
	if (ll < 12 || line[8] != ' ' || !is_digit((unsigned char)line[9]) ||
	    !is_digit((unsigned char)line[10]) ||
	    !is_digit((unsigned char)line[11]) || (ll > 12 && line[12] != ' '))
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "status line: not \"HTTP/1.x NNN reason\"");
	resp->status =
	    (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	if (resp->status < 100 || resp->status > 599)
		return fail(h, em, B0_ERR_FORMAT, 400,
		    "status line: status %d out of range", resp->status);
	resp->reason = line + (ll > 12 ? 13 : 12);
	resp->reason_len = ll > 12 ? ll - 13 : 0;
	for (i = 0; i < resp->reason_len; i++) {
		if (!is_field_char((unsigned char)resp->reason[i]))
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "status line: invalid character 0x%02x in reason",
			    (unsigned char)resp->reason[i]);
	}
	return 0;
}

/* Content-Length: 1*DIGIT, no sign, no space, no list. */
static int
parse_length(const char *s, size_t n, uint64_t *vp)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return B0_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return B0_ERR_FORMAT;
		v = v * 10 + d;
	}
	*vp = v;
	return 0;
}

/* Transfer-Encoding as seen across all its fields. */
struct te_state {
	size_t nfields, ncodings, nchunked;
	int last_chunked;
	const char *other; /* first coding that is not chunked */
	size_t other_len;
};

static int
te_scan(struct te_state *te, const char *v, size_t n)
{
	size_t i = 0, s, e, j;

	te->nfields++;
	while (i <= n) {
		for (e = i; e < n && v[e] != ','; e++)
			;
		for (s = i; s < e && is_ows((unsigned char)v[s]); s++)
			;
		j = e;
		while (j > s && is_ows((unsigned char)v[j - 1]))
			j--;
		i = e + 1;
		if (j == s)
			continue; /* empty list element (RFC 9110 5.6.1) */
		te->ncodings++;
		if (span_caseeq(v + s, j - s, "chunked")) {
			te->nchunked++;
			te->last_chunked = 1;
			continue;
		}
		te->last_chunked = 0;
		for (e = s; e < j; e++) {
			if (!is_tchar((unsigned char)v[e]))
				return B0_ERR_FORMAT;
		}
		if (te->other == NULL) {
			te->other = v + s;
			te->other_len = j - s;
		}
	}
	return 0;
}

/*
 * Decide how the body is framed, refusing every ambiguity.  Fills
 * h->body and h->content_length; the caller adjusts h->body for responses.
 */
static int
framing(struct b0_http_head *h, struct b0_errmsg *em)
{
	struct te_state te;
	int have_cl = 0;
	uint64_t cl = 0, v;
	size_t i;

	memset(&te, 0, sizeof(te));
	for (i = 0; i < h->nfields; i++) {
		const struct b0_http_field *f = &h->fields[i];

		if (b0_http_field_is(f, "Content-Length")) {
			if (parse_length(f->value, f->value_len, &v) != 0)
				return fail(h, em, B0_ERR_FORMAT, 400,
				    "header line %zu: invalid Content-Length",
				    i + 1);
			if (have_cl && v != cl)
				return fail(h, em, B0_ERR_FORMAT, 400,
				    "Content-Length values differ");
			have_cl = 1;
			cl = v;
		} else if (b0_http_field_is(f, "Transfer-Encoding")) {
			if (te_scan(&te, f->value, f->value_len) != 0)
				return fail(h, em, B0_ERR_FORMAT, 400,
				    "header line %zu: invalid "
				    "Transfer-Encoding",
				    i + 1);
		}
	}
	h->body = B0_HTTP_BODY_NONE;
	if (te.nfields > 0) {
		if (have_cl)
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "Content-Length and Transfer-Encoding both "
			    "present");
		if (h->minor == 0)
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "Transfer-Encoding in an HTTP/1.0 message");
		if (te.ncodings == 0)
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "empty Transfer-Encoding");
		if (!te.last_chunked)
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "Transfer-Encoding does not end in chunked");
		if (te.nchunked > 1)
			return fail(h, em, B0_ERR_FORMAT, 400,
			    "Transfer-Encoding has chunked more than once");
		if (te.other != NULL)
			return fail(h, em, B0_ERR_UNSUPPORTED, 501,
			    "Transfer-Encoding %.*s not supported",
			    (int)(te.other_len < 40 ? te.other_len : 40),
			    te.other);
		h->body = B0_HTTP_BODY_CHUNKED;
	} else if (have_cl) {
		h->body = B0_HTTP_BODY_LENGTH;
		h->content_length = cl;
	}
	return 0;
}

static void
head_reset(struct b0_http_head *h)
{
	h->nfields = 0;
	h->minor = 0;
	h->body = B0_HTTP_BODY_NONE;
	h->content_length = 0;
	h->head_len = 0;
	h->error_status = 0;
}

static const struct b0_http_limits *
limits(const struct b0_http_limits *lim)
{
	return lim != NULL ? lim : &default_limits;
}

int
b0_http_req_parse(const char *buf, size_t len, const struct b0_http_limits *lim,
    struct b0_http_req *req, struct b0_errmsg *em)
{
	struct b0_http_head *h = &req->h;
	size_t start = 0, end = 0, ll;
	int r;

	lim = limits(lim);
	req->method = req->target = req->host = NULL;
	req->method_len = req->target_len = req->host_len = 0;
	req->form = B0_HTTP_ORIGIN_FORM;
	head_reset(h);
	if (lim->fields_max > B0_HTTP_FIELDS_MAX || lim->head_max > INT_MAX)
		return fail(h, em, B0_ERR_ARG, 500, "limits too large");
	/* RFC 9112 2.2: skip empty lines before the request line. */
	while (start + 1 < len && start < lim->head_max && buf[start] == '\r' &&
	       buf[start + 1] == '\n')
		start += 2;
	if ((r = find_end(buf, len, start, lim, "request line", h, em, &end)) !=
	    0)
		return r;
	ll = (size_t)((const char *)memchr(buf + start, '\r', end - start) -
		      (buf + start));
	if ((r = parse_request_line(buf + start, ll, req, em)) != 0 ||
	    (r = parse_fields(buf, start + ll + 2, end - 2, lim, h, em)) != 0 ||
	    (r = framing(h, em)) != 0)
		return r;
	switch (b0_http_get(h, "Host", &req->host, &req->host_len)) {
	case 0:
		if (h->minor == 1)
			return fail(
			    h, em, B0_ERR_FORMAT, 400, "no Host header");
		break;
	case 1:
		if (!authority_valid(req->host, req->host_len, 0))
			return fail(
			    h, em, B0_ERR_FORMAT, 400, "invalid Host header");
		break;
	default:
		return fail(
		    h, em, B0_ERR_FORMAT, 400, "more than one Host header");
	}
	h->head_len = end;
	return (int)end;
}

int
b0_http_resp_parse(const char *buf, size_t len, const char *method,
    const struct b0_http_limits *lim, struct b0_http_resp *resp,
    struct b0_errmsg *em)
{
	struct b0_http_head *h = &resp->h;
	size_t end = 0, ll;
	int r, s;

	lim = limits(lim);
	resp->status = 0;
	resp->reason = NULL;
	resp->reason_len = 0;
	head_reset(h);
	if (lim->fields_max > B0_HTTP_FIELDS_MAX || lim->head_max > INT_MAX)
		return fail(h, em, B0_ERR_ARG, 500, "limits too large");
	if ((r = find_end(buf, len, 0, lim, "status line", h, em, &end)) != 0)
		return r;
	ll = (size_t)((const char *)memchr(buf, '\r', end) - buf);
	if ((r = parse_status_line(buf, ll, resp, em)) != 0 ||
	    (r = parse_fields(buf, ll + 2, end - 2, lim, h, em)) != 0 ||
	    (r = framing(h, em)) != 0)
		return r;
	s = resp->status;
	if (method == NULL)
		method = "GET";
	if (strcmp(method, "HEAD") == 0 || s < 200 || s == 204 || s == 304 ||
	    (strcmp(method, "CONNECT") == 0 && s < 300))
		h->body = B0_HTTP_BODY_NONE;
	else if (h->body == B0_HTTP_BODY_NONE)
		h->body = B0_HTTP_BODY_EOF;
	h->head_len = end;
	return (int)end;
}

int
b0_http_field_is(const struct b0_http_field *f, const char *name)
{
	return span_caseeq(f->name, f->name_len, name);
}

size_t
b0_http_get(const struct b0_http_head *h, const char *name, const char **valuep,
    size_t *lenp)
{
	const struct b0_http_field *first = NULL;
	size_t i, n = 0;

	for (i = 0; i < h->nfields; i++) {
		if (!b0_http_field_is(&h->fields[i], name))
			continue;
		if (n++ == 0)
			first = &h->fields[i];
	}
	if (valuep != NULL)
		*valuep = first != NULL ? first->value : NULL;
	if (lenp != NULL)
		*lenp = first != NULL ? first->value_len : 0;
	return n;
}

int
b0_http_list_has(const char *value, size_t len, const char *token)
{
	size_t i = 0, s, e, j;

	while (i < len) {
		for (e = i; e < len && value[e] != ','; e++)
			;
		for (s = i; s < e && is_ows((unsigned char)value[s]); s++)
			;
		for (j = e; j > s && is_ows((unsigned char)value[j - 1]); j--)
			;
		if (j > s && span_caseeq(value + s, j - s, token))
			return 1;
		i = e + 1;
	}
	return 0;
}

int
b0_http_has_token(
    const struct b0_http_head *h, const char *name, const char *token)
{
	size_t i;

	for (i = 0; i < h->nfields; i++) {
		if (b0_http_field_is(&h->fields[i], name) &&
		    b0_http_list_has(
			h->fields[i].value, h->fields[i].value_len, token))
			return 1;
	}
	return 0;
}

const char *
b0_http_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} t[] = {
	    {100, "Continue"},
	    {101, "Switching Protocols"},
	    {200, "OK"},
	    {201, "Created"},
	    {204, "No Content"},
	    {301, "Moved Permanently"},
	    {302, "Found"},
	    {303, "See Other"},
	    {304, "Not Modified"},
	    {307, "Temporary Redirect"},
	    {308, "Permanent Redirect"},
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {408, "Request Timeout"},
	    {411, "Length Required"},
	    {413, "Content Too Large"},
	    {414, "URI Too Long"},
	    {415, "Unsupported Media Type"},
	    {417, "Expectation Failed"},
	    {421, "Misdirected Request"},
	    {429, "Too Many Requests"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Gateway Timeout"},
	    {505, "HTTP Version Not Supported"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].status == status)
			return t[i].reason;
	}
	return "";
}

/* Chunked decoder states. */
enum {
	CH_SIZE0 = 0,	/* first hex digit of a chunk size */
	CH_SIZE,	/* more hex digits */
	CH_EXT_SEMI,	/* whitespace; ';' must follow */
	CH_EXT_NAME0,	/* after ';': whitespace or an extension name */
	CH_EXT_NAME,	/* in the name */
	CH_EXT_NAME_WS, /* whitespace after the name: '=' or ';' next */
	CH_EXT_VAL0,	/* after '=': whitespace, token or quoted string */
	CH_EXT_TOKEN,	/* in a token value */
	CH_EXT_QSTR,	/* in a quoted-string value */
	CH_EXT_QPAIR,	/* after a backslash in it */
	CH_EXT_AFTER,	/* after the closing quote */
	CH_SIZE_LF,	/* CR ended the size line */
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER0, /* a trailer line or the final empty line */
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF,
	CH_END_LF,
	CH_DONE,
	CH_FAILED
};

void
b0_http_chunked_init(struct b0_http_chunked *c, uint64_t max)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE0;
	c->max = max;
}

uint64_t
b0_http_chunked_total(const struct b0_http_chunked *c)
{
	return c->total;
}

static int __attribute__((format(printf, 4, 5)))
chunk_fail(struct b0_http_chunked *c, struct b0_errmsg *em, int r,
    const char *fmt, ...)
{
	char text[sizeof(em->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	b0_err_set(em, "chunked body: %s", text);
	c->state = CH_FAILED;
	return r;
}

/* The next state after byte b of a size line, or -1 if b is wrong. */
static int
size_line_step(int state, unsigned char b)
{
	switch (state) {
	case CH_SIZE:
		if (b == ';')
			return CH_EXT_NAME0;
		if (is_ows(b))
			return CH_EXT_SEMI;
		return b == '\r' ? CH_SIZE_LF : -1;
	case CH_EXT_SEMI:
		if (is_ows(b))
			return CH_EXT_SEMI;
		return b == ';' ? CH_EXT_NAME0 : -1;
	case CH_EXT_NAME0:
		if (is_ows(b))
			return CH_EXT_NAME0;
		return is_tchar(b) ? CH_EXT_NAME : -1;
	case CH_EXT_NAME:
	case CH_EXT_NAME_WS:
		if (state == CH_EXT_NAME && is_tchar(b))
			return CH_EXT_NAME;
		if (is_ows(b))
			return CH_EXT_NAME_WS;
		if (b == '=')
			return CH_EXT_VAL0;
		if (b == ';')
			return CH_EXT_NAME0;
		return b == '\r' && state == CH_EXT_NAME ? CH_SIZE_LF : -1;
	case CH_EXT_VAL0:
		if (is_ows(b))
			return CH_EXT_VAL0;
		if (b == '"')
			return CH_EXT_QSTR;
		return is_tchar(b) ? CH_EXT_TOKEN : -1;
	case CH_EXT_TOKEN:
	case CH_EXT_AFTER:
		if (state == CH_EXT_TOKEN && is_tchar(b))
			return CH_EXT_TOKEN;
		if (is_ows(b))
			return CH_EXT_SEMI;
		if (b == ';')
			return CH_EXT_NAME0;
		return b == '\r' ? CH_SIZE_LF : -1;
	case CH_EXT_QSTR:
		if (b == '"')
			return CH_EXT_AFTER;
		if (b == '\\')
			return CH_EXT_QPAIR;
		return is_field_char(b) ? CH_EXT_QSTR : -1;
	case CH_EXT_QPAIR:
		return is_field_char(b) ? CH_EXT_QSTR : -1;
	}
	return -1;
}

int
b0_http_chunked_decode(struct b0_http_chunked *c, const uint8_t *in, size_t len,
    size_t *usedp, struct b0_buf *out, struct b0_errmsg *em)
{
	size_t i = 0, n, room;
	unsigned char b;
	int d, next, r;

	*usedp = 0;
	if (c->state == CH_DONE)
		return 0;
	if (c->state == CH_FAILED) {
		b0_err_set(em, "chunked body: decoding failed before");
		return B0_ERR_FORMAT;
	}
	while (i < len) {
		if (c->state == CH_DATA) {
			n = len - i;
			if (n > c->left)
				n = (size_t)c->left;
			if (out != NULL) {
				room = b0_buf_avail(out);
				if (n > room)
					n = room;
				if (n == 0)
					break; /* out is full */
				if ((r = b0_buf_put(out, in + i, n)) != 0)
					return chunk_fail(c, em, r,
					    "cannot store data: %s",
					    b0_strerror(r));
			}
			i += n;
			c->left -= n;
			c->total += n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		b = in[i++];
		if (++c->framing > c->total + B0_HTTP_CHUNK_SLACK)
			return chunk_fail(c, em, B0_ERR_TOO_BIG,
			    "framing outweighs data by more than %u bytes",
			    (unsigned)B0_HTTP_CHUNK_SLACK);
		if (b == '\n' && c->state != CH_SIZE_LF &&
		    c->state != CH_DATA_LF && c->state != CH_TRAILER_LF &&
		    c->state != CH_END_LF)
			return chunk_fail(c, em, B0_ERR_FORMAT,
			    "bare LF (lines must end in CRLF)");
		if (c->state <= CH_EXT_AFTER || c->state >= CH_TRAILER0) {
			if (++c->line > B0_HTTP_CHUNK_LINE_MAX)
				return chunk_fail(c, em, B0_ERR_TOO_BIG,
				    "line longer than %u bytes",
				    (unsigned)B0_HTTP_CHUNK_LINE_MAX);
		}
		switch (c->state) {
		case CH_SIZE0:
		case CH_SIZE:
			if ((d = hexval(b)) >= 0) {
				if (c->left > (UINT64_MAX >> 4) ||
				    (c->left << 4 | (unsigned)d) >
					c->max - c->total)
					return chunk_fail(c, em, B0_ERR_TOO_BIG,
					    "body larger than %llu bytes",
					    (unsigned long long)c->max);
				c->left = c->left << 4 | (unsigned)d;
				c->state = CH_SIZE;
				break;
			}
			if (c->state == CH_SIZE0)
				return chunk_fail(
				    c, em, B0_ERR_FORMAT, "invalid chunk size");
			/* FALLTHROUGH */
		case CH_EXT_SEMI:
		case CH_EXT_NAME0:
		case CH_EXT_NAME:
		case CH_EXT_NAME_WS:
		case CH_EXT_VAL0:
		case CH_EXT_TOKEN:
		case CH_EXT_QSTR:
		case CH_EXT_QPAIR:
		case CH_EXT_AFTER:
			if ((next = size_line_step(c->state, b)) < 0)
				return chunk_fail(c, em, B0_ERR_FORMAT,
				    c->state == CH_SIZE
					? "invalid chunk size"
					: "invalid chunk extension");
			c->state = next;
			break;
		case CH_SIZE_LF:
			if (b != '\n')
				return chunk_fail(
				    c, em, B0_ERR_FORMAT, "bare CR");
			c->line = 0;
			c->state = c->left == 0 ? CH_TRAILER0 : CH_DATA;
			break;
		case CH_DATA_CR:
			if (b != '\r')
				return chunk_fail(c, em, B0_ERR_FORMAT,
				    "chunk data not followed by CRLF");
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (b != '\n')
				return chunk_fail(c, em, B0_ERR_FORMAT,
				    "chunk data not followed by CRLF");
			c->state = CH_SIZE0;
			break;
		case CH_TRAILER0:
			if (b == '\r') {
				c->state = CH_END_LF;
				break;
			}
			if (is_ows(b))
				return chunk_fail(c, em, B0_ERR_FORMAT,
				    "trailer starts with whitespace");
			if (!is_tchar(b))
				return chunk_fail(c, em, B0_ERR_FORMAT,
				    "invalid trailer field");
			if (++c->ntrailers > B0_HTTP_FIELDS_MAX)
				return chunk_fail(c, em, B0_ERR_TOO_BIG,
				    "more than %u trailer fields",
				    (unsigned)B0_HTTP_FIELDS_MAX);
			c->state = CH_TRAILER_NAME;
			break;
		case CH_TRAILER_NAME:
			if (b == ':')
				c->state = CH_TRAILER_VALUE;
			else if (is_ows(b))
				return chunk_fail(c, em, B0_ERR_FORMAT,
				    "trailer: space before colon");
			else if (!is_tchar(b))
				return chunk_fail(c, em, B0_ERR_FORMAT,
				    "invalid trailer field");
			break;
		case CH_TRAILER_VALUE:
			if (b == '\r')
				c->state = CH_TRAILER_LF;
			else if (!is_field_char(b))
				return chunk_fail(c, em, B0_ERR_FORMAT,
				    "invalid character 0x%02x in trailer", b);
			break;
		case CH_TRAILER_LF:
			if (b != '\n')
				return chunk_fail(
				    c, em, B0_ERR_FORMAT, "bare CR");
			c->line = 0;
			c->state = CH_TRAILER0;
			break;
		case CH_END_LF:
			if (b != '\n')
				return chunk_fail(
				    c, em, B0_ERR_FORMAT, "bare CR");
			c->state = CH_DONE;
			*usedp = i;
			return 0;
		default:
			return chunk_fail(
			    c, em, B0_ERR_INTERNAL, "bad state %d", c->state);
		}
	}
	*usedp = i;
	return B0_ERR_INCOMPLETE;
}

int
b0_http_pct_decode(
    const char *s, size_t n, int plus, char *out, size_t outsz, size_t *outlenp)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (o + 1 >= outsz)
			return B0_ERR_TOO_BIG;
		if (s[i] == '%') {
			if (n - i < 3 ||
			    (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return B0_ERR_FORMAT;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus)
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	if (o >= outsz)
		return B0_ERR_TOO_BIG;
	out[o] = '\0';
	*outlenp = o;
	return 0;
}

int
b0_http_pct_encode(struct b0_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, need = 0;
	uint8_t *d;
	int r;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		need += is_unreserved(c) ? 1 : 3;
	}
	if ((r = b0_buf_reserve(out, need, &d)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c)) {
			*d++ = c;
		} else {
			*d++ = '%';
			*d++ = (uint8_t)hex[c >> 4];
			*d++ = (uint8_t)hex[c & 15];
		}
	}
	return 0;
}

/* Decode one name or value of form data into *op, advancing it. */
static int
form_part(const char *s, size_t n, char **op, char *end, size_t idx,
    const char *what, struct b0_errmsg *em)
{
	size_t olen;

	if (b0_http_pct_decode(s, n, 1, *op, (size_t)(end - *op), &olen) != 0) {
		b0_err_set(
		    em, "parameter %zu: bad percent escape in %s", idx, what);
		return B0_ERR_FORMAT;
	}
	if (memchr(*op, '\0', olen) != NULL) {
		b0_err_set(em, "parameter %zu: NUL in %s", idx, what);
		return B0_ERR_FORMAT;
	}
	if (!b0_utf8_valid(*op, olen)) {
		b0_err_set(
		    em, "parameter %zu: %s is not valid UTF-8", idx, what);
		return B0_ERR_FORMAT;
	}
	*op += olen + 1;
	return 0;
}

int
b0_http_form_parse(const char *s, size_t len, size_t max, int flags,
    struct b0_http_params *ps, struct b0_errmsg *em)
{
	struct b0_http_params p;
	const char *amp, *eq, *pair;
	size_t i, j, npairs = 0, plen, idx = 0;
	char *o;
	int r = B0_ERR_INTERNAL;

	memset(ps, 0, sizeof(*ps));
	memset(&p, 0, sizeof(p));
	for (i = 0; i <= len; i = (size_t)(amp - s) + 1) {
		if ((amp = memchr(s + i, '&', len - i)) == NULL)
			amp = s + len;
		if (amp > s + i)
			npairs++;
	}
	if (npairs > max) {
		b0_err_set(em, "more than %zu parameters", max);
		return B0_ERR_TOO_BIG;
	}
	/* Decoding never grows: len bytes plus two NULs per pair suffice. */
	p.memsz = len + 2 * npairs + 1;
	if ((p.p = calloc(npairs + 1, sizeof(*p.p))) == NULL ||
	    (p.mem = malloc(p.memsz)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	o = p.mem;
	for (i = 0; i <= len; i = (size_t)(amp - s) + 1) {
		if ((amp = memchr(s + i, '&', len - i)) == NULL)
			amp = s + len;
		pair = s + i;
		plen = (size_t)(amp - pair);
		if (plen == 0)
			continue; /* "a&&b" */
		idx++;
		if ((eq = memchr(pair, '=', plen)) == NULL)
			eq = pair + plen;
		if (eq == pair) {
			b0_err_set(em, "parameter %zu: empty name", idx);
			r = B0_ERR_FORMAT;
			goto out;
		}
		p.p[p.n].name = o;
		if ((r = form_part(pair, (size_t)(eq - pair), &o,
			 p.mem + p.memsz, idx, "name", em)) != 0)
			goto out;
		p.p[p.n].value = o;
		if (eq == pair + plen)
			*o++ = '\0';
		else if ((r = form_part(eq + 1, plen - (size_t)(eq - pair) - 1,
			      &o, p.mem + p.memsz, idx, "value", em)) != 0)
			goto out;
		if (flags & B0_HTTP_FORM_NODUP) {
			for (j = 0; j < p.n; j++) {
				if (strcmp(p.p[j].name, p.p[p.n].name) != 0)
					continue;
				b0_err_set(em, "parameter \"%.64s\" repeated",
				    p.p[p.n].name);
				r = B0_ERR_EXISTS;
				goto out;
			}
		}
		p.n++;
	}
	*ps = p;
	memset(&p, 0, sizeof(p)); /* transferred */
	r = 0;
out:
	b0_http_params_cleanup(&p);
	return r;
}

void
b0_http_params_cleanup(struct b0_http_params *ps)
{
	if (ps->mem != NULL)
		explicit_bzero(ps->mem, ps->memsz);
	free(ps->mem);
	free(ps->p);
	memset(ps, 0, sizeof(*ps));
}

const char *
b0_http_params_get(const struct b0_http_params *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		if (strcmp(ps->p[i].name, name) == 0)
			return ps->p[i].value;
	}
	return NULL;
}

size_t
b0_http_params_count(const struct b0_http_params *ps, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < ps->n; i++)
		n += strcmp(ps->p[i].name, name) == 0;
	return n;
}
