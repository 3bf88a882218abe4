#!/usr/bin/env bats
# b0-publish connect: the quick share of one port, on loopback.  It
# publishes until Ctrl-C (or SIGTERM), then removes the socket from the
# edge before it exits.

load helpers/common

setup() {
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	b0_pki "$T"
	b0_edge_conf "$T" 127.0.0.1:0 24300-24309 "tcp-listen 127.0.0.1" \
	    "heartbeat 1s"
	b0_start "$T" edge b0-edge -f "$T/edge.conf"
	EDGE=127.0.0.1:$(b0_ready_port "$T" edge)
	b0_token "$T" lab1
	# The target: a line-echo server on a free port.
	socat TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork EXEC:cat \
	    >/dev/null 2>&1 &
	echo $! >"$T/target.pid"
	wait_for 5 target_port
	TPORT=$(target_port)
}

target_port() {
	ss -Hltnp "sport != :0" 2>/dev/null |
	    awk -v pid="$(cat "$T/target.pid")" \
		'$0 ~ "pid="pid"," { n = split($4, a, ":"); print a[n]; exit }' |
	    grep .
}

teardown() {
	if [ -f "$T/connect.pid" ]; then
		kill -KILL "$(cat "$T/connect.pid")" 2>/dev/null || true
	fi
	[ -f "$T/target.pid" ] && kill "$(cat "$T/target.pid")" 2>/dev/null
	b0_stop "$T" edge
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "--- edge log"; cat "$T/edge.log"
		echo "--- connect output"; cat "$T/connect.out" "$T/connect.log"
	fi 2>/dev/null
	b0_cleanup_tmpdir
}

edge_sockets() {
	b0-edge -f "$T/edge.conf" ls --json |
	    python3 -c 'import json, sys
for s in json.load(sys.stdin)["sockets"]:
    print(s["name"], s["port"], "online" if s["online"] else "away")'
}

start_connect() {
	b0-publish connect --port "$TPORT" --edge "$EDGE" \
	    --token-file "$T/token" --edge-ca "$T/ca.crt" "$@" \
	    >"$T/connect.out" 2>"$T/connect.log" &
	echo $! >"$T/connect.pid"
}

@test "connect publishes one port, and Ctrl-C removes it from the edge" {
	start_connect --name quick
	wait_for 10 grep -q "quick" "$T/connect.out"
	run cat "$T/connect.out"
	assert_output --partial "quick"
	assert_output --partial "quick-lab1.edge.test"
	port=$(edge_sockets | awk '$1 == "quick" { print $2 }')
	[ -n "$port" ]
	run bash -c "echo through | timeout 5 socat - TCP:127.0.0.1:$port"
	assert_success
	assert_output "through"
	kill -INT "$(cat "$T/connect.pid")"
	run timeout 10 tail --pid="$(cat "$T/connect.pid")" -f /dev/null
	assert_success
	wait "$(cat "$T/connect.pid")" || status=$?
	[ "${status:-0}" -eq 0 ]
	rm -f "$T/connect.pid"
	run edge_sockets
	refute_output --partial "quick"
	grep -q "removing the socket from the edge" "$T/connect.log"
	# Its port closes: a visitor is refused, not left hanging.
	run timeout 5 socat - TCP:127.0.0.1:$port </dev/null
	assert_failure
}

@test "connect names the socket p<port> by default and SIGTERM also removes it" {
	start_connect
	wait_for 10 grep -q "p$TPORT" "$T/connect.out"
	run edge_sockets
	assert_output --partial "p$TPORT"
	kill -TERM "$(cat "$T/connect.pid")"
	run timeout 10 tail --pid="$(cat "$T/connect.pid")" -f /dev/null
	assert_success
	rm -f "$T/connect.pid"
	run edge_sockets
	refute_output --partial "p$TPORT"
}

@test "connect without an edge or a configuration file says what is missing" {
	run b0-publish -f "$T/none.conf" connect --port 80
	assert_failure
	assert_output --partial "none.conf"
	run b0-publish connect --port 80 --edge 127.0.0.1:1
	assert_failure 2
	assert_output --partial "--edge needs --token-file"
	run b0-publish connect --port 0 --edge 127.0.0.1:1 --token-file x
	assert_failure 2
	assert_output --partial "--port \"0\" is not a port"
}
