# SPDX-License-Identifier: GPL-2.0
# Helpers for scripts that run inside the test VM (sourced).
#
# Each scenario is a shell function run by `scenario NAME FUNC`; it passes
# when the function returns 0 and the kernel log stays clean: no splat
# (BUG, WARNING, KASAN, lockdep, RCU, atomic-sleep reports) and no new
# kmemleak report.  Results are printed as lines the host harness reads:
#   RESULT PASS <name>
#   RESULT FAIL <name>: <why>

: "${REPO:?REPO must point at the repository}"
CLI=$REPO/target/release/ovpn-cli
MOD=$REPO/ovpn-dco-v2.ko
KMEMLEAK=/sys/kernel/debug/kmemleak

# Real kernel reports only; the guest's harmless "Warning: ..." lines at
# boot do not match.
SPLAT_RE='BUG:|WARNING:|KASAN:|UBSAN:|Oops|general protection fault|Kernel panic|kernel BUG|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|unreferenced object|refcount_t:|list_(add|del) corruption|rust_panic|panicked at|leaked reference|unregister_netdevice: waiting'

log_pos=0

# Prints the kernel log lines added since the last call.
new_klog() {
	local all
	all=$(dmesg)
	printf '%s\n' "$all" | tail -n +$((log_pos + 1))
	log_pos=$(printf '%s\n' "$all" | wc -l)
}

# For checks inside a scenario: `mark` remembers the end of the kernel
# log, `klog_since` prints what was logged after it.
mark() { KMARK=$(dmesg | wc -l); }
klog_since() { dmesg | tail -n +$((KMARK + 1)); }

kmemleak_ready() { [ -w "$KMEMLEAK" ]; }

# Clears what kmemleak found so far (boot-time noise) and starts a clean
# slate for the next scenario.
kmemleak_reset() {
	kmemleak_ready || return 0
	echo scan >"$KMEMLEAK" 2>/dev/null
	echo clear >"$KMEMLEAK" 2>/dev/null
}

# Prints kmemleak's report of leaks since the last check, then clears it.
# Objects younger than ~5 s are never reported, so this first waits until
# 6 s have passed since second $1 (of $SECONDS; default: now).  What was
# allocated later is seen by the next check.  (A scan takes ~10 s in the
# debug guest under TCG.)
kmemleak_check() {
	kmemleak_ready || return 0
	local wait=$((6 - (SECONDS - ${1:-$SECONDS})))
	[ "$wait" -le 0 ] || sleep "$wait"
	echo scan >"$KMEMLEAK" 2>/dev/null
	cat "$KMEMLEAK" 2>/dev/null
	echo clear >"$KMEMLEAK" 2>/dev/null
}

# Asserts that a shell condition holds; on failure prints what was
# expected.  Usage: check "description" 'shell condition'
check() {
	local what=$1
	shift
	if ! eval "$*"; then
		echo "  check failed: $what [$*]" >&2
		return 1
	fi
}

# Runs a command and checks its exit status and (optionally) that its
# stderr+stdout contain a string.
# Usage: expect_rc RC "substring-or-empty" command args...
expect_rc() {
	local want=$1 needle=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "  '$*' exited $rc, expected $want; output: $out" >&2
		return 1
	fi
	if [ -n "$needle" ] && ! grep -qF -- "$needle" <<<"$out"; then
		echo "  '$*' output lacks '$needle': $out" >&2
		return 1
	fi
	return 0
}

# Boot-time kmemleak reports are not ours (when the VM runs several
# scenario files, tests/vm/all.sh has done this once, at boot).
[ -n "${OVPN_VM_ONE_BOOT:-}" ] || kmemleak_reset

# Runs scenario NAME (function FUNC) and prints its result.
scenario() {
	local name=$1 func=$2 out rc klog leaks why=""
	# A run limited to some scenarios (OVPN_VM_SCENARIOS, see run-all.sh)
	# names the others as skipped; the harness's own checks always run.
	if [ -n "${OVPN_VM_SCENARIOS:-}" ] && [[ $name != harness-* ]] &&
		[[ " $OVPN_VM_SCENARIOS " != *" $name "* ]]; then
		echo "SKIPPED $name"
		return 0
	fi
	echo "=== $name"
	# (The previous scenario, or file, cleaned up after itself.)
	new_klog >/dev/null
	local t0=$SECONDS t1 t2
	out=$("$func" 2>&1)
	rc=$?
	t1=$SECONDS
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  | /'
	[ "$rc" = 0 ] || why="scenario exited $rc"
	cleanup_all
	t2=$SECONDS
	# The run's objects have aged during the cleanup.
	leaks=$(kmemleak_check "$t1")
	klog=$(new_klog)
	verdict "$name" "$why" "$leaks" "$klog" \
		"$((SECONDS - t0)) s: run $((t1 - t0)), cleanup $((t2 - t1)), kmemleak $((SECONDS - t2))"
}

# Prints the result line of NAME, which fails for WHY (unless empty), for
# a splat in the kernel log KLOG or for kmemleak's report LEAKS (both
# shown); TIMING, if given, is printed first.
# Usage: verdict NAME WHY LEAKS KLOG [TIMING]
verdict() {
	local name=$1 why=$2 leaks=$3 klog=$4 timing=${5:-}
	if grep -Eq "$SPLAT_RE" <<<"$klog"; then
		why="${why:+$why; }kernel log shows a splat"
		printf '%s\n' "$klog" | grep -E -A25 "$SPLAT_RE" | head -n 60 | sed 's/^/  ! /'
	fi
	if [ -n "$leaks" ]; then
		why="${why:+$why; }kmemleak reports leaks"
		printf '%s\n' "$leaks" | head -n 40 | sed 's/^/  ! /'
	fi
	[ -z "$timing" ] || echo "  ($timing)"
	if [ -z "$why" ]; then
		echo "RESULT PASS $name"
	else
		echo "RESULT FAIL $name: $why"
	fi
}

# Checks that the verdict machinery works: a scenario whose kernel log
# shows a splat must fail even though its function succeeds.  The "splat"
# is a line written to /dev/kmsg, so no kernel state is harmed.
harness_selftest() {
	local out
	_fake_splat() { echo "BUG: ovpn-dco harness self-test, not a real report" >/dev/kmsg; }
	out=$(scenario harness-fake-splat _fake_splat)
	if grep -q '^RESULT FAIL harness-fake-splat: kernel log shows a splat' <<<"$out"; then
		echo "RESULT PASS harness-detects-splats"
	else
		echo "RESULT FAIL harness-detects-splats: a logged BUG went unnoticed"
		printf '%s\n' "$out" | sed 's/^/  | /'
	fi
}

# The MP topology of t-mp.sh and t-openvpn.sh: namespace c$1 joined to
# namespace srv (created if need be) by its own veth, 10.10.$1.2 and
# fd00:0:0:$1::2 on veth0 in c$1 facing 10.10.$1.1 and fd00:0:0:$1::1 on
# v$1 in srv.  (ip batches: every process start is slow in the guest.)
add_link() {
	local i=$1
	[ -e /run/netns/srv ] || ip netns add srv || return 1
	ip netns add c$i || return 1
	ip link add v$i netns srv type veth peer name veth0 netns c$i || return 1
	printf '%s\n' "link set lo up" "addr add 10.10.$i.1/24 dev v$i" \
		"addr add fd00:0:0:$i::1/64 dev v$i nodad" "link set v$i up" |
		ip -n srv -batch - || return 1
	printf '%s\n' "link set lo up" "addr add 10.10.$i.2/24 dev veth0" \
		"addr add fd00:0:0:$i::2/64 dev veth0 nodad" "link set veth0 up" |
		ip -n c$i -batch -
}

# Removes every namespace and ovpn-dco device the scenarios created, and
# kills what still runs in those namespaces (daemons, background pings).
cleanup_all() {
	local ns pids
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		if [ -n "$pids" ]; then
			kill -9 $pids 2>/dev/null
			sleep 0.5
		fi
		ip netns del "$ns" 2>/dev/null
	done
	ip -o link show type ovpn-dco 2>/dev/null | awk -F': ' '{print $2}' |
		while read -r dev; do ip link del "$dev" 2>/dev/null; done
	return 0
}

# Ends a scenario file: removes what is left, unloads the module, and
# checks that the kernel log stayed clean and nothing leaked, including
# what the last cleanups and the unload allocated.
finish() {
	local name klog leaks why=""
	name=clean-after-$(basename "$0" .sh)
	cleanup_all
	[ ! -d /sys/module/ovpn_dco_v2 ] || rmmod ovpn_dco_v2 || why="rmmod failed"
	leaks=$(kmemleak_check)
	klog=$(new_klog)
	verdict "$name" "$why" "$leaks" "$klog"
}

# The boot itself must be clean: a splat before any scenario ran means the
# test kernel or the emulator misbehaves, and what follows cannot be
# trusted.  Checked once per boot.
boot_check() {
	local name klog
	name=boot-clean-$(basename "$0" .sh)
	klog=$(new_klog)
	if grep -Eq "$SPLAT_RE" <<<"$klog"; then
		printf '%s\n' "$klog" | grep -E -A25 "$SPLAT_RE" | head -n 40 | sed 's/^/  ! /'
		echo "RESULT FAIL $name: the kernel log shows a splat at boot"
	else
		echo "RESULT PASS $name"
	fi
}
if [ -n "${OVPN_VM_ONE_BOOT:-}" ]; then
	# Later files of one boot: only what they log is theirs.
	log_pos=$(dmesg | wc -l)
else
	boot_check
fi
