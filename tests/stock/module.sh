#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Step 4 of the stock-kernel check: the module built and installed as the
# README says, in the trixie root, after rust-prepare.sh's `make
# rust-prepare`:
#   make KERNEL_SRC=/lib/modules/7.3.4+deb13-amd64/build
#   make install KERNEL_SRC=/lib/modules/7.3.4+deb13-amd64/build
# (KERNEL_SRC is named because the chroot's uname -r is the host's).
# Checks: the build has no warnings (trixie's gcc-14, rustc 1.85.1,
# bindgen 0.71.1); every Rust symbol the module imports is one the stock
# kernel exports; its vermagic is the stock kernel's; `make install` ran
# depmod itself (modules.dep lists the module) and tried no signing.
# boot.sh then modprobes it in Debian's kernel and runs netns-test.sh.
#
#   tests/stock/module.sh [REV]      REV as for rust-prepare.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
REV=${1:-HEAD}
REPO=$(cd "$HERE/../.." && pwd)
"$HERE/rust-prepare.sh" "$REV" >/dev/null
trap stock_unmount EXIT
d=$STOCK_ROOT$STOCK_MODSRC
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
inroot() {
	nice -n 19 chroot "$STOCK_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 "$@"
}

# A module of an earlier run (make install or DKMS) must not stay.
rm -f "$STOCK_ROOT/lib/modules/$STOCK_KREL/updates/ovpn-dco-v2.ko"*
stock_dkms_purge

stock_mount
start=$(date +%s)
if ! inroot make -C "$STOCK_MODSRC" KERNEL_SRC="$STOCK_KSRC" -j1 >"$d/build.log" 2>&1; then
	tail -n 30 "$d/build.log"
	fail "make: the module against the stock headers"
	exit 1
fi
pass "make: built in $(( $(date +%s) - start )) s against the stock headers (gcc-14, rustc 1.85.1, bindgen 0.71.1)"
w=$(grep -ciE '^warning|: warning:' "$d/build.log" || true)
[ "$w" = 0 ] && pass "make: no warnings" ||
	{ grep -iE -A3 '^warning|: warning:' "$d/build.log" | head -n 20; fail "make: $w warnings"; }

SYMVERS=$STOCK_ROOT$STOCK_KSRC/Module.symvers
ko=$d/ovpn-dco-v2.ko
nm -u "$ko" | awk '$2 ~ /^_R/ {print $2}' | sort -u >"$d/undef.rust"
n=$(wc -l <"$d/undef.rust")
missing=$(awk '$2 ~ /^_R/ {print $2}' "$SYMVERS" | sort -u | comm -13 - "$d/undef.rust")
[ -z "$missing" ] && [ "$n" -gt 0 ] &&
	pass "module: all $n Rust symbols it imports are exported by the stock kernel" ||
	fail "module: $n Rust imports, not exported by the stock kernel: $(echo "$missing" | head -n 3 | tr '\n' ' ')"
vm=$(modinfo -F vermagic "$ko")
[ "${vm%% *}" = "$STOCK_KREL" ] && pass "module: vermagic $vm" || fail "module: vermagic $vm"

if ! inroot make -C "$STOCK_MODSRC" KERNEL_SRC="$STOCK_KSRC" install >"$d/install.log" 2>&1; then
	tail -n 20 "$d/install.log"
	fail "make install"
	exit 1
fi
dep=$(grep '^updates/ovpn-dco-v2' "$STOCK_ROOT/lib/modules/$STOCK_KREL/modules.dep" || true)
[ -n "$dep" ] && pass "make install: depmod ran, modules.dep: $dep" ||
	fail "make install: the module is not in modules.dep"
grep -qiE 'sign-file|SSL error|signing_key' "$d/install.log" &&
	{ grep -iE 'sign-file|SSL error|signing_key' "$d/install.log" | head -n 3; fail "make install: tried to sign without the kernel's key"; } ||
	pass "make install: no signing attempt without the kernel's key"

# The test client, built on the host (glibc 2.36; runs on trixie's 2.41).
cli=$REPO/target/release/ovpn-cli
[ -x "$cli" ] || (cd "$REPO" && nice -n 19 cargo build --release -q -j1 -p ovpn-cli)
cp "$cli" "$STOCK_ROOT/opt/ovpn-cli"
echo "module: $fails failed"
[ "$fails" = 0 ]
