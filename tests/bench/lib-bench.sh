# SPDX-License-Identifier: GPL-2.0
# The benchmark's systems and measurements, for scripts that run inside
# the test VM (sourced after tests/vm/lib.sh, which provides cleanup_all,
# $CLI and $MOD).
#
# Every system runs between two network namespaces joined by a veth pair:
#   peer0 veth0 10.10.0.1/24  <->  peer1 veth1 10.10.0.2/24
# A tunnel system adds a device tun0 on each side (5.5.5.1 in peer0,
# 5.5.5.2 in peer1, MTU 1420 everywhere, as WireGuard's default) and its
# outer UDP flow between 10.10.0.1:1194 and 10.10.0.2:1195.  The iperf3
# server runs in peer1, the client and ping in peer0; $DST is the address
# measured against.
#
# Results are printed as lines the host parses (tests/bench/report.py):
#   BENCH <rep> <system> <cipher> <metric> <value>
#   BENCH-NA <rep> <system> <cipher> <reason...>
# Systems: dco (this module), dcotcp (this module over a TCP connection),
# dcoinline and dcoqueued (this module loaded with rx_burst=4294967295,
# every packet decrypted where it arrives, and rx_burst=0, every packet
# through the peer's RX work: the two ends of its receive steering, to
# compare with the default in the same run), dcotxwork (this module loaded
# with tx_work=1: every packet sent encrypted by the peer's TX work),
# ovpn (Linux's C driver), ovpntcp (the C driver over a TCP connection),
# wireguard,
# openvpn (OpenVPN 2.6 in userspace over tun, --disable-dco), veth (no
# tunnel), aead (the kernel crypto API's own AEAD throughput, tcrypt).
# Ciphers: aes (AES-256-GCM), chacha (ChaCha20-Poly1305), none.
# Metrics: tcp1_mbps, tcp4_mbps (iperf3 TCP goodput at the receiver, 1 and
# 4 streams), cpu_s_per_gb (guest CPU time, all CPUs, per GB received in
# the 1-stream run), udp64_kpps (iperf3 UDP, 64-byte payloads, unlimited
# rate, thousands of packets per second received), ping_ms (average RTT of
# 20 pings), enc_mbps/dec_mbps (tcrypt, 1420-byte messages, one request
# at a time on one CPU).

: "${BENCH_T:=5}"                 # seconds per iperf3 run
: "${BENCH_WORK:=/tmp/bench}"     # scratch space (tmpfs in the guest)
: "${CCLI:=}"                     # the selftests' C ovpn-cli, if built
: "${TCRYPT_KO:=}"                # tcrypt.ko (tests/bench/build-tcrypt.sh)
: "${BENCH_UDP_RATE:=0}"          # iperf3 -b for the UDP test (0: unlimited)
: "${BENCH_TCP_WINDOW:=}"         # iperf3 -w for the TCP tests (empty: default)
: "${BENCH_AEAD_MODES:=211 213}"  # tcrypt modes: 211 gcm(aes), 213 rfc7539esp
mkdir -p "$BENCH_WORK"
DST=

# Runs its arguments in a namespace with a deadline, so that no tool can
# hang the guest.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout -k 5 $((BENCH_T * 3 + 60)) "$@"
}

# The two namespaces and the veth between them.  IPv6 is off in both, so
# that router solicitations and MLD reports do not cross the tunnels.
bench_topo() {
	local i
	for i in 0 1; do
		ip netns add peer$i || return 1
		ip netns exec peer$i sysctl -qw net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv6.conf.all.disable_ipv6=1 || return 1
	done
	ip link add veth0 netns peer0 type veth peer name veth1 netns peer1 || return 1
	printf '%s\n' "link set lo up" "addr add 10.10.0.1/24 dev veth0" "link set veth0 up" |
		ip -n peer0 -batch - || return 1
	printf '%s\n' "link set lo up" "addr add 10.10.0.2/24 dev veth1" "link set veth1 up" |
		ip -n peer1 -batch -
}

# Gives tun0 in namespace peer$1 its address, MTU 1420, and brings it up.
tun_up() {
	printf '%s\n' "addr add 5.5.5.$(($1 + 1))/24 dev tun0" "link set tun0 mtu 1420" \
		"link set tun0 up" | ip -n peer$1 -batch -
}

# --- The systems: up_<system> CIPHER sets up the pair and sets $DST. ---------

# This module, P2P, set up with the project's ovpn-cli as t-datapath.sh
# does, over UDP (transport $2 udp, the default) or over one TCP
# connection (tcp) between 10.10.0.1:1194 (connecting) and
# 10.10.0.2:1195 (listening), made and handed over by ovpn-cli new_peer
# --tcp ... --hold, which stays in the background holding the socket.
up_dco() {
	local alg i f
	case $1 in aes) alg=aes ;; chacha) alg=chachapoly ;; *) return 1 ;; esac
	dco_load "${3:-}" || return 1
	[ -x "$CLI" ] || { echo "no $CLI"; return 1; }
	bench_topo || return 1
	for i in 0 1; do
		ip -n peer$i link add tun0 type ovpn-dco || return 1
		tun_up $i || return 1
	done
	if [ "${2:-udp}" = tcp ]; then
		ip netns exec peer1 "$CLI" new_peer tun0 1 1195 10.10.0.1 0 --tcp listen --hold \
			>"$BENCH_WORK/tcp1.out" 2>&1 &
		ip netns exec peer0 "$CLI" new_peer tun0 1 1194 10.10.0.2 1195 --tcp connect --hold \
			>"$BENCH_WORK/tcp0.out" 2>&1 &
		for f in tcp1 tcp0; do
			for i in $(seq 120); do
				grep -q '^ready ' "$BENCH_WORK/$f.out" 2>/dev/null && break
				sleep 0.5
			done
			grep -q '^ready ' "$BENCH_WORK/$f.out" || { cat "$BENCH_WORK/$f.out"; return 1; }
		done
	else
		ip netns exec peer0 "$CLI" new_peer tun0 1 1194 10.10.0.2 1195 || return 1
		ip netns exec peer1 "$CLI" new_peer tun0 1 1195 10.10.0.1 1194 || return 1
	fi
	head -c 256 /dev/urandom | base64 -w0 >"$BENCH_WORK/dco.key"
	ip netns exec peer0 "$CLI" new_key tun0 1 0 1 $alg 0 "$BENCH_WORK/dco.key" --key-bits 256 || return 1
	ip netns exec peer1 "$CLI" new_key tun0 1 0 1 $alg 1 "$BENCH_WORK/dco.key" --key-bits 256 || return 1
	DST=5.5.5.2
}

# This module over TCP (see up_dco).
up_dcotcp() { up_dco "$1" tcp; }

# This module with every packet decrypted where it arrives, and with every
# packet through the RX work (see dco_load).
up_dcoinline() { up_dco "$1" udp rx_burst=4294967295; }
up_dcoqueued() { up_dco "$1" udp rx_burst=0; }
# This module with every packet encrypted and sent by the TX work.
up_dcotxwork() { up_dco "$1" udp tx_work=1; }

# Loads this module with the parameters $1 (empty: the defaults), first
# unloading it if it was loaded with others (no device is left between
# two systems: bench_one cleans up).
dco_load() {
	local want=${1:-default} have
	have=$(cat "$BENCH_WORK/dco.params" 2>/dev/null || echo default)
	if [ "$have" != "$want" ]; then
		unload || { echo "rmmod ovpn_dco_v2 failed"; return 1; }
	fi
	if ! is_loaded; then
		# shellcheck disable=SC2086 # $1: parameters, word-split on purpose
		insmod "$MOD" ${1:-} || { echo "insmod $MOD ${1:-} failed"; return 1; }
		echo "$want" >"$BENCH_WORK/dco.params"
	fi
}

# The C driver's side is ready: the selftests' client built, the driver
# loaded; else says which is missing.
c_cli_ready() {
	[ -n "$CCLI" ] && [ -x "$CCLI" ] || { echo "the selftests' ovpn-cli was not built"; return 1; }
	modprobe ovpn || { echo "modprobe ovpn failed"; return 1; }
}

# Linux's C ovpn driver, P2P, set up with the kernel selftests' client
# (new_iface, new_peer, new_key).  Its new_peer keeps the UDP socket in a
# daemonised child (killed with the namespace); it always exits 0, so its
# output is checked for errors.  Newer versions of the tool take a TX peer
# id after the peer id ("none" for a symmetric one).
up_ovpn() {
	local alg i txid=() log
	case $1 in aes) alg=aes ;; chacha) alg=chachapoly ;; *) return 1 ;; esac
	c_cli_ready || return 1
	"$CCLI" 2>&1 | grep -q 'new_peer <iface> <peer_id> <tx_id>' && txid=(none)
	bench_topo || return 1
	for i in 0 1; do
		ip netns exec peer$i "$CCLI" new_iface tun0 P2P >/dev/null || return 1
		tun_up $i || return 1
	done
	# The tool reads 2 x 32 key bytes and an 8-byte nonce tail.
	head -c 72 /dev/urandom | base64 -w0 >"$BENCH_WORK/c.key"
	log=$BENCH_WORK/c-peer.log
	ip netns exec peer0 "$CCLI" new_peer tun0 1 "${txid[@]}" 1194 10.10.0.2 1195 >"$log" 2>&1
	ip netns exec peer1 "$CCLI" new_peer tun0 1 "${txid[@]}" 1195 10.10.0.1 1194 >>"$log" 2>&1
	if grep -Eqi 'error|fail|cannot' "$log"; then
		cat "$log"
		return 1
	fi
	ip netns exec peer0 "$CCLI" new_key tun0 1 1 0 $alg 0 "$BENCH_WORK/c.key" || return 1
	ip netns exec peer1 "$CCLI" new_key tun0 1 1 0 $alg 1 "$BENCH_WORK/c.key" || return 1
	DST=5.5.5.2
}

# Linux's C ovpn driver over one TCP connection (AES-256-GCM: the tool's
# connect command knows no other cipher), as the kernel selftests set it
# up: peer1 an MP device whose `listen` accepts the connection and adds
# the peer (VPN address 5.5.5.1), peer0 a P2P device whose `connect` adds
# the peer and its key; both keep their socket in a daemonised child.
# The listener's key comes once `listen` has returned.
up_ovpntcp() {
	local i log=$BENCH_WORK/c-tcp.log lpid
	[ "$1" = aes ] || return 1
	c_cli_ready || return 1
	"$CCLI" 2>&1 | grep -q 'connect <iface> <peer_id> <tx_id>' ||
		{ echo "this ovpn-cli has no TCP connect with a TX id"; return 1; }
	bench_topo || return 1
	ip netns exec peer0 "$CCLI" new_iface tun0 P2P >/dev/null || return 1
	ip netns exec peer1 "$CCLI" new_iface tun0 MP >/dev/null || return 1
	for i in 0 1; do tun_up $i || return 1; done
	head -c 72 /dev/urandom | base64 -w0 >"$BENCH_WORK/c.key"
	echo "1 1 5.5.5.1" >"$BENCH_WORK/c-tcp-peers.txt"
	ip netns exec peer1 "$CCLI" listen tun0 1195 SYMM "$BENCH_WORK/c-tcp-peers.txt" >"$log" 2>&1 &
	lpid=$!
	for i in $(seq 40); do
		ip netns exec peer1 ss -Hltn 'sport = :1195' 2>/dev/null | grep -q . && break
		sleep 0.25
	done
	ip netns exec peer0 "$CCLI" connect tun0 1 none 10.10.0.2 1195 "$BENCH_WORK/c.key" >>"$log" 2>&1
	for i in $(seq 40); do
		kill -0 $lpid 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 $lpid 2>/dev/null || grep -Eqi 'error|fail|cannot' "$log"; then
		kill $lpid 2>/dev/null
		cat "$log"
		return 1
	fi
	ip netns exec peer1 "$CCLI" new_key tun0 1 1 0 aes 0 "$BENCH_WORK/c.key" || return 1
	DST=5.5.5.2
}

# WireGuard (ChaCha20-Poly1305 only) with wireguard-tools.
up_wireguard() {
	[ "$1" = chacha ] || return 1
	modprobe wireguard || { echo "modprobe wireguard failed"; return 1; }
	command -v wg >/dev/null || { echo "no wg (wireguard-tools)"; return 1; }
	bench_topo || return 1
	local i
	for i in 0 1; do
		wg genkey >"$BENCH_WORK/wg$i.key" || return 1
		wg pubkey <"$BENCH_WORK/wg$i.key" >"$BENCH_WORK/wg$i.pub" || return 1
		ip -n peer$i link add tun0 type wireguard || return 1
	done
	ip netns exec peer0 wg set tun0 private-key "$BENCH_WORK/wg0.key" listen-port 1194 \
		peer "$(cat "$BENCH_WORK/wg1.pub")" allowed-ips 0.0.0.0/0 endpoint 10.10.0.2:1195 || return 1
	ip netns exec peer1 wg set tun0 private-key "$BENCH_WORK/wg1.key" listen-port 1195 \
		peer "$(cat "$BENCH_WORK/wg0.pub")" allowed-ips 0.0.0.0/0 endpoint 10.10.0.1:1194 || return 1
	for i in 0 1; do tun_up $i || return 1; done
	DST=5.5.5.2
}

# A throwaway PKI for OpenVPN (as tests/vm/t-openvpn.sh makes it): a CA,
# a server and a client, P-256 keys (fast under emulation).
bench_pki() {
	local pki=$BENCH_WORK/pki n eku
	[ -f "$pki/client.crt" ] && return 0
	mkdir -p "$pki" || return 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$pki/ca.key" -out "$pki/ca.crt" -days 2 -subj /CN=bench-ca 2>/dev/null || return 1
	for n in server client; do
		eku=clientAuth
		[ $n = server ] && eku=serverAuth
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$pki/$n.key" -out "$pki/$n.csr" -subj /CN=$n 2>/dev/null || return 1
		printf 'keyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' $eku >"$pki/$n.ext"
		openssl x509 -req -in "$pki/$n.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
			-CAcreateserial -out "$pki/$n.crt" -days 2 -extfile "$pki/$n.ext" 2>/dev/null || return 1
	done
}

# OpenVPN 2.6 in userspace (--disable-dco) over tun, a TLS P2P pair with
# the data cipher fixed: the TLS server in peer1, the client in peer0.
up_openvpn() {
	local cipher pki=$BENCH_WORK/pki n i
	case $1 in aes) cipher=AES-256-GCM ;; chacha) cipher=CHACHA20-POLY1305 ;; *) return 1 ;; esac
	command -v openvpn >/dev/null || { echo "no openvpn"; return 1; }
	bench_pki || { echo "could not make the PKI"; return 1; }
	bench_topo || return 1
	local common=(--dev tun0 --dev-type tun --disable-dco --proto udp4 --dh none
		--data-ciphers "$cipher" --tun-mtu 1420 --verb 3 --script-security 0
		--ca "$pki/ca.crt" --cd "$BENCH_WORK")
	rm -f "$BENCH_WORK"/ovpn-*.log
	ip netns exec peer1 openvpn --daemon ovpn-bench-server --log "$BENCH_WORK/ovpn-server.log" \
		--tls-server --cert "$pki/server.crt" --key "$pki/server.key" \
		--lport 1195 --rport 1194 --remote 10.10.0.1 --ifconfig 5.5.5.2 5.5.5.1 \
		"${common[@]}" || return 1
	ip netns exec peer0 openvpn --daemon ovpn-bench-client --log "$BENCH_WORK/ovpn-client.log" \
		--tls-client --cert "$pki/client.crt" --key "$pki/client.key" \
		--lport 1194 --rport 1195 --remote 10.10.0.2 --ifconfig 5.5.5.1 5.5.5.2 \
		"${common[@]}" || return 1
	for n in server client; do
		for i in $(seq 120); do
			grep -q "Initialization Sequence Completed" "$BENCH_WORK/ovpn-$n.log" 2>/dev/null && break
			sleep 0.5
		done
		if ! grep -q "Initialization Sequence Completed" "$BENCH_WORK/ovpn-$n.log"; then
			echo "openvpn $n did not come up:"
			tail -n 15 "$BENCH_WORK/ovpn-$n.log"
			return 1
		fi
	done
	grep -q "Data Channel: cipher .$cipher" "$BENCH_WORK/ovpn-client.log" ||
		{ echo "openvpn did not negotiate $cipher"; grep "Data Channel" "$BENCH_WORK/ovpn-client.log"; return 1; }
	DST=5.5.5.2
}

# The bare veth pair: the upper bound without a tunnel.
up_veth() {
	[ "$1" = none ] || return 1
	bench_topo || return 1
	DST=10.10.0.2
}

# --- Measurements --------------------------------------------------------------

# Every ping turns packet timestamps on and off again, and each switch
# patches the kernel's code (a static key), which TCG with several vCPUs
# sometimes gets wrong (see bench.sh): one socket, in the background,
# holds them on for the whole run, so that the switches never happen.
hold_timestamps() {
	/usr/bin/python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_TIMESTAMP, 1)
time.sleep(1e6)' &
}

# Busy CPU time of the whole guest so far, in clock ticks (user, nice,
# system, irq, softirq).
cpu_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

# Starts the iperf3 server in peer1 and waits until it listens.
iperf_server() {
	ip netns exec peer1 iperf3 -s -D -p 5201 >/dev/null 2>&1 || return 1
	local i
	for i in $(seq 40); do
		ip netns exec peer1 ss -Hltn 'sport = :5201' 2>/dev/null | grep -q . && return 0
		sleep 0.25
	done
	return 1
}

# Runs the iperf3 client in peer0 against $DST with the options given;
# prints "bits/s bytes seconds" as received by the server, or nothing
# (then the reason is in $BENCH_WORK/iperf.err).
# A run that fails (the server still busy with the previous test, a
# control connection reset under a loaded emulator) is tried once more.
iperf_rx() {
	local j=$BENCH_WORK/iperf.json try out
	for try in 1 2; do
		sleep $((try * try)) # the server's previous test must be over
		nsx peer0 iperf3 -c "$DST" -t "$BENCH_T" -J "$@" >"$j" 2>"$BENCH_WORK/iperf.err"
		out=$(jq -r 'select(.end.sum_received.bytes != null) |
			"\(.end.sum_received.bits_per_second) \(.end.sum_received.bytes) \(.end.sum_received.seconds)"' \
			"$j" 2>/dev/null)
		if [ -n "$out" ]; then
			echo "$out"
			return 0
		fi
		jq -r '.error // empty' "$j" >>"$BENCH_WORK/iperf.err" 2>/dev/null
		echo "  iperf3 $* (try $try): $(tr '\n' ' ' <"$BENCH_WORK/iperf.err" | cut -c1-100)" >&2
	done
	return 1
}

# Why the last iperf3 run gave nothing, on one line.
iperf_why() { tr '\n' ' ' <"$BENCH_WORK/iperf.err" | cut -c1-100; }

# Prints one BENCH line: rep system cipher metric value.
emit() { echo "BENCH $1 $2 $3 $4 $5"; }

# This module's receive steering at work: for each namespace (peer0, then
# peer1), the packets tun0 received and how many of them went through the
# RX work (rx_queued); nothing for the other systems.
steer_counts() {
	local i
	case $1 in dco*) ;; *) return 0 ;; esac
	for i in 0 1; do
		printf '%s %s ' "$(ip netns exec peer$i cat /sys/class/net/tun0/statistics/rx_packets 2>/dev/null)" \
			"$(ip netns exec peer$i ethtool -S tun0 2>/dev/null | awk '$1 == "rx_queued:" {print $2}')"
	done
}

# Prints, for the figure $4 of system $2 (cipher $3, repetition $1), the
# share of each side's received packets that went through the RX work,
# from the counts $5 before and $6 after (steer_counts):
#   BENCH-STEER <rep> <system> <cipher> <figure> peer0 <queued>/<rx> peer1 <queued>/<rx>
# (report.py ignores these lines; they are in the run's vm.log.)
steer_report() {
	local a b
	read -ra a <<<"$5"
	read -ra b <<<"$6"
	[ ${#a[@]} = 4 ] && [ ${#b[@]} = 4 ] || return 0
	echo "BENCH-STEER $1 $2 $3 $4 peer0 $((b[1] - a[1]))/$((b[0] - a[0])) peer1 $((b[3] - a[3]))/$((b[2] - a[2]))"
}

# Measures the system that is up and prints its BENCH lines (rep $1,
# system $2, cipher $3).  Returns non-zero if a figure is missing (the
# missing ones are printed as BENCH-NA).
measure() {
	local rep=$1 sys=$2 c=$3 out rx t0 t1 ok=0 hz
	hz=$(getconf CLK_TCK)
	# Connectivity (and WireGuard's handshake) first.
	if ! nsx peer0 ping -q -c 3 -i 0.3 -W 5 "$DST" >/dev/null 2>&1 &&
		! nsx peer0 ping -q -c 3 -i 0.3 -W 5 "$DST" >/dev/null 2>&1; then
		echo "BENCH-NA $rep $sys $c no connectivity through the tunnel"
		return 1
	fi
	iperf_server || { echo "BENCH-NA $rep $sys $c iperf3 server did not start"; return 1; }
	# TCP, one stream, with the guest's CPU time.
	local steer0
	steer0=$(steer_counts "$sys")
	t0=$(cpu_ticks)
	local win=()
	[ -z "$BENCH_TCP_WINDOW" ] || win=(-w "$BENCH_TCP_WINDOW")
	rx=$(iperf_rx "${win[@]}")
	t1=$(cpu_ticks)
	[ -z "$steer0" ] || steer_report "$rep" "$sys" "$c" tcp1 "$steer0" "$(steer_counts "$sys")"
	if [ -n "$rx" ]; then
		set -- $rx
		emit "$rep" "$sys" "$c" tcp1_mbps "$(awk -v b="$1" 'BEGIN {printf "%.2f", b / 1e6}')"
		emit "$rep" "$sys" "$c" cpu_s_per_gb \
			"$(awk -v t=$((t1 - t0)) -v hz="$hz" -v by="$2" 'BEGIN {printf "%.2f", (by > 0 ? (t / hz) / (by / 1e9) : 0)}')"
	else
		echo "BENCH-NA $rep $sys $c tcp1: iperf3 failed: $(iperf_why)"; ok=1
	fi
	# TCP, four streams.
	rx=$(iperf_rx -P 4 "${win[@]}")
	if [ -n "$rx" ]; then
		set -- $rx
		emit "$rep" "$sys" "$c" tcp4_mbps "$(awk -v b="$1" 'BEGIN {printf "%.2f", b / 1e6}')"
	else
		echo "BENCH-NA $rep $sys $c tcp4: iperf3 failed: $(iperf_why)"; ok=1
	fi
	# UDP, 64-byte payloads, as fast as the sender can (or at the rate
	# $BENCH_UDP_RATE, bits/s, given for the smoke).
	rx=$(iperf_rx -u -l 64 -b "$BENCH_UDP_RATE")
	if [ -n "$rx" ]; then
		set -- $rx
		emit "$rep" "$sys" "$c" udp64_kpps "$(awk -v by="$2" -v s="$3" 'BEGIN {printf "%.2f", (s > 0 ? by / 64 / s / 1e3 : 0)}')"
	else
		echo "BENCH-NA $rep $sys $c udp64: iperf3 failed: $(iperf_why)"; ok=1
	fi
	# Round-trip time.
	out=$(nsx peer0 ping -q -c 20 -i 0.05 -W 2 "$DST" 2>&1 | awk -F/ '/^rtt|^round-trip/ {print $5}')
	if [ -n "$out" ]; then
		emit "$rep" "$sys" "$c" ping_ms "$out"
	else
		echo "BENCH-NA $rep $sys $c ping failed"; ok=1
	fi
	return $ok
}

# Sets up system $2 with cipher $3, measures it as repetition $1 and
# tears it down.  A setup failure prints one BENCH-NA line with the
# reason (the setup's own last message).
bench_one() {
	local rep=$1 sys=$2 c=$3 rc log=$BENCH_WORK/setup.log
	cleanup_all
	DST=
	# Not in a subshell: up_* sets $DST.
	up_$sys "$c" >"$log" 2>&1
	rc=$?
	sed 's/^/  setup: /' "$log"
	if [ $rc != 0 ] || [ -z "$DST" ]; then
		echo "BENCH-NA $rep $sys $c setup failed: $(grep . "$log" | tail -n 1)"
		cleanup_all
		return 1
	fi
	measure "$rep" "$sys" "$c"
	rc=$?
	cleanup_all
	return $rc
}

# The AEAD limit: tcrypt's speed test of gcm(aes) (mode 211) and of
# rfc7539esp(chacha20,poly1305) (mode 213: ChaCha20-Poly1305 as IPsec
# uses it, the same construction with a 4-byte salt in the key; tcrypt
# has no speed mode for plain rfc7539) at 1420-byte messages, AES with a
# 256-bit key.  tcrypt refuses to stay loaded by design (loading "fails"
# with EAGAIN); the results are in the kernel log.  $TCRYPT_KO is the
# module tests/bench/build-tcrypt.sh built (the test kernel's config
# lacks it); without it, the tree's own module is loaded.
bench_aead() {
	local rep=$1 mode cipher alg bits mark lines v ok=0
	for mode in $BENCH_AEAD_MODES; do
		case $mode in
		211) cipher=aes alg='gcm(aes)' bits=256 ;;
		213) cipher=chacha alg='rfc7539esp(chacha20,poly1305)' bits=288 ;;
		esac
		mark=$(dmesg | wc -l)
		if [ -n "${TCRYPT_KO:-}" ]; then
			[ -f "$TCRYPT_KO" ] || { echo "BENCH-NA $rep aead $cipher no $TCRYPT_KO (tests/bench/build-tcrypt.sh)"; ok=1; continue; }
			insmod "$TCRYPT_KO" mode=$mode sec=1 >/dev/null 2>&1
		else
			modprobe tcrypt mode=$mode sec=1 >/dev/null 2>&1
		fi
		lines=$(dmesg | tail -n +$((mark + 1)))
		v=$(awk -v alg="$alg" -v bits="$bits" '
			/testing speed of/ {
				cur = ""
				for (i = 1; i <= NF; i++) if ($i == "of") { cur = $(i + 1); break }
				dir = ($0 ~ /decryption/) ? "dec" : "enc"
			}
			cur == alg && $0 ~ ("\\(" bits " bit key, 1420 byte blocks\\)") {
				if (match($0, /[0-9]+ operations in [0-9]+ seconds \([0-9]+ bytes\)/)) {
					split(substr($0, RSTART, RLENGTH), f, /[ (]+/)
					printf "%s %.2f\n", dir, f[6] * 8 / f[4] / 1e6
				}
			}' <<<"$lines")
		if [ -z "$v" ]; then
			echo "BENCH-NA $rep aead $cipher tcrypt mode $mode gave no $alg result"
			printf '%s\n' "$lines" | grep -i tcrypt | tail -n 5 | sed 's/^/  tcrypt: /'
			ok=1
			continue
		fi
		while read -r dir mbps; do
			emit "$rep" aead "$cipher" ${dir}_mbps "$mbps"
		done <<<"$v"
	done
	return $ok
}

# --- MP scale ------------------------------------------------------------------

# Kernel memory in use, in kB: slab plus per-CPU allocations.
kmem_kb() { awk '/^(Slab|Percpu):/ {s += $2} END {print s}' /proc/meminfo; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Peers-file lines for idle peers $2..$3 of system $1 (dco: this module's
# ovpn-cli format, ovpn: the selftests' client's): each at its own
# transport address 10.20.x.y:1194 with VPN address 10.30.x.y.
idle_peers() {
	local sys=$1 i a
	for ((i = $2; i <= $3; i++)); do
		a="$((i / 250)).$((i % 250 + 1))"
		if [ "$sys" = dco ]; then
			echo "$i 10.20.$a 1194 10.30.$a"
		else
			echo "$i $i 0.0.0.0 1194 10.20.$a 1194 10.30.$a"
		fi
	done
}

# MP scale of system $2 (dco or ovpn) as repetition $1, for each peer
# count in $BENCH_SCALE: an MP device in namespace srv, N peers added by
# one client process (one netlink request per peer; the peers' remotes
# need not exist), then an AES-256-GCM key for each (one client process
# per key, as neither client installs several keys at once: that time
# includes starting N processes, the same for both systems).  Prints
#   scale<N>_peers_ms   time to add the N peers
#   scale<N>_keys_ms    time to add their N keys
#   scale<N>_kb_per_peer  slab + per-CPU memory per peer with its key
bench_scale() {
	local rep=$1 sys=$2 n i f t0 t1 t2 m0 m1 ok=0 key=$BENCH_WORK/scale.key
	for n in ${BENCH_SCALE:-1 100 1000}; do
		cleanup_all
		ip netns add srv && ip -n srv link set lo up || return 1
		f=$BENCH_WORK/peers-$n.txt
		: >"$f"
		case $sys in
		dco)
			dco_load || return 1
			ip netns exec srv "$CLI" new_iface tun0 MP || return 1
			head -c 256 /dev/urandom | base64 -w0 >"$key"
			idle_peers dco 1 "$n" >"$f"
			;;
		ovpn)
			[ -n "$CCLI" ] && [ -x "$CCLI" ] || { echo "BENCH-NA $rep $sys mp the selftests' ovpn-cli was not built"; return 1; }
			modprobe ovpn || return 1
			ip netns exec srv "$CCLI" new_iface tun0 MP >/dev/null || return 1
			head -c 72 /dev/urandom | base64 -w0 >"$key"
			idle_peers ovpn 1 "$n" >"$f"
			;;
		esac
		ip -n srv link set tun0 up || return 1
		sleep 1
		m0=$(kmem_kb)
		t0=$(now_ms)
		if [ $sys = dco ]; then
			ip netns exec srv "$CLI" new_multi_peer tun0 1194 "$f" >"$BENCH_WORK/scale.log" 2>&1
		else
			ip netns exec srv "$CCLI" new_multi_peer tun0 1194 SYMM "$f" >"$BENCH_WORK/scale.log" 2>&1
		fi
		local rc=$?
		t1=$(now_ms)
		if [ $rc != 0 ] || grep -Eqi 'error|fail|cannot' "$BENCH_WORK/scale.log"; then
			echo "BENCH-NA $rep $sys mp adding $n peers failed: $(tail -n 1 "$BENCH_WORK/scale.log")"
			ok=1
			continue
		fi
		# One shell in the namespace runs every client process.
		local kfail
		if [ $sys = dco ]; then
			kfail=$(ip netns exec srv bash -c 'for i in $(seq 1 "$1"); do
				"$2" new_key tun0 $i 0 1 aes 0 "$3" --key-bits 256 >/dev/null || { echo $i; exit 1; }
				done' - "$n" "$CLI" "$key" 2>"$BENCH_WORK/scale-keys.log")
		else
			kfail=$(ip netns exec srv bash -c 'for i in $(seq 1 "$1"); do
				"$2" new_key tun0 $i 1 0 aes 0 "$3" >/dev/null || { echo $i; exit 1; }
				done' - "$n" "$CCLI" "$key" 2>"$BENCH_WORK/scale-keys.log")
		fi
		t2=$(now_ms)
		if [ -n "$kfail" ]; then
			echo "BENCH-NA $rep $sys mp key $kfail of $n failed: $(tail -n 1 "$BENCH_WORK/scale-keys.log")"
			ok=1
			continue
		fi
		sleep 1
		m1=$(kmem_kb)
		emit "$rep" "$sys" mp scale${n}_peers_ms $((t1 - t0))
		emit "$rep" "$sys" mp scale${n}_keys_ms $((t2 - t1))
		emit "$rep" "$sys" mp scale${n}_kb_per_peer \
			"$(awk -v d=$((m1 - m0)) -v n="$n" 'BEGIN {printf "%.2f", d / n}')"
	done
	cleanup_all
	return $ok
}

# Goodput to one peer of an MP server that holds N peers (rep $1, system
# $2: dco or ovpn, N $3): peer1 is the server (MP device, 5.5.5.2), its
# peer 1 is the real client in peer0 (a P2P device, 5.5.5.1) and peers
# 2..N are installed but idle (no keys: their lookups, not their crypto,
# are what a big table adds).  The bulk goes from the server to the
# client (iperf3 -R), so every packet the server sends is routed through
# its VPN-address table.  Prints BENCH <rep> <sys> mp mp<N>_tcp1_mbps.
bench_mp_tput() {
	local rep=$1 sys=$2 n=$3 f=$BENCH_WORK/mp-peers.txt key rx log=$BENCH_WORK/mp-setup.log
	cleanup_all
	bench_topo || return 1
	: >"$log"
	case $sys in
	dco)
		dco_load || return 1
		key=$BENCH_WORK/mp.key
		head -c 256 /dev/urandom | base64 -w0 >"$key"
		{ echo "1 10.10.0.1 1195 5.5.5.1"; idle_peers dco 2 "$n"; } >"$f"
		ip netns exec peer1 "$CLI" new_iface tun0 MP >>"$log" 2>&1 &&
			tun_up 1 &&
			ip netns exec peer1 "$CLI" new_multi_peer tun0 1194 "$f" >>"$log" 2>&1 &&
			ip netns exec peer1 "$CLI" new_key tun0 1 0 1 aes 1 "$key" --key-bits 256 >>"$log" 2>&1 &&
			ip -n peer0 link add tun0 type ovpn-dco &&
			tun_up 0 &&
			ip netns exec peer0 "$CLI" new_peer tun0 1 1195 10.10.0.2 1194 >>"$log" 2>&1 &&
			ip netns exec peer0 "$CLI" new_key tun0 1 0 1 aes 0 "$key" --key-bits 256 >>"$log" 2>&1
		;;
	ovpn)
		[ -n "$CCLI" ] && [ -x "$CCLI" ] || { echo "BENCH-NA $rep $sys mp the selftests' ovpn-cli was not built"; return 1; }
		modprobe ovpn || return 1
		local txid=()
		"$CCLI" 2>&1 | grep -q 'new_peer <iface> <peer_id> <tx_id>' && txid=(none)
		key=$BENCH_WORK/mp-c.key
		head -c 72 /dev/urandom | base64 -w0 >"$key"
		{ echo "1 1 0.0.0.0 1194 10.10.0.1 1195 5.5.5.1"; idle_peers ovpn 2 "$n"; } >"$f"
		ip netns exec peer1 "$CCLI" new_iface tun0 MP >>"$log" 2>&1 &&
			tun_up 1 &&
			ip netns exec peer1 "$CCLI" new_multi_peer tun0 1194 SYMM "$f" >>"$log" 2>&1 &&
			ip netns exec peer1 "$CCLI" new_key tun0 1 1 0 aes 1 "$key" >>"$log" 2>&1 &&
			ip netns exec peer0 "$CCLI" new_iface tun0 P2P >>"$log" 2>&1 &&
			tun_up 0 &&
			ip netns exec peer0 "$CCLI" new_peer tun0 1 "${txid[@]}" 1195 10.10.0.2 1194 >>"$log" 2>&1 &&
			ip netns exec peer0 "$CCLI" new_key tun0 1 1 0 aes 0 "$key" >>"$log" 2>&1
		;;
	esac
	local rc=$?
	if [ $rc != 0 ] || grep -Eqi 'error|fail|cannot' "$log"; then
		echo "BENCH-NA $rep $sys mp goodput with $n peers: setup failed: $(grep . "$log" | tail -n 1)"
		cleanup_all
		return 1
	fi
	DST=5.5.5.2
	if ! nsx peer0 ping -q -c 3 -i 0.3 -W 5 "$DST" >/dev/null 2>&1; then
		echo "BENCH-NA $rep $sys mp goodput with $n peers: no connectivity"
		cleanup_all
		return 1
	fi
	iperf_server || { echo "BENCH-NA $rep $sys mp iperf3 server did not start"; cleanup_all; return 1; }
	rx=$(iperf_rx -R)
	if [ -n "$rx" ]; then
		set -- $rx
		emit "$rep" "$sys" mp "mp${n}_tcp1_mbps" "$(awk -v b="$1" 'BEGIN {printf "%.2f", b / 1e6}')"
	else
		echo "BENCH-NA $rep $sys mp goodput with $n peers: iperf3 failed: $(iperf_why)"
		cleanup_all
		return 1
	fi
	cleanup_all
}
