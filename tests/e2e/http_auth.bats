#!/usr/bin/env bats
# Who gets into an http socket (docs/http.md "Who gets in", "Hosts"), with
# curl as the visitor's browser and API client, in the namespaces of the
# tunnel tests: the login through the edge's own issuer (client b0-http)
# and back through /.b0/callback, the __Host-b0_app cookie, the identity headers
# at the target, the 403 page, Bearer tokens, logout and "Sign in as
# someone else", basic auth on a protected socket.  The target is a small
# Python app in the lab that echoes what it received as JSON.

load helpers/common
load helpers/tunnel

bats_require_minimum_version 1.5.0

DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code
ISS=https://edge.test
APP=https://app-lab1.edge.test

setup() {
	tun_setup
	cat >"$T/echo.py" <<-'EOF'
		import http.server, json, sys
		class H(http.server.BaseHTTPRequestHandler):
		    protocol_version = "HTTP/1.1"
		    def answer(self):
		        with open(sys.argv[2], "a") as f:
		            f.write(self.command + " " + self.path + "\n")
		        n = int(self.headers.get("Content-Length") or 0)
		        body = self.rfile.read(n) if n else b""
		        out = json.dumps({"method": self.command, "path": self.path,
		            "headers": [[k, v] for k, v in self.headers.items()],
		            "body": len(body)}).encode()
		        self.send_response(200)
		        self.send_header("Content-Type", "application/json")
		        self.send_header("Content-Length", str(len(out)))
		        self.end_headers()
		        self.wfile.write(out)
		    do_GET = do_POST = do_PUT = answer
		    def log_message(self, *a):
		        pass
		http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
		    H).serve_forever()
	EOF
	DAEMON_KIND=other daemon_bg echo "$NS_LAB" python3 "$T/echo.py" 8080 \
	    "$T/target.requests"
	wait_for 10 lab_port_open 8080
	local u
	for u in alice@example.com bob@example.org carol@example.com; do
		echo "pw of $u" | "$B0_BUILD/b0-edge" -f "$T/edge.conf" \
		    user add "$u" 2>>"$T/token.log"
	done
	case "$BATS_TEST_DESCRIPTION" in
	*cache*) edge_conf "log-level debug" ;;
	esac
	edge_start
	token_add lab1
	(umask 077 && echo 'open sesame' >"$T/wiki.pass")
	pub_conf pub "$T/lab1.token" \
	    "socket app http/8080/alice@example.com 127.0.0.1:8080" \
	    "socket app2 http/8080/example.com 127.0.0.1:8080" \
	    "socket open http/8080 127.0.0.1:8080" \
	    "socket wiki http/8080 127.0.0.1:8080 protected=admin password-file=$T/wiki.pass" \
	    "socket both http/8080/alice@example.com 127.0.0.1:8080 protected=admin password-file=$T/wiki.pass"
	pub_start pub
}

teardown() {
	tun_teardown
}

# v JAR ARGS...: curl in the visitor's namespace, with a cookie jar, for
# the edge and its socket hosts.
v() {
	local jar=$1 n
	shift
	local res=()
	for n in edge.test app-lab1.edge.test app2-lab1.edge.test \
	    open-lab1.edge.test wiki-lab1.edge.test both-lab1.edge.test; do
		res+=(--resolve "$n:443:$EDGE_VIS_IP")
	done
	in_vis curl -sS --max-time 20 --cacert "$T/ca.crt" "${res[@]}" \
	    -b "$jar" -c "$jar" "$@"
}

csrf() {
	grep -o 'name="csrf" value="[^"]*"' "$1" | head -1 |
	    sed 's/.*value="//; s/"$//'
}

location() {
	tr -d '\r' <"$1" | sed -n 's/^[Ll]ocation: //p'
}

# action FILE: the action of the first POST form in FILE (HTML-unescaped).
action() {
	grep -o '<form method="post" action="[^"]*"' "$1" | head -1 |
	    sed 's/.*action="//; s/"$//; s/&amp;/\&/g'
}

# switch_from_403 JAR PAGE HEADERS: "Sign in as someone else" on the 403
# page in PAGE, as the browser sends it (a POST from the page's origin);
# the answer's headers in HEADERS.
switch_from_403() {
	local act
	act=$(action "$2")
	[[ "$act" == "/.b0/logout?switch=1&csrf="* ]] || { echo "no switch form: $act"; return 1; }
	v "$1" -o /dev/null -D "$3" -H 'Sec-Fetch-Site: same-origin' -d '' "$APP$act"
}

# app_code COOKIE: the status of a GET of /headers with __Host-b0_app=COOKIE.
app_code() {
	v /dev/null -o /dev/null -w '%{http_code}' -b "__Host-b0_app=$1" "$APP/headers"
}

# edge_signed_in JAR: the edge's session of JAR holds (its /logout asks).
edge_signed_in() {
	v "$1" -o "$T/es.html" "$ISS/logout"
	grep -q '<h1>Sign out of edge.test?</h1>' "$T/es.html"
}

code_of() {
	tr -d '\r' <"$1" | head -1 | cut -d' ' -f2
}

# set_cookie HEADERS NAME: the Set-Cookie line for NAME, without CR.
set_cookie() {
	tr -d '\r' <"$1" | grep -i "^set-cookie: $2=" | head -1
}

# hdr JSON NAME: the value of header NAME the target received ("" if none).
hdr() {
	jq -r --arg n "$2" '[.headers[] | select(.[0] | ascii_downcase == $n) | .[1]] | join(",")' "$1"
}

# web_login JAR EMAIL URL: as a browser, open URL (a page of an
# identity-aware socket), sign in at the edge as EMAIL (unless the edge
# session still holds) and come back through /.b0/callback.  The
# callback's headers are in $T/cb.h and its Location in $CB_LOC.
SOCK_ARGS=()
web_login() {
	local jar=$1 email=$2 url=$3 host loc req
	host=${url#https://}
	host=${host%%/*}
	v "$jar" -o /dev/null -D "$T/l1.h" "${SOCK_ARGS[@]}" "$url"
	[ "$(code_of "$T/l1.h")" = 302 ] || { cat "$T/l1.h"; return 1; }
	loc=$(location "$T/l1.h")
	[[ "$loc" == "$ISS/authorize?client_id=b0-http&"* ]] ||
	    { echo "not sent to the edge: $loc"; return 1; }
	v "$jar" -o "$T/l2.html" -D "$T/l2.h" "$loc"
	loc=$(location "$T/l2.h")
	if [[ "$loc" == /login\?req=* ]]; then
		req=${loc#/login?req=}
		v "$jar" -o "$T/login.html" "$ISS$loc"
		v "$jar" -o "$T/l3.html" -D "$T/l3.h" \
		    --data-urlencode "email=$email" \
		    --data-urlencode "password=pw of $email" \
		    --data-urlencode "csrf=$(csrf "$T/login.html")" \
		    --data-urlencode "req=$req" "$ISS/login"
		loc=$(location "$T/l3.h")
	fi
	[[ "$loc" == "https://$host/.b0/callback?"* ]] ||
	    { echo "not sent back: $loc"; cat "$T/l2.html"; return 1; }
	CB_URL=$loc
	[ -n "${WEB_LOGIN_NO_CALLBACK:-}" ] && return 0
	v "$jar" -o "$T/cb.html" -D "$T/cb.h" "${SOCK_ARGS[@]}" "$loc"
	[ "$(code_of "$T/cb.h")" = 302 ] || { cat "$T/cb.h" "$T/cb.html"; return 1; }
	CB_LOC=$(location "$T/cb.h")
}

# device_login EMAIL: an access token for EMAIL in $T/EMAIL.at, by the
# device flow (as `b0-proxy token` would have it).
device_login() {
	local email=$1 jar=$T/$1.djar d=$T/$1 dc uc loc req i
	v "$jar" -d client_id=b0-proxy "$ISS/device_authorization" >"$d.da"
	dc=$(jq -er .device_code "$d.da") || return 1
	uc=$(jq -er .user_code "$d.da") || return 1
	v "$jar" -o "$d.dev.html" "$ISS/device"
	v "$jar" -o /dev/null -D "$d.h" --data-urlencode "user_code=$uc" \
	    --data-urlencode "csrf=$(csrf "$d.dev.html")" "$ISS/device"
	loc=$(location "$d.h")
	req=${loc#/login?req=}
	v "$jar" -o "$d.login.html" "$ISS$loc"
	v "$jar" -o "$d.confirm.html" --data-urlencode "email=$email" \
	    --data-urlencode "password=pw of $email" \
	    --data-urlencode "csrf=$(csrf "$d.login.html")" \
	    --data-urlencode "req=$req" "$ISS/login"
	v "$jar" -o "$d.done.html" --data-urlencode "user_code=$uc" \
	    -d action=approve --data-urlencode "csrf=$(csrf "$d.confirm.html")" \
	    "$ISS/device"
	for i in 1 2 3; do
		v "$jar" -d grant_type=$DEVICE_GRANT -d client_id=b0-proxy \
		    -d device_code="$dc" "$ISS/token" >"$d.tok"
		jq -e .access_token "$d.tok" >/dev/null && break
		sleep 10.5
	done
	(umask 077 && jq -er .access_token "$d.tok" >"$d.at")
}

@test "an identity-aware socket sends a browser to the edge's login; other methods get 401" {
	run v "$T/j" -o /dev/null -D "$T/h" "$APP/headers?x=1"
	assert_success
	[ "$(code_of "$T/h")" = 302 ]
	loc=$(location "$T/h")
	cb=$(python3 -c 'import sys, urllib.parse; q = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query); print(q["client_id"][0], q["response_type"][0], q["redirect_uri"][0], q["scope"][0], q["code_challenge_method"][0], len(q["code_challenge"][0]), len(q["state"][0]))' "$loc")
	assert_equal "$cb" "b0-http code https://app-lab1.edge.test/.b0/callback openid email S256 43 43"
	[[ "$loc" == "$ISS/authorize?"* ]]
	c=$(set_cookie "$T/h" __Host-b0_login)
	[[ "$c" =~ ^Set-Cookie:\ __Host-b0_login=[A-Za-z0-9_-]{43}\;\ Path=/\;\ Max-Age=600\;\ HttpOnly\;\ Secure\;\ SameSite=Lax$ ]]
	# An API call without a session or token: 401, no redirect.
	run v "$T/j" -o "$T/b" -D "$T/h" -X POST -d x=1 "$APP/headers"
	[ "$(code_of "$T/h")" = 401 ]
	grep -qi '^WWW-Authenticate: Bearer' "$T/h"
	# Nothing reached the target.
	[ ! -s "$T/target.requests" ]
}

@test "login through the edge's form and /.b0/callback: the __Host-b0_app cookie, X-B0-Email at the target" {
	web_login "$T/j" alice@example.com "$APP/headers?x=1"
	assert_equal "$CB_LOC" "/headers?x=1"
	# The form names the site the person signs in to, not the edge.
	grep -q 'to continue to <strong>app-lab1.edge.test</strong>' "$T/login.html"
	c=$(set_cookie "$T/cb.h" __Host-b0_app)
	# Host-only (no Domain), the whole site, bounded.
	[[ "$c" =~ ^Set-Cookie:\ __Host-b0_app=[A-Za-z0-9_-]{43}\;\ Path=/\;\ Max-Age=43200\;\ HttpOnly\;\ Secure\;\ SameSite=Lax$ ]]
	# The login cookie is spent.
	set_cookie "$T/cb.h" __Host-b0_login | grep -q 'Max-Age=0'
	# The app, with a forged identity and another cookie of the app's.
	run v "$T/j" -o "$T/r.json" -D "$T/h" -H 'X-B0-Email: mallory@example.com' \
	    -H 'X-B0-Auth: bearer' -b 'theme=dark' "$APP/headers?x=1"
	assert_success
	[ "$(code_of "$T/h")" = 200 ]
	assert_equal "$(hdr "$T/r.json" x-b0-email)" alice@example.com
	assert_equal "$(hdr "$T/r.json" x-b0-auth)" session
	# The edge's cookie stays at the edge; the app's own goes through.
	run hdr "$T/r.json" cookie
	assert_output --partial theme=dark
	refute_output --partial __Host-b0_app
	# The edge session makes the next socket one redirect away.
	v "$T/j" -o /dev/null -D "$T/h2" "https://app2-lab1.edge.test/"
	loc=$(location "$T/h2")
	v "$T/j" -o /dev/null -D "$T/h3" "$loc"
	[[ "$(location "$T/h3")" == "https://app2-lab1.edge.test/.b0/callback?code="* ]]
	# No secret in the logs.
	code=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)["code"][0])' "$CB_URL")
	app=$(sed -n 's/.*__Host-b0_app=\([A-Za-z0-9_-]*\);.*/\1/p' <<<"$c")
	# Cookie tossing: another socket host (a sibling under the edge's
	# domain) set cookies of the old names with Domain=edge.test; the
	# browser sends them beside the edge's __Host- cookie, which still
	# counts (two of one name would be refused).
	run v /dev/null -o "$T/t.json" -D "$T/th" -H "Cookie: b0_app=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; __Host-b0_app=$app; b0_app=x; b0_login=y" "$APP/headers"
	[ "$(code_of "$T/th")" = 200 ]
	assert_equal "$(hdr "$T/t.json" x-b0-email)" alice@example.com
	run grep -lF -e "$code" -e "$app" "$T"/edge.log "$T"/pub.log
	assert_failure
}

@test "a signed-in person outside the list gets the 403 page with a way to switch" {
	web_login "$T/j" bob@example.org "$APP/"
	run v "$T/j" -o "$T/p.html" -D "$T/h" -H 'Accept: text/html' "$APP/"
	[ "$(code_of "$T/h")" = 403 ]
	grep -q '<h1>Access denied</h1>' "$T/p.html"
	grep -q '<p class="detail">bob@example.org is not allowed on app-lab1.edge.test.</p>' "$T/p.html"
	grep -q '<dd id="email">bob@example.org</dd>' "$T/p.html"
	grep -q '<dd id="socket">app-lab1.edge.test</dd>' "$T/p.html"
	grep -Eq '<form method="post" action="/\.b0/logout\?switch=1&amp;csrf=[A-Za-z0-9_-]{43}">' "$T/p.html"
	grep -q '<button type="submit" id="switch">Sign in as someone else</button>' "$T/p.html"
	grep -qi '^Content-Security-Policy: ' "$T/h"
	# curl without Accept: text/html gets one line.
	run v "$T/j" "$APP/"
	assert_output "bob@example.org is not allowed on app-lab1.edge.test"
	[ ! -s "$T/target.requests" ]
	# "Sign in as someone else": the app session, then the edge session
	# end (a one-time logout ticket), and a fresh login starts on the
	# socket host.
	switch_from_403 "$T/j" "$T/p.html" "$T/s1"
	[ "$(code_of "$T/s1")" = 302 ]
	loc=$(location "$T/s1")
	[[ "$loc" =~ ^$ISS/logout\?post_logout_redirect_uri=https%3A%2F%2Fapp-lab1\.edge\.test%2F\.b0%2Flogin\&logout_ticket=[A-Za-z0-9_-]{43}$ ]]
	set_cookie "$T/s1" __Host-b0_app | grep -q 'Max-Age=0'
	v "$T/j" -o /dev/null -D "$T/s2" "$loc"
	assert_equal "$(location "$T/s2")" "$APP/.b0/login"
	set_cookie "$T/s2" __Host-b0_session | grep -q 'Max-Age=0'
	v "$T/j" -o /dev/null -D "$T/s3" "$APP/.b0/login"
	loc=$(location "$T/s3")
	[[ "$loc" == "$ISS/authorize?client_id=b0-http&"* ]]
	# No edge session any more: the login form, as someone else.
	v "$T/j" -o /dev/null -D "$T/s4" "$loc"
	[[ "$(location "$T/s4")" == /login\?req=* ]]
	# The edge's logout goes back only to a socket host's /.b0/login.
	for bad in https://evil.test/.b0/login "$APP/headers" \
	    https://app-lab1.edge.test.evil.test/.b0/login \
	    "$APP/.b0/../headers" "$APP/.b0/%2e%2e/headers" \
	    "$APP/.b0/%2E%2E/headers" "$APP/.b0/logout" "$APP/.b0/login/../../x"; do
		run v "$T/j" -o /dev/null -w '%{http_code}' \
		    "$ISS/logout?post_logout_redirect_uri=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$bad")"
		assert_output 400
	done
}

@test "the 403 is logged with the refused identity; switching comes back to the refused page" {
	web_login "$T/j" bob@example.org "$APP/"
	run v "$T/j" -o "$T/p.html" -D "$T/h" -H 'Accept: text/html' "$APP/d/abc?x=1&y=2"
	[ "$(code_of "$T/h")" = 403 ]
	wait_for 5 log_has edge 'http app-lab1\.edge\.test [0-9.]+:[0-9]+ bob@example\.org GET /d/abc 403 [0-9]+ [0-9]+ms$'
	# "Sign in as someone else": the new login comes back to that page.
	switch_from_403 "$T/j" "$T/p.html" "$T/s1"
	loc=$(location "$T/s1")
	[[ "$loc" == "$ISS/logout?"* ]]
	set_cookie "$T/s1" __Host-b0_login | grep -q 'Path=/;'
	v "$T/j" -o /dev/null -D "$T/s2" "$loc"
	assert_equal "$(location "$T/s2")" "$APP/.b0/login"
	v "$T/j" -o /dev/null -D "$T/s3" "$APP/.b0/login"
	loc=$(location "$T/s3")
	[[ "$loc" == "$ISS/authorize?client_id=b0-http&"* ]]
	# The login form as alice, by hand (web_login starts at a socket page).
	v "$T/j" -o /dev/null -D "$T/s4" "$loc"
	l4=$(location "$T/s4")
	if [[ "$l4" == /login\?req=* ]]; then
		v "$T/j" -o "$T/login.html" "$ISS$l4"
		grep -q 'to continue to <strong>app-lab1.edge.test</strong>' "$T/login.html"
		v "$T/j" -o /dev/null -D "$T/s5" \
		    --data-urlencode "email=alice@example.com" \
		    --data-urlencode "password=pw of alice@example.com" \
		    --data-urlencode "csrf=$(csrf "$T/login.html")" \
		    --data-urlencode "req=${l4#/login?req=}" "$ISS/login"
		l4=$(location "$T/s5")
	fi
	[[ "$l4" == "$APP/.b0/callback?"* ]]
	v "$T/j" -o /dev/null -D "$T/cb.h" "$l4"
	assert_equal "$(location "$T/cb.h")" "/d/abc?x=1&y=2"
	# A refused path that is not a plain relative one comes back to "/".
	web_login "$T/j2" bob@example.org "$APP/"
	run v "$T/j2" -o "$T/p2.html" -D "$T/h" -H 'Accept: text/html' --path-as-is "$APP//evil.test/x"
	[ "$(code_of "$T/h")" = 403 ]
	switch_from_403 "$T/j2" "$T/p2.html" "$T/t1"
	v "$T/j2" -o /dev/null -D "$T/t2" "$(location "$T/t1")"
	v "$T/j2" -o /dev/null -D "$T/t3" "$APP/.b0/login"
	v "$T/j2" -o /dev/null -D "$T/t4" "$(location "$T/t3")"
	l4=$(location "$T/t4")
	v "$T/j2" -o "$T/login.html" "$ISS$l4"
	v "$T/j2" -o /dev/null -D "$T/t5" \
	    --data-urlencode "email=alice@example.com" \
	    --data-urlencode "password=pw of alice@example.com" \
	    --data-urlencode "csrf=$(csrf "$T/login.html")" \
	    --data-urlencode "req=${l4#/login?req=}" "$ISS/login"
	v "$T/j2" -o /dev/null -D "$T/cb2.h" "$(location "$T/t5")"
	assert_equal "$(location "$T/cb2.h")" "/"
}

@test "Bearer access tokens: the email at the target, Authorization kept from it; a bad one is 401" {
	device_login alice@example.com
	run v /dev/null -o "$T/r.json" -D "$T/h" \
	    -H "Authorization: Bearer $(cat "$T/alice@example.com.at")" \
	    -H 'X-B0-Email: mallory@example.com' -X POST -d 'a=1' "$APP/api"
	[ "$(code_of "$T/h")" = 200 ]
	assert_equal "$(hdr "$T/r.json" x-b0-email)" alice@example.com
	assert_equal "$(hdr "$T/r.json" x-b0-auth)" bearer
	assert_equal "$(hdr "$T/r.json" authorization)" ""
	# bob's token is good, but bob is not on the list.
	device_login bob@example.org
	run v /dev/null -D "$T/h" \
	    -H "Authorization: Bearer $(cat "$T/bob@example.org.at")" "$APP/api"
	[ "$(code_of "$T/h")" = 403 ]
	assert_output "bob@example.org is not allowed on app-lab1.edge.test"
	# A forged or broken token.
	run v /dev/null -D "$T/h" \
	    -H 'Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' "$APP/api"
	[ "$(code_of "$T/h")" = 401 ]
	tr -d '\r' <"$T/h" | grep -q '^WWW-Authenticate: Bearer error="invalid_token"'
	assert_output --partial 'invalid token: '
	# An open socket leaves Authorization to the app.
	run v /dev/null -o "$T/o.json" -H 'Authorization: Bearer app-own-token' \
	    -H 'X-B0-Email: mallory@example.com' "https://open-lab1.edge.test/x"
	assert_equal "$(hdr "$T/o.json" authorization)" "Bearer app-own-token"
	assert_equal "$(hdr "$T/o.json" x-b0-email)" ""
	assert_equal "$(hdr "$T/o.json" x-b0-auth)" none
	# ... but not the edge's own token (b0-proxy token): it stays at the
	# edge, and so does one of the edge's keys that does not verify.
	run v /dev/null -o "$T/o2.json" \
	    -H "Authorization: Bearer $(cat "$T/alice@example.com.at")" \
	    "https://open-lab1.edge.test/x"
	assert_equal "$(jq -r '.method' "$T/o2.json")" GET
	assert_equal "$(hdr "$T/o2.json" authorization)" ""
	assert_equal "$(hdr "$T/o2.json" x-b0-auth)" none
	forged="$(cut -d. -f1,2 "$T/alice@example.com.at").c2ln"
	run v /dev/null -o "$T/o3.json" -H "Authorization: Bearer $forged" \
	    "https://open-lab1.edge.test/x"
	assert_equal "$(hdr "$T/o3.json" authorization)" ""
	# A JWT of someone else's key (kid) still goes through.
	run v /dev/null -o "$T/o4.json" \
	    -H 'Authorization: Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6ImFwcCJ9.eyJzdWIiOiJ4In0.c2ln' \
	    "https://open-lab1.edge.test/x"
	assert_equal "$(hdr "$T/o4.json" authorization)" "Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6ImFwcCJ9.eyJzdWIiOiJ4In0.c2ln"
	run grep -lF "$(cat "$T/alice@example.com.at")" "$T"/edge.log "$T"/pub.log
	assert_failure
}

@test "logout ends the app session; the cookie of one socket host is not taken on another" {
	web_login "$T/j" alice@example.com "$APP/"
	app=$(set_cookie "$T/cb.h" __Host-b0_app | sed 's/^Set-Cookie: __Host-b0_app=\([^;]*\);.*/\1/')
	run v /dev/null -o "$T/r.json" -D "$T/h" -b "__Host-b0_app=$app" "$APP/headers"
	[ "$(code_of "$T/h")" = 200 ]
	# The same value on another identity-aware socket means nothing there
	# (alice is on app2's list too).
	run v /dev/null -o /dev/null -D "$T/h" -b "__Host-b0_app=$app" \
	    "https://app2-lab1.edge.test/headers"
	[ "$(code_of "$T/h")" = 302 ]
	[[ "$(location "$T/h")" == "$ISS/authorize?"* ]]
	# Logout: a GET asks, the page's form POSTs.
	v "$T/j" -o "$T/q.html" -D "$T/h" "$APP/.b0/logout"
	[ "$(code_of "$T/h")" = 200 ]
	grep -q '<h1>Sign out of app-lab1.edge.test?</h1>' "$T/q.html"
	[ "$(app_code "$app")" = 200 ]
	act=$(action "$T/q.html")
	[[ "$act" =~ ^/\.b0/logout\?csrf=[A-Za-z0-9_-]{43}$ ]]
	run v "$T/j" -H 'Accept: text/html' -H 'Sec-Fetch-Site: same-origin' \
	    -D "$T/h" -d '' "$APP$act"
	[ "$(code_of "$T/h")" = 200 ]
	assert_output --partial '<h1>Signed out</h1>'
	assert_output --partial 'You are signed out of app-lab1.edge.test.'
	set_cookie "$T/h" __Host-b0_app | grep -q 'Max-Age=0'
	# The old value no longer works.
	run v /dev/null -o /dev/null -D "$T/h" -b "__Host-b0_app=$app" "$APP/headers"
	[ "$(code_of "$T/h")" = 302 ]
}

@test "logouts from another site end nothing: a GET asks, a POST without the page's token is refused and logged" {
	web_login "$T/j" alice@example.com "$APP/"
	app=$(set_cookie "$T/cb.h" __Host-b0_app | sed 's/^Set-Cookie: __Host-b0_app=\([^;]*\);.*/\1/')
	[ "$(app_code "$app")" = 200 ]
	edge_signed_in "$T/j"
	# GETs (a link, an <img>, a redirect of another site or socket host)
	# only show the question.
	v "$T/j" -o "$T/q.html" -D "$T/h" -H 'Sec-Fetch-Site: cross-site' "$APP/.b0/logout"
	[ "$(code_of "$T/h")" = 200 ]
	grep -q '<h1>Sign out of app-lab1.edge.test?</h1>' "$T/q.html"
	grep -q 'You are signed in as <strong>alice@example.com</strong>.' "$T/q.html"
	grep -q '<button type="submit" id="submit">Sign out</button>' "$T/q.html"
	run ! grep -qi '^set-cookie: __Host-b0_app=' "$T/h"
	v "$T/j" -o "$T/qs.html" -D "$T/h" -H 'Sec-Fetch-Site: same-site' "$APP/.b0/logout?switch=1"
	grep -q '<h1>Sign in as someone else?</h1>' "$T/qs.html"
	grep -q '<button type="submit" id="submit">Sign in as someone else</button>' "$T/qs.html"
	# The edge's form-action lets the switch go on to the edge.
	tr -d '\r' <"$T/h" | grep -q "^Content-Security-Policy: .*form-action 'self' $ISS "
	v "$T/j" -o "$T/qe.html" -D "$T/h" -H 'Sec-Fetch-Site: same-site' \
	    "$ISS/logout?post_logout_redirect_uri=https%3A%2F%2Fapp-lab1.edge.test%2F.b0%2Flogin"
	[ "$(code_of "$T/h")" = 200 ]
	grep -q '<h1>Sign in as someone else?</h1>' "$T/qe.html"
	grep -q 'name="post_logout_redirect_uri" value="https://app-lab1.edge.test/.b0/login"' "$T/qe.html"
	[ "$(app_code "$app")" = 200 ]
	edge_signed_in "$T/j"
	# POSTs without the token, with a wrong one, with the other form's,
	# or with the right one from another site: 403, logged, nothing ends.
	good=$(action "$T/q.html")
	sw=$(action "$T/qs.html")
	for a in "/.b0/logout" "/.b0/logout?switch=1" \
	    "/.b0/logout?csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	    "/.b0/logout?csrf=${sw#*csrf=}" "/.b0/logout?switch=1&csrf=${good#*csrf=}"; do
		run v "$T/j" -D "$T/h" -d '' "$APP$a"
		[ "$(code_of "$T/h")" = 403 ]
		[[ "$a" == *switch=1* ]] && u="$APP/.b0/logout?switch=1" || u="$APP/.b0/logout"
		assert_output "This sign-out request did not come from this site. Sign out again from $u."
	done
	for site in same-site cross-site; do
		run v "$T/j" -D "$T/h" -H "Sec-Fetch-Site: $site" -H 'Accept: text/html' -d '' "$APP$good"
		[ "$(code_of "$T/h")" = 403 ]
		assert_output --partial '<h1>Sign-out refused</h1>'
		assert_output --partial 'This sign-out request did not come from this site. Sign out again from <a id="logout" href="https://app-lab1.edge.test/.b0/logout">'
		run ! grep -qi '^set-cookie: __Host-b0_app=' "$T/h"
	done
	[ "$(app_code "$app")" = 200 ]
	edge_signed_in "$T/j"
	grep -Eq '[0-9.]+:[0-9]+: http app-lab1\.edge\.test: sign-out of alice@example\.com refused: no csrf token$' "$T/edge.log"
	grep -Eq '[0-9.]+:[0-9]+: http app-lab1\.edge\.test: sign-out of alice@example\.com refused: a wrong csrf token$' "$T/edge.log"
	grep -Eq 'http app-lab1\.edge\.test: sign-out of alice@example\.com refused: Sec-Fetch-Site is "same-site", not same-origin$' "$T/edge.log"
	# The edge's /logout: a POST without its page's token is refused too.
	run v "$T/j" -o "$T/r.html" -w '%{http_code}' -d x=1 "$ISS/logout"
	assert_output 403
	grep -q '<h1>Sign-out refused</h1>' "$T/r.html"
	edge_signed_in "$T/j"
	# A logout ticket is good only for the person it was made for: bob's
	# (from his own switch) does not end alice's edge session, and it is
	# spent after one try.
	web_login "$T/jb" bob@example.org "$APP/"
	v "$T/jb" -o "$T/pb.html" -H 'Accept: text/html' "$APP/"
	switch_from_403 "$T/jb" "$T/pb.html" "$T/sb"
	tick=$(location "$T/sb")
	[[ "$tick" == *"&logout_ticket="* ]]
	v "$T/j" -o "$T/t.html" -D "$T/h" "$tick"
	[ "$(code_of "$T/h")" = 200 ]
	grep -q '<h1>Sign in as someone else?</h1>' "$T/t.html"
	edge_signed_in "$T/j"
	grep -Eq 'logout: a logout ticket not for this session; asking' "$T/edge.log"
	v "$T/jb" -o "$T/t2.html" -D "$T/h" "$tick"
	[ "$(code_of "$T/h")" = 200 ]
	grep -q '<h1>Sign in as someone else?</h1>' "$T/t2.html"
	edge_signed_in "$T/jb"
	# The page's own form still ends alice's app session.
	run v "$T/j" -D "$T/h" -H 'Sec-Fetch-Site: same-origin' -d '' "$APP$good"
	[ "$(code_of "$T/h")" = 200 ]
	assert_output "You are signed out of app-lab1.edge.test."
	[ "$(app_code "$app")" = 302 ]
	grep -q 'http app-lab1.edge.test: signed out: alice@example.com' "$T/edge.log"
	# And the edge page's form, its session.
	v "$T/j" -o "$T/qe.html" "$ISS/logout"
	v "$T/j" -o /dev/null -D "$T/h" -H 'Sec-Fetch-Site: same-origin' \
	    --data-urlencode "csrf=$(csrf "$T/qe.html")" "$ISS/logout"
	[ "$(code_of "$T/h")" = 200 ]
	run edge_signed_in "$T/j"
	assert_failure
}

@test "/.b0/callback refuses a wrong state, a missing login cookie, and a code used twice" {
	WEB_LOGIN_NO_CALLBACK=1 web_login "$T/j" alice@example.com "$APP/"
	bad=$(sed 's/state=[^&]*/state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/' <<<"$CB_URL")
	run v "$T/j" -D "$T/h" "$bad"
	[ "$(code_of "$T/h")" = 400 ]
	assert_output --partial 'Sign-in failed'
	run ! grep -qi '^set-cookie: __Host-b0_app=[A-Za-z0-9]' "$T/h"
	# The login was spent: the right state does not help now.
	run v "$T/j" -D "$T/h" "$CB_URL"
	[ "$(code_of "$T/h")" = 400 ]
	# Another browser (no __Host-b0_login cookie) with a fresh code and state.
	WEB_LOGIN_NO_CALLBACK=1 web_login "$T/j" alice@example.com "$APP/"
	run v /dev/null -D "$T/h" "$CB_URL"
	[ "$(code_of "$T/h")" = 400 ]
	assert_output --partial 'started in another browser'
	# The code of b0-http is no token for b0-proxy.
	code=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)["code"][0])' "$CB_URL")
	run v /dev/null -d grant_type=authorization_code -d client_id=b0-proxy \
	    --data-urlencode "code=$code" \
	    --data-urlencode "redirect_uri=$APP/.b0/callback" \
	    -d code_verifier=0123456789012345678901234567890123456789abc \
	    "$ISS/token"
	assert_equal "$(jq -r .error <<<"$output")" invalid_grant
	# /authorize for b0-http only with the callback of a registered socket.
	for uri in "https://nope-lab1.edge.test/.b0/callback" "$APP/.b0/callbackx" \
	    "http://app-lab1.edge.test/.b0/callback" "https://app-lab1.edge.test:8443/.b0/callback"; do
		run v /dev/null -o "$T/a.html" -w '%{http_code}' \
		    "$ISS/authorize?client_id=b0-http&response_type=code&redirect_uri=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$uri")&scope=openid&state=s&code_challenge=0123456789012345678901234567890123456789abc&code_challenge_method=S256"
		assert_output 400
		grep -q 'Invalid redirect URI' "$T/a.html"
	done
}

@test "a protected socket asks for basic auth: 401, 200 with the password, 401 with a wrong one, then 429" {
	run v /dev/null -D "$T/h" "https://wiki-lab1.edge.test/x"
	[ "$(code_of "$T/h")" = 401 ]
	tr -d '\r' <"$T/h" | grep -qx 'WWW-Authenticate: Basic realm="wiki-lab1.edge.test", charset="UTF-8"'
	run v /dev/null -o "$T/p.html" -D "$T/h" -H 'Accept: text/html' "https://wiki-lab1.edge.test/x"
	grep -q '<h1>Password required</h1>' "$T/p.html"
	run v /dev/null -o "$T/r.json" -D "$T/h" -u 'admin:open sesame' \
	    -H 'X-B0-User: root' "https://wiki-lab1.edge.test/x"
	[ "$(code_of "$T/h")" = 200 ]
	assert_equal "$(hdr "$T/r.json" x-b0-user)" admin
	assert_equal "$(hdr "$T/r.json" authorization)" ""
	# The cached success is as good (and fast) a second time.
	run v /dev/null -o /dev/null -w '%{http_code}' -u 'admin:open sesame' \
	    "https://wiki-lab1.edge.test/x"
	assert_output 200
	for cred in 'admin:wrong' 'root:open sesame' 'admin:'; do
		run v /dev/null -o /dev/null -w '%{http_code}' -u "$cred" \
		    "https://wiki-lab1.edge.test/x"
		assert_output 401
	done
	# Ten failures from this address: now it waits, whatever it sends.
	for i in 1 2 3 4 5 6 7; do
		v /dev/null -o /dev/null -u "admin:wrong$i" "https://wiki-lab1.edge.test/x"
	done
	run v /dev/null -o /dev/null -D "$T/h" -u 'admin:wrong again' \
	    "https://wiki-lab1.edge.test/x"
	[ "$(code_of "$T/h")" = 429 ]
	grep -qi '^Retry-After: [0-9]' "$T/h"
	run v /dev/null -o /dev/null -w '%{http_code}' -u 'admin:open sesame2' \
	    "https://wiki-lab1.edge.test/x"
	assert_output 429
	# The password never reaches a log.
	run grep -l 'open sesame' "$T"/edge.log "$T"/pub.log
	assert_failure
}

@test "wrong passwords from many addresses: the edge's yescrypt budget answers 429, other sockets stay prompt" {
	# 60 visitor addresses, so the per-address limit (10) never bites.
	local i
	for i in $(seq 100 159); do
		ip -n "$NS_VIS" addr add "10.77.2.$i/24" dev pub1
	done
	cat >"$T/burst.py" <<-'EOF'
		import socket, ssl, sys, threading, time
		ip, ca = sys.argv[1], sys.argv[2]
		ctx = ssl.create_default_context(cafile=ca)
		out = {}
		go = threading.Barrier(61)
		def get(host, src, auth, key):
		    t0 = time.monotonic()
		    s = socket.create_connection((ip, 443), timeout=30,
		        source_address=(src, 0))
		    s = ctx.wrap_socket(s, server_hostname=host)
		    if auth:
		        go.wait()  # all 60 guesses at once, over ready TLS
		        t0 = time.monotonic()
		    h = "GET /x HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % host
		    if auth:
		        h += "Authorization: Basic YWRtaW46d3Jvbmc=\r\n"
		    s.sendall((h + "\r\n").encode())
		    b = b""
		    while True:
		        d = s.recv(65536)
		        if not d:
		            break
		        b += d
		    head = b.split(b"\r\n\r\n")[0].decode().lower()
		    out[key] = (head.split()[1], "retry-after: 1" in head,
		        time.monotonic() - t0)
		ts = [threading.Thread(target=get, args=("wiki-lab1.edge.test",
		    "10.77.2.%d" % (100 + i), True, i)) for i in range(60)]
		for t in ts:
		    t.start()
		go.wait()
		time.sleep(0.05)
		get("open-lab1.edge.test", "10.77.2.2", False, "open")
		for t in ts:
		    t.join()
		codes = [out[i][0] for i in range(60)]
		print("401", codes.count("401"))
		print("429", codes.count("429"))
		print("retry", sum(1 for i in range(60) if out[i][0] == "429" and out[i][1]))
		print("open", out["open"][0], "%.3f" % out["open"][2])
		print("slowest", "%.3f" % max(out[i][2] for i in range(60)))
	EOF
	run in_vis timeout 60 python3 "$T/burst.py" "$EDGE_VIS_IP" "$T/ca.crt"
	assert_success
	echo "$output" >&3
	n401=$(sed -n 's/^401 //p' <<<"$output")
	n429=$(sed -n 's/^429 //p' <<<"$output")
	# Every answer is one of the two; at most the burst and its refill ran
	# a hash; the rest were turned away before any, with Retry-After.
	[ $((n401 + n429)) = 60 ]
	[ "$n401" -le 50 ]
	[ "$n429" -ge 10 ]
	[ "$(sed -n 's/^retry //p' <<<"$output")" = "$n429" ]
	read -r _ code secs < <(grep '^open ' <<<"$output")
	[ "$code" = 200 ]
	python3 -c 'import sys; sys.exit(float(sys.argv[1]) >= 2.5)' "$secs"
	# A person with the password is back in a second or two.
	sleep 2
	run v /dev/null -o /dev/null -w '%{http_code}' -u 'admin:open sesame' \
	    "https://wiki-lab1.edge.test/x"
	assert_output 200
}

@test "Bearer tokens: verified once, then from the cache; a bad one never cached; user del ends it within a minute" {
	device_login alice@example.com
	local at i
	at=$(cat "$T/alice@example.com.at")
	for i in 1 2 3 4 5; do
		run v /dev/null -o /dev/null -w '%{http_code}' \
		    -H "Authorization: Bearer $at" "$APP/headers"
		assert_output 200
	done
	# One verification for five requests.
	assert_equal "$(log_count edge 'bearer token of alice@example\.com verified, cached for [0-9]+ s')" 1
	# A bad token is refused every time, and never cached.
	run v /dev/null -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer ${at}x" "$APP/headers"
	assert_output 401
	run v /dev/null -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer ${at}x" "$APP/headers"
	assert_output 401
	assert_equal "$(log_count edge 'bearer token of .* verified')" 1
	# The cached token ends with its person.
	"$B0_BUILD/b0-edge" -f "$T/edge.conf" user del alice@example.com
	wait_for 70 bash -c "[ \"\$(ip netns exec $NS_VIS curl -sS --max-time 5 --cacert $T/ca.crt --resolve app-lab1.edge.test:443:$EDGE_VIS_IP -H 'Authorization: Bearer $at' -o /dev/null -w '%{http_code}' $APP/headers)\" = 401 ]"
}

@test "a cached Bearer token ends with its key: an admin deletes a compromised one" {
	device_login alice@example.com
	local at kid1 K=$T/edge-state/keys
	at=$(cat "$T/alice@example.com.at")
	kid1=$(cut -d. -f1 <<<"$at" | basenc -d --base64url 2>/dev/null | jq -r .kid)
	[ -e "$K"/*-"$kid1".pem ]
	run v /dev/null -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer $at" "$APP/headers"
	assert_output 200
	assert_equal "$(log_count edge 'bearer token of alice@example\.com verified, cached for [0-9]+ s')" 1
	# A new signing key, and the old one deleted by hand.
	"$B0_BUILD/b0-edge" -f "$T/edge.conf" key rotate >/dev/null 2>&1
	rm "$K"/*-"$kid1".pem
	wait_for 5 bash -c "ip netns exec $NS_VIS curl -sS --max-time 5 --cacert $T/ca.crt --resolve edge.test:443:$EDGE_VIS_IP $ISS/jwks.json | jq -e '[.keys[].kid] | index(\"$kid1\") == null'"
	run v /dev/null -o /dev/null -w '%{http_code}' \
	    -H "Authorization: Bearer $at" "$APP/headers"
	assert_output 401
}

@test "user del: the person's app sessions end within a minute" {
	web_login "$T/j" alice@example.com "$APP/"
	run v "$T/j" -o /dev/null -w '%{http_code}' "$APP/headers"
	assert_output 200
	"$B0_BUILD/b0-edge" -f "$T/edge.conf" user del alice@example.com
	wait_for 70 bash -c "[ \"\$(ip netns exec $NS_VIS curl -sS --max-time 5 --cacert $T/ca.crt --resolve app-lab1.edge.test:443:$EDGE_VIS_IP -b $T/j -o /dev/null -w '%{http_code}' $APP/headers)\" = 302 ]"
	log_has edge 'session of alice@example\.com ended'
}

@test "protected and identity-aware: basic auth on every request, the person by the cookie" {
	run v /dev/null -o /dev/null -D "$T/h" "https://both-lab1.edge.test/"
	[ "$(code_of "$T/h")" = 401 ]
	grep -qi '^WWW-Authenticate: Basic realm="both-lab1.edge.test"' "$T/h"
	# The password alone does not let anyone in: then the login.
	run v /dev/null -o /dev/null -D "$T/h" -u 'admin:open sesame' \
	    "https://both-lab1.edge.test/"
	[ "$(code_of "$T/h")" = 302 ]
	SOCK_ARGS=(-u 'admin:open sesame')
	web_login "$T/j" alice@example.com "https://both-lab1.edge.test/headers"
	run v "$T/j" -o "$T/r.json" -D "$T/h" -u 'admin:open sesame' \
	    "https://both-lab1.edge.test/headers"
	[ "$(code_of "$T/h")" = 200 ]
	assert_equal "$(hdr "$T/r.json" x-b0-email)" alice@example.com
	assert_equal "$(hdr "$T/r.json" x-b0-user)" admin
	assert_equal "$(hdr "$T/r.json" x-b0-auth)" session
	assert_equal "$(hdr "$T/r.json" authorization)" ""
	# The session without the password: 401.
	run v "$T/j" -o /dev/null -w '%{http_code}' "https://both-lab1.edge.test/headers"
	assert_output 401
}
