#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Linux's `ovpn` API (OpenVPN 2.7), served by the module beside
# ovpn-dco-v2, run inside the test VM:
# - ovpn-api: the `ovpn` link kind and family driven by the kernel's YNL
#   (tests/vm/ovpn-api.py): both modes, PEER_NEW, PEER_GET (do, dump),
#   PEER_DEL, the refusals with their errnos, and PEER_DEL_NTF;
# - ovpn-api-c-cli: the same through the kernel selftests' ovpn-cli (a P2P
#   pair and an MP server, get/dump/del) when the host built it
#   (target/ovpn-cli-c, tests/run-all.sh);
# - ovpn-float-carrier: a P2P device has carrier only with its peer; a
#   peer that moves is followed, and PEER_FLOAT_NTF says so once;
# - ovpn-key-exhausted: a key whose packet ids run out is removed and
#   KEY_SWAP_NTF asks for a new one, with the test build whose keys last
#   256 packets (target/ovpn-dco-v2-exhaust.kmod, built by run-all);
# - ovpn-coexist: by default (ovpn_api=0) Linux's ovpn.ko loads beside
#   the module; asked to serve the API with Linux's ovpn.ko loaded first,
#   the module still loads, says so once and serves ovpn-dco-v2; loaded
#   first itself, it makes ovpn.ko's init fail cleanly (EEXIST, which
#   insmod reports as EBUSY).
set -u
REPO=${1:?usage: t-ovpn-api.sh REPO}
. "$REPO/tests/vm/lib.sh"
# The module serves the `ovpn` API only when asked, while it is incomplete.
MOD_PARAMS=ovpn_api=1

# Linux's driver, built with the test kernel (not installed: only what
# this file loads by path ever runs).
C_OVPN=$KDIR/drivers/net/ovpn/ovpn.ko
C_CLI=$REPO/target/ovpn-cli-c
EXHAUST_MOD=$REPO/target/ovpn-dco-v2-exhaust.kmod
ST=$KDIR/tools/testing/selftests/net/ovpn
DEGRADED="Linux's ovpn driver holds the ovpn API; serving ovpn-dco-v2 only"

c_ovpn_loaded() { [ -d /sys/module/ovpn ]; }

# Namespaces srv and cli joined by a veth: 10.10.0.1, fd00::1 in srv;
# 10.10.0.2, fd00::2 in cli.
two_ns() {
	ip netns add srv && ip netns add cli || return 1
	ip link add veth0 netns srv type veth peer name veth0 netns cli || return 1
	local i=1 ns
	for ns in srv cli; do
		printf '%s\n' "link set lo up" "addr add 10.10.0.$i/24 dev veth0" \
			"addr add fd00::$i/64 dev veth0 nodad" "link set veth0 up" |
			ip -n $ns -batch - || return 1
		i=$((i + 1))
	done
}

t_ovpn_api() {
	load || return 1
	check "Linux's ovpn.ko is not loaded" '! c_ovpn_loaded' || return 1
	two_ns || return 1
	# An ovpn-dco device, for the check that each family serves only its
	# own kind.
	ip -n srv link add dco0 type ovpn-dco || return 1
	REPO=$REPO /usr/bin/python3 "$REPO/tests/vm/ovpn-api.py" "$KDIR"
}

t_ovpn_api_c_cli() {
	if [ ! -x "$C_CLI" ]; then
		echo "no $C_CLI (tests/run-all.sh builds it on the host)"
		return 1
	fi
	load || return 1
	two_ns || return 1
	local out
	# A P2P pair over UDP/IPv4 with asymmetric ids, as the selftests set
	# them up: srv knows its peer as 1 and sends with id 10, cli the other
	# way round.  new_peer keeps the socket in a process of its own.
	ip netns exec srv "$C_CLI" new_iface tun0 P2P || return 1
	ip netns exec cli "$C_CLI" new_iface tun0 P2P || return 1
	check "tun0 is of kind ovpn" \
		'ip -n srv -d link show tun0 | grep -q "ovpn "' || return 1
	ip netns exec srv "$C_CLI" new_peer tun0 1 10 1194 10.10.0.2 1194 >/dev/null 2>&1 || return 1
	ip netns exec cli "$C_CLI" new_peer tun0 10 1 1194 10.10.0.1 1194 >/dev/null 2>&1 || return 1
	out=$(ip netns exec srv "$C_CLI" get_peer tun0 1 2>&1) || { echo "$out"; return 1; }
	indent "$out" "  get_peer tun0 1: "
	check "get_peer: peer 1, TX id 10" \
		'[[ $out == *"* Peer 1"* && $out == *"TX peer ID 10"* ]]' || return 1
	out=$(ip netns exec cli "$C_CLI" get_peer tun0 2>&1) || { echo "$out"; return 1; }
	check "the P2P dump: peer 10, TX id 1" \
		'[[ $out == *"* Peer 10"* && $out == *"TX peer ID 1"* ]]' || { echo "$out"; return 1; }
	# An MP server with one client: the peer needs its VPN IP.
	ip netns exec srv "$C_CLI" new_iface tun1 MP || return 1
	check "new_peer without a VPN IP refused in MP" \
		'! ip netns exec srv "$C_CLI" new_peer tun1 2 2 1195 10.10.0.2 1195 2>/dev/null' || return 1
	ip netns exec srv "$C_CLI" new_peer tun1 2 2 1195 10.10.0.2 1195 5.5.5.2 >/dev/null 2>&1 || return 1
	out=$(ip netns exec srv "$C_CLI" get_peer tun1 2>&1) || { echo "$out"; return 1; }
	check "the MP dump: peer 2 with its VPN IP" \
		'[[ $out == *"* Peer 2"* && $out == *"VPN IPv4: 5.5.5.2"* ]]' || { echo "$out"; return 1; }
	check "del_peer" 'ip netns exec srv "$C_CLI" del_peer tun0 1' || return 1
	check "del_peer again fails" '! ip netns exec srv "$C_CLI" del_peer tun0 1 2>/dev/null' || return 1
	check "get_peer of the deleted peer fails" \
		'! ip netns exec srv "$C_CLI" get_peer tun0 1 2>/dev/null' || return 1
	check "del_iface" 'ip netns exec srv "$C_CLI" del_iface tun1'
}

carrier() { ip netns exec srv cat /sys/class/net/tun0/carrier 2>/dev/null; }

t_ovpn_float_carrier() {
	[ -x "$C_CLI" ] || { echo "no $C_CLI (tests/run-all.sh builds it)"; return 1; }
	load || return 1
	two_ns || return 1
	local ns i=1 ntf out n rc=0
	for ns in srv cli; do
		ip netns exec $ns "$C_CLI" new_iface tun0 P2P >/dev/null || return 1
		ip -n $ns addr add 5.5.5.$i/24 dev tun0 && ip -n $ns link set tun0 up || return 1
		i=$((i + 1))
	done
	check "P2P tun0 without its peer: no carrier" '[ "$(carrier)" = 0 ]' || rc=1
	ip netns exec srv "$C_CLI" new_peer tun0 1 10 1194 10.10.0.2 1194 >/dev/null 2>&1 || return 1
	ip netns exec cli "$C_CLI" new_peer tun0 10 1 1194 10.10.0.1 1194 >/dev/null 2>&1 || return 1
	ip netns exec srv "$C_CLI" new_key tun0 1 1 0 aes 0 "$ST/data64.key" || return 1
	ip netns exec cli "$C_CLI" new_key tun0 10 1 0 aes 1 "$ST/data64.key" || return 1
	check "with its peer: carrier" '[ "$(carrier)" = 1 ]' || rc=1
	check "a ping from the client's first address" \
		'ip netns exec cli ping -c 2 -i 0.2 -W 2 5.5.5.1 >/dev/null' || rc=1
	ntf=$(mktemp)
	/usr/bin/python3 "$REPO/tests/vm/ynl-listen.py" "$KDIR" srv 30 >"$ntf" 2>&1 &
	local listener=$!
	wait_line "$ntf" '^ready' 60 || { cat "$ntf"; kill $listener; return 1; }
	# The client moves to 10.10.0.3: its packets come from there now.
	# (Deleted first: deleting a primary address takes its secondaries.)
	ip -n cli addr del 10.10.0.2/24 dev veth0 && ip -n cli addr add 10.10.0.3/24 dev veth0 || rc=1
	check "pings from the new address answered (the server followed)" \
		'ip netns exec cli ping -c 5 -i 0.2 -W 2 5.5.5.1 >/dev/null' || rc=1
	out=$(ip netns exec srv "$C_CLI" get_peer tun0 1 2>&1)
	check "the server's peer is at 10.10.0.3:1194" '[[ $out == *"Remote: 10.10.0.3:1194"* ]]' || rc=1
	kill $listener 2>/dev/null
	wait $listener 2>/dev/null
	indent "$(grep -v '^ready' "$ntf")" "  notification: "
	n=$(grep -c '"name": "peer-float-ntf"' "$ntf")
	check "one PEER_FLOAT_NTF, with the new endpoint" '[ "$n" = 1 ] &&
		grep -q "\"peer\": {\"id\": 1, \"remote-ipv4\": \"10.10.0.3\", \"remote-port\": 1194}" "$ntf"' || rc=1
	rm -f "$ntf"
	ip netns exec srv "$C_CLI" del_peer tun0 1 || rc=1
	check "its peer deleted: no carrier" '[ "$(carrier)" = 0 ]' || rc=1
	killall -q ovpn-cli-c
	return $rc
}

t_ovpn_key_exhausted() {
	[ -x "$C_CLI" ] || { echo "no $C_CLI (tests/run-all.sh builds it)"; return 1; }
	[ -f "$EXHAUST_MOD" ] || { echo "no $EXHAUST_MOD (tests/run-all.sh builds it)"; return 1; }
	unload || return 1
	insmod "$EXHAUST_MOD" $MOD_PARAMS || return 1
	two_ns || return 1
	local ns i=1 ntf out rc=0
	for ns in srv cli; do
		ip netns exec $ns "$C_CLI" new_iface tun0 P2P >/dev/null || return 1
		ip -n $ns addr add 5.5.5.$i/24 dev tun0 && ip -n $ns link set tun0 up || return 1
		i=$((i + 1))
	done
	ip netns exec srv "$C_CLI" new_peer tun0 1 10 1194 10.10.0.2 1194 >/dev/null 2>&1 || return 1
	ip netns exec cli "$C_CLI" new_peer tun0 10 1 1194 10.10.0.1 1194 >/dev/null 2>&1 || return 1
	ip netns exec srv "$C_CLI" new_key tun0 1 1 2 aes 0 "$ST/data64.key" || return 1
	ip netns exec cli "$C_CLI" new_key tun0 10 1 2 aes 1 "$ST/data64.key" || return 1
	ntf=$(mktemp)
	/usr/bin/python3 "$REPO/tests/vm/ynl-listen.py" "$KDIR" srv 120 1 >"$ntf" 2>&1 &
	local listener=$!
	wait_line "$ntf" '^ready' 60 || { cat "$ntf"; kill $listener; return 1; }
	# 300 echo requests: the server's key carries the first 256.
	out=$(ip netns exec srv ping -c 300 -i 0.01 -W 1 5.5.5.2 2>&1 | tail -n 2)
	indent "$out" "  ping: "
	wait $listener
	indent "$(cat "$ntf")" "  notification: "
	check "KEY_SWAP_NTF for peer 1, key 2" \
		'grep -q "\"name\": \"key-swap-ntf\"" "$ntf" &&
		grep -q "\"keyconf\": {\"key-id\": 2, \"peer-id\": 1}" "$ntf"' || rc=1
	check "the ping's first 256 got through, not all 300" \
		'[[ $out =~ ([0-9]+)\ received ]] && (( BASH_REMATCH[1] > 200 && BASH_REMATCH[1] < 300 ))' || rc=1
	check "the used-up key is gone from its slot" \
		'! ip netns exec srv "$C_CLI" get_key tun0 1 1 >/dev/null 2>&1' || rc=1
	check "the device counts the sends without a key" \
		'ip netns exec srv ethtool -S tun0 | grep -Eq "tx_drop_no_key: [1-9]"' || rc=1
	rm -f "$ntf"
	killall -q ovpn-cli-c
	ip netns del srv; ip netns del cli
	rmmod ovpn_dco_v2 || rc=1
	return $rc
}

# Whether a new device of kind `ovpn` is this module's (it logs the
# creation of its device state).
ovpn_kind_is_ours() {
	local r=1
	mark
	ip link add ovpn9 type ovpn || return 2
	nap 0.2
	klog_since | grep -q "API Ovpn" && r=0
	ip link del ovpn9
	return $r
}

t_ovpn_coexist() {
	[ -f "$C_OVPN" ] || { echo "no $C_OVPN"; return 1; }
	local out rc
	# By default the module leaves the `ovpn` API alone: Linux's driver
	# loads beside it and owns the kind.
	unload || return 1
	insmod "$MOD" || return 1
	out=$(insmod "$C_OVPN" 2>&1) || { echo "insmod ovpn.ko: $out"; return 1; }
	ovpn_kind_is_ours
	rc=$?
	rmmod ovpn
	rmmod ovpn_dco_v2 || return 1
	check "by default, ovpn.ko loads beside the module and owns the kind" '[ $rc = 1 ]' || return 1
	# Linux's driver first: the module loads, says so once, serves
	# ovpn-dco-v2; the kind `ovpn` stays Linux's driver's.
	unload || return 1
	insmod "$C_OVPN" || return 1
	mark
	if ! insmod "$MOD" $MOD_PARAMS; then
		rmmod ovpn
		echo "the module did not load beside Linux's ovpn.ko"
		return 1
	fi
	rc=0
	check "it said so, once" '[ "$(klog_since | grep -c "$DEGRADED")" = 1 ]' || rc=1
	check "ovpn-dco devices work" 'ip link add dco9 type ovpn-dco && ip link del dco9' || rc=1
	ovpn_kind_is_ours
	local ours=$?
	check "an ovpn device is Linux's driver's" '[ $ours = 1 ]' || rc=1
	rmmod ovpn_dco_v2 || rc=1
	rmmod ovpn || rc=1
	[ $rc = 0 ] || return 1
	# The module first: ovpn.ko's init fails with EEXIST, and that is all.
	load || return 1
	mark
	out=$(insmod "$C_OVPN" 2>&1)
	if [ $? = 0 ]; then
		rmmod ovpn
		echo "ovpn.ko loaded beside the module"
		return 1
	fi
	# Its init fails with EEXIST, which the module loader reports as
	# EBUSY.
	echo "insmod ovpn.ko: $out"
	check "ovpn.ko: its link kind is taken (EEXIST)" \
		'klog_since | grep -q "register rtnl link ops: -17"' || return 1
	check "Linux's ovpn.ko is not loaded" '! c_ovpn_loaded' || return 1
	ovpn_kind_is_ours
	ours=$?
	check "ovpn devices are the module's" '[ $ours = 0 ]'
}

scenario ovpn-api t_ovpn_api
scenario ovpn-api-c-cli t_ovpn_api_c_cli
scenario ovpn-float-carrier t_ovpn_float_carrier
scenario ovpn-key-exhausted t_ovpn_key_exhausted
scenario ovpn-coexist t_ovpn_coexist
finish
