# Network namespaces for the tunnel tests: a private lab behind a NAT
# gateway, an edge on the "Internet", and a visitor who reaches only the
# edge.  Every address is in 10.77.0.0/16, inside namespaces this file makes.
#
#   lab 10.77.1.2 --- 10.77.1.1 gw 10.77.0.1 --- 10.77.0.2 edge 10.77.2.1 --- 10.77.2.2 visitor
#       (sshd, targets,     (NAT: lets the lab out,      (b0-edge)          (ssh, scp)
#        b0-publish)         nothing in; tinyproxy)
#
# The edge has a route to the lab's network through the gateway, as an
# attacker on the Internet might; only the gateway's firewall keeps it (and
# the visitor, whom the edge does not forward) out.
#
#   netns_up          make the namespaces (names in NS_LAB NS_GW NS_EDGE
#                     NS_VIS, unique to this process and test)
#   netns_down        kill what still runs in them, by PID, and delete them
#   in_lab|in_gw|in_edge|in_vis CMD...
#                     run CMD in that namespace
#   netns_proxy_only  from now on the gateway lets the lab out only through
#                     its HTTP proxy (nothing forwarded to port 443)
#   netns_cut, netns_heal
#                     the gateway drops every packet between lab and edge
#                     (a cable pulled: no FIN, no RST), and stops doing so

LAB_IP=10.77.1.2
GW_LAN_IP=10.77.1.1
GW_WAN_IP=10.77.0.1
EDGE_IP=10.77.0.2  # the edge as the publisher dials it
EDGE_VIS_IP=10.77.2.1 # the edge as visitors dial it
VIS_IP=10.77.2.2

in_lab() { ip netns exec "$NS_LAB" "$@"; }
in_gw() { ip netns exec "$NS_GW" "$@"; }
in_edge() { ip netns exec "$NS_EDGE" "$@"; }
in_vis() { ip netns exec "$NS_VIS" "$@"; }

# Namespaces left by an earlier run that was killed (its bats process is
# gone) are ours too: delete them so addresses and names stay free.
netns_reap_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | sed -n 's/^\(b0t[0-9]*n[0-9]*-[a-z]*\).*/\1/p'); do
		pid=${ns#b0t}
		pid=${pid%%n*}
		if ! kill -0 "$pid" 2>/dev/null; then
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		fi
	done
	return 0
}

netns_up() {
	local p="b0t$$n${BATS_TEST_NUMBER:-0}"
	NS_LAB=$p-lab NS_GW=$p-gw NS_EDGE=$p-edge NS_VIS=$p-vis
	export NS_LAB NS_GW NS_EDGE NS_VIS
	netns_reap_stale
	if ! _netns_make; then
		echo "netns_up: could not make the namespaces" >&2
		netns_down
		return 1
	fi
}

_netns_make() {
	local ns
	for ns in "$NS_LAB" "$NS_GW" "$NS_EDGE" "$NS_VIS"; do
		ip netns add "$ns" || return 1
		ip -n "$ns" link set lo up || return 1
	done
	# Links are made inside the namespaces: no names in the host's.
	ip link add lan0 netns "$NS_LAB" type veth peer name lan1 netns "$NS_GW" &&
	    ip link add wan0 netns "$NS_GW" type veth peer name wan1 netns "$NS_EDGE" &&
	    ip link add pub0 netns "$NS_EDGE" type veth peer name pub1 netns "$NS_VIS" ||
	    return 1
	ip -n "$NS_LAB" addr add "$LAB_IP/24" dev lan0 &&
	    ip -n "$NS_GW" addr add "$GW_LAN_IP/24" dev lan1 &&
	    ip -n "$NS_GW" addr add "$GW_WAN_IP/24" dev wan0 &&
	    ip -n "$NS_EDGE" addr add "$EDGE_IP/24" dev wan1 &&
	    ip -n "$NS_EDGE" addr add "$EDGE_VIS_IP/24" dev pub0 &&
	    ip -n "$NS_VIS" addr add "$VIS_IP/24" dev pub1 || return 1
	ip -n "$NS_LAB" link set lan0 up &&
	    ip -n "$NS_GW" link set lan1 up &&
	    ip -n "$NS_GW" link set wan0 up &&
	    ip -n "$NS_EDGE" link set wan1 up &&
	    ip -n "$NS_EDGE" link set pub0 up &&
	    ip -n "$NS_VIS" link set pub1 up || return 1
	ip -n "$NS_LAB" route add default via "$GW_LAN_IP" &&
	    ip -n "$NS_EDGE" route add 10.77.1.0/24 via "$GW_WAN_IP" &&
	    ip -n "$NS_VIS" route add default via "$EDGE_VIS_IP" || return 1
	in_gw sysctl -qw net.ipv4.ip_forward=1 || return 1
	in_edge sysctl -qw net.ipv4.ip_forward=0 || return 1
	# The gateway: the lab goes out (masqueraded), nothing comes in.
	in_gw nft -f - <<-'EOF' || return 1
		table inet b0gw {
			chain input {
				type filter hook input priority 0; policy drop;
				ct state established,related accept
				iifname "lo" accept
				iifname "lan1" accept
			}
			chain forward {
				type filter hook forward priority 0; policy drop;
				jump cut
				ct state established,related accept
				iifname "lan1" oifname "wan0" jump egress
			}
			chain egress {
				accept
			}
			chain cut {
			}
			chain postrouting {
				type nat hook postrouting priority 100;
				oifname "wan0" masquerade
			}
		}
	EOF
}

netns_proxy_only() {
	in_gw nft insert rule inet b0gw egress tcp dport 443 \
	    reject with tcp reset
}

netns_cut() {
	in_gw nft add rule inet b0gw cut drop
}

netns_heal() {
	in_gw nft flush chain inet b0gw cut
}

netns_down() {
	local ns pids
	for ns in "${NS_VIS:-}" "${NS_EDGE:-}" "${NS_GW:-}" "${NS_LAB:-}"; do
		[ -n "$ns" ] || continue
		ip netns list 2>/dev/null | grep -q "^$ns\b" || continue
		# Only processes this test started can be in its namespaces.
		pids=$(ip netns pids "$ns" 2>/dev/null)
		if [ -n "$pids" ]; then
			echo "# netns_down: killing leftovers in $ns: $pids" >&2
			kill -KILL $pids 2>/dev/null
		fi
		ip netns del "$ns"
	done
	return 0
}
