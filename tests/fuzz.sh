#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every cargo-fuzz target of the protocol core (src/proto/fuzz):
#   tests/fuzz.sh seconds N   each target for N seconds (run-all.sh: 20)
#   tests/fuzz.sh runs N      each target for N executions (make fuzz: 10M)
# Inputs come from the committed seeds (src/proto/fuzz/seeds/<target>);
# what a run finds goes to the ignored corpus/<target>, a crash to
# artifacts/<target>.  Prints one line per target: "PASS <target> <runs>"
# or "FAIL <target>" (then the log's tail); exits non-zero on a failure.
# Logs go to $FUZZ_LOGS (default /tmp).
set -u
cd "$(dirname "$0")/../src/proto/fuzz" || exit 1
mode=${1:-seconds} n=${2:-20} logs=${FUZZ_LOGS:-/tmp} rc=0
case $mode in
seconds) limit=-max_total_time=$n ;;
runs) limit=-runs=$n ;;
*) echo "usage: $0 seconds|runs N" >&2; exit 2 ;;
esac
for t in $(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v fuzz); do
	mkdir -p "corpus/$t" "seeds/$t"
	log=$logs/fuzz-$t.log
	# cargo-fuzz needs unstable compiler flags; the stable toolchain
	# accepts them with RUSTC_BOOTSTRAP=1.
	if RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- "$limit" >"$log" 2>&1; then
		echo "PASS $t $(grep -o 'Done [0-9]* runs' "$log" | tail -n 1)"
	else
		echo "FAIL $t"
		tail -n 30 "$log"
		rc=1
	fi
done
exit $rc
