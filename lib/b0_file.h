/*
 * b0_file: reading files we must trust and writing files that must not
 * tear.
 *
 * Reads open with O_NOFOLLOW|O_CLOEXEC and check what was opened (fstat),
 * never the path a second time.  Writes go to a temporary file in the same
 * directory, are fsync()ed, renamed over the target and the directory is
 * fsync()ed: a reader sees the old file or the new one, never half.
 */
#ifndef B0_FILE_H
#define B0_FILE_H

#include <sys/types.h>

#include <stddef.h>

#include "b0_buf.h"
#include "b0_err.h"

/* What a file must be.  Combine with |. */
#define B0_FILE_PRIVATE 0x01	     /* no permission bits for group/others */
#define B0_FILE_NO_WRITE_OTHERS 0x02 /* not writable by group or others */
#define B0_FILE_OWNER_ROOT 0x04	     /* owned by uid 0 */
#define B0_FILE_OWNER_SELF 0x08	     /* owned by the effective uid or root */

/*
 * b0_file_check(fd, path, flags, em):
 * Check that fd is a regular file meeting flags.  path is only for the
 * message, which says what is wrong and how to mend it ("chmod 600 ...").
 * Returns 0, B0_ERR_PERM, B0_ERR_FORMAT (not a regular file) or
 * B0_ERR_SYS(errno).
 */
int b0_file_check(
    int fd, const char *path, unsigned flags, struct b0_errmsg *em);

/*
 * b0_file_open(path, flags, fdp, em):
 * Open path read-only without following a final symlink, and check it with
 * b0_file_check().  On success *fdp is an fd the caller closes.
 */
int b0_file_open(
    const char *path, unsigned flags, int *fdp, struct b0_errmsg *em);

/*
 * b0_file_read(path, flags, out, em):
 * Open as b0_file_open() and append the whole file to out (bounded by its
 * max: B0_ERR_TOO_BIG names the limit).  Messages start with path.
 */
int b0_file_read(
    const char *path, unsigned flags, struct b0_buf *out, struct b0_errmsg *em);

/*
 * b0_file_write_atomic(path, data, len, mode, em):
 * Replace path with len bytes of data and permissions mode, atomically and
 * durably.  The temporary file is created with mode from the start (never
 * briefly readable by others) and removed on failure.
 */
int b0_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct b0_errmsg *em);

/*
 * b0_file_mkdir_private(path, em):
 * Make sure path is a directory owned by the effective uid with no
 * permissions for group or others, creating it (0700) if missing; its parent
 * must exist.  A symlink, another owner or looser permissions are refused.
 */
int b0_file_mkdir_private(const char *path, struct b0_errmsg *em);

#endif /* B0_FILE_H */
