/*
 * b0-proxy's messages: one line each on stderr, never on stdout (which
 * carries the stream).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "proxy.h"

static void __attribute__((format(printf, 1, 0)))
sayv(const char *fmt, va_list ap)
{
	char line[1024];
	size_t i;

	(void)vsnprintf(line, sizeof(line), fmt, ap);
	/* Text from peers (an error body, a reason) must not forge lines. */
	for (i = 0; line[i] != '\0'; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	}
	fprintf(stderr, "b0-proxy: %s\n", line);
	fflush(stderr);
}

void
px_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sayv(fmt, ap);
	va_end(ap);
}

void
px_debug(const char *fmt, ...)
{
	va_list ap;

	if (getenv("B0_PROXY_DEBUG") == NULL)
		return;
	va_start(ap, fmt);
	sayv(fmt, ap);
	va_end(ap);
}
