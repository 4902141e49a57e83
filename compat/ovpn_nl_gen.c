// SPDX-License-Identifier: GPL-2.0
/*
 * Declarative netlink tables of Linux's `ovpn` API (OpenVPN 2.7), served
 * beside ovpn-dco-v2: the attribute policies of the "ovpn" generic netlink
 * family and of the "ovpn" link kind, the family's split operations (each
 * with its own policy and highest attribute type) and its multicast group,
 * as Documentation/netlink/specs/ovpn.yaml of Linux 7.3 defines them.
 *
 * This translation unit includes <uapi/linux/ovpn.h> and not ovpn_dco.h:
 * both headers define the same enum names.  The handlers are written in
 * Rust (src/abstractions/genl.rs dispatches them to src/netlink/ovpn.rs).
 */
#include <linux/if_link.h>
#include <net/genetlink.h>
#include <net/netlink.h>
#include <uapi/linux/ovpn.h>

int ovpn_api_nl_doit(struct sk_buff *skb, struct genl_info *info);
int ovpn_api_nl_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
const struct nla_policy *ovpn_compat_api_nest_policy(int cmd, int *maxtype);
int ovpn_compat_api_op_maxattr(int cmd, bool dump);
const struct nla_policy *ovpn_compat_api_keydir_policy(void);

/* IFLA_INFO_DATA of the "ovpn" kind: the mode, P2P (0) or MP (1). */
const struct nla_policy ovpn_api_link_policy[IFLA_OVPN_MAX + 1] = {
	[IFLA_OVPN_MODE] = NLA_POLICY_RANGE(NLA_U8, OVPN_MODE_P2P, OVPN_MODE_MP),
};

/* Peer ids are 24 bits wide; keepalive values are at most a day. */
static const struct netlink_range_validation ovpn_api_id_range = {
	.max = 0xffffff,
};

static const struct netlink_range_validation ovpn_api_keepalive_range = {
	.max = 86400,
};

static const struct nla_policy ovpn_api_keydir_policy[OVPN_A_KEYDIR_MAX + 1] = {
	[OVPN_A_KEYDIR_CIPHER_KEY] = NLA_POLICY_MAX_LEN(256),
	[OVPN_A_KEYDIR_NONCE_TAIL] = NLA_POLICY_EXACT_LEN(OVPN_NONCE_TAIL_SIZE),
};

static const struct nla_policy ovpn_api_keyconf_policy[OVPN_A_KEYCONF_MAX + 1] = {
	[OVPN_A_KEYCONF_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
	[OVPN_A_KEYCONF_SLOT] = NLA_POLICY_MAX(NLA_U32, OVPN_KEY_SLOT_SECONDARY),
	[OVPN_A_KEYCONF_KEY_ID] = NLA_POLICY_MAX(NLA_U32, 7),
	[OVPN_A_KEYCONF_CIPHER_ALG] = NLA_POLICY_MAX(NLA_U32, OVPN_CIPHER_ALG_CHACHA20_POLY1305),
	[OVPN_A_KEYCONF_ENCRYPT_DIR] = NLA_POLICY_NESTED(ovpn_api_keydir_policy),
	[OVPN_A_KEYCONF_DECRYPT_DIR] = NLA_POLICY_NESTED(ovpn_api_keydir_policy),
};

/* KEY_GET: the key's coordinates, no key material. */
static const struct nla_policy ovpn_api_keyconf_get_policy[OVPN_A_KEYCONF_CIPHER_ALG + 1] = {
	[OVPN_A_KEYCONF_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
	[OVPN_A_KEYCONF_SLOT] = NLA_POLICY_MAX(NLA_U32, OVPN_KEY_SLOT_SECONDARY),
	[OVPN_A_KEYCONF_KEY_ID] = NLA_POLICY_MAX(NLA_U32, 7),
	[OVPN_A_KEYCONF_CIPHER_ALG] = NLA_POLICY_MAX(NLA_U32, OVPN_CIPHER_ALG_CHACHA20_POLY1305),
};

static const struct nla_policy ovpn_api_keyconf_swap_policy[OVPN_A_KEYCONF_PEER_ID + 1] = {
	[OVPN_A_KEYCONF_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
};

static const struct nla_policy ovpn_api_keyconf_del_policy[OVPN_A_KEYCONF_SLOT + 1] = {
	[OVPN_A_KEYCONF_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
	[OVPN_A_KEYCONF_SLOT] = NLA_POLICY_MAX(NLA_U32, OVPN_KEY_SLOT_SECONDARY),
};

/* Every peer attribute (PEER_GET do accepts them all in the policy; the
 * handler then refuses anything but the id).
 */
static const struct nla_policy ovpn_api_peer_policy[OVPN_A_PEER_MAX + 1] = {
	[OVPN_A_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
	[OVPN_A_PEER_REMOTE_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_REMOTE_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID] = { .type = NLA_U32 },
	[OVPN_A_PEER_REMOTE_PORT] = NLA_POLICY_MIN(NLA_BE16, 1),
	[OVPN_A_PEER_SOCKET] = { .type = NLA_U32 },
	[OVPN_A_PEER_SOCKET_NETNSID] = { .type = NLA_S32 },
	[OVPN_A_PEER_VPN_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_VPN_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_LOCAL_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_LOCAL_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_LOCAL_PORT] = NLA_POLICY_MIN(NLA_BE16, 1),
	[OVPN_A_PEER_KEEPALIVE_INTERVAL] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_keepalive_range),
	[OVPN_A_PEER_KEEPALIVE_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_keepalive_range),
	[OVPN_A_PEER_DEL_REASON] = NLA_POLICY_MAX(NLA_U32, OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT),
	[OVPN_A_PEER_VPN_RX_BYTES] = { .type = NLA_UINT },
	[OVPN_A_PEER_VPN_TX_BYTES] = { .type = NLA_UINT },
	[OVPN_A_PEER_VPN_RX_PACKETS] = { .type = NLA_UINT },
	[OVPN_A_PEER_VPN_TX_PACKETS] = { .type = NLA_UINT },
	[OVPN_A_PEER_LINK_RX_BYTES] = { .type = NLA_UINT },
	[OVPN_A_PEER_LINK_TX_BYTES] = { .type = NLA_UINT },
	[OVPN_A_PEER_LINK_RX_PACKETS] = { .type = NLA_UINT },
	[OVPN_A_PEER_LINK_TX_PACKETS] = { .type = NLA_UINT },
	[OVPN_A_PEER_TX_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
};

/* PEER_NEW: what userspace configures, the socket included. */
static const struct nla_policy ovpn_api_peer_new_policy[OVPN_A_PEER_MAX + 1] = {
	[OVPN_A_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
	[OVPN_A_PEER_REMOTE_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_REMOTE_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID] = { .type = NLA_U32 },
	[OVPN_A_PEER_REMOTE_PORT] = NLA_POLICY_MIN(NLA_BE16, 1),
	[OVPN_A_PEER_SOCKET] = { .type = NLA_U32 },
	[OVPN_A_PEER_VPN_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_VPN_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_LOCAL_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_LOCAL_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_KEEPALIVE_INTERVAL] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_keepalive_range),
	[OVPN_A_PEER_KEEPALIVE_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_keepalive_range),
	[OVPN_A_PEER_TX_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
};

/* PEER_SET: as PEER_NEW, but the socket cannot change. */
static const struct nla_policy ovpn_api_peer_set_policy[OVPN_A_PEER_MAX + 1] = {
	[OVPN_A_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
	[OVPN_A_PEER_REMOTE_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_REMOTE_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID] = { .type = NLA_U32 },
	[OVPN_A_PEER_REMOTE_PORT] = NLA_POLICY_MIN(NLA_BE16, 1),
	[OVPN_A_PEER_VPN_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_VPN_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_LOCAL_IPV4] = { .type = NLA_BE32 },
	[OVPN_A_PEER_LOCAL_IPV6] = NLA_POLICY_EXACT_LEN(16),
	[OVPN_A_PEER_KEEPALIVE_INTERVAL] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_keepalive_range),
	[OVPN_A_PEER_KEEPALIVE_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_keepalive_range),
	[OVPN_A_PEER_TX_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
};

static const struct nla_policy ovpn_api_peer_del_policy[OVPN_A_PEER_ID + 1] = {
	[OVPN_A_PEER_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &ovpn_api_id_range),
};

/* The top-level policies of the operations. */
static const struct nla_policy ovpn_api_peer_new_op[OVPN_A_PEER + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
	[OVPN_A_PEER] = NLA_POLICY_NESTED(ovpn_api_peer_new_policy),
};

static const struct nla_policy ovpn_api_peer_set_op[OVPN_A_PEER + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
	[OVPN_A_PEER] = NLA_POLICY_NESTED(ovpn_api_peer_set_policy),
};

static const struct nla_policy ovpn_api_peer_get_op[OVPN_A_PEER + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
	[OVPN_A_PEER] = NLA_POLICY_NESTED(ovpn_api_peer_policy),
};

/* A dump names the device only. */
static const struct nla_policy ovpn_api_peer_dump_op[OVPN_A_IFINDEX + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
};

static const struct nla_policy ovpn_api_peer_del_op[OVPN_A_PEER + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
	[OVPN_A_PEER] = NLA_POLICY_NESTED(ovpn_api_peer_del_policy),
};

static const struct nla_policy ovpn_api_key_new_op[OVPN_A_KEYCONF + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
	[OVPN_A_KEYCONF] = NLA_POLICY_NESTED(ovpn_api_keyconf_policy),
};

static const struct nla_policy ovpn_api_key_get_op[OVPN_A_KEYCONF + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
	[OVPN_A_KEYCONF] = NLA_POLICY_NESTED(ovpn_api_keyconf_get_policy),
};

static const struct nla_policy ovpn_api_key_swap_op[OVPN_A_KEYCONF + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
	[OVPN_A_KEYCONF] = NLA_POLICY_NESTED(ovpn_api_keyconf_swap_policy),
};

static const struct nla_policy ovpn_api_key_del_op[OVPN_A_KEYCONF + 1] = {
	[OVPN_A_IFINDEX] = { .type = NLA_U32 },
	[OVPN_A_KEYCONF] = NLA_POLICY_NESTED(ovpn_api_keyconf_del_policy),
};

#define OVPN_API_DO(c, pol, max) {					\
	.cmd = (c), .doit = ovpn_api_nl_doit, .policy = (pol),		\
	.maxattr = (max), .flags = GENL_ADMIN_PERM | GENL_CMD_CAP_DO,	\
}

static const struct genl_split_ops ovpn_api_nl_ops[] = {
	OVPN_API_DO(OVPN_CMD_PEER_NEW, ovpn_api_peer_new_op, OVPN_A_PEER),
	OVPN_API_DO(OVPN_CMD_PEER_SET, ovpn_api_peer_set_op, OVPN_A_PEER),
	OVPN_API_DO(OVPN_CMD_PEER_GET, ovpn_api_peer_get_op, OVPN_A_PEER),
	{
		.cmd = OVPN_CMD_PEER_GET,
		.dumpit = ovpn_api_nl_dumpit,
		.policy = ovpn_api_peer_dump_op,
		.maxattr = OVPN_A_IFINDEX,
		.flags = GENL_ADMIN_PERM | GENL_CMD_CAP_DUMP,
	},
	OVPN_API_DO(OVPN_CMD_PEER_DEL, ovpn_api_peer_del_op, OVPN_A_PEER),
	OVPN_API_DO(OVPN_CMD_KEY_NEW, ovpn_api_key_new_op, OVPN_A_KEYCONF),
	OVPN_API_DO(OVPN_CMD_KEY_GET, ovpn_api_key_get_op, OVPN_A_KEYCONF),
	OVPN_API_DO(OVPN_CMD_KEY_SWAP, ovpn_api_key_swap_op, OVPN_A_KEYCONF),
	OVPN_API_DO(OVPN_CMD_KEY_DEL, ovpn_api_key_del_op, OVPN_A_KEYCONF),
};

/* Any user may listen, as with Linux's driver. */
static const struct genl_multicast_group ovpn_api_nl_mcgrps[] = {
	{ .name = OVPN_MCGRP_PEERS },
};

/* The highest top-level attribute type of an operation: the size, less
 * one, of the attribute table the genetlink core hands its handler.  -1
 * for no such operation.
 */
int ovpn_compat_api_op_maxattr(int cmd, bool dump)
{
	u8 want = dump ? GENL_CMD_CAP_DUMP : GENL_CMD_CAP_DO;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ovpn_api_nl_ops); i++)
		if (ovpn_api_nl_ops[i].cmd == cmd &&
		    (ovpn_api_nl_ops[i].flags & want))
			return ovpn_api_nl_ops[i].maxattr;
	return -1;
}

/* The policy of the nest a do operation carries (OVPN_A_PEER or
 * OVPN_A_KEYCONF), and its highest type; NULL for none.
 */
const struct nla_policy *ovpn_compat_api_nest_policy(int cmd, int *maxtype)
{
	switch (cmd) {
	case OVPN_CMD_PEER_NEW:
		*maxtype = OVPN_A_PEER_MAX;
		return ovpn_api_peer_new_policy;
	case OVPN_CMD_PEER_SET:
		*maxtype = OVPN_A_PEER_MAX;
		return ovpn_api_peer_set_policy;
	case OVPN_CMD_PEER_GET:
		*maxtype = OVPN_A_PEER_MAX;
		return ovpn_api_peer_policy;
	case OVPN_CMD_PEER_DEL:
		*maxtype = OVPN_A_PEER_ID;
		return ovpn_api_peer_del_policy;
	case OVPN_CMD_KEY_NEW:
		*maxtype = OVPN_A_KEYCONF_MAX;
		return ovpn_api_keyconf_policy;
	case OVPN_CMD_KEY_GET:
		*maxtype = OVPN_A_KEYCONF_CIPHER_ALG;
		return ovpn_api_keyconf_get_policy;
	case OVPN_CMD_KEY_SWAP:
		*maxtype = OVPN_A_KEYCONF_PEER_ID;
		return ovpn_api_keyconf_swap_policy;
	case OVPN_CMD_KEY_DEL:
		*maxtype = OVPN_A_KEYCONF_SLOT;
		return ovpn_api_keyconf_del_policy;
	default:
		*maxtype = -1;
		return NULL;
	}
}

const struct nla_policy *ovpn_compat_api_keydir_policy(void)
{
	return ovpn_api_keydir_policy;
}

struct genl_family ovpn_api_nl_family = {
	.name = OVPN_FAMILY_NAME,
	.version = OVPN_FAMILY_VERSION,
	.netnsok = true,
	/* Requests serialise on their device's peer lock. */
	.parallel_ops = true,
	.split_ops = ovpn_api_nl_ops,
	.n_split_ops = ARRAY_SIZE(ovpn_api_nl_ops),
	.mcgrps = ovpn_api_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(ovpn_api_nl_mcgrps),
	.module = THIS_MODULE,
};
