#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole stock-kernel check (docs/stock-kernel.md), in order: fetch,
# rust-prepare, smoke, module, boot.  Each step is cached or cheap on a
# second run.  Ends with "stock: N failed".
#
#   tests/stock/run.sh [REV]      REV: the module's revision (default HEAD)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
fails=0
step() {
	local name=$1 start=$(date +%s) out; shift
	echo "### $name"
	out=$("$@" 2>&1); local rc=$?
	printf '%s\n' "$out" | tail -n 40
	if [ $rc = 0 ] && ! printf '%s\n' "$out" | grep -Eq '^FAIL|RESULT .*FAILED'; then
		echo "step $name: ok ($(( $(date +%s) - start )) s)"
	else
		echo "step $name: FAILED ($(( $(date +%s) - start )) s)"
		fails=$((fails + 1))
	fi
}
step fetch "$HERE/fetch.sh"
step rust-prepare "$HERE/rust-prepare.sh"
step smoke "$HERE/smoke.sh"
step module "$HERE/module.sh" "${1:-HEAD}"
step boot "$HERE/boot.sh"
echo "stock: $fails failed"
[ $fails = 0 ]
