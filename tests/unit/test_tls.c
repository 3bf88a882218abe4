/*
 * Unit tests for lib/b0_tls.
 *
 * The test makes its own PKI in a temporary directory (a root CA, an
 * intermediate, a server certificate for edge.test, *.edge.test and
 * 127.0.0.1, an expired one, one from another CA, an encrypted key) and
 * runs client and server in this process over non-blocking socketpairs,
 * driving both handshakes in turn; the blocking helper gets a forked peer.
 * Nothing touches the network.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "b0_err.h"
#include "b0_tls.h"
#include "tap.h"

static char dir[64];
static char hashname[64]; /* cadir/<hash>.0 */

/* Files the test writes, removed at the end. */
static const char *const files[] = {"root.pem", "server.pem", "server.key",
    "expired.pem", "expired.key", "other.pem", "other.key", "enc.key",
    "garbage.pem", "link.pem", "cadir", NULL};

static const char *
path(const char *name)
{
	static char buf[8][128];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void
die(const char *what)
{
	printf("Bail out! %s\n", what);
	ERR_print_errors_fp(stdout);
	exit(2);
}

/* ---- a small CA ---- */

static EVP_PKEY *
keygen(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (k == NULL)
		die("keygen");
	return k;
}

static void
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);

	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		die(value);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for key with subject CN=cn, valid from now+from to now+to
 * seconds, signed by issuer/ikey (NULL: self-signed), a CA if ca.
 */
static X509 *
mkcert(long serial, const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey,
    const char *san, int ca, long from, long to)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), from) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), to) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		die("mkcert");
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(
		x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1)
		die("mkcert name");
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	add_ext(x, &v3, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, &v3, NID_key_usage,
	    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	add_ext(x, &v3, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, &v3, NID_authority_key_identifier, "keyid:always");
	if (!ca)
		add_ext(x, &v3, NID_ext_key_usage, "serverAuth");
	if (san != NULL)
		add_ext(x, &v3, NID_subject_alt_name, san);
	if (X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256()) <= 0)
		die("sign");
	return x;
}

/* Write certificates (and a key, maybe encrypted) to a PEM file. */
static void
write_pem(const char *name, X509 *a, X509 *b, EVP_PKEY *key, int encrypt)
{
	FILE *fp = fopen(path(name), "w");

	if (fp == NULL)
		die(name);
	if ((a != NULL && PEM_write_X509(fp, a) != 1) ||
	    (b != NULL && PEM_write_X509(fp, b) != 1))
		die(name);
	if (key != NULL &&
	    PEM_write_PrivateKey(fp, key, encrypt ? EVP_aes_128_cbc() : NULL,
		encrypt ? (unsigned char *)"secret" : NULL, encrypt ? 6 : 0,
		NULL, NULL) != 1)
		die(name);
	if (fclose(fp) != 0)
		die(name);
}

static X509 *server_cert, *other_cert;

static void
make_pki(void)
{
	EVP_PKEY *root_key = keygen(), *int_key = keygen(), *srv_key = keygen(),
		 *exp_key = keygen(), *oca_key = keygen(), *oth_key = keygen();
	X509 *root, *inter, *expired, *oca;
	const long day = 86400;
	FILE *fp;

	root = mkcert(
	    1, "b0 test root", root_key, NULL, NULL, NULL, 1, -day, 30 * day);
	inter = mkcert(2, "b0 test intermediate", int_key, root, root_key, NULL,
	    1, -day, 30 * day);
	server_cert = mkcert(3, "edge.test", srv_key, inter, int_key,
	    "DNS:edge.test,DNS:*.edge.test,IP:127.0.0.1", 0, -day, 30 * day);
	expired = mkcert(4, "edge.test", exp_key, inter, int_key,
	    "DNS:edge.test", 0, -3 * day, -day);
	oca = mkcert(
	    5, "some other CA", oca_key, NULL, NULL, NULL, 1, -day, 30 * day);
	other_cert = mkcert(6, "edge.test", oth_key, oca, oca_key,
	    "DNS:edge.test", 0, -day, 30 * day);

	write_pem("root.pem", root, NULL, NULL, 0);
	write_pem("server.pem", server_cert, inter, NULL, 0);
	write_pem("server.key", NULL, NULL, srv_key, 0);
	write_pem("expired.pem", expired, inter, NULL, 0);
	write_pem("expired.key", NULL, NULL, exp_key, 0);
	write_pem("other.pem", other_cert, oca, NULL, 0);
	write_pem("other.key", NULL, NULL, oth_key, 0);
	write_pem("enc.key", NULL, NULL, srv_key, 1);
	if ((fp = fopen(path("garbage.pem"), "w")) == NULL ||
	    fputs("this is not PEM\n", fp) == EOF || fclose(fp) != 0)
		die("garbage.pem");
	/* Certificates are often symlinks (certbot's live/ directory). */
	if (symlink(path("server.pem"), path("link.pem")) == -1)
		die("symlink");
	/* A c_rehash'ed directory holding the root. */
	if (mkdir(path("cadir"), 0700) == -1)
		die("cadir");
	snprintf(hashname, sizeof(hashname), "cadir/%08lx.0",
	    X509_subject_name_hash(root));
	if ((fp = fopen(path(hashname), "w")) == NULL ||
	    PEM_write_X509(fp, root) != 1 || fclose(fp) != 0)
		die("cadir");

	X509_free(root);
	X509_free(inter);
	X509_free(expired);
	X509_free(oca);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(exp_key);
	EVP_PKEY_free(oca_key);
	EVP_PKEY_free(oth_key);
	ERR_clear_error();
}

static void
remove_pki(void)
{
	const char *p;
	struct stat st;
	size_t i;

	unlink(path(hashname));
	for (i = 0; files[i] != NULL; i++) {
		p = path(files[i]);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rmdir(p);
		else
			unlink(p);
	}
	rmdir(dir);
	X509_free(server_cert);
	X509_free(other_cert);
}

/* ---- contexts ---- */

static const char *const alpn_server[] = {"b0/1", "h2", "http/1.1", NULL};
static const char *const alpn_client[] = {"http/1.1", "h2", NULL};
static const char *const alpn_x[] = {"x", NULL};

static struct b0_tls_ctx *
server_ctx(const char *cert, const char *key, const char *const *alpn,
    int tls13_only, int tickets)
{
	struct b0_tls_config cfg = {0};
	struct b0_tls_ctx *t = NULL;
	struct b0_errmsg em = {""};

	cfg.cert_file = path(cert);
	cfg.key_file = path(key);
	cfg.alpn = alpn;
	cfg.tls13_only = tls13_only;
	cfg.session_tickets = tickets;
	if (b0_tls_ctx_new_server(&cfg, &t, &em) != 0) {
		tap_diag("server context: %s", em.text);
		die("server context");
	}
	return t;
}

/* ca: a file name in dir, "" for the system store. */
static struct b0_tls_ctx *
client_ctx(const char *ca, const char *pin, const char *const *alpn)
{
	struct b0_tls_config cfg = {0};
	struct b0_tls_ctx *t = NULL;
	struct b0_errmsg em = {""};

	cfg.ca = ca[0] != '\0' ? path(ca) : NULL;
	cfg.pin = pin;
	cfg.alpn = alpn;
	if (b0_tls_ctx_new_client(&cfg, &t, &em) != 0) {
		tap_diag("client context: %s", em.text);
		die("client context");
	}
	return t;
}

/* ---- a client and a server over a socketpair ---- */

struct pair {
	int cfd, sfd;
	SSL *c, *s;
	int rc, rs; /* handshake results */
	struct b0_errmsg cem, sem;
};

static void
pair_open(struct pair *p, struct b0_tls_ctx *st, struct b0_tls_ctx *ct,
    const char *host)
{
	int sv[2];
	struct b0_errmsg em = {""};

	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		sv) == -1)
		die("socketpair");
	p->cfd = sv[0];
	p->sfd = sv[1];
	if (b0_tls_server_new(st, p->sfd, &p->s, &em) != 0 ||
	    b0_tls_client_new(ct, p->cfd, host, &p->c, &em) != 0) {
		tap_diag("%s", em.text);
		die("SSL");
	}
}

/* Drive both handshakes in turn until neither wants more (bounded). */
static void
pair_handshake(struct pair *p)
{
	int i, want;

	p->rc = p->rs = B0_ERR_AGAIN;
	for (i = 0; i < 50; i++) {
		if (p->rc == B0_ERR_AGAIN)
			p->rc = b0_tls_handshake(p->c, &want, &p->cem);
		if (p->rs == B0_ERR_AGAIN)
			p->rs = b0_tls_handshake(p->s, &want, &p->sem);
		if (p->rc != B0_ERR_AGAIN && p->rs != B0_ERR_AGAIN)
			break;
	}
}

static void
pair_close(struct pair *p)
{
	SSL_free(p->c);
	SSL_free(p->s);
	if (p->cfd != -1)
		close(p->cfd);
	if (p->sfd != -1)
		close(p->sfd);
}

/* Handshake from a fresh pair; 1 if both sides succeeded. */
static int
connect_ok(struct b0_tls_ctx *st, struct b0_tls_ctx *ct, const char *host,
    const char *name)
{
	struct pair p;
	int good;

	pair_open(&p, st, ct, host);
	pair_handshake(&p);
	good = p.rc == 0 && p.rs == 0;
	if (!ok(good, "%s: handshake succeeds", name))
		tap_diag("client %d \"%s\", server %d \"%s\"", p.rc, p.cem.text,
		    p.rs, p.sem.text);
	pair_close(&p);
	return good;
}

/*
 * Handshake that the client must refuse; the client's message must
 * contain want.
 */
static void
client_refuses(struct b0_tls_ctx *st, struct b0_tls_ctx *ct, const char *host,
    const char *want, const char *name)
{
	struct pair p;

	pair_open(&p, st, ct, host);
	pair_handshake(&p);
	is_int(p.rc, B0_ERR_TLS, "%s: client refuses", name);
	has_str(p.cem.text, want, "%s: client says why", name);
	ok(p.rs != 0 && p.rs != B0_ERR_AGAIN, "%s: server fails too (%s)", name,
	    p.sem.text);
	is_int(ERR_peek_error(), 0, "%s: error queue empty", name);
	tap_diag("client: %s", p.cem.text);
	tap_diag("server: %s", p.sem.text);
	pair_close(&p);
}

/* Read exactly n bytes (bounded retries; the data is already there). */
static int
read_n(SSL *ssl, char *buf, size_t n, struct b0_errmsg *em)
{
	size_t got = 0;
	int i, r, want;

	for (i = 0; i < 20 && got < n; i++) {
		r = b0_tls_read(ssl, buf + got, n - got, &want, em);
		if (r > 0)
			got += (size_t)r;
		else if (r != B0_ERR_AGAIN)
			return r;
	}
	return got == n ? 0 : B0_ERR_AGAIN;
}

static int
write_all(SSL *ssl, const char *buf, size_t n, struct b0_errmsg *em)
{
	size_t put = 0;
	int i, r, want;

	for (i = 0; i < 20 && put < n; i++) {
		r = b0_tls_write(ssl, buf + put, n - put, &want, em);
		if (r > 0)
			put += (size_t)r;
		else if (r != B0_ERR_AGAIN)
			return r;
	}
	return put == n ? 0 : B0_ERR_AGAIN;
}

/* ---- tests ---- */

static void
test_ctx_errors(void)
{
	static const struct {
		const char *cert, *key, *want1, *want2;
		int r;
	} t[] = {
	    {"missing.pem", "server.key", "missing.pem",
		"No such file or directory", B0_ERR_SYS(ENOENT)},
	    {"server.pem", "missing.key", "missing.key",
		"No such file or directory", B0_ERR_SYS(ENOENT)},
	    {"server.pem", "other.key", "other.key does not match",
		"server.pem", B0_ERR_CONFIG},
	    {"garbage.pem", "server.key", "garbage.pem", "no PEM certificate",
		B0_ERR_CONFIG},
	    {"server.pem", "garbage.pem", "garbage.pem", "no PEM private key",
		B0_ERR_CONFIG},
	    {"server.pem", "enc.key", "enc.key is encrypted", "passphrase",
		B0_ERR_CONFIG},
	    {"cadir", "server.key", "cadir", "not a regular file",
		B0_ERR_CONFIG},
	};
	struct b0_tls_config cfg;
	struct b0_tls_ctx *ctx;
	struct b0_errmsg em;
	size_t i;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&cfg, 0, sizeof(cfg));
		em.text[0] = '\0';
		cfg.cert_file = path(t[i].cert);
		cfg.key_file = path(t[i].key);
		ctx = (struct b0_tls_ctx *)&cfg; /* must be reset */
		r = b0_tls_ctx_new_server(&cfg, &ctx, &em);
		is_int(
		    r, t[i].r, "server %s + %s refused", t[i].cert, t[i].key);
		ok(ctx == NULL, "server %s + %s: no context", t[i].cert,
		    t[i].key);
		has_str(em.text, t[i].want1, "server %s + %s: message names it",
		    t[i].cert, t[i].key);
		has_str(em.text, t[i].want2, "server %s + %s: message says why",
		    t[i].cert, t[i].key);
		is_int(ERR_peek_error(), 0, "server %s + %s: queue empty",
		    t[i].cert, t[i].key);
		tap_diag("%s", em.text);
		b0_tls_ctx_free(ctx);
	}

	/* A server needs a certificate; does not take ca or pin. */
	memset(&cfg, 0, sizeof(cfg));
	is_int(b0_tls_ctx_new_server(&cfg, &ctx, &em), B0_ERR_CONFIG,
	    "server without certificate refused");
	cfg.cert_file = path("server.pem");
	cfg.key_file = path("server.key");
	cfg.pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	is_int(b0_tls_ctx_new_server(&cfg, &ctx, &em), B0_ERR_ARG,
	    "server with a pin refused");
	cfg.pin = NULL;
	cfg.alpn = (const char *const[]){"h2", "", NULL};
	is_int(b0_tls_ctx_new_server(&cfg, &ctx, &em), B0_ERR_ARG,
	    "empty ALPN protocol refused");
	has_str(em.text, "ALPN", "empty ALPN protocol: message");

	/* Client: CA files and pins. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.ca = path("missing-ca.pem");
	is_int(b0_tls_ctx_new_client(&cfg, &ctx, &em), B0_ERR_SYS(ENOENT),
	    "missing CA file refused");
	has_str(em.text, "missing-ca.pem", "missing CA file named");
	cfg.ca = path("garbage.pem");
	is_int(b0_tls_ctx_new_client(&cfg, &ctx, &em), B0_ERR_CONFIG,
	    "CA file without certificates refused");
	has_str(em.text, "garbage.pem", "CA file without certificates named");
	is_int(ERR_peek_error(), 0, "CA errors: queue empty");
	cfg.ca = path("root.pem");
	cfg.key_file = path("server.key");
	is_int(b0_tls_ctx_new_client(&cfg, &ctx, &em), B0_ERR_CONFIG,
	    "client key without certificate refused");
	cfg.key_file = NULL;
	{
		static const char *const bad[] = {
		    "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		    "sha1//AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;",
		    "",
		    "sha256//",
		};
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			cfg.pin = bad[i];
			em.text[0] = '\0';
			is_int(b0_tls_ctx_new_client(&cfg, &ctx, &em),
			    B0_ERR_CONFIG, "bad pin \"%s\" refused", bad[i]);
			has_str(
			    em.text, "pin", "bad pin \"%s\": message", bad[i]);
		}
	}
	cfg.pin = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	ctx = NULL;
	is_int(b0_tls_ctx_new_client(&cfg, &ctx, &em), 0, "good pin taken");
	ok(ctx != NULL, "good pin: context");
	{
		int sv[2];
		SSL *ssl = (SSL *)&cfg;

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
			die("socketpair");
		is_int(b0_tls_server_new(ctx, sv[0], &ssl, &em), B0_ERR_ARG,
		    "server SSL from a client context refused");
		ok(ssl == NULL, "no SSL from a client context");
		is_int(b0_tls_client_new(ctx, sv[0], "a b", &ssl, &em),
		    B0_ERR_ARG, "host name with a space refused");
		is_int(b0_tls_client_new(ctx, sv[0], "", &ssl, &em), B0_ERR_ARG,
		    "empty host name refused");
		is_int(b0_tls_client_new(ctx, sv[0], "a..b", &ssl, &em),
		    B0_ERR_ARG, "empty label refused");
		is_int(b0_tls_client_new(ctx, sv[0], "[edge.test]", &ssl, &em),
		    B0_ERR_ARG, "bracketed name refused");
		close(sv[0]);
		close(sv[1]);
	}
	b0_tls_ctx_free(ctx);
	b0_tls_ctx_free(NULL);
}

static void
test_success(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", alpn_server, 0, 0),
			  *ct = client_ctx("root.pem", NULL, alpn_client);
	struct pair p;
	char buf[16];

	pair_open(&p, st, ct, "edge.test");
	pair_handshake(&p);
	is_int(p.rc, 0, "client handshake");
	is_int(p.rs, 0, "server handshake");
	if (p.rc != 0 || p.rs != 0)
		tap_diag(
		    "client \"%s\", server \"%s\"", p.cem.text, p.sem.text);
	is_str(b0_tls_sni(p.s), "edge.test", "server reads SNI");
	is_str(b0_tls_alpn(p.s), "h2", "server picks ALPN in its own order");
	is_str(b0_tls_alpn(p.c), "h2", "client sees the same ALPN");
	is_int(SSL_version(p.c), TLS1_3_VERSION, "TLS 1.3 negotiated");
	is_str(SSL_get_cipher_name(p.c), "TLS_AES_128_GCM_SHA256",
	    "AES-128-GCM preferred");
	ok(SSL_get_mode(p.s) & SSL_MODE_RELEASE_BUFFERS,
	    "idle connections release their buffers");
	ok((SSL_get_options(p.s) & SSL_OP_NO_COMPRESSION) &&
		(SSL_get_options(p.s) & SSL_OP_NO_RENEGOTIATION) &&
		(SSL_get_options(p.c) & SSL_OP_NO_RENEGOTIATION) &&
		!(SSL_get_options(p.s) & SSL_OP_IGNORE_UNEXPECTED_EOF),
	    "no compression, no renegotiation, truncation detected");
	is_int(write_all(p.c, "ping", 4, &p.cem), 0, "client writes");
	is_int(read_n(p.s, buf, 4, &p.sem), 0, "server reads");
	ok(memcmp(buf, "ping", 4) == 0, "server got ping");
	is_int(write_all(p.s, "pong", 4, &p.sem), 0, "server writes");
	is_int(read_n(p.c, buf, 4, &p.cem), 0, "client reads");
	ok(memcmp(buf, "pong", 4) == 0, "client got pong");
	{
		int want = -1;

		is_int(b0_tls_read(p.s, buf, sizeof(buf), &want, &p.sem),
		    B0_ERR_AGAIN, "idle read: again");
		is_int(want, B0_TLS_WANT_READ, "idle read: wants read");
		is_int(b0_tls_read(p.s, buf, 0, &want, &p.sem), B0_ERR_ARG,
		    "zero-length read refused");
	}
	pair_close(&p);

	/* Names: case, trailing dot, wildcard (one label only). */
	pair_open(&p, st, ct, "EDGE.Test.");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "upper case and trailing dot accepted");
	is_str(b0_tls_sni(p.s), "edge.test", "SNI lower case, no dot");
	pair_close(&p);
	pair_open(&p, st, ct, "lab1-r1.edge.test");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "wildcard name accepted");
	is_str(b0_tls_sni(p.s), "lab1-r1.edge.test", "wildcard SNI read back");
	pair_close(&p);
	client_refuses(st, ct, "a.b.edge.test", "hostname mismatch",
	    "wildcard covers one label only");

	/* A symlinked chain and a client certificate load. */
	b0_tls_ctx_free(st);
	st = server_ctx("link.pem", "server.key", NULL, 0, 0);
	connect_ok(st, ct, "edge.test", "certificate through a symlink");
	{
		struct b0_tls_config cfg = {0};
		struct b0_tls_ctx *cc = NULL;
		struct b0_errmsg em = {""};

		cfg.ca = path("root.pem");
		cfg.cert_file = path("other.pem");
		cfg.key_file = path("other.key");
		is_int(b0_tls_ctx_new_client(&cfg, &cc, &em), 0,
		    "client certificate loads (%s)", em.text);
		if (cc != NULL)
			connect_ok(
			    st, cc, "edge.test", "client with a certificate");
		b0_tls_ctx_free(cc);
	}

	/* A CA directory verifies too. */
	b0_tls_ctx_free(ct);
	ct = client_ctx("cadir", NULL, NULL);
	connect_ok(st, ct, "edge.test", "CA directory");
	b0_tls_ctx_free(ct);
	b0_tls_ctx_free(st);
}

static void
test_verify_failures(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", NULL, 0, 0),
			  *ct = client_ctx("root.pem", NULL, NULL), *sys, *xt;

	client_refuses(st, ct, "wrong.test",
	    "certificate verify failed: hostname mismatch (expected "
	    "wrong.test, certificate is for edge.test, *.edge.test, "
	    "127.0.0.1)",
	    "wrong host name");

	xt = server_ctx("other.pem", "other.key", NULL, 0, 0);
	client_refuses(xt, ct, "edge.test",
	    "certificate verify failed: self-signed certificate in "
	    "certificate chain (expected edge.test)",
	    "unknown CA");
	{
		struct pair p;

		pair_open(&p, xt, ct, "edge.test");
		pair_handshake(&p);
		has_str(p.sem.text, "peer sent TLS alert",
		    "server hears the client's alert");
		pair_close(&p);
	}
	b0_tls_ctx_free(xt);

	/* Our test root is not in the system store. */
	sys = client_ctx("", NULL, NULL);
	client_refuses(st, sys, "edge.test",
	    "certificate verify failed: unable to get local issuer "
	    "certificate (expected edge.test)",
	    "system store does not know the test CA");
	b0_tls_ctx_free(sys);

	xt = server_ctx("expired.pem", "expired.key", NULL, 0, 0);
	client_refuses(xt, ct, "edge.test",
	    "certificate verify failed: certificate has expired (expected "
	    "edge.test)",
	    "expired certificate");
	b0_tls_ctx_free(xt);

	b0_tls_ctx_free(ct);
	b0_tls_ctx_free(st);
}

/* The pin of x computed here, independently of b0_tls_cert_pin(). */
static void
pin_of(X509 *x, char *out, size_t size)
{
	unsigned char *der = NULL, md[32];
	unsigned char b64[48];
	int len = i2d_PUBKEY(X509_get0_pubkey(x), &der);

	if (len <= 0 || SHA256(der, (size_t)len, md) == NULL)
		die("pin_of");
	OPENSSL_free(der);
	EVP_EncodeBlock(b64, md, sizeof(md));
	snprintf(out, size, "sha256//%.44s", b64);
}

static void
test_pins(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", NULL, 0, 0),
			  *ct;
	char good[B0_TLS_PIN_LEN], bad[B0_TLS_PIN_LEN], two[200], small[20];

	pin_of(server_cert, good, sizeof(good));
	pin_of(other_cert, bad, sizeof(bad));
	{
		char mine[B0_TLS_PIN_LEN];

		is_int(b0_tls_cert_pin(server_cert, mine, sizeof(mine)), 0,
		    "b0_tls_cert_pin");
		is_str(mine, good, "b0_tls_cert_pin as curl computes it");
		is_int(b0_tls_cert_pin(server_cert, small, sizeof(small)),
		    B0_ERR_TOO_BIG, "b0_tls_cert_pin: small buffer");
	}

	ct = client_ctx("root.pem", good, NULL);
	connect_ok(st, ct, "edge.test", "pinned key matches");
	client_refuses(st, ct, "wrong.test", "hostname mismatch",
	    "pin does not excuse a wrong name");
	b0_tls_ctx_free(ct);

	ct = client_ctx("root.pem", bad, NULL);
	snprintf(two, sizeof(two),
	    "certificate verify failed: public key %s matches no configured "
	    "pin (expected edge.test)",
	    good);
	client_refuses(st, ct, "edge.test", two, "pinned key mismatch");
	b0_tls_ctx_free(ct);

	snprintf(two, sizeof(two), "%s;%s", bad, good);
	ct = client_ctx("root.pem", two, NULL);
	connect_ok(st, ct, "edge.test", "second of two pins matches");
	b0_tls_ctx_free(ct);

	/* The pin is checked in addition to the chain, never instead. */
	{
		struct b0_tls_ctx *xt =
		    server_ctx("other.pem", "other.key", NULL, 0, 0);

		ct = client_ctx("root.pem", bad, NULL);
		client_refuses(xt, ct, "edge.test", "self-signed certificate",
		    "pin does not excuse an unknown CA");
		b0_tls_ctx_free(ct);
		b0_tls_ctx_free(xt);
	}
	b0_tls_ctx_free(st);
}

static void
test_ip(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", NULL, 0, 0),
			  *ct = client_ctx("root.pem", NULL, NULL);
	struct pair p;

	pair_open(&p, st, ct, "127.0.0.1");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "IP address verified (%s)", p.cem.text);
	ok(b0_tls_sni(p.s) == NULL, "no SNI for an IP address");
	pair_close(&p);
	client_refuses(st, ct, "127.0.0.2",
	    "certificate verify failed: IP address mismatch (expected "
	    "127.0.0.2, certificate is for edge.test, *.edge.test, 127.0.0.1)",
	    "wrong IP address");
	client_refuses(st, ct, "[::1]", "IP address mismatch (expected ::1,",
	    "IPv6 literal in brackets");
	b0_tls_ctx_free(ct);
	b0_tls_ctx_free(st);
}

static void
test_alpn(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", alpn_server, 0, 0),
			  *ct = client_ctx("root.pem", NULL, alpn_x), *plain;
	struct pair p;

	pair_open(&p, st, ct, "edge.test");
	pair_handshake(&p);
	is_int(p.rs, B0_ERR_TLS, "ALPN mismatch: server refuses");
	has_str(p.sem.text, "no application protocol",
	    "ALPN mismatch: server says why");
	is_int(p.rc, B0_ERR_TLS, "ALPN mismatch: client fails");
	has_str(p.cem.text, "peer sent TLS alert: no application protocol",
	    "ALPN mismatch: client hears no_application_protocol");
	is_int(ERR_peek_error(), 0, "ALPN mismatch: queue empty");
	pair_close(&p);
	b0_tls_ctx_free(ct);

	ct = client_ctx("root.pem", NULL, NULL);
	pair_open(&p, st, ct, "edge.test");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "client without ALPN accepted");
	ok(b0_tls_alpn(p.s) == NULL && b0_tls_alpn(p.c) == NULL,
	    "no ALPN negotiated");
	pair_close(&p);
	b0_tls_ctx_free(ct);

	/* A server without ALPN ignores what clients offer. */
	plain = server_ctx("server.pem", "server.key", NULL, 0, 0);
	ct = client_ctx("root.pem", NULL, alpn_client);
	pair_open(&p, plain, ct, "edge.test");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "server without ALPN accepts ALPN client");
	ok(b0_tls_alpn(p.c) == NULL, "no ALPN from a server without ALPN");
	pair_close(&p);
	b0_tls_ctx_free(ct);
	b0_tls_ctx_free(plain);
	b0_tls_ctx_free(st);
}

static void
test_versions(void)
{
	struct b0_tls_ctx *st13 = server_ctx(
			      "server.pem", "server.key", NULL, 1, 0),
			  *st = server_ctx(
			      "server.pem", "server.key", NULL, 0, 0),
			  *ct12 = client_ctx("root.pem", NULL, NULL);
	struct pair p;

	if (SSL_CTX_set_max_proto_version(
		b0_tls_ctx_ssl_ctx(ct12), TLS1_2_VERSION) != 1)
		die("max version");
	pair_open(&p, st13, ct12, "edge.test");
	pair_handshake(&p);
	is_int(p.rs, B0_ERR_TLS, "TLS 1.2 client: 1.3-only server refuses");
	has_str(p.sem.text, "no TLS version in common",
	    "TLS 1.2 client: server says why");
	is_int(p.rc, B0_ERR_TLS, "TLS 1.2 client: fails");
	has_str(p.cem.text, "peer sent TLS alert: protocol version",
	    "TLS 1.2 client: hears protocol_version");
	is_int(ERR_peek_error(), 0, "TLS 1.2 refused: queue empty");
	pair_close(&p);

	pair_open(&p, st, ct12, "edge.test");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "TLS 1.2 client: default server accepts");
	is_int(SSL_version(p.s), TLS1_2_VERSION, "TLS 1.2 negotiated");
	is_str(SSL_get_cipher_name(p.s), "ECDHE-ECDSA-AES128-GCM-SHA256",
	    "TLS 1.2: ECDHE with AES-128-GCM");
	pair_close(&p);
	b0_tls_ctx_free(ct12);
	b0_tls_ctx_free(st13);
	b0_tls_ctx_free(st);
}

static void
test_close(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", NULL, 0, 0),
			  *ct = client_ctx("root.pem", NULL, NULL);
	struct pair p;
	char buf[16];
	int want = -1;

	/* close_notify one way; the other way goes on (half-close). */
	pair_open(&p, st, ct, "edge.test");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "close: handshake");
	is_int(b0_tls_shutdown(p.c, &want, &p.cem), 0,
	    "client sends close_notify");
	is_int(b0_tls_read(p.s, buf, sizeof(buf), &want, &p.sem), B0_ERR_EOF,
	    "server reads B0_ERR_EOF");
	is_int(write_all(p.s, "bye", 3, &p.sem), 0,
	    "server still writes after the client's close_notify");
	is_int(read_n(p.c, buf, 3, &p.cem), 0,
	    "client still reads after its own close_notify");
	ok(memcmp(buf, "bye", 3) == 0, "client got bye");
	is_int(b0_tls_shutdown(p.s, &want, &p.sem), 0,
	    "server sends close_notify");
	is_int(b0_tls_read(p.c, buf, sizeof(buf), &want, &p.cem), B0_ERR_EOF,
	    "client reads B0_ERR_EOF");
	is_int(ERR_peek_error(), 0, "close: queue empty");
	pair_close(&p);

	/* TCP close without close_notify: truncation. */
	pair_open(&p, st, ct, "edge.test");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "truncation: handshake");
	is_int(write_all(p.c, "partial", 7, &p.cem), 0, "client writes");
	close(p.cfd);
	p.cfd = -1;
	is_int(read_n(p.s, buf, 7, &p.sem), 0, "server reads what came");
	p.sem.text[0] = '\0';
	is_int(b0_tls_read(p.s, buf, sizeof(buf), &want, &p.sem),
	    B0_ERR_PROTOCOL, "close without close_notify: B0_ERR_PROTOCOL");
	is_str(p.sem.text, "peer closed without close_notify (truncated)",
	    "truncation message");
	is_int(ERR_peek_error(), 0, "truncation: queue empty");
	pair_close(&p);

	/* Writing to a closed peer: EPIPE, not a signal. */
	pair_open(&p, st, ct, "edge.test");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "EPIPE: handshake");
	close(p.cfd);
	p.cfd = -1;
	is_int(b0_tls_write(p.s, "x", 1, &want, &p.sem), B0_ERR_SYS(EPIPE),
	    "write to a closed peer: EPIPE");
	has_str(p.sem.text, "TLS write: Broken pipe", "EPIPE message");
	is_int(ERR_peek_error(), 0, "EPIPE: queue empty");
	pair_close(&p);

	/* Peer stops sending in the middle of the handshake. */
	pair_open(&p, st, ct, "edge.test");
	is_int(b0_tls_handshake(p.c, &want, &p.cem), B0_ERR_AGAIN,
	    "client hello sent");
	is_int(want, B0_TLS_WANT_READ, "client waits to read");
	shutdown(p.cfd, SHUT_WR);
	p.sem.text[0] = '\0';
	is_int(b0_tls_handshake(p.s, &want, &p.sem), B0_ERR_PROTOCOL,
	    "peer gone during handshake");
	is_str(p.sem.text,
	    "peer closed the connection during the TLS handshake",
	    "peer gone during handshake: message");
	pair_close(&p);

	/* Peer gone before our reply: EPIPE in the handshake. */
	pair_open(&p, st, ct, "edge.test");
	b0_tls_handshake(p.c, &want, &p.cem);
	close(p.cfd);
	p.cfd = -1;
	is_int(b0_tls_handshake(p.s, &want, &p.sem), B0_ERR_SYS(EPIPE),
	    "peer gone before the server hello: EPIPE");
	has_str(p.sem.text, "TLS handshake: Broken pipe",
	    "handshake EPIPE message");
	pair_close(&p);
	b0_tls_ctx_free(ct);
	b0_tls_ctx_free(st);
}

static void
test_want_write(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", NULL, 0, 0),
			  *ct = client_ctx("root.pem", NULL, NULL);
	static char big[16384], sink[16384];
	struct pair p;
	size_t sent = 0, got = 0;
	int i, r = 0, want = 0;

	memset(big, 'z', sizeof(big));
	pair_open(&p, st, ct, "edge.test");
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "want write: handshake");
	for (i = 0; i < 1000; i++) {
		if ((r = b0_tls_write(p.c, big, sizeof(big), &want, &p.cem)) <
		    0)
			break;
		sent += (size_t)r;
	}
	is_int(r, B0_ERR_AGAIN, "full socket: again");
	is_int(want, B0_TLS_WANT_WRITE, "full socket: wants write");
	for (i = 0; i < 10000; i++) {
		if ((r = b0_tls_read(p.s, sink, sizeof(sink), &want, &p.sem)) <
		    0)
			break;
		got += (size_t)r;
	}
	is_int(r, B0_ERR_AGAIN, "drained: again");
	is_int(got, sent, "every byte taken arrived");
	r = b0_tls_write(p.c, big, sizeof(big), &want, &p.cem);
	ok(r > 0, "write after drain (%d)", r);
	pair_close(&p);
	b0_tls_ctx_free(ct);
	b0_tls_ctx_free(st);
}

static void
test_tickets(void)
{
	struct b0_tls_ctx *ct = client_ctx("root.pem", NULL, NULL), *st;
	struct pair p;
	char buf[4];
	int tickets;

	for (tickets = 0; tickets <= 1; tickets++) {
		st = server_ctx("server.pem", "server.key", NULL, 0, tickets);
		pair_open(&p, st, ct, "edge.test");
		pair_handshake(&p);
		ok(p.rc == 0 && p.rs == 0, "tickets %d: handshake", tickets);
		/* Tickets come after the handshake, before this data. */
		write_all(p.s, "data", 4, &p.sem);
		is_int(read_n(p.c, buf, 4, &p.cem), 0, "tickets %d: read",
		    tickets);
		is_int(SSL_SESSION_has_ticket(SSL_get0_session(p.c)), tickets,
		    "tickets %d: client %s a ticket", tickets,
		    tickets ? "has" : "has no");
		pair_close(&p);
		b0_tls_ctx_free(st);
	}
	b0_tls_ctx_free(ct);
}

/* Free the context while its connection lives on (a reload). */
static void
test_reload(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", alpn_server, 0, 0),
			  *ct = client_ctx("root.pem", NULL, alpn_client), *st2;
	struct pair p;
	char buf[4];

	pair_open(&p, st, ct, "edge.test");
	b0_tls_ctx_free(st); /* before the handshake even */
	b0_tls_ctx_free(ct);
	st2 = server_ctx("other.pem", "other.key", alpn_server, 0, 0);
	pair_handshake(&p);
	ok(p.rc == 0 && p.rs == 0, "reload: old connection handshakes");
	is_str(b0_tls_alpn(p.s), "h2", "reload: old context's ALPN");
	is_int(write_all(p.c, "abcd", 4, &p.cem), 0, "reload: write");
	is_int(read_n(p.s, buf, 4, &p.sem), 0, "reload: read");
	pair_close(&p);
	b0_tls_ctx_free(st2);
}

static void
test_timed(void)
{
	struct b0_tls_ctx *st = server_ctx(
			      "server.pem", "server.key", NULL, 0, 0),
			  *ct = client_ctx("root.pem", NULL, NULL);
	struct b0_errmsg em = {""};
	struct timespec a, b;
	long ms;
	int sv[2], status, r;
	SSL *c = NULL, *s = NULL;
	pid_t pid;
	char buf[2];

	/* A peer that never answers. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		die("socketpair");
	if (b0_tls_client_new(ct, sv[0], "edge.test", &c, &em) != 0)
		die("client");
	clock_gettime(CLOCK_MONOTONIC, &a);
	is_int(b0_tls_handshake_timed(c, 150, &em), B0_ERR_TIMEOUT,
	    "silent peer: timeout");
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	ok(ms >= 140 && ms < 3000, "timeout after about 150 ms (%ld)", ms);
	has_str(em.text, "timed out", "timeout message");
	SSL_free(c);
	c = NULL;
	close(sv[0]);
	close(sv[1]);

	/* A forked server. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		die("socketpair");
	fflush(stdout);
	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		int want;

		alarm(10);
		close(sv[0]);
		if (b0_tls_server_new(st, sv[1], &s, &em) != 0 ||
		    b0_tls_handshake_timed(s, 5000, &em) != 0 ||
		    b0_tls_write(s, "k", 1, &want, &em) != 1)
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	if (b0_tls_client_new(ct, sv[0], "edge.test", &c, &em) != 0)
		die("client");
	r = b0_tls_handshake_timed(c, 5000, &em);
	is_int(r, 0, "timed handshake with a live peer");
	if (r != 0)
		tap_diag("%s", em.text);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "forked server succeeded");
	is_int(read_n(c, buf, 1, &em), 0, "data from the forked server");
	SSL_free(c);
	close(sv[0]);
	b0_tls_ctx_free(ct);
	b0_tls_ctx_free(st);
}

static void
test_error_text(void)
{
	struct b0_errmsg em;

	em.text[0] = '\0';
	is_int(b0_tls_error(NULL, &em), B0_ERR_TLS, "empty queue: TLS error");
	has_str(em.text, "no detail", "empty queue: says so");
	ERR_raise(ERR_LIB_SSL, SSL_R_WRONG_VERSION_NUMBER);
	ERR_raise(ERR_LIB_SSL, SSL_R_HTTP_REQUEST);
	ERR_raise(ERR_LIB_SSL, SSL_R_HTTP_REQUEST);
	is_int(b0_tls_error(NULL, &em), B0_ERR_TLS, "queued errors: TLS error");
	is_str(em.text,
	    "wrong version number (is the peer speaking TLS?); plain HTTP "
	    "request on a TLS port",
	    "queued errors: one line, in order, repeats dropped");
	is_int(ERR_peek_error(), 0, "queue drained");
	ERR_raise(ERR_LIB_SSL, SSL_R_UNEXPECTED_EOF_WHILE_READING);
	is_int(b0_tls_error(NULL, &em), B0_ERR_PROTOCOL,
	    "unexpected EOF: protocol error");
	is_str(em.text, "peer closed without close_notify (truncated)",
	    "unexpected EOF: truncation");
	ERR_raise(ERR_LIB_SSL, SSL_R_TLSV1_ALERT_UNKNOWN_CA);
	b0_tls_error(NULL, NULL);
	is_int(ERR_peek_error(), 0, "NULL errmsg: queue drained anyway");
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/b0-test-tls-XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	/* Writes to a closed peer must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	make_pki();
	test_ctx_errors();
	test_success();
	test_verify_failures();
	test_pins();
	test_ip();
	test_alpn();
	test_versions();
	test_close();
	test_want_write();
	test_tickets();
	test_reload();
	test_timed();
	test_error_text();
	remove_pki();
	return tap_done();
}
