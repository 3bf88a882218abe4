/*
 * libFuzzer target: the publisher protocol's frames and messages
 * (lib/b0_proto), as an edge or a publisher would meet them from a peer.
 * The input is a stream of frames; each header is checked and each payload
 * decoded as its type says.  A message that decodes must encode again and
 * decode to the same thing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b0_buf.h"
#include "b0_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encode m with enc, decode the frame again, compare with memcmp. */
#define ROUND_TRIP(type_, m_, enc_, dec_)                                      \
	do {                                                                   \
		struct b0_buf out_;                                            \
		__typeof__(m_) m2_;                                            \
		uint8_t t_;                                                    \
		uint32_t l_;                                                   \
		b0_buf_init(&out_, 1 << 20);                                   \
		if (enc_(&out_, &(m_)) != 0 ||                                 \
		    b0_proto_check_hdr(b0_buf_ptr(&out_), &t_, &l_, NULL) !=   \
			0 ||                                                   \
		    t_ != (type_) ||                                           \
		    dec_(b0_buf_ptr(&out_) + B0_FRAME_HDR, l_, &m2_, NULL) !=  \
			0 ||                                                   \
		    memcmp(&(m_), &m2_, sizeof(m2_)) != 0)                     \
			abort();                                               \
		b0_buf_cleanup(&out_);                                         \
	} while (0)

/* KEYS: what decodes frames again (as the edge would) to the same. */
static void
keys(const uint8_t *p, size_t len)
{
	struct b0_msg_keys k, k2;
	struct b0_errmsg em;
	struct b0_buf doc, out;
	uint8_t t;
	uint32_t l;

	if (b0_msg_keys_decode(p, len, &k, &em) != 0)
		return;
	if (k.request) {
		b0_msg_keys_cleanup(&k);
		return;
	}
	b0_buf_init(&doc, 1 << 20);
	b0_buf_init(&out, 1 << 20);
	if (b0_buf_putf(&doc, "{\"keys\":%s}", k.keys) != 0 ||
	    b0_msg_keys_frame(&out, k.issuer, (const char *)b0_buf_ptr(&doc),
		b0_buf_len(&doc)) != 0 ||
	    b0_proto_check_hdr(b0_buf_ptr(&out), &t, &l, NULL) != 0 ||
	    t != B0_F_KEYS ||
	    b0_msg_keys_decode(b0_buf_ptr(&out) + B0_FRAME_HDR, l, &k2, NULL) !=
		0 ||
	    strcmp(k.issuer, k2.issuer) != 0 || strcmp(k.keys, k2.keys) != 0)
		abort();
	b0_msg_keys_cleanup(&k2);
	b0_msg_keys_cleanup(&k);
	b0_buf_cleanup(&doc);
	b0_buf_cleanup(&out);
}

static void
payload(uint8_t type, const uint8_t *p, size_t len)
{
	struct b0_errmsg em;
	struct b0_msg_hello h;
	struct b0_msg_welcome w;
	struct b0_msg_socks s;
	struct b0_msg_error e;
	struct b0_msg_attach a;
	struct b0_msg_open o;
	struct b0_buf out;
	char reason[B0_TEXT_SIZE];
	uint32_t want;

	switch (type) {
	case B0_F_HELLO:
		if (b0_msg_hello_decode(p, len, &h, &em) == 0)
			ROUND_TRIP(B0_F_HELLO, h, b0_msg_hello_frame,
			    b0_msg_hello_decode);
		break;
	case B0_F_WELCOME:
		if (b0_msg_welcome_decode(p, len, &w, &em) == 0)
			ROUND_TRIP(B0_F_WELCOME, w, b0_msg_welcome_frame,
			    b0_msg_welcome_decode);
		break;
	case B0_F_REGISTER:
	case B0_F_REGISTERED:
		if (b0_msg_socks_decode(
			p, len, type == B0_F_REGISTERED, &s, &em) == 0) {
			b0_buf_init(&out, 1 << 20);
			if (b0_msg_socks_frame(
				&out, type == B0_F_REGISTERED, &s) != 0)
				abort();
			b0_buf_cleanup(&out);
			b0_msg_socks_cleanup(&s);
		}
		break;
	case B0_F_POOL:
		b0_msg_pool_decode(p, len, &want, &em);
		break;
	case B0_F_ERROR:
		if (b0_msg_error_decode(p, len, &e, &em) == 0) {
			b0_buf_init(&out, 1 << 20);
			if (b0_msg_error_frame(&out, e.code, e.message) != 0)
				abort();
			b0_buf_cleanup(&out);
		}
		break;
	case B0_F_ATTACH:
		if (b0_msg_attach_decode(p, len, &a, &em) == 0)
			ROUND_TRIP(B0_F_ATTACH, a, b0_msg_attach_frame,
			    b0_msg_attach_decode);
		break;
	case B0_F_OPEN:
		if (b0_msg_open_decode(p, len, &o, &em) == 0)
			ROUND_TRIP(B0_F_OPEN, o, b0_msg_open_frame,
			    b0_msg_open_decode);
		break;
	case B0_F_RST:
		b0_msg_rst_decode(p, len, reason, sizeof(reason), &em);
		break;
	case B0_F_KEYS:
		keys(p, len);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct b0_errmsg em;
	uint8_t type;
	uint32_t len;

	while (size >= B0_FRAME_HDR) {
		if (b0_proto_check_hdr(data, &type, &len, &em) != 0)
			return 0;
		data += B0_FRAME_HDR;
		size -= B0_FRAME_HDR;
		if (len > size)
			return 0; /* a real peer would wait for more */
		payload(type, data, len);
		data += len;
		size -= len;
	}
	return 0;
}
