#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The family driven by the kernel's own YNL (tools/net/ynl of the test
# kernel's tree) from its spec, Documentation/netlink/specs/ovpn-dco-v2.yaml,
# run inside the test VM: the module's policies as the kernel reports them
# against the spec's, a P2P tunnel set up and rotated with NEW_PEER,
# NEW_KEY, SET_PEER, SWAP_KEYS and DEL_KEY and pinged through, GET_PEER
# (do and dump, also with cli.py), invalid requests refused with the
# module's errno, DEL_PEER and its notification on the "peers" group
# (tests/vm/ynl-dco.py does the netlink part).
set -u
REPO=${1:?usage: t-ynl.sh REPO}
. "$REPO/tests/vm/lib.sh"

insmod "$MOD" 2>/dev/null

# Device tun0 of namespace peer$1, 5.5.5.($1 + 1).
tun0_lines() {
	printf '%s\n' "link add tun0 type ovpn-dco" "addr add 5.5.5.$(($1 + 1))/24 dev tun0" \
		"link set tun0 multicast off" "link set tun0 up"
}

t_ynl_dco() {
	veth_pair tun0_lines || return 1
	/usr/bin/python3 "$REPO/tests/vm/ynl-dco.py" "$KDIR" "$REPO"
}

scenario ynl-dco t_ynl_dco
finish
