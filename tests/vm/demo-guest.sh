#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM for tests/demo.sh: an OpenVPN 2.6 server and client
# in two namespaces with the data channel in this module, a ping and a
# bulk transfer through the tunnel, its counters, and the same transfer
# with OpenVPN's own userspace data channel (--disable-dco) to compare.
set -u
REPO=${1:?usage: demo-guest.sh REPO}
. "$REPO/tests/vm/lib.sh"
. "$REPO/tests/vm/openvpn-lib.sh"
SECS=${DEMO_SECS:-5}

say() { printf '\n== %s\n' "$*"; }
demo_fail() { echo "--- demo failed: $*"; echo "--- demo end"; exit 1; }

# An MP server and client c1 (AES-256-GCM over UDP); extra options for
# both follow.
tunnel_up() {
	cleanup_all
	server_start udp4 "$@" || return 1
	client_start 1 10.10.1.1 udp4 AES-256-GCM "$@" || return 1
	ovpn_wait_up server && ovpn_wait_up c1
}

echo "--- demo start"
insmod "$MOD" || demo_fail "insmod"
say "module ovpn_dco_v2 $(cat /sys/module/ovpn_dco_v2/version) loaded"
make_pki || demo_fail "test PKI"

say "OpenVPN $(openvpn --version | awk 'NR == 1 {print $2}') server (namespace srv) and client (c1), data channel offloaded"
tunnel_up || demo_fail "tunnel with DCO"
grep -h "DCO version" "$W/server.log" "$W/c1.log" | sed 's/^.*\(DCO version\)/\1/' | head -n 1
uses_dco server srv && uses_dco c1 c1 || demo_fail "OpenVPN did not use the module"
ip -n c1 -d link show tun0 | sed -n '1p;3p'

say "ping through the tunnel (c1 -> 10.8.0.1)"
ip netns exec c1 ping -c 3 -i 0.3 -W 3 10.8.0.1 | grep -E "packets|rtt" || demo_fail "ping"

say "iperf3 through the tunnel, ${SECS} s, with DCO"
dco=$(iperf_bps srv c1 10.8.0.1 "$SECS")
[ "${dco:-0}" -gt 0 ] || demo_fail "iperf3 with DCO"
echo "with DCO: $((dco / 1000000)) Mbit/s"

say "counters on the server"
ip -n srv -s link show tun0 | sed -n '3,6p'
echo "ethtool -S tun0 (non-zero): $(nonzero_stats srv)"
ip netns exec srv "$CLI" get_peer tun0 2>&1 | head -n 12

say "the same tunnel with OpenVPN's userspace data channel (--disable-dco)"
tunnel_up --disable-dco || demo_fail "tunnel without DCO"
user=$(iperf_bps srv c1 10.8.0.1 "$SECS")
[ "${user:-0}" -gt 0 ] || demo_fail "iperf3 without DCO"
echo "without DCO: $((user / 1000000)) Mbit/s"
cleanup_all

say "result"
printf '%-22s %8s Mbit/s\n' "OpenVPN + ovpn-dco-v2" $((dco / 1000000)) \
	"OpenVPN userspace" $((user / 1000000))
awk -v a="$dco" -v b="$user" 'BEGIN { printf "ratio %.1f (one stream in an emulated VM: a demonstration, not a benchmark; see docs/benchmark.md)\n", a / b }'
echo "--- demo end"
