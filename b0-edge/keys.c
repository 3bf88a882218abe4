/*
 * The edge's signing keys: one PEM file per key in <state-dir>/keys.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "b0_file.h"
#include "b0_jsonw.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "keys.h"

#define KID_LEN 43

struct key {
	EVP_PKEY *pkey;
	int64_t created;
	char kid[B0_JWK_THUMBPRINT_SIZE];
};

struct keys {
	char dir[PATH_MAX];
	struct key k[KEYS_MAX];
	size_t n;
	struct b0_jwks *all;	/* every key */
	struct b0_jwks *newest; /* the signing key alone */
	struct stat st;		/* of dir when read */
};

int64_t
keys_retain_s(uint64_t access_ttl_s)
{
	return (int64_t)(access_ttl_s > 60 ? access_ttl_s : 60) + 60;
}

static void
keys_clear(struct keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		EVP_PKEY_free(k->k[i].pkey);
	k->n = 0;
	b0_jwks_free(k->all);
	b0_jwks_free(k->newest);
	k->all = k->newest = NULL;
}

void
keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	keys_clear(k);
	free(k);
}

/* "<created>-<kid>.pem": created and kid, or 0 for other names. */
static int
parse_name(const char *name, int64_t *createdp, char *kid)
{
	const char *dash = strchr(name, '-');
	char num[24];
	uint64_t u;
	size_t n;

	if (dash == NULL || (size_t)(dash - name) >= sizeof(num) ||
	    !b0_str_has_suffix(name, ".pem"))
		return 0;
	n = strlen(dash + 1);
	if (n != KID_LEN + 4 ||
	    strspn(dash + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
			     "xyz0123456789-_") < KID_LEN)
		return 0;
	memcpy(num, name, (size_t)(dash - name));
	num[dash - name] = '\0';
	if (b0_parse_u64(num, 0, INT64_MAX, &u) != 0)
		return 0;
	*createdp = (int64_t)u;
	memcpy(kid, dash + 1, KID_LEN);
	kid[KID_LEN] = '\0';
	return 1;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->kid, y->kid);
}

/* Read every key file of dir into k (emptied first). */
static int
read_dir(struct keys *k, struct b0_errmsg *em)
{
	struct dirent *de;
	DIR *d = NULL;
	char path[PATH_MAX], tp[B0_JWK_THUMBPRINT_SIZE];
	struct key nk;
	size_t i;
	int r = 0;

	keys_clear(k);
	if ((d = opendir(k->dir)) == NULL) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", k->dir, b0_strerror(r));
		return r;
	}
	if (fstat(dirfd(d), &k->st) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", k->dir, b0_strerror(r));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		memset(&nk, 0, sizeof(nk));
		if (!parse_name(de->d_name, &nk.created, nk.kid))
			continue;
		if (k->n == KEYS_MAX) {
			r = B0_ERR_TOO_BIG;
			b0_err_set(em,
			    "%s: more than %d keys (b0-edge key rotate "
			    "deletes old ones)",
			    k->dir, KEYS_MAX);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", k->dir, de->d_name);
		if ((r = b0_jwk_load_private(path, &nk.pkey, em)) != 0)
			goto out;
		if ((r = b0_jwk_thumbprint(nk.pkey, tp, sizeof(tp))) != 0 ||
		    strcmp(tp, nk.kid) != 0) {
			EVP_PKEY_free(nk.pkey);
			r = B0_ERR_KEY;
			b0_err_set(em,
			    "%s: the key's thumbprint is not the kid "
			    "in its name",
			    path);
			goto out;
		}
		k->k[k->n++] = nk;
	}
	qsort(k->k, k->n, sizeof(k->k[0]), key_cmp);
	if ((k->all = b0_jwks_new()) == NULL ||
	    (k->newest = b0_jwks_new()) == NULL) {
		r = B0_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < k->n; i++)
		if ((r = b0_jwks_add(k->all, k->k[i].pkey, k->k[i].kid, em)) !=
		    0)
			goto out;
	if (k->n > 0 && (r = b0_jwks_add(k->newest, k->k[k->n - 1].pkey,
			     k->k[k->n - 1].kid, em)) != 0)
		goto out;
	r = 0;
out:
	closedir(d);
	if (r != 0)
		keys_clear(k);
	return r;
}

/* Make a key created now in dir; its kid into kid. */
static int
new_key(
    const char *dir, int64_t now, char *kid, size_t kidsz, struct b0_errmsg *em)
{
	EVP_PKEY *pkey = NULL;
	char tp[B0_JWK_THUMBPRINT_SIZE], path[PATH_MAX];
	int r;

	if ((r = b0_jwk_generate(&pkey, em)) != 0 ||
	    (r = b0_jwk_thumbprint(pkey, tp, sizeof(tp))) != 0)
		goto out;
	if ((size_t)snprintf(path, sizeof(path), "%s/%lld-%s.pem", dir,
		(long long)now, tp) >= sizeof(path)) {
		r = B0_ERR_TOO_BIG;
		b0_err_set(em, "%s: path too long", dir);
		goto out;
	}
	if ((r = b0_jwk_save_private(path, pkey, em)) != 0)
		goto out;
	if (kid != NULL)
		b0_strlcpy(kid, tp, kidsz);
out:
	EVP_PKEY_free(pkey);
	return r;
}

static int
keys_dir(const char *state_dir, char *out, size_t size, struct b0_errmsg *em)
{
	if ((size_t)snprintf(out, size, "%s/keys", state_dir) >= size) {
		b0_err_set(em, "%s: path too long", state_dir);
		return B0_ERR_TOO_BIG;
	}
	return 0;
}

int
keys_load(
    const char *state_dir, int create, struct keys **kp, struct b0_errmsg *em)
{
	struct keys *k = NULL;
	int r;

	*kp = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return B0_ERR_ALLOC;
	if ((r = keys_dir(state_dir, k->dir, sizeof(k->dir), em)) != 0 ||
	    (create && (r = b0_file_mkdir_private(k->dir, em)) != 0) ||
	    (r = read_dir(k, em)) != 0)
		goto out;
	if (k->n == 0 && create) {
		if ((r = new_key(k->dir, (int64_t)time(NULL), NULL, 0, em)) !=
			0 ||
		    (r = read_dir(k, em)) != 0)
			goto out;
	}
	if (k->n == 0 && create) {
		r = B0_ERR_INTERNAL;
		b0_err_set(em, "%s: no key after making one", k->dir);
		goto out;
	}
	*kp = k;
	k = NULL;
	r = 0;
out:
	keys_free(k);
	return r;
}

int
keys_refresh(struct keys *k, struct b0_errmsg *em)
{
	struct keys *nk;
	struct stat st;
	int r;

	if (stat(k->dir, &st) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", k->dir, b0_strerror(r));
		return r;
	}
	if (st.st_ino == k->st.st_ino &&
	    st.st_mtim.tv_sec == k->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == k->st.st_mtim.tv_nsec)
		return 0;
	if ((nk = calloc(1, sizeof(*nk))) == NULL)
		return B0_ERR_ALLOC;
	memcpy(nk->dir, k->dir, sizeof(nk->dir));
	if ((r = read_dir(nk, em)) != 0 || nk->n == 0) {
		if (r == 0) {
			r = B0_ERR_NOT_FOUND;
			b0_err_set(em, "%s: no keys left", k->dir);
		}
		k->st = nk->st; /* say it once, not every second */
		keys_free(nk);
		return r;
	}
	keys_clear(k);
	*k = *nk;
	free(nk);
	return 1;
}

void
keys_signer(const struct keys *k, EVP_PKEY **pkeyp, const char **kidp)
{
	*pkeyp = k->n > 0 ? k->k[k->n - 1].pkey : NULL;
	*kidp = k->n > 0 ? k->k[k->n - 1].kid : NULL;
}

/* Are the older keys still published at now? */
static int
older_published(const struct keys *k, int64_t now, int64_t retain_s)
{
	return k->n > 0 && now - k->k[k->n - 1].created <= retain_s;
}

const struct b0_jwks *
keys_published(const struct keys *k, int64_t now, int64_t retain_s)
{
	return older_published(k, now, retain_s) ? k->all : k->newest;
}

int
keys_write_jwks(
    const struct keys *k, int64_t now, int64_t retain_s, struct b0_buf *out)
{
	struct b0_jsonw w;
	size_t i, first;
	int r;

	first = older_published(k, now, retain_s) || k->n == 0 ? 0 : k->n - 1;
	b0_jsonw_init(&w, out);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "keys");
	b0_jsonw_arr_begin(&w);
	for (i = k->n; i > first; i--)
		if ((r = b0_jwk_write(&w, k->k[i - 1].pkey, k->k[i - 1].kid)) !=
		    0)
			return r;
	b0_jsonw_arr_end(&w);
	b0_jsonw_obj_end(&w);
	return b0_jsonw_finish(&w);
}

size_t
keys_count(const struct keys *k)
{
	return k->n;
}

void
keys_get(const struct keys *k, size_t i, const char **kidp, int64_t *createdp,
    int *signingp, int *publishedp, int64_t now, int64_t retain_s)
{
	*kidp = k->k[i].kid;
	*createdp = k->k[i].created;
	*signingp = i + 1 == k->n;
	*publishedp = i + 1 == k->n || older_published(k, now, retain_s);
}

int
keys_rotate(const char *state_dir, int64_t now, int64_t retain_s, char *kid,
    size_t kidsz, unsigned *ndeletedp, struct b0_errmsg *em)
{
	struct keys *k = NULL;
	char path[PATH_MAX];
	size_t i, ndel = 0;
	int r;

	*ndeletedp = 0;
	if ((r = keys_load(state_dir, 0, &k, em)) == B0_ERR_SYS(ENOENT)) {
		keys_free(k);
		k = NULL;
		b0_err_clear(em);
		r = keys_load(state_dir, 1, &k, em);
		/* The first key was just made: that is the rotation. */
		if (r == 0 && k->n == 1 && kid != NULL)
			b0_strlcpy(kid, k->k[0].kid, kidsz);
		goto out;
	}
	if (r != 0)
		goto out;
	if (k->n > 0 && !older_published(k, now, retain_s))
		ndel = k->n - 1;
	if (k->n > 0 && now <= k->k[k->n - 1].created) {
		/* File names order keys by second; keep them apart. */
		now = k->k[k->n - 1].created + 1;
	}
	if ((r = new_key(k->dir, now, kid, kidsz, em)) != 0)
		goto out;
	for (i = 0; i < ndel; i++) {
		snprintf(path, sizeof(path), "%s/%lld-%s.pem", k->dir,
		    (long long)k->k[i].created, k->k[i].kid);
		if (unlink(path) == 0)
			(*ndeletedp)++;
	}
	r = 0;
out:
	keys_free(k);
	return r;
}
