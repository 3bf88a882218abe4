/*
 * b0_ctl: a daemon's local control socket (a Unix stream socket).
 *
 * A client sends one request line ("ls\n"); the daemon answers (JSON) and
 * closes.  Used by `b0-publish ls`, `b0-edge ls` and later by pam_b0.  The
 * handler learns the client's uid (SO_PEERCRED) to decide what it may ask.
 */
#ifndef B0_CTL_H
#define B0_CTL_H

#include <sys/types.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_loop.h"

#define B0_CTL_REQUEST_MAX 1024
#define B0_CTL_REPLY_MAX (4 * 1024 * 1024)

struct b0_ctl;

/*
 * Answer request (one line, without the newline) from a client running as
 * uid by appending to reply.  Return 0, or an error to close without
 * answering.
 */
typedef int b0_ctl_handler_fn(
    const char *request, uid_t uid, struct b0_buf *reply, void *cookie);

/*
 * b0_ctl_listen(loop, path, mode, handler, cookie, ctlp, em):
 * Listen on path (a stale socket there is replaced; anything else there is
 * an error) with permissions mode.  Free with b0_ctl_free().
 */
int b0_ctl_listen(struct b0_loop *loop, const char *path, mode_t mode,
    b0_ctl_handler_fn *handler, void *cookie, struct b0_ctl **ctlp,
    struct b0_errmsg *em);

/* b0_ctl_free(ctl): Close the socket, its clients, and unlink the path. */
void b0_ctl_free(struct b0_ctl *ctl);

/*
 * b0_ctl_request(path, request, timeout_ms, reply, em):
 * Client side, blocking: send request, append the whole answer to reply.
 * em says what failed ("connect /run/b0-publish/control.sock: No such file
 * or directory (is b0-publish running?)").
 */
int b0_ctl_request(const char *path, const char *request, int timeout_ms,
    struct b0_buf *reply, struct b0_errmsg *em);

#endif /* B0_CTL_H */
