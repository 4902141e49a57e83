#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Step 2 of the stock-kernel check: what a Debian trixie user does before
# building the module against the stock kernel's headers, in the trixie
# root of fetch.sh:
#   apt install linux-source-7.3 dkms
#   make rust-prepare KERNEL_SRC=/lib/modules/7.3.4+deb13-amd64/build
# with the module's source a `git archive` copy of REV (default HEAD) in
# <root>/opt/ovpn-src.  `make rust-prepare` (tools/rust-prepare.sh) checks
# the kernel's compilers against trixie's, runs modules_prepare on
# linux-source-7.3 with the stock .config, and caches a kdir in
# <root>/var/cache/ovpn-dco.  Its build tree is kept here
# (RUST_PREPARE_BUILD=$STOCK_PREP in the root) for
# smoke.sh, which compares the rebuilt rust/*.o with the stock kernel's
# symbols and builds two of its samples.
#
#   tests/stock/rust-prepare.sh [REV]     prints the kdir's path (in the root)
#                                         (REV "." is the working tree)
#
# A second run finds the kdir cached (`make rust-prepare` says so) in a
# few seconds.  (The uname -r of the chroot is the host's: KERNEL_SRC is
# named, as a user building for another kernel than the running one would.)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
REV=${1:-HEAD}
REPO=$(cd "$HERE/../.." && pwd)
[ -d "$STOCK_ROOT" ] || "$HERE/fetch.sh" >/dev/null
exec 9>"$STOCK_CACHE/.lock-prepare"
flock 9
trap stock_unmount EXIT

src=$STOCK_ROOT$STOCK_MODSRC
rm -rf "$src" && mkdir -p "$src"
if [ "$REV" = . ]; then          # the working tree, uncommitted changes included
	(cd "$REPO" && git ls-files -co --exclude-standard -z | xargs -0 tar -c --no-recursion) |
		tar -x -C "$src"
	stock_log "module source: the working tree of $REPO in $STOCK_MODSRC"
else
	git -C "$REPO" archive "$REV" | tar -x -C "$src"
	stock_log "module source: $(git -C "$REPO" rev-parse --short "$REV") in $STOCK_MODSRC"
fi

installed() { stock_chroot dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }
if ! installed "$STOCK_SRCPKG" || ! installed dkms; then
	stock_log "apt-get install $STOCK_SRCPKG dkms (in the root)"
	stock_chroot apt-get update -qq
	stock_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "$STOCK_SRCPKG" dkms >"$STOCK_CACHE/apt-source.log" 2>&1 ||
		{ tail -n 20 "$STOCK_CACHE/apt-source.log" >&2; stock_die "apt-get install failed"; }
fi
stock_log "$(stock_chroot dpkg-query -W "$STOCK_SRCPKG" dkms | tr '\t\n' '= ')"

start=$(date +%s)
stock_mount
nice -n 19 chroot "$STOCK_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	LANG=C.UTF-8 RUST_PREPARE_BUILD=$STOCK_PREP RUST_PREPARE_JOBS=1 \
	make -C "$STOCK_MODSRC" rust-prepare KERNEL_SRC="$STOCK_KSRC" >"$STOCK_CACHE/rust-prepare.log" 2>&1 ||
	{ tail -n 30 "$STOCK_CACHE/rust-prepare.log" >&2; stock_die "make rust-prepare failed"; }
sed 's/^/    /' "$STOCK_CACHE/rust-prepare.log" | grep -v 'make\[\|Entering\|Leaving' >&2
stock_log "make rust-prepare took $(( $(date +%s) - start )) s"
stock_kdir || stock_die "no prepared kdir"
