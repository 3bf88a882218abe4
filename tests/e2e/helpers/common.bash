# Shared set-up for b0's end-to-end tests (bats).
#
# Each test gets its own temporary directory ($T), binds 127.0.0.1 only,
# starts daemons in setup, kills them by PID in teardown and prints their
# logs when the test failed.  Programs come from $B0_BUILD (set by
# tests/run-tests; default ./build).

bats_load_library bats-support 2>/dev/null ||
	load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null ||
	load /usr/lib/bats/bats-assert/load

B0_TOP=${B0_TOP:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
B0_BUILD=${B0_BUILD:-$B0_TOP/build}
export B0_TOP B0_BUILD
PATH=$B0_BUILD:$PATH

# b0_tmpdir: a fresh directory for this test, in $T.
b0_tmpdir() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/b0-e2e.XXXXXX")
	export T
}

# b0_cleanup_tmpdir: remove $T unless B0_KEEP is set (for debugging).
b0_cleanup_tmpdir() {
	[ -n "${T:-}" ] || return 0
	if [ -n "${B0_KEEP:-}" ]; then
		echo "# kept $T" >&3
	else
		rm -rf "$T"
	fi
}

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; after
# SECONDS (fractions allowed) fail, saying what it waited for.  Use it
# instead of sleeping.
wait_for() {
	local limit=$1 end
	shift
	end=$(($(date +%s%N) / 1000000 + $(awk -v s="$limit" \
	    'BEGIN { printf "%d", s * 1000 }')))
	until "$@"; do
		if [ $(($(date +%s%N) / 1000000)) -ge "$end" ]; then
			echo "timed out after ${limit}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}
