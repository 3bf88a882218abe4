# Debian's sshd with pam_b0 in its PAM stack, in the lab namespace
# (helpers/netns.bash), without touching the system's /etc: sshd runs in a
# private mount namespace where temporary copies are bind-mounted over
# /etc/pam.d, /etc/passwd, /etc/group and /etc/shadow (with local users
# alice and bob, uids 2001 and 2002), and /dev is a copy of the host's with
# /dev/log leading to a syslog listener of the test's own.  Load it after
# helpers/tunnel.
#
#   pamsshd_files       $T/etc: passwd, group, shadow (alice, bob), homes
#                       in $T/home, the rules $T/etc/b0/users, pam_b0.conf,
#                       a copy of /etc/pam.d with pam_b0 in sshd's stack;
#                       variables PAM_ISSUER PAM_PUBLISHER PAM_SOCKETS
#                       PAM_TICKET_SOCKET PAM_JWKS set what goes in (the
#                       last two default to what pub_conf gives publisher
#                       "pub")
#   pamsshd_pam_line [ARG...]
#                       rewrite the pam_b0 line of $T/pamd/sshd with these
#                       module arguments and the control PAM_CONTROL
#                       [sufficient] (sshd reads the stack on every
#                       connection)
#   pamsshd_start       the syslog listener (lines in $T/syslog.log), then
#                       sshd -D -E $T/sshd.log in the lab; waits for port 22
#                       (PAMSSHD_PORT, on PAMSSHD_LISTEN [0.0.0.0])
#   syslog_has ERE      a syslog line matches ERE
#   syslog_count ERE    how many do
#
# Everything is stopped by PID in tun_teardown (syslog, sshd).  bench/pam
# uses it outside bats with daemon_bg, wait_for and lab_port_open of its
# own.

PAM_USERS_RULES=${PAM_USERS_RULES:-"example.com %localpart"}

# pamsshd_dirs: the directories, root's and 0755.
pamsshd_dirs() {
	mkdir -p "$T/etc/b0" "$T/home"
	chmod 755 "$T/etc" "$T/etc/b0" "$T/home"
}

pamsshd_files() {
	local u uid
	pamsshd_dirs
	cp /etc/passwd "$T/etc/passwd"
	cp /etc/group "$T/etc/group"
	cp -p /etc/shadow "$T/etc/shadow"
	for u in alice:2001 bob:2002; do
		uid=${u#*:}
		u=${u%:*}
		grep -q "^$u:" /etc/passwd && {
			echo "pamsshd_files: the system already has a user $u" >&2
			return 1
		}
		echo "$u:x:$uid:$uid:$u:$T/home/$u:/bin/sh" >>"$T/etc/passwd"
		echo "$u:x:$uid:" >>"$T/etc/group"
		# No password: only pam_b0 (or a key) lets them in.
		echo "$u:*:19000:0:99999:7:::" >>"$T/etc/shadow"
		install -d -m 755 -o "$uid" -g "$uid" "$T/home/$u"
	done
	# The rules and pam_b0's configuration: root's, 0644.
	printf '%s\n' "$PAM_USERS_RULES" >"$T/etc/b0/users"
	{
		echo "issuer ${PAM_ISSUER:-https://edge.test}"
		echo "publisher ${PAM_PUBLISHER:-lab1}"
		for u in ${PAM_SOCKETS:-r1-lab1.edge.test}; do
			echo "socket $u"
		done
		echo "jwks ${PAM_JWKS:-$T/pub.jwks.json}"
		echo "ticket-socket ${PAM_TICKET_SOCKET:-$T/pub.tickets.sock}"
		echo "users $T/etc/b0/users"
	} >"$T/etc/b0/pam_b0.conf"
	chmod 644 "$T/etc/b0/users" "$T/etc/b0/pam_b0.conf"
	# Debian's PAM configuration, with pam_b0 first in sshd's auth.
	rm -rf "$T/pamd"
	cp -a /etc/pam.d "$T/pamd"
	chmod 755 "$T/pamd"
	grep -q '^@include common-auth' "$T/pamd/sshd" || {
		echo "pamsshd_files: /etc/pam.d/sshd has no @include common-auth" >&2
		return 1
	}
	pamsshd_pam_line
}

pamsshd_pam_line() {
	local line="auth ${PAM_CONTROL:-sufficient} $B0_BUILD/pam_b0.so conf=$T/etc/b0/pam_b0.conf"
	[ $# -gt 0 ] && line="$line $*"
	{
		grep -v 'pam_b0\.so' /etc/pam.d/sshd |
		    sed "/^@include common-auth/i $line" || return 1
	} >"$T/pamd/sshd.new"
	mv "$T/pamd/sshd.new" "$T/pamd/sshd"
	chmod 644 "$T/pamd/sshd"
}

# The syslog listener: every datagram on $T/devlog.sock is one line of
# $T/syslog.log.
_pamsshd_syslog() {
	cat >"$T/syslog.py" <<-'EOF'
		import os, socket, sys
		path, out = sys.argv[1], sys.argv[2]
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind(path + ".tmp")
		os.chmod(path + ".tmp", 0o666)
		os.rename(path + ".tmp", path)
		with open(out, "ab", buffering=0) as f:
		    while True:
		        d = s.recv(65536)
		        f.write(d.rstrip(b"\0\n").replace(b"\n", b" ") + b"\n")
	EOF
	: >"$T/syslog.log"
	DAEMON_KIND=other daemon_bg syslog "$NS_LAB" \
	    python3 "$T/syslog.py" "$T/devlog.sock" "$T/syslog.log"
	wait_for 10 test -S "$T/devlog.sock"
}

# What runs in sshd's private mount namespace before sshd: a /dev of bind
# mounts of the host's entries plus /dev/log, then the copies over /etc.
# The new /dev is built on a tmpfs under $T and moved to /dev, so no mount
# stays under $T; nothing propagates out (unshare --propagation private).
_pamsshd_ns_script() {
	cat >"$T/pamsshd-ns.sh" <<-'EOF'
		#!/bin/sh
		set -e
		T=$1
		shift
		nd=$T/ns-dev
		mkdir -p "$nd"
		mount -t tmpfs -o mode=0755,nosuid b0dev "$nd"
		for e in /dev/* /dev/.[!.]*; do
			[ -e "$e" ] || [ -L "$e" ] || continue
			n=${e#/dev/}
			if [ -L "$e" ]; then
				cp -P "$e" "$nd/$n"
			elif [ -d "$e" ]; then
				mkdir "$nd/$n"
				mount --rbind "$e" "$nd/$n"
			else
				: >"$nd/$n"
				mount --bind "$e" "$nd/$n"
			fi
		done
		rm -f "$nd/log"
		ln -s "$T/devlog.sock" "$nd/log"
		mount --move "$nd" /dev
		rmdir "$nd"
		mount --bind "$T/pamd" /etc/pam.d
		for f in passwd group shadow; do
			mount --bind "$T/etc/$f" "/etc/$f"
		done
		exec "$@"
	EOF
	chmod 755 "$T/pamsshd-ns.sh"
}

pamsshd_start() {
	ssh-keygen -q -t ed25519 -N '' -C b0-e2e-host \
	    -f "$T/ssh_host_ed25519_key" || return 1
	cat >"$T/sshd_config" <<-EOF
		Port ${PAMSSHD_PORT:-22}
		ListenAddress ${PAMSSHD_LISTEN:-0.0.0.0}
		HostKey $T/ssh_host_ed25519_key
		PidFile $T/sshd.pidfile
		AuthorizedKeysFile $T/authorized_keys
		UsePAM yes
		KbdInteractiveAuthentication yes
		PasswordAuthentication no
		PubkeyAuthentication yes
		AuthenticationMethods publickey keyboard-interactive
		PermitRootLogin no
		StrictModes no
		UseDNS no
		LogLevel VERBOSE
		PrintMotd no
	EOF
	[ -f "$T/authorized_keys" ] || : >"$T/authorized_keys"
	chmod 644 "$T/authorized_keys"
	[ -d /run/sshd ] || install -d -m 0755 /run/sshd
	/usr/sbin/sshd -t -f "$T/sshd_config" || return 1
	_pamsshd_syslog || return 1
	_pamsshd_ns_script
	DAEMON_KIND=other daemon_bg sshd "$NS_LAB" \
	    unshare -m --propagation private "$T/pamsshd-ns.sh" "$T" \
	    /usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log"
	wait_for 10 lab_port_open "${PAMSSHD_PORT:-22}"
}

syslog_has() {
	grep -qE -- "$1" "$T/syslog.log" 2>/dev/null
}

syslog_count() {
	grep -cE -- "$1" "$T/syslog.log" 2>/dev/null
}
