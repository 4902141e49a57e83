#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Step 1 of the stock-kernel check: Debian's trixie-backports kernel
# 7.3.4+deb13-amd64 and the trixie toolchain that built it.
#
#   tests/stock/fetch.sh            fetch (once) and print the facts
#
# - downloads the headers packages with an isolated apt and unpacks them
#   in $STOCK_CACHE/hdr (for inspection; nothing is installed here);
# - makes a trixie root file system ($STOCK_CACHE/root, mmdebstrap) with
#   the stock linux-image and linux-headers, gcc-14, rustc, rust-src,
#   bindgen and libclang from trixie main, and the kernel build's tools;
# - prints the kernel's config facts, the Rust artefacts its headers lack,
#   the Rust symbols its Module.symvers lists and their crates' hashes,
#   and the exact package versions (also in $STOCK_CACHE/versions.txt).
# Idempotent: a second run only prints.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
mkdir -p "$STOCK_CACHE"
exec 9>"$STOCK_CACHE/.lock-fetch"
flock 9

stock_apt_setup
hdrpkgs=(linux-headers-$STOCK_KREL linux-headers-$STOCK_KABI-common linux-kbuild-$STOCK_KABI)
if [ ! -f "$STOCK_HDR/.done" ]; then
	stock_log "apt-get update (trixie, trixie-backports, trixie-security; isolated)"
	apt-get "${STOCK_APT_OPTS[@]}" update -qq
	rm -rf "$STOCK_CACHE/debs" "$STOCK_HDR" && mkdir -p "$STOCK_CACHE/debs" "$STOCK_HDR"
	(cd "$STOCK_CACHE/debs" &&
		apt-get "${STOCK_APT_OPTS[@]}" download -qq "${hdrpkgs[@]/%/=$STOCK_KVER}")
	for d in "$STOCK_CACHE"/debs/*.deb; do dpkg -x "$d" "$STOCK_HDR"; done
	touch "$STOCK_HDR/.done"
fi

if [ ! -d "$STOCK_ROOT" ]; then
	command -v mmdebstrap >/dev/null || {
		stock_log "apt-get install mmdebstrap (bookworm)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
	}
	m=$(stock_mirror)
	# trixie-backports keeps its default priority (100): only what is
	# named from it comes from it.  rustc and rust-src must stay trixie's
	# 1.85.1, the stock kernel's compiler (backports has newer ones).
	# openssl: Kconfig runs it (OPENSSL_SUPPORTS_ML_DSA is in the stock config).
	inc=gcc-14,gcc,make,bc,flex,bison,libelf-dev,libssl-dev,openssl,python3,cpio,xz-utils
	# kmod, udev, iproute2, iputils-ping, procps: for the guest (boot.sh, netns-test.sh).
	inc+=,rustc,rust-src,bindgen,libclang-19-dev,kmod,iproute2,iputils-ping,procps,udev
	inc+=,linux-base/trixie-backports,linux-headers-$STOCK_KREL,linux-image-$STOCK_KREL
	stock_log "mmdebstrap trixie root in $STOCK_ROOT"
	start=$(date +%s)
	rm -rf "$STOCK_ROOT.new"
	nice -n 19 mmdebstrap --variant=minbase --include="$inc" trixie "$STOCK_ROOT.new" \
		"deb $m trixie main" "deb $m trixie-backports main" \
		"deb $m-security trixie-security main" >"$STOCK_CACHE/mmdebstrap.log" 2>&1 ||
		{ tail -n 20 "$STOCK_CACHE/mmdebstrap.log" >&2; stock_die "mmdebstrap failed"; }
	mv "$STOCK_ROOT.new" "$STOCK_ROOT"
	stock_log "trixie root made in $(( $(date +%s) - start )) s"
fi

# --- Facts --------------------------------------------------------------------
H=$STOCK_HDR/usr/src/linux-headers-$STOCK_KREL
{
	echo "# Packages (Debian), as installed in the trixie root"
	chroot "$STOCK_ROOT" dpkg-query -W -f='${Package} ${Version}\n' \
		"${hdrpkgs[@]}" linux-image-$STOCK_KREL linux-binary-$STOCK_KREL \
		linux-modules-$STOCK_KREL rustc rust-src bindgen gcc-14 libclang-19-dev \
		libclang1-19 binutils libc6 2>/dev/null
	echo "# Tools, as they report themselves"
	chroot "$STOCK_ROOT" rustc --version
	chroot "$STOCK_ROOT" bindgen --version
	chroot "$STOCK_ROOT" x86_64-linux-gnu-gcc-14 --version | head -n1
	echo "# The kernel's config ($H/.config)"
	grep -E '^(# )?CONFIG_(RUST|MODVERSIONS|CC_VERSION_TEXT|RUSTC_VERSION_TEXT|BINDGEN_VERSION_TEXT|RUSTC_LLVM_VERSION|MODULE_SIG|MODULE_SIG_FORCE|DEBUG_INFO_BTF_MODULES|RUST_INLINE_HELPERS)[= ]' "$H/.config"
	sed -n 's/^#define LINUX_COMPILER[[:space:]]*/LINUX_COMPILER /p' "$H/include/generated/compile.h"
	echo "# Rust artefacts in the headers packages (none expected)"
	find "$STOCK_HDR" \( -name '*.rmeta' -o -name 'lib*.so' -o -name target.json \
		-o -path '*/rust/*' \) -print | sed "s|$STOCK_HDR||" | head -n 20
	echo "# Module.symvers: Rust symbols (v0 mangling), symbols naming each crate"
	echo "rust symbols: $(awk '$2 ~ /^_R/' "$H/Module.symvers" | wc -l) of $(wc -l <"$H/Module.symvers")"
	awk '$2 ~ /^_R/ {print $2}' "$H/Module.symvers" |
		perl -ne 'my %c; while (/C(s[0-9A-Za-z]*_)(\d+)/g) { my ($h,$n)=($1,$2); my $id=substr($_,pos($_),$n);
			next unless $id =~ /^[a-z_][a-z0-9_]*$/; $h =~ s/^s|_$//g; $c{"crate $id hash $h"}=1 } print "$_\n" for keys %c' |
		sort | uniq -c | sort -rn
} | tee "$STOCK_CACHE/versions.txt"
