#!/usr/bin/env bats
# The edge's HTTPS front door: TLS clients that do not speak the b0
# publisher protocol get strict HTTP/1.1 on the same port (keep-alive,
# pipelining, the host chosen by SNI), and malformed requests get a 4xx
# and a closed connection, never an interpretation.

load helpers/common

setup() {
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	b0_pki "$T"
	b0_edge_conf "$T" 127.0.0.1:0 24310-24319 "tcp-listen 127.0.0.1"
	b0_start "$T" edge b0-edge -f "$T/edge.conf"
	PORT=$(b0_ready_port "$T" edge)
}

teardown() {
	b0_stop "$T" edge
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "--- edge log"
		cat "$T/edge.log"
	fi
	b0_cleanup_tmpdir
}

# raw SNI: send stdin over TLS with server name SNI, print the answer.
raw() {
	timeout 10 openssl s_client -quiet -verify_return_error \
	    -connect "127.0.0.1:$PORT" -servername "$1" -CAfile "$T/ca.crt" \
	    2>/dev/null
}

# status_of SNI REQUEST: the status code of the first response.
status_of() {
	printf '%b' "$2" | raw "$1" | sed -n '1s/^HTTP\/1\.1 \([0-9]*\).*/\1/p'
}

@test "curl gets an answer for the edge's own name, with the security headers" {
	run curl -sS -i --cacert "$T/ca.crt" \
	    --resolve "edge.test:$PORT:127.0.0.1" \
	    "https://edge.test:$PORT/no-such-page"
	assert_success
	assert_line --partial "HTTP/1.1 404"
	assert_line --partial "Cache-Control: no-store"
	assert_line --partial "X-Content-Type-Options: nosniff"
	assert_line --partial "Connection: keep-alive"
}

@test "two pipelined requests on one connection get two answers in order" {
	run bash -c "printf 'GET /a HTTP/1.1\r\nHost: edge.test\r\n\r\nGET /b HTTP/1.1\r\nHost: edge.test\r\nConnection: close\r\n\r\n' |
	    timeout 10 openssl s_client -quiet -connect 127.0.0.1:$PORT \
	    -servername edge.test -CAfile $T/ca.crt 2>/dev/null"
	assert_success
	[ "$(grep -c '^HTTP/1.1 ' <<<"$output")" -eq 2 ]
	assert_line --partial "Connection: close"
	grep -q 'GET /a: 404' "$T/edge.log"
	grep -q 'GET /b: 404' "$T/edge.log"
}

@test "curl reuses one connection for several requests (keep-alive)" {
	run curl -sS -o /dev/null -o /dev/null -o /dev/null \
	    -w '%{num_connects}\n' --cacert "$T/ca.crt" \
	    --resolve "edge.test:$PORT:127.0.0.1" \
	    "https://edge.test:$PORT/1" "https://edge.test:$PORT/2" \
	    "https://edge.test:$PORT/3"
	assert_success
	assert_output "$(printf '1\n0\n0')"
}

@test "a Host that disagrees with the TLS server name is refused with 421" {
	[ "$(status_of edge.test 'GET / HTTP/1.1\r\nHost: other.test\r\n\r\n')" = 421 ]
	grep -q '421 the Host header names another host' "$T/edge.log"
}

@test "an unknown socket name is a 404 that names it" {
	run curl -sS --cacert "$T/ca.crt" \
	    --resolve "nope-lab1.edge.test:$PORT:127.0.0.1" \
	    "https://nope-lab1.edge.test:$PORT/"
	assert_output "no socket named nope-lab1.edge.test on this edge"
}

@test "request smuggling shapes are refused with 400 and the connection closed" {
	local req
	for req in \
	    'POST / HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n' \
	    'POST / HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd' \
	    'GET / HTTP/1.1\r\nHost: edge.test\r\nX: a\r\n b\r\n\r\n' \
	    'GET / HTTP/1.1\nHost: edge.test\n\n' \
	    'GET / HTTP/1.1\r\nHost : edge.test\r\n\r\n' \
	    'GET / HTTP/1.1\r\nHost: edge.test\r\nHost: edge.test\r\n\r\n' \
	    'GET http://edge.test/ HTTP/1.1\r\nHost: edge.test\r\n\r\n'; do
		run status_of edge.test "$req"
		[ "$output" = 400 ] || {
			echo "expected 400 for: $req, got: $output"
			return 1
		}
	done
}

@test "oversized heads and bodies get 431 and 413" {
	local big
	big=$(head -c 20000 /dev/zero | tr '\0' a)
	[ "$(status_of edge.test "GET / HTTP/1.1\r\nHost: edge.test\r\nX-Big: $big\r\n\r\n")" = 431 ]
	[ "$(status_of edge.test 'POST / HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 100000\r\n\r\n')" = 413 ]
	[ "$(status_of edge.test 'POST / HTTP/1.1\r\nHost: edge.test\r\nTransfer-Encoding: chunked\r\n\r\n')" = 411 ]
}

@test "Expect: 100-continue gets 100 before the body is sent" {
	run curl -sS -o /dev/null -w '%{http_code}\n' --cacert "$T/ca.crt" \
	    --resolve "edge.test:$PORT:127.0.0.1" -H 'Expect: 100-continue' \
	    --data-binary @"$T/edge.conf" "https://edge.test:$PORT/no-such-page"
	assert_success
	assert_output 404
	run bash -c "printf 'POST / HTTP/1.1\r\nHost: edge.test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n' |
	    timeout 3 openssl s_client -quiet -connect 127.0.0.1:$PORT \
	    -servername edge.test -CAfile $T/ca.crt 2>/dev/null"
	assert_line --partial "HTTP/1.1 100 Continue"
}

@test "a client that sends half a request does not hold up the others" {
	# Half a head, then silence: the edge must not keep it forever; other
	# clients are served meanwhile.
	(printf 'GET / HTTP/1.1\r\nHost: ed'; sleep 3) |
	    timeout 5 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
	    -servername edge.test -CAfile "$T/ca.crt" >/dev/null 2>&1 &
	local slow=$!
	run curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
	    --cacert "$T/ca.crt" --resolve "edge.test:$PORT:127.0.0.1" \
	    "https://edge.test:$PORT/"
	assert_output 404
	kill "$slow" 2>/dev/null || true
	wait "$slow" 2>/dev/null || true
	kill -0 "$(cat "$T/edge.pid")"
}
