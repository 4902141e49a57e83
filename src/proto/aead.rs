// SPDX-License-Identifier: GPL-2.0

//! AEAD framing of `DATA_V2` packets.
//!
//! On the wire: `[header 4][packet id 4, BE][tag 16][ciphertext]`.  The
//! additional authenticated data are the first 8 bytes (header and packet
//! id); the 12-byte nonce is the 4 packet-id bytes followed by the 8-byte
//! nonce tail of the key direction.  The tag sits before the ciphertext on
//! the wire, while the crypto API expects it after: the scatterlists place
//! it accordingly.

use super::wire::{DataV2Header, DATA_V2_HEADER_LEN};

/// Length of the packet id.
pub const PACKET_ID_LEN: usize = 4;
/// Length of the authenticated header (op word and packet id).
pub const AAD_LEN: usize = DATA_V2_HEADER_LEN + PACKET_ID_LEN;
/// Length of the authentication tag.
pub const TAG_LEN: usize = 16;
/// Length of the nonce.
pub const NONCE_LEN: usize = 12;
/// Length of the per-direction nonce tail.
pub const NONCE_TAIL_LEN: usize = 8;
/// Bytes added to a plaintext packet: header, packet id and tag.
pub const OVERHEAD: usize = AAD_LEN + TAG_LEN;

/// The AEAD algorithms of the ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CipherAlg {
    /// AES-GCM with a 128-, 192- or 256-bit key.
    AesGcm,
    /// ChaCha20-Poly1305 (RFC 7539) with a 256-bit key.
    ChaCha20Poly1305,
}

impl CipherAlg {
    /// The algorithm of ABI value `v` (`OVPN_CIPHER_ALG_*`); `None` for
    /// "none" and for unknown values.
    pub fn from_abi(v: u16) -> Option<Self> {
        match v {
            super::uapi::OVPN_CIPHER_ALG_AES_GCM => Some(Self::AesGcm),
            super::uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305 => Some(Self::ChaCha20Poly1305),
            _ => None,
        }
    }

    /// The ABI value of the algorithm (`OVPN_CIPHER_ALG_*`, the same in
    /// both families).
    pub fn to_abi(self) -> u16 {
        match self {
            Self::AesGcm => super::uapi::OVPN_CIPHER_ALG_AES_GCM,
            Self::ChaCha20Poly1305 => super::uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305,
        }
    }

    /// The kernel crypto API name of the algorithm.
    pub fn crypto_name(&self) -> &'static core::ffi::CStr {
        match self {
            Self::AesGcm => c"gcm(aes)",
            Self::ChaCha20Poly1305 => c"rfc7539(chacha20,poly1305)",
        }
    }

    /// Whether `len` bytes is a valid key size for the algorithm.
    pub fn key_len_ok(&self, len: usize) -> bool {
        match self {
            Self::AesGcm => matches!(len, 16 | 24 | 32),
            Self::ChaCha20Poly1305 => len == 32,
        }
    }
}

/// The nonce of the packet with id `packet_id`.
pub fn nonce(packet_id: u32, tail: &[u8; NONCE_TAIL_LEN]) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[..PACKET_ID_LEN].copy_from_slice(&packet_id.to_be_bytes());
    n[PACKET_ID_LEN..].copy_from_slice(tail);
    n
}

/// The authenticated header of an outgoing packet.
pub fn aad(header: DataV2Header, packet_id: u32) -> [u8; AAD_LEN] {
    let mut a = [0u8; AAD_LEN];
    a[..DATA_V2_HEADER_LEN].copy_from_slice(&header.to_bytes());
    a[DATA_V2_HEADER_LEN..].copy_from_slice(&packet_id.to_be_bytes());
    a
}

/// A received `DATA_V2` packet, split into its parts (not yet
/// authenticated).
#[derive(Debug, PartialEq, Eq)]
pub struct Received<'a> {
    /// The header.
    pub header: DataV2Header,
    /// The packet id.
    pub packet_id: u32,
    /// The authenticated header bytes.
    pub aad: &'a [u8],
    /// The tag.
    pub tag: &'a [u8],
    /// The ciphertext (as long as the plaintext).
    pub ciphertext: &'a [u8],
}

/// Why a received packet was rejected before decryption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxError {
    /// Not a `DATA_V2` packet.
    NotData,
    /// Shorter than the header, packet id and tag.
    TooShort,
}

/// Splits a received packet into its AEAD parts.
pub fn split(pkt: &[u8]) -> Result<Received<'_>, RxError> {
    let header = DataV2Header::parse(pkt).ok_or(if pkt.len() < DATA_V2_HEADER_LEN {
        RxError::TooShort
    } else {
        RxError::NotData
    })?;
    if pkt.len() < OVERHEAD {
        return Err(RxError::TooShort);
    }
    let (aad, rest) = pkt.split_at(AAD_LEN);
    let (tag, ciphertext) = rest.split_at(TAG_LEN);
    let mut pid = [0u8; PACKET_ID_LEN];
    pid.copy_from_slice(&aad[DATA_V2_HEADER_LEN..]);
    Ok(Received {
        header,
        packet_id: u32::from_be_bytes(pid),
        aad,
        tag,
        ciphertext,
    })
}

/// The 16-byte payload of an OpenVPN keepalive ping, sent encrypted.
pub const KEEPALIVE_MAGIC: [u8; 16] = [
    0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb, 0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48,
];

/// Whether a decrypted payload is a keepalive ping (consumed, never
/// delivered).
pub fn is_keepalive(plain: &[u8]) -> bool {
    plain == KEEPALIVE_MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nonce_layout() {
        let tail = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            nonce(0x0A0B0C0D, &tail),
            [0x0A, 0x0B, 0x0C, 0x0D, 1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(OVERHEAD, 24);
        assert_eq!(AAD_LEN, 8);
        assert!(CipherAlg::from_abi(0).is_none());
        assert_eq!(CipherAlg::from_abi(1), Some(CipherAlg::AesGcm));
        assert_eq!(CipherAlg::from_abi(2), Some(CipherAlg::ChaCha20Poly1305));
        assert!(CipherAlg::from_abi(3).is_none());
        assert!(CipherAlg::AesGcm.key_len_ok(24));
        assert!(!CipherAlg::AesGcm.key_len_ok(20));
        assert!(!CipherAlg::ChaCha20Poly1305.key_len_ok(16));
    }

    #[test]
    fn split_rejects() {
        assert_eq!(split(&[]), Err(RxError::TooShort));
        assert_eq!(split(&[0x48, 0, 0, 1]), Err(RxError::TooShort));
        assert_eq!(split(&[0x20; 40]), Err(RxError::NotData));
        let pkt = [0x48; OVERHEAD];
        let r = split(&pkt).unwrap();
        assert!(r.ciphertext.is_empty());
    }

    #[test]
    fn keepalive() {
        assert!(is_keepalive(&KEEPALIVE_MAGIC));
        assert!(!is_keepalive(&KEEPALIVE_MAGIC[..15]));
    }

    proptest! {
        #[test]
        fn split_roundtrip(key_id in 0u8..8, peer in 0u32..0x100_0000, pid: u32,
                           tag in proptest::array::uniform16(any::<u8>()),
                           ct in proptest::collection::vec(any::<u8>(), 0..200)) {
            let h = DataV2Header::new(key_id, peer);
            let mut pkt = aad(h, pid).to_vec();
            pkt.extend_from_slice(&tag);
            pkt.extend_from_slice(&ct);
            let r = split(&pkt).unwrap();
            prop_assert_eq!(r.header, h);
            prop_assert_eq!(r.packet_id, pid);
            prop_assert_eq!(r.aad, &pkt[..8]);
            prop_assert_eq!(r.tag, &tag[..]);
            prop_assert_eq!(r.ciphertext, &ct[..]);
        }

        #[test]
        fn split_never_panics(pkt in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = split(&pkt);
        }
    }
}
