#!/usr/bin/env bats
# What the operator sees when something is wrong: bad configuration, a wrong
# or revoked token, a wrong edge certificate, an edge that is not there.
# Each gives one clear line; the publisher exits 78 (EX_CONFIG) when retrying
# cannot help and retries (with backoff) when it can.

load helpers/common
load helpers/tunnel

setup() {
	tun_setup
	edge_start
	token_add lab1
}

teardown() {
	tun_teardown
}

# bad_pub LINE: $T/bad.conf with a good head and LINE as line 6.
bad_pub() {
	pub_conf bad "$T/lab1.token" "$1"
}

# The publisher on $T/bad.conf, in the lab, bounded; also with -t.
run_bad() {
	run in_lab timeout 10 "$B0_BUILD/b0-publish" -f "$T/bad.conf"
	echo "status $status: $output"
	[ "$status" -eq "$1" ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "$2" ]
	run in_lab timeout 10 "$B0_BUILD/b0-publish" -t -f "$T/bad.conf"
	[ "$status" -eq "$1" ]
	[ "$output" = "$2" ]
}

@test "b0-publish: a bad configuration is one line 'file:line: message' and status 78" {
	bad_pub "frobnicate yes"
	run_bad 78 "b0-publish: $T/bad.conf:6: unknown keyword \"frobnicate\""
	bad_pub "socket ssh tcp/22/alice@example.com"
	run_bad 78 "b0-publish: $T/bad.conf:6: tcp/22/alice@example.com: a tcp socket carries no identity, so it takes no allow list; for an identity-aware stream write tls/22/alice@example.com"
	bad_pub "socket ssh tcp/99999"
	run_bad 78 "b0-publish: $T/bad.conf:6: tcp/99999: the port 99999 is out of range: ports go from 1 to 65535"
	bad_pub "socket ssh tcp/22 not-a-hostport"
	run_bad 78 "b0-publish: $T/bad.conf:6: socket ssh: target \"not-a-hostport\" is not HOST:PORT (like 127.0.0.1:22, lab-r1:22, [::1]:22)"
	# The edge never heard of it.
	! log_has edge "connected from"
}

@test "b0-publish: a socket option it does not know (http/3000 colour=red) is refused by name, status 78" {
	bad_pub "socket web http/3000 colour=red"
	run_bad 78 "b0-publish: $T/bad.conf:6: socket web: unknown option \"colour\" (protected, password-file, host, tls-ca, tls-name, tls-verify)"
}

@test "b0-edge: a bad configuration is one line 'file:line: message' and status 1" {
	edge_conf "frobnicate yes"
	run in_edge timeout 10 "$B0_BUILD/b0-edge" -f "$T/edge.conf"
	assert_failure 1
	assert_output "b0-edge: $T/edge.conf:10: unknown keyword \"frobnicate\""
	run in_edge timeout 10 "$B0_BUILD/b0-edge" -t -f "$T/edge.conf"
	assert_failure 1
	assert_output "b0-edge: $T/edge.conf:10: unknown keyword \"frobnicate\""
	edge_conf "pool-max 0"
	run in_edge timeout 10 "$B0_BUILD/b0-edge" -t -f "$T/edge.conf"
	assert_failure 1
	assert_output "b0-edge: $T/edge.conf:10: pool-max: \"0\" is not a whole number from 1 to 4096"
}

@test "a wrong token: one error line, status 78, no retry" {
	printf 'b0pt.lab1.%s\n' "$(head -c 32 /dev/urandom | base64 | tr -d '=+/' | cut -c1-43)" >"$T/wrong.token"
	chmod 600 "$T/wrong.token"
	pub_conf pub "$T/wrong.token" "socket ssh tcp/22"
	daemon_bg pub "$NS_LAB" "$B0_BUILD/b0-publish" -f "$T/pub.conf"
	wait_exit pub 10
	assert_equal "$status" 78
	run cat "$T/pub.log"
	assert_output "b0-publish: the edge $EDGE_IP:443 refused us: publisher token not accepted (unknown or revoked) (auth)"
	wait_for 5 log_has edge "$GW_WAN_IP:[0-9]+: publisher token refused \(unknown or revoked\)"
	# The secret is in no log.
	! grep -F "$(cut -d. -f3 "$T/wrong.token")" "$T"/*.log
}

@test "a revoked token: one error line, status 78" {
	run timeout 10 b0-edge -f "$T/edge.conf" token revoke lab1
	assert_success
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22"
	daemon_bg pub "$NS_LAB" "$B0_BUILD/b0-publish" -f "$T/pub.conf"
	wait_exit pub 10
	assert_equal "$status" 78
	run cat "$T/pub.log"
	assert_output "b0-publish: the edge $EDGE_IP:443 refused us: publisher token not accepted (unknown or revoked) (auth)"
}

@test "a wrong edge certificate (another CA): the publisher keeps retrying with backoff" {
	mkdir "$T/other"
	b0_pki "$T/other" "$EDGE_IP"
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22"
	sed -i "s|^edge-ca .*|edge-ca $T/other/ca.crt|" "$T/pub.conf"
	daemon_bg pub "$NS_LAB" "$B0_BUILD/b0-publish" -f "$T/pub.conf"
	msg="^b0-publish: cannot reach the edge $EDGE_IP:443: TLS with the edge: certificate verify failed: unable to get local issuer certificate \(expected edge\.test\); retrying in [0-9]+\.[0-9]s$"
	wait_for 10 eval '[ "$(log_count pub "$msg")" -ge 3 ]'
	running pub
	# Every line is such a warning, one per attempt.
	[ "$(grep -cvE "$msg" "$T/pub.log")" -eq 0 ]
	# Backoff: 0.5 s doubling, half of it random.
	mapfile -t d < <(sed -n 's/.*retrying in \([0-9.]*\)s$/\1/p' "$T/pub.log")
	echo "delays: ${d[*]}"
	awk -v a="${d[0]}" -v b="${d[1]}" -v c="${d[2]}" 'BEGIN {
		exit !(a >= 0.2 && a <= 0.5 && b >= 0.5 && b <= 1.0 && c >= 1.0 && c <= 2.0) }'
	pub_state_is pub "waiting to reconnect" || pub_state_is pub connecting
	log_has edge "$GW_WAN_IP:[0-9]+: TLS handshake failed: peer sent TLS alert: unknown CA"
	! log_has edge "publisher lab1 connected"
}

@test "an edge that is not there: the publisher retries, then connects by itself" {
	tun_stop edge
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22"
	daemon_bg pub "$NS_LAB" "$B0_BUILD/b0-publish" -f "$T/pub.conf"
	wait_for 10 log_has pub "^b0-publish: cannot reach the edge $EDGE_IP:443: connect to $EDGE_IP: Connection refused; retrying in [0-9]+\.[0-9]s$"
	running pub
	edge_start
	wait_for 40 pub_state_is pub up
	log_has pub "connected to the edge $EDGE_IP:443 as publisher lab1"
}

@test "two publishers cannot take each other's names or ports" {
	token_add lab2
	pub_conf pub1 "$T/lab1.token" "socket ssh tcp/22" "socket web tcp/80"
	pub_conf pub2 "$T/lab2.token" "socket ssh tcp/22" "socket web tcp/80"
	pub_start pub1
	pub_start pub2
	run edge_json
	echo "$output" | jq -e '[.sockets[].dns] | sort == ["ssh-lab1.edge.test", "ssh-lab2.edge.test", "web-lab1.edge.test", "web-lab2.edge.test"]'
	echo "$output" | jq -e '[.sockets[].port] | unique | length == 4'
	ports1=$(pub_json pub1 | jq -c '[.sockets[].port]')
	# A second b0-publish with lab1's token cannot take its sockets.
	pub_conf pub1b "$T/lab1.token" "socket ssh tcp/22"
	pub_start pub1b
	wait_for 5 log_has pub1b "socket ssh \(tcp/22\) refused by the edge: socket ssh is served by another b0-publish of lab1 \(connected from $GW_WAN_IP:[0-9]+\)"
	pub_json pub1b | jq -e '.sockets[0] | has("error") and (has("port") | not)'
	run timeout 10 b0-publish -f "$T/pub1b.conf" ls
	assert_line --regexp "^ssh +\(refused by the edge\) +- +tcp"
	tun_stop pub1b
	[ "$(pub_json pub1 | jq -c '[.sockets[].port]')" = "$ports1" ]
	# While lab1 is away its ports stay its own: lab2's new socket gets
	# another one.
	tun_stop pub1
	pub_conf pub2 "$T/lab2.token" "socket ssh tcp/22" "socket web tcp/80" \
	    "socket db tcp/5432"
	kill -HUP "$(cat "$T/pub2.pid")"
	wait_for 5 eval 'pub_json pub2 | jq -e ".sockets[2].port" >/dev/null'
	db=$(pub_port pub2 db)
	echo "lab1: $ports1, lab2's db: $db"
	echo "$ports1" | jq -e --argjson db "$db" 'index($db) == null'
	pub_start pub1
	[ "$(pub_json pub1 | jq -c '[.sockets[].port]')" = "$ports1" ]
}

@test "a socket whose DNS label would collide, or is too long, is refused with a message" {
	# ssh-a (of lab1) and ssh (of a-lab1) are both ssh-a-lab1.edge.test.
	token_add a-lab1
	long=p2345678901234567890123456789012
	token_add "$long"
	pub_conf pub1 "$T/lab1.token" "socket ssh-a tcp/22"
	pub_conf pub2 "$T/a-lab1.token" "socket ssh tcp/22" "socket web tcp/80"
	pub_conf pub3 "$T/$long.token" "socket s234567890123456789012345678901 tcp/22" "socket ok tcp/23"
	pub_start pub1
	pub_start pub2
	pub_start pub3
	log_has pub2 "^b0-publish: socket ssh \(tcp/22\) refused by the edge: the name ssh-a-lab1\.edge\.test is taken by socket ssh-a of publisher lab1$"
	log_has pub2 "registered 1 of 2 sockets"
	log_has edge "publisher a-lab1: socket ssh \(tcp/22\) refused: the name ssh-a-lab1\.edge\.test is taken"
	pub_json pub2 | jq -e '.sockets[1].dns == "web-a-lab1.edge.test"'
	log_has pub3 "socket s234567890123456789012345678901 \(tcp/22\) refused by the edge: the DNS label s234567890123456789012345678901-$long is longer than 63 characters; use a shorter socket name"
	pub_json pub3 | jq -e ".sockets[1].dns == \"ok-$long.edge.test\""
	# The first holder keeps its name.
	edge_json | jq -e '[.sockets[] | select(.dns == "ssh-a-lab1.edge.test") | .publisher] == ["lab1"]'
}

@test "the edge runs unprivileged after binding port 443" {
	pid=$(cat "$T/edge.pid")
	grep -E '^(Uid|Gid|Groups|CapEff)' "/proc/$pid/status"
	grep -qE "^Uid:\s+65534\s+65534\s+65534\s+65534$" "/proc/$pid/status"
	grep -qE "^Gid:\s+65534\s+65534\s+65534\s+65534$" "/proc/$pid/status"
	grep -qE "^CapEff:\s+0+$" "/proc/$pid/status"
	! grep -qE "^Groups:.*\b0\b" "/proc/$pid/status"
	in_edge ss -Hltnp | grep -E ":443 .*pid=$pid,"
	# Its state is the unprivileged user's.
	[ "$(stat -c %U "$T/edge-state")" = nobody ]
	[ "$(stat -c %U "$T/edge-state/tokens")" = nobody ]
	! log_has edge "running as root"
	# And it serves.
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22"
	pub_start pub
}

@test "SIGHUP with a broken configuration keeps the old one; a good one applies" {
	sshd_start
	pub_conf pub "$T/lab1.token" "socket ssh tcp/22"
	pub_start pub
	port=$(pub_port pub ssh)
	edge_conf "frobnicate yes"
	kill -HUP "$(cat "$T/edge.pid")"
	wait_for 5 log_has edge "reload failed, keeping the running configuration: $T/edge.conf:10: unknown keyword \"frobnicate\""
	edge_conf "certificate $T/nonexistent.crt"
	kill -HUP "$(cat "$T/edge.pid")"
	wait_for 5 eval '[ "$(log_count edge "reload failed, keeping the running configuration")" -eq 2 ]'
	running edge
	# Still serving: the publisher stayed, visitors get through.
	run vis_ssh "$port" 'echo still here'
	assert_success
	assert_output "still here"
	assert_equal "$(log_count pub "connected to the edge")" 1
	# A good configuration applies (as the unprivileged user).
	edge_conf "log-level debug"
	kill -HUP "$(cat "$T/edge.pid")"
	wait_for 5 log_has edge "configuration reloaded from $T/edge.conf"
	run vis_ssh "$port" 'echo after reload'
	assert_success
	assert_output "after reload"
}
