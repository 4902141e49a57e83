#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Foundation scenarios, run inside the test VM by tests/vm/run.sh:
# loading, link creation, device properties, the genl family and its
# access checks, autoload, and teardown by rmmod and by netns deletion.
set -u
REPO=${1:?usage: t-foundation.sh REPO}
. "$REPO/tests/vm/lib.sh"

is_loaded() { [ -d /sys/module/ovpn_dco_v2 ]; }
load() { is_loaded || insmod "$MOD"; }
unload() { ! is_loaded || rmmod ovpn_dco_v2; }

t_load() {
	unload
	expect "insmod" insmod "$MOD" || return 1
	expect "sysfs version is 2.0.0" [ "$(cat /sys/module/ovpn_dco_v2/version)" = 2.0.0 ] || return 1
	expect "banner in the kernel log" dmesg | grep -q 'OpenVPN data channel offload (ovpn-dco) 2.0.0' || return 1
	local info
	info=$(modinfo "$MOD")
	expect "rtnl alias" grep -q 'alias:.*rtnl-link-ovpn-dco' <<<"$info" || return 1
	expect "genl alias" grep -q 'alias:.*net-pf-16-proto-16-family-ovpn-dco-v2' <<<"$info" || return 1
	expect "license" grep -q 'license:.*GPL' <<<"$info"
}

t_link_default_p2p() {
	load
	new_klog >/dev/null
	expect "ip link add type ovpn-dco" ip link add tun0 type ovpn-dco || return 1
	expect "P2P is the default" grep -q 'device state created, mode P2p' <<<"$(new_klog)" || return 1
	expect "kind shown by ip -d link" ip -d link show tun0 | grep -q 'ovpn-dco' || return 1
	ip -d link show tun0
	expect "delete" ip link del tun0
}

t_link_modes() {
	load
	new_klog >/dev/null
	expect_rc 0 "" "$CLI" new_iface tunp P2P || return 1
	expect "created in P2P mode" grep -q 'device state created, mode P2p' <<<"$(new_klog)" || return 1
	expect_rc 0 "" "$CLI" new_iface tunm MP || return 1
	expect "created in MP mode" grep -q 'device state created, mode Mp' <<<"$(new_klog)" || return 1
	expect "P2P device exists" ip -d link show tunp | grep -q ovpn-dco || return 1
	expect "MP device exists" ip -d link show tunm | grep -q ovpn-dco || return 1
	expect_rc 0 "" "$CLI" del_iface tunp || return 1
	expect_rc 0 "" "$CLI" del_iface tunm
}

t_bad_mode() {
	load
	expect_rc 22 "mode" "$CLI" new_iface tunbad 2 || return 1
	expect_rc 22 "" "$CLI" new_iface tunbad 255 || return 1
	expect "no device left behind" ! ip link show tunbad 2>/dev/null
}

t_properties() {
	load
	ip link add tun0 type ovpn-dco || return 1
	local d
	d=$(ip -d link show tun0)
	echo "$d"
	expect "mtu 1428" grep -q 'mtu 1428 ' <<<"$d" || return 1
	expect "min/max mtu" grep -q 'minmtu 68 maxmtu 65463' <<<"$d" || return 1
	expect "no L2 header (link/none)" grep -q 'link/none' <<<"$d" || return 1
	expect "POINTOPOINT,NOARP" grep -Eq '<POINTOPOINT,MULTICAST,NOARP' <<<"$d" || return 1
	expect "type ARPHRD_NONE" [ "$(cat /sys/class/net/tun0/type)" = 65534 ] || return 1
	expect "addr_len 0" [ "$(cat /sys/class/net/tun0/addr_len)" = 0 ] || return 1
	local e
	e=$(ethtool -i tun0)
	echo "$e"
	expect "ethtool driver" grep -q '^driver: ovpn-dco$' <<<"$e" || return 1
	expect "ethtool version" grep -q '^version: 2.0.0$' <<<"$e" || return 1
	expect "mtu 1500 accepted" ip link set tun0 mtu 1500 || return 1
	expect "mtu 67 refused" ! ip link set tun0 mtu 67 2>/dev/null || return 1
	expect "mtu 65464 refused" ! ip link set tun0 mtu 65464 2>/dev/null || return 1
	# No peer yet: transmitted packets are dropped and counted (stats64).
	ip addr add 10.99.0.1/24 dev tun0 && ip link set tun0 up || return 1
	ping -c 3 -i 0.2 -W 1 10.99.0.2 >/dev/null 2>&1
	local drops
	drops=$(ip -s -j link show tun0 | jq '.[0].stats64.tx.dropped')
	expect "3 tx drops counted, got $drops" [ "$drops" -ge 3 ] || return 1
	expect "send_redirects off" [ "$(cat /proc/sys/net/ipv4/conf/tun0/send_redirects)" = 0 ] || return 1
	ip link del tun0
}

t_genl_family() {
	load
	local f
	f=$("$CLI" get_family) || { echo "get_family failed: $f"; return 1; }
	echo "$f"
	expect "family name" grep -q 'ovpn-dco-v2' <<<"$f" || return 1
	expect "version 1" grep -q 'version 1' <<<"$f" || return 1
	expect "peers group" grep -q 'mcast peers' <<<"$f"
}

t_genl_ifindex() {
	load
	ip link add tun0 type ovpn-dco || return 1
	local idx
	idx=$(cat /sys/class/net/tun0/ifindex)
	# A device of ours: the dump succeeds (no peers), a lookup by id finds
	# nothing.
	expect_rc 0 "" "$CLI" get_peer tun0 || return 1
	expect_rc 2 "" "$CLI" get_peer tun0 1 || return 1
	# An index no device has.
	expect_rc 19 "no device" "$CLI" get_peer --ifindex 99999 || return 1
	# A device that is not ovpn-dco (loopback).
	expect_rc 22 "not an ovpn-dco device" "$CLI" get_peer --ifindex 1 || return 1
	# A device in another namespace is invisible.
	ip netns add other
	ip netns exec other ip link add tunx type ovpn-dco || return 1
	local oidx
	oidx=$(ip netns exec other cat /sys/class/net/tunx/ifindex)
	expect_rc 0 "" ip netns exec other "$CLI" get_peer tunx || return 1
	# From the root namespace, that index is either unused or not ours.
	local want=19
	if ip -o link show | grep -q "^$oidx:"; then
		want=22
		[ "$oidx" = "$idx" ] && want=0
	fi
	expect_rc $want "" "$CLI" get_peer --ifindex "$oidx" || return 1
	ip netns add third
	expect_rc 19 "" ip netns exec third "$CLI" get_peer --ifindex "$oidx" || return 1
	ip netns del other
	ip netns del third
	ip link del tun0
}

t_genl_perm() {
	load
	ip link add tun0 type ovpn-dco || return 1
	# An unprivileged user.
	expect_rc 1 "" setpriv --reuid=65534 --regid=65534 --clear-groups "$CLI" get_peer tun0 || return 1
	# Root without CAP_NET_ADMIN.
	expect_rc 1 "" setpriv --inh-caps=-net_admin --bounding-set=-net_admin "$CLI" get_peer tun0 || return 1
	# Root of a user namespace (CAP_NET_ADMIN only there), in its own netns
	# with its own device: still refused, the family needs the capability
	# in the initial user namespace.
	expect_rc 1 "" unshare -U -r -n sh -c "ip link add t type ovpn-dco || exit 99; '$CLI' get_peer --ifindex \$(ip -o link show t | cut -d: -f1)" || return 1
	# Link creation needs CAP_NET_ADMIN too.
	expect "unprivileged link add refused" ! setpriv --reuid=65534 --regid=65534 --clear-groups ip link add tunu type ovpn-dco 2>/dev/null || return 1
	ip link del tun0
}

t_autoload() {
	unload
	local rel
	rel=$(uname -r)
	expect "make install" make -s -C "$REPO" KERNEL_SRC="$KDIR" install >/dev/null || return 1
	expect "installed in updates/" [ -f "/lib/modules/$rel/updates/ovpn-dco-v2.ko" ] || return 1
	# rtnetlink autoload through the link-kind alias.
	expect "ip link add autoloads" ip link add tun0 type ovpn-dco || return 1
	expect "loaded" is_loaded || return 1
	ip link del tun0
	rmmod ovpn_dco_v2 || return 1
	# Generic netlink autoload through the family alias.
	expect_rc 0 "ovpn-dco-v2" "$CLI" get_family || return 1
	expect "loaded again" is_loaded || return 1
	rmmod ovpn_dco_v2 || return 1
	# modprobe by name.
	expect "modprobe" modprobe ovpn-dco-v2 || return 1
	expect "loaded by modprobe" is_loaded
}

t_rmmod_with_devices() {
	load
	ip link add tun0 type ovpn-dco || return 1
	"$CLI" new_iface tunm0 MP || return 1
	local ns
	for ns in nsa nsb; do
		ip netns add $ns
		ip netns exec $ns ip link add tun1 type ovpn-dco || return 1
		ip netns exec $ns "$CLI" new_iface tunm1 MP || return 1
		ip netns exec $ns ip link set tun1 up || return 1
	done
	ip link set tun0 up
	expect "rmmod with devices in 3 namespaces" rmmod ovpn_dco_v2 || return 1
	expect "root devices gone" ! ip link show tun0 2>/dev/null || return 1
	for ns in nsa nsb; do
		expect "devices in $ns gone" [ -z "$(ip netns exec $ns ip -o link show type ovpn-dco)" ] || return 1
		ip netns del $ns
	done
}

t_netns_delete() {
	load
	ip netns add nsd
	ip netns exec nsd ip link add tun0 type ovpn-dco || return 1
	ip netns exec nsd "$CLI" new_iface tun1 MP || return 1
	ip netns exec nsd ip link set tun0 up
	new_klog >/dev/null
	ip netns del nsd
	# The namespace is torn down asynchronously; its devices are deleted
	# and their state freed (the debug build logs each free with the number
	# of device states left).
	local i log=""
	for i in $(seq 100); do
		log+=$(new_klog)
		grep -q 'device state freed (0 in use)' <<<"$log" && break
		sleep 0.2
	done
	expect "both devices freed after netns deletion" \
		[ "$(grep -c 'device state freed' <<<"$log")" = 2 ] || return 1
	expect "rmmod" rmmod ovpn_dco_v2
}

scenario load t_load
scenario link-default-p2p t_link_default_p2p
scenario link-modes t_link_modes
scenario bad-mode-rejected t_bad_mode
scenario netdev-properties t_properties
scenario genl-family t_genl_family
scenario genl-ifindex t_genl_ifindex
scenario genl-cap-net-admin t_genl_perm
scenario rmmod-with-devices t_rmmod_with_devices
scenario netns-delete t_netns_delete
scenario autoload t_autoload
cleanup_all
unload
