#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's smoke mode, a scenario file for the test VM (run by
# tests/vm/all.sh in the project's one boot, or by tests/bench/bench.sh
# --smoke): one short run (iperf3 2 s, one repetition, one cipher) of
# every system the benchmark compares, so that the benchmark cannot rot.
# A system passes when it was set up and every figure was measured (and
# the kernel log stayed clean, as for every scenario); it fails when a
# figure is missing, the selftests' C client included: a system that
# cannot be measured fails here rather than vanish from the table.
set -u
REPO=${1:?usage: smoke-guest.sh REPO}
. "$REPO/tests/vm/lib.sh"
BENCH_T=${BENCH_T:-2}
# In the debug guest an unlimited flood of 64-byte datagrams starves the
# one vCPU for long after the test; the smoke offers ~2000 packets/s.
# tcrypt: only mode 213 (16 one-second runs; mode 211's gcm(aes) takes 96,
# and its parsing is the same code).
BENCH_UDP_RATE=${BENCH_UDP_RATE:-1M}
# Tunnels carry well under 1 Mbit/s in the debug guest: with iperf3's
# default buffers the data still queued at the end of a 2-second run takes
# minutes to drain, and the server closes the connection under it
# ("Broken pipe").  A 32 KiB window drains in about a second.
BENCH_TCP_WINDOW=${BENCH_TCP_WINDOW:-32K}
BENCH_AEAD_MODES=${BENCH_AEAD_MODES:-213}
# The selftests' client of the C ovpn driver, as tests/bench/build-c-cli.sh
# caches it for the kernel tree the VM runs.
: "${OVPN_DCO_CACHE:=/var/lib/ovpn-dco}"
if [ -z "${CCLI:-}" ] && [ -n "${KDIR:-}" ]; then
	CCLI=$OVPN_DCO_CACHE/bench/ovpn-cli-c-$(basename "$KDIR")
fi
# tcrypt.ko as tests/bench/build-tcrypt.sh caches it, unless the tree has
# its own.
if [ -z "${TCRYPT_KO:-}" ] && [ -n "${KDIR:-}" ] && [ ! -f "$KDIR/crypto/tcrypt.ko" ]; then
	TCRYPT_KO=$OVPN_DCO_CACHE/bench/tcrypt-$(basename "$KDIR")/tcrypt.ko
fi
# Not built (tests/run-all.sh does not build it): build it here, into the
# guest's /tmp, if the host has the libraries.
if [ -n "${KDIR:-}" ] && [ ! -x "${CCLI:-}" ]; then
	echo "=== building the selftests' ovpn-cli in the guest"
	CCLI=$(OVPN_DCO_CACHE=/tmp/bench-cache bash "$REPO/tests/bench/build-c-cli.sh" "$KDIR" 2>/tmp/bench-c-cli.log) ||
		{ CCLI=; tail -n 5 /tmp/bench-c-cli.log; }
fi
. "$REPO/tests/bench/lib-bench.sh"

s_dco() { bench_one 1 dco aes; }
s_dcotcp() { bench_one 1 dcotcp aes; }
s_dcoinline() { bench_one 1 dcoinline aes; }
s_dcoqueued() { bench_one 1 dcoqueued aes; }
s_dcotxwork() { bench_one 1 dcotxwork aes; }
s_ovpn() { bench_one 1 ovpn aes; }
s_ovpntcp() { bench_one 1 ovpntcp aes; }
s_wireguard() { bench_one 1 wireguard chacha; }
s_openvpn() { bench_one 1 openvpn aes; }
s_veth() { bench_one 1 veth none; }
s_aead() { bench_aead 1; }
s_scale() { BENCH_SCALE=5 bench_scale 1 dco && BENCH_SCALE=5 bench_scale 1 ovpn; }
s_mp_tput() { bench_mp_tput 1 dco 5 && bench_mp_tput 1 ovpn 5; }

# Not a figure but the steering's rule for a bulk sender, which needs
# the release kernel's speed: packets from a peer that is being sent bulk
# (64 KiB in a run without a 10 ms pause) go through its RX work, however
# sparse; without the bulk send the same packets stay inline.  peer1
# pings peer0 every 100 ms, first alone, then while peer0 sends
# 1300-byte UDP datagrams to peer1, 8 every 2 ms or so, which are
# dropped as they cross the veth (peer1's side gets an MTU of 600), so
# that only the sender works.  In a guest too slow to send 100 packets a
# second (the debug kernel's), nothing is bulk by the rule: the scenario
# says so and checks only the first half.
s_steer_bulk_send() {
	local n=20 q a b dq drx tx t0 t1 pps fl
	cleanup_all
	DST=
	up_dco aes >"$BENCH_WORK/setup.log" 2>&1 || { cat "$BENCH_WORK/setup.log"; return 1; }
	q=$(drop_stat peer0 rx_queued) || return 1
	ip netns exec peer1 ping -q -c $n -i 0.1 -W 2 5.5.5.1 >/dev/null || return 1
	dq=$(($(drop_stat peer0 rx_queued) - q))
	check "sparse pings to an idle peer are not queued ($dq)" '[ "$dq" = 0 ]' || return 1
	ip -n peer1 link set veth1 mtu 600 || return 1
	ip netns exec peer0 timeout 60 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    for i in range(8):
        s.sendto(bytes(1300), ("5.5.5.2", 9))
    time.sleep(0.002)' >/dev/null 2>&1 &
	fl=$!
	sleep 1
	q=$(drop_stat peer0 rx_queued) && a=$(peer_line peer0) || return 1
	t0=$(date +%s%N)
	ip netns exec peer1 ping -q -c $n -i 0.1 -W 2 5.5.5.1 >/dev/null
	t1=$(date +%s%N)
	dq=$(($(drop_stat peer0 rx_queued) - q))
	b=$(peer_line peer0)
	kill $fl 2>/dev/null
	wait $fl 2>/dev/null
	drx=$(($(field vpn_rx_packets "$b") - $(field vpn_rx_packets "$a")))
	tx=$(($(field vpn_tx_packets "$b") - $(field vpn_tx_packets "$a")))
	pps=$((tx * 1000000000 / (t1 - t0)))
	echo "peer0 while sending ($tx packets sent, $pps/s): $drx received, $dq through the RX work"
	cleanup_all
	if [ "$pps" -lt 100 ]; then
		echo "the guest sends $pps packets a second: no bulk send to check against"
		return 0
	fi
	check "pings to a bulk sender received ($drx)" '[ "$drx" -ge $n ]' || return 1
	# A pause of the sender of 10 ms or more (the guest's scheduler under
	# TCG) ends its bulk run by the rule, and a ping may then come before
	# the next 64 KiB: with one datagram a millisecond, 19 and then 10 of
	# 20 were seen on a slow host (2026-12-03), hence the bursts.  Without
	# the rule none is queued (0 of 20, see issue 5's notes).
	check "and at least 3/4 of them through the RX work ($dq)" '[ $((4 * dq)) -ge $((3 * n)) ]'
}

scenario bench-smoke-dco s_dco
scenario bench-smoke-steer-bulk-send s_steer_bulk_send
scenario bench-smoke-dcotcp s_dcotcp
scenario bench-smoke-dcoinline s_dcoinline
scenario bench-smoke-dcoqueued s_dcoqueued
scenario bench-smoke-dcotxwork s_dcotxwork
scenario bench-smoke-ovpn s_ovpn
scenario bench-smoke-ovpntcp s_ovpntcp
scenario bench-smoke-wireguard s_wireguard
scenario bench-smoke-openvpn s_openvpn
scenario bench-smoke-veth s_veth
scenario bench-smoke-aead s_aead
scenario bench-smoke-mp-scale s_scale
scenario bench-smoke-mp-goodput s_mp_tput
finish
