/*
 * b0_proto: the publisher protocol's frames and messages.
 */
#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_json.h"
#include "b0_jwk.h"
#include "b0_jsonw.h"
#include "b0_proto.h"
#include "b0_utf8.h"

#define B0_PROTO_KEYS_MAX (64 * 1024)

static const struct {
	uint8_t type;
	const char *name;
	uint32_t max;
} types[] = {
    {B0_F_HELLO, "HELLO", 16 * 1024},
    {B0_F_WELCOME, "WELCOME", 16 * 1024},
    {B0_F_REGISTER, "REGISTER", 256 * 1024},
    {B0_F_REGISTERED, "REGISTERED", 256 * 1024},
    {B0_F_KEYS, "KEYS", B0_PROTO_KEYS_MAX},
    {B0_F_PING, "PING", 64},
    {B0_F_PONG, "PONG", 64},
    {B0_F_POOL, "POOL", 1024},
    {B0_F_ERROR, "ERROR", 4096},
    {B0_F_ATTACH, "ATTACH", 1024},
    {B0_F_OPEN, "OPEN", 16 * 1024},
    {B0_F_OPENED, "OPENED", 0},
    {B0_F_DATA, "DATA", B0_FRAME_MAX},
    {B0_F_FIN, "FIN", 0},
    {B0_F_RST, "RST", 4096},
};

const char *
b0_proto_type_name(uint8_t type)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].type == type)
			return types[i].name;
	}
	return "unknown";
}

int
b0_proto_check_hdr(const uint8_t hdr[B0_FRAME_HDR], uint8_t *typep,
    uint32_t *lenp, struct b0_errmsg *em)
{
	uint32_t len = (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].type != hdr[0])
			continue;
		if (len > types[i].max) {
			b0_err_set(em, "%s frame of %u bytes (at most %u)",
			    types[i].name, len, types[i].max);
			return B0_ERR_PROTOCOL;
		}
		*typep = hdr[0];
		*lenp = len;
		return 0;
	}
	b0_err_set(em, "unknown frame type 0x%02x", hdr[0]);
	return B0_ERR_PROTOCOL;
}

void
b0_proto_put_hdr(uint8_t hdr[B0_FRAME_HDR], uint8_t type, uint32_t len)
{
	hdr[0] = type;
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int
b0_proto_frame(
    struct b0_buf *out, uint8_t type, const void *payload, size_t len)
{
	uint8_t *d;
	int r;

	if (len > B0_FRAME_MAX)
		return B0_ERR_TOO_BIG;
	if ((r = b0_buf_reserve(out, B0_FRAME_HDR + len, &d)) != 0)
		return r;
	b0_proto_put_hdr(d, type, (uint32_t)len);
	if (len > 0)
		memcpy(d + B0_FRAME_HDR, payload, len);
	return 0;
}

int
b0_proto_name_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > B0_NAME_SIZE - 1 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* Field validators: 1 if s is acceptable. */
typedef int field_ok_fn(const char *s);

static int
ok_name(const char *s)
{
	return b0_proto_name_valid(s);
}

static int
ok_hexid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return i == B0_HEXID_SIZE - 1;
}

static int
ok_key(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_'))
			return 0;
	}
	return i == B0_KEY_SIZE - 1;
}

/* Printable ASCII without spaces: tokens, specs, agent strings. */
static int
ok_word(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	}
	return i > 0;
}

static int
ok_dns(const char *s)
{
	size_t i, label = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') ||
			(s[i] == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return i > 0 && label > 0 && s[i - 1] != '-';
}

static int
ok_addr(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f') || s[i] == '.' ||
			s[i] == ':' || s[i] == '[' || s[i] == ']'))
			return 0;
	}
	return i > 0;
}

int
b0_proto_jws_valid(const char *s)
{
	size_t i, seg = 0, dots = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (seg == 0 || ++dots > 2)
				return 0;
			seg = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_'))
			return 0;
		seg++;
	}
	return dots == 2 && seg > 0;
}

/* Any text a person reads: no control characters (b0_json gives UTF-8). */
static int
ok_text(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	}
	return 1;
}

struct dec {
	const char *msg; /* message name for errors */
	struct b0_json *j;
	struct b0_errmsg *em;
};

static int
dec_open(struct dec *d, const char *msg, const void *p, size_t len,
    struct b0_errmsg *em)
{
	struct b0_errmsg jem;
	int r;

	d->msg = msg;
	d->em = em;
	d->j = NULL;
	if ((r = b0_json_parse(p, len, NULL, &d->j, &jem)) != 0) {
		b0_err_set(em, "%s: %s", msg, b0_err_text(&jem, r));
		return B0_ERR_PROTOCOL;
	}
	if (b0_json_type(d->j, 0) != B0_JSON_OBJECT) {
		b0_err_set(em, "%s: payload is not a JSON object", msg);
		b0_json_free(d->j);
		d->j = NULL;
		return B0_ERR_PROTOCOL;
	}
	return 0;
}

/*
 * Copy string member key of object obj into out (size bytes), checked with
 * ok.  where names the object for errors ("sockets[2]"); optional members
 * that are missing leave out empty.
 */
static int
dec_str(struct dec *d, int obj, const char *where, const char *key,
    int required, char *out, size_t size, field_ok_fn *ok)
{
	const char *s;
	size_t n;
	int v, r;

	out[0] = '\0';
	if ((r = b0_json_obj_get(d->j, obj, key, &v)) == B0_ERR_NOT_FOUND) {
		if (!required)
			return 0;
		b0_err_set(d->em, "%s: %s%s%s is missing", d->msg, where,
		    *where ? "." : "", key);
		return B0_ERR_PROTOCOL;
	}
	if (r != 0 || b0_json_str(d->j, v, &s, &n) != 0) {
		b0_err_set(d->em, "%s: %s%s%s is not a string", d->msg, where,
		    *where ? "." : "", key);
		return B0_ERR_PROTOCOL;
	}
	if (n >= size) {
		b0_err_set(d->em, "%s: %s%s%s is longer than %zu bytes", d->msg,
		    where, *where ? "." : "", key, size - 1);
		return B0_ERR_PROTOCOL;
	}
	if (ok != NULL && !ok(s)) {
		b0_err_set(d->em, "%s: %s%s%s: \"%.64s\" is not valid", d->msg,
		    where, *where ? "." : "", key, s);
		return B0_ERR_PROTOCOL;
	}
	memcpy(out, s, n + 1);
	return 0;
}

static int
dec_int(struct dec *d, int obj, const char *where, const char *key, int64_t min,
    int64_t max, int64_t *out)
{
	int v;

	if (b0_json_obj_get(d->j, obj, key, &v) != 0) {
		b0_err_set(d->em, "%s: %s%s%s is missing", d->msg, where,
		    *where ? "." : "", key);
		return B0_ERR_PROTOCOL;
	}
	if (b0_json_int(d->j, v, out) != 0 || *out < min || *out > max) {
		b0_err_set(d->em,
		    "%s: %s%s%s is not a whole number from "
		    "%lld to %lld",
		    d->msg, where, *where ? "." : "", key, (long long)min,
		    (long long)max);
		return B0_ERR_PROTOCOL;
	}
	return 0;
}

static void
dec_close(struct dec *d)
{
	b0_json_free(d->j);
	d->j = NULL;
}

/* Append a frame with the JSON writer's output as payload. */
static int
enc_finish(
    struct b0_buf *out, uint8_t type, struct b0_jsonw *w, struct b0_buf *json)
{
	int r;

	if ((r = b0_jsonw_finish(w)) == 0)
		r = b0_proto_frame(
		    out, type, b0_buf_ptr(json), b0_buf_len(json));
	b0_buf_cleanup(json);
	return r;
}

/* HELLO's optional "keys": true or false (docs/pam.md). */
static int
dec_keys_flag(struct dec *d, int *out)
{
	int r;

	*out = 0;
	if ((r = b0_json_get_bool(d->j, 0, "keys", out)) == 0 ||
	    r == B0_ERR_NOT_FOUND)
		return 0;
	b0_err_set(d->em, "%s: keys is not true or false", d->msg);
	return B0_ERR_PROTOCOL;
}

int
b0_msg_hello_decode(
    const void *p, size_t len, struct b0_msg_hello *m, struct b0_errmsg *em)
{
	struct dec d;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = dec_open(&d, "HELLO", p, len, em)) != 0)
		return r;
	if ((r = dec_int(&d, 0, "", "v", 1, 65535, &m->v)) != 0 ||
	    (r = dec_str(&d, 0, "", "token", 1, m->token, sizeof(m->token),
		 ok_word)) != 0 ||
	    (r = dec_str(&d, 0, "", "instance", 1, m->instance,
		 sizeof(m->instance), ok_hexid)) != 0 ||
	    (r = dec_str(&d, 0, "", "agent", 0, m->agent, sizeof(m->agent),
		 ok_word)) != 0 ||
	    (r = dec_keys_flag(&d, &m->keys)) != 0)
		goto out;
out:
	dec_close(&d);
	return r;
}

int
b0_msg_hello_frame(struct b0_buf *out, const struct b0_msg_hello *m)
{
	struct b0_buf json;
	struct b0_jsonw w;

	b0_buf_init(&json, 16 * 1024);
	b0_buf_set_secret(&json); /* the token */
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "v");
	b0_jsonw_int(&w, m->v);
	b0_jsonw_key(&w, "token");
	b0_jsonw_str(&w, m->token);
	b0_jsonw_key(&w, "instance");
	b0_jsonw_str(&w, m->instance);
	if (m->agent[0] != '\0') { /* optional: absent, never empty */
		b0_jsonw_key(&w, "agent");
		b0_jsonw_str(&w, m->agent);
	}
	if (m->keys) { /* optional: absent means false */
		b0_jsonw_key(&w, "keys");
		b0_jsonw_bool(&w, 1);
	}
	b0_jsonw_obj_end(&w);
	return enc_finish(out, B0_F_HELLO, &w, &json);
}

int
b0_msg_welcome_decode(
    const void *p, size_t len, struct b0_msg_welcome *m, struct b0_errmsg *em)
{
	struct dec d;
	int64_t hb = 0, port = 0;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = dec_open(&d, "WELCOME", p, len, em)) != 0)
		return r;
	if ((r = dec_int(&d, 0, "", "v", 1, 65535, &m->v)) != 0 ||
	    (r = dec_str(&d, 0, "", "publisher", 1, m->publisher,
		 sizeof(m->publisher), ok_name)) != 0 ||
	    (r = dec_str(&d, 0, "", "session", 1, m->session,
		 sizeof(m->session), ok_hexid)) != 0 ||
	    (r = dec_str(
		 &d, 0, "", "key", 1, m->key, sizeof(m->key), ok_key)) != 0 ||
	    (r = dec_int(&d, 0, "", "heartbeat", 1, 3600, &hb)) != 0 ||
	    (r = dec_str(&d, 0, "", "domain", 1, m->domain, sizeof(m->domain),
		 ok_dns)) != 0 ||
	    (r = dec_int(&d, 0, "", "https_port", 1, 65535, &port)) != 0)
		goto out;
	m->heartbeat = (uint32_t)hb;
	m->https_port = (uint16_t)port;
out:
	dec_close(&d);
	return r;
}

int
b0_msg_welcome_frame(struct b0_buf *out, const struct b0_msg_welcome *m)
{
	struct b0_buf json;
	struct b0_jsonw w;

	b0_buf_init(&json, 16 * 1024);
	b0_buf_set_secret(&json); /* the session key */
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "v");
	b0_jsonw_int(&w, m->v);
	b0_jsonw_key(&w, "publisher");
	b0_jsonw_str(&w, m->publisher);
	b0_jsonw_key(&w, "session");
	b0_jsonw_str(&w, m->session);
	b0_jsonw_key(&w, "key");
	b0_jsonw_str(&w, m->key);
	b0_jsonw_key(&w, "heartbeat");
	b0_jsonw_int(&w, m->heartbeat);
	b0_jsonw_key(&w, "domain");
	b0_jsonw_str(&w, m->domain);
	b0_jsonw_key(&w, "https_port");
	b0_jsonw_int(&w, m->https_port);
	b0_jsonw_obj_end(&w);
	return enc_finish(out, B0_F_WELCOME, &w, &json);
}

/*
 * http and https sockets (docs/http.md): "host" and "protected" in
 * REGISTER.
 */
int
b0_proto_host_valid(const char *s)
{
	const char *colon = NULL, *p;
	size_t n = strlen(s), i;
	unsigned port;

	if (n == 0 || n > B0_DNS_SIZE - 1)
		return 0;
	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL || p == s + 1)
			return 0;
		for (i = 1; s + i < p; i++) {
			if (!((s[i] >= '0' && s[i] <= '9') ||
				(s[i] >= 'a' && s[i] <= 'f') ||
				(s[i] >= 'A' && s[i] <= 'F') || s[i] == ':' ||
				s[i] == '.'))
				return 0;
		}
		if (p[1] != '\0' && p[1] != ':')
			return 0;
		colon = p[1] == ':' ? p + 1 : NULL;
	} else {
		for (i = 0; s[i] != '\0' && s[i] != ':'; i++) {
			if (!((s[i] >= 'a' && s[i] <= 'z') ||
				(s[i] >= 'A' && s[i] <= 'Z') ||
				(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
				s[i] == '_' || s[i] == '.'))
				return 0;
		}
		if (i == 0 || s[0] == '.' || s[0] == '-')
			return 0;
		colon = s[i] == ':' ? s + i : NULL;
	}
	if (colon == NULL)
		return 1;
	/* A port: 1 to 65535, decimal. */
	for (i = 1, port = 0; colon[i] != '\0'; i++) {
		if (colon[i] < '0' || colon[i] > '9' || i > 5)
			return 0;
		port = port * 10 + (unsigned)(colon[i] - '0');
	}
	return i > 1 && port >= 1 && port <= 65535;
}

int
b0_proto_prot_user_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ':' || i >= 64)
			return 0;
	}
	return i > 0;
}

int
b0_proto_prot_hash_valid(const char *s)
{
	size_t i;

	if (strncmp(s, "$y$", 3) != 0)
		return 0;
	for (i = 3; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '/' || s[i] == '$'))
			return 0;
	}
	/* "$y$" params "$" salt "$" hash: at least three more '$'. */
	return i < B0_TEXT_SIZE && strchr(s + 3, '$') != NULL &&
	       strchr(strchr(s + 3, '$') + 1, '$') != NULL;
}

static int
ok_host(const char *s)
{
	return b0_proto_host_valid(s);
}

static int
ok_prot_user(const char *s)
{
	return b0_proto_prot_user_valid(s);
}

static int
ok_prot_hash(const char *s)
{
	return b0_proto_prot_hash_valid(s);
}

/* REGISTER: a socket's optional "host" and "protected" members. */
static int
dec_sock_http(struct dec *d, int obj, const char *where, struct b0_msg_sock *s)
{
	char pwhere[48];
	int v, r;

	if ((r = dec_str(d, obj, where, "host", 0, s->host, sizeof(s->host),
		 ok_host)) != 0)
		return r;
	if (b0_json_obj_get(d->j, obj, "protected", &v) != 0)
		return 0;
	if (b0_json_type(d->j, v) != B0_JSON_OBJECT) {
		b0_err_set(
		    d->em, "%s: %s.protected is not an object", d->msg, where);
		return B0_ERR_PROTOCOL;
	}
	snprintf(pwhere, sizeof(pwhere), "%s.protected", where);
	if ((r = dec_str(d, v, pwhere, "user", 1, s->prot_user,
		 sizeof(s->prot_user), ok_prot_user)) != 0 ||
	    (r = dec_str(d, v, pwhere, "hash", 1, s->prot_hash,
		 sizeof(s->prot_hash), ok_prot_hash)) != 0)
		return r;
	return 0;
}

static void
enc_sock_http(struct b0_jsonw *w, const struct b0_msg_sock *s)
{
	if (s->host[0] != '\0') {
		b0_jsonw_key(w, "host");
		b0_jsonw_str(w, s->host);
	}
	if (s->prot_user[0] != '\0') {
		b0_jsonw_key(w, "protected");
		b0_jsonw_obj_begin(w);
		b0_jsonw_key(w, "user");
		b0_jsonw_str(w, s->prot_user);
		b0_jsonw_key(w, "hash");
		b0_jsonw_str(w, s->prot_hash);
		b0_jsonw_obj_end(w);
	}
}

void
b0_msg_socks_cleanup(struct b0_msg_socks *m)
{
	free(m->socks);
	m->socks = NULL;
	m->n = 0;
}

int
b0_msg_socks_decode(const void *p, size_t len, int registered,
    struct b0_msg_socks *m, struct b0_errmsg *em)
{
	const char *msg = registered ? "REGISTERED" : "REGISTER";
	char where[32];
	struct dec d;
	int arr, obj, r;
	size_t i, j, n;
	int64_t port;

	memset(m, 0, sizeof(*m));
	if ((r = dec_open(&d, msg, p, len, em)) != 0)
		return r;
	r = B0_ERR_PROTOCOL;
	if (b0_json_obj_get(d.j, 0, "sockets", &arr) != 0 ||
	    b0_json_type(d.j, arr) != B0_JSON_ARRAY) {
		b0_err_set(em, "%s: sockets is missing or not an array", msg);
		goto out;
	}
	if ((n = b0_json_len(d.j, arr)) > B0_MAX_SOCKETS) {
		b0_err_set(
		    em, "%s: %zu sockets (at most %d)", msg, n, B0_MAX_SOCKETS);
		goto out;
	}
	if (n > 0 && (m->socks = calloc(n, sizeof(*m->socks))) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct b0_msg_sock *s = &m->socks[i];

		snprintf(where, sizeof(where), "sockets[%zu]", i);
		if (b0_json_arr_get(d.j, arr, i, &obj) != 0 ||
		    b0_json_type(d.j, obj) != B0_JSON_OBJECT) {
			b0_err_set(em, "%s: %s is not an object", msg, where);
			goto out;
		}
		if ((r = dec_str(&d, obj, where, "name", 1, s->name,
			 sizeof(s->name), ok_name)) != 0 ||
		    (r = dec_str(&d, obj, where, "spec", 1, s->spec,
			 sizeof(s->spec), ok_word)) != 0)
			goto out;
		for (j = 0; j < i; j++) {
			if (strcmp(m->socks[j].name, s->name) == 0) {
				b0_err_set(em,
				    "%s: socket \"%s\" is listed "
				    "twice",
				    msg, s->name);
				r = B0_ERR_PROTOCOL;
				goto out;
			}
		}
		if (!registered) {
			if ((r = dec_sock_http(&d, obj, where, s)) != 0)
				goto out;
			continue;
		}
		if ((r = dec_str(&d, obj, where, "error", 0, s->error,
			 sizeof(s->error), ok_text)) != 0)
			goto out;
		if (s->error[0] != '\0')
			continue;
		if ((r = dec_str(&d, obj, where, "dns", 1, s->dns,
			 sizeof(s->dns), ok_dns)) != 0 ||
		    (r = dec_int(&d, obj, where, "port", 1, 65535, &port)) != 0)
			goto out;
		s->port = (uint16_t)port;
	}
	m->n = n;
	r = 0;
out:
	if (r != 0)
		b0_msg_socks_cleanup(m);
	dec_close(&d);
	return r;
}

int
b0_msg_socks_frame(
    struct b0_buf *out, int registered, const struct b0_msg_socks *m)
{
	struct b0_buf json;
	struct b0_jsonw w;
	size_t i;

	b0_buf_init(&json, 256 * 1024);
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "sockets");
	b0_jsonw_arr_begin(&w);
	for (i = 0; i < m->n; i++) {
		const struct b0_msg_sock *s = &m->socks[i];

		b0_jsonw_obj_begin(&w);
		b0_jsonw_key(&w, "name");
		b0_jsonw_str(&w, s->name);
		b0_jsonw_key(&w, "spec");
		b0_jsonw_str(&w, s->spec);
		if (!registered)
			enc_sock_http(&w, s);
		if (registered && s->error[0] != '\0') {
			b0_jsonw_key(&w, "error");
			b0_jsonw_str(&w, s->error);
		} else if (registered) {
			b0_jsonw_key(&w, "dns");
			b0_jsonw_str(&w, s->dns);
			b0_jsonw_key(&w, "port");
			b0_jsonw_int(&w, s->port);
		}
		b0_jsonw_obj_end(&w);
	}
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	return enc_finish(
	    out, registered ? B0_F_REGISTERED : B0_F_REGISTER, &w, &json);
}

int
b0_msg_pool_decode(
    const void *p, size_t len, uint32_t *want, struct b0_errmsg *em)
{
	struct dec d;
	int64_t v = 0;
	int r;

	if ((r = dec_open(&d, "POOL", p, len, em)) != 0)
		return r;
	if ((r = dec_int(&d, 0, "", "want", 1, 1024, &v)) == 0)
		*want = (uint32_t)v;
	dec_close(&d);
	return r;
}

int
b0_msg_pool_frame(struct b0_buf *out, uint32_t want)
{
	struct b0_buf json;
	struct b0_jsonw w;

	b0_buf_init(&json, 1024);
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "want");
	b0_jsonw_int(&w, want);
	b0_jsonw_obj_end(&w);
	return enc_finish(out, B0_F_POOL, &w, &json);
}

int
b0_msg_error_decode(
    const void *p, size_t len, struct b0_msg_error *m, struct b0_errmsg *em)
{
	struct dec d;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = dec_open(&d, "ERROR", p, len, em)) != 0)
		return r;
	if ((r = dec_str(
		 &d, 0, "", "code", 1, m->code, sizeof(m->code), ok_name)) == 0)
		r = dec_str(&d, 0, "", "message", 0, m->message,
		    sizeof(m->message), ok_text);
	dec_close(&d);
	return r;
}

/* Copy at most size - 1 bytes of s, cut at a UTF-8 character boundary. */
static void
copy_text(char *out, size_t size, const char *s)
{
	size_t n = strlen(s), k;
	uint32_t cp;

	if (n >= size) {
		n = 0;
		while (s[n] != '\0') {
			k = b0_utf8_decode(s + n, strlen(s + n), &cp);
			if (k == 0 || n + k >= size)
				break;
			n += k;
		}
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

int
b0_msg_error_frame(struct b0_buf *out, const char *code, const char *message)
{
	char text[B0_TEXT_SIZE];
	struct b0_buf json;
	struct b0_jsonw w;

	copy_text(text, sizeof(text), message);
	b0_buf_init(&json, 4096);
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "code");
	b0_jsonw_str(&w, code);
	b0_jsonw_key(&w, "message");
	b0_jsonw_str(&w, text);
	b0_jsonw_obj_end(&w);
	return enc_finish(out, B0_F_ERROR, &w, &json);
}

int
b0_msg_attach_decode(
    const void *p, size_t len, struct b0_msg_attach *m, struct b0_errmsg *em)
{
	struct dec d;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = dec_open(&d, "ATTACH", p, len, em)) != 0)
		return r;
	if ((r = dec_str(&d, 0, "", "session", 1, m->session,
		 sizeof(m->session), ok_hexid)) == 0)
		r = dec_str(
		    &d, 0, "", "key", 1, m->key, sizeof(m->key), ok_key);
	dec_close(&d);
	return r;
}

int
b0_msg_attach_frame(struct b0_buf *out, const struct b0_msg_attach *m)
{
	struct b0_buf json;
	struct b0_jsonw w;

	b0_buf_init(&json, 1024);
	b0_buf_set_secret(&json);
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "session");
	b0_jsonw_str(&w, m->session);
	b0_jsonw_key(&w, "key");
	b0_jsonw_str(&w, m->key);
	b0_jsonw_obj_end(&w);
	return enc_finish(out, B0_F_ATTACH, &w, &json);
}

int
b0_msg_open_decode(
    const void *p, size_t len, struct b0_msg_open *m, struct b0_errmsg *em)
{
	struct dec d;
	int r;

	memset(m, 0, sizeof(*m));
	if ((r = dec_open(&d, "OPEN", p, len, em)) != 0)
		return r;
	if ((r = dec_str(&d, 0, "", "socket", 1, m->socket, sizeof(m->socket),
		 ok_name)) != 0 ||
	    (r = dec_str(&d, 0, "", "visitor", 1, m->visitor,
		 sizeof(m->visitor), ok_addr)) != 0 ||
	    (r = dec_str(&d, 0, "", "id", 1, m->id, sizeof(m->id), ok_hexid)) !=
		0 ||
	    (r = dec_str(&d, 0, "", "ticket", 0, m->ticket, sizeof(m->ticket),
		 NULL)) != 0)
		goto out;
	/* Checked here: the message must not quote a credential. */
	if (m->ticket[0] != '\0' && !b0_proto_jws_valid(m->ticket)) {
		b0_err_set(em,
		    "OPEN: ticket is not a compact JWS (three base64url "
		    "segments)");
		r = B0_ERR_PROTOCOL;
	}
out:
	if (r != 0)
		OPENSSL_cleanse(m, sizeof(*m));
	dec_close(&d);
	return r;
}

int
b0_msg_open_frame(struct b0_buf *out, const struct b0_msg_open *m)
{
	struct b0_buf json;
	struct b0_jsonw w;

	b0_buf_init(&json, 16 * 1024);
	b0_buf_set_secret(&json); /* the ticket */
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "socket");
	b0_jsonw_str(&w, m->socket);
	b0_jsonw_key(&w, "visitor");
	b0_jsonw_str(&w, m->visitor);
	b0_jsonw_key(&w, "id");
	b0_jsonw_str(&w, m->id);
	if (m->ticket[0] != '\0') { /* optional: absent, never empty */
		b0_jsonw_key(&w, "ticket");
		b0_jsonw_str(&w, m->ticket);
	}
	b0_jsonw_obj_end(&w);
	return enc_finish(out, B0_F_OPEN, &w, &json);
}

int
b0_msg_rst_decode(
    const void *p, size_t len, char *reason, size_t size, struct b0_errmsg *em)
{
	char text[B0_TEXT_SIZE];
	struct dec d;
	int r;

	reason[0] = '\0';
	if (len == 0)
		return 0;
	if ((r = dec_open(&d, "RST", p, len, em)) != 0)
		return r;
	if ((r = dec_str(
		 &d, 0, "", "reason", 0, text, sizeof(text), ok_text)) == 0)
		copy_text(reason, size, text);
	dec_close(&d);
	return r;
}

int
b0_msg_rst_frame(struct b0_buf *out, const char *reason)
{
	char text[B0_TEXT_SIZE];
	struct b0_buf json;
	struct b0_jsonw w;

	if (reason == NULL || *reason == '\0')
		return b0_proto_frame(out, B0_F_RST, NULL, 0);
	copy_text(text, sizeof(text), reason);
	b0_buf_init(&json, 4096);
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "reason");
	b0_jsonw_str(&w, text);
	b0_jsonw_obj_end(&w);
	return enc_finish(out, B0_F_RST, &w, &json);
}

/* KEYS (docs/pam.md). */

void
b0_msg_keys_cleanup(struct b0_msg_keys *m)
{
	free(m->keys);
	m->keys = NULL;
	m->keys_len = 0;
	b0_jwks_free(m->set);
	m->set = NULL;
}

/* The keys of set as a JSON array, written by b0_jwk_write(). */
static void
keys_write_array(struct b0_jsonw *w, const struct b0_jwks *set, int *rp)
{
	const struct b0_jwk *k;
	size_t i;

	b0_jsonw_arr_begin(w);
	for (i = 0; (k = b0_jwks_get(set, i)) != NULL; i++) {
		if (*rp == 0)
			*rp = b0_jwk_write(w, b0_jwk_pkey(k), b0_jwk_kid(k));
	}
	b0_jsonw_arr_end(w);
}

int
b0_msg_keys_decode(
    const void *p, size_t len, struct b0_msg_keys *m, struct b0_errmsg *em)
{
	struct b0_errmsg kem;
	struct b0_buf arr;
	struct b0_jsonw w;
	struct dec d;
	int v, r;

	memset(m, 0, sizeof(*m));
	b0_buf_init(&arr, B0_PROTO_KEYS_MAX);
	if ((r = dec_open(&d, "KEYS", p, len, em)) != 0)
		return r;
	if (b0_json_obj_get(d.j, 0, "issuer", &v) == B0_ERR_NOT_FOUND &&
	    b0_json_obj_get(d.j, 0, "keys", &v) == B0_ERR_NOT_FOUND) {
		m->request = 1;
		r = 0;
		goto out;
	}
	if ((r = dec_str(&d, 0, "", "issuer", 1, m->issuer, sizeof(m->issuer),
		 ok_word)) != 0)
		goto out;
	r = B0_ERR_PROTOCOL;
	if (b0_json_obj_get(d.j, 0, "keys", &v) != 0 ||
	    b0_json_type(d.j, v) != B0_JSON_ARRAY) {
		b0_err_set(em, "KEYS: keys is missing or not an array");
		goto out;
	}
	b0_err_clear(&kem);
	if ((r = b0_jwks_parse(p, len, &m->set, &kem)) != 0) {
		b0_err_set(em, "KEYS: %s", b0_err_text(&kem, r));
		r = r == B0_ERR_ALLOC ? r : B0_ERR_PROTOCOL;
		goto out;
	}
	b0_jsonw_init(&w, &arr);
	keys_write_array(&w, m->set, &r);
	if (r == 0)
		r = b0_jsonw_finish(&w);
	if (r == 0)
		r = b0_buf_dup_cstr(&arr, &m->keys);
	if (r != 0) {
		b0_err_set(
		    em, "KEYS: cannot rewrite the keys: %s", b0_strerror(r));
		goto out;
	}
	m->keys_len = b0_buf_len(&arr);
out:
	if (r != 0)
		b0_msg_keys_cleanup(m);
	b0_buf_cleanup(&arr);
	dec_close(&d);
	return r;
}

int
b0_msg_keys_frame(
    struct b0_buf *out, const char *issuer, const char *jwks, size_t jwks_len)
{
	struct b0_jwks *set = NULL;
	struct b0_buf json;
	struct b0_jsonw w;
	int r = 0;

	if (issuer == NULL)
		return b0_proto_frame(out, B0_F_KEYS, "{}", 2);
	if ((r = b0_jwks_parse(jwks, jwks_len, &set, NULL)) != 0)
		return r;
	b0_buf_init(&json, B0_PROTO_KEYS_MAX);
	b0_jsonw_init(&w, &json);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "issuer");
	b0_jsonw_str(&w, issuer);
	b0_jsonw_key(&w, "keys");
	keys_write_array(&w, set, &r);
	b0_jsonw_obj_end(&w);
	b0_jwks_free(set);
	if (r != 0) {
		b0_buf_cleanup(&json);
		return r;
	}
	return enc_finish(out, B0_F_KEYS, &w, &json);
}
