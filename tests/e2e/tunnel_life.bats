#!/usr/bin/env bats
# The tunnel across restarts, crashes and revocations: what a visitor sees
# and what the logs say.

load helpers/common
load helpers/tunnel

setup() {
	tun_setup
	sshd_start
	edge_start
	token_add lab1
	pub_conf pub "$T/lab1.token" \
	    "socket ssh tcp/22" \
	    "socket dead tcp/7999 127.0.0.1:7999"
	pub_start pub
	SSH_PORT=$(pub_port pub ssh)
}

teardown() {
	tun_teardown
}

# The sockets as the publisher sees them: name, spec, dns, port.
pub_socks() {
	pub_json pub | jq -cS '[.sockets[] | {name, spec, dns, port}] | sort_by(.name)'
}

edge_socks() {
	edge_json | jq -cS '[.sockets[] | select(.publisher == "lab1" and .online) | {name, spec, dns, port}] | sort_by(.name)'
}

socks_are() {
	[ "$(pub_socks 2>/dev/null)" = "$1" ] && pub_state_is pub up
}

# visit PORT: connect from the visitor, send nothing, wait for the close;
# $elapsed is how long the edge took to close it (ms), $output what came.
visit() {
	local t0
	t0=$(ms_now)
	run in_vis timeout 30 socat -T 25 -u TCP:"$EDGE_VIS_IP":"$1" -
	elapsed=$(($(ms_now) - t0))
	echo "closed after ${elapsed} ms (status $status)"
}

@test "the edge restarts: the publisher reconnects by itself, same names and ports" {
	before=$(pub_socks)
	echo "before: $before"
	echo "$before" | jq -e 'length == 2 and all(.port > 0)'
	tun_stop edge
	wait_for 5 log_has pub "connection to the edge $EDGE_IP:443 lost: .*; retrying in [0-9.]+s"
	edge_start
	wait_for 15 socks_are "$before"
	[ "$(edge_socks)" = "$before" ]
	assert_equal "$(log_count pub "connected to the edge $EDGE_IP:443 as publisher lab1")" 2
	run vis_ssh "$SSH_PORT" 'echo back'
	assert_success
	assert_output "back"
}

@test "the publisher restarts: same names and ports" {
	before=$(pub_socks)
	tun_stop pub
	wait_for 5 log_has edge "publisher lab1 disconnected .*: closed by publisher"
	# While it is away the sockets stay reserved (offline).
	edge_json | jq -e '[.sockets[] | select(.publisher == "lab1") | .online] == [false, false]'
	pub_start pub
	wait_for 10 socks_are "$before"
	[ "$(edge_socks)" = "$before" ]
	run vis_ssh "$SSH_PORT" 'echo back'
	assert_success
	assert_output "back"
}

@test "the publisher is killed: new visitors are closed at once, the edge says why" {
	tun_kill9 pub
	# At once, before or after the edge noticed: never a hang.
	visit "$SSH_PORT"
	assert_output ""
	[ "$elapsed" -lt 2000 ]
	wait_for 5 log_has edge "publisher lab1 disconnected \(.*\): "
	visit "$SSH_PORT"
	assert_output ""
	[ "$elapsed" -lt 2000 ]
	log_has edge "socket ssh-lab1\.edge\.test visitor $VIS_IP:[0-9]+: refused: publisher lab1 is not connected"
	# ssh says the same in its own words, promptly.
	t0=$(ms_now)
	SSH_TIMEOUT=10 run vis_ssh "$SSH_PORT" true
	assert_equal "$status" 255
	[ $(($(ms_now) - t0)) -lt 2000 ]
}

@test "the target refuses: the visitor is closed at once, the publisher says why" {
	visit "$(pub_port pub dead)"
	assert_output ""
	[ "$elapsed" -lt 2000 ]
	wait_for 5 log_has pub "socket dead visitor $VIS_IP:[0-9]+: connect 127\.0\.0\.1:7999: Connection refused"
	wait_for 5 log_has edge "socket dead-lab1\.edge\.test visitor $VIS_IP:[0-9]+: sent 0 received 0 duration [0-9.]+s: reset by peer: connect 127\.0\.0\.1:7999: Connection refused"
	# The channel is usable again: ssh still works.
	run vis_ssh "$SSH_PORT" 'echo fine'
	assert_success
	assert_output "fine"
}

@test "revoking the token cuts an open ssh session and stops the publisher (78)" {
	vis_ssh "$SSH_PORT" 'echo started; exec sleep 60' >"$T/session.out" 2>&1 &
	ssh_pid=$!
	wait_for 10 grep -q started "$T/session.out"
	run timeout 10 b0-edge -f "$T/edge.conf" token revoke lab1
	assert_success
	t0=$(ms_now)
	wait_for 5 bash -c "! kill -0 $ssh_pid 2>/dev/null"
	echo "session cut after $(($(ms_now) - t0)) ms"
	st=0
	wait "$ssh_pid" || st=$?
	assert_equal "$st" 255
	wait_exit pub 5
	assert_equal "$status" 78
	log_has edge "publisher lab1: token revoked; cutting its tunnels"
	# One error line, saying why, and nothing after it.
	run tail -n 1 "$T/pub.log"
	assert_output "b0-publish: the edge $EDGE_IP:443 refused us: the publisher token was revoked (revoked)"
	# The sockets are refused to visitors now.
	visit "$SSH_PORT"
	assert_output ""
	[ "$elapsed" -lt 2000 ]
}

@test "the lab's network goes down: visitors are closed within seconds, the tunnel comes back" {
	netns_cut
	# Before the edge notices (3 heartbeats of 1 s): closed, not hung.
	visit "$SSH_PORT"
	assert_output ""
	[ "$elapsed" -lt 6000 ]
	wait_for 6 log_has edge "publisher lab1 disconnected \(.*\): no heartbeat for 3 s"
	visit "$SSH_PORT"
	assert_output ""
	[ "$elapsed" -lt 2000 ]
	log_has edge "socket ssh-lab1\.edge\.test visitor $VIS_IP:[0-9]+: refused: publisher lab1 is not connected"
	wait_for 6 log_has pub "connection to the edge $EDGE_IP:443 lost: no heartbeat for 3 s; retrying in"
	netns_heal
	wait_for 30 eval '[ "$(log_count pub "connected to the edge $EDGE_IP:443 as publisher lab1")" -eq 2 ]'
	wait_for 5 pub_state_is pub up
	run vis_ssh "$SSH_PORT" 'echo back'
	assert_success
	assert_output "back"
}

@test "the lab host crashes and comes back at once: the publisher gets its sockets back" {
	before=$(pub_socks)
	# A crash: the process is gone and its connections go silent (no FIN,
	# no RST reaches the edge), so the edge still holds the old session.
	pid=$(cat "$T/pub.pid")
	for p in $(in_lab ss -Htn state established "dst $EDGE_IP:443" |
	    awk '{ split($3, a, ":"); print a[2] }'); do
		in_gw nft add rule inet b0gw cut tcp sport "$p" drop
		in_gw nft add rule inet b0gw cut tcp dport "$p" drop
	done
	tun_kill9 pub
	pub_start pub
	# The old session holds the sockets until its heartbeats run out...
	wait_for 10 log_has edge "publisher lab1 disconnected \(.*\): no heartbeat for 3 s"
	# ...then the new one gets them back by itself.
	wait_for 15 socks_are "$before"
	[ "$(edge_socks)" = "$before" ]
	run vis_ssh "$SSH_PORT" 'echo back'
	assert_success
	assert_output "back"
}

@test "the control channel drops: an open ssh session goes on, the publisher reconnects" {
	mkfifo "$T/in.fifo"
	vis_ssh "$SSH_PORT" 'while read -r l; do echo "got $l"; done' \
	    <"$T/in.fifo" >"$T/session.out" 2>&1 &
	ssh_pid=$!
	exec 7>"$T/in.fifo"
	echo one >&7
	wait_for 10 grep -q "got one" "$T/session.out"
	# Abort the control connection on the edge (a reset, as a middlebox
	# that lost its state would send).
	peer=$(edge_json | jq -r '.publishers[0].peer')
	in_edge ss -K dst "${peer%:*}" dport = ":${peer##*:}"
	wait_for 5 log_has edge "publisher lab1 disconnected \(.*\): .*; 1 stream continue until they end"
	echo two >&7
	wait_for 10 grep -q "got two" "$T/session.out"
	wait_for 10 eval '[ "$(log_count pub "connected to the edge $EDGE_IP:443 as publisher lab1")" -eq 2 ]'
	echo three >&7
	wait_for 10 grep -q "got three" "$T/session.out"
	exec 7>&-
	wait "$ssh_pid"
	wait_for 5 log_has edge "socket ssh-lab1\.edge\.test visitor $VIS_IP:[0-9]+: sent [0-9]+ received [0-9]+ duration [0-9.]+s: closed$"
	run vis_ssh "$SSH_PORT" 'echo new session'
	assert_output "new session"
}

@test "the edge stops: an open ssh session is cut at once, not left hanging" {
	vis_ssh "$SSH_PORT" 'echo started; exec sleep 60' >"$T/session.out" 2>&1 &
	ssh_pid=$!
	wait_for 10 grep -q started "$T/session.out"
	tun_stop edge
	t0=$(ms_now)
	wait_for 5 bash -c "! kill -0 $ssh_pid 2>/dev/null"
	echo "session ended $(($(ms_now) - t0)) ms after the edge stopped"
	log_has edge "publisher lab1 disconnected \(.*\): the edge is shutting down; 1 stream cut"
}

@test "idle data channels expire on the edge and are replaced: visitors do not notice" {
	tun_stop pub
	tun_stop edge
	edge_conf "channel-idle 1s" "log-level debug"
	edge_start
	pub_start pub
	wait_for 10 eval '[ "$(log_count edge "idle data channel expired")" -ge 8 ]'
	pub_state_is pub up
	for i in 1 2 3; do
		run vis_ssh "$SSH_PORT" "echo visit $i"
		assert_output "visit $i"
	done
	edge_json | jq -e '.publishers[0].idle_channels >= 1 and .publishers[0].streams_open == 0'
}

@test "b0-publish connect publishes one port until Ctrl-C, then removes it" {
	tun_stop pub
	daemon_bg quick "$NS_LAB" "$B0_BUILD/b0-publish" connect --port 22 \
	    --edge "$EDGE_IP:443" --token-file "$T/lab1.token" \
	    --edge-ca "$T/ca.crt"
	wait_for 10 eval 'edge_json | jq -e ".sockets[] | select(.name == \"p22\" and .online)" >/dev/null'
	port=$(edge_json | jq -r '.sockets[] | select(.name == "p22") | .port')
	wait_for 5 grep -qE "^p22 +p22-lab1\.edge\.test +$port +tcp +anyone +127\.0\.0\.1:22" "$T/quick.out"
	run vis_ssh "$port" 'echo quick share'
	assert_output "quick share"
	kill -INT "$(cat "$T/quick.pid")"
	wait_exit quick 10
	assert_equal "$status" 0
	log_has quick "sockets removed from the edge"
	edge_json | jq -e '[.sockets[] | select(.name == "p22")] == []'
	log_has edge "publisher lab1 removed socket p22-lab1\.edge\.test"
}
