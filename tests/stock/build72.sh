#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The floor's build check: the module built against Debian's Linux 7.2
# (trixie-backports' 7.2.12+deb13-amd64, the oldest kernel the Makefile
# accepts) as a user of that kernel would, in the trixie root of fetch.sh
# (same gcc-14, rustc 1.85.1 and bindgen 0.71.1 as the 7.3 kernel):
#   make rust-prepare KERNEL_SRC=/lib/modules/7.2.12+deb13-amd64/build
#   make KERNEL_SRC=/lib/modules/7.2.12+deb13-amd64/build
#
#   tests/stock/build72.sh [REV]     REV as for rust-prepare.sh ("." is the
#                                    working tree); prints "PASS build-7.2: ..."
#                                    or "FAIL build-7.2: ..." lines
#
# The 7.2 headers, kbuild and linux-source-7.2 packages are downloaded with
# the isolated apt of common.sh (into $STOCK_CACHE/k72, deleted once
# unpacked) and unpacked into the root with dpkg -x, not installed: dpkg
# (and so DKMS, which run.sh's dkms step drives in the same root) does not
# know them.  `make rust-prepare` then caches the kdir in
# <root>/var/cache/ovpn-dco as for 7.3 (its build tree is not kept).  From
# an empty cache (the root made already) about 3 minutes, cached 20 s.
# The script runs in a mount namespace of its own: the mounts it needs in
# the root (/proc, /dev, /sys) never meet those of another run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
REV=${1:-HEAD}
REPO=$(cd "$HERE/../.." && pwd)
K72_KREL=${K72_KREL:-7.2.12+deb13-amd64}
K72_KVER=${K72_KVER:-7.2.12-1~bpo13+1}     # the Debian package version
K72_KABI=${K72_KREL%-amd64}
K72=$STOCK_CACHE/k72
KSRC=/lib/modules/$K72_KREL/build
MODSRC=/opt/ovpn-src-72
name=build-7.2
pass() { echo "PASS $name: $*"; }
fail() { echo "FAIL $name: $*"; exit 1; }

if [ -z "${OVPN_BUILD72_NS:-}" ]; then
	OVPN_BUILD72_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
[ -d "$STOCK_ROOT" ] || "$HERE/fetch.sh" >/dev/null || fail "no trixie root (fetch.sh failed)"
mkdir -p "$K72"
exec 9>"$STOCK_CACHE/.lock-k72"
flock 9
start=$(date +%s)
inroot() {
	nice -n 19 chroot "$STOCK_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 "$@"
}

# --- The 7.2 headers and source, unpacked into the root -----------------------
pkgs=(linux-headers-$K72_KREL linux-headers-$K72_KABI-common linux-kbuild-$K72_KABI linux-source-7.2)
unpacked=$STOCK_ROOT/usr/src/.ovpn-dco-k72-$K72_KVER    # in the root: a new root unpacks again
if [ ! -f "$unpacked" ]; then
	stock_apt_setup
	rm -rf "$K72/debs" && mkdir -p "$K72/debs"
	dl() { (cd "$K72/debs" && apt-get "${STOCK_APT_OPTS[@]}" download -qq "${pkgs[@]/%/=$K72_KVER}"); }
	if ! dl 2>/dev/null; then
		stock_log "apt-get update (trixie, trixie-backports, trixie-security; isolated)"
		apt-get "${STOCK_APT_OPTS[@]}" update -qq
		dl || fail "cannot download ${pkgs[*]} $K72_KVER"
	fi
	for d in "$K72"/debs/*.deb; do dpkg -x "$d" "$STOCK_ROOT"; done
	stock_log "unpacked $(cd "$K72/debs" && echo *.deb) into the root"
	rm -rf "$K72/debs"
	touch "$unpacked"
fi
[ -f "$STOCK_ROOT$KSRC/.config" ] || fail "no 7.2 headers at $KSRC in the root"

# --- The module's source -------------------------------------------------------
src=$STOCK_ROOT$MODSRC
rm -rf "$src" && mkdir -p "$src"
if [ "$REV" = . ]; then
	(cd "$REPO" && git ls-files -co --exclude-standard -z | xargs -0 tar -c --no-recursion) |
		tar -x -C "$src"
else
	git -C "$REPO" archive "$REV" | tar -x -C "$src"
fi

# --- make rust-prepare (once), make ------------------------------------------
stock_mount
log=$K72/rust-prepare.log
t=$(date +%s)
if ! inroot make -C "$MODSRC" rust-prepare KERNEL_SRC="$KSRC" \
	RUST_PREPARE_JOBS="$(nproc)" >"$log" 2>&1; then
	tail -n 30 "$log"
	fail "make rust-prepare for $K72_KREL (log: $log)"
fi
grep -q 'prepared already' "$log" ||
	pass "make rust-prepare for $K72_KREL in $(( $(date +%s) - t )) s (linux-source-7.2 $K72_KVER)"
log=$K72/build.log
t=$(date +%s)
if ! inroot make -C "$MODSRC" KERNEL_SRC="$KSRC" -j1 >"$log" 2>&1; then
	grep -E -A5 'error(\[E[0-9]+\])?:' "$log" | head -n 60 || true
	tail -n 10 "$log"
	fail "make against $K72_KREL (log: $log)"
fi
w=$(grep -ciE '^warning|: warning:' "$log" || true)
[ "$w" = 0 ] || { grep -iE -A3 '^warning|: warning:' "$log" | head -n 20; fail "make: $w warnings"; }
ko=$src/ovpn-dco-v2.ko
missing=$(awk '$2 ~ /^_R/ {print $2}' "$STOCK_ROOT$KSRC/Module.symvers" | sort -u |
	comm -13 - <(nm -u "$ko" | awk '$2 ~ /^_R/ {print $2}' | sort -u))
[ -z "$missing" ] || fail "Rust imports the 7.2 kernel does not export: $(echo "$missing" | head -n 3 | tr '\n' ' ')"
vm=$(modinfo -F vermagic "$ko")
[ "${vm%% *}" = "$K72_KREL" ] || fail "vermagic $vm"
parms=$(modinfo -F parm "$ko" | sed 's/^\([a-z_]*\):.*(\([a-z0-9]*\))$/\1:\2/' | sort | tr '\n' ' ')
pass "built in $(( $(date +%s) - t )) s against $K72_KREL, no warnings, vermagic ${vm%% *}, parameters ${parms% } (total $(( $(date +%s) - start )) s)"
