/*
 * b0_parse: strict, range-checked parsing of numbers, durations, sizes,
 * booleans and host:port pairs; in place of atoi/strtol/sscanf.
 *
 * Every function takes a whole NUL-terminated string: no leading or
 * trailing space, no sign, no trailing garbage.  Results are written only
 * on success.  Returns 0, B0_ERR_FORMAT (not of the form) or B0_ERR_RANGE
 * (of the form, outside [min, max]).
 */
#ifndef B0_PARSE_H
#define B0_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decimal integers.  Leading zeros are refused ("022" might be read as
 * octal by a person; write "22"), except "0" itself.
 */
int b0_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int b0_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* As b0_parse_u32 on the first n bytes of s (s need not be terminated). */
int b0_parse_u32n(
    const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *out);

/* "yes"/"no", "true"/"false", "on"/"off": *out is 1 or 0. */
int b0_parse_bool(const char *s, int *out);

/*
 * A duration in milliseconds: a number and a unit, repeated ("1h30m",
 * "250ms", "10s"); units ms, s, m, h, d; a bare number means seconds, as in
 * sshd_config(5).
 */
int b0_parse_duration_ms(
    const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A size in bytes: a number with an optional K, M or G (powers of 1024). */
int b0_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * b0_parse_hostport(s, host, hostsz, portp):
 * Split "host:port", "[v6addr]:port" into host (without brackets, NUL-
 * terminated, at most hostsz - 1 bytes) and port (1..65535).  The host is
 * a DNS name or an IP address: letters, digits, '.', '-', '_', and ':' only
 * inside brackets.  Returns 0, B0_ERR_FORMAT, B0_ERR_RANGE (port) or
 * B0_ERR_TOO_BIG (host longer than hostsz - 1).
 */
int b0_parse_hostport(
    const char *s, char *host, size_t hostsz, uint16_t *portp);

/*
 * b0_parse_listen(s, host, hostsz, portp):
 * As b0_parse_hostport() for an address to listen on: port 0 (any free
 * port, reported by the daemon) is allowed.
 */
int b0_parse_listen(const char *s, char *host, size_t hostsz, uint16_t *portp);

#endif /* B0_PARSE_H */
