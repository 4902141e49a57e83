#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end data channel test of ovpn-dco-v2 between network namespaces.
# Run as root on a kernel that can load the module (the test VM).
#
# P2P (default): namespaces peer0 and peer1 joined by a veth pair, an
# ovpn-dco P2P device tun0 in each, one peer on each side.
# MP (-m): namespace peer0 is a server with an MP device whose peers all
# share one UDP socket (ovpn-cli new_multi_peer), and NUM_PEERS (3)
# client namespaces peer1..peerN each have a veth pair to peer0 and a P2P
# device with the server as its peer.
# TCP (-t): each tunnel runs over its own TCP connection instead of UDP.
# The server end of each tunnel is an "ovpn-cli new_peer --tcp listen
# --hold" accepting one connection from its client (P2P: on port 1194; MP:
# one process per client, on port 1194+N), the client end an "ovpn-cli
# new_peer --tcp connect --hold"; both run in the background, and the test
# waits for their "ready" lines before installing the keys.  Each end also
# writes one control frame (2-byte length prefix, non-DATA_V2 opcode) into
# the connection CTL_DELAY seconds after it is ready; at the end, the other
# end must have read exactly that frame from its socket (the kernel hands
# non-data frames to userspace), and neither socket may have reported the
# end of the stream or an error.
#
# Addresses (N: the client's number; S: its veth subnet, N in MP, 0 in
# P2P):
#   underlay  10.10.S.1/24 (peer0 side) and 10.10.S.2/24 (client side),
#             or fd00:0:0:S::1/64 and fd00:0:0:S::2/64 (nodad) with -6
#   tunnel    5.5.5.1/24 and fd55::1/64 on peer0,
#             5.5.5.(N+1)/24 and fd55::(N+1)/64 on client N
#   UDP       peer0 binds port 1194, client N binds 1194+N
#   TCP (-t)  peer0 listens on port 1194 (P2P) or 1194+N (MP, for client
#             N); client N binds 1194+N and connects to it
#   peer id   N on both ends of client N's tunnel
# One random key (256 bytes, base64) is made per run; peer0 installs it
# with key direction 0, the clients with key direction 1 (slot primary,
# key id 1).
#
# Then, for each client, pings through the tunnel over IPv4 and IPv6 in
# both directions (a few plain pings, and IPv4 and IPv6 flood pings from
# peer0, which must get every reply before PING_DEADLINE), and
# checks that GET_PEER on both ends reports the traffic in its VPN and
# link counters.  Every step is printed; the first failure prints
# "FAIL: <what>" and exits 1; success prints "PASS: ..." and exits 0.
# The namespaces are removed on exit.  Nothing leaves the machine.
#
# usage: tests/netns-test.sh [-6] [-m] [-t] [-c aes|chachapoly] [-b 128|192|256]
#   -6  IPv6 transport (underlay) instead of IPv4
#   -m  MP server with NUM_PEERS clients instead of P2P
#   -t  TCP instead of UDP (with -m: one TCP connection per client)
#   -c  cipher (default aes); -b AES key bits (default 256)
#
# Environment:
#   CLI            ovpn-cli (default: REPO/target/release/ovpn-cli)
#   MOD            ovpn-dco-v2.ko to insmod when the module is not loaded;
#                  unset: modprobe ovpn-dco-v2
#   NUM_PEERS      MP clients (default 3, at most 100)
#   PING_COUNT     packets of each flood ping (default 500)
#   PING_DEADLINE  seconds a flood ping may take (default 30)
#   PING_INTERVAL  seconds between the packets of the "flood" pings
#                  instead of flooding (default: flood); for machines too
#                  slow for a flood, e.g. the emulated debug test VM, where
#                  a flood only measures how long the overload queues get
#   READY_TIMEOUT  -t: seconds to wait for the TCP peers' "ready" lines
#                  (default 30)
#   CTL_DELAY      -t: seconds after "ready" before each end writes its
#                  control frame (default 3)
set -u

REPO=$(cd "$(dirname "$0")/.." && pwd)
CLI=${CLI:-$REPO/target/release/ovpn-cli}
MOD=${MOD:-}
PING_COUNT=${PING_COUNT:-500}
PING_DEADLINE=${PING_DEADLINE:-30}
PING_INTERVAL=${PING_INTERVAL:-}
READY_TIMEOUT=${READY_TIMEOUT:-30}
CTL_DELAY=${CTL_DELAY:-3}
SERVER_PORT=1194
KEY_ID=1
KEY_SLOT=0

usage() {
	sed -n 's/^# \{0,1\}//; /^usage:/,/^$/p' "$0" >&2
	exit 2
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# Prints a step header with the seconds elapsed since the start.
step() { printf '\n### %s [%ss]\n' "$*" "$SECONDS"; }

# Prints text indented, if there is any.
indent() {
	local line
	[ -n "$1" ] || return 0
	while IFS= read -r line; do
		echo "    $line"
	done <<<"$1"
}

# Runs a command, printing it and (indented) its output; on failure
# prints "FAIL: <what>" and exits.  Usage: run "what" command args...
run() {
	local what=$1 out rc
	shift
	echo "+ $*"
	out=$("$@" 2>&1)
	rc=$?
	indent "$out"
	[ "$rc" = 0 ] || fail "$what (exit status $rc)"
}

# Runs ip commands (one per argument, without "ip") in one ip process,
# in namespace NS unless it is empty; prints them and the output; on
# failure prints "FAIL: <what>" and exits.  Usage: ipbatch "what" NS cmd...
ipbatch() {
	local what=$1 ns=$2 nsopt=() out rc
	shift 2
	[ -n "$ns" ] && nsopt=(-n "$ns")
	echo "+ ip ${nsopt[*]}${nsopt[*]:+ }-batch - <<"
	indent "$(printf '%s\n' "$@")"
	out=$(printf '%s\n' "$@" | ip "${nsopt[@]}" -batch - 2>&1)
	rc=$?
	indent "$out"
	[ "$rc" = 0 ] || fail "$what (exit status $rc)"
}

# Runs a command in namespace NS.  Usage: inns NS command args...
inns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

mp=0
ipv6=0
tcp=0
cipher=aes
key_bits=
while getopts "6mtc:b:h" opt; do
	case $opt in
	6) ipv6=1 ;;
	m) mp=1 ;;
	t) tcp=1 ;;
	c) cipher=$OPTARG ;;
	b) key_bits=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

case $cipher in
aes) key_bits=${key_bits:-256} ;;
chachapoly)
	[ -z "$key_bits" ] || [ "$key_bits" = 256 ] ||
		{ echo "chachapoly takes a 256-bit key only" >&2; usage; }
	key_bits=256
	;;
*) echo "unknown cipher '$cipher'" >&2; usage ;;
esac
case $key_bits in
128 | 192 | 256) ;;
*) echo "-b must be 128, 192 or 256" >&2; usage ;;
esac
if [ "$mp" = 1 ]; then
	NUM_PEERS=${NUM_PEERS:-3}
else
	NUM_PEERS=1
fi
case $NUM_PEERS in
'' | *[!0-9]*) echo "NUM_PEERS must be a number" >&2; usage ;;
esac
if [ "$NUM_PEERS" -lt 1 ] || [ "$NUM_PEERS" -gt 100 ]; then
	echo "NUM_PEERS must be 1..100" >&2
	usage
fi
case $PING_COUNT$PING_DEADLINE in
*[!0-9]*) echo "PING_COUNT and PING_DEADLINE must be numbers" >&2; usage ;;
esac
[ "$PING_COUNT" -ge 1 ] || { echo "PING_COUNT must be at least 1" >&2; usage; }
case $PING_INTERVAL in
*[!0-9.]* | *.*.*) echo "PING_INTERVAL must be a number of seconds" >&2; usage ;;
esac
case $READY_TIMEOUT in
'' | *[!0-9]*) echo "READY_TIMEOUT must be a number" >&2; usage ;;
esac
case $CTL_DELAY in
'' | *[!0-9.]* | *.*.*) echo "CTL_DELAY must be a number of seconds" >&2; usage ;;
esac

# Flood pings must get every reply (ping -w: PING_COUNT replies before the
# deadline), so each end of a tunnel has seen at least this many packets
# each way (IPv4 and IPv6 floods).
MIN_PACKETS=$((2 * PING_COUNT))

# The veth subnet of client N: one per client in MP, 0 in P2P.
subnet() { if [ "$mp" = 1 ]; then echo "$1"; else echo 0; fi; }

# The underlay address of the peer0 end (side 1) or the client end
# (side 2) of client N's veth pair.  Usage: ul_addr N SIDE
ul_addr() {
	if [ "$ipv6" = 1 ]; then
		echo "fd00:0:0:$(subnet "$1")::$2"
	else
		echo "10.10.$(subnet "$1").$2"
	fi
}
ul_plen() { if [ "$ipv6" = 1 ]; then echo 64; else echo 24; fi; }

# Tunnel addresses of namespace peerX (X = 0 for the server).
vpn4() { echo "5.5.5.$(($1 + 1))"; }
vpn6() { echo "fd55::$(($1 + 1))"; }

client_port() { echo $((SERVER_PORT + $1)); }

# TCP: the port peer0 listens on for client N (one listener per client in
# MP).
tcp_server_port() {
	if [ "$mp" = 1 ]; then echo $((SERVER_PORT + $1)); else echo "$SERVER_PORT"; fi
}

# TCP: the control frame (hex, 2-byte length prefix included) that end
# SIDE (0: peer0, N: client N) of client N's tunnel writes: 13 bytes of
# payload, the opcode byte of P_ACK_V1 (0x28) from peer0 and of
# P_CONTROL_V1 (0x20) from the client, then N in 8 bytes (a session id)
# and a marker.  Usage: ctl_frame N SIDE
ctl_frame() {
	local op=20
	[ "$2" = 0 ] && op=28
	printf '000d%s%016x%08x\n' "$op" "$1" 0xc0ffee00
}

# The key options of new_key for the chosen cipher.
key_opts=()
[ "$cipher" = aes ] && key_opts=(--key-bits "$key_bits")

TMPD=
# The background ovpn-cli processes (-t) that hold the TCP sockets.
BG_PIDS=()
# Run by the EXIT trap: stops the background ovpn-cli processes, removes
# the devices, the namespaces and the key.
# shellcheck disable=SC2317
cleanup() {
	local i pid
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ((i = 0; i <= NUM_PEERS; i++)); do
		[ -e "/run/netns/peer$i" ] && ip -n "peer$i" link del tun0 2>/dev/null
	done
	for ((i = 0; i <= NUM_PEERS; i++)); do
		echo "netns del peer$i"
	done | ip -force -batch - >/dev/null 2>&1
	[ -n "$TMPD" ] && rm -rf "$TMPD"
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ "$mp" = 1 ]; then mode_desc="MP, $NUM_PEERS clients"; else mode_desc=P2P; fi
if [ "$ipv6" = 1 ]; then transport=IPv6; else transport=IPv4; fi
[ "$tcp" = 1 ] && transport="$transport TCP"
echo "ovpn-dco netns test: $mode_desc, $transport transport, cipher $cipher-$key_bits"
echo "ovpn-cli: $CLI"

step "prerequisites"
[ "$EUID" = 0 ] || fail "must run as root"
[ -x "$CLI" ] || fail "ovpn-cli not found at $CLI (build it: cargo build --release -p ovpn-cli)"
for tool in ip ping base64 head; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done
if [ -d /sys/module/ovpn_dco_v2 ]; then
	echo "module ovpn_dco_v2 already loaded"
elif [ -n "$MOD" ]; then
	run "insmod $MOD" insmod "$MOD"
else
	run "modprobe ovpn-dco-v2" modprobe ovpn-dco-v2
fi
[ -d /sys/module/ovpn_dco_v2 ] || fail "module ovpn_dco_v2 is not loaded"

TMPD=$(mktemp -d /tmp/ovpn-netns.XXXXXX) || fail "mktemp"
KEY=$TMPD/data64.key
head -c 256 /dev/urandom | base64 -w0 >"$KEY" || fail "generating the key file"
echo "random key file: $KEY"

step "namespaces and underlay"
# ip commands go in batches (one ip process per namespace): every exec
# is slow in the emulated test VM.
for ((i = 0; i <= NUM_PEERS; i++)); do
	if [ -e "/run/netns/peer$i" ]; then
		echo "removing namespace peer$i left by an earlier run"
		ip -n "peer$i" link del tun0 2>/dev/null
		ip netns del "peer$i"
	fi
done
cmds=()
for ((i = 0; i <= NUM_PEERS; i++)); do
	cmds+=("netns add peer$i")
done
ipbatch "create the namespaces" "" "${cmds[@]}"
nodad=
[ "$ipv6" = 1 ] && nodad=" nodad"
cmds=("link set lo up")
for ((n = 1; n <= NUM_PEERS; n++)); do
	cmds+=("link add veth$n type veth peer name veth$n netns peer$n"
		"addr add $(ul_addr "$n" 1)/$(ul_plen) dev veth$n$nodad"
		"link set veth$n up")
done
ipbatch "underlay in peer0" peer0 "${cmds[@]}"
for ((n = 1; n <= NUM_PEERS; n++)); do
	ipbatch "underlay in peer$n" "peer$n" "link set lo up" \
		"addr add $(ul_addr "$n" 2)/$(ul_plen) dev veth$n$nodad" \
		"link set veth$n up"
done
for ((n = 1; n <= NUM_PEERS; n++)); do
	run "underlay reachable from peer0 to peer$n" \
		inns peer0 ping -U -c 1 -W 5 "$(ul_addr "$n" 2)"
done

step "ovpn-dco devices"
# The tunnel addresses and link state of namespace peerX's tun0.
tun_cmds() {
	cmds+=("addr add $(vpn4 "$1")/24 dev tun0"
		"addr add $(vpn6 "$1")/64 dev tun0 nodad"
		"link set tun0 up")
}
cmds=()
if [ "$mp" = 1 ]; then
	run "MP device tun0 in peer0" inns peer0 "$CLI" new_iface tun0 MP
else
	cmds+=("link add tun0 type ovpn-dco")
fi
tun_cmds 0
ipbatch "tun0 in peer0" peer0 "${cmds[@]}"
run "device details" ip -n peer0 -d link show tun0
for ((n = 1; n <= NUM_PEERS; n++)); do
	cmds=("link add tun0 type ovpn-dco")
	tun_cmds "$n"
	ipbatch "P2P device tun0 in peer$n" "peer$n" "${cmds[@]}"
done

# TCP: the output file of the ovpn-cli holding the socket of end SIDE (0:
# peer0, N: client N) of client N's tunnel.  Usage: tcp_out N SIDE
tcp_out() { echo "$TMPD/tcp-$1-$2.out"; }

# TCP: starts, in the background, ovpn-cli new_peer ... --hold with its
# output in OUT (stderr in OUT.err).  Usage: start_tcp_peer OUT NS args...
start_tcp_peer() {
	local out=$1 ns=$2
	shift 2
	echo "+ ip netns exec $ns $CLI $* >$out &"
	# Not through inns: $! must be ovpn-cli itself (ip netns exec execs
	# it), not a subshell, for cleanup's kill.
	ip netns exec "$ns" "$CLI" "$@" >"$out" 2>"$out.err" &
	BG_PIDS+=($!)
}

# TCP: waits until the ovpn-cli of output file OUT, process PID, prints
# its "ready" line; fails if it exits or READY_TIMEOUT expires first.
# Usage: wait_ready WHAT OUT PID
wait_ready() {
	local what=$1 out=$2 pid=$3 rc deadline=$((SECONDS + READY_TIMEOUT))
	while ! grep -q '^ready ' "$out" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			rc=$?
			indent "$(cat "$out" "$out.err" 2>/dev/null)"
			fail "$what (exit status $rc before 'ready')"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			indent "$(cat "$out" "$out.err" 2>/dev/null)"
			fail "$what (no 'ready' within ${READY_TIMEOUT}s)"
		fi
		sleep 0.1
	done
	echo "    $what: $(grep -m1 '^ready ' "$out")"
}

step "peers"
if [ "$tcp" = 1 ]; then
	# The listeners first, then the clients (which retry connecting anyway).
	for ((n = 1; n <= NUM_PEERS; n++)); do
		start_tcp_peer "$(tcp_out "$n" 0)" peer0 new_peer tun0 "$n" "$(tcp_server_port "$n")" \
			"$(ul_addr "$n" 2)" 0 "$(vpn4 "$n")" "$(vpn6 "$n")" --tcp listen --hold \
			--send-ctl "$(ctl_frame "$n" 0)" --send-ctl-after "$CTL_DELAY"
	done
	for ((n = 1; n <= NUM_PEERS; n++)); do
		start_tcp_peer "$(tcp_out "$n" "$n")" "peer$n" new_peer tun0 "$n" "$(client_port "$n")" \
			"$(ul_addr "$n" 1)" "$(tcp_server_port "$n")" "$(vpn4 0)" "$(vpn6 0)" \
			--tcp connect --hold \
			--send-ctl "$(ctl_frame "$n" "$n")" --send-ctl-after "$CTL_DELAY"
	done
	i=0
	for ((n = 1; n <= NUM_PEERS; n++)); do
		wait_ready "new_peer --tcp listen on peer0 for peer $n" "$(tcp_out "$n" 0)" \
			"${BG_PIDS[i]}"
		wait_ready "new_peer --tcp connect on peer$n" "$(tcp_out "$n" "$n")" \
			"${BG_PIDS[i + NUM_PEERS]}"
		i=$((i + 1))
	done
elif [ "$mp" = 1 ]; then
	PEERS=$TMPD/udp_peers.txt
	{
		echo "# <peer_id> <raddr> <rport> <vpnaddr> <vpnaddr6>"
		for ((n = 1; n <= NUM_PEERS; n++)); do
			echo "$n $(ul_addr "$n" 2) $(client_port "$n") $(vpn4 "$n") $(vpn6 "$n")"
		done
	} >"$PEERS"
	echo "peers file $PEERS:"
	indent "$(<"$PEERS")"
	v6opt=()
	[ "$ipv6" = 1 ] && v6opt=(--ipv6)
	run "new_multi_peer on peer0" \
		inns peer0 "$CLI" new_multi_peer tun0 "$SERVER_PORT" "$PEERS" "${v6opt[@]}"
else
	run "new_peer on peer0" \
		inns peer0 "$CLI" new_peer tun0 1 "$SERVER_PORT" "$(ul_addr 1 2)" "$(client_port 1)" \
		"$(vpn4 1)" "$(vpn6 1)"
fi
if [ "$tcp" = 0 ]; then
	for ((n = 1; n <= NUM_PEERS; n++)); do
		run "new_peer on peer$n" \
			inns "peer$n" "$CLI" new_peer tun0 "$n" "$(client_port "$n")" "$(ul_addr "$n" 1)" \
			"$SERVER_PORT" "$(vpn4 0)" "$(vpn6 0)"
	done
fi
echo "+ ip netns exec peer0 $CLI get_peer tun0"
dump=$(inns peer0 "$CLI" get_peer tun0 2>&1) || fail "get_peer dump on peer0: $dump"
indent "$dump"
listed=0
while read -r line; do
	[[ $line == id=* ]] && listed=$((listed + 1))
done <<<"$dump"
[ "$listed" = "$NUM_PEERS" ] || fail "peer0 lists $listed peer(s), expected $NUM_PEERS"

step "keys ($cipher, $key_bits bits, key id $KEY_ID, primary slot)"
for ((n = 1; n <= NUM_PEERS; n++)); do
	run "new_key on peer0 for peer $n (key direction 0)" \
		inns peer0 "$CLI" new_key tun0 "$n" "$KEY_SLOT" "$KEY_ID" "$cipher" 0 "$KEY" \
		"${key_opts[@]}"
	run "new_key on peer$n (key direction 1)" \
		inns "peer$n" "$CLI" new_key tun0 "$n" "$KEY_SLOT" "$KEY_ID" "$cipher" 1 "$KEY" \
		"${key_opts[@]}"
done

step "traffic through the tunnel"
# ping -U: without it ping sets SO_TIMESTAMP, and each ping process flips
# the kernel's timestamping static key on and off; under the emulated
# test VM every such code patch risks a spurious int3 oops.
ping=(ping -U)
if [ -n "$PING_INTERVAL" ]; then
	flood=(-i "$PING_INTERVAL")
	flood_what="paced ping (every ${PING_INTERVAL} s)"
else
	flood=(-f)
	flood_what="flood ping"
fi
for ((n = 1; n <= NUM_PEERS; n++)); do
	v4=$(vpn4 "$n")
	v6=$(vpn6 "$n")
	run "IPv4 ping peer0 -> peer$n ($v4)" \
		inns peer0 "${ping[@]}" -c 3 -i 0.2 -W 2 "$v4"
	run "IPv4 $flood_what peer0 -> peer$n ($PING_COUNT packets)" \
		inns peer0 "${ping[@]}" -q "${flood[@]}" -c "$PING_COUNT" -w "$PING_DEADLINE" "$v4"
	run "IPv6 $flood_what peer0 -> peer$n ($PING_COUNT packets)" \
		inns peer0 "${ping[@]}" -6 -q "${flood[@]}" -c "$PING_COUNT" -w "$PING_DEADLINE" "$v6"
	run "IPv4 ping peer$n -> peer0 ($(vpn4 0))" \
		inns "peer$n" "${ping[@]}" -c 3 -i 0.2 -W 2 "$(vpn4 0)"
	run "IPv6 ping peer$n -> peer0 ($(vpn6 0))" \
		inns "peer$n" "${ping[@]}" -6 -c 3 -i 0.2 -W 2 "$(vpn6 0)"
done

# Prints the value of KEY in a get_peer line ("k=v k=v ..."); fails if
# absent.  Usage: field KEY LINE
field() {
	local kv kvs
	read -ra kvs <<<"$2"
	for kv in "${kvs[@]}"; do
		if [ "${kv%%=*}" = "$1" ]; then
			echo "${kv#*=}"
			return 0
		fi
	done
	return 1
}

# Checks the counters GET_PEER reports for peer ID in namespace NS: every
# byte counter nonzero, every packet counter at least MIN_PACKETS.
check_counters() {
	local ns=$1 id=$2 line key v
	echo "+ ip netns exec $ns $CLI get_peer tun0 $id"
	line=$(inns "$ns" "$CLI" get_peer tun0 "$id" 2>&1) ||
		fail "get_peer $id in $ns: $line"
	echo "    $line"
	for key in vpn_rx_bytes vpn_tx_bytes link_rx_bytes link_tx_bytes; do
		v=$(field "$key" "$line") || fail "$ns peer $id: get_peer shows no $key"
		[ "$v" -gt 0 ] || fail "$ns peer $id: $key is $v after the pings"
	done
	for key in vpn_rx_packets vpn_tx_packets link_rx_packets link_tx_packets; do
		v=$(field "$key" "$line") || fail "$ns peer $id: get_peer shows no $key"
		[ "$v" -ge "$MIN_PACKETS" ] ||
			fail "$ns peer $id: $key is $v, expected at least $MIN_PACKETS after the pings"
	done
}

step "peer counters (GET_PEER)"
for ((n = 1; n <= NUM_PEERS; n++)); do
	check_counters peer0 "$n"
	check_counters "peer$n" "$n"
done

# TCP: checks that the end whose ovpn-cli writes to OUT wrote its control
# frame ("sent-ctl"), read exactly the frame WANT (hex) from its socket,
# possibly in several chunks, and saw neither the end of the stream nor a
# read error.  Waits up to CTL_DELAY + 10 seconds for the frame.
# Usage: check_ctl WHAT OUT WANT
check_ctl() {
	local what=$1 out=$2 want=$3 got line sent deadline
	deadline=$((SECONDS + ${CTL_DELAY%.*} + 10))
	while :; do
		got= sent=0
		while read -r line; do
			case $line in
			ctl\ *) got+=${line#ctl } ;;
			sent-ctl\ *) sent=1 ;;
			eof | read-error\ *)
				indent "$(cat "$out" "$out.err")"
				fail "$what: the TCP socket reported '$line'"
				;;
			esac
		done <"$out"
		[ "$sent" = 1 ] && [ "$got" = "$want" ] && break
		if [ "$SECONDS" -ge "$deadline" ] || [ "${#got}" -gt "${#want}" ]; then
			indent "$(cat "$out" "$out.err")"
			[ "$sent" = 1 ] || fail "$what: the control frame was not sent"
			fail "$what: read '$got' from the TCP socket, expected '$want'"
		fi
		sleep 0.2
	done
	echo "    $what: sent its control frame and read $want"
}

if [ "$tcp" = 1 ]; then
	step "control frames through the TCP sockets"
	for ((n = 1; n <= NUM_PEERS; n++)); do
		check_ctl "peer0 (peer $n)" "$(tcp_out "$n" 0)" "$(ctl_frame "$n" "$n")"
		check_ctl "peer$n" "$(tcp_out "$n" "$n")" "$(ctl_frame "$n" 0)"
	done
fi

echo
echo "PASS: ovpn-dco netns test ($mode_desc, $transport transport, cipher $cipher-$key_bits) in ${SECONDS}s"
exit 0
