/*
 * b0_usermap: which local user a verified identity logs in as, by the
 * rules of the target host (default /etc/b0/users), one per line:
 *
 *	# IDENTITY          USER
 *	alice@example.com   alice
 *	ops@example.com     root
 *	example.com         %localpart
 *	.lab.example.org    labuser
 *
 * IDENTITY is an address, a domain or a .subdomain (b0_ident.h); USER is a
 * local user name (^[a-z_][a-z0-9_-]{0,31}$, what Debian's adduser accepts
 * by default) or %localpart, the address's local part in lower case.  An
 * address is mapped by its most specific rule: the exact address, then its
 * domain, then the longest .subdomain rule that matches.  An identity given
 * twice is an error.
 *
 * %localpart never yields root or a system user (uid below 1000, 60000 to
 * 65535, or the last two uids): such accounts are reached only through a
 * rule that names them.
 * Mapping looks users up with getpwnam_r(), so a rule for a user the host
 * does not have is reported as such, apart from "no rule matches".
 */
#ifndef B0_USERMAP_H
#define B0_USERMAP_H

#include <sys/types.h>

#include <stddef.h>

#include "b0_err.h"

#define B0_USERMAP_DEFAULT "/etc/b0/users"
#define B0_USERMAP_USER_SIZE 33 /* a user name and its NUL */
/*
 * The uids %localpart may give, as Debian Policy 9.2.2 allots them: 1000 to
 * 59999 and 65536 up (directory users, LDAP/sssd) are people; below 1000,
 * 60000 to 65535 (nobody is 65534) and the last two values are the system's.
 */
#define B0_USERMAP_UID_MIN 1000
#define B0_USERMAP_UID_SYS_LO 60000
#define B0_USERMAP_UID_SYS_HI 65535

struct b0_usermap;

enum b0_usermap_status {
	B0_USERMAP_OK = 0,	      /* mapped to an existing local user */
	B0_USERMAP_BAD_EMAIL = 1,     /* the address is not valid */
	B0_USERMAP_NO_RULE = 2,	      /* no rule matches the address */
	B0_USERMAP_BAD_LOCALPART = 3, /* %localpart is not a user name */
	B0_USERMAP_SYSTEM_USER = 4, /* %localpart gave root or a system user */
	B0_USERMAP_NO_USER = 5,	    /* no such local user */
	B0_USERMAP_OTHER_USER = 6,  /* mapped, but not to the user asked */
	B0_USERMAP_ERROR = 7	    /* the user database failed */
};

struct b0_usermap_result {
	enum b0_usermap_status status;
	/* The user the matching rule gives, "" if none (or not a name). */
	char user[B0_USERMAP_USER_SIZE];
	uid_t uid; /* user's uid, when it exists */
	/* The matching rule, borrowed from the map (NULL, 0 if none). */
	const char *rule_identity;
	const char *rule_user;
	unsigned rule_line;
	struct b0_errmsg reason; /* a sentence for logs and people */
};

/*
 * A user lookup: 0 and *uidp when name exists, B0_ERR_NOT_FOUND when it
 * does not, B0_ERR_SYS(e) or B0_ERR_ALLOC when the lookup itself failed.
 */
typedef int b0_usermap_getpw_fn(void *cookie, const char *name, uid_t *uidp);

/*
 * b0_usermap_load(path, file_flags, mp, em):
 * Read the rules in path, opened with b0_file_open() and file_flags (the
 * PAM module: B0_FILE_OWNER_ROOT | B0_FILE_NO_WRITE_OTHERS).  On success
 * *mp is a new map the caller frees with b0_usermap_free().  Returns 0,
 * B0_ERR_CONFIG / B0_ERR_FORMAT (em: "path:line: ..."), B0_ERR_PERM,
 * B0_ERR_TOO_BIG, B0_ERR_SYS(e) (em names path) or B0_ERR_ALLOC.
 */
int b0_usermap_load(const char *path, unsigned file_flags,
    struct b0_usermap **mp, struct b0_errmsg *em);

/*
 * b0_usermap_parse(name, text, len, mp, em):
 * As b0_usermap_load() for len bytes of text in memory, called name in
 * messages.
 */
int b0_usermap_parse(const char *name, const char *text, size_t len,
    struct b0_usermap **mp, struct b0_errmsg *em);

/* b0_usermap_free(m): Release m.  NULL is fine. */
void b0_usermap_free(struct b0_usermap *m);

/* b0_usermap_count(m): The number of rules in m. */
size_t b0_usermap_count(const struct b0_usermap *m);

/*
 * b0_usermap_set_getpw(m, fn, cookie):
 * Look users up with fn(cookie, ...) instead of getpwnam_r() (tests, fuzz
 * targets).  fn NULL restores getpwnam_r().
 */
void b0_usermap_set_getpw(
    struct b0_usermap *m, b0_usermap_getpw_fn *fn, void *cookie);

/*
 * b0_usermap_lookup(m, email, res):
 * Map the verified address email (NUL-terminated) to a local user; *res
 * is overwritten with the outcome and a reason.  Returns 0 when
 * res->status is B0_USERMAP_OK, B0_ERR_DENIED for the other outcomes of
 * the rules, or the lookup's error (res->status B0_USERMAP_ERROR) when the
 * user database failed: a caller that cannot tell "no" from "cannot say
 * now" should treat both as a denial.
 */
int b0_usermap_lookup(const struct b0_usermap *m, const char *email,
    struct b0_usermap_result *res);

/*
 * b0_usermap_check(m, email, user, res):
 * May email log in as the local user user?  As b0_usermap_lookup(), and a
 * mapping to another user is B0_USERMAP_OTHER_USER with B0_ERR_DENIED.
 */
int b0_usermap_check(const struct b0_usermap *m, const char *email,
    const char *user, struct b0_usermap_result *res);

/*
 * b0_usermap_status_name(status):
 * "ok", "bad-email", "no-rule", "bad-localpart", "system-user", "no-user",
 * "other-user", "error" (static).
 */
const char *b0_usermap_status_name(enum b0_usermap_status status);

/*
 * b0_usermap_valid_user(name):
 * 1 if name is a user name rules may give, ^[a-z_][a-z0-9_-]{0,31}$, else
 * 0.
 */
int b0_usermap_valid_user(const char *name);

#endif /* B0_USERMAP_H */
