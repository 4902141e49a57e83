#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make rust-prepare`: the Rust artefacts a distribution's kernel headers
# lack (scripts/target.json, rust/*.rmeta and the proc-macro libraries),
# rebuilt from the kernel's own source with the kernel's own compilers, and
# a build directory ("kdir") that adds them to the headers by symlinks.
#
#   tools/rust-prepare.sh HEADERS KDIR [SOURCE]
#
# HEADERS  the headers tree (/lib/modules/<release>/build), left unchanged;
# KDIR     where to put the kdir (the Makefile's $(RUST_CACHE)/<release>-<key>);
# SOURCE   the kernel's source, a tarball or a directory; default Debian's
#          /usr/src/linux-source-<major>.<minor>.tar.xz (linux-source-<major>.<minor>).
# Environment: RUST_PREPARE_BUILD=<dir> builds there and keeps the tree
# (default: a temporary directory, deleted); RUST_PREPARE_JOBS (default:
# the number of CPUs); LLVM as for the kernel's make (clang kernels only).
#
# The compilers are checked first: the C compiler, rustc and bindgen must
# print exactly what the kernel's .config recorded, or the crates' hashes
# (in the names of the kernel's Rust symbols) would not match the kernel's.
# Then: unpack the source, put the headers' .config in it, `make
# olddefconfig` (which must leave it unchanged), `make modules_prepare`
# (it builds rust/ when CONFIG_RUST=y), and assemble KDIR.  The kernel is
# not built.  Takes about 7 minutes on two cores, once per kernel build.
set -euo pipefail

die() { printf 'ovpn-dco: rust-prepare: %s\n' "$@" >&2; exit 1; }
say() { printf 'ovpn-dco: rust-prepare: %s\n' "$*" >&2; }

[ $# -ge 2 ] || die "usage: $0 HEADERS KDIR [SOURCE]"
H=$(cd "$1" && pwd) || die "no headers tree at $1"
KDIR=$2
SOURCE=${3:-}
cfg() { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$H/.config"; }

[ -f "$H/.config" ] || die "$H has no .config: not a kernel headers tree"
[ "$(cfg CONFIG_RUST)" = y ] || die "the kernel of $H has no Rust support (CONFIG_RUST=y)"
krel=$(cat "$H/include/config/kernel.release" 2>/dev/null) ||
	die "$H has no include/config/kernel.release"
kver=${krel%%[!0-9.]*}                  # 7.3.4
series=$(echo "$kver" | cut -d. -f1,2)  # 7.3
grep -q '^KBUILD_OUTPUT=' "$H/Makefile" 2>/dev/null ||
	die "$H is not a headers tree of Debian's layout (its Makefile sets no KBUILD_OUTPUT);" \
		"build the module against the kernel's full build tree instead"
debian=; command -v dpkg-query >/dev/null && debian=1

# --- 1. The kernel's compilers against the installed ones ---------------------
if [ "$(cfg CONFIG_CC_IS_CLANG)" = y ]; then
	case ${LLVM:-} in
	*/) cc=${LLVM}clang ;;
	-*) cc=clang$LLVM ;;
	*) cc=clang ;;
	esac
	llvm=(LLVM="${LLVM:-1}")
	hostcc=$cc
else
	want=$(cfg CONFIG_CC_VERSION_TEXT)
	cc=${want%% *}                  # Debian: x86_64-linux-gnu-gcc-14
	llvm=()
	hostcc=$cc
fi
arch=$(sed -n 's/^override ARCH = //p' "$H/.kernelvariables" 2>/dev/null)
[ -n "$arch" ] || case $(uname -m) in
	x86_64) arch=x86 ;; aarch64) arch=arm64 ;; *) die "unknown architecture $(uname -m)" ;;
esac
bad=()
check() {    # what, the kernel's string, the installed one, the packages (Debian)
	[ "$2" = "$3" ] && return
	bad+=("$1: the kernel was built with \"$2\", this machine has \"${3:-none}\"")
	pkgs+=" $4"
}
pkgs=
check "C compiler ($cc)" "$(cfg CONFIG_CC_VERSION_TEXT)" \
	"$("$cc" --version 2>/dev/null | head -n1 || true)" "${cc#*-linux-gnu-}"
check rustc "$(cfg CONFIG_RUSTC_VERSION_TEXT)" "$(rustc --version 2>/dev/null || true)" "rustc rust-src"
check bindgen "$(cfg CONFIG_BINDGEN_VERSION_TEXT)" "$(bindgen --version 2>/dev/null || true)" bindgen
sysroot=$(rustc --print sysroot 2>/dev/null || true)
[ -f "$sysroot/lib/rustlib/src/rust/library/core/src/lib.rs" ] ||
	{ bad+=("rustc has no library source (rust-src)"); pkgs+=" rust-src"; }
command -v openssl >/dev/null ||    # Kconfig runs it (certs/Kconfig)
	{ bad+=("no openssl command"); pkgs+=" openssl"; }
if [ ${#bad[@]} -gt 0 ]; then
	printf 'ovpn-dco: rust-prepare: %s\n' "${bad[@]}" >&2
	if [ -n "$debian" ]; then
		say "on Debian, install the release's own packages:$pkgs"
		case $krel in *+deb13*)
			say "(for Debian 13's kernels: trixie's rustc and rust-src, not trixie-backports')" ;;
		esac
	fi
	die "the toolchain differs from the kernel's; nothing built"
fi

# --- 2. The source, the kernel's .config, modules_prepare ---------------------
if [ -z "$SOURCE" ]; then
	for s in /usr/src/linux-source-"$series".tar.xz /usr/src/linux-source-"$series".tar.bz2 \
		/usr/src/linux-source-"$series"; do
		[ -e "$s" ] && SOURCE=$s && break
	done
	[ -n "$SOURCE" ] || die "no kernel source for $krel in /usr/src" \
		"(Debian: apt install linux-source-$series; elsewhere pass KERNEL_SOURCE=<tarball or directory>)"
fi
[ -e "$SOURCE" ] || die "no kernel source at $SOURCE"
if [ -n "$debian" ]; then
	# Debian's source and headers packages must be the same upload.
	hpkg=$(dpkg-query -S "$H/.config" 2>/dev/null | cut -d: -f1 || true)
	spkg=$(dpkg-query -S "$(realpath "$SOURCE")" 2>/dev/null | cut -d: -f1 || true)
	if [ -n "$hpkg" ] && [ -n "$spkg" ]; then
		hv=$(dpkg-query -W -f='${Version}' "$hpkg") sv=$(dpkg-query -W -f='${Version}' "$spkg")
		[ "$hv" = "$sv" ] || die "$hpkg is $hv but $spkg is $sv: install the same version of both"
	fi
fi

jobs=${RUST_PREPARE_JOBS:-$(nproc)}
if [ -n "${RUST_PREPARE_BUILD:-}" ]; then
	B=$RUST_PREPARE_BUILD
	mkdir -p "$B"
else
	B=$(mktemp -d "${TMPDIR:-/var/tmp}/ovpn-dco-rust-prepare.XXXXXX")
	trap 'rm -rf "$B"' EXIT
fi
if [ -d "$SOURCE" ]; then
	src=$SOURCE
else
	src=$B/src
	if [ ! -f "$src/.ovpn-dco-unpacked" ]; then
		say "unpacking $SOURCE"
		rm -rf "$src" && mkdir -p "$src"
		tar -xf "$SOURCE" -C "$src" --strip-components=1
		touch "$src/.ovpn-dco-unpacked"
	fi
fi
srcver=$(make -s -C "$src" kernelversion 2>/dev/null) || die "$SOURCE: not a kernel source"
[ "$srcver" = "$kver" ] || die "$SOURCE is Linux $srcver, the headers are $krel"
out=$B/out      # the build's output (O=), so that a source directory stays clean
mkdir -p "$out"
mk=(make -C "$src" O="$out" ARCH="$arch" CC="$cc" HOSTCC="$hostcc" "${llvm[@]}"
	KERNELRELEASE="$krel" -j"$jobs")
cp "$H/.config" "$out/.config"
"${mk[@]}" -s olddefconfig >&2
if ! cmp -s <(grep -v '^#' "$H/.config" | sort) <(grep -v '^#' "$out/.config" | sort); then
	diff <(grep -v '^#' "$H/.config" | sort) <(grep -v '^#' "$out/.config" | sort) | head -n 20 >&2
	die "the kernel's .config changes under this toolchain (above); nothing built"
fi
say "make modules_prepare for $krel (Rust included; about 7 minutes on two cores)"
log=$B/modules_prepare.log
"${mk[@]}" modules_prepare >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "modules_prepare failed (log: $log)"; }

# --- 3. The kdir: the headers by symlinks, plus target.json and rust/ ---------
say "assembling $KDIR"
rm -rf "$KDIR.new" && mkdir -p "$KDIR.new/scripts" "$KDIR.new/rust"
for f in "$H"/* "$H"/.config "$H"/.kernelvariables; do
	[ -e "$f" ] || continue
	case ${f##*/} in Makefile|scripts|rust) continue ;; esac
	ln -s "$f" "$KDIR.new/"
done
sed "s|^KBUILD_OUTPUT=.*|KBUILD_OUTPUT=$KDIR|" "$H/Makefile" >"$KDIR.new/Makefile"
scripts=$(cd "$H/scripts" && pwd -P)
for f in "$scripts"/* "$scripts"/.[!.]*; do
	[ -e "$f" ] && ln -s "$f" "$KDIR.new/scripts/"
done
cp "$out/scripts/target.json" "$KDIR.new/scripts/"
cp "$out"/rust/*.rmeta "$out"/rust/*.so "$KDIR.new/rust/"
{
	echo "release $krel"
	echo "source $SOURCE"
	cfg CONFIG_CC_VERSION_TEXT; cfg CONFIG_RUSTC_VERSION_TEXT; cfg CONFIG_BINDGEN_VERSION_TEXT
} >"$KDIR.new/.ovpn-dco-prepared"
rm -rf "$KDIR" && mv "$KDIR.new" "$KDIR"
say "done: make builds the module against $KDIR"
