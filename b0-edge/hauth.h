/*
 * Who gets into an http socket (hauth.c, docs/http.md "Who gets in"):
 * Bearer tokens, the app session cookie b0_app and its login through the
 * edge's issuer (client b0-http), the 403 page, basic auth for protected
 * sockets, and the /.b0/ endpoints of every socket host.
 *
 * hproxy.c calls hauth_request() for every request before it forwards
 * anything.  hauth keeps the app sessions and pending logins in memory,
 * owned by struct edge (e->hauth), made by hauth_new() after idp_new().
 */
#ifndef EDGE_HAUTH_H
#define EDGE_HAUTH_H

#include <stddef.h>

#include "b0_err.h"
#include "http.h"

struct edge;
struct esock;
struct hauth;

#define HAUTH_EMAIL_SIZE 255
#define HAUTH_USER_SIZE 66

enum hauth_via {
	HAUTH_NONE = 0, /* an open socket: anyone */
	HAUTH_SESSION,	/* the b0_app cookie */
	HAUTH_BEARER	/* Authorization: Bearer */
};

/* The visitor a request may go through as (filled by hauth_request()). */
struct hwho {
	enum hauth_via via;
	char email[HAUTH_EMAIL_SIZE]; /* "" for HAUTH_NONE */
	char user[HAUTH_USER_SIZE];   /* basic-auth user, "" if none */
	int strip_authorization;      /* the edge used Authorization */
};

enum hauth_result {
	HAUTH_PASS = 0, /* forward the request, as *who */
	HAUTH_ANSWERED	/* rs holds the answer; forward nothing */
};

int hauth_new(struct edge *e, struct hauth **hp, struct b0_errmsg *em);
void hauth_free(struct hauth *h);

/* Once a second: expire sessions and logins, end those of deleted users. */
void hauth_tick(struct hauth *h);

/*
 * hauth_request(h, k, rq, rs, who): decide one request on the http socket
 * k (rq->host is k's DNS name).  /.b0/ paths are always answered here.
 * The request is borrowed for the call; rq->hc may be NULL.
 */
enum hauth_result hauth_request(struct hauth *h, struct esock *k,
    const struct hreq *rq, struct hresp *rs, struct hwho *who);

/* The name of the edge's app cookie ("__Host-b0_app"), to strip from Cookie. */
#define HAUTH_COOKIE "__Host-b0_app"

/* hauth_drop_socket(h, k): forget the sessions of socket k (it is gone). */
void hauth_drop_socket(struct hauth *h, struct esock *k);

#endif /* EDGE_HAUTH_H */
