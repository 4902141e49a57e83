#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Step 6 of the stock-kernel check: the DKMS path of the README, in the
# trixie root with Debian's dkms package, instead of `make install`:
#   dkms add <a clean copy of the source>
#   dkms build ovpn-dco/<version> -k 7.3.4+deb13-amd64
#   dkms install ovpn-dco/<version> -k 7.3.4+deb13-amd64
# (-k because the chroot's uname -r is the host's).  dkms.conf's MAKE runs
# `make rust-prepare modules`: the kdir that rust-prepare.sh cached is
# found again, so this build takes a minute.  The module of `make install`
# (module.sh) is removed first; boot.sh then loads DKMS's.
#
#   tests/stock/dkms.sh [REV]      REV as for rust-prepare.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
REV=${1:-HEAD}
"$HERE/rust-prepare.sh" "$REV" >/dev/null
trap stock_unmount EXIT
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$STOCK_ROOT$STOCK_MODSRC/dkms.conf")
[ -n "$ver" ] || stock_die "no PACKAGE_VERSION in dkms.conf"
modver=$(sed -n 's/^#define OVPN_DCO_VERSION "\(.*\)"$/\1/p' "$STOCK_ROOT$STOCK_MODSRC/compat/ovpn_compat.h")
[ "$ver" = "$modver" ] && pass "dkms.conf: PACKAGE_VERSION $ver is the module's version" ||
	fail "dkms.conf: PACKAGE_VERSION $ver, the module is $modver"

rm -f "$STOCK_ROOT/lib/modules/$STOCK_KREL/updates/ovpn-dco-v2.ko"*
stock_dkms_purge
rm -rf "$STOCK_ROOT/usr/src/ovpn-dco-$ver" "$STOCK_ROOT/opt/ovpn-dkms"
cp -a "$STOCK_ROOT$STOCK_MODSRC" "$STOCK_ROOT/opt/ovpn-dkms"
stock_chroot make -C /opt/ovpn-dkms -s clean KERNEL_SRC="$STOCK_KSRC" >/dev/null 2>&1 || true
log=$STOCK_CACHE/dkms.log
: >"$log"
dk() {
	echo "# dkms $*" >>"$log"
	stock_mount
	nice -n 19 chroot "$STOCK_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 dkms "$@" >>"$log" 2>&1
}
# -j 1: DKMS would run make -j$(nproc).
for cmd in "add /opt/ovpn-dkms" "build ovpn-dco/$ver -k $STOCK_KREL -j 1" "install ovpn-dco/$ver -k $STOCK_KREL"; do
	start=$(date +%s)
	# shellcheck disable=SC2086
	if dk $cmd; then
		pass "dkms ${cmd%% *} ($(( $(date +%s) - start )) s)"
	else
		tail -n 30 "$log"
		cat "$STOCK_ROOT/var/lib/dkms/ovpn-dco/$ver/build/make.log" 2>/dev/null | tail -n 30
		fail "dkms ${cmd%% *}"
		exit 1
	fi
done
mk=$STOCK_ROOT/var/lib/dkms/ovpn-dco/$ver/$STOCK_KREL/x86_64/log/make.log
[ -f "$mk" ] || mk=$STOCK_ROOT/var/lib/dkms/ovpn-dco/$ver/build/make.log
w=$(grep -ciE '^warning|: warning:' "$mk" 2>/dev/null || true)
[ "$w" = 0 ] && pass "dkms build: no warnings" || fail "dkms build: $w warnings ($mk)"
st=$(stock_chroot dkms status ovpn-dco 2>&1 | tr '\n' ' ')
case $st in *"$STOCK_KREL"*installed*) pass "dkms status: $st" ;; *) fail "dkms status: $st" ;; esac
dep=$(grep '^updates/dkms/ovpn-dco-v2' "$STOCK_ROOT/lib/modules/$STOCK_KREL/modules.dep" || true)
[ -n "$dep" ] && pass "dkms install: modules.dep: $dep" || fail "dkms install: not in modules.dep as updates/dkms/"
echo "dkms: $fails failed"
[ "$fails" = 0 ]
