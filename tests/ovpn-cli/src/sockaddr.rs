// SPDX-License-Identifier: GPL-2.0

//! `struct sockaddr_in` / `struct sockaddr_in6` as raw bytes, the way the
//! ABI carries remote addresses: the family in host byte order, the port,
//! flow label and address in network byte order, the scope id in host
//! byte order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::error::{Error, Result};

/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_LEN: usize = std::mem::size_of::<libc::sockaddr_in>();
/// `sizeof(struct sockaddr_in6)`.
pub const SOCKADDR_IN6_LEN: usize = std::mem::size_of::<libc::sockaddr_in6>();

/// `AF_INET` as a `sa_family_t`.
const AF_INET: u16 = libc::AF_INET as u16;
/// `AF_INET6` as a `sa_family_t`.
const AF_INET6: u16 = libc::AF_INET6 as u16;

/// Encodes a socket address as the bytes of a `sockaddr_in` (16 bytes) or
/// `sockaddr_in6` (28 bytes).
pub fn encode(addr: &SocketAddr) -> Vec<u8> {
    match addr {
        SocketAddr::V4(a) => {
            let mut b = Vec::with_capacity(SOCKADDR_IN_LEN);
            b.extend_from_slice(&AF_INET.to_ne_bytes());
            b.extend_from_slice(&a.port().to_be_bytes());
            b.extend_from_slice(&a.ip().octets());
            b.resize(SOCKADDR_IN_LEN, 0); // sin_zero
            b
        }
        SocketAddr::V6(a) => {
            let mut b = Vec::with_capacity(SOCKADDR_IN6_LEN);
            b.extend_from_slice(&AF_INET6.to_ne_bytes());
            b.extend_from_slice(&a.port().to_be_bytes());
            b.extend_from_slice(&a.flowinfo().to_be_bytes());
            b.extend_from_slice(&a.ip().octets());
            b.extend_from_slice(&a.scope_id().to_ne_bytes());
            b
        }
    }
}

/// Decodes the bytes of a `sockaddr_in` or `sockaddr_in6`.
pub fn decode(bytes: &[u8]) -> Result<SocketAddr> {
    let bad = || Error::other(format!("malformed sockaddr of {} bytes", bytes.len()));
    if bytes.len() < 4 {
        return Err(bad());
    }
    let family = u16::from_ne_bytes([bytes[0], bytes[1]]);
    let port = u16::from_be_bytes([bytes[2], bytes[3]]);
    match (family, bytes.len()) {
        (AF_INET, SOCKADDR_IN_LEN) => {
            let ip = Ipv4Addr::from(array::<4>(&bytes[4..8]));
            Ok(SocketAddr::V4(SocketAddrV4::new(ip, port)))
        }
        (AF_INET6, SOCKADDR_IN6_LEN) => {
            let flowinfo = u32::from_be_bytes(array(&bytes[4..8]));
            let ip = Ipv6Addr::from(array::<16>(&bytes[8..24]));
            let scope_id = u32::from_ne_bytes(array(&bytes[24..28]));
            Ok(SocketAddr::V6(SocketAddrV6::new(
                ip, port, flowinfo, scope_id,
            )))
        }
        _ => Err(bad()),
    }
}

/// Copies a slice whose length the caller has checked into an array.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(bytes);
    a
}

/// The raw bytes of an IP address: 4 for IPv4, 16 for IPv6, network order.
pub fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Decodes 4 or 16 raw bytes as an IP address.
pub fn decode_ip(bytes: &[u8]) -> Result<IpAddr> {
    if let Ok(b) = <[u8; 4]>::try_from(bytes) {
        Ok(IpAddr::from(b))
    } else if let Ok(b) = <[u8; 16]>::try_from(bytes) {
        Ok(IpAddr::from(b))
    } else {
        Err(Error::other(format!(
            "malformed IP address of {} bytes",
            bytes.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_in_bytes() {
        let addr: SocketAddr = "192.0.2.1:1194".parse().unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        want.extend_from_slice(&[0x04, 0xaa]); // 1194, big endian
        want.extend_from_slice(&[192, 0, 2, 1]);
        want.extend_from_slice(&[0; 8]);
        assert_eq!(encode(&addr), want);
        assert_eq!(want.len(), 16);
        assert_eq!(decode(&want).unwrap(), addr);
    }

    #[test]
    fn sockaddr_in6_bytes() {
        let addr = SocketAddr::V6(SocketAddrV6::new(
            "2001:db8::1".parse().unwrap(),
            51820,
            0x0001_2345,
            3,
        ));
        let mut want = Vec::new();
        want.extend_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
        want.extend_from_slice(&[0xca, 0x6c]); // 51820, big endian
        want.extend_from_slice(&[0x00, 0x01, 0x23, 0x45]); // flow info
        want.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        want.extend_from_slice(&3u32.to_ne_bytes()); // scope id
        assert_eq!(encode(&addr), want);
        assert_eq!(want.len(), 28);
        assert_eq!(decode(&want).unwrap(), addr);
    }

    #[test]
    fn struct_sizes_match_libc() {
        assert_eq!(SOCKADDR_IN_LEN, 16);
        assert_eq!(SOCKADDR_IN6_LEN, 28);
    }

    #[test]
    fn decode_rejects_garbage() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[2, 0, 0]).is_err());
        // AF_INET with the length of a sockaddr_in6.
        let mut b = encode(&"[::1]:1".parse().unwrap());
        b[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        assert!(decode(&b).is_err());
    }

    #[test]
    fn ip_round_trip() {
        let v4: IpAddr = "10.8.0.2".parse().unwrap();
        let v6: IpAddr = "fd00::2".parse().unwrap();
        assert_eq!(ip_bytes(&v4), vec![10, 8, 0, 2]);
        assert_eq!(decode_ip(&ip_bytes(&v4)).unwrap(), v4);
        assert_eq!(decode_ip(&ip_bytes(&v6)).unwrap(), v6);
        assert!(decode_ip(&[1, 2, 3]).is_err());
    }
}
