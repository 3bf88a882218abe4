#!/usr/bin/env bats
# The README's first command ends in scripts/demo: it must show a page
# fetched through the edge, exit 0 and leave nothing behind.

load helpers/common

@test "the demo publishes a page, fetches it through the edge, exits 0 and cleans up" {
	run timeout 90 "$B0_TOP/scripts/demo" "$B0_BUILD"
	assert_success
	assert_output --partial "Hello from the lab, through b0."
	# The identity-aware part: a sign-in, then the page through b0-proxy.
	assert_output --regexp "page +page-lab1\.edge\.test +[0-9]+ +tls +alice@example\.com"
	assert_output --partial "signed in to edge.test as alice@example.com"
	assert_output --regexp "socket page-lab1\.edge\.test visitor [^ ]+ \(alice@example\.com\): sent"
	# The http socket: a redirect to the login, then the page for a token.
	assert_output --regexp "app +app-lab1\.edge\.test +[0-9]+ +http +alice@example\.com"
	assert_output --regexp "302 -> https://edge\.test:[0-9]+/authorize\?client_id=b0-http&"
	assert_output --regexp "http app-lab1\.edge\.test 127\.0\.0\.1:[0-9]+ alice@example\.com GET / 200 32 "
	[ "$(grep -c 'Hello from the lab, through b0.' <<<"$output")" -eq 3 ]
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
