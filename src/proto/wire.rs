// SPDX-License-Identifier: GPL-2.0

//! The OpenVPN data-channel packet header.
//!
//! Every OpenVPN packet starts with one byte: the opcode in the top five
//! bits and the key id in the low three.  A `DATA_V2` packet continues with
//! a 24-bit peer id, so its first big-endian 32-bit word is
//! `opcode << 27 | key_id << 24 | peer_id`.

/// Opcode of a `DATA_V2` packet.
pub const OP_DATA_V2: u8 = 9;
/// The peer id that means "not set": the receiver finds the peer by the
/// packet's source address.
pub const PEER_ID_UNDEF: u32 = 0x00FF_FFFF;
/// The largest key id.
pub const KEY_ID_MAX: u8 = 7;
/// Length of the `DATA_V2` header (opcode, key id, peer id).
pub const DATA_V2_HEADER_LEN: usize = 4;

/// The opcode of a packet whose first byte is `b`.
pub const fn opcode(b: u8) -> u8 {
    b >> 3
}

/// The header of a `DATA_V2` packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataV2Header {
    /// The key slot the sender encrypted with (0..=7).
    pub key_id: u8,
    /// The receiver's id of the sending peer (24 bits).
    pub peer_id: u32,
}

impl DataV2Header {
    /// A header for `key_id` and `peer_id`; both are masked to their
    /// widths (3 and 24 bits).
    pub const fn new(key_id: u8, peer_id: u32) -> Self {
        Self {
            key_id: key_id & KEY_ID_MAX,
            peer_id: peer_id & PEER_ID_UNDEF,
        }
    }

    /// Parses the header at the start of `pkt`; `None` if `pkt` is shorter
    /// than a header or is not a `DATA_V2` packet.
    pub fn parse(pkt: &[u8]) -> Option<Self> {
        let word: [u8; 4] = pkt.get(..DATA_V2_HEADER_LEN)?.try_into().ok()?;
        let word = u32::from_be_bytes(word);
        if opcode((word >> 24) as u8) != OP_DATA_V2 {
            return None;
        }
        Some(Self {
            key_id: ((word >> 24) as u8) & KEY_ID_MAX,
            peer_id: word & PEER_ID_UNDEF,
        })
    }

    /// The header's first 32-bit word, host order.
    pub const fn word(self) -> u32 {
        ((OP_DATA_V2 as u32) << 27)
            | (((self.key_id & KEY_ID_MAX) as u32) << 24)
            | (self.peer_id & PEER_ID_UNDEF)
    }

    /// The header as it goes on the wire.
    pub const fn to_bytes(self) -> [u8; DATA_V2_HEADER_LEN] {
        self.word().to_be_bytes()
    }
}

/// Whether a packet whose payload starts with `pkt` is a `DATA_V2` packet,
/// which the kernel handles; every other packet goes to userspace.
pub fn is_data_v2(pkt: &[u8]) -> bool {
    matches!(pkt.first(), Some(&b) if opcode(b) == OP_DATA_V2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_words() {
        // Key 0, peer 0: the first byte is 0x48, as the selftests match.
        assert_eq!(DataV2Header::new(0, 0).to_bytes(), [0x48, 0, 0, 0]);
        assert_eq!(
            DataV2Header::new(1, 0x123456).to_bytes(),
            [0x49, 0x12, 0x34, 0x56]
        );
        assert_eq!(DataV2Header::new(7, PEER_ID_UNDEF).word(), 0x4FFF_FFFF);
    }

    #[test]
    fn rejects_short_and_other_opcodes() {
        assert_eq!(DataV2Header::parse(&[]), None);
        assert_eq!(DataV2Header::parse(&[0x48, 0, 0]), None);
        // DATA_V1 (opcode 6) and a control packet (P_CONTROL_V1, opcode 4).
        assert_eq!(DataV2Header::parse(&[0x30, 0, 0, 0]), None);
        assert_eq!(DataV2Header::parse(&[0x20, 0, 0, 0]), None);
        assert!(!is_data_v2(&[0x30]));
        assert!(!is_data_v2(&[]));
        assert!(is_data_v2(&[0x4a]));
    }

    proptest! {
        #[test]
        fn roundtrip(key_id in 0u8..=7, peer_id in 0u32..=PEER_ID_UNDEF, tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let h = DataV2Header::new(key_id, peer_id);
            let mut pkt = h.to_bytes().to_vec();
            pkt.extend_from_slice(&tail);
            prop_assert_eq!(DataV2Header::parse(&pkt), Some(h));
            prop_assert!(is_data_v2(&pkt));
        }

        #[test]
        fn parse_agrees_with_opcode(pkt in proptest::collection::vec(any::<u8>(), 0..16)) {
            let parsed = DataV2Header::parse(&pkt);
            let expect = pkt.len() >= 4 && opcode(pkt[0]) == OP_DATA_V2;
            prop_assert_eq!(parsed.is_some(), expect);
            if let Some(h) = parsed {
                prop_assert_eq!(&h.to_bytes()[..], &pkt[..4]);
            }
        }
    }
}
