#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Foundation scenarios, run inside the test VM by tests/vm/run.sh:
# loading, link creation, device properties, the genl family and its
# access checks, autoload, and teardown by rmmod and by netns deletion.
set -u
REPO=${1:?usage: t-foundation.sh REPO}
. "$REPO/tests/vm/lib.sh"

t_load() {
	unload
	check "insmod" 'insmod "$MOD"' || return 1
	check "sysfs version is 2.0.0" '[ "$(cat /sys/module/ovpn_dco_v2/version)" = 2.0.0 ]' || return 1
	check "banner in the kernel log" 'dmesg | grep -q "OpenVPN data channel offload (ovpn-dco) 2.0.0"' || return 1
	local info
	info=$(modinfo "$MOD")
	check "rtnl alias" 'grep -q "alias:.*rtnl-link-ovpn-dco" <<<"$info"' || return 1
	check "genl alias" 'grep -q "alias:.*net-pf-16-proto-16-family-ovpn-dco-v2" <<<"$info"' || return 1
	check "license" 'grep -q "license:.*GPL" <<<"$info"' || return 1
	check "version in modinfo" 'grep -q "^version: *2.0.0" <<<"$info"'
}

t_link_default_p2p() {
	load
	mark
	check "ip link add type ovpn-dco" 'ip link add tun0 type ovpn-dco' || return 1
	check "P2P is the default" 'klog_since | grep -q "device state created, mode P2p"' || return 1
	check "kind shown by ip -d link" 'ip -d link show tun0 | grep -q "ovpn-dco "' || return 1
	check "delete" 'ip link del tun0' || return 1
	check "state freed on delete" 'sleep 0.5; klog_since | grep -q "device state freed, mode P2p"'
}

t_link_modes() {
	load
	mark
	expect_rc 0 "" "$CLI" new_iface tunp P2P || return 1
	check "created in P2P mode" 'klog_since | grep -q "device state created, mode P2p"' || return 1
	expect_rc 0 "" "$CLI" new_iface tunm MP || return 1
	check "created in MP mode" 'klog_since | grep -q "device state created, mode Mp"' || return 1
	check "P2P device exists" 'ip -d link show tunp | grep -q ovpn-dco' || return 1
	check "MP device exists" 'ip -d link show tunm | grep -q ovpn-dco' || return 1
	expect_rc 0 "" "$CLI" del_iface tunp || return 1
	expect_rc 0 "" "$CLI" del_iface tunm
}

t_bad_mode() {
	load
	expect_rc 22 "ovpn-dco: mode must be 0 (P2P) or 1 (MP)" "$CLI" new_iface tunbad 2 || return 1
	expect_rc 22 "mode must be" "$CLI" new_iface tunbad 255 || return 1
	check "no device left behind" '! ip link show tunbad 2>/dev/null'
}

t_properties() {
	load
	ip link add tun0 type ovpn-dco || return 1
	local d e
	d=$(ip -d link show tun0)
	echo "$d"
	check "mtu 1428" 'grep -q "mtu 1428 " <<<"$d"' || return 1
	check "min/max mtu" 'grep -q "minmtu 68 maxmtu 65463" <<<"$d"' || return 1
	check "no L2 header (link/none)" 'grep -q "link/none" <<<"$d"' || return 1
	check "POINTOPOINT,NOARP" 'grep -q "<POINTOPOINT,MULTICAST,NOARP" <<<"$d"' || return 1
	check "type ARPHRD_NONE" '[ "$(cat /sys/class/net/tun0/type)" = 65534 ]' || return 1
	check "addr_len 0" '[ "$(cat /sys/class/net/tun0/addr_len)" = 0 ]' || return 1
	e=$(ethtool -i tun0)
	check "ethtool driver" 'grep -q "^driver: ovpn-dco$" <<<"$e"' || return 1
	check "ethtool version" 'grep -q "^version: 2.0.0$" <<<"$e"' || return 1
	check "mtu 1500 accepted" 'ip link set tun0 mtu 1500' || return 1
	check "mtu 67 refused" '! ip link set tun0 mtu 67 2>/dev/null' || return 1
	check "mtu 65464 refused" '! ip link set tun0 mtu 65464 2>/dev/null' || return 1
	check "mtu 65463 accepted" 'ip link set tun0 mtu 65463' || return 1
	# No peer yet: transmitted packets are dropped and counted (stats64).
	ip addr add 10.99.0.1/24 dev tun0 && ip link set tun0 up || return 1
	check "no qdisc (noqueue)" 'ip link show tun0 | grep -q " qdisc noqueue "' || return 1
	ping -c 3 -i 0.2 -W 1 10.99.0.2 >/dev/null 2>&1
	local drops
	drops=$(ip -s -j link show tun0 | jq '.[0].stats64.tx.dropped')
	check "3 tx drops counted (got $drops)" '[ "$drops" -ge 3 ]' || return 1
	check "send_redirects off" '[ "$(cat /proc/sys/net/ipv4/conf/tun0/send_redirects)" = 0 ]'
}

t_genl_family() {
	load
	local f
	f=$("$CLI" get_family) || { echo "get_family failed: $f"; return 1; }
	echo "$f"
	check "family name" 'grep -q "family ovpn-dco-v2 " <<<"$f"' || return 1
	check "version 1" 'grep -q "version 1" <<<"$f"' || return 1
	check "peers group" 'grep -q "mcast peers" <<<"$f"'
}

t_genl_ifindex() {
	load
	ip link add tun0 type ovpn-dco || return 1
	# A device of ours: the dump succeeds (no peers), a lookup by id finds
	# nothing.
	expect_rc 0 "" "$CLI" get_peer tun0 || return 1
	expect_rc 2 "no peer with this id" "$CLI" get_peer tun0 1 || return 1
	# An index no device has.
	expect_rc 19 "no device with this ifindex" "$CLI" get_peer --ifindex 99999 || return 1
	# A device that is not ovpn-dco (loopback).
	expect_rc 22 "not an ovpn-dco device" "$CLI" get_peer --ifindex 1 || return 1
	# Another command on a foreign device.
	expect_rc 22 "not an ovpn-dco device" "$CLI" del_peer --ifindex 1 1 || return 1
	# A device in another namespace is invisible: from a namespace with only
	# a loopback device its index does not resolve.
	ip netns add other
	ip netns exec other ip link add tunx type ovpn-dco || return 1
	local oidx
	oidx=$(ip netns exec other cat /sys/class/net/tunx/ifindex)
	expect_rc 0 "" ip netns exec other "$CLI" get_peer tunx || return 1
	ip netns add third
	expect_rc 19 "" ip netns exec third "$CLI" get_peer --ifindex "$oidx" || return 1
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
	# Review I3: so does listening to the peers' notifications.
	expect_rc 64 "Operation not permitted" setpriv --reuid=65534 --regid=65534 --clear-groups "$CLI" listen_mcast --count 1 --timeout 2 || return 1
	# Link creation needs CAP_NET_ADMIN too.
	check "unprivileged link add refused" '! setpriv --reuid=65534 --regid=65534 --clear-groups ip link add tunu type ovpn-dco 2>/dev/null'
}

t_rmmod_with_devices() {
	load
	mark
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
	check "rmmod with devices in 3 namespaces" 'rmmod ovpn_dco_v2' || return 1
	check "all 6 device states freed" '[ "$(klog_since | grep -c "device state freed")" = 6 ]' || return 1
	check "root devices gone" '! ip link show tun0 2>/dev/null' || return 1
	for ns in nsa nsb; do
		check "devices in $ns gone" '[ -z "$(ip netns exec $ns ip -o link show type ovpn-dco)" ]' || return 1
	done
}

t_netns_delete() {
	load
	ip netns add nsd
	ip netns exec nsd ip link add tun0 type ovpn-dco || return 1
	ip netns exec nsd "$CLI" new_iface tun1 MP || return 1
	ip netns exec nsd ip link set tun0 up
	mark
	ip netns del nsd
	# The namespace is torn down asynchronously; its devices are deleted
	# and their state freed (the debug build logs each free with the number
	# of device states left).
	local i log=""
	for i in $(seq 100); do
		log=$(klog_since)
		grep -q 'device state freed.*(0 in use)' <<<"$log" && break
		sleep 0.2
	done
	check "both devices freed after netns deletion" '[ "$(grep -c "device state freed" <<<"$log")" = 2 ]' || return 1
	check "rmmod" 'rmmod ovpn_dco_v2'
}

t_autoload() {
	unload
	local rel
	rel=$(uname -r)
	check "make install" 'make -s -C "$REPO" KERNEL_SRC="$KDIR" install >/dev/null' || return 1
	check "installed in updates/" '[ -f "/lib/modules/$rel/updates/ovpn-dco-v2.ko" ]' || return 1
	# rtnetlink autoload through the link-kind alias.
	check "ip link add autoloads" 'ip link add tun0 type ovpn-dco' || return 1
	check "loaded" is_loaded || return 1
	ip link del tun0
	rmmod ovpn_dco_v2 || return 1
	# Generic netlink autoload through the family alias.
	expect_rc 0 "ovpn-dco-v2" "$CLI" get_family || return 1
	check "loaded again" is_loaded || return 1
	rmmod ovpn_dco_v2 || return 1
	check "modprobe by name" 'modprobe ovpn-dco-v2' || return 1
	check "loaded by modprobe" is_loaded
}

harness_selftest
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
finish
