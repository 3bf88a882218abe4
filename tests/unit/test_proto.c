/*
 * Unit tests for lib/b0_proto: frame headers and message codecs.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_jsonw.h"
#include "b0_jwk.h"
#include "b0_proto.h"
#include "tap.h"

#define HEX32 "0123456789abcdef0123456789abcdef"
#define KEY43 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO-_"

static void
test_headers(void)
{
	static const struct {
		uint8_t hdr[4];
		int r;
		const char *msg;
	} t[] = {
	    {{0x13, 0x00, 0x00, 0x01}, 0, NULL},
	    {{0x13, 0xff, 0xff, 0xff}, 0, NULL}, /* DATA up to 2^24-1 */
	    {{0x12, 0x00, 0x00, 0x00}, 0, NULL},
	    {{0x12, 0x00, 0x00, 0x01}, B0_ERR_PROTOCOL,
		"OPENED frame of 1 bytes (at most 0)"},
	    {{0x14, 0x00, 0x00, 0x01}, B0_ERR_PROTOCOL, "FIN frame"},
	    {{0x06, 0x00, 0x00, 0x40}, 0, NULL},
	    {{0x06, 0x00, 0x00, 0x41}, B0_ERR_PROTOCOL,
		"PING frame of 65 bytes (at most 64)"},
	    {{0x03, 0x04, 0x00, 0x00}, 0, NULL}, /* REGISTER 256 KiB */
	    {{0x03, 0x04, 0x00, 0x01}, B0_ERR_PROTOCOL, "REGISTER frame"},
	    {{0x01, 0x00, 0x40, 0x01}, B0_ERR_PROTOCOL, "HELLO frame"},
	    {{0x00, 0x00, 0x00, 0x00}, B0_ERR_PROTOCOL,
		"unknown frame type 0x00"},
	    {{0x05, 0x01, 0x00, 0x00}, 0, NULL}, /* KEYS 64 KiB */
	    {{0x05, 0x01, 0x00, 0x01}, B0_ERR_PROTOCOL,
		"KEYS frame of 65537 bytes (at most 65536)"},
	    {{0x0a, 0x00, 0x00, 0x00}, B0_ERR_PROTOCOL,
		"unknown frame type 0x0a"},
	    {{0xff, 0x00, 0x00, 0x00}, B0_ERR_PROTOCOL,
		"unknown frame type 0xff"},
	};
	struct b0_errmsg em;
	uint8_t type, out[4];
	uint32_t len;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t *g = tap_guard(t[i].hdr, 4);

		em.text[0] = '\0';
		is_int(b0_proto_check_hdr(g, &type, &len, &em), t[i].r,
		    "header row %zu", i);
		if (t[i].msg != NULL)
			has_str(em.text, t[i].msg, "header row %zu message", i);
		tap_unguard(g, 4);
	}
	b0_proto_put_hdr(out, B0_F_DATA, 0x123456);
	ok(memcmp(out, "\x13\x12\x34\x56", 4) == 0, "put_hdr layout");
	is_str(b0_proto_type_name(B0_F_REGISTERED), "REGISTERED", "type name");
	is_str(b0_proto_type_name(0x77), "unknown", "unknown type name");
}

static void
test_names(void)
{
	static const struct {
		const char *s;
		int ok;
	} t[] = {
	    {"ssh", 1},
	    {"lab1-r1", 1},
	    {"0", 1},
	    {"abcdefghijklmnopqrstuvwxyz012345", 1},  /* 32 */
	    {"abcdefghijklmnopqrstuvwxyz0123456", 0}, /* 33 */
	    {"", 0},
	    {"-ssh", 0},
	    {"ssh-", 0},
	    {"SSH", 0},
	    {"s_h", 0},
	    {"s.h", 0},
	    {"s h", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_int(b0_proto_name_valid(t[i].s), t[i].ok, "name \"%s\"",
		    t[i].s);
}

/* Decode a JSON payload given as text. */
#define DEC(fn, text, m) fn((text), strlen(text), (m), &em)

static void
test_hello(void)
{
	struct b0_msg_hello h, h2;
	struct b0_errmsg em;
	struct b0_buf out;
	uint8_t type;
	uint32_t len;

	is_int(DEC(b0_msg_hello_decode,
		   "{\"v\":1,\"token\":\"b0pt.a.b\",\"instance\":\"" HEX32
		   "\",\"agent\":\"x/1\"}",
		   &h),
	    0, "HELLO decodes");
	is_str(h.token, "b0pt.a.b", "HELLO token");
	is_str(h.agent, "x/1", "HELLO agent");
	is_int(DEC(b0_msg_hello_decode,
		   "{\"v\":1,\"token\":\"t\",\"instance\":\"" HEX32 "\"}", &h),
	    0, "HELLO without agent");
	/* Fuzzer find: an absent agent must not come back as "". */
	b0_buf_init(&out, 65536);
	is_int(b0_msg_hello_frame(&out, &h), 0, "HELLO encodes");
	b0_proto_check_hdr(b0_buf_ptr(&out), &type, &len, &em);
	is_int(b0_msg_hello_decode(b0_buf_ptr(&out) + 4, len, &h2, &em), 0,
	    "HELLO without agent round-trips");
	ok(memcmp(&h, &h2, sizeof(h)) == 0, "HELLO round trip equal");
	ok(memmem(b0_buf_ptr(&out) + 4, len, "agent", 5) == NULL,
	    "no empty agent member");
	b0_buf_cleanup(&out);
	is_int(
	    DEC(b0_msg_hello_decode,
		"{\"v\":1,\"token\":\"has space\",\"instance\":\"" HEX32 "\"}",
		&h),
	    B0_ERR_PROTOCOL, "token with a space");
	has_str(
	    em.text, "HELLO: token: \"has space\" is not valid", "names field");
	is_int(DEC(b0_msg_hello_decode,
		   "{\"v\":1,\"token\":\"t\",\"instance\":\"0123\"}", &h),
	    B0_ERR_PROTOCOL, "short instance");
	is_int(
	    DEC(b0_msg_hello_decode,
		"{\"v\":1,\"token\":\"t\",\"instance\":\"" HEX32 "\",\"v\":2}",
		&h),
	    B0_ERR_PROTOCOL, "duplicate member");
	is_int(DEC(b0_msg_hello_decode,
		   "{\"token\":\"t\",\"instance\":\"" HEX32 "\"}", &h),
	    B0_ERR_PROTOCOL, "missing v");
	has_str(em.text, "HELLO: v is missing", "names missing field");
	is_int(
	    DEC(b0_msg_hello_decode,
		"{\"v\":\"1\",\"token\":\"t\",\"instance\":\"" HEX32 "\"}", &h),
	    B0_ERR_PROTOCOL, "v as a string");
	is_int(DEC(b0_msg_hello_decode, "[1]", &h), B0_ERR_PROTOCOL,
	    "not an object");
	is_int(DEC(b0_msg_hello_decode, "{\"v\":1,", &h), B0_ERR_PROTOCOL,
	    "broken JSON");
	is_int(b0_msg_hello_decode("", 0, &h, &em), B0_ERR_PROTOCOL,
	    "empty payload");

	/* "keys": true says it takes KEYS frames (docs/pam.md). */
	is_int(DEC(b0_msg_hello_decode,
		   "{\"v\":1,\"token\":\"t\",\"instance\":\"" HEX32
		   "\",\"keys\":true}",
		   &h),
	    0, "HELLO with keys");
	ok(h.keys == 1, "HELLO keys true");
	b0_buf_init(&out, 65536);
	is_int(b0_msg_hello_frame(&out, &h), 0, "HELLO with keys encodes");
	b0_proto_check_hdr(b0_buf_ptr(&out), &type, &len, &em);
	ok(memmem(b0_buf_ptr(&out) + 4, len, "\"keys\":true", 11) != NULL,
	    "keys written");
	b0_buf_cleanup(&out);
	is_int(DEC(b0_msg_hello_decode,
		   "{\"v\":1,\"token\":\"t\",\"instance\":\"" HEX32
		   "\",\"keys\":false}",
		   &h),
	    0, "HELLO with keys false");
	ok(h.keys == 0, "HELLO keys false");
	is_int(DEC(b0_msg_hello_decode,
		   "{\"v\":1,\"token\":\"t\",\"instance\":\"" HEX32
		   "\",\"keys\":\"yes\"}",
		   &h),
	    B0_ERR_PROTOCOL, "HELLO keys not a boolean");
	has_str(em.text, "HELLO: keys is not true or false", "keys message");
	is_int(DEC(b0_msg_hello_decode,
		   "{\"v\":1,\"token\":\"t\",\"instance\":\"" HEX32 "\"}", &h),
	    0, "HELLO without keys");
	ok(h.keys == 0, "HELLO keys absent is false");
}

/* b0_msg_socks_decode on a C string. */
static int
socks(const char *text, int registered, struct b0_msg_socks *m,
    struct b0_errmsg *em)
{
	return b0_msg_socks_decode(text, strlen(text), registered, m, em);
}

static void
test_socks(void)
{
	struct b0_msg_socks m;
	struct b0_errmsg em;
	struct b0_buf out, big;
	uint8_t type;
	uint32_t len;
	int i;

	is_int(socks("{\"sockets\":[{\"name\":\"ssh\",\"spec\":"
		     "\"tcp/22\",\"dns\":\"ssh-l.e.test\","
		     "\"port\":20001},{\"name\":\"x\",\"spec\":"
		     "\"tcp/1\",\"error\":\"taken\"}]}",
		   1, &m, &em),
	    0, "REGISTERED decodes");
	is_int(m.n, 2, "two sockets");
	is_int(m.socks[0].port, 20001, "port");
	is_str(m.socks[1].error, "taken", "error entry");
	b0_buf_init(&out, 1 << 20);
	is_int(b0_msg_socks_frame(&out, 1, &m), 0, "REGISTERED encodes");
	b0_msg_socks_cleanup(&m);
	b0_proto_check_hdr(b0_buf_ptr(&out), &type, &len, &em);
	is_int(type, B0_F_REGISTERED, "REGISTERED type");
	is_int(b0_msg_socks_decode(b0_buf_ptr(&out) + 4, len, 1, &m, &em), 0,
	    "REGISTERED round trip");
	is_str(m.socks[0].dns, "ssh-l.e.test", "dns kept");
	b0_msg_socks_cleanup(&m);
	b0_buf_cleanup(&out);
	is_int(socks("{\"sockets\":[{\"name\":\"a\",\"spec\":"
		     "\"tcp/1\"},{\"name\":\"a\",\"spec\":"
		     "\"tcp/2\"}]}",
		   0, &m, &em),
	    B0_ERR_PROTOCOL, "duplicate socket names");
	has_str(em.text, "socket \"a\" is listed twice", "duplicate message");
	is_int(socks("{\"sockets\":[{\"name\":\"Bad\",\"spec\":"
		     "\"tcp/1\"}]}",
		   0, &m, &em),
	    B0_ERR_PROTOCOL, "bad name");
	has_str(em.text, "REGISTER: sockets[0].name: \"Bad\" is not valid",
	    "bad name message names the element");
	is_int(socks("{\"sockets\":{}}", 0, &m, &em), B0_ERR_PROTOCOL,
	    "sockets not an array");
	is_int(socks("{\"sockets\":[{\"name\":\"a\",\"spec\":"
		     "\"tcp/1\",\"dns\":\"a.b\",\"port\":0}]}",
		   1, &m, &em),
	    B0_ERR_PROTOCOL, "port 0 in REGISTERED");
	/* 257 sockets: one over the limit. */
	b0_buf_init(&big, 1 << 20);
	b0_buf_put_str(&big, "{\"sockets\":[");
	for (i = 0; i <= B0_MAX_SOCKETS; i++)
		b0_buf_putf(&big, "%s{\"name\":\"s%d\",\"spec\":\"tcp/1\"}",
		    i ? "," : "", i);
	b0_buf_put_str(&big, "]}");
	is_int(
	    b0_msg_socks_decode(b0_buf_ptr(&big), b0_buf_len(&big), 0, &m, &em),
	    B0_ERR_PROTOCOL, "257 sockets refused");
	has_str(em.text, "257 sockets (at most 256)", "limit message");
	b0_buf_cleanup(&big);
}

/* REGISTER of http and https sockets: "host" and "protected". */
#define YHASH                                                                  \
	"$y$j9T$abcdefghijklmnop./"                                            \
	"$0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg"

static int
buf_has(const struct b0_buf *b, const char *s)
{
	return memmem(b0_buf_ptr(b), b0_buf_len(b), s, strlen(s)) != NULL;
}

static void
test_socks_http(void)
{
	static const struct {
		const char *sock; /* members after name and spec */
		const char *msg;  /* NULL: accepted */
	} t[] = {
	    {"", NULL},
	    {",\"host\":\"nas.lan\"", NULL},
	    {",\"host\":\"NAS.lan:8443\"", NULL},
	    {",\"host\":\"10.0.0.5\"", NULL},
	    {",\"host\":\"[::1]:443\"", NULL},
	    {",\"host\":\"\"", "sockets[0].host: \"\" is not valid"},
	    {",\"host\":\"a b\"", "sockets[0].host: \"a b\" is not valid"},
	    {",\"host\":\"a:99999x\"", "is not valid"},
	    {",\"host\":\"a:65536\"", "is not valid"},
	    {",\"host\":\"a:0\"", "is not valid"},
	    {",\"host\":\"a:\"", "is not valid"},
	    {",\"host\":\"a:65535\"", NULL},
	    {",\"host\":\"[::1\"", "is not valid"},
	    {",\"host\":\"a\\r\\nX: y\"", "is not valid"},
	    {",\"host\":7", "sockets[0].host is not a string"},
	    {",\"protected\":{\"user\":\"admin\",\"hash\":\"" YHASH "\"}",
		NULL},
	    {",\"protected\":\"admin\"",
		"sockets[0].protected is not an object"},
	    {",\"protected\":{\"hash\":\"" YHASH "\"}",
		"sockets[0].protected.user is missing"},
	    {",\"protected\":{\"user\":\"admin\"}",
		"sockets[0].protected.hash is missing"},
	    {",\"protected\":{\"user\":\"a:b\",\"hash\":\"" YHASH "\"}",
		"sockets[0].protected.user: \"a:b\" is not valid"},
	    {",\"protected\":{\"user\":\"\",\"hash\":\"" YHASH "\"}",
		"protected.user: \"\" is not valid"},
	    {",\"protected\":{\"user\":\"a b\",\"hash\":\"" YHASH "\"}",
		"is not valid"},
	    {",\"protected\":{\"user\":\"a\",\"hash\":\"$6$salt$xyz\"}",
		"sockets[0].protected.hash: \"$6$salt$xyz\" is not valid"},
	    {",\"protected\":{\"user\":\"a\",\"hash\":\"$y$j9T$salt\"}",
		"is not valid"},
	    {",\"protected\":{\"user\":\"a\",\"hash\":\"$y$j9T$s$h\\n\"}",
		"is not valid"},
	};
	struct b0_msg_socks m;
	struct b0_errmsg em;
	struct b0_buf in, out;
	char user[80];
	uint8_t type;
	uint32_t len;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		b0_buf_init(&in, 4096);
		b0_buf_putf(&in,
		    "{\"sockets\":[{\"name\":\"wiki\",\"spec\":"
		    "\"http/8080\"%s}]}",
		    t[i].sock);
		em.text[0] = '\0';
		is_int(b0_msg_socks_decode(
			   b0_buf_ptr(&in), b0_buf_len(&in), 0, &m, &em),
		    t[i].msg ? B0_ERR_PROTOCOL : 0, "http row %zu", i);
		if (t[i].msg != NULL)
			has_str(em.text, t[i].msg, "http row %zu message", i);
		b0_msg_socks_cleanup(&m);
		b0_buf_cleanup(&in);
	}
	/* 64 characters is the longest user. */
	memset(user, 'u', 65);
	user[65] = '\0';
	ok(!b0_proto_prot_user_valid(user), "65-character user refused");
	user[64] = '\0';
	ok(b0_proto_prot_user_valid(user), "64-character user accepted");
	ok(b0_proto_prot_hash_valid(YHASH), "yescrypt hash accepted");

	/* Round trip; REGISTERED carries neither member. */
	memset(&m, 0, sizeof(m));
	m.n = 2;
	m.socks = calloc(2, sizeof(*m.socks));
	strcpy(m.socks[0].name, "wiki");
	strcpy(m.socks[0].spec, "http/8080");
	strcpy(m.socks[0].host, "wiki.lan");
	strcpy(m.socks[0].prot_user, "admin");
	strcpy(m.socks[0].prot_hash, YHASH);
	strcpy(m.socks[1].name, "ssh");
	strcpy(m.socks[1].spec, "tcp/22");
	b0_buf_init(&out, 1 << 20);
	is_int(b0_msg_socks_frame(&out, 0, &m), 0, "REGISTER encodes");
	ok(buf_has(&out,
	       "\"host\":\"wiki.lan\",\"protected\":{\"user\":\"admin\","
	       "\"hash\":\"$y$"),
	    "REGISTER carries host and protected");
	ok(buf_has(&out, "{\"name\":\"ssh\",\"spec\":\"tcp/22\"}"),
	    "a socket without them carries neither");
	b0_msg_socks_cleanup(&m);
	b0_proto_check_hdr(b0_buf_ptr(&out), &type, &len, &em);
	is_int(b0_msg_socks_decode(b0_buf_ptr(&out) + 4, len, 0, &m, &em), 0,
	    "REGISTER round trip");
	is_str(m.socks[0].host, "wiki.lan", "host kept");
	is_str(m.socks[0].prot_user, "admin", "user kept");
	is_str(m.socks[0].prot_hash, YHASH, "hash kept");
	is_str(m.socks[1].host, "", "no host");
	is_str(m.socks[1].prot_user, "", "no user");
	b0_buf_reset(&out);
	is_int(b0_msg_socks_frame(&out, 1, &m), 0, "REGISTERED encodes");
	ok(!buf_has(&out, "protected") && !buf_has(&out, "\"host\""),
	    "REGISTERED carries neither");
	b0_msg_socks_cleanup(&m);
	b0_buf_cleanup(&out);
}

static void
test_small(void)
{
	struct b0_msg_welcome w;
	struct b0_msg_attach a;
	struct b0_msg_open o;
	struct b0_msg_error e;
	struct b0_errmsg em;
	struct b0_buf out;
	char reason[B0_TEXT_SIZE], longr[600];
	uint32_t want;
	uint8_t type;
	uint32_t len;

	is_int(DEC(b0_msg_welcome_decode,
		   "{\"v\":1,\"publisher\":\"lab1\",\"session\":\"" HEX32
		   "\",\"key\":\"" KEY43 "\",\"heartbeat\":10,\"domain\":"
		   "\"edge.example.com\",\"https_port\":443}",
		   &w),
	    0, "WELCOME decodes");
	is_int(w.heartbeat, 10, "heartbeat");
	is_int(DEC(b0_msg_welcome_decode,
		   "{\"v\":1,\"publisher\":\"lab1\",\"session\":\"" HEX32
		   "\",\"key\":\"" KEY43 "\",\"heartbeat\":0,\"domain\":"
		   "\"e.x\",\"https_port\":443}",
		   &w),
	    B0_ERR_PROTOCOL, "heartbeat 0");
	is_int(DEC(b0_msg_welcome_decode,
		   "{\"v\":1,\"publisher\":\"lab1\",\"session\":\"" HEX32
		   "\",\"key\":\"" KEY43 "\",\"heartbeat\":1,\"domain\":"
		   "\"Edge.x\",\"https_port\":443}",
		   &w),
	    B0_ERR_PROTOCOL, "upper-case domain");
	is_int(DEC(b0_msg_attach_decode,
		   "{\"session\":\"" HEX32 "\",\"key\":\"" KEY43 "\"}", &a),
	    0, "ATTACH decodes");
	is_int(DEC(b0_msg_attach_decode,
		   "{\"session\":\"" HEX32 "\",\"key\":\"" KEY43 "=\"}", &a),
	    B0_ERR_PROTOCOL, "ATTACH key too long");
	is_int(DEC(b0_msg_open_decode,
		   "{\"socket\":\"ssh\",\"visitor\":\"[2001:db8::1]:22\","
		   "\"id\":\"" HEX32 "\"}",
		   &o),
	    0, "OPEN decodes");
	is_str(o.visitor, "[2001:db8::1]:22", "OPEN visitor");
	is_int(DEC(b0_msg_open_decode,
		   "{\"socket\":\"ssh\",\"visitor\":\"a\\nb\",\"id\":\"" HEX32
		   "\"}",
		   &o),
	    B0_ERR_PROTOCOL, "OPEN visitor with a newline");
	is_int(b0_msg_pool_decode("{\"want\":5}", 10, &want, &em), 0, "POOL");
	is_int(want, 5, "POOL want");
	is_int(b0_msg_pool_decode("{\"want\":0}", 10, &want, &em),
	    B0_ERR_PROTOCOL, "POOL want 0");
	is_int(b0_msg_pool_decode("{\"want\":1025}", 13, &want, &em),
	    B0_ERR_PROTOCOL, "POOL want 1025");
	is_int(DEC(b0_msg_error_decode, "{\"code\":\"auth\"}", &e), 0,
	    "ERROR without message");
	is_int(b0_msg_rst_decode("", 0, reason, sizeof(reason), &em), 0,
	    "empty RST");
	is_str(reason, "", "empty RST reason");
	/* A long reason is cut at a character boundary when sent. */
	memset(longr, 'a', sizeof(longr));
	memcpy(longr + 254, "\xc3\xa9", 2);
	longr[sizeof(longr) - 1] = '\0';
	b0_buf_init(&out, 65536);
	is_int(b0_msg_rst_frame(&out, longr), 0, "RST with a long reason");
	b0_proto_check_hdr(b0_buf_ptr(&out), &type, &len, &em);
	is_int(b0_msg_rst_decode(
		   b0_buf_ptr(&out) + 4, len, reason, sizeof(reason), &em),
	    0, "long RST decodes");
	is_int(strlen(reason), 254, "cut before the two-byte character");
	b0_buf_cleanup(&out);
}

/* OPEN's optional connection ticket. */
static void
test_open_ticket(void)
{
	static const char *const bad[] = {
	    "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0", /* two segments */
	    "a.b.c.d",				    /* four */
	    "a..c",				    /* empty segment */
	    ".b.c",				    /* empty first */
	    "a.b.",				    /* empty last */
	    "a.b.c=",				    /* padding */
	    "a+b.c.d",				    /* not base64url */
	    "a.b c.d",				    /* space */
	};
	struct b0_msg_open o, o2;
	struct b0_errmsg em;
	struct b0_buf out, json;
	char *big;
	uint8_t type;
	uint32_t len;
	size_t i;

	is_int(
	    DEC(b0_msg_open_decode,
		"{\"socket\":\"ssh\",\"visitor\":\"1.2.3.4:5\",\"id\":\"" HEX32
		"\",\"ticket\":\"eyJh.eyJz.c2ln-_\"}",
		&o),
	    0, "OPEN with a ticket decodes");
	is_str(o.ticket, "eyJh.eyJz.c2ln-_", "OPEN ticket");
	b0_buf_init(&out, 65536);
	is_int(b0_msg_open_frame(&out, &o), 0, "OPEN with a ticket encodes");
	b0_proto_check_hdr(b0_buf_ptr(&out), &type, &len, &em);
	is_int(b0_msg_open_decode(b0_buf_ptr(&out) + 4, len, &o2, &em), 0,
	    "and decodes again");
	is_str(o2.ticket, o.ticket, "ticket round trip");
	b0_buf_cleanup(&out);

	is_int(
	    DEC(b0_msg_open_decode,
		"{\"socket\":\"ssh\",\"visitor\":\"1.2.3.4:5\",\"id\":\"" HEX32
		"\"}",
		&o),
	    0, "OPEN without a ticket decodes");
	is_str(o.ticket, "", "no ticket: empty");
	b0_buf_init(&out, 65536);
	b0_msg_open_frame(&out, &o);
	ok(memmem(b0_buf_ptr(&out), b0_buf_len(&out), "ticket", 6) == NULL,
	    "no ticket: no member written");
	b0_buf_cleanup(&out);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b0_buf_init(&json, 65536);
		b0_buf_putf(&json,
		    "{\"socket\":\"ssh\",\"visitor\":\"1.2.3.4:5\",\"id\":"
		    "\"" HEX32 "\",\"ticket\":\"%s\"}",
		    bad[i]);
		em.text[0] = '\0';
		is_int(b0_msg_open_decode(
			   b0_buf_ptr(&json), b0_buf_len(&json), &o, &em),
		    B0_ERR_PROTOCOL, "bad ticket %zu refused", i);
		has_str(em.text, "ticket is not a compact JWS",
		    "bad ticket %zu: message", i);
		ok(strstr(em.text, bad[i]) == NULL,
		    "bad ticket %zu: not quoted", i);
		b0_buf_cleanup(&json);
	}
	is_int(
	    DEC(b0_msg_open_decode,
		"{\"socket\":\"ssh\",\"visitor\":\"1.2.3.4:5\",\"id\":\"" HEX32
		"\",\"ticket\":7}",
		&o),
	    B0_ERR_PROTOCOL, "ticket not a string");

	/* At most 4096 bytes. */
	big = malloc(4098);
	memset(big, 'A', 4097);
	big[1] = '.';
	big[3] = '.';
	for (len = 4096; len <= 4097; len++) {
		big[len] = '\0';
		b0_buf_init(&json, 65536);
		b0_buf_putf(&json,
		    "{\"socket\":\"ssh\",\"visitor\":\"1.2.3.4:5\",\"id\":"
		    "\"" HEX32 "\",\"ticket\":\"%s\"}",
		    big);
		is_int(b0_msg_open_decode(
			   b0_buf_ptr(&json), b0_buf_len(&json), &o, &em),
		    len == 4096 ? 0 : B0_ERR_PROTOCOL, "ticket of %u bytes %s",
		    (unsigned)len, len == 4096 ? "accepted" : "refused");
		b0_buf_cleanup(&json);
		big[len] = 'A';
	}
	free(big);
}

/* A JWKS document of one new P-256 key into b; its kid into kid. */
static void
make_jwks(struct b0_buf *b, char *kid, size_t kidsz)
{
	struct b0_jsonw w;
	EVP_PKEY *pk = NULL;

	if (b0_jwk_generate(&pk, NULL) != 0 ||
	    b0_jwk_thumbprint(pk, kid, kidsz) != 0)
		abort();
	b0_jsonw_init(&w, b);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "keys");
	b0_jsonw_arr_begin(&w);
	b0_jwk_write(&w, pk, kid);
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	if (b0_jsonw_finish(&w) != 0)
		abort();
	EVP_PKEY_free(pk);
}

static int
keys_decode_str(const char *s, struct b0_msg_keys *m, struct b0_errmsg *em)
{
	size_t n = strlen(s);
	char *g = tap_guard(s, n);
	int r;

	em->text[0] = '\0';
	r = b0_msg_keys_decode(g, n, m, em);
	tap_unguard(g, n);
	return r;
}

static void
test_keys(void)
{
	static const struct {
		const char *payload;
		const char *msg;
	} bad[] = {
	    {"[]", "KEYS: payload is not a JSON object"},
	    {"{\"issuer\":\"https://e.test\"}",
		"KEYS: keys is missing or not an array"},
	    {"{\"issuer\":\"https://e.test\",\"keys\":{}}",
		"KEYS: keys is missing or not an array"},
	    {"{\"keys\":[]}", "KEYS: issuer is missing"},
	    {"{\"issuer\":7,\"keys\":[]}", "KEYS: issuer is not a string"},
	    {"{\"issuer\":\"https://e.test x\",\"keys\":[]}", "is not valid"},
	    {"{\"issuer\":\"\",\"keys\":[]}", "is not valid"},
	    {"{\"issuer\":\"https://e.test\",\"keys\":[]}", "KEYS: key set"},
	    {"{\"issuer\":\"https://e.test\",\"keys\":[7]}",
		"key 0 is not an object"},
	    {"{\"issuer\":\"https://e.test\",\"keys\":[{\"kty\":\"EC\","
	     "\"crv\":\"P-256\",\"kid\":\"k\",\"x\":\"AA\",\"y\":\"AA\"}]}",
		"KEYS: key set: key 0 (kid \"k\")"},
	    {"{\"issuer\":\"https://e.test\",\"keys\":[],}", "KEYS: "},
	    {"{\"issuer\":\"https://e.test\",\"issuer\":\"x\",\"keys\":[]}",
		"duplicate key"},
	};
	struct b0_buf jwks, frame, json;
	struct b0_msg_keys m;
	struct b0_errmsg em;
	char kid[B0_JWK_THUMBPRINT_SIZE], *d;
	uint8_t type;
	uint32_t len;
	size_t i;

	/* The request. */
	is_int(keys_decode_str("{}", &m, &em), 0, "KEYS {} decodes");
	ok(m.request == 1 && m.keys == NULL && m.set == NULL,
	    "KEYS {} is a request");
	b0_msg_keys_cleanup(&m);
	b0_buf_init(&frame, 1024);
	is_int(b0_msg_keys_frame(&frame, NULL, NULL, 0), 0, "request frame");
	ok(b0_buf_len(&frame) == 6 &&
		memcmp(b0_buf_ptr(&frame), "\x05\x00\x00\x02{}", 6) == 0,
	    "request frame is 05 000002 {}");
	b0_buf_cleanup(&frame);

	/* The keys: round trip through frame and decode. */
	b0_buf_init(&jwks, 65536);
	make_jwks(&jwks, kid, sizeof(kid));
	b0_buf_init(&frame, 70000);
	is_int(b0_msg_keys_frame(&frame, "https://edge.test:8443",
		   (const char *)b0_buf_ptr(&jwks), b0_buf_len(&jwks)),
	    0, "keys frame");
	is_int(b0_proto_check_hdr(b0_buf_ptr(&frame), &type, &len, &em), 0,
	    "keys frame header");
	ok(type == B0_F_KEYS && len + 4 == b0_buf_len(&frame),
	    "keys frame type and length");
	is_int(b0_msg_keys_decode(b0_buf_ptr(&frame) + 4, len, &m, &em), 0,
	    "keys frame decodes");
	is_str(m.issuer, "https://edge.test:8443", "issuer");
	ok(m.request == 0 && m.set != NULL && b0_jwks_count(m.set) == 1 &&
		b0_jwks_find(m.set, kid) != NULL,
	    "the key set holds the kid");
	ok(m.keys != NULL && m.keys[0] == '[' &&
		m.keys[m.keys_len - 1] == ']' && strlen(m.keys) == m.keys_len,
	    "keys is the JSON array");
	/* The array is the /jwks.json document's, byte for byte. */
	ok(b0_buf_len(&jwks) == m.keys_len + 9 &&
		memcmp(b0_buf_ptr(&jwks) + 8, m.keys, m.keys_len) == 0,
	    "keys text equals the JWKS's keys array");
	b0_msg_keys_cleanup(&m);
	b0_buf_cleanup(&frame);

	/* Unknown members are ignored, as in the other messages. */
	b0_buf_init(&json, 70000);
	b0_buf_putf(&json, "{\"issuer\":\"https://e.test\",\"x\":1,%.*s",
	    (int)b0_buf_len(&jwks) - 1, (const char *)b0_buf_ptr(&jwks) + 1);
	is_int(
	    b0_msg_keys_decode(b0_buf_ptr(&json), b0_buf_len(&json), &m, &em),
	    0, "unknown member ignored");
	b0_msg_keys_cleanup(&m);
	b0_buf_cleanup(&json);

	/* A private part makes the whole set invalid. */
	b0_buf_init(&json, 70000);
	d = strstr((char *)b0_buf_mutable_ptr(&jwks), "\"kid\"");
	b0_buf_putf(&json,
	    "{\"issuer\":\"https://e.test\",%.*s\"d\":\"AAAA\",%.*s",
	    (int)(d - (const char *)b0_buf_ptr(&jwks)) - 1,
	    (const char *)b0_buf_ptr(&jwks) + 1,
	    (int)(b0_buf_len(&jwks) -
		  (size_t)(d - (const char *)b0_buf_ptr(&jwks))),
	    d);
	is_int(
	    b0_msg_keys_decode(b0_buf_ptr(&json), b0_buf_len(&json), &m, &em),
	    B0_ERR_PROTOCOL, "a private key is refused");
	has_str(em.text, "KEYS: key set: key 0", "private key message");
	b0_buf_cleanup(&json);

	/* The frame refuses what it cannot check. */
	b0_buf_init(&frame, 70000);
	ok(b0_msg_keys_frame(&frame, "https://e.test", "{\"keys\":[]}", 11) !=
		0,
	    "frame refuses an empty key set");
	ok(b0_msg_keys_frame(&frame, "https://e.test", "nope", 4) != 0,
	    "frame refuses what is not JSON");
	is_int((int)b0_buf_len(&frame), 0, "nothing written on error");
	b0_buf_cleanup(&frame);
	b0_buf_cleanup(&jwks);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(keys_decode_str(bad[i].payload, &m, &em),
		    B0_ERR_PROTOCOL, "bad KEYS %zu refused", i);
		has_str(em.text, bad[i].msg, "bad KEYS %zu message", i);
		ok(m.keys == NULL && m.set == NULL,
		    "bad KEYS %zu: nothing kept", i);
	}
}

int
main(void)
{
	test_headers();
	test_names();
	test_open_ticket();
	test_hello();
	test_socks();
	test_socks_http();
	test_small();
	test_keys();
	return tap_done();
}
