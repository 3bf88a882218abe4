/*
 * b0_b64: base64url and standard base64, strict decoders.
 *
 * One input string has one meaning: a decoder that accepted padding,
 * whitespace or stray low bits would let two different token strings carry
 * the same bytes, which breaks anything that compares or caches tokens.
 */
#include <stdint.h>
#include <string.h>

#include "b0_b64.h"
#include "b0_err.h"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Largest n whose encoding length (plus NUL) cannot overflow size_t. */
#define B64_MAX_IN ((SIZE_MAX - 4) / 4 * 3)

size_t
b0_b64url_encoded_len(size_t n)
{
	if (n > B64_MAX_IN)
		return SIZE_MAX; /* never fits: encoders say B0_ERR_TOO_BIG */
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
b0_b64_encoded_len(size_t n)
{
	if (n > B64_MAX_IN)
		return SIZE_MAX;
	return (n + 2) / 3 * 4;
}

/* Encode n bytes with alphabet a; pad with '=' to a multiple of 4 if pad. */
static void
encode(const char *a, const uint8_t *in, size_t n, char *out, int pad)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 0x3f];
		out[o++] = a[(v >> 6) & 0x3f];
		out[o++] = a[v & 0x3f];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 0x3f];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 0x3f];
		out[o++] = a[(v >> 6) & 0x3f];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
}

int
b0_b64url_encode(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	size_t need = b0_b64url_encoded_len(n);

	if (need == SIZE_MAX || outsz < need + 1)
		return B0_ERR_TOO_BIG;
	encode(url_alphabet, in, n, out, 0);
	return 0;
}

int
b0_b64_encode(const uint8_t *in, size_t n, char *out, size_t outsz)
{
	size_t need = b0_b64_encoded_len(n);

	if (need == SIZE_MAX || outsz < need + 1)
		return B0_ERR_TOO_BIG;
	encode(std_alphabet, in, n, out, 1);
	return 0;
}

/* The 6-bit value of c in the url (url != 0) or standard alphabet, or -1. */
static int
value_of(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/*
 * Decode n characters that are all in the alphabet (no padding) and whose
 * count is not 4k+1.  The caller has checked that out holds the result;
 * out NULL only validates.
 */
static int
decode(const char *in, size_t n, uint8_t *out, int url)
{
	size_t i, o = 0, rem = n % 4, full = n - rem;
	uint8_t b[2];
	uint32_t v;
	int c[4], k;

	for (i = 0; i < full; i += 4) {
		for (k = 0; k < 4; k++) {
			if ((c[k] = value_of((unsigned char)in[i + k], url)) <
			    0)
				return B0_ERR_FORMAT;
		}
		v = (uint32_t)c[0] << 18 | (uint32_t)c[1] << 12 |
		    (uint32_t)c[2] << 6 | (uint32_t)c[3];
		if (out != NULL) {
			out[o++] = (uint8_t)(v >> 16);
			out[o++] = (uint8_t)(v >> 8);
			out[o++] = (uint8_t)v;
		}
	}
	if (rem == 0)
		return 0;
	for (k = 0; k < (int)rem; k++) {
		if ((c[k] = value_of((unsigned char)in[i + k], url)) < 0)
			return B0_ERR_FORMAT;
	}
	/*
	 * 2 characters carry 12 bits for 8, 3 carry 18 for 16: the bits
	 * left over in the last character must be 0.
	 */
	if ((rem == 2 && (c[1] & 0x0f) != 0) ||
	    (rem == 3 && (c[2] & 0x03) != 0))
		return B0_ERR_FORMAT;
	v = (uint32_t)c[0] << 18 | (uint32_t)c[1] << 12 |
	    (rem == 3 ? (uint32_t)c[2] << 6 : 0);
	b[0] = (uint8_t)(v >> 16);
	b[1] = (uint8_t)(v >> 8);
	if (out != NULL)
		memcpy(out + o, b, rem - 1);
	return 0;
}

/* Bytes that n unpadded characters (n % 4 != 1) decode to. */
static size_t
decoded_len(size_t n)
{
	return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

int
b0_b64url_decode(
    const char *in, size_t n, uint8_t *out, size_t outsz, size_t *outlenp)
{
	size_t len;
	int r;

	*outlenp = 0;
	if (n % 4 == 1)
		return B0_ERR_FORMAT;
	/* Malformed input is malformed whatever the room for it. */
	if ((len = decoded_len(n)) > outsz)
		return decode(in, n, NULL, 1) != 0 ? B0_ERR_FORMAT
						   : B0_ERR_TOO_BIG;
	if ((r = decode(in, n, out, 1)) != 0)
		return r;
	*outlenp = len;
	return 0;
}

int
b0_b64_decode(
    const char *in, size_t n, uint8_t *out, size_t outsz, size_t *outlenp)
{
	size_t len, pad = 0;
	int r;

	*outlenp = 0;
	if (n % 4 != 0)
		return B0_ERR_FORMAT;
	/* Canonical padding: "xx==" or "xxx=" in the last group only. */
	if (n > 0 && in[n - 1] == '=') {
		pad = 1;
		if (in[n - 2] == '=')
			pad = 2;
	}
	len = decoded_len(n - pad);
	if (len > outsz)
		return decode(in, n - pad, NULL, 0) != 0 ? B0_ERR_FORMAT
							 : B0_ERR_TOO_BIG;
	if ((r = decode(in, n - pad, out, 0)) != 0)
		return r;
	*outlenp = len;
	return 0;
}
