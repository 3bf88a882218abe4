/*
 * libFuzzer target: lib/b0_http, as the edge (requests, chunked bodies,
 * form posts) and b0-proxy (the edge's CONNECT answer) meet it from a
 * peer.  The first byte picks what the rest is fed to:
 *   0 request head, then its chunked body if it says so
 *   1 response head (the second byte picks the request method)
 *   2 chunked body, whole and split at the second byte
 *   3 form data, which must survive encoding and parsing again
 * Invariants are checked with abort(): results inside the input, every
 * prefix of an accepted head incomplete, splitting never changes a result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b0_buf.h"
#include "b0_http.h"
#include "b0_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

/* Is [p, p + n) inside [buf, buf + len)? */
static int
inside(const char *p, size_t n, const char *buf, size_t len)
{
	return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static void
check_head(const struct b0_http_head *h, const char *buf, int r)
{
	size_t i, j;

	CHECK(h->head_len == (size_t)r && h->error_status == 0);
	CHECK(h->nfields <= B0_HTTP_FIELDS_MAX);
	CHECK(r >= 4 && memcmp(buf + r - 4, "\r\n\r\n", 4) == 0);
	for (i = 0; i < h->nfields; i++) {
		const struct b0_http_field *f = &h->fields[i];

		CHECK(f->name_len > 0 && inside(f->name, f->name_len, buf, r));
		CHECK(inside(f->value, f->value_len, buf, r));
		for (j = 0; j < f->value_len; j++) {
			unsigned char c = (unsigned char)f->value[j];

			CHECK(c != '\r' && c != '\n' && c != '\0');
		}
		CHECK(
		    f->value_len == 0 ||
		    (f->value[0] != ' ' && f->value[f->value_len - 1] != ' '));
	}
	CHECK(h->minor == 0 || h->minor == 1);
	if (h->body == B0_HTTP_BODY_CHUNKED)
		CHECK(b0_http_get(h, "Content-Length", NULL, NULL) == 0);
}

/* Decode a chunked body whole and in two pieces; both must agree. */
static void
chunked(const uint8_t *p, size_t n, size_t split)
{
	struct b0_http_chunked c1, c2;
	struct b0_buf o1, o2;
	struct b0_errmsg em;
	size_t u1, u2, u3 = 0;
	int r1, r2;

	b0_buf_init(&o1, 1 << 20);
	b0_buf_init(&o2, 1 << 20);
	b0_http_chunked_init(&c1, 1 << 16);
	b0_http_chunked_init(&c2, 1 << 16);
	r1 = b0_http_chunked_decode(&c1, p, n, &u1, &o1, &em);
	CHECK(u1 <= n);
	CHECK(r1 != B0_ERR_INCOMPLETE || u1 == n);
	CHECK(b0_http_chunked_total(&c1) == b0_buf_len(&o1));
	CHECK(b0_buf_len(&o1) <= 1 << 16);
	if (split > n)
		split = n;
	r2 = b0_http_chunked_decode(&c2, p, split, &u2, &o2, &em);
	if (r2 == B0_ERR_INCOMPLETE) {
		CHECK(u2 == split);
		r2 = b0_http_chunked_decode(
		    &c2, p + split, n - split, &u3, &o2, &em);
	}
	if (r1 == 0 || r2 == 0) {
		CHECK(r1 == r2 && u1 == u2 + u3);
		CHECK(b0_buf_len(&o1) == b0_buf_len(&o2) &&
		      memcmp(b0_buf_ptr(&o1), b0_buf_ptr(&o2),
			  b0_buf_len(&o1)) == 0);
	}
	CHECK((r1 == B0_ERR_INCOMPLETE) == (r2 == B0_ERR_INCOMPLETE));
	b0_buf_cleanup(&o1);
	b0_buf_cleanup(&o2);
}

static void
request(const char *buf, size_t len)
{
	struct b0_http_req rq, rq2;
	struct b0_errmsg em;
	int r;

	r = b0_http_req_parse(buf, len, NULL, &rq, &em);
	if (r == B0_ERR_INCOMPLETE || r < 0) {
		CHECK(r == B0_ERR_INCOMPLETE || rq.h.error_status >= 400);
		return;
	}
	CHECK((size_t)r <= len);
	check_head(&rq.h, buf, r);
	CHECK(rq.method_len > 0 && inside(rq.method, rq.method_len, buf, r));
	CHECK(rq.target_len > 0 && inside(rq.target, rq.target_len, buf, r));
	CHECK(rq.h.minor == 0 || rq.host != NULL);
	CHECK(rq.host == NULL || inside(rq.host, rq.host_len, buf, r));
	/* Prefixes of an accepted head are incomplete, never errors. */
	CHECK(b0_http_req_parse(buf, (size_t)r - 1, NULL, &rq2, &em) ==
	      B0_ERR_INCOMPLETE);
	CHECK(b0_http_req_parse(buf, (size_t)r / 2, NULL, &rq2, &em) ==
	      B0_ERR_INCOMPLETE);
	if (rq.h.body == B0_HTTP_BODY_CHUNKED)
		chunked((const uint8_t *)buf + r, len - (size_t)r,
		    (len - (size_t)r) / 2);
}

static void
response(const char *buf, size_t len, uint8_t sel)
{
	static const char *methods[] = {"GET", "HEAD", "CONNECT", NULL};
	struct b0_http_resp rs, rs2;
	struct b0_errmsg em;
	int r;

	r = b0_http_resp_parse(buf, len, methods[sel % 4], NULL, &rs, &em);
	if (r < 0)
		return;
	CHECK((size_t)r <= len);
	check_head(&rs.h, buf, r);
	CHECK(rs.status >= 100 && rs.status <= 599);
	CHECK(rs.reason_len == 0 || inside(rs.reason, rs.reason_len, buf, r));
	CHECK(b0_http_resp_parse(buf, (size_t)r - 1, methods[sel % 4], NULL,
		  &rs2, &em) == B0_ERR_INCOMPLETE);
}

static void
form(const char *buf, size_t len)
{
	struct b0_http_params ps, ps2;
	struct b0_errmsg em;
	struct b0_buf enc;
	size_t i, j;
	int r, nodup;

	for (nodup = 0; nodup <= 1; nodup++) {
		r = b0_http_form_parse(
		    buf, len, 64, nodup ? B0_HTTP_FORM_NODUP : 0, &ps, &em);
		if (r != 0) {
			CHECK(ps.p == NULL && ps.mem == NULL);
			continue;
		}
		b0_buf_init(&enc, 1 << 20);
		for (i = 0; i < ps.n; i++) {
			CHECK(ps.p[i].name[0] != '\0');
			CHECK(
			    b0_utf8_valid(ps.p[i].name, strlen(ps.p[i].name)));
			CHECK(b0_utf8_valid(
			    ps.p[i].value, strlen(ps.p[i].value)));
			for (j = 0; nodup && j < i; j++)
				CHECK(strcmp(ps.p[i].name, ps.p[j].name) != 0);
			if (i > 0)
				CHECK(b0_buf_put_u8(&enc, '&') == 0);
			CHECK(b0_http_pct_encode(&enc, ps.p[i].name,
				  strlen(ps.p[i].name)) == 0);
			CHECK(b0_buf_put_u8(&enc, '=') == 0);
			CHECK(b0_http_pct_encode(&enc, ps.p[i].value,
				  strlen(ps.p[i].value)) == 0);
		}
		CHECK(b0_http_form_parse((const char *)b0_buf_ptr(&enc),
			  b0_buf_len(&enc), 64, 0, &ps2, &em) == 0);
		CHECK(ps2.n == ps.n);
		for (i = 0; i < ps.n; i++) {
			CHECK(strcmp(ps.p[i].name, ps2.p[i].name) == 0);
			CHECK(strcmp(ps.p[i].value, ps2.p[i].value) == 0);
		}
		b0_http_params_cleanup(&ps2);
		b0_http_params_cleanup(&ps);
		b0_buf_cleanup(&enc);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;

	if (size < 2)
		return 0;
	/* An exact-size copy, so ASan sees any read past the end. */
	if ((buf = malloc(size - 2 + 1)) == NULL)
		return 0;
	memcpy(buf, data + 2, size - 2);
	switch (data[0] % 4) {
	case 0:
		request(buf, size - 2);
		break;
	case 1:
		response(buf, size - 2, data[1]);
		break;
	case 2:
		chunked((const uint8_t *)buf, size - 2, data[1]);
		break;
	case 3:
		form(buf, size - 2);
		break;
	}
	free(buf);
	return 0;
}
