/*
 * Upstream OpenID Connect providers (upstream.c): the edge as a
 * confidential client of Google, Keycloak, ... (docs/identity.md,
 * "Upstream providers").  Discovery and JWKS are fetched at start and on
 * an unknown kid; the code exchange runs on a worker thread with libcurl
 * (the only outbound HTTPS the edge makes), whose result comes back to the
 * event loop through a pipe, so the relay never blocks.
 */
#ifndef EDGE_UPSTREAM_H
#define EDGE_UPSTREAM_H

#include <stddef.h>

#include "b0_err.h"
#include "b0_loop.h"

struct upstreams;
struct edge_conf;

/*
 * Called on the loop when a login at a provider ended: email (verified,
 * lower-case) on success, else NULL and why (a sentence for the error
 * page).  cookie is the one given to upstreams_callback().
 */
typedef void upstream_done_fn(const char *email, const char *why, void *cookie);

/* upstreams_new(loop, conf, up, em): the providers of conf (none: fine). */
int upstreams_new(struct b0_loop *loop, const struct edge_conf *conf,
    const char *edge_issuer, struct upstreams **up, struct b0_errmsg *em);
void upstreams_free(struct upstreams *u);

/* upstreams_count(u), upstreams_name(u, i): the providers, in order. */
size_t upstreams_count(const struct upstreams *u);
const char *upstreams_name(const struct upstreams *u, size_t i);

/*
 * upstreams_start(u, name, req, locationp, em): begin a login at provider
 * name for the edge's pending request req: make state, nonce and PKCE
 * verifier, remember them (10 minutes), and return in *locationp (the
 * caller's, free()) the provider's authorization URL to redirect to.
 * B0_ERR_NOT_FOUND for an unknown provider.
 */
int upstreams_start(struct upstreams *u, const char *name, const char *req,
    char **locationp, struct b0_errmsg *em);

/*
 * upstreams_callback(u, query, reqp, done, cookie, em):
 * The provider sent the browser back to <issuer>/upstream/callback with
 * query.  Checks state (unknown or used: error at once), copies the
 * pending request id into *reqp (the caller's, free()), and starts the
 * code exchange; done(email or NULL, why, cookie) runs on the loop when
 * it ends.  Returns 0 (done will be called), or an error (done will not).
 */
int upstreams_callback(struct upstreams *u, const char *query, char **reqp,
    upstream_done_fn *done, void *cookie, struct b0_errmsg *em);

/*
 * upstreams_cancel(u, cookie): the caller is going away; done will not
 * be called with cookie.
 */
void upstreams_cancel(struct upstreams *u, void *cookie);

#endif /* EDGE_UPSTREAM_H */
