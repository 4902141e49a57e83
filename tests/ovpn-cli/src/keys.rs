// SPDX-License-Identifier: GPL-2.0

//! Key files and the key material of each direction.
//!
//! A key file holds the base64 of 256 bytes, like OpenVPN's `data64.key`
//! used by the upstream ovpn-dco selftests.  The blob is four 64-byte
//! regions, in OpenVPN static key order:
//!
//! | bytes      | use                                          |
//! |------------|----------------------------------------------|
//! | `0..64`    | cipher key of direction A (first 32 bytes)   |
//! | `64..128`  | HMAC key of direction A (first 8: nonce tail)|
//! | `128..192` | cipher key of direction B (first 32 bytes)   |
//! | `192..256` | HMAC key of direction B (first 8: nonce tail)|
//!
//! Key direction 0 encrypts with A and decrypts with B; key direction 1 is
//! the other way round, so the two ends of a tunnel use opposite directions.

use std::path::Path;

use base64::Engine as _;

use crate::error::{Error, Result};

/// Length of the decoded key blob.
pub const KEY_BLOB_LEN: usize = 256;
/// Size of the cipher key region of one direction (the largest key).
pub const MAX_KEY_LEN: usize = 32;
/// Length of a nonce tail (`OVPN_KEY_DIR_ATTR_NONCE_TAIL`).
pub const NONCE_TAIL_LEN: usize = 8;

/// Offset of direction A's cipher key.
const A_KEY: usize = 0;
/// Offset of direction A's nonce tail.
const A_NONCE: usize = 64;
/// Offset of direction B's cipher key.
const B_KEY: usize = 128;
/// Offset of direction B's nonce tail.
const B_NONCE: usize = 192;

/// The decoded contents of a key file.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyBlob([u8; KEY_BLOB_LEN]);

impl std::fmt::Debug for KeyBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyBlob(..)")
    }
}

/// The key material of one direction (encrypt or decrypt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirKey {
    /// The cipher key.
    pub key: Vec<u8>,
    /// The nonce tail.
    pub nonce_tail: [u8; NONCE_TAIL_LEN],
}

impl KeyBlob {
    /// Parses the text of a key file: lines starting with `-` (PEM-style
    /// markers) or `#` (comments) are skipped, whitespace is dropped, and
    /// the rest must be the base64 of exactly 256 bytes.
    pub fn parse(text: &str) -> Result<Self> {
        let b64: String = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with('-') && !l.starts_with('#'))
            .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| Error::other(format!("key file: bad base64: {e}")))?;
        let blob = <[u8; KEY_BLOB_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
            Error::other(format!(
                "key file: {} bytes of key material, expected {KEY_BLOB_LEN}",
                bytes.len()
            ))
        })?;
        Ok(KeyBlob(blob))
    }

    /// The blob of the 256 bytes `bytes`, as a key file would hold them
    /// (for key material made in memory).
    pub fn from_bytes(bytes: [u8; KEY_BLOB_LEN]) -> Self {
        KeyBlob(bytes)
    }

    /// Reads and parses a key file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::other(format!("key file {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// The `(encrypt, decrypt)` keys for key direction `key_dir` (0 or 1),
    /// each `key_len` bytes long (at most [`MAX_KEY_LEN`]).
    pub fn directions(&self, key_dir: KeyDirection, key_len: usize) -> Result<(DirKey, DirKey)> {
        if key_len == 0 || key_len > MAX_KEY_LEN {
            return Err(Error::usage(format!(
                "key length {key_len} out of range 1..={MAX_KEY_LEN}"
            )));
        }
        let a = self.dir_key(A_KEY, A_NONCE, key_len);
        let b = self.dir_key(B_KEY, B_NONCE, key_len);
        Ok(match key_dir {
            KeyDirection::Normal => (a, b),
            KeyDirection::Inverse => (b, a),
        })
    }

    /// The key at `key_off` (`key_len` bytes) and the nonce tail at
    /// `nonce_off`.
    fn dir_key(&self, key_off: usize, nonce_off: usize, key_len: usize) -> DirKey {
        let mut nonce_tail = [0; NONCE_TAIL_LEN];
        nonce_tail.copy_from_slice(&self.0[nonce_off..nonce_off + NONCE_TAIL_LEN]);
        DirKey {
            key: self.0[key_off..key_off + key_len].to_vec(),
            nonce_tail,
        }
    }
}

/// OpenVPN's key direction: which half of the blob encrypts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDirection {
    /// Key direction 0: encrypt with the first half, decrypt with the second.
    Normal,
    /// Key direction 1: encrypt with the second half, decrypt with the first.
    Inverse,
}

impl std::str::FromStr for KeyDirection {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "0" => Ok(KeyDirection::Normal),
            "1" => Ok(KeyDirection::Inverse),
            _ => Err(Error::usage(format!(
                "key direction must be 0 or 1, not '{s}'"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob whose byte `i` is `i`, so offsets are visible in the values.
    fn counting_blob() -> [u8; KEY_BLOB_LEN] {
        std::array::from_fn(|i| i as u8)
    }

    fn key_file_text(blob: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
        let mut text = String::from("#\n# 2048 bit OpenVPN static key\n#\n");
        text.push_str("-----BEGIN OpenVPN Static key V1-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(chunk).unwrap());
            text.push_str("  \r\n");
        }
        text.push_str("-----END OpenVPN Static key V1-----\n");
        text
    }

    #[test]
    fn parses_wrapped_base64_with_markers_and_comments() {
        let blob = counting_blob();
        let parsed = KeyBlob::parse(&key_file_text(&blob)).unwrap();
        assert_eq!(parsed, KeyBlob(blob));
    }

    #[test]
    fn parses_single_line() {
        let blob = [0x5a; KEY_BLOB_LEN];
        let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
        assert_eq!(KeyBlob::parse(&b64).unwrap(), KeyBlob(blob));
    }

    #[test]
    fn rejects_wrong_length_and_bad_base64() {
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 255]);
        let e = KeyBlob::parse(&short).unwrap_err();
        assert!(e.to_string().contains("255 bytes"), "{e}");
        assert!(KeyBlob::parse("not base64 !!").is_err());
        assert!(KeyBlob::parse("").is_err());
    }

    #[test]
    fn direction_0_layout() {
        let blob = KeyBlob(counting_blob());
        let (enc, dec) = blob.directions(KeyDirection::Normal, 32).unwrap();
        assert_eq!(enc.key, (0..32).collect::<Vec<u8>>());
        assert_eq!(enc.nonce_tail, [64, 65, 66, 67, 68, 69, 70, 71]);
        assert_eq!(dec.key, (128..160).collect::<Vec<u8>>());
        assert_eq!(dec.nonce_tail, [192, 193, 194, 195, 196, 197, 198, 199]);
    }

    #[test]
    fn direction_1_swaps() {
        let blob = KeyBlob(counting_blob());
        let (enc0, dec0) = blob.directions(KeyDirection::Normal, 32).unwrap();
        let (enc1, dec1) = blob.directions(KeyDirection::Inverse, 32).unwrap();
        assert_eq!(enc1, dec0);
        assert_eq!(dec1, enc0);
    }

    #[test]
    fn shorter_keys_take_the_start_of_the_region() {
        let blob = KeyBlob(counting_blob());
        let (enc, dec) = blob.directions(KeyDirection::Normal, 16).unwrap();
        assert_eq!(enc.key, (0..16).collect::<Vec<u8>>());
        assert_eq!(dec.key, (128..144).collect::<Vec<u8>>());
        let (enc, _) = blob.directions(KeyDirection::Inverse, 24).unwrap();
        assert_eq!(enc.key, (128..152).collect::<Vec<u8>>());
        assert!(blob.directions(KeyDirection::Normal, 33).is_err());
        assert!(blob.directions(KeyDirection::Normal, 0).is_err());
    }

    #[test]
    fn key_direction_parsing() {
        assert_eq!("0".parse::<KeyDirection>().unwrap(), KeyDirection::Normal);
        assert_eq!("1".parse::<KeyDirection>().unwrap(), KeyDirection::Inverse);
        assert!("2".parse::<KeyDirection>().is_err());
    }
}
