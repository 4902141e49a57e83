#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the kernel's crypto benchmarking module, tcrypt.ko, as an
# out-of-tree module from the kernel tree KDIR's own crypto/tcrypt.c, and
# prints its path.
#
#   tests/bench/build-tcrypt.sh KDIR
#
# The test kernel's config does not build it: the option is
# CONFIG_CRYPTO_BENCHMARK in Linux 7.3 (CONFIG_CRYPTO_TEST in older trees,
# the name tests/qemu/kernel.config uses, which 7.3 drops silently).  A
# tree built with CONFIG_CRYPTO_BENCHMARK=m needs nothing of this: the
# guest then loads the tree's own module.  The build happens in
# $OVPN_DCO_CACHE/bench/tcrypt-<tree name>, never in the tree.
set -euo pipefail

KDIR=${1:?usage: build-tcrypt.sh KDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../env.sh"

log() { printf 'build-tcrypt: %s\n' "$*" >&2; }
if [ -f "$KDIR/crypto/tcrypt.ko" ]; then
	echo "$KDIR/crypto/tcrypt.ko"
	exit 0
fi
for f in tcrypt.c tcrypt.h internal.h; do
	[ -f "$KDIR/crypto/$f" ] || { log "no crypto/$f in the kernel tree"; exit 1; }
done
DIR=$OVPN_DCO_CACHE/bench/tcrypt-$(basename "$KDIR")
if [ -f "$DIR/tcrypt.ko" ] && [ "$DIR/tcrypt.ko" -nt "$KDIR/crypto/tcrypt.c" ]; then
	echo "$DIR/tcrypt.ko"
	exit 0
fi
rm -rf "$DIR" && mkdir -p "$DIR"
cp "$KDIR"/crypto/{tcrypt.c,tcrypt.h,internal.h} "$DIR/"
echo 'obj-m := tcrypt.o' >"$DIR/Kbuild"
make -C "$KDIR" M="$DIR" modules >"$DIR/build.log" 2>&1 ||
	{ tail -n 30 "$DIR/build.log" >&2; log "tcrypt build failed"; exit 1; }
log "built $DIR/tcrypt.ko"
echo "$DIR/tcrypt.ko"
