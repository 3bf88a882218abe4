/*
 * STAND-IN, TO BE REMOVED AT INTEGRATION: weak definitions of hauth.h
 * until hauth.c (branch hauth) is merged.  They admit every request as
 * HAUTH_NONE on an open socket; a socket with an allow list or basic auth
 * gets 403 (fail closed: no login exists yet).  hauth.c's
 * strong definitions replace these; then delete this file.
 */
#include <string.h>

#include "edge.h"
#include "hauth.h"

__attribute__((weak)) int
hauth_new(struct edge *e, struct hauth **hp, struct b0_errmsg *em)
{
	(void)e;
	(void)em;
	*hp = NULL;
	return 0;
}

__attribute__((weak)) void
hauth_free(struct hauth *h)
{
	(void)h;
}

__attribute__((weak)) void
hauth_tick(struct hauth *h)
{
	(void)h;
}

__attribute__((weak)) enum hauth_result
hauth_request(struct hauth *h, struct esock *k, const struct hreq *rq,
    struct hresp *rs, struct hwho *who)
{
	(void)h;
	(void)rq;
	memset(who, 0, sizeof(*who));
	who->via = HAUTH_NONE;
	if (b0_spec_login(&k->sp) || k->prot_user[0] != '\0') {
		hresp_text(rs, 403,
		    "%s admits signed-in people only, and this edge cannot "
		    "sign anyone in yet",
		    k->dns);
		return HAUTH_ANSWERED;
	}
	return HAUTH_PASS;
}

__attribute__((weak)) void
hauth_drop_socket(struct hauth *h, struct esock *k)
{
	(void)h;
	(void)k;
}
