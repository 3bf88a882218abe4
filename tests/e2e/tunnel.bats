#!/usr/bin/env bats
# The tunnel's data path with real parts: a visitor's ssh and scp reach
# Debian's sshd in a lab that nobody can connect to, through b0-edge and
# b0-publish (helpers/netns.bash draws the network).

load helpers/common
load helpers/tunnel

setup() {
	tun_setup
	sshd_start
	# sha256sum answers only after reading its input to the end.
	DAEMON_KIND=other daemon_bg sha "$NS_LAB" \
	    socat TCP-LISTEN:7000,bind=127.0.0.1,reuseaddr,fork \
	    EXEC:sha256sum
	# cat echoes; rev answers "ready", closes its side, then counts what
	# the visitor still sends.
	DAEMON_KIND=other daemon_bg echo "$NS_LAB" \
	    socat TCP-LISTEN:7001,bind=127.0.0.1,reuseaddr,fork EXEC:cat
	DAEMON_KIND=other daemon_bg rev "$NS_LAB" \
	    socat -t 30 TCP-LISTEN:7002,bind=127.0.0.1,reuseaddr,fork \
	    SYSTEM:"echo ready; exec >&-; wc -c >$T/rev.count"
	wait_for 10 lab_port_open 7000
	wait_for 10 lab_port_open 7001
	# abort reads 100000 bytes, then resets the connection.
	DAEMON_KIND=other daemon_bg abort "$NS_LAB" \
	    /usr/bin/python3 "$BATS_TEST_DIRNAME/helpers/tcpabort.py" \
	    server 7003 100000
	wait_for 10 lab_port_open 7002
	wait_for 10 lab_port_open 7003
	edge_start
	token_add lab1
	pub_conf pub "$T/lab1.token" \
	    "socket ssh tcp/22" \
	    "socket sha tcp/7000 127.0.0.1:7000" \
	    "socket echo tcp/7001 127.0.0.1:7001" \
	    "socket rev tcp/7002 127.0.0.1:7002" \
	    "socket abort tcp/7003"
	pub_start pub
	SSH_PORT=$(pub_port pub ssh)
	SHA_PORT=$(pub_port pub sha)
	ECHO_PORT=$(pub_port pub echo)
	REV_PORT=$(pub_port pub rev)
	ABORT_PORT=$(pub_port pub abort)
}

# vis_tcp PORT: a raw TCP client in the visitor namespace; stdin goes up
# (then its write side is shut down), what comes back goes to stdout.
vis_tcp() {
	in_vis timeout 60 socat -t 30 -T 30 - TCP:"$EDGE_VIS_IP":"$1"
}

# The edge's view of publisher lab1 (ls --json).
edge_pub() {
	edge_json | jq -e ".publishers[] | select(.name == \"lab1\") | $1"
}

teardown() {
	tun_teardown
}

@test "the lab is out of reach: edge and visitor cannot connect to its sshd" {
	# sshd is up, and the lab reaches it on its own address...
	run in_lab timeout 5 socat -T 3 -u TCP:"$LAB_IP":22 -
	assert_success
	assert_output --partial "SSH-2.0-OpenSSH"
	# ...but from the edge (which has a route) and the visitor, nothing.
	run in_edge timeout 5 socat -T 3 -u TCP:"$LAB_IP":22,connect-timeout=2 -
	assert_failure
	refute_output --partial "SSH-2.0"
	run in_vis timeout 5 socat -T 3 -u TCP:"$LAB_IP":22,connect-timeout=2 -
	assert_failure
	refute_output --partial "SSH-2.0"
}

@test "ssh through the edge's tcp port logs into the lab's sshd" {
	[ "$SSH_PORT" -ge "$PORT_LO" ] && [ "$SSH_PORT" -le "$PORT_HI" ]
	run vis_ssh "$SSH_PORT" \
	    'echo "user=$(id -un)"; ip -4 -o addr show dev lan0'
	assert_success
	assert_line "user=root"
	# lan0 exists only in the lab namespace.
	assert_output --partial "inet $LAB_IP/24"
	grep -q "Accepted publickey for root from 127.0.0.1" "$T/sshd.log"
}

@test "a 64 MiB random file goes both ways with equal sha256" {
	head -c 64M /dev/urandom >"$T/up.bin"
	head -c 64M /dev/urandom >"$T/down.bin"
	# Up with scp (SFTP), down with ssh cat.
	SSH_TIMEOUT=120 run vis_scp -P "$SSH_PORT" "$T/up.bin" \
	    "root@$EDGE_VIS_IP:$T/up.lab"
	assert_success
	SSH_TIMEOUT=120 vis_ssh "$SSH_PORT" "cat $T/down.bin" >"$T/down.got"
	[ "$(sha256sum <"$T/up.lab")" = "$(sha256sum <"$T/up.bin")" ]
	[ "$(sha256sum <"$T/down.got")" = "$(sha256sum <"$T/down.bin")" ]
	# And the other way round: ssh cat up, scp down.
	SSH_TIMEOUT=120 vis_ssh "$SSH_PORT" "cat >$T/up2.lab" <"$T/down.bin"
	SSH_TIMEOUT=120 run vis_scp -P "$SSH_PORT" \
	    "root@$EDGE_VIS_IP:$T/up.bin" "$T/down2.got"
	assert_success
	[ "$(sha256sum <"$T/up2.lab")" = "$(sha256sum <"$T/down.bin")" ]
	[ "$(sha256sum <"$T/down2.got")" = "$(sha256sum <"$T/up.bin")" ]
}

@test "half-close: a command that reads to EOF and then answers gets through" {
	head -c 3000000 /dev/urandom >"$T/in.bin"
	run vis_ssh "$SSH_PORT" 'wc -c' <"$T/in.bin"
	assert_success
	assert_output "3000000"
	# Raw TCP: the visitor shuts down its write side, the target (which
	# reads to EOF) answers, the answer comes back.
	run vis_tcp "$SHA_PORT" <"$T/in.bin"
	assert_success
	assert_output "$(sha256sum <"$T/in.bin")"
}

@test "half-close the other way: the target ends first, the visitor's upload still arrives" {
	head -c 3000000 /dev/urandom >"$T/in.bin"
	run vis_tcp "$REV_PORT" <"$T/in.bin"
	assert_success
	assert_output "ready"
	wait_for 10 test -s "$T/rev.count"
	assert_equal "$(cat "$T/rev.count")" 3000000
}

@test "full duplex: 64 MiB echoed while it is being sent" {
	head -c 64M /dev/urandom >"$T/in.bin"
	vis_tcp "$ECHO_PORT" <"$T/in.bin" >"$T/out.bin"
	[ "$(sha256sum <"$T/out.bin")" = "$(sha256sum <"$T/in.bin")" ]
	wait_for 5 log_has edge "socket echo-lab1\.edge\.test visitor $VIS_IP:[0-9]+: sent 67108864 received 67108864 duration [0-9.]+s: closed$"
}

@test "30 visitors at once all get their answers; no stream or channel is left behind" {
	pids=()
	for i in $(seq 1 30); do
		head -c $((100000 + i)) /dev/urandom >"$T/in.$i"
		vis_tcp "$SHA_PORT" <"$T/in.$i" >"$T/out.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 1 30); do
		[ "$(cat "$T/out.$i")" = "$(sha256sum <"$T/in.$i")" ] || {
			echo "visitor $i got: $(cat "$T/out.$i")"
			return 1
		}
	done
	wait_for 5 edge_pub '.streams_open == 0 and .waiting == 0'
	edge_pub '.streams_total == 30 and .idle_channels >= 1'
	[ "$(log_count edge "socket sha-lab1\.edge\.test visitor .*: closed$")" -eq 30 ]
}

@test "a visitor that vanishes mid-transfer is reset; the tunnel stays usable" {
	head -c 64M /dev/urandom >"$T/big.bin"
	# Reads 1 MB of 64 and goes away (ssh dies of SIGPIPE).
	SSH_TIMEOUT=30 vis_ssh "$SSH_PORT" "cat $T/big.bin" | head -c 1000000 >/dev/null || true
	wait_for 10 log_has edge "socket ssh-lab1\.edge\.test visitor $VIS_IP:[0-9]+: sent [0-9]+ received [0-9]+ duration [0-9.]+s: [a-z]"
	wait_for 10 edge_pub '.streams_open == 0'
	# An upload whose ssh is killed.
	n=$(log_count sshd "Starting session: command for root")
	_ssh_opts
	ip netns exec "$NS_VIS" ssh "${SSH_OPTS[@]}" -p "$SSH_PORT" \
	    "root@$EDGE_VIS_IP" 'cat >/dev/null' <"$T/big.bin" &
	up=$!
	wait_for 10 eval '[ "$(log_count sshd "Starting session: command for root")" -gt "$n" ]'
	kill -KILL "$up"
	wait "$up" || true
	wait_for 10 eval '[ "$(log_count edge "socket ssh-lab1.* duration ")" -eq 2 ]'
	wait_for 10 edge_pub '.streams_open == 0'
	grep "socket ssh-lab1.* duration " "$T/edge.log"
	run vis_ssh "$SSH_PORT" 'echo alive'
	assert_success
	assert_output "alive"
	run vis_tcp "$SHA_PORT" <"$T/big.bin"
	assert_output "$(sha256sum <"$T/big.bin")"
}

@test "an abort (TCP reset) travels end to end, both ways" {
	# The visitor resets while the echo target still sends.
	run in_vis timeout 30 /usr/bin/python3 \
	    "$BATS_TEST_DIRNAME/helpers/tcpabort.py" client "$EDGE_VIS_IP" \
	    "$ECHO_PORT" 500000
	assert_output "reset sent"
	wait_for 5 log_has edge "socket echo-lab1\.edge\.test visitor $VIS_IP:[0-9]+: sent [0-9]+ received [0-9]+ duration [0-9.]+s: .*reset"
	# The target resets: the visitor sees a reset, not a clean end.
	run in_vis timeout 30 /usr/bin/python3 \
	    "$BATS_TEST_DIRNAME/helpers/tcpabort.py" read "$EDGE_VIS_IP" \
	    "$ABORT_PORT" 100000
	assert_output "reset"
	wait_for 5 log_has edge "socket abort-lab1\.edge\.test visitor $VIS_IP:[0-9]+: sent 100000 received 0 duration [0-9.]+s: reset by peer"
	grep -E "socket (echo|abort)-lab1" "$T/edge.log"
	# Nothing is left behind and the next visitors are served.
	wait_for 5 edge_pub '.streams_open == 0'
	echo hello >"$T/hello"
	run vis_tcp "$ECHO_PORT" <"$T/hello"
	assert_output "hello"
}

@test "b0-publish ls --json is valid JSON and matches what b0-edge ls --json serves" {
	run pub_json pub
	assert_success
	echo "$output" | jq -e . >/dev/null
	pub=$(echo "$output" | jq -cS '[.sockets[] | {name, spec, dns, port}] | sort_by(.name)')
	run edge_json
	assert_success
	echo "$output" | jq -e . >/dev/null
	edge=$(echo "$output" | jq -cS '[.sockets[] | select(.publisher == "lab1") | {name, spec, dns, port}] | sort_by(.name)')
	echo "publisher: $pub"
	echo "edge:      $edge"
	[ "$pub" = "$edge" ]
	[ "$(echo "$pub" | jq length)" -eq 5 ]
	echo "$pub" | jq -e 'map(select(.name == "ssh"))[0] | .dns == "ssh-lab1.edge.test" and .spec == "tcp/22"'
	echo "$pub" | jq -e 'map(select(.name == "sha"))[0] | .dns == "sha-lab1.edge.test" and .spec == "tcp/7000"'
	echo "$pub" | jq -e "all(.port >= $PORT_LO and .port <= $PORT_HI)"
	echo "$pub" | jq -e 'map(.port) | unique | length == 5'
	edge_json | jq -e '[.sockets[] | .online] | all'
	pub_json pub | jq -e '.state == "up" and .publisher == "lab1"'
	# The table says the same.
	run timeout 10 b0-publish -f "$T/pub.conf" ls
	assert_success
	assert_line --regexp "^ssh +ssh-lab1\.edge\.test +$SSH_PORT +tcp +anyone +127\.0\.0\.1:22 *$"
}

@test "the edge logs one line per visitor connection: socket, visitor, bytes, duration, end" {
	head -c 12345 /dev/urandom >"$T/in.bin"
	for i in 1 2 3; do
		vis_tcp "$SHA_PORT" <"$T/in.bin" >/dev/null
	done
	vis_ssh "$SSH_PORT" true
	line="socket sha-lab1\.edge\.test visitor $VIS_IP:[0-9]+: sent 12345 received 68 duration [0-9]+\.[0-9]{3}s: closed$"
	wait_for 5 eval '[ "$(log_count edge "$line")" -eq 3 ]'
	wait_for 5 log_has edge "socket ssh-lab1\.edge\.test visitor $VIS_IP:[0-9]+: sent [1-9][0-9]* received [1-9][0-9]* duration [0-9.]+s: closed$"
	[ "$(log_count edge "socket [a-z0-9.-]+ visitor $VIS_IP:[0-9]+: sent ")" -eq 4 ]
}
