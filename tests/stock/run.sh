#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole stock-kernel check (docs/stock-kernel.md), in order: fetch,
# rust-prepare, smoke, module (`make && make install`), boot with that
# module, dkms (the DKMS path), boot with DKMS's module, and build-7.2 (the
# module built against Debian's 7.2, the Makefile's floor: build72.sh).
# From an empty $STOCK_CACHE it provisions everything itself (about 23
# minutes); a second run reuses the cache.
#
#   tests/stock/run.sh [REV]      REV: the module's revision (default HEAD;
#                                 "." is the working tree)
#
# Prints one "PASS stock: ..." or "FAIL stock: ..." line per check
# (tests/run-all.sh counts them) and ends with "stock: N failed".  A step
# that fails without a FAIL line of its own gets one; after a failed
# fetch, rust-prepare, module or dkms step the steps that need it do not
# run (one FAIL line each).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
REV=${1:-HEAD}
mkdir -p "$STOCK_CACHE/logs"
fails=0
blocked=
step() {
	local name=$1 start=$(date +%s) log=$STOCK_CACHE/logs/$1.log rc own=0 line
	shift
	echo "### $name ($(date +%H:%M:%S))"
	if [ -n "$blocked" ]; then
		echo "FAIL stock: $name (not run: $blocked failed)"
		fails=$((fails + 1))
		return 1
	fi
	"$@" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS "*) echo "PASS stock: ${line#PASS }" ;;
		"FAIL "*) echo "FAIL stock: ${line#FAIL }"; fails=$((fails + 1)); own=1 ;;
		*) echo "    $line" ;;
		esac
	done <"$log"
	if [ $rc = 0 ]; then
		[ "$(grep -c '^PASS ' "$log")" -gt 0 ] ||
			echo "PASS stock: $name ($(( $(date +%s) - start )) s)"
		echo "step $name: ok ($(( $(date +%s) - start )) s)"
	else
		[ $own = 1 ] || { echo "FAIL stock: $name exited $rc (log: $log)"; fails=$((fails + 1)); }
		echo "step $name: FAILED ($(( $(date +%s) - start )) s)"
		return 1
	fi
}
start=$(date +%s)
step fetch "$HERE/fetch.sh" || blocked=fetch
root_blocked=$blocked     # build-7.2 needs the root only
step rust-prepare "$HERE/rust-prepare.sh" "$REV" || blocked=${blocked:-rust-prepare}
step smoke "$HERE/smoke.sh"
if step module "$HERE/module.sh" "$REV"; then
	step boot-make-install "$HERE/boot.sh" make-install
else
	blocked=${blocked:-module} step boot-make-install true
fi
if step dkms "$HERE/dkms.sh" "$REV"; then
	step boot-dkms "$HERE/boot.sh" dkms
else
	blocked=${blocked:-dkms} step boot-dkms true
fi
blocked=$root_blocked step build-7.2 "$HERE/build72.sh" "$REV"
stock_unmount
if grep -q " $STOCK_ROOT/" /proc/mounts; then
	echo "FAIL stock: mounts left in the root: $(grep " $STOCK_ROOT/" /proc/mounts | cut -d' ' -f2 | tr '\n' ' ')"
	fails=$((fails + 1))
fi
echo "stock: $fails failed ($(( $(date +%s) - start )) s)"
[ $fails = 0 ]
