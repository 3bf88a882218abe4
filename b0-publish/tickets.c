/*
 * b0-publish: connection tickets (docs/identity.md, "Connection
 * tickets"), kept against the local address and port of the connection
 * each stream opened to its target, for as long as that connection lives:
 * the target (sshd) sees that address and port as its client's, which is
 * how pam_b0 will ask for the ticket of a login.
 *
 * A ticket is a credential for its short life: it is wiped when dropped,
 * and never logged.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>

#include <stdlib.h>
#include <string.h>

#include "b0_err.h"
#include "b0_net.h"
#include "b0_str.h"
#include "pub.h"

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes its IPv4 form. */
static void
normalize(uint8_t *ip, size_t *lenp)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (*lenp == 16 && memcmp(ip, mapped, 12) == 0) {
		memmove(ip, ip + 12, 4);
		*lenp = 4;
	}
}

void
tickets_init(struct tickets *ts)
{
	TAILQ_INIT(&ts->q);
	ts->n = 0;
}

int
tickets_put(struct tickets *ts, int fd, const char *jwt, struct ticket **tkp)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ticket *tk;
	char addr[B0_ADDR_SIZE];
	uint16_t port;

	*tkp = NULL;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return B0_ERR_SYS(errno);
	if (ss.ss_family == AF_INET)
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return B0_ERR_UNSUPPORTED;
	b0_net_addr_str((struct sockaddr *)&ss, addr, sizeof(addr));
	if ((tk = calloc(1, sizeof(*tk))) == NULL ||
	    (tk->jwt = strdup(jwt)) == NULL) {
		free(tk);
		return B0_ERR_ALLOC;
	}
	b0_strlcpy(tk->local, addr, sizeof(tk->local));
	if (ss.ss_family == AF_INET) {
		memcpy(tk->ip, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		tk->iplen = 4;
	} else {
		memcpy(tk->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		tk->iplen = 16;
		normalize(tk->ip, &tk->iplen);
	}
	tk->port = port;
	TAILQ_INSERT_TAIL(&ts->q, tk, entry);
	ts->n++;
	*tkp = tk;
	return 0;
}

const char *
tickets_get(
    const struct tickets *ts, const uint8_t *ip, size_t iplen, uint16_t port)
{
	const struct ticket *tk;
	uint8_t want[16];

	if (iplen != 4 && iplen != 16)
		return NULL;
	memcpy(want, ip, iplen);
	normalize(want, &iplen);
	/* The newest: a port is reused only after its connection ended. */
	TAILQ_FOREACH_REVERSE(tk, &ts->q, ticket_q, entry)
	{
		if (tk->port == port && tk->iplen == iplen &&
		    memcmp(tk->ip, want, iplen) == 0)
			return tk->jwt;
	}
	return NULL;
}

void
tickets_del(struct tickets *ts, struct ticket *tk)
{
	if (tk == NULL)
		return;
	TAILQ_REMOVE(&ts->q, tk, entry);
	ts->n--;
	b0_str_wipe_free(tk->jwt);
	free(tk);
}

void
tickets_cleanup(struct tickets *ts)
{
	while (!TAILQ_EMPTY(&ts->q))
		tickets_del(ts, TAILQ_FIRST(&ts->q));
}
