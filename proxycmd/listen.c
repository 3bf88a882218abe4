/*
 * --listen ADDRESS:PORT: a local port for clients that cannot use a
 * ProxyCommand (psql, gNMI).  Each accepted connection gets its own edge
 * stream in a child process (no threads, nothing shared but the token
 * cache and its lock).  Children die with us (PR_SET_PDEATHSIG), so
 * stopping b0-proxy stops its streams.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b0_net.h"
#include "b0_parse.h"
#include "b0_str.h"
#include "proxy.h"

static void
reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int
px_listen_run(const struct px_conf *c, const struct px_edge *e,
    const char *host, uint16_t port, const char *listen, unsigned flags,
    struct b0_errmsg *em)
{
	char addr[256], peer[B0_NET_ADDRSTRLEN];
	char *token = NULL;
	struct pollfd p;
	uint16_t lport;
	pid_t pid, parent = getpid();
	int lfd = -1, cfd, r;

	if (b0_parse_listen(listen, addr, sizeof(addr), &lport) != 0) {
		b0_err_set(em, "--listen: \"%s\" is not ADDRESS:PORT", listen);
		return B0_ERR_CONFIG;
	}
	/* Sign in now, not when the first client is already waiting. */
	if ((r = px_token_get(c, e, flags, NULL, -1, &token, NULL, em)) != 0)
		return r;
	b0_str_wipe_free(token);
	if ((r = b0_net_listen(addr, lport, &lfd, em)) != 0 ||
	    (r = b0_net_local_port(lfd, &lport)) != 0)
		goto out;
	px_say("listening on %s%s%s:%u for %s:%u", strchr(addr, ':') ? "[" : "",
	    addr, strchr(addr, ':') ? "]" : "", (unsigned)lport, host,
	    (unsigned)port);
	for (;;) {
		reap();
		p.fd = lfd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 1000) == -1 && errno != EINTR) {
			r = b0_err_from_errno();
			goto out;
		}
		if (p.revents == 0)
			continue;
		if ((r = b0_net_accept(lfd, &cfd, NULL, NULL)) != 0) {
			if (r == B0_ERR_AGAIN)
				continue;
			px_say("accept on %s: %s", listen, b0_strerror(r));
			continue;
		}
		b0_net_tune(cfd, 0);
		b0_net_peer_str(cfd, peer, sizeof(peer));
		if ((pid = fork()) == -1) {
			px_say("cannot fork for %s: %s", peer, strerror(errno));
			close(cfd);
			continue;
		}
		if (pid == 0) {
			struct b0_errmsg cem;

			(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				_exit(1);
			close(lfd);
			b0_err_clear(&cem);
			px_debug("stream for %s", peer);
			r = px_stream_run(
			    c, e, host, port, cfd, cfd, -1, flags, &cem);
			if (r != 0)
				px_say("%s: %s", peer, b0_err_text(&cem, r));
			_exit(r == 0 ? 0 : 1);
		}
		close(cfd);
	}
out:
	if (lfd != -1)
		close(lfd);
	return r;
}
