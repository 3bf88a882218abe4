/*
 * http and https sockets at the edge (hproxy.c, docs/http.md): the
 * reverse proxy between a visitor's TLS connection and one stream to the
 * publisher.
 *
 * hproxy takes the visitor's connection from the front door on its first
 * request, and from then on reads every request itself: strict framing
 * with b0_http, the decision of hauth.c, the headers of docs/http.md, then
 * the request towards the target and the target's response back.  Towards
 * the publisher it speaks plain HTTP over one end of a socketpair; the
 * other end is a visitor of the socket like a tcp visitor (visitor.c),
 * so waiting for a data channel, POOL and the stream's relay are those of
 * tcp sockets.
 *
 * Ownership: struct edge owns every hproxy connection (freed on shutdown
 * by hproxy_free_all()); an hproxy connection owns the visitor's fd and
 * SSL and its end of the socketpair.
 */
#ifndef EDGE_HPROXY_H
#define EDGE_HPROXY_H

#include "http.h"

struct edge;
struct esock;

/*
 * hproxy_handle(k, rq, rs): the first request on a connection whose SNI
 * is the name of the http or https socket k.  Answers an error in rs
 * (421, 400), or takes the connection (hconn_take(), rs->status = 0)
 * and serves it, this request included.
 */
void hproxy_handle(struct esock *k, const struct hreq *rq, struct hresp *rs);

/*
 * hproxy_stream_end(e, dns, visitor, how): the stream of the http socket
 * named dns for visitor ended, not cleanly, as how says ("reset by peer:
 * connect 127.0.0.1:3000: Connection refused"); its 502 page says so.
 * Called by session.c for every unclean stream end; others are ignored.
 */
void hproxy_stream_end(
    struct edge *e, const char *dns, const char *visitor, const char *how);

/* hproxy_drop_socket(k): close the connections of socket k (it is gone). */
void hproxy_drop_socket(struct esock *k);

/* hproxy_free_all(e): close every hproxy connection (shutdown). */
void hproxy_free_all(struct edge *e);

#endif /* EDGE_HPROXY_H */
