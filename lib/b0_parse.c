/*
 * b0_parse: strict, range-checked parsing.
 */
#include <string.h>

#include "b0_err.h"
#include "b0_parse.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parse digits in s[0, n) into *vp; refuse empty, non-digits, overflow. */
static int
digits_u64(const char *s, size_t n, uint64_t *vp)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return B0_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return B0_ERR_FORMAT;
	}
	if (n > 1 && s[0] == '0')
		return B0_ERR_FORMAT;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return B0_ERR_RANGE;
		v = v * 10 + d;
	}
	*vp = v;
	return 0;
}

int
b0_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int r;

	if ((r = digits_u64(s, strlen(s), &v)) != 0)
		return r;
	if (v < min || v > max)
		return B0_ERR_RANGE;
	*out = v;
	return 0;
}

int
b0_parse_u32n(
    const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int r;

	if ((r = digits_u64(s, n, &v)) != 0)
		return r;
	if (v < min || v > max)
		return B0_ERR_RANGE;
	*out = (uint32_t)v;
	return 0;
}

int
b0_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	return b0_parse_u32n(s, strlen(s), min, max, out);
}

int
b0_parse_bool(const char *s, int *out)
{
	static const struct {
		const char *word;
		int value;
	} words[] = {
	    {"yes", 1},
	    {"no", 0},
	    {"true", 1},
	    {"false", 0},
	    {"on", 1},
	    {"off", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(s, words[i].word) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return B0_ERR_FORMAT;
}

/* Multiply and add with overflow checks. */
static int
muladd(uint64_t *acc, uint64_t v, uint64_t mult)
{
	if (v != 0 && mult > UINT64_MAX / v)
		return B0_ERR_RANGE;
	if (*acc > UINT64_MAX - v * mult)
		return B0_ERR_RANGE;
	*acc += v * mult;
	return 0;
}

int
b0_parse_duration_ms(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t total = 0, v, mult;
	size_t n;
	int r;

	if (*s == '\0')
		return B0_ERR_FORMAT;
	while (*s != '\0') {
		for (n = 0; is_digit(s[n]); n++)
			;
		if ((r = digits_u64(s, n, &v)) != 0)
			return r;
		s += n;
		if (strncmp(s, "ms", 2) == 0) {
			mult = 1;
			s += 2;
		} else if (*s == 's' || *s == '\0') {
			mult = 1000;
			s += *s == 's';
		} else if (*s == 'm') {
			mult = 60 * 1000;
			s++;
		} else if (*s == 'h') {
			mult = 3600 * 1000;
			s++;
		} else if (*s == 'd') {
			mult = 86400 * 1000;
			s++;
		} else
			return B0_ERR_FORMAT;
		if ((r = muladd(&total, v, mult)) != 0)
			return r;
	}
	if (total < min || total > max)
		return B0_ERR_RANGE;
	*out = total;
	return 0;
}

int
b0_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v, mult = 1, total = 0;
	size_t n;
	int r;

	for (n = 0; is_digit(s[n]); n++)
		;
	if ((r = digits_u64(s, n, &v)) != 0)
		return r;
	switch (s[n]) {
	case '\0':
		break;
	case 'K':
	case 'k':
		mult = 1024;
		break;
	case 'M':
		mult = 1024 * 1024;
		break;
	case 'G':
		mult = 1024 * 1024 * 1024;
		break;
	default:
		return B0_ERR_FORMAT;
	}
	if (s[n] != '\0' && s[n + 1] != '\0')
		return B0_ERR_FORMAT;
	if ((r = muladd(&total, v, mult)) != 0)
		return r;
	if (total < min || total > max)
		return B0_ERR_RANGE;
	*out = total;
	return 0;
}

static int
is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       is_digit(c) || c == '.' || c == '-' || c == '_';
}

static int
hostport(const char *s, char *host, size_t hostsz, uint16_t *portp,
    uint32_t min_port)
{
	const char *h, *colon, *end;
	uint32_t port;
	size_t hlen, i;
	int r;

	if (*s == '[') {
		h = s + 1;
		if ((end = strchr(h, ']')) == NULL || end[1] != ':')
			return B0_ERR_FORMAT;
		colon = end + 1;
		hlen = (size_t)(end - h);
		for (i = 0; i < hlen; i++) {
			if (!is_host_char(h[i]) && h[i] != ':' && h[i] != '%')
				return B0_ERR_FORMAT;
		}
		if (memchr(h, ':', hlen) == NULL)
			return B0_ERR_FORMAT;
	} else {
		h = s;
		if ((colon = strrchr(s, ':')) == NULL)
			return B0_ERR_FORMAT;
		hlen = (size_t)(colon - h);
		for (i = 0; i < hlen; i++) {
			if (!is_host_char(h[i]))
				return B0_ERR_FORMAT;
		}
	}
	if (hlen == 0)
		return B0_ERR_FORMAT;
	if ((r = b0_parse_u32(colon + 1, min_port, 65535, &port)) != 0)
		return r;
	if (hlen >= hostsz)
		return B0_ERR_TOO_BIG;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*portp = (uint16_t)port;
	return 0;
}

int
b0_parse_hostport(const char *s, char *host, size_t hostsz, uint16_t *portp)
{
	return hostport(s, host, hostsz, portp, 1);
}

int
b0_parse_listen(const char *s, char *host, size_t hostsz, uint16_t *portp)
{
	return hostport(s, host, hostsz, portp, 0);
}
