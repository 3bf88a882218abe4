/*
 * b0_usermap: identity-to-local-user rules of a target host.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "b0_conf.h"
#include "b0_err.h"
#include "b0_ident.h"
#include "b0_str.h"
#include "b0_usermap.h"

#define LOCALPART "%localpart"
#define GETPW_BUF_MAX (1024 * 1024)

struct rule {
	enum b0_ident_kind kind;
	char *identity;	  /* lower case; one allocation with user */
	const char *user; /* a name or "%localpart", after identity */
	int localpart;
	unsigned line;
};

struct b0_usermap {
	char *name; /* the file, for messages */
	struct rule *r;
	size_t n, alloc;
	b0_usermap_getpw_fn *getpw;
	void *cookie;
};

int
b0_usermap_valid_user(const char *name)
{
	size_t i;

	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return 0;
	for (i = 1; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= B0_USERMAP_USER_SIZE - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* getpwnam_r(), growing its buffer as long as it asks for more. */
static int
getpw_system(void *cookie, const char *name, uid_t *uidp)
{
	struct passwd pw, *res = NULL;
	size_t sz = 1024;
	char *buf = NULL, *nb;
	int e;

	(void)cookie;
	for (;;) {
		if ((nb = realloc(buf, sz)) == NULL) {
			free(buf);
			return B0_ERR_ALLOC;
		}
		buf = nb;
		e = getpwnam_r(name, &pw, buf, sz, &res);
		if (e != ERANGE || sz >= GETPW_BUF_MAX)
			break;
		sz *= 2;
	}
	if (e == 0 && res != NULL)
		*uidp = pw.pw_uid;
	free(buf);
	if (e == 0)
		return res != NULL ? 0 : B0_ERR_NOT_FOUND;
	/* Some NSS modules say "not found" with ENOENT (getpwnam(3)). */
	if (e == ENOENT || e == ESRCH)
		return B0_ERR_NOT_FOUND;
	return B0_ERR_SYS(e);
}

void
b0_usermap_free(struct b0_usermap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++)
		free(m->r[i].identity);
	free(m->r);
	free(m->name);
	free(m);
}

size_t
b0_usermap_count(const struct b0_usermap *m)
{
	return m->n;
}

void
b0_usermap_set_getpw(
    struct b0_usermap *m, b0_usermap_getpw_fn *fn, void *cookie)
{
	m->getpw = fn != NULL ? fn : getpw_system;
	m->cookie = fn != NULL ? cookie : NULL;
}

static int
add_rule(struct b0_usermap *m, const struct b0_conf_line *l,
    enum b0_ident_kind kind, int localpart)
{
	size_t il = strlen(l->argv[0]), ul = strlen(l->argv[1]);
	struct rule *nr, *rule;
	char *text;

	if (m->n == m->alloc) {
		size_t na = m->alloc ? m->alloc * 2 : 16;

		if ((nr = reallocarray(m->r, na, sizeof(*nr))) == NULL)
			return B0_ERR_ALLOC;
		m->r = nr;
		m->alloc = na;
	}
	if ((text = malloc(il + ul + 2)) == NULL)
		return B0_ERR_ALLOC;
	memcpy(text, l->argv[0], il + 1);
	b0_str_lower(text);
	memcpy(text + il + 1, l->argv[1], ul + 1);
	rule = &m->r[m->n++];
	rule->kind = kind;
	rule->identity = text;
	rule->user = text + il + 1;
	rule->localpart = localpart;
	rule->line = l->lineno;
	return 0;
}

static int
parse_rule(
    struct b0_usermap *m, const struct b0_conf_line *l, struct b0_errmsg *em)
{
	char shown[B0_IDENT_SHOW_SIZE], ushown[B0_IDENT_SHOW_SIZE];
	struct b0_errmsg why;
	enum b0_ident_kind kind;
	const char *user;
	int localpart = 0;

	b0_ident_show(shown, sizeof(shown), l->argv[0], strlen(l->argv[0]));
	if (l->argc == 1)
		return b0_conf_error(em, l,
		    "\"%s\" has no user: write IDENTITY USER, such as "
		    "\"alice@example.com alice\"",
		    shown);
	b0_ident_show(ushown, sizeof(ushown), l->argv[1], strlen(l->argv[1]));
	if (l->argc == 3 && strcmp(l->argv[1], "->") == 0) {
		b0_ident_show(
		    ushown, sizeof(ushown), l->argv[2], strlen(l->argv[2]));
		return b0_conf_error(em, l,
		    "write IDENTITY USER without \"->\" (\"%s %s\")", shown,
		    ushown);
	}
	if (l->argc > 2)
		return b0_conf_error(em, l,
		    "%d words where a rule has two: IDENTITY USER", l->argc);
	b0_err_clear(&why);
	if (b0_ident_parse(l->argv[0], strlen(l->argv[0]), &kind, &why) != 0)
		return b0_conf_error(em, l, "\"%s\": %s", shown, why.text);
	user = l->argv[1];
	if (user[0] == '%') {
		if (strcmp(user, LOCALPART) != 0)
			return b0_conf_error(em, l,
			    "unknown placeholder \"%s\": the only one is "
			    "%%localpart",
			    ushown);
		localpart = 1;
	} else if (!b0_usermap_valid_user(user)) {
		return b0_conf_error(em, l,
		    "\"%s\" is not a valid user name: lower-case letters, "
		    "digits, \"_\" and \"-\", starting with a letter or \"_\", "
		    "at most 32",
		    ushown);
	}
	return add_rule(m, l, kind, localpart);
}

/* Order by kind, identity, then line: duplicates sit side by side. */
static int
rule_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->identity, y->identity)) != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int
rule_key_cmp(const void *a, const void *b)
{
	const struct rule *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->identity, y->identity);
}

/*
 * Sort for lookups and refuse an identity given twice, naming the first
 * repetition in file order.
 */
static int
sort_rules(struct b0_usermap *m, struct b0_errmsg *em)
{
	char shown[B0_IDENT_SHOW_SIZE];
	const struct rule *dup = NULL, *orig = NULL;
	size_t i;

	if (m->n > 0)
		qsort(m->r, m->n, sizeof(*m->r), rule_cmp);
	for (i = 1; i < m->n; i++) {
		if (rule_key_cmp(&m->r[i - 1], &m->r[i]) == 0 &&
		    (dup == NULL || m->r[i].line < dup->line)) {
			orig = &m->r[i - 1];
			dup = &m->r[i];
		}
	}
	if (dup == NULL)
		return 0;
	b0_ident_show(
	    shown, sizeof(shown), dup->identity, strlen(dup->identity));
	b0_err_set(em,
	    "%s:%u: \"%s\" already has a rule on line %u (one rule per "
	    "identity)",
	    m->name, dup->line, shown, orig->line);
	return B0_ERR_CONFIG;
}

static int
usermap_read(struct b0_conf *c, const char *name, struct b0_usermap **mp,
    struct b0_errmsg *em)
{
	struct b0_usermap *m;
	struct b0_conf_line l;
	int r;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->name = strdup(name)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	m->getpw = getpw_system;
	while ((r = b0_conf_next(c, &l, em)) == 1) {
		if ((r = parse_rule(m, &l, em)) != 0)
			goto out;
	}
	if (r != 0 || (r = sort_rules(m, em)) != 0)
		goto out;
	*mp = m;
	m = NULL; /* transferred */
	r = 0;
out:
	b0_usermap_free(m);
	return r;
}

int
b0_usermap_load(const char *path, unsigned file_flags, struct b0_usermap **mp,
    struct b0_errmsg *em)
{
	struct b0_conf *c = NULL;
	int r;

	*mp = NULL;
	if ((r = b0_conf_open(path, file_flags, &c, em)) == 0)
		r = usermap_read(c, path, mp, em);
	b0_conf_free(c);
	return r;
}

int
b0_usermap_parse(const char *name, const char *text, size_t len,
    struct b0_usermap **mp, struct b0_errmsg *em)
{
	struct b0_conf *c = NULL;
	int r;

	*mp = NULL;
	if ((r = b0_conf_open_mem(name, text, len, &c, em)) == 0)
		r = usermap_read(c, name, mp, em);
	b0_conf_free(c);
	return r;
}

static const struct rule *
find(const struct b0_usermap *m, enum b0_ident_kind kind, const char *id)
{
	struct rule key;

	if (m->n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.kind = kind;
	key.identity = (char *)id;
	return bsearch(&key, m->r, m->n, sizeof(*m->r), rule_key_cmp);
}

/* The most specific rule for addr (valid, lower case), or NULL. */
static const struct rule *
best_rule(const struct b0_usermap *m, const char *addr)
{
	const struct rule *rule;
	const char *domain = strchr(addr, '@') + 1, *d;

	if ((rule = find(m, B0_IDENT_EMAIL, addr)) != NULL ||
	    (rule = find(m, B0_IDENT_DOMAIN, domain)) != NULL)
		return rule;
	/* ".x.example.com" before ".example.com": longest first. */
	for (d = strchr(domain, '.'); d != NULL; d = strchr(d + 1, '.')) {
		if ((rule = find(m, B0_IDENT_SUBDOMAIN, d)) != NULL)
			return rule;
	}
	return NULL;
}

/* Is uid the system's rather than a person's?  See b0_usermap.h. */
static int
system_uid(uid_t uid)
{
	return uid < B0_USERMAP_UID_MIN ||
	       (uid >= B0_USERMAP_UID_SYS_LO && uid <= B0_USERMAP_UID_SYS_HI) ||
	       uid >= (uid_t)-2;
}

static int
lookup(const struct b0_usermap *m, const char *email,
    struct b0_usermap_result *res)
{
	char addr[B0_IDENT_EMAIL_MAX + 1], shown[B0_IDENT_SHOW_SIZE];
	const struct rule *rule;
	size_t n, ln;
	int r;

	memset(res, 0, sizeof(*res));
	res->status = B0_USERMAP_BAD_EMAIL;
	if (email == NULL) {
		b0_err_set(&res->reason, "there is no address to map (not "
					 "signed in)");
		return B0_ERR_DENIED;
	}
	n = strlen(email);
	b0_ident_show(shown, sizeof(shown), email, n);
	if (b0_ident_check_email(email, n, &res->reason) != 0) {
		b0_err_prefix(
		    &res->reason, "\"%s\" is not a valid email address", shown);
		return B0_ERR_DENIED;
	}
	memcpy(addr, email, n + 1);
	b0_str_lower(addr);
	if ((rule = best_rule(m, addr)) == NULL) {
		res->status = B0_USERMAP_NO_RULE;
		b0_err_set(
		    &res->reason, "no rule in %s matches %s", m->name, shown);
		return B0_ERR_DENIED;
	}
	res->rule_identity = rule->identity;
	res->rule_user = rule->user;
	res->rule_line = rule->line;
	if (rule->localpart) {
		ln = (size_t)(strchr(addr, '@') - addr);
		b0_ident_show(shown, sizeof(shown), addr, ln);
		if (ln >= sizeof(res->user)) {
			res->status = B0_USERMAP_BAD_LOCALPART;
			b0_err_set(&res->reason,
			    "local part \"%s\" is not a valid user name "
			    "(longer than 32 characters; %s:%u: %s %s)",
			    shown, m->name, rule->line, rule->identity,
			    rule->user);
			return B0_ERR_DENIED;
		}
		memcpy(res->user, addr, ln);
		res->user[ln] = '\0';
		if (!b0_usermap_valid_user(res->user)) {
			res->user[0] = '\0';
			res->status = B0_USERMAP_BAD_LOCALPART;
			b0_err_set(&res->reason,
			    "local part \"%s\" is not a valid user name "
			    "(%s:%u: %s %s)",
			    shown, m->name, rule->line, rule->identity,
			    rule->user);
			return B0_ERR_DENIED;
		}
	} else
		b0_strlcpy(res->user, rule->user, sizeof(res->user));
	b0_ident_show(shown, sizeof(shown), email, n);
	if (rule->localpart && strcmp(res->user, "root") == 0) {
		res->status = B0_USERMAP_SYSTEM_USER;
		b0_err_set(&res->reason,
		    "%%localpart of %s is root, which %%localpart never gives: "
		    "name root in a rule of its own if you mean it (%s:%u)",
		    shown, m->name, rule->line);
		return B0_ERR_DENIED;
	}
	if ((r = m->getpw(m->cookie, res->user, &res->uid)) ==
	    B0_ERR_NOT_FOUND) {
		res->status = B0_USERMAP_NO_USER;
		b0_err_set(&res->reason,
		    "%s:%u maps %s to \"%s\", but this host has no user \"%s\"",
		    m->name, rule->line, shown, res->user, res->user);
		return B0_ERR_DENIED;
	}
	if (r != 0) {
		res->status = B0_USERMAP_ERROR;
		b0_err_set(&res->reason, "cannot look up user \"%s\": %s",
		    res->user, b0_strerror(r));
		return r;
	}
	if (rule->localpart && system_uid(res->uid)) {
		res->status = B0_USERMAP_SYSTEM_USER;
		b0_err_set(&res->reason,
		    "%%localpart of %s is \"%s\", a system account (uid %u), "
		    "which %%localpart never gives: name it in a rule of its "
		    "own if you mean it (%s:%u)",
		    shown, res->user, (unsigned)res->uid, m->name, rule->line);
		return B0_ERR_DENIED;
	}
	res->status = B0_USERMAP_OK;
	b0_err_set(&res->reason, "%s:%u maps %s to %s (rule: %s %s)", m->name,
	    rule->line, shown, res->user, rule->identity, rule->user);
	return 0;
}

int
b0_usermap_lookup(const struct b0_usermap *m, const char *email,
    struct b0_usermap_result *res)
{
	int r = lookup(m, email, res);

	return r;
}

int
b0_usermap_check(const struct b0_usermap *m, const char *email,
    const char *user, struct b0_usermap_result *res)
{
	char want[B0_IDENT_SHOW_SIZE], shown[B0_IDENT_SHOW_SIZE];
	int r;

	if ((r = b0_usermap_lookup(m, email, res)) != 0)
		return r;
	b0_ident_show(shown, sizeof(shown), email, strlen(email));
	if (user != NULL && strcmp(res->user, user) == 0) {
		b0_err_prefix(&res->reason, "%s may log in as %s", shown, user);
		return 0;
	}
	if (user == NULL)
		user = "";
	b0_ident_show(want, sizeof(want), user, strlen(user));
	res->status = B0_USERMAP_OTHER_USER;
	b0_err_set(&res->reason,
	    "%s may log in as %s only, not as \"%s\" (%s:%u: %s %s)", shown,
	    res->user, want, m->name, res->rule_line, res->rule_identity,
	    res->rule_user);
	return B0_ERR_DENIED;
}

const char *
b0_usermap_status_name(enum b0_usermap_status status)
{
	switch (status) {
	case B0_USERMAP_OK:
		return "ok";
	case B0_USERMAP_BAD_EMAIL:
		return "bad-email";
	case B0_USERMAP_NO_RULE:
		return "no-rule";
	case B0_USERMAP_BAD_LOCALPART:
		return "bad-localpart";
	case B0_USERMAP_SYSTEM_USER:
		return "system-user";
	case B0_USERMAP_NO_USER:
		return "no-user";
	case B0_USERMAP_OTHER_USER:
		return "other-user";
	case B0_USERMAP_ERROR:
		return "error";
	}
	return "unknown";
}
