#!/usr/bin/env bats
# Many short streams through one publisher, on loopback: data channels go
# back to the pool after each stream and are reused at once.  No visitor
# may see a reset from a channel retired under its feet.

load helpers/common

setup() {
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	LG=$B0_BUILD/tools/b0-loadgen
	b0_pki "$T"
	b0_start "$T" serve "$LG" serve --listen 127.0.0.1:0
	TPORT=$(b0_ready_port "$T" serve)
	b0_edge_conf "$T" 127.0.0.1:0 24320-24329 "tcp-listen 127.0.0.1"
	b0_token "$T" lab1
	b0_start "$T" edge b0-edge -f "$T/edge.conf"
	b0_pub_conf "$T" "127.0.0.1:$(b0_ready_port "$T" edge)" \
	    "socket t tcp/$TPORT 127.0.0.1:$TPORT"
	b0_start "$T" publish b0-publish -f "$T/publish.conf"
	PPORT=$(b0-publish -f "$T/publish.conf" ls --json |
	    sed -n 's/.*"port":\([0-9]*\).*/\1/p')
}

burst_listed() {
	b0-publish -f "$T/publish.conf" ls | grep -q '^burst '
}

teardown() {
	[ -f "$T/burst.pid" ] && kill "$(cat "$T/burst.pid")" 2>/dev/null
	b0_stop "$T" publish
	b0_stop "$T" edge
	b0_stop "$T" serve
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "--- edge log"; tail -n 20 "$T/edge.log"
		echo "--- publish log"; tail -n 20 "$T/publish.log"
	fi
	b0_cleanup_tmpdir
}

@test "thousands of short streams, 8 at a time: every one completes, none is reset" {
	run timeout 30 "$LG" setup --time 3s --parallel 8 \
	    --connect "127.0.0.1:$PPORT"
	assert_success
	assert_output --regexp "errors=0 "
	n=$(sed -n 's/.* n=\([0-9]*\) .*/\1/p' <<<"$output")
	[ "$n" -ge 1000 ]
	run grep -c "tunnel lost" "$T/edge.log"
	assert_output 0
	# Bursts grow the pool; the edge alone retires what it does not need.
	run grep -c "not needed" "$T/publish.log"
	assert_output 0
}

@test "a bulk stream beside request/response streams: both finish, nothing is reset" {
	run timeout 30 "$LG" rtt-under-load --time 1s \
	    --connect "127.0.0.1:$PPORT"
	assert_success
	assert_output --regexp "bulk_mbps=[0-9.]+ n=[1-9][0-9]* "
	run grep -c "tunnel lost" "$T/edge.log"
	assert_output 0
}

# A target that sends a burst and hangs up, to a visitor that has already
# half-closed and waits a second before reading: the target's end (a
# hang-up: both directions closed) arrives while every buffer on the way
# is full, and the publisher must still read the rest of the target's
# socket and pass the end on once the visitor drains.  bench/run found
# this: a publisher that read one chunk per turn stranded the rest.
@test "a download that ends while the visitor is slow arrives whole, then the end" {
	python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
# Room for the whole burst: sendall returns and the close follows at once.
try:
    c.setsockopt(socket.SOL_SOCKET, 32, 32 << 20)  # SO_SNDBUFFORCE
except OSError:
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 << 20)
c.sendall(b"z" * (12 << 20))
c.recv(1)
c.close()
' >"$T/burst.port" 3>&- &
	echo $! >"$T/burst.pid"
	wait_for 5 grep -q . "$T/burst.port"
	BPORT=$(cat "$T/burst.port")
	b0_pub_conf "$T" "127.0.0.1:$(b0_ready_port "$T" edge)" \
	    "socket t tcp/$TPORT 127.0.0.1:$TPORT" \
	    "socket burst tcp/$BPORT 127.0.0.1:$BPORT"
	kill -HUP "$(cat "$T/publish.pid")"
	wait_for 5 burst_listed
	port=$(b0-publish -f "$T/publish.conf" ls --json | python3 -c '
import json, sys
print([s["port"] for s in json.load(sys.stdin)["sockets"] if s["name"] == "burst"][0])')
	run timeout 20 python3 -c '
import socket, sys, time
v = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
v.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
v.shutdown(socket.SHUT_WR)
time.sleep(1.5)
n = 0
while True:
    b = v.recv(1 << 20)
    if not b:
        break
    n += len(b)
print(n)
' "$port"
	assert_success
	assert_output "$((12 << 20))"
}
