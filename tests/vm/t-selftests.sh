#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Linux 7.3's own selftests of its `ovpn` driver
# (tools/testing/selftests/net/ovpn of the test kernel's tree), run
# unchanged against this module, inside the test VM.  One scenario per
# script, named selftest-<script>; each passes when the script's KTAP
# totals show no failure and it exits 0.
#
# The scripts load Linux's driver themselves (`modprobe -q ovpn`) and
# unload it at exit.  Here the module is loaded first with the `ovpn` API
# on, `modprobe` is shadowed through PATH so that `ovpn` is never loaded
# (the guest's root is the host's: /etc stays untouched), and every
# scenario checks that Linux's ovpn.ko is absent before and after, so the
# run cannot silently test Linux's driver instead.
#
# ST_DRIVER=linux (exported by a wrapper script, see docs/testing.md)
# runs the same scripts against Linux's own ovpn.ko instead: a baseline
# for what the debug guest under TCG can do, not part of the suite.
#
# Tools: the scripts' own ovpn-cli (target/ovpn-cli-c, built by run-all
# from the tree's ovpn-cli.c), the tree's YNL cli.py with its spec
# (python3-yaml, python3-jsonschema), tcpdump, jq, iperf3, nft, killall.
set -u
REPO=${1:?usage: t-selftests.sh REPO}
. "$REPO/tests/vm/lib.sh"
MOD_PARAMS=ovpn_api=1

ST=$KDIR/tools/testing/selftests/net/ovpn
C_CLI=$REPO/target/ovpn-cli-c
YNL=$KDIR/tools/net/ynl/pyynl/cli.py
SHIM=$(mktemp -d /tmp/st-shim.XXXXXX)
cat >"$SHIM/modprobe" <<'EOF'
#!/bin/sh
# Linux's ovpn driver must not load: this module serves its API.
for a in "$@"; do
	[ "$a" = ovpn ] && exit 0
done
exec /sbin/modprobe "$@"
EOF
# The scripts' timing assumes hardware: `ping -w 3` must see 100 flood
# pings of 3000 bytes answered, `timeout 1.5s tcpdump` must catch one
# packet.  The debug guest under TCG is tens of times slower, and
# Linux's own driver fails the same checks there (ST_DRIVER=linux):
# - a 3000-byte ping costs its sender about 20 ms in the kernel (the
#   whole round trip runs in its context), more than flood ping's 10 ms
#   floor, so `ping -f` only sends and never reads: its socket overflows
#   and the replies are dropped there (both drivers, /proc/net/raw);
#   flood pings are paced to one per ST_PING_INTERVAL s (default 0.05);
# - ping's deadline and timeout's duration are stretched ST_STRETCH
#   times (default 10).
# Nothing else changes: the counts, the expected results and the
# kernel's own timers (keepalive) are as written.
cat >"$SHIM/ping" <<'EOF'
#!/bin/bash
k=${ST_STRETCH:-10} a=() flood=0 interval=0
while [ $# -gt 0 ]; do
	case $1 in
	-w) a+=(-w "$(awk -v v="$2" -v k="$k" 'BEGIN { print v * k }')"); shift 2 ;;
	-i) interval=1; a+=("$1" "$2"); shift 2 ;;
	-*f*) flood=1; a+=("$1"); shift ;;
	*) a+=("$1"); shift ;;
	esac
done
[ "$flood$interval" = 10 ] && a=(-i "${ST_PING_INTERVAL:-0.05}" "${a[@]}")
exec /usr/bin/ping "${a[@]}"
EOF
cat >"$SHIM/timeout" <<'EOF'
#!/bin/bash
k=${ST_STRETCH:-10} a=()
while [ $# -gt 0 ] && [[ $1 == -* ]]; do
	case $1 in
	-k | -s) a+=("$1" "$2"); shift 2 ;;
	*) a+=("$1"); shift ;;
	esac
done
d=$1 m=1
case $d in
*s) d=${d%s} ;;
*m) d=${d%m} m=60 ;;
*h) d=${d%h} m=3600 ;;
*d) d=${d%d} m=86400 ;;
esac
shift
exec /usr/bin/timeout "${a[@]}" "$(awk -v v="$d" -v m="$m" -v k="$k" 'BEGIN { print v * m * k }')" "$@"
EOF
# cli.py runs with the system's Python, which has PyYAML and jsonschema
# (the guest's PATH starts with virtme-ng's virtualenv, which has not).
cat >"$SHIM/ynl" <<EOF
#!/bin/sh
exec /usr/bin/python3 $YNL "\$@"
EOF
chmod +x "$SHIM/modprobe" "$SHIM/ping" "$SHIM/timeout" "$SHIM/ynl"

C_OVPN=$KDIR/drivers/net/ovpn/ovpn.ko
c_ovpn_loaded() { [ -d /sys/module/ovpn ]; }

# Loads the driver under test: this module, or Linux's for the baseline.
st_load() {
	if [ "${ST_DRIVER:-}" = linux ]; then
		unload && { c_ovpn_loaded || insmod "$C_OVPN"; }
		return
	fi
	load || return 1
	check "Linux's ovpn.ko is not loaded" '! c_ovpn_loaded'
}

# Runs selftest script $1 and reports its stages.
st_run() {
	local script=$1 out rc
	[ -x "$C_CLI" ] || { echo "no $C_CLI (tests/run-all.sh builds it on the host)"; return 1; }
	[ -f "$ST/$script" ] || { echo "no $ST/$script"; return 1; }
	st_load || return 1
	out=$(cd "$ST" && PATH="$SHIM:$PATH" OVPN_CLI=$C_CLI OVPN_YNL=$SHIM/ynl \
		/usr/bin/timeout -k 10 1800 bash "./$script" 2>&1)
	rc=$?
	# The KTAP lines (stages and totals), and what a failing stage printed.
	printf '%s\n' "$out" | grep -E '^(ok|not ok|# Totals|# )|failed|FAIL|Checking' | head -n 80
	# What a failed notification check received instead (its diff).
	printf '%s\n' "$out" | sed -n '/^Checking notifications.*failed/,/^not ok/p' | head -n 200
	[ "${ST_DRIVER:-}" = linux ] ||
		check "Linux's ovpn.ko is still not loaded" '! c_ovpn_loaded' || return 1
	if [ "$rc" != 0 ]; then
		printf '%s\n' "$out" | tail -n 40
		echo "$script exited $rc"
		return 1
	fi
	check "no stage failed" '! printf "%s\n" "$out" | grep -q "^not ok"' || return 1
	check "its totals show passes" \
		'printf "%s\n" "$out" | grep -Eq "^# Totals: pass:[1-9][0-9]* fail:0"'
}

for s in test test-chachapoly test-float test-large-mtu test-mark \
	test-symmetric-id test-symmetric-id-float test-close-socket \
	test-tcp test-symmetric-id-tcp test-close-socket-tcp; do
	eval "t_${s//-/_}() { st_run $s.sh; }"
done
scenario selftest-test t_test
scenario selftest-chachapoly t_test_chachapoly
scenario selftest-float t_test_float
scenario selftest-large-mtu t_test_large_mtu
scenario selftest-mark t_test_mark
scenario selftest-symmetric-id t_test_symmetric_id
scenario selftest-symmetric-id-float t_test_symmetric_id_float
scenario selftest-close-socket t_test_close_socket
scenario selftest-tcp t_test_tcp
scenario selftest-symmetric-id-tcp t_test_symmetric_id_tcp
scenario selftest-close-socket-tcp t_test_close_socket_tcp
rm -rf "$SHIM"
finish
