// SPDX-License-Identifier: GPL-2.0

//! The ABI numbers in `uapi.rs` must equal those of the C header that
//! OpenVPN and the C side of the module compile against.

use std::collections::BTreeMap;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `NAME = 123,` entries of the header's enums.
fn header_values() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(root().join("include/uapi/linux/ovpn_dco.h")).unwrap();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        let Some((name, rest)) = line.split_once('=') else { continue };
        let name = name.trim();
        let val = rest.split_whitespace().next().unwrap_or("").trim_end_matches(',');
        if name.starts_with("OVPN_") {
            if let Ok(v) = val.parse::<u64>() {
                m.insert(name.to_string(), v);
            }
        }
    }
    m
}

/// `pub const NAME: ty = 123;` items of uapi.rs.
fn rust_values() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(root().join("src/proto/uapi.rs")).unwrap();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("pub const ") else { continue };
        let Some((name, rest)) = rest.split_once(':') else { continue };
        let Some((_, val)) = rest.split_once('=') else { continue };
        if let Ok(v) = val.trim().trim_end_matches(';').parse::<u64>() {
            m.insert(name.trim().to_string(), v);
        }
    }
    m
}

#[test]
fn every_header_number_is_in_rust_with_the_same_value() {
    let h = header_values();
    let r = rust_values();
    assert!(h.len() > 60, "parsed only {} header values", h.len());
    for (name, v) in &h {
        // Placeholder values the driver never uses need no Rust twin.
        if name.ends_with("_UNSPEC") && !r.contains_key(name) {
            continue;
        }
        assert_eq!(r.get(name), Some(v), "{name}");
    }
}

#[test]
fn every_rust_number_is_in_the_header() {
    let h = header_values();
    for (name, v) in rust_values() {
        // Link attributes live in <linux/if_link.h>, the version in the
        // family definition, the *_MAX values are derived in C.
        if name.starts_with("IFLA_") || name.starts_with("OVPN_MODE_") || name.ends_with("_MAX")
            || name == "OVPN_NL_VERSION"
        {
            continue;
        }
        assert_eq!(h.get(&name), Some(&v), "{name}");
    }
}

#[test]
fn max_values_follow_the_last_attribute() {
    use ovpn_dco_proto::uapi::*;
    assert_eq!(OVPN_ATTR_MAX, OVPN_ATTR_GET_PEER);
    assert_eq!(OVPN_KEY_DIR_ATTR_MAX, OVPN_KEY_DIR_ATTR_NONCE_TAIL);
    assert_eq!(OVPN_NEW_KEY_ATTR_MAX, OVPN_NEW_KEY_ATTR_DECRYPT_KEY);
    assert_eq!(OVPN_DEL_KEY_ATTR_MAX, OVPN_DEL_KEY_ATTR_KEY_SLOT);
    assert_eq!(OVPN_SWAP_KEYS_ATTR_MAX, OVPN_SWAP_KEYS_ATTR_PEER_ID);
    assert_eq!(OVPN_NEW_PEER_ATTR_MAX, OVPN_NEW_PEER_ATTR_LOCAL_IP);
    assert_eq!(OVPN_SET_PEER_ATTR_MAX, OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT);
    assert_eq!(OVPN_DEL_PEER_ATTR_MAX, OVPN_DEL_PEER_ATTR_PEER_ID);
    assert_eq!(OVPN_GET_PEER_ATTR_MAX, OVPN_GET_PEER_ATTR_PEER_ID);
    assert_eq!(OVPN_GET_PEER_RESP_ATTR_MAX, OVPN_GET_PEER_RESP_ATTR_LINK_TX_PACKETS);
}
