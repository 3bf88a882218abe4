/*
 * b0_ctl: a daemon's local socket server (a Unix stream socket).
 *
 * A client sends one request line ("ls\n"); the daemon answers and closes.
 * Used by `b0-publish ls`, `b0-edge ls` and b0-publish's identity socket
 * (docs/pam.md).  The handler learns the client's credentials (SO_PEERCRED,
 * SO_PEERGROUPS) to decide what it may ask.
 */
#ifndef B0_CTL_H
#define B0_CTL_H

#include <sys/types.h>

#include "b0_buf.h"
#include "b0_err.h"
#include "b0_loop.h"

#define B0_CTL_REQUEST_MAX 1024
#define B0_CTL_REPLY_MAX (4 * 1024 * 1024)
#define B0_CTL_TIMEOUT_MS 5000
#define B0_CTL_MAX_CLIENTS 32
#define B0_CTL_PEER_GROUPS 256

struct b0_ctl;

/*
 * Who connected, as the kernel saw it on connect(): pid, uid and primary
 * gid (SO_PEERCRED), the supplementary groups (SO_PEERGROUPS).  ngroups is
 * -1 when they are unknown: SO_PEERGROUPS failed, or the peer has more
 * than B0_CTL_PEER_GROUPS of them.
 */
struct b0_ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[B0_CTL_PEER_GROUPS];
	int ngroups;
};

/*
 * b0_ctl_peer_in_group(peer, gid): 1 if gid is peer's primary group or
 * one of its supplementary groups, else 0 (also when those are unknown).
 */
int b0_ctl_peer_in_group(const struct b0_ctl_peer *peer, gid_t gid);

/*
 * Answer request (one line, without the newline) from peer by appending to
 * reply.  Return 0, or an error to close without answering.
 */
typedef int b0_ctl_handler_fn(const char *request,
    const struct b0_ctl_peer *peer, struct b0_buf *reply, void *cookie);

/* Is peer let in at all?  1 yes, 0 no. */
typedef int b0_ctl_allow_fn(const struct b0_ctl_peer *peer, void *cookie);

/*
 * How to listen.  Zero fields take the defaults (B0_CTL_REQUEST_MAX, ...).
 * The answers (refused, too_long, bad_line) are sent as they are, then the
 * connection is closed; NULL: close without one.
 */
struct b0_ctl_opts {
	const char *what;   /* names the socket in messages; "control-socket" */
	mode_t mode;	    /* of the socket */
	uid_t uid;	    /* owner and group of the socket, */
	gid_t gid;	    /* (uid_t)-1, (gid_t)-1: ours */
	size_t request_max; /* bytes of a request line, newline included */
	int timeout_ms;	    /* for the whole exchange */
	int max_clients;    /* at once; more are closed on accept */
	int secret;	    /* replies are wiped when released */
	b0_ctl_allow_fn *allow; /* NULL: all may ask */
	const char *refused;	/* the answer to a peer allow() refuses */
	const char *too_long;	/* to a line longer than request_max */
	const char *bad_line;	/* to a line holding a NUL byte */
};

/* b0_ctl_opts_init(o): zero o, default what, owner, group and mode 0660. */
void b0_ctl_opts_init(struct b0_ctl_opts *o);

/*
 * b0_ctl_check_parent(what, path, uid, em):
 * path's directory must be a directory that group and others cannot
 * write, owned by us or by uid (pass (uid_t)-1 for none); it is created
 * (0755) when missing.  em names what and the directory.  For any file
 * that must not be swapped under us (b0-publish's JWKS file too).
 */
int b0_ctl_check_parent(
    const char *what, const char *path, uid_t uid, struct b0_errmsg *em);

/*
 * b0_ctl_listen(loop, path, o, handler, cookie, ctlp, em):
 * Listen on path as o says.  path's directory must pass
 * b0_ctl_check_parent() (o->uid may own it); a stale socket there is
 * replaced; a live one (a daemon answers connect()) or anything else there
 * is an error.  allow and handler get cookie.  Free with b0_ctl_free().
 */
int b0_ctl_listen(struct b0_loop *loop, const char *path,
    const struct b0_ctl_opts *o, b0_ctl_handler_fn *handler, void *cookie,
    struct b0_ctl **ctlp, struct b0_errmsg *em);

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
