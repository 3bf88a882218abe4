/*
 * b0_daemon: what a b0 daemon does around its event loop: drop privileges
 * after binding, tell systemd (Type=notify) and test harnesses (a readiness
 * fd, as s6's notification-fd) that it is ready, and take signals as fd
 * events.
 */
#ifndef B0_DAEMON_H
#define B0_DAEMON_H

#include <signal.h>
#include <sys/types.h>

#include "b0_err.h"

/*
 * b0_daemon_drop(user, em):
 * If running as root, become user (its uid, gid and supplementary groups)
 * and check that root cannot be regained.  Not root: nothing to do (0).
 * Returns 0, B0_ERR_NOT_FOUND (no such user) or B0_ERR_SYS(errno).
 */
int b0_daemon_drop(const char *user, struct b0_errmsg *em);

/*
 * b0_daemon_lookup(user, uidp, gidp, em):
 * The uid and gid of user (getpwnam_r).
 */
int b0_daemon_lookup(
    const char *user, uid_t *uidp, gid_t *gidp, struct b0_errmsg *em);

/*
 * b0_daemon_notify(state):
 * Send state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...") to
 * $NOTIFY_SOCKET if set (sd_notify(3) without libsystemd).  Returns 0 or
 * an error (ignored by most callers: systemd may not be there).
 */
int b0_daemon_notify(const char *state);

/*
 * b0_daemon_ready_fd(fd, text):
 * Write text to fd (the readiness fd a test harness passed) and close it.
 * fd < 0: nothing.
 */
int b0_daemon_ready_fd(int fd, const char *text);

/*
 * b0_daemon_signalfd(sigs, n, fdp):
 * Block the n signals in sigs and return a non-blocking signalfd for them
 * in *fdp; SIGPIPE is ignored.  Read it with b0_daemon_signal_read().
 */
int b0_daemon_signalfd(const int *sigs, int n, int *fdp);

/* b0_daemon_signal_read(fd): the next pending signal number, or 0. */
int b0_daemon_signal_read(int fd);

#endif /* B0_DAEMON_H */
