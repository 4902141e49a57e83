#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every scenario file (tests/vm/t-*.sh, or those named after REPO)
# in one boot of the test VM: booting the debug kernel under TCG costs
# over a minute, so the files share one boot.  The boot is checked once
# (boot-clean-all); each file then owns the kernel log it adds and ends
# with its own clean-after-<file> check (splats, leaks, module unload).
set -u
REPO=${1:?usage: all.sh REPO [t-file.sh ...]}
shift
. "$REPO/tests/vm/lib.sh"
export OVPN_VM_ONE_BOOT=1
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$REPO"/tests/vm/t-*.sh)
for t in "${files[@]}"; do
	name=$(basename "$t" .sh)
	echo "##### $name"
	bash "$t" "$REPO" 2>&1 | tee /tmp/vm-file.out
	# A file that stopped early (its shell died) must not pass silently.
	grep -q "^RESULT [A-Z]* clean-after-$name" /tmp/vm-file.out ||
		echo "RESULT FAIL $name-complete: the file stopped before its end"
done
