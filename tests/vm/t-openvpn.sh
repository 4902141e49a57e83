#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The real OpenVPN 2.6 (Debian's package, unchanged) driving the module,
# run inside the test VM: a server in MP mode with clients in their own
# namespaces, a P2P pair, every data-channel cipher, IPv4 and IPv6
# transport, and peers running OpenVPN's own userspace data channel
# (--disable-dco) against the module in both directions, which proves the
# module's framing and crypto equal OpenVPN's.
set -u
REPO=${1:?usage: t-openvpn.sh REPO}
. "$REPO/tests/vm/lib.sh"
. "$REPO/tests/vm/openvpn-lib.sh"

insmod "$MOD" 2>/dev/null
make_pki || echo "RESULT FAIL openvpn-pki: could not make the test PKI"

# Pings $3 from namespace $1 $2 times; all must be answered.
ping_ok() {
	ip netns exec "$1" ping -c "$2" -i 0.3 -W 3 "$3" >/dev/null
}

# The rx/tx packet counters of tun0 in namespace $1.
tun_packets() {
	ip -n "$1" -s -j link show tun0 | jq -r '.[0].stats64 | "\(.rx.packets) \(.tx.packets)"'
}

# A 3-second iperf3 run from c1 to the server's tunnel address; it must
# carry data.
iperf_c1_to_server() {
	local bps
	bps=$(iperf_bps srv c1 10.8.0.1 3)
	echo "iperf3 c1 -> server: $bps bit/s"
	check "iperf3 through the tunnel" '[ "${bps%.*}" -gt 100000 ]'
}

t_server_udp4() {
	server_start udp4 || return 1
	client_start 1 10.10.1.1 udp4 AES-256-GCM || return 1
	client_start 2 10.10.2.1 udp4 AES-128-GCM || return 1
	ovpn_wait_up c1 && ovpn_wait_up c2 || return 1
	grep -E "DCO version" "$W/server.log"
	check "server uses the module" 'uses_dco server srv' || return 1
	check "c1 uses the module" 'uses_dco c1 c1' || return 1
	check "c2 uses the module" 'uses_dco c2 c2' || return 1
	check "c1 negotiated AES-256-GCM" 'grep -q "Data Channel: cipher .AES-256-GCM" "$W/c1.log"' || return 1
	check "c2 negotiated AES-128-GCM" 'grep -q "Data Channel: cipher .AES-128-GCM" "$W/c2.log"' || return 1
	local before after
	before=$(tun_packets srv)
	check "c1 -> server" 'ping_ok c1 5 10.8.0.1' || return 1
	check "c2 -> server" 'ping_ok c2 5 10.8.0.1' || return 1
	check "server -> c1" 'ping_ok srv 5 10.8.0.11' || return 1
	check "server -> c2 (IPv6 inside)" 'ping_ok srv 5 fd08::12' || return 1
	after=$(tun_packets srv)
	echo "server tun0 rx/tx packets: $before -> $after"
	check "the module carried them" '[ $(( ${after% *} - ${before% *} )) -ge 20 ]' || return 1
	# Bulk data through the tunnel.
	iperf_c1_to_server
}

# The server over TCP (one connection per client, over IPv4 and IPv6
# transport): two clients with the module, both ciphers, ping both ways
# and bulk data.
t_server_tcp() {
	server_start tcp6-server || return 1
	client_start 1 10.10.1.1 tcp4-client AES-256-GCM || return 1
	client_start 2 fd00:0:0:2::1 tcp6-client CHACHA20-POLY1305 || return 1
	ovpn_wait_up c1 && ovpn_wait_up c2 || return 1
	check "server uses the module" 'uses_dco server srv' || return 1
	check "c1 uses the module" 'uses_dco c1 c1' || return 1
	check "c2 uses the module" 'uses_dco c2 c2' || return 1
	check "c2 negotiated CHACHA20-POLY1305" 'grep -q "Data Channel: cipher .CHACHA20-POLY1305" "$W/c2.log"' || return 1
	local before after
	before=$(tun_packets srv)
	check "c1 <-> server" 'ping_ok c1 5 10.8.0.1 && ping_ok srv 5 10.8.0.11' || return 1
	check "c2 <-> server (IPv6 inside)" 'ping_ok c2 5 fd08::1 && ping_ok srv 5 10.8.0.12' || return 1
	after=$(tun_packets srv)
	echo "server tun0 rx/tx packets: $before -> $after"
	check "the module carried them" '[ $(( ${after% *} - ${before% *} )) -ge 20 ]' || return 1
	iperf_c1_to_server
}

# A dual-stack server socket (proto udp6): c1 comes over IPv6 with
# ChaCha20-Poly1305, c2 over IPv4 with AES-256-GCM.
t_server_udp6() {
	server_start udp6 || return 1
	client_start 1 fd00:0:0:1::1 udp6 CHACHA20-POLY1305 || return 1
	client_start 2 10.10.2.1 udp4 AES-256-GCM || return 1
	ovpn_wait_up c1 && ovpn_wait_up c2 || return 1
	check "server uses the module" 'uses_dco server srv' || return 1
	check "c1 uses the module" 'uses_dco c1 c1' || return 1
	check "c1 negotiated CHACHA20-POLY1305" 'grep -q "Data Channel: cipher .CHACHA20-POLY1305" "$W/c1.log"' || return 1
	check "c1 <-> server over IPv6" 'ping_ok c1 5 10.8.0.1 && ping_ok srv 5 10.8.0.11' || return 1
	check "c2 <-> server over IPv4" 'ping_ok c2 5 fd08::1 && ping_ok srv 5 10.8.0.12'
}

# A P2P pair (no server mode) over transport $1: TLS server and client
# with fixed addresses; both ends use the module.
p2p() {
	add_link 1 || return 1
	local common=(--port 1194 --dh none --keepalive 2 10
		--data-ciphers AES-256-GCM:CHACHA20-POLY1305)
	ovpn_start srv p2p-srv --tls-server --cert "$PKI/server.crt" --key "$PKI/server.key" \
		--proto "$(srv_proto $1)" --ifconfig 10.9.0.1 10.9.0.2 "${common[@]}" || return 1
	ovpn_start c1 p2p-c1 --tls-client --cert "$PKI/c1.crt" --key "$PKI/c1.key" \
		--proto "$(cli_proto $1)" --remote 10.10.1.1 --ifconfig 10.9.0.2 10.9.0.1 "${common[@]}" || return 1
	ovpn_wait_up p2p-srv && ovpn_wait_up p2p-c1 || return 1
	check "TLS server end uses the module" 'uses_dco p2p-srv srv' || return 1
	check "TLS client end uses the module" 'uses_dco p2p-c1 c1' || return 1
	check "P2P tunnel both ways" 'ping_ok c1 5 10.9.0.1 && ping_ok srv 5 10.9.0.2'
}

t_p2p() { p2p udp; }


# The server's and the clients' --proto for transport $1 (udp or tcp).
srv_proto() { [ "$1" = tcp ] && echo tcp4-server || echo udp4; }
cli_proto() { [ "$1" = tcp ] && echo tcp4-client || echo udp4; }

# The module against OpenVPN's own data channel over transport $1: the
# server uses the module, its three clients do not (--disable-dco), one
# per cipher.
dco_server_userspace_clients() {
	local t=$1 i
	server_start "$(srv_proto $t)" || return 1
	client_start 1 10.10.1.1 "$(cli_proto $t)" AES-128-GCM --disable-dco || return 1
	client_start 2 10.10.2.1 "$(cli_proto $t)" AES-256-GCM --disable-dco || return 1
	client_start 3 10.10.3.1 "$(cli_proto $t)" CHACHA20-POLY1305 --disable-dco || return 1
	for i in 1 2 3; do ovpn_wait_up c$i || return 1; done
	check "server uses the module" 'uses_dco server srv' || return 1
	check "the clients do not" '! ip -n c1 -d link show tun0 | grep -q ovpn-dco' || return 1
	for i in 1 2 3; do
		check "c$i ($(sed -n 's/.*Data Channel: cipher .\([A-Z0-9-]*\).*/\1/p' "$W/c$i.log" | head -n1)) <-> server" \
			"ping_ok c$i 4 10.8.0.1 && ping_ok srv 4 10.8.0.1$i" || return 1
	done
}

# The other way round: a server without the module, clients with it.
userspace_server_dco_clients() {
	local t=$1 i
	server_start "$(srv_proto $t)" --disable-dco || return 1
	client_start 1 10.10.1.1 "$(cli_proto $t)" AES-128-GCM || return 1
	client_start 2 10.10.2.1 "$(cli_proto $t)" AES-256-GCM || return 1
	client_start 3 10.10.3.1 "$(cli_proto $t)" CHACHA20-POLY1305 || return 1
	for i in 1 2 3; do ovpn_wait_up c$i || return 1; done
	check "the server does not use the module" '! ip -n srv -d link show tun0 | grep -q ovpn-dco' || return 1
	for i in 1 2 3; do
		check "c$i uses the module" "uses_dco c$i c$i" || return 1
		check "c$i <-> server" "ping_ok c$i 4 10.8.0.1 && ping_ok srv 4 10.8.0.1$i" || return 1
	done
}

t_dco_server_userspace_clients() { dco_server_userspace_clients udp; }
t_userspace_server_dco_clients() { userspace_server_dco_clients udp; }
t_tcp_dco_server_userspace_clients() { dco_server_userspace_clients tcp; }
t_tcp_userspace_server_dco_clients() { userspace_server_dco_clients tcp; }

# Where client $1 stands, for a failure's report: its addresses and
# routes, the restarts and errors in its log and the end of it, and what
# the server logged about it.
client_state() {
	ip -n "$1" -br addr
	ip -n "$1" route
	grep -E "SIGUSR1|SIGTERM|Restart|ERROR|error|reset|Inactivity" "$W/$1.log" |
		tail -n 15 | sed "s/^/    $1 (restarts, errors): /"
	tail -n 30 "$W/$1.log" | sed "s/^/    $1: /"
	grep "$1/" "$W/server.log" | tail -n 15 | sed 's/^/    server: /'
}

# Key renegotiation under traffic over transport $1: the client
# renegotiates when a key is 10 s old while a ping runs for 30 s; no ping
# may be lost.
# Not sooner than 10 s: in the debug guest each end needs about 3 s to set
# up its device after the first handshake, and reads no control packets
# meanwhile, so the first key's last control packets (the push exchange's
# acknowledgements) can still be on their way 5 s after that key was made.
# A client that renegotiates then receives a packet of the old key while
# its new one starts, which OpenVPN counts as a TLS error ("local/remote
# key IDs out of sync"), and over TCP every TLS error restarts the client
# (check_tls_errors_co), with or without DCO.  That is what made this
# scenario fail now and then with --reneg-sec 5 (2026-12-02, client logs).
rekey() {
	server_start "$(srv_proto $1)" || return 1
	client_start 1 10.10.1.1 "$(cli_proto $1)" AES-256-GCM --reneg-sec 10 || return 1
	ovpn_wait_up c1 || return 1
	local out keys
	out=$(ip netns exec c1 ping -c 150 -i 0.2 -W 3 10.8.0.1 2>&1)
	keys=$(grep -c "TLS: soft reset" "$W/c1.log")
	echo "$out" | tail -n 2
	echo "renegotiations started by c1: $keys"
	# Where a lost ping died, if in the module: its drop counters.
	echo "server drops: $(nonzero_drops srv)"
	echo "c1 drops: $(nonzero_drops c1)"
	check "at least two renegotiations" '[ "$keys" -ge 2 ]' || return 1
	check "no ping lost" 'grep -q " 0% packet loss" <<<"$out"' || {
		client_state c1
		return 1
	}
	check "still through the module" 'uses_dco c1 c1'
}

t_rekey() { rekey udp; }
t_tcp_rekey() { rekey tcp; }

# After `make install`, OpenVPN finds the module without an insmod: its
# lookup of the ovpn-dco-v2 family autoloads it through the module alias.
# When this very module is installed already (t-foundation's autoload
# ran `make install` in this boot), the install, which takes over a
# minute in the debug guest, is not repeated.
t_autoload() {
	local installed
	installed=/lib/modules/$(uname -r)/updates/ovpn-dco-v2.ko
	unload || return 1
	if cmp -s "$MOD" "$installed"; then
		echo "installed already, the same module: $installed"
	else
		check "make install" 'make -s -C "$REPO" KERNEL_SRC="$KDIR" install >/dev/null' || return 1
		check "installed in updates/" 'cmp -s "$MOD" "$installed"' || return 1
	fi
	check "not loaded before OpenVPN starts" '! is_loaded' || return 1
	server_start udp4 || return 1
	client_start 1 10.10.1.1 udp4 AES-256-GCM || return 1
	ovpn_wait_up c1 || return 1
	check "loaded by OpenVPN" is_loaded || return 1
	check "server uses the module" 'uses_dco server srv' || return 1
	check "c1 uses the module" 'uses_dco c1 c1' || return 1
	check "c1 <-> server" 'ping_ok c1 3 10.8.0.1 && ping_ok srv 3 10.8.0.11'
}

# A client that vanishes (process killed, link down): the module expires
# it on the server, OpenVPN drops the client, and the client reconnects
# once it is back.
t_client_vanishes() {
	# Not shorter: the server's timer runs from its NEW_PEER, and a client
	# in this slow guest may need several seconds more before it sends.
	server_start udp4 --keepalive 2 5 || return 1
	client_start 1 10.10.1.1 udp4 AES-256-GCM || return 1
	client_start 2 10.10.2.1 udp4 AES-256-GCM || return 1
	ovpn_wait_up c1 && ovpn_wait_up c2 || return 1
	check "c1 up" 'ping_ok c1 2 10.8.0.1' || return 1
	kill -9 "$(cat "$W/c1.pid")"
	ip -n c1 link set veth0 down
	# The server's timeout is twice the keepalive's (10 s).
	local i gone=""
	for i in $(seq 40); do
		if ! ip netns exec srv "$CLI" get_peer tun0 2>/dev/null | grep -q "vpn4=10.8.0.11 "; then
			gone=1
			break
		fi
		sleep 0.5
	done
	check "the module expired c1" '[ -n "$gone" ]' || return 1
	sleep 1
	grep -E "c1/.*(exiting|Inactivity)" "$W/server.log" | tail -n 2
	check "c2 unaffected" 'ping_ok c2 2 10.8.0.1' || return 1
	# c1 comes back.
	ip -n c1 link del tun0 2>/dev/null
	ip -n c1 link set veth0 up
	ovpn_start c1 c1 --client --nobind --remote 10.10.1.1 1194 --proto udp4 \
		--cert "$PKI/c1.crt" --key "$PKI/c1.key" --data-ciphers AES-256-GCM || return 1
	ovpn_wait_up c1 || return 1
	check "c1 reconnected" 'ping_ok c1 3 10.8.0.1 && ping_ok srv 3 10.8.0.11' || {
		client_state c1
		return 1
	}
}

scenario openvpn-autoload t_autoload
scenario openvpn-server-udp4 t_server_udp4
scenario openvpn-server-udp6-dual-stack t_server_udp6
scenario openvpn-p2p t_p2p
scenario openvpn-dco-server-userspace-clients t_dco_server_userspace_clients
scenario openvpn-userspace-server-dco-clients t_userspace_server_dco_clients
scenario openvpn-rekey-under-traffic t_rekey
scenario openvpn-client-vanishes t_client_vanishes
scenario openvpn-server-tcp t_server_tcp
scenario openvpn-tcp-dco-server-userspace-clients t_tcp_dco_server_userspace_clients
scenario openvpn-tcp-userspace-server-dco-clients t_tcp_userspace_server_dco_clients
scenario openvpn-tcp-rekey-under-traffic t_tcp_rekey
finish
