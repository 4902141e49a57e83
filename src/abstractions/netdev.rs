// SPDX-License-Identifier: GPL-2.0

//! Network namespaces and network devices.

use super::bindings;
use core::ptr::NonNull;
use kernel::sync::aref::{ARef, AlwaysRefCounted};
use kernel::types::Opaque;

/// A network namespace (`struct net`).
///
/// # Invariants
///
/// A `&Net` refers to a live namespace for the reference's lifetime.
#[repr(transparent)]
pub(crate) struct Net(Opaque<bindings::net>);

impl Net {
    /// Borrows a raw namespace pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a namespace that stays alive for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::net) -> &'a Self {
        // SAFETY: `Net` is a transparent wrapper of `struct net`, and the
        // caller guarantees liveness for `'a`.
        unsafe { &*ptr.cast() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// The next hop toward IPv4 address `dst` by this namespace's routes
    /// (`dst` itself if directly reachable or unroutable).
    pub(crate) fn nexthop4(&self, dst: [u8; 4]) -> [u8; 4] {
        // SAFETY: the namespace is alive (type invariant).
        unsafe { bindings::ovpn_compat_route_nexthop4(self.as_ptr(), u32::from_ne_bytes(dst)) }
            .to_ne_bytes()
    }

    /// The next hop toward IPv6 address `dst`, like [`Net::nexthop4`].
    pub(crate) fn nexthop6(&self, dst: [u8; 16]) -> [u8; 16] {
        let mut a = bindings::in6_addr::default();
        a.in6_u.u6_addr8 = dst;
        // SAFETY: the namespace is alive (type invariant).
        unsafe { bindings::ovpn_compat_route_nexthop6(self.as_ptr(), &mut a) };
        // SAFETY: every member of the union is a view of the 16 bytes.
        unsafe { a.in6_u.u6_addr8 }
    }

    /// Looks up the device with index `ifindex` in this namespace and takes
    /// a reference on it.
    pub(crate) fn dev_get_by_index(&self, ifindex: i32) -> Option<ARef<NetDevice>> {
        // SAFETY: the namespace is alive (type invariant); the function
        // returns null or a device with an extra reference, which the
        // `ARef` takes over.
        let dev = unsafe { bindings::ovpn_compat_dev_get_by_index(self.as_ptr(), ifindex) };
        // SAFETY: `dev_get_by_index` took the reference that the `ARef`
        // now owns.
        NonNull::new(dev).map(|p| unsafe { ARef::from_raw(p.cast()) })
    }
}

/// A network device (`struct net_device`).
///
/// # Invariants
///
/// A `&NetDevice` refers to a device that stays allocated for the
/// reference's lifetime (it is referenced, or the caller runs inside one of
/// the device's own callbacks).
#[repr(transparent)]
pub(crate) struct NetDevice(Opaque<bindings::net_device>);

// SAFETY: the C side synchronises all access to a net_device; the methods
// of this wrapper only read fields that are stable while it is alive or use
// functions that may be called from any thread.
unsafe impl Send for NetDevice {}
// SAFETY: as for `Send`.
unsafe impl Sync for NetDevice {}

// SAFETY: `dev_hold`/`dev_put` keep the device allocated while the count is
// raised; `ARef` pairs them.
unsafe impl AlwaysRefCounted for NetDevice {
    fn inc_ref(&self) {
        // SAFETY: the device is alive by the type invariant.
        unsafe { bindings::ovpn_compat_dev_hold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives back a reference it owned.
        unsafe { bindings::ovpn_compat_dev_put(obj.as_ptr().cast()) };
    }
}

impl NetDevice {
    /// Borrows a raw device pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a device that stays allocated for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *const bindings::net_device) -> &'a Self {
        // SAFETY: transparent wrapper; liveness per the caller.
        unsafe { &*ptr.cast() }
    }

    /// The raw pointer, for the abstraction layer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The device's network namespace.
    pub(crate) fn net(&self) -> &Net {
        // SAFETY: a device keeps its namespace alive while it exists.
        unsafe { Net::from_raw(bindings::ovpn_compat_dev_net(self.as_ptr())) }
    }

    /// The device's interface index.
    pub(crate) fn ifindex(&self) -> i32 {
        // SAFETY: the device is alive; `ifindex` is set at registration and
        // stable afterwards.
        unsafe { (*self.as_ptr()).ifindex }
    }

    /// Whether the device was created by `ops` (is of that link kind).
    pub(crate) fn has_link_ops(&self, ops: *const bindings::rtnl_link_ops) -> bool {
        // SAFETY: the device is alive; `rtnl_link_ops` is set before
        // registration and never changes afterwards.
        core::ptr::eq(unsafe { (*self.as_ptr()).rtnl_link_ops }, ops)
    }

    /// The raw private area of the device (`netdev_priv`).
    pub(crate) fn priv_ptr(&self) -> *mut core::ffi::c_void {
        // SAFETY: the device is alive.
        unsafe { bindings::ovpn_compat_netdev_priv(self.as_ptr()) }
    }

    /// Counts a packet dropped on transmit.
    pub(crate) fn stats_tx_dropped(&self) {
        // SAFETY: as in `stats_rx_add`.
        unsafe { bindings::ovpn_compat_dev_dstats_tx_dropped(self.as_ptr()) };
    }

    /// Counts a received packet of `len` bytes in the device stats.
    pub(crate) fn stats_rx_add(&self, len: usize) {
        // SAFETY: the device is alive (type invariant).
        unsafe { bindings::ovpn_compat_dev_dstats_rx_add(self.as_ptr(), len as u32) };
    }

    /// Counts a transmitted packet of `len` bytes in the device stats.
    pub(crate) fn stats_tx_add(&self, len: usize) {
        // SAFETY: the device is alive (type invariant).
        unsafe { bindings::ovpn_compat_dev_dstats_tx_add(self.as_ptr(), len as u32) };
    }

    /// Counts a dropped received packet in the device stats.
    pub(crate) fn stats_rx_dropped(&self) {
        // SAFETY: the device is alive (type invariant).
        unsafe { bindings::ovpn_compat_dev_dstats_rx_dropped(self.as_ptr()) };
    }

    /// Starts the transmit queues.
    pub(crate) fn tx_start_all_queues(&self) {
        // SAFETY: the device is alive; called from ndo_open under RTNL.
        unsafe { bindings::ovpn_compat_netif_tx_start_all_queues(self.as_ptr()) };
    }

    /// Stops the transmit queues.
    pub(crate) fn tx_stop_all_queues(&self) {
        // SAFETY: the device is alive; called from ndo_stop under RTNL.
        unsafe { bindings::ovpn_compat_netif_tx_stop_all_queues(self.as_ptr()) };
    }

    /// Reports the link up (`netif_carrier_on`): the stack sends through
    /// the device again.
    pub(crate) fn carrier_on(&self) {
        // SAFETY: the device is alive (`&self`); the function takes its own
        // locks and may be called in any context, registered or not.
        unsafe { bindings::netif_carrier_on(self.as_ptr()) };
    }

    /// Reports the link down (`netif_carrier_off`).
    pub(crate) fn carrier_off(&self) {
        // SAFETY: as in `carrier_on`.
        unsafe { bindings::netif_carrier_off(self.as_ptr()) };
    }

    /// Turns off IPv4 ICMP redirects for this device and for the namespace
    /// ("all"): the kernel would otherwise redirect clients to each other.
    pub(crate) fn disable_send_redirects(&self) {
        // SAFETY: the device is alive; called from ndo_open under RTNL.
        unsafe { bindings::ovpn_compat_disable_send_redirects(self.as_ptr()) };
    }
}

/// Netdev feature bits.
pub(crate) mod features {
    use super::bindings;

    /// A set of `NETIF_F_*` bits.
    pub(crate) type Features = u64;

    const fn bit(b: u32) -> Features {
        1 << b
    }

    /// Scatter/gather I/O.
    pub(crate) const SG: Features = bit(bindings::NETIF_F_SG_BIT);
    /// Checksums any packet in software.
    pub(crate) const HW_CSUM: Features = bit(bindings::NETIF_F_HW_CSUM_BIT);
    /// Receive checksum offload.
    pub(crate) const RXCSUM: Features = bit(bindings::NETIF_F_RXCSUM_BIT);
    /// Generic segmentation offload.
    pub(crate) const GSO: Features = bit(bindings::NETIF_F_GSO_BIT);
    /// DMA to high memory.
    pub(crate) const HIGHDMA: Features = bit(bindings::NETIF_F_HIGHDMA_BIT);
    /// All GSO types the stack can segment in software.
    pub(crate) const GSO_SOFTWARE: Features = bit(bindings::NETIF_F_TSO_BIT)
        | bit(bindings::NETIF_F_TSO_ECN_BIT)
        | bit(bindings::NETIF_F_TSO6_BIT)
        | bit(bindings::NETIF_F_TSO_MANGLEID_BIT)
        | bit(bindings::NETIF_F_GSO_SCTP_BIT)
        | bit(bindings::NETIF_F_GSO_UDP_L4_BIT)
        | bit(bindings::NETIF_F_GSO_FRAGLIST_BIT);
}

/// Milliseconds on a monotonic clock (jiffies resolution).
pub(crate) fn now_ms() -> u64 {
    // SAFETY: reads the jiffies counter.
    unsafe { bindings::ovpn_compat_now_ms() }
}

/// Nanoseconds on a monotonic clock (fine resolution, cheap to read).
pub(crate) fn now_ns() -> u64 {
    // SAFETY: reads the fast monotonic clock, callable from any context.
    unsafe { bindings::ovpn_compat_now_ns() }
}

/// Runs `f` with bottom halves disabled (as the transmit path expects).
pub(crate) fn with_bh_disabled<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: paired with the enable below.
    unsafe { bindings::ovpn_compat_local_bh_disable() };
    let r = f();
    // SAFETY: pairs with the disable above.
    unsafe { bindings::ovpn_compat_local_bh_enable() };
    r
}
