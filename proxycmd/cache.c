/*
 * The token cache: $XDG_CACHE_HOME/b0/<domain>.json, one file per edge,
 * and <domain>.lock beside it.  The directory must be ours and 0700, the
 * files ours and 0600; anything looser or foreign is refused (someone
 * could read or plant tokens), never repaired silently.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "b0_file.h"
#include "b0_json.h"
#include "b0_jsonw.h"
#include "b0_str.h"
#include "proxy.h"

#define CACHE_FILE_MAX (32 * 1024)

void
px_tokens_cleanup(struct px_tokens *t)
{
	free(t->email);
	b0_str_wipe_free(t->access);
	b0_str_wipe_free(t->refresh);
	memset(t, 0, sizeof(*t));
}

static int
cache_path(const struct px_conf *c, const struct px_edge *e, const char *ext,
    char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.%s", c->cache_dir, e->domain, ext);

	return n < 0 || (size_t)n >= size ? B0_ERR_TOO_BIG : 0;
}

/* The cache directory, made (with its parent) if missing, and checked. */
static int
cache_dir(const struct px_conf *c, struct b0_errmsg *em)
{
	char parent[PATH_MAX], *slash;

	if (b0_strlcpy(parent, c->cache_dir, sizeof(parent)) >= sizeof(parent))
		return B0_ERR_TOO_BIG;
	/* ~/.cache itself is the user's business: make it, do not judge. */
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0700) == -1 && errno != EEXIST) {
			int r = b0_err_from_errno();

			b0_err_set(em, "%s: mkdir: %s", parent, b0_strerror(r));
			return r;
		}
	}
	return b0_file_mkdir_private(c->cache_dir, em);
}

/* fd must be a regular file of ours with no access for others. */
static int
check_private(int fd, const char *path, struct b0_errmsg *em)
{
	struct stat st;
	int r;

	if ((r = b0_file_check(fd, path, B0_FILE_PRIVATE, em)) != 0)
		return r;
	if (fstat(fd, &st) == -1)
		return b0_err_from_errno();
	if (st.st_uid != geteuid()) {
		b0_err_set(em,
		    "%s: owned by uid %u, not by uid %u; refusing "
		    "to use it",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		return B0_ERR_PERM;
	}
	return 0;
}

int
px_cache_lock(const struct px_conf *c, const struct px_edge *e, int watch_fd,
    int *fdp, struct b0_errmsg *em)
{
	char path[PATH_MAX];
	struct pollfd pfd;
	int fd = -1, r, said = 0, waited = 0;

	*fdp = -1;
	if ((r = cache_dir(c, em)) != 0)
		return r;
	if ((r = cache_path(c, e, "lock", path, sizeof(path))) != 0)
		return r;
	fd = open(
	    path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", path, b0_strerror(r));
		return r;
	}
	if ((r = check_private(fd, path, em)) != 0)
		goto fail;
	/*
	 * Another b0-proxy may be signing in (minutes): poll the lock so that
	 * we notice when ssh gives up on us meanwhile.
	 */
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = b0_err_from_errno();
			b0_err_set(em, "%s: flock: %s", path, b0_strerror(r));
			goto fail;
		}
		if (!said && ++waited > 20) {
			px_say("waiting for another b0-proxy signing in to %s",
			    e->domain);
			said = 1;
		}
		pfd.fd = watch_fd;
		pfd.events = 0;
		pfd.revents = 0;
		if (poll(&pfd, watch_fd >= 0 ? 1 : 0, 100) > 0 &&
		    (pfd.revents & (POLLHUP | POLLERR)) != 0) {
			b0_err_set(em, "the ssh client went away");
			r = B0_ERR_EOF;
			goto fail;
		}
	}
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return r;
}

static int
dup_str(const struct b0_json *j, const char *key, int required, char **out,
    const char *path, struct b0_errmsg *em)
{
	const char *s;
	int r;

	if ((r = b0_json_get_str(j, 0, key, &s)) != 0) {
		if (r == B0_ERR_NOT_FOUND && !required)
			return 0;
		b0_err_set(
		    em, "%s: \"%s\" is missing or not a string", path, key);
		return B0_ERR_FORMAT;
	}
	if ((*out = strdup(s)) == NULL)
		return B0_ERR_ALLOC;
	return 0;
}

int
px_cache_load(const struct px_conf *c, const struct px_edge *e,
    struct px_tokens *t, struct b0_errmsg *em)
{
	char path[PATH_MAX];
	struct b0_buf *raw = NULL;
	struct b0_json *j = NULL;
	int fd = -1, r;

	memset(t, 0, sizeof(*t));
	if ((r = cache_dir(c, em)) != 0 ||
	    (r = cache_path(c, e, "json", path, sizeof(path))) != 0)
		return r;
	if ((raw = b0_buf_new(CACHE_FILE_MAX)) == NULL)
		return B0_ERR_ALLOC;
	b0_buf_set_secret(raw);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		r = errno == ENOENT ? B0_ERR_NOT_FOUND : b0_err_from_errno();
		if (r != B0_ERR_NOT_FOUND)
			b0_err_set(em, "%s: %s", path, b0_strerror(r));
		goto out;
	}
	if ((r = check_private(fd, path, em)) != 0)
		goto out;
	for (;;) {
		r = b0_buf_read_fd(raw, fd, 4096);
		if (r == B0_ERR_EOF)
			break;
		if (r < 0) {
			b0_err_set(em, "%s: %s", path, b0_strerror(r));
			goto out;
		}
	}
	if ((r = b0_json_parse((const char *)b0_buf_ptr(raw), b0_buf_len(raw),
		 NULL, &j, em)) != 0) {
		b0_err_prefix(em, "%s", path);
		goto out;
	}
	if ((r = dup_str(j, "access_token", 1, &t->access, path, em)) != 0 ||
	    (r = dup_str(j, "refresh_token", 0, &t->refresh, path, em)) != 0 ||
	    (r = dup_str(j, "email", 0, &t->email, path, em)) != 0)
		goto out;
	if (b0_json_get_int(j, 0, "expires_at", &t->expires_at) != 0) {
		b0_err_set(em, "%s: \"expires_at\" is missing", path);
		r = B0_ERR_FORMAT;
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		px_tokens_cleanup(t);
	/* The document holds copies of the tokens. */
	if (j != NULL)
		b0_json_free(j);
	b0_buf_free(raw);
	if (fd != -1)
		close(fd);
	return r;
}

int
px_cache_store(const struct px_conf *c, const struct px_edge *e,
    const struct px_tokens *t, struct b0_errmsg *em)
{
	char path[PATH_MAX];
	struct b0_buf *b = NULL;
	struct b0_jsonw w;
	int r;

	if ((r = cache_dir(c, em)) != 0 ||
	    (r = cache_path(c, e, "json", path, sizeof(path))) != 0)
		return r;
	if ((b = b0_buf_new(CACHE_FILE_MAX)) == NULL)
		return B0_ERR_ALLOC;
	b0_buf_set_secret(b);
	b0_jsonw_init(&w, b);
	b0_jsonw_obj_begin(&w);
	b0_jsonw_key(&w, "edge");
	b0_jsonw_str(&w, e->domain);
	if (t->email != NULL) {
		b0_jsonw_key(&w, "email");
		b0_jsonw_str(&w, t->email);
	}
	b0_jsonw_key(&w, "access_token");
	b0_jsonw_str(&w, t->access);
	b0_jsonw_key(&w, "expires_at");
	b0_jsonw_int(&w, t->expires_at);
	if (t->refresh != NULL) {
		b0_jsonw_key(&w, "refresh_token");
		b0_jsonw_str(&w, t->refresh);
	}
	b0_jsonw_obj_end(&w);
	if ((r = b0_jsonw_finish(&w)) != 0 ||
	    (r = b0_buf_put(b, "\n", 1)) != 0) {
		b0_err_set(em, "%s: cannot write the tokens: %s", path,
		    b0_strerror(r));
		goto out;
	}
	r = b0_file_write_atomic(path, b0_buf_ptr(b), b0_buf_len(b), 0600, em);
out:
	b0_buf_free(b);
	return r;
}

int
px_cache_remove(
    const struct px_conf *c, const struct px_edge *e, struct b0_errmsg *em)
{
	char path[PATH_MAX];
	int r;

	if ((r = cache_dir(c, em)) != 0 ||
	    (r = cache_path(c, e, "json", path, sizeof(path))) != 0)
		return r;
	if (unlink(path) == -1 && errno != ENOENT) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", path, b0_strerror(r));
		return r;
	}
	return 0;
}
