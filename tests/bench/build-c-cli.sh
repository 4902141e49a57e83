#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the kernel selftests' client of Linux's C `ovpn` driver
# (tools/testing/selftests/net/ovpn/ovpn-cli.c) from the kernel tree KDIR
# and prints the path of the binary.
#
#   tests/bench/build-c-cli.sh KDIR
#
# The binary is cached outside the repository, in
# $OVPN_DCO_CACHE/bench/ovpn-cli-c-<tree name>, so the tree (shared with
# the VM tests) is never written to: instead of `make headers_install`
# there, the UAPI headers the tool needs newer than the system's
# linux-libc-dev has (<linux/ovpn.h>, <linux/if_link.h> with
# IFLA_OVPN_MODE) are copied from the tree's include/uapi into a scratch
# directory.  Their only kernel-only parts are `#ifndef __KERNEL__`
# blocks, which a userspace compile resolves as headers_install would; any
# other annotation headers_install strips makes this script refuse.  Needs
# libnl-genl-3-dev and libmbedtls-dev (tests/bench/provision-bench.sh).
set -euo pipefail

KDIR=${1:?usage: build-c-cli.sh KDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../env.sh"

SRC=$KDIR/tools/testing/selftests/net/ovpn/ovpn-cli.c
UAPI_HEADERS=(ovpn.h if_link.h)
OUTDIR=$OVPN_DCO_CACHE/bench
BIN=$OUTDIR/ovpn-cli-c-$(basename "$KDIR")

log() { printf 'build-c-cli: %s\n' "$*" >&2; }
[ -f "$SRC" ] || { log "no $SRC in the kernel tree"; exit 1; }
for h in "${UAPI_HEADERS[@]}"; do
	[ -f "$KDIR/include/uapi/linux/$h" ] || { log "no include/uapi/linux/$h in the kernel tree"; exit 1; }
done

if [ -x "$BIN" ] && [ "$BIN" -nt "$SRC" ]; then
	echo "$BIN"
	exit 0
fi

mkdir -p "$OUTDIR"
hdr=$(mktemp -d "$OUTDIR/hdr.XXXXXX")
trap 'rm -rf "$hdr"' EXIT
mkdir -p "$hdr/linux"
for h in "${UAPI_HEADERS[@]}"; do
	if grep -Eq '__user|__force|__iomem|#if(def)? __KERNEL__|#if defined\(__KERNEL__' \
		"$KDIR/include/uapi/linux/$h"; then
		log "include/uapi/linux/$h needs headers_install processing"
		exit 1
	fi
	cp "$KDIR/include/uapi/linux/$h" "$hdr/linux/$h"
done

# The selftest's own Makefile links libnl-genl and mbedcrypto; kselftest.h
# lives in tools/testing/selftests.
gcc -O2 -Wall -Wno-unused-result -D_GNU_SOURCE \
	-I"$hdr" -I"$KDIR/tools/testing/selftests" \
	$(pkg-config --cflags libnl-genl-3.0) \
	"$SRC" -o "$BIN.tmp" \
	$(pkg-config --libs libnl-genl-3.0) -lmbedcrypto >&2
mv "$BIN.tmp" "$BIN"
log "built $BIN"
echo "$BIN"
