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

teardown() {
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
