#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Teardown under traffic (issue 19), run inside the test VM: cycles of two
# namespaces joined by a veth, with a P2P tunnel over UDP (tun0) and one
# over TCP (tun1) between them, pings through both tunnels both ways (100
# a second each), and then, while they run, one teardown in a seeded order
# (each once in every six cycles): the peers deleted, the devices deleted,
# a namespace deleted after its processes were killed, the sockets closed
# by userspace (the TCP holders killed, the UDP holders too), the module
# unloaded, or keys installed, swapped and deleted before the peers go.
# Each cycle must set up and carry traffic, each teardown must succeed,
# and the module must unload clean at the end (the file's kmemleak scan
# follows).  Each cycle is logged to the kernel log.
#
# CHURN_TEARDOWN_CYCLES (default 12) and CHURN_SEED (19) make a longer or
# another run (through a wrapper: tests/vm/run.sh passes the guest no
# environment but OVPN_VM_SCENARIOS; see docs/testing.md).
set -u
REPO=${1:?usage: t-churn.sh REPO}
. "$REPO/tests/vm/lib.sh"
KEY=/tmp/churn.key
OUT=/tmp/churn
CYCLES=${CHURN_TEARDOWN_CYCLES:-12}
SEED=${CHURN_SEED:-19}

# Devices tun0 (5.5.5.x) and tun1 (5.5.6.x) of namespace peer$1.
tun_lines() {
	local x=$(($1 + 1))
	printf '%s\n' "link add tun0 type ovpn-dco" "link add tun1 type ovpn-dco" \
		"addr add 5.5.5.$x/24 dev tun0" "addr add 5.5.6.$x/24 dev tun1" \
		"link set tun0 multicast off" "link set tun1 multicast off" \
		"link set tun0 up" "link set tun1 up"
}

# Both namespaces, both tunnels, keys; the TCP holders' pids in HOLDERS.
up() {
	local i
	veth_pair tun_lines || return 1
	ip netns exec peer0 "$CLI" new_peer tun0 1 1194 10.10.0.2 1194 || return 1
	ip netns exec peer1 "$CLI" new_peer tun0 1 1194 10.10.0.1 1194 || return 1
	rm -f $OUT.h0 $OUT.h1
	ip netns exec peer0 "$CLI" new_peer tun1 1 1195 10.10.0.2 0 --tcp listen --hold >$OUT.h0 2>&1 &
	HOLDERS=$!
	ip netns exec peer1 "$CLI" new_peer tun1 1 1196 10.10.0.1 1195 --tcp connect --hold >$OUT.h1 2>&1 &
	HOLDERS+=" $!"
	wait_line $OUT.h0 '^ready' 30 && wait_line $OUT.h1 '^ready' 30 ||
		{ echo "TCP peers not set up:"; cat $OUT.h0 $OUT.h1; return 1; }
	for i in 0 1; do
		ip netns exec peer$i "$CLI" new_key tun0 1 0 1 aes $i "$KEY" || return 1
		ip netns exec peer$i "$CLI" new_key tun1 1 0 1 chachapoly $i "$KEY" || return 1
	done
}

# Pings through both tunnels, both ways, 100 a second each, in the
# background.
flood() {
	local d
	for d in "0 5.5.5.2" "1 5.5.5.1" "0 5.5.6.2" "1 5.5.6.1"; do
		set -- $d
		ip netns exec peer$1 ping -q -i 0.01 -s 1200 -w 20 "$2" >/dev/null 2>&1 &
	done
}

# Keys installed, swapped and deleted on both ends under traffic; then
# the peers go.
rekey() {
	local n i d
	for n in 2 3; do
		for i in 0 1; do
			for d in tun0 tun1; do
				ip netns exec peer$i "$CLI" new_key $d 1 1 $n aes $i "$KEY" &&
					ip netns exec peer$i "$CLI" swap_keys $d 1 &&
					ip netns exec peer$i "$CLI" del_key $d 1 1 || return 1
			done
		done
	done
	del_peers
}

del_peers() {
	local i d
	for i in 0 1; do
		for d in tun0 tun1; do
			ip netns exec peer$i "$CLI" del_peer $d 1 || return 1
		done
	done
}

# Kills the processes in namespace $1, then deletes it.
netns_gone() {
	local p pids=()
	for p in /proc/[0-9]*; do
		[[ $p/ns/net -ef /run/netns/$1 ]] && pids+=("${p#/proc/}")
	done
	[ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null
	ip netns del "$1"
}

# Userspace closes every socket: the TCP holders and the UDP ones.
sockets_closed() {
	pkill -9 -x ovpn-cli-hold || return 1
	kill -9 $HOLDERS
}

t_churn_teardown() {
	local c k kind why rc fails=0 counts=() order=() keyed=()
	local kinds=(del-peer dellink netns-del sockets-closed rmmod rekey)
	head -c 256 /dev/urandom | base64 -w0 >"$KEY"
	RANDOM=$SEED
	echo "seed $SEED, $CYCLES cycles"
	for ((c = 1; c <= CYCLES; c++)); do
		# Every kind once in each run of six, in a seeded order.
		if [ $(((c - 1) % ${#kinds[@]})) = 0 ]; then
			# (RANDOM drawn here: a subshell would reseed it.)
			keyed=()
			for k in "${kinds[@]}"; do keyed+=("$RANDOM $k"); done
			order=($(printf '%s\n' "${keyed[@]}" | sort -n | cut -d' ' -f2))
		fi
		kind=${order[(c - 1) % ${#kinds[@]}]}
		# Progress in the console log, where a stuck cycle shows.
		echo "churn-teardown: cycle $c: $kind" >/dev/kmsg
		load || { echo "cycle $c: insmod failed"; return 1; }
		why=""
		if ! up >$OUT.up 2>&1; then
			why="set-up failed: $(cat $OUT.up)"
		elif ! ip netns exec peer0 ping -c 1 -W 3 5.5.5.2 >/dev/null ||
			! ip netns exec peer0 ping -c 1 -W 3 5.5.6.2 >/dev/null; then
			why="no traffic through the tunnels"
		else
			flood
			nap 1
			case $kind in
			del-peer) out=$(del_peers 2>&1) ;;
			dellink) out=$(ip -n peer0 link del tun0 2>&1 && ip -n peer1 link del tun1 2>&1) ;;
			netns-del) out=$(netns_gone peer0 2>&1) ;;
			sockets-closed) out=$(sockets_closed 2>&1) ;;
			rmmod) out=$(rmmod ovpn_dco_v2 2>&1) ;;
			rekey) out=$(rekey 2>&1) ;;
			esac
			rc=$?
			[ "$rc" = 0 ] || why="$kind failed ($rc): $out"
			nap 0.5
		fi
		cleanup_all
		counts+=("$kind")
		if [ -n "$why" ]; then
			echo "cycle $c ($kind): $why"
			fails=$((fails + 1))
		fi
	done
	echo "teardowns: $(printf '%s\n' "${counts[@]}" | sort | uniq -c | xargs)"
	check "every cycle set up, carried traffic and tore down" '[ "$fails" = 0 ]' || return 1
	check "the module unloads at the end" 'unload && ! is_loaded'
}

scenario churn-teardown t_churn_teardown
finish
