// SPDX-License-Identifier: GPL-2.0

//! Device properties that follow from the wire format.

use super::aead::OVERHEAD as AEAD_OVERHEAD;

/// Length of a UDP header.
pub const UDP_HEADER_LEN: usize = 8;
/// Length of the larger outer IP header (IPv6).
pub const IP_HEADER_MAX_LEN: usize = 40;
/// Bytes a tunnel packet adds on the wire: the AEAD framing, UDP and IPv6.
pub const ENCAP_OVERHEAD: u32 = (AEAD_OVERHEAD + UDP_HEADER_LEN + IP_HEADER_MAX_LEN) as u32;
/// The default MTU: a 1500-byte underlying link minus the overhead.
pub const DEFAULT_MTU: u32 = 1500 - ENCAP_OVERHEAD;
/// The default MTU of an `ovpn` device (Linux's API), as Linux's driver
/// sets it: 1500 minus the 84 bytes it reserves for the encapsulation.
pub const OVPN_DEFAULT_MTU: u32 = 1500 - 84;
/// The smallest MTU (the IPv4 minimum).
pub const MIN_MTU: u32 = 68;
/// The largest MTU: the largest IP packet minus the overhead.
pub const MAX_MTU: u32 = 65535 - ENCAP_OVERHEAD;
/// Headroom asked of packets sent to the device: the tunnel headers plus
/// the outer link layer's padding (NET_SKB_PAD on x86), rounded up to 4.
pub const HEADROOM: u16 = ((16 + IP_HEADER_MAX_LEN + UDP_HEADER_LEN + 64 + 3) & !3) as u16;
/// Tailroom asked of packets sent to the device.
pub const TAILROOM: u16 = 16;
/// `ETH_P_IP`: the protocol of an inner IPv4 packet.
pub const ETH_P_IP: u16 = 0x0800;
/// `ETH_P_IPV6`: the protocol of an inner IPv6 packet.
pub const ETH_P_IPV6: u16 = 0x86DD;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_values() {
        assert_eq!(ENCAP_OVERHEAD, 72);
        assert_eq!(DEFAULT_MTU, 1428);
        assert_eq!(OVPN_DEFAULT_MTU, 1416);
        assert_eq!(MAX_MTU, 65463);
        assert_eq!(HEADROOM, 128);
    }
}
