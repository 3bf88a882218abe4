/*
 * b0_proto: the publisher protocol's frames and messages (docs/protocol.md).
 *
 * Frames are a type byte, a 24-bit big-endian length and a payload.  This
 * module checks frame headers against the per-type limits, and turns the
 * JSON payloads into fixed-size structs (and back), validating every field,
 * so that edge and publisher share one implementation of the wire format.
 */
#ifndef B0_PROTO_H
#define B0_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "b0_buf.h"
#include "b0_err.h"

#define B0_PROTO_ALPN "b0/1"
#define B0_PROTO_VERSION 1

#define B0_FRAME_HDR 4
#define B0_FRAME_MAX ((1u << 24) - 1)

enum b0_frame_type {
	B0_F_HELLO = 0x01,
	B0_F_WELCOME = 0x02,
	B0_F_REGISTER = 0x03,
	B0_F_REGISTERED = 0x04,
	B0_F_KEYS = 0x05, /* docs/pam.md */
	B0_F_PING = 0x06,
	B0_F_PONG = 0x07,
	B0_F_POOL = 0x08,
	B0_F_ERROR = 0x09,
	B0_F_ATTACH = 0x10,
	B0_F_OPEN = 0x11,
	B0_F_OPENED = 0x12,
	B0_F_DATA = 0x13,
	B0_F_FIN = 0x14,
	B0_F_RST = 0x15
};

/* Field sizes, including the terminating NUL. */
#define B0_NAME_SIZE 33	    /* socket and publisher names */
#define B0_DNS_SIZE 254	    /* a DNS name */
#define B0_TOKEN_SIZE 256   /* publisher token */
#define B0_HEXID_SIZE 33    /* 128-bit ids in hex */
#define B0_KEY_SIZE 44	    /* 256-bit keys in base64url */
#define B0_SPEC_SIZE 1024   /* a publish spec */
#define B0_TEXT_SIZE 256    /* messages and reasons */
#define B0_ADDR_SIZE 80	    /* "[v6]:port" */
#define B0_MAX_SOCKETS 256  /* per REGISTER */
#define B0_TICKET_SIZE 4097 /* a connection ticket (compact JWS) */
#define B0_ISSUER_SIZE 512  /* the edge's issuer (KEYS) */

/*
 * b0_proto_check_hdr(hdr, typep, lenp, em):
 * Decode a 4-byte frame header and check the type is known and the length
 * within that type's limit.  Returns 0 or B0_ERR_PROTOCOL with em naming
 * the type and length.
 */
int b0_proto_check_hdr(const uint8_t hdr[B0_FRAME_HDR], uint8_t *typep,
    uint32_t *lenp, struct b0_errmsg *em);

/* b0_proto_put_hdr(hdr, type, len): write a frame header. */
void b0_proto_put_hdr(uint8_t hdr[B0_FRAME_HDR], uint8_t type, uint32_t len);

/* b0_proto_type_name(type): "HELLO", ..., or "unknown". */
const char *b0_proto_type_name(uint8_t type);

/*
 * b0_proto_frame(out, type, payload, len):
 * Append a frame to out.  Returns 0, B0_ERR_TOO_BIG or B0_ERR_ALLOC.
 */
int b0_proto_frame(
    struct b0_buf *out, uint8_t type, const void *payload, size_t len);

/*
 * b0_proto_name_valid(s):
 * 1 if s is a valid socket or publisher name: 1 to 32 of a-z 0-9 '-', not
 * starting or ending with '-'.
 */
int b0_proto_name_valid(const char *s);

/* Messages.  Strings are NUL-terminated and validated on decode. */
struct b0_msg_hello {
	int64_t v;
	char token[B0_TOKEN_SIZE];
	char instance[B0_HEXID_SIZE];
	char agent[B0_NAME_SIZE * 2];
	int keys; /* "keys":true: it takes KEYS frames (docs/pam.md) */
};

struct b0_msg_welcome {
	int64_t v;
	char publisher[B0_NAME_SIZE];
	char session[B0_HEXID_SIZE];
	char key[B0_KEY_SIZE];
	uint32_t heartbeat; /* seconds */
	char domain[B0_DNS_SIZE];
	uint16_t https_port;
};

struct b0_msg_sock {
	char name[B0_NAME_SIZE];
	char spec[B0_SPEC_SIZE];
	char dns[B0_DNS_SIZE];	  /* REGISTERED only */
	uint16_t port;		  /* REGISTERED only */
	char error[B0_TEXT_SIZE]; /* REGISTERED only; "" if registered */
	/* http and https sockets, REGISTER only (docs/http.md); "" if not. */
	char host[B0_DNS_SIZE];		  /* "host": Host sent to the target */
	char prot_user[B0_NAME_SIZE * 2]; /* "protected":{"user":...} */
	char prot_hash[B0_TEXT_SIZE];	  /* "protected":{"hash":"$y$..."} */
};

/* REGISTER and REGISTERED.  socks is owned: b0_msg_socks_cleanup(). */
struct b0_msg_socks {
	struct b0_msg_sock *socks;
	size_t n;
};

struct b0_msg_error {
	char code[B0_NAME_SIZE];
	char message[B0_TEXT_SIZE];
};

struct b0_msg_attach {
	char session[B0_HEXID_SIZE];
	char key[B0_KEY_SIZE];
};

/*
 * OPEN.  ticket is optional ("" when absent: tcp sockets): the edge's
 * connection ticket for an identity-aware stream, a compact JWS (three
 * base64url segments) of at most 4096 bytes, checked for shape only here
 * (its signature is the PAM module's business).  It is a credential for
 * as long as it lives: never log it; wipe the struct (OPENSSL_cleanse)
 * when done.
 */
struct b0_msg_open {
	char socket[B0_NAME_SIZE];
	char visitor[B0_ADDR_SIZE];
	char id[B0_HEXID_SIZE];
	char ticket[B0_TICKET_SIZE];
};

/*
 * Decoders: b0_msg_<name>_decode(payload, len, msg, em) parse the JSON
 * payload of a frame into msg.  Return 0 or B0_ERR_PROTOCOL with em naming
 * the message and field ("REGISTER: sockets[3].name: \"Bad_Name\" is not a
 * valid name").
 *
 * Encoders: b0_msg_<name>_frame(out, msg) append the whole frame (header
 * and JSON) to out.  Return 0, B0_ERR_TOO_BIG or B0_ERR_ALLOC.
 */
int b0_msg_hello_decode(
    const void *p, size_t len, struct b0_msg_hello *m, struct b0_errmsg *em);
int b0_msg_hello_frame(struct b0_buf *out, const struct b0_msg_hello *m);

int b0_msg_welcome_decode(
    const void *p, size_t len, struct b0_msg_welcome *m, struct b0_errmsg *em);
int b0_msg_welcome_frame(struct b0_buf *out, const struct b0_msg_welcome *m);

/*
 * REGISTER (registered = 0: name and spec) and REGISTERED (registered = 1:
 * also dns and port, or error).
 */
int b0_msg_socks_decode(const void *p, size_t len, int registered,
    struct b0_msg_socks *m, struct b0_errmsg *em);
int b0_msg_socks_frame(
    struct b0_buf *out, int registered, const struct b0_msg_socks *m);
void b0_msg_socks_cleanup(struct b0_msg_socks *m);

/*
 * http and https sockets in REGISTER (docs/http.md), checked on decode and
 * offered to the publisher's configuration:
 * b0_proto_host_valid(s): 1 if s is a Host value: a DNS name (any case,
 * '_' allowed), an IPv4 address or a bracketed IPv6 address, with an
 * optional ":port".
 * b0_proto_prot_user_valid(s): 1 if s is 1 to 64 visible ASCII
 * characters without ':' (a basic-auth user).
 * b0_proto_prot_hash_valid(s): 1 if s looks like a yescrypt hash
 * ("$y$params$salt$hash", crypt(3)'s alphabet).
 */
int b0_proto_host_valid(const char *s);
int b0_proto_prot_user_valid(const char *s);
int b0_proto_prot_hash_valid(const char *s);

int b0_msg_pool_decode(
    const void *p, size_t len, uint32_t *want, struct b0_errmsg *em);
int b0_msg_pool_frame(struct b0_buf *out, uint32_t want);

int b0_msg_error_decode(
    const void *p, size_t len, struct b0_msg_error *m, struct b0_errmsg *em);
int b0_msg_error_frame(
    struct b0_buf *out, const char *code, const char *message);

int b0_msg_attach_decode(
    const void *p, size_t len, struct b0_msg_attach *m, struct b0_errmsg *em);
int b0_msg_attach_frame(struct b0_buf *out, const struct b0_msg_attach *m);

int b0_msg_open_decode(
    const void *p, size_t len, struct b0_msg_open *m, struct b0_errmsg *em);
int b0_msg_open_frame(struct b0_buf *out, const struct b0_msg_open *m);

/*
 * b0_proto_jws_valid(s):
 * 1 if s has the shape of a compact JWS: three non-empty base64url
 * segments (no padding) separated by '.'.
 */
int b0_proto_jws_valid(const char *s);

/*
 * KEYS (docs/pam.md), both directions on the control channel.  P->E "{}"
 * asks for the keys: decoded as request = 1, keys and set NULL.  E->P
 * {"issuer":..., "keys":[JWK, ...]}: issuer is the edge's issuer string
 * (printable ASCII, no spaces); keys is the "keys" array as JSON text
 * ("[{...}, ...]", NUL-terminated, keys_len bytes), rewritten from the
 * validated set (b0_jwks_parse(), then b0_jwk_write() per key) so that it
 * holds public keys only; set is the same keys for lookups by kid.  keys
 * and set are owned: b0_msg_keys_cleanup().
 */
struct b0_msg_keys {
	int request;
	char issuer[B0_ISSUER_SIZE];
	char *keys;
	size_t keys_len;
	struct b0_jwks *set;
};

/*
 * b0_msg_keys_decode(p, len, m, em): as the other decoders; a key set that
 * b0_jwks_parse() refuses is B0_ERR_PROTOCOL with em naming the key.
 * b0_msg_keys_frame(out, issuer, jwks, jwks_len): append a KEYS frame:
 * issuer NULL for the request "{}"; else jwks is a JWKS document
 * ({"keys":[...]}, as the edge serves at /jwks.json), checked with
 * b0_jwks_parse() (B0_ERR_FORMAT, B0_ERR_KEY... if it does not pass) and
 * written after the issuer.
 */
int b0_msg_keys_decode(
    const void *p, size_t len, struct b0_msg_keys *m, struct b0_errmsg *em);
int b0_msg_keys_frame(
    struct b0_buf *out, const char *issuer, const char *jwks, size_t jwks_len);
void b0_msg_keys_cleanup(struct b0_msg_keys *m);

/* RST: an optional reason (empty payload allowed). */
int b0_msg_rst_decode(
    const void *p, size_t len, char *reason, size_t size, struct b0_errmsg *em);
int b0_msg_rst_frame(struct b0_buf *out, const char *reason);

#endif /* B0_PROTO_H */
