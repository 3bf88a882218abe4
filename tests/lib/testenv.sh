# Shared set-up for b0's end-to-end tests, benchmarks and the demo: a test
# PKI, configuration files, and daemons started with a readiness fd and
# stopped by PID.  Source it from bash; every function takes the working
# directory first and writes only there.
#
#   b0_pki DIR [IP...]          DIR/ca.crt, DIR/edge.crt + DIR/edge.key for
#                               edge.test, *.edge.test, 127.0.0.1 and IPs
#   b0_edge_conf DIR LISTEN LO-HI [LINE...]
#                               DIR/edge.conf (state in DIR/edge-state)
#   b0_pub_conf DIR EDGE [LINE...]
#                               DIR/publish.conf using DIR/token
#   b0_token DIR NAME           DIR/token for publisher NAME (0600)
#   b0_start DIR NAME CMD...    start CMD in the background with --ready-fd;
#                               wait for it; log in DIR/NAME.log, PID in
#                               DIR/NAME.pid, readiness in DIR/NAME.ready
#   b0_stop DIR NAME            SIGTERM, then SIGKILL after 5 s
#   b0_ready_port DIR NAME      the PORT= a daemon reported
#
# B0_BUILD names the directory with the programs (default: build).

: "${B0_BUILD:=build}"

b0_pki() {
	local d=$1
	shift
	local san="DNS:edge.test,DNS:*.edge.test,IP:127.0.0.1,IP:::1" ip
	for ip in "$@"; do
		san="$san,IP:$ip"
	done
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
	    -subj /CN=b0-test-ca 2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/edge.key" -out "$d/edge.csr" -subj /CN=edge.test \
	    2>/dev/null || return 1
	printf 'subjectAltName=%s\n' "$san" >"$d/edge.ext"
	openssl x509 -req -in "$d/edge.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
	    -CAcreateserial -out "$d/edge.crt" -days 2 -extfile "$d/edge.ext" \
	    2>/dev/null || return 1
	chmod 600 "$d/edge.key" "$d/ca.key"
}

b0_edge_conf() {
	local d=$1 listen=$2 ports=$3 line
	shift 3
	{
		echo "domain edge.test"
		echo "listen $listen"
		echo "certificate $d/edge.crt"
		echo "key $d/edge.key"
		echo "tcp-ports $ports"
		echo "state-dir $d/edge-state"
		echo "control-socket $d/edge.sock"
		for line in "$@"; do
			echo "$line"
		done
	} >"$d/edge.conf"
}

b0_token() {
	local d=$1 name=$2
	(umask 077 && "$B0_BUILD/b0-edge" -f "$d/edge.conf" token add "$name" \
	    >"$d/token" 2>/dev/null)
}

b0_pub_conf() {
	local d=$1 edge=$2 line
	shift 2
	{
		echo "edge $edge"
		echo "server-name edge.test"
		echo "edge-ca $d/ca.crt"
		echo "token-file $d/token"
		echo "control-socket $d/publish.sock"
		for line in "$@"; do
			echo "$line"
		done
		echo "jwks-file $d/jwks.json"
		echo "ticket-socket $d/tickets.sock"
	} >"$d/publish.conf"
}

b0_start() {
	local d=$1 name=$2 i
	shift 2
	rm -f "$d/$name.ready"
	"$@" --ready-fd 9 9>"$d/$name.ready" >>"$d/$name.out" 2>>"$d/$name.log" &
	echo $! >"$d/$name.pid"
	for i in $(seq 1 100); do
		if grep -q '^READY=1' "$d/$name.ready" 2>/dev/null; then
			return 0
		fi
		if grep -q '^ERROR=1' "$d/$name.ready" 2>/dev/null ||
		    ! kill -0 "$(cat "$d/$name.pid")" 2>/dev/null; then
			echo "$name failed to start:" >&2
			cat "$d/$name.log" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "$name not ready after 10 s:" >&2
	cat "$d/$name.log" >&2
	return 1
}

b0_ready_port() {
	sed -n 's/^PORT=//p' "$1/$2.ready"
}

b0_stop() {
	local d=$1 name=$2 pid i
	[ -f "$d/$name.pid" ] || return 0
	pid=$(cat "$d/$name.pid")
	rm -f "$d/$name.pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}
