/*
 * Unit tests for lib/b0_b64: RFC 4648 vectors, every rejection, inputs at
 * the end of a guarded page, and round trips.
 */
#include <stdint.h>

#include <openssl/rand.h>

#include "b0_b64.h"
#include "b0_err.h"
#include "tap.h"

/* s with control and non-ASCII bytes as \xNN, for TAP test names. */
static const char *
esc(const char *s)
{
	static char buf[128];
	size_t o = 0;

	for (; *s != '\0' && o + 5 < sizeof(buf); s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(
			    buf + o, sizeof(buf) - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* RFC 4648 section 10 ("f", "fo", ...) in both alphabets. */
static void
test_vectors(void)
{
	static const struct {
		const char *in, *std, *url;
	} t[] = {
	    {"", "", ""},
	    {"f", "Zg==", "Zg"},
	    {"fo", "Zm8=", "Zm8"},
	    {"foo", "Zm9v", "Zm9v"},
	    {"foob", "Zm9vYg==", "Zm9vYg"},
	    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
	};
	size_t i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char enc[32];
		uint8_t dec[32];
		size_t len = strlen(t[i].in);

		is_int(b0_b64_encode(
			   (const uint8_t *)t[i].in, len, enc, sizeof(enc)),
		    0, "std encode \"%s\"", t[i].in);
		is_str(enc, t[i].std, "std encode \"%s\" value", t[i].in);
		is_int(b0_b64_encoded_len(len), strlen(t[i].std),
		    "std encoded_len(%zu)", len);
		is_int(b0_b64url_encode(
			   (const uint8_t *)t[i].in, len, enc, sizeof(enc)),
		    0, "url encode \"%s\"", t[i].in);
		is_str(enc, t[i].url, "url encode \"%s\" value", t[i].in);
		is_int(b0_b64url_encoded_len(len), strlen(t[i].url),
		    "url encoded_len(%zu)", len);
		is_int(b0_b64_decode(
			   t[i].std, strlen(t[i].std), dec, sizeof(dec), &n),
		    0, "std decode \"%s\"", t[i].std);
		ok(n == len && memcmp(dec, t[i].in, len) == 0,
		    "std decode \"%s\" value", t[i].std);
		is_int(b0_b64url_decode(
			   t[i].url, strlen(t[i].url), dec, sizeof(dec), &n),
		    0, "url decode \"%s\"", t[i].url);
		ok(n == len && memcmp(dec, t[i].in, len) == 0,
		    "url decode \"%s\" value", t[i].url);
	}
}

/* Bytes whose encodings use the two alphabet-specific characters. */
static void
test_alphabets(void)
{
	static const uint8_t in[] = {0xfb, 0xff, 0xbf};
	char enc[8];
	uint8_t dec[8];
	size_t n;

	is_int(b0_b64url_encode(in, 3, enc, sizeof(enc)), 0, "url 62/63");
	is_str(enc, "-_-_", "url uses - and _");
	is_int(b0_b64_encode(in, 3, enc, sizeof(enc)), 0, "std 62/63");
	is_str(enc, "+/+/", "std uses + and /");
	is_int(b0_b64url_decode("-_-_", 4, dec, sizeof(dec), &n), 0,
	    "url decodes - and _");
	ok(n == 3 && memcmp(dec, in, 3) == 0, "url - and _ value");
	is_int(b0_b64_decode("+/+/", 4, dec, sizeof(dec), &n), 0,
	    "std decodes + and /");
	ok(n == 3 && memcmp(dec, in, 3) == 0, "std + and / value");
}

static void
test_url_rejects(void)
{
	static const struct {
		const char *in;
		int r;
		const char *why;
	} t[] = {
	    {"Zg==", B0_ERR_FORMAT, "padding"},
	    {"Zm8=", B0_ERR_FORMAT, "single padding"},
	    {"Zg=", B0_ERR_FORMAT, "partial padding"},
	    {"=", B0_ERR_FORMAT, "lone ="},
	    {"Z", B0_ERR_FORMAT, "length 4k+1 (1)"},
	    {"Zm9vY", B0_ERR_FORMAT, "length 4k+1 (5)"},
	    {"+/+/", B0_ERR_FORMAT, "standard alphabet + /"},
	    {"ab+c", B0_ERR_FORMAT, "standard +"},
	    {"ab/c", B0_ERR_FORMAT, "standard /"},
	    {"Zm9 v", B0_ERR_FORMAT, "space inside"},
	    {"Zm9v\n", B0_ERR_FORMAT, "trailing newline"},
	    {" Zm9v", B0_ERR_FORMAT, "leading space"},
	    {"Zm9v\r\nYg", B0_ERR_FORMAT, "CRLF inside"},
	    {"Zm9\tv", B0_ERR_FORMAT, "tab"},
	    {"Zh", B0_ERR_FORMAT, "non-zero leftover bits (2 chars)"},
	    {"Zg", 0, "zero leftover bits (2 chars)"},
	    {"Zm9", B0_ERR_FORMAT, "non-zero leftover bits (3 chars)"},
	    {"Zm8", 0, "zero leftover bits (3 chars)"},
	    {"Zm.v", B0_ERR_FORMAT, "dot"},
	    {"Zm9v\xc3\xa9", B0_ERR_FORMAT, "non-ASCII"},
	    {"Zm9v*A", B0_ERR_FORMAT, "asterisk"},
	};
	size_t i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t out[16];

		is_int(b0_b64url_decode(
			   t[i].in, strlen(t[i].in), out, sizeof(out), &n),
		    t[i].r, "url decode %s: \"%s\"", t[i].why, esc(t[i].in));
	}
	{
		uint8_t out[16];

		is_int(b0_b64url_decode("Zm9v\0Zm9v", 9, out, sizeof(out), &n),
		    B0_ERR_FORMAT, "url decode: NUL inside (length 4k+1)");
		is_int(
		    b0_b64url_decode("Zm9v\0\0Zm9v", 10, out, sizeof(out), &n),
		    B0_ERR_FORMAT, "url decode: NUL inside");
	}
}

static void
test_std_rejects(void)
{
	static const struct {
		const char *in;
		int r;
		const char *why;
	} t[] = {
	    {"Zg", B0_ERR_FORMAT, "missing padding"},
	    {"Zm8", B0_ERR_FORMAT, "missing single padding"},
	    {"Zg=", B0_ERR_FORMAT, "short padding"},
	    {"Zg===", B0_ERR_FORMAT, "too much padding"},
	    {"Z===", B0_ERR_FORMAT, "three ="},
	    {"====", B0_ERR_FORMAT, "only padding"},
	    {"Zg=a", B0_ERR_FORMAT, "= inside a group"},
	    {"Z=g=", B0_ERR_FORMAT, "= in the middle"},
	    {"Zg==Zm9v", B0_ERR_FORMAT, "padding before more data"},
	    {"Zm9v====", B0_ERR_FORMAT, "whole group of padding"},
	    {"Zh==", B0_ERR_FORMAT, "non-zero leftover bits (1 byte)"},
	    {"Zm9=", B0_ERR_FORMAT, "non-zero leftover bits (2 bytes)"},
	    {"-_-_", B0_ERR_FORMAT, "url alphabet"},
	    {"Zm9v\n", B0_ERR_FORMAT, "newline"},
	    {"Zm 9v", B0_ERR_FORMAT, "space"},
	    {"Zm9v Zm9v", B0_ERR_FORMAT, "space between groups"},
	    {"YWxpY2U6czNjcmV0", 0, "basic auth alice:s3cret"},
	};
	size_t i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t out[16];

		is_int(b0_b64_decode(
			   t[i].in, strlen(t[i].in), out, sizeof(out), &n),
		    t[i].r, "std decode %s: \"%s\"", t[i].why, esc(t[i].in));
	}
}

static void
test_sizes(void)
{
	uint8_t out[8];
	char enc[8];
	size_t n = 99;

	is_int(b0_b64url_decode("Zm9vYmFy", 8, out, 5, &n), B0_ERR_TOO_BIG,
	    "url decode into a short buffer");
	is_int(n, 0, "url decode: length zeroed on error");
	is_int(b0_b64url_decode("Zm9vYmFy", 8, out, 6, &n), 0,
	    "url decode into an exact buffer");
	is_int(n, 6, "url decode exact length");
	is_int(b0_b64_decode("Zm9vYg==", 8, out, 3, &n), B0_ERR_TOO_BIG,
	    "std decode into a short buffer");
	is_int(b0_b64_decode("Zm9vYg==", 8, out, 4, &n), 0,
	    "std decode into an exact buffer (padding not counted)");
	is_int(b0_b64url_encode((const uint8_t *)"foo", 3, enc, 4),
	    B0_ERR_TOO_BIG, "url encode needs room for the NUL");
	is_int(b0_b64url_encode((const uint8_t *)"foo", 3, enc, 5), 0,
	    "url encode exact");
	is_int(b0_b64_encode((const uint8_t *)"f", 1, enc, 4), B0_ERR_TOO_BIG,
	    "std encode needs room for padding and NUL");
	is_int(b0_b64_encode((const uint8_t *)"f", 1, enc, 5), 0,
	    "std encode exact");
	is_int(b0_b64url_encode(NULL, 0, enc, 1), 0, "url encode nothing");
	is_str(enc, "", "url encode nothing value");
	is_int(b0_b64url_decode("", 0, out, 0, &n), 0, "url decode nothing");
	is_int(n, 0, "url decode nothing length");
	is_int(b0_b64_decode("", 0, out, 0, &n), 0, "std decode nothing");
	ok(b0_b64url_encoded_len(SIZE_MAX) == SIZE_MAX,
	    "url encoded_len saturates");
	ok(b0_b64_encoded_len(SIZE_MAX) == SIZE_MAX,
	    "std encoded_len saturates");
	is_int(
	    b0_b64url_encode((const uint8_t *)"x", SIZE_MAX, enc, sizeof(enc)),
	    B0_ERR_TOO_BIG, "url encode of an absurd length");
}

/* Inputs that end exactly at a PROT_NONE page: a read past n crashes. */
static void
test_guarded(void)
{
	static const char *const good_url[] = {
	    "Zg", "Zm8", "Zm9v", "Zm9vYmE", "-_-_"};
	static const char *const bad_url[] = {"Zh", "Zm9", "Z", "Zg=", "Zm9\n"};
	static const char *const good_std[] = {"Zg==", "Zm8=", "Zm9v"};
	static const char *const bad_std[] = {"Zg=", "====", "=", "Zh=="};
	uint8_t out[16];
	size_t i, n, len;
	char *g;

	for (i = 0; i < sizeof(good_url) / sizeof(good_url[0]); i++) {
		len = strlen(good_url[i]);
		g = tap_guard(good_url[i], len);
		is_int(b0_b64url_decode(g, len, out, sizeof(out), &n), 0,
		    "guarded url decode \"%s\"", good_url[i]);
		tap_unguard(g, len);
	}
	for (i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++) {
		len = strlen(bad_url[i]);
		g = tap_guard(bad_url[i], len);
		is_int(b0_b64url_decode(g, len, out, sizeof(out), &n),
		    B0_ERR_FORMAT, "guarded url decode rejects \"%s\"",
		    esc(bad_url[i]));
		tap_unguard(g, len);
	}
	for (i = 0; i < sizeof(good_std) / sizeof(good_std[0]); i++) {
		len = strlen(good_std[i]);
		g = tap_guard(good_std[i], len);
		is_int(b0_b64_decode(g, len, out, sizeof(out), &n), 0,
		    "guarded std decode \"%s\"", good_std[i]);
		tap_unguard(g, len);
	}
	for (i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++) {
		len = strlen(bad_std[i]);
		g = tap_guard(bad_std[i], len);
		is_int(b0_b64_decode(g, len, out, sizeof(out), &n),
		    B0_ERR_FORMAT, "guarded std decode rejects \"%s\"",
		    bad_std[i]);
		tap_unguard(g, len);
	}
	g = tap_guard("", 0);
	is_int(b0_b64url_decode(g, 0, out, sizeof(out), &n), 0,
	    "guarded empty url decode");
	is_int(b0_b64_decode(g, 0, out, sizeof(out), &n), 0,
	    "guarded empty std decode");
	tap_unguard(g, 0);
}

/* Every length 0..64 with random bytes, both alphabets, guarded decode. */
static void
test_round_trips(void)
{
	uint8_t in[64], out[64];
	char enc[100];
	size_t len, n;
	int bad_url = 0, bad_std = 0;

	for (len = 0; len <= 64; len++) {
		size_t elen;
		char *g;

		if (len > 0 && RAND_bytes(in, (int)len) != 1) {
			ok(0, "RAND_bytes");
			return;
		}
		if (b0_b64url_encode(in, len, enc, sizeof(enc)) != 0 ||
		    (elen = strlen(enc)) != b0_b64url_encoded_len(len) ||
		    strpbrk(enc, "=+/") != NULL) {
			bad_url++;
		} else {
			g = tap_guard(enc, elen);
			if (b0_b64url_decode(g, elen, out, len, &n) != 0 ||
			    n != len || memcmp(in, out, len) != 0)
				bad_url++;
			tap_unguard(g, elen);
		}
		if (b0_b64_encode(in, len, enc, sizeof(enc)) != 0 ||
		    (elen = strlen(enc)) != b0_b64_encoded_len(len) ||
		    elen % 4 != 0) {
			bad_std++;
		} else {
			g = tap_guard(enc, elen);
			if (b0_b64_decode(g, elen, out, len, &n) != 0 ||
			    n != len || memcmp(in, out, len) != 0)
				bad_std++;
			tap_unguard(g, elen);
		}
	}
	is_int(bad_url, 0, "url round trips of lengths 0..64");
	is_int(bad_std, 0, "std round trips of lengths 0..64");
}

/*
 * Exhaustive over two-character and three-character endings: the decoder
 * accepts a tail exactly when re-encoding gives it back (canonical).
 */
static void
test_canonical(void)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int i, j, bad = 0, accepted = 0;

	for (i = 0; i < 64; i++) {
		for (j = 0; j < 64; j++) {
			char in[3] = {a[i], a[j], 0}, re[8];
			uint8_t out[4];
			size_t n;
			int r = b0_b64url_decode(in, 2, out, sizeof(out), &n);

			if (r == 0) {
				accepted++;
				if (b0_b64url_encode(out, n, re, sizeof(re)) !=
					0 ||
				    strcmp(re, in) != 0)
					bad++;
			}
		}
	}
	is_int(bad, 0, "every accepted 2-char tail is canonical");
	is_int(accepted, 256, "exactly 256 2-char tails are accepted");
}

int
main(void)
{
	test_vectors();
	test_alphabets();
	test_url_rejects();
	test_std_rejects();
	test_sizes();
	test_guarded();
	test_round_trips();
	test_canonical();
	return tap_done();
}
