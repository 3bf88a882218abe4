#!/usr/bin/env bats
# The test tooling itself, on this machine, with no Internet: the real
# OpenID Connect provider (helpers/oidc.bash) and the real browser
# (helpers/browser.bash) that the identity tests use.  Everything is on
# 127.0.0.1; the one name outside, blocked.invalid, must never be asked for.

load helpers/common
load helpers/oidc
load helpers/browser

V=tooling-verifier-0123456789-0123456789-0123456789

setup() {
	if ! browser_have || ! oidc_have; then
		local why="needs Node.js 20+, /usr/bin/chromium and tests/tools/node/node_modules (scripts/deps installs them)"
		# CI ran scripts/deps: there, a missing tool is a failure.
		[ -z "${CI:-}" ] || fail "$why"
		skip "$why"
	fi
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	b0_pki "$T"
	: >"$T/pids"
	browser_env
}

teardown() {
	[ -n "${T:-}" ] || return 0
	browser_stop
	oidc_stop || true
	local pid
	for pid in $(cat "$T/pids" 2>/dev/null); do
		kill -TERM "$pid" 2>/dev/null
		wait_for 5 eval "! kill -0 $pid 2>/dev/null" 2>/dev/null ||
		    kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for f in oidc.log browser.log browser.err rp.log fixture.log; do
			[ -f "$T/$f" ] && { echo "--- $f"; cat "$T/$f"; }
		done
	fi
	b0_cleanup_tmpdir
}

# bg NAME CMD...: a helper process, stopped by PID in teardown; it writes
# "READY port=N" to $T/NAME.ready; NAME_PORT is set.
bg() {
	local name=$1
	shift
	"$@" >>"$T/$name.log" 2>&1 </dev/null &
	echo $! >>"$T/pids"
	wait_for 20 grep -qs '^READY port=' "$T/$name.ready" || return 1
	printf -v "${name}_PORT" %s "$(sed -n 's/^READY port=//p' "$T/$name.ready")"
}

# redirect_target: a stand-in for the client's redirect URI, at $RP/cb.
redirect_target() {
	bg rp node "$B0_NODE_TOOLS/redirect-target.mjs" "$T/cb.json" \
	    --ready-file "$T/rp.ready"
	RP=http://127.0.0.1:$rp_PORT
}

# auth_url CLIENT REDIRECT: the provider's authorization URL, with PKCE.
auth_url() {
	local ch
	ch=$(printf %s "$V" | openssl dgst -sha256 -binary | basenc --base64url |
	    tr -d =)
	printf '%s/auth?client_id=%s&response_type=code&scope=openid+email&redirect_uri=%s&state=st-1&nonce=n-1&code_challenge=%s&code_challenge_method=S256' \
	    "$OIDC_ISSUER" "$1" "$(jq -rn --arg u "$2" '$u|@uri')" "$ch"
}

# jwt_payload JWT: its payload, as JSON.
jwt_payload() {
	local p
	p=$(cut -d. -f2 <<<"$1" | tr -- '-_' '+/')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	base64 -d <<<"$p"
}

@test "the provider serves discovery and its JWKS, and keeps a pinned port across a restart" {
	oidc_config "$T/op.json" edge s3cret http://127.0.0.1:1/cb
	[ "$(stat -c %a "$T/op.json")" = 600 ]
	oidc_start 0 "$T/op.json"
	run curl -sf --max-time 5 "$OIDC_ISSUER/.well-known/openid-configuration"
	assert_success
	[ "$(jq -r .issuer <<<"$output")" = "$OIDC_ISSUER" ]
	jq -e '.code_challenge_methods_supported == ["S256"] and
	    (.token_endpoint_auth_methods_supported | index("client_secret_post")) and
	    (.claims_supported | index("email") and index("email_verified"))' \
	    <<<"$output"
	run curl -sf --max-time 5 "$(jq -r .jwks_uri <<<"$output")"
	assert_success
	jq -e '[.keys[].alg] == ["RS256", "ES256"] and
	    all(.keys[]; has("d") | not)' <<<"$output"
	local port=$OIDC_PORT
	oidc_stop
	run curl -s --max-time 5 "$OIDC_ISSUER/jwks"
	assert_failure
	oidc_start "$port" "$T/op.json"
	[ "$OIDC_PORT" = "$port" ]
	curl -sf --max-time 5 "$OIDC_ISSUER/jwks" >/dev/null
	# Over HTTPS, with the test's certificate.
	oidc_stop
	OIDC_TLS="$T/edge.crt $T/edge.key" oidc_start 0 "$T/op.json"
	[ "$OIDC_ISSUER" = "https://127.0.0.1:$OIDC_PORT" ]
	run curl -sf --max-time 5 --cacert "$T/ca.crt" \
	    "$OIDC_ISSUER/.well-known/openid-configuration"
	assert_success
	[ "$(jq -r .token_endpoint <<<"$output")" = "$OIDC_ISSUER/token" ]
}

@test "the browser runs the code flow at the provider; the code buys an ID token with email and email_verified" {
	redirect_target
	oidc_config "$T/op.json" edge s3cret "$RP/cb" alice@example.com:pw-a \
	    bob@example.org:pw-b:unverified
	oidc_start 0 "$T/op.json"
	export B0_BROWSER_EMAIL=alice@example.com B0_BROWSER_PASSWORD=pw-a
	local t0=$(date +%s%N)
	run browser_run "$(auth_url edge "$RP/cb")"
	echo "# browser run: $((($(date +%s%N) - t0) / 1000000)) ms" >&3
	assert_success
	assert_output --partial "browser: done: Signed in (redirect target)"
	# It never writes to stdout (b0-proxy's stdout is an ssh stream).
	# browser.sh ensures it; browser.mjs itself does not either.
	timeout 90 "$B0_NODE_TOOLS/browser.mjs" "$(auth_url edge "$RP/cb")" \
	    2>/dev/null >"$T/stdout" </dev/null || true
	[ ! -s "$T/stdout" ]
	# As b0-proxy starts it: in the background, not waited for.
	# (bats waits for whatever holds its fd 3: close it.)
	sh -c 'exec $BROWSER "$1"' sh "$(auth_url edge "$RP/cb")" 2>/dev/null 3>&- &
	wait_for 10 eval '[ "$(wc -l <"$B0_BROWSER_PIDS")" -eq 3 ]'
	browser_wait
	[ "$(grep -c '^# done: Signed in (redirect target)$' "$B0_BROWSER_LOG")" = 3 ]
	run browser_pages
	assert_line --index 0 --regexp "^$OIDC_ISSUER/interaction/[^ ?]+ Sign in to the test provider\$"
	assert_line --index 1 --regexp "^$OIDC_ISSUER/interaction/[^ ?]+ Allow access\$"
	assert_line --index 2 "$RP/cb Signed in (redirect target)"
	[[ "$(ls "$T/shots" | head -3 | tr '\n' ' ')" == "01-127.0.0.1-$OIDC_PORT-interaction-"*"03-127.0.0.1-$rp_PORT-cb.png " ]]
	# The password is not in the log, and neither is the code.
	local code
	code=$(jq -r .query.code "$T/cb.json")
	[ "$(jq -r .query.state "$T/cb.json")" = st-1 ]
	run grep -c -e pw-a -e "$code" "$T/browser.log"
	assert_output 0
	run curl -sf --max-time 5 -d grant_type=authorization_code \
	    --data-urlencode "code=$code" --data-urlencode "redirect_uri=$RP/cb" \
	    -d client_id=edge -d client_secret=s3cret -d "code_verifier=$V" \
	    "$OIDC_ISSUER/token"
	assert_success
	run jwt_payload "$(jq -r .id_token <<<"$output")"
	jq -e --arg iss "$OIDC_ISSUER" '.iss == $iss and .aud == "edge" and
	    .email == "alice@example.com" and .email_verified == true and
	    .nonce == "n-1"' <<<"$output"
}

@test "an unverified account gets email_verified false; a wrong password fails the browser" {
	redirect_target
	oidc_config "$T/op.json" edge s3cret "$RP/cb" bob@example.org:pw-b:unverified
	oidc_start 0 "$T/op.json"
	export B0_BROWSER_EMAIL=bob@example.org B0_BROWSER_PASSWORD=wrong
	run browser_run "$(auth_url edge "$RP/cb")"
	assert_failure
	assert_output --partial "provider login page shown again: Wrong login or password."
	[ ! -e "$T/cb.json" ]
	B0_BROWSER_PASSWORD=pw-b run browser_run "$(auth_url edge "$RP/cb")"
	assert_success
	run curl -sf --max-time 5 -d grant_type=authorization_code \
	    --data-urlencode "code=$(jq -r .query.code "$T/cb.json")" \
	    --data-urlencode "redirect_uri=$RP/cb" -d client_id=edge \
	    -d client_secret=s3cret -d "code_verifier=$V" "$OIDC_ISSUER/token"
	assert_success
	run jwt_payload "$(jq -r .id_token <<<"$output")"
	jq -e '.email == "bob@example.org" and .email_verified == false' <<<"$output"
}

# fixture [UPSTREAM-FILE]: the stand-ins for the edge's pages, HTTPS with
# the test's edge certificate, at $EDGE (a name under edge.test).
fixture() {
	bg fixture node "$B0_NODE_TOOLS/pages-fixture.mjs" "$T/edge.crt" \
	    "$T/edge.key" "$T/fixture.ready" "$@"
	EDGE=https://edge.test:$fixture_PORT
}

@test "the browser maps the edge's names to loopback, trusts its certificate by key, and fills its login form" {
	fixture
	export B0_BROWSER_EMAIL=alice@example.com B0_BROWSER_PASSWORD=pw
	run browser_run "https://r1-lab1.edge.test:$fixture_PORT/login"
	assert_success
	assert_output --partial "done: Signed in to edge.test"
	grep -qx 'POST /login \[csrf req email password\]' "$T/fixture.log"
	# Without the certificate's key it refuses the edge.
	: >"$T/browser.log"
	B0_BROWSER_CERT= run browser_run "$EDGE/login"
	assert_failure
	assert_output --partial "ERR_CERT_AUTHORITY_INVALID"
	# A wrong password: the form comes back with .error, and it gives up.
	B0_BROWSER_PASSWORD=nope run browser_run "$EDGE/login"
	assert_failure
	assert_output --partial "edge login page shown again: Wrong email or password."
}

@test "the browser types a device code and approves, or denies" {
	fixture
	export B0_BROWSER_DEVICE_CODE=bcdf-ghjk
	run browser_run "$EDGE/device"
	assert_success
	assert_output --partial "done: Signed in"
	grep -qx 'POST /device/confirm \[action\]' "$T/fixture.log"
	B0_BROWSER_DENY=1 run browser_run "$EDGE/device"
	assert_success
	assert_output --partial "done: Denied"
	B0_BROWSER_DEVICE_CODE=XXXX-XXXX run browser_run "$EDGE/device"
	assert_failure
	assert_output --partial "failed: Error: no such code"
}

@test "the browser signs in through an upstream provider: button, provider login, consent, back" {
	fixture "$T/upstream"
	oidc_config "$T/op.json" edge s3cret "$EDGE/cb" carol@example.net:pw-c
	oidc_start 0 "$T/op.json"
	auth_url edge "$EDGE/cb" >"$T/upstream"
	export B0_BROWSER_PROVIDER=test B0_BROWSER_UPSTREAM_LOGIN=carol@example.net \
	    B0_BROWSER_UPSTREAM_PASSWORD=pw-c
	run browser_run "$EDGE/login"
	assert_success
	assert_output --partial "done: Signed in to edge.test (upstream)"
	grep -qx 'cb: got a code' "$T/fixture.log"
	run browser_pages
	assert_line --index 0 "$EDGE/login Sign in to edge.test"
	assert_line --index 3 "$EDGE/cb Signed in to edge.test (upstream)"
	B0_BROWSER_PROVIDER=nosuch run browser_run "$EDGE/login"
	assert_failure
	assert_output --partial 'no a.provider[data-provider="nosuch"] on the login page'
}

@test "the browser blocks every request off loopback and the edge's names, before it leaves" {
	fixture
	run browser_run "$EDGE/outside"
	assert_failure
	# (chromium may have upgraded the image to https first)
	assert_output --regexp "browser: blocked https?://blocked.invalid/x.png"
	assert_output --partial "failed: 1 request(s) blocked"
	run browser_run http://blocked.invalid/
	assert_failure
	assert_output --partial "browser: blocked http://blocked.invalid/"
	grep -Eq '^# blocked https?://blocked.invalid/x.png$' "$T/browser.log"
}

@test "the browser gives up after its time limit and cleans up after itself" {
	# Something that accepts and never answers.
	socat TCP-LISTEN:0,bind=127.0.0.1,reuseaddr,fork EXEC:'sleep 30' \
	    >/dev/null 2>&1 &
	echo $! >>"$T/pids"
	local port
	wait_for 5 eval 'port=$(ss -Hltnp | awk -v p="pid=$!," '\''index($0, p) { n = split($4, a, ":"); print a[n]; exit }'\'' | grep .)'
	B0_BROWSER_TIMEOUT=3 run browser_run "http://127.0.0.1:$port/"
	assert_failure
	assert_output --partial "failed: timed out after 3 s"
	# Its profile, made in $T, is gone.
	[ -z "$(find "$T" -maxdepth 1 -name 'b0-browser-*')" ]
	local pid
	pid=$(cat "$T/browser.pids")
	run kill -0 "$pid"
	assert_failure
	# SIGTERM ends it (as b0-proxy or a teardown would) within seconds.
	B0_BROWSER_TIMEOUT=30 "$BROWSER" "http://127.0.0.1:$port/" 2>"$T/browser.err" &
	pid=$!
	wait_for 20 grep -q "chromium .* started" "$T/browser.err"
	[ -n "$(find "$T" -maxdepth 1 -name 'b0-browser-*')" ]
	kill -TERM "$pid"
	wait_for 10 eval '! kill -0 '"$pid"' 2>/dev/null'
	grep -q "failed: got SIGTERM" "$T/browser.err"
	[ -z "$(find "$T" -maxdepth 1 -name 'b0-browser-*')" ]
}
