/*
 * pam_b0: the identity the edge verified becomes a login (docs/pam.md,
 * "pam_b0").  The PAM entry points, the decision and its log line.
 *
 * Manners: prints nothing, never exits, keeps no state between calls
 * (argv and files are read on every call), talks to nothing but
 * b0-publish's Unix socket, wipes tickets and tokens, and never logs them.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "b0_file.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "b0_usermap.h"

#include "pam_b0.h"

#define PAM_B0_EXPORT __attribute__((visibility("default")))

/* sshd's answer for every prompt when the user does not exist. */
#define SSHD_PLACEHOLDER "\b\n\r\177INCORRECT"

#define SSH_CONN_MAX 256

/* What one decision is about, for its log line. */
struct decision {
	char user[B0_USERMAP_USER_SIZE + 8];
	char email[B0_IDENT_EMAIL_MAX + 1];
	char visitor[PAM_B0_VISITOR_MAX + 1];
	char socket[B0_IDENT_DOMAIN_MAX + 1];
	char ip[64];
	char port[8];
	struct b0_errmsg reason;
};

static const char *
result_name(int pr)
{
	switch (pr) {
	case PAM_SUCCESS:
		return "success";
	case PAM_IGNORE:
		return "ignore";
	case PAM_AUTH_ERR:
		return "auth-error";
	case PAM_PERM_DENIED:
		return "perm-denied";
	case PAM_USER_UNKNOWN:
		return "user-unknown";
	case PAM_AUTHINFO_UNAVAIL:
		return "authinfo-unavail";
	case PAM_SERVICE_ERR:
		return "service-error";
	case PAM_BUF_ERR:
		return "buf-error";
	case PAM_CONV_ERR:
		return "conv-error";
	case PAM_INCOMPLETE:
		return "incomplete";
	}
	return "error";
}

static int
result_prio(int pr)
{
	switch (pr) {
	case PAM_SUCCESS:
	case PAM_IGNORE:
		return LOG_INFO;
	case PAM_SERVICE_ERR:
		return LOG_ERR;
	case PAM_AUTHINFO_UNAVAIL:
	case PAM_BUF_ERR:
		return LOG_CRIT;
	}
	return LOG_NOTICE;
}

/* A copy of s fit for a log line: printable ASCII, no quotes or spaces. */
static void
clean(char *dst, size_t dstsz, const char *s, int spaces)
{
	size_t i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < dstsz; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == ' ' && spaces)
			dst[i] = ' ';
		else if (ch == '"' && spaces)
			dst[i] = '\'';
		else if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '\\')
			dst[i] = '?';
		else
			dst[i] = (char)ch;
	}
	if (dstsz > 0)
		dst[s == NULL ? 0 : i] = '\0';
}

static void
log_decision(pam_handle_t *pamh, const struct decision *d, int pr)
{
	char user[sizeof(d->user)], email[sizeof(d->email)];
	char vis[sizeof(d->visitor)], sock[sizeof(d->socket)];
	char reason[sizeof(d->reason.text)];

	clean(user, sizeof(user), d->user[0] ? d->user : "-", 0);
	clean(email, sizeof(email), d->email[0] ? d->email : "-", 0);
	clean(vis, sizeof(vis), d->visitor[0] ? d->visitor : "-", 0);
	clean(sock, sizeof(sock), d->socket[0] ? d->socket : "-", 0);
	clean(reason, sizeof(reason), d->reason.text, 1);
	pam_syslog(pamh, result_prio(pr),
	    "user=%s email=%s visitor=%s socket=%s result=%s reason=\"%s\"",
	    user, email, vis, sock, result_name(pr), reason);
}

/* Does the local user name exist?  0 yes, B0_ERR_NOT_FOUND, or an error. */
static int
user_exists(const char *name)
{
	struct passwd pw, *res = NULL;
	char *buf;
	long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
	int e;

	if (sz < 1024 || sz > 1024 * 1024)
		sz = 16384;
	if ((buf = malloc((size_t)sz)) == NULL)
		return B0_ERR_ALLOC;
	e = getpwnam_r(name, &pw, buf, (size_t)sz, &res);
	free(buf);
	if (res != NULL)
		return 0;
	if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		return B0_ERR_NOT_FOUND;
	return B0_ERR_SYS(e);
}

/*
 * The first two fields of SSH_CONNECTION ("client-ip client-port
 * server-ip server-port") into d->ip, d->port.  0, or B0_ERR_NOT_FOUND
 * when there is none, B0_ERR_FORMAT when it is malformed.  Only the PAM
 * environment counts (sshd puts SSH_CONNECTION there): the process's is
 * the caller's, and a local user running su could name any connection.
 */
static int
ssh_connection(pam_handle_t *pamh, struct decision *d)
{
	const char *s, *sp;
	size_t n;

	if ((s = pam_getenv(pamh, "SSH_CONNECTION")) == NULL)
		return B0_ERR_NOT_FOUND;
	if (strlen(s) > SSH_CONN_MAX || (sp = strchr(s, ' ')) == NULL ||
	    (n = (size_t)(sp - s)) == 0 || n >= sizeof(d->ip))
		return B0_ERR_FORMAT;
	memcpy(d->ip, s, n);
	d->ip[n] = '\0';
	s = sp + 1;
	if ((sp = strchr(s, ' ')) == NULL)
		sp = s + strlen(s);
	if ((n = (size_t)(sp - s)) == 0 || n >= sizeof(d->port))
		return B0_ERR_FORMAT;
	memcpy(d->port, s, n);
	d->port[n] = '\0';
	return 0;
}

/*
 * sshd sets PAM_RHOST to the client's address (or, with UseDNS, its
 * name).  When it is an address it must be SSH_CONNECTION's client
 * address.  0 when it is, or when there is no address to compare;
 * B0_ERR_PERM when they differ.
 */
static int
rhost_matches(pam_handle_t *pamh, const struct decision *d)
{
	const void *item = NULL;
	unsigned char a[16], b[16];
	int af;

	if (pam_get_item(pamh, PAM_RHOST, &item) != PAM_SUCCESS ||
	    item == NULL || *(const char *)item == '\0')
		return 0;
	if (inet_pton(AF_INET, item, a) == 1)
		af = AF_INET;
	else if (inet_pton(AF_INET6, item, a) == 1)
		af = AF_INET6;
	else
		return 0; /* a host name: nothing to compare */
	if (inet_pton(af, d->ip, b) != 1 ||
	    memcmp(a, b, af == AF_INET ? 4 : 16) != 0)
		return B0_ERR_PERM;
	return 0;
}

static int
is_token_char(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
}

/* pam_b0.h says what it does. */
int
pam_b0_take_part(const char *a, unsigned i, unsigned *np, char *tok,
    size_t *lenp, struct b0_errmsg *em)
{
	const char *slash, *sp, *part;
	uint32_t ai, an;
	size_t plen, k;

	if (strcmp(a, SSHD_PLACEHOLDER) == 0) {
		b0_err_set(em,
		    "part %u: sshd's placeholder answer (no such "
		    "user, or not allowed to log in)",
		    i);
		return PAM_AUTH_ERR;
	}
	if ((slash = strchr(a, '/')) == NULL ||
	    (sp = strchr(slash, ' ')) == NULL ||
	    b0_parse_u32n(a, (size_t)(slash - a), 1, PAM_B0_PARTS_MAX, &ai) !=
		0 ||
	    b0_parse_u32n(slash + 1, (size_t)(sp - slash - 1), 1,
		PAM_B0_PARTS_MAX, &an) != 0) {
		b0_err_set(em,
		    "part %u: the answer is not \"i/n part\" with "
		    "n from 1 to %d",
		    i, PAM_B0_PARTS_MAX);
		return PAM_AUTH_ERR;
	}
	if (ai != i) {
		b0_err_set(em, "part %u asked, part %u answered", i, ai);
		return PAM_AUTH_ERR;
	}
	if (*np != 0 && an != *np) {
		b0_err_set(em, "part %u: n changed from %u to %u", i, *np, an);
		return PAM_AUTH_ERR;
	}
	if (ai > an) {
		b0_err_set(em, "part %u of %u", ai, an);
		return PAM_AUTH_ERR;
	}
	part = sp + 1;
	plen = strlen(part);
	if (plen == 0 || plen > PAM_B0_PART_MAX) {
		b0_err_set(em, "part %u: %zu bytes, not 1 to %d", i, plen,
		    PAM_B0_PART_MAX);
		return PAM_AUTH_ERR;
	}
	for (k = 0; k < plen; k++)
		if (!is_token_char((unsigned char)part[k])) {
			b0_err_set(em,
			    "part %u: a byte that is not base64url "
			    "or '.' at offset %zu",
			    i, k);
			return PAM_AUTH_ERR;
		}
	*np = an;
	memcpy(tok + *lenp, part, plen);
	*lenp += plen;
	tok[*lenp] = '\0';
	return PAM_SUCCESS;
}

/*
 * Ask for an access token in parts (docs/pam.md, "Prompting for a
 * token").  On PAM_SUCCESS *tokp is the token, a secret the caller wipes
 * (b0_str_wipe_free()).
 */
static int
prompt_token(
    pam_handle_t *pamh, char **tokp, size_t *lenp, struct b0_errmsg *em)
{
	size_t cap = (size_t)PAM_B0_PART_MAX * PAM_B0_PARTS_MAX + 1;
	char *tok, *resp = NULL;
	unsigned i, n = 0;
	int pr;

	*tokp = NULL;
	*lenp = 0;
	if ((tok = calloc(1, cap)) == NULL)
		return PAM_BUF_ERR;
	for (i = 1; n == 0 || i <= n; i++) {
		resp = NULL;
		if (i == 1)
			pr = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp,
			    "b0-token part %u: ", i);
		else
			pr = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp,
			    "b0-token part %u/%u: ", i, n);
		if (pr != PAM_SUCCESS) {
			b0_err_set(em, "part %u: conversation: %s", i,
			    pam_strerror(pamh, pr));
			pr = pr == PAM_CONV_AGAIN ? PAM_INCOMPLETE
			     : pr == PAM_BUF_ERR  ? PAM_BUF_ERR
						  : PAM_CONV_ERR;
			goto out;
		}
		if (resp == NULL) {
			b0_err_set(em, "part %u: no answer", i);
			pr = PAM_AUTH_ERR;
			goto out;
		}
		pr = pam_b0_take_part(resp, i, &n, tok, lenp, em);
		b0_str_wipe_free(resp);
		resp = NULL;
		if (pr != PAM_SUCCESS)
			goto out;
	}
	*tokp = tok;
	tok = NULL;
	pr = PAM_SUCCESS;
out:
	b0_str_wipe_free(resp);
	if (tok != NULL) {
		OPENSSL_cleanse(tok, cap);
		free(tok);
	}
	if (pr != PAM_SUCCESS)
		*lenp = 0;
	return pr;
}

static int
putenv_kv(pam_handle_t *pamh, const char *k, const char *v)
{
	char buf[512];

	if ((size_t)snprintf(buf, sizeof(buf), "%s=%s", k, v) >= sizeof(buf))
		return PAM_BUF_ERR;
	return pam_putenv(pamh, buf);
}

/* The verdict of the rules: may d->email log in as d->user? */
static int
map_user(const struct pam_b0_conf *c, struct decision *d, const char *how)
{
	struct b0_usermap *m = NULL;
	struct b0_usermap_result res;
	struct b0_errmsg em;
	int r, pr;

	b0_err_clear(&em);
	if ((r = b0_usermap_load(c->users,
		 B0_FILE_OWNER_ROOT | B0_FILE_NO_WRITE_OTHERS, &m, &em)) != 0) {
		b0_err_set(&d->reason, "%s verified; rules: %s", how,
		    b0_err_text(&em, r));
		pr = r == B0_ERR_ALLOC ? PAM_BUF_ERR : PAM_SERVICE_ERR;
		goto out;
	}
	memset(&res, 0, sizeof(res));
	r = b0_usermap_check(m, d->email, d->user, &res);
	if (r == 0) {
		b0_err_set(&d->reason, "%s verified; rule %s -> %s (%s:%u)",
		    how, res.rule_identity, res.rule_user, c->users,
		    res.rule_line);
		pr = PAM_SUCCESS;
	} else {
		b0_err_set(&d->reason, "%s verified; %s: %s", how,
		    b0_usermap_status_name(res.status),
		    b0_err_text(&res.reason, r));
		pr = res.status == B0_USERMAP_ERROR
			 ? (r == B0_ERR_ALLOC ? PAM_BUF_ERR
					      : PAM_AUTHINFO_UNAVAIL)
			 : PAM_PERM_DENIED;
	}
out:
	b0_usermap_free(m);
	return pr;
}

/* The PAM code for a failed pam_b0_verify(). */
static int
verify_code(int r, int file)
{
	if (r == B0_ERR_ALLOC)
		return PAM_BUF_ERR;
	if (!file)
		return PAM_AUTH_ERR;
	if (r == B0_ERR_PERM)
		return PAM_SERVICE_ERR;
	return PAM_AUTHINFO_UNAVAIL;
}

static int
authenticate(pam_handle_t *pamh, int argc, const char **argv,
    struct pam_b0_conf *c, struct decision *d)
{
	struct pam_b0_opts o;
	struct pam_b0_id id;
	const void *item = NULL;
	const char *how = "ticket";
	char *tok = NULL;
	size_t toklen = 0;
	int r, pr, file = 0, have_conn;

	if (pam_b0_args(argc, argv, &o, &d->reason) != 0)
		return PAM_SERVICE_ERR;
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS ||
	    item == NULL || *(const char *)item == '\0') {
		b0_err_set(&d->reason, "no PAM_USER");
		return PAM_USER_UNKNOWN;
	}
	if (strlen(item) >= sizeof(d->user)) {
		b0_err_set(&d->reason, "PAM_USER is too long for a user name");
		return PAM_USER_UNKNOWN;
	}
	b0_strlcpy(d->user, item, sizeof(d->user));
	if ((r = pam_b0_conf_load(o.conf, c, &d->reason)) != 0)
		return r == B0_ERR_ALLOC ? PAM_BUF_ERR : PAM_SERVICE_ERR;
	if (o.prompt)
		c->prompt = 1;
	if (o.debug)
		pam_syslog(pamh, LOG_DEBUG,
		    "debug: %s: issuer %s, publisher %s, %zu socket(s), jwks "
		    "%s, users %s, ticket-socket %s, prompt %s, skew %u s",
		    o.conf, c->issuer, c->publisher, c->nsockets, c->jwks,
		    c->users, c->ticket_socket, c->prompt ? "yes" : "no",
		    c->skew);

	have_conn = (r = ssh_connection(pamh, d)) == 0;
	if (r == B0_ERR_FORMAT) {
		b0_err_set(&d->reason, "SSH_CONNECTION is malformed");
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (have_conn && rhost_matches(pamh, d) != 0) {
		const void *rh = NULL;

		(void)pam_get_item(pamh, PAM_RHOST, &rh);
		b0_err_set(&d->reason,
		    "SSH_CONNECTION client %s is not PAM_RHOST %.64s", d->ip,
		    (const char *)rh);
		return PAM_AUTH_ERR;
	}
	if (have_conn) {
		r = pam_b0_ticket_fetch(
		    c->ticket_socket, d->ip, d->port, &tok, &d->reason);
		if (r != 0 && r != B0_ERR_NOT_FOUND) {
			pr = r == B0_ERR_ALLOC	  ? PAM_BUF_ERR
			     : r == B0_ERR_CONFIG ? PAM_SERVICE_ERR
						  : PAM_AUTHINFO_UNAVAIL;
			goto out;
		}
		if (tok != NULL)
			toklen = strlen(tok);
		if (o.debug)
			pam_syslog(pamh, LOG_DEBUG,
			    "debug: ticket for %s port %s: %s", d->ip, d->port,
			    tok != NULL ? "found" : "none");
	} else
		b0_err_set(
		    &d->reason, "no SSH_CONNECTION in the PAM environment");
	if (tok == NULL) {
		if (!c->prompt) {
			b0_err_prefix(&d->reason, "no ticket");
			pr = PAM_IGNORE;
			goto out;
		}
		how = "token";
		b0_err_clear(&d->reason);
		if ((pr = prompt_token(pamh, &tok, &toklen, &d->reason)) !=
		    PAM_SUCCESS) {
			b0_err_prefix(&d->reason, "token");
			goto out;
		}
	}
	if ((r = pam_b0_verify(c,
		 strcmp(how, "token") == 0 ? PAM_B0_TOKEN : PAM_B0_TICKET, tok,
		 toklen, (int64_t)time(NULL), &id, &file, &d->reason)) != 0) {
		b0_err_prefix(&d->reason, "%s", how);
		pr = verify_code(r, file);
		goto out;
	}
	b0_strlcpy(d->email, id.email, sizeof(d->email));
	b0_strlcpy(d->socket, id.socket, sizeof(d->socket));
	if (id.visitor[0] != '\0')
		b0_strlcpy(d->visitor, id.visitor, sizeof(d->visitor));
	else if (have_conn)
		snprintf(d->visitor, sizeof(d->visitor),
		    strchr(d->ip, ':') ? "[%s]:%s" : "%s:%s", d->ip, d->port);

	if ((r = user_exists(d->user)) != 0) {
		b0_err_set(
		    &d->reason, "%s verified; no local user %s", how, d->user);
		pr = r == B0_ERR_NOT_FOUND ? PAM_USER_UNKNOWN
		     : r == B0_ERR_ALLOC   ? PAM_BUF_ERR
					   : PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	if ((pr = map_user(c, d, how)) != PAM_SUCCESS)
		goto out;
	if ((pr = putenv_kv(pamh, "B0_EMAIL", d->email)) != PAM_SUCCESS ||
	    (d->visitor[0] != '\0' && (pr = putenv_kv(pamh, "B0_VISITOR",
					   d->visitor)) != PAM_SUCCESS) ||
	    (d->socket[0] != '\0' && (pr = putenv_kv(pamh, "B0_SOCKET",
					  d->socket)) != PAM_SUCCESS) ||
	    (pr = putenv_kv(pamh, "B0_AUTH", how)) != PAM_SUCCESS) {
		b0_err_set(
		    &d->reason, "pam_putenv: %s", pam_strerror(pamh, pr));
		pr = PAM_BUF_ERR;
		goto out;
	}
	pr = PAM_SUCCESS;
out:
	if (tok != NULL) {
		OPENSSL_cleanse(tok, toklen);
		free(tok);
	}
	return pr;
}

PAM_B0_EXPORT int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pam_b0_conf c;
	struct decision d;
	int pr;

	(void)flags;
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	pr = authenticate(pamh, argc, argv, &c, &d);
	log_decision(pamh, &d, pr);
	pam_b0_conf_free(&c);
	return pr;
}

PAM_B0_EXPORT int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

PAM_B0_EXPORT int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pam_b0_opts o;
	struct pam_b0_conf c;
	struct decision d;
	const void *item = NULL;
	const char *how, *email;
	int pr;

	(void)flags;
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	if (pam_b0_args(argc, argv, &o, &d.reason) != 0) {
		pr = PAM_SERVICE_ERR;
		goto out;
	}
	if ((how = pam_getenv(pamh, "B0_AUTH")) == NULL ||
	    (strcmp(how, "ticket") != 0 && strcmp(how, "token") != 0)) {
		/* Not our login: nothing to say, unless asked. */
		if (o.debug)
			pam_syslog(pamh, LOG_DEBUG,
			    "not authenticated by "
			    "pam_b0: ignore");
		pam_b0_conf_free(&c);
		return PAM_IGNORE;
	}
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS ||
	    item == NULL || strlen(item) >= sizeof(d.user)) {
		b0_err_set(&d.reason, "no PAM_USER");
		pr = PAM_USER_UNKNOWN;
		goto out;
	}
	b0_strlcpy(d.user, item, sizeof(d.user));
	if ((email = pam_getenv(pamh, "B0_EMAIL")) == NULL ||
	    strlen(email) >= sizeof(d.email)) {
		b0_err_set(&d.reason, "B0_AUTH without B0_EMAIL");
		pr = PAM_PERM_DENIED;
		goto out;
	}
	b0_strlcpy(d.email, email, sizeof(d.email));
	if ((pr = pam_b0_conf_load(o.conf, &c, &d.reason)) != 0) {
		pr = pr == B0_ERR_ALLOC ? PAM_BUF_ERR : PAM_SERVICE_ERR;
		goto out;
	}
	pr = map_user(&c, &d, how);
out:
	log_decision(pamh, &d, pr);
	pam_b0_conf_free(&c);
	return pr;
}
