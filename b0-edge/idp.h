/*
 * b0-edge as OAuth 2.0 authorization server and OpenID Connect issuer
 * (docs/identity.md): signing keys, built-in accounts, upstream
 * providers, grants, and the pages.  idp.c is the entry point; keys.c,
 * users.c, grants.c, upstream.c and pages.c hold the parts.
 *
 * Ownership: struct edge owns one struct idp (e->idp), made by idp_new()
 * after the state directory is set up and before privileges are dropped,
 * freed by idp_free().
 */
#ifndef EDGE_IDP_H
#define EDGE_IDP_H

#include <stddef.h>
#include <stdint.h>

#include "b0_err.h"
#include "http.h"

struct edge;
struct idp;

/*
 * idp_new(e, ip, em): load (or make the first of) the signing keys, the
 * users and the grants from e->conf->state_dir; e->https_port is known.
 * Returns 0 and *ip, or an error with em naming the file.
 */
int idp_new(struct edge *e, struct idp **ip, struct b0_errmsg *em);
void idp_free(struct idp *idp);

/* Once a second: expire codes and sessions, notice new keys and users. */
void idp_tick(struct idp *idp);

/*
 * idp_reload(idp, e): the configuration in e->conf changed (SIGHUP):
 * providers, lifetimes.  Keeps the old settings on error (logged).  The
 * old struct edge_conf is already freed: idp keeps no pointer into it.
 */
void idp_reload(struct idp *idp, struct edge *e);

/*
 * idp_jwks(idp, jsonp, lenp): the published keys as /jwks.json serves
 * them ({"keys":[...]}, borrowed until the next idp_tick()) and their
 * generation, which idp_tick() bumps when the set changes (a `key
 * rotate`, an older key no longer published); it then calls
 * sessions_send_keys().  *jsonp is NULL if the set could not be written.
 */
uint64_t idp_jwks(const struct idp *idp, const char **jsonp, size_t *lenp);

/* The issuer string, borrowed while idp lives. */
const char *idp_issuer(const struct idp *idp);

/*
 * idp_port_suffix(idp): ":PORT" of the issuer ("" when it names none),
 * which the http socket hosts share; idp_csp_hosts(idp): the CSP source
 * "https://" "*.<domain>[:PORT]" (joined) the login form may redirect to (the
 * /.b0/callback of http sockets).  Both borrowed while idp lives; "" for
 * a NULL idp.
 */
const char *idp_port_suffix(const struct idp *idp);
const char *idp_csp_hosts(const struct idp *idp);

/*
 * idp_redeem_http(idp, code, redirect_uri, verifier, email, emailsz, src,
 *     srcsz, em):
 * Redeem, inside the edge, an authorization code issued to the client
 * b0-http (an http socket's login, docs/identity.md): single use, bound
 * to redirect_uri and to the PKCE verifier.  No tokens, no grant: the
 * signed-in email (lower-case) into email and where it came from
 * ("builtin", "upstream:NAME") into src.  Returns 0, or B0_ERR_AUTH /
 * B0_ERR_EXPIRED / B0_ERR_ARG with em saying why (fit for a page; never
 * the code).
 */
int idp_redeem_http(struct idp *idp, const char *code, const char *redirect_uri,
    const char *verifier, char *email, size_t emailsz, char *src, size_t srcsz,
    struct b0_errmsg *em);

/*
 * idp_who_current(idp, email, src): 1 if the person signed in as email
 * from src is still let in by this edge (a built-in account not deleted,
 * a provider still configured), else 0.
 */
int idp_who_current(const struct idp *idp, const char *email, const char *src);

/* A request for the edge's own domain (SNI = domain). */
void idp_handle(struct idp *idp, const struct hreq *rq, struct hresp *rs);

/*
 * idp_check_access(idp, token, len, email, emailsz, em):
 * Check a Bearer access token as docs/identity.md says and copy its
 * email (lower-case) into email.  Returns 0, or B0_ERR_AUTH / B0_ERR_EXPIRED
 * / B0_ERR_SIGNATURE / B0_ERR_CLAIM / B0_ERR_FORMAT ... with em saying why
 * in words fit for a 401 body ("token expired 35 s ago").
 */
int idp_check_access(struct idp *idp, const char *token, size_t len,
    char *email, size_t emailsz, struct b0_errmsg *em);

/*
 * idp_check_access_who(idp, token, len, email, emailsz, src, srcsz, expp,
 *     em): idp_check_access(), and also where the person signed in from
 * ("builtin", "upstream:NAME", for idp_who_current()) into src (if not
 * NULL) and the token's exp into *expp (if not NULL), for a cache.
 */
int idp_check_access_who(struct idp *idp, const char *token, size_t len,
    char *email, size_t emailsz, char *src, size_t srcsz, int64_t *expp,
    struct b0_errmsg *em);

/*
 * idp_own_token(idp, token, len): 1 if token looks like a JWT whose JOSE
 * header names (kid) one of the edge's own keys, published or not, valid
 * or not; else 0.  No signature check: for deciding what the edge keeps
 * from a target (an open http socket strips such an Authorization).
 */
int idp_own_token(struct idp *idp, const char *token, size_t len);

/*
 * idp_sign_ticket(idp, publisher, socket_dns, email, visitor, id,
 *     ticketp, em):
 * A connection ticket for one admitted stream (docs/identity.md).
 * *ticketp is the caller's; wipe and free it with b0_str_wipe_free().
 */
int idp_sign_ticket(struct idp *idp, const char *publisher,
    const char *socket_dns, const char *email, const char *visitor,
    const char *id, char **ticketp, struct b0_errmsg *em);

/*
 * The edge's CSRF tokens (docs/identity.md, "Browser session at the
 * edge"), for the forms of its pages and of the http socket hosts:
 * idp_csrf_token(idp, purpose, binder, req, out, outsz) fills out (at
 * least 44 bytes) with a base64url HMAC, under a per-process key, of what
 * the form is for (purpose), what it is bound to (binder: a session's
 * secret or a value derived from it) and req (a pending request, a host).
 * idp_csrf_check(idp, rq, purpose, binder, req, got, em): 0 if got is
 * that token and the request did not come from another origin (a
 * Sec-Fetch-Site, when sent, is "same-origin"); else B0_ERR_AUTH with em
 * saying which (for the log; never the token).
 */
void idp_csrf_token(const struct idp *idp, const char *purpose,
    const char *binder, const char *req, char *out, size_t outsz);
int idp_csrf_check(const struct idp *idp, const struct hreq *rq,
    const char *purpose, const char *binder, const char *req, const char *got,
    struct b0_errmsg *em);

/*
 * idp_logout_ticket(idp, email, back, out, outsz): a one-time value (43
 * base64url characters into out) with which /logout ends the edge's
 * browser session of email without asking, once, within 60 s, when
 * post_logout_redirect_uri is exactly back.  An http socket host makes
 * it after a checked POST to /.b0/logout?switch=1 (docs/http.md).
 * Returns 0 or an error.
 */
int idp_logout_ticket(struct idp *idp, const char *email, const char *back,
    char *out, size_t outsz);

#endif /* EDGE_IDP_H */
