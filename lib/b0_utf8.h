/*
 * b0_utf8: UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates,
 * nothing above U+10FFFF.
 */
#ifndef B0_UTF8_H
#define B0_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * b0_utf8_decode(s, n, cpp):
 * Decode the character at the start of s (n > 0 bytes available).  Returns
 * its length in bytes (1 to 4) and sets *cpp, or 0 if s does not start with
 * a valid character (including one cut off by n).
 */
size_t b0_utf8_decode(const char *s, size_t n, uint32_t *cpp);

/* b0_utf8_valid(s, n): 1 if all n bytes are valid UTF-8, else 0. */
int b0_utf8_valid(const char *s, size_t n);

/*
 * b0_utf8_encode(cp, out):
 * Write code point cp (not a surrogate, at most U+10FFFF) to out (4 bytes
 * of room).  Returns the number of bytes, or 0 for an invalid cp.
 */
size_t b0_utf8_encode(uint32_t cp, char out[4]);

/*
 * b0_utf8_trim(s):
 * Cut s at its first byte that does not start a valid character, such as
 * the half of a character that a fixed-size buffer cut off.
 */
void b0_utf8_trim(char *s);

#endif /* B0_UTF8_H */
