/*
 * The edge's HTML pages (docs/identity.md, "Pages").  One card in the
 * middle of the screen, the system's fonts, light and dark colours from
 * prefers-color-scheme, and nothing fetched: the CSS is inline and the
 * wordmark is an inline SVG, as the edge's Content-Security-Policy
 * (default-src 'none') demands.  Every string that is not a literal here
 * goes through html_escape().
 *
 * The element names, ids and classes the contract lists (form actions,
 * input names, button#submit, a.provider[data-provider], .error,
 * p.detail, button[name=action]) are what browser tests rely on: change
 * them only with docs/identity.md.
 */
#include <stdio.h>
#include <string.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_http.h"
#include "pages.h"

/* A page under construction; the first error sticks. */
struct page {
	struct b0_buf *b;
	int r;
};

static const char page_css[] =
    ":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--fg:#16191d;"
    "--muted:#5b6470;--line:#d8dce2;--field:#fff;--accent:#2453e6;"
    "--accent-fg:#fff;--ring:rgba(36,83,230,.3);--err-bg:#fdeded;"
    "--err-fg:#a3191c;--err-line:#f5c2c3;--shadow:0 1px 2px rgba(16,24,40,"
    ".05),0 12px 32px rgba(16,24,40,.08)}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#0e1014;--card:#171a20;"
    "--fg:#e8ebef;--muted:#9ba4af;--line:#2d323b;--field:#101216;"
    "--accent:#6b93ff;--accent-fg:#0a0c10;--ring:rgba(107,147,255,.35);"
    "--err-bg:#3b1618;--err-fg:#ffb9b9;--err-line:#5c2427;--shadow:none}}\n"
    "*{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
    "body{margin:0;min-height:100vh;display:flex;flex-direction:column;"
    "align-items:center;justify-content:center;padding:32px 16px;"
    "background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,"
    "-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",\"Noto Sans\","
    "\"Liberation Sans\",Arial,sans-serif;-webkit-font-smoothing:"
    "antialiased}\n"
    "main{width:100%;max-width:400px;background:var(--card);border:1px "
    "solid var(--line);border-radius:16px;padding:32px 28px 28px;"
    "box-shadow:var(--shadow)}\n"
    ".brand{display:flex;align-items:center;gap:10px;margin:0 0 28px;"
    "color:var(--fg);font-weight:700;font-size:18px;letter-spacing:-.01em}\n"
    ".brand svg{flex:none;display:block}\n"
    ".brand .tile{fill:var(--accent)}.brand .glyph{stroke:var(--accent-fg)}\n"
    ".brand .domain{margin-left:auto;color:var(--muted);font-weight:500;"
    "font-size:13px;overflow:hidden;text-overflow:ellipsis;"
    "white-space:nowrap;max-width:60%}\n"
    "h1{font-size:22px;line-height:1.3;font-weight:650;margin:0 0 6px;"
    "letter-spacing:-.01em}\n"
    "p{margin:0 0 16px}\n"
    ".sub,p.detail{color:var(--muted)}\n"
    "p.detail{margin-bottom:4px;overflow-wrap:anywhere}\n"
    "strong{color:var(--fg);font-weight:600;overflow-wrap:anywhere}\n"
    "form{margin:0}\n"
    "label{display:block;font-size:14px;font-weight:600;margin:18px 0 6px}\n"
    "input[type=text],input[type=password]{display:block;width:100%;"
    "padding:11px 12px;font:inherit;color:var(--fg);background:"
    "var(--field);border:1px solid var(--line);border-radius:10px;"
    "appearance:none}\n"
    "input:focus{outline:none;border-color:var(--accent);box-shadow:0 0 0 "
    "3px var(--ring)}\n"
    "input.code-in{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"
    "\"Liberation Mono\",monospace;font-size:20px;letter-spacing:.12em;"
    "text-align:center;text-transform:uppercase}\n"
    "button,a.provider,a.switch{display:flex;align-items:center;justify-"
    "content:"
    "center;gap:8px;width:100%;min-height:46px;padding:10px 16px;"
    "font:inherit;font-weight:600;border-radius:10px;cursor:pointer;"
    "text-decoration:none;transition:filter .15s,background-color .15s}\n"
    "button{margin-top:24px;background:var(--accent);color:var(--accent-fg);"
    "border:1px solid var(--accent)}\n"
    "a.switch{margin-top:24px;background:var(--accent);color:"
    "var(--accent-fg);border:1px solid var(--accent)}\n"
    "button:hover,a.switch:hover{filter:brightness(1.08)}\n"
    "button:focus-visible,a.provider:focus-visible,a.switch:focus-visible{"
    "outline:none;box-shadow:"
    "0 0 0 3px var(--ring)}\n"
    "button.secondary{background:transparent;color:var(--fg);border-color:"
    "var(--line)}\n"
    "button.secondary:hover{filter:none;background:rgba(127,127,127,.1)}\n"
    "a.provider{margin-top:12px;color:var(--fg);background:transparent;"
    "border:1px solid var(--line)}\n"
    "a.provider:hover{background:rgba(127,127,127,.1)}\n"
    ".providers{margin-top:8px}\n"
    ".sep{display:flex;align-items:center;gap:12px;margin:24px 0 4px;"
    "color:var(--muted);font-size:13px}\n"
    ".sep::before,.sep::after{content:\"\";flex:1;border-top:1px solid "
    "var(--line)}\n"
    ".error{display:flex;gap:10px;align-items:flex-start;background:"
    "var(--err-bg);color:var(--err-fg);border:1px solid var(--err-line);"
    "border-radius:10px;padding:10px 12px;margin:16px 0 4px;font-size:14px;"
    "overflow-wrap:anywhere}\n"
    ".error svg{flex:none;margin-top:2px}\n"
    ".code{font:600 28px/1.2 ui-monospace,SFMono-Regular,Menlo,Consolas,"
    "\"Liberation Mono\",monospace;letter-spacing:.14em;text-align:center;"
    "padding:18px 12px;margin:20px 0;border:1px dashed var(--line);"
    "border-radius:12px;overflow-wrap:anywhere}\n"
    ".kv{display:grid;grid-template-columns:auto 1fr;gap:6px 16px;"
    "margin:0 0 16px;font-size:15px}\n"
    ".kv dt{color:var(--muted)}.kv dd{margin:0;font-weight:600;"
    "overflow-wrap:anywhere}\n"
    ".note{font-size:14px;color:var(--muted);margin:0}\n"
    ".actions{display:flex;flex-direction:row-reverse;gap:12px}\n"
    ".actions button{flex:1}\n"
    ".icon{display:flex;align-items:center;justify-content:center;"
    "width:44px;height:44px;border-radius:50%;margin:0 0 16px}\n"
    ".icon.ok{background:rgba(22,163,74,.12);color:#16a34a}\n"
    ".icon.bad{background:var(--err-bg);color:var(--err-fg)}\n"
    ".spinner{width:36px;height:36px;margin:4px 0 20px;border-radius:50%;"
    "border:3px solid var(--line);border-top-color:var(--accent);"
    "animation:spin .8s linear infinite}\n"
    "@keyframes spin{to{transform:rotate(360deg)}}\n"
    "@media (prefers-reduced-motion:reduce){.spinner{animation:none}}\n"
    "footer{margin-top:20px;color:var(--muted);font-size:12px;"
    "text-align:center}\n"
    "@media (max-width:480px){body{padding:16px 12px;justify-content:"
    "flex-start}main{padding:24px 20px 22px;border-radius:14px}"
    "h1{font-size:20px}}\n";

/* The b0 wordmark: a rounded tile with a "b" and a "0" drawn in strokes. */
static const char page_logo[] =
    "<svg width=\"30\" height=\"30\" viewBox=\"0 0 32 32\" "
    "aria-hidden=\"true\" focusable=\"false\">"
    "<rect class=\"tile\" width=\"32\" height=\"32\" rx=\"8\"/>"
    "<g class=\"glyph\" fill=\"none\" stroke-width=\"3\" "
    "stroke-linecap=\"round\">"
    "<path d=\"M8 7.5v17\"/><circle cx=\"12.5\" cy=\"19.5\" r=\"4.5\"/>"
    "<ellipse cx=\"23\" cy=\"16\" rx=\"3.5\" ry=\"8\"/></g></svg>";

static const char page_icon_alert[] =
    "<svg width=\"16\" height=\"16\" viewBox=\"0 0 16 16\" "
    "aria-hidden=\"true\" focusable=\"false\"><circle cx=\"8\" cy=\"8\" "
    "r=\"7\" fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.6\"/>"
    "<path d=\"M8 4.5v4.2\" stroke=\"currentColor\" stroke-width=\"1.8\" "
    "stroke-linecap=\"round\"/><circle cx=\"8\" cy=\"11.3\" r=\"1\" "
    "fill=\"currentColor\"/></svg>";

static const char page_icon_cross[] =
    "<div class=\"icon bad\"><svg width=\"22\" height=\"22\" "
    "viewBox=\"0 0 24 24\" aria-hidden=\"true\" focusable=\"false\">"
    "<path d=\"M7 7l10 10M17 7L7 17\" fill=\"none\" "
    "stroke=\"currentColor\" stroke-width=\"2.4\" "
    "stroke-linecap=\"round\"/></svg></div>\n";

static const char page_icon_check[] =
    "<div class=\"icon ok\"><svg width=\"22\" height=\"22\" "
    "viewBox=\"0 0 24 24\" aria-hidden=\"true\" focusable=\"false\">"
    "<path d=\"M5.5 12.5l4.2 4.2L18.5 8\" fill=\"none\" "
    "stroke=\"currentColor\" stroke-width=\"2.4\" "
    "stroke-linecap=\"round\" stroke-linejoin=\"round\"/></svg></div>\n";

int
html_escape(struct b0_buf *out, const char *s)
{
	const char *p, *rep;
	int r;

	if (s == NULL)
		return 0;
	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		/* The run before the special character, then its entity. */
		if ((r = b0_buf_put(out, s, (size_t)(p - s))) != 0 ||
		    (r = b0_buf_put_str(out, rep)) != 0)
			return r;
		s = p + 1;
	}
	return b0_buf_put(out, s, (size_t)(p - s));
}

/* Literal HTML from this file. */
static void
put(struct page *pg, const char *html)
{
	if (pg->r == 0)
		pg->r = b0_buf_put_str(pg->b, html);
}

/* Text from anywhere else. */
static void
esc(struct page *pg, const char *text)
{
	if (pg->r == 0)
		pg->r = html_escape(pg->b, text);
}

/* A query parameter value inside an attribute: percent-, then HTML-. */
static void
esc_query(struct page *pg, const char *value)
{
	struct b0_buf tmp;
	const char *s;

	if (pg->r != 0)
		return;
	b0_buf_init(&tmp, b0_buf_avail(pg->b) + 1);
	if ((pg->r = b0_http_pct_encode(&tmp, value, strlen(value))) == 0 &&
	    (pg->r = b0_buf_cstr(&tmp, &s)) == 0)
		pg->r = html_escape(pg->b, s);
	b0_buf_cleanup(&tmp);
}

static void
hidden(struct page *pg, const char *name, const char *value)
{
	put(pg, "<input type=\"hidden\" name=\"");
	esc(pg, name);
	put(pg, "\" value=\"");
	esc(pg, value != NULL ? value : "");
	put(pg, "\">\n");
}

static void
error_box(struct page *pg, const char *error)
{
	if (error == NULL || *error == '\0')
		return;
	put(pg, "<p class=\"error\" id=\"error\" role=\"alert\">");
	put(pg, page_icon_alert);
	put(pg, "<span>");
	esc(pg, error);
	put(pg, "</span></p>\n");
}

static void
page_begin(struct hresp *rs, struct page *pg, const char *title,
    const char *domain, const char *refresh)
{
	pg->b = rs->body;
	pg->r = pg->b == NULL ? B0_ERR_ARG : 0;
	if (pg->r == 0)
		b0_buf_reset(pg->b);
	put(pg, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		"<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, "
		"initial-scale=1\">\n"
		"<meta name=\"color-scheme\" content=\"light dark\">\n"
		"<meta name=\"referrer\" content=\"no-referrer\">\n"
		"<meta name=\"robots\" content=\"noindex, nofollow\">\n"
		"<title>");
	esc(pg, title);
	if (domain != NULL && *domain != '\0') {
		put(pg, " \xc2\xb7 ");
		esc(pg, domain);
	}
	put(pg, " \xc2\xb7 b0</title>\n");
	if (refresh != NULL) {
		put(pg, "<meta http-equiv=\"refresh\" content=\"1;url=");
		esc(pg, refresh);
		put(pg, "\">\n");
	}
	put(pg, "<style>\n");
	put(pg, page_css);
	put(pg, "</style>\n</head>\n<body>\n<main>\n<div class=\"brand\">");
	put(pg, page_logo);
	put(pg, "<span>b0</span>");
	if (domain != NULL && *domain != '\0') {
		put(pg, "<span class=\"domain\">");
		esc(pg, domain);
		put(pg, "</span>");
	}
	put(pg, "</div>\n");
}

/*
 * page_end(rs, pg, status): close the page and fill rs; if anything did
 * not fit, a bare page says so instead.
 */
static void
page_end(struct hresp *rs, struct page *pg, int status)
{
	put(pg, "</main>\n<footer>Secured by b0</footer>\n</body>\n</html>\n");
	rs->content_type = "text/html; charset=utf-8";
	rs->is_html = 1;
	rs->status = status;
	if (pg->r == 0)
		return;
	rs->status = 500;
	if (pg->b == NULL)
		return;
	b0_buf_reset(pg->b);
	(void)b0_buf_put_str(pg->b,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>Error</title></head><body><h1>Error</h1>"
	    "<p class=\"detail\">The page did not fit its buffer.</p>"
	    "</body></html>\n");
}

void
page_login(struct hresp *rs, int status, const char *edge_domain,
    const char *site, const char *req, const char *csrf, const char *email,
    const char *error, int builtin, const struct page_provider *providers,
    size_t nprov)
{
	struct page pg;
	size_t i;
	int has_email = email != NULL && *email != '\0';

	page_begin(rs, &pg, "Sign in", edge_domain, NULL);
	put(&pg, "<h1>Sign in</h1>\n<p class=\"sub\">");
	if (site == NULL || *site == '\0')
		site = edge_domain;
	if (site != NULL && *site != '\0') {
		put(&pg, "to continue to <strong>");
		esc(&pg, site);
		put(&pg, "</strong>");
	} else
		put(&pg, "to continue");
	put(&pg, "</p>\n");
	error_box(&pg, error);
	if (builtin) {
		put(&pg, "<form method=\"post\" action=\"/login\" "
			 "novalidate>\n");
		hidden(&pg, "csrf", csrf);
		hidden(&pg, "req", req);
		put(&pg, "<label for=\"email\">Email</label>\n"
			 "<input type=\"text\" id=\"email\" name=\"email\" "
			 "inputmode=\"email\" autocomplete=\"username\" "
			 "autocapitalize=\"none\" spellcheck=\"false\" "
			 "maxlength=\"254\"");
		if (has_email) {
			put(&pg, " value=\"");
			esc(&pg, email);
			put(&pg, "\"");
		} else
			put(&pg, " autofocus");
		put(&pg, ">\n<label for=\"password\">Password</label>\n"
			 "<input type=\"password\" id=\"password\" "
			 "name=\"password\" autocomplete=\"current-password\"");
		if (has_email)
			put(&pg, " autofocus");
		put(&pg, ">\n<button type=\"submit\" id=\"submit\">Sign "
			 "in</button>\n</form>\n");
	}
	if (builtin && nprov > 0)
		put(&pg, "<div class=\"sep\" role=\"separator\">or</div>\n");
	if (nprov > 0)
		put(&pg, "<div class=\"providers\">\n");
	for (i = 0; i < nprov; i++) {
		const char *name =
		    providers[i].name != NULL ? providers[i].name : "";

		put(&pg, "<a class=\"provider\" data-provider=\"");
		esc(&pg, name);
		put(&pg, "\" href=\"/upstream/");
		esc_query(&pg, name);
		put(&pg, "/start?req=");
		esc_query(&pg, req != NULL ? req : "");
		put(&pg, "\">");
		if (providers[i].label != NULL && *providers[i].label != '\0')
			esc(&pg, providers[i].label);
		else {
			put(&pg, "Sign in with ");
			esc(&pg, name);
		}
		put(&pg, "</a>\n");
	}
	if (nprov > 0)
		put(&pg, "</div>\n");
	if (!builtin && nprov == 0)
		put(&pg, "<p class=\"detail\">This edge offers no way to sign "
			 "in. Ask its operator to add accounts or an identity "
			 "provider.</p>\n");
	page_end(rs, &pg, status);
}

void
page_device_entry(struct hresp *rs, int status, const char *csrf,
    const char *user_code, const char *error)
{
	struct page pg;

	page_begin(rs, &pg, "Connect a device", NULL, NULL);
	put(&pg, "<h1>Connect a device</h1>\n<p class=\"sub\">Enter the "
		 "code your terminal shows.</p>\n");
	error_box(&pg, error);
	put(&pg, "<form method=\"post\" action=\"/device\" novalidate>\n");
	hidden(&pg, "csrf", csrf);
	put(&pg, "<label for=\"user_code\">Code</label>\n"
		 "<input type=\"text\" id=\"user_code\" name=\"user_code\" "
		 "class=\"code-in\" placeholder=\"XXXX-XXXX\" "
		 "autocomplete=\"one-time-code\" autocapitalize=\"characters\" "
		 "spellcheck=\"false\" maxlength=\"32\" autofocus");
	if (user_code != NULL && *user_code != '\0') {
		put(&pg, " value=\"");
		esc(&pg, user_code);
		put(&pg, "\"");
	}
	put(&pg, ">\n<button type=\"submit\" id=\"submit\">Continue</button>\n"
		 "</form>\n");
	page_end(rs, &pg, status);
}

void
page_device_confirm(struct hresp *rs, const char *csrf, const char *user_code,
    const char *email, const char *client)
{
	struct page pg;

	page_begin(rs, &pg, "Confirm the device", NULL, NULL);
	put(&pg, "<h1>Confirm the device</h1>\n<p class=\"sub\">Check that "
		 "this code matches the one in your terminal.</p>\n"
		 "<div class=\"code\" id=\"user_code\">");
	esc(&pg, user_code);
	put(&pg, "</div>\n<dl class=\"kv\">\n<dt>Client</dt><dd "
		 "id=\"client\">");
	esc(&pg, client);
	put(&pg, "</dd>\n<dt>Account</dt><dd id=\"email\">");
	esc(&pg, email);
	put(&pg, "</dd>\n</dl>\n<p class=\"note\">Approve only if you started "
		 "this sign-in yourself. The device will act as ");
	esc(&pg, email);
	put(&pg, ".</p>\n<form method=\"post\" action=\"/device\">\n");
	hidden(&pg, "csrf", csrf);
	hidden(&pg, "user_code", user_code);
	put(&pg, "<div class=\"actions\">\n"
		 "<button type=\"submit\" name=\"action\" value=\"approve\" "
		 "id=\"approve\">Approve</button>\n"
		 "<button type=\"submit\" name=\"action\" value=\"deny\" "
		 "id=\"deny\" class=\"secondary\">Deny</button>\n"
		 "</div>\n</form>\n");
	page_end(rs, &pg, 200);
}

void
page_message(
    struct hresp *rs, int status, const char *title, const char *detail)
{
	struct page pg;

	page_begin(rs, &pg, title, NULL, NULL);
	/* The contract's success title (docs/identity.md) gets a check. */
	if (status == 200 && title != NULL &&
	    strncmp(title, "Signed in", 9) == 0)
		put(&pg, page_icon_check);
	put(&pg, "<h1>");
	esc(&pg, title);
	put(&pg, "</h1>\n<p class=\"detail\">");
	esc(&pg, detail);
	put(&pg, "</p>\n");
	page_end(rs, &pg, status);
}

void
page_error(struct hresp *rs, int status, const char *title, const char *detail)
{
	struct page pg;

	page_begin(rs, &pg, title, NULL, NULL);
	put(&pg, page_icon_cross);
	put(&pg, "<h1>");
	esc(&pg, title);
	put(&pg, "</h1>\n<p class=\"detail\">");
	esc(&pg, detail);
	put(&pg, "</p>\n");
	page_end(rs, &pg, status);
}

void
page_pending(
    struct hresp *rs, const char *title, const char *detail, const char *url)
{
	struct page pg;

	page_begin(rs, &pg, title, NULL, url);
	put(&pg, "<div class=\"spinner\" role=\"status\" "
		 "aria-label=\"Working\"></div>\n<h1>");
	esc(&pg, title);
	put(&pg, "</h1>\n<p class=\"sub\">");
	esc(&pg, detail);
	put(&pg, "</p>\n");
	page_end(rs, &pg, 200);
}

void
page_http_denied(struct hresp *rs, const char *email, const char *socket_dns,
    const char *switch_url, int post)
{
	struct page pg;

	page_begin(rs, &pg, "Access denied", socket_dns, NULL);
	put(&pg, page_icon_cross);
	put(&pg, "<h1>Access denied</h1>\n<p class=\"detail\">");
	esc(&pg, email);
	put(&pg, " is not allowed on ");
	esc(&pg, socket_dns);
	put(&pg, ".</p>\n<dl class=\"kv\">\n<dt>Signed in as</dt><dd "
		 "id=\"email\">");
	esc(&pg, email);
	put(&pg, "</dd>\n<dt>Site</dt><dd id=\"socket\">");
	esc(&pg, socket_dns);
	put(&pg, "</dd>\n</dl>\n<p class=\"note\">Ask the owner of this site "
		 "to let you in, or sign in with another account.</p>\n");
	if (post) {
		put(&pg, "<form method=\"post\" action=\"");
		esc(&pg, switch_url);
		put(&pg, "\">\n<button type=\"submit\" id=\"switch\">Sign in "
			 "as someone else</button>\n</form>\n");
	} else {
		put(&pg, "<a class=\"switch\" id=\"switch\" href=\"");
		esc(&pg, switch_url);
		put(&pg, "\">Sign in as someone else</a>\n");
	}
	page_end(rs, &pg, 403);
}

void
page_logout(struct hresp *rs, const char *host, const char *email,
    int switching, const char *action, const char *csrf, const char *back)
{
	struct page pg;
	const char *title =
	    switching ? "Sign in as someone else?" : "Sign out?";

	page_begin(rs, &pg, title, host, NULL);
	put(&pg, "<h1>");
	if (switching)
		esc(&pg, title);
	else {
		put(&pg, "Sign out of ");
		esc(&pg, host);
		put(&pg, "?");
	}
	put(&pg, "</h1>\n<p class=\"sub\">You are signed in as <strong>");
	esc(&pg, email);
	put(&pg, "</strong>.");
	if (switching) {
		put(&pg, " This signs you out of ");
		esc(&pg, host);
		put(&pg, ", then asks who you are.");
	}
	put(&pg, "</p>\n<form method=\"post\" action=\"");
	esc(&pg, action);
	put(&pg, "\">\n");
	if (csrf != NULL)
		hidden(&pg, "csrf", csrf);
	if (back != NULL)
		hidden(&pg, "post_logout_redirect_uri", back);
	put(&pg, "<button type=\"submit\" id=\"submit\">");
	put(&pg, switching ? "Sign in as someone else" : "Sign out");
	put(&pg, "</button>\n</form>\n");
	page_end(rs, &pg, 200);
}

void
page_logout_refused(struct hresp *rs, const char *host, const char *url)
{
	struct page pg;

	page_begin(rs, &pg, "Sign-out refused", host, NULL);
	put(&pg, page_icon_cross);
	put(&pg, "<h1>Sign-out refused</h1>\n<p class=\"detail\">This "
		 "sign-out request did not come from this site. Sign out "
		 "again from <a id=\"logout\" href=\"");
	esc(&pg, url);
	put(&pg, "\">");
	esc(&pg, url);
	put(&pg, "</a>.</p>\n");
	page_end(rs, &pg, 403);
}

void
page_http_basic(struct hresp *rs, const char *socket_dns, const char *error)
{
	struct page pg;

	page_begin(rs, &pg, "Password required", socket_dns, NULL);
	put(&pg, page_icon_cross);
	put(&pg, "<h1>Password required</h1>\n");
	error_box(&pg, error);
	put(&pg, "<p class=\"detail\">");
	esc(&pg, socket_dns);
	put(&pg, " asks for a user name and password. Reload the page to "
		 "enter them.</p>\n");
	page_end(rs, &pg, 401);
}
