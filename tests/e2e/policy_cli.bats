#!/usr/bin/env bats
# End-to-end tests of b0-policy, the operator's tool for publish specs,
# allow lists and identity-to-user rules.

load helpers/common

bats_require_minimum_version 1.5.0

setup() {
	b0_tmpdir
	cat >"$T/users" <<-'EOF'
		# identity            user
		alice@example.com     alice
		ops@example.com       root
		example.com           %localpart
		.lab.example.com      nobody
	EOF
	chmod 644 "$T/users"
}

teardown() {
	b0_cleanup_tmpdir
}

# stderr_has TEXT: the command's stderr contains TEXT.
stderr_has() {
	if [[ "$stderr" != *"$1"* ]]; then
		echo "stderr: $stderr" >&2
		echo "wanted: $1" >&2
		return 1
	fi
}

# json_ok: stdout is one valid JSON document.
json_ok() {
	printf '%s' "$output" | python3 -m json.tool >/dev/null
}

# json_get EXPR: evaluate EXPR on the parsed stdout (as `d`) in Python.
json_get() {
	printf '%s' "$output" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# A local user with 1000 <= uid < 60000, for %localpart, or nothing.
regular_user() {
	getent passwd | awk -F: '$3 >= 1000 && $3 < 60000 && $1 ~ /^[a-z_][a-z0-9_-]*$/ { print $1; exit }'
}

# --- check-spec ---------------------------------------------------------

@test "check-spec prints valid specs normalised with type, port and who" {
	run --separate-stderr b0-policy check-spec tcp/22 \
	    tls/22/Alice@Example.com,example.org http/3000 https/8443/.Example.NET tls/2222
	assert_success
	assert_line --index 0 --regexp '^SPEC +TYPE +PORT +WHO$'
	assert_line --regexp '^tcp/22 +tcp +22 +anyone$'
	assert_line --regexp '^tls/22/alice@example.com,example.org +tls +22 +alice@example.com, example.org$'
	assert_line --regexp '^http/3000 +http +3000 +anyone$'
	assert_line --regexp '^https/8443/.example.net +https +8443 +.example.net$'
	assert_line --regexp '^tls/2222 +tls +2222 +any signed-in person$'
	[ -z "$stderr" ]
}

@test "check-spec: an invalid spec is named on stderr, exit 1, nothing on stdout" {
	run --separate-stderr b0-policy check-spec TCP/22
	assert_failure 1
	assert_output ''
	[ "$stderr" = 'b0-policy: TCP/22: the type "TCP" must be written in lower case ("tcp"); the types are tcp, tls, http and https' ]
}

@test "check-spec: valid and invalid together print both, exit 1" {
	run --separate-stderr b0-policy check-spec tcp/22 udp/53 tls/22/a@b.com
	assert_failure 1
	assert_line --regexp '^tcp/22 '
	assert_line --regexp '^tls/22/a@b.com '
	refute_output --partial udp
	stderr_has 'b0-policy: udp/53: unknown type "udp"; the types are tcp, tls, http and https'
}

@test "check-spec: every kind of mistake gets a readable one-line error" {
	local -A want=(
		[tls]='tls: the port is missing'
		[tls/22/a/b]='tls/22/a/b: too many "/"'
		[tls//x.com]='tls//x.com: the port is empty'
		[tls/22/]='tls/22/: nothing follows the last "/"'
		[tls/0]='tls/0: the port 0 is out of range: ports go from 1 to 65535'
		[tls/65536]='the port 65536 is out of range'
		[tls/022]='tls/022: the port "022" has a leading zero: write 22'
		[tls/+22]='has a sign'
		[tls/ssh]='the port "ssh" is not a number from 1 to 65535'
		[tls/22/a,,b]='tls/22/a,,b: the allow list has an empty entry'
		[tls/22/a@b.com,]='the allow list ends with a comma'
		[tls/22/alice]='entry "alice": it is a single name'
		[tls/22/localhost]='entry "localhost": it is a single name'
		[tls/22/a@@b.com]='entry "a@@b.com": there is more than one "@"'
		[tls/22/.a@b.com]='the local part ".a" starts with a dot'
		[tls/22/a@b.com,A@B.COM]='entry "A@B.COM" repeats entry 1'
		[tls/22/*@b.com]='write the domain alone ("b.com")'
		[tls/22/*.b.com]='write ".b.com"'
		[tls/22/.com]='top-level domain'
		[tls/22/exa_mple.com]='label "exa_mple" has "_"'
		[tls/22/bücher.de]='punycode form (xn--...)'
		[tls/22/a@10.0.0.1]='is all digits'
		[tcp/22/alice@example.com]='tcp/22/alice@example.com: a tcp socket carries no identity, so it takes no allow list; for an identity-aware stream write tls/22/alice@example.com'
	)
	local spec
	for spec in "${!want[@]}"; do
		run --separate-stderr b0-policy check-spec "$spec"
		[ "$status" -eq 1 ] || { echo "$spec: status $status"; return 1; }
		[ -z "$output" ] || { echo "$spec: stdout: $output"; return 1; }
		stderr_has "b0-policy: " || return 1
		stderr_has "${want[$spec]}" || { echo "spec: $spec"; return 1; }
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || {
			echo "$spec: more than one line"; return 1; }
	done
}

@test "check-spec: a spec with spaces is one error naming it" {
	run --separate-stderr b0-policy check-spec 'tls/22/a@b.com, c@d.com'
	assert_failure 1
	[ "$stderr" = 'b0-policy: tls/22/a@b.com, c@d.com: the spec has a space: it is one word, with no spaces around "/" or ","' ]
}

@test "check-spec --json is valid JSON with every field" {
	run --separate-stderr b0-policy check-spec --json tcp/22 tls/22 \
	    http/80/A@B.com,.c.org
	assert_success
	json_ok
	[ "$(json_get 'len(d)')" = 3 ]
	[ "$(json_get 'd[0]["spec"], d[0]["type"], d[0]["port"], d[0]["login"], d[0]["who"]')" = "tcp/22 tcp 22 False anyone" ]
	[ "$(json_get 'd[1]["who"], d[1]["login"]')" = "any signed-in person True" ]
	[ "$(json_get 'd[2]["spec"]')" = "http/80/a@b.com,.c.org" ]
	[ "$(json_get '[(e["entry"], e["kind"]) for e in d[2]["allow"]]')" = "[('a@b.com', 'email'), ('.c.org', 'subdomain')]" ]
}

@test "check-spec --json reports invalid specs too, and still exits 1" {
	run --separate-stderr b0-policy check-spec tls/22 TLS/22 'tls/22/j\xff' --json
	assert_failure 1
	json_ok
	[ "$(json_get 'd[1]["valid"], d[1]["input"]')" = "False TLS/22" ]
	json_get 'd[1]["error"]' | grep -q 'must be written in lower case'
	stderr_has 'b0-policy: TLS/22: the type "TLS"'
}

@test "check-spec --json survives input that is not UTF-8" {
	run --separate-stderr b0-policy check-spec --json "$(printf 'tls/22/a@b\xff.com')"
	assert_failure 1
	json_ok
	json_get 'd[0]["input"]' | grep -qF 'a@b\xff.com'
	stderr_has 'a@b\xff.com'
}

@test "check-spec without a spec is a usage error" {
	run --separate-stderr b0-policy check-spec
	assert_failure 2
	assert_output ''
	[ "$stderr" = 'b0-policy: check-spec: no spec given (see b0-policy --help)' ]
}

# --- match ---------------------------------------------------------------

@test "match: an address, a domain, a subdomain" {
	run --separate-stderr b0-policy match --allow alice@example.com --email ALICE@example.COM
	assert_success
	assert_output 'allow: ALICE@example.COM matches "alice@example.com"'

	run --separate-stderr b0-policy match --allow example.com --email bob@example.com
	assert_success
	assert_output 'allow: bob@example.com matches "example.com" (every address at example.com)'

	run --separate-stderr b0-policy match --allow .example.com --email bob@y.x.example.com
	assert_success
	assert_output 'allow: bob@y.x.example.com matches ".example.com" (every address at a subdomain of example.com)'
	[ -z "$stderr" ]
}

@test "match: look-alike domains are denied with exit 1" {
	local email
	for email in a@evilexample.com a@example.com.evil.test a@xexample.com \
	    a@example.co a@example.com.; do
		run --separate-stderr b0-policy match --allow example.com,.example.com --email "$email"
		[ "$status" -eq 1 ] || { echo "$email: status $status"; return 1; }
		[[ "$output" == deny:* ]] || { echo "$email: $output"; return 1; }
	done
}

@test "match: near misses explain the difference between domain and .subdomain" {
	run --separate-stderr b0-policy match --allow example.com --email a@sub.example.com
	assert_failure 1
	assert_output 'deny: a@sub.example.com matches no entry of the allow list; "example.com" matches that exact domain only; add ".example.com" for its subdomains'

	run --separate-stderr b0-policy match --allow .example.com --email a@example.com
	assert_failure 1
	assert_output --partial '".example.com" matches subdomains only; add "example.com"'
}

@test "match: an invalid address from a token is denied with the reason" {
	run --separate-stderr b0-policy match --allow example.com --email a@example.com@evil.test
	assert_failure 1
	assert_output 'deny: "a@example.com@evil.test" is not a valid email address: there is more than one "@"'
}

@test "match --json is valid JSON" {
	run --separate-stderr b0-policy match --json --allow example.com --email a@example.com
	assert_success
	json_ok
	[ "$(json_get 'd["allowed"], d["email"]')" = "True a@example.com" ]

	run --separate-stderr b0-policy match --allow example.com --email 'a@evil.test' --json
	assert_failure 1
	json_ok
	[ "$(json_get 'd["allowed"]')" = "False" ]
	json_get 'd["reason"]' | grep -q 'matches no entry'
}

@test "match: a bad --allow list is exit 2 with the reason, nothing on stdout" {
	run --separate-stderr b0-policy match --allow 'a@b.com,,c.com' --email a@b.com --json
	assert_failure 2
	assert_output ''
	[ "$stderr" = 'b0-policy: --allow a@b.com,,c.com: the allow list has an empty entry (two commas in a row)' ]
}

@test "match: usage errors" {
	run --separate-stderr b0-policy match --email a@b.com
	assert_failure 2
	[ "$stderr" = 'b0-policy: match: --allow LIST is missing (see b0-policy --help)' ]

	run --separate-stderr b0-policy match --allow b.com
	assert_failure 2
	stderr_has '--email ADDRESS is missing'

	run --separate-stderr b0-policy match --allow b.com --allow c.com --email a@b.com
	assert_failure 2
	stderr_has '--allow is given twice'

	run --separate-stderr b0-policy match --allow b.com --email
	assert_failure 2
	stderr_has 'match: --email needs a value'

	run --separate-stderr b0-policy match --allow b.com --email a@b.com --user x
	assert_failure 2
	stderr_has 'match does not take --user'

	run --separate-stderr b0-policy match --allow b.com --email a@b.com extra
	assert_failure 2
	stderr_has 'unexpected argument "extra"'
	assert_output ''
}

# --- map -----------------------------------------------------------------

@test "map: an explicit rule may name root" {
	run --separate-stderr b0-policy map --rules "$T/users" --email OPS@example.com
	assert_success
	assert_output "root: $T/users:3 maps OPS@example.com to root (rule: ops@example.com root)"
}

@test "map: %localpart never gives root or a system user" {
	run --separate-stderr b0-policy map --rules "$T/users" --email root@example.com
	assert_failure 1
	assert_output --partial 'no user: %localpart of root@example.com is root, which %localpart never gives'

	run --separate-stderr b0-policy map --rules "$T/users" --email daemon@example.com
	assert_failure 1
	assert_output --partial 'a system account (uid 1)'

	run --separate-stderr b0-policy map --rules "$T/users" --email nobody@example.com
	assert_failure 1
	assert_output --partial '"nobody", a system account (uid 65534)'
}

@test "map: a rule that names a system user explicitly is honoured" {
	run --separate-stderr b0-policy map --rules "$T/users" --email x@r1.lab.example.com
	assert_success
	assert_output --partial 'nobody: '
}

@test "map: %localpart that is not a user name" {
	run --separate-stderr b0-policy map --rules "$T/users" --email alice.smith@example.com
	assert_failure 1
	assert_output "no user: local part \"alice.smith\" is not a valid user name ($T/users:4: example.com %localpart)"
}

@test "map: a user this host lacks is not 'no rule'" {
	run --separate-stderr b0-policy map --rules "$T/users" --email zz-no-such-user@example.com
	assert_failure 1
	assert_output "no user: $T/users:4 maps zz-no-such-user@example.com to \"zz-no-such-user\", but this host has no user \"zz-no-such-user\""

	run --separate-stderr b0-policy map --rules "$T/users" --email bob@example.org
	assert_failure 1
	assert_output "no user: no rule in $T/users matches bob@example.org"
}

@test "map: %localpart finds a regular local user" {
	local u
	u=$(regular_user)
	[ -n "$u" ] || skip "no local user with uid 1000-59999"
	run --separate-stderr b0-policy map --rules "$T/users" --email "$u@Example.com"
	assert_success
	assert_output "$u: $T/users:4 maps $u@Example.com to $u (rule: example.com %localpart)"
}

@test "map --user: may the address log in as that user" {
	run --separate-stderr b0-policy map --rules "$T/users" --email ops@example.com --user root
	assert_success
	assert_output --partial 'allow: ops@example.com may log in as root'

	run --separate-stderr b0-policy map --rules "$T/users" --email ops@example.com --user daemon
	assert_failure 1
	assert_output --partial 'deny: ops@example.com may log in as root only, not as "daemon"'

	run --separate-stderr b0-policy map --rules "$T/users" --email root@example.com --user root
	assert_failure 1
	assert_output --partial 'deny: %localpart of root@example.com is root'
}

@test "map --json is valid JSON, with and without --user" {
	run --separate-stderr b0-policy map --json --rules "$T/users" --email ops@example.com
	assert_success
	json_ok
	[ "$(json_get 'd["user"], d["status"], d["rule"]["line"], d["rule"]["identity"]')" = "root ok 3 ops@example.com" ]

	run --separate-stderr b0-policy map --json --rules "$T/users" --email a@evil.test --user root
	assert_failure 1
	json_ok
	[ "$(json_get 'd["user"], d["status"], d["rule"], d["allowed"], d["requested"]')" = "None no-rule None False root" ]

	run --separate-stderr b0-policy map --json --rules "$T/users" --email 'a@b.com@c.com'
	assert_failure 1
	json_ok
	[ "$(json_get 'd["status"]')" = "bad-email" ]
}

@test "map: rules writable by group or others are refused with the fix" {
	chmod 664 "$T/users"
	run --separate-stderr b0-policy map --rules "$T/users" --email ops@example.com
	assert_failure 2
	assert_output ''
	[ "$stderr" = "b0-policy: $T/users: permissions 0664 let group or others write it; run: chmod go-w $T/users" ]
}

@test "map: rules owned by another user are refused" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to chown"
	chown nobody "$T/users"
	run --separate-stderr b0-policy map --rules "$T/users" --email ops@example.com
	assert_failure 2
	stderr_has "$T/users: owned by uid $(id -u nobody), must be owned by uid 0 or root"
}

@test "map: a symlinked rules file is refused" {
	ln -s "$T/users" "$T/link"
	run --separate-stderr b0-policy map --rules "$T/link" --email ops@example.com
	assert_failure 2
	stderr_has "$T/link: is a symbolic link; refusing to follow it"
}

@test "map: errors in the rules name file:line" {
	printf 'a.com x\n\n# ok so far\n*@example.org %%localpart\n' >"$T/bad"
	run --separate-stderr b0-policy map --rules "$T/bad" --email a@a.com
	assert_failure 2
	assert_output ''
	[ "$stderr" = "b0-policy: $T/bad:4: \"*@example.org\": \"*\" is not a wildcard here: write the domain alone (\"example.org\") to match every address at it" ]

	printf 'a.com x\nb.com y\nA.com z\n' >"$T/dup"
	run --separate-stderr b0-policy map --rules "$T/dup" --email a@a.com
	assert_failure 2
	[ "$stderr" = "b0-policy: $T/dup:3: \"a.com\" already has a rule on line 1 (one rule per identity)" ]

	printf 'alice@example.com -> alice\n' >"$T/arrow"
	run --separate-stderr b0-policy map --rules "$T/arrow" --email a@a.com
	assert_failure 2
	stderr_has "$T/arrow:1: write IDENTITY USER without \"->\""
}

@test "map: a missing rules file is named" {
	run --separate-stderr b0-policy map --rules "$T/nope" --email a@a.com
	assert_failure 2
	[ "$stderr" = "b0-policy: $T/nope: No such file or directory" ]
}

@test "map: usage errors" {
	run --separate-stderr b0-policy map --rules "$T/users"
	assert_failure 2
	[ "$stderr" = 'b0-policy: map: --email ADDRESS is missing (see b0-policy --help)' ]

	run --separate-stderr b0-policy map --rules "$T/users" --email a@b.com --allow x
	assert_failure 2
	stderr_has 'map does not take --allow'
}

# --- check-rules ---------------------------------------------------------

@test "check-rules: a good file, a bad file, both as JSON" {
	run --separate-stderr b0-policy check-rules --rules "$T/users"
	assert_success
	assert_output "$T/users: 4 rules, no errors"

	run --separate-stderr b0-policy check-rules --rules "$T/users" --json
	assert_success
	json_ok
	[ "$(json_get 'd["valid"], d["rules"]')" = "True 4" ]

	printf 'example.com Alice\n' >"$T/bad"
	run --separate-stderr b0-policy check-rules --rules "$T/bad"
	assert_failure 1
	assert_output ''
	stderr_has "$T/bad:1: \"Alice\" is not a valid user name"

	run --separate-stderr b0-policy check-rules --rules "$T/bad" --json
	assert_failure 1
	json_ok
	[ "$(json_get 'd["valid"]')" = "False" ]
}

# --- the program ---------------------------------------------------------

@test "-h and --help print the usage on stdout, exit 0" {
	run --separate-stderr b0-policy --help
	assert_success
	assert_line --index 0 'usage: b0-policy check-spec [--json] SPEC...'
	assert_output --partial 'Exit status:'
	assert_output --partial '/etc/b0/users'
	[ -z "$stderr" ]

	run --separate-stderr b0-policy map -h
	assert_success
	assert_line --index 0 --partial 'usage: b0-policy'
}

@test "--version" {
	run --separate-stderr b0-policy --version
	assert_success
	assert_output --regexp '^b0-policy [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "usage errors are one line on stderr and exit 2" {
	run --separate-stderr b0-policy
	assert_failure 2
	assert_output ''
	[ "$stderr" = 'b0-policy: a command is missing: check-spec, match, map or check-rules (see b0-policy --help)' ]

	run --separate-stderr b0-policy frobnicate
	assert_failure 2
	[ "$stderr" = 'b0-policy: unknown command "frobnicate": check-spec, match, map or check-rules (see b0-policy --help)' ]

	run --separate-stderr b0-policy --json check-spec tcp/22
	assert_failure 2
	stderr_has 'a command must come before options such as "--json"'

	run --separate-stderr b0-policy check-spec --bogus tcp/22
	assert_failure 2
	[ "$stderr" = 'b0-policy: check-spec: unknown option "--bogus" (see b0-policy --help)' ]
}
