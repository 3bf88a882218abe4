#!/usr/bin/env bats
# The README's first command ends in scripts/demo: it must show a page
# fetched through the edge, exit 0 and leave nothing behind.

load helpers/common

@test "the demo publishes a page, fetches it through the edge, exits 0 and cleans up" {
	run timeout 60 "$B0_TOP/scripts/demo" "$B0_BUILD"
	assert_success
	assert_output --partial "Hello from the lab, through b0."
	assert_output --regexp "web +web-lab1\.edge\.test +[0-9]+ +tcp +anyone"
	assert_output --regexp "lab1 +web +web-lab1\.edge\.test +[0-9]+ +tcp/[0-9]+ +online"
	assert_output --regexp "visitor 127\.0\.0\.1:[0-9]+: sent [0-9]+ received [0-9]+ duration [0-9.]+s: closed"
	dir=$(sed -n 's/^Demo done;.* and \(.*\) removed\.$/\1/p' <<<"$output")
	[ -n "$dir" ]
	[ ! -e "$dir" ]
	# Nothing it started runs on.
	run pgrep -f "$dir"
	assert_failure
}
