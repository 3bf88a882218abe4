/*
 * Unit tests for lib/b0_parse and lib/b0_str.
 */
#include <stdint.h>

#include "b0_err.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "tap.h"

static void
test_u32(void)
{
	static const struct {
		const char *in;
		uint32_t min, max;
		int r;
		uint32_t want;
	} t[] = {
	    {"0", 0, 10, 0, 0},
	    {"22", 1, 65535, 0, 22},
	    {"65535", 1, 65535, 0, 65535},
	    {"65536", 1, 65535, B0_ERR_RANGE, 0},
	    {"0", 1, 65535, B0_ERR_RANGE, 0},
	    {"4294967295", 0, UINT32_MAX, 0, UINT32_MAX},
	    {"4294967296", 0, UINT32_MAX, B0_ERR_RANGE, 0},
	    {"99999999999999999999999", 0, UINT32_MAX, B0_ERR_RANGE, 0},
	    {"", 0, 10, B0_ERR_FORMAT, 0},
	    {" 1", 0, 10, B0_ERR_FORMAT, 0},
	    {"1 ", 0, 10, B0_ERR_FORMAT, 0},
	    {"+1", 0, 10, B0_ERR_FORMAT, 0},
	    {"-1", 0, 10, B0_ERR_FORMAT, 0},
	    {"022", 0, 100, B0_ERR_FORMAT, 0},
	    {"0x10", 0, 100, B0_ERR_FORMAT, 0},
	    {"1e3", 0, 10000, B0_ERR_FORMAT, 0},
	    {"12a", 0, 100, B0_ERR_FORMAT, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t v = 12345;
		int r = b0_parse_u32(t[i].in, t[i].min, t[i].max, &v);

		is_int(r, t[i].r, "u32 \"%s\" in [%u,%u] -> %d", t[i].in,
		    t[i].min, t[i].max, t[i].r);
		if (t[i].r == 0)
			is_int(v, t[i].want, "u32 \"%s\" value", t[i].in);
		else
			is_int(v, 12345, "u32 \"%s\" leaves output alone",
			    t[i].in);
	}
}

static void
test_u32n_guarded(void)
{
	char *g = tap_guard("8443", 4);
	uint32_t v;

	is_int(b0_parse_u32n(g, 4, 1, 65535, &v), 0, "u32n at page end");
	is_int(v, 8443, "u32n value");
	tap_unguard(g, 4);
}

static void
test_duration(void)
{
	static const struct {
		const char *in;
		int r;
		uint64_t want;
	} t[] = {
	    {"30", 0, 30000},
	    {"30s", 0, 30000},
	    {"250ms", 0, 250},
	    {"5m", 0, 300000},
	    {"1h30m", 0, 5400000},
	    {"1d", 0, 86400000},
	    {"", B0_ERR_FORMAT, 0},
	    {"s", B0_ERR_FORMAT, 0},
	    {"5x", B0_ERR_FORMAT, 0},
	    {"5 s", B0_ERR_FORMAT, 0},
	    {"-5s", B0_ERR_FORMAT, 0},
	    {"99999999999999999999d", B0_ERR_RANGE, 0},
	    {"999999999999999d", B0_ERR_RANGE, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 0;

		is_int(b0_parse_duration_ms(t[i].in, 0, UINT64_MAX, &v), t[i].r,
		    "duration \"%s\"", t[i].in);
		if (t[i].r == 0)
			is_int(v, t[i].want, "duration \"%s\" value", t[i].in);
	}
	{
		uint64_t v;

		is_int(b0_parse_duration_ms("2h", 0, 3600000, &v), B0_ERR_RANGE,
		    "duration above max");
	}
}

static void
test_size_bool(void)
{
	uint64_t v = 0;
	int b = -1;

	is_int(b0_parse_size("64K", 0, UINT64_MAX, &v), 0, "size 64K");
	is_int(v, 65536, "size 64K value");
	is_int(b0_parse_size("2M", 0, UINT64_MAX, &v), 0, "size 2M");
	is_int(v, 2 * 1024 * 1024, "size 2M value");
	is_int(b0_parse_size("1MB", 0, UINT64_MAX, &v), B0_ERR_FORMAT,
	    "size 1MB refused");
	is_int(b0_parse_size("K", 0, UINT64_MAX, &v), B0_ERR_FORMAT,
	    "size without number refused");
	is_int(b0_parse_size("20000000000G", 0, UINT64_MAX, &v), B0_ERR_RANGE,
	    "size overflow refused");
	is_int(b0_parse_bool("yes", &b), 0, "bool yes");
	is_int(b, 1, "bool yes value");
	is_int(b0_parse_bool("off", &b), 0, "bool off");
	is_int(b, 0, "bool off value");
	is_int(b0_parse_bool("Yes", &b), B0_ERR_FORMAT, "bool is exact");
	is_int(b0_parse_bool("1", &b), B0_ERR_FORMAT, "bool 1 refused");
}

static void
test_hostport(void)
{
	static const struct {
		const char *in;
		int r;
		const char *host;
		unsigned port;
	} t[] = {
	    {"127.0.0.1:22", 0, "127.0.0.1", 22},
	    {"edge.example.com:443", 0, "edge.example.com", 443},
	    {"[::1]:8443", 0, "::1", 8443},
	    {"[fe80::1%eth0]:22", 0, "fe80::1%eth0", 22},
	    {"localhost", B0_ERR_FORMAT, NULL, 0},
	    {":22", B0_ERR_FORMAT, NULL, 0},
	    {"host:", B0_ERR_FORMAT, NULL, 0},
	    {"host:0", B0_ERR_RANGE, NULL, 0},
	    {"host:70000", B0_ERR_RANGE, NULL, 0},
	    {"::1:22", B0_ERR_FORMAT, NULL, 0},
	    {"[::1]22", B0_ERR_FORMAT, NULL, 0},
	    {"[]:22", B0_ERR_FORMAT, NULL, 0},
	    {"[host]:22", B0_ERR_FORMAT, NULL, 0},
	    {"ho st:22", B0_ERR_FORMAT, NULL, 0},
	    {"host/x:22", B0_ERR_FORMAT, NULL, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char host[64] = "";
		uint16_t port = 0;

		is_int(b0_parse_hostport(t[i].in, host, sizeof(host), &port),
		    t[i].r, "hostport \"%s\"", t[i].in);
		if (t[i].r == 0) {
			is_str(
			    host, t[i].host, "hostport \"%s\" host", t[i].in);
			is_int(
			    port, t[i].port, "hostport \"%s\" port", t[i].in);
		}
	}
	{
		char small[4];
		uint16_t port;

		is_int(b0_parse_hostport("abcd:1", small, sizeof(small), &port),
		    B0_ERR_TOO_BIG, "hostport host longer than buffer");
	}
}

static void
test_str(void)
{
	char buf[8];

	is_int(b0_strlcpy(buf, "abcdefghij", sizeof(buf)), 10, "strlcpy len");
	is_str(buf, "abcdefg", "strlcpy truncates");
	b0_strlcpy(buf, "ab", sizeof(buf));
	is_int(b0_strlcat(buf, "cdefghij", sizeof(buf)), 10, "strlcat len");
	is_str(buf, "abcdefg", "strlcat truncates");
	ok(b0_str_caseeq("Example.COM", "example.com"), "caseeq folds ASCII");
	ok(!b0_str_caseeq("example.co", "example.com"), "caseeq length");
	ok(!b0_str_caseeq("\xc4\xb0", "i"), "caseeq leaves non-ASCII alone");
	ok(b0_str_has_suffix("a@example.com", "@example.com"), "has_suffix");
	ok(!b0_str_has_suffix("com", "example.com"), "has_suffix short");
	ok(b0_ct_eq("abc", "abc", 3) && !b0_ct_eq("abc", "abd", 3), "ct_eq");
	{
		char hex[9];
		const unsigned char in[] = {0x00, 0xff, 0x10, 0xab};

		is_int(b0_hex_encode(in, 4, hex, sizeof(hex)), 0, "hex");
		is_str(hex, "00ff10ab", "hex value");
		is_int(b0_hex_encode(in, 4, hex, 8), B0_ERR_TOO_BIG,
		    "hex needs room for NUL");
	}
}

int
main(void)
{
	test_u32();
	test_u32n_guarded();
	test_duration();
	test_size_bool();
	test_hostport();
	test_str();
	return tap_done();
}
