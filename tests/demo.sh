#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Shows the module working: provisions the tools, builds (or reuses) the
# test kernel, builds the module and the test client, boots the VM and, in
# it, loads the module, creates a P2P and an MP device, shows them with
# `ip -d link` and shows the generic netlink family.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
bash tests/provision.sh
. tests/env.sh
KDIR=$(bash tests/kernel.sh debug)
make -s KERNEL_SRC="$KDIR"
cargo build --release -q -p ovpn-cli
LOG=$(mktemp /tmp/ovpn-dco-demo.XXXXXX)
bash tests/vm/run.sh "$KDIR" "$REPO/tests/vm/demo-guest.sh" "$LOG" >/dev/null
tr -d '\r' <"$LOG" | sed -n '/^--- demo start/,/^--- demo end/p'
echo "(full guest console: $LOG)"
