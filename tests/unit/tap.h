/*
 * tap.h: a tiny Test Anything Protocol emitter for the unit tests.
 *
 *   ok(cond, "name %d", i);       is_int(got, want, "name");
 *   is_str(got, want, "name");    int main(void) { ...; return tap_done(); }
 *
 * tap_guard(data, len) copies input to the very end of a page followed by
 * a PROT_NONE page (picohttpparser's trick), so a parser that reads one
 * byte too far crashes the test instead of passing by luck.
 */
#ifndef TAP_H
#define TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int tap_n, tap_failed;

static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define is_int(got, want, ...)                                                 \
	do {                                                                   \
		long long tap_g_ = (long long)(got),                           \
			  tap_w_ = (long long)(want);                          \
		if (!ok(tap_g_ == tap_w_, __VA_ARGS__))                        \
			printf("#   got %lld, want %lld (%s:%d)\n", tap_g_,    \
			    tap_w_, __FILE__, __LINE__);                       \
	} while (0)

#define is_str(got, want, ...)                                                 \
	do {                                                                   \
		const char *tap_g_ = (got), *tap_w_ = (want);                  \
		int tap_eq_ = (tap_g_ == NULL && tap_w_ == NULL) ||            \
			      (tap_g_ != NULL && tap_w_ != NULL &&             \
				  strcmp(tap_g_, tap_w_) == 0);                \
		if (!ok(tap_eq_, __VA_ARGS__))                                 \
			printf("#   got \"%s\", want \"%s\" (%s:%d)\n",        \
			    tap_g_ ? tap_g_ : "(null)",                        \
			    tap_w_ ? tap_w_ : "(null)", __FILE__, __LINE__);   \
	} while (0)

/* Does haystack contain needle?  For checking error messages. */
#define has_str(haystack, needle, ...)                                         \
	do {                                                                   \
		const char *tap_h_ = (haystack), *tap_nd_ = (needle);          \
		if (!ok(tap_h_ != NULL && strstr(tap_h_, tap_nd_) != NULL,     \
			__VA_ARGS__))                                          \
			printf("#   \"%s\" does not contain \"%s\" (%s:%d)\n", \
			    tap_h_ ? tap_h_ : "(null)", tap_nd_, __FILE__,     \
			    __LINE__);                                         \
	} while (0)

/*
 * tap_need(cond): a step the rest of the test builds on (a write to a
 * pipe, a symlink); if it fails, nothing after it means anything.
 */
#define tap_need(cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("Bail out! %s:%d: %s\n", __FILE__, __LINE__,    \
			    #cond);                                            \
			exit(1);                                               \
		}                                                              \
	} while (0)

static inline void __attribute__((format(printf, 1, 2)))
tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * Copy len bytes so that they end exactly at a PROT_NONE page.  The copy
 * is not NUL-terminated.  Free with tap_unguard().
 */
static inline void *
tap_guard(const void *data, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t npages = (len + pg - 1) / pg + 1;
	unsigned char *m;

	m = mmap(NULL, npages * pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	if (mprotect(m + (npages - 1) * pg, pg, PROT_NONE) == -1) {
		perror("mprotect");
		exit(2);
	}
	if (len > 0)
		memcpy(m + (npages - 1) * pg - len, data, len);
	return m + (npages - 1) * pg - len;
}

static inline void
tap_unguard(void *p, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t npages = (len + pg - 1) / pg + 1;
	unsigned char *end = (unsigned char *)p + len;

	munmap(end - (npages - 1) * pg, npages * pg);
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* TAP_H */
