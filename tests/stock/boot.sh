#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Step 4 of the stock-kernel check: Debian's own kernel image
# (vmlinuz-7.3.4+deb13-amd64, from the trixie root) booted under QEMU TCG
# with the trixie root as its root file system (virtme-ng), and the smoke
# modules of smoke.sh loaded into it.
#
#   tests/stock/boot.sh       prints the guest's result lines
#
# If module.sh installed the project's module in the root, the guest also
# modprobes it and runs tests/netns-test.sh (P2P, UDP, AES-256) with it.
# One QEMU, 1 vCPU, 2 GB, under nice.  Judged by the guest's printed
# lines, not by vng's exit status.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
. "$HERE/../env.sh"
OUT=/opt/stock-smoke
[ -f "$STOCK_ROOT$OUT/rust_minimal/rust_minimal.ko" ] || "$HERE/smoke.sh" >&2
stock_unmount
VMLINUZ=$STOCK_ROOT/boot/vmlinuz-$STOCK_KREL
[ -f "$VMLINUZ" ] || stock_die "no $VMLINUZ"

cat >"$STOCK_ROOT$OUT/guest.sh" <<'GUEST'
#!/bin/sh
# Runs in the guest, on Debian's kernel.
echo "RESULT uname $(uname -r) $(uname -v)"
echo "RESULT tainted-before $(cat /proc/sys/kernel/tainted)"
dmesg -n 1 2>/dev/null || true
for m in rust_minimal rust_misc_device; do
	if insmod /opt/stock-smoke/$m/$m.ko 2>/tmp/err; then
		echo "RESULT insmod $m ok"
	else
		echo "RESULT insmod $m FAILED: $(cat /tmp/err)"
	fi
done
echo "RESULT lsmod $(lsmod | awk '/^rust_/ {printf "%s ", $1}')"
[ -c /dev/rust-misc-device ] && echo "RESULT /dev/rust-misc-device present"
echo "RESULT tainted-after $(cat /proc/sys/kernel/tainted)"
for m in rust_misc_device rust_minimal; do
	rmmod $m 2>/dev/null && echo "RESULT rmmod $m ok" || echo "RESULT rmmod $m FAILED"
done
# The project's module, if module.sh installed it: modprobe, one netns test.
if modinfo ovpn-dco-v2 >/dev/null 2>&1; then
	if modprobe ovpn-dco-v2 2>/tmp/err; then
		echo "RESULT modprobe ovpn-dco-v2 ok, version $(cat /sys/module/ovpn_dco_v2/version)"
	else
		echo "RESULT modprobe ovpn-dco-v2 FAILED: $(cat /tmp/err)"
	fi
	cd /opt/ovpn-src && CLI=/opt/ovpn-src/ovpn-cli PING_COUNT=50 \
		timeout 600 tests/netns-test.sh >/tmp/netns.log 2>&1
	echo "RESULT netns-test.sh (P2P, UDP, AES-256) exit $?: $(grep -E '^(PASS|FAIL)' /tmp/netns.log)"
	echo "RESULT tainted-after-ovpn $(cat /proc/sys/kernel/tainted)"
fi
dmesg | grep -E 'rust_minimal|rust_misc_device|ovpn_dco|disagrees|Unknown symbol|taint|module verification|BUG:|WARNING:' |
	sed 's/^/RESULT dmesg /'
GUEST
chmod +x "$STOCK_ROOT$OUT/guest.sh"

stock_log "booting $(basename "$VMLINUZ") under TCG (1 vCPU, 2 GB)"
start=$(date +%s)
nice -n 19 vng --run "$VMLINUZ" --root "$STOCK_ROOT" --disable-kvm --cpus 1 --memory 2G \
	--verbose --exec "$OUT/guest.sh" >"$STOCK_CACHE/boot.log" 2>&1 || true
stock_log "guest ran in $(( $(date +%s) - start )) s"
grep -a '^RESULT' "$STOCK_CACHE/boot.log" | sed 's/\r$//' >"$STOCK_CACHE/boot.results" ||
	{ tail -n 40 "$STOCK_CACHE/boot.log"; stock_die "no result from the guest"; }
cat "$STOCK_CACHE/boot.results"

# Verdict: the samples loaded, the taint is O and E at most, and the
# project's module (if installed) loaded and passed its netns test.
fails=0
want() { grep -q "$1" "$STOCK_CACHE/boot.results" && echo "PASS $2" || { echo "FAIL $2"; fails=$((fails + 1)); }; }
want '^RESULT uname '"$STOCK_KREL"' .*Debian' "Debian's own kernel booted"
want '^RESULT insmod rust_minimal ok' "rust_minimal loaded"
want '^RESULT insmod rust_misc_device ok' "rust_misc_device loaded"
t=$(sed -n 's/^RESULT tainted-after //p' "$STOCK_CACHE/boot.results")
[ -n "$t" ] && [ $(( t & ~(4096 | 8192) )) = 0 ] && echo "PASS taint $t: O and E only" ||
	{ echo "FAIL taint '$t' beyond O and E"; fails=$((fails + 1)); }
if grep -q '^updates/ovpn-dco-v2' "$STOCK_ROOT/lib/modules/$STOCK_KREL/modules.dep" 2>/dev/null; then
	want '^RESULT modprobe ovpn-dco-v2 ok' "ovpn-dco-v2 modprobed"
	want '^RESULT netns-test.sh .* exit 0: PASS' "netns-test.sh passed on the stock kernel"
fi
! grep -Eq 'disagrees|Unknown symbol|BUG:|WARNING:' "$STOCK_CACHE/boot.results" ||
	{ echo "FAIL the guest's kernel log has errors"; fails=$((fails + 1)); }
echo "boot: $fails failed"
[ "$fails" = 0 ]
