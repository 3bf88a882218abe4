# Debian's OpenSSH sshd in the lab namespace, with its own configuration,
# host key and authorized_keys in $T, and the visitor's ssh/scp.
#
#   sshd_start          $T/sshd_config, host key, $T/id (the visitor's key,
#                       made here), then sshd -D in the lab; waits for port 22
#   vis_ssh PORT CMD... ssh from the visitor namespace to root@<edge>:PORT
#   vis_scp ARGS...     scp from the visitor namespace (-P PORT ...)
#
# Both run under `timeout ${SSH_TIMEOUT:-60}`.
#
# The pid is in $T/sshd.pid, the log in $T/sshd.log; tun_teardown stops it.

# Options for every ssh and scp: nothing from ~/.ssh, no prompts.
_ssh_opts() {
	SSH_OPTS=(-F /dev/null -i "$T/id" -o IdentitiesOnly=yes
		-o UserKnownHostsFile="$T/known_hosts"
		-o StrictHostKeyChecking=accept-new -o BatchMode=yes
		-o ConnectTimeout=10 -o ServerAliveInterval=5
		-o ServerAliveCountMax=3 -o LogLevel=ERROR)
}

sshd_start() {
	ssh-keygen -q -t ed25519 -N '' -C b0-e2e-host \
	    -f "$T/ssh_host_ed25519_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -C b0-e2e-visitor -f "$T/id" ||
	    return 1
	cp "$T/id.pub" "$T/authorized_keys"
	cat >"$T/sshd_config" <<-EOF
		Port 22
		ListenAddress 0.0.0.0
		HostKey $T/ssh_host_ed25519_key
		PidFile $T/sshd.pidfile
		AuthorizedKeysFile $T/authorized_keys
		UsePAM no
		PermitRootLogin prohibit-password
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		StrictModes no
		UseDNS no
		LogLevel VERBOSE
		Subsystem sftp internal-sftp
	EOF
	# sshd's privilege separation directory.
	[ -d /run/sshd ] || install -d -m 0755 /run/sshd
	/usr/sbin/sshd -t -f "$T/sshd_config" || return 1
	ip netns exec "$NS_LAB" /usr/sbin/sshd -D -f "$T/sshd_config" \
	    -E "$T/sshd.log" &
	echo $! >"$T/sshd.pid"
	tun_track sshd
	wait_for 10 lab_port_open 22
}

# lab_port_open PORT: something in the lab accepts on 127.0.0.1:PORT.
lab_port_open() {
	in_lab timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

vis_ssh() {
	local port=$1
	shift
	_ssh_opts
	in_vis timeout "${SSH_TIMEOUT:-60}" ssh "${SSH_OPTS[@]}" -p "$port" "root@$EDGE_VIS_IP" "$@"
}

vis_scp() {
	_ssh_opts
	in_vis timeout "${SSH_TIMEOUT:-60}" scp -q "${SSH_OPTS[@]}" "$@"
}
