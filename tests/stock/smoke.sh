#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Step 3 of the stock-kernel check: out-of-tree Rust modules built against
# the stock headers plus the rebuilt Rust artefacts (`make rust-prepare`,
# run by rust-prepare.sh), in
# the trixie root, and their Rust symbol references compared with the
# stock kernel's Module.symvers.
#
#   tests/stock/smoke.sh        prints one "PASS"/"FAIL" line per check
#
# The modules: the kernel's samples/rust/rust_minimal.rs and
# rust_misc_device.rs, unchanged, each as its own M= build.  modpost
# already fails a build whose module needs a symbol that no Module.symvers
# exports; the check below says so by name, and also reads the crate hashes
# the .ko refers to, to put them next to those of Debian's own Rust modules.
# The built .ko files are left in <root>/opt/stock-smoke for boot.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
KDIR=$(stock_kdir) || KDIR=$("$HERE/rust-prepare.sh")
trap stock_unmount EXIT
SRC=$STOCK_PREP/src     # the source and the build (O=) of `make rust-prepare`
BUILT=$STOCK_PREP/out
OUT=/opt/stock-smoke
SYMVERS=$STOCK_ROOT/usr/src/linux-headers-$STOCK_KREL/Module.symvers
fails=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# The crate hashes a list of v0 symbols refers to, one "crate hash" a line.
crates() {
	perl -ne 'while (/C(s[0-9A-Za-z]*_)(\d+)/g) { my ($h,$n)=($1,$2); my $id=substr($_,pos($_),$n);
		next unless $id =~ /^[a-z_][a-z0-9_]*$/; $h =~ s/^s|_$//g; print "$id $h\n" }' | sort -u
}
awk '$2 ~ /^_R/ {print $2}' "$SYMVERS" | sort -u >"$STOCK_CACHE/symvers.rust"
crates <"$STOCK_CACHE/symvers.rust" >"$STOCK_CACHE/symvers.crates"

# Every Rust symbol the stock vmlinux exports, defined under the very same
# name by the rebuilt rust/*.o (same crate hashes for every crate).
nm --defined-only "$STOCK_ROOT$BUILT"/rust/*.o 2>/dev/null |
	awk '$3 ~ /^_R/ {print $3}' | sort -u >"$STOCK_CACHE/rebuilt.rust"
n=$(wc -l <"$STOCK_CACHE/symvers.rust")
missing=$(comm -23 "$STOCK_CACHE/symvers.rust" "$STOCK_CACHE/rebuilt.rust" | wc -l)
if [ "$missing" = 0 ]; then
	pass "rebuilt rust/*.o define all $n Rust symbols of the stock Module.symvers, same names"
else
	fail "rebuilt rust/*.o lack $missing of the stock Module.symvers' $n Rust symbols"
fi

rm -rf "$STOCK_ROOT$OUT" && mkdir -p "$STOCK_ROOT$OUT"
stock_mount
for m in rust_minimal rust_misc_device; do
	d=$STOCK_ROOT$OUT/$m
	mkdir -p "$d"
	cp "$STOCK_ROOT$SRC/samples/rust/$m.rs" "$d/"
	echo "obj-m := $m.o" >"$d/Kbuild"
	start=$(date +%s)
	if ! nice -n 19 chroot "$STOCK_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 make -C "$KDIR" M="$OUT/$m" -j1 modules >"$d/build.log" 2>&1; then
		tail -n 30 "$d/build.log"
		fail "$m: build against $KDIR"
		continue
	fi
	pass "$m: built in $(( $(date +%s) - start )) s against the stock headers + rebuilt rust/"
	ko=$d/$m.ko
	nm -u "$ko" | awk '{print $2}' | grep '^_R' | sort -u >"$d/undef.rust" || true
	missing=$(comm -23 "$d/undef.rust" "$STOCK_CACHE/symvers.rust")
	n=$(wc -l <"$d/undef.rust")
	if [ -z "$missing" ] && [ "$n" -gt 0 ]; then
		pass "$m: all $n Rust symbols it imports are in the stock Module.symvers"
	else
		fail "$m: $n Rust imports; not in the stock Module.symvers: $(echo "$missing" | head -n 5 | tr '\n' ' ')"
	fi
	crates <"$d/undef.rust" | while read -r c h; do
		if grep -qx "$c $h" "$STOCK_CACHE/symvers.crates"; then
			echo "     crate $c hash $h: the stock kernel's"
		else
			echo "     crate $c hash $h: NOT the stock kernel's ($(awk -v c="$c" '$1==c {print $2}' "$STOCK_CACHE/symvers.crates" | tr '\n' ' '))"
		fi
	done
	modinfo -F vermagic "$ko" | sed "s/^/     vermagic: /"
done

# Debian's own Rust modules, for comparison: the crate hashes they import.
for ko in $(find "$STOCK_ROOT/lib/modules/$STOCK_KREL" -name '*_rust.ko*' | head -n 3); do
	case $ko in *.xz) xz -dc "$ko" >"$STOCK_CACHE/tmp.ko";; *.zst) zstd -qdc "$ko" >"$STOCK_CACHE/tmp.ko";; *) cp "$ko" "$STOCK_CACHE/tmp.ko";; esac
	echo "     Debian's $(basename "$ko") imports: $(nm -u "$STOCK_CACHE/tmp.ko" | awk '{print $2}' | grep '^_R' | crates | tr '\n' ' ')"
done
rm -f "$STOCK_CACHE/tmp.ko"
echo "smoke: $fails failed"
[ "$fails" = 0 ]
