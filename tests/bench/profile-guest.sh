#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the time goes: for each system of PROFILE_SYSTEMS (default: this
# module over UDP and over TCP, and the C ovpn driver), one TCP stream
# through the tunnel (iperf3, PROFILE_T seconds) while perf samples every
# CPU of the guest (software clock: TCG has no PMU).  Prints the goodput
# and the hottest kernel symbols, flat, by module and by task, as
# "PROFILE <system> ..." lines.  Run in the test VM by
# tests/bench/bench.sh --profile.
set -u
REPO=${1:?usage: profile-guest.sh REPO}
. "$REPO/tests/vm/lib.sh"
. "$REPO/tests/bench/lib-bench.sh"
: "${PROFILE_SYSTEMS:=dco dcotcp ovpn}"
: "${PROFILE_CIPHER:=aes}"
: "${PROFILE_T:=8}"
: "${PROFILE_TOP:=40}"
BENCH_T=$PROFILE_T

command -v perf >/dev/null || { echo "PROFILE-NA perf is not installed"; exit 0; }
# Kernel symbols for perf, modules included.
sysctl -qw kernel.kptr_restrict=0 kernel.perf_event_paranoid=-1
hold_timestamps

for sys in $PROFILE_SYSTEMS; do
	echo "=== profile $sys $PROFILE_CIPHER ($(date +%T))"
	cleanup_all
	DST=
	if ! up_"$sys" "$PROFILE_CIPHER" >"$BENCH_WORK/setup.log" 2>&1 || [ -z "$DST" ]; then
		echo "PROFILE-NA $sys setup failed: $(tail -n 1 "$BENCH_WORK/setup.log")"
		continue
	fi
	nsx peer0 ping -q -c 3 -i 0.3 -W 5 "$DST" >/dev/null 2>&1
	iperf_server || { echo "PROFILE-NA $sys iperf3 server"; continue; }
	data=$BENCH_WORK/perf-$sys.data
	# Half-way through, the state of the TCP connections carrying the
	# tunnel (dcotcp) and of the inner stream: queues, windows, rates.
	(sleep $((PROFILE_T / 2 + 1))
		for i in 0 1; do
			ip netns exec peer$i ss -tinmH 2>/dev/null | paste -sd' ' | tr -s ' \t' ' ' |
				sed "s/^/PROFILE $sys ss peer$i /"
		done) &
	sampler=$!
	# perf runs the client, so that the samples cover the whole stream.
	ip netns exec peer0 timeout -k 5 $((PROFILE_T + 60)) \
		perf record -q -a -e cpu-clock -F 499 -o "$data" -- \
		iperf3 -c "$DST" -t "$PROFILE_T" -J >"$BENCH_WORK/iperf.json" 2>"$BENCH_WORK/iperf.err"
	wait $sampler
	echo "PROFILE $sys goodput_mbps $(jq -r '.end.sum_received.bits_per_second // 0 | . / 1e6 | floor' \
		"$BENCH_WORK/iperf.json" 2>/dev/null)"
	# Retransmissions of the inner stream and the device's drop counters.
	jq -r '"PROFILE '"$sys"' retransmits \(.end.sum_sent.retransmits // "n/a")"' \
		"$BENCH_WORK/iperf.json" 2>/dev/null
	for i in 0 1; do
		echo "PROFILE $sys peer$i drops $(nonzero_drops peer$i)"
	done
	# Kernel symbols only: the user-space tools are not what is measured.
	perf report -i "$data" --stdio --no-children --sort sym 2>/dev/null |
		grep -E '^ +[0-9].*\[k\]' | head -n "$PROFILE_TOP" | sed "s/^/PROFILE $sys sym /"
	perf report -i "$data" --stdio --no-children --sort dso 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 12 | sed "s/^/PROFILE $sys dso /"
	# Which tasks ran, and how much of the two vCPUs stayed idle (swapper).
	perf report -i "$data" --stdio --no-children --sort comm 2>/dev/null |
		grep -E '^ +[0-9]' | head -n 12 | sed "s/^/PROFILE $sys comm /"
	rm -f "$data"
	cleanup_all
done
echo "PROFILE-END"
