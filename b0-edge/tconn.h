/*
 * tls sockets at the edge (tconn.c): the visitor's HTTP CONNECT with a
 * Bearer token on the HTTPS port (docs/identity.md), checked against the
 * token and the socket's allow list, then relayed over a data channel with
 * a connection ticket in OPEN.
 */
#ifndef EDGE_TCONN_H
#define EDGE_TCONN_H

#include <stdint.h>

#include "http.h"

struct edge;
struct esock;
struct pconn;
struct session;
struct tconn;

/*
 * tconn_handle(k, rq, rs): a request on the HTTPS port whose SNI is the
 * name of the tls socket k.  Answers an error in rs, or takes the
 * connection (hconn_take(), rs->status = 0) and from then on answers on it
 * itself: "200 Connection established" when a data channel starts the
 * stream, 502 or 504 when none does.
 */
void tconn_handle(struct esock *k, const struct hreq *rq, struct hresp *rs);

/*
 * For visitor.c and session.c: tls visitors waiting for a data channel
 * (esock->twait), and the identity of running tls streams.
 *
 * tconn_oldest(s, sincep): the tls visitor of session s that has waited
 * longest (*sincep: since when, loop clock), or NULL.
 * tconn_serve(t, pc): start t's stream on pc (from session_take_idle()).
 * tconn_drop_waiting(e, s, only, why): answer 502 why to the visitors
 * waiting for session s (NULL: any) on socket only (NULL: every socket).
 * tconn_stream_who(pc): the email of the visitor of pc's tls stream, or
 * NULL (tcp); borrowed until tconn_stream_forget(pc), which the owner
 * calls when the stream ends or pc is freed.
 */
struct tconn *tconn_oldest(struct session *s, uint64_t *sincep);
void tconn_serve(struct tconn *t, struct pconn *pc);
void tconn_drop_waiting(
    struct edge *e, struct session *s, struct esock *only, const char *why);
const char *tconn_stream_who(const struct pconn *pc);
void tconn_stream_forget(const struct pconn *pc);

#endif /* EDGE_TCONN_H */
