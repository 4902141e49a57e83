#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs every tool the module's build and its tests need, on a bare
# Debian 12 (bookworm) machine of this project's kind.  Idempotent: a second
# run checks versions and returns in seconds.
#
# Pins: the apt packages come from bookworm (a stable suite, so the names
# below fix the major versions; the exact versions installed are printed at
# the end), cargo tools and virtme-ng are pinned to exact versions.
set -euo pipefail

BINDGEN_VERSION=0.72.1
CARGO_FUZZ_VERSION=0.13.1
VIRTME_NG_VERSION=1.42
. "$(dirname "$0")/env.sh"

APT_PACKAGES=(
	# Kernel and module build.
	bc bison flex cpio kmod make xz-utils libelf-dev libssl-dev
	clang-19 lld-19 llvm-19 libclang-19-dev
	# The VM and what runs inside it.
	qemu-system-x86 busybox-static iproute2 iputils-ping iperf3 tcpdump
	jq procps ethtool nftables openvpn wireguard-tools openssl
	python3-venv python3-cryptography
	# The netlink spec's checks and the kernel's YNL (tests/ynl-check.py,
	# tests/vm/t-ynl.sh), with the system's python3.
	python3-yaml python3-jsonschema
	# The kernel selftests' C client of the `ovpn` family
	# (tests/bench/build-c-cli.sh, tests/vm/t-ovpn-api.sh).
	gcc pkg-config libnl-genl-3-dev libmbedtls-dev
)

log() { printf 'provision: %s\n' "$*" >&2; }

need_apt=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
	log "apt-get install ${need_apt[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Rust: the kernel build needs the standard library's source.
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "rustup component add rust-src"
	rustup component add rust-src
fi

# bindgen, the version the kernel's Rust support accepts.
if ! bindgen --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
	log "cargo install bindgen-cli@$BINDGEN_VERSION"
	LIBCLANG_PATH=/usr/lib/llvm-19/lib \
		cargo install --locked --quiet "bindgen-cli@$BINDGEN_VERSION"
fi

# cargo-fuzz, for the bounded fuzzing of the protocol core.
if ! cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
	log "cargo install cargo-fuzz@$CARGO_FUZZ_VERSION"
	cargo install --locked --quiet "cargo-fuzz@$CARGO_FUZZ_VERSION"
fi

# virtme-ng in its own venv, so the system Python stays untouched.
VENV=$OVPN_DCO_VENV
if ! "$VENV/bin/vng" --version 2>/dev/null | grep -q "$VIRTME_NG_VERSION"; then
	log "pip install virtme-ng==$VIRTME_NG_VERSION into $VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install --quiet "virtme-ng==$VIRTME_NG_VERSION"
fi

log "versions: $(rustc --version); $(bindgen --version); $(clang-19 --version | head -n1); vng $("$VENV/bin/vng" --version 2>&1 | tail -n1); $(qemu-system-x86_64 --version | head -n1)"
