#!/usr/bin/env bats
# End-to-end tests of the edge as OAuth 2.0 authorization server and
# OpenID Connect issuer (docs/identity.md): discovery, JWKS, the device
# flow, the code flow with PKCE and a loopback redirect, refresh rotation
# and reuse detection, the RFC errors, key rotation.  curl plays the
# browser and b0-proxy; openssl checks the signatures against the JWKS.

load helpers/common

bats_require_minimum_version 1.5.0

DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code

setup() {
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	b0_pki "$T"
	b0_edge_conf "$T" 127.0.0.1:0 24400-24409 "tcp-listen 127.0.0.1"
	echo 'correct horse battery' |
	    "$B0_BUILD/b0-edge" -f "$T/edge.conf" user add alice@example.com \
	    2>/dev/null
	start_edge
}

start_edge() {
	b0_start "$T" edge b0-edge -f "$T/edge.conf"
	PORT=$(b0_ready_port "$T" edge)
	ISS="https://edge.test:$PORT"
}

teardown() {
	b0_stop "$T" edge
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		echo "--- edge log"
		cat "$T/edge.log"
	fi
	b0_cleanup_tmpdir
}

# c ARGS...: curl to the edge as a browser with a cookie jar.
c() {
	curl -sS --max-time 10 --cacert "$T/ca.crt" \
	    --resolve "edge.test:$PORT:127.0.0.1" -b "$T/jar" -c "$T/jar" "$@"
}

# post PATH ARGS...: a form POST; body to stdout, status in $T/status.
post() {
	local path=$1
	shift
	c -o "$T/body" -w '%{http_code}' "$@" "$ISS$path" >"$T/status"
	cat "$T/body"
}

status() {
	cat "$T/status"
}

# csrf FILE: the hidden csrf field of the form in FILE.
csrf() {
	grep -o 'name="csrf" value="[^"]*"' "$1" | head -1 |
	    sed 's/.*value="//; s/"$//'
}

# location HEADERS: the Location of a response whose headers are in a file.
location() {
	tr -d '\r' <"$1" | sed -n 's/^[Ll]ocation: //p'
}

# b64url_json SEGMENT: the JSON a base64url JWT segment holds.
b64url_json() {
	python3 -c 'import base64,sys; s=sys.argv[1]; print(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode())' "$1"
}

claims() {
	b64url_json "$(cut -d. -f2 <<<"$1")"
}

header() {
	b64url_json "$(cut -d. -f1 <<<"$1")"
}

# jwt_verify TOKEN JWKS: openssl verifies the ES256 signature of TOKEN
# with the key of JWKS its kid names (the JWK made into a PEM, r||s into
# a DER ECDSA signature).
jwt_verify() {
	local tok=$1 jwks=$2
	python3 - "$tok" "$jwks" "$T" <<-'EOF' || return 1
		import base64, json, sys
		tok, jwks, d = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
		def b(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
		h, p, s = tok.split(".")
		kid = json.loads(b(h))["kid"]
		k = [k for k in jwks["keys"] if k["kid"] == kid][0]
		spki = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
		open(d + "/pub.der", "wb").write(spki + b"\x04" + b(k["x"]) + b(k["y"]))
		sig = b(s)
		def i(x):
		    x = x.lstrip(b"\x00") or b"\x00"
		    x = b"\x00" + x if x[0] & 0x80 else x
		    return b"\x02" + bytes([len(x)]) + x
		body = i(sig[:32]) + i(sig[32:])
		open(d + "/sig.der", "wb").write(b"\x30" + bytes([len(body)]) + body)
		open(d + "/signed", "wb").write((h + "." + p).encode())
	EOF
	openssl pkey -pubin -inform DER -in "$T/pub.der" -out "$T/pub.pem" &&
	    openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig.der" \
		"$T/signed" >/dev/null
}

# pkce: a verifier in $VERIFIER and its S256 challenge in $CHALLENGE.
pkce() {
	VERIFIER=$(head -c 48 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
	CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary |
	    base64 | tr '+/' '-_' | tr -d '=\n')
}

REDIRECT=http://127.0.0.1:45678/callback

# authorize [EXTRA-QUERY]: GET /authorize for b0-proxy with PKCE; headers
# in $T/h, body in $T/body.
authorize() {
	c -o "$T/body" -D "$T/h" -w '%{http_code}' \
	    "$ISS/authorize?client_id=b0-proxy&response_type=code&redirect_uri=$(urlenc "$REDIRECT")&scope=openid%20email&state=st-42&nonce=n-7&code_challenge=$CHALLENGE&code_challenge_method=S256${1:-}" \
	    >"$T/status"
}

urlenc() {
	python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# query_param URL NAME: a decoded query parameter of URL.
query_param() {
	python3 -c 'import sys, urllib.parse; q = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query); print(q[sys.argv[2]][0])' "$1" "$2"
}

# login_as EMAIL PASSWORD: from the login page in $T/body (reached through
# a redirect in $T/h), sign in; the answer's headers in $T/h2, body in
# $T/body2, status in $T/status.
login_as() {
	local loc req
	loc=$(location "$T/h")
	[[ "$loc" == /login\?req=* ]] || { echo "not sent to login: $loc"; return 1; }
	req=${loc#/login?req=}
	c -o "$T/login.html" "$ISS$loc"
	grep -q 'name="password"' "$T/login.html"
	c -o "$T/body2" -D "$T/h2" -w '%{http_code}' \
	    --data-urlencode "email=$1" --data-urlencode "password=$2" \
	    --data-urlencode "csrf=$(csrf "$T/login.html")" \
	    --data-urlencode "req=$req" "$ISS/login" >"$T/status"
}

# code_flow: the whole code flow for alice; the token response in $T/tok.
code_flow() {
	pkce
	authorize
	[ "$(status)" = 302 ]
	login_as alice@example.com 'correct horse battery'
	[ "$(status)" = 302 ]
	CB=$(location "$T/h2")
	[[ "$CB" == "$REDIRECT?"* ]]
	CODE=$(query_param "$CB" code)
	post /token -d grant_type=authorization_code -d client_id=b0-proxy \
	    --data-urlencode "code=$CODE" \
	    --data-urlencode "redirect_uri=$REDIRECT" \
	    --data-urlencode "code_verifier=$VERIFIER" >"$T/tok"
	[ "$(status)" = 200 ] || { cat "$T/tok"; return 1; }
}

# oauth_error STATUS ERROR: the last post answered STATUS with that
# RFC 6749 5.2 error.
oauth_error() {
	local got
	got=$(jq -r .error "$T/body")
	if [ "$(status)" != "$1" ] || [ "$got" != "$2" ]; then
		echo "wanted $1 $2, got $(status) $(cat "$T/body")"
		return 1
	fi
}

@test "discovery names the issuer, its endpoints, S256, the grants and ES256" {
	run c "$ISS/.well-known/openid-configuration"
	assert_success
	d=$output
	[ "$(jq -r .issuer <<<"$d")" = "$ISS" ]
	[ "$(jq -r .authorization_endpoint <<<"$d")" = "$ISS/authorize" ]
	[ "$(jq -r .token_endpoint <<<"$d")" = "$ISS/token" ]
	[ "$(jq -r .device_authorization_endpoint <<<"$d")" = "$ISS/device_authorization" ]
	[ "$(jq -r .userinfo_endpoint <<<"$d")" = "$ISS/userinfo" ]
	[ "$(jq -r .jwks_uri <<<"$d")" = "$ISS/jwks.json" ]
	[ "$(jq -c .code_challenge_methods_supported <<<"$d")" = '["S256"]' ]
	[ "$(jq -c .response_types_supported <<<"$d")" = '["code"]' ]
	[ "$(jq -c .token_endpoint_auth_methods_supported <<<"$d")" = '["none"]' ]
	[ "$(jq -c .id_token_signing_alg_values_supported <<<"$d")" = '["ES256"]' ]
	[ "$(jq -c '.grant_types_supported | sort' <<<"$d")" = \
	    '["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"]' ]
}

@test "the JWKS holds the one P-256 key, kid = its RFC 7638 thumbprint and file name" {
	run c "$ISS/jwks.json"
	assert_success
	[ "$(jq '.keys | length' <<<"$output")" -eq 1 ]
	k=$(jq -c '.keys[0]' <<<"$output")
	[ "$(jq -r .kty <<<"$k")" = EC ]
	[ "$(jq -r .crv <<<"$k")" = P-256 ]
	[ "$(jq -r .alg <<<"$k")" = ES256 ]
	[ "$(jq -r .use <<<"$k")" = sig ]
	[ "$(jq -r 'has("d")' <<<"$k")" = false ]
	kid=$(jq -r .kid <<<"$k")
	tp=$(jq -cj '{crv, kty, x, y}' <<<"$k" | openssl dgst -sha256 -binary |
	    base64 | tr '+/' '-_' | tr -d '=\n')
	[ "$kid" = "$tp" ]
	ls "$T/edge-state/keys" | grep -Eq "^[0-9]+-$kid\.pem$"
	[ "$(stat -c %a "$T/edge-state/keys/"*"-$kid.pem")" = 600 ]
}

@test "device flow: pending, slow_down, the /device page with CSRF and login, approve, tokens" {
	post /device_authorization -d client_id=b0-proxy >"$T/da"
	[ "$(status)" = 200 ]
	DC=$(jq -r .device_code "$T/da")
	UC=$(jq -r .user_code "$T/da")
	[[ "$UC" =~ ^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$ ]]
	[ "$(jq -r .verification_uri "$T/da")" = "$ISS/device" ]
	[ "$(jq -r .verification_uri_complete "$T/da")" = "$ISS/device?user_code=$UC" ]
	[ "$(jq -r .expires_in "$T/da")" = 600 ]
	[ "$(jq -r .interval "$T/da")" = 5 ]

	post /token -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy -d device_code="$DC"
	oauth_error 400 authorization_pending
	post /token -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy -d device_code="$DC"
	oauth_error 400 slow_down

	# The person: the code page, typed in lower case without the dash.
	c -o "$T/dev.html" "$ISS/device"
	grep -q 'name="user_code"' "$T/dev.html"
	typed=$(tr -d - <<<"$UC" | tr A-Z a-z)
	# A form without its CSRF token is refused.
	post /device --data-urlencode "user_code=$typed" >/dev/null
	[ "$(status)" = 403 ]
	c -o "$T/body" -D "$T/h" --data-urlencode "user_code=$typed" \
	    --data-urlencode "csrf=$(csrf "$T/dev.html")" "$ISS/device"
	login_as alice@example.com 'correct horse battery'
	[ "$(status)" = 200 ]
	grep -q '__Host-b0_session=' "$T/h2"
	tr -d '\r' <"$T/h2" | grep -i '^set-cookie: __Host-b0_session=' |
	    grep HttpOnly | grep Secure | grep 'SameSite=Lax' | grep -q 'Path=/'
	grep -q "$UC" "$T/body2"
	grep -q 'value="approve"' "$T/body2"
	c -o "$T/done.html" --data-urlencode "user_code=$UC" -d action=approve \
	    --data-urlencode "csrf=$(csrf "$T/body2")" "$ISS/device"
	grep -q '<h1>Signed in</h1>' "$T/done.html"

	# slow_down made the interval 10 s.
	sleep 10.2
	post /token -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy -d device_code="$DC" >"$T/tok"
	[ "$(status)" = 200 ] || { cat "$T/tok"; false; }
	[ "$(jq -r .token_type "$T/tok")" = Bearer ]
	[ "$(jq -r .expires_in "$T/tok")" = 600 ]
	[[ "$(jq -r .refresh_token "$T/tok")" =~ ^b0rt\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$ ]]
	AT=$(jq -r .access_token "$T/tok")
	[ "$(header "$AT" | jq -r .typ)" = at+jwt ]
	[ "$(header "$AT" | jq -r .alg)" = ES256 ]
	cl=$(claims "$AT")
	[ "$(jq -r .iss <<<"$cl")" = "$ISS" ]
	[ "$(jq -r .aud <<<"$cl")" = "$ISS" ]
	[ "$(jq -r .sub <<<"$cl")" = alice@example.com ]
	[ "$(jq -r .email <<<"$cl")" = alice@example.com ]
	[ "$(jq -r .email_verified <<<"$cl")" = true ]
	[ "$(jq -r .client_id <<<"$cl")" = b0-proxy ]
	[ "$(jq -r '.exp - .iat' <<<"$cl")" = 600 ]
	[[ "$(jq -r .jti <<<"$cl")" =~ ^[0-9a-f]{32}$ ]]
	jwt_verify "$AT" "$(c "$ISS/jwks.json")"

	run c -H "Authorization: Bearer $AT" "$ISS/userinfo"
	assert_success
	[ "$(jq -c . <<<"$output")" = '{"sub":"alice@example.com","email":"alice@example.com","email_verified":true}' ]

	# The device code is used up.
	post /token -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy -d device_code="$DC"
	oauth_error 400 invalid_grant
	# Tokens, codes and passwords stay out of the log.
	! grep -F -e "$AT" -e "$DC" -e "correct horse" -e "$(jq -r .refresh_token "$T/tok" | cut -d. -f3)" "$T/edge.log"
}

@test "device flow: a denied code answers access_denied, an unknown one invalid_grant" {
	post /device_authorization -d client_id=b0-proxy >"$T/da"
	DC=$(jq -r .device_code "$T/da")
	UC=$(jq -r .user_code "$T/da")
	c -o "$T/dev.html" "$ISS/device?user_code=$UC"
	grep -q "value=\"$UC\"" "$T/dev.html"
	c -o "$T/body" -D "$T/h" --data-urlencode "user_code=$UC" \
	    --data-urlencode "csrf=$(csrf "$T/dev.html")" "$ISS/device"
	login_as alice@example.com 'correct horse battery'
	c -o "$T/done.html" --data-urlencode "user_code=$UC" -d action=deny \
	    --data-urlencode "csrf=$(csrf "$T/body2")" "$ISS/device"
	grep -q '<h1>Denied</h1>' "$T/done.html"
	post /token -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy -d device_code="$DC"
	oauth_error 400 access_denied
	post /token -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy -d device_code=nope
	oauth_error 400 invalid_grant
	# A mistyped code gets the form again with an error.
	c -o "$T/dev.html" "$ISS/device"
	post /device -d user_code=BBBB-BBBB --data-urlencode "csrf=$(csrf "$T/dev.html")" >/dev/null
	[ "$(status)" = 400 ]
	grep -q 'class="error"' "$T/body"
}

@test "code flow with PKCE: login, loopback redirect with code and state, tokens, ID token" {
	code_flow
	[ "$(query_param "$CB" state)" = st-42 ]
	[ "$(jq -r .scope "$T/tok")" = "openid email" ]
	AT=$(jq -r .access_token "$T/tok")
	IDT=$(jq -r .id_token "$T/tok")
	JWKS=$(c "$ISS/jwks.json")
	jwt_verify "$AT" "$JWKS"
	jwt_verify "$IDT" "$JWKS"
	[ "$(claims "$IDT" | jq -r .aud)" = b0-proxy ]
	[ "$(claims "$IDT" | jq -r .iss)" = "$ISS" ]
	[ "$(claims "$IDT" | jq -r .email)" = alice@example.com ]
	[ "$(claims "$IDT" | jq -r .nonce)" = n-7 ]
	[ "$(header "$IDT" | jq -r 'has("typ")')" = false ]
	[ "$(claims "$AT" | jq -r .sub)" = alice@example.com ]

	# With the browser session, a second sign-in is one redirect.
	pkce
	authorize
	[ "$(status)" = 302 ]
	loc=$(location "$T/h")
	[[ "$loc" == "$REDIRECT?code="*"&state=st-42" ]]

	# A tampered token is refused at /userinfo.
	bad="${AT%?}A"
	[ "$bad" != "$AT" ] || bad="${AT%?}B"
	run c -i -H "Authorization: Bearer $bad" "$ISS/userinfo"
	assert_line --partial "HTTP/1.1 401"
	assert_line --partial 'WWW-Authenticate: Bearer error="invalid_token"'
}

@test "code flow: a replayed code is refused and revokes its grant" {
	code_flow
	RT=$(jq -r .refresh_token "$T/tok")
	post /token -d grant_type=authorization_code -d client_id=b0-proxy \
	    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$REDIRECT" \
	    --data-urlencode "code_verifier=$VERIFIER"
	oauth_error 400 invalid_grant
	post /token -d grant_type=refresh_token -d client_id=b0-proxy --data-urlencode "refresh_token=$RT"
	oauth_error 400 invalid_grant
	grep -q 'used again: grant revoked' "$T/edge.log"
}

@test "code flow: a wrong code_verifier or redirect_uri is invalid_grant" {
	pkce
	authorize
	login_as alice@example.com 'correct horse battery'
	CODE=$(query_param "$(location "$T/h2")" code)
	other=$(head -c 48 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
	post /token -d grant_type=authorization_code -d client_id=b0-proxy \
	    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$REDIRECT" \
	    --data-urlencode "code_verifier=$other"
	oauth_error 400 invalid_grant
	[[ "$(jq -r .error_description "$T/body")" == *code_verifier* ]]

	# The session makes the next code at once.
	pkce
	authorize
	CODE=$(query_param "$(location "$T/h")" code)
	post /token -d grant_type=authorization_code -d client_id=b0-proxy \
	    --data-urlencode "code=$CODE" \
	    --data-urlencode "redirect_uri=http://127.0.0.1:45679/callback" \
	    --data-urlencode "code_verifier=$VERIFIER"
	oauth_error 400 invalid_grant
	[[ "$(jq -r .error_description "$T/body")" == *redirect_uri* ]]
	# Either failure used the code up.
	post /token -d grant_type=authorization_code -d client_id=b0-proxy \
	    --data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$REDIRECT" \
	    --data-urlencode "code_verifier=$VERIFIER"
	oauth_error 400 invalid_grant
}

@test "refresh tokens rotate; a reused old one revokes the grant; grants survive a restart" {
	code_flow
	RT1=$(jq -r .refresh_token "$T/tok")
	post /token -d grant_type=refresh_token -d client_id=b0-proxy --data-urlencode "refresh_token=$RT1" >"$T/tok2"
	[ "$(status)" = 200 ]
	RT2=$(jq -r .refresh_token "$T/tok2")
	[ "$RT2" != "$RT1" ]
	[ "${RT2:0:38}" = "${RT1:0:38}" ] # same grant
	jwt_verify "$(jq -r .access_token "$T/tok2")" "$(c "$ISS/jwks.json")"

	# The file keeps hashes only, 0600.
	[ "$(stat -c %a "$T/edge-state/grants")" = 600 ]
	! grep -qF -e "${RT1:38}" -e "${RT2:38}" "$T/edge-state/grants"
	grep -q "^${RT1:5:32} \"alice@example.com\" builtin " "$T/edge-state/grants"

	# A restart logs nobody out.
	b0_stop "$T" edge
	start_edge
	post /token -d grant_type=refresh_token --data-urlencode "refresh_token=$RT2" >"$T/tok3"
	[ "$(status)" = 200 ] || { cat "$T/tok3"; false; }
	RT3=$(jq -r .refresh_token "$T/tok3")

	# RT1 was rotated away: using it again revokes the grant, RT3 too.
	post /token -d grant_type=refresh_token --data-urlencode "refresh_token=$RT1"
	oauth_error 400 invalid_grant
	grep -q 'rotated-away refresh token .* used again: grant revoked' "$T/edge.log"
	post /token -d grant_type=refresh_token --data-urlencode "refresh_token=$RT3"
	oauth_error 400 invalid_grant
	! grep -q "^${RT1:5:32} " "$T/edge-state/grants"
	# A token of no grant, or not a token at all.
	post /token -d grant_type=refresh_token -d refresh_token=b0rt.0123.abc
	oauth_error 400 invalid_grant
}

@test "/authorize: bad client or redirect URI get an error page, never a redirect" {
	pkce
	q="response_type=code&scope=openid&state=s&code_challenge=$CHALLENGE&code_challenge_method=S256"
	for bad in \
	    "client_id=b0-proxy&redirect_uri=http%3A%2F%2Flocalhost%3A4000%2Fcb" \
	    "client_id=b0-proxy&redirect_uri=https%3A%2F%2F127.0.0.1%3A4000%2Fcb" \
	    "client_id=b0-proxy&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%40evil.test%2Fcb" \
	    "client_id=b0-proxy&redirect_uri=http%3A%2F%2Fevil.test%3A4000%2Fcb" \
	    "client_id=b0-proxy&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb" \
	    "client_id=b0-proxy&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb%23frag" \
	    "client_id=b0-proxy" \
	    "client_id=other&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb" \
	    "redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb" \
	    "client_id=b0-proxy&client_id=b0-proxy&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb"; do
		c -o "$T/body" -D "$T/h" -w '%{http_code}' "$ISS/authorize?$bad&$q" >"$T/status"
		[ "$(status)" = 400 ] || { echo "$bad: $(status)"; false; }
		[ -z "$(location "$T/h")" ]
		grep -q '<h1>' "$T/body"
		grep -q 'class="detail"' "$T/body"
	done
	# IPv6 loopback is fine.
	c -o /dev/null -D "$T/h" "$ISS/authorize?client_id=b0-proxy&redirect_uri=http%3A%2F%2F%5B%3A%3A1%5D%3A4000%2Fcb&$q"
	[[ "$(location "$T/h")" == /login\?req=* ]]
}

@test "/authorize: other errors go back to the checked loopback URI with state" {
	pkce
	base="client_id=b0-proxy&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fcb&state=xyz"
	check() {
		c -o /dev/null -D "$T/h" "$ISS/authorize?$base&$1"
		loc=$(location "$T/h")
		[[ "$loc" == "http://127.0.0.1:4000/cb?error=$2&"* ]] || { echo "$1: $loc"; return 1; }
		[ "$(query_param "$loc" state)" = xyz ]
	}
	check "response_type=code&scope=openid&code_challenge=$CHALLENGE&code_challenge_method=plain" invalid_request
	check "response_type=code&scope=openid" invalid_request
	check "response_type=code&scope=openid&code_challenge=short&code_challenge_method=S256" invalid_request
	check "response_type=token&scope=openid&code_challenge=$CHALLENGE&code_challenge_method=S256" unsupported_response_type
	check "response_type=code&scope=email&code_challenge=$CHALLENGE&code_challenge_method=S256" invalid_scope
	check "scope=openid&code_challenge=$CHALLENGE&code_challenge_method=S256" invalid_request
}

@test "/token: every bad request gets its RFC 6749 5.2 error" {
	post /token -d client_id=b0-proxy
	oauth_error 400 invalid_request
	post /token -d grant_type=password -d username=a -d password=b
	oauth_error 400 unsupported_grant_type
	post /token -d grant_type=refresh_token -d grant_type=refresh_token -d refresh_token=x
	oauth_error 400 invalid_request
	[[ "$(jq -r .error_description "$T/body")" == *twice* ]]
	post /token -d grant_type=authorization_code -d client_id=b0-proxy -d code=abc \
	    --data-urlencode "redirect_uri=$REDIRECT"
	oauth_error 400 invalid_request
	post /token -d grant_type=authorization_code -d client_id=other -d code=abc
	oauth_error 401 invalid_client
	post /token -d grant_type=authorization_code -d client_id=b0-proxy -d code=abc \
	    --data-urlencode "redirect_uri=$REDIRECT" -d code_verifier="$(printf 'v%.0s' {1..50})"
	oauth_error 400 invalid_grant
	post /token -H 'Content-Type: application/json' --data '{"grant_type":"refresh_token"}'
	oauth_error 400 invalid_request
	post /token -d grant_type=$DEVICE_GRANT -d device_code=x
	oauth_error 400 invalid_request
	# Cache-Control: no-store on token responses.
	c -D "$T/h" -o /dev/null -d grant_type=x "$ISS/token"
	tr -d '\r' <"$T/h" | grep -qi '^cache-control: no-store'
	# A body over 16 KiB never reaches the token endpoint.
	head -c 20000 /dev/zero | tr '\0' a >"$T/big"
	c -o /dev/null -w '%{http_code}' --data-binary "@$T/big" "$ISS/token" >"$T/status"
	[ "$(status)" = 413 ]
	# The token endpoint takes POST only.
	c -o /dev/null -D "$T/h" -w '%{http_code}' "$ISS/token" >"$T/status"
	[ "$(status)" = 405 ]
}

@test "login: a wrong password shows the form with an error; repeated failures are limited" {
	pkce
	authorize
	login_as alice@example.com 'wrong'
	[ "$(status)" = 401 ]
	grep -q 'class="error"' "$T/body2"
	! grep -q __Host-b0_session "$T/h2"
	login_as nobody@example.com 'wrong'
	[ "$(status)" = 401 ]
	# A form without the right CSRF token is refused before any check.
	req=$(location "$T/h" | sed 's/.*req=//')
	post /login --data-urlencode email=alice@example.com \
	    --data-urlencode 'password=correct horse battery' -d csrf=AAAA -d req="$req" >/dev/null
	[ "$(status)" = 403 ]
	for i in 1 2 3 4 5 6 7 8; do
		login_as alice@example.com "wrong $i"
	done
	login_as alice@example.com 'correct horse battery'
	[ "$(status)" = 429 ]
	! grep -q __Host-b0_session "$T/h2"
	! grep -qF 'wrong 3' "$T/edge.log"
}

@test "user del shuts the person out: the access token is refused within a second" {
	code_flow
	AT=$(jq -r .access_token "$T/tok")
	RT=$(jq -r .refresh_token "$T/tok")
	run c -H "Authorization: Bearer $AT" "$ISS/userinfo"
	assert_success
	"$B0_BUILD/b0-edge" -f "$T/edge.conf" user del alice@example.com 2>/dev/null
	sleep 1.5
	run c -i -H "Authorization: Bearer $AT" "$ISS/userinfo"
	assert_line --partial "HTTP/1.1 401"
	post /token -d grant_type=refresh_token --data-urlencode "refresh_token=$RT"
	oauth_error 400 invalid_grant
	# Her browser session at the edge ends too: /authorize asks for a
	# sign-in again instead of handing out a code.
	pkce
	authorize
	[ "$(status)" = 302 ]
	[[ "$(location "$T/h")" == /login\?req=* ]]
}

@test "key rotate: new tokens use the new kid, the old kid stays in the JWKS" {
	code_flow
	AT1=$(jq -r .access_token "$T/tok")
	RT=$(jq -r .refresh_token "$T/tok")
	kid1=$(header "$AT1" | jq -r .kid)
	run --separate-stderr "$B0_BUILD/b0-edge" -f "$T/edge.conf" key rotate
	assert_success
	kid2=$output
	[ "$kid2" != "$kid1" ]
	[[ "$stderr" == *"new signing key $kid2"* ]]
	run "$B0_BUILD/b0-edge" -f "$T/edge.conf" key ls --json
	assert_success
	[ "$(jq -r '.[] | select(.signing) | .kid' <<<"$output")" = "$kid2" ]
	[ "$(jq -r '[.[] | select(.published)] | length' <<<"$output")" = 2 ]
	run "$B0_BUILD/b0-edge" -f "$T/edge.conf" key ls
	assert_line --regexp "^$kid1 +.* published$"
	assert_line --regexp "^$kid2 +.* signing$"
	sleep 1.5
	JWKS=$(c "$ISS/jwks.json")
	[ "$(jq -r '[.keys[].kid] | sort | join(" ")' <<<"$JWKS")" = \
	    "$(printf '%s\n' "$kid1" "$kid2" | sort | tr '\n' ' ' | sed 's/ $//')" ]
	post /token -d grant_type=refresh_token --data-urlencode "refresh_token=$RT" >"$T/tok2"
	AT2=$(jq -r .access_token "$T/tok2")
	[ "$(header "$AT2" | jq -r .kid)" = "$kid2" ]
	jwt_verify "$AT2" "$JWKS"
	jwt_verify "$AT1" "$JWKS"
	# The old token is still good.
	run c -H "Authorization: Bearer $AT1" "$ISS/userinfo"
	assert_success
	[ "$(jq -r .email <<<"$output")" = alice@example.com ]
}

# still_signed_in: the edge session of the jar holds (authorize goes
# straight back to the client with a code).
still_signed_in() {
	pkce
	authorize
	[ "$(status)" = 302 ]
	[[ "$(location "$T/h")" == "$REDIRECT?code="* ]]
}

@test "logout asks on a GET and ends the browser session only on a POST with the page's token" {
	code_flow
	sess=$(awk '$6 == "__Host-b0_session" { print $7 }' "$T/jar")
	[ -n "$sess" ]
	# A GET (a link or an <img> of another site) only asks.
	c -o "$T/out.html" -D "$T/h" -H 'Sec-Fetch-Site: cross-site' "$ISS/logout"
	[ "$(tr -d '\r' <"$T/h" | head -1 | cut -d' ' -f2)" = 200 ]
	grep -q '<h1>Sign out of edge.test?</h1>' "$T/out.html"
	grep -q 'You are signed in as <strong>alice@example.com</strong>.' "$T/out.html"
	grep -q '<form method="post" action="/logout">' "$T/out.html"
	grep -q '<button type="submit" id="submit">Sign out</button>' "$T/out.html"
	run ! grep -qi '^set-cookie: __Host-b0_session=' "$T/h"
	tok=$(csrf "$T/out.html")
	[ ${#tok} = 43 ]
	still_signed_in
	# A POST without the token, with a wrong one, or from another site
	# (with the right token) ends nothing: 403, logged with the address.
	for args in "-d x=1" "-d csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	    "-H Sec-Fetch-Site:same-site --data-urlencode csrf=$tok" \
	    "-H Sec-Fetch-Site:cross-site --data-urlencode csrf=$tok"; do
		# shellcheck disable=SC2086
		post /logout $args >"$T/r.html"
		[ "$(status)" = 403 ]
		grep -q '<h1>Sign-out refused</h1>' "$T/r.html"
		grep -q "This sign-out request did not come from this site. Sign out again from <a id=\"logout\" href=\"$ISS/logout\">" "$T/r.html"
		still_signed_in
	done
	grep -Eq '127\.0\.0\.1:[0-9]+: logout: sign-out of alice@example\.com refused: no csrf token' "$T/edge.log"
	grep -Eq 'logout: sign-out of alice@example\.com refused: a wrong csrf token' "$T/edge.log"
	grep -Eq 'logout: sign-out of alice@example\.com refused: Sec-Fetch-Site is "cross-site", not same-origin' "$T/edge.log"
	# A GET with a made-up logout ticket still only asks.
	c -o "$T/out2.html" "$ISS/logout?logout_ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	grep -q '<h1>Sign out of edge.test?</h1>' "$T/out2.html"
	still_signed_in
	# The page's own form (same origin) ends it.
	post /logout -D "$T/h" -H 'Sec-Fetch-Site: same-origin' \
	    --data-urlencode "csrf=$tok" >"$T/out.html"
	[ "$(status)" = 200 ]
	grep -q '<h1>Signed out</h1>' "$T/out.html"
	tr -d '\r' <"$T/h" | grep -qi '^set-cookie: __Host-b0_session=;.*max-age=0'
	grep -q 'signed out: alice@example.com' "$T/edge.log"
	pkce
	authorize
	[[ "$(location "$T/h")" == /login\?req=* ]]
	# The old cookie is dead, and the token with it.
	run curl -sS --max-time 10 --cacert "$T/ca.crt" -o /dev/null -D - \
	    --resolve "edge.test:$PORT:127.0.0.1" -b "__Host-b0_session=$sess" \
	    "$ISS/authorize?client_id=b0-proxy&response_type=code&redirect_uri=$(urlenc "$REDIRECT")&scope=openid&code_challenge=$CHALLENGE&code_challenge_method=S256"
	[[ "$(tr -d '\r' <<<"$output" | sed -n 's/^[Ll]ocation: //p')" == /login\?req=* ]]
	# Without a session there is nothing to end: a GET says so.
	c -o "$T/out3.html" "$ISS/logout"
	grep -q '<h1>Signed out</h1>' "$T/out3.html"
}

@test "edge.conf: identity settings are checked, errors name file:line" {
	b0_edge_conf "$T" 127.0.0.1:0 24400-24409 "issuer https://other.test"
	run "$B0_BUILD/b0-edge" -f "$T/edge.conf" -t
	assert_failure
	assert_output --partial "edge.conf:8: issuer"
	for line in "issuer http://edge.test" "users maybe" \
	    "access-token-lifetime 5s" "refresh-token-lifetime forever" \
	    "provider Bad https://idp.test id /etc/secret" \
	    "provider g http://idp.test id /etc/secret" \
	    "provider g https://idp.test id relative/secret" \
	    "provider g https://idp.test id"; do
		b0_edge_conf "$T" 127.0.0.1:0 24400-24409 "$line"
		run "$B0_BUILD/b0-edge" -f "$T/edge.conf" -t
		assert_failure
		assert_output --partial "edge.conf:8: "
	done
	b0_edge_conf "$T" 127.0.0.1:0 24400-24409 "issuer https://edge.test" \
	    "access-token-lifetime 5m" "refresh-token-lifetime 7d" "users none" \
	    "provider g https://accounts.idp.test id /etc/secret" \
	    "provider-ca /etc/ssl/certs/ca-certificates.crt"
	run "$B0_BUILD/b0-edge" -f "$T/edge.conf" -t
	assert_success
	b0_edge_conf "$T" 127.0.0.1:0 24400-24409 \
	    "provider g https://a.test id /s" "provider g https://b.test id /s"
	run "$B0_BUILD/b0-edge" -f "$T/edge.conf" -t
	assert_failure
	assert_output --partial "edge.conf:9: provider: g is named twice"
}

@test "the issuer is the configured one when set" {
	b0_stop "$T" edge
	b0_edge_conf "$T" 127.0.0.1:0 24400-24409 "issuer https://edge.test"
	start_edge
	run c "$ISS/.well-known/openid-configuration"
	[ "$(jq -r .issuer <<<"$output")" = https://edge.test ]
	[ "$(jq -r .token_endpoint <<<"$output")" = https://edge.test/token ]
}

# forged CLAIMS-JSON [TYP] [KEY]: a token signed with the edge's own key
# (or KEY) over CLAIMS-JSON.
forged() {
	local key=${3:-$(ls "$T"/edge-state/keys/*.pem | tail -1)} kid
	kid=$(basename "$key" .pem)
	kid=${kid#*-}
	printf '%s' "$1" | "$B0_BUILD/tools/b0-jwtsign" "$key" "$kid" ${2:-at+jwt}
}

# b64u: base64url without padding, of stdin.
b64u() {
	basenc --base64url -w0 | tr -d '='
}

# refused TOKEN: /userinfo answers 401 invalid_token.
refused() {
	c -i -H "Authorization: Bearer $1" "$ISS/userinfo" >"$T/ui"
	grep -q '^HTTP/1.1 401' "$T/ui" &&
	    grep -q 'WWW-Authenticate: Bearer error="invalid_token"' "$T/ui" ||
	    { cat "$T/ui"; return 1; }
}

@test "access tokens are checked: signature, typ, iss, aud, times, lifetime, the account" {
	now=$(date +%s)
	good() {
		jq -cn --arg iss "$ISS" --argjson now "$now" \
		    '{iss: $iss, sub: "alice@example.com", aud: $iss, client_id: "b0-proxy",
		      email: "alice@example.com", email_verified: true, iat: $now,
		      exp: ($now + 600), jti: "00", scope: "openid email", b0_src: "builtin"} + '"${1:-{\}}"
	}
	# The shape the edge issues passes: the check is not just "refuse".
	run c -H "Authorization: Bearer $(forged "$(good)")" "$ISS/userinfo"
	assert_success
	[ "$(jq -r .email <<<"$output")" = alice@example.com ]
	refused "$(forged "$(good)" JWT)"
	refused "$(forged "$(good '{"iss":"https://evil.test"}')")"
	refused "$(forged "$(good '{"aud":"b0-proxy"}')")"
	refused "$(forged "$(good "{\"iat\":$((now - 1000)),\"exp\":$((now - 400))}")")"
	grep -q "token expired 4[0-9][0-9] s ago" "$T/ui"
	refused "$(forged "$(good "{\"exp\":$((now + 4000))}")")"
	refused "$(forged "$(good "{\"nbf\":$((now + 600))}")")"
	refused "$(forged "$(good '{"email":"bob@example.com","sub":"bob@example.com"}')")"
	refused "$(forged "$(good '{"b0_src":"upstream:gone"}')")"
	"$B0_BUILD/tools/b0-jwtsign" --new-key "$T/other.pem"
	refused "$(forged "$(good)" at+jwt "$T/other.pem")"
	refused "not.a.token"
	# The classic attacks: the algorithm is the key's, never the token's.
	local tok h p sig kid other pub
	tok=$(forged "$(good)")
	h=${tok%%.*} p=${tok#*.} sig=${tok##*.}
	p=${p%%.*}
	kid=$(ls "$T"/edge-state/keys/*.pem | tail -1)
	kid=$(basename "$kid" .pem)
	kid=${kid#*-}
	for alg in none None NONE nOnE; do
		refused "$(printf '{"alg":"%s","kid":"%s","typ":"at+jwt"}' \
		    "$alg" "$kid" | b64u).$p."
	done
	refused "$h.$p."
	refused "$h.$p"
	other=$(forged "$(good '{"email":"mallory@example.com","sub":"mallory@example.com"}')")
	other=${other#*.}
	refused "$h.${other%%.*}.$sig"
	openssl ec -in "$(ls "$T"/edge-state/keys/*.pem | tail -1)" -pubout \
	    -out "$T/pub.pem" 2>/dev/null
	pub=$(cat "$T/pub.pem")
	h=$(printf '{"alg":"HS256","kid":"%s","typ":"at+jwt"}' "$kid" | b64u)
	refused "$h.$p.$(printf '%s' "$h.$p" |
	    openssl dgst -sha256 -hmac "$pub" -binary | b64u)"
	run c -i "$ISS/userinfo"
	assert_line --partial "HTTP/1.1 401"
	assert_line --partial "WWW-Authenticate: Bearer"
}

@test "retired keys leave the JWKS once their tokens have expired; key rotate deletes them" {
	K=$T/edge-state/keys
	kid1=$(ls "$K" | sed 's/^[0-9]*-//; s/\.pem$//')
	old=$(($(date +%s) - 100000))
	# The first key, made long ago; a rotation now keeps it published.
	mv "$K"/*-"$kid1".pem "$K/$old-$kid1.pem"
	kid2=$("$B0_BUILD/b0-edge" -f "$T/edge.conf" key rotate 2>/dev/null)
	wait_for 5 bash -c "curl -sS --cacert $T/ca.crt --resolve edge.test:$PORT:127.0.0.1 $ISS/jwks.json | jq -e '.keys | length == 2'"
	# The second key is old too: its predecessor's tokens are long gone.
	mv "$K"/*-"$kid2".pem "$K/$((old + 10))-$kid2.pem"
	wait_for 5 bash -c "curl -sS --cacert $T/ca.crt --resolve edge.test:$PORT:127.0.0.1 $ISS/jwks.json | jq -e '.keys | length == 1 and .[0].kid == \"$kid2\"'"
	run "$B0_BUILD/b0-edge" -f "$T/edge.conf" key ls
	assert_line --regexp "^$kid1 +.* retired$"
	run --separate-stderr "$B0_BUILD/b0-edge" -f "$T/edge.conf" key rotate
	assert_success
	kid3=$output
	[[ "$stderr" == *"1 retired key deleted"* ]]
	[ ! -e "$K/$old-$kid1.pem" ]
	[ -e "$K/$((old + 10))-$kid2.pem" ]
	wait_for 5 bash -c "curl -sS --cacert $T/ca.crt --resolve edge.test:$PORT:127.0.0.1 $ISS/jwks.json | jq -e '[.keys[].kid] | sort == ([\"$kid2\", \"$kid3\"] | sort)'"
	# The running edge signs with the newest.
	code_flow
	[ "$(header "$(jq -r .access_token "$T/tok")" | jq -r .kid)" = "$kid3" ]
}

@test "users none: no password form, and tokens of built-in accounts are refused" {
	code_flow
	AT=$(jq -r .access_token "$T/tok")
	RT=$(jq -r .refresh_token "$T/tok")
	b0_edge_conf "$T" 127.0.0.1:0 24400-24409 "tcp-listen 127.0.0.1" \
	    "users none"
	kill -HUP "$(cat "$T/edge.pid")"
	wait_for 5 grep -q 'configuration reloaded' "$T/edge.log"
	refused "$AT"
	post /token -d grant_type=refresh_token --data-urlencode "refresh_token=$RT"
	oauth_error 400 invalid_grant
	rm -f "$T/jar"
	pkce
	authorize
	c -o "$T/login.html" "$ISS$(location "$T/h")"
	! grep -q 'name="password"' "$T/login.html"
}

@test "SIGHUP: a new access-token-lifetime applies to the next tokens" {
	b0_edge_conf "$T" 127.0.0.1:0 24400-24409 "tcp-listen 127.0.0.1" \
	    "access-token-lifetime 2m"
	kill -HUP "$(cat "$T/edge.pid")"
	wait_for 5 grep -q 'configuration reloaded' "$T/edge.log"
	code_flow
	[ "$(jq -r .expires_in "$T/tok")" = 120 ]
	[ "$(claims "$(jq -r .access_token "$T/tok")" | jq -r '.exp - .iat')" = 120 ]
}

@test "revoke (RFC 7009): the grant of a handed-back refresh token ends" {
	[ "$(c "$ISS/.well-known/openid-configuration" | jq -r .revocation_endpoint)" = "$ISS/revoke" ]
	code_flow
	RT=$(jq -r .refresh_token "$T/tok")
	post /revoke -d client_id=b0-proxy -d token_type_hint=refresh_token \
	    --data-urlencode "token=$RT" >/dev/null
	[ "$(status)" = 200 ]
	grep -q "revoke: grant ${RT:5:32} ended" "$T/edge.log"
	post /token -d grant_type=refresh_token --data-urlencode "refresh_token=$RT"
	oauth_error 400 invalid_grant
	# Unknown tokens get the same answer; a missing one is an error.
	post /revoke -d token=b0rt.nothing >/dev/null
	[ "$(status)" = 200 ]
	post /revoke -d client_id=b0-proxy
	oauth_error 400 invalid_request
}

@test "a flood of device codes from one client pushes out only its own oldest" {
	post /device_authorization -d client_id=b0-proxy >"$T/da"
	DC=$(jq -r .device_code "$T/da")
	urls=()
	for i in $(seq 1 40); do urls+=("$ISS/device_authorization"); done
	c -o /dev/null -d client_id=b0-proxy "${urls[@]}"
	post /token -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy -d device_code="$DC"
	oauth_error 400 invalid_grant
	post /device_authorization -d client_id=b0-proxy >"$T/da"
	post /token -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy -d device_code="$(jq -r .device_code "$T/da")"
	oauth_error 400 authorization_pending
}
