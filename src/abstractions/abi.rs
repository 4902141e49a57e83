// SPDX-License-Identifier: GPL-2.0

//! Build-time proof that the ABI numbers the driver uses (`crate::proto::uapi`,
//! pure Rust shared with the host tests) equal those bindgen read from
//! `include/uapi/linux/ovpn_dco.h` and `<linux/if_link.h>`.

use super::bindings as b;
use crate::proto::uapi as u;

/// Whether C string `c` (with its NUL) holds exactly `s`.
const fn c_str_is(c: &[u8], s: &[u8]) -> bool {
    if c.len() != s.len() + 1 || c[s.len()] != 0 {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        if c[i] != s[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Every check of this file, in one constant: `init` names it (through
/// `super::ABI_CHECKED`), so that the build evaluates it and every constant
/// it compares counts as used (rustc 1.85 does not count uses in `const _`).
pub(super) const CHECKED: () = {
    assert!(u::IFLA_OVPN_MODE as u64 == b::IFLA_OVPN_MODE as u64);
    assert!(u::IFLA_OVPN_MAX as u64 == b::__IFLA_OVPN_MAX as u64 - 1);
    assert!(u::OVPN_MODE_P2P as u64 == b::ovpn_mode_OVPN_MODE_P2P as u64);
    assert!(u::OVPN_MODE_MP as u64 == b::ovpn_mode_OVPN_MODE_MP as u64);
    assert!(u::OVPN_CMD_UNSPEC as u64 == b::ovpn_nl_commands_OVPN_CMD_UNSPEC as u64);
    assert!(u::OVPN_CMD_NEW_PEER as u64 == b::ovpn_nl_commands_OVPN_CMD_NEW_PEER as u64);
    assert!(u::OVPN_CMD_SET_PEER as u64 == b::ovpn_nl_commands_OVPN_CMD_SET_PEER as u64);
    assert!(u::OVPN_CMD_DEL_PEER as u64 == b::ovpn_nl_commands_OVPN_CMD_DEL_PEER as u64);
    assert!(u::OVPN_CMD_NEW_KEY as u64 == b::ovpn_nl_commands_OVPN_CMD_NEW_KEY as u64);
    assert!(u::OVPN_CMD_SWAP_KEYS as u64 == b::ovpn_nl_commands_OVPN_CMD_SWAP_KEYS as u64);
    assert!(u::OVPN_CMD_DEL_KEY as u64 == b::ovpn_nl_commands_OVPN_CMD_DEL_KEY as u64);
    assert!(u::OVPN_CMD_GET_PEER as u64 == b::ovpn_nl_commands_OVPN_CMD_GET_PEER as u64);
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
    assert!(u::OVPN_ATTR_IFINDEX as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_IFINDEX as u64);
    assert!(u::OVPN_ATTR_NEW_PEER as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_NEW_PEER as u64);
    assert!(u::OVPN_ATTR_SET_PEER as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_SET_PEER as u64);
    assert!(u::OVPN_ATTR_DEL_PEER as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_DEL_PEER as u64);
    assert!(u::OVPN_ATTR_NEW_KEY as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_NEW_KEY as u64);
    assert!(u::OVPN_ATTR_SWAP_KEYS as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_SWAP_KEYS as u64);
    assert!(u::OVPN_ATTR_DEL_KEY as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_DEL_KEY as u64);
    assert!(u::OVPN_ATTR_GET_PEER as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_GET_PEER as u64);
    assert!(u::OVPN_ATTR_MAX as u64 == b::ovpn_netlink_attrs_OVPN_ATTR_MAX as u64);
    assert!(
        u::OVPN_KEY_DIR_ATTR_CIPHER_KEY as u64
            == b::ovpn_netlink_key_dir_attrs_OVPN_KEY_DIR_ATTR_CIPHER_KEY as u64
    );
    assert!(
        u::OVPN_KEY_DIR_ATTR_NONCE_TAIL as u64
            == b::ovpn_netlink_key_dir_attrs_OVPN_KEY_DIR_ATTR_NONCE_TAIL as u64
    );
    assert!(
        u::OVPN_KEY_DIR_ATTR_MAX as u64
            == b::ovpn_netlink_key_dir_attrs_OVPN_KEY_DIR_ATTR_MAX as u64
    );
    assert!(
        u::OVPN_NEW_KEY_ATTR_PEER_ID as u64
            == b::ovpn_netlink_new_key_attrs_OVPN_NEW_KEY_ATTR_PEER_ID as u64
    );
    assert!(
        u::OVPN_NEW_KEY_ATTR_KEY_SLOT as u64
            == b::ovpn_netlink_new_key_attrs_OVPN_NEW_KEY_ATTR_KEY_SLOT as u64
    );
    assert!(
        u::OVPN_NEW_KEY_ATTR_KEY_ID as u64
            == b::ovpn_netlink_new_key_attrs_OVPN_NEW_KEY_ATTR_KEY_ID as u64
    );
    assert!(
        u::OVPN_NEW_KEY_ATTR_CIPHER_ALG as u64
            == b::ovpn_netlink_new_key_attrs_OVPN_NEW_KEY_ATTR_CIPHER_ALG as u64
    );
    assert!(
        u::OVPN_NEW_KEY_ATTR_ENCRYPT_KEY as u64
            == b::ovpn_netlink_new_key_attrs_OVPN_NEW_KEY_ATTR_ENCRYPT_KEY as u64
    );
    assert!(
        u::OVPN_NEW_KEY_ATTR_DECRYPT_KEY as u64
            == b::ovpn_netlink_new_key_attrs_OVPN_NEW_KEY_ATTR_DECRYPT_KEY as u64
    );
    assert!(
        u::OVPN_NEW_KEY_ATTR_MAX as u64
            == b::ovpn_netlink_new_key_attrs_OVPN_NEW_KEY_ATTR_MAX as u64
    );
    assert!(
        u::OVPN_DEL_KEY_ATTR_PEER_ID as u64
            == b::ovpn_netlink_del_key_attrs_OVPN_DEL_KEY_ATTR_PEER_ID as u64
    );
    assert!(
        u::OVPN_DEL_KEY_ATTR_KEY_SLOT as u64
            == b::ovpn_netlink_del_key_attrs_OVPN_DEL_KEY_ATTR_KEY_SLOT as u64
    );
    assert!(
        u::OVPN_DEL_KEY_ATTR_MAX as u64
            == b::ovpn_netlink_del_key_attrs_OVPN_DEL_KEY_ATTR_MAX as u64
    );
    assert!(
        u::OVPN_SWAP_KEYS_ATTR_PEER_ID as u64
            == b::ovpn_netlink_swap_keys_attrs_OVPN_SWAP_KEYS_ATTR_PEER_ID as u64
    );
    assert!(
        u::OVPN_SWAP_KEYS_ATTR_MAX as u64
            == b::ovpn_netlink_swap_keys_attrs_OVPN_SWAP_KEYS_ATTR_MAX as u64
    );
    assert!(
        u::OVPN_NEW_PEER_ATTR_PEER_ID as u64
            == b::ovpn_netlink_new_peer_attrs_OVPN_NEW_PEER_ATTR_PEER_ID as u64
    );
    assert!(
        u::OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE as u64
            == b::ovpn_netlink_new_peer_attrs_OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE as u64
    );
    assert!(
        u::OVPN_NEW_PEER_ATTR_SOCKET as u64
            == b::ovpn_netlink_new_peer_attrs_OVPN_NEW_PEER_ATTR_SOCKET as u64
    );
    assert!(
        u::OVPN_NEW_PEER_ATTR_IPV4 as u64
            == b::ovpn_netlink_new_peer_attrs_OVPN_NEW_PEER_ATTR_IPV4 as u64
    );
    assert!(
        u::OVPN_NEW_PEER_ATTR_IPV6 as u64
            == b::ovpn_netlink_new_peer_attrs_OVPN_NEW_PEER_ATTR_IPV6 as u64
    );
    assert!(
        u::OVPN_NEW_PEER_ATTR_LOCAL_IP as u64
            == b::ovpn_netlink_new_peer_attrs_OVPN_NEW_PEER_ATTR_LOCAL_IP as u64
    );
    assert!(
        u::OVPN_NEW_PEER_ATTR_MAX as u64
            == b::ovpn_netlink_new_peer_attrs_OVPN_NEW_PEER_ATTR_MAX as u64
    );
    assert!(
        u::OVPN_SET_PEER_ATTR_PEER_ID as u64
            == b::ovpn_netlink_set_peer_attrs_OVPN_SET_PEER_ATTR_PEER_ID as u64
    );
    assert!(
        u::OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL as u64
            == b::ovpn_netlink_set_peer_attrs_OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL as u64
    );
    assert!(
        u::OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT as u64
            == b::ovpn_netlink_set_peer_attrs_OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT as u64
    );
    assert!(
        u::OVPN_SET_PEER_ATTR_MAX as u64
            == b::ovpn_netlink_set_peer_attrs_OVPN_SET_PEER_ATTR_MAX as u64
    );
    assert!(
        u::OVPN_DEL_PEER_ATTR_REASON as u64
            == b::ovpn_netlink_del_peer_attrs_OVPN_DEL_PEER_ATTR_REASON as u64
    );
    assert!(
        u::OVPN_DEL_PEER_ATTR_PEER_ID as u64
            == b::ovpn_netlink_del_peer_attrs_OVPN_DEL_PEER_ATTR_PEER_ID as u64
    );
    assert!(
        u::OVPN_DEL_PEER_ATTR_MAX as u64
            == b::ovpn_netlink_del_peer_attrs_OVPN_DEL_PEER_ATTR_MAX as u64
    );
    assert!(
        u::OVPN_GET_PEER_ATTR_PEER_ID as u64
            == b::ovpn_netlink_get_peer_attrs_OVPN_GET_PEER_ATTR_PEER_ID as u64
    );
    assert!(
        u::OVPN_GET_PEER_ATTR_MAX as u64
            == b::ovpn_netlink_get_peer_attrs_OVPN_GET_PEER_ATTR_MAX as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_PEER_ID as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_PEER_ID as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE
                as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_IPV4 as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_IPV4 as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_IPV6 as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_IPV6 as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_LOCAL_IP as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_LOCAL_IP as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL
                as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT
                as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_VPN_TX_BYTES as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_VPN_TX_BYTES as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_VPN_RX_PACKETS as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_VPN_RX_PACKETS
                as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_VPN_TX_PACKETS as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_VPN_TX_PACKETS
                as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_LINK_RX_BYTES as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_LINK_RX_BYTES as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_LINK_TX_BYTES as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_LINK_TX_BYTES as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_LINK_RX_PACKETS as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_LINK_RX_PACKETS
                as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_LINK_TX_PACKETS as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_LINK_TX_PACKETS
                as u64
    );
    assert!(
        u::OVPN_GET_PEER_RESP_ATTR_MAX as u64
            == b::ovpn_netlink_get_peer_response_attrs_OVPN_GET_PEER_RESP_ATTR_MAX as u64
    );

    assert!(c_str_is(b::OVPN_NL_NAME, u::OVPN_NL_NAME.as_bytes()));
    assert!(b::OVPN_DCO_NL_VERSION == u::OVPN_NL_VERSION as u32);
    assert!(c_str_is(
        b::OVPN_NL_MULTICAST_GROUP_PEERS,
        u::OVPN_NL_MULTICAST_GROUP_PEERS.as_bytes()
    ));
    assert!(c_str_is(
        b::OVPN_DCO_VERSION,
        crate::netdev::VERSION.to_bytes()
    ));
};
