// SPDX-License-Identifier: GPL-2.0

//! Build-time proof that the numbers of Linux's `ovpn` ABI the driver uses
//! (`crate::proto::uapi_ovpn`) equal those bindgen read from the kernel's
//! `<linux/ovpn.h>` (through `compat/ovpn_abi.h`, on its own: its enum
//! names clash with ovpn_dco.h's).

#[allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    unreachable_pub,
    clippy::all
)]
mod b {
    use kernel::ffi;
    include!("bindings_ovpn_generated.rs");
}

use crate::proto::uapi_ovpn as u;

/// Whether two byte strings are equal (in a constant).
const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

// The C strings include their NUL.
/// Every check of this file, in one constant: `init` names it (through
/// `super::ABI_CHECKED`), so that the build evaluates it and every constant
/// it compares counts as used (rustc 1.85 does not count uses in `const _`).
pub(super) const CHECKED: () = {
    assert!(same(
        u::OVPN_FAMILY_NAME.as_bytes(),
        b::OVPN_FAMILY_NAME.split_last().unwrap().1
    ));
    assert!(same(
        u::OVPN_MCGRP_PEERS.as_bytes(),
        b::OVPN_MCGRP_PEERS.split_last().unwrap().1
    ));
    assert!(u::OVPN_FAMILY_VERSION as u64 == b::OVPN_FAMILY_VERSION as u64);
    assert!(u::OVPN_NONCE_TAIL_SIZE as u64 == b::OVPN_NONCE_TAIL_SIZE as u64);
    assert!(u::OVPN_CIPHER_ALG_NONE as u64 == b::ovpn_cipher_alg_OVPN_CIPHER_ALG_NONE as u64);
    assert!(u::OVPN_CIPHER_ALG_AES_GCM as u64 == b::ovpn_cipher_alg_OVPN_CIPHER_ALG_AES_GCM as u64);
    assert!(
        u::OVPN_CIPHER_ALG_CHACHA20_POLY1305 as u64
            == b::ovpn_cipher_alg_OVPN_CIPHER_ALG_CHACHA20_POLY1305 as u64
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_TEARDOWN as u64
            == b::ovpn_del_peer_reason_OVPN_DEL_PEER_REASON_TEARDOWN as u64
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_USERSPACE as u64
            == b::ovpn_del_peer_reason_OVPN_DEL_PEER_REASON_USERSPACE as u64
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_EXPIRED as u64
            == b::ovpn_del_peer_reason_OVPN_DEL_PEER_REASON_EXPIRED as u64
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_TRANSPORT_ERROR as u64
            == b::ovpn_del_peer_reason_OVPN_DEL_PEER_REASON_TRANSPORT_ERROR as u64
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT as u64
            == b::ovpn_del_peer_reason_OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT as u64
    );
    assert!(u::OVPN_KEY_SLOT_PRIMARY as u64 == b::ovpn_key_slot_OVPN_KEY_SLOT_PRIMARY as u64);
    assert!(u::OVPN_KEY_SLOT_SECONDARY as u64 == b::ovpn_key_slot_OVPN_KEY_SLOT_SECONDARY as u64);
    assert!(u::OVPN_A_PEER_ID as u64 == b::OVPN_A_PEER_ID as u64);
    assert!(u::OVPN_A_PEER_REMOTE_IPV4 as u64 == b::OVPN_A_PEER_REMOTE_IPV4 as u64);
    assert!(u::OVPN_A_PEER_REMOTE_IPV6 as u64 == b::OVPN_A_PEER_REMOTE_IPV6 as u64);
    assert!(
        u::OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID as u64 == b::OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID as u64
    );
    assert!(u::OVPN_A_PEER_REMOTE_PORT as u64 == b::OVPN_A_PEER_REMOTE_PORT as u64);
    assert!(u::OVPN_A_PEER_SOCKET as u64 == b::OVPN_A_PEER_SOCKET as u64);
    assert!(u::OVPN_A_PEER_SOCKET_NETNSID as u64 == b::OVPN_A_PEER_SOCKET_NETNSID as u64);
    assert!(u::OVPN_A_PEER_VPN_IPV4 as u64 == b::OVPN_A_PEER_VPN_IPV4 as u64);
    assert!(u::OVPN_A_PEER_VPN_IPV6 as u64 == b::OVPN_A_PEER_VPN_IPV6 as u64);
    assert!(u::OVPN_A_PEER_LOCAL_IPV4 as u64 == b::OVPN_A_PEER_LOCAL_IPV4 as u64);
    assert!(u::OVPN_A_PEER_LOCAL_IPV6 as u64 == b::OVPN_A_PEER_LOCAL_IPV6 as u64);
    assert!(u::OVPN_A_PEER_LOCAL_PORT as u64 == b::OVPN_A_PEER_LOCAL_PORT as u64);
    assert!(u::OVPN_A_PEER_KEEPALIVE_INTERVAL as u64 == b::OVPN_A_PEER_KEEPALIVE_INTERVAL as u64);
    assert!(u::OVPN_A_PEER_KEEPALIVE_TIMEOUT as u64 == b::OVPN_A_PEER_KEEPALIVE_TIMEOUT as u64);
    assert!(u::OVPN_A_PEER_DEL_REASON as u64 == b::OVPN_A_PEER_DEL_REASON as u64);
    assert!(u::OVPN_A_PEER_VPN_RX_BYTES as u64 == b::OVPN_A_PEER_VPN_RX_BYTES as u64);
    assert!(u::OVPN_A_PEER_VPN_TX_BYTES as u64 == b::OVPN_A_PEER_VPN_TX_BYTES as u64);
    assert!(u::OVPN_A_PEER_VPN_RX_PACKETS as u64 == b::OVPN_A_PEER_VPN_RX_PACKETS as u64);
    assert!(u::OVPN_A_PEER_VPN_TX_PACKETS as u64 == b::OVPN_A_PEER_VPN_TX_PACKETS as u64);
    assert!(u::OVPN_A_PEER_LINK_RX_BYTES as u64 == b::OVPN_A_PEER_LINK_RX_BYTES as u64);
    assert!(u::OVPN_A_PEER_LINK_TX_BYTES as u64 == b::OVPN_A_PEER_LINK_TX_BYTES as u64);
    assert!(u::OVPN_A_PEER_LINK_RX_PACKETS as u64 == b::OVPN_A_PEER_LINK_RX_PACKETS as u64);
    assert!(u::OVPN_A_PEER_LINK_TX_PACKETS as u64 == b::OVPN_A_PEER_LINK_TX_PACKETS as u64);
    assert!(u::OVPN_A_PEER_TX_ID as u64 == b::OVPN_A_PEER_TX_ID as u64);
    assert!(u::OVPN_A_PEER_MAX as u64 == b::OVPN_A_PEER_MAX as u64);
    assert!(u::OVPN_A_KEYCONF_PEER_ID as u64 == b::OVPN_A_KEYCONF_PEER_ID as u64);
    assert!(u::OVPN_A_KEYCONF_SLOT as u64 == b::OVPN_A_KEYCONF_SLOT as u64);
    assert!(u::OVPN_A_KEYCONF_KEY_ID as u64 == b::OVPN_A_KEYCONF_KEY_ID as u64);
    assert!(u::OVPN_A_KEYCONF_CIPHER_ALG as u64 == b::OVPN_A_KEYCONF_CIPHER_ALG as u64);
    assert!(u::OVPN_A_KEYCONF_ENCRYPT_DIR as u64 == b::OVPN_A_KEYCONF_ENCRYPT_DIR as u64);
    assert!(u::OVPN_A_KEYCONF_DECRYPT_DIR as u64 == b::OVPN_A_KEYCONF_DECRYPT_DIR as u64);
    assert!(u::OVPN_A_KEYCONF_MAX as u64 == b::OVPN_A_KEYCONF_MAX as u64);
    assert!(u::OVPN_A_KEYDIR_CIPHER_KEY as u64 == b::OVPN_A_KEYDIR_CIPHER_KEY as u64);
    assert!(u::OVPN_A_KEYDIR_NONCE_TAIL as u64 == b::OVPN_A_KEYDIR_NONCE_TAIL as u64);
    assert!(u::OVPN_A_KEYDIR_MAX as u64 == b::OVPN_A_KEYDIR_MAX as u64);
    assert!(u::OVPN_A_IFINDEX as u64 == b::OVPN_A_IFINDEX as u64);
    assert!(u::OVPN_A_PEER as u64 == b::OVPN_A_PEER as u64);
    assert!(u::OVPN_A_KEYCONF as u64 == b::OVPN_A_KEYCONF as u64);
    assert!(u::OVPN_A_MAX as u64 == b::OVPN_A_MAX as u64);
    assert!(u::OVPN_CMD_PEER_NEW as u64 == b::OVPN_CMD_PEER_NEW as u64);
    assert!(u::OVPN_CMD_PEER_SET as u64 == b::OVPN_CMD_PEER_SET as u64);
    assert!(u::OVPN_CMD_PEER_GET as u64 == b::OVPN_CMD_PEER_GET as u64);
    assert!(u::OVPN_CMD_PEER_DEL as u64 == b::OVPN_CMD_PEER_DEL as u64);
    assert!(u::OVPN_CMD_PEER_DEL_NTF as u64 == b::OVPN_CMD_PEER_DEL_NTF as u64);
    assert!(u::OVPN_CMD_KEY_NEW as u64 == b::OVPN_CMD_KEY_NEW as u64);
    assert!(u::OVPN_CMD_KEY_GET as u64 == b::OVPN_CMD_KEY_GET as u64);
    assert!(u::OVPN_CMD_KEY_SWAP as u64 == b::OVPN_CMD_KEY_SWAP as u64);
    assert!(u::OVPN_CMD_KEY_SWAP_NTF as u64 == b::OVPN_CMD_KEY_SWAP_NTF as u64);
    assert!(u::OVPN_CMD_KEY_DEL as u64 == b::OVPN_CMD_KEY_DEL as u64);
    assert!(u::OVPN_CMD_PEER_FLOAT_NTF as u64 == b::OVPN_CMD_PEER_FLOAT_NTF as u64);
    assert!(u::OVPN_CMD_MAX as u64 == b::OVPN_CMD_MAX as u64);
    // Peers are removed for the same reasons, by the same numbers, in both
    // APIs: the shared code keeps one value.
    assert!(
        u::OVPN_DEL_PEER_REASON_TEARDOWN
            == crate::proto::uapi::OVPN_DEL_PEER_REASON_TEARDOWN as u32
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_USERSPACE
            == crate::proto::uapi::OVPN_DEL_PEER_REASON_USERSPACE as u32
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_EXPIRED == crate::proto::uapi::OVPN_DEL_PEER_REASON_EXPIRED as u32
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_TRANSPORT_ERROR
            == crate::proto::uapi::OVPN_DEL_PEER_REASON_TRANSPORT_ERROR as u32
    );
    assert!(
        u::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT
            == crate::proto::uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT as u32
    );
};
