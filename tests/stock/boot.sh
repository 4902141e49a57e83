#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Steps 5 and 7 of the stock-kernel check: Debian's own kernel image
# (vmlinuz-7.3.4+deb13-amd64, from the trixie root) booted under QEMU TCG
# with the trixie root as its root file system (virtme-ng), and in it:
# the smoke modules of smoke.sh loaded, and the project's module, as
# module.sh (`make install`) or dkms.sh (DKMS) installed it, modprobe'd and
# tested with tests/netns-test.sh (P2P, UDP, AES-256).
#
#   tests/stock/boot.sh make-install|dkms
#
# The label names the install path; the module must be in the root's
# modules.dep where that path puts it (updates/ or updates/dkms/), and
# modprobe must load that file.  One QEMU, 1 vCPU, 2 GB, under nice.
# Judged by the guest's printed lines, not by vng's exit status.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
. "$HERE/../env.sh"
LABEL=${1:?usage: $0 make-install|dkms}
case $LABEL in
make-install) want_path=updates/ovpn-dco-v2.ko ;;
dkms) want_path=updates/dkms/ovpn-dco-v2.ko ;;
*) stock_die "usage: $0 make-install|dkms" ;;
esac
OUT=/opt/stock-smoke
[ -f "$STOCK_ROOT$OUT/rust_minimal/rust_minimal.ko" ] || "$HERE/smoke.sh" >&2
stock_unmount
VMLINUZ=$STOCK_ROOT/boot/vmlinuz-$STOCK_KREL
[ -f "$VMLINUZ" ] || stock_die "no $VMLINUZ"
# Debian's kernel compresses modules on install (.ko.xz).
want_re="$want_path(\\.xz|\\.zst|\\.gz)?"
grep -Eq "^$want_re:" "$STOCK_ROOT/lib/modules/$STOCK_KREL/modules.dep" ||
	stock_die "$want_path is not in the root's modules.dep (run module.sh or dkms.sh first)"

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
# The project's module, as installed: modprobe, one netns test.
if modinfo ovpn-dco-v2 >/dev/null 2>&1; then
	echo "RESULT modinfo-path $(modinfo -n ovpn-dco-v2)"
	if modprobe ovpn-dco-v2 2>/tmp/err; then
		echo "RESULT modprobe ovpn-dco-v2 ok, version $(cat /sys/module/ovpn_dco_v2/version)"
	else
		echo "RESULT modprobe ovpn-dco-v2 FAILED: $(cat /tmp/err)"
	fi
	cd /opt/ovpn-src && CLI=/opt/ovpn-cli PING_COUNT=50 \
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
	--verbose --exec "$OUT/guest.sh" >"$STOCK_CACHE/boot-$LABEL.log" 2>&1 || true
stock_log "guest ran in $(( $(date +%s) - start )) s"
res=$STOCK_CACHE/boot-$LABEL.results
grep -a '^RESULT' "$STOCK_CACHE/boot-$LABEL.log" | sed 's/\r$//' >"$res" ||
	{ tail -n 40 "$STOCK_CACHE/boot-$LABEL.log"; echo "FAIL boot ($LABEL): no result from the guest"; exit 1; }
sed 's/^/    /' "$res"

# Verdict: the samples loaded, the taint is O and E at most, and the
# project's module loaded from where this install path put it and passed
# its netns test.
fails=0
want() {
	if grep -Eq "$1" "$res"; then echo "PASS boot ($LABEL): $2"; else echo "FAIL boot ($LABEL): $2"; fails=$((fails + 1)); fi
}
krel_re=${STOCK_KREL//+/\\+}
want "^RESULT uname $krel_re .*Debian" "Debian's own kernel booted"
want '^RESULT insmod rust_minimal ok' "rust_minimal loaded"
want '^RESULT insmod rust_misc_device ok' "rust_misc_device loaded"
want "^RESULT modinfo-path /lib/modules/$krel_re/$want_re\$" "modinfo finds $want_path"
want '^RESULT modprobe ovpn-dco-v2 ok' "modprobe ovpn-dco-v2"
want '^RESULT netns-test.sh .* exit 0: PASS' "netns-test.sh (P2P, UDP, AES-256) passed"
t=$(sed -n 's/^RESULT tainted-after-ovpn //p' "$res")
if [ -n "$t" ] && [ $(( t & ~(4096 | 8192) )) = 0 ]; then
	echo "PASS boot ($LABEL): taint $t, O and E only"
else
	echo "FAIL boot ($LABEL): taint '$t' beyond O and E"; fails=$((fails + 1))
fi
if grep -Eq 'disagrees|Unknown symbol|BUG:|WARNING:' "$res"; then
	echo "FAIL boot ($LABEL): the guest's kernel log has errors"; fails=$((fails + 1))
else
	echo "PASS boot ($LABEL): no errors in the guest's kernel log"
fi
echo "boot ($LABEL): $fails failed"
[ "$fails" = 0 ]
