#!/usr/bin/env bats
# Egress through a real HTTP CONNECT proxy: the lab's gateway lets it out
# only through tinyproxy, as a corporate network would.

load helpers/common
load helpers/tunnel
load helpers/proxy

setup() {
	tun_setup
	netns_proxy_only
	sshd_start
	edge_start
	token_add lab1
}

teardown() {
	tun_teardown
}

@test "without the proxy the lab cannot reach the edge" {
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22"
	daemon_bg pub "$NS_LAB" "$B0_BUILD/b0-publish" -f "$T/pub.conf"
	wait_for 10 log_has pub "^b0-publish: cannot reach the edge $EDGE_IP:443: connect to $EDGE_IP: Connection refused; retrying in [0-9.]+s$"
	running pub
}

@test "through tinyproxy (proxy http://host:port) the tunnel works" {
	proxy_start
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22" \
	    "proxy http://$GW_LAN_IP:$PROXY_PORT"
	pub_start pub
	run vis_ssh "$(pub_port pub ssh)" 'echo via proxy'
	assert_success
	assert_output "via proxy"
	# Control and data channels all went through the proxy.
	grep -E "CONNECT.*$EDGE_IP:443" "$T/tinyproxy.log"
	[ "$(grep -cE "Established connection to host \"$EDGE_IP\"" "$T/tinyproxy.log")" -ge 2 ]
	log_has edge "publisher lab1 connected from $GW_WAN_IP:"
}

@test "through tinyproxy with BasicAuth (http://user:pass@host:port)" {
	proxy_start b0user 's3cret-Pw'
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22" \
	    "proxy http://b0user:s3cret-Pw@$GW_LAN_IP:$PROXY_PORT"
	pub_start pub
	run vis_ssh "$(pub_port pub ssh)" 'echo via proxy with auth'
	assert_success
	assert_output "via proxy with auth"
	# The password is in no log and on no command line.
	! grep -F 's3cret-Pw' "$T"/pub.log "$T"/edge.log "$T"/pub.out
	! grep -aF 's3cret-Pw' "/proc/$(cat "$T/pub.pid")/cmdline"
}

@test "a wrong proxy password: a clear error line per attempt" {
	proxy_start b0user 's3cret-Pw'
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22" \
	    "proxy http://b0user:wrong@$GW_LAN_IP:$PROXY_PORT"
	daemon_bg pub "$NS_LAB" "$B0_BUILD/b0-publish" -f "$T/pub.conf"
	msg="^b0-publish: cannot reach the edge $EDGE_IP:443: proxy $GW_LAN_IP:$PROXY_PORT refused CONNECT: HTTP/1\.[01] 40[17] [A-Za-z ]+ \(wrong or missing proxy credentials\); retrying in [0-9.]+s$"
	wait_for 10 eval '[ "$(log_count pub "$msg")" -ge 2 ]'
	[ "$(grep -cvE "$msg" "$T/pub.log")" -eq 0 ]
	! grep -F wrong "$T/pub.log"
	! log_has edge "publisher lab1 connected"
}

@test "a proxy password in a world-readable configuration is refused (78)" {
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22" \
	    "proxy http://b0user:s3cret-Pw@$GW_LAN_IP:$PROXY_PORT"
	chmod 644 "$T/pub.conf"
	run in_lab timeout 10 "$B0_BUILD/b0-publish" -f "$T/pub.conf"
	assert_failure 78
	assert_output "b0-publish: $T/pub.conf: holds a proxy password but anyone can read it; run: chmod o-r $T/pub.conf"
}
