#!/usr/bin/env bats
# The whole identity story as a visitor lives it, in the namespaces of the
# tunnel tests (a lab nobody can reach, an edge, a visitor): plain OpenSSH
# with `ProxyCommand b0-proxy --host %h`, a real headless chromium as the
# visitor's browser (tests/tools/node/browser.sh, playwright-core) signing
# in on the edge's own pages with a built-in account, and Debian's sshd in
# the lab behind a tls socket that names who may connect.

load helpers/common
load helpers/tunnel
load helpers/browser

bats_require_minimum_version 1.5.0

setup() {
	browser_have || skip "node, playwright-core or chromium missing (scripts/deps installs them)"
	tun_setup
	sshd_start
	# Tokens live 65 s: b0-proxy refreshes one with under 60 s left.
	edge_conf "access-token-lifetime 65s" "log-level info"
	local u
	for u in alice@example.com bob@example.org; do
		echo "pw of $u" | "$B0_BUILD/b0-edge" -f "$T/edge.conf" \
		    user add "$u" 2>>"$T/token.log"
	done
	edge_start
	token_add lab1
	pub_conf pub "$T/lab1.token" "socket r1 tls/22/alice@example.com"
	pub_start pub
	# The visitor's home: proxy.conf names the edge and its CA.
	VHOME=$T/visitor
	mkdir -p "$VHOME/.config/b0"
	printf 'edge edge.test %s:443\nca %s\n' "$EDGE_VIS_IP" "$T/ca.crt" \
	    >"$VHOME/.config/b0/proxy.conf"
	browser_env "$T/edge.crt"
	export B0_BROWSER_ADDR=$EDGE_VIS_IP
	# Every start of the browser is counted (one line each).
	cat >"$T/browser" <<-EOF
		#!/bin/sh
		echo "\$*" >>"$T/browser.calls"
		exec "$B0_NODE_TOOLS/browser.sh" "\$@"
	EOF
	chmod 755 "$T/browser"
	export BROWSER=$T/browser
}

teardown() {
	browser_stop
	tun_teardown
}

# as_visitor CMD...: run CMD in the visitor's namespace with its home.
as_visitor() {
	in_vis env HOME="$VHOME" XDG_CONFIG_HOME="$VHOME/.config" \
	    XDG_CACHE_HOME="$VHOME/.cache" "$@"
}

# b0ssh CMD...: ssh root@r1-lab1.edge.test CMD through b0-proxy.
b0ssh() {
	_ssh_opts
	as_visitor timeout 120 ssh "${SSH_OPTS[@]}" \
	    -o ProxyCommand="$B0_BUILD/b0-proxy --host %h --port %p" \
	    root@r1-lab1.edge.test "$@"
}

registered_twice() {
	[ "$(grep -c 'registered 1 of 1 socket' "$T/pub.log")" -ge 2 ]
}

browser_calls() {
	if [ -f "$T/browser.calls" ]; then
		wc -l <"$T/browser.calls"
	else
		echo 0
	fi
}

@test "the first ssh opens the browser for a login; the next ones reuse the token" {
	export B0_BROWSER_EMAIL=alice@example.com
	export B0_BROWSER_PASSWORD="pw of alice@example.com"
	run --separate-stderr b0ssh 'echo via-b0 $(id -un)'
	[ "$status" -eq 0 ]
	[ "$output" = "via-b0 root" ]
	[ "$(browser_calls)" -eq 1 ]
	# It went through the edge's sign-in page and came back signed in.
	browser_pages | grep -q 'Sign in'
	browser_pages | grep -q 'Signed in to edge.test'
	ls "$T/shots" | grep -q .
	# Later connections ask nobody.
	unset B0_BROWSER_EMAIL B0_BROWSER_PASSWORD
	run --separate-stderr b0ssh true
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(browser_calls)" -eq 1 ]
	log_has edge 'r1-lab1\.edge\.test visitor .*\(alice@example\.com\)'
}

@test "a person the socket does not name gets one 403 line, and the lab sees nothing" {
	export B0_BROWSER_EMAIL=bob@example.org
	export B0_BROWSER_PASSWORD="pw of bob@example.org"
	local seen
	seen=$(grep -c 'Connection from' "$T/sshd.log")
	run --separate-stderr b0ssh true
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	[[ "$stderr" == *"b0-proxy: access denied: bob@example.org is not allowed on r1-lab1.edge.test"* ]]
	# Nothing reached the publisher, so nothing reached sshd.
	! log_has pub 'r1.*(stream|ticket|connect)'
	[ "$(grep -c 'Connection from' "$T/sshd.log")" -eq "$seen" ]
}

@test "ten ssh sessions started at once cause one browser login" {
	export B0_BROWSER_EMAIL=alice@example.com
	export B0_BROWSER_PASSWORD="pw of alice@example.com"
	local i pids=() bad=0
	for i in $(seq 1 10); do
		b0ssh 'id -un' >"$T/ssh.$i.out" 2>"$T/ssh.$i.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || bad=1
	done
	[ "$bad" -eq 0 ]
	for i in $(seq 1 10); do
		[ "$(cat "$T/ssh.$i.out")" = root ]
	done
	[ "$(browser_calls)" -eq 1 ]
}

@test "an access token near its end is refreshed without a browser" {
	export B0_BROWSER_EMAIL=alice@example.com
	export B0_BROWSER_PASSWORD="pw of alice@example.com"
	run --separate-stderr b0ssh true
	[ "$status" -eq 0 ]
	[ "$(browser_calls)" -eq 1 ]
	local before
	before=$(log_count edge 'token: grant .* refreshed for alice@example.com' || true)
	# 65 s tokens: after 6 s under a minute is left.
	sleep 6
	run --separate-stderr b0ssh 'id -un'
	[ "$status" -eq 0 ]
	[ "$output" = root ]
	[ "$(browser_calls)" -eq 1 ]
	[ "$(log_count edge 'token: grant .* refreshed for alice@example.com')" -gt "${before:-0}" ]
}

@test "the device flow completes with the code the browser types" {
	as_visitor timeout 90 "$B0_BUILD/b0-proxy" login --device \
	    >"$T/login.out" 2>"$T/login.err" &
	local pid=$! url code
	wait_for 20 grep -q 'enter the code' "$T/login.err"
	code=$(sed -n 's/.* enter the code \([A-Z]*-[A-Z]*\) .*/\1/p' "$T/login.err" | head -1)
	url=$(grep -o 'https://edge\.test[^ ]*/device' "$T/login.err" | head -1)
	[ -n "$code" ] && [ -n "$url" ]
	export B0_BROWSER_EMAIL=alice@example.com
	export B0_BROWSER_PASSWORD="pw of alice@example.com"
	export B0_BROWSER_DEVICE_CODE=$code
	in_vis timeout 90 "$B0_NODE_TOOLS/browser.sh" "$url" </dev/null
	wait "$pid"
	grep -q 'signed in to edge.test as alice@example.com' "$T/login.err"
	[ ! -s "$T/login.out" ]
	# The device code and tokens are in no log.
	! grep -l -F "$code" "$T"/edge.log "$T"/pub.log
	run --separate-stderr b0ssh 'id -un'
	[ "$status" -eq 0 ]
	[ "$output" = root ]
	[ "$(browser_calls)" -eq 0 ]
}

@test "the edge restarts: its keys, accounts and grants come back, nobody signs in again" {
	export B0_BROWSER_EMAIL=alice@example.com
	export B0_BROWSER_PASSWORD="pw of alice@example.com"
	run --separate-stderr b0ssh true
	[ "$status" -eq 0 ]
	[ "$(browser_calls)" -eq 1 ]
	# Started as root, the edge runs as nobody: its state is nobody's.
	[ "$(stat -c %U "$T/edge-state/grants")" = nobody ]
	tun_stop edge
	edge_start
	# The publisher comes back by itself and registers again.
	wait_for 20 registered_twice
	# 65 s tokens: after 6 s under a minute is left, so this refreshes
	# with the grant the edge kept.
	sleep 6
	run --separate-stderr b0ssh 'id -un'
	[ "$status" -eq 0 ]
	[ "$output" = root ]
	[ "$(browser_calls)" -eq 1 ]
	log_has edge 'token: grant .* refreshed for alice@example.com'
}
