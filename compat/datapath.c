// SPDX-License-Identifier: GPL-2.0
/*
 * Data-path wrappers for the Rust side of ovpn-dco-v2: skb and scatterlist
 * helpers, AEAD request setup, UDP encapsulation, route lookups and the
 * UDP tunnel transmit helpers.  These are static inline functions, macros
 * and bitfields of the C API, and the flow set-up of route lookups (which
 * socket settings a lookup honours); no OpenVPN protocol logic lives here.
 */
#include "ovpn_compat.h"

/* skbs */

bool ovpn_compat_pskb_may_pull(struct sk_buff *skb, unsigned int len)
{
	return pskb_may_pull(skb, len);
}

int ovpn_compat_skb_cow_head(struct sk_buff *skb, unsigned int headroom)
{
	return skb_cow_head(skb, headroom);
}

bool ovpn_compat_skb_is_gso(const struct sk_buff *skb)
{
	return skb_is_gso(skb);
}

struct sk_buff *ovpn_compat_skb_gso_segment(struct sk_buff *skb)
{
	return skb_gso_segment(skb, 0);
}

/* Unlinks and returns the skb following @skb in a segment list. */
struct sk_buff *ovpn_compat_skb_list_pop_next(struct sk_buff *skb)
{
	struct sk_buff *next = skb->next;

	skb_mark_not_on_list(skb);
	return next;
}

/* Resolves a partial checksum before the payload is encrypted. */
int ovpn_compat_skb_csum_resolve(struct sk_buff *skb)
{
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		return skb_checksum_help(skb);
	return 0;
}

void ovpn_compat_skb_detach(struct sk_buff *skb)
{
	skb_orphan(skb);
	skb_dst_drop(skb);
	nf_reset_ct(skb);
	/* The lower device holds no reference for it (skb_iif stays). */
	skb->dev = NULL;
}

/* Readies a decrypted inner packet for delivery on @dev. */
void ovpn_compat_skb_rx_prepare(struct sk_buff *skb, struct net_device *dev,
				__be16 proto)
{
	skb_scrub_packet(skb, true);
	skb_gso_reset(skb);
	skb->dev = dev;
	skb->protocol = proto;
	skb->pkt_type = PACKET_HOST;
	/* The AEAD tag authenticated the whole packet. */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	skb_reset_transport_header(skb);
	skb_reset_inner_headers(skb);
}

/* The outer addresses of a UDP packet in an encap_rcv hook. */
void ovpn_compat_skb_udp_addrs(const struct sk_buff *skb,
			       struct ovpn_compat_addrs *a)
{
	const struct udphdr *uh = udp_hdr(skb);

	memset(a, 0, sizeof(*a));
	a->sport = uh->source;
	if (ip_hdr(skb)->version == 4) {
		a->family = AF_INET;
		memcpy(a->saddr, &ip_hdr(skb)->saddr, 4);
		memcpy(a->daddr, &ip_hdr(skb)->daddr, 4);
	} else {
		a->family = AF_INET6;
		memcpy(a->saddr, &ipv6_hdr(skb)->saddr, 16);
		memcpy(a->daddr, &ipv6_hdr(skb)->daddr, 16);
		/* A scope only for addresses that need one (link-local). */
		a->ifindex = ipv6_iface_scope_id(&ipv6_hdr(skb)->saddr,
						 skb->skb_iif);
	}
}

/* Next hops of an inner packet, from the route attached by the stack. */
__be32 ovpn_compat_nexthop4(struct sk_buff *skb)
{
	const struct rtable *rt = skb_rtable(skb);
	__be32 daddr = ip_hdr(skb)->daddr;

	return rt ? rt_nexthop(rt, daddr) : daddr;
}

void ovpn_compat_nexthop6(struct sk_buff *skb, struct in6_addr *out)
{
	const struct rt6_info *rt = (const struct rt6_info *)skb_dst(skb);

	*out = ipv6_hdr(skb)->daddr;
	if (rt)
		*out = *rt6_nexthop(rt, &ipv6_hdr(skb)->daddr);
}

/* Linearizes @skb if it has a frag_list. */
int ovpn_compat_skb_flatten_chain(struct sk_buff *skb)
{
	if (skb_has_frag_list(skb))
		return skb_linearize(skb);
	return 0;
}

/* scatterlists */

void ovpn_compat_sg_set_buf(struct scatterlist *sg, const void *buf,
			    unsigned int len)
{
	sg_set_buf(sg, buf, len);
}

void ovpn_compat_sg_mark_end(struct scatterlist *sg)
{
	sg_mark_end(sg);
}

/* AEAD requests: one allocation for the request, the driver's context
 * (@extra bytes, 8-byte aligned) and nothing else.
 */
static size_t ovpn_compat_req_ctx_off(struct crypto_aead *tfm)
{
	return ALIGN(sizeof(struct aead_request) + crypto_aead_reqsize(tfm), 8);
}

struct aead_request *ovpn_compat_aead_request_alloc(struct crypto_aead *tfm,
						    size_t extra, bool atomic)
{
	struct aead_request *req;

	req = kmalloc(ovpn_compat_req_ctx_off(tfm) + extra,
		      atomic ? GFP_ATOMIC : GFP_KERNEL);
	if (req)
		aead_request_set_tfm(req, tfm);
	return req;
}

void *ovpn_compat_aead_request_ctx(struct aead_request *req)
{
	return (u8 *)req + ovpn_compat_req_ctx_off(crypto_aead_reqtfm(req));
}

void ovpn_compat_aead_request_setup(struct aead_request *req,
				    struct scatterlist *sg,
				    unsigned int cryptlen, u8 *iv,
				    unsigned int assoclen,
				    crypto_completion_t done)
{
	/* No MAY_BACKLOG: a full asynchronous queue refuses the request
	 * (the packet is dropped) rather than growing without bound.
	 */
	aead_request_set_callback(req, 0, done, req);
	aead_request_set_crypt(req, sg, sg, cryptlen, iv);
	aead_request_set_ad(req, assoclen);
}

void ovpn_compat_crypto_free_aead(struct crypto_aead *tfm)
{
	crypto_free_aead(tfm);
}

unsigned int ovpn_compat_crypto_aead_ivsize(struct crypto_aead *tfm)
{
	return crypto_aead_ivsize(tfm);
}

void ovpn_compat_local_bh_disable(void)
{
	local_bh_disable();
}

void ovpn_compat_local_bh_enable(void)
{
	local_bh_enable();
}

/* UDP encapsulation */

/* Puts @sock in OpenVPN encapsulation mode with @data as its user data.
 * -EBUSY if the socket already serves a tunnel.
 */
int ovpn_compat_udp_encap_attach(struct socket *sock, void *data,
				 int (*rcv)(struct sock *, struct sk_buff *),
				 void (*destroy)(struct sock *))
{
	struct udp_tunnel_sock_cfg cfg = {
		.sk_user_data = data,
		.encap_type = UDP_ENCAP_OVPNINUDP,
		.encap_rcv = rcv,
		/* Userspace closed the socket. */
		.encap_destroy = destroy,
	};
	struct sock *sk = sock->sk;
	int ret = 0;

	lock_sock(sk);
	if (udp_sk(sk)->encap_type || rcu_access_pointer(sk->sk_user_data))
		ret = -EBUSY;
	else
		setup_udp_tunnel_sock(sock_net(sk), sk, &cfg);
	release_sock(sk);
	return ret;
}

/* Undoes ovpn_compat_udp_encap_attach(); readers of the user data may
 * still run until an RCU grace period has passed.  @sk may be closed by
 * userspace already.
 */
void ovpn_compat_udp_encap_detach(struct sock *sk)
{
	lock_sock(sk);
	inet_set_bit(MC_LOOP, sk);
	inet_dec_convert_csum(sk);
	WRITE_ONCE(udp_sk(sk)->encap_type, 0);
	WRITE_ONCE(udp_sk(sk)->encap_rcv, NULL);
	WRITE_ONCE(udp_sk(sk)->encap_destroy, NULL);
	rcu_assign_sk_user_data(sk, NULL);
	release_sock(sk);
}

/* Whether @sk still delivers to the module: its encapsulation is ours and
 * userspace has not closed it.  A holder of its descriptor may reset
 * UDP_ENCAP, after which neither the receive nor the close hook runs.
 */
bool ovpn_compat_udp_encap_intact(struct sock *sk)
{
	return READ_ONCE(udp_sk(sk)->encap_type) == UDP_ENCAP_OVPNINUDP &&
	       !sock_flag(sk, SOCK_DEAD);
}

void *ovpn_compat_sk_user_data(struct sock *sk)
{
	return rcu_dereference_sk_user_data(sk);
}

/* Route lookups: the flowi setup is inline; *saddr is in/out. */

struct rtable *ovpn_compat_route4(struct sock *sk, __be32 *saddr, __be32 daddr,
				  __be16 sport, __be16 dport)
{
	struct flowi4 fl = {
		.saddr = *saddr,
		.daddr = daddr,
		.fl4_sport = sport,
		.fl4_dport = dport,
		.flowi4_proto = IPPROTO_UDP,
		.flowi4_mark = READ_ONCE(sk->sk_mark),
		/* SO_BINDTODEVICE (a VRF, or a device). */
		.flowi4_oif = READ_ONCE(sk->sk_bound_dev_if),
	};
	struct rtable *rt;

	rt = ip_route_output_flow(sock_net(sk), &fl, sk);
	if (!IS_ERR(rt))
		*saddr = fl.saddr;
	return rt;
}

struct dst_entry *ovpn_compat_route6(struct sock *sk, struct in6_addr *saddr,
				     const struct in6_addr *daddr,
				     __be16 sport, __be16 dport, int oif)
{
	struct dst_entry *dst;
	struct flowi6 fl = {
		.saddr = *saddr,
		.daddr = *daddr,
		.fl6_sport = sport,
		.fl6_dport = dport,
		.flowi6_proto = IPPROTO_UDP,
		.flowi6_mark = READ_ONCE(sk->sk_mark),
		.flowi6_oif = oif ? oif : READ_ONCE(sk->sk_bound_dev_if),
	};

	/* A source address that is no longer ours: routing chooses. */
	if (!ipv6_addr_any(&fl.saddr) &&
	    !ipv6_chk_addr(sock_net(sk), &fl.saddr, NULL, 0))
		fl.saddr = in6addr_any;
	dst = ip6_dst_lookup_flow(sock_net(sk), sk, &fl, NULL);
	if (!IS_ERR(dst))
		*saddr = fl.saddr;
	return dst;
}

struct dst_entry *ovpn_compat_rt4_dst(struct rtable *rt)
{
	return &rt->dst;
}

struct net_device *ovpn_compat_dst_dev(const struct dst_entry *dst)
{
	return READ_ONCE(dst->dev);
}

void ovpn_compat_dst_cache_reset(struct dst_cache *cache)
{
	dst_cache_reset(cache);
}

/* The UDP tunnel transmit helpers, with the socket's mark, port and
 * checksum settings; outer fragmentation is allowed (DF clear).
 */
void ovpn_compat_udp4_xmit(struct rtable *rt, struct sock *sk,
			   struct sk_buff *skb, __be32 saddr, __be32 daddr,
			   __be16 dport)
{
	skb->mark = READ_ONCE(sk->sk_mark);
	udp_tunnel_xmit_skb(rt, sk, skb, saddr, daddr, 0,
			    ip4_dst_hoplimit(&rt->dst), 0,
			    inet_sk(sk)->inet_sport, dport, false,
			    sk->sk_no_check_tx, 0);
}

void ovpn_compat_udp6_xmit(struct dst_entry *dst, struct sock *sk,
			   struct sk_buff *skb, const struct in6_addr *saddr,
			   const struct in6_addr *daddr, __be16 dport)
{
	skb->mark = READ_ONCE(sk->sk_mark);
	skb->ignore_df = 1;
	udp_tunnel6_xmit_skb(dst, sk, skb, skb->dev, saddr, daddr, 0,
			     ip6_dst_hoplimit(dst), 0,
			     inet_sk(sk)->inet_sport, dport,
			     udp_get_no_check6_tx(sk), 0);
}

/* Plain skb fields that sit in anonymous unions of struct sk_buff. */

unsigned int ovpn_compat_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}

unsigned int ovpn_compat_skb_headlen(const struct sk_buff *skb)
{
	return skb_headlen(skb);
}

u8 *ovpn_compat_skb_data(const struct sk_buff *skb)
{
	return skb->data;
}

__be16 ovpn_compat_skb_protocol(const struct sk_buff *skb)
{
	return skb->protocol;
}

/* A cheap monotonic clock for the replay window and timers. */
u64 ovpn_compat_now_ms(void)
{
	return jiffies64_to_msecs(get_jiffies_64());
}

/* A fine monotonic clock (ns) for telling bursts of packets apart. */
u64 ovpn_compat_now_ns(void)
{
	return ktime_get_mono_fast_ns();
}

void ovpn_compat_skb_dst_drop(struct sk_buff *skb)
{
	skb_dst_drop(skb);
}

/* The module's workqueue (keepalive ticks), drained on unload. */
struct workqueue_struct *ovpn_compat_alloc_wq(void)
{
	return alloc_workqueue("ovpn-dco", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
}

/* A new skb of @dev with @len bytes after @headroom bytes of headroom. */
struct sk_buff *ovpn_compat_alloc_skb(struct net_device *dev,
				      unsigned int headroom, unsigned int len)
{
	struct sk_buff *skb = alloc_skb(headroom + len, GFP_KERNEL);

	if (!skb)
		return NULL;
	skb->dev = dev;
	skb_reserve(skb, headroom);
	skb_put(skb, len);
	return skb;
}

/* The next hop the routing table gives for @dst in @net (@dst itself when
 * directly reachable or unroutable).
 */
__be32 ovpn_compat_route_nexthop4(struct net *net, __be32 dst)
{
	struct flowi4 fl = { .daddr = dst };
	struct rtable *rt = ip_route_output_flow(net, &fl, NULL);

	if (IS_ERR(rt))
		return dst;
	if (rt->rt_uses_gateway)
		dst = rt->rt_gw4;
	ip_rt_put(rt);
	return dst;
}

void ovpn_compat_route_nexthop6(struct net *net, struct in6_addr *addr)
{
	struct flowi6 fl = { .daddr = *addr };
	struct dst_entry *dst = ip6_dst_lookup_flow(net, NULL, &fl, NULL);

	if (IS_ERR(dst))
		return;
	*addr = *rt6_nexthop((struct rt6_info *)dst, addr);
	dst_release(dst);
}
