/*
 * b0_table: plain-text tables for listings.
 */
#include <stdlib.h>
#include <string.h>

#include "b0_err.h"
#include "b0_table.h"

struct b0_table {
	size_t ncols;
	size_t nrows; /* the header row included */
	char **cells; /* nrows * ncols */
};

int
b0_table_new(size_t ncols, const char *const *headers, struct b0_table **tp)
{
	struct b0_table *t;
	int r;

	*tp = NULL;
	if (ncols == 0)
		return B0_ERR_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return B0_ERR_ALLOC;
	t->ncols = ncols;
	if ((r = b0_table_add(t, headers)) != 0) {
		b0_table_free(t);
		return r;
	}
	*tp = t;
	return 0;
}

void
b0_table_free(struct b0_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int
b0_table_add(struct b0_table *t, const char *const *cells)
{
	char **nc;
	size_t i, base = t->nrows * t->ncols;

	if ((nc = realloc(t->cells, (base + t->ncols) * sizeof(*nc))) == NULL)
		return B0_ERR_ALLOC;
	t->cells = nc;
	for (i = 0; i < t->ncols; i++) {
		if ((nc[base + i] = strdup(cells[i] ? cells[i] : "")) == NULL) {
			while (i-- > 0)
				free(nc[base + i]);
			return B0_ERR_ALLOC;
		}
	}
	t->nrows++;
	return 0;
}

int
b0_table_format(const struct b0_table *t, struct b0_buf *out)
{
	size_t *w, r, c, len;
	int rc = 0;

	if ((w = calloc(t->ncols, sizeof(*w))) == NULL)
		return B0_ERR_ALLOC;
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			len = strlen(t->cells[r * t->ncols + c]);
			if (len > w[c])
				w[c] = len;
		}
	}
	for (r = 0; r < t->nrows && rc == 0; r++) {
		for (c = 0; c < t->ncols && rc == 0; c++) {
			const char *cell = t->cells[r * t->ncols + c];

			if (c + 1 == t->ncols)
				rc = b0_buf_putf(out, "%s\n", cell);
			else
				rc =
				    b0_buf_putf(out, "%-*s  ", (int)w[c], cell);
		}
	}
	free(w);
	return rc;
}
