# SPDX-License-Identifier: GPL-2.0
# OpenVPN 2.6 in the test VM (sourced after lib.sh): a throwaway PKI, an
# MP server in namespace srv and clients c<i> (lib.sh's add_link
# topology), each instance's log in $W.

W=/tmp/ovpn
PKI=$W/pki

# A throwaway PKI: a CA, the server and clients c1..c3 (P-256 keys: fast
# to generate and to handshake with under emulation).
make_pki() {
	local n eku
	mkdir -p "$PKI" && cd "$PKI" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout ca.key -out ca.crt -days 2 -subj /CN=ovpn-dco-test-ca 2>/dev/null || return 1
	for n in server c1 c2 c3; do
		eku=clientAuth
		[ "$n" = server ] && eku=serverAuth
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null || return 1
		printf 'keyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' $eku >$n.ext
		openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-out $n.crt -days 2 -extfile $n.ext 2>/dev/null || return 1
	done
	cd - >/dev/null
}
# Starts OpenVPN in namespace $1 as instance $2 with the options that
# follow (on top of the common ones); its log is $W/$2.log.
ovpn_start() {
	local ns=$1 name=$2
	shift 2
	rm -f "$W/$name.log"
	ip netns exec "$ns" openvpn --daemon "ovpn-$name" --log "$W/$name.log" \
		--writepid "$W/$name.pid" --verb 4 --ca "$PKI/ca.crt" --dev tun \
		--script-security 0 "$@" || return 1
}

# Waits until instance $1 has finished initializing (60 s at most).
ovpn_wait_up() {
	wait_line "$W/$1.log" "Initialization Sequence Completed" 60 && return 0
	echo "  $1 did not come up; its log ends with:" >&2
	tail -n 25 "$W/$1.log" | sed 's/^/    /' >&2
	return 1
}

# The server: MP over proto $1 (udp4, udp6, ...) on port 1194, VPN subnet
# 10.8.0.0/24 (and fd08::/64), clients c<i> get 10.8.0.1<i>; extra
# options follow.
server_start() {
	local proto=$1 i
	shift
	ip netns add srv && ip -n srv link set lo up || return 1
	mkdir -p "$W/ccd"
	for i in 1 2 3; do
		printf 'ifconfig-push 10.8.0.1%s 255.255.255.0\nifconfig-ipv6-push fd08::1%s/64 fd08::1\n' \
			$i $i >"$W/ccd/c$i"
	done
	ovpn_start srv server --proto "$proto" --port 1194 --topology subnet \
		--server 10.8.0.0 255.255.255.0 --server-ipv6 fd08::/64 \
		--client-config-dir "$W/ccd" --cert "$PKI/server.crt" --key "$PKI/server.key" \
		--dh none --data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305 \
		--keepalive 2 10 "$@"
}

# Client c$1 to the server at $2 over proto $3 with data cipher $4; extra
# options follow.
client_start() {
	local i=$1 remote=$2 proto=$3 cipher=$4
	shift 4
	add_link "$i" || return 1
	ovpn_start c$i c$i --client --nobind --remote "$remote" 1194 --proto "$proto" \
		--cert "$PKI/c$i.crt" --key "$PKI/c$i.key" --data-ciphers "$cipher" "$@"
}

# Whether instance $1 in namespace $2 uses this module: OpenVPN found it
# (and read its version), did not turn DCO off, and its device is of kind
# ovpn-dco.
uses_dco() {
	grep -q "DCO version: 2.0.0" "$W/$1.log" &&
		! grep -qi "disabling data channel offload" "$W/$1.log" &&
		ip -n "$2" -d link show tun0 2>/dev/null | grep -q "ovpn-dco"
}

