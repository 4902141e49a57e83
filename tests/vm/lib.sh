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
# (OVPN_MOD: another build of the module, e.g. one for the release kernel.)
MOD=${OVPN_MOD:-$REPO/ovpn-dco-v2.ko}
KMEMLEAK=/sys/kernel/debug/kmemleak

# The module's state: loaded or not, load it if it is not, unload it if
# it is.
is_loaded() { [ -d /sys/module/ovpn_dco_v2 ]; }
# (MOD_PARAMS: module parameters a scenario file loads the module with.)
load() { is_loaded || insmod "$MOD" ${MOD_PARAMS:-}; }
unload() { ! is_loaded || rmmod ovpn_dco_v2; }

# Real kernel reports only; the guest's harmless "Warning: ..." lines at
# boot do not match.
SPLAT_RE='BUG:|WARNING:|KASAN:|UBSAN:|Oops|general protection fault|Kernel panic|kernel BUG|possible recursive locking|possible circular locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|unreferenced object|refcount_t:|list_(add|del) corruption|rust_panic|panicked at|leaked reference|unregister_netdevice: waiting'

# Every process start costs seconds in the debug guest under TCG, so the
# harness itself runs on shell builtins: one `dmesg --follow` per boot
# copies the kernel log to $OVPN_KLOG, which is read with mapfile; sleeps
# are reads with a timeout on a FIFO nobody writes.
if [ -z "${OVPN_KLOG:-}" ]; then
	export OVPN_KLOG=/tmp/ovpn-klog OVPN_SLEEP_FIFO=/tmp/ovpn-sleep
	[ -p "$OVPN_SLEEP_FIFO" ] || mkfifo "$OVPN_SLEEP_FIFO"
	stdbuf -oL dmesg --follow >"$OVPN_KLOG" 2>&1 &
	disown
fi
exec {SLEEP_FD}<>"$OVPN_SLEEP_FIFO"

# Sleeps $1 seconds (fractions allowed) without starting a process.
nap() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

# Waits up to $3 seconds for a line matching the regex $2 in file $1
# (builtins only: a process start costs up to seconds in the guest).
wait_line() {
	local i l lines
	for ((i = 0; i < $3 * 2; i++)); do
		if [ -r "$1" ]; then
			mapfile -t lines <"$1"
			for l in "${lines[@]}"; do
				[[ $l =~ $2 ]] && return 0
			done
		fi
		nap 0.5
	done
	return 1
}

# Sets KLOG_LINES to the kernel log from line $1 on (0-based), once
# everything the kernel logged so far is in $OVPN_KLOG: it logs a marker
# and rereads the copy until the marker shows (at most ~10 s).
klog_read() {
	local tag="ovpn-test-sync $BASHPID.$RANDOM" i
	echo "<7>$tag" >/dev/kmsg
	for ((i = 0; i < 200; i++)); do
		mapfile -t -s "$1" KLOG_LINES <"$OVPN_KLOG"
		[[ "${KLOG_LINES[*]}" == *"$tag"* ]] && return 0
		nap 0.05
	done
}

# Prints the kernel log lines from line $1 on (0-based).
klog_from() {
	klog_read "$1"
	[ ${#KLOG_LINES[@]} -eq 0 ] || printf '%s\n' "${KLOG_LINES[@]}"
}

log_pos=0

# Sets NEW_KLOG to the kernel log lines added since the last call (call it
# in the harness's shell, not in a command substitution: it moves log_pos).
new_klog() {
	klog_read "$log_pos"
	log_pos=$((log_pos + ${#KLOG_LINES[@]}))
	NEW_KLOG=""
	[ ${#KLOG_LINES[@]} -eq 0 ] || printf -v NEW_KLOG '%s\n' "${KLOG_LINES[@]}"
}

# For checks inside a scenario: `mark` remembers the end of the kernel
# log, `klog_since` prints what was logged after it.
mark() {
	klog_read "${KMARK:-0}"
	KMARK=$((${KMARK:-0} + ${#KLOG_LINES[@]}))
}
klog_since() { klog_from "$KMARK"; }

kmemleak_ready() { [ -w "$KMEMLEAK" ]; }

# Clears what kmemleak found so far (boot-time noise) and starts a clean
# slate for the next scenario.
kmemleak_reset() {
	kmemleak_ready || return 0
	echo scan >"$KMEMLEAK" 2>/dev/null
	echo clear >"$KMEMLEAK" 2>/dev/null
}

# A kmemleak scan takes 10-30 s in the debug guest under TCG, so there is
# one per scenario file (in finish), not one per scenario.  Each leaked
# object is blamed on the scenario that was running when it was
# allocated: scenario() records every scenario's window in milliseconds
# of uptime, and kmemleak's report gives each object's allocation time in
# jiffies (KM_HZ: HZ=1000 in the test kernel).
KM_HZ=${KM_HZ:-1000}
SC_NAMES=()
SC_FROM=()
SC_TO=()

# Sets UPTIME_MS to the uptime in milliseconds.
uptime_ms() {
	local u _
	read -r u _ </proc/uptime
	UPTIME_MS=$((10#${u/./} * 10))
}

# Scans for leaks; objects younger than ~5 s are never reported, so this
# first waits until 6 s have passed since second $1 (of $SECONDS; default:
# now).  Sets KM_REPORT to kmemleak's report (empty: no leak), KM_BLAME
# to the scenarios that allocated a leaked object, and KM_ORPHANS to the
# count of leaked objects allocated outside every scenario.
kmemleak_scan() {
	KM_REPORT="" KM_BLAME=() KM_ORPHANS=0
	kmemleak_ready || return 0
	local wait=$((6 - (SECONDS - ${1:-$SECONDS}))) lines l i ms joff="" hit
	[ "$wait" -le 0 ] || nap "$wait"
	echo scan >"$KMEMLEAK" 2>/dev/null
	mapfile -t lines <"$KMEMLEAK"
	echo clear >"$KMEMLEAK" 2>/dev/null
	[ ${#lines[@]} -gt 0 ] || return 0
	printf -v KM_REPORT '%s\n' "${lines[@]}"
	# jiffies minus uptime in ms, to place each object in time.
	while IFS= read -r l; do
		if [[ $l =~ ^jiffies:\ ([0-9]+) ]]; then
			joff=${BASH_REMATCH[1]}
			break
		fi
	done </proc/timer_list
	uptime_ms
	# (jiffies now, less the uptime in jiffies: what jiffies read at boot.)
	joff=$((joff - UPTIME_MS * KM_HZ / 1000))
	for l in "${lines[@]}"; do
		[[ $l =~ comm\ .*\ jiffies\ ([0-9]+) ]] || continue
		ms=$(((BASH_REMATCH[1] - joff) * 1000 / KM_HZ))
		hit=0
		for i in "${!SC_NAMES[@]}"; do
			if ((ms >= SC_FROM[i] - 1000 && ms <= SC_TO[i] + 1000)); then
				KM_BLAME+=("${SC_NAMES[i]}")
				hit=1
			fi
		done
		[ "$hit" = 1 ] || KM_ORPHANS=$((KM_ORPHANS + 1))
	done
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
	if [ -n "$needle" ] && [[ $out != *"$needle"* ]]; then
		echo "  '$*' output lacks '$needle': $out" >&2
		return 1
	fi
	return 0
}

# Boot-time kmemleak reports are not ours (when the VM runs several
# scenario files, tests/vm/all.sh has done this once, at boot).
[ -n "${OVPN_VM_ONE_BOOT:-}" ] || kmemleak_reset

# Prints each line of $1 behind the prefix $2.
indent() {
	local l
	while IFS= read -r l; do printf '%s%s\n' "$2" "$l"; done <<<"$1"
}

# Runs scenario NAME (function FUNC) and prints its result.  (A leak it
# caused is found by the file's kmemleak scan in finish, which then prints
# a second, failing result for it.)
scenario() {
	local name=$1 func=$2 out rc why=""
	# A run limited to some scenarios (OVPN_VM_SCENARIOS, see run-all.sh)
	# names the others as skipped; the harness's own checks always run.
	if [ -n "${OVPN_VM_SCENARIOS:-}" ] && [[ $name != harness-* ]] &&
		[[ " $OVPN_VM_SCENARIOS " != *" $name "* ]]; then
		echo "SKIPPED $name"
		return 0
	fi
	echo "=== $name"
	# (The previous scenario, or file, cleaned up after itself.)
	new_klog
	local t0=$SECONDS t1 from
	uptime_ms
	from=$UPTIME_MS
	out=$("$func" 2>&1)
	rc=$?
	t1=$SECONDS
	[ -z "$out" ] || indent "$out" "  | "
	[ "$rc" = 0 ] || why="scenario exited $rc"
	cleanup_all
	uptime_ms
	SC_NAMES+=("$name")
	SC_FROM+=("$from")
	SC_TO+=("$UPTIME_MS")
	new_klog
	verdict "$name" "$why" "" "$NEW_KLOG" \
		"$((SECONDS - t0)) s: run $((t1 - t0)), cleanup $((SECONDS - t1))"
}

# Prints the result line of NAME, which fails for WHY (unless empty), for
# a splat in the kernel log KLOG or for kmemleak's report LEAKS (both
# shown); TIMING, if given, is printed first.
# Usage: verdict NAME WHY LEAKS KLOG [TIMING]
verdict() {
	local name=$1 why=$2 leaks=$3 klog=$4 timing=${5:-}
	if [[ $klog =~ $SPLAT_RE ]]; then
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
	if [[ $out == *"RESULT FAIL harness-fake-splat: kernel log shows a splat"* ]]; then
		echo "RESULT PASS harness-detects-splats"
	else
		echo "RESULT FAIL harness-detects-splats: a logged BUG went unnoticed"
		indent "$out" "  | "
	fi
}

# Prints the bits per second a $4-second iperf3 run from namespace $2 to a
# one-shot server on address $3 in namespace $1 received (0 on failure;
# iperf3's error goes to stderr).  The client starts once the server
# listens: starting a process takes seconds in the debug guest.  The
# socket buffers are capped (-w 128K): through a slow emulated tunnel the
# default ones hold a minute of data, which the end of the test waits
# behind; and the deadlines leave room for a loaded host (a server that
# hit its deadline showed as the client's "Broken pipe").  Writes are
# 16 KB (-l): the client checks its end-of-test timer only between
# bursts of writes, and with iperf3's default 128 KB writes a blocking
# burst at a few hundred kbit/s took 46 s instead of 4, until the
# server's own watchdog reset the test (a result of 0).
iperf_bps() {
	local srv i out
	ip netns exec "$1" timeout 300 iperf3 -s -1 -B "$3" >/dev/null 2>&1 &
	srv=$!
	for ((i = 0; i < 30; i++)); do
		ip netns exec "$1" ss -Hltn 'sport = :5201' | grep -q . && break
		nap 1
	done
	out=$(ip netns exec "$2" timeout 240 iperf3 -c "$3" -t "$4" -w 128K -l 16K -J 2>&1)
	wait $srv
	jq -r '.error // empty' <<<"$out" >&2 2>/dev/null
	jq -r '.end.sum_received.bits_per_second // 0' <<<"$out" 2>/dev/null | cut -d. -f1
}

# Counters of the device tun0 in namespace $1 (`ethtool -S`, which shows
# the module's drop counters): drop_stat prints counter $2; nonzero_stats
# prints, on one line, every counter that is not zero, or with $2 those
# whose name matches the awk pattern $2 (nonzero_drops: the drop counters).
drop_stat() { ip netns exec "$1" ethtool -S tun0 | awk -v k="$2:" '$1 == k {print $2}'; }
nonzero_stats() {
	ip netns exec "$1" ethtool -S tun0 2>/dev/null |
		awk -v re="${2:-.}" '$2 != 0 && $1 != "NIC" && $1 ~ re' | xargs
}
nonzero_drops() { nonzero_stats "$1" drop; }
# The value of counter $1 in a get_peer line $2.
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $2"; }
# GET_PEER of peer 1 on tun0 in namespace $1.
peer_line() { ip netns exec "$1" "$CLI" get_peer tun0 1; }

# Review M2, for a P2P tunnel of t-datapath.sh or t-tcp.sh: routes
# peer0's way to its peer (10.10.0.2) through tun0 itself and pings
# through the tunnel; at least $1 looping packets must be dropped and
# counted (tx_drop_loop).  Then, the route gone, the ping "$2" (options)
# must get through.
check_routing_loop() {
	local min=$1 opts=$2 loops
	ip -n peer0 route add 10.10.0.2/32 dev tun0 || return 1
	ip netns exec peer0 ping -q -c 5 -i 0.2 -W 1 5.5.5.2 >/dev/null
	loops=$(drop_stat peer0 tx_drop_loop)
	echo "tx_drop_loop=$loops; $(nonzero_stats peer0)"
	check "looping packets dropped and counted" '[ "${loops:-0}" -ge $min ]' || return 1
	ip -n peer0 route del 10.10.0.2/32 dev tun0 || return 1
	check "tunnel works without the loop" 'ip netns exec peer0 ping $opts 5.5.5.2 >/dev/null'
}

# Namespaces peer0 and peer1 joined by veth0 (10.10.0.1/24) and veth1
# (10.10.0.2/24), with loopback up; "$1 I", if given, prints more `ip`
# batch lines for namespace peerI (I = 0, 1).
veth_pair() {
	local i
	ip netns add peer0 && ip netns add peer1 || return 1
	ip link add veth0 netns peer0 type veth peer name veth1 netns peer1 || return 1
	for i in 0 1; do
		{
			printf '%s\n' "link set lo up" "addr add 10.10.0.$((i + 1))/24 dev veth$i" \
				"link set veth$i up"
			[ -z "${1:-}" ] || "$1" $i
		} | ip -n peer$i -batch - || return 1
	done
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

# Removes every namespace and every ovpn-dco (or other ARPHRD_NONE,
# non-tun) device the scenarios created, and kills what still runs in
# those namespaces (daemons, background pings).  Builtins, and one `ip`.
cleanup_all() {
	local nsf p d type pids=() cmds=()
	for nsf in /run/netns/*; do
		[ -e "$nsf" ] || continue
		for p in /proc/[0-9]*; do
			[[ $p/ns/net -ef $nsf ]] && pids+=("${p#/proc/}")
		done
		cmds+=("netns del ${nsf##*/}")
	done
	if [ ${#pids[@]} -gt 0 ]; then
		kill -9 "${pids[@]}" 2>/dev/null
		nap 0.5
	fi
	for d in /sys/class/net/*; do
		read -r type <"$d/type" 2>/dev/null || continue
		[ "$type" = 65534 ] && [ ! -e "$d/tun_flags" ] && cmds+=("link del ${d##*/}")
	done
	[ ${#cmds[@]} -eq 0 ] || printf '%s\n' "${cmds[@]}" | ip -force -batch - >/dev/null 2>&1
	return 0
}

# Ends a scenario file: removes what is left, unloads the module, and
# checks that the kernel log stayed clean and nothing leaked, including
# what the last cleanups and the unload allocated.  Each scenario that
# allocated a leaked object gets a failing result of its own.
finish() {
	local name why="" s
	name=clean-after-$(basename "$0" .sh)
	cleanup_all
	unload || why="rmmod failed"
	local t0=$SECONDS
	kmemleak_scan
	for s in $(printf '%s\n' "${KM_BLAME[@]}" | sort -u); do
		echo "RESULT FAIL $s: kmemleak reports a leak allocated while it ran (report under $name)"
	done
	[ "$KM_ORPHANS" = 0 ] || why="${why:+$why; }$KM_ORPHANS leaked object(s) allocated outside every scenario"
	new_klog
	verdict "$name" "$why" "$KM_REPORT" "$NEW_KLOG" "kmemleak scan $((SECONDS - t0)) s"
}

# The boot itself must be clean: a splat before any scenario ran means the
# test kernel or the emulator misbehaves, and what follows cannot be
# trusted.  Checked once per boot.
boot_check() {
	local name
	name=boot-clean-$(basename "$0" .sh)
	new_klog
	if [[ $NEW_KLOG =~ $SPLAT_RE ]]; then
		printf '%s\n' "$NEW_KLOG" | grep -E -A25 "$SPLAT_RE" | head -n 40 | sed 's/^/  ! /'
		echo "RESULT FAIL $name: the kernel log shows a splat at boot"
	else
		echo "RESULT PASS $name"
	fi
}
if [ -n "${OVPN_VM_ONE_BOOT:-}" ]; then
	# Later files of one boot: only what they log is theirs.
	new_klog
else
	boot_check
fi
