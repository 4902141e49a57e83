#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the VM for tests/demo.sh.
REPO=$1
CLI=$REPO/target/release/ovpn-cli
echo "--- demo start"
set -x
insmod "$REPO/ovpn-dco-v2.ko"
cat /sys/module/ovpn_dco_v2/version
ip link add tun0 type ovpn-dco
"$CLI" new_iface tun1 MP
ip -d link show type ovpn-dco
ethtool -i tun0
"$CLI" get_family
dmesg | grep -i ovpn
{ set +x; } 2>/dev/null
echo "--- demo end"
