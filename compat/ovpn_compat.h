/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C side of ovpn-dco-v2, read by bindgen and by the C files next to it.
 *
 * compat/ holds what Rust cannot reach: wrappers for static inline
 * functions and macros, the declarative netlink tables (policies use
 * macros throughout), and the TCP socket takeover (tcp.c: proto copies,
 * save and restore of a socket's hooks), which is about struct proto
 * layout rather than OpenVPN.  The protocol logic is in src/.
 *
 * The oldest kernel the module builds for is 7.2 (the Makefile checks;
 * tests/stock/build72.sh builds it against Debian's 7.2).  What the kernel
 * crate lacks in 7.2 comes from C: the module parameters (params.c), error
 * codes and RCU calls through the module's bindgen.  A C interface that
 * changed between 7.2 and the kernel built against gets its shim here,
 * behind LINUX_VERSION_CODE.
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
#include <crypto/aead.h>
#include <linux/scatterlist.h>
#include <net/dst_cache.h>
#include <net/genetlink.h>
#include <net/gro_cells.h>
#include <net/gso.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/route.h>
#include <net/udp.h>
#include <net/udp_tunnel.h>
#include <net/strparser.h>
#include <net/tcp.h>
#include <net/inet_sock.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/rtnetlink.h>

#include "../include/uapi/linux/ovpn_dco.h"

#define OVPN_DCO_VERSION "2.0.0"
/* The family's version, OVPN_DCO_NL_VERSION, is in the uapi header
 * (proto::uapi::OVPN_NL_VERSION, checked in abi.rs).
 */

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

/* Linux's `ovpn` API (ovpn_nl_gen.c, which cannot include this header:
 * <linux/ovpn.h> and ovpn_dco.h define the same enums).
 */
extern const struct nla_policy ovpn_api_link_policy[IFLA_OVPN_MAX + 1];
extern struct genl_family ovpn_api_nl_family;
int ovpn_api_nl_doit(struct sk_buff *skb, struct genl_info *info);
int ovpn_api_nl_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int ovpn_compat_api_op_maxattr(int cmd, bool dump);
const struct nla_policy *ovpn_compat_api_nest_policy(int cmd, int *maxtype);
const struct nla_policy *ovpn_compat_api_keydir_policy(void);

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
void ovpn_compat_sock_hold(struct sock *sk);
void ovpn_compat_sock_put(struct sock *sk);
void ovpn_compat_sock_info(const struct socket *sock, u16 *family, u16 *type,
			   u16 *protocol, u16 *sport);
struct sk_buff *ovpn_compat_genlmsg_new(bool atomic);
void *ovpn_compat_genlmsg_put(struct sk_buff *skb,
			      const struct genl_family *family, u32 portid,
			      u32 seq, int flags, u8 cmd);
void ovpn_compat_genlmsg_end(struct sk_buff *skb, void *hdr);
void ovpn_compat_genlmsg_cancel(struct sk_buff *skb, void *hdr);
void ovpn_compat_nlmsg_free(struct sk_buff *skb);
int ovpn_compat_genlmsg_reply(struct sk_buff *skb, struct genl_info *info);
int ovpn_compat_genlmsg_multicast_netns(const struct genl_family *family,
					struct net *net, struct sk_buff *skb,
					unsigned int group, bool atomic);
struct net *ovpn_compat_sock_net(const struct sock *sk);
int ovpn_compat_peernet2id(struct net *net, struct net *peer);
struct nlattr *ovpn_compat_nla_nest_start(struct sk_buff *skb, int attrtype);
void ovpn_compat_nla_nest_end(struct sk_buff *skb, struct nlattr *start);
u32 ovpn_compat_info_portid(const struct genl_info *info);
u32 ovpn_compat_info_seq(const struct genl_info *info);
u32 ovpn_compat_cb_portid(const struct netlink_callback *cb);
u32 ovpn_compat_cb_seq(const struct netlink_callback *cb);
long *ovpn_compat_cb_args(struct netlink_callback *cb);
unsigned long ovpn_compat_rcu_cookie(void);
void ovpn_compat_rcu_wait(unsigned long cookie);

/* The module's parameters (params.c): set by the module loader only,
 * before init (no sysfs file).  rx_burst's default is the Rust side's
 * proto::steer::STEER_BURST (checked in src/abstractions/params.rs).
 */
#define OVPN_DCO_RX_BURST_DEFAULT 2
extern unsigned int ovpn_dco_param_rx_burst;
extern unsigned int ovpn_dco_param_ovpn_api;
extern unsigned int ovpn_dco_param_tx_work;

/* Data-path wrappers (datapath.c). */

/* The outer addresses of a received UDP packet, network order. */
struct ovpn_compat_addrs {
	u16 family;
	__be16 sport;
	int ifindex;
	u8 saddr[16];
	u8 daddr[16];
};

bool ovpn_compat_pskb_may_pull(struct sk_buff *skb, unsigned int len);
int ovpn_compat_skb_cow_head(struct sk_buff *skb, unsigned int headroom);
bool ovpn_compat_skb_is_gso(const struct sk_buff *skb);
struct sk_buff *ovpn_compat_skb_gso_segment(struct sk_buff *skb);
struct sk_buff *ovpn_compat_skb_list_pop_next(struct sk_buff *skb);
int ovpn_compat_skb_csum_resolve(struct sk_buff *skb);
int ovpn_compat_skb_flatten_chain(struct sk_buff *skb);
/* Lets go of what a received skb holds or points to elsewhere (its
 * socket, route, conntrack entry and lower device), so that it may wait
 * for its key beyond the softirq it arrived in. */
void ovpn_compat_skb_detach(struct sk_buff *skb);
void ovpn_compat_skb_rx_prepare(struct sk_buff *skb, struct net_device *dev,
				__be16 proto);
void ovpn_compat_skb_udp_addrs(const struct sk_buff *skb,
			       struct ovpn_compat_addrs *a);
__be32 ovpn_compat_nexthop4(struct sk_buff *skb);
void ovpn_compat_nexthop6(struct sk_buff *skb, struct in6_addr *out);
void ovpn_compat_sg_set_buf(struct scatterlist *sg, const void *buf,
			    unsigned int len);
void ovpn_compat_sg_mark_end(struct scatterlist *sg);
struct aead_request *ovpn_compat_aead_request_alloc(struct crypto_aead *tfm,
						    size_t extra, bool atomic);
void *ovpn_compat_aead_request_ctx(struct aead_request *req);
void ovpn_compat_aead_request_setup(struct aead_request *req,
				    struct scatterlist *sg,
				    unsigned int cryptlen, u8 *iv,
				    unsigned int assoclen,
				    crypto_completion_t done);
void ovpn_compat_crypto_free_aead(struct crypto_aead *tfm);
unsigned int ovpn_compat_crypto_aead_ivsize(struct crypto_aead *tfm);
void ovpn_compat_local_bh_disable(void);
void ovpn_compat_local_bh_enable(void);
int ovpn_compat_udp_encap_attach(struct socket *sock, void *data,
				 int (*rcv)(struct sock *, struct sk_buff *),
				 void (*destroy)(struct sock *));
void ovpn_compat_udp_encap_detach(struct sock *sk);
bool ovpn_compat_udp_encap_intact(struct sock *sk);
void *ovpn_compat_sk_user_data(struct sock *sk);
struct rtable *ovpn_compat_route4(struct sock *sk, __be32 *saddr, __be32 daddr,
				  __be16 sport, __be16 dport);
struct dst_entry *ovpn_compat_route6(struct sock *sk, struct in6_addr *saddr,
				     const struct in6_addr *daddr,
				     __be16 sport, __be16 dport, int oif);
struct dst_entry *ovpn_compat_rt4_dst(struct rtable *rt);
struct net_device *ovpn_compat_dst_dev(const struct dst_entry *dst);
void ovpn_compat_dst_cache_reset(struct dst_cache *cache);
void ovpn_compat_udp4_xmit(struct rtable *rt, struct sock *sk,
			   struct sk_buff *skb, __be32 saddr, __be32 daddr,
			   __be16 dport);
void ovpn_compat_udp6_xmit(struct dst_entry *dst, struct sock *sk,
			   struct sk_buff *skb, const struct in6_addr *saddr,
			   const struct in6_addr *daddr, __be16 dport);
unsigned int ovpn_compat_skb_len(const struct sk_buff *skb);
unsigned int ovpn_compat_skb_headlen(const struct sk_buff *skb);
u8 *ovpn_compat_skb_data(const struct sk_buff *skb);
__be16 ovpn_compat_skb_protocol(const struct sk_buff *skb);
u64 ovpn_compat_now_ms(void);
u64 ovpn_compat_now_ns(void);
void ovpn_compat_skb_dst_drop(struct sk_buff *skb);
struct workqueue_struct *ovpn_compat_alloc_wq(void);
__be32 ovpn_compat_route_nexthop4(struct net *net, __be32 dst);
void ovpn_compat_route_nexthop6(struct net *net, struct in6_addr *addr);
struct sk_buff *ovpn_compat_alloc_skb(struct net_device *dev,
				      unsigned int headroom, unsigned int len);

/* TCP (tcp.c). */

/* A socket's callbacks and proto from before the takeover. */
struct ovpn_compat_tcp_saved {
	void (*data_ready)(struct sock *sk);
	void (*write_space)(struct sock *sk);
	void (*state_change)(struct sock *sk);
	void (*error_report)(struct sock *sk);
	struct proto *prot;
	gfp_t allocation;
	bool use_task_frag;
};

/* What a socket taken over runs: the stream parser's callbacks, the
 * socket callbacks, and the proto operations that replace TCP's.
 */
struct ovpn_compat_tcp_ops {
	struct strp_callbacks strp;
	void (*data_ready)(struct sock *sk);
	void (*write_space)(struct sock *sk);
	void (*state_change)(struct sock *sk);
	void (*error_report)(struct sock *sk);
	int (*recvmsg)(struct sock *sk, struct msghdr *msg, size_t len,
		       int flags);
	int (*sendmsg)(struct sock *sk, struct msghdr *msg, size_t len);
	bool (*sock_is_readable)(struct sock *sk);
	void (*release_cb)(struct sock *sk);
	void (*close)(struct sock *sk, long timeout);
};

const struct proto *ovpn_compat_tcp_orig_prot(struct sock *sk);
int ovpn_compat_tcp_attach(struct sock *sk, void *data,
			   struct strparser *strp,
			   struct ovpn_compat_tcp_saved *saved,
			   const struct ovpn_compat_tcp_ops *ops);
void ovpn_compat_tcp_detach(struct sock *sk, struct strparser *strp,
			    const struct ovpn_compat_tcp_saved *saved,
			    const struct ovpn_compat_tcp_ops *ops);
void ovpn_compat_tcp_restore_alloc(struct sock *sk,
				   const struct ovpn_compat_tcp_saved *saved);
void ovpn_compat_tcp_op_enter(void);
void ovpn_compat_tcp_op_exit(void);
void ovpn_compat_tcp_quiesce(void);
enum {
	OVPN_COMPAT_TCP_LOCKED = 0,
	OVPN_COMPAT_TCP_OWNED = 1,
	OVPN_COMPAT_TCP_NESTED = 2,
};
int ovpn_compat_tcp_lock_unowned(struct sock *sk);
void ovpn_compat_tcp_nest_enter(void);
void ovpn_compat_tcp_nest_exit(void);
void ovpn_compat_tcp_unlock_unowned(struct sock *sk);
void ovpn_compat_tcp_orig_release_cb(struct sock *sk);
void ovpn_compat_tcp_may_sleep(struct sock *sk,
			       const struct ovpn_compat_tcp_saved *saved,
			       bool on);
bool ovpn_compat_tcp_has_room(struct sock *sk);
int ovpn_compat_tcp_send_frame(struct sock *sk, struct sk_buff *skb,
			       int offset, int len, bool more);
void *ovpn_compat_tcp_user_data(struct sock *sk);
struct sock *ovpn_compat_skb_full_sock(const struct sk_buff *skb);
void ovpn_compat_lock_sock(struct sock *sk);
size_t ovpn_compat_sk_rcvbuf(const struct sock *sk);
bool ovpn_compat_tcp_rcv_shutdown(struct sock *sk);
bool ovpn_compat_tcp_closed(struct sock *sk);
int ovpn_compat_sock_error(struct sock *sk);
void ovpn_compat_strp_msg(struct sk_buff *skb, int *off, int *len);
int ovpn_compat_skb_window(struct sk_buff **pskb, unsigned int off,
			   unsigned int len);
void ovpn_compat_skb_queue_init(struct sk_buff_head *q);
void ovpn_compat_skb_queue_purge(struct sk_buff_head *q);
u32 ovpn_compat_skb_queue_len(const struct sk_buff_head *q);
struct sk_buff *ovpn_compat_skb_from_msg(struct sock *sk, struct msghdr *msg,
					 size_t len, int *err);
int ovpn_compat_skb_copy_to_msg(const struct sk_buff *skb, int off,
				struct msghdr *msg, int len);

#endif /* OVPN_DCO_COMPAT_H */
