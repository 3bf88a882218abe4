/*
 * b0_table: plain-text tables for listings ("b0-publish ls"), columns
 * padded to their widest cell, as `ip -br` or `systemctl list-units`.
 */
#ifndef B0_TABLE_H
#define B0_TABLE_H

#include <stddef.h>

#include "b0_buf.h"

struct b0_table;

/*
 * b0_table_new(ncols, headers, tp):
 * A table with ncols columns and these headers (copied).  Free with
 * b0_table_free().  Returns 0 or B0_ERR_ALLOC.
 */
int b0_table_new(
    size_t ncols, const char *const *headers, struct b0_table **tp);

/* b0_table_free(t): NULL is fine. */
void b0_table_free(struct b0_table *t);

/* b0_table_add(t, cells): append a row of ncols cells (copied). */
int b0_table_add(struct b0_table *t, const char *const *cells);

/* b0_table_format(t, out): append the table, one line per row, to out. */
int b0_table_format(const struct b0_table *t, struct b0_buf *out);

#endif /* B0_TABLE_H */
