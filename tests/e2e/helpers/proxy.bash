# Debian's tinyproxy on the lab's gateway (helpers/netns.bash), the lab's
# only way out to the edge's port 443 once netns_proxy_only is in force.
#
#   proxy_start [USER PASSWORD]
#                 tinyproxy on $GW_LAN_IP:$PROXY_PORT, with BasicAuth if
#                 given; its log is $T/tinyproxy.log

PROXY_PORT=8888

proxy_start() {
	local auth=""
	[ $# -eq 2 ] && auth="BasicAuth $1 $2"
	# It runs as nobody: its log must be writable by nobody.
	install -m 0644 -o nobody /dev/null "$T/tinyproxy.log"
	cat >"$T/tinyproxy.conf" <<-EOF
		User nobody
		Group nogroup
		Listen $GW_LAN_IP
		Port $PROXY_PORT
		Timeout 60
		LogFile "$T/tinyproxy.log"
		LogLevel Info
		MaxClients 50
		Allow 10.77.1.0/24
		ConnectPort 443
		DisableViaHeader Yes
		$auth
	EOF
	DAEMON_KIND=other daemon_bg tinyproxy "$NS_GW" \
	    /usr/bin/tinyproxy -d -c "$T/tinyproxy.conf"
	wait_for 10 proxy_up
}

proxy_up() {
	in_lab timeout 2 bash -c "exec 3<>/dev/tcp/$GW_LAN_IP/$PROXY_PORT" \
	    2>/dev/null
}
