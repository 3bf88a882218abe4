/*
 * b0-edge's HTTPS front door (https.c): TLS connections whose ALPN is
 * http/1.1 or absent.  https.c reads each request (head with b0_http, a
 * Content-Length body of at most HTTP_BODY_MAX), picks the handler by the
 * host the client named (SNI, which must agree with Host), calls it, and
 * writes the response it filled in, keeping the connection alive between
 * requests.
 *
 *   SNI = the edge's domain      idp_handle()     (idp.c)
 *   SNI = a tls socket's name    tconn_handle()   (tconn.c, CONNECT)
 *   SNI = an http socket's name  hproxy_handle()  (hproxy.c, takes over)
 *
 * Ownership: a struct hconn owns its fd, SSL and buffers; https.c frees it.
 * A handler gets the request borrowed for the duration of the call.
 */
#ifndef EDGE_HTTP_H
#define EDGE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "b0_buf.h"
#include "b0_http.h"

struct edge;
struct hconn;

#define HTTP_BODY_MAX (16 * 1024) /* largest request body (forms) */
#define HTTP_RESP_MAX (256 * 1024)

/* One request, borrowed by the handler for the length of the call. */
struct hreq {
	struct edge *e;
	struct hconn *hc;
	const struct b0_http_req *req; /* the parsed head (fields and all) */
	const char *method;	       /* NUL-terminated copies ... */
	const char *target;	       /* the request target as sent */
	const char *path;	       /* target up to '?' (not decoded) */
	const char *query;	       /* after '?', or "" (not decoded) */
	const char *host;	       /* SNI, lower-case, no port */
	const char *peer;	       /* "ip:port" of the client */
	const uint8_t *body;	       /* Content-Length bytes (may be 0) */
	size_t body_len;
};

/*
 * The response a handler fills in.  https.c adds Date, Content-Length,
 * Connection and the security headers of docs/identity.md, and sends it.
 * status 0 means the handler took the connection over (hconn_take()) and
 * answers on it itself.
 */
struct hresp {
	int status;
	const char *content_type; /* static or borrowed until the call ends */
	struct b0_buf *headers;	  /* extra "Name: value\r\n" lines */
	struct b0_buf *body;
	int close;   /* close the connection after this response */
	int cache;   /* 1: cacheable (JWKS, discovery); 0: no-store */
	int is_html; /* add the HTML security headers (CSP, frame) */
	/* More CSP form-action sources (the issuer's pages: socket hosts). */
	const char *form_action;
};

/*
 * hresp_header(rs, fmt, ...): append one header line (without CRLF).
 * Returns 0 or B0_ERR_TOO_BIG.  Values must hold no CR or LF (the caller
 * checks what it takes from the request).
 */
int hresp_header(struct hresp *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * hresp_text(rs, status, fmt, ...): a text/plain response with a
 * one-line body (a trailing newline is added).
 */
void hresp_text(struct hresp *rs, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * hresp_json(rs, status): Content-Type application/json; the handler
 * writes rs->body with b0_jsonw.
 */
void hresp_json(struct hresp *rs, int status);

/*
 * hresp_redirect(rs, location): 302 Found to location (the caller builds
 * it from checked parts).
 */
void hresp_redirect(struct hresp *rs, const char *location);

/*
 * hresp_put(out, method, rs): append rs to out as the front door writes
 * it: status line, Date, Content-Type, Content-Length, caching and the
 * security headers (the HTML ones with rs->is_html), rs->headers, and
 * Connection (close with rs->close, else keep-alive); the body unless
 * method is HEAD.  For handlers that answer on a taken connection
 * (hproxy.c).  Out-of-room errors leave out cut short; size out for
 * HTTP_RESP_MAX plus a head.
 */
void hresp_put(struct b0_buf *out, const char *method, const struct hresp *rs);

/*
 * hconn_take(hc, fdp, sslp, rest):
 * Take the connection away from https.c: *fdp and *sslp become the
 * caller's (the fd is no longer in the loop), and the bytes the client
 * sent after the current request are moved into rest (which may be
 * empty).  The handler then sets rs->status = 0.  Returns 0 or
 * B0_ERR_TOO_BIG (rest too small).  https.c frees the hconn after the
 * handler returns.
 */
int hconn_take(struct hconn *hc, int *fdp, SSL **sslp, struct b0_buf *rest);

/*
 * hconn_new(e, fd, ssl, peer): serve an HTTPS connection whose handshake
 * is done (called from edge.c).
 */
void hconn_new(struct edge *e, int fd, SSL *ssl, const char *peer);

/* hconn_free_all(e): close every front-door HTTP connection (shutdown). */
void hconn_free_all(struct edge *e);

/* An hconn's peer address and SNI, borrowed while it lives. */
const char *hconn_peer(const struct hconn *hc);
const char *hconn_sni(const struct hconn *hc);

#endif /* EDGE_HTTP_H */
