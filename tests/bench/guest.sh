#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The full benchmark, run inside the test VM by tests/bench/bench.sh:
# BENCH_REPS repetitions; in each, every system and cipher once (the order
# rotated from one repetition to the next, so that drift over the run
# hits every system alike), then the AEAD limit (tcrypt) and the MP scale
# part (this module and the C driver; BENCH_SCALE peer counts, empty to
# skip) and the goodput to one peer of an MP server holding 1 and
# BENCH_MP_PEERS (1000) peers.  Prints BENCH and BENCH-NA lines (see
# lib-bench.sh), BENCH-DONE after each unit and, at the end, whether the
# kernel log stayed clean.
set -u
REPO=${1:?usage: guest.sh REPO}
. "$REPO/tests/vm/lib.sh"
. "$REPO/tests/bench/lib-bench.sh"
: "${BENCH_REPS:=3}"
: "${BENCH_SYSTEMS:=dco dcotcp ovpn ovpntcp wireguard openvpn veth}"

# Every system with each cipher it supports.
combos=()
for s in $BENCH_SYSTEMS; do
	case $s in
	dco | dcoinline | dcoqueued | dcotxwork | ovpn | openvpn) combos+=("$s aes" "$s chacha") ;;
	dcotcp | ovpntcp) combos+=("$s aes") ;;
	wireguard) combos+=("$s chacha") ;;
	veth) combos+=("$s none") ;;
	esac
done
n=${#combos[@]}

# A unit of the run: prints "=== <unit>", runs it and then BENCH-DONE
# <unit>.  A unit listed in the file BENCH_SKIP was measured by an earlier
# boot of this run that died (bench.sh boots the guest again and keeps the
# figures of the units that finished before; see there), and is skipped.
unit() {
	local key=$1
	shift
	if [ -n "${BENCH_SKIP:-}" ] && grep -qxF -- "$key" "$BENCH_SKIP" 2>/dev/null; then
		echo "=== $key: measured by an earlier boot"
		return
	fi
	echo "=== $key ($(date +%T))"
	"$@"
	echo "BENCH-DONE $key"
}

hold_timestamps
echo "BENCH-INFO cpus $(nproc) kernel $(uname -r) t $BENCH_T reps $BENCH_REPS"
echo "BENCH-INFO cpu-model $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
for rep in $(seq "$BENCH_REPS"); do
	for i in $(seq 0 $((n - 1))); do
		set -- ${combos[$(((i + rep - 1) % n))]}
		unit "rep $rep: $1 $2" bench_one "$rep" "$1" "$2"
	done
	unit "rep $rep: aead" bench_aead "$rep"
	# BENCH_SCALE_ONCE=1: the scale part in the first repetition only (it
	# starts one client process per key, thousands in all).
	if [ -n "${BENCH_SCALE-1 100 1000}" ] && { [ "${BENCH_SCALE_ONCE:-0}" = 0 ] || [ "$rep" = 1 ]; }; then
		for s in dco ovpn; do
			unit "rep $rep: MP scale $s" bench_scale "$rep" $s
		done
	fi
	# Goodput to one peer with 1 and with BENCH_MP_PEERS peers installed.
	for s in dco ovpn; do
		for npeers in 1 ${BENCH_MP_PEERS-1000}; do
			unit "rep $rep: MP goodput $s, $npeers peers" bench_mp_tput "$rep" $s "$npeers"
		done
	done
done

klog=$(new_klog)
if grep -Eq "$SPLAT_RE" <<<"$klog"; then
	printf '%s\n' "$klog" | grep -E -A25 "$SPLAT_RE" | head -n 60 | sed 's/^/  ! /'
	echo "BENCH-INFO klog splat during the benchmark"
else
	echo "BENCH-INFO klog clean"
fi
echo "BENCH-END"
