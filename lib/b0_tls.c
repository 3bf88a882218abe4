/*
 * b0_tls: TLS contexts and non-blocking TLS I/O on OpenSSL 3.
 *
 * The b0 settings of a context (ALPN list, pins) live in a struct that the
 * SSL_CTX owns through ex_data, so that the callbacks using them stay valid
 * for as long as any SSL made from the context: after a reload the caller
 * frees the old context while its connections go on.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "b0_b64.h"
#include "b0_err.h"
#include "b0_str.h"
#include "b0_tls.h"

/* AES-128-GCM first: with AES-NI it is the fastest here. */
#define TLS13_SUITES                                                           \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"                       \
	"TLS_CHACHA20_POLY1305_SHA256"
/* TLS 1.2: forward secrecy and AEAD only. */
#define TLS12_CIPHERS                                                          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

#define PIN_PREFIX "sha256//"
#define PIN_PREFIX_LEN 8

struct b0_tls_ctx {
	SSL_CTX *ctx;
	int server;
	unsigned char *alpn_wire; /* length-prefixed, as on the wire */
	size_t alpn_len;
	char *alpn[B0_TLS_MAX_ALPN];
	size_t nalpn;
	uint8_t pins[B0_TLS_MAX_PINS][32];
	size_t npins;
};

/*
 * The ex_data slot holding a context's struct b0_tls_ctx.  Allocated once
 * per process (OpenSSL's indexes are process-wide) and never changed after.
 */
static CRYPTO_ONCE ex_once = CRYPTO_ONCE_STATIC_INIT;
static int ex_index = -1;

static void
tls_data_free(struct b0_tls_ctx *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nalpn; i++)
		free(t->alpn[i]);
	free(t->alpn_wire);
	free(t);
}

/* CRYPTO_EX_free: the SSL_CTX is going, and its b0 settings with it. */
static void
ex_free(
    void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	tls_data_free(ptr);
}

static void
ex_init(void)
{
	ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ex_free);
}

static int
get_ex_index(void)
{
	if (!CRYPTO_THREAD_run_once(&ex_once, ex_init))
		return -1;
	return ex_index;
}

static const struct b0_tls_ctx *
ssl_data(const SSL *ssl)
{
	int idx = get_ex_index();

	if (ssl == NULL || idx < 0)
		return NULL;
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), idx);
}

/* SHA-256 of the DER SubjectPublicKeyInfo of x, as curl pins it. */
static int
spki_sha256(X509 *x, uint8_t md[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, r = B0_ERR_CRYPTO;

	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0)
		goto out;
	if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		goto out;
	r = 0;
out:
	OPENSSL_free(der);
	ERR_clear_error();
	return r;
}

int
b0_tls_cert_pin(X509 *x, char *out, size_t outsz)
{
	uint8_t md[32];
	int r;

	if (outsz > 0)
		out[0] = '\0';
	if (outsz < B0_TLS_PIN_LEN)
		return B0_ERR_TOO_BIG;
	if (x == NULL)
		return B0_ERR_ARG;
	if ((r = spki_sha256(x, md)) != 0)
		return r;
	memcpy(out, PIN_PREFIX, PIN_PREFIX_LEN);
	return b0_b64_encode(
	    md, sizeof(md), out + PIN_PREFIX_LEN, outsz - PIN_PREFIX_LEN);
}

/* Does x's public key match one of t's pins? */
static int
pin_matches(const struct b0_tls_ctx *t, X509 *x)
{
	uint8_t md[32];
	size_t i;
	int found = 0;

	if (spki_sha256(x, md) != 0)
		return 0;
	for (i = 0; i < t->npins; i++)
		found |= b0_ct_eq(md, t->pins[i], sizeof(md));
	return found;
}

/*
 * SSL_CTX_set_cert_verify_callback: the usual chain and name checks, then
 * the pins.  A pin mismatch is reported as X509_V_ERR_APPLICATION_VERIFICATION
 * in SSL_get_verify_result(), which b0_tls_error() puts into words.
 */
static int
verify_cb(X509_STORE_CTX *sctx, void *arg)
{
	const struct b0_tls_ctx *t = arg;
	int ok;

	if ((ok = X509_verify_cert(sctx)) <= 0 || t->npins == 0)
		return ok;
	if (!pin_matches(t, X509_STORE_CTX_get0_cert(sctx))) {
		X509_STORE_CTX_set_error(
		    sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/*
 * SSL_CTX_set_alpn_select_cb: the first of our protocols, in our order,
 * that the client offers.  None in common fails the handshake with a
 * no_application_protocol alert (RFC 7301 section 3.2); a client offering
 * no ALPN at all never gets here and is accepted.
 */
static int
alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct b0_tls_ctx *t = arg;
	size_t i, j;

	(void)ssl;
	for (j = 0; j < inlen; j += 1 + (size_t)in[j]) {
		if (in[j] == 0 || j + 1 + in[j] > inlen)
			return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	for (i = 0; i < t->alpn_len; i += 1 + (size_t)t->alpn_wire[i]) {
		for (j = 0; j < inlen; j += 1 + (size_t)in[j]) {
			if (in[j] == t->alpn_wire[i] &&
			    memcmp(in + j + 1, t->alpn_wire + i + 1, in[j]) ==
				0) {
				*out = t->alpn_wire + i + 1;
				*outlen = t->alpn_wire[i];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/*
 * pem_password_cb: never prompt on a terminal for a passphrase (a daemon has
 * none); note that one was wanted, to say so.
 */
static int
no_passphrase_cb(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	if (u != NULL)
		*(int *)u = 1;
	return -1;
}

/*
 * Set em to the formatted words, then ": " and the drained error queue.
 */
static void __attribute__((format(printf, 2, 3)))
set_ssl_error(struct b0_errmsg *em, const char *fmt, ...)
{
	struct b0_errmsg q;
	char what[sizeof(q.text)];
	va_list ap;

	memset(&q, 0, sizeof(q));
	(void)b0_tls_error(NULL, &q);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	b0_err_set(em, "%s: %s", what, q.text);
}

/* Most bytes a certificate chain or key file may have. */
#define PEM_FILE_MAX (1024 * 1024)

/* A PEM file read into memory, and a BIO over it. */
struct pem_file {
	char *buf;
	size_t len;
	BIO *bio;
};

/*
 * Read path (a regular file; symlinks are fine: certbot's live/ directory
 * is made of them) into pf.  Our own buffer rather than stdio's, so that
 * pem_close() can wipe the key's bytes.
 */
static int
pem_open(const char *what, const char *path, struct pem_file *pf,
    struct b0_errmsg *em)
{
	struct stat st;
	size_t size = 0;
	ssize_t n;
	int fd, r;

	memset(pf, 0, sizeof(*pf));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1 ||
	    fstat(fd, &st) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s %s: %s", what, path, b0_strerror(r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		b0_err_set(em, "%s %s: not a regular file", what, path);
		r = B0_ERR_CONFIG;
		goto out;
	}
	if (st.st_size > PEM_FILE_MAX) {
		b0_err_set(em, "%s %s: larger than %d bytes", what, path,
		    PEM_FILE_MAX);
		r = B0_ERR_TOO_BIG;
		goto out;
	}
	size = (size_t)st.st_size;
	if ((pf->buf = malloc(size + 1)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	while (pf->len < size) {
		if ((n = read(fd, pf->buf + pf->len, size - pf->len)) == -1) {
			if (errno == EINTR)
				continue;
			r = b0_err_from_errno();
			b0_err_set(em, "%s %s: %s", what, path, b0_strerror(r));
			goto out;
		}
		if (n == 0)
			break; /* shrank while we read: parse what is there */
		pf->len += (size_t)n;
	}
	if ((pf->bio = BIO_new_mem_buf(pf->buf, (int)pf->len)) == NULL) {
		ERR_clear_error();
		r = B0_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	if (fd != -1)
		close(fd);
	return r;
}

/* Free pf, wiping what was read (pf may hold a private key). */
static void
pem_close(struct pem_file *pf)
{
	BIO_free(pf->bio);
	if (pf->buf != NULL) {
		OPENSSL_cleanse(pf->buf, pf->len);
		free(pf->buf);
	}
	memset(pf, 0, sizeof(*pf));
}

/*
 * Load a PEM chain (leaf first) into ctx, as
 * SSL_CTX_use_certificate_chain_file() does, with errors naming the file.
 */
static int
load_chain(SSL_CTX *ctx, const char *path, struct b0_errmsg *em)
{
	struct pem_file pf;
	X509 *x = NULL;
	unsigned long e;
	int r;

	if ((r = pem_open("certificate", path, &pf, em)) != 0)
		goto out;
	r = B0_ERR_CONFIG;
	if ((x = PEM_read_bio_X509_AUX(pf.bio, NULL, no_passphrase_cb, NULL)) ==
	    NULL) {
		set_ssl_error(em, "certificate %s: no PEM certificate", path);
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		set_ssl_error(em, "certificate %s: unusable", path);
		goto out;
	}
	X509_free(x);
	x = NULL;
	if (SSL_CTX_clear_chain_certs(ctx) != 1) {
		set_ssl_error(em, "certificate %s", path);
		goto out;
	}
	while ((x = PEM_read_bio_X509(pf.bio, NULL, no_passphrase_cb, NULL)) !=
	       NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			set_ssl_error(em, "certificate %s: chain", path);
			goto out;
		}
		x = NULL; /* the context's now */
	}
	/* The end of the file reads as "no start line"; all else is bad. */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		set_ssl_error(em, "certificate %s: bad PEM in the chain", path);
		goto out;
	}
	ERR_clear_error();
	r = 0;
out:
	X509_free(x);
	pem_close(&pf);
	return r;
}

/* Load the private key and check it against the leaf certificate. */
static int
load_key(
    SSL_CTX *ctx, const char *cert_path, const char *path, struct b0_errmsg *em)
{
	struct pem_file pf;
	EVP_PKEY *pkey = NULL;
	X509 *leaf;
	int r, wanted_passphrase = 0;

	if ((r = pem_open("key", path, &pf, em)) != 0)
		goto out;
	r = B0_ERR_CONFIG;
	if ((pkey = PEM_read_bio_PrivateKey(
		 pf.bio, NULL, no_passphrase_cb, &wanted_passphrase)) == NULL) {
		if (wanted_passphrase) {
			ERR_clear_error();
			b0_err_set(em,
			    "key %s is encrypted; b0 needs it without a "
			    "passphrase (openssl pkey -in KEY -out NEWKEY)",
			    path);
		} else
			set_ssl_error(em, "key %s: no PEM private key", path);
		goto out;
	}
	if ((leaf = SSL_CTX_get0_certificate(ctx)) == NULL ||
	    X509_check_private_key(leaf, pkey) != 1) {
		ERR_clear_error();
		b0_err_set(em, "key %s does not match certificate %s", path,
		    cert_path);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		set_ssl_error(em, "key %s: unusable", path);
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_free(pkey);
	pem_close(&pf);
	return r;
}

static int
load_ca(SSL_CTX *ctx, const char *ca, struct b0_errmsg *em)
{
	struct stat st;
	int r, ok;

	if (ca == NULL) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			set_ssl_error(em, "system CA store");
			return B0_ERR_CONFIG;
		}
		return 0;
	}
	if (stat(ca, &st) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "ca %s: %s", ca, b0_strerror(r));
		return r;
	}
	if (S_ISDIR(st.st_mode))
		ok = SSL_CTX_load_verify_dir(ctx, ca);
	else
		ok = SSL_CTX_load_verify_file(ctx, ca);
	if (ok != 1) {
		set_ssl_error(em, "ca %s: no usable CA certificate", ca);
		return B0_ERR_CONFIG;
	}
	/* Any certificate in the CA file is an anchor, as curl does. */
	if (X509_VERIFY_PARAM_set_flags(
		SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN) != 1) {
		ERR_clear_error();
		return B0_ERR_ALLOC;
	}
	return 0;
}

static int
parse_alpn(struct b0_tls_ctx *t, const char *const *alpn, struct b0_errmsg *em)
{
	size_t i, n, len = 0;

	if (alpn == NULL)
		return 0;
	for (i = 0; alpn[i] != NULL; i++) {
		n = strlen(alpn[i]);
		if (i >= B0_TLS_MAX_ALPN) {
			b0_err_set(
			    em, "more than %d ALPN protocols", B0_TLS_MAX_ALPN);
			return B0_ERR_ARG;
		}
		if (n == 0 || n > 255) {
			b0_err_set(em,
			    "ALPN protocol \"%.40s\": length %zu "
			    "not in 1..255",
			    alpn[i], n);
			return B0_ERR_ARG;
		}
		len += 1 + n;
	}
	if (len == 0)
		return 0;
	if ((t->alpn_wire = malloc(len)) == NULL)
		return B0_ERR_ALLOC;
	for (i = 0; alpn[i] != NULL; i++) {
		n = strlen(alpn[i]);
		if ((t->alpn[i] = strdup(alpn[i])) == NULL)
			return B0_ERR_ALLOC;
		t->nalpn++;
		t->alpn_wire[t->alpn_len++] = (unsigned char)n;
		memcpy(t->alpn_wire + t->alpn_len, alpn[i], n);
		t->alpn_len += n;
	}
	return 0;
}

static int
parse_pins(struct b0_tls_ctx *t, const char *pin, struct b0_errmsg *em)
{
	const char *p = pin, *end;
	size_t len, n;

	if (pin == NULL)
		return 0;
	for (;;) {
		end = strchr(p, ';');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (t->npins == B0_TLS_MAX_PINS) {
			b0_err_set(em, "more than %d pins", B0_TLS_MAX_PINS);
			return B0_ERR_CONFIG;
		}
		if (len < PIN_PREFIX_LEN ||
		    memcmp(p, PIN_PREFIX, PIN_PREFIX_LEN) != 0 ||
		    b0_b64_decode(p + PIN_PREFIX_LEN, len - PIN_PREFIX_LEN,
			t->pins[t->npins], sizeof(t->pins[0]), &n) != 0 ||
		    n != sizeof(t->pins[0])) {
			b0_err_set(em,
			    "pin \"%.*s\": want sha256//<base64 of 32 bytes>",
			    (int)(len > 60 ? 60 : len), p);
			return B0_ERR_CONFIG;
		}
		t->npins++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

/* What both kinds of context share. */
static int
ctx_new(const struct b0_tls_config *cfg, int server, struct b0_tls_ctx **tp,
    struct b0_errmsg *em)
{
	struct b0_tls_ctx *t = NULL;
	SSL_CTX *ctx = NULL;
	int idx, r = B0_ERR_ALLOC;

	*tp = NULL;
	if ((idx = get_ex_index()) < 0)
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto out;
	t->server = server;
	if ((ctx = SSL_CTX_new(
		 server ? TLS_server_method() : TLS_client_method())) == NULL) {
		set_ssl_error(em, "SSL_CTX_new");
		goto out;
	}
	if (SSL_CTX_set_ex_data(ctx, idx, t) != 1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
		goto out;
	}
	t->ctx = ctx;
	t = NULL; /* ctx's now: freed with it */

	r = B0_ERR_TLS;
	if (SSL_CTX_set_min_proto_version(
		ctx, cfg->tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		set_ssl_error(em, "TLS versions or ciphers");
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
				     SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* A system openssl.cnf must not hide truncation from us. */
	SSL_CTX_clear_options(
	    ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
		     SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION |
		     SSL_OP_LEGACY_SERVER_CONNECT);
	/*
	 * RELEASE_BUFFERS: an idle connection holds no 16 KB record buffers
	 * (the edge keeps thousands).  Partial and moving writes suit event
	 * loops that queue what SSL_write did not take.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
				  SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase_cb);

	t = SSL_CTX_get_ex_data(ctx, idx);
	if ((r = parse_alpn(t, cfg->alpn, em)) != 0)
		goto out;
	if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
		b0_err_set(em, "a certificate needs a key and a key a "
			       "certificate");
		r = B0_ERR_CONFIG;
		goto out;
	}
	if (cfg->cert_file != NULL &&
	    ((r = load_chain(ctx, cfg->cert_file, em)) != 0 ||
		(r = load_key(ctx, cfg->cert_file, cfg->key_file, em)) != 0))
		goto out;
	*tp = t;
	ctx = NULL; /* transferred (t holds it) */
	t = NULL;
	r = 0;
out:
	if (ctx != NULL)
		SSL_CTX_free(ctx); /* frees t through ex_free() */
	else
		tls_data_free(t);
	ERR_clear_error();
	return r;
}

int
b0_tls_ctx_new_server(const struct b0_tls_config *cfg, struct b0_tls_ctx **tp,
    struct b0_errmsg *em)
{
	struct b0_tls_ctx *t = NULL;
	int r;

	*tp = NULL;
	if (cfg->cert_file == NULL) {
		b0_err_set(em, "a TLS server needs a certificate and a key");
		return B0_ERR_CONFIG;
	}
	if (cfg->ca != NULL || cfg->pin != NULL) {
		b0_err_set(em, "a TLS server does not verify client "
			       "certificates: no ca or pin");
		return B0_ERR_ARG;
	}
	if ((r = ctx_new(cfg, 1, &t, em)) != 0)
		goto out;
	if (t->alpn_len > 0)
		SSL_CTX_set_alpn_select_cb(t->ctx, alpn_select_cb, t);
	/*
	 * No session cache: it would keep a session per client in memory.
	 * Resumption, if wanted, uses stateless tickets.
	 */
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	if (cfg->session_tickets) {
		if (SSL_CTX_set_num_tickets(t->ctx, 1) != 1)
			goto tls_fail;
	} else {
		SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET);
		if (SSL_CTX_set_num_tickets(t->ctx, 0) != 1)
			goto tls_fail;
	}
	*tp = t;
	t = NULL;
	r = 0;
	goto out;
tls_fail:
	set_ssl_error(em, "session tickets");
	r = B0_ERR_TLS;
out:
	b0_tls_ctx_free(t);
	return r;
}

int
b0_tls_ctx_new_client(const struct b0_tls_config *cfg, struct b0_tls_ctx **tp,
    struct b0_errmsg *em)
{
	struct b0_tls_ctx *t = NULL;
	int r;

	*tp = NULL;
	if ((r = ctx_new(cfg, 0, &t, em)) != 0 ||
	    (r = parse_pins(t, cfg->pin, em)) != 0 ||
	    (r = load_ca(t->ctx, cfg->ca, em)) != 0)
		goto out;
	r = B0_ERR_TLS;
	if (t->alpn_len > 0 && SSL_CTX_set_alpn_protos(t->ctx, t->alpn_wire,
				   (unsigned int)t->alpn_len) != 0) {
		set_ssl_error(em, "ALPN");
		goto out;
	}
	X509_VERIFY_PARAM_set_hostflags(
	    SSL_CTX_get0_param(t->ctx), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_cert_verify_callback(t->ctx, verify_cb, t);
	*tp = t;
	t = NULL;
	r = 0;
out:
	b0_tls_ctx_free(t);
	ERR_clear_error();
	return r;
}

void
b0_tls_ctx_free(struct b0_tls_ctx *t)
{
	if (t != NULL)
		SSL_CTX_free(t->ctx); /* t goes with the last reference */
}

SSL_CTX *
b0_tls_ctx_ssl_ctx(struct b0_tls_ctx *t)
{
	return t->ctx;
}

int
b0_tls_server_new(
    struct b0_tls_ctx *t, int fd, SSL **sslp, struct b0_errmsg *em)
{
	SSL *ssl = NULL;
	int r = B0_ERR_ALLOC;

	*sslp = NULL;
	if (t == NULL || !t->server || fd < 0) {
		b0_err_set(em, "b0_tls_server_new: not a server context");
		return B0_ERR_ARG;
	}
	ERR_clear_error();
	if ((ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		set_ssl_error(em, "SSL_new");
		goto out;
	}
	SSL_set_accept_state(ssl);
	*sslp = ssl;
	ssl = NULL;
	r = 0;
out:
	SSL_free(ssl);
	return r;
}

/*
 * Normalise host into name (lower case, no trailing dot, no brackets) and
 * say whether it is an IP address literal.
 */
static int
parse_host(const char *host, char *name, size_t size, int *is_ipp,
    struct b0_errmsg *em)
{
	unsigned char addr[16];
	size_t n, i;
	int bracketed = 0;

	*is_ipp = 0;
	n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
		bracketed = 1;
	} else if (n > 1 && host[n - 1] == '.')
		n--;
	if (n == 0 || n >= size || n > 253) {
		b0_err_set(em, "host name \"%.64s\": empty or too long", host);
		return B0_ERR_ARG;
	}
	memcpy(name, host, n);
	name[n] = '\0';
	if (inet_pton(AF_INET6, name, addr) == 1 ||
	    (!bracketed && inet_pton(AF_INET, name, addr) == 1)) {
		*is_ipp = 1;
		return 0;
	}
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_' ||
			(c == '.' && i > 0 && name[i - 1] != '.')) ||
		    bracketed) {
			b0_err_set(em,
			    "host name \"%s\": not a DNS name or "
			    "IP address",
			    name);
			return B0_ERR_ARG;
		}
	}
	b0_str_lower(name);
	return 0;
}

int
b0_tls_client_new(struct b0_tls_ctx *t, int fd, const char *host, SSL **sslp,
    struct b0_errmsg *em)
{
	char name[256];
	SSL *ssl = NULL;
	int is_ip, r;

	*sslp = NULL;
	if (t == NULL || t->server || fd < 0 || host == NULL) {
		b0_err_set(em, "b0_tls_client_new: not a client context, or "
			       "no host");
		return B0_ERR_ARG;
	}
	if ((r = parse_host(host, name, sizeof(name), &is_ip, em)) != 0)
		return r;
	r = B0_ERR_ALLOC;
	ERR_clear_error();
	if ((ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		set_ssl_error(em, "SSL_new");
		goto out;
	}
	SSL_set_connect_state(ssl);
	if (is_ip) {
		/* RFC 6066 section 3: no IP addresses in SNI. */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) !=
		    1) {
			set_ssl_error(em, "IP address %s", name);
			r = B0_ERR_ARG;
			goto out;
		}
	} else if (SSL_set1_host(ssl, name) != 1 ||
		   SSL_set_tlsext_host_name(ssl, name) != 1) {
		set_ssl_error(em, "host name %s", name);
		r = B0_ERR_ARG;
		goto out;
	}
	*sslp = ssl;
	ssl = NULL;
	r = 0;
out:
	SSL_free(ssl);
	ERR_clear_error();
	return r;
}

/*
 * Map the result ret of an SSL call onto a b0 code.  saved_errno is errno
 * right after the call.
 */
static int
io_result(SSL *ssl, int ret, int saved_errno, const char *op, int *wantp,
    struct b0_errmsg *em)
{
	switch (SSL_get_error(ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		ERR_clear_error();
		*wantp = B0_TLS_WANT_READ;
		return B0_ERR_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		*wantp = B0_TLS_WANT_WRITE;
		return B0_ERR_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		b0_err_set(em, "peer closed the TLS connection");
		return B0_ERR_EOF;
	case SSL_ERROR_SYSCALL:
		if (saved_errno != 0 && saved_errno != EAGAIN &&
		    saved_errno != EWOULDBLOCK) {
			ERR_clear_error();
			b0_err_set(em, "%s: %s", op,
			    b0_strerror(B0_ERR_SYS(saved_errno)));
			return B0_ERR_SYS(saved_errno);
		}
		if (ERR_peek_error() != 0)
			return b0_tls_error(ssl, em);
		/* OpenSSL < 3 reported a bare EOF like this. */
		ERR_raise(ERR_LIB_SSL, SSL_R_UNEXPECTED_EOF_WHILE_READING);
		return b0_tls_error(ssl, em);
	case SSL_ERROR_SSL:
		return b0_tls_error(ssl, em);
	default:
		ERR_clear_error();
		b0_err_set(em, "%s: unexpected TLS state", op);
		return B0_ERR_TLS;
	}
}

int
b0_tls_handshake(SSL *ssl, int *wantp, struct b0_errmsg *em)
{
	int n;

	*wantp = B0_TLS_WANT_NONE;
	ERR_clear_error();
	errno = 0;
	if ((n = SSL_do_handshake(ssl)) == 1)
		return 0;
	return io_result(ssl, n, errno, "TLS handshake", wantp, em);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
b0_tls_handshake_timed(SSL *ssl, int timeout_ms, struct b0_errmsg *em)
{
	struct pollfd pfd;
	int64_t deadline, left;
	int r, want, fd;

	if ((fd = SSL_get_fd(ssl)) < 0 || timeout_ms < 0) {
		ERR_clear_error();
		b0_err_set(em, "TLS handshake: no socket or negative timeout");
		return B0_ERR_ARG;
	}
	deadline = now_ms() + timeout_ms;
	for (;;) {
		if ((r = b0_tls_handshake(ssl, &want, em)) != B0_ERR_AGAIN)
			return r;
		if ((left = deadline - now_ms()) <= 0) {
			b0_err_set(em, "TLS handshake timed out after %d ms",
			    timeout_ms);
			return B0_ERR_TIMEOUT;
		}
		pfd.fd = fd;
		pfd.events = want == B0_TLS_WANT_WRITE ? POLLOUT : POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
			r = b0_err_from_errno();
			b0_err_set(
			    em, "TLS handshake: poll: %s", b0_strerror(r));
			return r;
		}
		if (pfd.revents & POLLNVAL) {
			b0_err_set(em, "TLS handshake: socket is not open");
			return B0_ERR_ARG;
		}
	}
}

int
b0_tls_read(SSL *ssl, void *buf, size_t len, int *wantp, struct b0_errmsg *em)
{
	int n;

	*wantp = B0_TLS_WANT_NONE;
	if (len == 0)
		return B0_ERR_ARG;
	ERR_clear_error();
	errno = 0;
	if ((n = SSL_read(ssl, buf, len > INT_MAX ? INT_MAX : (int)len)) > 0)
		return n;
	return io_result(ssl, n, errno, "TLS read", wantp, em);
}

int
b0_tls_write(
    SSL *ssl, const void *buf, size_t len, int *wantp, struct b0_errmsg *em)
{
	int n;

	*wantp = B0_TLS_WANT_NONE;
	if (len == 0)
		return B0_ERR_ARG;
	ERR_clear_error();
	errno = 0;
	if ((n = SSL_write(ssl, buf, len > INT_MAX ? INT_MAX : (int)len)) > 0)
		return n;
	return io_result(ssl, n, errno, "TLS write", wantp, em);
}

int
b0_tls_shutdown(SSL *ssl, int *wantp, struct b0_errmsg *em)
{
	int n;

	*wantp = B0_TLS_WANT_NONE;
	ERR_clear_error();
	errno = 0;
	/* 0: ours is sent, the peer's not seen yet; 1: both. */
	if ((n = SSL_shutdown(ssl)) >= 0)
		return 0;
	return io_result(ssl, n, errno, "TLS shutdown", wantp, em);
}

const char *
b0_tls_sni(const SSL *ssl)
{
	return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}

const char *
b0_tls_alpn(const SSL *ssl)
{
	const struct b0_tls_ctx *t = ssl_data(ssl);
	const unsigned char *p = NULL;
	unsigned int len = 0;
	size_t i;

	SSL_get0_alpn_selected(ssl, &p, &len);
	if (t == NULL || p == NULL || len == 0)
		return NULL;
	for (i = 0; i < t->nalpn; i++) {
		if (strlen(t->alpn[i]) == len &&
		    memcmp(t->alpn[i], p, len) == 0)
			return t->alpn[i];
	}
	return NULL;
}

/* Words for one queued error: alerts named, common puzzles explained. */
static void
describe(unsigned long e, const char *data, int flags, char *buf, size_t size)
{
	const char *s = NULL;
	int reason = ERR_GET_REASON(e);

	if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
		if (reason >= SSL_AD_REASON_OFFSET &&
		    reason < SSL_AD_REASON_OFFSET + 256) {
			const char *a = SSL_alert_desc_string_long(
			    reason - SSL_AD_REASON_OFFSET);

			if (a != NULL && strcmp(a, "unknown") != 0) {
				snprintf(
				    buf, size, "peer sent TLS alert: %s", a);
				return;
			}
		}
		switch (reason) {
		case SSL_R_WRONG_VERSION_NUMBER:
			s = "wrong version number (is the peer speaking TLS?)";
			break;
		case SSL_R_HTTP_REQUEST:
			s = "plain HTTP request on a TLS port";
			break;
		case SSL_R_UNSUPPORTED_PROTOCOL:
		case SSL_R_NO_PROTOCOLS_AVAILABLE:
			s = "no TLS version in common with the peer";
			break;
		case SSL_R_NO_SHARED_CIPHER:
			s = "no cipher in common with the peer";
			break;
		case SSL_R_NO_APPLICATION_PROTOCOL:
			s = "no application protocol (ALPN) in common with "
			    "the peer";
			break;
		}
	}
	if (s == NULL)
		s = ERR_reason_error_string(e);
	if (s == NULL)
		snprintf(buf, size, "error %lx", e);
	else
		snprintf(buf, size, "%s", s);
	if ((flags & ERR_TXT_STRING) && data != NULL && data[0] != '\0') {
		b0_strlcat(buf, " (", size);
		b0_strlcat(buf, data, size);
		b0_strlcat(buf, ")", size);
	}
}

/* ", certificate is for a, b" from x's subjectAltName (or CN). */
static void
cert_names(X509 *x, char *buf, size_t size)
{
	GENERAL_NAMES *gens;
	char one[256];
	int i, n = 0;

	buf[0] = '\0';
	if (x == NULL)
		return;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;
		int len;

		one[0] = '\0';
		if (g->type == GEN_DNS) {
			s = g->d.dNSName;
			len = ASN1_STRING_length(s);
			if (len > 0 && (size_t)len < sizeof(one)) {
				memcpy(
				    one, ASN1_STRING_get0_data(s), (size_t)len);
				one[len] = '\0';
			}
		} else if (g->type == GEN_IPADD) {
			s = g->d.iPAddress;
			len = ASN1_STRING_length(s);
			if (len == 4 || len == 16)
				inet_ntop(len == 4 ? AF_INET : AF_INET6,
				    ASN1_STRING_get0_data(s), one, sizeof(one));
		}
		if (one[0] == '\0')
			continue;
		b0_strlcat(
		    buf, n++ == 0 ? ", certificate is for " : ", ", size);
		b0_strlcat(buf, one, size);
	}
	GENERAL_NAMES_free(gens);
	if (n == 0 && X509_NAME_get_text_by_NID(X509_get_subject_name(x),
			  NID_commonName, one, sizeof(one)) > 0) {
		b0_strlcat(buf, ", certificate is for CN=", size);
		b0_strlcat(buf, one, size);
	}
	ERR_clear_error();
}

/* "certificate verify failed: <why> (expected <host>...)" */
static void
verify_text(SSL *ssl, char *buf, size_t size)
{
	const struct b0_tls_ctx *t = ssl_data(ssl);
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = NULL;
	const char *host;
	char *ip = NULL, extra[200], pin[B0_TLS_PIN_LEN];
	char ip6[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	long v = SSL_get_verify_result(ssl);

	if (chain != NULL && sk_X509_num(chain) > 0)
		leaf = sk_X509_value(chain, 0);
	if ((host = X509_VERIFY_PARAM_get0_host(param, 0)) == NULL &&
	    (host = ip = X509_VERIFY_PARAM_get1_ip_asc(param)) != NULL &&
	    inet_pton(AF_INET6, ip, addr) == 1 &&
	    inet_ntop(AF_INET6, addr, ip6, sizeof(ip6)) != NULL)
		host = ip6; /* "::1", not "0:0:0:0:0:0:0:1" */
	extra[0] = '\0';
	if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
	    v == X509_V_ERR_IP_ADDRESS_MISMATCH)
		cert_names(leaf, extra, sizeof(extra));
	b0_strlcpy(buf, "certificate verify failed", size);
	if (v == X509_V_ERR_APPLICATION_VERIFICATION && t != NULL &&
	    t->npins > 0) {
		if (leaf == NULL ||
		    b0_tls_cert_pin(leaf, pin, sizeof(pin)) != 0)
			b0_strlcpy(pin, "(unknown)", sizeof(pin));
		b0_strlcat(buf, ": public key ", size);
		b0_strlcat(buf, pin, size);
		b0_strlcat(buf, " matches no configured pin", size);
	} else if (v != X509_V_OK) {
		b0_strlcat(buf, ": ", size);
		b0_strlcat(buf, X509_verify_cert_error_string(v), size);
	}
	if (v != X509_V_OK) {
		b0_strlcat(buf, " (expected ", size);
		b0_strlcat(buf, host != NULL ? host : "?", size);
		b0_strlcat(buf, extra, size);
		b0_strlcat(buf, ")", size);
	}
	OPENSSL_free(ip);
	ERR_clear_error();
}

/*
 * Did the handshake get as far as the peer's Finished?  (After a fatal
 * error SSL_is_init_finished() is false whenever it happened.)
 */
static int
saw_peer_finished(const SSL *ssl)
{
	unsigned char md[EVP_MAX_MD_SIZE];

	return SSL_get_peer_finished(ssl, md, sizeof(md)) > 0;
}

int
b0_tls_error(SSL *ssl, struct b0_errmsg *em)
{
	char line[sizeof(em->text)], one[sizeof(em->text)];
	const char *data;
	unsigned long e, prev = 0;
	int flags, verify_failed = 0, truncated = 0, r = B0_ERR_TLS;

	line[0] = '\0';
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
			if (ERR_GET_REASON(e) ==
			    SSL_R_CERTIFICATE_VERIFY_FAILED) {
				verify_failed = 1;
				continue;
			}
			if (ERR_GET_REASON(e) ==
			    SSL_R_UNEXPECTED_EOF_WHILE_READING) {
				truncated = 1;
				continue;
			}
		}
		if (e == prev)
			continue;
		prev = e;
		describe(e, data, flags, one, sizeof(one));
		if (line[0] != '\0')
			b0_strlcat(line, "; ", sizeof(line));
		b0_strlcat(line, one, sizeof(line));
	}
	one[0] = '\0';
	if (truncated) {
		r = B0_ERR_PROTOCOL;
		if (ssl != NULL && !saw_peer_finished(ssl))
			snprintf(one, sizeof(one),
			    "peer closed the connection during the TLS "
			    "handshake");
		else
			snprintf(one, sizeof(one),
			    "peer closed without close_notify (truncated)");
	} else if (verify_failed && ssl != NULL)
		verify_text(ssl, one, sizeof(one));
	else if (verify_failed)
		snprintf(one, sizeof(one), "certificate verify failed");
	if (one[0] != '\0' && line[0] != '\0')
		b0_strlcat(one, "; ", sizeof(one));
	b0_strlcat(one, line, sizeof(one));
	if (one[0] == '\0')
		snprintf(
		    one, sizeof(one), "TLS error (no detail from OpenSSL)");
	b0_err_set(em, "%s", one);
	ERR_clear_error();
	return r;
}
