#!/usr/bin/env bats
# b0-proxy askpass PROMPT (docs/pam.md, "Prompting for a token"): the
# SSH_ASKPASS helper that answers pam_b0's "b0-token part i/n: " prompts
# with the parts of the cached access token, and nothing else.  The refresh
# tests run against helpers/proxy_fake_edge.py, the stand-in edge of
# proxy.bats.

load helpers/common
bats_require_minimum_version 1.5.0

FAKE=$BATS_TEST_DIRNAME/helpers/proxy_fake_edge.py

setup() {
	b0_tmpdir
	. "$B0_TOP/tests/lib/testenv.sh"
	export HOME=$T XDG_CONFIG_HOME=$T/config XDG_CACHE_HOME=$T/cache
	unset DISPLAY WAYLAND_DISPLAY BROWSER B0_PROXY_DEBUG B0_HOST
	mkdir -p "$T/config/b0"
	install -d -m 0700 "$T/cache" "$T/cache/b0"
	printf 'edge edge.test 127.0.0.1:1\nedge other.test 127.0.0.1:1\n' \
	    >"$T/config/b0/proxy.conf"
	# A 2500-byte token: three parts.
	TOK=$(python3 -c 'import string, random; a = string.ascii_letters + string.digits + "-_"; print("".join(random.choice(a) for _ in range(1200)) + "." + "".join(random.choice(a) for _ in range(1299)))')
	[ ${#TOK} -eq 2500 ]
}

teardown() {
	local p
	for p in "$T"/*.pid; do
		[ -f "$p" ] || continue
		kill "$(cat "$p")" 2>/dev/null || true
	done
	b0_cleanup_tmpdir
}

# cache DOMAIN TOKEN EXPIRES_AT [REFRESH]: the cached tokens of DOMAIN.
cache() {
	python3 - "$T/cache/b0/$1.json" "$2" "$3" "${4:-}" <<-'EOF'
		import json, os, sys
		p, tok, exp, rt = sys.argv[1:]
		d = {"access_token": tok, "expires_at": int(exp), "email": "alice@example.org"}
		if rt:
		    d["refresh_token"] = rt
		fd = os.open(p + ".new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
		os.write(fd, json.dumps(d).encode())
		os.close(fd)
		os.rename(p + ".new", p)
	EOF
}

ap() {
	run --separate-stderr timeout 30 b0-proxy askpass "$@"
}

@test "askpass: the three parts of a long token, each at most 1000 bytes" {
	cache edge.test "$TOK" $(($(date +%s) + 600))
	ap "b0-token part 1: "
	assert_success
	[ "$output" = "1/3 ${TOK:0:1000}" ]
	[ -z "$stderr" ]
	ap "b0-token part 2/3: "
	assert_success
	[ "$output" = "2/3 ${TOK:1000:1000}" ]
	ap "b0-token part 3/3: "
	assert_success
	[ "$output" = "3/3 ${TOK:2000}" ]
	# Joined again, the parts are the token.
	a=$(b0-proxy askpass "b0-token part 1: " | cut -d' ' -f2)
	b=$(b0-proxy askpass "b0-token part 2/3: " | cut -d' ' -f2)
	c=$(b0-proxy askpass "b0-token part 3/3: " | cut -d' ' -f2)
	[ "$a$b$c" = "$TOK" ]
}

@test "askpass: any other prompt gets nothing at all and status 1" {
	cache edge.test "$TOK" $(($(date +%s) + 600))
	local p
	for p in "alice@host's password: " "Password: " "(alice@host) Password: " \
	    "Verification code: " "b0-token part 1:" "b0-token part 1:  " \
	    "b0-token part 1" " b0-token part 1: " "B0-token part 1: " \
	    "b0-token part 0: " "b0-token part 01: " "b0-token part 17: " \
	    "b0-token part 1/17: " "b0-token part 2/1: " "b0-token part x: " \
	    "b0-token part 1/: " "b0-token part /3: " "b0-token part 1/3/3: " \
	    "b0-token part -1: " "b0-token part 1 : " "b0-token  part 1: " \
	    "b0-token part 1: x" "" $'b0-token part 1: \n' "--help"; do
		ap "$p"
		[ "$status" -eq 1 ] || { echo "status $status for [$p]"; false; }
		[ -z "$output" ] || { echo "stdout for [$p]: $output"; false; }
		[ -z "$stderr" ] || { echo "stderr for [$p]: $stderr"; false; }
	done
}

@test "askpass: a part the token does not have, or another count, is refused on stderr" {
	cache edge.test "$TOK" $(($(date +%s) + 600))
	ap "b0-token part 4/5: "
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" == "b0-proxy: askpass: edge.test: asked for part 4/5 of a token in 3 parts"* ]]
	ap "b0-token part 2/2: "
	assert_failure 1
	[ -z "$output" ]
	ap "b0-token part 4: "
	assert_failure 1
	[ -z "$output" ]
}

@test "askpass: B0_HOST names the edge, or a socket under it; else the only signed-in edge" {
	cache edge.test "$TOK" $(($(date +%s) + 600))
	ap "b0-token part 1: "
	assert_success
	cache other.test "other.token.x" $(($(date +%s) + 600))
	ap "b0-token part 1: "
	assert_failure 1
	[ -z "$output" ]
	[ "$stderr" = "b0-proxy: askpass: signed in at 2 edges: set B0_HOST to the one to answer for" ]
	B0_HOST=other.test ap "b0-token part 1: "
	assert_success
	assert_output "1/1 other.token.x"
	B0_HOST=ssh-lab1.edge.test ap "b0-token part 2/3: "
	assert_success
	[ "$output" = "2/3 ${TOK:1000:1000}" ]
	B0_HOST=ssh-lab1.nowhere.test ap "b0-token part 1: "
	assert_failure 1
	[ -z "$output" ]
	[ "$stderr" = "b0-proxy: askpass: B0_HOST ssh-lab1.nowhere.test is no configured edge nor under one" ]
	rm "$T/cache/b0/edge.test.json" "$T/cache/b0/other.test.json"
	ap "b0-token part 1: "
	assert_failure 1
	[ -z "$output" ]
	[ "$stderr" = "b0-proxy: askpass: not signed in at any edge (run b0-proxy login)" ]
}

@test "askpass: OpenSSH's \"(user@host) \" prefix names the host, which must be under the edge" {
	cache edge.test "$TOK" $(($(date +%s) + 600))
	cache other.test "other.token.x" $(($(date +%s) + 600))
	ap "(alice@ssh-lab1.edge.test) b0-token part 1: "
	assert_success
	[ "$output" = "1/3 ${TOK:0:1000}" ]
	ap "(alice@SSH-lab1.other.test) b0-token part 1/1: "
	assert_success
	assert_output "1/1 other.token.x"
	# A server elsewhere asking for a b0 token gets none.
	ap "(alice@evil.example.com) b0-token part 1: "
	assert_failure 1
	[ -z "$output" ]
	[ "$stderr" = "b0-proxy: askpass: the host evil.example.com is no configured edge nor under one" ]
	B0_HOST=edge.test ap "(alice@x.other.test) b0-token part 1: "
	assert_failure 1
	[ -z "$output" ]
	[ "$stderr" = "b0-proxy: askpass: x.other.test asks for a token of edge.test, which it is not under" ]
	# A malformed prefix is not our prompt.
	local p
	for p in "(alice) b0-token part 1: " "(alice@bad name) b0-token part 1: " \
	    "(@x.edge.test) b0-token part 1: " "(alice@) b0-token part 1: " \
	    "(alice@x.edge.test)b0-token part 1: " "(alice@x.edge.test) Password: "; do
		ap "$p"
		[ "$status" -eq 1 ] && [ -z "$output" ] && [ -z "$stderr" ] ||
		    { echo "[$p]: $status $output $stderr"; false; }
	done
}

@test "askpass: an expired token without a refresh token: no sign-in, nothing printed" {
	cache edge.test "$TOK" $(($(date +%s) - 5))
	ap "b0-token part 1: "
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" == *"edge.test: the access token expired and could not be refreshed (run b0-proxy login)"* ]]
	ap "b0-token part 2/3: "
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" == *"edge.test: the access token has expired"* ]]
}

@test "askpass: part 1 refreshes a token that expires within a minute (stand-in edge)" {
	b0_pki "$T"
	rm -f "$T/fake.port"
	python3 "$FAKE" --cert "$T/edge.crt" --key "$T/edge.key" \
	    --port-file "$T/fake.port" --log "$T/fake.log" 2>>"$T/fake.err.log" &
	echo $! >"$T/fake.pid"
	wait_for 10 test -s "$T/fake.port"
	printf 'edge edge.test 127.0.0.1:%s\nca %s\n' "$(cat "$T/fake.port")" \
	    "$T/ca.crt" >"$T/config/b0/proxy.conf"
	timeout 30 b0-proxy login --device >"$T/login.out" 2>"$T/login.err"
	old=$(jq -r .access_token "$T/cache/b0/edge.test.json")
	python3 - "$T/cache/b0/edge.test.json" <<-'EOF'
		import json, os, sys, time
		p = sys.argv[1]
		d = json.load(open(p))
		d["expires_at"] = int(time.time()) + 30
		fd = os.open(p + ".new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
		os.write(fd, json.dumps(d).encode())
		os.close(fd)
		os.rename(p + ".new", p)
	EOF
	ap "b0-token part 1: "
	assert_success
	new=$(jq -r .access_token "$T/cache/b0/edge.test.json")
	[ "$new" != "$old" ]
	assert_output "1/1 $new"
	[ "$(grep -c '^GRANT refresh_token ok' "$T/fake.log")" -eq 1 ]
	# A refused refresh token: no new sign-in, nothing printed.
	python3 - "$T/cache/b0/edge.test.json" <<-'EOF'
		import json, os, sys
		p = sys.argv[1]
		d = json.load(open(p))
		d["expires_at"] = 1
		d["refresh_token"] = "b0rt.00000000000000000000000000000000.bogus"
		fd = os.open(p + ".new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
		os.write(fd, json.dumps(d).encode())
		os.close(fd)
		os.rename(p + ".new", p)
	EOF
	ap "b0-token part 1: "
	assert_failure 1
	[ -z "$output" ]
	[ "$(grep -c '^GRANT device_code ok' "$T/fake.log")" -eq 1 ]
}
