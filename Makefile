# b0 -- one GNU Makefile for the whole tree.
#
#   make                 build everything into $(BUILD) (default: build/)
#   make check           unit tests, then end-to-end tests (TAP; last line
#                        "N passed, N failed")
#   make sanitize        ASan+UBSan build in build/asan, then its tests
#   make fuzz            libFuzzer targets (clang) in build/fuzz
#   make fuzz-smoke      each fuzz target for FUZZ_SECONDS over its corpus
#   make test-all        what CI runs (scripts/test-all): deps, format-check, lint, gcc, clang,
#                        sanitize, fuzz-smoke
#   make install         DESTDIR=... PREFIX=/usr/local
#   make format-check    clang-format 14 over every .c and .h
#
# The caller's CFLAGS, CPPFLAGS and LDFLAGS are kept (dpkg-buildflags);
# `make WERROR=` drops -Werror for distribution builds.

BUILD      ?= build
CC         ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS     ?= -O2 -g
WERROR     ?= -Werror
FUZZ_SECONDS ?= 20

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
PAMDIR     ?= /lib/$(shell $(CC) -print-multiarch 2>/dev/null || echo .)/security
UNITDIR    ?= /lib/systemd/system

# gcc's -Wformat-truncation is off: messages are cut to their buffers on
# purpose, and where a cut would matter (paths, names) the code checks
# snprintf().  clang has no such warning (and rejects the flag).
NO_TRUNC := $(shell $(CC) -Werror -Wno-format-truncation -x c -c -o /dev/null \
	/dev/null 2>/dev/null && echo -Wno-format-truncation)
WARN := -Wall -Wextra $(WERROR) -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla $(NO_TRUNC)
SSL_CFLAGS  := $(shell $(PKG_CONFIG) --cflags openssl)
SSL_LIBS    := $(shell $(PKG_CONFIG) --libs openssl)
CURL_LIBS   := $(shell $(PKG_CONFIG) --libs libcurl 2>/dev/null || echo -lcurl)
QR_LIBS     := $(shell $(PKG_CONFIG) --libs libqrencode 2>/dev/null || echo -lqrencode)

B0_CPPFLAGS := -D_GNU_SOURCE -Ilib -Ipolicy $(SSL_CFLAGS) $(CPPFLAGS)
B0_CFLAGS   := -std=gnu11 $(WARN) -fPIC -fvisibility=hidden -MMD -MP $(CFLAGS)
B0_LDFLAGS  := $(LDFLAGS)

LIB_SRC    := $(sort $(wildcard lib/*.c))
POLICY_SRC := $(filter-out policy/main.c,$(sort $(wildcard policy/*.c)))
EDGE_SRC   := $(sort $(wildcard b0-edge/*.c))
PUB_SRC    := $(sort $(wildcard b0-publish/*.c))
PROXY_SRC  := $(sort $(wildcard proxycmd/*.c))
PAM_SRC    := $(sort $(wildcard pam_b0/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBB0     := $(BUILD)/libb0.a
LIBPOLICY := $(BUILD)/libb0policy.a

PROGS := $(BUILD)/b0-policy
ifneq ($(EDGE_SRC),)
PROGS += $(BUILD)/b0-edge
endif
ifneq ($(PUB_SRC),)
PROGS += $(BUILD)/b0-publish
endif
ifneq ($(PROXY_SRC),)
PROGS += $(BUILD)/b0-proxy
endif
ifneq ($(PAM_SRC),)
PROGS += $(BUILD)/pam_b0.so
endif
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# The PAM driver (tests/pam/) runs with the unit tests; it loads
# $(BUILD)/pam_b0.so and defines syslog() and time() for the module to
# find, hence -rdynamic.
ifneq ($(PAM_SRC),)
UNIT_BINS += $(BUILD)/tests/test_pam
endif
# Helpers the end-to-end tests and benchmarks run (tests/tools/*.c), one
# program per file.
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,\
	$(sort $(wildcard tests/tools/*.c)))

.PHONY: all check unit e2e sanitize fuzz fuzz-smoke test-all deps demo \
	bench deb install clean format format-check lint
.DELETE_ON_ERROR:

all: $(PROGS) $(UNIT_BINS) $(TOOL_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(B0_CPPFLAGS) $(B0_CFLAGS) -c -o $@ $<

$(LIBB0): $(call obj,$(LIB_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBPOLICY): $(call obj,$(POLICY_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/b0-policy: $(call obj,policy/main.c) $(LIBPOLICY) $(LIBB0)
	$(CC) $(B0_CFLAGS) $(B0_LDFLAGS) -o $@ $^ $(SSL_LIBS)

$(BUILD)/b0-edge: $(call obj,$(EDGE_SRC)) $(LIBPOLICY) $(LIBB0)
	$(CC) $(B0_CFLAGS) $(B0_LDFLAGS) -o $@ $^ $(CURL_LIBS) $(SSL_LIBS) -lcrypt \
	    -lpthread

$(BUILD)/b0-publish: $(call obj,$(PUB_SRC)) $(LIBPOLICY) $(LIBB0)
	$(CC) $(B0_CFLAGS) $(B0_LDFLAGS) -o $@ $^ $(SSL_LIBS) -lcrypt

$(BUILD)/b0-proxy: $(call obj,$(PROXY_SRC)) $(LIBPOLICY) $(LIBB0)
	$(CC) $(B0_CFLAGS) $(B0_LDFLAGS) -o $@ $^ $(CURL_LIBS) $(SSL_LIBS) \
	    $(QR_LIBS)

# The module exports pam_sm_* only (version script) and must resolve every
# symbol at link time (-z defs); it never links libcurl.
$(BUILD)/pam_b0.so: $(call obj,$(PAM_SRC)) $(LIBPOLICY) $(LIBB0) \
    pam_b0/pam_b0.map
	$(CC) $(B0_CFLAGS) $(B0_LDFLAGS) -shared -Wl,-z,defs \
	    -Wl,--version-script=pam_b0/pam_b0.map -o $@ \
	    $(call obj,$(PAM_SRC)) $(LIBPOLICY) $(LIBB0) $(SSL_LIBS) -lpam

$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(LIBPOLICY) $(LIBB0)
	@mkdir -p $(dir $@)
	$(CC) $(B0_CFLAGS) $(B0_LDFLAGS) -o $@ $^ $(SSL_LIBS) -lpam -ldl

$(BUILD)/tools/%: $(call obj,tests/tools/%.c) $(LIBPOLICY) $(LIBB0)
	@mkdir -p $(dir $@)
	$(CC) $(B0_CFLAGS) $(B0_LDFLAGS) -o $@ $^ $(SSL_LIBS) -lm

$(BUILD)/tests/test_pam: $(call obj,tests/pam/test_pam.c) $(LIBPOLICY) \
    $(LIBB0) | $(BUILD)/pam_b0.so
	@mkdir -p $(dir $@)
	$(CC) $(B0_CFLAGS) $(B0_LDFLAGS) -rdynamic -o $@ \
	    $(call obj,tests/pam/test_pam.c) $(LIBPOLICY) $(LIBB0) \
	    $(SSL_LIBS) -lpam -ldl -lpthread

# The unit tests and the PAM driver include tests/unit/tap.h.
$(call obj,$(UNIT_SRC) tests/pam/test_pam.c): B0_CPPFLAGS += -Itests/unit

check: all
	@tests/run-tests $(BUILD)

unit: all
	@tests/run-tests --unit $(BUILD)

e2e: all
	@tests/run-tests --e2e $(BUILD)

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
sanitize:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g $(SAN_FLAGS)" \
	    LDFLAGS="$(SAN_FLAGS)" check

# libFuzzer: the library is rebuilt with coverage instrumentation into
# build/fuzz/obj; each tests/fuzz/fuzz_<name>.c becomes build/fuzz/fuzz_<name>.
FUZZ_BUILD ?= build/fuzz
FUZZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))

# Targets for the parsers of pam_b0 and b0-publish link their objects too.
FUZZ_PAM_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(PAM_SRC))
FUZZ_PUB_OBJ := $(FUZZ_BUILD)/obj/b0-publish/ident.o \
	$(FUZZ_BUILD)/obj/b0-publish/tickets.o

fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang \
	    CFLAGS="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" \
	    $(FUZZ_BUILD)/libb0.a $(FUZZ_BUILD)/libb0policy.a \
	    $(FUZZ_PAM_OBJ) $(FUZZ_PUB_OBJ) fuzz-bins

fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BUILD)/fuzz_pamticket: $(FUZZ_PAM_OBJ)
$(FUZZ_BUILD)/fuzz_pamticket: FUZZ_EXTRA := -Ipam_b0 -lpam
$(FUZZ_BUILD)/fuzz_identreq: $(FUZZ_BUILD)/obj/pam_b0/ticket.o $(FUZZ_PUB_OBJ)
$(FUZZ_BUILD)/fuzz_identreq: FUZZ_EXTRA := -Ipam_b0 -Ib0-publish

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libb0policy.a \
    $(FUZZ_BUILD)/libb0.a
	clang $(B0_CPPFLAGS) -std=gnu11 $(FUZZ_FLAGS) -fsanitize=fuzzer \
	    -o $@ $(filter-out %.a,$^) $(filter %.a,$^) $(SSL_LIBS) \
	    $(FUZZ_EXTRA)

fuzz-smoke: fuzz
	@tests/fuzz/run-smoke $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Everything CI runs, in order (scripts/test-all): deps, format-check,
# lint, unit tests with Debian's build flags, gcc, clang (unit tests),
# sanitize, fuzz-smoke, deb (scripts/check-deb); the last line sums them.
test-all:
	@scripts/test-all

deps:
	@scripts/deps

demo: deps all
	@scripts/demo $(BUILD)

bench: all
	@bench/run $(BUILD)

# Debian packages in build/deb/ (needs debhelper and dpkg-dev).
deb:
	rm -rf build/deb && mkdir -p build/deb/b0
	tar --exclude=./build --exclude=./.git --exclude=node_modules \
	    -cf - . | tar -C build/deb/b0 -xf -
	cp -r packaging/debian build/deb/b0/debian
	cd build/deb/b0 && dpkg-buildpackage -us -uc -b
	@ls -l build/deb/*.deb

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/b0-policy $(DESTDIR)$(BINDIR)/
	$(if $(filter %/b0-proxy,$(PROGS)),install -m 0755 $(BUILD)/b0-proxy $(DESTDIR)$(BINDIR)/)
	$(if $(filter %/b0-edge,$(PROGS)),install -m 0755 $(BUILD)/b0-edge $(DESTDIR)$(SBINDIR)/)
	$(if $(filter %/b0-publish,$(PROGS)),install -m 0755 $(BUILD)/b0-publish $(DESTDIR)$(SBINDIR)/)
	$(if $(filter %/pam_b0.so,$(PROGS)),install -d $(DESTDIR)$(PAMDIR))
	$(if $(filter %/pam_b0.so,$(PROGS)),install -m 0644 $(BUILD)/pam_b0.so $(DESTDIR)$(PAMDIR)/)
	install -d $(DESTDIR)$(MANDIR)/man1
	for m in docs/man/*.1; do [ -e "$$m" ] || continue; \
	    install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man1/; done
	install -d $(DESTDIR)$(MANDIR)/man8
	for m in docs/man/*.8; do [ -e "$$m" ] || continue; \
	    install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man8/; done
	for u in packaging/systemd/*.service; do [ -e "$$u" ] || continue; \
	    install -d $(DESTDIR)$(UNITDIR); \
	    install -m 0644 "$$u" $(DESTDIR)$(UNITDIR)/; done

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || \
	find lib policy b0-edge b0-publish proxycmd pam_b0 tests -name '*.[ch]')

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

# cppcheck reads no system headers; it needs sys/queue.h's list macros.
QUEUE_H := $(firstword $(wildcard /usr/include/sys/queue.h \
	/usr/include/*/sys/queue.h))
lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr -D_GNU_SOURCE -Ilib -Ipolicy --include=$(QUEUE_H) \
	    $(wildcard lib policy b0-edge b0-publish proxycmd pam_b0)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
