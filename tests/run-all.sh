#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs every test of the project, from a bare machine if need be:
#   1. provisions the tools (tests/provision.sh),
#   2. host tests: cargo test of the protocol core and the test client,
#   3. builds (or takes from the cache) the debug test kernel,
#   4. builds the module against it and the test client,
#   5. boots the VM once and runs the scenarios in tests/vm/t-*.sh,
#      in two debug guests side by side, then Linux's own ovpn
#      selftests (t-selftests.sh) in a third guest, of the release
#      kernel, beside steps 6 and 7,
#   6. runs the benchmark's smoke mode on the release kernel (one short
#      run of every system the benchmark compares, tests/bench/bench.sh
#      --smoke), so that the benchmark cannot rot,
#   7. the stock-kernel check (tests/stock/run.sh): the module built,
#      installed (make install, DKMS) and tested on Debian's stock 7.3
#      kernel in a trixie root, as a user would; OVPN_STOCK=0 skips it.
# The netlink spec's checks (tests/ynl-check.py) run with the host tests
# and, with the kernel's YNL, after the kernel build.
# `tests/run-all.sh host` stops before the VM: steps 1-4 only.
# Ends with "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail

MODE=${1:-all}
case $MODE in all|host) ;; *) echo "usage: $0 [host]" >&2; exit 2 ;; esac

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
OUT=${OVPN_DCO_RESULTS:-$REPO/results}
mkdir -p "$OUT"
passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL: $1"; }
step() { printf '\n### %s (%s)\n' "$1" "$(date +%H:%M:%S)"; }

# Runs a check script that prints "PASS <name>" and "FAIL <name>: <why>"
# lines (its log: $1) and counts them; one that fails without a FAIL
# line counts as a failure too.
checks() {
	local log=$1 rc line failed_line=0
	shift
	"$@" >"$log" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS "*) pass "${line#PASS }" ;;
		"FAIL "*) fail "${line#FAIL }"; failed_line=1 ;;
		esac
	done <"$log"
	if [ "$rc" != 0 ]; then
		cat "$log"
		[ "$failed_line" = 1 ] || fail "$* exited $rc"
	fi
}

finish() {
	echo
	[ ${#failures[@]} -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

step provision
if bash tests/provision.sh; then pass provision; else fail provision; finish; fi
. tests/env.sh

step "host tests (cargo test)"
if cargo test --workspace --release 2>&1 | tee "$OUT/cargo-test.log"; then
	# Count the individual tests cargo ran.
	while read -r ok ko; do
		passed=$((passed + ok)); failed=$((failed + ko))
	done < <(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$OUT/cargo-test.log")
else
	fail "cargo test"
fi

step "netlink spec"
# Documentation/netlink/specs/ovpn-dco-v2.yaml is the ABI's single
# description: the header and the netlink tables must be what
# tools/ynl-gen.py makes of it, and src/proto/uapi.rs must have its
# numbers.  (The system's python3, with python3-yaml: env.sh puts a venv
# first in PATH.)
checks "$OUT/ynl-check.log" /usr/bin/python3 tests/ynl-check.py

step "bounded fuzzing of the protocol core"
# Every target for a fixed time, from the committed seeds (tests/fuzz.sh).
while read -r verdict target runs; do
	case $verdict in
	PASS) pass "fuzz $target ($runs)" ;;
	FAIL) fail "fuzz $target" ;;
	*) echo "$verdict $target $runs" ;;
	esac
done < <(FUZZ_LOGS=$OUT bash tests/fuzz.sh seconds "${OVPN_DCO_FUZZ_SECONDS:-20}")

step "test kernel (debug)"
if ! KDIR=$(bash tests/kernel.sh debug) || [ ! -f "$KDIR/.ovpn-dco-built" ]; then
	fail "kernel build"; finish
fi
echo "kernel tree: $KDIR"
# The spec against the kernel's own YNL: its schema, its library, its
# generator.
checks "$OUT/ynl-check-kernel.log" /usr/bin/python3 tests/ynl-check.py --kdir "$KDIR"
# The benchmark smoke (last step) runs on the release kernel.  A cache
# hit costs nothing; a cold build starts now, niced, so that it uses what
# the guests leave of the CPUs.
[ "$MODE" = all ] || OVPN_BENCH_SMOKE=0
# Linux's selftests (t-selftests) run on the release kernel too.
if [ "$MODE" = all ]; then
	nice -n 19 bash tests/kernel.sh release >"$OUT/release-kernel.path" 2>"$OUT/release-kernel.log" &
	release_kernel=$!
fi

step "module and test client"
if rustfmt --edition 2021 --check src/ovpn_dco.rs >"$OUT/rustfmt.log" 2>&1; then
	pass "rustfmt"
else
	cat "$OUT/rustfmt.log"; fail "rustfmt"
fi
# Built through clippy-driver (CLIPPY=1): the kernel's clippy lints are
# errors, so a clean build is also a clean lint.
if make -s KERNEL_SRC="$KDIR" CLIPPY=1 >"$OUT/module-build.log" 2>&1; then
	pass "module build"
else
	cat "$OUT/module-build.log"; fail "module build"; finish
fi
if grep -E 'warning:' "$OUT/module-build.log"; then fail "module build has warnings"; fi
if cargo build --release -p ovpn-cli >"$OUT/cli-build.log" 2>&1; then
	pass "ovpn-cli build"
else
	cat "$OUT/cli-build.log"; fail "ovpn-cli build"; finish
fi
# The kernel selftests' C client of the `ovpn` family (t-ovpn-api), built
# from the test kernel's tree into target/ (not the shared cache).
if c_cli=$(OVPN_DCO_CACHE="$REPO/target" bash tests/bench/build-c-cli.sh "$KDIR" \
	2>"$OUT/c-cli-build.log") && ln -sf "$c_cli" target/ovpn-cli-c; then
	pass "C ovpn-cli build"
else
	cat "$OUT/c-cli-build.log"; fail "C ovpn-cli build"
fi
# The test build whose keys run out of packet ids after 256 packets
# (t-ovpn-api's ovpn-key-exhausted; Kbuild), from a copy of the sources
# in target/exhaust/: never installed.
rm -rf target/exhaust && mkdir -p target/exhaust &&
	tar -cf - --exclude=src/proto/fuzz --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		Makefile Kbuild compat include src tools | tar -xf - -C target/exhaust
# Staged under a name `make clean` leaves (bench.sh cleans the tree,
# which takes every *.ko in it).
if make -s -C target/exhaust KERNEL_SRC="$KDIR" OVPN_TEST_KEY_EXHAUSTION=1 \
	>"$OUT/exhaust-build.log" 2>&1 &&
	cp target/exhaust/ovpn-dco-v2.ko target/ovpn-dco-v2-exhaust.kmod; then
	pass "key-exhaustion test build"
else
	cat "$OUT/exhaust-build.log"; fail "key-exhaustion test build"
fi
[ "$MODE" = all ] || finish

step "VM scenarios"
# Two guests at once, one per host core (each has two vCPUs that
# single-threaded TCG runs in turn on one host thread, tests/vm/run.sh);
# each boots once for its share of the scenario files (tests/vm/all.sh).  The guests' consoles are in
# $OUT/vm-a.log and $OUT/vm-b.log.
# On a machine of this project's kind a scenario takes 10 s to 8 min
# under TCG with the debug kernel (most take 1-4 min), and the whole set
# takes the two guests about 40 minutes each.  Every scenario runs, in
# one of the guests: the lists below split them so that the guests take
# about as long (a scenario in no list fails the run), covering: every
# file's own checks (boot, clean-after,
# kmemleak), the control plane, the data path's counters, ciphers, replay,
# tampering, foreign packets, inner IPv6, key rotation and late keys,
# keepalive expiry, peer and device removal under traffic, every
# packet through the peers' RX work (rx_burst=0), the TCP
# transport's counters, control frames, broken streams and a bulk
# transfer without a stall, peer dumps of many messages, MP routing,
# float, dual stack, the reverse-path check and the undefined peer id,
# the review's regression scenarios (routing loops over UDP and TCP, an
# asynchronous AEAD under a flood of forged packets, a hostile holder of
# a TCP peer's descriptor, an empty write, sockets closed by a killed
# OpenVPN and the namespace deleted after it, a UDP socket's
# encapsulation reset by a descriptor holder), control-plane churn on an
# MP server while a client's traffic flows, the family driven by the
# kernel's YNL from its spec (t-ynl), the in-guest fuzzers (t-fuzz:
# netlink requests, datagrams and TCP streams, bounded in count and
# time), teardown under traffic (t-churn: peers, devices, namespaces,
# sockets and the module itself going while pings cross UDP and TCP
# tunnels), Linux's `ovpn` family and kind through YNL and the
# selftests' C ovpn-cli, and beside Linux's ovpn.ko (t-ovpn-api),
# netns-test.sh's P2P tunnel over UDP and over TCP (-t), its MP server
# with three clients and its MP server over TCP on IPv6 transport, and
# OpenVPN 2.6: servers with DCO clients (UDP, AES-128 and AES-256-GCM,
# iperf3; a dual-stack socket with IPv6 and IPv4 clients,
# ChaCha20-Poly1305; TCP), DCO servers with userspace clients
# over UDP and TCP, userspace servers with DCO clients over UDP and TCP,
# rekeying under traffic over UDP and over TCP, OpenVPN loading the
# installed module itself (after t-foundation's autoload installed it in
# the same boot), a client that vanishes and comes back, and a P2P pair.
# t-openvpn.sh and t-netns.sh run in both guests, each with its own
# share; each guest prints "SKIPPED <name>" for the other's share.
# OVPN_VM_SCENARIOS="name ..." runs any set (in both guests).
VM_A=(t-foundation t-datapath t-ynl t-fuzz)
VM_B=(t-peers t-tcp t-netns t-mp t-openvpn t-churn t-ovpn-api)
# Linux's selftests of its ovpn driver, in a guest of the release kernel
# after these two (below).
VM_C=(t-selftests)
SCEN_A=${OVPN_VM_SCENARIOS:-} SCEN_B=${OVPN_VM_SCENARIOS:-}
if [ -z "${OVPN_VM_SCENARIOS:-}" ]; then
	VM_A+=(t-openvpn t-netns)
	ci="load link-default-p2p link-modes bad-mode-rejected
		netdev-properties genl-family genl-ifindex genl-cap-net-admin
		rmmod-with-devices netns-delete autoload
		p2p-peer p2p-replace mp-peers set-peer teardown-notifies rmmod-with-peers
		dp-ping-counts dp-ciphers dp-replay dp-tamper dp-foreign-packets dp-ipv6-inner
		dp-key-rotation-flood dp-key-late dp-gso-tcp dp-rx-work dp-tx-work dp-keepalive-expiry
		dp-del-peer-flood dp-dellink-flood dp-wire-interop
		mp-routing mp-float mp-float-ipv6 mp-dual-stack
		tcp-ping-counts tcp-ipv6-transport tcp-control-frames tcp-bad-frame
		tcp-remote-close tcp-socket-restored
		dp-routing-loop dp-local-ip-gone dp-async-crypto tcp-fd-attack tcp-empty-write
		tcp-routing-loop tcp-nested tcp-backlog-reentry tcp-far-frame socket-close-ends-peers netns-del-after-kill udp-encap-reset
		mp-churn ynl-dco fuzz-netlink fuzz-packets churn-teardown
		ovpn-api ovpn-api-c-cli ovpn-float-carrier ovpn-key-exhausted ovpn-coexist"
	# The TCP transport's bulk transfer (no stall), the peer dump, MP's
	# reverse path and undefined peer id are in files only the second
	# guest runs (t-tcp, t-peers, t-mp); t-netns.sh's share is split.
	SCEN_A=$(echo $ci openvpn-autoload openvpn-server-udp4 openvpn-rekey-under-traffic \
		openvpn-tcp-rekey-under-traffic openvpn-server-tcp openvpn-client-vanishes tcp-p2p \
		tcp-mp-ipv6-transport)
	SCEN_B=$(echo $ci tcp-throughput dump-many-peers mp-reverse-path mp-undef-peer-id \
		p2p-aes256 mp-3-clients openvpn-dco-server-userspace-clients \
		openvpn-userspace-server-dco-clients openvpn-tcp-dco-server-userspace-clients \
		openvpn-tcp-userspace-server-dco-clients openvpn-server-udp6-dual-stack openvpn-p2p)
fi
files() { local f; for f in "$@"; do echo "$REPO/tests/vm/$f.sh"; done; }
OVPN_VM_SCENARIOS=$SCEN_A bash tests/vm/run.sh "$KDIR" "$REPO/tests/vm/all.sh" \
	"$OUT/vm-a.log" 4800 $(files "${VM_A[@]}") >"$OUT/vm-a.results" &
vm_a=$!
OVPN_VM_SCENARIOS=$SCEN_B bash tests/vm/run.sh "$KDIR" "$REPO/tests/vm/all.sh" \
	"$OUT/vm-b.log" 4800 $(files "${VM_B[@]}") >"$OUT/vm-b.results" &
vm_b=$!
wait $vm_a $vm_b
# Every scenario file must be in one of the lists.
for t in tests/vm/t-*.sh; do
	n=$(basename "$t" .sh)
	case " ${VM_A[*]} ${VM_B[*]} ${VM_C[*]} " in
	*" $n "*) ;;
	*) fail "vm: $n is in neither guest's list" ;;
	esac
done
# Every scenario of every file runs in one of the guests (t-selftests.sh
# in the third, whole).
expected=" $SCEN_A $SCEN_B "
[ -n "${OVPN_VM_SCENARIOS:-}" ] ||
	for name in $(sed -n 's/^scenario \([^ ]*\) .*/\1/p' $(files "${VM_A[@]}" "${VM_B[@]}")); do
		case "$expected" in
		*" $name "*) ;;
		*) fail "vm: $name runs in neither guest (add it to a list in run-all.sh)" ;;
		esac
	done
cat "$OUT/vm-a.results" "$OUT/vm-b.results" >"$OUT/vm.results"
# One count per scenario: a scenario that passed its run and failed a
# later check (a leak blamed on it by the file's kmemleak scan) failed.
declare -A vm_verdict=()
vm_order=()
while read -r _ verdict rest; do
	rest=${rest%%:*}
	[ -n "${vm_verdict[$rest]:-}" ] || vm_order+=("$rest")
	[ "${vm_verdict[$rest]:-}" = FAIL ] || vm_verdict[$rest]=$verdict
done < <(grep '^RESULT ' "$OUT/vm.results")
for rest in "${vm_order[@]}"; do
	if [ "${vm_verdict[$rest]}" = PASS ]; then pass "vm: $rest"; else fail "vm: $rest"; fi
done
# A scenario that was to run and printed no verdict (a guest that died or
# timed out before it) failed.
for name in $expected; do
	[ -n "${vm_verdict[$name]:-}" ] || fail "vm: $name (no result)"
done

step "Linux's ovpn selftests (release kernel, in the background)"
# In a third guest, of the release kernel: the eleven scripts take about
# 100 minutes in the debug guest under TCG, about 30 in this one
# (docs/testing.md).  It runs beside the benchmark smoke and the stock
# check (one QEMU each), with its own build of the module (bench.sh
# rebuilds the one in the repository).
if ! wait "$release_kernel"; then
	tail -n 30 "$OUT/release-kernel.log"; fail "release kernel build"; finish
fi
rkdir=$(cat "$OUT/release-kernel.path")
st_guest= SCEN_C=
rm -rf target/relmod && mkdir -p target/relmod &&
	tar -cf - --exclude=src/proto/fuzz --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		Makefile Kbuild compat include src tools | tar -xf - -C target/relmod
# Staged as for the key-exhaustion build: bench.sh's `make clean`, which
# runs while this guest does, would take target/relmod/*.ko.
if make -s -C target/relmod KERNEL_SRC="$rkdir" >"$OUT/relmod-build.log" 2>&1 &&
	cp target/relmod/ovpn-dco-v2.ko target/ovpn-dco-v2-release.kmod; then
	pass "module build (release kernel)"
	for name in $(sed -n 's/^scenario \([^ ]*\) .*/\1/p' $(files "${VM_C[@]}")); do
		[[ -n ${OVPN_VM_SCENARIOS:-} && " $OVPN_VM_SCENARIOS " != *" $name "* ]] ||
			SCEN_C+=" $name"
	done
else
	cat "$OUT/relmod-build.log"; fail "module build (release kernel)"
fi
if [ -n "$SCEN_C" ]; then
	OVPN_VM_SCENARIOS=$SCEN_C bash tests/vm/run.sh "$rkdir" "$REPO/tests/vm/release.sh" \
		"$OUT/vm-c.log" 3600 $(files "${VM_C[@]}") >"$OUT/vm-c.results" &
	st_guest=$!
fi

if [ "${OVPN_BENCH_SMOKE:-1}" = 1 ]; then
	step "benchmark smoke (release kernel)"
	# After the guests: bench.sh rebuilds the module, which they load.
	# Each system's RESULT line counts; bench.sh prints a FAIL line of
	# its own when the guest does not finish.
	bash tests/bench/bench.sh --smoke --kernel release --kdir "$rkdir" \
		>"$OUT/bench-smoke.out" 2>&1
	grep -E '^(RESULT|bench: )' "$OUT/bench-smoke.out"
	n=0
	while read -r _ verdict name; do
		n=$((n + 1))
		if [ "$verdict" = PASS ]; then pass "bench: $name"; else fail "bench: $name"; fi
	done < <(grep -E '^RESULT (PASS|FAIL) ' "$OUT/bench-smoke.out" | cut -d: -f1)
	[ "$n" -gt 0 ] || { tail -n 30 "$OUT/bench-smoke.out"; fail "bench smoke: no result"; }
fi

if [ "${OVPN_STOCK:-1}" = 1 ]; then
	step "Debian's stock kernel (tests/stock)"
	# After every other guest (one QEMU at a time).  Everything it fetches
	# and builds is cached in /var/cache/ovpn-dco-stock: about 20 minutes
	# from an empty cache, 5-9 with it (docs/stock-kernel.md).  Each check
	# prints its own PASS or FAIL line.
	checks "$OUT/stock.log" bash tests/stock/run.sh
	grep -E '^step |^stock: ' "$OUT/stock.log"
fi

if [ -n "$st_guest" ]; then
	step "Linux's ovpn selftests (results)"
	wait "$st_guest"
	declare -A st_verdict=()
	while read -r _ verdict rest; do
		rest=${rest%%:*}
		[ "${st_verdict[$rest]:-}" = FAIL ] || st_verdict[$rest]=$verdict
	done < <(grep '^RESULT ' "$OUT/vm-c.results")
	for name in $SCEN_C; do
		case ${st_verdict[$name]:-} in
		PASS) pass "vm: $name (release kernel)" ;;
		FAIL) fail "vm: $name (release kernel)" ;;
		*) fail "vm: $name (release kernel, no result)" ;;
		esac
	done
	grep -q 'RESULT PASS clean-after-t-selftests' "$OUT/vm-c.results" ||
		fail "vm: clean-after-t-selftests (release kernel)"
fi

finish
