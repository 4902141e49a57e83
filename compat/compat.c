// SPDX-License-Identifier: GPL-2.0
/*
 * Wrappers that give the Rust side of ovpn-dco-v2 access to kernel static
 * inline functions and macros: single calls or field accesses, and the
 * checks that must precede a field access (a socket's family before its
 * inet part).
 */
#include "ovpn_compat.h"

MODULE_VERSION(OVPN_DCO_VERSION);

void *ovpn_compat_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

struct net *ovpn_compat_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

struct genl_info *ovpn_compat_genl_info_dump(struct netlink_callback *cb)
{
	return (struct genl_info *)genl_info_dump(cb);
}

struct net *ovpn_compat_dev_net(const struct net_device *dev)
{
	return dev_net(dev);
}

void *ovpn_compat_nla_data(const struct nlattr *nla)
{
	return nla_data(nla);
}

int ovpn_compat_nla_len(const struct nlattr *nla)
{
	return nla_len(nla);
}

int ovpn_compat_nla_parse_nested(struct nlattr **tb, int maxtype,
				 const struct nlattr *nla,
				 const struct nla_policy *policy,
				 struct netlink_ext_ack *extack)
{
	return nla_parse_nested(tb, maxtype, nla, policy, extack);
}

void ovpn_compat_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

void ovpn_compat_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

struct net_device *ovpn_compat_dev_get_by_index(struct net *net, int ifindex)
{
	return dev_get_by_index(net, ifindex);
}

void ovpn_compat_dev_dstats_rx_add(struct net_device *dev, unsigned int len)
{
	dev_dstats_rx_add(dev, len);
}

void ovpn_compat_dev_dstats_tx_add(struct net_device *dev, unsigned int len)
{
	dev_dstats_tx_add(dev, len);
}

void ovpn_compat_dev_dstats_rx_dropped(struct net_device *dev)
{
	dev_dstats_rx_dropped(dev);
}

void ovpn_compat_dev_dstats_tx_dropped(struct net_device *dev)
{
	dev_dstats_tx_dropped(dev);
}

void ovpn_compat_kfree_skb(struct sk_buff *skb)
{
	kfree_skb(skb);
}

void ovpn_compat_netif_tx_start_all_queues(struct net_device *dev)
{
	netif_tx_start_all_queues(dev);
}

void ovpn_compat_netif_tx_stop_all_queues(struct net_device *dev)
{
	netif_tx_stop_all_queues(dev);
}

void ovpn_compat_disable_send_redirects(struct net_device *dev)
{
	struct in_device *in_dev = __in_dev_get_rtnl(dev);

	if (in_dev)
		IN_DEV_CONF_SET(in_dev, SEND_REDIRECTS, false);
	IPV4_DEVCONF_ALL(dev_net(dev), SEND_REDIRECTS) = false;
}

void ovpn_compat_setup_bitfields(struct net_device *dev)
{
	dev->lltx = true;
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_DSTATS;
	/* No qdisc: the device queues nothing, it encrypts and sends. */
	dev->priv_flags |= IFF_NO_QUEUE;
	/* Keep the route on packets handed to ndo_start_xmit: in MP mode the
	 * peer is found by the route's gateway.
	 */
	netif_keep_dst(dev);
}

struct socket *ovpn_compat_sockfd_lookup(int fd, int *err)
{
	return sockfd_lookup(fd, err);
}

void ovpn_compat_sockfd_put(struct socket *sock)
{
	sockfd_put(sock);
}

void ovpn_compat_sock_hold(struct sock *sk)
{
	sock_hold(sk);
}

void ovpn_compat_sock_put(struct sock *sk)
{
	sock_put(sk);
}

void ovpn_compat_sock_info(const struct socket *sock, u16 *family, u16 *type,
			   u16 *protocol, u16 *sport)
{
	const struct sock *sk = sock->sk;

	*family = sk->sk_family;
	*type = sk->sk_type;
	*protocol = sk->sk_protocol;
	/* Only an inet socket's object has an inet_sock around it. */
	*sport = 0;
	if (sk->sk_family == AF_INET || sk->sk_family == AF_INET6)
		*sport = ntohs(inet_sk(sk)->inet_sport);
}

struct sk_buff *ovpn_compat_genlmsg_new(bool atomic)
{
	return genlmsg_new(GENLMSG_DEFAULT_SIZE, atomic ? GFP_ATOMIC : GFP_KERNEL);
}

void *ovpn_compat_genlmsg_put(struct sk_buff *skb,
			      const struct genl_family *family, u32 portid,
			      u32 seq, int flags, u8 cmd)
{
	return genlmsg_put(skb, portid, seq, family, flags, cmd);
}

void ovpn_compat_genlmsg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

void ovpn_compat_genlmsg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

void ovpn_compat_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
}

int ovpn_compat_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

int ovpn_compat_genlmsg_multicast_netns(const struct genl_family *family,
					struct net *net, struct sk_buff *skb,
					unsigned int group, bool atomic)
{
	return genlmsg_multicast_netns(family, net, skb, 0, group,
				       atomic ? GFP_ATOMIC : GFP_KERNEL);
}

struct net *ovpn_compat_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

/* The id `net` knows `peer` by, allocating one if needed (as the replies
 * of Linux's driver do, from atomic context).
 */
int ovpn_compat_peernet2id(struct net *net, struct net *peer)
{
	return peernet2id_alloc(net, peer, GFP_ATOMIC);
}

struct nlattr *ovpn_compat_nla_nest_start(struct sk_buff *skb, int attrtype)
{
	return nla_nest_start(skb, attrtype);
}

void ovpn_compat_nla_nest_end(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_end(skb, start);
}

u32 ovpn_compat_info_portid(const struct genl_info *info)
{
	return info->snd_portid;
}

u32 ovpn_compat_info_seq(const struct genl_info *info)
{
	return info->snd_seq;
}

u32 ovpn_compat_cb_portid(const struct netlink_callback *cb)
{
	return NETLINK_CB(cb->skb).portid;
}

u32 ovpn_compat_cb_seq(const struct netlink_callback *cb)
{
	return cb->nlh->nlmsg_seq;
}

long *ovpn_compat_cb_args(struct netlink_callback *cb)
{
	return cb->args;
}

/* A grace-period cookie, and waiting for a full grace period since one
 * (no wait if one has passed already).
 */
unsigned long ovpn_compat_rcu_cookie(void)
{
	return get_state_synchronize_rcu();
}

void ovpn_compat_rcu_wait(unsigned long cookie)
{
	cond_synchronize_rcu(cookie);
}
