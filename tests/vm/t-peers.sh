#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Peer control-plane scenarios, run inside the test VM: NEW_PEER, SET_PEER,
# DEL_PEER and GET_PEER (do and dump) over the ovpn-dco-v2 family, P2P
# replacement, MP validation, the socket reference a peer holds, and the
# DEL_PEER notifications with their reasons.
set -u
REPO=${1:?usage: t-peers.sh REPO}
. "$REPO/tests/vm/lib.sh"

insmod "$MOD" 2>/dev/null

# Starts a notification listener expecting N notices; waits until it has
# joined the group.  The notices go to $1.
listen() {
	local out=$1 n=$2
	"$CLI" listen_mcast --count "$n" --timeout 60 >"$out" 2>"$out.err" &
	LISTENER=$!
	local i
	for i in $(seq 100); do
		grep -q listening "$out.err" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "listener did not start"
	return 1
}

# Waits for the listener and checks it exited 0 (got all its notices).
listened() {
	wait "$LISTENER"
}

udp_bound() { ss -Huln "sport = :$1" | grep -q .; }

t_p2p_peer() {
	ip link add tun0 type ovpn-dco || return 1
	expect_rc 0 "" "$CLI" new_peer tun0 1 1194 10.10.0.2 1195 || return 1
	local g
	g=$("$CLI" get_peer tun0 1) || return 1
	echo "$g"
	check "id" 'grep -q "id=1 " <<<"$g"' || return 1
	check "remote" 'grep -q "remote=10.10.0.2:1195" <<<"$g"' || return 1
	check "local port" 'grep -q "local_port=1194" <<<"$g"' || return 1
	check "counters start at 0" 'grep -q "vpn_rx_bytes=0 " <<<"$g"' || return 1
	check "dump lists it" '[ "$("$CLI" get_peer tun0 | wc -l)" = 1 ]' || return 1
	# The peer holds the socket: the port stays bound after the client
	# that created it exited, until the peer is deleted.
	check "socket kept by the peer" 'udp_bound 1194' || return 1
	listen /tmp/ntf 1 || return 1
	expect_rc 0 "" "$CLI" del_peer tun0 1 || return 1
	listened || { echo "no notification"; return 1; }
	check "USERSPACE notification" 'grep -q "peer_id=1 reason=userspace" /tmp/ntf' || return 1
	check "socket released with the peer" '! udp_bound 1194' || return 1
	expect_rc 2 "no peer" "$CLI" get_peer tun0 1 || return 1
	expect_rc 2 "" "$CLI" del_peer tun0 1
}

t_p2p_replace() {
	ip link add tun0 type ovpn-dco || return 1
	expect_rc 0 "" "$CLI" new_peer tun0 1 1194 10.10.0.2 1194 || return 1
	listen /tmp/ntf 1 || return 1
	expect_rc 0 "" "$CLI" new_peer tun0 7 1196 10.10.0.3 1194 || return 1
	listened || return 1
	check "TEARDOWN notification for the replaced peer" 'grep -q "peer_id=1 reason=teardown" /tmp/ntf' || return 1
	local d
	d=$("$CLI" get_peer tun0)
	echo "$d"
	check "only the new peer" '[ "$(wc -l <<<"$d")" = 1 ] && grep -q "id=7 " <<<"$d"' || return 1
	check "old socket released" '! udp_bound 1194' || return 1
}

t_mp_peers() {
	"$CLI" new_iface tunm MP || return 1
	expect_rc 22 "VPN IPv4 or IPv6" "$CLI" new_peer tunm 1 1194 10.10.0.2 1194 || return 1
	expect_rc 0 "" "$CLI" new_peer tunm 1 1194 10.10.0.2 1194 10.8.0.2 || return 1
	expect_rc 17 "exists" "$CLI" new_peer tunm 1 1195 10.10.0.3 1194 10.8.0.3 || return 1
	expect_rc 0 "" "$CLI" new_peer tunm 2 1196 10.10.0.3 1194 10.8.0.3 fd00::3 || return 1
	local g
	g=$("$CLI" get_peer tunm 2)
	echo "$g"
	check "vpn4" 'grep -q "vpn4=10.8.0.3" <<<"$g"' || return 1
	check "vpn6" 'grep -q "vpn6=fd00::3" <<<"$g"' || return 1
	check "dump has 2" '[ "$("$CLI" get_peer tunm | wc -l)" = 2 ]' || return 1
	expect_rc 22 "below 0xFFFFFF" "$CLI" new_peer tunm 16777216 1197 10.10.0.4 1194 10.8.0.4 || return 1
	# Review L6: 0xFFFFFF is the undefined id, which no peer may take.
	expect_rc 22 "below 0xFFFFFF" "$CLI" new_peer tunm 16777215 1197 10.10.0.4 1194 10.8.0.4 || return 1
	# IPv6 transport.
	expect_rc 0 "" "$CLI" new_peer tunm 3 1198 fd01::2 1194 10.8.0.4 || return 1
	check "v6 remote" '"$CLI" get_peer tunm 3 | grep -q "remote=\[fd01::2\]:1194"' || return 1
}

t_set_peer() {
	"$CLI" new_iface tunm MP || return 1
	"$CLI" new_peer tunm 4 1194 10.10.0.2 1194 10.8.0.2 || return 1
	expect_rc 0 "" "$CLI" set_peer tunm 4 10 60 || return 1
	local g
	g=$("$CLI" get_peer tunm 4)
	check "keepalive stored" 'grep -q "ka_interval=10 ka_timeout=60" <<<"$g"' || return 1
	expect_rc 2 "" "$CLI" set_peer tunm 5 10 60
}

t_dump_many() {
	"$CLI" new_iface tunm MP || return 1
	local i
	for i in $(seq 1 80); do
		"$CLI" new_peer tunm "$i" $((2000 + i)) 10.10.0.2 1194 "10.8.$((i / 200)).$((i % 200 + 2))" >/dev/null || return 1
	done
	local d
	d=$("$CLI" get_peer tunm)
	check "all 80 peers dumped once" '[ "$(grep -c "^id=" <<<"$d")" = 80 ] && [ "$(sort -u <<<"$d" | wc -l)" = 80 ]' || return 1
	# Review L7: a peer deleted between two parts of a dump (one the dump
	# has passed: it was dumped) makes it neither skip nor repeat any
	# other peer.  The kernel builds a dump's next part as the last one is
	# read, so the deletion after the first shows from the third on: 600
	# peers (one socket; about 150 a part) make enough parts.  Before, the last peer took
	# the deleted one's place in the list, behind the cursor, and was
	# never dumped.
	"$CLI" new_iface tund MP || return 1
	for i in $(seq 1 600); do
		echo "$i 10.10.$((i / 250)).$((i % 250 + 1)) 1194 10.9.$((i / 250)).$((i % 250 + 1))"
	done >/tmp/peers.txt
	"$CLI" new_multi_peer tund 2500 /tmp/peers.txt >/dev/null || return 1
	d=$("$CLI" dump_del tund 2) || return 1
	echo "$(head -n 1 <<<"$d"), $(grep -c "^id=" <<<"$d") peers dumped"
	check "the dump came in 4 parts or more" '[ "$(sed -n "s/^datagrams=//p" <<<"$d")" -ge 4 ]' || return 1
	check "600 peers (the deleted one dumped before), each once" '[ "$(grep -c "^id=" <<<"$d")" = 600 ] && [ "$(grep "^id=" <<<"$d" | sort -u | wc -l)" = 600 ]' || return 1
	check "the last peer not skipped" 'grep -qx "id=600" <<<"$d"'
}

t_teardown() {
	"$CLI" new_iface tunm MP || return 1
	local i
	for i in 1 2 3; do
		"$CLI" new_peer tunm "$i" $((1200 + i)) 10.10.0.2 1194 "10.8.0.$((i + 1))" || return 1
	done
	listen /tmp/ntf 3 || return 1
	ip link del tunm || return 1
	listened || { cat /tmp/ntf; return 1; }
	check "3 TEARDOWN notifications" '[ "$(grep -c "reason=teardown" /tmp/ntf)" = 3 ]' || return 1
	check "sockets released" '! udp_bound 1201 && ! udp_bound 1203'
}

t_rmmod_with_peers() {
	"$CLI" new_iface tunm MP || return 1
	"$CLI" new_peer tunm 1 1301 10.10.0.2 1194 10.8.0.2 || return 1
	ip netns add nsp
	ip netns exec nsp "$CLI" new_iface tunp P2P || return 1
	ip netns exec nsp "$CLI" new_peer tunp 9 1302 10.10.0.2 1194 || return 1
	check "rmmod with peers" 'rmmod ovpn_dco_v2' || return 1
	check "socket released" '! udp_bound 1301' || return 1
	insmod "$MOD"
}

scenario p2p-peer t_p2p_peer
scenario p2p-replace t_p2p_replace
scenario mp-peers t_mp_peers
scenario set-peer t_set_peer
scenario dump-many-peers t_dump_many
scenario teardown-notifies t_teardown
scenario rmmod-with-peers t_rmmod_with_peers
finish
