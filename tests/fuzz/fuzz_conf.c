/*
 * libFuzzer target: the configuration reader (lib/b0_conf) and the typed
 * argument parsers behind it.  Every line must either be read or be
 * refused with a "name:line: " message; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b0_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct b0_conf_keyword keywords[] = {
    {"edge", 0, 1, 1, 0},
    {"port", 1, 1, 1, 0},
    {"socket", 2, 2, 3, 1},
    {"timeout", 3, 1, 1, 0},
    {"size", 4, 1, 1, 0},
    {"flag", 5, 1, 1, 0},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct b0_conf *c = NULL;
	struct b0_conf_line l;
	struct b0_errmsg em;
	unsigned seen[6] = {0};
	uint32_t u32;
	uint64_t u64;
	int r, op, b, i;

	if (b0_conf_open_mem("fuzz.conf", (const char *)data, size, &c, &em) !=
	    0)
		return 0;
	while ((r = b0_conf_next(c, &l, &em)) == 1) {
		if (l.argc < 1 || l.argc > B0_CONF_MAX_ARGS)
			abort();
		for (i = 0; i < l.argc; i++) {
			if (strlen(l.argv[i]) > B0_CONF_MAX_LINE)
				abort();
		}
		em.text[0] = '\0';
		op = b0_conf_lookup(keywords, 6, &l, seen, 6, &em);
		if (op < 0) {
			if (strncmp(em.text, "fuzz.conf:", 10) != 0)
				abort();
			continue;
		}
		switch (op) {
		case 1:
			b0_conf_u32(&l, 1, 1, 65535, &u32, &em);
			break;
		case 3:
			b0_conf_duration_ms(&l, 1, 0, UINT64_MAX, &u64, &em);
			break;
		case 4:
			b0_conf_size(&l, 1, 0, UINT64_MAX, &u64, &em);
			break;
		case 5:
			b0_conf_bool(&l, 1, &b, &em);
			break;
		}
	}
	if (r < 0 && strncmp(em.text, "fuzz.conf:", 10) != 0)
		abort();
	b0_conf_free(c);
	return 0;
}
