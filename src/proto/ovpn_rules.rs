// SPDX-License-Identifier: GPL-2.0

//! The validation rules of Linux's `ovpn` family (OpenVPN 2.7) that the
//! attribute policies cannot express: which combinations of peer
//! attributes a request may carry, and which VPN addresses a multi-peer
//! device accepts.  Pure functions over what the request carried; the
//! netlink layer extracts the attributes, asks here, and reports the
//! verdict (errno, message, offending or missing attribute) to userspace.
//!
//! The order of the checks is part of the ABI: a request with several
//! faults gets the error of the first one, as from Linux's own driver
//! (docs/ovpn-family.md §1.5).

use super::uapi_ovpn::*;
use core::ffi::CStr;

/// The errno of a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// `EINVAL`: a malformed or inconsistent request.
    Inval,
    /// `EADDRNOTAVAIL`: a VPN address that cannot name a peer.
    AddrNotAvail,
}

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The error returned.
    pub errno: Errno,
    /// The extack message, if any (with the `"ovpn: "` prefix).
    pub msg: Option<&'static CStr>,
    /// A required attribute of the peer nest that is missing.
    pub missing: Option<u32>,
}

impl Refusal {
    const fn inval(msg: &'static CStr) -> Self {
        Self {
            errno: Errno::Inval,
            msg: Some(msg),
            missing: None,
        }
    }

    /// A required attribute of the peer nest is missing (`EINVAL`, no
    /// message: the missing type tells).
    pub const fn missing(ty: u32) -> Self {
        Self {
            errno: Errno::Inval,
            msg: None,
            missing: Some(ty),
        }
    }
}

/// What a `PEER_NEW` or `PEER_SET` request carried in its peer nest
/// (addresses in network order, as on the wire).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerAttrs {
    /// `ID` is present.
    pub id: bool,
    /// `SOCKET` is present.
    pub socket: bool,
    /// `REMOTE_IPV4`.
    pub remote4: Option<[u8; 4]>,
    /// `REMOTE_IPV6`.
    pub remote6: Option<[u8; 16]>,
    /// `REMOTE_IPV6_SCOPE_ID` is present.
    pub scope_id: bool,
    /// `REMOTE_PORT` is present.
    pub remote_port: bool,
    /// `LOCAL_IPV4`.
    pub local4: Option<[u8; 4]>,
    /// `LOCAL_IPV6`.
    pub local6: Option<[u8; 16]>,
    /// `VPN_IPV4`.
    pub vpn4: Option<[u8; 4]>,
    /// `VPN_IPV6`.
    pub vpn6: Option<[u8; 16]>,
    /// `KEEPALIVE_INTERVAL` is present.
    pub keepalive_interval: bool,
    /// `KEEPALIVE_TIMEOUT` is present.
    pub keepalive_timeout: bool,
}

/// An address family after v4-mapped IPv6 addresses are folded into IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

/// Whether `a` is a v4-mapped IPv6 address (`::ffff:a.b.c.d`).
pub fn is_v4_mapped(a: &[u8; 16]) -> bool {
    a[..10] == [0; 10] && a[10] == 0xff && a[11] == 0xff
}

fn family(v4: Option<[u8; 4]>, v6: Option<[u8; 16]>) -> Option<Family> {
    match (v4, v6) {
        (Some(_), _) => Some(Family::V4),
        (None, Some(a)) if is_v4_mapped(&a) => Some(Family::V4),
        (None, Some(_)) => Some(Family::V6),
        (None, None) => None,
    }
}

/// The checks shared by `PEER_NEW` and `PEER_SET`, in the ABI's order.
pub fn precheck(a: &PeerAttrs, p2p: bool) -> Result<(), Refusal> {
    if !a.id {
        return Err(Refusal::missing(OVPN_A_PEER_ID));
    }
    let remote = a.remote4.is_some() || a.remote6.is_some();
    if a.remote4.is_some() && a.remote6.is_some() {
        return Err(Refusal::inval(
            c"ovpn: remote IPv4 and IPv6 addresses are exclusive",
        ));
    }
    if !remote && a.remote_port {
        return Err(Refusal::inval(
            c"ovpn: a remote port needs a remote IP address",
        ));
    }
    if remote && !a.remote_port {
        return Err(Refusal::inval(
            c"ovpn: a remote IP address needs a remote port",
        ));
    }
    if a.remote4.is_none() && a.local4.is_some() {
        return Err(Refusal::inval(
            c"ovpn: a local IPv4 address needs a remote IPv4 address",
        ));
    }
    if a.remote6.is_none() && a.local6.is_some() {
        return Err(Refusal::inval(
            c"ovpn: a local IPv6 address needs a remote IPv6 address",
        ));
    }
    let local_fam = family(a.local4, a.local6);
    let remote_fam = family(a.remote4, a.remote6);
    if let (Some(l), Some(r)) = (local_fam, remote_fam) {
        if l != r {
            return Err(Refusal::inval(
                c"ovpn: local and remote addresses are of different families",
            ));
        }
    }
    if remote_fam != Some(Family::V6) && a.scope_id {
        return Err(Refusal::inval(
            c"ovpn: a scope id needs a remote IPv6 address",
        ));
    }
    if p2p && (a.vpn4.is_some() || a.vpn6.is_some()) {
        return Err(Refusal::inval(c"ovpn: a P2P peer takes no VPN IP address"));
    }
    if a.keepalive_interval != a.keepalive_timeout {
        return Err(Refusal::inval(
            c"ovpn: keepalive interval and timeout go together",
        ));
    }
    Ok(())
}

/// Whether `a` may be a peer's VPN IPv4 address: not multicast, not the
/// limited broadcast, not loopback (`0.0.0.0` means none).
pub fn vpn4_ok(a: &[u8; 4]) -> bool {
    let multicast = a[0] & 0xf0 == 0xe0;
    let broadcast = *a == [0xff; 4];
    let loopback = a[0] == 127;
    !(multicast || broadcast || loopback)
}

/// Whether `a` may be a peer's VPN IPv6 address: a unicast address that
/// is neither loopback nor IPv4-compatible; v4-mapped and multicast
/// addresses are not unicast (`::` means none).
pub fn vpn6_ok(a: &[u8; 16]) -> bool {
    if *a == [0; 16] {
        return true;
    }
    if a[0] == 0xff || is_v4_mapped(a) {
        return false;
    }
    // `::a.b.c.d` (IPv4-compatible) and `::1` (loopback).
    a[..12] != [0; 12]
}

/// The VPN addresses of a new peer of a multi-peer device: at least one
/// that is not "any", each one valid.  `None` and the "any" address both
/// mean none.
pub fn check_mp_vpn(vpn4: Option<[u8; 4]>, vpn6: Option<[u8; 16]>) -> Result<(), Refusal> {
    let v4 = vpn4.unwrap_or([0; 4]);
    let v6 = vpn6.unwrap_or([0; 16]);
    if v4 == [0; 4] && v6 == [0; 16] {
        return Err(Refusal::inval(
            c"ovpn: an MP peer needs a VPN IPv4 or IPv6 address",
        ));
    }
    if !vpn4_ok(&v4) {
        return Err(Refusal {
            errno: Errno::AddrNotAvail,
            msg: Some(c"ovpn: the VPN IPv4 address must be unicast or any"),
            missing: None,
        });
    }
    if !vpn6_ok(&v6) {
        return Err(Refusal {
            errno: Errno::AddrNotAvail,
            msg: Some(c"ovpn: the VPN IPv6 address must be unicast or any"),
            missing: None,
        });
    }
    Ok(())
}

/// The checks of `PEER_NEW` up to the socket lookup: the shared ones,
/// then `SOCKET`, then (multi-peer) the VPN addresses.
pub fn check_new(a: &PeerAttrs, p2p: bool) -> Result<(), Refusal> {
    precheck(a, p2p)?;
    if !a.socket {
        return Err(Refusal::missing(OVPN_A_PEER_SOCKET));
    }
    if !p2p {
        check_mp_vpn(a.vpn4, a.vpn6)?;
    }
    Ok(())
}

/// A VPN address as the peer keeps it: the "any" address is none.
pub fn vpn4_of(a: Option<[u8; 4]>) -> Option<[u8; 4]> {
    a.filter(|a| *a != [0; 4])
}

/// A VPN address as the peer keeps it: the "any" address is none.
pub fn vpn6_of(a: Option<[u8; 16]>) -> Option<[u8; 16]> {
    a.filter(|a| *a != [0; 16])
}

/// The VPN addresses a peer has after a `PEER_SET` that gave `given4`
/// and `given6` (absent: unchanged; the "any" address: cleared), from
/// `cur4` and `cur6`.  A multi-peer device then checks the result with
/// [`check_mp_vpn`], so that the last address cannot be cleared.
pub fn merge_vpn(
    cur4: Option<[u8; 4]>,
    cur6: Option<[u8; 16]>,
    given4: Option<[u8; 4]>,
    given6: Option<[u8; 16]>,
) -> (Option<[u8; 4]>, Option<[u8; 16]>) {
    (
        given4.map_or(cur4, |a| vpn4_of(Some(a))),
        given6.map_or(cur6, |a| vpn6_of(Some(a))),
    )
}

/// `PEER_GET` (do) takes the peer id only: the first other attribute
/// type present in the peer nest, given which types are present.
pub fn get_unexpected(present: impl Fn(u32) -> bool) -> Option<u32> {
    (1..=OVPN_A_PEER_MAX).find(|&t| t != OVPN_A_PEER_ID && present(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp4() -> PeerAttrs {
        PeerAttrs {
            id: true,
            socket: true,
            remote4: Some([10, 0, 0, 1]),
            remote_port: true,
            ..Default::default()
        }
    }

    fn err(a: &PeerAttrs, p2p: bool) -> Refusal {
        check_new(a, p2p).unwrap_err()
    }

    fn text(r: Refusal) -> &'static [u8] {
        r.msg.unwrap().to_bytes()
    }

    #[test]
    fn minimal_p2p_ok() {
        assert_eq!(check_new(&udp4(), true), Ok(()));
        // TCP: no remote at all.
        let a = PeerAttrs {
            id: true,
            socket: true,
            ..Default::default()
        };
        assert_eq!(check_new(&a, true), Ok(()));
    }

    #[test]
    fn id_missing_first() {
        let a = PeerAttrs {
            remote4: Some([1; 4]),
            remote6: Some([1; 16]),
            ..Default::default()
        };
        assert_eq!(err(&a, true), Refusal::missing(OVPN_A_PEER_ID));
    }

    #[test]
    fn socket_missing_after_precheck() {
        let mut a = udp4();
        a.socket = false;
        assert_eq!(err(&a, true), Refusal::missing(OVPN_A_PEER_SOCKET));
        // The precheck comes first.
        a.remote_port = false;
        assert_eq!(err(&a, true).missing, None);
        // SET has no socket.
        assert_eq!(precheck(&udp4(), true), Ok(()));
    }

    #[test]
    fn order_of_remote_checks() {
        let mut a = udp4();
        a.remote6 = Some([0x20; 16]);
        a.remote_port = false;
        let e = err(&a, true);
        assert_eq!(e.errno, Errno::Inval);
        assert!(text(e).starts_with(b"ovpn: remote IPv4 and IPv6"));

        let a = PeerAttrs {
            id: true,
            socket: true,
            remote_port: true,
            ..Default::default()
        };
        assert!(text(err(&a, true)).ends_with(b"needs a remote IP address"));

        let mut a = udp4();
        a.remote_port = false;
        assert!(text(err(&a, true)).ends_with(b"needs a remote port"));
    }

    #[test]
    fn local_needs_remote_of_its_kind() {
        let mut a = udp4();
        a.local6 = Some([0x20; 16]);
        assert!(text(err(&a, true)).starts_with(b"ovpn: a local IPv6"));
        let mut a = udp4();
        a.remote4 = None;
        a.remote6 = Some([0x20; 16]);
        a.local4 = Some([1; 4]);
        assert!(text(err(&a, true)).starts_with(b"ovpn: a local IPv4"));
    }

    #[test]
    fn mapped_folding_in_family_check() {
        // A v4-mapped remote with a native IPv6 local: different families.
        let mut mapped = [0u8; 16];
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        mapped[12..].copy_from_slice(&[10, 0, 0, 1]);
        let a = PeerAttrs {
            id: true,
            socket: true,
            remote6: Some(mapped),
            remote_port: true,
            local6: Some([0x20; 16]),
            ..Default::default()
        };
        assert!(text(err(&a, true)).ends_with(b"different families"));
        // Both mapped: fine.
        let mut b = a;
        b.local6 = Some(mapped);
        assert_eq!(check_new(&b, true), Ok(()));
        // A scope id with a mapped remote is refused (it is IPv4).
        let mut c = b;
        c.scope_id = true;
        assert!(text(err(&c, true)).ends_with(b"remote IPv6 address"));
    }

    #[test]
    fn scope_id_with_v6() {
        let a = PeerAttrs {
            id: true,
            socket: true,
            remote6: Some([0xfe; 16]),
            remote_port: true,
            scope_id: true,
            ..Default::default()
        };
        assert_eq!(check_new(&a, true), Ok(()));
        let mut b = udp4();
        b.scope_id = true;
        assert_eq!(err(&b, true).errno, Errno::Inval);
    }

    #[test]
    fn vpn_ip_in_p2p() {
        let mut a = udp4();
        a.vpn4 = Some([10, 8, 0, 2]);
        assert!(text(err(&a, true)).ends_with(b"no VPN IP address"));
        assert_eq!(check_new(&a, false), Ok(()));
    }

    #[test]
    fn keepalive_pair() {
        let mut a = udp4();
        a.keepalive_interval = true;
        assert!(text(err(&a, true)).ends_with(b"go together"));
        a.keepalive_timeout = true;
        assert_eq!(check_new(&a, true), Ok(()));
        a.keepalive_interval = false;
        assert_eq!(err(&a, true).errno, Errno::Inval);
    }

    #[test]
    fn mp_vpn_required() {
        let a = udp4();
        assert!(text(err(&a, false)).ends_with(b"IPv4 or IPv6 address"));
        let mut b = udp4();
        b.vpn4 = Some([0; 4]);
        b.vpn6 = Some([0; 16]);
        assert_eq!(err(&b, false).errno, Errno::Inval);
    }

    #[test]
    fn mp_vpn4_classes() {
        for bad in [
            [224, 0, 0, 1],
            [239, 1, 2, 3],
            [255; 4],
            [127, 0, 0, 1],
            [127, 9, 9, 9],
        ] {
            assert_eq!(
                check_mp_vpn(Some(bad), None).unwrap_err().errno,
                Errno::AddrNotAvail,
                "{bad:?}"
            );
        }
        for good in [
            [10, 8, 0, 2],
            [192, 168, 1, 255],
            [1, 1, 1, 1],
            [223, 255, 255, 255],
        ] {
            assert_eq!(check_mp_vpn(Some(good), None), Ok(()), "{good:?}");
        }
        // An invalid IPv4 is refused even beside a valid IPv6.
        let mut v6 = [0u8; 16];
        v6[0] = 0xfd;
        v6[15] = 2;
        assert!(check_mp_vpn(Some([255; 4]), Some(v6)).is_err());
        // "any" IPv4 with a valid IPv6 is fine.
        assert_eq!(check_mp_vpn(Some([0; 4]), Some(v6)), Ok(()));
    }

    #[test]
    fn mp_vpn6_classes() {
        let mut loopback = [0u8; 16];
        loopback[15] = 1;
        let mut compat = [0u8; 16];
        compat[12..].copy_from_slice(&[10, 0, 0, 1]);
        let mut mapped = [0u8; 16];
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        mapped[12..].copy_from_slice(&[10, 0, 0, 1]);
        let mut mcast = [0u8; 16];
        mcast[0] = 0xff;
        mcast[1] = 0x02;
        mcast[15] = 1;
        for bad in [loopback, compat, mapped, mcast] {
            let e = check_mp_vpn(None, Some(bad)).unwrap_err();
            assert_eq!(e.errno, Errno::AddrNotAvail, "{bad:?}");
            assert!(text(e).ends_with(b"IPv6 address must be unicast or any"));
        }
        let mut ula = [0u8; 16];
        ula[0] = 0xfd;
        ula[15] = 2;
        let mut ll = [0u8; 16];
        ll[0] = 0xfe;
        ll[1] = 0x80;
        ll[15] = 7;
        for good in [ula, ll] {
            assert_eq!(check_mp_vpn(None, Some(good)), Ok(()));
        }
    }

    #[test]
    fn any_is_none() {
        assert_eq!(vpn4_of(Some([0; 4])), None);
        assert_eq!(vpn4_of(Some([1; 4])), Some([1; 4]));
        assert_eq!(vpn6_of(Some([0; 16])), None);
        assert_eq!(vpn6_of(None), None);
    }

    #[test]
    fn get_takes_only_the_id() {
        assert_eq!(get_unexpected(|t| t == OVPN_A_PEER_ID), None);
        assert_eq!(
            get_unexpected(|t| t == OVPN_A_PEER_ID || t == OVPN_A_PEER_TX_ID || t == 5),
            Some(5)
        );
        assert_eq!(
            get_unexpected(|t| t == OVPN_A_PEER_MAX),
            Some(OVPN_A_PEER_MAX)
        );
    }

    #[test]
    fn set_merges_vpn_addresses() {
        let v4 = Some([10, 0, 0, 2]);
        let v6 = Some([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        // Absent: unchanged.
        assert_eq!(merge_vpn(v4, None, None, None), (v4, None));
        // Given: replaced; the "any" address clears.
        assert_eq!(merge_vpn(v4, None, None, v6), (v4, v6));
        assert_eq!(merge_vpn(v4, v6, Some([0; 4]), None), (None, v6));
        assert_eq!(merge_vpn(v4, v6, None, Some([0; 16])), (v4, None));
        // Clearing the last address of an MP peer is refused.
        let (a, b) = merge_vpn(v4, None, Some([0; 4]), None);
        assert_eq!(check_mp_vpn(a, b).unwrap_err().errno, Errno::Inval);
        let (a, b) = merge_vpn(v4, v6, Some([0; 4]), None);
        assert!(check_mp_vpn(a, b).is_ok());
    }
}
