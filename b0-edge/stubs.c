/*
 * Weak stand-ins for the parts of the edge being built side by side
 * (docs/identity.md): each real definition overrides its stand-in at link
 * time.  This file goes away once every part has landed.
 */
#include <stdlib.h>

#include "http.h"
#include "idp.h"
#include "pages.h"
#include "tconn.h"
#include "upstream.h"
#include "users.h"

#define WEAK __attribute__((weak))

WEAK int
hresp_header(struct hresp *rs, const char *fmt, ...)
{
	(void)rs;
	(void)fmt;
	return 0;
}

WEAK void
hresp_text(struct hresp *rs, int status, const char *fmt, ...)
{
	(void)fmt;
	rs->status = status;
}

WEAK void
hresp_json(struct hresp *rs, int status)
{
	rs->status = status;
}

WEAK void
hresp_redirect(struct hresp *rs, const char *location)
{
	(void)location;
	rs->status = 302;
}

WEAK int
hconn_take(struct hconn *hc, int *fdp, SSL **sslp, struct b0_buf *rest)
{
	(void)hc;
	(void)rest;
	*fdp = -1;
	*sslp = NULL;
	return B0_ERR_INTERNAL;
}

WEAK const char *
hconn_peer(const struct hconn *hc)
{
	(void)hc;
	return "";
}

WEAK const char *
hconn_sni(const struct hconn *hc)
{
	(void)hc;
	return "";
}

WEAK int
idp_new(struct edge *e, struct idp **ip, struct b0_errmsg *em)
{
	(void)e;
	(void)em;
	*ip = NULL;
	return 0;
}

WEAK void
idp_free(struct idp *idp)
{
	(void)idp;
}

WEAK void
idp_tick(struct idp *idp)
{
	(void)idp;
}

WEAK void
idp_reload(struct idp *idp, struct edge *e)
{
	(void)idp;
	(void)e;
}

WEAK const char *
idp_issuer(const struct idp *idp)
{
	(void)idp;
	return "";
}

WEAK void
idp_handle(struct idp *idp, const struct hreq *rq, struct hresp *rs)
{
	(void)idp;
	(void)rq;
	hresp_text(rs, 404, "not here yet");
}

WEAK int
idp_check_access(struct idp *idp, const char *token, size_t len, char *email,
    size_t emailsz, struct b0_errmsg *em)
{
	(void)idp;
	(void)token;
	(void)len;
	(void)email;
	(void)emailsz;
	(void)em;
	return B0_ERR_AUTH;
}

WEAK int
idp_sign_ticket(struct idp *idp, const char *publisher, const char *socket_dns,
    const char *email, const char *visitor, const char *id, char **ticketp,
    struct b0_errmsg *em)
{
	(void)idp;
	(void)publisher;
	(void)socket_dns;
	(void)email;
	(void)visitor;
	(void)id;
	(void)em;
	*ticketp = NULL;
	return B0_ERR_INTERNAL;
}

WEAK void
tconn_handle(struct esock *k, const struct hreq *rq, struct hresp *rs)
{
	(void)k;
	(void)rq;
	hresp_text(rs, 404, "not here yet");
}

WEAK int
users_load(const char *dir, struct users **up, struct b0_errmsg *em)
{
	(void)dir;
	(void)em;
	*up = NULL;
	return 0;
}

WEAK void
users_free(struct users *u)
{
	(void)u;
}

WEAK int
users_refresh(struct users *u, const char *dir, struct b0_errmsg *em)
{
	(void)u;
	(void)dir;
	(void)em;
	return 0;
}

WEAK size_t
users_count(const struct users *u)
{
	(void)u;
	return 0;
}

WEAK int
users_has(const struct users *u, const char *email)
{
	(void)u;
	(void)email;
	return 0;
}

WEAK int
users_check(const struct users *u, const char *email, const char *password)
{
	(void)u;
	(void)email;
	(void)password;
	return B0_ERR_AUTH;
}

WEAK void
page_login(struct hresp *rs, int status, const char *edge_domain,
    const char *req, const char *csrf, const char *email, const char *error,
    int builtin, const struct page_provider *providers, size_t nprov)
{
	(void)edge_domain;
	(void)req;
	(void)csrf;
	(void)email;
	(void)error;
	(void)builtin;
	(void)providers;
	(void)nprov;
	rs->status = status;
}

WEAK void
page_device_entry(struct hresp *rs, int status, const char *csrf,
    const char *user_code, const char *error)
{
	(void)csrf;
	(void)user_code;
	(void)error;
	rs->status = status;
}

WEAK void
page_device_confirm(struct hresp *rs, const char *csrf, const char *user_code,
    const char *email, const char *client)
{
	(void)csrf;
	(void)user_code;
	(void)email;
	(void)client;
	rs->status = 200;
}

WEAK void
page_message(
    struct hresp *rs, int status, const char *title, const char *detail)
{
	(void)title;
	(void)detail;
	rs->status = status;
}

WEAK void
page_error(struct hresp *rs, int status, const char *title, const char *detail)
{
	(void)title;
	(void)detail;
	rs->status = status;
}

WEAK int
upstreams_new(struct b0_loop *loop, const struct edge_conf *conf,
    const char *edge_issuer, struct upstreams **up, struct b0_errmsg *em)
{
	(void)loop;
	(void)conf;
	(void)edge_issuer;
	(void)em;
	*up = NULL;
	return 0;
}

WEAK void
upstreams_free(struct upstreams *u)
{
	(void)u;
}

WEAK size_t
upstreams_count(const struct upstreams *u)
{
	(void)u;
	return 0;
}

WEAK const char *
upstreams_name(const struct upstreams *u, size_t i)
{
	(void)u;
	(void)i;
	return NULL;
}

WEAK int
upstreams_start(struct upstreams *u, const char *name, const char *req,
    char **locationp, struct b0_errmsg *em)
{
	(void)u;
	(void)name;
	(void)req;
	(void)em;
	*locationp = NULL;
	return B0_ERR_NOT_FOUND;
}

WEAK int
upstreams_callback(struct upstreams *u, const char *query, char **reqp,
    upstream_done_fn *done, void *cookie, struct b0_errmsg *em)
{
	(void)u;
	(void)query;
	(void)done;
	(void)cookie;
	(void)em;
	*reqp = NULL;
	return B0_ERR_NOT_FOUND;
}

WEAK void
upstreams_cancel(struct upstreams *u, void *cookie)
{
	(void)u;
	(void)cookie;
}
