#!/usr/bin/env bats
# The pam_b0 driver (tests/pam/test_pam.c, run with the unit tests) once
# more under valgrind, and its benchmark mode.  Under an ASan build
# (make sanitize) valgrind cannot run the binaries; ASan checks them there.

bats_require_minimum_version 1.5.0

driver() {
	echo "$B0_BUILD/tests/test_pam"
}

need_driver() {
	[ -x "$(driver)" ] || skip "no $(driver) (pam_b0 not built)"
	[ "$(id -u)" -eq 0 ] || skip "not root: the driver needs root"
}

is_asan() {
	nm "$(driver)" 2>/dev/null | grep -q __asan_init
}

# Debian 12's valgrind (3.19) cannot read the DWARF 5 debug information
# clang 14 writes ("Possibly corrupted debuginfo file ... Giving up").
is_clang() {
	readelf -p .comment "$(driver)" 2>/dev/null | grep -q 'clang version'
}

@test "the pam_b0 driver is clean under valgrind (memcheck, leaks)" {
	need_driver
	is_asan && skip "ASan build: the driver ran under ASan already"
	is_clang && skip "clang build: valgrind 3.19 cannot read clang's DWARF 5 (the gcc pass runs this)"
	command -v valgrind >/dev/null || skip "no valgrind"
	run -0 timeout -k 5 600 valgrind -q --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --child-silent-after-fork=yes "$(driver)"
	echo "$output" | grep -v '^ok ' >&2 || true
	[[ "$output" == *"1.."* ]]
	! grep -q '^not ok' <<<"$output"
	! grep -q '^==[0-9]*==' <<<"$output"
}

@test "the pam_b0 driver's --bench N times N decisions" {
	need_driver
	run -0 timeout -k 5 120 "$(driver)" --bench 50
	echo "$output" >&2
	[[ "$output" =~ decisions:\ 50,\ failed:\ 0,\ median_us:\ [0-9]+,\ p99_us:\ [0-9]+ ]]
}
