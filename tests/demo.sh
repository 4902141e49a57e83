#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Shows the module doing its job: provisions the tools, builds (or reuses)
# the release test kernel, builds the module and the test client, boots
# the VM and, in it, runs Debian's OpenVPN 2.6 as server and client in two
# namespaces with the data channel in this module: a ping, an iperf3 run
# beside the same tunnel without DCO, and the device's and peer's
# counters.  Warm (kernel built), it takes about two minutes.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
t0=$SECONDS
step() { printf 'demo: %-44s (%3d s)\n' "$*" $((SECONDS - t0)); }

step "provisioning the tools (tests/provision.sh)"
bash tests/provision.sh >/tmp/ovpn-dco-demo-provision.log 2>&1 ||
	{ tail -n 20 /tmp/ovpn-dco-demo-provision.log; exit 1; }
. tests/env.sh
step "the test kernel (cached, or ~20 min to build)"
KDIR=$(bash tests/kernel.sh release)
step "building the module and the test client"
make -s KERNEL_SRC="$KDIR"
cargo build --release -q -p ovpn-cli
LOG=$(mktemp /tmp/ovpn-dco-demo.XXXXXX)
step "booting the VM and running the tunnel"
bash tests/vm/run.sh "$KDIR" "$REPO/tests/vm/demo-guest.sh" "$LOG" 900 >/dev/null || true
step "done"
# (Without the kernel's own console lines.)
tr -d '\r' <"$LOG" | sed -n '/^--- demo start/,/^--- demo end/p' | sed '1d;$d' |
	grep -v '^\[ *[0-9]*\.[0-9]*\]'
echo "(full guest console: $LOG)"
tr -d '\r' <"$LOG" | grep -q '^--- demo failed' && exit 1
tr -d '\r' <"$LOG" | grep -q '^--- demo end'
