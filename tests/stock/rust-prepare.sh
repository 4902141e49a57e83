#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Step 2 of the stock-kernel check: the Rust artefacts Debian's headers
# lack, rebuilt from the same source with the kernel's own toolchain, and a
# module build directory ("kdir") that adds them to the stock headers.
#
#   tests/stock/rust-prepare.sh       prints the kdir's path (in the root)
#
# Runs in the trixie root of fetch.sh (trixie's gcc-14, rustc 1.85.1,
# bindgen 0.71.1), as a user's machine would:
#  1. checks that the kernel's compiler strings (its .config) are exactly
#     those of the installed gcc, rustc and bindgen, or stops naming them;
#  2. unpacks linux-source-7.3 (the same version as the headers), puts the
#     stock .config in it, `make olddefconfig` (must not change it), then
#     `make modules_prepare`, which builds scripts/target.json and all of
#     rust/ (core, compiler_builtins, ffi, bindings, uapi, build_error,
#     pin_init, zerocopy, kernel, and the macros, pin_init_internal and
#     zerocopy_derive proc-macros);
#  3. makes /usr/src/ovpn-stock/kdir-<release>: the stock headers tree by
#     symlinks, its own Makefile (KBUILD_OUTPUT pointing at itself), a
#     scripts/ of symlinks plus target.json, and rust/*.rmeta and *.so.
# Idempotent: keyed by the release and the toolchain; a second run prints.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
[ -d "$STOCK_ROOT" ] || "$HERE/fetch.sh" >/dev/null
exec 9>"$STOCK_CACHE/.lock-prepare"
flock 9
trap stock_unmount EXIT

# Paths inside the root.
HDR=/usr/src/linux-headers-$STOCK_KREL
WORK=/usr/src/ovpn-stock
SRC=$WORK/linux-source-$STOCK_KREL
KDIR=$WORK/kdir-$STOCK_KREL
MAKEARGS=(ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- CC=x86_64-linux-gnu-gcc-14
	HOSTCC=gcc-14 KERNELRELEASE=$STOCK_KREL -j1)

# 1. The kernel's compilers, checked against the installed ones.
cfg() { sed -n "s/^$1=\"\(.*\)\"$/\1/p" "$STOCK_ROOT$HDR/.config"; }
want_cc=$(cfg CONFIG_CC_VERSION_TEXT) want_rustc=$(cfg CONFIG_RUSTC_VERSION_TEXT)
want_bindgen=$(cfg CONFIG_BINDGEN_VERSION_TEXT)
have_cc=$(stock_chroot x86_64-linux-gnu-gcc-14 --version 2>/dev/null | head -n1 || true)
have_rustc=$(stock_chroot rustc --version 2>/dev/null || true)
have_bindgen=$(stock_chroot bindgen --version 2>/dev/null || true)
bad=0
[ "$have_cc" = "$want_cc" ] || { stock_log "C compiler: kernel \"$want_cc\", here \"$have_cc\" (install gcc-14)"; bad=1; }
[ "$have_rustc" = "$want_rustc" ] || { stock_log "rustc: kernel \"$want_rustc\", here \"$have_rustc\" (install rustc and rust-src $STOCK_RUSTC_PKG from trixie)"; bad=1; }
[ "$have_bindgen" = "$want_bindgen" ] || { stock_log "bindgen: kernel \"$want_bindgen\", here \"$have_bindgen\" (install bindgen from trixie)"; bad=1; }
[ $bad = 0 ] || stock_die "the toolchain differs from the kernel's; not building"

key=$(printf '%s\n' "$STOCK_KREL" "$want_cc" "$want_rustc" "$want_bindgen" recipe-1 | sha256sum | cut -c1-12)
if [ -f "$STOCK_ROOT$KDIR/.done-$key" ]; then
	echo "$KDIR"
	exit 0
fi

# 2. The source, the stock config, modules_prepare.
tarball=$(ls -t "$OVPN_DCO_CACHE/$STOCK_SRCPKG"-"$STOCK_KVER".tar.xz "$STOCK_CACHE/$STOCK_SRCPKG"-"$STOCK_KVER".tar.xz 2>/dev/null | head -n1 || true)
if [ -z "$tarball" ]; then
	stock_apt_setup
	apt-get "${STOCK_APT_OPTS[@]}" update -qq
	rm -rf "$STOCK_CACHE/dl" && mkdir -p "$STOCK_CACHE/dl"
	(cd "$STOCK_CACHE/dl" && apt-get "${STOCK_APT_OPTS[@]}" download -qq "$STOCK_SRCPKG=$STOCK_KVER")
	dpkg -x "$STOCK_CACHE"/dl/*.deb "$STOCK_CACHE/dl/x"
	tarball=$STOCK_CACHE/$STOCK_SRCPKG-$STOCK_KVER.tar.xz
	mv "$STOCK_CACHE/dl/x/usr/src/$STOCK_SRCPKG.tar.xz" "$tarball"
	rm -rf "$STOCK_CACHE/dl"
fi
if [ ! -f "$STOCK_ROOT$SRC/.unpacked" ]; then
	stock_log "unpacking $(basename "$tarball")"
	rm -rf "$STOCK_ROOT$SRC" && mkdir -p "$STOCK_ROOT$SRC"
	nice -n 19 tar -xf "$tarball" -C "$STOCK_ROOT$SRC" --strip-components=1
	touch "$STOCK_ROOT$SRC/.unpacked"
fi
cp "$STOCK_ROOT$HDR/.config" "$STOCK_ROOT$SRC/.config"
stock_chroot make -C "$SRC" -s "${MAKEARGS[@]}" olddefconfig
if ! diff -q <(grep -v '^#' "$STOCK_ROOT$HDR/.config" | sort) <(grep -v '^#' "$STOCK_ROOT$SRC/.config" | sort) >/dev/null; then
	diff <(grep -v '^#' "$STOCK_ROOT$HDR/.config" | sort) <(grep -v '^#' "$STOCK_ROOT$SRC/.config" | sort) | head -n 20 >&2
	stock_die "olddefconfig changed the stock config (toolchain mismatch?)"
fi
stock_log "make modules_prepare (rust/ included), -j1 under nice"
start=$(date +%s)
nice -n 19 chroot "$STOCK_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	make -C "$SRC" "${MAKEARGS[@]}" modules_prepare >"$STOCK_CACHE/modules_prepare.log" 2>&1 ||
	{ tail -n 40 "$STOCK_CACHE/modules_prepare.log" >&2; stock_die "modules_prepare failed"; }
secs=$(( $(date +%s) - start ))
stock_log "modules_prepare took $secs s"
echo "$secs" >"$STOCK_CACHE/modules_prepare.seconds"

# 3. The kdir: stock headers + target.json + rust/.
stock_log "assembling $KDIR"
rm -rf "$STOCK_ROOT$KDIR" && mkdir -p "$STOCK_ROOT$KDIR/scripts" "$STOCK_ROOT$KDIR/rust"
for f in "$STOCK_ROOT$HDR"/* "$STOCK_ROOT$HDR"/.config "$STOCK_ROOT$HDR"/.kernelvariables; do
	n=$(basename "$f")
	case $n in Makefile|scripts) continue;; esac
	ln -s "$HDR/$n" "$STOCK_ROOT$KDIR/$n"
done
sed "s|^KBUILD_OUTPUT=.*|KBUILD_OUTPUT=$KDIR|" "$STOCK_ROOT$HDR/Makefile" >"$STOCK_ROOT$KDIR/Makefile"
kbs=$(readlink "$STOCK_ROOT$HDR/scripts")                      # ../../lib/linux-kbuild-*/scripts
kbs=$(cd "$STOCK_ROOT$HDR" && cd "$kbs" && pwd -P); kbs=${kbs#"$STOCK_ROOT"}
for f in "$STOCK_ROOT$kbs"/* "$STOCK_ROOT$kbs"/.[!.]*; do
	[ -e "$f" ] || continue
	ln -s "$kbs/$(basename "$f")" "$STOCK_ROOT$KDIR/scripts/"
done
cp "$STOCK_ROOT$SRC/scripts/target.json" "$STOCK_ROOT$KDIR/scripts/"
cp "$STOCK_ROOT$SRC"/rust/*.rmeta "$STOCK_ROOT$SRC"/rust/*.so "$STOCK_ROOT$KDIR/rust/"
touch "$STOCK_ROOT$KDIR/.done-$key"
ls "$STOCK_ROOT$KDIR/rust" >&2
echo "$KDIR"
