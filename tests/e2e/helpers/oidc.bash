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
	local port=$1 config=$2 pid
	local -a ns=() tls=()
	local scheme=http
	[ -n "${OIDC_NS:-}" ] && ns=(ip netns exec "$OIDC_NS")
	if [ -n "${OIDC_TLS:-}" ]; then
		read -ra tls <<<"--tls $OIDC_TLS"
		scheme=https
	fi
	rm -f "$T/oidc.ready"
	"${ns[@]}" node "$B0_NODE_TOOLS/oidc-server.mjs" "$config" "$port" \
	    --ready-file "$T/oidc.ready" "${tls[@]}" >>"$T/oidc.log" 2>&1 \
	    </dev/null &
	pid=$!
	echo "$pid" >"$T/oidc.pid"
	# Node loads oidc-provider and makes an RSA key before it listens.
	# Once, in a CI run's ASan pass, it was still not ready after 20 s
	# (the cause was not found; it never happened alone): 60 s, and say
	# whether it is running at all.
	if ! wait_for 60 _oidc_ready "$pid"; then
		if kill -0 "$pid" 2>/dev/null; then
			echo "oidc_start: the provider is running but not ready after 60 s" >&2
		else
			echo "oidc_start: the provider exited" >&2
		fi
		echo "oidc_start: $T/oidc.log:" >&2
		cat "$T/oidc.log" >&2
		oidc_stop
		return 1
	fi
	OIDC_PORT=$(sed -n 's/^READY port=\([0-9]*\)$/\1/p' "$T/oidc.ready")
	OIDC_ISSUER=$scheme://127.0.0.1:$OIDC_PORT
	export OIDC_PORT OIDC_ISSUER
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
