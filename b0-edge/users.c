/*
 * Built-in accounts: <state-dir>/users, one "email yescrypt-hash created"
 * line each (docs/identity.md, "People").  Hashes are made and checked
 * with libxcrypt (crypt_gensalt_rn("$y$") and crypt_rn); the file is read
 * with the checks b0_file makes (0600, ours) and replaced atomically.
 */
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b0_buf.h"
#include "b0_conf.h"
#include "b0_file.h"
#include "b0_ident.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "users.h"

#define USERS_FILE "users"
#define USERS_FILE_MAX (4 * 1024 * 1024)
#define USERS_PASSWORD_MAX 256 /* bytes; main.c refuses longer too */
_Static_assert(USERS_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "libxcrypt hashes shorter passphrases only");
#define USERS_HASH_MAX 256 /* a yescrypt hash is about 73 */

/*
 * What unknown emails are checked against, so they cost what a real
 * account costs: yescrypt with the parameters crypt_gensalt_rn("$y$", 0)
 * picks today ("j9T"), and a fixed salt.  The result is thrown away.
 */
#define USERS_DUMMY_SETTING "$y$j9T$b0.dummy.salt.for.timing$"

struct user {
	char *email; /* lower-case */
	char *hash;  /* "$y$..." */
	int64_t created;
};

struct users {
	struct user *v;
	size_t n;
	/* The file as last read, to notice a change (users_refresh()). */
	int have_st; /* st is that of an existing file */
	struct stat st;
};

static void
user_cleanup(struct user *x)
{
	free(x->email);
	x->email = NULL;
	b0_str_wipe_free(x->hash);
	x->hash = NULL;
}

static void
users_clear(struct users *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		user_cleanup(&u->v[i]);
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

void
users_free(struct users *u)
{
	if (u == NULL)
		return;
	users_clear(u);
	free(u);
}

static int
users_path(const char *dir, char *out, size_t size)
{
	if ((size_t)snprintf(out, size, "%s/%s", dir, USERS_FILE) >= size)
		return B0_ERR_TOO_BIG;
	return 0;
}

static ssize_t
users_find(const struct users *u, const char *email)
{
	size_t i;

	if (u == NULL)
		return -1;
	for (i = 0; i < u->n; i++) {
		if (b0_str_caseeq(u->v[i].email, email))
			return (ssize_t)i;
	}
	return -1;
}

/* A hash we are willing to hand to crypt_rn: yescrypt, its alphabet. */
static int
hash_valid(const char *h)
{
	size_t i, n = strlen(h);

	if (n < 4 || n >= USERS_HASH_MAX || strncmp(h, "$y$", 3) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '/' ||
			c == '$'))
			return 0;
	}
	return 1;
}

/*
 * Check email and put its lower-case copy into *outp (the caller's,
 * free()).
 */
static int
email_normal(const char *email, char **outp, struct b0_errmsg *em)
{
	char show[B0_IDENT_SHOW_SIZE];
	int r;

	*outp = NULL;
	if ((r = b0_ident_check_email(email, strlen(email), em)) != 0) {
		b0_ident_show(show, sizeof(show), email, strlen(email));
		b0_err_prefix(em, "\"%s\" is not an email address", show);
		return r;
	}
	if ((*outp = strdup(email)) == NULL)
		return B0_ERR_ALLOC;
	b0_str_lower(*outp);
	return 0;
}

static int
users_append(struct users *u, struct user *x)
{
	struct user *n;

	if ((n = realloc(u->v, (u->n + 1) * sizeof(*n))) == NULL)
		return B0_ERR_ALLOC;
	u->v = n;
	u->v[u->n++] = *x;
	memset(x, 0, sizeof(*x)); /* transferred */
	return 0;
}

/*
 * Read dir/users into the empty set u; a missing file is no accounts.
 * *stp gets the file's stat (*have_stp 0 when it is missing).
 */
static int
users_read(const char *dir, struct users *u, struct stat *stp, int *have_stp,
    struct b0_errmsg *em)
{
	struct b0_conf *rd = NULL;
	struct b0_conf_line l;
	struct user x;
	char path[PATH_MAX];
	uint64_t created;
	int r;

	memset(&x, 0, sizeof(x));
	*have_stp = 0;
	if ((r = users_path(dir, path, sizeof(path))) != 0) {
		b0_err_set(em, "state-dir %s: path too long", dir);
		return r;
	}
	/* The stat first: a change after it is seen by the next refresh. */
	if (stat(path, stp) == -1) {
		if (errno == ENOENT)
			return 0;
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", path, b0_strerror(r));
		return r;
	}
	*have_stp = 1;
	r = b0_conf_open(path, B0_FILE_PRIVATE | B0_FILE_OWNER_SELF, &rd, em);
	if (r == B0_ERR_SYS(ENOENT)) {
		b0_err_clear(em);
		*have_stp = 0;
		return 0;
	}
	if (r != 0)
		return r;
	while ((r = b0_conf_next(rd, &l, em)) == 1) {
		struct b0_errmsg why;

		b0_err_clear(&why);
		if (l.argc != 3 || !hash_valid(l.argv[1]) ||
		    b0_parse_u64(l.argv[2], 0, INT64_MAX, &created) != 0) {
			r = b0_conf_error(em, &l,
			    "not EMAIL YESCRYPT-HASH CREATED (use b0-edge "
			    "user add)");
			break;
		}
		if (b0_ident_check_email(l.argv[0], strlen(l.argv[0]), &why) !=
		    0) {
			r = b0_conf_error(em, &l, "%s", why.text);
			break;
		}
		if (users_find(u, l.argv[0]) >= 0) {
			r = b0_conf_error(
			    em, &l, "%s is listed twice", l.argv[0]);
			break;
		}
		if ((x.email = strdup(l.argv[0])) == NULL ||
		    (x.hash = strdup(l.argv[1])) == NULL) {
			r = B0_ERR_ALLOC;
			break;
		}
		b0_str_lower(x.email);
		x.created = (int64_t)created;
		if ((r = users_append(u, &x)) != 0)
			break;
	}
	user_cleanup(&x);
	b0_conf_free(rd);
	if (r != 0)
		users_clear(u);
	return r;
}

int
users_load(const char *dir, struct users **up, struct b0_errmsg *em)
{
	struct users *u;
	int r;

	*up = NULL;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return B0_ERR_ALLOC;
	if ((r = users_read(dir, u, &u->st, &u->have_st, em)) != 0) {
		users_free(u);
		return r;
	}
	*up = u;
	return 0;
}

static int
stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int
users_refresh(struct users *u, const char *dir, struct b0_errmsg *em)
{
	struct users fresh;
	char path[PATH_MAX];
	struct stat st;
	int r, have;

	if (u == NULL)
		return B0_ERR_ARG;
	if ((r = users_path(dir, path, sizeof(path))) != 0)
		return r;
	if (stat(path, &st) == 0)
		have = 1;
	else if (errno == ENOENT)
		have = 0;
	else {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", path, b0_strerror(r));
		return r;
	}
	if (have == u->have_st && (!have || stat_same(&st, &u->st)))
		return 0;
	memset(&fresh, 0, sizeof(fresh));
	if ((r = users_read(dir, &fresh, &st, &have, em)) != 0) {
		/*
		 * Keep the old set, but remember this version of the file so
		 * the same error is not reported every second.
		 */
		u->st = st;
		u->have_st = have;
		return r;
	}
	users_clear(u);
	u->v = fresh.v;
	u->n = fresh.n;
	u->st = st;
	u->have_st = have;
	return 1;
}

size_t
users_count(const struct users *u)
{
	return u == NULL ? 0 : u->n;
}

int
users_has(const struct users *u, const char *email)
{
	return email != NULL && users_find(u, email) >= 0;
}

/* The yescrypt budget, in thousandths of a hash (one process, one loop). */
static int64_t crypt_milli = -1;
static int64_t crypt_last_ms;

int
users_crypt_take(void)
{
	struct timespec ts;
	int64_t now;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return B0_ERR_AGAIN; /* fail closed */
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (crypt_milli < 0)
		crypt_milli = (int64_t)USERS_CRYPT_BURST * 1000;
	else if (now > crypt_last_ms)
		crypt_milli += (now - crypt_last_ms) * USERS_CRYPT_RATE;
	if (crypt_milli > (int64_t)USERS_CRYPT_BURST * 1000)
		crypt_milli = (int64_t)USERS_CRYPT_BURST * 1000;
	crypt_last_ms = now;
	if (crypt_milli < 1000)
		return B0_ERR_AGAIN;
	crypt_milli -= 1000;
	return 0;
}

int
users_check(const struct users *u, const char *email, const char *password)
{
	struct crypt_data *cd;
	const char *setting = USERS_DUMMY_SETTING, *out;
	ssize_t i = -1;
	size_t n;
	int r = B0_ERR_AUTH;

	if (email != NULL)
		i = users_find(u, email);
	if (i >= 0)
		setting = u->v[i].hash;
	if (password == NULL || (n = strlen(password)) == 0 ||
	    n > USERS_PASSWORD_MAX)
		password = "";
	if (users_crypt_take() != 0)
		return B0_ERR_AGAIN;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return B0_ERR_ALLOC;
	/* Unknown emails, and empty passwords, pay the same hash. */
	out = crypt_rn(password, setting, cd, sizeof(*cd));
	if (out != NULL && i >= 0 && password[0] != '\0' &&
	    strlen(out) == strlen(setting) &&
	    b0_ct_eq(out, setting, strlen(setting)))
		r = 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return r;
}

/* hash_password(password, hashp, em): a new yescrypt hash (free()). */
static int
hash_password(const char *password, char **hashp, struct b0_errmsg *em)
{
	struct crypt_data *cd = NULL;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char rnd[32];
	const char *out;
	int r = B0_ERR_CRYPTO;

	*hashp = NULL;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return B0_ERR_ALLOC;
	/* Our own random bytes: libxcrypt's fallback would do, but why ask. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		b0_err_set(em, "no random bytes for a salt");
		goto out;
	}
	if (crypt_gensalt_rn("$y$", 0, (const char *)rnd, (int)sizeof(rnd),
		setting, (int)sizeof(setting)) == NULL) {
		b0_err_set(
		    em, "crypt_gensalt_rn(\"$y$\"): %s", strerror(errno));
		goto out;
	}
	if ((out = crypt_rn(password, setting, cd, sizeof(*cd))) == NULL ||
	    !hash_valid(out)) {
		b0_err_set(
		    em, "crypt_rn (yescrypt) failed: %s", strerror(errno));
		goto out;
	}
	if ((*hashp = strdup(out)) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(rnd, sizeof(rnd));
	OPENSSL_cleanse(setting, sizeof(setting));
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return r;
}

int
users_set(struct users *u, const char *email, const char *password,
    struct b0_errmsg *em)
{
	struct user x;
	char *hash = NULL;
	size_t n;
	ssize_t i;
	int r;

	memset(&x, 0, sizeof(x));
	if (u == NULL || email == NULL || password == NULL)
		return B0_ERR_ARG;
	if ((n = strlen(password)) == 0) {
		b0_err_set(em, "the password is empty");
		return B0_ERR_ARG;
	}
	if (n > USERS_PASSWORD_MAX) {
		b0_err_set(em, "the password is longer than %d bytes",
		    USERS_PASSWORD_MAX);
		return B0_ERR_TOO_BIG;
	}
	if ((r = email_normal(email, &x.email, em)) != 0 ||
	    (r = hash_password(password, &hash, em)) != 0)
		goto out;
	if ((i = users_find(u, x.email)) >= 0) {
		/* A new password; the account keeps its creation time. */
		b0_str_wipe_free(u->v[i].hash);
		u->v[i].hash = hash;
		hash = NULL; /* transferred */
		r = 0;
		goto out;
	}
	x.hash = hash;
	hash = NULL; /* transferred */
	x.created = (int64_t)time(NULL);
	r = users_append(u, &x);
out:
	b0_str_wipe_free(hash);
	user_cleanup(&x);
	return r;
}

int
users_del(struct users *u, const char *email)
{
	ssize_t i;

	if (email == NULL || (i = users_find(u, email)) < 0)
		return B0_ERR_NOT_FOUND;
	user_cleanup(&u->v[i]);
	memmove(&u->v[i], &u->v[i + 1], (u->n - (size_t)i - 1) * sizeof(*u->v));
	u->n--;
	return 0;
}

int
users_save(const struct users *u, const char *dir, struct b0_errmsg *em)
{
	char path[PATH_MAX];
	struct b0_buf *b;
	size_t i;
	int r;

	if (u == NULL)
		return B0_ERR_ARG;
	if ((r = users_path(dir, path, sizeof(path))) != 0) {
		b0_err_set(em, "state-dir %s: path too long", dir);
		return r;
	}
	if ((b = b0_buf_new(USERS_FILE_MAX)) == NULL)
		return B0_ERR_ALLOC;
	b0_buf_set_secret(b); /* hashes: not secret, but not for everyone */
	r = b0_buf_put_str(b, "# b0-edge built-in accounts: EMAIL "
			      "YESCRYPT-HASH CREATED.  Use b0-edge user "
			      "add|ls|del.\n");
	/*
	 * An address may start with '#' (RFC 5322 atext), which would begin
	 * a comment: such a one is quoted.  None holds '"', '\\' or spaces.
	 */
	for (i = 0; i < u->n && r == 0; i++)
		r = b0_buf_putf(b, "%s%s%s %s %lld\n",
		    u->v[i].email[0] == '#' ? "\"" : "", u->v[i].email,
		    u->v[i].email[0] == '#' ? "\"" : "", u->v[i].hash,
		    (long long)u->v[i].created);
	if (r == B0_ERR_TOO_BIG)
		b0_err_set(em, "%s: more than %d bytes of accounts", path,
		    USERS_FILE_MAX);
	if (r == 0)
		r = b0_file_write_atomic(
		    path, b0_buf_ptr(b), b0_buf_len(b), 0600, em);
	b0_buf_free(b);
	return r;
}

int
users_get(
    const struct users *u, size_t i, const char **emailp, int64_t *createdp)
{
	if (u == NULL || i >= u->n)
		return B0_ERR_NOT_FOUND;
	if (emailp != NULL)
		*emailp = u->v[i].email;
	if (createdp != NULL)
		*createdp = u->v[i].created;
	return 0;
}
