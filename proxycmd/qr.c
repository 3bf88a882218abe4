/*
 * b0-proxy: the device flow's URL as a QR code on the terminal, for a
 * phone to open (libqrencode).  Two modules per character cell with the
 * Unicode half blocks and the four-module quiet zone the standard asks
 * for.  Light modules are drawn in the terminal's text colour and dark ones
 * left as background, as `qrencode -t UTF8` does: made for light text on
 * a dark background, which is how most terminals come.  Only for a
 * terminal: a log file gets the URL line alone.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <qrencode.h>

#include "proxy.h"

#define QUIET 4

/* Is module (x, y) dark?  Outside the symbol (the quiet zone) it is not. */
static int
dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

void
px_qr_show(const char *url)
{
	/* By (top dark) | (bottom dark) << 1: blocks are the light part. */
	static const char *const cell[4] = {
	    "\xe2\x96\x88", /* both light: full block */
	    "\xe2\x96\x84", /* top dark: lower half light */
	    "\xe2\x96\x80", /* bottom dark: upper half light */
	    " "		    /* both dark */
	};
	QRcode *q;
	int x, y;

	if (!isatty(STDERR_FILENO) || url == NULL)
		return;
	if ((q = QRcode_encodeString(url, 0, QR_ECLEVEL_L, QR_MODE_8, 1)) ==
	    NULL)
		return;
	for (y = -QUIET; y < q->width + QUIET; y += 2) {
		for (x = -QUIET; x < q->width + QUIET; x++)
			fputs(cell[dark(q, x, y) << 0 | dark(q, x, y + 1) << 1],
			    stderr);
		fputc('\n', stderr);
	}
	fflush(stderr);
	QRcode_free(q);
}
