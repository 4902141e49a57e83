// SPDX-License-Identifier: GPL-2.0

//! The numbers of Linux's `ovpn` ABI (OpenVPN 2.7): the generic netlink
//! family of `include/uapi/linux/ovpn.h` (Linux 6.16 and later).  The link
//! attribute `IFLA_OVPN_MODE` and the modes are shared with ovpn-dco-v2
//! (`uapi`).
//!
//! The module checks at build time that they equal what bindgen reads from
//! the kernel's header (`abstractions::abi_ovpn`).

/// The generic netlink family name.
pub const OVPN_FAMILY_NAME: &str = "ovpn";
/// The family's version.
pub const OVPN_FAMILY_VERSION: u32 = 1;
/// The multicast group of notifications.
pub const OVPN_MCGRP_PEERS: &str = "peers";
/// Bytes of the nonce tail of a key direction.
pub const OVPN_NONCE_TAIL_SIZE: u32 = 8;

/// No cipher (refused).
pub const OVPN_CIPHER_ALG_NONE: u32 = 0;
/// AES-GCM.
pub const OVPN_CIPHER_ALG_AES_GCM: u32 = 1;
/// ChaCha20-Poly1305.
pub const OVPN_CIPHER_ALG_CHACHA20_POLY1305: u32 = 2;

/// The device went away, or a P2P peer was replaced.
pub const OVPN_DEL_PEER_REASON_TEARDOWN: u32 = 0;
/// Userspace asked for it.
pub const OVPN_DEL_PEER_REASON_USERSPACE: u32 = 1;
/// The keepalive timeout expired.
pub const OVPN_DEL_PEER_REASON_EXPIRED: u32 = 2;
/// The transport failed.
pub const OVPN_DEL_PEER_REASON_TRANSPORT_ERROR: u32 = 3;
/// The transport was closed.
pub const OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT: u32 = 4;

/// The primary key slot (used for TX).
pub const OVPN_KEY_SLOT_PRIMARY: u32 = 0;
/// The secondary key slot.
pub const OVPN_KEY_SLOT_SECONDARY: u32 = 1;

/// Peer attributes (`OVPN_A_PEER` nests).
pub const OVPN_A_PEER_ID: u32 = 1;
/// u32 (network order): the peer's IPv4 transport address.
pub const OVPN_A_PEER_REMOTE_IPV4: u32 = 2;
/// 16 bytes: the peer's IPv6 transport address.
pub const OVPN_A_PEER_REMOTE_IPV6: u32 = 3;
/// u32: the scope id of a link-local IPv6 transport address.
pub const OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID: u32 = 4;
/// be16: the peer's transport port.
pub const OVPN_A_PEER_REMOTE_PORT: u32 = 5;
/// u32: the fd of the peer's socket.
pub const OVPN_A_PEER_SOCKET: u32 = 6;
/// s32: the netns id of the socket's namespace (replies).
pub const OVPN_A_PEER_SOCKET_NETNSID: u32 = 7;
/// u32 (network order): the peer's VPN IPv4 address.
pub const OVPN_A_PEER_VPN_IPV4: u32 = 8;
/// 16 bytes: the peer's VPN IPv6 address.
pub const OVPN_A_PEER_VPN_IPV6: u32 = 9;
/// u32 (network order): the local IPv4 address towards the peer.
pub const OVPN_A_PEER_LOCAL_IPV4: u32 = 10;
/// 16 bytes: the local IPv6 address towards the peer.
pub const OVPN_A_PEER_LOCAL_IPV6: u32 = 11;
/// be16: the local port (replies).
pub const OVPN_A_PEER_LOCAL_PORT: u32 = 12;
/// u32: seconds between keepalive pings.
pub const OVPN_A_PEER_KEEPALIVE_INTERVAL: u32 = 13;
/// u32: seconds of silence before the peer expires.
pub const OVPN_A_PEER_KEEPALIVE_TIMEOUT: u32 = 14;
/// u32: why a peer was deleted (notifications).
pub const OVPN_A_PEER_DEL_REASON: u32 = 15;
/// uint: decrypted bytes delivered.
pub const OVPN_A_PEER_VPN_RX_BYTES: u32 = 16;
/// uint: plaintext bytes sent.
pub const OVPN_A_PEER_VPN_TX_BYTES: u32 = 17;
/// uint: decrypted packets delivered.
pub const OVPN_A_PEER_VPN_RX_PACKETS: u32 = 18;
/// uint: plaintext packets sent.
pub const OVPN_A_PEER_VPN_TX_PACKETS: u32 = 19;
/// uint: encrypted bytes received.
pub const OVPN_A_PEER_LINK_RX_BYTES: u32 = 20;
/// uint: encrypted bytes sent.
pub const OVPN_A_PEER_LINK_TX_BYTES: u32 = 21;
/// uint: encrypted packets received.
pub const OVPN_A_PEER_LINK_RX_PACKETS: u32 = 22;
/// uint: encrypted packets sent.
pub const OVPN_A_PEER_LINK_TX_PACKETS: u32 = 23;
/// u32: the peer id put in packets to the peer (asymmetric ids).
pub const OVPN_A_PEER_TX_ID: u32 = 24;
/// The highest peer attribute.
pub const OVPN_A_PEER_MAX: u32 = 24;

/// Key configuration attributes (`OVPN_A_KEYCONF` nests).
pub const OVPN_A_KEYCONF_PEER_ID: u32 = 1;
/// u32: the key slot.
pub const OVPN_A_KEYCONF_SLOT: u32 = 2;
/// u32: the key id of the wire header (0..7).
pub const OVPN_A_KEYCONF_KEY_ID: u32 = 3;
/// u32: the cipher.
pub const OVPN_A_KEYCONF_CIPHER_ALG: u32 = 4;
/// Nest: the encryption direction.
pub const OVPN_A_KEYCONF_ENCRYPT_DIR: u32 = 5;
/// Nest: the decryption direction.
pub const OVPN_A_KEYCONF_DECRYPT_DIR: u32 = 6;
/// The highest key configuration attribute.
pub const OVPN_A_KEYCONF_MAX: u32 = 6;

/// Key direction attributes: the key.
pub const OVPN_A_KEYDIR_CIPHER_KEY: u32 = 1;
/// The nonce tail (`OVPN_NONCE_TAIL_SIZE` bytes).
pub const OVPN_A_KEYDIR_NONCE_TAIL: u32 = 2;
/// The highest key direction attribute.
pub const OVPN_A_KEYDIR_MAX: u32 = 2;

/// Top-level attributes: u32, the device.
pub const OVPN_A_IFINDEX: u32 = 1;
/// Nest: a peer.
pub const OVPN_A_PEER: u32 = 2;
/// Nest: a key configuration.
pub const OVPN_A_KEYCONF: u32 = 3;
/// The highest top-level attribute.
pub const OVPN_A_MAX: u32 = 3;

/// Adds a peer.
pub const OVPN_CMD_PEER_NEW: u32 = 1;
/// Changes a peer.
pub const OVPN_CMD_PEER_SET: u32 = 2;
/// Reads a peer (do) or all peers (dump).
pub const OVPN_CMD_PEER_GET: u32 = 3;
/// Deletes a peer.
pub const OVPN_CMD_PEER_DEL: u32 = 4;
/// Notification: a peer was deleted.
pub const OVPN_CMD_PEER_DEL_NTF: u32 = 5;
/// Installs a key.
pub const OVPN_CMD_KEY_NEW: u32 = 6;
/// Reads a key's configuration (never its material).
pub const OVPN_CMD_KEY_GET: u32 = 7;
/// Swaps the primary and secondary slots.
pub const OVPN_CMD_KEY_SWAP: u32 = 8;
/// Notification: a key's packet ids ran out; userspace should renegotiate.
pub const OVPN_CMD_KEY_SWAP_NTF: u32 = 9;
/// Deletes a key.
pub const OVPN_CMD_KEY_DEL: u32 = 10;
/// Notification: a peer's transport address changed.
pub const OVPN_CMD_PEER_FLOAT_NTF: u32 = 11;
/// The highest command.
pub const OVPN_CMD_MAX: u32 = 11;
