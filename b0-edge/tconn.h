/*
 * tls sockets at the edge (tconn.c): the visitor's HTTP CONNECT with a
 * Bearer token on the HTTPS port (docs/identity.md), checked against the
 * token and the socket's allow list, then relayed over a data channel with
 * a connection ticket in OPEN.
 */
#ifndef EDGE_TCONN_H
#define EDGE_TCONN_H

#include "http.h"

struct esock;

/*
 * tconn_handle(k, rq, rs): a request on the HTTPS port whose SNI is the
 * name of the tls socket k.  Answers an error in rs, or takes the
 * connection (hconn_take(), rs->status = 0) and from then on answers on it
 * itself: "200 Connection established" when a data channel starts the
 * stream, 502 or 504 when none does.
 */
void tconn_handle(struct esock *k, const struct hreq *rq, struct hresp *rs);

#endif /* EDGE_TCONN_H */
