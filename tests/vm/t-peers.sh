#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Peer control-plane scenarios, run inside the test VM: NEW_PEER, SET_PEER,
# DEL_PEER and GET_PEER (do and dump) over the ovpn-dco-v2 family, P2P
# replacement, MP validation, a peer's life bound to its socket's, and the
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

# Whether UDP port $1 is unbound within 5 s: the CLI's holder process
# closes its socket once it has seen its peers' deletion notices.
udp_released() {
	local i
	for i in $(seq 50); do
		udp_bound "$1" || return 0
		nap 0.1
	done
	return 1
}

# Starts "$@" --hold in the background (HELD: its pid), output to $OUT_HELD.
start_held() {
	# Emptied first: the background redirection may open it only after
	# held_ready has read an earlier scenario's "ready" from it.
	: >"$OUT_HELD"
	"$@" --hold >"$OUT_HELD" 2>&1 &
	HELD=$!
}

# Waits for the "ready" line of a --hold process writing to $1.
held_ready() {
	wait_line "$1" '^ready' 30 && return 0
	echo "not ready: $(cat "$1")"
	return 1
}

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
	# The CLI's holder keeps the socket (the peer's life) until the
	# peer is deleted.
	check "socket kept open" 'udp_bound 1194' || return 1
	listen /tmp/ntf 1 || return 1
	expect_rc 0 "" "$CLI" del_peer tun0 1 || return 1
	listened || { echo "no notification"; return 1; }
	check "USERSPACE notification" 'grep -q "peer_id=1 reason=userspace" /tmp/ntf' || return 1
	check "socket released with the peer" 'udp_released 1194' || return 1
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
	check "old socket released" 'udp_released 1194' || return 1
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
	check "sockets released" 'udp_released 1201 && udp_released 1203'
}

t_rmmod_with_peers() {
	"$CLI" new_iface tunm MP || return 1
	"$CLI" new_peer tunm 1 1301 10.10.0.2 1194 10.8.0.2 || return 1
	ip netns add nsp
	ip netns exec nsp "$CLI" new_iface tunp P2P || return 1
	ip netns exec nsp "$CLI" new_peer tunp 9 1302 10.10.0.2 1194 || return 1
	check "rmmod with peers" 'rmmod ovpn_dco_v2' || return 1
	check "socket released" 'udp_released 1301' || return 1
	insmod "$MOD"
}

# Review M6: a peer lives as long as its socket.  Userspace killed (its
# descriptors closed): the peers on its UDP socket and on its TCP
# connections are deleted at once, with TRANSPORT_DISCONNECT notices.
# Before, the peers kept the sockets open, and their keys, until the
# device went.
t_close_ends_peers() {
	"$CLI" new_iface tunm MP || return 1
	ip link add tun0 type ovpn-dco && ip link add tun1 type ovpn-dco || return 1
	printf '%s\n' "1 10.10.0.2 1194 10.8.0.2" "2 10.10.0.3 1194 10.8.0.3" >/tmp/m6.peers
	OUT_HELD=/tmp/m6.udp start_held "$CLI" new_multi_peer tunm 1400 /tmp/m6.peers
	local udp=$HELD
	OUT_HELD=/tmp/m6.tl start_held "$CLI" new_peer tun0 1 1401 127.0.0.1 1402 --tcp listen
	local tl=$HELD
	OUT_HELD=/tmp/m6.tc start_held "$CLI" new_peer tun1 2 1402 127.0.0.1 1401 --tcp connect
	local tc=$HELD
	held_ready /tmp/m6.udp && held_ready /tmp/m6.tl && held_ready /tmp/m6.tc || return 1
	check "4 peers" '[ "$("$CLI" get_peer tunm | wc -l)" = 2 ] && "$CLI" get_peer tun0 1 >/dev/null && "$CLI" get_peer tun1 2 >/dev/null' || return 1
	listen /tmp/ntf 4 || return 1
	kill -9 $udp $tl $tc
	listened || { echo "notices missing:"; cat /tmp/ntf; return 1; }
	cat /tmp/ntf
	check "4 TRANSPORT_DISCONNECT notices" '[ "$(grep -c "reason=transport-disconnect" /tmp/ntf)" = 4 ]' || return 1
	check "no peer left" '[ -z "$("$CLI" get_peer tunm)" ] && [ -z "$("$CLI" get_peer tun0)" ] && [ -z "$("$CLI" get_peer tun1)" ]' || return 1
	check "UDP socket gone" '! udp_bound 1400' || return 1
	check "TCP connection gone" '[ -z "$(ss -Htn state established "sport = :1401")" ]'
}

# Review M6, the namespace: OpenVPN killed inside a namespace, then
# `ip netns del`: the namespace, its devices and sockets go.  The sign
# is a veth whose other end was in it.  Before, the peers' sockets held
# the namespace until rmmod.
t_netns_del_after_kill() {
	ip netns add m6 || return 1
	ip link add m6out type veth peer name m6in netns m6 || return 1
	ip -n m6 link set lo up || return 1
	ip netns exec m6 "$CLI" new_iface tunm MP || return 1
	ip -n m6 link add tun0 type ovpn-dco && ip -n m6 link add tun1 type ovpn-dco || return 1
	printf '%s\n' "1 10.10.0.2 1194 10.8.0.2" >/tmp/m6.peers
	OUT_HELD=/tmp/m6.udp start_held ip netns exec m6 "$CLI" new_multi_peer tunm 1400 /tmp/m6.peers
	local udp=$HELD
	OUT_HELD=/tmp/m6.tl start_held ip netns exec m6 "$CLI" new_peer tun0 1 1401 127.0.0.1 1402 --tcp listen
	local tl=$HELD
	OUT_HELD=/tmp/m6.tc start_held ip netns exec m6 "$CLI" new_peer tun1 2 1402 127.0.0.1 1401 --tcp connect
	local tc=$HELD
	held_ready /tmp/m6.udp && held_ready /tmp/m6.tl && held_ready /tmp/m6.tc || return 1
	kill -9 $udp $tl $tc
	wait $udp $tl $tc 2>/dev/null
	ip netns del m6 || return 1
	local i
	for i in $(seq 60); do
		[ -e /sys/class/net/m6out ] || break
		nap 0.5
	done
	check "the namespace is gone (its veth's other end too)" '[ ! -e /sys/class/net/m6out ]'
}

# A holder of the UDP socket's descriptor resets its encapsulation
# (UDP_ENCAP 0): the module's hooks, the close hook too, stop running on
# it.  The keepalive tick notices and removes the peers on it with
# TRANSPORT_DISCONNECT, so that the socket's close frees it.  Before, the
# peer (and its namespace, M6) stayed until the device went.
t_udp_encap_reset() {
	"$CLI" new_iface tunm MP || return 1
	printf '%s\n' "1 10.10.0.2 1194 10.8.0.2" >/tmp/m6.peers
	OUT_HELD=/tmp/m6.udp start_held "$CLI" new_multi_peer tunm 1410 /tmp/m6.peers
	local udp=$HELD
	held_ready /tmp/m6.udp || return 1
	"$CLI" set_peer tunm 1 1 60 || return 1
	listen /tmp/ntf 1 || return 1
	python3 "$REPO/tests/vm/udp-encap-reset.py" "$udp" || return 1
	listened || { echo "no notice"; return 1; }
	cat /tmp/ntf
	check "TRANSPORT_DISCONNECT notice" 'grep -q "peer_id=1 reason=transport-disconnect" /tmp/ntf' || return 1
	kill -9 $udp
	check "socket released" 'udp_released 1410'
}

scenario p2p-peer t_p2p_peer
scenario p2p-replace t_p2p_replace
scenario mp-peers t_mp_peers
scenario set-peer t_set_peer
scenario dump-many-peers t_dump_many
scenario teardown-notifies t_teardown
scenario rmmod-with-peers t_rmmod_with_peers
scenario socket-close-ends-peers t_close_ends_peers
scenario netns-del-after-kill t_netns_del_after_kill
scenario udp-encap-reset t_udp_encap_reset
finish
