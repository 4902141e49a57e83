#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Data channel scenarios, run inside the test VM: tests/netns-test.sh
# (traffic through ovpn-dco tunnels between network namespaces, checked
# by ping and by the GET_PEER counters): P2P and an MP server with three
# clients over UDP, and both again over TCP (-t: one connection per
# client, the MP one over IPv6 transport).  IPv6 transport over UDP and
# ChaCha20-Poly1305 are covered by t-mp.sh and t-datapath.sh, which keeps
# this file's VM time down.  The other ciphers and key sizes are covered by t-datapath.sh
# (dp-ciphers, dp-wire-interop), which keeps this file's VM time down.
set -u
REPO=${1:?usage: t-netns.sh REPO}
. "$REPO/tests/vm/lib.sh"

insmod "$MOD" 2>/dev/null

# The emulated debug guest carries a few dozen packets a second: a flood
# ping would only measure how long its queues grow under overload (RTTs
# of tens of seconds, then losses).  Paced pings at 20 a second instead,
# each of which must come back.
export PING_DEADLINE=${PING_DEADLINE:-60} PING_COUNT=${PING_COUNT:-200}
export PING_INTERVAL=${PING_INTERVAL:-0.05}

# Runs tests/netns-test.sh with the client and module of this tree.
netns_test() {
	CLI=$CLI MOD=$MOD bash "$REPO/tests/netns-test.sh" "$@"
}

t_p2p_aes256() { netns_test -c aes -b 256; }
t_mp_3_clients() { NUM_PEERS=3 netns_test -m; }

t_tcp_p2p() { netns_test -t -c aes -b 128; }
t_tcp_mp_ipv6_transport() { NUM_PEERS=2 netns_test -t -m -6; }

scenario p2p-aes256 t_p2p_aes256
scenario mp-3-clients t_mp_3_clients
scenario tcp-p2p t_tcp_p2p
scenario tcp-mp-ipv6-transport t_tcp_mp_ipv6_transport
finish
