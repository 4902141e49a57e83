#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints the path of a built kernel tree for the test VM, building it first
# when the cache has none.
#
#   tests/kernel.sh [debug|release]      (default: debug)
#
# The source is Debian's linux-source-7.3 package, fetched with an isolated
# apt configuration (the system's apt sources are never changed).  The tree
# is configured from tests/qemu/kernel.config (+ tests/qemu/debug.config for
# the debug flavour) and built with clang 19.  Built trees live outside the
# repository, in $OVPN_DCO_CACHE (default /var/lib/ovpn-dco), keyed by the
# kernel version, the config fragments and the toolchain versions, so a
# second run costs nothing.
set -euo pipefail

FLAVOUR=${1:-debug}
case "$FLAVOUR" in debug|release) ;; *) echo "usage: $0 [debug|release]" >&2; exit 2;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
CACHE=$OVPN_DCO_CACHE
KPKG=linux-source-7.3
# The version this project was verified with; a newer 7.3.x is used (and
# named in the cache key) if the archive no longer carries this one.
KPKG_VERSION=${OVPN_DCO_KPKG_VERSION:-7.3.4-1~bpo13+1}
SUITE=trixie-backports
JOBS=${JOBS:-$(( $(nproc) + 1 ))}

log() { printf 'kernel.sh: %s\n' "$*" >&2; }
mkdir -p "$CACHE"
# The source is fetched under one lock; each flavour is built under its
# own, so that a long build of one never holds up a cache hit of the
# other.
exec 9>"$CACHE/.lock"
flock 9

# --- Source -----------------------------------------------------------------
fetch_source() {
	local apt="$CACHE/apt" mirror
	mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$CACHE/dl"
	# Reuse the Debian mirror the system is configured with.
	mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)$/\1/p' \
		/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
	[ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' \
		/etc/apt/sources.list 2>/dev/null)
	[ -n "$mirror" ] || { log "no Debian mirror found in the apt sources"; exit 1; }
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $SUITE main" \
		>"$apt/sources.list"
	local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::archives=$apt/archives"
		-o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0
		-o APT::Sandbox::User=root)
	log "apt-get update ($SUITE, isolated)"
	apt-get "${opts[@]}" update -qq
	local ver=$KPKG_VERSION
	if ! apt-cache "${opts[@]}" show "$KPKG=$ver" >/dev/null 2>&1; then
		ver=$(apt-cache "${opts[@]}" policy "$KPKG" | sed -n 's/^ *Candidate: //p')
		log "$KPKG $KPKG_VERSION is gone from the archive; using $ver"
	fi
	(cd "$CACHE/dl" && apt-get "${opts[@]}" download "$KPKG=$ver")
	local deb
	deb=$(ls -t "$CACHE/dl/${KPKG}_"*.deb | head -n1)
	rm -rf "$CACHE/dl/x" && dpkg -x "$deb" "$CACHE/dl/x"
	mv "$CACHE/dl/x/usr/src/$KPKG.tar.xz" "$CACHE/$KPKG-$ver.tar.xz"
	rm -rf "$CACHE/dl"
}

tarball=$(ls -t "$CACHE/$KPKG"-*.tar.xz 2>/dev/null | head -n1 || true)
if [ -z "$tarball" ]; then
	# Only the tree's path goes to stdout: apt's chatter goes to stderr.
	fetch_source >&2
	tarball=$(ls -t "$CACHE/$KPKG"-*.tar.xz | head -n1)
fi
kver=$(basename "$tarball" .tar.xz)

# --- Cache key ----------------------------------------------------------------
frags=("$HERE/qemu/kernel.config")
[ "$FLAVOUR" = debug ] && frags+=("$HERE/qemu/debug.config")
key=$( {
	echo "$kver $FLAVOUR"
	cat "${frags[@]}"
	rustc --version; bindgen --version; clang-19 --version | head -n1
	vng --version 2>&1 | tail -n1
	echo recipe-2
} | sha256sum | cut -c1-16)
tree="$CACHE/build/$FLAVOUR-$kver-$key"
exec 8>"$CACHE/.lock-$FLAVOUR"
flock 8
flock -u 9

if [ -f "$tree/.ovpn-dco-built" ]; then
	echo "$tree"
	exit 0
fi

# --- Build ----------------------------------------------------------------------
log "building $FLAVOUR kernel in $tree (cold build: ~15 min on 2 cores)"
rm -rf "$tree" && mkdir -p "$tree"
tar -xf "$tarball" -C "$tree" --strip-components=1
cd "$tree"
make rustavailable >/dev/null
cfg_args=()
for f in "${frags[@]}"; do cfg_args+=(--config "$f"); done
vng --kconfig "${cfg_args[@]}" >/dev/null 2>&1
# virtme-ng appends its own defaults after the fragments (debug info among
# them); apply the fragments once more so that ours win.
scripts/kconfig/merge_config.sh -m .config "${frags[@]}" >/dev/null
make olddefconfig >/dev/null
grep -q '^CONFIG_DEBUG_INFO_NONE=y' .config || { log "config kept debug info"; exit 1; }
for opt in RUST OVPN WIREGUARD NET_NS VETH; do
	grep -Eq "^CONFIG_$opt=(y|m)" .config || { log "config lost CONFIG_$opt"; exit 1; }
done
if [ "$FLAVOUR" = debug ]; then
	for opt in KASAN PROVE_LOCKING PROVE_RCU DEBUG_ATOMIC_SLEEP DEBUG_KMEMLEAK DEBUG_NET; do
		grep -q "^CONFIG_$opt=y" .config || { log "config lost CONFIG_$opt"; exit 1; }
	done
fi
start=$(date +%s)
make -j"$JOBS" bzImage modules >"$tree/.build.log" 2>&1 ||
	{ tail -n 50 "$tree/.build.log" >&2; log "kernel build failed"; exit 1; }
log "built in $(( $(date +%s) - start )) s"
touch "$tree/.ovpn-dco-built"
# Keep only the newest tree of each flavour.
for old in "$CACHE/build/$FLAVOUR"-*; do
	[ "$old" = "$tree" ] || rm -rf "$old"
done
echo "$tree"
