#!/usr/bin/env bats
# End-to-end tests of sign-in through an upstream OpenID Connect provider
# (docs/identity.md, "Upstream providers"): a real provider (panva's
# oidc-provider, tests/tools/node/oidc-server.mjs) on loopback, the real
# edge, and a real browser (headless chromium) clicking through the pages.
# Discovery checks run against a small static HTTPS server (python) with
# the test CA.

load helpers/common
load helpers/oidc
load helpers/browser

bats_require_minimum_version 1.5.0

setup() {
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	b0_pki "$T"
	(umask 077 && printf 's3cret-%s\n' "$RANDOM$RANDOM" >"$T/secret")
	SECRET=$(cat "$T/secret")
	EPORT=$(free_port)
}

teardown() {
	browser_stop
	b0_stop "$T" edge
	b0_stop "$T" target
	b0_stop "$T" fixture
	oidc_stop || true
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for f in edge.log oidc.log fixture.log browser.log; do
			[ -f "$T/$f" ] || continue
			echo "# $f:" >&3
			sed 's/^/#   /' "$T/$f" >&3
		done
	fi
	b0_cleanup_tmpdir
}

# free_port: a TCP port on 127.0.0.1 nobody listens on just now.
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

need_node() {
	oidc_have && browser_have ||
		skip "node tools missing (scripts/deps installs them)"
}

# provider_up [EMAIL:PASSWORD[:unverified]]...: the OIDC provider, with
# the edge (on $EPORT) as its client "edge".
provider_up() {
	oidc_config "$T/oidc.json" edge "$SECRET" \
	    "https://edge.test:$EPORT/upstream/callback" "$@"
	oidc_start 0 "$T/oidc.json"
}

# edge_up [LINE...]: the edge on $EPORT with those edge.conf lines.
edge_up() {
	b0_edge_conf "$T" "127.0.0.1:$EPORT" 31000-31010 "$@"
	b0_start "$T" edge "$B0_BUILD/b0-edge" -f "$T/edge.conf"
}

# edge_log_has TEXT: the edge logged TEXT.
edge_log_has() {
	grep -qF -- "$1" "$T/edge.log"
}

# target_up: b0-proxy's loopback redirect target stand-in; sets RPORT.
target_up() {
	node "$B0_NODE_TOOLS/redirect-target.mjs" "$T/target.json" \
	    --ready-file "$T/target.ready" >>"$T/target.log" 2>&1 </dev/null &
	echo $! >"$T/target.pid"
	wait_for 10 grep -q '^READY port=' "$T/target.ready"
	RPORT=$(sed -n 's/^READY port=//p' "$T/target.ready")
}

VERIFIER=verifier-0123456789-0123456789-0123456789-abc

# authorize_url: the code flow b0-proxy would start, to the target.
authorize_url() {
	local ch
	ch=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary |
	    basenc --base64url | tr -d =)
	printf '%s' "https://edge.test:$EPORT/authorize?response_type=code&client_id=b0-proxy&redirect_uri=http://127.0.0.1:$RPORT/callback&code_challenge=$ch&code_challenge_method=S256&state=st-up&scope=openid"
}

# token_email: redeem the code the target got; print the access token's
# email claim.
token_email() {
	local code body
	code=$(jq -r .query.code "$T/target.json")
	body=$(curl -s --max-time 10 --resolve "edge.test:$EPORT:127.0.0.1" \
	    --cacert "$T/ca.crt" -d grant_type=authorization_code \
	    --data-urlencode "code=$code" -d client_id=b0-proxy \
	    --data-urlencode "redirect_uri=http://127.0.0.1:$RPORT/callback" \
	    --data-urlencode "code_verifier=$VERIFIER" \
	    "https://edge.test:$EPORT/token")
	jq -r .access_token <<<"$body" | cut -d. -f2 | basenc -d --base64url \
	    2>/dev/null | jq -r .email
}

@test "sign in through an upstream provider with a real browser" {
	need_node
	provider_up Alice@Example.com:pw-alice
	edge_up "provider test $OIDC_ISSUER edge $T/secret"
	wait_for 10 edge_log_has "upstream test: $OIDC_ISSUER is ready"
	target_up
	browser_env
	export B0_BROWSER_PROVIDER=test
	export B0_BROWSER_UPSTREAM_LOGIN=alice@example.com
	export B0_BROWSER_UPSTREAM_PASSWORD=pw-alice
	run browser_run "$(authorize_url)"
	browser_pages >&3
	assert_success
	[ "$(jq -r .query.state "$T/target.json")" = st-up ]
	edge_log_has "upstream test: signed in alice@example.com"
	run token_email
	assert_output alice@example.com
	# The provider saw PKCE and a nonce, and the secret in the POST body.
	run grep -c "$SECRET" "$T/edge.log"
	assert_output 0
}

@test "several providers: a button each next to the password form, and the one chosen signs in" {
	need_node
	provider_up Alice@Example.com:pw-alice
	edge_up "provider test $OIDC_ISSUER edge $T/secret" \
	    "provider other $OIDC_ISSUER edge $T/secret"
	wait_for 10 edge_log_has "upstream other: $OIDC_ISSUER is ready"
	target_up
	curl -s --max-time 10 --resolve "edge.test:$EPORT:127.0.0.1" \
	    --cacert "$T/ca.crt" -L -o "$T/login.html" "$(authorize_url)"
	grep -q 'data-provider="test"' "$T/login.html"
	grep -q 'data-provider="other"' "$T/login.html"
	grep -q 'name="password"' "$T/login.html"
	browser_env
	export B0_BROWSER_PROVIDER=other
	export B0_BROWSER_UPSTREAM_LOGIN=alice@example.com
	export B0_BROWSER_UPSTREAM_PASSWORD=pw-alice
	run browser_run "$(authorize_url)"
	assert_success
	edge_log_has "upstream other: signed in alice@example.com"
	run token_email
	assert_output alice@example.com
}

@test "an email the provider has not verified is refused" {
	need_node
	provider_up bob@example.com:pw-bob:unverified
	edge_up "provider test $OIDC_ISSUER edge $T/secret"
	wait_for 10 edge_log_has "upstream test: $OIDC_ISSUER is ready"
	target_up
	browser_env
	export B0_BROWSER_PROVIDER=test B0_BROWSER_UPSTREAM_LOGIN=bob@example.com
	export B0_BROWSER_UPSTREAM_PASSWORD=pw-bob
	run browser_run "$(authorize_url)"
	browser_pages >&3
	assert_failure
	browser_pages | grep -q 'Sign-in failed'
	edge_log_has "sign-in failed: test has not verified this account's email address"
	[ ! -e "$T/target.json" ]
}

@test "a wrong client secret ends the sign-in with the provider's error" {
	need_node
	provider_up alice@example.com:pw-alice
	(umask 077 && echo not-the-secret >"$T/secret")
	edge_up "provider test $OIDC_ISSUER edge $T/secret"
	wait_for 10 edge_log_has "upstream test: $OIDC_ISSUER is ready"
	target_up
	browser_env
	export B0_BROWSER_PROVIDER=test B0_BROWSER_UPSTREAM_LOGIN=alice@example.com
	export B0_BROWSER_UPSTREAM_PASSWORD=pw-alice
	run browser_run "$(authorize_url)"
	assert_failure
	edge_log_has "the token endpoint refused the code: invalid_client"
	[ ! -e "$T/target.json" ]
}

@test "a provider that is down at start is picked up when it comes" {
	need_node
	oport=$(free_port)
	edge_up "provider test http://127.0.0.1:$oport edge $T/secret"
	wait_for 10 edge_log_has "upstream test: http://127.0.0.1:$oport/.well-known/openid-configuration: "
	edge_log_has "trying again in 5 s"
	oidc_config "$T/oidc.json" edge "$SECRET" \
	    "https://edge.test:$EPORT/upstream/callback" alice@example.com:pw-a
	oidc_start "$oport" "$T/oidc.json"
	wait_for 25 edge_log_has "upstream test: http://127.0.0.1:$oport is ready"
	kill -0 "$(cat "$T/edge.pid")"
}

@test "the callback refuses unknown state and replays" {
	edge_up
	for q in "" "state=nope&code=x" "code=x"; do
		run curl -s --max-time 10 --resolve "edge.test:$EPORT:127.0.0.1" \
		    --cacert "$T/ca.crt" -o "$T/page.html" -w '%{http_code}' \
		    "https://edge.test:$EPORT/upstream/callback?$q"
		[[ "$output" == 4?? ]] || { echo "$q: $output" >&2; false; }
		grep -q '<p class="detail">' "$T/page.html"
	done
}

# fixture_up MODE: a static HTTPS "provider" on 127.0.0.1 with the test
# certificate, serving discovery and a JWKS; sets FPORT.  MODE ok,
# badiss (another issuer), httpjwks (jwks_uri over plain http).
fixture_up() {
	FPORT=$(free_port)
	echo '{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","x":"T8b2DHoCPoFenSa2pRJuipHmvVqzJE6SpCYhekXKuF0","y":"7MKD0XL4h8lFo9ODhzhwNkwA6OtyDltgHYCZ2Zqr2AI"}]}' \
	    >"$T/jwks.json"
	cat >"$T/fixture.py" <<-'EOF'
		import http.server, json, signal, ssl, sys
		signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
		port, mode, d = int(sys.argv[1]), sys.argv[2], sys.argv[3]
		base = "https://127.0.0.1:%d" % port
		class H(http.server.BaseHTTPRequestHandler):
		    def do_GET(self):
		        if self.path == "/.well-known/openid-configuration":
		            j = (base if mode != "httpjwks" else
		                 "http://127.0.0.1:%d" % port) + "/jwks"
		            b = json.dumps({
		                "issuer": base + ("/x" if mode == "badiss" else ""),
		                "authorization_endpoint": base + "/auth",
		                "token_endpoint": base + "/token",
		                "jwks_uri": j}).encode()
		        elif self.path == "/jwks":
		            b = open(d + "/jwks.json", "rb").read()
		        else:
		            return self.send_error(404)
		        self.send_response(200)
		        self.send_header("Content-Type", "application/json")
		        self.send_header("Content-Length", str(len(b)))
		        self.end_headers()
		        self.wfile.write(b)
		    def log_message(self, f, *a):
		        sys.stderr.write("fixture: " + f % a + "\n")
		s = http.server.HTTPServer(("127.0.0.1", port), H)
		c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
		c.load_cert_chain(d + "/edge.crt", d + "/edge.key")
		s.socket = c.wrap_socket(s.socket, server_side=True)
		sys.stderr.write("fixture: listening\n")
		sys.stderr.flush()
		s.serve_forever()
	EOF
	python3 "$T/fixture.py" "$FPORT" "$1" "$T" >>"$T/fixture.log" 2>&1 \
	    </dev/null &
	echo $! >"$T/fixture.pid"
	wait_for 10 grep -q 'fixture: listening' "$T/fixture.log"
}

@test "discovery over https trusts provider-ca, and only with it" {
	fixture_up ok
	edge_up "provider fix https://127.0.0.1:$FPORT edge $T/secret" \
	    "provider-ca $T/ca.crt"
	wait_for 10 edge_log_has "upstream fix: https://127.0.0.1:$FPORT is ready (1 signing keys)"
	grep -q 'GET /.well-known/openid-configuration' "$T/fixture.log"
	grep -q 'GET /jwks' "$T/fixture.log"
	b0_stop "$T" edge
	: >"$T/edge.log"
	edge_up "provider fix https://127.0.0.1:$FPORT edge $T/secret"
	wait_for 10 edge_log_has "upstream fix: https://127.0.0.1:$FPORT/.well-known/openid-configuration: SSL certificate problem"
	run ! edge_log_has "is ready"
}

@test "discovery refuses another issuer and a plain http jwks_uri" {
	fixture_up badiss
	edge_up "provider fix https://127.0.0.1:$FPORT edge $T/secret" \
	    "provider-ca $T/ca.crt"
	wait_for 10 edge_log_has "issuer \"https://127.0.0.1:$FPORT/x\" is not the configured \"https://127.0.0.1:$FPORT\""
	b0_stop "$T" edge
	b0_stop "$T" fixture
	: >"$T/edge.log"
	fixture_up httpjwks
	edge_up "provider fix https://127.0.0.1:$FPORT edge $T/secret" \
	    "provider-ca $T/ca.crt"
	wait_for 10 edge_log_has "jwks_uri \"http://127.0.0.1:$FPORT/jwks\" is not an https URL"
	run ! edge_log_has "is ready"
}

@test "a client secret file others can read stops the edge" {
	chmod 640 "$T/secret"
	b0_edge_conf "$T" "127.0.0.1:$EPORT" 31000-31010 \
	    "provider fix https://127.0.0.1:1 edge $T/secret"
	run --separate-stderr timeout 10 "$B0_BUILD/b0-edge" -f "$T/edge.conf"
	assert_failure
	[[ "$stderr" == *"$T/secret"*"chmod 600"* ]] || { echo "$stderr"; false; }
}

# ---- ID token checks, one claim at a time (helpers/fake-oidc.py) ----

need_fake() {
	python3 -c 'import cryptography' 2>/dev/null ||
		skip "python3-cryptography missing"
}

# fake_up: the scriptable provider "fake" and an edge using it.
fake_up() {
	FPORT=$(free_port)
	echo '{}' >"$T/scenario.json"
	python3 "$B0_TOP/tests/e2e/helpers/fake-oidc.py" "$FPORT" "$T" edge \
	    "$SECRET" >>"$T/fixture.log" 2>&1 </dev/null &
	echo $! >"$T/fixture.pid"
	wait_for 10 grep -q 'fake-oidc: listening' "$T/fixture.log"
	edge_up "provider fake http://127.0.0.1:$FPORT edge $T/secret"
	wait_for 10 edge_log_has "upstream fake: http://127.0.0.1:$FPORT is ready"
}

# web ARGS...: curl to the edge as edge.test with the cookie jar $T/jar$J.
web() {
	curl -s --max-time 10 --resolve "edge.test:$EPORT:127.0.0.1" \
	    --cacert "$T/ca.crt" -c "$T/jar${J:-}" -b "$T/jar${J:-}" "$@"
}

# fake_sign_in SCENARIO-JSON: one whole code flow through the fake
# provider with curl as the browser; prints "ok CODE" or "error DETAIL".
# With $J set, its own cookie jar and page file (parallel sign-ins).
fake_sign_in() {
	local loc req v=$VERIFIER ch st i detail page=$T/page${J:-}.html cont
	printf '%s\n' "$1" >"$T/scenario.json"
	rm -f "$T/jar${J:-}"
	ch=$(printf %s "$v" | openssl dgst -sha256 -binary |
	    basenc --base64url | tr -d =)
	loc=$(web -o /dev/null -w '%{redirect_url}' "https://edge.test:$EPORT/authorize?response_type=code&client_id=b0-proxy&redirect_uri=http://127.0.0.1:9/cb&code_challenge=$ch&code_challenge_method=S256&state=st-f&scope=openid")
	req=${loc##*req=}
	web -o "$page" "$loc" # the login page, with its button
	grep -q "href=\"/upstream/fake/start?req=$req\"" "$page"
	loc=$(web -o /dev/null -w '%{redirect_url}' \
	    "https://edge.test:$EPORT/upstream/fake/start?req=$req")
	[[ "$loc" == "http://127.0.0.1:$FPORT/auth?"* ]] ||
		{ echo "start sent us to \"$loc\"" >&2; return 1; }
	loc=$(curl -s --max-time 10 -o /dev/null -w '%{redirect_url}' "$loc")
	[[ "$loc" == "https://edge.test:$EPORT/upstream/callback?"* ]] ||
		{ echo "the provider sent us to \"$loc\"" >&2; return 1; }
	st=$(web -o "$page" -w '%{http_code}' "$loc")
	# The waiting page reloads /login/continue for its own request.
	cont=$(sed -n 's/.*http-equiv="refresh" content="1;url=\([^"]*\)".*/\1/p' \
	    "$page")
	cont=${cont//&amp;/&}
	for i in $(seq 1 150); do
		if [ "$st" != 200 ] || ! grep -q 'Signing you in' "$page"; then
			break
		fi
		sleep 0.1
		st=$(web -o "$page" -w '%{http_code} %{redirect_url}' \
		    "https://edge.test:$EPORT$cont")
		if [[ "$st" == "302 http://127.0.0.1:9/cb?code="* ]]; then
			echo "ok ${st#*code=}"
			return 0
		fi
		st=${st%% *}
	done
	detail=$(sed -n 's/.*<p class="detail">\([^<]*\)<.*/\1/p' "$page")
	echo "error $st $detail"
}

@test "the fake provider's plain ID token signs in, with PKCE, nonce and the secret checked" {
	need_fake
	fake_up
	run fake_sign_in '{}'
	assert_output --regexp '^ok [A-Za-z0-9_-]{43}&state=st-f$'
	edge_log_has "upstream fake: signed in carol@example.org"
	run jq -r '.scope, .redirect_uri' "$T/auth.json"
	assert_output "openid email
https://edge.test:$EPORT/upstream/callback"
	run jq -r 'keys | join(",")' "$T/token.json"
	assert_output "client_id,code,grant_type,redirect_uri"
}

@test "ID tokens failing a check are refused, each with its reason" {
	need_fake
	fake_up
	now=$(date +%s)
	while IFS='|' read -r scenario why; do
		[ -n "$scenario" ] || continue
		run fake_sign_in "$scenario"
		[[ "$output" == "error 401 "* ]] ||
			{ echo "$scenario: $output" >&2; return 1; }
		edge_log_has "$why" ||
			{ echo "$scenario: no \"$why\" in the log" >&2; return 1; }
	done <<-EOF
		{"claims":{"aud":"someone-else"}}|aud
		{"claims":{"aud":["edge","other"],"azp":"other"}}|azp
		{"claims":{"azp":"other"}}|is for client "other" (azp)
		{"claims":{"iss":"http://127.0.0.1:1"}}|iss
		{"claims":{"nonce":"not-the-nonce"}}|does not carry this sign-in's nonce
		{"claims":{"nonce":null}}|does not carry this sign-in's nonce
		{"claims":{"email_verified":"true"}}|has not verified this account's email address
		{"claims":{"email_verified":1}}|has not verified this account's email address
		{"claims":{"email_verified":null}}|has not verified this account's email address
		{"claims":{"email_verified":false}}|has not verified this account's email address
		{"claims":{"email":"not-an-email"}}|which is not an email address b0 takes
		{"claims":{"email":null}}|carries no email address
		{"claims":{"exp":$((now - 120))}}|exp
		{"claims":{"iat":null}}|iat
		{"claims":{"iat":$((now - 3600)),"exp":$((now + 600))}}|issued before this sign-in began
		{"alg":"none"}|does not verify
		{"alg":"HS256"}|does not verify
		{"kid":"kb"}|does not verify
	EOF
}

@test "an ID token under a new kid makes the edge fetch the JWKS again" {
	need_fake
	fake_up
	touch "$T/rotated"
	run fake_sign_in '{"kid":"kb"}'
	assert_output --regexp '^ok '
	edge_log_has "upstream fake: fetched its keys again (2)"
	[ "$(grep -c 'GET /jwks' "$T/fixture.log")" = 2 ]
}

@test "an array aud with our azp is accepted" {
	need_fake
	fake_up
	run fake_sign_in '{"claims":{"aud":["edge","other"],"azp":"edge"}}'
	assert_output --regexp '^ok '
}

@test "sign-ins through a provider work after the edge dropped root" {
	need_fake
	[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	mkdir -p "$T/edge-state"
	chown nobody "$T/edge-state"
	chmod 755 "$T"
	FPORT=$(free_port)
	echo '{}' >"$T/scenario.json"
	python3 "$B0_TOP/tests/e2e/helpers/fake-oidc.py" "$FPORT" "$T" edge \
	    "$SECRET" >>"$T/fixture.log" 2>&1 </dev/null &
	echo $! >"$T/fixture.pid"
	wait_for 10 grep -q 'fake-oidc: listening' "$T/fixture.log"
	edge_up "provider fake http://127.0.0.1:$FPORT edge $T/secret" \
	    "user nobody"
	wait_for 10 edge_log_has "upstream fake: http://127.0.0.1:$FPORT is ready"
	[ "$(stat -c %U /proc/"$(cat "$T/edge.pid")")" = nobody ]
	run fake_sign_in '{}'
	assert_output --regexp '^ok '
}

@test "a slow token endpoint: the sign-in fails after 10 s, and the edge stops at once meanwhile" {
	need_fake
	fake_up
	start=$(date +%s)
	run fake_sign_in '{"sleep": 15}'
	[[ "$output" == "error 401 "* ]] || { echo "$output"; false; }
	edge_log_has "Operation timed out after 1"
	[ $(($(date +%s) - start)) -lt 15 ]
	# Again, and stop the edge while the exchange waits.
	rm -f "$T/token.json"
	(fake_sign_in '{"sleep": 15}' >/dev/null 2>&1 &)
	wait_for 10 test -e "$T/token.json"
	sleep 0.5
	start=$(date +%s%N)
	b0_stop "$T" edge
	elapsed=$((($(date +%s%N) - start) / 1000000))
	echo "# the edge stopped in ${elapsed} ms" >&3
	[ "$elapsed" -lt 3000 ]
}

@test "sixteen sign-ins at once through one provider" {
	need_fake
	fake_up
	for J in $(seq 1 16); do
		(J=$J fake_sign_in '{}' >"$T/result$J" 2>&1 &)
	done
	for J in $(seq 1 16); do
		wait_for 30 grep -q . "$T/result$J"
	done
	for J in $(seq 1 16); do
		grep -q '^ok ' "$T/result$J" || { cat "$T/result$J"; false; }
	done
	[ "$(grep -c 'upstream fake: signed in carol@example.org' "$T/edge.log")" = 16 ]
}
