#!/usr/bin/env bats
# tls sockets end to end (docs/identity.md, "tls sockets: the visitor's
# CONNECT", "Connection tickets"): a person signs in with the device flow
# (curl as browser and client), then reaches Debian's sshd in the lab
# through the edge's HTTPS port with CONNECT and the access token.
# helpers/tlsconnect.py stands in for b0-proxy as the ProxyCommand.

load helpers/common
load helpers/tunnel

bats_require_minimum_version 1.5.0

DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code
ISS=https://edge.test

setup() {
	tun_setup
	sshd_start
	# sha256sum answers only after reading its input to the end; rev
	# answers "ready", closes its side, then counts what still comes.
	DAEMON_KIND=other daemon_bg sha "$NS_LAB" \
	    socat TCP-LISTEN:7000,bind=127.0.0.1,reuseaddr,fork \
	    EXEC:sha256sum
	DAEMON_KIND=other daemon_bg rev "$NS_LAB" \
	    socat -t 30 TCP-LISTEN:7002,bind=127.0.0.1,reuseaddr,fork \
	    SYSTEM:"echo ready; exec >&-; wc -c >$T/rev.count"
	wait_for 10 lab_port_open 7000
	wait_for 10 lab_port_open 7002
	local u
	for u in alice@example.com bob@example.org; do
		echo "pw of $u" | "$B0_BUILD/b0-edge" -f "$T/edge.conf" \
		    user add "$u" 2>>"$T/token.log"
	done
	pool=4
	if [[ "$BATS_TEST_DESCRIPTION" == waiting* ]]; then
		# One idle channel; the default heartbeat keeps a stopped
		# publisher's session for 30 s.
		b0_edge_conf "$T" 0.0.0.0:443 "$PORT_LO-$PORT_HI" "user nobody"
		pool=1
	fi
	edge_start
	token_add lab1
	pub_conf pub "$T/lab1.token" "log-level debug" "pool $pool" \
	    "socket r1 tls/22/alice@example.com" \
	    "socket sha tls/7000/example.com 127.0.0.1:7000" \
	    "socket rev tls/7002 127.0.0.1:7002" \
	    "socket plain tcp/7000 127.0.0.1:7000"
	pub_start pub
}

teardown() {
	tun_teardown
}

# c JAR ARGS...: curl from the visitor's namespace to the edge's issuer.
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

# device_login EMAIL: the device flow for EMAIL, as a person with a
# browser would do it; the access token lands in $T/<email>.at (0600).
device_login() {
	local email=$1 jar=$T/$1.jar d=$T/$1 dc uc loc req i
	c "$jar" -d client_id=b0-proxy "$ISS/device_authorization" >"$d.da"
	dc=$(jq -er .device_code "$d.da") || return 1
	uc=$(jq -er .user_code "$d.da") || return 1
	c "$jar" -o "$d.dev.html" "$ISS/device"
	c "$jar" -o /dev/null -D "$d.h" --data-urlencode "user_code=$uc" \
	    --data-urlencode "csrf=$(csrf "$d.dev.html")" "$ISS/device"
	loc=$(tr -d '\r' <"$d.h" | sed -n 's/^[Ll]ocation: //p')
	[[ "$loc" == /login\?req=* ]] || { echo "not sent to login: $loc"; return 1; }
	req=${loc#/login?req=}
	c "$jar" -o "$d.login.html" "$ISS$loc"
	c "$jar" -o "$d.confirm.html" --data-urlencode "email=$email" \
	    --data-urlencode "password=pw of $email" \
	    --data-urlencode "csrf=$(csrf "$d.login.html")" \
	    --data-urlencode "req=$req" "$ISS/login"
	grep -q 'value="approve"' "$d.confirm.html" || return 1
	c "$jar" -o "$d.done.html" --data-urlencode "user_code=$uc" \
	    -d action=approve --data-urlencode "csrf=$(csrf "$d.confirm.html")" \
	    "$ISS/device"
	grep -q '<h1>Signed in</h1>' "$d.done.html" || return 1
	for i in 1 2 3; do
		c "$jar" -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy \
		    -d device_code="$dc" "$ISS/token" >"$d.tok"
		jq -e .access_token "$d.tok" >/dev/null && break
		sleep 10.5 # slow_down or pending: the interval grew
	done
	(umask 077 && jq -er .access_token "$d.tok" >"$d.at")
}

# tconnect NAME [ARGS...]: tlsconnect.py in the visitor's namespace to the
# tls socket NAME-lab1.edge.test; stdin and stdout are the stream.
tconnect() {
	local name=$1
	shift
	in_vis timeout 60 python3 "$BATS_TEST_DIRNAME/helpers/tlsconnect.py" \
	    --connect "$EDGE_VIS_IP:443" --name "$name-lab1.edge.test" \
	    --ca "$T/ca.crt" "$@"
}

proxy_cmd() {
	echo "python3 $BATS_TEST_DIRNAME/helpers/tlsconnect.py --connect $EDGE_VIS_IP:443 --name %h --ca $T/ca.crt --token-file $1"
}

@test "tls sockets register at the HTTPS port; the table says who may connect" {
	run pub_json pub
	assert_success
	jq -e '.sockets[] | select(.name == "r1") |
	    .type == "tls" and .port == 443 and
	    .dns == "r1-lab1.edge.test" and .who == "alice@example.com"' <<<"$output"
	jq -e '.sockets[] | select(.name == "rev") |
	    .who == "any signed-in person"' <<<"$output"
	grep -E '^r1 +r1-lab1\.edge\.test +443 +tls +alice@example\.com ' "$T/pub.out"
}

@test "an allowed person logs in to sshd; the publisher keeps the ticket for the connection sshd sees" {
	device_login alice@example.com
	_ssh_opts
	run in_vis timeout 60 ssh "${SSH_OPTS[@]}" \
	    -o ProxyCommand="$(proxy_cmd "$T/alice@example.com.at")" \
	    root@r1-lab1.edge.test 'echo logged-in-as-$(id -un)'
	assert_success
	assert_output logged-in-as-root
	wait_for 10 log_has edge 'socket r1-lab1\.edge\.test visitor 10\.77\.2\.2:[0-9]+ \(alice@example\.com\): sent [1-9][0-9]* received [1-9][0-9]* duration [0-9.]+s: closed'
	# The ticket was kept against the port sshd saw its client on.
	port=$(sed -n 's/.*socket r1 visitor .*: connection ticket kept for 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/pub.log")
	[ -n "$port" ]
	grep -q "Accepted publickey for root from 127.0.0.1 port $port " "$T/sshd.log"
	# No ticket (a JWS starts with eyJ) and no token in any log.
	run grep -l 'eyJ' "$T"/edge.log "$T"/pub.log "$T"/sshd.log
	assert_failure
}

@test "a person not on the allow list gets 403 and nothing reaches the publisher" {
	device_login bob@example.org
	before=$(log_count pub 'socket r1 visitor' || true)
	run --separate-stderr tconnect r1 --token-file "$T/bob@example.org.at" </dev/null
	assert_failure 1
	assert_equal "$stderr" "tlsconnect: 403 bob@example.org is not allowed on r1-lab1.edge.test"
	log_has edge 'socket r1-lab1\.edge\.test visitor 10\.77\.2\.2:[0-9]+: refused \(403\): bob@example\.org: '
	[ "$(log_count pub 'socket r1 visitor' || true)" = "$before" ]
	# bob may use the socket open to any signed-in person.
	run tconnect rev --token-file "$T/bob@example.org.at" </dev/null
	assert_success
	assert_output ready
}

@test "no token: 401 with WWW-Authenticate; a bad token: 401 with the reason" {
	run --separate-stderr tconnect r1 </dev/null
	assert_failure 1
	[[ "$stderr" == "tlsconnect: 401 sign in first:"* ]]
	# Any HTTPS proxy client speaks it too: curl's CONNECT sees the header.
	run in_vis curl -sS -v --max-time 10 -p -x https://r1-lab1.edge.test:443 \
	    --proxy-cacert "$T/ca.crt" \
	    --resolve "r1-lab1.edge.test:443:$EDGE_VIS_IP" http://r1-lab1.edge.test:22/
	assert_failure
	assert_output --partial 'HTTP/1.1 401 Unauthorized'
	assert_output --regexp '< WWW-Authenticate: Bearer realm="edge.test"'
	echo 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' >"$T/bad.at"
	run --separate-stderr tconnect r1 --token-file "$T/bad.at" </dev/null
	assert_failure 1
	[[ "$stderr" == "tlsconnect: 401 access token refused: "* ]]
	# Signed with the edge's own key but expired; fresh but signed with a
	# key the edge does not know.
	key=$(ls "$T"/edge-state/keys/*.pem | head -1)
	kid=$(basename "$key" .pem)
	kid=${kid#*-}
	install -m 600 "$key" "$T/edge-key.pem" # ours: b0-jwtsign checks
	key=$T/edge-key.pem
	"$B0_BUILD/tools/b0-jwtsign" --new-key "$T/other.pem"
	now=$(date +%s)
	for t in "old $key $((now - 700)) $((now - 100))" \
	    "foreign $T/other.pem $now $((now + 300))"; do
		set -- $t
		printf '{"iss":"%s","sub":"alice@example.com","aud":"%s","client_id":"b0-proxy","email":"alice@example.com","email_verified":true,"iat":%d,"exp":%d,"jti":"0123456789abcdef0123456789abcdef","scope":"openid email"}' \
		    "$ISS" "$ISS" "$3" "$4" |
		    "$B0_BUILD/tools/b0-jwtsign" "$2" "$kid" at+jwt >"$T/$1.at"
		run --separate-stderr tconnect r1 --token-file "$T/$1.at" </dev/null
		assert_failure 1
		[[ "$stderr" == "tlsconnect: 401 access token refused: "* ]]
	done
	# Not CONNECT, and CONNECT to another name.
	run --separate-stderr tconnect r1 --authority sha-lab1.edge.test:22 \
	    --host-header r1-lab1.edge.test </dev/null
	assert_failure 1
	[[ "$stderr" == "tlsconnect: 400 CONNECT sha-lab1.edge.test:22 does not name r1-lab1.edge.test:<port>" ]]
	run ! log_has pub 'visitor 10\.77\.2\.2'

}

@test "the publisher away: 502" {
	device_login alice@example.com
	tun_stop pub
	run --separate-stderr tconnect r1 --token-file "$T/alice@example.com.at" </dev/null
	assert_failure 1
	assert_equal "$stderr" "tlsconnect: 502 publisher lab1 is not connected"
}

@test "half-close both ways: close_notify is the visitor's FIN, the target's FIN our close_notify" {
	device_login alice@example.com
	# The visitor ends its side; sha256sum then answers.
	run tconnect sha --token-file "$T/alice@example.com.at" < <(printf hello)
	assert_success
	assert_output "$(printf hello | sha256sum)"
	# The target ends its side first; the visitor still sends.
	run tconnect rev --token-file "$T/alice@example.com.at" < <(sleep 1; printf late-bytes)
	assert_success
	assert_output ready
	wait_for 10 test -s "$T/rev.count"
	[ "$(tr -d ' ' <"$T/rev.count")" = 10 ]
	wait_for 10 log_has edge 'socket rev-lab1\.edge\.test visitor .* \(alice@example\.com\): sent 10 received 6 .*: closed'
	wait_for 10 log_has edge 'socket sha-lab1\.edge\.test visitor .* \(alice@example\.com\): sent 5 received 68 .*: closed'
}

@test "a tcp socket's name on the HTTPS port is no tls socket" {
	device_login alice@example.com
	run --separate-stderr tconnect plain --token-file "$T/alice@example.com.at" </dev/null
	assert_failure 1
	[[ "$stderr" == "tlsconnect: 421 "* ]]
}

@test "waiting for a data channel: 504 after 10 s, 502 when the publisher goes away" {
	device_login alice@example.com
	wait_for 10 edge_pub_is .idle_channels 1
	# The publisher answers nothing from now on.
	kill -STOP "$(cat "$T/pub.pid")"
	# The first visitor takes the idle channel (and hangs).
	tconnect rev --token-file "$T/alice@example.com.at" \
	    < <(sleep 30) >"$T/first.out" 2>"$T/first.err" &
	first=$!
	wait_for 10 edge_pub_is .streams_open 1
	# The second waits for a channel that never comes.
	t0=$(ms_now)
	tconnect rev --token-file "$T/alice@example.com.at" </dev/null \
	    >"$T/second.out" 2>"$T/second.err" &
	second=$!
	wait_for 5 edge_pub_is .waiting 1
	wait "$second" || true
	t1=$(ms_now)
	run cat "$T/second.err"
	assert_output "tlsconnect: 504 no data channel from publisher lab1 became free within 10 s"
	[ $((t1 - t0)) -ge 9500 ] && [ $((t1 - t0)) -lt 15000 ]
	edge_pub_is .waiting 0
	# The third is waiting when the publisher dies: 502 at once.
	tconnect rev --token-file "$T/alice@example.com.at" </dev/null \
	    >"$T/third.out" 2>"$T/third.err" &
	third=$!
	wait_for 5 edge_pub_is .waiting 1
	tun_kill9 pub
	wait "$third" || true
	run cat "$T/third.err"
	assert_output "tlsconnect: 502 the publisher went away"
	log_has edge 'socket rev-lab1\.edge\.test visitor .* \(alice@example\.com\): closed: the publisher went away'
	kill "$first" 2>/dev/null || true
	wait "$first" 2>/dev/null || true
}

@test "a target that refuses: the stream is reset, the log says why and who" {
	device_login alice@example.com
	pub_conf pub "$T/lab1.token" "log-level debug" \
	    "socket dead tls/7999 127.0.0.1:7999"
	kill -HUP "$(cat "$T/pub.pid")"
	wait_for 10 bash -c "timeout 10 '$B0_BUILD/b0-publish' -f '$T/pub.conf' ls --json | jq -e '.sockets[] | select(.name == \"dead\") | .port == 443' >/dev/null"
	# 200 comes at once (the stream starts without a round trip), so a
	# refusal can only cut it: a TLS close without close_notify.
	run --separate-stderr tconnect dead --token-file "$T/alice@example.com.at" < <(sleep 2)
	assert_failure 3
	wait_for 10 log_has edge 'socket dead-lab1\.edge\.test visitor .* \(alice@example\.com\): sent 0 received 0 .*: reset by peer: connect 127\.0\.0\.1:7999: Connection refused'
}

@test "b0-publish connect --type tls publishes a tls socket until Ctrl-C" {
	device_login alice@example.com
	DAEMON_KIND=b0 daemon_bg quick "$NS_LAB" "$B0_BUILD/b0-publish" \
	    connect --port 7002 --type tls --edge "$EDGE_IP:443" \
	    --token-file "$T/lab1.token" --edge-ca "$T/ca.crt"
	wait_for 10 grep -qE '^p7002 +p7002-lab1\.edge\.test +443 +tls +any signed-in person ' "$T/quick.out"
	run tconnect p7002 --token-file "$T/alice@example.com.at" </dev/null
	assert_success
	assert_output ready
	tun_stop quick
}

# edge_pub_is FIELD VALUE: publisher lab1's FIELD in `b0-edge ls --json`.
edge_pub_is() {
	[ "$(edge_json | jq -r ".publishers[] | select(.name == \"lab1\") | $1")" = "$2" ]
}
