/*
 * b0_str: small string helpers the C library lacks or gets wrong for us
 * (locale-independent case folding, bounded copies, constant-time compare).
 */
#ifndef B0_STR_H
#define B0_STR_H

#include <stddef.h>

/*
 * b0_strlcpy(dst, src, size) / b0_strlcat(dst, src, size):
 * As OpenBSD's strlcpy/strlcat: always NUL-terminate (size > 0) and return
 * the length they tried to create; truncation when the result >= size.
 */
size_t b0_strlcpy(char *dst, const char *src, size_t size);
size_t b0_strlcat(char *dst, const char *src, size_t size);

/* ASCII-only case folding, whatever the locale. */
char b0_ascii_lower(char c);
void b0_str_lower(char *s);
int b0_str_caseeq(const char *a, const char *b);
int b0_str_ncaseeq(const char *a, const char *b, size_t n);

/* Does s start (end) with prefix (suffix)? */
int b0_str_has_prefix(const char *s, const char *prefix);
int b0_str_has_suffix(const char *s, const char *suffix);

/*
 * b0_ct_eq(a, b, n):
 * Compare n bytes in time independent of their contents; 1 if equal.
 */
int b0_ct_eq(const void *a, const void *b, size_t n);

/*
 * b0_str_wipe_free(s): Wipe a secret string, then free it.  NULL is fine.
 */
void b0_str_wipe_free(char *s);

/*
 * b0_hex_encode(in, n, out, outsz):
 * Lower-case hex of n bytes into out (2n + 1 bytes needed).  Returns 0 or
 * B0_ERR_TOO_BIG.
 */
int b0_hex_encode(const unsigned char *in, size_t n, char *out, size_t outsz);

/*
 * b0_hex_decode(s, out, n):
 * Decode s, which must be exactly 2n lower-case hex digits (what
 * b0_hex_encode() writes), into the n bytes of out.  Returns 0 or
 * B0_ERR_FORMAT.
 */
int b0_hex_decode(const char *s, unsigned char *out, size_t n);

#endif /* B0_STR_H */
