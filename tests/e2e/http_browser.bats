#!/usr/bin/env bats
# http sockets as a person lives them (docs/http.md, "Who gets in"): a
# real headless chromium (tests/tools/node/http-browser.mjs, playwright-core)
# on loopback, trusting the test CA's edge certificate by its key and
# resolving every *.edge.test name to 127.0.0.1, visits a web app
# (tests/e2e/helpers/webapp.py) published by the real b0-publish through
# the real b0-edge: the edge's login page, its built-in accounts, the
# app's session cookie, a WebSocket through the tunnel, the 403 page,
# logout, "Sign in as someone else", and basic auth on a protected socket.
#
# Screenshots of the login page, of the 403 page and of the sign-out
# question are kept in $B0_BUILD/test-output/http_browser/ (login.png,
# 403.png, logout.png), and their names are printed.

load helpers/common
load helpers/browser

bats_require_minimum_version 1.5.0

setup() {
	browser_have || skip "node, playwright-core or chromium missing (scripts/deps installs them)"
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	OUT=$B0_BUILD/test-output/http_browser
	mkdir -p "$OUT"
	b0_pki "$T"
	webapp_start
	EPORT=$(free_port)
	b0_edge_conf "$T" "127.0.0.1:$EPORT" 31100-31110 "log-level info"
	local u
	for u in alice@example.com bob@example.org; do
		(umask 077 && echo "pw of $u" >"$T/$u.pw")
		"$B0_BUILD/b0-edge" -f "$T/edge.conf" user add "$u" \
		    <"$T/$u.pw" 2>>"$T/useradd.log"
	done
	b0_start "$T" edge "$B0_BUILD/b0-edge" -f "$T/edge.conf"
	b0_token "$T" lab1
	(umask 077 && echo "wiki pw $RANDOM" >"$T/wiki.pass")
	b0_pub_conf "$T" "127.0.0.1:$EPORT" \
	    "socket app http/$WPORT/alice@example.com 127.0.0.1:$WPORT" \
	    "socket wiki http/$WPORT 127.0.0.1:$WPORT protected=admin password-file=$T/wiki.pass"
	b0_start "$T" pub "$B0_BUILD/b0-publish" -f "$T/publish.conf"
	grep -q 'registered 2 of 2 sockets' "$T/pub.log"
	EDGE=https://edge.test:$EPORT
	APP=https://app-lab1.edge.test:$EPORT
	WIKI=https://wiki-lab1.edge.test:$EPORT
	browser_env "$T/edge.crt"
}

teardown() {
	browser_stop
	b0_stop "$T" pub
	b0_stop "$T" edge
	b0_stop "$T" webapp
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for f in transcript edge.log pub.log webapp.log browser.err; do
			[ -f "$T/$f" ] || continue
			echo "# $f:" >&3
			tail -n 60 "$T/$f" | sed 's/^/#   /' >&3
		done
	fi
	b0_cleanup_tmpdir
}

# free_port: a TCP port on 127.0.0.1 nobody listens on just now.
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# webapp_start: the test web app on 127.0.0.1:$WPORT; the requests it got
# in $T/webapp.requests.
webapp_start() {
	python3 "$B0_TOP/tests/e2e/helpers/webapp.py" --listen 127.0.0.1:0 \
	    --port-file "$T/webapp.port" --log "$T/webapp.requests" \
	    >>"$T/webapp.log" 2>&1 </dev/null &
	echo $! >"$T/webapp.pid"
	wait_for 10 test -s "$T/webapp.port"
	WPORT=$(cat "$T/webapp.port")
}

# hb STEP...: one browser session (http-browser.mjs); its transcript is
# the output (and goes to $T/transcript), its notes go to
# $T/browser.err.  Use with `run`.
hb() {
	local rc=0
	echo "# browser: $*" | tee -a "$T/transcript" >>"$T/browser.err"
	timeout -k 5 120 node "$B0_NODE_TOOLS/http-browser.mjs" "$@" \
	    </dev/null >"$T/hb.out" 2>>"$T/browser.err" || rc=$?
	cat "$T/hb.out" >>"$T/transcript"
	cat "$T/hb.out"
	return "$rc"
}

# has REGEX: a line of the transcript ($output) matches REGEX (ERE).
has() {
	grep -Eq -- "$1" <<<"$output" || {
		echo "no line matching: $1" >&2
		return 1
	}
}

# hasnt REGEX: no line of the transcript matches REGEX.
hasnt() {
	! grep -Eq -- "$1" <<<"$output"
}

# header NAME: the value(s) of header NAME the app saw, from the last
# "json" line of the transcript (webapp.py's /headers).
header() {
	sed -n 's/^json //p' <<<"$output" | tail -n 1 |
	    jq -r --arg n "$1" '.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]'
}

# between MARK1 MARK2: the transcript between "mark MARK1" and "mark MARK2".
between() {
	sed -n "/^mark $1\$/,/^mark $2\$/p" <<<"$output"
}

# shot_kept NAME: the screenshot $OUT/NAME is there (a PNG); say its name.
shot_kept() {
	[ "$(head -c 8 "$OUT/$1" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
	echo "# screenshot: $OUT/$1" >&3
}

# access_log STATUS PATH [EMAIL]: the edge logged that request on app.
access_log() {
	grep -Eq "http app-lab1\.edge\.test 127\.0\.0\.1:[0-9]+ ${3:-[^ ]+} GET $2 $1 " "$T/edge.log"
}

@test "an unauthenticated visitor gets the edge's login page, signs in, and lands on the app as themselves" {
	run hb goto "$APP/headers?from=browser" shot "$OUT/login.png" \
	    signin alice@example.com "$T/alice@example.com.pw" json cookies
	assert_success
	# The app sent the browser to the edge's login, on the edge's name.
	has "^nav 302 $APP/headers\$"
	has "^nav 302 $EDGE/authorize\$"
	has "^page 200 $EDGE/[a-z/]* h1=Sign in\$"
	shot_kept login.png
	# Back through the socket's callback, on the page first asked for.
	has "^nav 302 $APP/\.b0/callback\$"
	has "^page 200 $APP/headers h1=\$"
	[ "$(sed -n 's/^json //p' <<<"$output" | jq -r .target)" = "/headers?from=browser" ]
	# What the app saw: the identity the edge vouches for, the proxy
	# headers, and no b0 cookie.
	[ "$(header X-B0-Email)" = alice@example.com ]
	[ "$(header X-B0-Auth)" = session ]
	[ "$(header X-Forwarded-Proto)" = https ]
	[ "$(header X-Forwarded-Host)" = app-lab1.edge.test ]
	[ "$(header X-Real-IP)" = 127.0.0.1 ]
	[[ "$(header Cookie)" != *__Host-b0_app* ]]
	# The session cookie: this host only, HttpOnly, Secure, Lax, 12 h.
	has '^cookie __Host-b0_app domain=app-lab1\.edge\.test path=/ httponly=1 secure=1 samesite=Lax '
	local exp now
	exp=$(sed -n 's/^cookie __Host-b0_app .* expires=\([0-9]*\)$/\1/p' <<<"$output")
	now=$(date +%s)
	[ "$exp" -gt $((now + 43200 - 120)) ] && [ "$exp" -le $((now + 43200 + 5)) ]
	# The app saw one request, the one after the login.
	[ "$(grep -c '^GET /headers' "$T/webapp.requests")" -eq 1 ]
	access_log 302 /headers -
	access_log 200 /headers alice@example.com
}

@test "a WebSocket opened by the app's page echoes through the tunnel" {
	local msg="hello through b0 $RANDOM"
	run hb goto "$APP/headers" signin alice@example.com "$T/alice@example.com.pw" \
	    ws /ws "$msg"
	assert_success
	has "^page 200 $APP/headers h1=\$"
	has "^ws echo $msg\$"
	grep -q '^GET /ws' "$T/webapp.requests"
	wait_for 5 grep -Eq 'http app-lab1\.edge\.test 127\.0\.0\.1:[0-9]+ alice@example\.com GET /ws 101 ' "$T/edge.log"
}

@test "a signed-in person the list does not name sees the 403 page, and can sign in as someone else" {
	run hb goto "$APP/headers" signin bob@example.org "$T/bob@example.org.pw" \
	    shot "$OUT/403.png" mark switch click "Sign in as someone else" \
	    mark alice signin alice@example.com "$T/alice@example.com.pw" \
	    goto "$APP/headers" json mark end
	assert_success
	local all=$output
	# The 403 page says who is signed in, and which socket refused.
	has "^page 403 $APP/headers h1=Access denied\$"
	local text
	text=$(grep -m1 -A1 "^page 403 " <<<"$output" | sed -n 's/^text //p')
	[[ "$text" == *"Signed in as bob@example.org"* ]]
	[[ "$text" == *app-lab1.edge.test* ]]
	shot_kept 403.png
	access_log 403 /headers 'bob@example\.org'
	grep -q 'http app-lab1\.edge\.test: bob@example\.org refused' "$T/edge.log"
	# The edge's form names the site, not the edge.
	has "^text b0 edge\.test Sign in to continue to app-lab1\.edge\.test "
	# "Sign in as someone else" ends the edge's session too: a real login
	# page, not a silent way back in as bob.
	# One click: the 403 page's form POSTs, and the edge takes the
	# socket host's one-time logout ticket without asking again.
	run between switch alice
	has "^nav 302 $APP/\.b0/logout\$"
	has "^nav 302 $EDGE/logout\$"
	hasnt "^page [0-9]+ .* h1=Sign (out of|in as someone else)"
	has "^page 200 $EDGE/[a-z/]* h1=Sign in\$"
	grep -Eq '127\.0\.0\.1:[0-9]+: signed out: bob@example\.org \(logout ticket\)' "$T/edge.log"
	# And alice gets in, back on the page that refused bob (not on the
	# app's /); bob never reached the app.
	output=$all
	run between alice end
	has "^nav 302 $APP/\.b0/callback\$"
	refute_line --regexp "^page [0-9]+ $APP/ h1="
	has "^page 200 $APP/headers h1=\$"
	[ "$(header X-B0-Email)" = alice@example.com ]
	[ "$(cat "$T/webapp.requests")" = "GET /headers
GET /headers" ]
}

@test "after /.b0/logout the app sends the browser to the login again, and the old cookie is dead" {
	run hb goto "$APP/headers" signin alice@example.com "$T/alice@example.com.pw" \
	    keep-cookie __Host-b0_app mark logout goto "$APP/.b0/logout" \
	    shot "$OUT/logout.png" click "Sign out" cookies \
	    mark again goto "$APP/headers" \
	    mark old put-cookie __Host-b0_app goto "$APP/headers" mark end
	assert_success
	local all=$output
	# Opening /.b0/logout only asks; its button signs out, says so and
	# takes the cookie away.
	run between logout again
	has "^page 200 $APP/\.b0/logout h1=Sign out of app-lab1\.edge\.test\?\$"
	has "^text b0 app-lab1\.edge\.test Sign out of app-lab1\.edge\.test\? You are signed in as alice@example\.com\. Sign out "
	shot_kept logout.png
	has "^page 200 $APP/\.b0/logout h1=Signed out\$"
	hasnt '^cookie __Host-b0_app '
	# The next visit goes through the edge's login again (the edge's own
	# session brings alice back in, with one redirect and a new cookie).
	output=$all
	run between again old
	has "^nav 302 $APP/headers\$"
	has "^nav 302 $EDGE/authorize\$"
	has "^page 200 $APP/headers h1=\$"
	# The first session's cookie, set again, gets nowhere: the edge forgot it.
	output=$all
	run between old end
	has "^nav 302 $APP/headers\$"
	has "^nav 302 $EDGE/authorize\$"
	grep -q 'http app-lab1.edge.test: signed out: alice@example.com' "$T/edge.log"
}

@test "a protected socket asks for basic auth, and lets the right password in" {
	# Without credentials: the 401, with a Basic challenge naming the host
	# (a browser with nothing to answer shows its own error page).
	run hb goto "$WIKI/headers"
	assert_success
	has "^nav 401 $WIKI/headers\$"
	hasnt "^nav 200 "
	run curl -sS --max-time 10 --cacert "$T/ca.crt" \
	    --resolve "wiki-lab1.edge.test:$EPORT:127.0.0.1" -o /dev/null \
	    -D - "$WIKI/headers"
	assert_success
	grep -qi '^WWW-Authenticate: Basic realm="wiki-lab1\.edge\.test", charset="UTF-8"' <<<"${output//$'\r'/}"
	# A wrong password: 401 again, the edge's page.
	(umask 077 && echo "admin:not the password" >"$T/basic.bad")
	B0_BROWSER_BASIC_FILE=$T/basic.bad run hb goto "$WIKI/headers"
	has "^page 401 $WIKI/headers h1=Password required\$"
	[ ! -s "$T/webapp.requests" ]
	# The browser answers the challenge: the app sees the user, never the
	# password.
	(umask 077 && printf 'admin:%s\n' "$(cat "$T/wiki.pass")" >"$T/basic")
	B0_BROWSER_BASIC_FILE=$T/basic run hb goto "$WIKI/headers" json
	assert_success
	has "^page 200 $WIKI/headers h1=\$"
	[ "$(header X-B0-User)" = admin ]
	[ "$(header X-B0-Auth)" = none ]
	[ -z "$(header Authorization)" ]
	grep -Eq 'http wiki-lab1\.edge\.test 127\.0\.0\.1:[0-9]+ basic:admin GET /headers 200 ' "$T/edge.log"
	run ! grep -qF "$(cat "$T/wiki.pass")" "$T/edge.log" "$T/pub.log"
}
