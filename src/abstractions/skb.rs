// SPDX-License-Identifier: GPL-2.0

//! Socket buffers.

use super::bindings;
use super::netdev::NetDevice;
use crate::proto::sockaddr::{IpAddr, SockAddr};
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::prelude::*;

/// An owned socket buffer (`struct sk_buff`).
///
/// Dropping it frees the buffer (counted as a drop by the kernel's drop
/// monitor); handing it on consumes it.
///
/// # Invariants
///
/// `ptr` points to a valid `sk_buff` that this object owns exclusively.
pub(crate) struct SkBuff {
    ptr: NonNull<bindings::sk_buff>,
}

// SAFETY: an owned skb may be passed between threads; the kernel does so.
unsafe impl Send for SkBuff {}

impl SkBuff {
    /// Takes ownership of a raw skb.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid skb whose ownership is transferred to the
    /// returned object.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::sk_buff) -> Option<Self> {
        // INVARIANT: valid and owned per the function's contract.
        NonNull::new(ptr).map(|ptr| Self { ptr })
    }

    /// A new packet of `dev` holding a copy of `data`, with `headroom`
    /// bytes free in front.  May sleep.
    pub(crate) fn new_with(dev: &NetDevice, headroom: usize, data: &[u8]) -> Result<Self> {
        let h = u32::try_from(headroom).map_err(|_| EINVAL)?;
        let n = u32::try_from(data.len()).map_err(|_| EINVAL)?;
        // SAFETY: allocates a fresh skb (or returns null).
        let p = unsafe { bindings::ovpn_compat_alloc_skb(dev.as_ptr(), h, n) };
        // SAFETY: a fresh skb is ours.
        let skb = unsafe { Self::from_raw(p) }.ok_or(ENOMEM)?;
        // SAFETY: the fresh skb's linear data is the `n` bytes just put,
        // which nobody else sees yet.
        unsafe {
            core::ptr::copy_nonoverlapping(
                data.as_ptr(),
                bindings::ovpn_compat_skb_data(skb.as_ptr()),
                data.len(),
            )
        };
        Ok(skb)
    }

    /// Gives up ownership, returning the raw skb.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let p = self.ptr.as_ptr();
        core::mem::forget(self);
        p
    }

    /// The raw pointer, still owned by `self`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::sk_buff {
        self.ptr.as_ptr()
    }

    /// Frees the skb as consumed (not a drop).
    pub(crate) fn consume(self) {
        // SAFETY: we own the skb and give it up.
        unsafe { bindings::consume_skb(self.into_raw()) };
    }

    /// The packet length (linear part and fragments).
    pub(crate) fn len(&self) -> usize {
        // SAFETY: the skb is valid (invariant).
        unsafe { bindings::ovpn_compat_skb_len(self.as_ptr()) as usize }
    }

    /// The packet's protocol (`ETH_P_*`), host order.
    pub(crate) fn protocol(&self) -> u16 {
        // SAFETY: the skb is valid (invariant).
        u16::from_be(unsafe { bindings::ovpn_compat_skb_protocol(self.as_ptr()) })
    }

    /// The linear part of the packet data.
    pub(crate) fn head(&self) -> &[u8] {
        // SAFETY: the skb is valid; `data` points to `headlen` readable
        // bytes, which stay in place while `self` is borrowed (every
        // method that moves them takes `&mut self`).
        unsafe {
            let p = self.as_ptr();
            let len = bindings::ovpn_compat_skb_headlen(p) as usize;
            core::slice::from_raw_parts(bindings::ovpn_compat_skb_data(p), len)
        }
    }

    /// Makes the first `len` bytes linear; `false` if the packet is
    /// shorter or memory ran out.
    pub(crate) fn may_pull(&mut self, len: usize) -> bool {
        let Ok(len) = u32::try_from(len) else {
            return false;
        };
        // SAFETY: the skb is valid and owned.
        unsafe { bindings::ovpn_compat_pskb_may_pull(self.as_ptr(), len) }
    }

    /// Removes `len` bytes from the front (which must be linear: see
    /// [`SkBuff::may_pull`]).  `EINVAL` if the packet is shorter.
    pub(crate) fn pull(&mut self, len: usize) -> Result {
        if len > self.head().len() {
            return Err(EINVAL);
        }
        // SAFETY: the skb is valid and owned, and has `len` linear bytes.
        unsafe { bindings::skb_pull(self.as_ptr(), len as u32) };
        Ok(())
    }

    /// Puts back in front the `n` bytes that the last [`SkBuff::pull`]
    /// removed (they are still there, unchanged).
    pub(crate) fn unpull(&mut self, n: usize) {
        // SAFETY: the skb is valid and owned.
        let p = unsafe { self.ptr.as_ref() };
        if (p.data as usize) - (p.head as usize) >= n {
            // SAFETY: there are `n` bytes of headroom; they hold what was
            // pulled, which we only expose again.
            unsafe { bindings::skb_push(self.as_ptr(), n as u32) };
        }
    }

    /// Cuts the packet down to the `len` bytes that start at `off`; the
    /// result may be a copy in a new skb.
    pub(crate) fn window(&mut self, off: usize, len: usize) -> Result {
        let off = u32::try_from(off).map_err(|_| EINVAL)?;
        let len = u32::try_from(len).map_err(|_| EINVAL)?;
        let mut p = self.as_ptr();
        // SAFETY: the skb is valid and owned.  On success the function
        // may have freed it and put an skb it hands over in `p`; on error
        // `p` is unchanged.
        to_result(unsafe { bindings::ovpn_compat_skb_window(&mut p, off, len) })?;
        // INVARIANT: `p` is valid and ours (see above).
        self.ptr = NonNull::new(p).ok_or(EINVAL)?;
        Ok(())
    }

    /// Makes sure the header area is private and has `room` bytes of
    /// headroom.
    pub(crate) fn cow_head(&mut self, room: usize) -> Result {
        let room = u32::try_from(room).map_err(|_| EINVAL)?;
        // SAFETY: the skb is valid and owned.
        to_result(unsafe { bindings::ovpn_compat_skb_cow_head(self.as_ptr(), room) })
    }

    /// Adds `n` bytes in front and returns them for writing; the header
    /// area is made private first if it is shared (a no-op after
    /// [`SkBuff::cow_head`] with at least `n`).
    pub(crate) fn push(&mut self, n: usize) -> Result<&mut [u8]> {
        self.cow_head(n)?;
        // SAFETY: the skb is valid and owned.
        let p = unsafe { self.ptr.as_ref() };
        let (head, data) = (p.head as usize, p.data as usize);
        if data - head < n {
            return Err(ENOMEM);
        }
        // SAFETY: there are `n` bytes of headroom, checked above; the
        // header area is private (`cow_head` above), and the new bytes
        // are ours while `self` is borrowed mutably.
        unsafe {
            let d = bindings::skb_push(self.as_ptr(), n as u32);
            Ok(core::slice::from_raw_parts_mut(d.cast::<u8>(), n))
        }
    }

    /// The outer source and destination of a packet received on a UDP
    /// socket (in its encap hook, or later: pulling the UDP header and
    /// queueing the packet keep the outer headers in place).
    pub(crate) fn udp_addrs(&self) -> (SockAddr, IpAddr) {
        let mut a = bindings::ovpn_compat_addrs::default();
        // SAFETY: the skb is valid; its network and transport header
        // offsets were set by the stack, which validated them before the
        // encap hook, and nothing here moves the data they point to.
        unsafe { bindings::ovpn_compat_skb_udp_addrs(self.as_ptr(), &mut a) };
        let port = u16::from_be(a.sport);
        if u32::from(a.family) == bindings::AF_INET {
            let s = [a.saddr[0], a.saddr[1], a.saddr[2], a.saddr[3]];
            let d = [a.daddr[0], a.daddr[1], a.daddr[2], a.daddr[3]];
            let remote = SockAddr {
                ip: IpAddr::V4(s),
                port,
                scope_id: 0,
            };
            (remote, IpAddr::V4(d))
        } else {
            let remote = SockAddr {
                ip: IpAddr::V6(a.saddr),
                port,
                scope_id: a.ifindex as u32,
            };
            (remote, IpAddr::V6(a.daddr))
        }
    }

    /// Drops the packet's route (the inner one, before encapsulation).
    pub(crate) fn dst_drop(&mut self) {
        // SAFETY: the skb is valid and owned.
        unsafe { bindings::ovpn_compat_skb_dst_drop(self.as_ptr()) };
    }

    /// Whether the packet is a GSO super-packet.
    pub(crate) fn is_gso(&self) -> bool {
        // SAFETY: the skb is valid.
        unsafe { bindings::ovpn_compat_skb_is_gso(self.as_ptr()) }
    }

    /// Segments a GSO packet in software.
    pub(crate) fn gso_segment(self) -> Result<SkbList> {
        // SAFETY: the skb is valid; `skb_gso_segment` leaves it alone, and
        // returns a list of new skbs (or an error pointer).
        let segs = unsafe { bindings::ovpn_compat_skb_gso_segment(self.as_ptr()) };
        let segs = kernel::error::from_err_ptr(segs)?;
        // The original is replaced by its segments.
        self.consume();
        // INVARIANT: the list's skbs are new and ours.
        Ok(SkbList {
            next: NonNull::new(segs),
        })
    }

    /// Resolves a partial checksum (before encryption).
    pub(crate) fn checksum_resolve(&mut self) -> Result {
        // SAFETY: the skb is valid and owned.
        to_result(unsafe { bindings::ovpn_compat_skb_csum_resolve(self.as_ptr()) })
    }

    /// Lets go of the socket, route and conntrack entry a received packet
    /// holds, so that it may be kept past the softirq it arrived in (a
    /// route attached without a reference is only valid there).
    pub(crate) fn detach(&mut self) {
        // SAFETY: the skb is valid and owned.
        unsafe { bindings::ovpn_compat_skb_detach(self.as_ptr()) }
    }

    /// Readies a decrypted inner packet for delivery on `dev` as
    /// `protocol` (`ETH_P_*`, host order).
    pub(crate) fn rx_prepare(&mut self, dev: &NetDevice, protocol: u16) {
        // SAFETY: the skb is valid and owned; `dev` is alive.
        unsafe {
            bindings::ovpn_compat_skb_rx_prepare(self.as_ptr(), dev.as_ptr(), protocol.to_be())
        }
    }

    /// The next hop of an inner IPv4 packet (linear header checked by the
    /// caller with `may_pull(20)`), from its attached route.
    pub(crate) fn nexthop4(&mut self) -> [u8; 4] {
        // SAFETY: the skb is valid, with an IPv4 header at `data` (the
        // xmit path's network header).
        unsafe { bindings::ovpn_compat_nexthop4(self.as_ptr()) }.to_ne_bytes()
    }

    /// The next hop of an inner IPv6 packet.
    pub(crate) fn nexthop6(&mut self) -> [u8; 16] {
        let mut a = bindings::in6_addr::default();
        // SAFETY: as for `nexthop4`, with an IPv6 header.
        unsafe { bindings::ovpn_compat_nexthop6(self.as_ptr(), &mut a) };
        // SAFETY: `in6_addr` is 16 bytes of address, every union member
        // being a view of them.
        unsafe { a.in6_u.u6_addr8 }
    }
}

/// A list of skbs (GSO segments), each owned; the rest is freed on drop.
///
/// # Invariants
///
/// `next` is null or the first of a `next`-linked list of owned skbs.
pub(crate) struct SkbList {
    next: Option<NonNull<bindings::sk_buff>>,
}

impl Iterator for SkbList {
    type Item = SkBuff;

    fn next(&mut self) -> Option<SkBuff> {
        let cur = self.next?;
        // SAFETY: `cur` is an owned skb of the list; this unlinks it and
        // returns its successor.
        self.next = NonNull::new(unsafe { bindings::ovpn_compat_skb_list_pop_next(cur.as_ptr()) });
        // INVARIANT: unlinked, `cur` is owned alone.
        Some(SkBuff { ptr: cur })
    }
}

impl Drop for SkbList {
    fn drop(&mut self) {
        for skb in self.by_ref() {
            drop(skb);
        }
    }
}

impl Drop for SkBuff {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own the skb; it is not used again.
        unsafe { bindings::ovpn_compat_kfree_skb(self.ptr.as_ptr()) };
    }
}

/// A FIFO of owned skbs with its own lock (`struct sk_buff_head`), usable
/// from any context; what is left in it is freed on drop.
///
/// # Invariants
///
/// `inner` is an initialised queue holding skbs it owns.
#[pin_data(PinnedDrop)]
pub(crate) struct SkbQueue {
    #[pin]
    inner: kernel::types::Opaque<bindings::sk_buff_head>,
}

// SAFETY: the queue has its own spinlock (irq-safe); the skbs in it are
// owned and may move between threads.
unsafe impl Send for SkbQueue {}
// SAFETY: as for `Send`: every operation takes the queue's lock.
unsafe impl Sync for SkbQueue {}

impl SkbQueue {
    /// An initialiser for an empty queue.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: initialises an empty queue in place.
            inner <- kernel::types::Opaque::ffi_init(|q| unsafe {
                bindings::ovpn_compat_skb_queue_init(q)
            }),
        })
    }

    /// Appends `skb`.
    pub(crate) fn push(&self, skb: SkBuff) {
        // SAFETY: initialised (invariant); the queue takes the skb.
        unsafe { bindings::skb_queue_tail(self.inner.get(), skb.into_raw()) };
    }

    /// Puts `skb` back in front, to be taken first.
    pub(crate) fn push_front(&self, skb: SkBuff) {
        // SAFETY: initialised (invariant); the queue takes the skb.
        unsafe { bindings::skb_queue_head(self.inner.get(), skb.into_raw()) };
    }

    /// Takes the first skb, if any.  An empty queue (a snapshot, as for
    /// [`SkbQueue::is_empty`]) is seen without taking the lock: the
    /// control queue of a TCP peer is empty for nearly every frame sent.
    /// An skb pushed concurrently may then be missed; every pusher is
    /// followed by a pop of its own (or by scheduling one).
    pub(crate) fn pop(&self) -> Option<SkBuff> {
        if self.is_empty() {
            return None;
        }
        // SAFETY: initialised (invariant); a dequeued skb is ours.
        unsafe { SkBuff::from_raw(bindings::skb_dequeue(self.inner.get())) }
    }

    /// The number of skbs queued (a snapshot).
    pub(crate) fn len(&self) -> usize {
        // SAFETY: initialised (invariant); reads the length without the lock.
        unsafe { bindings::ovpn_compat_skb_queue_len(self.inner.get()) as usize }
    }

    /// Whether the queue is empty (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frees every skb queued.
    pub(crate) fn purge(&self) {
        // SAFETY: initialised (invariant); takes the lock, frees owned skbs.
        unsafe { bindings::ovpn_compat_skb_queue_purge(self.inner.get()) };
    }
}

#[pinned_drop]
impl PinnedDrop for SkbQueue {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: initialised (invariant) and no longer shared.
        unsafe { bindings::ovpn_compat_skb_queue_purge(self.inner.get()) };
    }
}
