#!/usr/bin/env bats
# pam_b0 end to end (docs/pam.md): Debian's sshd in the lab with pam_b0
# first in its PAM stack (helpers/pamsshd.bash: a private mount namespace,
# the system's /etc untouched), local users alice and bob, and a tls socket
# open to example.com.  A visitor signed in with the device flow (b0-proxy
# login --device, approved with curl on the edge's pages) runs plain
# OpenSSH with `ProxyCommand b0-proxy --host %h` and no key, no password:
# the edge's connection ticket, kept by b0-publish for the connection sshd
# sees, is the login.

load helpers/common
load helpers/tunnel
load helpers/pamsshd

bats_require_minimum_version 1.5.0

ISS=https://edge.test

setup() {
	[ -f "$B0_BUILD/pam_b0.so" ] || skip "no $B0_BUILD/pam_b0.so"
	# An ASan-built module cannot be dlopen'ed by Debian's sshd ("ASan
	# runtime does not come first in initial library list"); under ASan
	# the module is checked by build/asan/tests/test_pam instead.
	if nm -D "$B0_BUILD/pam_b0.so" 2>/dev/null | grep -q __asan; then
		skip "ASan build: sshd cannot load an ASan-built pam_b0.so (test_pam covers it under ASan)"
	fi
	tun_setup
	local u
	for u in alice@example.com bob@example.com; do
		echo "pw of $u" | "$B0_BUILD/b0-edge" -f "$T/edge.conf" \
		    user add "$u" 2>>"$T/token.log"
	done
	edge_start
	token_add lab1
	pamsshd_files
	pamsshd_start
	pub_conf pub "$T/lab1.token" "log-level debug" \
	    "socket r1 tls/22/example.com"
	pub_start pub
	# b0-publish wrote the edge's keys for pam_b0.
	wait_for 10 jq -e '.keys | length > 0' "$T/pub.jwks.json"
}

teardown() {
	tun_teardown
}

# c WHO ARGS...: curl from the visitor's namespace to the edge, as WHO's
# browser.
c() {
	local jar=$T/$1.jar
	shift
	in_vis curl -sS --max-time 10 --cacert "$T/ca.crt" \
	    --resolve "edge.test:443:$EDGE_VIS_IP" -b "$jar" -c "$jar" "$@"
}

csrf() {
	grep -o 'name="csrf" value="[^"]*"' "$1" | head -1 |
	    sed 's/.*value="//; s/"$//'
}

# as_visitor WHO CMD...: CMD in the visitor's namespace with WHO's home
# (b0-proxy's configuration and token cache), no askpass, no display.
as_visitor() {
	local who=$1
	shift
	in_vis env -u SSH_ASKPASS -u SSH_ASKPASS_REQUIRE -u DISPLAY \
	    -u WAYLAND_DISPLAY -u BROWSER HOME="$T/v-$who" \
	    XDG_CONFIG_HOME="$T/v-$who/.config" \
	    XDG_CACHE_HOME="$T/v-$who/.cache" "$@"
}

# proxy_login WHO: b0-proxy login --device for WHO@example.com, the person's
# part done with curl; the access token lands in WHO's b0-proxy cache.
proxy_login() {
	local who=$1 email=$1@example.com d=$T/$1 uc loc pid i
	mkdir -p "$T/v-$who/.config/b0"
	printf 'edge edge.test %s:443\nca %s\n' "$EDGE_VIS_IP" "$T/ca.crt" \
	    >"$T/v-$who/.config/b0/proxy.conf"
	as_visitor "$who" timeout 60 "$B0_BUILD/b0-proxy" login --device \
	    >/dev/null 2>"$d.login.log" </dev/null &
	pid=$!
	for i in $(seq 1 100); do
		grep -q 'enter the code' "$d.login.log" && break
		sleep 0.1
	done
	uc=$(sed -n 's/.* enter the code \([A-Z-]*\) .*/\1/p' "$d.login.log" | head -1)
	[ -n "$uc" ] || { kill "$pid"; wait "$pid"; return 1; }
	c "$who" -o "$d.dev.html" "$ISS/device"
	c "$who" -o /dev/null -D "$d.h" --data-urlencode "user_code=$uc" \
	    --data-urlencode "csrf=$(csrf "$d.dev.html")" "$ISS/device"
	loc=$(tr -d '\r' <"$d.h" | sed -n 's/^[Ll]ocation: //p')
	c "$who" -o "$d.login.html" "$ISS$loc"
	c "$who" -o "$d.confirm.html" --data-urlencode "email=$email" \
	    --data-urlencode "password=pw of $email" \
	    --data-urlencode "csrf=$(csrf "$d.login.html")" \
	    --data-urlencode "req=${loc#/login?req=}" "$ISS/login"
	c "$who" -o "$d.done.html" --data-urlencode "user_code=$uc" \
	    -d action=approve --data-urlencode "csrf=$(csrf "$d.confirm.html")" \
	    "$ISS/device"
	wait "$pid"
}

# SSH options: no key, no password, keyboard-interactive only; ssh runs
# without a terminal (setsid) and with stdin /dev/null, so a prompt gets
# an empty answer and the login fails.
_kbd_opts() {
	KBD_OPTS=(-F /dev/null -o UserKnownHostsFile="$T/known_hosts"
		-o StrictHostKeyChecking=accept-new -o ConnectTimeout=10
		-o PubkeyAuthentication=no -o PasswordAuthentication=no
		-o KbdInteractiveAuthentication=yes
		-o PreferredAuthentications=keyboard-interactive
		-o NumberOfPasswordPrompts=1 -o IdentityFile=none
		-o LogLevel=ERROR)
}

# b0ssh WHO USER CMD...: WHO's ssh to USER@r1-lab1.edge.test through
# b0-proxy.
b0ssh() {
	local who=$1 user=$2
	shift 2
	_kbd_opts
	as_visitor "$who" setsid -w timeout 60 ssh "${KBD_OPTS[@]}" \
	    -o ProxyCommand="$B0_BUILD/b0-proxy --host %h" \
	    "$user@r1-lab1.edge.test" "$@" </dev/null
}

# direct_ssh USER CMD...: ssh from inside the lab straight to sshd, past
# b0 (no ticket).
direct_ssh() {
	local user=$1
	shift
	_kbd_opts
	in_lab env -u SSH_ASKPASS -u SSH_ASKPASS_REQUIRE -u DISPLAY \
	    setsid -w timeout 60 ssh "${KBD_OPTS[@]}" "$user@$LAB_IP" "$@" \
	    </dev/null
}

@test "alice logs in as alice through b0-proxy with no key and no password" {
	proxy_login alice
	run --separate-stderr b0ssh alice alice 'id -un'
	assert_success
	assert_output alice
	# pam_b0 let her in on the ticket b0-publish kept for the connection
	# sshd saw, and said so once, to authpriv (<86>: authpriv.info).
	wait_for 5 syslog_has '^<86>.* pam_b0\(sshd:auth\): user=alice email=alice@example\.com visitor=10\.77\.2\.2:[0-9]+ socket=r1-lab1\.edge\.test result=success reason="ticket verified; rule example\.com -> %localpart \('
	[ "$(syslog_count 'pam_b0\(sshd:auth\)')" -eq 1 ]
	port=$(sed -n 's/.*socket r1 visitor .*: connection ticket kept for 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/pub.log")
	[ -n "$port" ]
	log_has pub "ticket-socket: ticket 127\\.0\\.0\\.1 $port: ok\$"
	grep -q "Accepted keyboard-interactive/pam for alice from 127\.0\.0\.1 port $port " "$T/sshd.log"
	# The ticket and the token are in no log (a JWS starts with eyJ).
	run grep -l 'eyJ' "$T"/edge.log "$T"/pub.log "$T"/sshd.log "$T"/syslog.log
	assert_failure
}

@test "the login session has B0_EMAIL and the visitor's address" {
	proxy_login alice
	run --separate-stderr b0ssh alice alice 'echo "$B0_EMAIL|$B0_AUTH|$B0_SOCKET|$B0_VISITOR"'
	assert_success
	assert_output --regexp '^alice@example\.com\|ticket\|r1-lab1\.edge\.test\|10\.77\.2\.2:[0-9]+$'
}

@test "bob, allowed on the socket but mapped to bob, cannot log in as alice; as bob he can" {
	proxy_login bob
	run --separate-stderr b0ssh bob alice 'id -un'
	assert_failure
	refute_output alice
	wait_for 5 syslog_has 'pam_b0.*user=alice email=bob@example\.com .*socket=r1-lab1\.edge\.test result=perm-denied reason="[^"]*bob@example\.com may log in as bob only'
	run ! syslog_has 'pam_b0.*user=alice .*result=success'
	grep -qE 'Failed keyboard-interactive/pam for alice from 127\.0\.0\.1 ' "$T/sshd.log"
	run ! grep -q 'Accepted .* for alice' "$T/sshd.log"
	# "sufficient": the refusal did not end the attempt; pam_unix asked
	# for alice's password (and got none).
	syslog_has 'pam_unix\(sshd:auth\): authentication failure;.* user=alice'
	run --separate-stderr b0ssh bob bob 'id -un'
	assert_success
	assert_output bob
	wait_for 5 syslog_has 'pam_b0.*user=bob email=bob@example\.com .*result=success'
}

@test "a direct connection past b0 gets no ticket and falls through to the rest of the stack" {
	run --separate-stderr direct_ssh alice 'id -un'
	assert_failure
	refute_output alice
	# pam_b0 stepped aside (no ticket); pam_unix asked for a password
	# nobody gave.
	wait_for 5 syslog_has 'pam_b0.*user=alice .*result=ignore reason="[^"]*no ticket'
	run ! syslog_has 'pam_b0.*result=success'
	grep -qE 'Failed keyboard-interactive/pam for alice from 10\.77\.1\.2 ' "$T/sshd.log"
	run ! grep -q 'Accepted' "$T/sshd.log"
	# b0-publish was asked and had nothing for that address.
	log_has pub 'ticket-socket: ticket 10\.77\.1\.2 [0-9]+: none$'
}

@test "with [success=done ignore=ignore default=die] a refused ticket ends the attempt; no ticket still falls through" {
	PAM_CONTROL="[success=done ignore=ignore default=die]" pamsshd_pam_line
	grep -qF 'auth [success=done ignore=ignore default=die] ' "$T/pamd/sshd"
	proxy_login bob
	run --separate-stderr b0ssh bob alice 'id -un'
	assert_failure
	refute_output alice
	wait_for 5 syslog_has 'pam_b0.*user=alice email=bob@example\.com .*result=perm-denied '
	grep -qE 'Failed keyboard-interactive/pam for alice from 127\.0\.0\.1 ' "$T/sshd.log"
	# The rest of the stack never ran: nobody asked for a password.
	run ! syslog_has 'pam_unix\(sshd:auth\)'
	run --separate-stderr b0ssh bob bob 'id -un'
	assert_success
	assert_output bob
	# A connection past b0: pam_b0 steps aside, pam_unix decides.
	run --separate-stderr direct_ssh alice 'id -un'
	assert_failure
	wait_for 5 syslog_has 'pam_b0.*user=alice .*result=ignore reason="[^"]*no ticket'
	syslog_has 'pam_unix\(sshd:auth\): authentication failure;.* user=alice'
}

# lab_ssh_askpass CMD...: alice's ssh from the lab straight to sshd, with
# her b0-proxy cache and `b0-proxy askpass` (through $T/askpass, which
# notes each prompt) as SSH_ASKPASS; ssh options in KBD_OPTS and EXTRA.
lab_ssh_askpass() {
	_kbd_opts
	in_lab env -u DISPLAY HOME="$T/v-alice" \
	    XDG_CONFIG_HOME="$T/v-alice/.config" \
	    XDG_CACHE_HOME="$T/v-alice/.cache" \
	    SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force \
	    setsid -w timeout 60 ssh "${KBD_OPTS[@]}" "${EXTRA[@]}" \
	    -o NumberOfPasswordPrompts=16 "alice@$LAB_IP" "$@" </dev/null
}

@test "prompt mode: a direct connection logs in with the cached token through b0-proxy askpass" {
	proxy_login alice
	pamsshd_pam_line prompt
	cat >"$T/askpass" <<-EOF
		#!/bin/sh
		printf '%s\n' "\$1" >>"$T/askpass.prompts"
		exec "$B0_BUILD/b0-proxy" askpass "\$@"
	EOF
	chmod 755 "$T/askpass"
	# ssh shows the prompt as "(alice@10.77.1.2) b0-token part 1: ": a
	# host not under the edge, to which b0-proxy sends no token.
	EXTRA=()
	run --separate-stderr lab_ssh_askpass 'id -un'
	assert_failure
	grep -qx '(alice@10\.77\.1\.2) b0-token part 1: ' "$T/askpass.prompts"
	[[ "$stderr" == *"b0-proxy: askpass: the host 10.77.1.2 is no configured edge nor under one"* ]]
	wait_for 5 syslog_has 'pam_b0.*user=alice .*result=auth-error reason="token: '
	run ! syslog_has 'pam_b0.*result=success'
	# Named as the socket (HostKeyAlias puts that name in the prompt), it
	# gets alice's token, in parts, and the token is the login.
	EXTRA=(-o HostKeyAlias=r1-lab1.edge.test)
	run --separate-stderr lab_ssh_askpass 'echo "$(id -un) $B0_EMAIL $B0_AUTH"'
	assert_success
	assert_output 'alice alice@example.com token'
	grep -qx '(alice@r1-lab1\.edge\.test) b0-token part 1: ' "$T/askpass.prompts"
	wait_for 5 syslog_has 'pam_b0.*user=alice email=alice@example\.com .*result=success'
	grep -q 'Accepted keyboard-interactive/pam for alice from 10\.77\.1\.2 ' "$T/sshd.log"
	# No token in any log.
	run grep -l 'eyJ' "$T"/edge.log "$T"/pub.log "$T"/sshd.log "$T"/syslog.log
	assert_failure
	# Other prompts get no answer from the helper.
	run "$T/askpass" 'Password: '
	assert_failure 1
	assert_output ''
}
