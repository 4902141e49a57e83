/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C side of ovpn-dco-v2, read by bindgen and by the C files next to it.
 *
 * compat/ holds only what Rust cannot reach: wrappers for static inline
 * functions and macros, the declarative netlink tables (policies use
 * macros throughout) and shims for older kernels.  All logic is in src/.
 */
#ifndef OVPN_DCO_COMPAT_H
#define OVPN_DCO_COMPAT_H

#include <linux/etherdevice.h>
#include <linux/inetdevice.h>
#include <linux/ethtool.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <linux/version.h>
#include <net/genetlink.h>
#include <net/inet_sock.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/rtnetlink.h>

#include "../include/uapi/linux/ovpn_dco.h"

#define OVPN_DCO_VERSION "2.0.0"

/* <linux/if_link.h> has the link attributes since 6.16. */
#ifndef IFLA_OVPN_MAX
enum ovpn_mode { OVPN_MODE_P2P, OVPN_MODE_MP };
enum { IFLA_OVPN_UNSPEC, IFLA_OVPN_MODE, __IFLA_OVPN_MAX };
#define IFLA_OVPN_MAX (__IFLA_OVPN_MAX - 1)
#endif

/* Tables in netlink_gen.c. */
extern const struct nla_policy ovpn_dco_link_policy[IFLA_OVPN_MAX + 1];
extern struct genl_family ovpn_dco_nl_family;

/* Implemented in Rust (src/abstractions/genl.rs), called by the genl core. */
int ovpn_dco_nl_doit(struct sk_buff *skb, struct genl_info *info);
int ovpn_dco_nl_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

/* netlink_gen.c: the policy and highest type of a command's nest. */
const struct nla_policy *ovpn_compat_nested_policy(int attr);
int ovpn_compat_nested_maxtype(int attr);
const struct nla_policy *ovpn_compat_key_dir_policy(void);

/* Wrappers for static inline functions and macros (compat.c). */
void *ovpn_compat_netdev_priv(const struct net_device *dev);
struct net *ovpn_compat_genl_info_net(const struct genl_info *info);
struct genl_info *ovpn_compat_genl_info_dump(struct netlink_callback *cb);
struct net *ovpn_compat_dev_net(const struct net_device *dev);
void *ovpn_compat_nla_data(const struct nlattr *nla);
int ovpn_compat_nla_len(const struct nlattr *nla);
int ovpn_compat_nla_parse_nested(struct nlattr **tb, int maxtype,
				 const struct nlattr *nla,
				 const struct nla_policy *policy,
				 struct netlink_ext_ack *extack);
void ovpn_compat_dev_hold(struct net_device *dev);
void ovpn_compat_dev_put(struct net_device *dev);
struct net_device *ovpn_compat_dev_get_by_index(struct net *net, int ifindex);
void ovpn_compat_dev_dstats_rx_add(struct net_device *dev, unsigned int len);
void ovpn_compat_dev_dstats_tx_add(struct net_device *dev, unsigned int len);
void ovpn_compat_dev_dstats_rx_dropped(struct net_device *dev);
void ovpn_compat_dev_dstats_tx_dropped(struct net_device *dev);
void ovpn_compat_kfree_skb(struct sk_buff *skb);
void ovpn_compat_netif_tx_start_all_queues(struct net_device *dev);
void ovpn_compat_netif_tx_stop_all_queues(struct net_device *dev);
void ovpn_compat_disable_send_redirects(struct net_device *dev);
void ovpn_compat_setup_bitfields(struct net_device *dev);
struct socket *ovpn_compat_sockfd_lookup(int fd, int *err);
void ovpn_compat_sockfd_put(struct socket *sock);
void ovpn_compat_sock_info(const struct socket *sock, u16 *family, u16 *type,
			   u16 *protocol, u16 *sport);
struct sk_buff *ovpn_compat_genlmsg_new(bool atomic);
void *ovpn_compat_genlmsg_put(struct sk_buff *skb, u32 portid, u32 seq,
			      int flags, u8 cmd);
void ovpn_compat_genlmsg_end(struct sk_buff *skb, void *hdr);
void ovpn_compat_genlmsg_cancel(struct sk_buff *skb, void *hdr);
void ovpn_compat_nlmsg_free(struct sk_buff *skb);
int ovpn_compat_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
int ovpn_compat_genlmsg_multicast_netns(struct net *net, struct sk_buff *skb,
					unsigned int group, bool atomic);
struct nlattr *ovpn_compat_nla_nest_start(struct sk_buff *skb, int attrtype);
void ovpn_compat_nla_nest_end(struct sk_buff *skb, struct nlattr *start);
void ovpn_compat_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start);
u32 ovpn_compat_info_portid(const struct genl_info *info);
u32 ovpn_compat_info_seq(const struct genl_info *info);
u32 ovpn_compat_cb_portid(const struct netlink_callback *cb);
u32 ovpn_compat_cb_seq(const struct netlink_callback *cb);
long *ovpn_compat_cb_args(struct netlink_callback *cb);

#endif /* OVPN_DCO_COMPAT_H */
