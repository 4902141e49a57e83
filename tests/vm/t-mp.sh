#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Multi-peer (server) scenarios, run inside the test VM: one MP device in
# namespace srv serving clients in namespaces c1..cN over one UDP socket.
# Checks routing to each client by VPN address, a dual-stack IPv6 socket
# serving an IPv4 client, float to a new client address, the reverse-path
# check, and a network routed behind a client.
set -u
REPO=${1:?usage: t-mp.sh REPO}
. "$REPO/tests/vm/lib.sh"
KEY=/tmp/mp.key
PY=/usr/bin/python3
WIRE=$REPO/tests/vm/ovpn-wire.py

insmod "$MOD" 2>/dev/null

# Client namespace c$1 on its own veth to srv: 10.10.$1.2 (and
# fd00:0:0:$1::2) facing srv's 10.10.$1.1 (fd00:0:0:$1::1); P2P device
# tun0 with VPN address 5.5.5.$(($1 + 1)); its server peer has id $1, the
# id the server knows it by (DATA_V2 carries the id the receiver gave).
# Its remote is $2 (the server's address it uses).
add_client() {
	local i=$1 raddr=$2
	add_link "$i" || return 1
	ip -n c$i link add tun0 type ovpn-dco || return 1
	ip -n c$i addr add 5.5.5.$((i + 1))/24 dev tun0
	ip -n c$i link set tun0 multicast off
	ip -n c$i link set tun0 up
	ip netns exec c$i "$CLI" new_peer tun0 "$i" 1194 "$raddr" 1194 || return 1
	ip netns exec c$i "$CLI" new_key tun0 "$i" 0 1 aes 1 "$KEY" || return 1
}

# The server: MP device tun0 (5.5.5.1/24) in srv (which exists already);
# the peers of file $1 added on one socket bound to port 1194 (dual-stack
# IPv6 with --ipv6), each given the key.
setup_srv() {
	local peers=$1 ipv6=${2:-} id
	ip netns exec srv "$CLI" new_iface tun0 MP || return 1
	ip -n srv addr add 5.5.5.1/24 dev tun0
	ip -n srv link set tun0 multicast off
	ip -n srv link set tun0 up
	ip netns exec srv "$CLI" new_multi_peer tun0 1194 "$peers" $ipv6 || return 1
	for id in $(awk '!/^#/ && NF {print $1}' "$peers"); do
		ip netns exec srv "$CLI" new_key tun0 "$id" 0 1 aes 0 "$KEY" || return 1
	done
}

new_key_file() { head -c 256 /dev/urandom | base64 -w0 >"$KEY"; }

t_mp_routing() {
	cat >/tmp/mp.peers <<-EOF
		1 10.10.1.2 1194 5.5.5.2
		2 10.10.2.2 1194 5.5.5.3
		3 10.10.3.2 1194 5.5.5.4
	EOF
	new_key_file
	ip netns add srv || return 1
	local i g
	for i in 1 2 3; do add_client $i 10.10.$i.1 || return 1; done
	setup_srv /tmp/mp.peers || return 1
	for i in 1 2 3; do
		ip netns exec srv ping -c 2 -i 0.3 -W 2 5.5.5.$((i + 1)) >/dev/null ||
			{ echo "server cannot reach client $i"; return 1; }
		ip netns exec c$i ping -c 2 -i 0.3 -W 2 5.5.5.1 >/dev/null ||
			{ echo "client $i cannot reach the server"; return 1; }
	done
	g=$(ip netns exec srv "$CLI" get_peer tun0)
	echo "$g"
	check "3 peers, each with traffic" '[ "$(grep -c "vpn_rx_packets=[1-9]" <<<"$g")" = 3 ]' || return 1
	# Traffic to a VPN address no peer has is dropped and counted.
	ip netns exec srv ping -c 1 -W 1 5.5.5.99 >/dev/null
	check "no peer for 5.5.5.99" '[ "$(drop_stat srv tx_drop_no_peer)" -ge 1 ]'
}

t_mp_dual_stack() {
	cat >/tmp/mp.peers <<-EOF
		1 10.10.1.2 1194 5.5.5.2
		2 fd00:0:0:2::2 1194 5.5.5.3
	EOF
	new_key_file
	ip netns add srv || return 1
	add_client 1 10.10.1.1 || return 1
	add_client 2 fd00:0:0:2::1 || return 1
	setup_srv /tmp/mp.peers --ipv6 || return 1
	check "one socket serves both" '[ "$(ip netns exec srv ss -Huan "sport = :1194" | wc -l)" = 1 ]' || return 1
	ip netns exec c1 ping -c 2 -i 0.3 -W 2 5.5.5.1 >/dev/null ||
		{ echo "IPv4 client over the IPv6 socket fails"; return 1; }
	ip netns exec c2 ping -c 2 -i 0.3 -W 2 5.5.5.1 >/dev/null ||
		{ echo "IPv6 client fails"; return 1; }
	ip netns exec srv ping -c 2 -i 0.3 -W 2 5.5.5.2 >/dev/null || return 1
	ip netns exec srv ping -c 2 -i 0.3 -W 2 5.5.5.3 >/dev/null
}

# A client (peer 1, at $1) moves to address $2 (prefix length $3), the
# server being at $4: its packets now come from there, and the server must
# follow, answer there, and show the remote $5 in GET_PEER.  (The new
# address must survive the old primary's removal.)
mp_float() {
	local old=$1 new=$2 len=$3 srv=$4 want=$5 nodad=""
	[[ $new == *:* ]] && nodad=nodad
	cat >/tmp/mp.peers <<-EOF
		1 $old 1194 5.5.5.2
	EOF
	new_key_file
	ip netns add srv || return 1
	add_client 1 "$srv" || return 1
	setup_srv /tmp/mp.peers || return 1
	ip netns exec c1 ping -c 2 -W 2 5.5.5.1 >/dev/null || return 1
	ip netns exec c1 sysctl -qw net.ipv4.conf.veth0.promote_secondaries=1
	ip -n c1 addr add "$new/$len" dev veth0 $nodad || return 1
	ip -n c1 addr del "$old/$len" dev veth0 || return 1
	ip netns exec c1 ping -c 3 -i 0.3 -W 2 5.5.5.1 >/dev/null ||
		{ echo "tunnel broke after the client's address changed"; return 1; }
	local g
	g=$(ip netns exec srv "$CLI" get_peer tun0 1)
	echo "$g"
	check "server learned the new address ($want)" 'grep -qF " $want " <<<" $g "' || return 1
	check "server reaches the floated client" 'ip netns exec srv ping -c 2 -W 2 5.5.5.2 >/dev/null'
}

t_mp_float() { mp_float 10.10.1.2 10.10.1.3 24 10.10.1.1 "remote=10.10.1.3:1194"; }

# Review L5: over IPv6 the server learns the new global address without a
# scope id.  Before, the ingress ifindex became the scope of every IPv6
# address learnt, which bound the route lookup to that interface and
# showed in GET_PEER.
t_mp_float_ipv6() {
	mp_float fd00:0:0:1::2 fd00:0:0:1::3 64 fd00:0:0:1::1 "remote=[fd00:0:0:1::3]:1194"
}

t_mp_reverse_path() {
	cat >/tmp/mp.peers <<-EOF
		1 10.10.1.2 1194 5.5.5.2
		2 10.10.2.2 1194 5.5.5.3
	EOF
	new_key_file
	ip netns add srv || return 1
	add_client 1 10.10.1.1 || return 1
	add_client 2 10.10.2.1 || return 1
	setup_srv /tmp/mp.peers || return 1
	# A network behind client 1, routed through it on the server: the
	# server accepts what comes from it and sends the replies back
	# through client 1 (the peer is the route's gateway).
	local d0 d1 out
	ip -n c1 addr add 192.168.51.1/24 dev lo
	ip -n srv route add 192.168.51.0/24 via 5.5.5.2 dev tun0
	d0=$(ip -n srv -s -j link show tun0 | jq '.[0].stats64.rx.packets')
	out=$(ip netns exec c1 ping -c 2 -W 2 -I 192.168.51.1 5.5.5.1)
	d1=$(ip -n srv -s -j link show tun0 | jq '.[0].stats64.rx.packets')
	echo "delivered from the network behind client 1: $d0 -> $d1"
	check "network behind client 1 accepted" '[ $((d1 - d0)) = 2 ]' || return 1
	check "replies routed into it" 'grep -q "2 received" <<<"$out"' || return 1
	out=$(ip netns exec srv ping -c 2 -W 2 192.168.51.1)
	check "server reaches it" 'grep -q "2 received" <<<"$out"' || return 1
	# Client 2 claims client 1's VPN address as its source: dropped.
	local m0 m1
	m0=$(drop_stat srv rx_drop_reverse_path)
	ip -n c2 addr add 5.5.5.2/32 dev lo
	out=$(ip netns exec c2 ping -c 2 -W 1 -I 5.5.5.2 5.5.5.1)
	m1=$(drop_stat srv rx_drop_reverse_path)
	echo "reverse-path drops $m0 -> $m1"
	# (The count may grow by more than the 2 pings: the clients' own IPv6
	# router solicitations, from link-local sources no route gives them,
	# are dropped the same way whenever they come.)
	check "spoofed pings unanswered" 'grep -q " 0 received" <<<"$out"' || return 1
	check "spoofed inner source dropped and counted" '[ $((m1 - m0)) -ge 2 ]'
}

# A client that is an independent implementation of the wire format
# (tests/vm/ovpn-wire.py) and sends without a peer id (0xFFFFFF): the
# server finds the peer by its transport address, accepts the echo
# request, and the client opens the encrypted reply.
t_mp_undef_peer_id() {
	cat >/tmp/mp.peers <<-EOF
		1 10.10.1.2 1194 5.5.5.2
	EOF
	new_key_file
	ip netns add srv || return 1
	add_link 1 || return 1
	setup_srv /tmp/mp.peers || return 1
	ip netns exec c1 $PY "$WIRE" ping "$KEY" 1 aes 256 $((0xFFFFFF)) 1 5 \
		5.5.5.2 5.5.5.1 1194 10.10.1.1 1194 --expect-reply
}

# Issue 19, churn under traffic: while a real client pings the server,
# one process churns 64 other peers of the server's device (seeded):
# peers added and deleted, keys installed, swapped and deleted, keepalive
# set and expiring, sockets closed, invalid requests.  Every reply must be
# the expected one, the client loses no ping, and the file's unload and
# leak scan follow as for any scenario.
t_mp_churn() {
	printf '%s\n' "1 10.10.1.2 1194 5.5.5.2" >/tmp/mp.peers
	new_key_file
	ip netns add srv || return 1
	add_client 1 10.10.1.1 || return 1
	setup_srv /tmp/mp.peers || return 1
	ip netns exec c1 ping -c 2 -W 2 5.5.5.1 >/dev/null || return 1
	ip netns exec c1 ping -i 0.2 -c 250 -W 3 5.5.5.1 >/tmp/churn.ping 2>&1 &
	local ping=$! out rc
	out=$(ip netns exec srv "$CLI" churn tun0 --cycles "${CHURN_CYCLES:-5000}" --seed 19 \
		--peers 64 --remote 10.10.1.99 --report 15 2>/tmp/churn.err)
	rc=$?
	echo "$out"
	grep -v "^churn: progress" /tmp/churn.err | tail -n 20
	grep "^churn: progress" /tmp/churn.err | tail -n 2
	wait $ping
	tail -n 2 /tmp/churn.ping
	check "churn met only expected replies" '[ "$rc" = 0 ] && grep -q "failures=0 " <<<"$out "' || return 1
	check "the client lost no ping" 'grep -q " 0% packet loss" /tmp/churn.ping' || return 1
	check "the client's peer is unharmed" 'ip netns exec srv "$CLI" get_peer tun0 1 | grep -q "vpn_rx_packets=[1-9]"'
}

scenario mp-routing t_mp_routing
scenario mp-dual-stack t_mp_dual_stack
scenario mp-float t_mp_float
scenario mp-float-ipv6 t_mp_float_ipv6
scenario mp-reverse-path t_mp_reverse_path
scenario mp-undef-peer-id t_mp_undef_peer_id
scenario mp-churn t_mp_churn
finish
