#!/usr/bin/env bats
# End-to-end tests of the edge's built-in accounts: `b0-edge user add`,
# `user ls [--json]`, `user del` and the <state-dir>/users file they keep
# (docs/identity.md, "People").

load helpers/common

bats_require_minimum_version 1.5.0

setup() {
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	b0_pki "$T"
	b0_edge_conf "$T" 127.0.0.1:0 31000-31010
	U=$T/edge-state/users
}

teardown() {
	b0_stop "$T" edge
	if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ ! -f "$T/edge.log" ]; then
		:
	else
		echo "# edge.log:" >&3
		sed 's/^/#   /' "$T/edge.log" >&3
	fi
	b0_cleanup_tmpdir
}

edge() {
	"$B0_BUILD/b0-edge" -f "$T/edge.conf" "$@"
}

# edge_up: start the edge; $PORT is its HTTPS port.
edge_up() {
	b0_start "$T" edge "$B0_BUILD/b0-edge" -f "$T/edge.conf" || return 1
	PORT=$(b0_ready_port "$T" edge)
}

# web ARGS...: curl to the running edge as edge.test, trusting the test CA,
# with a cookie jar.
web() {
	curl -s --max-time 10 --resolve "edge.test:$PORT:127.0.0.1" \
	    --cacert "$T/ca.crt" -c "$T/jar" -b "$T/jar" "$@"
}

# sign_in_start: a code flow request for b0-proxy; sets REQ and CSRF from
# the login page the edge sends the browser to.
sign_in_start() {
	local v=verifier-0123456789-0123456789-0123456789-abc ch loc
	ch=$(printf %s "$v" | openssl dgst -sha256 -binary | basenc --base64url |
	    tr -d =)
	loc=$(web -o /dev/null -w '%{redirect_url}' \
	    "https://edge.test:$PORT/authorize?response_type=code&client_id=b0-proxy&redirect_uri=http://127.0.0.1:9/cb&code_challenge=$ch&code_challenge_method=S256&state=st1&scope=openid")
	REQ=${loc##*req=}
	[[ "$loc" == "https://edge.test:$PORT/login?req="* ]] ||
		{ echo "authorize sent us to \"$loc\"" >&2; return 1; }
	web -o "$T/page.html" "$loc"
	CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/page.html")
	[ -n "$CSRF" ]
}

# sign_in EMAIL PASSWORD: post the login form; prints "STATUS LOCATION
# SERVER-SECONDS" and keeps the page in $T/page.html (and its new CSRF).
sign_in() {
	local out
	out=$(web -o "$T/page.html" \
	    -w '%{http_code}|%{redirect_url}|%{time_pretransfer}|%{time_starttransfer}' \
	    --data-urlencode "email=$1" --data-urlencode "password=$2" \
	    --data-urlencode "csrf=$CSRF" --data-urlencode "req=$REQ" \
	    "https://edge.test:$PORT/login")
	CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/page.html")
	awk -F'|' '{ printf "%s %s %.4f\n", $1, ($2 == "" ? "-" : $2), $4 - $3 }' \
	    <<<"$out"
}

# hash_of EMAIL: the hash field of EMAIL's line in the users file.
hash_of() {
	awk -v e="$1" '$1 == e { print $2 }' "$U"
}

# password_ok EMAIL PASSWORD: libcrypt (through perl's crypt) accepts
# PASSWORD against EMAIL's stored hash.
password_ok() {
	local h
	h=$(hash_of "$1")
	[ -n "$h" ] || return 1
	PW=$2 H=$h perl -e 'exit(crypt($ENV{PW}, $ENV{H}) eq $ENV{H} ? 0 : 1)'
}

@test "user add reads one line from stdin, stores lower case, 0600, yescrypt" {
	run --separate-stderr edge user add Alice@Example.COM <<<'correct horse'
	assert_success
	assert_equal "$stderr" "b0-edge: added alice@example.com"
	assert_equal "$output" ""
	[ "$(stat -c %a "$U")" = 600 ]
	[ "$(stat -c %a "$T/edge-state")" = 700 ]
	run hash_of alice@example.com
	assert_output --regexp '^\$y\$j[^$]+\$[./0-9A-Za-z]+\$[./0-9A-Za-z]{43}$'
	password_ok alice@example.com 'correct horse'
	run ! password_ok alice@example.com 'correct horsf'
	run ! password_ok alice@example.com ''
	# The password is nowhere in the file.
	run ! grep -q 'correct horse' "$U"
}

@test "user add without a final newline, and with CRLF" {
	printf 'pw-no-newline' | edge user add bob@example.org 2>/dev/null
	password_ok bob@example.org pw-no-newline
	printf 'pw-crlf\r\n' | edge user add carol@example.org 2>/dev/null
	password_ok carol@example.org pw-crlf
	run ! password_ok carol@example.org $'pw-crlf\r'
}

@test "user add on an existing account changes its password, keeps created" {
	edge user add dave@example.org <<<'first' 2>/dev/null
	created=$(awk '$1 == "dave@example.org" { print $3 }' "$U")
	sleep 1.1
	run --separate-stderr edge user add DAVE@example.org <<<'second'
	assert_success
	assert_equal "$stderr" "b0-edge: changed the password of dave@example.org"
	[ "$(grep -c '^dave@example.org ' "$U")" = 1 ]
	password_ok dave@example.org second
	run ! password_ok dave@example.org first
	[ "$(awk '$1 == "dave@example.org" { print $3 }' "$U")" = "$created" ]
}

@test "user add refuses bad emails before asking for a password" {
	for bad in alice 'alice@localhost' 'a@b@example.com' '@example.com' \
	    'alice@exa mple.com' 'al..ice@example.com' 'alice@10.0.0.1'; do
		run --separate-stderr edge user add "$bad" <<<'pw'
		assert_failure 1
		[[ "$stderr" == *"is not an email address"* ]] ||
			{ echo "$bad: $stderr" >&2; return 1; }
	done
	[ ! -e "$U" ]
}

@test "user add refuses empty, over-long and NUL passwords" {
	run --separate-stderr edge user add e@example.org <<<''
	assert_failure 1
	assert_equal "$stderr" "b0-edge: the password is empty"
	run --separate-stderr edge user add e@example.org </dev/null
	assert_failure 1
	assert_equal "$stderr" "b0-edge: the password is empty"
	run --separate-stderr edge user add e@example.org \
	    < <(head -c 257 /dev/zero | tr '\0' x)
	assert_failure 1
	assert_equal "$stderr" "b0-edge: the password is longer than 256 bytes"
	run --separate-stderr edge user add e@example.org < <(printf 'a\0b\n')
	assert_failure 1
	assert_equal "$stderr" "b0-edge: the password holds a NUL byte"
	[ ! -e "$U" ]
	# 256 bytes is fine.
	head -c 256 /dev/zero | tr '\0' y | edge user add e@example.org \
	    2>/dev/null
	password_ok e@example.org "$(head -c 256 /dev/zero | tr '\0' y)"
}

@test "user add on a terminal asks twice without echo" {
	# A pseudo-terminal is the controlling terminal and stdin of b0-edge;
	# the script types the password after each prompt.
	run --separate-stderr timeout 20 python3 - "$B0_BUILD/b0-edge" \
	    "$T/edge.conf" <<-'EOF'
		import os, pty, sys, time
		pid, fd = pty.fork()
		if pid == 0:
		    os.execv(sys.argv[1], [sys.argv[1], "-f", sys.argv[2],
		                           "user", "add", "tty@example.org"])
		seen = b""
		def expect(s):
		    global seen
		    while s not in seen:
		        seen += os.read(fd, 1024)
		expect(b"New password for tty@example.org: ")
		os.write(fd, b"s3cret tty\n")
		expect(b"Again: ")
		os.write(fd, b"s3cret tty\n")
		try:
		    while True:
		        d = os.read(fd, 1024)
		        if not d:
		            break
		        seen += d
		except OSError:
		    pass
		_, st = os.waitpid(pid, 0)
		sys.stdout.write(seen.decode())
		sys.exit(os.waitstatus_to_exitcode(st))
	EOF
	assert_success
	assert_output --partial "b0-edge: added tty@example.org"
	refute_output --partial "s3cret"
	password_ok tty@example.org 's3cret tty'
}

@test "user add on a terminal refuses two different passwords" {
	run --separate-stderr timeout 20 python3 - "$B0_BUILD/b0-edge" \
	    "$T/edge.conf" <<-'EOF'
		import os, pty, sys
		pid, fd = pty.fork()
		if pid == 0:
		    os.execv(sys.argv[1], [sys.argv[1], "-f", sys.argv[2],
		                           "user", "add", "tty@example.org"])
		seen = b""
		def expect(s):
		    global seen
		    while s not in seen:
		        seen += os.read(fd, 1024)
		expect(b": ")
		os.write(fd, b"one\n")
		expect(b"Again: ")
		os.write(fd, b"two\n")
		try:
		    while True:
		        d = os.read(fd, 1024)
		        if not d:
		            break
		        seen += d
		except OSError:
		    pass
		_, st = os.waitpid(pid, 0)
		sys.stdout.write(seen.decode())
		sys.exit(os.waitstatus_to_exitcode(st))
	EOF
	assert_failure 1
	assert_output --partial "b0-edge: the passwords differ"
	[ ! -e "$U" ]
}

@test "an address starting with # survives the file (it would be a comment)" {
	edge user add '#hash@example.org' <<<'pw-hash' 2>/dev/null
	edge user add 'mid#dle@example.org' <<<'pw-mid' 2>/dev/null
	run --separate-stderr edge user ls --json
	assert_success
	assert_output '[{"email":"#hash@example.org","created":'"$(awk '/^"#hash/ { print $3 }' "$U")"'},{"email":"mid#dle@example.org","created":'"$(awk '/^mid/ { print $3 }' "$U")"'}]'
	h=$(awk '$1 == "\"#hash@example.org\"" { print $2 }' "$U")
	PW=pw-hash H=$h perl -e 'exit(crypt($ENV{PW}, $ENV{H}) eq $ENV{H} ? 0 : 1)'
	edge user del '#HASH@example.org' 2>/dev/null
	run edge user ls --json
	assert_output --partial '"mid#dle@example.org"'
	refute_output --partial '"#hash@example.org"'
}

@test "user ls shows a table and --json" {
	edge user add zed@example.org <<<'pw1' 2>/dev/null
	edge user add amy@example.com <<<'pw2' 2>/dev/null
	run --separate-stderr edge user ls
	assert_success
	assert_line --index 0 --regexp '^EMAIL +CREATED$'
	assert_line --index 1 --regexp '^zed@example.org +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$'
	assert_line --index 2 --regexp '^amy@example.com +'
	run --separate-stderr edge user ls --json
	assert_success
	run python3 -c '
import json, sys, time
d = json.loads(sys.argv[1])
assert [u["email"] for u in d] == ["zed@example.org", "amy@example.com"], d
assert all(set(u) == {"email", "created"} for u in d), d
assert all(abs(u["created"] - time.time()) < 60 for u in d), d
' "$output"
	assert_success
}

@test "user ls with no accounts" {
	run --separate-stderr edge user ls --json
	assert_success
	assert_output "[]"
	run --separate-stderr edge user ls
	assert_success
	assert_output --regexp '^EMAIL +CREATED$'
}

@test "user del removes one account (any case), refuses unknown ones" {
	edge user add keep@example.org <<<'pw1' 2>/dev/null
	edge user add gone@example.org <<<'pw2' 2>/dev/null
	run --separate-stderr edge user del GONE@example.org
	assert_success
	assert_equal "$stderr" "b0-edge: removed gone@example.org; a running edge refuses its tokens within a minute"
	run ! grep -q gone@ "$U"
	password_ok keep@example.org pw1
	[ "$(stat -c %a "$U")" = 600 ]
	run --separate-stderr edge user del gone@example.org
	assert_failure 1
	assert_equal "$stderr" 'b0-edge: user del: no built-in account "gone@example.org"'
}

@test "a users file others can read, or a broken one, is refused" {
	edge user add a@example.org <<<'pw' 2>/dev/null
	chmod 644 "$U"
	run --separate-stderr edge user ls
	assert_failure 1
	[[ "$stderr" == *"$U"*"chmod 600"* ]] || { echo "$stderr"; false; }
	chmod 600 "$U"
	echo 'b@example.org $1$plainmd5$xyz 12' >>"$U"
	run --separate-stderr edge user ls
	assert_failure 1
	[[ "$stderr" == *"$U:3: not EMAIL YESCRYPT-HASH CREATED"* ]] ||
		{ echo "$stderr"; false; }
	sed -i '$d' "$U"
	line=$(grep '^a@' "$U")
	echo "${line/a@/A@}" >>"$U"
	run --separate-stderr edge user ls
	assert_failure 1
	[[ "$stderr" == *"$U:3: A@example.org is listed twice"* ]] ||
		{ echo "$stderr"; false; }
}

@test "user: wrong usage" {
	run --separate-stderr edge user
	assert_failure 2
	run --separate-stderr edge user add
	assert_failure 2
	run --separate-stderr edge user frob x@example.org
	assert_failure 2
	assert_equal "$stderr" "b0-edge: user: add EMAIL, ls or del EMAIL (see b0-edge --help)"
}

@test "a running edge signs in built-in accounts; wrong password and unknown email get the same answer" {
	edge user add alice@example.com <<<'pw-alice' 2>/dev/null
	edge_up
	sign_in_start
	run sign_in alice@example.com wrong-password
	assert_output --regexp '^401 - '
	grep -q 'class="error"' "$T/page.html"
	wrong_page=$(sed 's/value="[^"]*"//g' "$T/page.html")
	run sign_in nobody@example.com wrong-password
	assert_output --regexp '^401 - '
	# The same page, but for the email typed and the fresh CSRF token.
	unknown_page=$(sed 's/value="[^"]*"//g' "$T/page.html")
	[ "$wrong_page" = "$unknown_page" ]
	# Unknown emails pay for a hash too: server time within a factor of
	# the wrong password's (the fastest of three each).
	known=9 unknown=9
	for i in 1 2 3; do
		t=$(sign_in alice@example.com "wrong-$i" | awk '{ print $3 }')
		known=$(awk -v a="$known" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
		t=$(sign_in "nobody$i@example.com" "wrong-$i" | awk '{ print $3 }')
		unknown=$(awk -v a="$unknown" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
	done
	echo "# fastest wrong password ${known}s, unknown email ${unknown}s" >&3
	awk -v k="$known" -v u="$unknown" 'BEGIN { exit !(u >= k / 2 && k >= 0.005) }'
	run sign_in ALICE@Example.com pw-alice
	assert_output --regexp '^302 http://127\.0\.0\.1:9/cb\?code=[A-Za-z0-9_-]{43}&state=st1 '
}

@test "a running edge notices user add and user del" {
	edge_up
	sign_in_start
	run sign_in carol@example.org pw-carol
	assert_output --regexp '^401 - '
	edge user add carol@example.org <<<'pw-carol' 2>/dev/null
	sleep 1.5
	run sign_in carol@example.org pw-carol
	assert_output --regexp '^302 http://127\.0\.0\.1:9/cb\?code='
	edge user del carol@example.org 2>/dev/null
	sleep 1.5
	rm -f "$T/jar" # a new browser: this one has a session
	sign_in_start
	run sign_in carol@example.org pw-carol
	assert_output --regexp '^401 - '
}
