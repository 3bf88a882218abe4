#!/usr/bin/env bats
# b0-proxy, the visitor's client.
#
# The first group runs against helpers/proxy_fake_edge.py, a STAND-IN for
# b0-edge (discovery, token endpoint, device flow, CONNECT with an allow
# list, relaying to a local target), so that the client's own behaviour
# (cache, locking, login flows, relay, messages) is tested on its own.
# The "real edge" group at the end runs b0-edge itself.

load helpers/common
load helpers/browser
bats_require_minimum_version 1.5.0

FAKE=$BATS_TEST_DIRNAME/helpers/proxy_fake_edge.py

setup() {
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	b0_pki "$T"
	export HOME=$T XDG_CONFIG_HOME=$T/config XDG_CACHE_HOME=$T/cache
	unset DISPLAY WAYLAND_DISPLAY BROWSER B0_PROXY_DEBUG
	mkdir -p "$T/config/b0"
	if [[ "$BATS_TEST_DESCRIPTION" == "edge: "* ]]; then
		edge_setup
	fi
}

teardown() {
	local p
	browser_stop
	for p in "$T"/*.pid; do
		[ -f "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null || true
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for p in "$T"/*.log; do
			[ -f "$p" ] && { echo "--- $p"; cat "$p"; }
		done
	fi 2>/dev/null
	b0_cleanup_tmpdir
}

# pid_port PIDFILE: the TCP port the process listens on.
pid_port() {
	ss -Hltnp 2>/dev/null |
	    awk -v pid="$(cat "$1")" \
		'$0 ~ "pid="pid"," { n = split($4, a, ":"); print a[n]; exit }' |
	    grep .
}

# echo_start: a TCP echo server (half-close aware) in $TPORT.
echo_start() {
	socat TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork EXEC:cat \
	    >/dev/null 2>&1 &
	echo $! >"$T/echo.pid"
	wait_for 5 pid_port "$T/echo.pid"
	TPORT=$(pid_port "$T/echo.pid")
}

# fake_start [ARGS...]: the stand-in edge on a free port in $EPORT, and
# proxy.conf pointing at it.
fake_start() {
	rm -f "$T/fake.port"
	python3 "$FAKE" --cert "$T/edge.crt" --key "$T/edge.key" \
	    --port-file "$T/fake.port" --log "$T/fake.log" \
	    --target "127.0.0.1:${TPORT:-9}" "$@" 2>>"$T/fake.err.log" &
	echo $! >"$T/fake.pid"
	wait_for 10 test -s "$T/fake.port"
	EPORT=$(cat "$T/fake.port")
	printf 'edge edge.test 127.0.0.1:%s\nca %s\n' "$EPORT" "$T/ca.crt" \
	    >"$T/config/b0/proxy.conf"
}

grants() {
	grep -c "^GRANT $1 ok" "$T/fake.log" || true
}

# set_cache KEY VALUE: rewrite one field of the cached tokens (stays 0600).
set_cache() {
	python3 - "$T/cache/b0/edge.test.json" "$1" "$2" <<-'EOF'
		import json, os, sys
		p, k, v = sys.argv[1:]
		d = json.load(open(p))
		d[k] = int(v) if k == "expires_at" else v
		fd = os.open(p + ".new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
		os.write(fd, json.dumps(d).encode())
		os.close(fd)
		os.rename(p + ".new", p)
	EOF
}

login_device() {
	timeout 30 b0-proxy login --device >"$T/login.out" 2>"$T/login.err"
}

@test "usage errors are one line on stderr, nothing on stdout" {
	run --separate-stderr b0-proxy
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "$stderr" = "b0-proxy: --host NAME is missing (see b0-proxy --help)" ]
	run --separate-stderr b0-proxy frobnicate
	[ "$status" -eq 2 ]
	[[ "$stderr" == "b0-proxy: unknown command \"frobnicate\""* ]]
	run --separate-stderr b0-proxy --host x.edge.test --port 0
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"--port: \"0\" is not a port"* ]]
	run --separate-stderr b0-proxy --connect 127.0.0.1:1 token
	[[ "$stderr" == *"--connect needs --edge"* ]]
	run --separate-stderr b0-proxy --host 'bad name' --edge edge.test
	[[ "$stderr" == *"is not a DNS name"* ]]
	[ -z "$output" ]
}

@test "proxy.conf: errors name file:line; names find the longest edge" {
	printf 'edge edge.test\nfrob x\n' >"$T/config/b0/proxy.conf"
	run --separate-stderr b0-proxy --host a.edge.test
	[ "$status" -eq 78 ]
	[[ "$stderr" == "b0-proxy: $T/config/b0/proxy.conf:2: "*frob* ]]
	printf 'edge edge.test 127.0.0.1:notaport\n' >"$T/config/b0/proxy.conf"
	run --separate-stderr b0-proxy status
	[[ "$stderr" == *"proxy.conf:1: edge edge.test: \"127.0.0.1:notaport\" is not ADDRESS:PORT"* ]]
	printf 'edge test\nedge edge.test\n' >"$T/config/b0/proxy.conf"
	run --separate-stderr b0-proxy --host nowhere.example
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"nowhere.example is under no edge configured"* ]]
	# ssh-config prints a Host block per edge.
	run --separate-stderr b0-proxy ssh-config
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Host *.test" ]
	[ "${lines[1]}" = "	ProxyCommand b0-proxy --host %h --port %p" ]
	[ "${lines[2]}" = "Host *.edge.test" ]
	# Two edges: commands about one edge want --edge.
	run --separate-stderr b0-proxy token
	[[ "$stderr" == *"2 edges are configured"*"--edge DOMAIN"* ]]
	# "xedge.test" is not under "edge.test" (label boundary): "test" wins,
	# and its edge (test:443) is not there, so the error names it.
	run --separate-stderr timeout 20 b0-proxy --host r1.xedge.test --ca "$T/ca.crt"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"https://test/.well-known/openid-configuration"* ]]
}

@test "device flow: URL and code on stderr, then token, status --json" {
	fake_start
	login_device
	grep -q '^b0-proxy: to sign in to edge.test, open https://edge.test:[0-9]*/device and enter the code BCDF-GHJK' "$T/login.err"
	grep -q '^b0-proxy: signed in to edge.test as alice@example.org$' "$T/login.err"
	[ ! -s "$T/login.out" ]
	# Every line on stderr is ours.
	! grep -v '^b0-proxy: ' "$T/login.err"
	[ "$(stat -c %a "$T/cache/b0")" = 700 ]
	[ "$(stat -c %a "$T/cache/b0/edge.test.json")" = 600 ]
	run --separate-stderr b0-proxy token
	[ "$status" -eq 0 ]
	[[ "$output" == ey*.ey*.* ]]
	[ "$(grants device_code)" -eq 1 ]
	run --separate-stderr b0-proxy status --json
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c 'import json, sys, time
e = json.load(sys.stdin)["edges"][0]
assert e["edge"] == "edge.test" and e["signed_in"] and e["refresh_token"], e
assert e["email"] == "alice@example.org", e
assert e["access_token_valid"] and e["access_token_expires_at"] > time.time() + 500, e'
	run --separate-stderr b0-proxy status
	[[ "$output" == "edge.test: alice@example.org; access token valid until "*"; refresh token present" ]]
	run --separate-stderr b0-proxy logout
	[ "$status" -eq 0 ]
	[ ! -e "$T/cache/b0/edge.test.json" ]
	run --separate-stderr b0-proxy status
	[ "$output" = "edge.test: not signed in" ]
}

@test "device flow on a terminal: a QR code of the URL under it; none in a pipe" {
	fake_start
	# script(1) gives b0-proxy a terminal for stdout and stderr.
	timeout 30 script -qec "b0-proxy login --device" "$T/tty.log" \
	    >/dev/null 2>&1 </dev/null
	grep -q 'enter the code BCDF-GHJK' "$T/tty.log"
	grep -q 'signed in to edge.test as alice@example.org' "$T/tty.log"
	# A square of half blocks: every row as wide, (rows * 2) ~ width.
	python3 - "$T/tty.log" <<-'EOF'
		import sys
		rows = [l.rstrip("\r\n") for l in open(sys.argv[1], encoding="utf-8")
		        if "\u2588" in l or "\u2580" in l or "\u2584" in l]
		assert len(rows) >= 12, rows
		widths = {len(r) for r in rows}
		assert len(widths) == 1, widths
		w = widths.pop()
		assert abs(2 * len(rows) - w) <= 1, (len(rows), w)
	EOF
	# Not a terminal: no code, only lines of ours.
	rm -rf "$T/cache"
	login_device
	! grep -v '^b0-proxy: ' "$T/login.err"
}

@test "device flow honours slow_down" {
	fake_start --slow-down
	login_device
	grep -q '^DEVICE slow_down' "$T/fake.log"
	[ "$(grants device_code)" -eq 1 ]
	# Polls: pending, slow_down, then one interval (1 s) + 5 s later.
	awk '/^POLL / { t[n++] = $2 } END {
	    if (n != 3) exit 1
	    if (t[1] - t[0] < 0.9 || t[2] - t[1] < 5.9) exit 1 }' "$T/fake.log"
}

@test "browser flow: PKCE on loopback, a wrong state is ignored, the page says Signed in" {
	fake_start
	cat >"$T/browser.sh" <<-EOF
		#!/bin/bash
		# A stand-in browser: follow /authorize, try a wrong state first,
		# and keep an idle connection open as browsers do (preconnect).
		echo "\$@" >"$T/browser.args"
		port=\$(echo "\$1" | sed -n 's/.*redirect_uri=http%3A%2F%2F127.0.0.1%3A\([0-9]*\).*/\1/p')
		exec 3<>/dev/tcp/127.0.0.1/\$port
		loc=\$(curl -s --cacert "$T/ca.crt" \
		    --connect-to "edge.test:$EPORT:127.0.0.1:$EPORT" \
		    -o /dev/null -w '%{redirect_url}' "\$1")
		bad=\$(echo "\$loc" | sed 's/state=[^&]*/state=wrong/')
		curl -s -o "$T/bad.html" -w '%{http_code}' "\$bad" >"$T/bad.status"
		curl -s -o "$T/page.html" -w '%{http_code}' "\$loc" >"$T/page.status"
		echo "browser noise on stdout"
	EOF
	chmod +x "$T/browser.sh"
	local start=$SECONDS
	BROWSER=$T/browser.sh run --separate-stderr timeout 30 b0-proxy token
	[ "$status" -eq 0 ]
	# The idle connection did not hold up the callback.
	[ $((SECONDS - start)) -lt 5 ]
	# stdout holds the token only: the browser's output went to /dev/null.
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == ey* ]]
	[ "$(cat "$T/bad.status")" = 400 ]
	grep -q '<h1>Wrong state</h1>' "$T/bad.html"
	[ "$(cat "$T/page.status")" = 200 ]
	grep -q '<h1>Signed in to edge.test</h1>' "$T/page.html"
	[[ "$stderr" == *"ignored a sign-in callback with a wrong state"* ]]
	grep -q 'code_challenge_method=S256' "$T/browser.args"
	grep -q 'redirect_uri=http%3A%2F%2F127.0.0.1%3A[0-9]*%2Fcallback' "$T/browser.args"
	[ "$(grants authorization_code)" -eq 1 ]
}

@test "cache: looser permissions, foreign owners and symlinks are refused" {
	fake_start
	login_device
	chmod 755 "$T/cache/b0"
	run --separate-stderr b0-proxy token
	[ "$status" -ne 0 ]
	[[ "$stderr" == "b0-proxy: $T/cache/b0: permissions 0755 are too open"* ]]
	[ -z "$output" ]
	chmod 700 "$T/cache/b0"
	chmod 644 "$T/cache/b0/edge.test.json"
	run --separate-stderr b0-proxy token
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"edge.test.json: permissions 0644 are too open"* ]]
	chmod 600 "$T/cache/b0/edge.test.json"
	chown nobody "$T/cache/b0/edge.test.json"
	run --separate-stderr b0-proxy token
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"edge.test.json: owned by uid"*"refusing"* ]]
	chown 0 "$T/cache/b0/edge.test.json"
	mv "$T/cache/b0/edge.test.json" "$T/elsewhere.json"
	ln -s "$T/elsewhere.json" "$T/cache/b0/edge.test.json"
	run --separate-stderr b0-proxy token
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"edge.test.json: Too many levels of symbolic links"* ]]
	[ "$(grants device_code)" -eq 1 ]
}

@test "ten parallel runs: one login, then one refresh" {
	fake_start --slow-token 0.5
	local i
	local pids=()
	for i in $(seq 1 10); do
		timeout 60 b0-proxy token --device >"$T/tok.$i" 2>"$T/tok.$i.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
	[ "$(grants device_code)" -eq 1 ]
	[ "$(grep -c DEVICE.started "$T/fake.log")" -eq 1 ]
	for i in $(seq 1 10); do
		cmp "$T/tok.1" "$T/tok.$i"
	done
	# Under a minute left: refreshed silently, once for all ten.
	set_cache expires_at $(($(date +%s) + 30))
	pids=()
	for i in $(seq 1 10); do
		timeout 60 b0-proxy token >"$T/tok.$i" 2>"$T/tok.$i.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
	[ "$(grants refresh_token)" -eq 1 ]
	for i in $(seq 1 10); do
		cmp "$T/tok.1" "$T/tok.$i"
		[ ! -s "$T/tok.$i.err" ]
	done
	[ "$(grants device_code)" -eq 1 ]
}

@test "a refused refresh token means a new login" {
	fake_start
	login_device
	set_cache expires_at 1
	set_cache refresh_token b0rt.00000000000000000000000000000000.bogus
	run --separate-stderr timeout 30 b0-proxy token --device
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"edge.test refused the refresh token (invalid_grant"* ]]
	[ "$(grep -c '^GRANT refresh_token invalid' "$T/fake.log")" -eq 1 ]
	[ "$(grants device_code)" -eq 2 ]
}

@test "relay: bytes both ways, stdin EOF is a close_notify, then exit" {
	echo_start
	fake_start
	login_device
	head -c 3000000 /dev/urandom >"$T/blob"
	timeout 30 b0-proxy --host r1-lab1.edge.test --port 22 <"$T/blob" \
	    >"$T/back" 2>"$T/relay.err"
	cmp "$T/blob" "$T/back"
	[ ! -s "$T/relay.err" ]
	grep -q '^CONNECT 200 r1-lab1.edge.test alice@example.org sni=r1-lab1.edge.test$' "$T/fake.log"
	grep -q '^RELAY client close_notify' "$T/fake.log"
}

@test "ssh through b0-proxy to a real sshd" {
	ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$T/id"
	cp "$T/id.pub" "$T/authorized_keys"
	local sport=$((24600 + RANDOM % 300))
	cat >"$T/sshd_config" <<-EOF
		Port $sport
		ListenAddress 127.0.0.1
		HostKey $T/hostkey
		PidFile $T/sshd.pidfile
		AuthorizedKeysFile $T/authorized_keys
		UsePAM no
		PermitRootLogin prohibit-password
		StrictModes no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
	EOF
	[ -d /run/sshd ] || install -d -m 0755 /run/sshd
	/usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" &
	echo $! >"$T/sshd.pid"
	wait_for 10 pid_port "$T/sshd.pid"
	TPORT=$sport
	fake_start
	login_device
	run --separate-stderr timeout 30 ssh -F /dev/null -i "$T/id" \
	    -o IdentitiesOnly=yes -o UserKnownHostsFile="$T/known_hosts" \
	    -o StrictHostKeyChecking=accept-new -o BatchMode=yes \
	    -o ProxyCommand="b0-proxy --host %h --port %p" \
	    root@r1-lab1.edge.test 'echo hello from $(hostname)'
	[ "$status" -eq 0 ]
	[ "$output" = "hello from $(hostname)" ]
	grep -q '^CONNECT 200 r1-lab1.edge.test' "$T/fake.log"
}

@test "403: one line naming who and where, nothing on stdout" {
	echo_start
	fake_start --allow someone@example.org
	login_device
	run --separate-stderr timeout 20 b0-proxy --host r1-lab1.edge.test </dev/null
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	[ "$stderr" = "b0-proxy: access denied: alice@example.org is not allowed on r1-lab1.edge.test" ]
	run --separate-stderr timeout 20 b0-proxy --host gone.edge.test </dev/null
	[ "$status" -ne 0 ]
	[ "$stderr" = "b0-proxy: gone.edge.test is unavailable: the publisher is not connected" ]
}

@test "401 on CONNECT: refresh once and retry" {
	echo_start
	fake_start
	login_device
	set_cache access_token eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImFAYiJ9.eA
	run --separate-stderr bash -c 'echo ping | timeout 20 b0-proxy --host r1-lab1.edge.test'
	[ "$status" -eq 0 ]
	[ "$output" = ping ]
	[ "$(grep -c '^CONNECT 401' "$T/fake.log")" -eq 1 ]
	[ "$(grants refresh_token)" -eq 1 ]
}

@test "--listen: one edge stream per local client" {
	echo_start
	fake_start
	login_device
	b0-proxy --host r1-lab1.edge.test --port 5432 --listen 127.0.0.1:0 \
	    2>"$T/listen.log" &
	echo $! >"$T/listen.pid"
	wait_for 10 grep -q 'listening on' "$T/listen.log"
	local lport
	lport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) for r1-lab1.edge.test:5432$/\1/p' "$T/listen.log")
	[ -n "$lport" ]
	run bash -c "echo one | timeout 10 socat - TCP:127.0.0.1:$lport"
	[ "$output" = one ]
	run bash -c "echo two | timeout 10 socat - TCP:127.0.0.1:$lport"
	[ "$output" = two ]
	[ "$(grep -c '^CONNECT 200 r1-lab1.edge.test' "$T/fake.log")" -eq 2 ]
}

@test "when ssh goes away (stdin EOF, stdout broken) b0-proxy exits" {
	echo_start
	fake_start
	login_device
	# The reader of stdout is gone at once, stdin ends after a second.
	run bash -c '(sleep 1; echo x) |
	    timeout 20 b0-proxy --host r1-lab1.edge.test 2>"$T/gone.err" | true
	    echo "${PIPESTATUS[1]}"'
	echo "b0-proxy: $output; $(cat "$T/gone.err")"
	# Not killed by timeout(1), and quiet about it.
	[ "$output" = 0 ]
	[ ! -s "$T/gone.err" ]
}

@test "ssh gone during a browser sign-in: b0-proxy ends the browser and exits" {
	fake_start
	cat >"$T/browser.sh" <<-EOF
		#!/bin/sh
		echo \$\$ >"$T/browser.pid"
		exec sleep 1000
	EOF
	chmod +x "$T/browser.sh"
	local start=$SECONDS
	# ssh's end of the stdout pipe closes at once; stdin stays open.
	BROWSER=$T/browser.sh run bash -c \
	    'exec 3< <(exec sleep 30 >/dev/null 2>&1)
	    echo $! >"$T/stdin.pid"
	    timeout 30 b0-proxy --host r1.edge.test <&3 2>"$T/gone.err" | true
	    echo "${PIPESTATUS[0]}"'
	echo "status $output after $((SECONDS - start)) s: $(cat "$T/gone.err")"
	[ "$output" = 1 ]
	[ $((SECONDS - start)) -lt 10 ]
	grep -q '^b0-proxy: the ssh client went away$' "$T/gone.err"
	wait_for 5 bash -c "! kill -0 $(cat "$T/browser.pid") 2>/dev/null"
	rm -f "$T/browser.pid"
}

@test "debug lines carry no tokens" {
	fake_start
	login_device
	B0_PROXY_DEBUG=1 run --separate-stderr b0-proxy token
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"cached access token"* ]]
	[[ "$stderr" != *eyJ* ]]
	! grep -q eyJ "$T/login.err"
}

@test "an edge at an IPv6 address: --edge and --connect [::1]:PORT" {
	echo_start
	fake_start --bind ::1
	rm "$T/config/b0/proxy.conf"
	run --separate-stderr bash -c "echo v6 | timeout 30 b0-proxy --edge edge.test \
	    --connect '[::1]:$EPORT' --ca '$T/ca.crt' --device --host r1.edge.test"
	[ "$status" -eq 0 ]
	[ "$output" = v6 ]
	grep -q '^CONNECT 200 r1.edge.test alice@example.org sni=r1.edge.test$' "$T/fake.log"
	run --separate-stderr b0-proxy --edge edge.test --connect "[::1]:$EPORT" \
	    --ca "$T/ca.crt" ssh-config
	[ "${lines[1]}" = "	ProxyCommand b0-proxy --edge edge.test --connect [::1]:$EPORT --ca $T/ca.crt --host %h --port %p" ]
}

@test "the edge's certificate is verified against the socket name" {
	echo_start
	fake_start
	login_device
	# The stand-in's certificate covers *.edge.test only.
	printf 'edge other.example 127.0.0.1:%s\nca %s\nedge edge.test 127.0.0.1:%s\n' \
	    "$EPORT" "$T/ca.crt" "$EPORT" >"$T/config/b0/proxy.conf"
	cp "$T/cache/b0/edge.test.json" "$T/cache/b0/other.example.json"
	run --separate-stderr timeout 20 b0-proxy --host r1.other.example </dev/null
	[ "$status" -ne 0 ]
	[[ "$stderr" == "b0-proxy: TLS to the edge other.example for r1.other.example: "*"certificate"* ]]
	# And without the test CA, the system's CAs do not know it.
	printf 'edge edge.test 127.0.0.1:%s\n' "$EPORT" >"$T/config/b0/proxy.conf"
	run --separate-stderr timeout 20 b0-proxy --host r1.edge.test </dev/null
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"certificate verify failed"* ]]
}

# ---------------------------------------------------------------------
# The real b0-edge (front door, IdP, built-in users, tls sockets) and
# b0-publish on loopback, with Debian's sshd as the target.

sshd_up() {
	ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$T/id"
	cp "$T/id.pub" "$T/authorized_keys"
	SPORT=$((24600 + RANDOM % 300))
	cat >"$T/sshd_config" <<-EOF
		Port $SPORT
		ListenAddress 127.0.0.1
		HostKey $T/hostkey
		PidFile $T/sshd.pidfile
		AuthorizedKeysFile $T/authorized_keys
		UsePAM no
		PermitRootLogin prohibit-password
		StrictModes no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
	EOF
	[ -d /run/sshd ] || install -d -m 0755 /run/sshd
	/usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" &
	echo $! >"$T/sshd.pid"
	wait_for 10 pid_port "$T/sshd.pid"
}

edge_setup() {
	sshd_up
	b0_edge_conf "$T" 127.0.0.1:0 24310-24319 "tcp-listen 127.0.0.1" \
	    "heartbeat 1s" "log-level info" "access-token-lifetime 65s"
	local u
	for u in alice@example.com bob@example.org; do
		echo "pw of $u" | b0-edge -f "$T/edge.conf" user add "$u" \
		    2>>"$T/useradd.log"
	done
	b0_start "$T" edge b0-edge -f "$T/edge.conf"
	EPORT=$(b0_ready_port "$T" edge)
	ISS=https://edge.test:$EPORT
	b0_token "$T" lab1
	# sha256sum answers only once its input ended: half-close both ways.
	socat TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork EXEC:sha256sum \
	    >/dev/null 2>&1 &
	echo $! >"$T/sha.pid"
	wait_for 5 pid_port "$T/sha.pid"
	b0_pub_conf "$T" "127.0.0.1:$EPORT" \
	    "socket r1 tls/22/alice@example.com 127.0.0.1:$SPORT" \
	    "socket sha tls/7000/example.com 127.0.0.1:$(pid_port "$T/sha.pid")"
	b0_start "$T" pub b0-publish -f "$T/publish.conf"
	printf 'edge edge.test 127.0.0.1:%s\nca %s\n' "$EPORT" "$T/ca.crt" \
	    >"$T/config/b0/proxy.conf"
}

# web JAR ARGS...: curl as a person's browser, to the edge as edge.test.
web() {
	local jar=$1
	shift
	curl -sS --max-time 10 --cacert "$T/ca.crt" \
	    --resolve "edge.test:$EPORT:127.0.0.1" -b "$jar" -c "$jar" "$@"
}

csrf() {
	grep -o 'name="csrf" value="[^"]*"' "$1" | head -1 |
	    sed 's/.*value="//; s/"$//'
}

# approve ERRFILE EMAIL: as the person, type the code b0-proxy printed in
# ERRFILE into the edge's /device page, sign in as EMAIL and approve.
approve() {
	local err=$1 email=$2 jar=$T/$2.jar d=$T/$2 uc loc
	wait_for 20 grep -q 'enter the code' "$err" || return 1
	uc=$(sed -n 's/.* enter the code \([A-Z-]*\) .*/\1/p' "$err" | head -1)
	[ -n "$uc" ] || return 1
	web "$jar" -o "$d.dev.html" "$ISS/device"
	web "$jar" -o /dev/null -D "$d.h" --data-urlencode "user_code=$uc" \
	    --data-urlencode "csrf=$(csrf "$d.dev.html")" "$ISS/device"
	loc=$(tr -d '\r' <"$d.h" | sed -n 's/^[Ll]ocation: //p')
	[[ "$loc" == /login\?req=* ]] || { echo "not sent to login: $loc"; return 1; }
	web "$jar" -o "$d.login.html" "$ISS$loc"
	web "$jar" -o "$d.confirm.html" --data-urlencode "email=$email" \
	    --data-urlencode "password=pw of $email" \
	    --data-urlencode "csrf=$(csrf "$d.login.html")" \
	    --data-urlencode "req=${loc#/login?req=}" "$ISS/login"
	grep -q 'value="approve"' "$d.confirm.html" || return 1
	web "$jar" -o "$d.done.html" --data-urlencode "user_code=$uc" \
	    -d action=approve --data-urlencode "csrf=$(csrf "$d.confirm.html")" \
	    "$ISS/device"
	grep -q '<h1>Signed in</h1>' "$d.done.html"
}

# edge_login EMAIL: b0-proxy login --device, approved by EMAIL.
edge_login() {
	timeout 60 b0-proxy login --device >"$T/login.out" 2>"$T/login.err" &
	local pid=$!
	echo "$pid" >"$T/login.pid"
	approve "$T/login.err" "$1"
	wait "$pid"
}

vis_ssh() {
	timeout 60 ssh -F /dev/null -i "$T/id" -o IdentitiesOnly=yes \
	    -o UserKnownHostsFile="$T/known_hosts" \
	    -o StrictHostKeyChecking=accept-new -o BatchMode=yes \
	    -o LogLevel=ERROR -o ProxyCommand="b0-proxy --host %h --port %p" "$@"
}

@test "edge: device flow driven on /device, then token and status --json" {
	edge_login alice@example.com
	grep -q "^b0-proxy: signed in to edge.test as alice@example.com$" "$T/login.err"
	[ ! -s "$T/login.out" ]
	run --separate-stderr b0-proxy token
	[ "$status" -eq 0 ]
	# The edge accepts it at /userinfo.
	web "$T/x.jar" -H "Authorization: Bearer $output" "$ISS/userinfo" >"$T/ui"
	[ "$(jq -r .email "$T/ui")" = alice@example.com ]
	run --separate-stderr b0-proxy status --json
	jq -e '.edges[0] | .edge == "edge.test" and .email == "alice@example.com"
	    and .access_token_valid and .refresh_token' <<<"$output"
	# Neither the token nor the device code is in any log.
	! grep -l 'eyJ' "$T"/*.log "$T/login.err"
	# logout hands the refresh token back: the grant ends at the edge.
	local rt
	rt=$(jq -r .refresh_token "$T/cache/b0/edge.test.json")
	run --separate-stderr b0-proxy logout
	[ "$status" -eq 0 ]
	[ "$stderr" = "b0-proxy: signed out of edge.test (the edge ended the grant)" ]
	[ ! -e "$T/cache/b0/edge.test.json" ]
	grep -q 'revoke: grant [0-9a-f]* ended by its client' "$T/edge.log"
	web "$T/x.jar" -d grant_type=refresh_token -d client_id=b0-proxy \
	    --data-urlencode "refresh_token=$rt" "$ISS/token" >"$T/rt.json" || true
	[ "$(jq -r .error "$T/rt.json")" = invalid_grant ]
}

@test "edge: ssh through a tls socket to a real sshd" {
	edge_login alice@example.com
	run --separate-stderr vis_ssh root@r1-lab1.edge.test 'echo via-b0 $(id -un)'
	[ "$status" -eq 0 ]
	[ "$output" = "via-b0 root" ]
	[ -z "$stderr" ]
	# ssh ends its ProxyCommand with SIGHUP: b0-proxy still says goodbye.
	wait_for 10 grep -q 'socket r1-lab1\.edge\.test visitor .*(alice@example\.com): sent [0-9]* received [0-9]* duration [0-9.]*s: closed$' "$T/edge.log"
}

@test "edge: 403 for a person not on the allow list, one line" {
	edge_login bob@example.org
	run --separate-stderr timeout 20 b0-proxy --host r1-lab1.edge.test </dev/null
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	[ "$stderr" = "b0-proxy: access denied: bob@example.org is not allowed on r1-lab1.edge.test" ]
}

@test "edge: ten parallel runs cause one login, then one refresh" {
	local i pids=()
	for i in $(seq 1 10); do
		timeout 90 b0-proxy token --device >"$T/tok.$i" 2>"$T/tok.$i.err" &
		pids+=($!)
		echo $! >"$T/tok.$i.pid"
	done
	# Whoever holds the lock prints the code; the others wait.
	wait_for 20 grep -lq 'enter the code' "$T"/tok.*.err
	approve "$(grep -l 'enter the code' "$T"/tok.*.err | head -1)" alice@example.com
	wait "${pids[@]}"
	[ "$(grep -l 'enter the code' "$T"/tok.*.err | wc -l)" -eq 1 ]
	[ "$(grep -c 'device_authorization: code issued' "$T/edge.log")" -eq 1 ]
	[ "$(grep -c 'token: grant .* for alice@example.com' "$T/edge.log")" -eq 1 ]
	for i in $(seq 1 10); do
		cmp "$T/tok.1" "$T/tok.$i"
	done
	# The edge's tokens live 65 s: after 6 s less than a minute is left.
	sleep 6
	pids=()
	for i in $(seq 1 10); do
		timeout 60 b0-proxy token >"$T/tok.$i" 2>"$T/tok.$i.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
	[ "$(grep -c 'token: grant .* refreshed for alice@example.com' "$T/edge.log")" -eq 1 ]
	for i in $(seq 1 10); do
		cmp "$T/tok.1" "$T/tok.$i"
		[ ! -s "$T/tok.$i.err" ]
	done
}

@test "edge: an access token near its end is refreshed silently for ssh" {
	edge_login alice@example.com
	sleep 6
	run --separate-stderr vis_ssh root@r1-lab1.edge.test 'echo again'
	[ "$status" -eq 0 ]
	[ "$output" = again ]
	[ -z "$stderr" ]
	[ "$(grep -c 'token: grant .* refreshed for alice@example.com' "$T/edge.log")" -eq 1 ]
	# The rotated refresh token was stored: the next refresh works too.
	sleep 6
	run --separate-stderr b0-proxy token
	[ "$status" -eq 0 ]
	[ "$(grep -c 'token: grant .* refreshed for alice@example.com' "$T/edge.log")" -eq 2 ]
}

@test "edge: half-close both ways, and --listen for other clients" {
	edge_login alice@example.com
	head -c 1000000 /dev/urandom >"$T/blob"
	run --separate-stderr bash -c "timeout 20 b0-proxy --host sha-lab1.edge.test --port 7000 <'$T/blob'"
	[ "$status" -eq 0 ]
	[ "$output" = "$(sha256sum <"$T/blob")" ]
	[ -z "$stderr" ]
	wait_for 10 grep -q 'socket sha-lab1\.edge\.test visitor .*(alice@example\.com): sent 1000000 received 68 .*: closed$' "$T/edge.log"
	b0-proxy --host sha-lab1.edge.test --port 7000 --listen 127.0.0.1:0 \
	    2>"$T/listen.log" &
	echo $! >"$T/listen.pid"
	wait_for 10 grep -q 'listening on' "$T/listen.log"
	local lport
	lport=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\) for .*/\1/p' "$T/listen.log")
	run bash -c "printf one | timeout 10 socat - TCP:127.0.0.1:$lport"
	[ "$output" = "$(printf one | sha256sum)" ]
	run bash -c "printf two | timeout 10 socat - TCP:127.0.0.1:$lport"
	[ "$output" = "$(printf two | sha256sum)" ]
	# Stopping it stops its streams too.
	kill "$(cat "$T/listen.pid")"
	wait_for 5 bash -c "! kill -0 $(cat "$T/listen.pid") 2>/dev/null"
}

@test "edge: the browser flow in a real browser (chromium) lands on 'Signed in to edge.test'" {
	browser_have || skip "no Node.js 20+, chromium or npm tools (scripts/deps)"
	browser_env
	export B0_BROWSER_EMAIL=alice@example.com
	export B0_BROWSER_PASSWORD="pw of alice@example.com"
	run --separate-stderr timeout 120 b0-proxy token
	[ "$status" -eq 0 ]
	[[ "$output" == eyJ* ]]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$stderr" == *"b0-proxy: signed in to edge.test as alice@example.com"* ]]
	# The browser shows b0-proxy's page after b0-proxy has its tokens.
	wait_for 20 grep -q '^http://127.0.0.1:[0-9]*/callback Signed in to edge.test$' "$B0_BROWSER_LOG"
	grep -q 'token: grant .* for alice@example.com (builtin, authorization_code)' "$T/edge.log"
}

@test "edge: the first ssh signs in with the device flow while ssh waits" {
	vis_ssh root@r1-lab1.edge.test 'echo first-time' >"$T/ssh.out" \
	    2>"$T/ssh.err" &
	local pid=$!
	echo "$pid" >"$T/ssh.pid"
	approve "$T/ssh.err" alice@example.com
	wait "$pid"
	[ "$(cat "$T/ssh.out")" = first-time ]
	# What ssh passed on from b0-proxy: its lines only.
	grep -q '^b0-proxy: signed in to edge.test as alice@example.com' "$T/ssh.err"
	! grep -v '^b0-proxy: ' "$T/ssh.err"
}

@test "edge: no such socket, and the publisher away: one line each" {
	edge_login alice@example.com
	run --separate-stderr timeout 20 b0-proxy --host nosuch-lab1.edge.test </dev/null
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	echo "$stderr"
	[[ "$stderr" == "b0-proxy: no such socket nosuch-lab1.edge.test at edge.test"* ]]
	[ "${#stderr_lines[@]}" -eq 1 ]
	b0_stop "$T" pub
	run --separate-stderr timeout 20 b0-proxy --host r1-lab1.edge.test </dev/null
	[ "$status" -eq 1 ]
	echo "$stderr"
	[ "$stderr" = "b0-proxy: r1-lab1.edge.test is unavailable: publisher lab1 is not connected" ]
}
