/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * ovpn-dco-v2: generated from Documentation/netlink/specs/ovpn-dco-v2.yaml
 * by tools/ynl-gen.py.  Do not edit: change the spec and run the script.
 *
 * The generic netlink API of the OpenVPN data channel offload, served by
 * "ovpn-dco" links.  OpenVPN 2.6.2 and later speak it.
 *
 * Every request names its device with OVPN_ATTR_IFINDEX and carries the
 * nested attribute of its command (OVPN_CMD_NEW_PEER with
 * OVPN_ATTR_NEW_PEER, ...).  Every command needs CAP_NET_ADMIN and is
 * validated strictly: exact integer sizes, NLA_F_NESTED on nests, no
 * unknown attribute.  Attributes the request handler needs but the
 * policies cannot require (marked "required") are refused with EINVAL when
 * missing.
 *
 * The link is configured through rtnetlink: IFLA_INFO_KIND "ovpn-dco" with
 * IFLA_OVPN_MODE (u8, enum ovpn_mode) in IFLA_INFO_DATA; <linux/if_link.h>
 * has both since Linux 6.16.
 */
#ifndef _UAPI_LINUX_OVPN_DCO_H_
#define _UAPI_LINUX_OVPN_DCO_H_

#define OVPN_NL_NAME "ovpn-dco-v2"
#define OVPN_DCO_NL_VERSION 1
#define OVPN_NL_MULTICAST_GROUP_PEERS "peers"

/*
 * Commands.  The reply to OVPN_CMD_GET_PEER has its number; notifications
 * have the number of the command named.
 */
enum ovpn_nl_commands {
	OVPN_CMD_UNSPEC = 0,	/* Reserved */
	OVPN_CMD_NEW_PEER = 1,	/* Adds a peer, taking over its socket */
	OVPN_CMD_SET_PEER = 2,	/* Sets a peer's keepalive */
	OVPN_CMD_DEL_PEER = 3,	/* Deletes a peer; also notification del-peer-ntf */
	OVPN_CMD_NEW_KEY = 4,	/* Installs a key in a slot */
	OVPN_CMD_SWAP_KEYS = 5,	/* Swaps the primary and secondary key slots */
	OVPN_CMD_DEL_KEY = 6,	/* Empties a key slot */
	OVPN_CMD_GET_PEER = 7,	/* Reads a peer (do) or every peer of the device (dump) */
	__OVPN_CMD_MAX,
	OVPN_CMD_MAX = __OVPN_CMD_MAX - 1
};

enum ovpn_cipher_alg {
	OVPN_CIPHER_ALG_NONE = 0,		/* refused: the kernel never runs unencrypted */
	OVPN_CIPHER_ALG_AES_GCM = 1,		/* gcm(aes), 128/192/256-bit keys */
	OVPN_CIPHER_ALG_CHACHA20_POLY1305 = 2,	/* rfc7539(chacha20,poly1305) */
};

enum ovpn_del_peer_reason {
	/* the device or the module went, or a P2P peer was replaced */
	OVPN_DEL_PEER_REASON_TEARDOWN = 0,
	/* OVPN_CMD_DEL_PEER */
	OVPN_DEL_PEER_REASON_USERSPACE = 1,
	/* no packet within the keepalive timeout */
	OVPN_DEL_PEER_REASON_EXPIRED = 2,
	/* the TCP stream broke */
	OVPN_DEL_PEER_REASON_TRANSPORT_ERROR = 3,
	/* the socket was closed, or the remote closed the TCP stream */
	OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT = 4,
	__OVPN_DEL_PEER_REASON_AFTER_LAST,
	OVPN_DEL_PEER_REASON_MAX = __OVPN_DEL_PEER_REASON_AFTER_LAST - 1
};
#define __OVPN_DEL_PEER_REASON_FIRST 0	/* The lowest reason. */

enum ovpn_key_slot {
	OVPN_KEY_SLOT_PRIMARY = 0,	/* the key that encrypts */
	OVPN_KEY_SLOT_SECONDARY = 1,	/* decrypts only, until swapped in */
	__OVPN_KEY_SLOT_AFTER_LAST,
	OVPN_KEY_SLOT_MAX = __OVPN_KEY_SLOT_AFTER_LAST - 1
};
#define __OVPN_KEY_SLOT_FIRST 0	/* The lowest key slot. */

/* Top-level attributes. */
enum ovpn_netlink_attrs {
	OVPN_ATTR_UNSPEC = 0,
	/* u32; required in every request */
	OVPN_ATTR_IFINDEX = 1,
	/* nest: ovpn_netlink_new_peer_attrs */
	OVPN_ATTR_NEW_PEER = 2,
	/* nest: ovpn_netlink_set_peer_attrs */
	OVPN_ATTR_SET_PEER = 3,
	/* nest: ovpn_netlink_del_peer_attrs */
	OVPN_ATTR_DEL_PEER = 4,
	/* nest: ovpn_netlink_new_key_attrs */
	OVPN_ATTR_NEW_KEY = 5,
	/* nest: ovpn_netlink_swap_keys_attrs */
	OVPN_ATTR_SWAP_KEYS = 6,
	/* nest: ovpn_netlink_del_key_attrs */
	OVPN_ATTR_DEL_KEY = 7,
	/*
	 * nest: ovpn_netlink_get_peer_attrs (requests),
	 * ovpn_netlink_get_peer_response_attrs (replies)
	 */
	OVPN_ATTR_GET_PEER = 8,
	__OVPN_ATTR_AFTER_LAST,
	OVPN_ATTR_MAX = __OVPN_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_NEW_KEY_ATTR_ENCRYPT_KEY and OVPN_NEW_KEY_ATTR_DECRYPT_KEY. */
enum ovpn_netlink_key_dir_attrs {
	OVPN_KEY_DIR_ATTR_UNSPEC = 0,
	/* binary, at most 255 bytes; required, of a size the cipher takes */
	OVPN_KEY_DIR_ATTR_CIPHER_KEY = 1,
	/* binary, 8 bytes; required */
	OVPN_KEY_DIR_ATTR_NONCE_TAIL = 2,
	__OVPN_KEY_DIR_ATTR_AFTER_LAST,
	OVPN_KEY_DIR_ATTR_MAX = __OVPN_KEY_DIR_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_ATTR_NEW_KEY. */
enum ovpn_netlink_new_key_attrs {
	OVPN_NEW_KEY_ATTR_UNSPEC = 0,
	/* u32; required */
	OVPN_NEW_KEY_ATTR_PEER_ID = 1,
	/* u8, enum ovpn_key_slot; primary if absent */
	OVPN_NEW_KEY_ATTR_KEY_SLOT = 2,
	/* u8; required, 0..7 */
	OVPN_NEW_KEY_ATTR_KEY_ID = 3,
	/* u16; required, enum ovpn_cipher_alg, AES-GCM or ChaCha20-Poly1305 */
	OVPN_NEW_KEY_ATTR_CIPHER_ALG = 4,
	/* nest: ovpn_netlink_key_dir_attrs; required */
	OVPN_NEW_KEY_ATTR_ENCRYPT_KEY = 5,
	/* nest: ovpn_netlink_key_dir_attrs; required */
	OVPN_NEW_KEY_ATTR_DECRYPT_KEY = 6,
	__OVPN_NEW_KEY_ATTR_AFTER_LAST,
	OVPN_NEW_KEY_ATTR_MAX = __OVPN_NEW_KEY_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_ATTR_DEL_KEY. */
enum ovpn_netlink_del_key_attrs {
	OVPN_DEL_KEY_ATTR_UNSPEC = 0,
	OVPN_DEL_KEY_ATTR_PEER_ID = 1,	/* u32; required */
	OVPN_DEL_KEY_ATTR_KEY_SLOT = 2,	/* u8, enum ovpn_key_slot; primary if absent */
	__OVPN_DEL_KEY_ATTR_AFTER_LAST,
	OVPN_DEL_KEY_ATTR_MAX = __OVPN_DEL_KEY_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_ATTR_SWAP_KEYS. */
enum ovpn_netlink_swap_keys_attrs {
	OVPN_SWAP_KEYS_ATTR_UNSPEC = 0,
	OVPN_SWAP_KEYS_ATTR_PEER_ID = 1,	/* u32; required */
	__OVPN_SWAP_KEYS_ATTR_AFTER_LAST,
	OVPN_SWAP_KEYS_ATTR_MAX = __OVPN_SWAP_KEYS_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_ATTR_NEW_PEER.  A peer of an MP device needs ipv4 or ipv6. */
enum ovpn_netlink_new_peer_attrs {
	OVPN_NEW_PEER_ATTR_UNSPEC = 0,
	/* u32; required, below 0xffffff */
	OVPN_NEW_PEER_ATTR_PEER_ID = 1,
	/* binary, at least 16 bytes; struct sockaddr_in or sockaddr_in6, required on UDP */
	OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE = 2,
	/* u32; required, a UDP or connected TCP socket's fd in the caller */
	OVPN_NEW_PEER_ATTR_SOCKET = 3,
	/* be32; the peer's VPN IPv4 address */
	OVPN_NEW_PEER_ATTR_IPV4 = 4,
	/* binary, 16 bytes; the peer's VPN IPv6 address */
	OVPN_NEW_PEER_ATTR_IPV6 = 5,
	/* binary, at most 16 bytes; an address of the remote's family */
	OVPN_NEW_PEER_ATTR_LOCAL_IP = 6,
	__OVPN_NEW_PEER_ATTR_AFTER_LAST,
	OVPN_NEW_PEER_ATTR_MAX = __OVPN_NEW_PEER_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_ATTR_SET_PEER.  Both keepalive values, or none. */
enum ovpn_netlink_set_peer_attrs {
	OVPN_SET_PEER_ATTR_UNSPEC = 0,
	OVPN_SET_PEER_ATTR_PEER_ID = 1,			/* u32; required */
	OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL = 2,	/* u32; seconds, 0 = off */
	OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT = 3,	/* u32; seconds, 0 = off */
	__OVPN_SET_PEER_ATTR_AFTER_LAST,
	OVPN_SET_PEER_ATTR_MAX = __OVPN_SET_PEER_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_ATTR_DEL_PEER, in requests and notifications. */
enum ovpn_netlink_del_peer_attrs {
	OVPN_DEL_PEER_ATTR_UNSPEC = 0,
	OVPN_DEL_PEER_ATTR_REASON = 1,	/* u8, enum ovpn_del_peer_reason; notifications */
	OVPN_DEL_PEER_ATTR_PEER_ID = 2,	/* u32; required */
	__OVPN_DEL_PEER_ATTR_AFTER_LAST,
	OVPN_DEL_PEER_ATTR_MAX = __OVPN_DEL_PEER_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_ATTR_GET_PEER, in requests. */
enum ovpn_netlink_get_peer_attrs {
	OVPN_GET_PEER_ATTR_UNSPEC = 0,
	OVPN_GET_PEER_ATTR_PEER_ID = 1,	/* u32; required */
	__OVPN_GET_PEER_ATTR_AFTER_LAST,
	OVPN_GET_PEER_ATTR_MAX = __OVPN_GET_PEER_ATTR_AFTER_LAST - 1
};

/* Inside OVPN_ATTR_GET_PEER, in replies to OVPN_CMD_GET_PEER. */
enum ovpn_netlink_get_peer_response_attrs {
	OVPN_GET_PEER_RESP_ATTR_UNSPEC = 0,		/* the pad type of the u64s */
	OVPN_GET_PEER_RESP_ATTR_PEER_ID = 1,		/* u32 */
	OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE = 2,	/* binary; a sockaddr (UDP only) */
	OVPN_GET_PEER_RESP_ATTR_IPV4 = 3,		/* be32 */
	OVPN_GET_PEER_RESP_ATTR_IPV6 = 4,		/* binary; a struct in6_addr */
	OVPN_GET_PEER_RESP_ATTR_LOCAL_IP = 5,		/* binary; 4 or 16 bytes (UDP only) */
	OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT = 6,		/* be16 */
	OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL = 7,	/* u32 */
	OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT = 8,	/* u32 */
	OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES = 9,	/* u64 */
	OVPN_GET_PEER_RESP_ATTR_VPN_TX_BYTES = 10,	/* u64 */
	OVPN_GET_PEER_RESP_ATTR_VPN_RX_PACKETS = 11,	/* u32 */
	OVPN_GET_PEER_RESP_ATTR_VPN_TX_PACKETS = 12,	/* u32 */
	OVPN_GET_PEER_RESP_ATTR_LINK_RX_BYTES = 13,	/* u64 */
	OVPN_GET_PEER_RESP_ATTR_LINK_TX_BYTES = 14,	/* u64 */
	OVPN_GET_PEER_RESP_ATTR_LINK_RX_PACKETS = 15,	/* u32 */
	OVPN_GET_PEER_RESP_ATTR_LINK_TX_PACKETS = 16,	/* u32 */
	__OVPN_GET_PEER_RESP_ATTR_AFTER_LAST,
	OVPN_GET_PEER_RESP_ATTR_MAX = __OVPN_GET_PEER_RESP_ATTR_AFTER_LAST - 1
};

#endif /* _UAPI_LINUX_OVPN_DCO_H_ */
