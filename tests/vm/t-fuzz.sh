#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# In-guest fuzzers (issue 19), run inside the test VM on the debug kernel
# while a legitimate client's pings cross an MP server: seeded netlink
# requests to every command of the family and to the link type
# (ovpn-cli fuzz-nl), and seeded datagrams and TCP streams against a live
# peer (ovpn-cli fuzz-packets).  Any splat, leak, unexpected reply, lost
# ping or drop the counters do not account for fails the scenario.
#
# Seeds and bounds: FUZZ_SEED (default 20); FUZZ_NL_COUNT requests
# (100000) or FUZZ_NL_SECONDS (120), FUZZ_PKT_COUNT datagrams (1000000) or
# FUZZ_PKT_SECONDS (100), FUZZ_TCP_COUNT frames (20000) or
# FUZZ_TCP_SECONDS (100), whichever comes first.  The debug guest under
# TCG answers about 70 requests or datagrams a second (2026-12-04), so in
# CI the time bounds end the runs; FUZZ_*_SECONDS raise them.  Each run
# prints its seed, counts and rate, and repeats with the same values.
# (tests/vm/run.sh passes no environment to the guest but
# OVPN_VM_SCENARIOS: for other values, run the file from a wrapper that
# exports them, as docs/testing.md shows.)
set -u
REPO=${1:?usage: t-fuzz.sh REPO}
. "$REPO/tests/vm/lib.sh"
KEY=/tmp/fuzz.key
KEY2=/tmp/fuzz2.key
SEED=${FUZZ_SEED:-20}
NL_COUNT=${FUZZ_NL_COUNT:-100000}
NL_SECONDS=${FUZZ_NL_SECONDS:-120}
PKT_COUNT=${FUZZ_PKT_COUNT:-1000000}
PKT_SECONDS=${FUZZ_PKT_SECONDS:-100}
TCP_COUNT=${FUZZ_TCP_COUNT:-20000}
TCP_SECONDS=${FUZZ_TCP_SECONDS:-100}

insmod "$MOD" 2>/dev/null

# Client namespace c$1 (veth to srv, tests/vm/lib.sh add_link) with a P2P
# device tun0 (5.5.5.$(($1 + 1))) whose peer is the server, id $1.
add_client() {
	local i=$1
	add_link "$i" || return 1
	# (No IPv6 link-local address: no router solicitation, which the
	# server would count as a reverse-path drop.)
	printf '%s\n' "link add tun0 type ovpn-dco" "link set tun0 addrgenmode none" \
		"addr add 5.5.5.$((i + 1))/24 dev tun0" "link set tun0 multicast off" \
		"link set tun0 up" | ip -n c$i -batch - || return 1
	ip netns exec c$i "$CLI" new_peer tun0 "$i" 1194 10.10.$i.1 1194 || return 1
	ip netns exec c$i "$CLI" new_key tun0 "$i" 0 1 aes 1 "$KEY" || return 1
}

# The server: MP device tun0 (5.5.5.1/24) in srv with the peers of file
# $1 on one UDP socket (port 1194); peer 1 gets the AES key of the
# client, the others ($2...) a ChaCha20-Poly1305 key (id 1) of $KEY2,
# whose other direction the packet fuzzer seals with.
setup_srv() {
	local peers=$1 id
	shift
	ip netns exec srv "$CLI" new_iface tun0 MP || return 1
	printf '%s\n' "link set tun0 addrgenmode none" "addr add 5.5.5.1/24 dev tun0" \
		"link set tun0 multicast off" "link set tun0 up" | ip -n srv -batch - || return 1
	ip netns exec srv "$CLI" new_multi_peer tun0 1194 "$peers" || return 1
	ip netns exec srv "$CLI" new_key tun0 1 0 1 aes 0 "$KEY" || return 1
	for id in "$@"; do
		ip netns exec srv "$CLI" new_key tun0 "$id" 0 1 chachapoly 0 "$KEY2" || return 1
	done
}

new_keys() {
	head -c 256 /dev/urandom | base64 -w0 >"$KEY"
	head -c 256 /dev/urandom | base64 -w0 >"$KEY2"
}

# Starts pings from the client c1 to the server every 0.2 s (until
# stop_ping), after a first one gets through.
start_ping() {
	ip netns exec c1 ping -c 2 -W 3 5.5.5.1 >/dev/null || { echo "tunnel down before fuzzing"; return 1; }
	ip netns exec c1 ping -i 0.2 -W 5 5.5.5.1 >/tmp/fuzz.ping 2>&1 &
	PING=$!
}

# Stops them and checks the loss: at most 1% of them (each answered by a
# debug kernel under TCG, a fuzzer hammering it meanwhile).
stop_ping() {
	kill -INT "$PING" 2>/dev/null
	wait "$PING"
	local l tx=0 rx=0
	while IFS= read -r l; do
		[[ $l =~ ([0-9]+)\ packets\ transmitted,\ ([0-9]+)\ received ]] &&
			tx=${BASH_REMATCH[1]} rx=${BASH_REMATCH[2]}
	done </tmp/fuzz.ping
	echo "legitimate client's pings: $rx of $tx answered"
	check "pings flowed" '[ "$tx" -gt 10 ]' || return 1
	check "the legitimate tunnel lost at most 1% of its pings" '[ $(((tx - rx) * 100)) -le "$tx" ]'
}

# The device's drop counters (ethtool -S tun0 in srv) into the array
# named $1: name -> value.
read_drops() {
	local -n into=$1
	local k v
	while read -r k v; do
		k=${k%:}
		[[ $k == rx_drop_* ]] && into[$k]=$v
	done < <(ip netns exec srv ethtool -S tun0)
}

# Packets the stack dropped before the module could see them: softnet
# backlog drops (all CPUs) and the server's veth $1 receive drops.
lost_before() {
	local l b s=0 _
	while read -r _ b _; do s=$((s + 16#$b)); done </proc/net/softnet_stat
	read -r b < <(ip netns exec srv cat /sys/class/net/$1/statistics/rx_dropped)
	echo $((s + b))
}

# A field of the fuzzer's summary line $2.
sfield() { [[ " $2 " =~ \ $1=([0-9]+)\  ]] && echo "${BASH_REMATCH[1]}"; }

t_fuzz_netlink() {
	new_keys
	printf '%s\n' "1 10.10.1.2 1194 5.5.5.2" >/tmp/fuzz.peers
	ip netns add srv || return 1
	add_client 1 || return 1
	setup_srv /tmp/fuzz.peers || return 1
	start_ping || return 1
	local other out rc t0=$SECONDS
	# The index of c1's tun0: in srv it names another device, or none.
	other=$(ip -n c1 -o link show tun0 | cut -d: -f1)
	echo "seed $SEED, up to $NL_COUNT requests or $NL_SECONDS s, other namespace's ifindex $other"
	out=$(ip netns exec srv "$CLI" fuzz-nl --seed "$SEED" --count "$NL_COUNT" \
		--max-seconds "$NL_SECONDS" --dev tun0 --protect 1 --other-netns /run/netns/c1 \
		--other-ifindex "$other" --report 30 2>/tmp/fuzz-nl.err)
	rc=$?
	echo "fuzz-nl exited $rc after $((SECONDS - t0)) s"
	grep -v "^fuzz-nl: progress" /tmp/fuzz-nl.err | head -n 5
	grep "^fuzz-nl: progress" /tmp/fuzz-nl.err | tail -n 1
	grep "FAIL" <<<"$out" | head -n 20
	tail -n 1 <<<"$out"
	stop_ping || return 1
	check "every reply an ACK or an expected errno" '[ "$rc" = 0 ] && [[ "$out" == *" failures=0 "* ]]' || return 1
	local n
	n=$(sfield requests "$(tail -n 1 <<<"$out")")
	check "$NL_COUNT requests, or $NL_SECONDS s of them" '[ "${n:-0}" -ge "$NL_COUNT" ] || [ $((SECONDS - t0)) -ge "$NL_SECONDS" ]' || return 1
	check "the legitimate peer is unharmed" 'ip netns exec srv "$CLI" get_peer tun0 1 | grep -q "vpn_rx_packets=[1-9]"'
}

t_fuzz_packets() {
	new_keys
	printf '%s\n' "1 10.10.1.2 1194 5.5.5.2" "2 10.10.2.2 1194 5.5.5.3" >/tmp/fuzz.peers
	ip netns add srv || return 1
	add_client 1 || return 1
	add_link 2 || return 1
	setup_srv /tmp/fuzz.peers 2 || return 1
	start_ping || return 1
	local -A d0 d1
	local l0 l1 p0 p1 out rc t0 k obs=0 exp name lost hold=8
	read_drops d0
	l0=$(lost_before v2)
	p0=$(ip netns exec srv "$CLI" get_peer tun0 2)
	echo "UDP: seed $SEED, up to $PKT_COUNT datagrams or $PKT_SECONDS s"
	t0=$SECONDS
	out=$(ip netns exec c2 "$CLI" fuzz-pkt --seed "$SEED" --count "$PKT_COUNT" \
		--max-seconds "$PKT_SECONDS" --target 10.10.2.1:1194 --bind 10.10.2.2:1194 \
		--peer-id 2 --legit-peer-id 1 --key-file "$KEY2" --key-dir 1 --key-id 1 \
		--vpn-src 5.5.5.3 --vpn-dst 5.5.5.1 --report 30 2>/tmp/fuzz-pkt.err)
	rc=$?
	echo "fuzz-pkt exited $rc after $((SECONDS - t0)) s"
	grep "^fuzz-pkt: progress" /tmp/fuzz-pkt.err | tail -n 1
	echo "$out"
	# Held packets wait 2 s for their key; the RX work drains.
	nap 3
	read_drops d1
	l1=$(lost_before v2)
	p1=$(ip netns exec srv "$CLI" get_peer tun0 2)
	echo "peer 2 before: $p0"
	echo "peer 2 after:  $p1"
	for k in "${!d1[@]}"; do
		obs=$((obs + d1[$k] - ${d0[$k]:-0}))
		echo "  $k +$((d1[$k] - ${d0[$k]:-0}))"
	done
	local auth=$(($(field link_rx_packets "$p1") - $(field link_rx_packets "$p0")))
	obs=$((obs + auth))
	exp=$(sfield module_events "$out")
	lost=$((l1 - l0))
	local backlog=$((d1[rx_drop_backlog] - ${d0[rx_drop_backlog]:-0}))
	local fresh=$(sfield fresh "$out") nop=$(sfield no_peer "$out")
	local nop_seen=$((d1[rx_drop_no_peer] - ${d0[rx_drop_no_peer]:-0}))
	echo "module counted $obs events (drops + peer 2's authentic packets $auth), the fuzzer predicts $exp; lost before the module $lost, backlog drops $backlog"
	check "fuzz-pkt ran" '[ "$rc" = 0 ] && [ -n "$exp" ]' || return 1
	# (A packet dropped for a full queue is one event; replayed later, it
	# is accepted instead, and its inner packet may be dropped: one more.)
	check "the counters never count more than was sent" '[ "$obs" -le $((exp + backlog)) ]' || return 1
	check "the counters account for every datagram (less $lost lost before the module, $hold held, $backlog backlogged)" \
		'[ "$obs" -ge $((exp - lost - hold - backlog)) ]' || return 1
	check "unknown peer ids counted as such" '[ "$nop_seen" -le "$nop" ] && [ "$nop_seen" -ge $((nop - lost)) ]' || return 1
	check "peer 2 counted its authentic fresh packets ($fresh)" '[ "$auth" -le $((fresh + backlog)) ] && [ "$auth" -ge $((fresh - lost - backlog - hold)) ]' || return 1
	check "the server answered the fuzzer's authentic pings, sealed right" '[ "$(sfield replies_opened "$out")" -gt 0 ]' || return 1

	echo "TCP: seed $SEED, up to $TCP_COUNT frames or $TCP_SECONDS s"
	t0=$SECONDS
	out=$(ip netns exec srv "$CLI" fuzz-pkt --mode tcp --dev tun0 --seed "$SEED" \
		--count "$TCP_COUNT" --max-seconds "$TCP_SECONDS" --peer-id 3 --key-file "$KEY2" \
		--key-dir 1 --key-id 1 --vpn-src 5.5.5.4 --vpn-dst 5.5.5.1 --report 30 2>/tmp/fuzz-tcp.err)
	rc=$?
	echo "fuzz-pkt --mode tcp exited $rc after $((SECONDS - t0)) s"
	grep "FAIL" <<<"$out" | head -n 20
	tail -n 1 <<<"$out"
	check "TCP streams: control frames passed through, authentic frames counted, peers gone at each end" \
		'[ "$rc" = 0 ] && [[ "$out" == *" failures=0 "* ]]' || return 1
	stop_ping || return 1
	check "the legitimate peer is unharmed" 'ip netns exec srv "$CLI" get_peer tun0 1 | grep -q "vpn_rx_packets=[1-9]"'
}

scenario fuzz-netlink t_fuzz_netlink
scenario fuzz-packets t_fuzz_packets
finish
