#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/vm/all.sh for a guest of the release kernel: the scenarios load
# the module built for that kernel (target/relmod/, tests/run-all.sh).
#   tests/vm/release.sh REPO FILE...
export OVPN_MOD=$1/target/relmod/ovpn-dco-v2.ko
exec bash "$(dirname "$0")/all.sh" "$@"
