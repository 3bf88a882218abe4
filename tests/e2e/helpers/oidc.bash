# A real OpenID Connect provider for the e2e tests: panva's oidc-provider,
# run by tests/tools/node/oidc-server.mjs (scripts/deps installs it), plain
# http on loopback.  Its state (sessions, codes) is in memory, so a test
# that restarts it must pin its port; it never answers slow_down.
#
#   oidc_config FILE CLIENT_ID SECRET REDIRECT_URI [EMAIL:PASSWORD[:unverified]]...
#                 write the provider's JSON configuration (0600): one
#                 confidential client (client_secret_post) and the accounts
#   oidc_start PORT CONFIG
#                 start it on 127.0.0.1:PORT (0: any free port; $OIDC_NS:
#                 in that network namespace; OIDC_TLS="CERT KEY": HTTPS
#                 with that certificate, e.g. "$T/edge.crt $T/edge.key",
#                 whose SANs include 127.0.0.1) and wait until it listens;
#                 sets OIDC_PORT and OIDC_ISSUER (http:// or https://
#                 127.0.0.1:PORT); log $T/oidc.log, PID $T/oidc.pid
#   oidc_stop     SIGTERM (SIGKILL after 5 s); fails if it did not exit 0
#   oidc_have     true if Node.js 20+ and the npm packages are there
#
# Its login page: input[name=login], input[name=password],
# button[type=submit]; then a consent page (button[type=submit] to allow,
# button[name=abort] to deny).  tests/tools/node/browser.mjs does both.

B0_NODE_TOOLS=${B0_NODE_TOOLS:-$B0_TOP/tests/tools/node}

oidc_have() {
	_node20 && [ -d "$B0_NODE_TOOLS/node_modules/oidc-provider" ]
}

# _node20: Node.js 20 or later is there (the npm packages need it).
_node20() {
	command -v node >/dev/null 2>&1 &&
	    node -e 'process.exit(parseInt(process.versions.node, 10) < 20 ? 1 : 0)'
}

oidc_config() {
	local file=$1 id=$2 secret=$3 redirect=$4 acct email pw verified
	local accounts='[]'
	shift 4
	for acct in "$@"; do
		IFS=: read -r email pw verified <<<"$acct"
		accounts=$(jq -c --arg e "$email" --arg p "$pw" \
		    --argjson v "$([ "$verified" = unverified ] && echo false || echo true)" \
		    '. + [{email: $e, password: $p, email_verified: $v}]' <<<"$accounts")
	done
	(umask 077 && jq -n --arg id "$id" --arg s "$secret" --arg r "$redirect" \
	    --argjson a "$accounts" \
	    '{clients: [{client_id: $id, client_secret: $s, redirect_uris: [$r]}],
	      accounts: $a}' >"$file")
}

oidc_start() {
	local port=$1 config=$2 try
	local -a ns=() tls=()
	local scheme=http
	[ -n "${OIDC_NS:-}" ] && ns=(ip netns exec "$OIDC_NS")
	if [ -n "${OIDC_TLS:-}" ]; then
		read -ra tls <<<"--tls $OIDC_TLS"
		scheme=https
	fi
	# Node loads oidc-provider and makes an RSA key before it listens,
	# in about a second.  Twice in a whole CI run (once with gcc, once
	# under ASan; never alone) it was still not listening after 60 s.  It
	# is our test fixture, not b0: say where it was stuck, then start it
	# once more.
	for try in 1 2; do
		_oidc_spawn "$port" "$config" || return 1
		if wait_for 30 _oidc_ready "$(cat "$T/oidc.pid")"; then
			[ "$try" -eq 1 ] ||
			    echo "# oidc_start: ready at the second start" >&2
			OIDC_PORT=$(sed -n 's/^READY port=\([0-9]*\)$/\1/p' \
			    "$T/oidc.ready")
			OIDC_ISSUER=$scheme://127.0.0.1:$OIDC_PORT
			export OIDC_PORT OIDC_ISSUER
			return 0
		fi
		_oidc_stuck "$(cat "$T/oidc.pid")"
		oidc_stop || true
	done
	return 1
}

# _oidc_spawn PORT CONFIG: start oidc-server.mjs, its pid in $T/oidc.pid
# (with oidc_start's ns and tls).
_oidc_spawn() {
	rm -f "$T/oidc.ready"
	"${ns[@]}" node "$B0_NODE_TOOLS/oidc-server.mjs" "$2" "$1" \
	    --ready-file "$T/oidc.ready" "${tls[@]}" >>"$T/oidc.log" 2>&1 \
	    </dev/null &
	echo "$!" >"$T/oidc.pid"
}

# _oidc_stuck PID: what a provider that is not ready is doing.
_oidc_stuck() {
	local pid=$1 t
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "# oidc_start: the provider exited" >&2
	else
		echo "# oidc_start: the provider is running but not ready after 30 s" >&2
		# utime and stime (clock ticks): busy or waiting?
		echo "# oidc-server: $(awk '{ print "state " $3 ", utime " $14 ", stime " $15 }' "/proc/$pid/stat" 2>/dev/null)" >&2
		for t in /proc/"$pid"/task/*; do
			echo "# thread $(basename "$t") $(cat "$t/comm" 2>/dev/null): $(awk '{ print $3 }' "$t/stat" 2>/dev/null) in $(cat "$t/wchan" 2>/dev/null)" >&2
		done
	fi
	echo "# oidc_start: $T/oidc.log:" >&2
	sed 's/^/#   /' "$T/oidc.log" >&2
}

_oidc_ready() {
	kill -0 "$1" 2>/dev/null || return 2
	grep -q '^READY port=[0-9]' "$T/oidc.ready" 2>/dev/null
}

oidc_stop() {
	local pid st=0 _
	[ -f "$T/oidc.pid" ] || return 0
	pid=$(cat "$T/oidc.pid")
	rm -f "$T/oidc.pid"
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "# oidc-server (pid $pid) still running 5 s after SIGTERM" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || st=$?
	[ "$st" -eq 0 ] || echo "# oidc-server exited with status $st" >&2
	return "$st"
}
