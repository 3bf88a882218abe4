/*
 * Unit tests for policy/b0_usermap: identity-to-local-user rules.
 *
 * Lookups go to a fake user database, so the results do not depend on the
 * accounts of the machine running the tests; one test at the end uses the
 * real getpwnam_r() for root, which every system has.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_err.h"
#include "b0_file.h"
#include "b0_ident.h"
#include "b0_usermap.h"
#include "tap.h"

static const struct {
	const char *name;
	uid_t uid;
} fake_users[] = {
    {"root", 0},
    {"daemon", 1},
    {"svc", 999},
    {"alice", 1000},
    {"bob", 1001},
    {"carol", 1002},
    {"deploy", 1500},
    {"jdoe", 59999},
    {"dyn", 60000},
    {"nobody", 65534},
    {"top16", 65535},
    {"ldapu", 1000000},
    {"minus2", 4294967294u},
    {"labuser", 2000},
    {"ops", 2001},
    {"_guest", 3000},
    {"a-b_c9", 3001},
};

/* A TAP-safe name for an input (no control characters). */
static const char *
nm(const char *s)
{
	static char buf[128];

	b0_ident_show(buf, sizeof(buf), s, strlen(s));
	return buf;
}

static int
fake_getpw(void *cookie, const char *name, uid_t *uidp)
{
	size_t i;

	(*(int *)cookie)++;
	if (strcmp(name, "ioerror") == 0)
		return B0_ERR_SYS(EIO);
	for (i = 0; i < sizeof(fake_users) / sizeof(fake_users[0]); i++) {
		if (strcmp(fake_users[i].name, name) == 0) {
			*uidp = fake_users[i].uid;
			return 0;
		}
	}
	return B0_ERR_NOT_FOUND;
}

static const char rules[] = "# b0 users\n"
			    "alice@example.com      alice\n"
			    "ops@example.com        root\n"
			    "svc@example.com        svc\n"
			    "example.com            %localpart\n"
			    "\n"
			    "   .example.com        labuser   # any subdomain\n"
			    ".lab.example.com       ops\n"
			    ".x.lab.example.com     deploy\n"
			    "Example.ORG            %localpart\n"
			    "ghost@example.net      ghost\n"
			    "io@example.net         ioerror\n"
			    "example.net            nobody\n";

static void
test_valid_user(void)
{
	static const struct {
		const char *name;
		int ok;
	} t[] = {
	    {"alice", 1},
	    {"_guest", 1},
	    {"a", 1},
	    {"a-b_c9", 1},
	    {"abcdefghijklmnopqrstuvwxyz012345", 1},  /* 32 */
	    {"abcdefghijklmnopqrstuvwxyz0123456", 0}, /* 33 */
	    {"", 0},
	    {"Alice", 0},
	    {"9lives", 0},
	    {"-x", 0},
	    {"alice.smith", 0},
	    {"al ice", 0},
	    {"alice$", 0},
	    {"al@ice", 0},
	    {"%localpart", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		is_int(b0_usermap_valid_user(t[i].name), t[i].ok,
		    "user name \"%s\" %s", t[i].name,
		    t[i].ok ? "valid" : "invalid");
}

static void
test_lookup(void)
{
	static const struct {
		const char *email;
		int r;
		enum b0_usermap_status status;
		const char *user;
		unsigned line;
		const char *reason;
	} t[] = {
	    /* Exact addresses first, whatever the case. */
	    {"alice@example.com", 0, B0_USERMAP_OK, "alice", 2,
		"rules:2 maps alice@example.com to alice (rule: "
		"alice@example.com alice)"},
	    {"ALICE@Example.Com", 0, B0_USERMAP_OK, "alice", 2, "to alice"},
	    /* A rule may name root or a system user explicitly. */
	    {"ops@example.com", 0, B0_USERMAP_OK, "root", 3, "to root"},
	    {"svc@example.com", 0, B0_USERMAP_OK, "svc", 4, "to svc"},
	    /* Then the domain, with %localpart. */
	    {"bob@example.com", 0, B0_USERMAP_OK, "bob", 5,
		"(rule: example.com %localpart)"},
	    {"Carol@EXAMPLE.com", 0, B0_USERMAP_OK, "carol", 5, "to carol"},
	    {"jdoe@example.com", 0, B0_USERMAP_OK, "jdoe", 5, "jdoe"},
	    {"_guest@example.com", 0, B0_USERMAP_OK, "_guest", 5, "_guest"},
	    {"a-b_c9@example.com", 0, B0_USERMAP_OK, "a-b_c9", 5, "a-b_c9"},
	    /* %localpart: not a user name. */
	    {"alice.smith@example.com", B0_ERR_DENIED, B0_USERMAP_BAD_LOCALPART,
		"", 5, "local part \"alice.smith\" is not a valid user name"},
	    {"9lives@example.com", B0_ERR_DENIED, B0_USERMAP_BAD_LOCALPART, "",
		5, "not a valid user name"},
	    {"a+tag@example.com", B0_ERR_DENIED, B0_USERMAP_BAD_LOCALPART, "",
		5, "\"a+tag\""},
	    {"abcdefghijklmnopqrstuvwxyz0123456@example.com", B0_ERR_DENIED,
		B0_USERMAP_BAD_LOCALPART, "", 5, "longer than 32"},
	    /* %localpart never gives root or system users. */
	    {"root@example.com", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER, "root",
		5, "%localpart of root@example.com is root"},
	    {"Root@example.com", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER, "root",
		5, "never gives"},
	    {"daemon@example.com", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER,
		"daemon", 5, "a system account (uid 1)"},
	    {"nobody@example.com", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER,
		"nobody", 5, "(uid 65534)"},
	    {"svc@example.org", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER, "svc",
		10, "(uid 999)"},
	    {"dyn@example.com", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER, "dyn", 5,
		"(uid 60000)"},
	    {"top16@example.com", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER,
		"top16", 5, "(uid 65535)"},
	    {"minus2@example.com", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER,
		"minus2", 5, "(uid 4294967294)"},
	    /* Directory users live above 65535 and are people. */
	    {"ldapu@example.com", 0, B0_USERMAP_OK, "ldapu", 5, "to ldapu"},
	    /* %localpart for someone with no account here. */
	    {"zed@example.com", B0_ERR_DENIED, B0_USERMAP_NO_USER, "zed", 5,
		"rules:5 maps zed@example.com to \"zed\", but this host has no "
		"user \"zed\""},
	    /* Subdomains: longest wins; never the domain itself. */
	    {"bob@a.example.com", 0, B0_USERMAP_OK, "labuser", 7, "labuser"},
	    {"bob@a.b.c.example.com", 0, B0_USERMAP_OK, "labuser", 7,
		"labuser"},
	    {"bob@lab.example.com", 0, B0_USERMAP_OK, "labuser", 7, "labuser"},
	    {"bob@r1.lab.example.com", 0, B0_USERMAP_OK, "ops", 8, "ops"},
	    {"bob@x.lab.example.com", 0, B0_USERMAP_OK, "ops", 8, "ops"},
	    {"bob@y.x.lab.example.com", 0, B0_USERMAP_OK, "deploy", 9,
		"deploy"},
	    /* Domain rules stored lower case. */
	    {"bob@example.org", 0, B0_USERMAP_OK, "bob", 10, "bob"},
	    {"bob@sub.example.org", B0_ERR_DENIED, B0_USERMAP_NO_RULE, "", 0,
		"no rule in rules matches bob@sub.example.org"},
	    /* Look-alikes match no rule. */
	    {"bob@evilexample.com", B0_ERR_DENIED, B0_USERMAP_NO_RULE, "", 0,
		"no rule"},
	    {"bob@example.com.evil.test", B0_ERR_DENIED, B0_USERMAP_NO_RULE, "",
		0, "no rule"},
	    {"bob@x.badexample.com", B0_ERR_DENIED, B0_USERMAP_NO_RULE, "", 0,
		"no rule"},
	    {"alice@example.co", B0_ERR_DENIED, B0_USERMAP_NO_RULE, "", 0,
		"no rule"},
	    /* An explicit rule for a user the host lacks. */
	    {"ghost@example.net", B0_ERR_DENIED, B0_USERMAP_NO_USER, "ghost",
		11, "this host has no user \"ghost\""},
	    {"x@example.net", 0, B0_USERMAP_OK, "nobody", 13, "to nobody"},
	    /* The user database failing is not a "no". */
	    {"io@example.net", B0_ERR_SYS(EIO), B0_USERMAP_ERROR, "ioerror", 12,
		"cannot look up user \"ioerror\""},
	    /* Invalid addresses. */
	    {"alice@example.com@evil.test", B0_ERR_DENIED, B0_USERMAP_BAD_EMAIL,
		"", 0,
		"\"alice@example.com@evil.test\" is not a valid email address: "
		"there is more than one \"@\""},
	    {"", B0_ERR_DENIED, B0_USERMAP_BAD_EMAIL, "", 0, "empty"},
	    {"alice", B0_ERR_DENIED, B0_USERMAP_BAD_EMAIL, "", 0, "no \"@\""},
	    {"a@example.com.", B0_ERR_DENIED, B0_USERMAP_BAD_EMAIL, "", 0,
		"ends with a dot"},
	};
	struct b0_usermap *m = NULL;
	struct b0_errmsg em;
	size_t i;
	int calls = 0, r;

	b0_err_clear(&em);
	r = b0_usermap_parse("rules", rules, strlen(rules), &m, &em);
	is_int(r, 0, "rules parse");
	if (r != 0) {
		tap_diag("%s", em.text);
		return;
	}
	is_int(b0_usermap_count(m), 11, "11 rules");
	b0_usermap_set_getpw(m, fake_getpw, &calls);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct b0_usermap_result res;

		r = b0_usermap_lookup(m, t[i].email, &res);
		is_int(r, t[i].r, "map \"%s\" -> %d", t[i].email, t[i].r);
		is_str(b0_usermap_status_name(res.status),
		    b0_usermap_status_name(t[i].status), "map \"%s\" status",
		    t[i].email);
		is_str(res.user, t[i].user, "map \"%s\" user", t[i].email);
		is_int(res.rule_line, t[i].line, "map \"%s\" rule line",
		    t[i].email);
		has_str(res.reason.text, t[i].reason, "map \"%s\" reason",
		    t[i].email);
	}
	{
		struct b0_usermap_result res;

		calls = 0;
		is_int(b0_usermap_lookup(m, "root@example.com", &res),
		    B0_ERR_DENIED, "%%localpart root");
		is_int(
		    calls, 0, "%%localpart root is refused before any lookup");
		is_int(b0_usermap_lookup(m, NULL, &res), B0_ERR_DENIED,
		    "NULL address");
		is_int(res.status, B0_USERMAP_BAD_EMAIL, "NULL address status");
	}
	b0_usermap_free(m);
}

static void
test_check(void)
{
	static const struct {
		const char *email, *user;
		int r;
		enum b0_usermap_status status;
		const char *reason;
	} t[] = {
	    {"alice@example.com", "alice", 0, B0_USERMAP_OK,
		"alice@example.com may log in as alice: rules:1"},
	    {"alice@example.com", "root", B0_ERR_DENIED, B0_USERMAP_OTHER_USER,
		"alice@example.com may log in as alice only, not as \"root\" "
		"(rules:1: alice@example.com alice)"},
	    {"Bob@Example.com", "bob", 0, B0_USERMAP_OK, "may log in as bob"},
	    {"bob@example.com", "Bob", B0_ERR_DENIED, B0_USERMAP_OTHER_USER,
		"not as \"Bob\""},
	    {"bob@example.com", "", B0_ERR_DENIED, B0_USERMAP_OTHER_USER,
		"not as \"\""},
	    {"bob@example.com", "bo\nb", B0_ERR_DENIED, B0_USERMAP_OTHER_USER,
		"not as \"bo\\x0ab\""},
	    {"root@example.com", "root", B0_ERR_DENIED, B0_USERMAP_SYSTEM_USER,
		"never gives"},
	    {"eve@evil.test", "eve", B0_ERR_DENIED, B0_USERMAP_NO_RULE,
		"no rule"},
	    {"ops@example.com", "root", 0, B0_USERMAP_OK, "as root"},
	};
	static const char text[] = "alice@example.com alice\n"
				   "example.com %localpart\n"
				   "ops@example.com root\n";
	struct b0_usermap *m = NULL;
	size_t i;
	int calls = 0;

	if (b0_usermap_parse("rules", text, strlen(text), &m, NULL) != 0) {
		ok(0, "check rules parse");
		return;
	}
	b0_usermap_set_getpw(m, fake_getpw, &calls);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct b0_usermap_result res;

		is_int(b0_usermap_check(m, t[i].email, t[i].user, &res), t[i].r,
		    "%s as \"%s\" -> %d", t[i].email, nm(t[i].user), t[i].r);
		is_int(res.status, t[i].status, "%s as \"%s\" status",
		    t[i].email, nm(t[i].user));
		has_str(res.reason.text, t[i].reason, "%s as \"%s\" reason",
		    t[i].email, nm(t[i].user));
	}
	b0_usermap_free(m);
}

/* Rules files that must be refused, with the file:line of the problem. */
static void
test_errors(void)
{
	static const struct {
		const char *text;
		int r;
		const char *msg;
	} t[] = {
	    {"alice@example.com\n", B0_ERR_CONFIG,
		"users:1: \"alice@example.com\" has no user: write IDENTITY "
		"USER"},
	    {"# c\n\nalice@example.com alice extra\n", B0_ERR_CONFIG,
		"users:3: 3 words where a rule has two"},
	    {"alice@example.com -> alice\n", B0_ERR_CONFIG,
		"users:1: write IDENTITY USER without \"->\" "
		"(\"alice@example.com alice\")"},
	    {"alice alice\n", B0_ERR_CONFIG,
		"users:1: \"alice\": it is a single name"},
	    {"*@example.org %localpart\n", B0_ERR_CONFIG,
		"users:1: \"*@example.org\": \"*\" is not a wildcard here: "
		"write the domain alone (\"example.org\")"},
	    {"*.example.org x\n", B0_ERR_CONFIG, "write \".example.org\""},
	    {"a@@example.org x\n", B0_ERR_CONFIG, "more than one \"@\""},
	    {".com x\n", B0_ERR_CONFIG, "top-level domain"},
	    {"b\xc3\xbc"
	     "cher.de x\n",
		B0_ERR_CONFIG, "punycode"},
	    {"example.com Alice\n", B0_ERR_CONFIG,
		"users:1: \"Alice\" is not a valid user name"},
	    {"example.com alice.smith\n", B0_ERR_CONFIG,
		"\"alice.smith\" is not a valid user name"},
	    {"example.com abcdefghijklmnopqrstuvwxyz0123456\n", B0_ERR_CONFIG,
		"not a valid user name"},
	    {"example.com %user\n", B0_ERR_CONFIG,
		"users:1: unknown placeholder \"%user\": the only one is "
		"%localpart"},
	    {"example.com %LOCALPART\n", B0_ERR_CONFIG, "unknown placeholder"},
	    {"a.com x\nb.com y\nA.COM z\n", B0_ERR_CONFIG,
		"users:3: \"a.com\" already has a rule on line 1"},
	    {"x@a.com u\n.a.com v\nX@A.com w\n.A.com z\n", B0_ERR_CONFIG,
		"users:3: \"x@a.com\" already has a rule on line 1"},
	    {"z.com a\n.q.com b\n.q.com c\nz.com d\n", B0_ERR_CONFIG,
		"users:3: \".q.com\" already has a rule on line 2"},
	    {"a.com x\n\"b.com y\n", B0_ERR_FORMAT,
		"users:2: unterminated quoted string"},
	    {"a.com x\r\n", B0_ERR_FORMAT, "users:1: carriage return"},
	    {"a.com x\nb.com\x01 y\n", B0_ERR_FORMAT,
		"users:2: control character"},
	    {"a.com x\n\xff.com y\n", B0_ERR_FORMAT, "users:2: invalid UTF-8"},
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct b0_usermap *m = (struct b0_usermap *)&m;
		struct b0_errmsg em;
		int r;

		b0_err_clear(&em);
		r = b0_usermap_parse(
		    "users", t[i].text, strlen(t[i].text), &m, &em);
		is_int(r, t[i].r, "rules error %zu -> %d", i, t[i].r);
		has_str(em.text, t[i].msg, "rules error %zu message", i);
		ok(m == NULL, "rules error %zu: no map", i);
		b0_usermap_free(m);
	}
	{
		struct b0_usermap *m = NULL;

		is_int(b0_usermap_parse("users", "", 0, &m, NULL), 0,
		    "an empty file is no rules");
		ok(m != NULL && b0_usermap_count(m) == 0, "and has none");
		b0_usermap_free(m);
		is_int(b0_usermap_parse(
			   "users", "# only comments\n\n", 17, &m, NULL),
		    0, "comments only");
		b0_usermap_free(m);
	}
}

/* Reading from a file: the ownership and permission checks. */
static void
test_load(void)
{
	char dir[] = "/tmp/b0-test-usermap.XXXXXX", path[128], link[160];
	struct b0_usermap *m = NULL;
	struct b0_errmsg em;
	struct passwd *nobody;
	FILE *f;
	int r;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/users", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	if ((f = fopen(path, "w")) == NULL) {
		ok(0, "create %s", path);
		return;
	}
	fputs("example.com %localpart\nroot@example.com root\n", f);
	fclose(f);
	chmod(path, 0644);

	b0_err_clear(&em);
	r = b0_usermap_load(
	    path, B0_FILE_NO_WRITE_OTHERS | B0_FILE_OWNER_SELF, &m, &em);
	is_int(r, 0, "load a 0644 file of ours");
	if (r != 0)
		tap_diag("%s", em.text);
	if (m != NULL) {
		struct b0_usermap_result res;

		/* The real getpwnam_r(): every system has root. */
		is_int(b0_usermap_lookup(m, "root@example.com", &res), 0,
		    "explicit rule maps to root (real getpwnam_r)");
		is_int(res.uid, 0, "root's uid");
		is_int(b0_usermap_lookup(m, "nobody@example.com", &res),
		    B0_ERR_DENIED, "%%localpart nobody refused (real)");
		is_int(res.status, B0_USERMAP_SYSTEM_USER, "as a system user");
		is_int(
		    b0_usermap_lookup(m, "no-such-user-b0x@example.com", &res),
		    B0_ERR_DENIED, "unknown user (real)");
		is_int(res.status, B0_USERMAP_NO_USER, "as no such user");
	}
	b0_usermap_free(m);

	chmod(path, 0664);
	b0_err_clear(&em);
	is_int(b0_usermap_load(path, B0_FILE_NO_WRITE_OTHERS, &m, &em),
	    B0_ERR_PERM, "group-writable rules refused");
	has_str(em.text, "chmod go-w", "with the fix");
	ok(m == NULL, "and no map");
	chmod(path, 0644);

	b0_err_clear(&em);
	is_int(b0_usermap_load(path, B0_FILE_OWNER_ROOT, &m, &em),
	    geteuid() == 0 ? 0 : B0_ERR_PERM, "OWNER_ROOT as uid %u",
	    (unsigned)geteuid());
	b0_usermap_free(m);
	m = NULL;

	nobody = getpwnam("nobody");
	if (geteuid() == 0 && nobody != NULL &&
	    chown(path, nobody->pw_uid, (gid_t)-1) == 0) {
		b0_err_clear(&em);
		is_int(
		    b0_usermap_load(path,
			B0_FILE_NO_WRITE_OTHERS | B0_FILE_OWNER_SELF, &m, &em),
		    B0_ERR_PERM, "rules owned by nobody refused");
		has_str(em.text, "must be owned by", "ownership message");
		is_int(b0_usermap_load(path, B0_FILE_OWNER_ROOT, &m, &em),
		    B0_ERR_PERM, "and for the PAM module");
	} else {
		ok(1, "# skip chown needs root");
		ok(1, "# skip chown needs root");
		ok(1, "# skip chown needs root");
	}

	if (symlink(path, link) == 0) {
		b0_err_clear(&em);
		is_int(b0_usermap_load(link, 0, &m, &em), B0_ERR_SYS(ELOOP),
		    "a symlink is not followed");
		has_str(em.text, "symbolic link", "symlink message");
		unlink(link);
	} else {
		ok(0, "symlink");
		ok(0, "symlink");
	}

	b0_err_clear(&em);
	is_int(b0_usermap_load(dir, 0, &m, &em), B0_ERR_FORMAT,
	    "a directory is refused");
	b0_err_clear(&em);
	snprintf(link, sizeof(link), "%s/missing", dir);
	is_int(b0_usermap_load(link, 0, &m, &em), B0_ERR_SYS(ENOENT),
	    "a missing file");
	has_str(em.text, link, "names the file");

	if ((f = fopen(path, "w")) != NULL) {
		fputs("a.com x\nb.com y\nbad z\n", f);
		fclose(f);
	}
	b0_err_clear(&em);
	is_int(b0_usermap_load(path, 0, &m, &em), B0_ERR_CONFIG,
	    "a bad rule in a file");
	{
		char want[200];

		snprintf(want, sizeof(want), "%s:3: \"bad\"", path);
		has_str(em.text, want, "file:line in the message");
	}
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_valid_user();
	test_lookup();
	test_check();
	test_errors();
	test_load();
	return tap_done();
}
