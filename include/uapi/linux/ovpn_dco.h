/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * ovpn-dco-v2: the generic netlink API of the OpenVPN data channel offload.
 *
 * This is the ABI OpenVPN 2.6.2 and later speak to an "ovpn-dco" link.  Every
 * number below is part of that ABI and must never change.  The link itself is
 * configured through rtnetlink with IFLA_OVPN_MODE (see <linux/if_link.h>,
 * kernel 6.16 and later; compat/ovpn_compat.h supplies it for older kernels).
 *
 * Every request carries OVPN_ATTR_IFINDEX plus the one nested attribute that
 * belongs to its command (OVPN_CMD_NEW_PEER -> OVPN_ATTR_NEW_PEER, ...).
 */
#ifndef _UAPI_LINUX_OVPN_DCO_H_
#define _UAPI_LINUX_OVPN_DCO_H_

#define OVPN_NL_NAME "ovpn-dco-v2"
#define OVPN_NL_MULTICAST_GROUP_PEERS "peers"

/* Commands.  GET_PEER answers with the same command number. */
enum ovpn_nl_commands {
	OVPN_CMD_UNSPEC = 0,
	OVPN_CMD_NEW_PEER = 1,
	OVPN_CMD_SET_PEER = 2,
	OVPN_CMD_DEL_PEER = 3,	/* also the only notification */
	OVPN_CMD_NEW_KEY = 4,
	OVPN_CMD_SWAP_KEYS = 5,
	OVPN_CMD_DEL_KEY = 6,
	OVPN_CMD_GET_PEER = 7,
};

enum ovpn_cipher_alg {
	OVPN_CIPHER_ALG_NONE = 0,	/* rejected: the kernel never runs unencrypted */
	OVPN_CIPHER_ALG_AES_GCM = 1,	/* gcm(aes), 128/192/256-bit keys */
	OVPN_CIPHER_ALG_CHACHA20_POLY1305 = 2,	/* rfc7539(chacha20,poly1305) */
};

enum ovpn_del_peer_reason {
	OVPN_DEL_PEER_REASON_TEARDOWN = 0,
	OVPN_DEL_PEER_REASON_USERSPACE = 1,
	OVPN_DEL_PEER_REASON_EXPIRED = 2,
	OVPN_DEL_PEER_REASON_TRANSPORT_ERROR = 3,
	OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT = 4,
	__OVPN_DEL_PEER_REASON_AFTER_LAST
};
#define __OVPN_DEL_PEER_REASON_FIRST OVPN_DEL_PEER_REASON_TEARDOWN

enum ovpn_key_slot {
	OVPN_KEY_SLOT_PRIMARY = 0,
	OVPN_KEY_SLOT_SECONDARY = 1,
	__OVPN_KEY_SLOT_AFTER_LAST,
};
#define __OVPN_KEY_SLOT_FIRST OVPN_KEY_SLOT_PRIMARY

/* Top-level attributes. */
enum ovpn_netlink_attrs {
	OVPN_ATTR_UNSPEC = 0,
	OVPN_ATTR_IFINDEX = 1,		/* u32, in every request */
	OVPN_ATTR_NEW_PEER = 2,		/* nest: ovpn_netlink_new_peer_attrs */
	OVPN_ATTR_SET_PEER = 3,		/* nest: ovpn_netlink_set_peer_attrs */
	OVPN_ATTR_DEL_PEER = 4,		/* nest: ovpn_netlink_del_peer_attrs */
	OVPN_ATTR_NEW_KEY = 5,		/* nest: ovpn_netlink_new_key_attrs */
	OVPN_ATTR_SWAP_KEYS = 6,	/* nest: ovpn_netlink_swap_keys_attrs */
	OVPN_ATTR_DEL_KEY = 7,		/* nest: ovpn_netlink_del_key_attrs */
	OVPN_ATTR_GET_PEER = 8,		/* nest: get_peer (request), get_peer_response (reply) */

	__OVPN_ATTR_AFTER_LAST,
	OVPN_ATTR_MAX = __OVPN_ATTR_AFTER_LAST - 1,
};

/* Inside OVPN_NEW_KEY_ATTR_ENCRYPT_KEY and OVPN_NEW_KEY_ATTR_DECRYPT_KEY. */
enum ovpn_netlink_key_dir_attrs {
	OVPN_KEY_DIR_ATTR_UNSPEC = 0,
	OVPN_KEY_DIR_ATTR_CIPHER_KEY = 1,	/* binary, up to 256 bytes */
	OVPN_KEY_DIR_ATTR_NONCE_TAIL = 2,	/* binary, exactly 8 bytes */

	__OVPN_KEY_DIR_ATTR_AFTER_LAST,
	OVPN_KEY_DIR_ATTR_MAX = __OVPN_KEY_DIR_ATTR_AFTER_LAST - 1,
};

enum ovpn_netlink_new_key_attrs {
	OVPN_NEW_KEY_ATTR_UNSPEC = 0,
	OVPN_NEW_KEY_ATTR_PEER_ID = 1,		/* u32 */
	OVPN_NEW_KEY_ATTR_KEY_SLOT = 2,		/* u8, enum ovpn_key_slot */
	OVPN_NEW_KEY_ATTR_KEY_ID = 3,		/* u8, 0..7 */
	OVPN_NEW_KEY_ATTR_CIPHER_ALG = 4,	/* u16, enum ovpn_cipher_alg */
	OVPN_NEW_KEY_ATTR_ENCRYPT_KEY = 5,	/* nest: ovpn_netlink_key_dir_attrs */
	OVPN_NEW_KEY_ATTR_DECRYPT_KEY = 6,	/* nest: ovpn_netlink_key_dir_attrs */

	__OVPN_NEW_KEY_ATTR_AFTER_LAST,
	OVPN_NEW_KEY_ATTR_MAX = __OVPN_NEW_KEY_ATTR_AFTER_LAST - 1,
};

enum ovpn_netlink_del_key_attrs {
	OVPN_DEL_KEY_ATTR_UNSPEC = 0,
	OVPN_DEL_KEY_ATTR_PEER_ID = 1,		/* u32 */
	OVPN_DEL_KEY_ATTR_KEY_SLOT = 2,		/* u8, enum ovpn_key_slot */

	__OVPN_DEL_KEY_ATTR_AFTER_LAST,
	OVPN_DEL_KEY_ATTR_MAX = __OVPN_DEL_KEY_ATTR_AFTER_LAST - 1,
};

enum ovpn_netlink_swap_keys_attrs {
	OVPN_SWAP_KEYS_ATTR_UNSPEC = 0,
	OVPN_SWAP_KEYS_ATTR_PEER_ID = 1,	/* u32 */

	__OVPN_SWAP_KEYS_ATTR_AFTER_LAST,
	OVPN_SWAP_KEYS_ATTR_MAX = __OVPN_SWAP_KEYS_ATTR_AFTER_LAST - 1,
};

enum ovpn_netlink_new_peer_attrs {
	OVPN_NEW_PEER_ATTR_UNSPEC = 0,
	OVPN_NEW_PEER_ATTR_PEER_ID = 1,		/* u32 */
	OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE = 2,	/* struct sockaddr_in or sockaddr_in6 */
	OVPN_NEW_PEER_ATTR_SOCKET = 3,		/* u32, a file descriptor of the caller */
	OVPN_NEW_PEER_ATTR_IPV4 = 4,		/* be32, the peer's VPN IPv4 address */
	OVPN_NEW_PEER_ATTR_IPV6 = 5,		/* struct in6_addr, the peer's VPN IPv6 address */
	OVPN_NEW_PEER_ATTR_LOCAL_IP = 6,	/* 4 or 16 bytes */

	__OVPN_NEW_PEER_ATTR_AFTER_LAST,
	OVPN_NEW_PEER_ATTR_MAX = __OVPN_NEW_PEER_ATTR_AFTER_LAST - 1,
};

enum ovpn_netlink_set_peer_attrs {
	OVPN_SET_PEER_ATTR_UNSPEC = 0,
	OVPN_SET_PEER_ATTR_PEER_ID = 1,			/* u32 */
	OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL = 2,	/* u32, seconds, 0 = off */
	OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT = 3,	/* u32, seconds, 0 = off */

	__OVPN_SET_PEER_ATTR_AFTER_LAST,
	OVPN_SET_PEER_ATTR_MAX = __OVPN_SET_PEER_ATTR_AFTER_LAST - 1,
};

enum ovpn_netlink_del_peer_attrs {
	OVPN_DEL_PEER_ATTR_UNSPEC = 0,
	OVPN_DEL_PEER_ATTR_REASON = 1,		/* u8, enum ovpn_del_peer_reason (notifications) */
	OVPN_DEL_PEER_ATTR_PEER_ID = 2,		/* u32 */

	__OVPN_DEL_PEER_ATTR_AFTER_LAST,
	OVPN_DEL_PEER_ATTR_MAX = __OVPN_DEL_PEER_ATTR_AFTER_LAST - 1,
};

enum ovpn_netlink_get_peer_attrs {
	OVPN_GET_PEER_ATTR_UNSPEC = 0,
	OVPN_GET_PEER_ATTR_PEER_ID = 1,		/* u32 */

	__OVPN_GET_PEER_ATTR_AFTER_LAST,
	OVPN_GET_PEER_ATTR_MAX = __OVPN_GET_PEER_ATTR_AFTER_LAST - 1,
};

/* The reply to OVPN_CMD_GET_PEER, nested in OVPN_ATTR_GET_PEER. */
enum ovpn_netlink_get_peer_response_attrs {
	OVPN_GET_PEER_RESP_ATTR_UNSPEC = 0,	/* also the pad type of the u64s */
	OVPN_GET_PEER_RESP_ATTR_PEER_ID = 1,		/* u32 */
	OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE = 2,	/* sockaddr (UDP only) */
	OVPN_GET_PEER_RESP_ATTR_IPV4 = 3,		/* be32 */
	OVPN_GET_PEER_RESP_ATTR_IPV6 = 4,		/* struct in6_addr */
	OVPN_GET_PEER_RESP_ATTR_LOCAL_IP = 5,		/* 4 or 16 bytes (UDP only) */
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
	OVPN_GET_PEER_RESP_ATTR_MAX = __OVPN_GET_PEER_RESP_ATTR_AFTER_LAST - 1,
};

#endif /* _UAPI_LINUX_OVPN_DCO_H_ */
