// SPDX-License-Identifier: GPL-2.0

//! The numbers of the ovpn-dco-v2 ABI (`include/uapi/linux/ovpn_dco.h`) and
//! of the link attributes (`<linux/if_link.h>`).
//!
//! The module checks at build time that they equal what bindgen reads from
//! the C header, and the host tests check them against the header's text.

/// The generic netlink family name.
pub const OVPN_NL_NAME: &str = "ovpn-dco-v2";
/// The multicast group of peer notifications.
pub const OVPN_NL_MULTICAST_GROUP_PEERS: &str = "peers";
/// The family's version.
pub const OVPN_NL_VERSION: u8 = 1;

/// `IFLA_OVPN_MODE`: u8, the device's mode.
pub const IFLA_OVPN_MODE: u32 = 1;
/// The highest `IFLA_OVPN_*` attribute.
pub const IFLA_OVPN_MAX: u32 = 1;
/// Point-to-point mode.
pub const OVPN_MODE_P2P: u8 = 0;
/// Multi-peer mode.
pub const OVPN_MODE_MP: u8 = 1;

/// Unspecified command.
pub const OVPN_CMD_UNSPEC: u32 = 0;
/// Adds a peer.
pub const OVPN_CMD_NEW_PEER: u32 = 1;
/// Changes a peer's keepalive.
pub const OVPN_CMD_SET_PEER: u32 = 2;
/// Deletes a peer; also the notification of a deletion.
pub const OVPN_CMD_DEL_PEER: u32 = 3;
/// Installs a key in a slot.
pub const OVPN_CMD_NEW_KEY: u32 = 4;
/// Swaps the primary and secondary key slots.
pub const OVPN_CMD_SWAP_KEYS: u32 = 5;
/// Deletes the key in a slot.
pub const OVPN_CMD_DEL_KEY: u32 = 6;
/// Reads a peer (do) or all peers (dump).
pub const OVPN_CMD_GET_PEER: u32 = 7;

/// No cipher (rejected).
pub const OVPN_CIPHER_ALG_NONE: u16 = 0;
/// AES-GCM.
pub const OVPN_CIPHER_ALG_AES_GCM: u16 = 1;
/// ChaCha20-Poly1305.
pub const OVPN_CIPHER_ALG_CHACHA20_POLY1305: u16 = 2;

/// The device or module went away, or a P2P peer was replaced.
pub const OVPN_DEL_PEER_REASON_TEARDOWN: u8 = 0;
/// Userspace asked for it.
pub const OVPN_DEL_PEER_REASON_USERSPACE: u8 = 1;
/// The keepalive timeout expired.
pub const OVPN_DEL_PEER_REASON_EXPIRED: u8 = 2;
/// The transport (TCP stream) failed.
pub const OVPN_DEL_PEER_REASON_TRANSPORT_ERROR: u8 = 3;
/// The transport was closed by the remote.
pub const OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT: u8 = 4;

/// The primary key slot (used for TX).
pub const OVPN_KEY_SLOT_PRIMARY: u8 = 0;
/// The secondary key slot.
pub const OVPN_KEY_SLOT_SECONDARY: u8 = 1;

/// u32: the device of the request.
pub const OVPN_ATTR_IFINDEX: u32 = 1;
/// Nest of `OVPN_CMD_NEW_PEER`.
pub const OVPN_ATTR_NEW_PEER: u32 = 2;
/// Nest of `OVPN_CMD_SET_PEER`.
pub const OVPN_ATTR_SET_PEER: u32 = 3;
/// Nest of `OVPN_CMD_DEL_PEER`.
pub const OVPN_ATTR_DEL_PEER: u32 = 4;
/// Nest of `OVPN_CMD_NEW_KEY`.
pub const OVPN_ATTR_NEW_KEY: u32 = 5;
/// Nest of `OVPN_CMD_SWAP_KEYS`.
pub const OVPN_ATTR_SWAP_KEYS: u32 = 6;
/// Nest of `OVPN_CMD_DEL_KEY`.
pub const OVPN_ATTR_DEL_KEY: u32 = 7;
/// Nest of `OVPN_CMD_GET_PEER` (request and reply).
pub const OVPN_ATTR_GET_PEER: u32 = 8;
/// The highest top-level attribute.
pub const OVPN_ATTR_MAX: u32 = 8;

/// Binary: the key.
pub const OVPN_KEY_DIR_ATTR_CIPHER_KEY: u32 = 1;
/// Binary, 8 bytes: the nonce tail.
pub const OVPN_KEY_DIR_ATTR_NONCE_TAIL: u32 = 2;
/// The highest key-direction attribute.
pub const OVPN_KEY_DIR_ATTR_MAX: u32 = 2;

/// u32.
pub const OVPN_NEW_KEY_ATTR_PEER_ID: u32 = 1;
/// u8.
pub const OVPN_NEW_KEY_ATTR_KEY_SLOT: u32 = 2;
/// u8.
pub const OVPN_NEW_KEY_ATTR_KEY_ID: u32 = 3;
/// u16.
pub const OVPN_NEW_KEY_ATTR_CIPHER_ALG: u32 = 4;
/// Nest: key direction.
pub const OVPN_NEW_KEY_ATTR_ENCRYPT_KEY: u32 = 5;
/// Nest: key direction.
pub const OVPN_NEW_KEY_ATTR_DECRYPT_KEY: u32 = 6;
/// The highest NEW_KEY attribute.
pub const OVPN_NEW_KEY_ATTR_MAX: u32 = 6;

/// u32.
pub const OVPN_DEL_KEY_ATTR_PEER_ID: u32 = 1;
/// u8.
pub const OVPN_DEL_KEY_ATTR_KEY_SLOT: u32 = 2;
/// The highest DEL_KEY attribute.
pub const OVPN_DEL_KEY_ATTR_MAX: u32 = 2;

/// u32.
pub const OVPN_SWAP_KEYS_ATTR_PEER_ID: u32 = 1;
/// The highest SWAP_KEYS attribute.
pub const OVPN_SWAP_KEYS_ATTR_MAX: u32 = 1;

/// u32.
pub const OVPN_NEW_PEER_ATTR_PEER_ID: u32 = 1;
/// sockaddr_in or sockaddr_in6.
pub const OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE: u32 = 2;
/// u32 file descriptor.
pub const OVPN_NEW_PEER_ATTR_SOCKET: u32 = 3;
/// be32.
pub const OVPN_NEW_PEER_ATTR_IPV4: u32 = 4;
/// 16 bytes.
pub const OVPN_NEW_PEER_ATTR_IPV6: u32 = 5;
/// 4 or 16 bytes.
pub const OVPN_NEW_PEER_ATTR_LOCAL_IP: u32 = 6;
/// The highest NEW_PEER attribute.
pub const OVPN_NEW_PEER_ATTR_MAX: u32 = 6;

/// u32.
pub const OVPN_SET_PEER_ATTR_PEER_ID: u32 = 1;
/// u32 seconds.
pub const OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL: u32 = 2;
/// u32 seconds.
pub const OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT: u32 = 3;
/// The highest SET_PEER attribute.
pub const OVPN_SET_PEER_ATTR_MAX: u32 = 3;

/// u8 reason (notifications).
pub const OVPN_DEL_PEER_ATTR_REASON: u32 = 1;
/// u32.
pub const OVPN_DEL_PEER_ATTR_PEER_ID: u32 = 2;
/// The highest DEL_PEER attribute.
pub const OVPN_DEL_PEER_ATTR_MAX: u32 = 2;

/// u32.
pub const OVPN_GET_PEER_ATTR_PEER_ID: u32 = 1;
/// The highest GET_PEER request attribute.
pub const OVPN_GET_PEER_ATTR_MAX: u32 = 1;

/// Unused type; the pad attribute before 64-bit values.
pub const OVPN_GET_PEER_RESP_ATTR_UNSPEC: u32 = 0;
/// u32.
pub const OVPN_GET_PEER_RESP_ATTR_PEER_ID: u32 = 1;
/// sockaddr (UDP only).
pub const OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE: u32 = 2;
/// be32.
pub const OVPN_GET_PEER_RESP_ATTR_IPV4: u32 = 3;
/// 16 bytes.
pub const OVPN_GET_PEER_RESP_ATTR_IPV6: u32 = 4;
/// 4 or 16 bytes (UDP only).
pub const OVPN_GET_PEER_RESP_ATTR_LOCAL_IP: u32 = 5;
/// be16.
pub const OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT: u32 = 6;
/// u32.
pub const OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL: u32 = 7;
/// u32.
pub const OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT: u32 = 8;
/// u64.
pub const OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES: u32 = 9;
/// u64.
pub const OVPN_GET_PEER_RESP_ATTR_VPN_TX_BYTES: u32 = 10;
/// u32.
pub const OVPN_GET_PEER_RESP_ATTR_VPN_RX_PACKETS: u32 = 11;
/// u32.
pub const OVPN_GET_PEER_RESP_ATTR_VPN_TX_PACKETS: u32 = 12;
/// u64.
pub const OVPN_GET_PEER_RESP_ATTR_LINK_RX_BYTES: u32 = 13;
/// u64.
pub const OVPN_GET_PEER_RESP_ATTR_LINK_TX_BYTES: u32 = 14;
/// u32.
pub const OVPN_GET_PEER_RESP_ATTR_LINK_RX_PACKETS: u32 = 15;
/// u32.
pub const OVPN_GET_PEER_RESP_ATTR_LINK_TX_PACKETS: u32 = 16;
/// The highest GET_PEER reply attribute.
pub const OVPN_GET_PEER_RESP_ATTR_MAX: u32 = 16;
