/*
 * b0_file: reading files we must trust and writing files that must not
 * tear.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "b0_file.h"
#include "b0_str.h"

int
b0_file_check(int fd, const char *path, unsigned flags, struct b0_errmsg *em)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", path, b0_strerror(r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		b0_err_set(em, "%s: not a regular file", path);
		return B0_ERR_FORMAT;
	}
	if ((flags & B0_FILE_OWNER_ROOT) && st.st_uid != 0) {
		b0_err_set(em, "%s: owned by uid %u, must be owned by root",
		    path, (unsigned)st.st_uid);
		return B0_ERR_PERM;
	}
	if ((flags & B0_FILE_OWNER_SELF) && st.st_uid != 0 &&
	    st.st_uid != geteuid()) {
		b0_err_set(em,
		    "%s: owned by uid %u, must be owned by uid %u "
		    "or root",
		    path, (unsigned)st.st_uid, (unsigned)geteuid());
		return B0_ERR_PERM;
	}
	if ((flags & B0_FILE_PRIVATE) && (st.st_mode & 077) != 0) {
		b0_err_set(em,
		    "%s: permissions %04o are too open for a "
		    "secret (group or others have access); run: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		return B0_ERR_PERM;
	}
	if ((flags & B0_FILE_NO_WRITE_OTHERS) && (st.st_mode & 022) != 0) {
		b0_err_set(em,
		    "%s: permissions %04o let group or others "
		    "write it; run: chmod go-w %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		return B0_ERR_PERM;
	}
	return 0;
}

int
b0_file_open(const char *path, unsigned flags, int *fdp, struct b0_errmsg *em)
{
	int fd, r;

	*fdp = -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) ==
	    -1) {
		r = b0_err_from_errno();
		if (errno == ELOOP)
			b0_err_set(em,
			    "%s: is a symbolic link; refusing to "
			    "follow it",
			    path);
		else
			b0_err_set(em, "%s: %s", path, b0_strerror(r));
		return r;
	}
	if ((r = b0_file_check(fd, path, flags, em)) != 0) {
		close(fd);
		return r;
	}
	*fdp = fd;
	return 0;
}

int
b0_file_read(
    const char *path, unsigned flags, struct b0_buf *out, struct b0_errmsg *em)
{
	int fd, r;

	if ((r = b0_file_open(path, flags, &fd, em)) != 0)
		return r;
	for (;;) {
		r = b0_buf_read_fd(out, fd, 65536);
		if (r == B0_ERR_EOF) {
			r = 0;
			break;
		}
		if (r == B0_ERR_TOO_BIG) {
			/* Full: fine only if the file ends exactly here. */
			char c;
			ssize_t n;

			while ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
				;
			if (n == 0) {
				r = 0;
				break;
			}
			b0_err_set(em,
			    "%s: larger than the limit of %zu "
			    "bytes",
			    path, out->max);
			break;
		}
		if (r < 0) {
			b0_err_set(em, "%s: read: %s", path, b0_strerror(r));
			break;
		}
	}
	close(fd);
	return r;
}

/* Split path into its directory ("." if none) in dir. */
static int
dir_of(const char *path, char *dir, size_t dirsz)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return b0_strlcpy(dir, ".", dirsz) >= dirsz ? B0_ERR_TOO_BIG
							    : 0;
	if (slash == path)
		return b0_strlcpy(dir, "/", dirsz) >= dirsz ? B0_ERR_TOO_BIG
							    : 0;
	if ((size_t)(slash - path) >= dirsz)
		return B0_ERR_TOO_BIG;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return 0;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return b0_err_from_errno();
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
b0_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct b0_errmsg *em)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	unsigned char rnd[6];
	char rhex[13];
	const char *step = "create";
	int fd = -1, dfd = -1, r;

	if (dir_of(path, dir, sizeof(dir)) != 0 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1 ||
	    b0_hex_encode(rnd, sizeof(rnd), rhex, sizeof(rhex)) != 0 ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rhex) >=
		sizeof(tmp)) {
		b0_err_set(em, "%s: cannot make a temporary name", path);
		return B0_ERR_TOO_BIG;
	}
	fd = open(
	    tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1) {
		r = b0_err_from_errno();
		goto fail;
	}
	step = "write";
	/* open() applied the umask: set exactly what was asked for. */
	if (fchmod(fd, mode) == -1 || (r = write_all(fd, data, len)) != 0 ||
	    (step = "fsync", fsync(fd) == -1)) {
		r = b0_err_from_errno();
		goto fail;
	}
	step = "close";
	if (close(fd) == -1) {
		fd = -1;
		r = b0_err_from_errno();
		goto fail;
	}
	fd = -1;
	step = "rename";
	if (rename(tmp, path) == -1) {
		r = b0_err_from_errno();
		goto fail;
	}
	/* The rename is durable once the directory is. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	b0_err_set(em, "%s: %s: %s", path, step, b0_strerror(r));
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	return r;
}

int
b0_file_mkdir_private(const char *path, struct b0_errmsg *em)
{
	struct stat st;
	int r;

	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: mkdir: %s", path, b0_strerror(r));
		return r;
	}
	if (lstat(path, &st) == -1) {
		r = b0_err_from_errno();
		b0_err_set(em, "%s: %s", path, b0_strerror(r));
		return r;
	}
	if (!S_ISDIR(st.st_mode)) {
		b0_err_set(em, "%s: not a directory (a symlink?)", path);
		return B0_ERR_PERM;
	}
	if (st.st_uid != geteuid()) {
		b0_err_set(em, "%s: owned by uid %u, not by uid %u", path,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		return B0_ERR_PERM;
	}
	if ((st.st_mode & 077) != 0) {
		b0_err_set(em,
		    "%s: permissions %04o are too open; run: "
		    "chmod 700 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		return B0_ERR_PERM;
	}
	return 0;
}
