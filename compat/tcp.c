// SPDX-License-Identifier: GPL-2.0
/*
 * TCP wrappers for the Rust side of ovpn-dco-v2: taking a TCP socket over
 * (its callbacks, a copy of its proto with some operations replaced, a
 * stream parser) and giving it back, and the inline helpers the stream
 * handling needs.  The data operations themselves are Rust functions
 * passed in through struct ovpn_compat_tcp_ops.
 */
#include "ovpn_compat.h"

/* The protos of the sockets taken over: a copy of each original proto
 * (tcp_prot, tcpv6_prot) with the operations of ovpn_compat_tcp_ops and
 * those below, built the first time a socket of that proto is
 * attached.  tcpv6_prot is not exported, hence the copy from the socket
 * itself.  They live as long as the module; ovpn_compat_tcp_quiesce()
 * keeps the module until nobody can be inside them.
 */
static struct {
	const struct proto *orig;
	struct proto prot;
} ovpn_tcp_protos[2];
static DEFINE_MUTEX(ovpn_tcp_protos_lock);

/* Callers inside the operations that may sleep (recvmsg, sendmsg,
 * setsockopt, close, and a UDP socket's encap_destroy): a thread can wait
 * there for a lock, or in TCP's own operation once the socket was given
 * back, long after the module stopped using the socket.
 */
static atomic_t ovpn_tcp_inflight = ATOMIC_INIT(0);

/* Set when a socket was given back with someone else's hooks stacked on
 * ours: they still call into the module, which then stays loaded.
 */
static bool ovpn_tcp_pinned;

void ovpn_compat_tcp_op_enter(void)
{
	atomic_inc(&ovpn_tcp_inflight);
}

void ovpn_compat_tcp_op_exit(void)
{
	if (atomic_dec_and_test(&ovpn_tcp_inflight))
		wake_up_var(&ovpn_tcp_inflight);
}

/* Module exit, after every socket was given back: waits until no task
 * can still be in the module's socket operations or callbacks.  A task
 * may have loaded a pointer to them before the socket was given back and
 * been preempted before the call, or have left the in-flight count and
 * not yet returned: RCU Tasks waits for every task to pass a voluntary
 * context switch, which neither has.  Sleepers are counted instead.
 */
void ovpn_compat_tcp_quiesce(void)
{
	synchronize_rcu_tasks();
	wait_var_event(&ovpn_tcp_inflight, !atomic_read(&ovpn_tcp_inflight));
	synchronize_rcu_tasks();
}

/* A connection taken over cannot be reset (connect(AF_UNSPEC)): a reset
 * socket could listen, and its children would inherit the module's proto
 * and callbacks.
 */
static int ovpn_tcp_disconnect(struct sock *sk, int flags)
{
	return -EBUSY;
}

/* Nor can it take a ULP (kTLS and others build their protos on the
 * current one and would keep ours after the socket is given back).
 */
static int ovpn_tcp_setsockopt(struct sock *sk, int level, int optname,
			       sockptr_t optval, unsigned int optlen)
{
	const struct proto *orig;
	int ret;

	if (level == SOL_TCP && optname == TCP_ULP)
		return -EBUSY;
	ovpn_compat_tcp_op_enter();
	orig = ovpn_compat_tcp_orig_prot(sk);
	ret = orig->setsockopt(sk, level, optname, optval, optlen);
	ovpn_compat_tcp_op_exit();
	return ret;
}

/* Zero-copy receive would take bytes from the receive queue behind the
 * stream parser's back.
 */
static int ovpn_tcp_getsockopt(struct sock *sk, int level, int optname,
			       char __user *optval, int __user *optlen)
{
	const struct proto *orig;
	int ret;

	if (level == SOL_TCP && optname == TCP_ZEROCOPY_RECEIVE)
		return -EBUSY;
	ovpn_compat_tcp_op_enter();
	orig = ovpn_compat_tcp_orig_prot(sk);
	ret = orig->getsockopt(sk, level, optname, optval, optlen);
	ovpn_compat_tcp_op_exit();
	return ret;
}

static struct proto *ovpn_tcp_proto_for(struct sock *sk,
					const struct ovpn_compat_tcp_ops *ops)
{
	const struct proto *orig = READ_ONCE(sk->sk_prot);
	struct proto *ret = NULL;
	int i;

	mutex_lock(&ovpn_tcp_protos_lock);
	for (i = 0; i < ARRAY_SIZE(ovpn_tcp_protos); i++) {
		struct proto *p = &ovpn_tcp_protos[i].prot;

		if (ovpn_tcp_protos[i].orig == orig) {
			ret = p;
			break;
		}
		if (!ovpn_tcp_protos[i].orig) {
			*p = *orig;
			p->recvmsg = ops->recvmsg;
			p->sendmsg = ops->sendmsg;
			p->sock_is_readable = ops->sock_is_readable;
			p->release_cb = ops->release_cb;
			p->close = ops->close;
			p->disconnect = ovpn_tcp_disconnect;
			p->setsockopt = ovpn_tcp_setsockopt;
			p->getsockopt = ovpn_tcp_getsockopt;
			ovpn_tcp_protos[i].orig = orig;
			ret = p;
			break;
		}
	}
	mutex_unlock(&ovpn_tcp_protos_lock);
	return ret;
}

static bool ovpn_tcp_is_ours(const struct proto *prot)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(ovpn_tcp_protos); i++)
		if (prot == &ovpn_tcp_protos[i].prot)
			return true;
	return false;
}

/* The original proto of a socket that was (or is) taken over: TCP's,
 * whose operations the module's delegate to.  Never a proto stacked on
 * the module's (a ULP that raced the takeover): that one calls back into
 * the module's, and delegating to it would loop.
 */
const struct proto *ovpn_compat_tcp_orig_prot(struct sock *sk)
{
	const struct proto *cur = READ_ONCE(sk->sk_prot);
	int i;

	for (i = 0; i < ARRAY_SIZE(ovpn_tcp_protos); i++) {
		/* Taken over, or given back. */
		if (cur == &ovpn_tcp_protos[i].prot)
			return ovpn_tcp_protos[i].orig;
		if (cur == ovpn_tcp_protos[i].orig)
			return cur;
	}
	/* Someone's proto on top of ours: TCP's own, the socket's creator
	 * (tcp_prot or tcpv6_prot, whose delegated operations are the same
	 * functions).
	 */
	return sk->sk_prot_creator;
}

/* Takes @sk over with @data as its user data.  -ENOTCONN unless it is
 * an established connection, -EBUSY if something else already uses it
 * (another tunnel, a ULP such as kTLS, a BPF sockmap).
 */
int ovpn_compat_tcp_attach(struct sock *sk, void *data,
			   struct strparser *strp,
			   struct ovpn_compat_tcp_saved *saved,
			   const struct ovpn_compat_tcp_ops *ops)
{
	struct proto *prot;
	int ret;

	lock_sock(sk);
	if (sk->sk_state != TCP_ESTABLISHED) {
		ret = -ENOTCONN;
		goto out;
	}
	if (rcu_access_pointer(sk->sk_user_data) || inet_csk(sk)->icsk_ulp_data) {
		ret = -EBUSY;
		goto out;
	}
	prot = ovpn_tcp_proto_for(sk, ops);
	if (!prot) {
		ret = -EPROTONOSUPPORT;
		goto out;
	}
	ret = strp_init(strp, sk, &ops->strp);
	if (ret)
		goto out;
	saved->data_ready = sk->sk_data_ready;
	saved->write_space = sk->sk_write_space;
	saved->state_change = sk->sk_state_change;
	saved->error_report = sk->sk_error_report;
	saved->prot = sk->sk_prot;
	saved->allocation = sk->sk_allocation;
	saved->use_task_frag = sk->sk_use_task_frag;
	/* NOCOPY: a clone of the socket must not inherit the pointer. */
	__rcu_assign_sk_user_data_with_flags(sk, data, SK_USER_DATA_NOCOPY);
	/* The driver sends from softirq context too: atomic allocations, and
	 * the socket's own page fragment rather than the current task's.
	 */
	sk->sk_allocation = GFP_ATOMIC;
	sk->sk_use_task_frag = false;
	WRITE_ONCE(sk->sk_data_ready, ops->data_ready);
	WRITE_ONCE(sk->sk_write_space, ops->write_space);
	WRITE_ONCE(sk->sk_state_change, ops->state_change);
	WRITE_ONCE(sk->sk_error_report, ops->error_report);
	WRITE_ONCE(sk->sk_prot, prot);
out:
	release_sock(sk);
	if (!ret)
		/* What arrived before the takeover. */
		strp_check_rcv(strp);
	return ret;
}

/* Gives @sk back as the plain TCP socket it was: restores what the
 * takeover installed, unless someone replaced it since (then their hooks
 * call ours: the socket stays dead to userspace, its user data gone, and
 * the module pinned).  Callbacks that read the user data before this may
 * still run until an RCU grace period has passed.  Process context,
 * socket not locked; it may be closed by userspace already.
 */
void ovpn_compat_tcp_detach(struct sock *sk, struct strparser *strp,
			    const struct ovpn_compat_tcp_saved *saved,
			    const struct ovpn_compat_tcp_ops *ops)
{
	bool stacked = false;

#define OVPN_TCP_RESTORE(field, ours, orig)			\
	do {							\
		if (READ_ONCE(sk->field) == (ours))		\
			WRITE_ONCE(sk->field, (orig));		\
		else						\
			stacked = true;				\
	} while (0)

	lock_sock(sk);
	OVPN_TCP_RESTORE(sk_data_ready, ops->data_ready, saved->data_ready);
	OVPN_TCP_RESTORE(sk_write_space, ops->write_space, saved->write_space);
	OVPN_TCP_RESTORE(sk_state_change, ops->state_change,
			 saved->state_change);
	OVPN_TCP_RESTORE(sk_error_report, ops->error_report,
			 saved->error_report);
	if (ovpn_tcp_is_ours(READ_ONCE(sk->sk_prot)))
		WRITE_ONCE(sk->sk_prot, saved->prot);
	else
		stacked = true;
#undef OVPN_TCP_RESTORE
	rcu_assign_sk_user_data(sk, NULL);
	strp_stop(strp);
	release_sock(sk);
	/* Waits for the parser's work; needs the socket unlocked. */
	strp_done(strp);
	if (stacked && !ovpn_tcp_pinned) {
		ovpn_tcp_pinned = true;
		__module_get(THIS_MODULE);
		pr_warn("ovpn-dco: a TCP socket was given back with foreign hooks on the module's; the module stays loaded\n");
	}
}

/* The second half of giving a socket back, a grace period after
 * ovpn_compat_tcp_detach(): every sender that saw the socket attached has
 * finished (they run with BHs disabled), so the socket's allocations may
 * sleep again and use the task's page fragment.
 */
void ovpn_compat_tcp_restore_alloc(struct sock *sk,
				   const struct ovpn_compat_tcp_saved *saved)
{
	lock_sock(sk);
	sk->sk_allocation = saved->allocation;
	sk->sk_use_task_frag = saved->use_task_frag;
	release_sock(sk);
}

/* Sends @len bytes of @skb from @offset on the locked socket @sk without
 * blocking; @more says that another frame follows at once, so that TCP
 * may fill its segments instead of pushing each frame on its own.
 */
int ovpn_compat_tcp_send_frame(struct sock *sk, struct sk_buff *skb,
			       int offset, int len, bool more)
{
	return skb_send_sock_locked_with_flags(sk, skb, offset, len,
					       more ? MSG_MORE : 0);
}

/* The socket @skb belongs to, if it is a full socket (the only kind the
 * module takes over), else NULL.
 */
struct sock *ovpn_compat_skb_full_sock(const struct sk_buff *skb)
{
	struct sock *sk = skb->sk;

	return sk && sk_fullsock(sk) ? sk : NULL;
}

/* The user data of @sk if the module has it taken over (its proto is one
 * of ours: set after the user data at attach, restored before the user
 * data is cleared, both under the socket lock), else NULL: another
 * subsystem may own the user data of a socket given back.
 */
void *ovpn_compat_tcp_user_data(struct sock *sk)
{
	if (!ovpn_tcp_is_ours(READ_ONCE(sk->sk_prot)))
		return NULL;
	return rcu_dereference_sk_user_data(sk);
}

void ovpn_compat_lock_sock(struct sock *sk)
{
	lock_sock(sk);
}

/* The lockdep subclass of a taken-over socket's spinlock when the driver
 * sends: the TCP receive path may hold another socket's (the inner
 * connection's) at subclass SINGLE_DEPTH_NESTING.
 */
#define OVPN_TCP_SEND_NESTING 2

/* Sections of this CPU that hold a taken-over socket's spinlock for the
 * module (a send, the stream parser's delivery, release_cb), BHs off.  A
 * send inside one (a tunnel nested in another's, or a routing loop
 * through two devices) must not take a second socket's spinlock: on the
 * same socket that deadlocks, on another it inverts the order.
 */
static DEFINE_PER_CPU(unsigned int, ovpn_tcp_nest);

void ovpn_compat_tcp_nest_enter(void)
{
	__this_cpu_inc(ovpn_tcp_nest);
}

void ovpn_compat_tcp_nest_exit(void)
{
	__this_cpu_dec(ovpn_tcp_nest);
}

/* For a sender in any context: OVPN_COMPAT_TCP_LOCKED, with BHs disabled
 * and @sk's spinlock held, when no process owns @sk (the caller then has
 * it to itself, as TCP's receive path does); OVPN_COMPAT_TCP_OWNED, with
 * nothing held, when one does (its release_sock() runs the proto's
 * release_cb, which sends then); OVPN_COMPAT_TCP_NESTED, with nothing
 * held, inside another such section of this CPU.
 */
int ovpn_compat_tcp_lock_unowned(struct sock *sk)
{
	local_bh_disable();
	if (__this_cpu_read(ovpn_tcp_nest)) {
		local_bh_enable();
		return OVPN_COMPAT_TCP_NESTED;
	}
	/* A hook that TCP calls with the lock held locking it again. */
	lockdep_assert_not_held(&sk->sk_lock.slock);
	spin_lock_nested(&sk->sk_lock.slock, OVPN_TCP_SEND_NESTING);
	if (!sock_owned_by_user(sk)) {
		__this_cpu_inc(ovpn_tcp_nest);
		return OVPN_COMPAT_TCP_LOCKED;
	}
	spin_unlock(&sk->sk_lock.slock);
	local_bh_enable();
	return OVPN_COMPAT_TCP_OWNED;
}

void ovpn_compat_tcp_unlock_unowned(struct sock *sk)
{
	__this_cpu_dec(ovpn_tcp_nest);
	spin_unlock(&sk->sk_lock.slock);
	local_bh_enable();
}

/* The release_cb of the proto @sk had before the takeover. */
void ovpn_compat_tcp_orig_release_cb(struct sock *sk)
{
	const struct proto *orig = ovpn_compat_tcp_orig_prot(sk);

	if (orig->release_cb)
		orig->release_cb(sk);
}

/* Lets the socket's own allocations sleep again (@on, the socket owned by
 * a process that may sleep) or makes them atomic again (off), as the
 * driver's sends from softirq context need.
 */
void ovpn_compat_tcp_may_sleep(struct sock *sk,
			       const struct ovpn_compat_tcp_saved *saved,
			       bool on)
{
	sk->sk_allocation = on ? saved->allocation : GFP_ATOMIC;
}

/* Whether @sk's send buffer has room (a send that failed anyway failed
 * for want of memory).
 */
bool ovpn_compat_tcp_has_room(struct sock *sk)
{
	return sk_stream_memory_free(sk);
}

size_t ovpn_compat_sk_rcvbuf(const struct sock *sk)
{
	return max(READ_ONCE(sk->sk_rcvbuf), 0);
}

bool ovpn_compat_tcp_rcv_shutdown(struct sock *sk)
{
	return READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN;
}

/* Whether the connection is gone (closed by the peer, reset, failed). */
bool ovpn_compat_tcp_closed(struct sock *sk)
{
	int state = READ_ONCE(sk->sk_state);

	return state == TCP_CLOSE || state == TCP_CLOSE_WAIT ||
	       READ_ONCE(sk->sk_err);
}

int ovpn_compat_sock_error(struct sock *sk)
{
	return sock_error(sk);
}

/* The message a stream parser hands over: @skb's bytes from *@off, *@len
 * of them.
 */
void ovpn_compat_strp_msg(struct sk_buff *skb, int *off, int *len)
{
	const struct strp_msg *m = strp_msg(skb);

	*off = m->offset;
	*len = m->full_len;
}

/* Headroom a window may keep.  The header offsets of an skb are u16 from
 * its head: data far past the head cannot carry a network header.
 */
#define OVPN_WINDOW_MAX_HEADROOM 4096

/* Cuts *@pskb down to the @len bytes at @off.  Within the linear part the
 * window is a pull.  Past it, pskb_pull() would copy all @off bytes into the
 * head and leave the data as far from it, so the window is copied into a
 * fresh skb instead (one copy of @len bytes, which decryption in place needs
 * anyway) and the old one is freed.  On error *@pskb is left to the caller.
 */
int ovpn_compat_skb_window(struct sk_buff **pskb, unsigned int off,
			   unsigned int len)
{
	struct sk_buff *skb = *pskb, *n;

	if (off > skb->len || len > skb->len - off)
		return -EINVAL;
	if (off <= skb_headlen(skb) &&
	    skb_headroom(skb) + off <= OVPN_WINDOW_MAX_HEADROOM) {
		__skb_pull(skb, off);
		return pskb_trim(skb, len);
	}
	n = alloc_skb(NET_SKB_PAD + len, GFP_ATOMIC);
	if (!n)
		return -ENOMEM;
	skb_reserve(n, NET_SKB_PAD);
	if (skb_copy_bits(skb, off, skb_put(n, len), len)) {
		kfree_skb(n);
		return -EINVAL;
	}
	consume_skb(skb);
	*pskb = n;
	return 0;
}

void ovpn_compat_skb_queue_init(struct sk_buff_head *q)
{
	skb_queue_head_init(q);
}

void ovpn_compat_skb_queue_purge(struct sk_buff_head *q)
{
	skb_queue_purge(q);
}

u32 ovpn_compat_skb_queue_len(const struct sk_buff_head *q)
{
	return skb_queue_len_lockless(q);
}

/* A new skb for a userspace write of @len bytes on @sk, filled from
 * @msg; NULL with *@err set on failure.
 */
struct sk_buff *ovpn_compat_skb_from_msg(struct sock *sk, struct msghdr *msg,
					 size_t len, int *err)
{
	struct sk_buff *skb = alloc_skb(len, sk->sk_allocation);

	if (!skb) {
		*err = -ENOBUFS;
		return NULL;
	}
	if (!copy_from_iter_full(skb_put(skb, len), len, &msg->msg_iter)) {
		kfree_skb(skb);
		*err = -EFAULT;
		return NULL;
	}
	return skb;
}

int ovpn_compat_skb_copy_to_msg(const struct sk_buff *skb, int off,
				struct msghdr *msg, int len)
{
	return skb_copy_datagram_msg(skb, off, msg, len);
}
