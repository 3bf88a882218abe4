/*
 * b0_str: small string helpers.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "b0_err.h"
#include "b0_str.h"

size_t
b0_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n >= size ? size - 1 : n;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

size_t
b0_strlcat(char *dst, const char *src, size_t size)
{
	size_t have = strnlen(dst, size);

	if (have == size)
		return size + strlen(src);
	return have + b0_strlcpy(dst + have, src, size - have);
}

char
b0_ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

void
b0_str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = b0_ascii_lower(*s);
}

int
b0_str_ncaseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (b0_ascii_lower(a[i]) != b0_ascii_lower(b[i]))
			return 0;
		if (a[i] == '\0')
			return 1;
	}
	return 1;
}

int
b0_str_caseeq(const char *a, const char *b)
{
	size_t la = strlen(a);

	return la == strlen(b) && b0_str_ncaseeq(a, b, la);
}

int
b0_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
b0_str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int
b0_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
b0_str_wipe_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

int
b0_hex_encode(const unsigned char *in, size_t n, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (n > (outsz - 1) / 2 || outsz == 0)
		return B0_ERR_TOO_BIG;
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * n] = '\0';
	return 0;
}

int
b0_hex_decode(const char *s, unsigned char *out, size_t n)
{
	size_t i;
	int v;

	if (strlen(s) != 2 * n)
		return B0_ERR_FORMAT;
	for (i = 0; i < 2 * n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			v = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			v = s[i] - 'a' + 10;
		else
			return B0_ERR_FORMAT;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}
