/*
 * b0_tls: TLS contexts and non-blocking TLS I/O on OpenSSL 3.
 *
 * A struct b0_tls_ctx is an SSL_CTX set up the one way b0 uses TLS: TLS 1.2
 * or newer (or 1.3 only), AEAD ciphers with forward secrecy, no compression,
 * no renegotiation, small idle connections (SSL_MODE_RELEASE_BUFFERS).
 * Clients always verify the peer (chain, host name or IP address, and an
 * optional public key pin); there is no way to turn that off.  Servers pick
 * ALPN in their own order of preference and fail the handshake when a
 * client offers protocols none of which they speak.
 *
 * Connections are plain SSL objects on a connected socket, driven with
 * b0_tls_handshake(), b0_tls_read(), b0_tls_write() and b0_tls_shutdown(),
 * which map SSL_get_error() onto b0 codes: B0_ERR_AGAIN with what to wait
 * for, B0_ERR_EOF for the peer's close_notify, B0_ERR_PROTOCOL for a peer
 * that closed the socket without one (a truncation attack looks the same),
 * and B0_ERR_TLS or B0_ERR_SYS(errno) with a sentence otherwise.  Every
 * function leaves the OpenSSL error queue empty.
 *
 * OpenSSL writes to the socket with write(2): programs must ignore SIGPIPE
 * (a library does not change signal dispositions), and then get EPIPE.
 */
#ifndef B0_TLS_H
#define B0_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "b0_err.h"

/* Most ALPN protocols and public key pins in a configuration. */
#define B0_TLS_MAX_ALPN 16
#define B0_TLS_MAX_PINS 16

/* Room for "sha256//" + base64 of 32 bytes + NUL. */
#define B0_TLS_PIN_LEN (8 + 44 + 1)

/*
 * How a TLS context is set up.  All-zero is the default: TLS 1.2 and 1.3,
 * no certificate, the system's CA store, no pin, no ALPN, no session
 * tickets.  Strings are only read while the context is being made.
 */
struct b0_tls_config {
	/*
	 * PEM certificate chain (leaf first, then intermediates) and its
	 * private key.  Required for servers; optional for clients (a client
	 * certificate), but then both.
	 */
	const char *cert_file;
	const char *key_file;
	/*
	 * Clients: the CA certificates to trust instead of the system store,
	 * a PEM file or a c_rehash'ed directory.  Any certificate in it is a
	 * trust anchor (X509_V_FLAG_PARTIAL_CHAIN), so it may also hold an
	 * intermediate or a self-signed server certificate.  NULL: the
	 * system store.  Servers: must be NULL.
	 */
	const char *ca;
	/*
	 * Clients: "sha256//<base64>" of the peer's SubjectPublicKeyInfo, as
	 * curl's --pinnedpubkey; several separated by ';' (key rotation).
	 * Checked in addition to the chain and the name, never instead.
	 * NULL: no pin.  Servers: must be NULL.
	 */
	const char *pin;
	/*
	 * ALPN protocols, NULL-terminated, most preferred first.  NULL or
	 * empty: no ALPN (a server then ignores what clients offer).
	 */
	const char *const *alpn;
	int tls13_only; /* refuse TLS 1.2 */
	/*
	 * Servers: send one stateless TLS 1.3 session ticket (or a TLS 1.2
	 * ticket) after the handshake, for clients that resume.  The ticket
	 * key lives in the context: a reload invalidates outstanding tickets.
	 */
	int session_tickets;
};

struct b0_tls_ctx;

/* What a call that returned B0_ERR_AGAIN waits for. */
enum b0_tls_want {
	B0_TLS_WANT_NONE = 0,
	B0_TLS_WANT_READ = 1, /* the socket to become readable */
	B0_TLS_WANT_WRITE = 2 /* the socket to become writable */
};

/*
 * b0_tls_ctx_new_server(cfg, tp, em):
 * Make a server context from cfg: load the chain and key (no passphrase
 * prompt: encrypted keys are refused) and check that they match.  Returns
 * 0 and *tp (free with b0_tls_ctx_free()), or an error with a sentence in
 * em naming the file at fault: B0_ERR_SYS(errno) (cannot open),
 * B0_ERR_CONFIG (no PEM, encrypted key, key does not match), B0_ERR_TOO_BIG
 * (over 1 MB), B0_ERR_ARG (bad ALPN list, ca or pin set), B0_ERR_ALLOC.
 *
 * Reload: make a new context and free the old one.  Connections made from
 * the old context keep it (certificate, ALPN list and all) until their last
 * SSL is freed; new connections use the new one.
 */
int b0_tls_ctx_new_server(const struct b0_tls_config *cfg,
    struct b0_tls_ctx **tp, struct b0_errmsg *em);

/*
 * b0_tls_ctx_new_client(cfg, tp, em):
 * Make a client context from cfg: verification of the peer is always on,
 * against cfg->ca or the system store, plus cfg->pin if set.  Returns as
 * b0_tls_ctx_new_server(); a malformed pin is B0_ERR_CONFIG.
 */
int b0_tls_ctx_new_client(const struct b0_tls_config *cfg,
    struct b0_tls_ctx **tp, struct b0_errmsg *em);

/*
 * b0_tls_ctx_free(t):
 * Drop the caller's reference to t (NULL is fine).  The memory goes when
 * the last SSL made from t is freed too.
 */
void b0_tls_ctx_free(struct b0_tls_ctx *t);

/*
 * b0_tls_ctx_ssl_ctx(t):
 * The SSL_CTX inside t, borrowed for as long as the caller holds t; for
 * tuning that this layer does not offer.  Do not weaken verification.
 */
SSL_CTX *b0_tls_ctx_ssl_ctx(struct b0_tls_ctx *t);

/*
 * b0_tls_server_new(t, fd, sslp, em):
 * Make a server-side SSL for the connected, non-blocking socket fd.  fd
 * stays the caller's: close it after SSL_free().  Returns 0 and *sslp (the
 * caller's, SSL_free()), or B0_ERR_ARG (t is a client context) or
 * B0_ERR_ALLOC.  Then drive b0_tls_handshake().
 */
int b0_tls_server_new(
    struct b0_tls_ctx *t, int fd, SSL **sslp, struct b0_errmsg *em);

/*
 * b0_tls_client_new(t, fd, host, sslp, em):
 * Make a client-side SSL for the connected, non-blocking socket fd that
 * verifies the peer as host and sends host as SNI, whatever address fd is
 * connected to (a proxy, another port).  host is a DNS name (one trailing
 * dot is ignored) or an IP address literal ("[::1]" too), which is then
 * matched against the certificate's IP addresses and, as RFC 6066 says, not
 * sent as SNI.  fd stays the caller's.  Returns 0 and *sslp (SSL_free()),
 * or B0_ERR_ARG (bad host, or t is a server context) or B0_ERR_ALLOC.
 */
int b0_tls_client_new(struct b0_tls_ctx *t, int fd, const char *host,
    SSL **sslp, struct b0_errmsg *em);

/*
 * b0_tls_handshake(ssl, wantp, em):
 * Advance the handshake.  Returns 0 when it is complete; B0_ERR_AGAIN with
 * *wantp saying what to wait for before calling again; or an error with
 * em saying why ("certificate verify failed: hostname mismatch (expected
 * edge.example.com, certificate is for other.example.com)").  *wantp is
 * B0_TLS_WANT_NONE unless B0_ERR_AGAIN.  After an error, free the SSL
 * without b0_tls_shutdown().
 */
int b0_tls_handshake(SSL *ssl, int *wantp, struct b0_errmsg *em);

/*
 * b0_tls_handshake_timed(ssl, timeout_ms, em):
 * Blocking convenience for tools and tests: run the handshake, waiting
 * with poll() on SSL_get_fd(ssl) for at most timeout_ms milliseconds in
 * all.  Returns 0, B0_ERR_TIMEOUT, or an error as b0_tls_handshake().
 * Event loops call b0_tls_handshake() and keep their own timer.
 */
int b0_tls_handshake_timed(SSL *ssl, int timeout_ms, struct b0_errmsg *em);

/*
 * b0_tls_read(ssl, buf, len, wantp, em):
 * Read up to len (> 0) bytes into buf.  Returns the number of bytes (> 0);
 * B0_ERR_AGAIN with *wantp (a read may want the socket writable);
 * B0_ERR_EOF when the peer sent close_notify (nothing more will come, but
 * we may still write); B0_ERR_PROTOCOL when the peer closed the socket
 * without close_notify ("peer closed without close_notify (truncated)");
 * B0_ERR_SYS(errno) or B0_ERR_TLS with em.
 */
int b0_tls_read(
    SSL *ssl, void *buf, size_t len, int *wantp, struct b0_errmsg *em);

/*
 * b0_tls_write(ssl, buf, len, wantp, em):
 * Write up to len (> 0) bytes from buf.  Returns how many were taken (> 0,
 * possibly fewer than len); B0_ERR_AGAIN with *wantp, after which the next
 * call must offer the same bytes again, at least as many (they may have
 * moved in memory); B0_ERR_SYS(errno) (EPIPE, ECONNRESET) or B0_ERR_TLS
 * with em.
 */
int b0_tls_write(
    SSL *ssl, const void *buf, size_t len, int *wantp, struct b0_errmsg *em);

/*
 * b0_tls_shutdown(ssl, wantp, em):
 * Send our close_notify: we will write no more.  Returns 0 once it is on
 * the wire; B0_ERR_AGAIN with *wantp (call again); or an error.  It does
 * not wait for the peer's close_notify: the peer may go on sending (TLS
 * 1.3 half-close), so keep calling b0_tls_read() until B0_ERR_EOF if its
 * data matters.  Do not call it again after it returned 0 (OpenSSL would
 * then read from the peer) nor after a fatal error.
 */
int b0_tls_shutdown(SSL *ssl, int *wantp, struct b0_errmsg *em);

/*
 * b0_tls_sni(ssl):
 * On a server after the handshake, the host name the client sent in SNI,
 * or NULL if none.  Borrowed until SSL_free().  OpenSSL refuses names with
 * NUL bytes; any other byte may be there, so match, do not interpret.
 */
const char *b0_tls_sni(const SSL *ssl);

/*
 * b0_tls_alpn(ssl):
 * After the handshake, the negotiated ALPN protocol (one of the context's
 * own list), or NULL if none.  Borrowed until SSL_free().
 */
const char *b0_tls_alpn(const SSL *ssl);

/*
 * b0_tls_error(ssl, em):
 * Drain the whole OpenSSL error queue (leaving it empty) into em as one
 * line, innermost cause first, in words: a failed certificate verification
 * says why and what name was expected, an alert from the peer is named, a
 * missing close_notify is called a truncation.  ssl may be NULL (context
 * errors).  Returns the b0 code for what was in the queue: B0_ERR_PROTOCOL
 * for a truncation, else B0_ERR_TLS.
 */
int b0_tls_error(SSL *ssl, struct b0_errmsg *em);

/*
 * b0_tls_cert_pin(x, out, outsz):
 * Write the pin of certificate x's public key ("sha256//<base64>" of the
 * DER SubjectPublicKeyInfo, what cfg->pin takes) into out, which needs
 * B0_TLS_PIN_LEN bytes.  Returns 0, B0_ERR_TOO_BIG or B0_ERR_CRYPTO.
 */
int b0_tls_cert_pin(X509 *x, char *out, size_t outsz);

#endif /* B0_TLS_H */
