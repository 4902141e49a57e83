// SPDX-License-Identifier: GPL-2.0

//! UDP tunnel sockets: the encapsulation receive hook on a socket that
//! userspace passed in, and transmission through it with a route cache.

use super::bindings;
use super::netdev::NetDevice;
use super::rcu::GpCookie;
use super::skb::SkBuff;
use super::socket::{SockRef, Socket};
use super::tcp::InFlight;
use crate::proto::sockaddr::IpAddr;
use core::marker::PhantomData;
use kernel::error::from_err_ptr;
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::rcu;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;

/// What receives the packets of an attached socket.
pub(crate) trait UdpRecv: 'static {
    /// A packet arrived on `sock` (data at its UDP header).  Returning it
    /// hands it back, untouched, to the socket's normal receive path
    /// (userspace); `None` means it was consumed.  Runs in softirq
    /// context under the RCU read lock.
    fn recv(sock: &UdpSock, skb: SkBuff) -> Option<SkBuff>;

    /// Userspace closed `sock` (its last descriptor): whatever uses it
    /// must end.  Process context.
    fn closed(sock: Arc<UdpSock>);
}

/// A UDP socket serving a device's tunnels.
pub(crate) struct UdpSock {
    sock: SockRef,
    dev: ARef<NetDevice>,
}

impl UdpSock {
    /// The device the socket serves.
    pub(crate) fn dev(&self) -> &NetDevice {
        &self.dev
    }

    /// Whether the socket still delivers to this tunnel: not closed, and
    /// its encapsulation not reset by a holder of its descriptor
    /// (`UDP_ENCAP`), after which its hooks, the close hook included, no
    /// longer run.
    pub(crate) fn intact(&self) -> bool {
        // SAFETY: the sock is live (`SockRef`); the call only reads it.
        unsafe { bindings::ovpn_compat_udp_encap_intact(self.sock.sk()) }
    }

    /// The socket.
    pub(crate) fn socket(&self) -> &SockRef {
        &self.sock
    }

    /// Sends `skb` (an OpenVPN packet) to `remote`:`port` from `local` (or
    /// the routing's choice when unset or no longer usable), using and
    /// refreshing `cache`.  Called with BHs disabled.
    pub(crate) fn send(
        &self,
        skb: SkBuff,
        remote: &IpAddr,
        port: u16,
        scope: u32,
        local: Option<&IpAddr>,
        cache: &DstCache,
    ) -> Result {
        let sk = self.sock.sk();
        let sport = self.sock.local_port().to_be();
        match remote {
            IpAddr::V4(d) => {
                let daddr = u32::from_ne_bytes(*d);
                let mut saddr = match local {
                    Some(IpAddr::V4(l)) => u32::from_ne_bytes(*l),
                    _ => 0,
                };
                // SAFETY: the cache is initialised (type invariant); BHs
                // are off as its per-CPU slots need.
                let mut rt = unsafe { bindings::dst_cache_get_ip4(cache.as_ptr(), &mut saddr) };
                if rt.is_null() {
                    // SAFETY: the socket is alive while `self` is.
                    let r = unsafe {
                        bindings::ovpn_compat_route4(sk, &mut saddr, daddr, sport, port.to_be())
                    };
                    let r = match from_err_ptr(r) {
                        Err(e) if (e == EINVAL || e == super::enetunreach()) && saddr != 0 => {
                            // The local address is gone: let routing choose.
                            saddr = 0;
                            // SAFETY: as above.
                            from_err_ptr(unsafe {
                                bindings::ovpn_compat_route4(
                                    sk,
                                    &mut saddr,
                                    daddr,
                                    sport,
                                    port.to_be(),
                                )
                            })?
                        }
                        r => r?,
                    };
                    // SAFETY: `r` is a route we hold; the cache takes its
                    // own reference.
                    unsafe {
                        bindings::dst_cache_set_ip4(
                            cache.as_ptr(),
                            bindings::ovpn_compat_rt4_dst(r),
                            saddr,
                        )
                    };
                    rt = r;
                }
                // SAFETY: `rt` is a referenced route, not used after an
                // error.
                unsafe { self.check_loop(bindings::ovpn_compat_rt4_dst(rt)) }?;
                // SAFETY: `rt` is a referenced route, consumed by the
                // transmit helper with the skb.
                unsafe {
                    bindings::ovpn_compat_udp4_xmit(
                        rt,
                        sk,
                        skb.into_raw(),
                        saddr,
                        daddr,
                        port.to_be(),
                    )
                };
            }
            IpAddr::V6(d) => {
                let daddr = in6(d);
                let mut saddr = match local {
                    Some(IpAddr::V6(l)) => in6(l),
                    _ => bindings::in6_addr::default(),
                };
                // SAFETY: as for IPv4.
                let mut dst = unsafe { bindings::dst_cache_get_ip6(cache.as_ptr(), &mut saddr) };
                if dst.is_null() {
                    // SAFETY: the socket is alive while `self` is.
                    let r = unsafe {
                        bindings::ovpn_compat_route6(
                            sk,
                            &mut saddr,
                            &daddr,
                            sport,
                            port.to_be(),
                            scope as i32,
                        )
                    };
                    let r = from_err_ptr(r)?;
                    // SAFETY: as for IPv4.
                    unsafe { bindings::dst_cache_set_ip6(cache.as_ptr(), r, &saddr) };
                    dst = r;
                }
                // SAFETY: as for IPv4.
                unsafe { self.check_loop(dst) }?;
                // SAFETY: as for IPv4.
                unsafe {
                    bindings::ovpn_compat_udp6_xmit(
                        dst,
                        sk,
                        skb.into_raw(),
                        &saddr,
                        &daddr,
                        port.to_be(),
                    )
                };
            }
        }
        Ok(())
    }

    /// `ELOOP`, with the route released, when `dst` leads back into the
    /// device the packet comes from: each pass would encapsulate it again.
    ///
    /// # Safety
    ///
    /// `dst` must be a route the caller holds a reference of; on `Err`
    /// that reference is gone.
    unsafe fn check_loop(&self, dst: *mut bindings::dst_entry) -> Result {
        // SAFETY: `dst` is referenced (contract).
        if unsafe { bindings::ovpn_compat_dst_dev(dst) } != self.dev.as_ptr() {
            return Ok(());
        }
        // SAFETY: the caller's reference, given up per the contract.
        unsafe { bindings::dst_release(dst) };
        Err(super::eloop())
    }
}

fn in6(a: &[u8; 16]) -> bindings::in6_addr {
    let mut r = bindings::in6_addr::default();
    r.in6_u.u6_addr8 = *a;
    r
}

/// A socket in OpenVPN encapsulation mode for one device.  Dropping it
/// detaches the socket and waits for the receive hooks that may still be
/// looking at it; it must be dropped in process context.
///
/// # Invariants
///
/// The socket's user data points to `sock`'s `UdpSock`, which this object
/// keeps alive, from `attach` until `drop` has detached it and waited for a
/// grace period.
pub(crate) struct UdpTunnel<R: UdpRecv> {
    sock: Arc<UdpSock>,
    /// Set by `release`: when the socket was detached.
    released: Option<GpCookie>,
    _r: PhantomData<R>,
}

impl<R: UdpRecv> UdpTunnel<R> {
    /// Puts `sock` in encapsulation mode for `dev`.  `EBUSY` if the socket
    /// already serves a tunnel (of this or another driver).
    pub(crate) fn attach(sock: &Socket, dev: ARef<NetDevice>) -> Result<Self> {
        let us = Arc::new(
            UdpSock {
                sock: sock.sock_ref(),
                dev,
            },
            GFP_KERNEL,
        )?;
        let data = Arc::as_ptr(&us);
        // SAFETY: the socket is open; the user data stays valid as long as
        // `self` (see the invariant).
        let ret = unsafe {
            bindings::ovpn_compat_udp_encap_attach(
                sock.as_ptr(),
                data.cast_mut().cast(),
                Some(recv_callback::<R>),
                Some(destroy_callback::<R>),
            )
        };
        kernel::error::to_result(ret)?;
        // INVARIANT: attached with user data pointing to `us`.
        Ok(Self {
            sock: us,
            released: None,
            _r: PhantomData,
        })
    }

    /// The socket, shared with the peers that send through it.
    pub(crate) fn sock(&self) -> &Arc<UdpSock> {
        &self.sock
    }

    /// Whether [`Self::release`] ran.
    pub(crate) fn is_released(&self) -> bool {
        self.released.is_some()
    }

    /// Detaches the socket; the grace period its receive hooks need is
    /// waited for by `drop`, and shared by tunnels released together.
    /// Process context.
    pub(crate) fn release(&mut self) {
        if self.released.is_none() {
            // SAFETY: the sock is live (`SockRef`) and attached by us.
            unsafe { bindings::ovpn_compat_udp_encap_detach(self.sock.sock.sk()) };
            self.released = Some(GpCookie::now());
        }
    }
}

impl<R: UdpRecv> Drop for UdpTunnel<R> {
    fn drop(&mut self) {
        self.release();
        // Receive hooks that read the user data before the detach finish
        // within a grace period; the `UdpSock` may go after it.
        if let Some(c) = self.released {
            c.wait();
        }
    }
}

/// The socket's `encap_rcv` hook.
///
/// # Safety
///
/// Called by the UDP stack, under the RCU read lock, with a socket of ours
/// and an skb that we own from here on.
unsafe extern "C" fn recv_callback<R: UdpRecv>(
    sk: *mut bindings::sock,
    skb: *mut bindings::sk_buff,
) -> i32 {
    // SAFETY: the UDP stack holds the RCU read lock.
    let data = unsafe { bindings::ovpn_compat_sk_user_data(sk) }.cast::<UdpSock>();
    // SAFETY: the skb is ours to consume or give back.
    let Some(skb) = (unsafe { SkBuff::from_raw(skb) }) else {
        return 0;
    };
    // SAFETY: while attached the user data is a `UdpSock` kept alive until
    // a grace period after detaching (`UdpTunnel` invariant); we are in a
    // read-side section that began before any such grace period ended.
    let Some(us) = (unsafe { data.as_ref() }) else {
        // Detached meanwhile: let UDP deliver it.
        skb.into_raw();
        return 1;
    };
    match R::recv(us, skb) {
        Some(skb) => {
            // Back to the normal UDP path, untouched.
            skb.into_raw();
            1
        }
        None => 0,
    }
}

/// The socket's `encap_destroy` hook: userspace closed it.
///
/// # Safety
///
/// Called by the UDP stack in process context, with a socket that was
/// ours when its hooks were read.
unsafe extern "C" fn destroy_callback<R: UdpRecv>(sk: *mut bindings::sock) {
    // The driver sleeps here: the module's exit must wait for us.
    let _f = InFlight::enter();
    let us = {
        let _g = rcu::read_lock();
        // SAFETY: the sock is live (it is being closed by its caller).
        let data = unsafe { bindings::ovpn_compat_sk_user_data(sk) }.cast::<UdpSock>();
        if data.is_null() {
            // Detached meanwhile.
            return;
        }
        // SAFETY: the user data is ours or null: nothing else can attach
        // to a socket being released (no descriptor is left to do it
        // with).  Ours is a `UdpSock` from `Arc::as_ptr`, kept alive until
        // a grace period after detaching (`UdpTunnel` invariant): within
        // this read-side section its count is not zero.
        let b = unsafe { ArcBorrow::from_raw(data) };
        Arc::<UdpSock>::from(b)
    };
    R::closed(us);
}

/// A per-CPU route cache (`struct dst_cache`).
///
/// # Invariants
///
/// `inner` was initialised by `dst_cache_init` and is destroyed on drop.
#[pin_data(PinnedDrop)]
pub(crate) struct DstCache {
    #[pin]
    inner: Opaque<bindings::dst_cache>,
}

// SAFETY: the cache is per-CPU and used with BHs off; it may be used from
// and dropped on any CPU.
unsafe impl Send for DstCache {}
// SAFETY: as for `Send`.
unsafe impl Sync for DstCache {}

impl DstCache {
    /// An initialiser for an empty cache.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // SAFETY: `dst_cache_init` initialises the slot or fails.
            inner <- Opaque::try_ffi_init(|p| kernel::error::to_result(unsafe {
                bindings::dst_cache_init(p, kernel::bindings::GFP_KERNEL)
            })),
        })
    }

    fn as_ptr(&self) -> *mut bindings::dst_cache {
        self.inner.get()
    }

    /// Forgets the cached routes (the endpoint changed).
    pub(crate) fn reset(&self) {
        // SAFETY: initialised (invariant).
        unsafe { bindings::ovpn_compat_dst_cache_reset(self.as_ptr()) };
    }
}

#[pinned_drop]
impl PinnedDrop for DstCache {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: initialised (invariant) and no longer used.
        unsafe { bindings::dst_cache_destroy(self.as_ptr()) };
    }
}

/// GRO cells: per-CPU NAPI delivery of received packets.
///
/// # Invariants
///
/// `inner` was initialised by `gro_cells_init` for a device and is
/// destroyed on drop (in process context, before the device is freed).
#[pin_data(PinnedDrop)]
pub(crate) struct GroCells {
    #[pin]
    inner: Opaque<bindings::gro_cells>,
}

// SAFETY: GRO cells are per-CPU and may be used from any CPU.
unsafe impl Send for GroCells {}
// SAFETY: as for `Send`.
unsafe impl Sync for GroCells {}

impl GroCells {
    /// An initialiser for the cells of `dev`.
    pub(crate) fn new(dev: &NetDevice) -> impl PinInit<Self, Error> + '_ {
        try_pin_init!(Self {
            // SAFETY: `gro_cells_init` initialises the slot or fails.
            inner <- Opaque::try_ffi_init(|p| kernel::error::to_result(unsafe {
                bindings::gro_cells_init(p, dev.as_ptr())
            })),
        })
    }

    /// Delivers `skb` (prepared for the device) to the stack.  BHs must be
    /// disabled.
    pub(crate) fn receive(&self, skb: SkBuff) {
        // SAFETY: initialised (invariant); the call consumes the skb.
        unsafe { bindings::gro_cells_receive(self.inner.get(), skb.into_raw()) };
    }
}

#[pinned_drop]
impl PinnedDrop for GroCells {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: initialised (invariant) and no longer used.
        unsafe { bindings::gro_cells_destroy(self.inner.get()) };
    }
}
