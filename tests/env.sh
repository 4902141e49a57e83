# SPDX-License-Identifier: GPL-2.0
# Sourced by the project's scripts: where the tools provision.sh installs live.
export OVPN_DCO_VENV=${OVPN_DCO_VENV:-/opt/ovpn-dco-venv}
# Built kernel trees.  Not under /var/cache: virtme-ng hides that
# directory behind a tmpfs in the guest, which needs to see the tree.
export OVPN_DCO_CACHE=${OVPN_DCO_CACHE:-/var/lib/ovpn-dco}
export PATH="$OVPN_DCO_VENV/bin:$HOME/.cargo/bin:$PATH"
export LLVM=-19 LIBCLANG_PATH=/usr/lib/llvm-19/lib
