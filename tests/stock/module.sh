#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's own module on the stock kernel, as a Debian trixie user
# would build it: a copy of the repository (git archive of REV, default
# HEAD) in the trixie root, `make` and `make install` with KERNEL_SRC set
# to the kdir of rust-prepare.sh and LLVM empty (the kernel is gcc-built),
# then depmod.  boot.sh then modprobes it in Debian's kernel and runs
# tests/netns-test.sh.
#
#   tests/stock/module.sh [REV]
#
# If the copy's Kbuild does not yet filter the GCC-only C flags out of its
# bindgen runs (the flags libclang rejects), the proposed change
# (kbuild-gcc-bindgen.patch) is applied to the copy and the script says
# so; the repository itself is never changed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
REV=${1:-HEAD}
REPO=$(cd "$HERE/../.." && pwd)
KDIR=$("$HERE/rust-prepare.sh")
trap stock_unmount EXIT
OUT=/opt/ovpn-src
d=$STOCK_ROOT$OUT

rm -rf "$d" && mkdir -p "$d"
git -C "$REPO" archive "$REV" | tar -x -C "$d"
stock_log "module source: $(git -C "$REPO" rev-parse --short "$REV")"
if ! grep -q 'CONFIG_CC_IS_GCC' "$d/Kbuild"; then
	patch -s -d "$d" -p1 <"$HERE/kbuild-gcc-bindgen.patch"
	stock_log "applied the proposed Kbuild change (kbuild-gcc-bindgen.patch) to the copy"
fi
stock_mount
start=$(date +%s)
if ! nice -n 19 chroot "$STOCK_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root LANG=C.UTF-8 make -C "$OUT" KERNEL_SRC="$KDIR" LLVM= -j1 \
	>"$d/build.log" 2>&1; then
	grep -vE 'clang diag|unknown warning option' "$d/build.log" | tail -n 30
	echo "FAIL ovpn-dco-v2: build against $KDIR"
	exit 1
fi
echo "PASS ovpn-dco-v2: built in $(( $(date +%s) - start )) s (gcc-14, rustc 1.85.1, bindgen 0.71.1; $(grep '^warning' "$d/build.log" | grep -vc 'warnings emitted') rustc warnings)"
stock_chroot make -C "$OUT" KERNEL_SRC="$KDIR" LLVM= install >"$d/install.log" 2>&1 ||
	{ tail -n 20 "$d/install.log"; echo "FAIL ovpn-dco-v2: make install"; exit 1; }
grep -q "Skipping depmod" "$d/install.log" &&
	stock_log "make install skipped depmod (the headers tree has no System.map); running it"
stock_chroot depmod -a "$STOCK_KREL"
dep=$(grep '^updates/ovpn-dco-v2' "$STOCK_ROOT/lib/modules/$STOCK_KREL/modules.dep" || true)
[ -n "$dep" ] && echo "PASS ovpn-dco-v2: installed, modules.dep: $dep" ||
	{ echo "FAIL ovpn-dco-v2: not in modules.dep"; exit 1; }
# The test client, built on the host (glibc 2.36; runs on trixie's 2.41).
cli=$REPO/target/release/ovpn-cli
[ -x "$cli" ] || (cd "$REPO" && nice -n 19 cargo build --release -q -j1 -p ovpn-cli)
cp "$cli" "$d/ovpn-cli"
