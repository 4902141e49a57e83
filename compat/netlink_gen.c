// SPDX-License-Identifier: GPL-2.0
/*
 * Declarative netlink tables of ovpn-dco-v2: attribute policies of the
 * rtnetlink link and of the "ovpn-dco-v2" generic netlink family, its
 * operations and its multicast group.  The numbers come from
 * include/uapi/linux/ovpn_dco.h; the handlers are written in Rust
 * (src/abstractions/genl.rs dispatches them to src/netlink.rs).
 */
#include "ovpn_compat.h"

/* The mode's range is checked in newlink, which rejects a bad one with
 * EINVAL and a message (a range policy would answer ERANGE).
 */
const struct nla_policy ovpn_dco_link_policy[IFLA_OVPN_MAX + 1] = {
	[IFLA_OVPN_MODE] = { .type = NLA_U8 },
};

static const struct nla_policy ovpn_dco_key_dir_policy[OVPN_KEY_DIR_ATTR_MAX + 1] = {
	[OVPN_KEY_DIR_ATTR_CIPHER_KEY] = { .type = NLA_BINARY, .len = U8_MAX },
	[OVPN_KEY_DIR_ATTR_NONCE_TAIL] = NLA_POLICY_EXACT_LEN(8),
};

static const struct nla_policy ovpn_dco_new_key_policy[OVPN_NEW_KEY_ATTR_MAX + 1] = {
	[OVPN_NEW_KEY_ATTR_PEER_ID] = { .type = NLA_U32 },
	[OVPN_NEW_KEY_ATTR_KEY_SLOT] = NLA_POLICY_RANGE(NLA_U8, __OVPN_KEY_SLOT_FIRST,
							__OVPN_KEY_SLOT_AFTER_LAST - 1),
	[OVPN_NEW_KEY_ATTR_KEY_ID] = { .type = NLA_U8 },
	[OVPN_NEW_KEY_ATTR_CIPHER_ALG] = { .type = NLA_U16 },
	[OVPN_NEW_KEY_ATTR_ENCRYPT_KEY] = NLA_POLICY_NESTED(ovpn_dco_key_dir_policy),
	[OVPN_NEW_KEY_ATTR_DECRYPT_KEY] = NLA_POLICY_NESTED(ovpn_dco_key_dir_policy),
};

static const struct nla_policy ovpn_dco_del_key_policy[OVPN_DEL_KEY_ATTR_MAX + 1] = {
	[OVPN_DEL_KEY_ATTR_PEER_ID] = { .type = NLA_U32 },
	[OVPN_DEL_KEY_ATTR_KEY_SLOT] = NLA_POLICY_RANGE(NLA_U8, __OVPN_KEY_SLOT_FIRST,
							__OVPN_KEY_SLOT_AFTER_LAST - 1),
};

static const struct nla_policy ovpn_dco_swap_keys_policy[OVPN_SWAP_KEYS_ATTR_MAX + 1] = {
	[OVPN_SWAP_KEYS_ATTR_PEER_ID] = { .type = NLA_U32 },
};

static const struct nla_policy ovpn_dco_new_peer_policy[OVPN_NEW_PEER_ATTR_MAX + 1] = {
	[OVPN_NEW_PEER_ATTR_PEER_ID] = { .type = NLA_U32 },
	[OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE] = NLA_POLICY_MIN_LEN(sizeof(struct sockaddr)),
	[OVPN_NEW_PEER_ATTR_SOCKET] = { .type = NLA_U32 },
	[OVPN_NEW_PEER_ATTR_IPV4] = { .type = NLA_U32 },
	[OVPN_NEW_PEER_ATTR_IPV6] = NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[OVPN_NEW_PEER_ATTR_LOCAL_IP] = NLA_POLICY_MAX_LEN(sizeof(struct in6_addr)),
};

static const struct nla_policy ovpn_dco_set_peer_policy[OVPN_SET_PEER_ATTR_MAX + 1] = {
	[OVPN_SET_PEER_ATTR_PEER_ID] = { .type = NLA_U32 },
	[OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL] = { .type = NLA_U32 },
	[OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT] = { .type = NLA_U32 },
};

static const struct nla_policy ovpn_dco_del_peer_policy[OVPN_DEL_PEER_ATTR_MAX + 1] = {
	[OVPN_DEL_PEER_ATTR_REASON] = NLA_POLICY_RANGE(NLA_U8, __OVPN_DEL_PEER_REASON_FIRST,
						       __OVPN_DEL_PEER_REASON_AFTER_LAST - 1),
	[OVPN_DEL_PEER_ATTR_PEER_ID] = { .type = NLA_U32 },
};

static const struct nla_policy ovpn_dco_get_peer_policy[OVPN_GET_PEER_ATTR_MAX + 1] = {
	[OVPN_GET_PEER_ATTR_PEER_ID] = { .type = NLA_U32 },
};

static const struct nla_policy ovpn_dco_nl_policy[OVPN_ATTR_MAX + 1] = {
	[OVPN_ATTR_IFINDEX] = { .type = NLA_U32 },
	[OVPN_ATTR_NEW_PEER] = NLA_POLICY_NESTED(ovpn_dco_new_peer_policy),
	[OVPN_ATTR_SET_PEER] = NLA_POLICY_NESTED(ovpn_dco_set_peer_policy),
	[OVPN_ATTR_DEL_PEER] = NLA_POLICY_NESTED(ovpn_dco_del_peer_policy),
	[OVPN_ATTR_NEW_KEY] = NLA_POLICY_NESTED(ovpn_dco_new_key_policy),
	[OVPN_ATTR_SWAP_KEYS] = NLA_POLICY_NESTED(ovpn_dco_swap_keys_policy),
	[OVPN_ATTR_DEL_KEY] = NLA_POLICY_NESTED(ovpn_dco_del_key_policy),
	[OVPN_ATTR_GET_PEER] = NLA_POLICY_NESTED(ovpn_dco_get_peer_policy),
};

/* The policy and highest attribute type of each command's nest, for
 * parsing it (indexed by the top-level attribute type).
 */
static const struct {
	const struct nla_policy *policy;
	int maxtype;
} ovpn_dco_nests[OVPN_ATTR_MAX + 1] = {
	[OVPN_ATTR_NEW_PEER] = { ovpn_dco_new_peer_policy, OVPN_NEW_PEER_ATTR_MAX },
	[OVPN_ATTR_SET_PEER] = { ovpn_dco_set_peer_policy, OVPN_SET_PEER_ATTR_MAX },
	[OVPN_ATTR_DEL_PEER] = { ovpn_dco_del_peer_policy, OVPN_DEL_PEER_ATTR_MAX },
	[OVPN_ATTR_NEW_KEY] = { ovpn_dco_new_key_policy, OVPN_NEW_KEY_ATTR_MAX },
	[OVPN_ATTR_SWAP_KEYS] = { ovpn_dco_swap_keys_policy, OVPN_SWAP_KEYS_ATTR_MAX },
	[OVPN_ATTR_DEL_KEY] = { ovpn_dco_del_key_policy, OVPN_DEL_KEY_ATTR_MAX },
	[OVPN_ATTR_GET_PEER] = { ovpn_dco_get_peer_policy, OVPN_GET_PEER_ATTR_MAX },
};

const struct nla_policy *ovpn_compat_nested_policy(int attr)
{
	if (attr <= 0 || attr > OVPN_ATTR_MAX)
		return NULL;
	return ovpn_dco_nests[attr].policy;
}

int ovpn_compat_nested_maxtype(int attr)
{
	if (attr <= 0 || attr > OVPN_ATTR_MAX)
		return -1;
	return ovpn_dco_nests[attr].maxtype;
}

/* The key-dir nest inside NEW_KEY has a policy of its own. */
const struct nla_policy *ovpn_compat_key_dir_policy(void)
{
	return ovpn_dco_key_dir_policy;
}

#define OVPN_DCO_OP(c)	{					\
	.cmd = (c),						\
	.flags = GENL_ADMIN_PERM,				\
	.doit = ovpn_dco_nl_doit,				\
}

static const struct genl_small_ops ovpn_dco_nl_ops[] = {
	OVPN_DCO_OP(OVPN_CMD_NEW_PEER),
	OVPN_DCO_OP(OVPN_CMD_SET_PEER),
	OVPN_DCO_OP(OVPN_CMD_DEL_PEER),
	OVPN_DCO_OP(OVPN_CMD_NEW_KEY),
	OVPN_DCO_OP(OVPN_CMD_SWAP_KEYS),
	OVPN_DCO_OP(OVPN_CMD_DEL_KEY),
	{
		.cmd = OVPN_CMD_GET_PEER,
		.flags = GENL_ADMIN_PERM,
		.doit = ovpn_dco_nl_doit,
		.dumpit = ovpn_dco_nl_dumpit,
	},
};

static const struct genl_multicast_group ovpn_dco_nl_mcgrps[] = {
	/* Peer ids and why peers went are the administrator's business. */
	{ .name = OVPN_NL_MULTICAST_GROUP_PEERS,
	  .flags = GENL_MCAST_CAP_NET_ADMIN },
};

struct genl_family ovpn_dco_nl_family = {
	.hdrsize = 0,
	.name = OVPN_NL_NAME,
	.version = OVPN_DCO_NL_VERSION,
	.maxattr = OVPN_ATTR_MAX,
	.policy = ovpn_dco_nl_policy,
	.netnsok = true,
	/* Requests serialise on their device's peer lock, not on the genl
	 * core's global mutex (a slow request must not stall every other
	 * family).
	 */
	.parallel_ops = true,
	/* Every command is validated strictly: exact integer sizes,
	 * NLA_F_NESTED on nests, no unknown attributes.
	 */
	.resv_start_op = OVPN_CMD_GET_PEER + 1,
	.small_ops = ovpn_dco_nl_ops,
	.n_small_ops = ARRAY_SIZE(ovpn_dco_nl_ops),
	.mcgrps = ovpn_dco_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(ovpn_dco_nl_mcgrps),
	.module = THIS_MODULE,
};
