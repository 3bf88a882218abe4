#!/usr/bin/env bats
# http sockets end to end (docs/http.md, "At the edge"): a real edge and
# publisher, an http socket to helpers/webapp.py in the lab, and visitors
# with curl and raw TLS clients (python3 ssl) in the visitor's namespace.
# webapp.py logs every request it gets, so a refused request can be shown
# not to have reached the target.

load helpers/common
load helpers/tunnel

bats_require_minimum_version 1.5.0

DNS=web-lab1.edge.test

setup() {
	if [[ "$BATS_TEST_DESCRIPTION" == edge.conf* ]]; then
		b0_tmpdir
		b0_pki "$T" || return 1
		return 0
	fi
	# Until b0-publish publishes http sockets (branch pubhttp).
	local p=$BATS_TEST_TMPDIR
	(umask 077 && echo x >"$p/probe.token")
	printf 'edge 127.0.0.1:443\ntoken-file %s\nsocket w http/80\n' \
	    "$p/probe.token" >"$p/probe.conf"
	if "$B0_BUILD/b0-publish" -f "$p/probe.conf" -t 2>&1 |
	    grep -q 'not supported'; then
		skip "this b0-publish does not publish http sockets"
	fi
	tun_setup
	DAEMON_KIND=other daemon_bg webapp "$NS_LAB" \
	    python3 "$BATS_TEST_DIRNAME/helpers/webapp.py" \
	    --listen 127.0.0.1:8080 --log "$T/webapp.requests"
	wait_for 10 lab_port_open 8080
	local extra=()
	case "$BATS_TEST_DESCRIPTION" in
	*504*) extra+=("http-upstream-timeout 2s") ;;
	*body-max*) extra+=("http-body-max 1000") ;;
	*server-sent*) extra+=("http-idle-timeout 1s") ;;
	*idle*) extra+=("http-idle-timeout 2s") ;;
	esac
	local socks=("socket web http/8080 127.0.0.1:8080"
	    "socket dead http/8081 127.0.0.1:8081")
	if [[ "$BATS_TEST_DESCRIPTION" == *"https socket"* ]]; then
		DAEMON_KIND=other daemon_bg webtls "$NS_LAB" \
		    python3 "$BATS_TEST_DIRNAME/helpers/webapp.py" \
		    --listen 127.0.0.1:8443 --tls-cert "$T/edge.crt" \
		    --tls-key "$T/edge.key" --log "$T/webapp.requests"
		wait_for 10 lab_port_open 8443
		socks+=("socket sec https/8443 127.0.0.1:8443 tls-ca=$T/ca.crt tls-name=edge.test host=nas.lan")
	fi
	# ASan keeps freed memory in a 256 MiB quarantine, so the edge's RSS
	# would count every buffer it ever freed, not the bytes it holds.
	if [[ "$BATS_TEST_DESCRIPTION" == "flow control"* ]]; then
		export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0
	fi
	edge_conf "log-level debug" "${extra[@]}"
	edge_start
	token_add lab1
	pub_conf pub "$T/lab1.token" "pool 2" "${socks[@]}"
	pub_start pub
	wait_for 10 edge_has_socket web
	: >"$T/webapp.requests"
}

teardown() {
	tun_teardown
}

edge_has_socket() {
	edge_json | jq -e --arg n "$1" \
	    '.sockets[] | select(.name == $n and .online)' \
	    >/dev/null 2>&1
}

socket_offline() {
	! edge_has_socket "$1"
}

# hc ARGS...: curl in the visitor's namespace to the http socket.
hc() {
	in_vis curl -sS --max-time 20 --cacert "$T/ca.crt" \
	    --resolve "$DNS:443:$EDGE_VIS_IP" \
	    --resolve "dead-lab1.edge.test:443:$EDGE_VIS_IP" \
	    --resolve "sec-lab1.edge.test:443:$EDGE_VIS_IP" "$@"
}

# raw [ARGS...]: helpers/rawtls.py to the http socket; stdin is sent as
# is, the answer comes out on stdout.
raw() {
	in_vis timeout 30 python3 "$BATS_TEST_DIRNAME/helpers/rawtls.py" \
	    --connect "$EDGE_VIS_IP:443" --name "$DNS" --ca "$T/ca.crt" "$@"
}

# hdr JSON NAME: the values of header NAME in webapp's /headers answer,
# one a line.
hdr() {
	jq -r --arg n "$2" '.headers[] | select(.[0] | ascii_downcase ==
	    ($n | ascii_downcase)) | .[1]' <<<"$1"
}

reached() {
	grep -c -- "$1" "$T/webapp.requests" || true
}

@test "a GET through an http socket reaches the target and comes back" {
	run hc -i "https://$DNS/headers"
	assert_success
	assert_output --partial "HTTP/1.1 200"
	assert_output --partial '"method": "GET"'
	[ "$(reached 'GET /headers')" -eq 1 ]
}

@test "headers towards the target: forged ones go, the edge's come" {
	run hc "https://$DNS/headers" \
	    -H 'X-B0-Email: mallory@example.com' -H 'X-B0-Auth: session' \
	    -H 'X-B0-User: admin' -H 'x-b0-anything: 1' \
	    -H 'X-Forwarded-For: 192.0.2.1' -H 'Forwarded: for=192.0.2.1' \
	    -H 'X-Real-IP: 192.0.2.2' -H 'X-Forwarded-Proto: http' \
	    -H 'X-Forwarded-Host: evil.example' \
	    -H 'Cookie: a=1; __Host-b0_app=stolen; c=2' \
	    -H 'Connection: X-Drop-Me' -H 'X-Drop-Me: 1' -H 'Keep-Alive: 5' \
	    -H 'TE: trailers' -H 'Proxy-Connection: keep-alive' \
	    -H 'Upgrade: h2c' -H 'X-Kept: yes'
	assert_success
	local j=$output ip
	echo "$j"
	ip=$(hdr "$j" X-Real-IP)
	[[ "$ip" =~ ^10\.77\.[0-9]+\.[0-9]+$ ]]
	[ "$(hdr "$j" X-Forwarded-For)" = "192.0.2.1, $ip" ]
	[[ "$(hdr "$j" Forwarded)" =~ ^for=192\.0\.2\.1,\ for=\"$ip:[0-9]+\"\;host=$DNS\;proto=https$ ]]
	[ "$(hdr "$j" X-Forwarded-Proto)" = https ]
	[ "$(hdr "$j" X-Forwarded-Host)" = "$DNS" ]
	[ "$(hdr "$j" Host)" = "$DNS" ]
	[ "$(hdr "$j" X-B0-Auth)" = none ]
	[ -z "$(hdr "$j" X-B0-Email)" ]
	[ -z "$(hdr "$j" X-B0-User)" ]
	[ -z "$(hdr "$j" X-B0-Anything)" ]
	[ "$(hdr "$j" Cookie)" = "a=1; c=2" ]
	[ "$(hdr "$j" X-Kept)" = yes ]
	local h
	for h in X-Drop-Me Keep-Alive TE Proxy-Connection Upgrade Connection; do
		[ -z "$(hdr "$j" "$h")" ] || { echo "$h reached the target"; false; }
	done
	# One of each, whatever came in.
	[ "$(hdr "$j" X-Real-IP | wc -l)" -eq 1 ]
	[ "$(hdr "$j" X-Forwarded-Proto | wc -l)" -eq 1 ]
}

@test "only the edge's cookie is taken out of Cookie" {
	run hc "https://$DNS/headers" -H 'Cookie: __Host-b0_app=x'
	assert_success
	[ -z "$(hdr "$output" Cookie)" ]
	run hc "https://$DNS/headers" -H 'Cookie: b0_apple=1; xb0_app=2'
	[ "$(hdr "$output" Cookie)" = "b0_apple=1; xb0_app=2" ]
}

# smuggle NAME REQUEST: REQUEST as the first request of a connection and
# as the second one after a good one; each gets a 4xx and never reaches
# the target.
smuggle() {
	local name=$1 req=$2 good out
	good="GET /headers HTTP/1.1\r\nHost: $DNS\r\n\r\n"
	out=$(raw --data "${req}GET /smuggled HTTP/1.1\r\nHost: $DNS\r\n\r\n")
	[[ "$out" =~ ^HTTP/1.1\ 4[0-9][0-9] ]] ||
	    { echo "$name, first: ${out:0:200}"; return 1; }
	out=$(raw --data "$good${req}GET /smuggled HTTP/1.1\r\nHost: $DNS\r\n\r\n")
	[[ "$out" =~ ^HTTP/1.1\ 200 ]] ||
	    { echo "$name, second: ${out:0:200}"; return 1; }
	grep -q '}HTTP/1.1 4[0-9][0-9]' <<<"$out" ||
	    { echo "$name, second: no 4xx after the 200: $out"; return 1; }
	echo "$name: ok: $(grep -o 'HTTP/1.1 4[0-9][0-9]' <<<"$out" | head -1)"
}

@test "smuggling inputs are refused with 400 and reach nothing" {
	local H="Host: $DNS\r\n"
	smuggle "CL and TE" "POST /x HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	smuggle "two CL" "POST /x HTTP/1.1\r\n${H}Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"
	smuggle "CL list" "POST /x HTTP/1.1\r\n${H}Content-Length: 4, 5\r\n\r\nabcde"
	smuggle "CL sign" "POST /x HTTP/1.1\r\n${H}Content-Length: +4\r\n\r\nabcd"
	smuggle "TE not chunked" "POST /x HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n"
	smuggle "TE chunked twice" "POST /x HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"
	smuggle "TE xchunked" "POST /x HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"
	smuggle "TE in 1.0" "POST /x HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	smuggle "obs-fold" "GET /x HTTP/1.1\r\n${H}X-A: 1\r\n folded\r\n\r\n"
	smuggle "bare LF" "GET /x HTTP/1.1\n${H}\r\n"
	smuggle "bare CR" "GET /x HTTP/1.1\r\n${H}X-A: 1\r2\r\n\r\n"
	smuggle "space before colon" "GET /x HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n"
	smuggle "bad name byte" "GET /x HTTP/1.1\r\n${H}X\x01A: 1\r\n\r\n"
	smuggle "NUL in value" "GET /x HTTP/1.1\r\n${H}X-A: 1\x002\r\n\r\n"
	smuggle "absolute-form" "GET http://$DNS/x HTTP/1.1\r\n${H}\r\n"
	smuggle "two Host" "GET /x HTTP/1.1\r\n${H}${H}\r\n"
	smuggle "no Host" "GET /x HTTP/1.1\r\n\r\n"
	# The head of a chunked request goes before its body is read: the
	# target sees it cut short, and nothing after it.
	smuggle "bad chunk size" "POST /chunk HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-1\r\nx\r\n0\r\n\r\n"
	local long
	long=$(head -c 9000 /dev/zero | tr '\0' a)
	smuggle "request line too long" "GET /$long HTTP/1.1\r\n${H}\r\n"
	smuggle "field too long" "GET /x HTTP/1.1\r\n${H}X-A: $long\r\n\r\n"
	[ "$(reached /x)" -eq 0 ]
	[ "$(reached /smuggled)" -eq 0 ]
	[ "$(reached 'GET /headers')" -eq 20 ]
}

@test "a 64 MiB chunked upload arrives whole" {
	head -c 64M /dev/urandom >"$T/up.bin"
	local want
	want=$(sha256sum "$T/up.bin" | cut -d' ' -f1)
	run hc --max-time 120 -H 'Transfer-Encoding: chunked' \
	    --data-binary @"$T/up.bin" "https://$DNS/upload"
	assert_success
	assert_output "$want 67108864"
	run hc --max-time 120 --data-binary @"$T/up.bin" "https://$DNS/upload"
	assert_success
	assert_output "$want 67108864"
}

@test "responses by every framing: length, chunked, HEAD, 204, 304" {
	run bash -c "$(declare -f hc); DNS=$DNS T=$T EDGE_VIS_IP=$EDGE_VIS_IP NS_VIS=$NS_VIS; $(declare -f in_vis);
	    hc 'https://$DNS/big?n=5000000&chunked=1' | sha256sum"
	local want
	want=$(python3 -c 'import sys; p=b"0123456789"*6554; n=5000000; out=b""
while n > 0:
    d=p[:min(n,65536)]; out+=d; n-=len(d)
sys.stdout.buffer.write(out)' | sha256sum)
	assert_output "$want"
	run hc -o /dev/null -w '%{size_download}' "https://$DNS/big?n=3000000"
	assert_output 3000000
	run hc -I "https://$DNS/big?n=777"
	assert_output --partial "Content-Length: 777"
	run hc -i "https://$DNS/status?code=204"
	assert_output --partial "HTTP/1.1 204"
	run hc -i "https://$DNS/status?code=304"
	assert_output --partial "HTTP/1.1 304"
}

@test "keep-alive: several requests on one connection, one stream" {
	run hc -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	    -w '%{http_code} %{num_connects}\n' "https://$DNS/headers" \
	    "https://$DNS/big?n=100000&chunked=1" "https://$DNS/big?n=10" \
	    "https://$DNS/status?code=204"
	assert_success
	assert_output $'200 1\n200 0\n200 0\n204 0'
	[ "$(edge_json | jq '.sockets[] | select(.name == "web") | .streams')" -eq 1 ]
}

@test "pipelined requests are answered in order" {
	run raw --data "GET /big?n=20 HTTP/1.1\r\nHost: $DNS\r\n\r\nGET /status?code=201 HTTP/1.1\r\nHost: $DNS\r\n\r\nGET /close HTTP/1.1\r\nHost: $DNS\r\n\r\nGET /headers HTTP/1.1\r\nHost: $DNS\r\n\r\n"
	assert_success
	[ "$(grep -o 'HTTP/1.1 [0-9][0-9][0-9]' <<<"$output" | tr '\n' ' ')" = "HTTP/1.1 200 HTTP/1.1 201 HTTP/1.1 200 " ]
	assert_output --partial 01234567890123456789
	assert_output --partial closing
	# /close ended the connection: the fourth request never went.
	[ "$(reached 'GET /headers')" -eq 0 ]
}

@test "Expect: 100-continue is passed and its 100 relayed" {
	run hc -v -H 'Expect: 100-continue' --data-binary 'hello' \
	    "https://$DNS/upload"
	assert_success
	assert_output --partial '< HTTP/1.1 100 Continue'
	assert_output --partial "$(printf hello | sha256sum | cut -d' ' -f1) 5"
}

@test "a WebSocket upgrade is relayed both ways" {
	run raw --ws 3
	assert_success
	assert_output --partial 'HTTP/1.1 101'
	assert_output --partial 'ws ok 100021 close 8'
	wait_for 5 log_has edge "http $DNS [^ ]+ - GET /ws 101 "
}

@test "other upgrades (h2c) are stripped" {
	run hc "https://$DNS/headers" -H 'Connection: Upgrade, HTTP2-Settings' \
	    -H 'Upgrade: h2c' -H 'HTTP2-Settings: AAMAAABkAAQAAP__'
	assert_success
	[ -z "$(hdr "$output" Upgrade)" ]
	[ -z "$(hdr "$output" HTTP2-Settings)" ]
}

@test "502 when nothing listens at the target, as text or HTML" {
	run hc -i "https://dead-lab1.edge.test/"
	assert_success
	assert_output --partial "HTTP/1.1 502"
	assert_output --partial "Content-Type: text/plain"
	assert_output --partial "nothing answered at the target (127.0.0.1:8081: Connection refused)"
	run hc -i -H 'Accept: text/html,*/*;q=0.8' "https://dead-lab1.edge.test/"
	assert_output --partial "HTTP/1.1 502"
	assert_output --partial "Content-Type: text/html"
	assert_output --partial "Content-Security-Policy:"
}

@test "502 when the publisher is not connected" {
	tun_stop pub
	wait_for 10 socket_offline web
	run hc -i "https://$DNS/headers"
	assert_success
	assert_output --partial "HTTP/1.1 502"
	assert_output --partial "publisher lab1 is not connected"
}

@test "504 when the target answers later than http-upstream-timeout" {
	run hc -i "https://$DNS/slow?ms=5000"
	assert_success
	assert_output --partial "HTTP/1.1 504"
	assert_output --partial "did not answer within 2 s"
}

@test "body-max: larger bodies get 413 and reach nothing" {
	run hc -i --data-binary "$(head -c 2000 /dev/zero | tr '\0' a)" \
	    "https://$DNS/upload"
	assert_output --partial "HTTP/1.1 413"
	run hc -i -H 'Transfer-Encoding: chunked' \
	    --data-binary "$(head -c 2000 /dev/zero | tr '\0' a)" \
	    "https://$DNS/upload"
	assert_output --partial "HTTP/1.1 413"
	run hc --data-binary "small" "https://$DNS/upload"
	assert_output "$(printf small | sha256sum | cut -d' ' -f1) 5"
	# The chunked one's head went before its body was too long.
	[ "$(reached 'POST /upload')" -eq 2 ]
}

@test "a Host other than the socket's is 421, first request or later" {
	run hc -i -H 'Host: other.edge.test' "https://$DNS/headers"
	assert_output --partial "HTTP/1.1 421"
	run raw --data "GET /headers HTTP/1.1\r\nHost: $DNS\r\n\r\nGET /x HTTP/1.1\r\nHost: other.edge.test\r\n\r\nGET /headers HTTP/1.1\r\nHost: $DNS:443\r\n\r\n"
	[ "$(grep -o 'HTTP/1.1 [0-9][0-9][0-9]' <<<"$output" | tr '\n' ' ')" = "HTTP/1.1 200 HTTP/1.1 421 HTTP/1.1 200 " ]
	run raw --data "GET /headers HTTP/1.1\r\nHost: $DNS:444\r\n\r\n"
	assert_output --partial "HTTP/1.1 421"
	[ "$(reached /x)" -eq 0 ]
}

@test "/.b0/ paths never reach the target" {
	run hc -i "https://$DNS/.b0/anything"
	refute_output --partial "HTTP/1.1 200"
	[ "$(reached /.b0/)" -eq 0 ]
}

@test "one access log line per request" {
	run hc -o /dev/null "https://$DNS/big?n=1234&x=secret" "https://$DNS/status?code=404"
	wait_for 5 log_has edge "http $DNS 10\.77\.[0-9.]+:[0-9]+ - GET /big 200 1234 [0-9]+ms$"
	log_has edge "http $DNS 10\.77\.[0-9.]+:[0-9]+ - GET /status 404 0 [0-9]+ms$"
	! log_has edge "x=secret"
}

@test "a 64 MiB download arrives whole, by length and chunked" {
	local want
	want=$(python3 -c 'import sys; p=b"0123456789"*6554; n=64<<20
while n > 0:
    d=p[:min(n,65536)]; sys.stdout.buffer.write(d); n-=len(d)' | sha256sum)
	run bash -c "$(declare -f hc in_vis); DNS=$DNS T=$T EDGE_VIS_IP=$EDGE_VIS_IP NS_VIS=$NS_VIS
	    hc --max-time 120 'https://$DNS/big?n=67108864' | sha256sum
	    hc --max-time 120 'https://$DNS/big?n=67108864&chunked=1' | sha256sum"
	assert_success
	assert_output "$want"$'\n'"$want"
}

@test "http-idle-timeout closes a connection idle between requests" {
	local t0 t1
	t0=$(ms_now)
	run raw --idle 15 --data "GET /headers HTTP/1.1\r\nHost: $DNS\r\n\r\n"
	t1=$(ms_now)
	assert_output --partial "HTTP/1.1 200"
	[ $((t1 - t0)) -ge 1500 ] && [ $((t1 - t0)) -lt 10000 ]
}

@test "server-sent events quiet for longer than http-idle-timeout arrive whole" {
	local t0 t1
	# http-idle-timeout 1s; the target is quiet 2 s between events.
	t0=$(ms_now)
	run hc -N "https://$DNS/sse?gap_ms=2000&n=3"
	t1=$(ms_now)
	assert_success
	assert_output $'data: 0\n\ndata: 1\n\ndata: 2'
	[ $((t1 - t0)) -ge 4000 ]
	# Between requests the idle timeout still applies.
	t0=$(ms_now)
	run raw --idle 15 --data "GET /headers HTTP/1.1\r\nHost: $DNS\r\n\r\n"
	t1=$(ms_now)
	assert_output --partial "HTTP/1.1 200"
	[ $((t1 - t0)) -ge 800 ] && [ $((t1 - t0)) -lt 8000 ]
}

@test "an HTTP/1.0 request is answered and the connection closes" {
	run raw --idle 15 --data "GET /headers HTTP/1.0\r\n\r\n"
	assert_output --partial "HTTP/1.1 200"
	assert_output --partial "Connection: close"
	assert_output --partial '"version": "HTTP/1.0"'
	assert_output --partial "[\"Host\", \"$DNS\"]"
}

@test "an https socket: the same proxy, the target's TLS is the publisher's; host= sets Host" {
	wait_for 10 edge_has_socket sec
	run hc "https://sec-lab1.edge.test/headers"
	assert_success
	[ "$(hdr "$output" Host)" = nas.lan ]
	[ "$(hdr "$output" X-Forwarded-Host)" = sec-lab1.edge.test ]
	[[ "$(hdr "$output" Forwarded)" == *";host=sec-lab1.edge.test;proto=https" ]]
	run hc --data-binary @"$BATS_TEST_DIRNAME/helpers/webapp.py" \
	    "https://sec-lab1.edge.test/upload"
	assert_output "$(sha256sum <"$BATS_TEST_DIRNAME/helpers/webapp.py" |
	    cut -d' ' -f1) $(wc -c <"$BATS_TEST_DIRNAME/helpers/webapp.py")"
}

@test "flow control: a slow visitor's download is not buffered at the edge" {
	local pid rss0 rss1 epid
	epid=$(cat "$T/edge.pid")
	hc -o /dev/null "https://$DNS/headers"
	rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$epid/status")
	hc --limit-rate 1M -o "$T/slow.out" "https://$DNS/big?n=67108864" &
	pid=$!
	sleep 4
	rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$epid/status")
	kill "$pid"
	wait "$pid" || true
	echo "edge RSS $rss0 KiB before, $rss1 KiB during"
	# 64 MiB were ready at the target; a few MiB reached the visitor.
	[ "$(stat -c %s "$T/slow.out")" -lt $((16 << 20)) ]
	[ $((rss1 - rss0)) -lt 16384 ]
}

# rawresp TEXT: what the visitor gets when the target answers TEXT.
rawresp() {
	hc -i "https://$DNS/raw?hex=$(printf '%b' "$1" | od -An -tx1 | tr -d ' \n')"
}

@test "a response two parsers could read differently is a 502" {
	run rawresp 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	assert_output --partial "HTTP/1.1 502"
	assert_output --partial "the target's response was malformed"
	run rawresp 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
	assert_output --partial "HTTP/1.1 502"
	run rawresp 'HTTP/1.1 200 OK\nContent-Length: 3\n\nabc'
	assert_output --partial "HTTP/1.1 502"
	run rawresp 'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 3\r\n\r\nabc'
	assert_output --partial "HTTP/1.1 502"
	# A good one passes, and a body until close ends the connection.
	run rawresp 'HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\nuntil close'
	assert_output --partial "HTTP/1.1 200"
	assert_output --partial "Connection: close"
	assert_output --partial "until close"
}

# hexof TEXT: TEXT (printf %b escapes) in hex, for /raw and /rawkeep.
hexof() {
	printf '%b' "$1" | od -An -tx1 | tr -d ' \n'
}

@test "bytes past a response never answer the next request: the connection closes after it" {
	local evil='HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Smuggled: 1\r\n\r\nsmuggled\n'
	local h1 h2
	h1=$(hexof "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n$evil")
	# More than its Content-Length: the second request is its own.
	run hc -i -w '[%{http_code} %{num_connects}]\n' \
	    "https://$DNS/rawkeep?hex=$h1" "https://$DNS/status?code=201"
	assert_success
	refute_output --partial smuggled
	refute_output --partial X-Smuggled
	assert_output --partial $'ok\n[200 1]'
	assert_output --partial 'HTTP/1.1 201'
	assert_output --partial '[201 1]'
	grep -q "bytes past its response; closing the connection" "$T/edge.log"
	# A body on HEAD: the same.
	h2=$(hexof "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled\n$evil")
	run hc -I -w '[%{http_code} %{num_connects}]\n' \
	    "https://$DNS/rawkeep?hex=$h2" "https://$DNS/big?n=321"
	assert_success
	refute_output --partial X-Smuggled
	assert_output --partial 'Content-Length: 321'
	assert_output --partial '[200 1]'
	[ "$(reached 'HEAD /big?n=321')" -eq 1 ]
}

@test "several 1xx in one write, then the response" {
	run hc -i "https://$DNS/rawkeep?hex=$(hexof 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n')"
	assert_success
	assert_output --partial 'HTTP/1.1 200'
	assert_output --partial ok
	refute_output --partial 'HTTP/1.1 504'
}

@test "an HTTP/1.0 visitor gets a chunked response decoded, then the close" {
	raw --idle 15 --data "GET /big?n=70000&chunked=1 HTTP/1.0\r\nHost: $DNS\r\n\r\n" \
	    >"$T/v10.out"
	run python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
head, _, body = d.partition(b"\r\n\r\n")
want = (b"0123456789" * 6554)[:65536] + (b"0123456789" * 6554)[:70000 - 65536]
print(head.decode())
print("body", len(body), body == want)' "$T/v10.out"
	assert_output --partial 'HTTP/1.1 200'
	assert_output --partial 'Connection: close'
	refute_output --partial 'Transfer-Encoding'
	assert_output --partial 'body 70000 True'
}

# conf_t LINE: b0-edge -t on an edge.conf with LINE.
conf_t() {
	b0_edge_conf "$T" 127.0.0.1:0 20000-20010 "$@"
	"$B0_BUILD/b0-edge" -f "$T/edge.conf" -t
}

@test "edge.conf: the http-* keywords, and their errors by file:line" {
	run conf_t "http-head-max 8K" "http-line-max 4K" "http-fields-max 32" \
	    "http-body-max 10M" "http-idle-timeout 5m" \
	    "http-upstream-timeout 90s" "http-session-lifetime 1h"
	assert_success
	run conf_t "http-head-max 100"
	assert_failure
	assert_output --partial "edge.conf:8: http-head-max"
	run conf_t "http-fields-max 65"
	assert_failure
	assert_output --partial "edge.conf:8: http-fields-max"
	run conf_t "http-upstream-timeout soon"
	assert_failure
	assert_output --partial "edge.conf:8: http-upstream-timeout"
	run conf_t "http-body-max lots"
	assert_failure
	assert_output --partial "edge.conf:8: http-body-max"
}

@test "a request head must arrive whole within 15 s, however slowly it trickles" {
	local t0 t1
	t0=$(ms_now)
	run raw --idle 30 --data "GET /headers HTTP/1.1\r\nHost: $DNS\r\n\r\nGET /headers HTTP/1.1\r\nHost: $DNS\r\nX-Slow: 1"
	t1=$(ms_now)
	[ "$(grep -o 'HTTP/1.1 [0-9][0-9][0-9]' <<<"$output" | tr '\n' ' ')" = "HTTP/1.1 200 HTTP/1.1 408 " ]
	[ $((t1 - t0)) -ge 14000 ] && [ $((t1 - t0)) -lt 25000 ]
}

@test "30 visitors at once, more than the pool: every one gets its answers" {
	local i pids=()
	for i in $(seq 1 30); do
		hc -o "$T/par.$i" -o /dev/null -w '%{http_code}\n' \
		    "https://$DNS/big?n=$((i * 1000))" "https://$DNS/slow?ms=200" \
		    >"$T/par.$i.codes" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	for i in $(seq 1 30); do
		[ "$(tr '\n' ' ' <"$T/par.$i.codes")" = "200 200 " ] ||
		    { echo "visitor $i: $(cat "$T/par.$i.codes")"; false; }
	done
	[ "$(reached 'GET /slow')" -eq 30 ]
}
