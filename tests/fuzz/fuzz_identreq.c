/*
 * libFuzzer target for both ends of the identity socket (docs/pam.md,
 * "The identity socket"): b0-publish's request parser
 * (ident_parse_request() in b0-publish/ident.c) and pam_b0's answer parser
 * (pam_b0_ticket_answer() in pam_b0/ticket.c).
 *
 * The first byte picks a mode, the rest is the input:
 *   0  a request line as b0-publish's iclient_io() hands it over (up to
 *      the first newline, refused with a NUL in it); an accepted request
 *      must print back as the same address and port
 *   1  the bytes pam_b0 read from the socket; "ok <ticket>" must give the
 *      ticket exactly, "none" and "error ..." their codes
 * Anything unexpected (an invariant broken) aborts.
 */
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b0_err.h"
#include "b0_str.h"

#include "pam_b0.h"
#include "pub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
request(const char *in, size_t n)
{
	char ip[IDENT_IP_SIZE], back[INET6_ADDRSTRLEN], req[128];
	uint8_t addr[16], again[16];
	const char *nl, *err = NULL;
	char *line;
	size_t alen, alen2, ll;
	uint32_t port, port2;
	int r;

	nl = memchr(in, '\n', n);
	ll = nl != NULL ? (size_t)(nl - in) : n;
	if (memchr(in, '\0', ll) != NULL)
		return; /* iclient_io() answers "error NUL in the request" */
	if ((line = malloc(ll + 1)) == NULL)
		abort();
	memcpy(line, in, ll);
	line[ll] = '\0';
	r = ident_parse_request(line, ip, addr, &alen, &port, &err);
	if (r != 0) {
		if (r != B0_ERR_FORMAT || err == NULL ||
		    strncmp(err, "error ", 6) != 0 ||
		    err[strlen(err) - 1] != '\n')
			abort();
		free(line);
		return;
	}
	if (err != NULL || (alen != 4 && alen != 16) || port < 1 ||
	    port > 65535 || strncmp(line, "ticket ", 7) != 0 ||
	    strlen(ip) >= IDENT_IP_SIZE ||
	    strncmp(line + 7, ip, strlen(ip)) != 0 ||
	    line[7 + strlen(ip)] != ' ')
		abort();
	/* The address as parsed prints and parses back to the same bytes. */
	if (inet_ntop(alen == 4 ? AF_INET : AF_INET6, addr, back,
		sizeof(back)) == NULL ||
	    inet_pton(alen == 4 ? AF_INET : AF_INET6, back, again) != 1 ||
	    memcmp(addr, again, alen) != 0)
		abort();
	free(line);
	/* What pam_b0 sends for that connection parses the same. */
	snprintf(req, sizeof(req), "ticket %s %u", back, (unsigned)port);
	if (ident_parse_request(req, ip, again, &alen2, &port2, &err) != 0 ||
	    alen2 != alen || port2 != port || memcmp(again, addr, alen) != 0)
		abort();
}

static void
answer(const char *in, size_t n)
{
	struct b0_errmsg em;
	char *buf, *tk = (char *)1;
	const char *nl;
	int r;

	if ((buf = malloc(n + 1)) == NULL)
		abort();
	memcpy(buf, in, n);
	buf[n] = '\0';
	b0_err_clear(&em);
	r = pam_b0_ticket_answer("/fuzz/tickets.sock", buf, n, &tk, &em);
	nl = memchr(in, '\n', n);
	if ((r == 0) != (tk != NULL) ||
	    (r != 0 && r != B0_ERR_ALLOC && em.text[0] == '\0'))
		abort();
	/* Only one whole line without NUL bytes is an answer at all. */
	if (r != B0_ERR_PROTOCOL && (nl == NULL || (size_t)(nl - in) + 1 != n ||
					memchr(in, '\0', n - 1) != NULL))
		abort();
	switch (r) {
	case 0:
		if (n < 5 || memcmp(in, "ok ", 3) != 0 || strlen(tk) != n - 4 ||
		    memcmp(tk, in + 3, n - 4) != 0)
			abort();
		b0_str_wipe_free(tk);
		break;
	case B0_ERR_NOT_FOUND:
		if (n != 5 || memcmp(in, "none\n", 5) != 0)
			abort();
		break;
	case B0_ERR_DENIED:
		if (n < 7 || memcmp(in, "error ", 6) != 0)
			abort();
		break;
	case B0_ERR_PROTOCOL:
	case B0_ERR_ALLOC:
		break;
	default:
		abort();
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t n = size - 1;

	if (size == 0)
		return 0;
	switch (data[0] % 2) {
	case 0:
		request(in, n);
		break;
	case 1:
		answer(in, n);
		break;
	}
	return 0;
}
