# SPDX-License-Identifier: GPL-2.0
# Sourced by tests/stock/*.sh: Debian's stock Rust-enabled kernel, the
# trixie toolchain that built it, and where they are cached.
#
# Everything downloaded or built lives in $STOCK_CACHE, outside the
# repository; this machine's own apt sources are never changed (an
# isolated apt configuration and an mmdebstrap root are used instead).

STOCK_CACHE=${STOCK_CACHE:-/var/cache/ovpn-dco-stock}
# The stock kernel: trixie-backports' 7.3.4+deb13-amd64.
STOCK_KREL=${STOCK_KREL:-7.3.4+deb13-amd64}
STOCK_KABI=${STOCK_KREL%-amd64}                 # 7.3.4+deb13
STOCK_KVER=${STOCK_KVER:-7.3.4-1~bpo13+1}       # the Debian package version
STOCK_SRCPKG=linux-source-7.3
# The kernel's own compiler versions (its .config), checked before use.
STOCK_RUSTC_PKG=${STOCK_RUSTC_PKG:-1.85.1+dfsg1-1+deb13u1}
# linux-source-7.3 is the tarball tests/kernel.sh already fetched, if any.
OVPN_DCO_CACHE=${OVPN_DCO_CACHE:-/var/lib/ovpn-dco}

STOCK_ROOT=$STOCK_CACHE/root                     # the trixie root file system
STOCK_HDR=$STOCK_CACHE/hdr                       # the headers debs, unpacked
# In the root: the module's source (a git archive copy), the stock headers.
STOCK_MODSRC=/opt/ovpn-src
STOCK_KSRC=/lib/modules/$STOCK_KREL/build

stock_log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
stock_die() { stock_log "$*"; exit 1; }

# Debian's mirror, the one the system's apt uses (as tests/kernel.sh).
stock_mirror() {
	local m
	m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)$/\1/p' \
		/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
	[ -n "$m" ] || m=$(awk '$1=="deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' \
		/etc/apt/sources.list 2>/dev/null)
	[ -n "$m" ] || stock_die "no Debian mirror found in the apt sources"
	echo "${m%/}"
}

# Options for an isolated apt on trixie + trixie-backports + security.
stock_apt_setup() {
	local apt=$STOCK_CACHE/apt m key=/usr/share/keyrings/debian-archive-keyring.gpg
	m=$(stock_mirror)
	mkdir -p "$apt/lists/partial" "$apt/archives/partial"
	{
		echo "deb [signed-by=$key] $m trixie main"
		echo "deb [signed-by=$key] $m trixie-backports main"
		echo "deb [signed-by=$key] $m-security trixie-security main"
	} >"$apt/sources.list"
	STOCK_APT_OPTS=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::archives=$apt/archives"
		-o Dir::State::status=/dev/null -o APT::Get::List-Cleanup=0
		-o APT::Sandbox::User=root)
}

# Run a command in the trixie root with /proc, /sys and /dev mounted.
# (objtool reads /proc/self/limits: every build in the root needs /proc.)
stock_mount() {
	local r=$STOCK_ROOT
	mountpoint -q "$r/proc" || mount -t proc proc "$r/proc"
	mountpoint -q "$r/dev" || mount --rbind /dev "$r/dev"
	mountpoint -q "$r/sys" || mount --rbind /sys "$r/sys"
}
stock_chroot() {
	stock_mount
	chroot "$STOCK_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 "$@"
}
# A mount still busy (a process of the root holding /dev open) is
# detached lazily rather than left behind.
stock_unmount() {
	local r=$STOCK_ROOT m
	for m in sys dev proc; do
		mountpoint -q "$r/$m" || continue
		umount -R "$r/$m" 2>/dev/null || umount -R -l "$r/$m" || true
	done
}

# The kdir `make rust-prepare` cached in the root (its path in the root),
# or nothing.
stock_kdir() {
	local k
	k=$(cd "$STOCK_ROOT" 2>/dev/null && ls -td var/cache/ovpn-dco/"$STOCK_KREL"-*/ 2>/dev/null | head -n1)
	[ -n "$k" ] && [ -f "$STOCK_ROOT/$k/.ovpn-dco-prepared" ] && echo "/${k%/}"
}
# rust-prepare.sh keeps the build tree of `make rust-prepare` here (in the root).
STOCK_PREP=/usr/src/ovpn-stock/build

# Remove every version of ovpn-dco that DKMS has in the root, with its
# modules (a repeated run starts clean).
stock_dkms_purge() {
	local v
	for v in "$STOCK_ROOT"/var/lib/dkms/ovpn-dco/*/; do
		[ -L "${v%/}" ] || [ ! -d "$v" ] && continue  # kernel-<release>-<arch> links
		v=$(basename "$v")
		stock_chroot dkms remove "ovpn-dco/$v" --all >/dev/null 2>&1 ||
			stock_die "dkms remove ovpn-dco/$v failed"
	done
}
