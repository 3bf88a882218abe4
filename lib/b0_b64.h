/*
 * b0_b64: base64url (RFC 4648 section 5, as JOSE uses it) and standard
 * base64 (section 4, for HTTP basic authentication).
 *
 * Decoding is strict: base64url takes no padding, no whitespace, no
 * characters from the other alphabet, no length of 4k+1, and no non-zero
 * bits left over in the last character (one string, one meaning).
 * Standard base64 requires exactly the canonical padding.
 */
#ifndef B0_B64_H
#define B0_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters (without NUL) to encode n bytes. */
size_t b0_b64url_encoded_len(size_t n);
size_t b0_b64_encoded_len(size_t n);

/*
 * b0_b64url_encode(in, n, out, outsz) / b0_b64_encode(...):
 * Encode n bytes into out and NUL-terminate.  Returns 0 or B0_ERR_TOO_BIG
 * when outsz < encoded length + 1.
 */
int b0_b64url_encode(const uint8_t *in, size_t n, char *out, size_t outsz);
int b0_b64_encode(const uint8_t *in, size_t n, char *out, size_t outsz);

/*
 * b0_b64url_decode(in, n, out, outsz, outlenp) / b0_b64_decode(...):
 * Decode n characters of in (need not be NUL-terminated) into out; the
 * number of bytes goes to *outlenp.  Returns 0, B0_ERR_FORMAT, or
 * B0_ERR_TOO_BIG when outsz is too small.  Nothing is promised about out
 * after an error.
 */
int b0_b64url_decode(
    const char *in, size_t n, uint8_t *out, size_t outsz, size_t *outlenp);
int b0_b64_decode(
    const char *in, size_t n, uint8_t *out, size_t outsz, size_t *outlenp);

#endif /* B0_B64_H */
