/*
 * The edge's HTML pages (pages.c): login, provider choice, device code
 * entry and confirmation, results and errors.  Real HTML5 with inline CSS,
 * readable on a phone, nothing loaded from outside (docs/identity.md,
 * "Pages").  Every string from a request or a user is HTML-escaped here.
 *
 * Each function fills rs (status, content type text/html, is_html, body)
 * and nothing else; the caller adds cookies with hresp_header().
 */
#ifndef EDGE_PAGES_H
#define EDGE_PAGES_H

#include "http.h"

struct page_provider {
	const char *name;  /* provider NAME from edge.conf */
	const char *label; /* shown on the button ("Sign in with NAME") */
};

/*
 * The sign-in form.  site: the name the person signs in to ("to continue
 * to <site>": an http socket's DNS name, from its checked redirect_uri;
 * NULL or "": edge_domain); req: the pending request id to carry (hidden
 * field);
 * csrf: the CSRF token (hidden field); email: prefill (may be NULL);
 * error: a sentence to show (NULL: none); builtin: show the password form;
 * providers[nprov]: one a.provider link each.  status 200 (401 after a
 * failed attempt).
 */
void page_login(struct hresp *rs, int status, const char *edge_domain,
    const char *site, const char *req, const char *csrf, const char *email,
    const char *error, int builtin, const struct page_provider *providers,
    size_t nprov);

/* Device flow: the code entry form (user_code may prefill; error may be NULL).
 */
void page_device_entry(struct hresp *rs, int status, const char *csrf,
    const char *user_code, const char *error);

/* Device flow: approve or deny the code for the signed-in email. */
void page_device_confirm(struct hresp *rs, const char *csrf,
    const char *user_code, const char *email, const char *client);

/*
 * A result page: h1 title, p.detail text (e.g. "Signed in", "You can
 * close this window and return to your terminal.").
 */
void page_message(
    struct hresp *rs, int status, const char *title, const char *detail);

/* An error page: h1 title ("Sign-in failed"), p.detail the reason. */
void page_error(
    struct hresp *rs, int status, const char *title, const char *detail);

/*
 * page_pending(rs, title, detail, url): a waiting page: h1 title, p.sub detail
 * and a spinner; the browser loads url (a path on the edge, e.g.
 * "/login/continue?req=..."; escaped here) after a second.  Status 200; no
 * p.detail (that marks error pages).
 */
void page_pending(
    struct hresp *rs, const char *title, const char *detail, const char *url);

/*
 * page_http_denied(rs, email, socket_dns, switch_url, post): 403 on an
 * http socket for a person signed in whom its list does not name: h1
 * "Access denied", p.detail "<email> is not allowed on <socket>",
 * dd#email, dd#socket and "Sign in as someone else": with post a form
 * that POSTs to switch_url (which carries its CSRF token) with
 * button#switch, else a#switch, a link to switch_url.
 */
void page_http_denied(struct hresp *rs, const char *email,
    const char *socket_dns, const char *switch_url, int post);

/*
 * page_logout(rs, host, email, switching, action, csrf, back): 200, the
 * question before a sign-out: h1 "Sign out of <host>?" (switching: "Sign
 * in as someone else?"), p.sub naming email, and a form POSTing to action
 * with a hidden csrf (if not NULL), a hidden post_logout_redirect_uri
 * back (if not NULL) and button#submit "Sign out" (switching: "Sign in as
 * someone else").
 */
void page_logout(struct hresp *rs, const char *host, const char *email,
    int switching, const char *action, const char *csrf, const char *back);

/*
 * page_logout_refused(rs, host, url): 403 for a sign-out without the
 * page's token: h1 "Sign-out refused", p.detail "This sign-out request
 * did not come from this site. Sign out again from <a#logout url>."
 */
void page_logout_refused(struct hresp *rs, const char *host, const char *url);

/*
 * page_http_basic(rs, socket_dns, error): 401 on a protected http socket
 * (the body a browser shows when its password prompt is cancelled): h1
 * "Password required", p.detail, and .error with error (NULL: none).  The
 * caller adds WWW-Authenticate.
 */
void page_http_basic(
    struct hresp *rs, const char *socket_dns, const char *error);

/*
 * html_escape(out, s): append s to out with & < > " ' escaped.  Returns 0
 * or B0_ERR_TOO_BIG.
 */
int html_escape(struct b0_buf *out, const char *s);

#endif /* EDGE_PAGES_H */
