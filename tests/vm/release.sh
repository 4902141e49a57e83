#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tests/vm/all.sh for a guest of the release kernel: the scenarios load
# the module built for that kernel (target/ovpn-dco-v2-release.kmod,
# tests/run-all.sh).
#   tests/vm/release.sh REPO FILE...
export OVPN_MOD=$1/target/ovpn-dco-v2-release.kmod
exec bash "$(dirname "$0")/all.sh" "$@"
