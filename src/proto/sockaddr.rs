// SPDX-License-Identifier: GPL-2.0

//! Transport addresses as userspace passes them: raw `struct sockaddr_in`
//! (16 bytes) and `struct sockaddr_in6` (28 bytes), in the kernel's memory
//! layout (family in host order, port and address in network order).
//! IPv4-mapped IPv6 addresses are treated as IPv4, so that a dual-stack
//! IPv6 socket can serve IPv4 peers.

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// Size of `struct sockaddr_in`.
pub const SOCKADDR_IN_LEN: usize = 16;
/// Size of `struct sockaddr_in6`.
pub const SOCKADDR_IN6_LEN: usize = 28;

/// An IP address of either family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpAddr {
    /// IPv4, network order.
    V4([u8; 4]),
    /// IPv6, network order.
    V6([u8; 16]),
}

impl IpAddr {
    /// Parses a raw 4- or 16-byte address; a v4-mapped IPv6 address
    /// becomes IPv4.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        match b.len() {
            4 => Some(Self::V4([b[0], b[1], b[2], b[3]])),
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Some(Self::V6(a).unmapped())
            }
            _ => None,
        }
    }

    /// The IPv4 address inside a v4-mapped IPv6 address, or `self`.
    pub fn unmapped(self) -> Self {
        match self {
            Self::V6(a) if a[..10] == [0; 10] && a[10] == 0xff && a[11] == 0xff => {
                Self::V4([a[12], a[13], a[14], a[15]])
            }
            other => other,
        }
    }

    /// The address bytes.
    pub fn octets(&self) -> &[u8] {
        match self {
            Self::V4(a) => a,
            Self::V6(a) => a,
        }
    }

    /// Whether both addresses are of the same family.
    pub fn same_family(&self, other: &Self) -> bool {
        matches!(
            (self, other),
            (Self::V4(_), Self::V4(_)) | (Self::V6(_), Self::V6(_))
        )
    }
}

/// A transport endpoint: address and port (host order), plus the IPv6
/// scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockAddr {
    /// The address.
    pub ip: IpAddr,
    /// The port, host order.
    pub port: u16,
    /// The IPv6 scope id (0 for IPv4).
    pub scope_id: u32,
}

/// Why a sockaddr was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddrError {
    /// Neither AF_INET nor AF_INET6.
    Family,
    /// The size does not match the family.
    Length,
}

impl SockAddr {
    /// Parses a raw sockaddr.
    pub fn parse(b: &[u8]) -> Result<Self, AddrError> {
        let fam = b.get(..2).ok_or(AddrError::Length)?;
        let fam = u16::from_ne_bytes([fam[0], fam[1]]);
        match fam {
            AF_INET if b.len() == SOCKADDR_IN_LEN => Ok(Self {
                ip: IpAddr::V4([b[4], b[5], b[6], b[7]]),
                port: u16::from_be_bytes([b[2], b[3]]),
                scope_id: 0,
            }),
            AF_INET6 if b.len() == SOCKADDR_IN6_LEN => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[8..24]);
                let ip = IpAddr::V6(a).unmapped();
                let scope_id = match ip {
                    IpAddr::V4(_) => 0,
                    IpAddr::V6(_) => u32::from_ne_bytes([b[24], b[25], b[26], b[27]]),
                };
                Ok(Self {
                    ip,
                    port: u16::from_be_bytes([b[2], b[3]]),
                    scope_id,
                })
            }
            AF_INET | AF_INET6 => Err(AddrError::Length),
            _ => Err(AddrError::Family),
        }
    }

    /// The raw sockaddr (as `GET_PEER` reports it); returns the buffer and
    /// the number of bytes used.
    pub fn to_raw(self) -> ([u8; SOCKADDR_IN6_LEN], usize) {
        let mut b = [0u8; SOCKADDR_IN6_LEN];
        b[2..4].copy_from_slice(&self.port.to_be_bytes());
        match self.ip {
            IpAddr::V4(a) => {
                b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
                b[4..8].copy_from_slice(&a);
                (b, SOCKADDR_IN_LEN)
            }
            IpAddr::V6(a) => {
                b[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
                b[8..24].copy_from_slice(&a);
                b[24..28].copy_from_slice(&self.scope_id.to_ne_bytes());
                (b, SOCKADDR_IN6_LEN)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sin(port: u16, a: [u8; 4]) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&a);
        b
    }

    #[test]
    fn v4() {
        let s = SockAddr::parse(&sin(1194, [10, 0, 0, 1])).unwrap();
        assert_eq!(s.ip, IpAddr::V4([10, 0, 0, 1]));
        assert_eq!(s.port, 1194);
        let (raw, n) = s.to_raw();
        assert_eq!(&raw[..n], &sin(1194, [10, 0, 0, 1]));
    }

    #[test]
    fn mapped_v6_is_v4() {
        let mut b = [0u8; 28];
        b[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
        b[2..4].copy_from_slice(&53u16.to_be_bytes());
        b[18] = 0xff;
        b[19] = 0xff;
        b[20..24].copy_from_slice(&[192, 0, 2, 7]);
        b[24] = 9;
        let s = SockAddr::parse(&b).unwrap();
        assert_eq!(s.ip, IpAddr::V4([192, 0, 2, 7]));
        assert_eq!(s.scope_id, 0);
        assert_eq!(
            IpAddr::from_bytes(&b[8..24]),
            Some(IpAddr::V4([192, 0, 2, 7]))
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(SockAddr::parse(&[]), Err(AddrError::Length));
        assert_eq!(
            SockAddr::parse(&sin(1, [1; 4])[..15]),
            Err(AddrError::Length)
        );
        let mut b = sin(1, [1; 4]).to_vec();
        b.extend_from_slice(&[0; 12]);
        assert_eq!(SockAddr::parse(&b), Err(AddrError::Length));
        let mut b = sin(1, [1; 4]);
        b[..2].copy_from_slice(&1u16.to_ne_bytes());
        assert_eq!(SockAddr::parse(&b), Err(AddrError::Family));
        assert_eq!(IpAddr::from_bytes(&[1, 2, 3]), None);
    }

    proptest! {
        #[test]
        fn v6_roundtrip(a in proptest::array::uniform16(any::<u8>()), port: u16, scope: u32) {
            let s = SockAddr { ip: IpAddr::V6(a), port, scope_id: scope };
            let (raw, n) = s.to_raw();
            let p = SockAddr::parse(&raw[..n]).unwrap();
            if s.ip.unmapped() == s.ip {
                prop_assert_eq!(p, s);
            } else {
                prop_assert_eq!(p.ip, s.ip.unmapped());
            }
        }

        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = SockAddr::parse(&b);
        }
    }
}
