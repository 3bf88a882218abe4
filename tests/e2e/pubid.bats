#!/usr/bin/env bats
# b0-publish keeps what pam_b0 needs (docs/pam.md): the edge's keys in a
# root-owned JWKS file, refreshed over the control channel (KEYS), and the
# identity socket that answers "ticket <ip> <port>" with the connection
# ticket of the stream whose target connection has that address.  A real
# edge and publisher; the visitor opens a tls stream with
# helpers/tlsconnect.py (b0-proxy's stand-in, as in tls_socket.bats) to a
# target that prints the client address it sees.

load helpers/common
load helpers/tunnel

bats_require_minimum_version 1.5.0

DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code
ISS=https://edge.test
TPORT=7100

setup() {
	tun_setup
	DAEMON_KIND=other daemon_bg target "$NS_LAB" \
	    python3 "$BATS_TEST_DIRNAME/helpers/peerecho.py" "$TPORT" "$T/peer"
	wait_for 10 lab_port_open "$TPORT"
	echo "pw of alice@example.com" | "$B0_BUILD/b0-edge" -f "$T/edge.conf" \
	    user add alice@example.com 2>>"$T/token.log"
	edge_start
	token_add lab1
	# It drops to nobody: the file and the socket stay root's all the same.
	pub_conf pub "$T/lab1.token" "log-level debug" "user nobody" \
	    "ticket-group adm" \
	    "socket t tls/$TPORT/alice@example.com 127.0.0.1:$TPORT"
	pub_start pub
	SOCK=$T/pub.tickets.sock
	JWKS=$T/pub.jwks.json
}

teardown() {
	exec 7>&- 2>/dev/null || true
	tun_teardown
}

c() {
	local jar=$1
	shift
	in_vis curl -sS --max-time 10 --cacert "$T/ca.crt" \
	    --resolve "edge.test:443:$EDGE_VIS_IP" -b "$jar" -c "$jar" "$@"
}

csrf() {
	grep -o 'name="csrf" value="[^"]*"' "$1" | head -1 |
	    sed 's/.*value="//; s/"$//'
}

# device_login EMAIL: as in tls_socket.bats; the token in $T/EMAIL.at.
device_login() {
	local email=$1 jar=$T/$1.jar d=$T/$1 dc uc loc req i
	c "$jar" -d client_id=b0-proxy "$ISS/device_authorization" >"$d.da"
	dc=$(jq -er .device_code "$d.da") || return 1
	uc=$(jq -er .user_code "$d.da") || return 1
	c "$jar" -o "$d.dev.html" "$ISS/device"
	c "$jar" -o /dev/null -D "$d.h" --data-urlencode "user_code=$uc" \
	    --data-urlencode "csrf=$(csrf "$d.dev.html")" "$ISS/device"
	loc=$(tr -d '\r' <"$d.h" | sed -n 's/^[Ll]ocation: //p')
	req=${loc#/login?req=}
	c "$jar" -o "$d.login.html" "$ISS$loc"
	c "$jar" -o "$d.confirm.html" --data-urlencode "email=$email" \
	    --data-urlencode "password=pw of $email" \
	    --data-urlencode "csrf=$(csrf "$d.login.html")" \
	    --data-urlencode "req=$req" "$ISS/login"
	c "$jar" -o "$d.done.html" --data-urlencode "user_code=$uc" \
	    -d action=approve --data-urlencode "csrf=$(csrf "$d.confirm.html")" \
	    "$ISS/device"
	for i in 1 2 3; do
		c "$jar" -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy \
		    -d device_code="$dc" "$ISS/token" >"$d.tok"
		jq -e .access_token "$d.tok" >/dev/null && break
		sleep 10.5
	done
	(umask 077 && jq -er .access_token "$d.tok" >"$d.at")
}

# q LINE...: ask the identity socket (as root, from the lab namespace:
# the socket is a file, namespaces do not matter).
q() {
	timeout 10 python3 "$BATS_TEST_DIRNAME/helpers/ticketq.py" "$SOCK" "$@"
}

# claims JWT: its payload as JSON.
claims() {
	local p
	p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
	while [ $((${#p} % 4)) -ne 0 ]; do p=$p=; done
	base64 -d <<<"$p"
}

jwks_kids() {
	jq -r '[.keys[].kid] | sort | join(" ")' "$1"
}

@test "the JWKS file: root:adm 0640, issuer, publisher and the edge's /jwks.json keys" {
	wait_for 10 test -s "$JWKS"
	# Not 0644: whoever can open it can flock it and hold up every login.
	[ "$(stat -c '%U %G %a %F' "$JWKS")" = "root adm 640 regular file" ]
	jq -e --arg iss "$ISS" '.issuer == $iss and .publisher == "lab1"' "$JWKS"
	c "$T/j" "$ISS/jwks.json" >"$T/edge.jwks"
	[ "$(jq -cS .keys "$JWKS")" = "$(jq -cS .keys "$T/edge.jwks")" ]
	[ "$(jq -r 'keys_unsorted | join(",")' "$JWKS")" = "issuer,publisher,keys" ]
	# The socket: root's, group adm, 0660, in a directory others cannot write.
	[ "$(stat -c '%U %G %a %F' "$SOCK")" = "root adm 660 socket" ]
	log_has pub "ticket-socket $SOCK \(mode 0660, group adm\)"
}

@test "key rotate reaches the JWKS file within a few seconds" {
	wait_for 10 test -s "$JWKS"
	before=$(jwks_kids "$JWKS")
	run --separate-stderr "$B0_BUILD/b0-edge" -f "$T/edge.conf" key rotate
	assert_success
	kid=$output
	wait_for 5 bash -c "jq -e --arg k '$kid' '[.keys[].kid] | index(\$k)' '$JWKS' >/dev/null"
	c "$T/j" "$ISS/jwks.json" >"$T/edge.jwks"
	[ "$(jq -cS .keys "$JWKS")" = "$(jq -cS .keys "$T/edge.jwks")" ]
	[ "$(jwks_kids "$JWKS")" != "$before" ]
	# Still root:adm 0640, the same file (updated in place by a daemon
	# that runs as nobody).
	[ "$(stat -c '%U %G %a' "$JWKS")" = "root adm 640" ]
	[ "$(ps -o user= -p "$(cat "$T/pub.pid")")" = nobody ] ||
	    [ "$(ps -o user= --ppid "$(cat "$T/pub.pid")" | head -1)" = nobody ]
}

@test "a running stream's ticket is answered for the address the target saw, then none" {
	device_login alice@example.com
	mkfifo "$T/in"
	in_vis timeout 60 python3 "$BATS_TEST_DIRNAME/helpers/tlsconnect.py" \
	    --connect "$EDGE_VIS_IP:443" --name "t-lab1.edge.test" \
	    --ca "$T/ca.crt" --token-file "$T/alice@example.com.at" \
	    <"$T/in" >"$T/out" 2>"$T/tls.err" &
	echo $! >"$T/visitor.pid"
	tun_track visitor
	exec 7>"$T/in"
	echo hello >&7
	wait_for 15 grep -qx hello "$T/out"
	read -r ip port <"$T/peer"
	[ "$ip" = 127.0.0.1 ]
	run q "ticket $ip $port"
	assert_success
	[[ "$output" == "ok eyJ"* ]]
	jwt=${output#ok }
	claims "$jwt" | jq -e --arg iss "$ISS" '.iss == $iss and
	    .aud == "b0-publish:lab1" and .socket == "t-lab1.edge.test" and
	    .email == "alice@example.com" and (.visitor | startswith("10.77.2.2:"))'
	# Its kid is in the JWKS file.
	kid=$(cut -d. -f1 <<<"$jwt" | tr '_-' '/+' | { read -r h; while [ $((${#h} % 4)) -ne 0 ]; do h=$h=; done; base64 -d <<<"$h"; } | jq -r .kid)
	jq -e --arg k "$kid" '[.keys[].kid] | index($k)' "$JWKS"
	# The IPv4-mapped form is the same address; another port or address is not.
	run q "ticket ::ffff:$ip $port"
	assert_output "ok $jwt"
	run q "ticket $ip $((port == 65535 ? 1 : port + 1))"
	assert_output none
	run q "ticket 127.0.0.2 $port"
	assert_output none
	# The stream ends: the ticket goes.
	exec 7>&-
	wait_for 15 bash -c "! kill -0 $(cat "$T/visitor.pid") 2>/dev/null"
	wait_for 10 bash -c "[ \"\$(timeout 10 python3 '$BATS_TEST_DIRNAME/helpers/ticketq.py' '$SOCK' 'ticket $ip $port')\" = none ]"
	# Never logged.
	run grep -l 'eyJ' "$T"/edge.log "$T"/pub.log
	assert_failure
}

@test "a client that is not root and not in the group is refused" {
	install -m 0644 "$BATS_TEST_DIRNAME/helpers/ticketq.py" "$T/ticketq.py"
	# nobody cannot even connect: the socket is root:adm 0660.
	run setpriv --reuid nobody --regid nogroup --clear-groups \
	    /usr/bin/python3 "$T/ticketq.py" "$SOCK" "ticket 127.0.0.1 22"
	assert_failure 2
	assert_output --partial "Permission denied"
	# Past the file mode, b0-publish checks the peer's own credentials.
	chmod 0666 "$SOCK"
	run setpriv --reuid nobody --regid nogroup --clear-groups \
	    /usr/bin/python3 "$T/ticketq.py" "$SOCK" "ticket 127.0.0.1 22"
	assert_success
	assert_output "error not allowed"
	wait_for 5 log_has pub "ticket-socket $SOCK: refused uid 65534 \(pid [0-9]+\): not root nor in group adm"
}

@test "a client holding ticket-group as a supplementary group is answered" {
	install -m 0644 "$BATS_TEST_DIRNAME/helpers/ticketq.py" "$T/ticketq.py"
	# nobody is in adm by no group database, only by the groups this
	# process has (SO_PEERGROUPS).
	run id -nG nobody
	[[ " $output " != *" adm "* ]]
	run setpriv --reuid nobody --regid nogroup --groups adm \
	    /usr/bin/python3 "$T/ticketq.py" "$SOCK" "ticket 127.0.0.1 22"
	assert_success
	assert_output none
}

@test "the JWKS file: a user outside ticket-group cannot open it to flock it" {
	wait_for 10 test -s "$JWKS"
	run setpriv --reuid nobody --regid nogroup --clear-groups \
	    flock -n "$JWKS" true
	assert_failure
	assert_output --partial "Permission denied"
	# ticket-group may read it (and so the path is reachable at all).
	run setpriv --reuid nobody --regid nogroup --groups adm \
	    flock -n "$JWKS" true
	assert_success
}

@test "without ticket-group the JWKS file is root's 0600" {
	tun_stop pub
	sed -i '/^ticket-group /d' "$T/pub.conf"
	pub_start pub
	wait_for 10 test -s "$JWKS"
	[ "$(stat -c '%U %G %a' "$JWKS")" = "root root 600" ]
	[ "$(stat -c '%U %a' "$SOCK")" = "root 600" ]
}

@test "malformed requests get error lines" {
	run q "hello"
	assert_output "error unknown request (ticket <ip> <port>)"
	run q "ticket 127.0.0.1"
	assert_output "error expected: ticket <ip> <port>"
	run q "ticket localhost 22"
	assert_output "error not an IP address"
	run q "ticket 127.0.0.1 0"
	assert_output "error not a port from 1 to 65535"
	run q "ticket 127.0.0.1 22x"
	assert_output "error not a port from 1 to 65535"
	run q "ticket 127.0.0.1  22"
	assert_output "error not a port from 1 to 65535"
	run q --raw "$(head -c 9000 /dev/zero | tr '\0' a)"
	assert_output "error request longer than 8 KiB"
	# No newline within 2 s: closed without an answer.
	start=$(ms_now)
	run q --raw "ticket 127.0.0.1 22"
	assert_failure 2
	[ $(($(ms_now) - start)) -lt 4000 ]
	# A good request after all that still works.
	run q "ticket 127.0.0.1 22"
	assert_output none
}

@test "a second b0-publish cannot take a running one's identity socket" {
	token_add lab2
	pub_conf pub2 "$T/lab2.token" "socket u tcp/7101"
	sed -i "s|^ticket-socket .*|ticket-socket $SOCK|" "$T/pub2.conf"
	run in_lab timeout 10 "$B0_BUILD/b0-publish" -f "$T/pub2.conf"
	assert_failure 1
	assert_output --partial "ticket-socket $SOCK: in use by another running b0-publish"
	# The first one still answers.
	run q "ticket 127.0.0.1 22"
	assert_output none
}

@test "publish.conf: jwks-file, ticket-socket and ticket-group errors name file:line" {
	local line want
	while IFS='|' read -r line want; do
		pub_conf bad "$T/lab1.token"
		sed -i '/^jwks-file\|^ticket-socket/d' "$T/bad.conf"
		echo "$line" >>"$T/bad.conf"
		run in_lab timeout 10 "$B0_BUILD/b0-publish" -t -f "$T/bad.conf"
		assert_failure 78
		assert_output "b0-publish: $T/bad.conf:6: $want"
	done <<-'EOF'
		ticket-group no-such-group-here|ticket-group: no group "no-such-group-here"
		jwks-file jwks.json|jwks-file: "jwks.json" is not an absolute path to a file (or none)
		ticket-socket /run/|ticket-socket: "/run/" is not an absolute path to a file (or none)
		ticket-socket|"ticket-socket" takes 1 argument, not 0
	EOF
	# none turns them off.
	pub_conf off "$T/lab1.token"
	sed -i 's/^\(jwks-file\|ticket-socket\) .*/\1 none/' "$T/off.conf"
	run in_lab timeout 10 "$B0_BUILD/b0-publish" -t -f "$T/off.conf"
	assert_success
}

@test "b0-publish connect as a user keeps the file and the socket in XDG_RUNTIME_DIR" {
	token_add lab2
	install -o nobody -m 0600 "$T/lab2.token" "$T/nobody.token"
	install -d -o nobody -m 0700 "$T/xdg"
	install -m 0644 "$BATS_TEST_DIRNAME/helpers/ticketq.py" "$T/ticketq.py"
	DAEMON_KIND=b0 daemon_bg quick "$NS_LAB" setpriv --reuid nobody \
	    --regid nogroup --clear-groups env XDG_RUNTIME_DIR="$T/xdg" \
	    "$B0_BUILD/b0-publish" connect --port "$TPORT" --type tls \
	    --edge "$EDGE_IP:443" --token-file "$T/nobody.token" \
	    --edge-ca "$T/ca.crt"
	wait_for 10 test -s "$T/xdg/b0-publish/jwks.json"
	[ "$(stat -c '%U %a' "$T/xdg/b0-publish/jwks.json")" = "nobody 600" ]
	jq -e '.publisher == "lab2" and (.keys | length) >= 1' "$T/xdg/b0-publish/jwks.json"
	[ "$(stat -c '%U %a %F' "$T/xdg/b0-publish/tickets.sock")" = "nobody 600 socket" ]
	# That user may ask, and root.
	run setpriv --reuid nobody --regid nogroup --clear-groups \
	    /usr/bin/python3 "$T/ticketq.py" "$T/xdg/b0-publish/tickets.sock" "ticket 127.0.0.1 22"
	assert_output none
	SOCK=$T/xdg/b0-publish/tickets.sock run q "ticket 127.0.0.1 22"
	assert_output none
	tun_stop quick
}

# kc ARGS...: helpers/keysclient.py from the lab, as publisher lab2.
kc() {
	[ -f "$T/lab2.token" ] || token_add lab2
	in_lab timeout 20 python3 "$BATS_TEST_DIRNAME/helpers/keysclient.py" \
	    --connect "$EDGE_IP:443" --name edge.test --ca "$T/ca.crt" \
	    --token-file "$T/lab2.token" "$@"
}

@test "the edge: KEYS right after WELCOME, and again when asked with {}" {
	run kc --frames 3
	assert_success
	[ "${lines[0]}" = "02 {}" ]
	[[ "${lines[1]}" == "05 "* ]]
	[ "${lines[2]}" = "${lines[1]}" ]
	k=${lines[1]#05 }
	c "$T/j" "$ISS/jwks.json" >"$T/edge.jwks"
	jq -e --arg iss "$ISS" '.issuer == $iss' <<<"$k"
	[ "$(jq -cS .keys <<<"$k")" = "$(jq -cS .keys "$T/edge.jwks")" ]
	# No private part ever: only kty crv x y kid alg use.
	[ "$(jq -r '[.keys[] | keys[]] | unique | join(",")' <<<"$k")" = "alg,crv,kid,kty,use,x,y" ]
}

@test "the edge refuses a KEYS from a publisher that is not {}" {
	run kc --frames 4 --send '{"issuer":"https://evil.test","keys":[]}'
	assert_success
	[[ "${lines[2]}" == '09 {"code":"protocol","message":"KEYS: '* ]]
	wait_for 5 log_has edge 'publisher lab2: bad KEYS: KEYS: '
	run kc --frames 4 --send '[]'
	[[ "${lines[2]}" == '09 {"code":"protocol","message":"KEYS: payload is not a JSON object"}' ]]
}

@test "the edge sends no KEYS to a publisher whose HELLO did not ask for them" {
	run kc --no-keys --frames 2
	assert_success
	[ "${lines[0]}" = "02 {}" ]
	[ "${lines[1]}" = "06 b0" ] # the heartbeat, not KEYS
}

@test "a member of ticket-group may ask" {
	tun_stop pub
	# nobody's primary group is nogroup: a member by the group database.
	sed -i 's/^ticket-group adm$/ticket-group nogroup/' "$T/pub.conf"
	pub_start pub
	[ "$(stat -c '%U %G %a' "$SOCK")" = "root nogroup 660" ]
	install -m 0644 "$BATS_TEST_DIRNAME/helpers/ticketq.py" "$T/ticketq.py"
	run setpriv --reuid nobody --regid nogroup --clear-groups \
	    /usr/bin/python3 "$T/ticketq.py" "$SOCK" "ticket 127.0.0.1 22"
	assert_success
	assert_output none
	run setpriv --reuid nobody --regid nogroup --clear-groups \
	    /usr/bin/python3 "$T/ticketq.py" "$SOCK" "ticket 127.0.0.1"
	assert_output "error expected: ticket <ip> <port>"
}
