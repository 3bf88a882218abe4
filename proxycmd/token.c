/*
 * A valid access token for an edge: the cached one while it has a minute
 * left, else a refreshed one, else a new sign-in.  All of it happens under
 * the edge's lock, and the cache is read again once the lock is ours, so
 * that ten ssh sessions started at once do one sign-in and one refresh:
 * the first does the work, the others find its result.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "b0_str.h"
#include "proxy.h"

static int
refresh(struct px_oauth *o, const struct px_tokens *old, struct px_tokens *t,
    struct b0_errmsg *em)
{
	struct b0_buf *form = NULL;
	char err[PX_OAUTH_ERRLEN];
	int r;

	if ((form = b0_buf_new(8192)) == NULL)
		return B0_ERR_ALLOC;
	b0_buf_set_secret(form);
	if ((r = px_form_add(form, "grant_type", "refresh_token")) != 0 ||
	    (r = px_form_add(form, "refresh_token", old->refresh)) != 0 ||
	    (r = px_form_add(form, "client_id", PX_CLIENT_ID)) != 0)
		goto out;
	if ((r = px_oauth_token(o, form, t, err, em)) != 0)
		goto out;
	/* An edge that does not rotate refresh tokens keeps the old one. */
	if (t->refresh == NULL && (t->refresh = strdup(old->refresh)) == NULL)
		r = B0_ERR_ALLOC;
	if (t->email == NULL && old->email != NULL &&
	    (t->email = strdup(old->email)) == NULL)
		r = B0_ERR_ALLOC;
out:
	b0_buf_free(form);
	return r;
}

int
px_token_get(const struct px_conf *c, const struct px_edge *e, unsigned flags,
    const char *rejected, int watch_fd, char **tokenp, char **emailp,
    struct b0_errmsg *em)
{
	struct px_tokens cur, fresh;
	struct px_oauth o;
	int lock = -1, r, have_oauth = 0;

	*tokenp = NULL;
	if (emailp != NULL)
		*emailp = NULL;
	memset(&cur, 0, sizeof(cur));
	memset(&fresh, 0, sizeof(fresh));
	memset(&o, 0, sizeof(o));
	if ((r = px_cache_lock(c, e, watch_fd, &lock, em)) != 0)
		return r;
	r = px_cache_load(c, e, &cur, em);
	if (r != 0 && r != B0_ERR_NOT_FOUND)
		goto out;
	if (r == 0 && !(flags & PX_TOKEN_LOGIN)) {
		if (cur.expires_at - (int64_t)time(NULL) >=
			PX_REFRESH_MARGIN_S &&
		    (rejected == NULL || strcmp(cur.access, rejected) != 0)) {
			px_debug("%s: cached access token", e->domain);
			goto done;
		}
		if (cur.refresh != NULL) {
			if ((r = px_oauth_discover(&o, c, e, em)) != 0)
				goto out;
			have_oauth = 1;
			r = refresh(&o, &cur, &fresh, em);
			if (r == 0) {
				px_debug("%s: refreshed the access token",
				    e->domain);
				goto store;
			}
			if (r != B0_ERR_AUTH)
				goto out;
			px_say("%s refused the refresh token (%s); signing in "
			       "again",
			    e->domain, em->text);
		}
	}
	if (flags & PX_TOKEN_NO_LOGIN) {
		b0_err_set(em, "%s: %s (run b0-proxy login)", e->domain,
		    cur.access == NULL ? "not signed in"
				       : "the access token expired and could "
					 "not be refreshed");
		r = B0_ERR_AUTH;
		goto out;
	}
	if (!have_oauth) {
		if ((r = px_oauth_discover(&o, c, e, em)) != 0)
			goto out;
		have_oauth = 1;
	}
	if ((r = px_login(&o, flags, watch_fd, &fresh, em)) != 0)
		goto out;
store:
	if ((r = px_cache_store(c, e, &fresh, em)) != 0)
		goto out;
	px_tokens_cleanup(&cur);
	cur = fresh;
	memset(&fresh, 0, sizeof(fresh));
done:
	if ((*tokenp = strdup(cur.access)) == NULL ||
	    (emailp != NULL && cur.email != NULL &&
		(*emailp = strdup(cur.email)) == NULL)) {
		b0_str_wipe_free(*tokenp);
		*tokenp = NULL;
		r = B0_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	if (have_oauth)
		px_oauth_cleanup(&o);
	px_tokens_cleanup(&cur);
	px_tokens_cleanup(&fresh);
	if (lock != -1)
		close(lock);
	return r;
}
