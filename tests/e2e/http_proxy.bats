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
	tun_setup
	DAEMON_KIND=other daemon_bg webapp "$NS_LAB" \
	    python3 "$BATS_TEST_DIRNAME/helpers/webapp.py" \
	    --listen 127.0.0.1:8080 --log "$T/webapp.requests"
	wait_for 10 lab_port_open 8080
	local extra=()
	case "$BATS_TEST_DESCRIPTION" in
	*504*) extra+=("http-upstream-timeout 2s") ;;
	*body-max*) extra+=("http-body-max 1000") ;;
	esac
	edge_conf "log-level debug" "${extra[@]}"
	edge_start
	token_add lab1
	pub_conf pub "$T/lab1.token" "pool 2" \
	    "socket web http/8080 127.0.0.1:8080" \
	    "socket dead http/8081 127.0.0.1:8081"
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

# hc ARGS...: curl in the visitor's namespace to the http socket.
hc() {
	in_vis curl -sS --max-time 20 --cacert "$T/ca.crt" \
	    --resolve "$DNS:443:$EDGE_VIS_IP" \
	    --resolve "dead-lab1.edge.test:443:$EDGE_VIS_IP" "$@"
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
