#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the test VM (virtme-ng under QEMU/TCG: KVM does not work on these
# machines) on the kernel tree KDIR and runs a scenario script inside it.
#
#   tests/vm/run.sh KDIR SCRIPT LOG [TIMEOUT_SECONDS [SCRIPT_ARGS...]]
#
# The guest sees the host's file system (so the repository, the module and
# the test tools are there); it has no network device to the outside, and
# all test traffic stays between network namespaces inside it.  The guest's
# whole console goes to LOG; its "RESULT ..." lines are printed here.  The
# verdict comes from those lines, never from vng's exit status.
set -uo pipefail

KDIR=${1:?usage: run.sh KDIR SCRIPT LOG [TIMEOUT]}
SCRIPT=${2:?}
LOG=${3:?}
TMO=${4:-2400}
shift 4 2>/dev/null || shift $#
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/env.sh"

# no5lvl: with 5-level paging (which QEMU's TCG CPU offers) this debug
# kernel takes a spurious early interrupt during boot that KASAN reports as
# a wild write in handle_edge_irq, sometimes followed by a panic; 4-level
# paging boots clean.
# vCPUs: with two vCPUs under multi-threaded TCG, live code patching
# (static keys, patched with int3) now and then lets a vCPU execute the
# temporary int3 and the guest dies ("Oops: int3" in sched_clock_cpu at
# boot, in __netif_receive_skb_core when ping toggles timestamping).
# Single-threaded TCG (OVPN_VM_CPUS > 1, below) runs the vCPUs in turn on
# one host thread, so no vCPU sees another's patch half done, while the
# guest's kernel is SMP: a second CPU for RCU, locks and work items.
# Speed (every process start costs seconds in this guest, most of it in
# the debug kernel's exec and page faults under TCG):
# norandmaps: the same library lands at the same address in every process,
#   so TCG reuses the code it translated for the last process (TCG looks
#   translations up by virtual address); process starts get ~2x faster.
# rootflags=...cache=loose: the guest caches what it read over 9p (the
#   host's files do not change during a run); the root is mounted read-only.
# --memory 1G: kmemleak scans every struct page, so its scans get faster.
# cryptd.cryptd_max_cpu_qlen=16: cryptd (used only where a scenario
#   instantiates it, dp-async-crypto) has a short queue that a flood
#   overruns, as a crypto engine's would.
GUEST_APPEND="no5lvl norandmaps rootflags=version=9p2000.L,trans=virtio,access=any,msize=512000,cache=loose cryptd.cryptd_max_cpu_qlen=16"
# The guest's command goes in a file next to LOG, not on the kernel
# command line: that holds 2048 bytes, and a longer one is cut short,
# losing init= (the guest then boots the host's systemd and runs nothing).
CMD_FILE=$(cd "$(dirname "$LOG")" && pwd)/$(basename "$LOG" .log).guest.sh
{
	printf 'export REPO=%q KDIR=%q PATH=%q OVPN_VM_SCENARIOS=%q\n' \
		"$REPO" "$KDIR" "$PATH" "${OVPN_VM_SCENARIOS:-}"
	printf 'bash %q %q' "$SCRIPT" "$REPO"
	printf ' %q' "$@"
	printf '\necho GUEST-DONE\n'
} >"$CMD_FILE"
guest_cmd="bash '$CMD_FILE'"
# OVPN_VM_CPUS=N (N > 1): N vCPUs under single-threaded TCG, which
# interleaves them on one host thread: SMP for the guest's kernel (RCU,
# locks, work items on other CPUs), without the cross-thread code
# patching race of multi-threaded TCG.
CPUS=${OVPN_VM_CPUS:-2}
qemu_opts=()
[ "$CPUS" -le 1 ] || qemu_opts=("--qemu-opts=-accel tcg,thread=single")
timeout --foreground -k 10 "$TMO" \
	vng --run "$KDIR" --disable-kvm --cpus "$CPUS" "${qemu_opts[@]}" --memory 1G --verbose \
		--append "$GUEST_APPEND" --exec "$guest_cmd" </dev/null >"$LOG" 2>&1
status=$?
tr -d '\r' <"$LOG" | grep -E '^RESULT (PASS|FAIL) ' || true
if ! tr -d '\r' <"$LOG" | grep -q '^GUEST-DONE'; then
	# Name the scenario that was running when the guest stopped.
	last=$(tr -d '\r' <"$LOG" | grep -E '^(=== |RESULT )' | tail -n1)
	case $last in
	"=== "*) echo "RESULT FAIL ${last#=== }: the guest stopped while it ran (vng status $status)" ;;
	esac
	echo "RESULT FAIL $(basename "$LOG" .log): the guest did not finish (vng status $status); see $LOG"
fi
