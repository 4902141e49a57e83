#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs what the benchmark needs on top of tests/provision.sh (which
# provides iperf3, openvpn, wireguard-tools, jq, openssl and the VM):
#   libnl-genl-3-dev, libmbedtls-dev  to build the kernel selftests' ovpn-cli.c
#   python3-matplotlib                 for the bar chart
# Idempotent: returns at once when everything is there.
set -euo pipefail

PACKAGES=(gcc pkg-config libnl-genl-3-dev libmbedtls-dev python3-matplotlib)
need=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	printf 'provision-bench: apt-get install %s\n' "${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
