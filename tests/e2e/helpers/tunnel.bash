# Set-up for the tunnel tests: an edge in the edge namespace, publishers in
# the lab namespace (helpers/netns.bash), with the test PKI and the
# configuration helpers of tests/lib/testenv.sh.  Load it from a .bats file
# after helpers/common.
#
#   tun_setup            $T, namespaces, PKI, $T/edge.conf (heartbeat 1s,
#                        user nobody); call from setup()
#   tun_teardown         stop every process the test started (by PID),
#                        check the b0 daemons exited cleanly and without a
#                        sanitizer report, print the logs if the test
#                        failed, delete the namespaces and $T
#   edge_conf [LINE...]  rewrite $T/edge.conf with extra lines
#   edge_start           start b0-edge in the edge namespace (waits for it)
#   token_add NAME       $T/NAME.token for publisher NAME
#   pub_conf NAME TOKEN [LINE...]
#                        $T/NAME.conf for a publisher called NAME in the
#                        tests (its log is $T/NAME.log)
#   pub_start NAME       start b0-publish -f $T/NAME.conf in the lab; waits
#                        until it registered
#   daemon_bg NAME NS CMD...
#                        start CMD in namespace NS without waiting
#   tun_stop NAME        SIGTERM (SIGKILL after 10 s); status in
#                        $T/NAME.status; fails if it did not exit 0
#   tun_kill9 NAME       SIGKILL and reap
#   pub_json NAME, edge_json
#                        `ls --json` of a publisher, of the edge
#   pub_port NAME SOCKET the public port of SOCKET
#   log_has NAME ERE     $T/NAME.log has a line matching ERE
#   ms_now               a clock in milliseconds

# shellcheck source=../../lib/testenv.sh
. "$B0_TOP/tests/lib/testenv.sh"
load helpers/netns
load helpers/sshd

PORT_LO=21000
PORT_HI=21009

tun_setup() {
	b0_tmpdir
	# The edge drops to nobody, which must reach its state directory,
	# configuration and (for reloads) its key.
	chmod 711 "$T"
	: >"$T/daemons"
	netns_up || return 1
	b0_pki "$T" "$EDGE_IP" "$EDGE_VIS_IP" || return 1
	chown nobody "$T/edge.key"
	edge_conf
}

edge_conf() {
	b0_edge_conf "$T" 0.0.0.0:443 "$PORT_LO-$PORT_HI" \
	    "user nobody" "heartbeat 1s" "$@"
}

# tun_track NAME [b0]: remember a process for tun_teardown; "b0" ones must
# exit 0 on SIGTERM and leave no sanitizer report.
tun_track() {
	grep -qx "$1 .*" "$T/daemons" 2>/dev/null ||
	    echo "$1 ${2:-other}" >>"$T/daemons"
}

edge_start() {
	tun_track edge b0
	b0_start "$T" edge ip netns exec "$NS_EDGE" \
	    "$B0_BUILD/b0-edge" -f "$T/edge.conf"
}

token_add() {
	(umask 077 && "$B0_BUILD/b0-edge" -f "$T/edge.conf" token add "$1" \
	    >"$T/$1.token" 2>>"$T/token.log")
}

pub_conf() {
	local name=$1 token=$2 line
	shift 2
	{
		echo "edge $EDGE_IP:443"
		echo "server-name edge.test"
		echo "edge-ca $T/ca.crt"
		echo "token-file $token"
		echo "control-socket $T/$name.sock"
		for line in "$@"; do
			echo "$line"
		done
		# Not the system's (docs/pam.md): after the caller's lines, so
		# that those keep their line numbers.
		echo "jwks-file $T/$name.jwks.json"
		echo "ticket-socket $T/$name.tickets.sock"
	} >"$T/$name.conf"
	chmod 640 "$T/$name.conf"
}

pub_start() {
	tun_track "$1" b0
	b0_start "$T" "$1" ip netns exec "$NS_LAB" \
	    "$B0_BUILD/b0-publish" -f "$T/$1.conf"
}

daemon_bg() {
	local name=$1 ns=$2
	shift 2
	tun_track "$name" "${DAEMON_KIND:-b0}"
	ip netns exec "$ns" "$@" >>"$T/$name.out" 2>>"$T/$name.log" &
	echo $! >"$T/$name.pid"
}

running() {
	[ -f "$T/$1.pid" ] && kill -0 "$(cat "$T/$1.pid")" 2>/dev/null
}

tun_stop() {
	local name=$1 pid st i
	[ -f "$T/$name.pid" ] || return 0
	pid=$(cat "$T/$name.pid")
	rm -f "$T/$name.pid"
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "# $name (pid $pid) still running 10 s after SIGTERM" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	st=0
	wait "$pid" 2>/dev/null || st=$?
	echo "$st" >"$T/$name.status"
	[ "$st" -eq 0 ] || {
		echo "# $name exited with status $st" >&2
		return 1
	}
}

tun_kill9() {
	local pid
	pid=$(cat "$T/$1.pid") || return 1
	rm -f "$T/$1.pid"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
}

# wait_exit NAME SECONDS: wait for NAME to exit by itself; its status is
# in $T/NAME.status and $status.
wait_exit() {
	local pid
	pid=$(cat "$T/$1.pid") || return 1
	wait_for "$2" bash -c "! kill -0 $pid 2>/dev/null" || return 1
	rm -f "$T/$1.pid"
	status=0
	wait "$pid" 2>/dev/null || status=$?
	echo "$status" >"$T/$1.status"
}

pub_json() {
	timeout 10 "$B0_BUILD/b0-publish" -f "$T/$1.conf" ls --json
}

edge_json() {
	timeout 10 "$B0_BUILD/b0-edge" -f "$T/edge.conf" ls --json
}

pub_port() {
	pub_json "$1" | jq -er --arg s "$2" '.sockets[] | select(.name == $s) | .port'
}

pub_state_is() {
	[ "$(pub_json "$1" 2>/dev/null | jq -r .state)" = "$2" ]
}

log_has() {
	grep -qE -- "$2" "$T/$1.log" 2>/dev/null
}

log_count() {
	grep -cE -- "$2" "$T/$1.log" 2>/dev/null
}

ms_now() {
	echo $(($(date +%s%N) / 1000000))
}

tun_dump_logs() {
	local f
	for f in "$T"/*.log "$T"/*.out; do
		[ -s "$f" ] || continue
		echo "# ---- ${f##*/}"
		sed 's/^/# /' "$f"
	done
}

tun_teardown() {
	local name kind bad=0
	[ -n "${T:-}" ] || return 0
	if [ -f "$T/daemons" ]; then
		# Newest first: publishers before the edge, sshd last.
		while read -r name kind; do
			if [ "$kind" = b0 ]; then
				tun_stop "$name" || bad=1
			else
				tun_stop "$name" >/dev/null 2>&1
			fi
		done < <(tac "$T/daemons")
	fi
	if grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$T"/*.log 2>/dev/null; then
		echo "# sanitizer report in the logs above" >&2
		bad=1
	fi
	if [ -z "${BATS_TEST_COMPLETED:-}" ] || [ "$bad" -ne 0 ]; then
		tun_dump_logs
		B0_KEEP=${B0_KEEP:-}
	fi
	netns_down
	b0_cleanup_tmpdir
	[ "$bad" -eq 0 ]
}
