// SPDX-License-Identifier: GPL-2.0

//! rtnetlink link types: `rtnl_link_ops`, the device's `net_device_ops` and
//! `ethtool_ops`, and the trampolines that turn their C callbacks into calls
//! of a safe [`LinkDriver`].
//!
//! Lifetime of the driver's per-device data: `newlink` creates it and stores
//! it in the device's private area before `register_netdevice`; it is freed
//! exactly once, by whichever comes first of the `priv_destructor` (which
//! the core runs after the device's last reference is gone, or when
//! registration fails after `ndo_init`) and `newlink`'s own error path.

use super::bindings;
use super::netdev::NetDevice;
use super::nl::{Attr, ExtAck};
use super::skb::SkBuff;
use core::marker::PhantomData;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a link type implements.
pub(crate) trait LinkDriver: Sized + 'static {
    /// The state of each device, created by [`LinkDriver::newlink`].
    type Data: Send + Sync;

    /// The rtnetlink kind (`ip link add ... type KIND`).
    const KIND: &'static CStr;
    /// The driver name reported by ethtool.
    const DRIVER_NAME: &'static CStr;
    /// The driver version reported by ethtool.
    const VERSION: &'static CStr;

    /// The static operation tables of this driver.
    fn ops() -> &'static LinkOps<Self>;

    /// Sets a freshly allocated device's properties.
    fn setup(dev: &mut DeviceSetup<'_>);

    /// Creates the device's state from the request; the device is registered
    /// afterwards.
    fn newlink(dev: &NetDevice, params: &NewlinkParams<'_>) -> Result<Pin<KBox<Self::Data>>>;

    /// The device is being deleted (under RTNL), before it is unregistered.
    fn dellink(dev: &NetDevice, data: &Self::Data);

    /// `ndo_open`.
    fn open(dev: &NetDevice, data: &Self::Data) -> Result;

    /// `ndo_stop`.
    fn stop(dev: &NetDevice, data: &Self::Data) -> Result;

    /// `ndo_start_xmit`: the driver owns `skb` from here on.
    fn start_xmit(dev: &NetDevice, data: &Self::Data, skb: SkBuff);

    /// The names of the driver's own statistics (`ethtool -S`), at most
    /// 31 bytes each.
    const STAT_NAMES: &'static [&'static CStr];

    /// Fills `out` (one value per [`LinkDriver::STAT_NAMES`] entry).
    fn stats(data: &Self::Data, out: &mut [u64]);

    /// The most bytes [`LinkDriver::fill_info`] writes; 0 if the link type
    /// reports no `IFLA_INFO_DATA` attributes.
    const INFO_SIZE: usize = 0;

    /// Writes the device's `IFLA_INFO_DATA` attributes (link dumps).
    fn fill_info(_data: &Self::Data, _w: &mut LinkInfo<'_>) -> Result {
        Ok(())
    }
}

/// Where a link type writes its `IFLA_INFO_DATA` attributes.
///
/// # Invariants
///
/// `skb` is the link message being built, valid for `'a`.
pub(crate) struct LinkInfo<'a> {
    skb: *mut bindings::sk_buff,
    _p: PhantomData<&'a mut bindings::sk_buff>,
}

impl super::genl::MsgWriter for LinkInfo<'_> {
    fn skb(&mut self) -> *mut bindings::sk_buff {
        self.skb
    }
}

/// The private area of every device of a [`LinkDriver`]: a pointer to its
/// data, null before `newlink` stored it and after it was freed.
#[repr(C)]
struct Priv<T: LinkDriver> {
    data: AtomicPtr<T::Data>,
}

impl<T: LinkDriver> Priv<T> {
    /// The private area of `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must be a device of link type `T` (allocated with
    /// `priv_size == size_of::<Priv<T>>()`).
    unsafe fn of(dev: &NetDevice) -> &Priv<T> {
        // SAFETY: the private area of a `T` device is a `Priv<T>`, which
        // alloc_netdev zero-filled (a null pointer) and which lives as long
        // as the device.
        unsafe { &*dev.priv_ptr().cast::<Priv<T>>() }
    }

    /// Frees the data if it is still there.
    fn free(&self) {
        let p = self.data.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !p.is_null() {
            // SAFETY: a non-null pointer in `data` came from
            // `KBox::into_raw` in `newlink_callback`; the swap makes this
            // the only place that frees it (dropping it in place, as pinned
            // data requires).
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

/// The driver data of a device of link type `T`, if `dev` is one and is
/// fully created.
pub(crate) fn driver_data<T: LinkDriver>(dev: &NetDevice) -> Option<&T::Data> {
    if !dev.has_link_ops(T::ops().link.get()) {
        return None;
    }
    // SAFETY: the device's link ops are `T`'s, so its private area is a
    // `Priv<T>`.
    let p = unsafe { Priv::<T>::of(dev) }.data.load(Ordering::Acquire);
    // SAFETY: a non-null pointer stays valid until the priv_destructor,
    // which the core runs only after the last reference to `dev` is gone;
    // the caller's `&NetDevice` is such a reference.
    unsafe { p.as_ref() }
}

/// The data of a device inside one of its own callbacks.
///
/// # Safety
///
/// `dev` must be a registered device of type `T` (its data is set).
unsafe fn data_in_callback<'a, T: LinkDriver>(dev: &'a NetDevice) -> &'a T::Data {
    // SAFETY: per the caller, the device is of type `T`, registered, so
    // its data pointer is set and valid for as long as the device.
    unsafe { &*Priv::<T>::of(dev).data.load(Ordering::Acquire) }
}

/// A device during `setup`, before registration: its properties may be set.
///
/// # Invariants
///
/// `dev` points to a device allocated for this link type that nothing else
/// accesses while this object exists.
pub(crate) struct DeviceSetup<'a> {
    dev: *mut bindings::net_device,
    _p: PhantomData<&'a mut bindings::net_device>,
}

impl DeviceSetup<'_> {
    /// Sets the properties every device of this driver has: a layer-3
    /// point-to-point device without link-layer header or address, lockless
    /// transmit, per-CPU statistics with drop counters, freed by the core.
    pub(crate) fn setup_common<T: LinkDriver>(&mut self) {
        let ops = T::ops();
        // SAFETY: `setup` runs on a newly allocated device that no one
        // else uses yet; the tables are static.
        unsafe {
            let d = &mut *self.dev;
            d.netdev_ops = &ops.netdev;
            d.ethtool_ops = &ops.ethtool;
            d.needs_free_netdev = true;
            d.priv_destructor = Some(priv_destructor_callback::<T>);
            d.hard_header_len = 0;
            d.addr_len = 0;
            d.type_ = bindings::ARPHRD_NONE as u16;
            d.flags = bindings::net_device_flags_IFF_POINTOPOINT
                | bindings::net_device_flags_IFF_NOARP
                | bindings::net_device_flags_IFF_MULTICAST;
            bindings::ovpn_compat_setup_bitfields(self.dev);
        }
    }

    /// Sets the MTU and its bounds.
    pub(crate) fn set_mtu(&mut self, mtu: u32, min: u32, max: u32) {
        // SAFETY: exclusive access during setup.
        unsafe {
            (*self.dev).mtu = mtu;
            (*self.dev).min_mtu = min;
            (*self.dev).max_mtu = max;
        }
    }

    /// Sets the head- and tailroom the device needs in packets sent to it.
    pub(crate) fn set_needed_room(&mut self, head: u16, tail: u16) {
        // SAFETY: exclusive access during setup.
        unsafe {
            (*self.dev).needed_headroom = head;
            (*self.dev).needed_tailroom = tail;
        }
    }

    /// Sets the offload features (active, changeable and for encapsulation).
    pub(crate) fn set_features(&mut self, f: super::netdev::features::Features) {
        // SAFETY: exclusive access during setup.
        unsafe {
            (*self.dev).features |= f;
            (*self.dev).hw_features |= f;
            (*self.dev).hw_enc_features |= f;
        }
    }
}

/// The arguments of a `newlink` request.
///
/// # Invariants
///
/// `params` points to the request's parameters, valid for `'a`, whose
/// `data` is null or a table of `maxtype + 1` attributes parsed with the
/// link policy.
pub(crate) struct NewlinkParams<'a> {
    params: *mut bindings::rtnl_newlink_params,
    extack: ExtAck<'a>,
    maxtype: u32,
}

impl<'a> NewlinkParams<'a> {
    /// The link-specific attribute `ty` (from `IFLA_INFO_DATA`), already
    /// validated against the link policy.
    pub(crate) fn data(&self, ty: u32) -> Option<Attr<'a>> {
        if ty > self.maxtype {
            return None;
        }
        // SAFETY: `params` is valid during newlink; `data` is null or an
        // array of `maxtype + 1` attribute pointers into the request.
        unsafe {
            let data = (*self.params).data;
            if data.is_null() {
                return None;
            }
            Attr::from_raw(*data.add(ty as usize))
        }
    }

    /// The request's extended acknowledgement.
    pub(crate) fn extack(&self) -> &ExtAck<'a> {
        &self.extack
    }
}

/// The static operation tables of a [`LinkDriver`].
///
/// # Invariants
///
/// The callbacks in the tables are the trampolines of this module for `T`;
/// `link` is registered at most once at a time, by the [`Registration`]
/// that set `registered`.
pub(crate) struct LinkOps<T: LinkDriver> {
    link: Opaque<bindings::rtnl_link_ops>,
    netdev: bindings::net_device_ops,
    ethtool: bindings::ethtool_ops,
    /// Set while a [`Registration`] holds `link` registered (the core
    /// reinitialises a registered table's SRCU on a second registration).
    registered: AtomicBool,
    _p: PhantomData<T>,
}

// SAFETY: the rtnl_link_ops are only modified by the rtnetlink core, under
// its own lock, while registering and unregistering; the other tables are
// immutable.
unsafe impl<T: LinkDriver> Sync for LinkOps<T> {}

impl<T: LinkDriver> LinkOps<T> {
    /// Builds the tables; `maxtype` and `policy` describe `IFLA_INFO_DATA`.
    pub(crate) const fn new(maxtype: u32, policy: LinkPolicy) -> Self {
        // SAFETY: these C structs are valid when zeroed (null pointers and
        // `None` callbacks).
        let mut link: bindings::rtnl_link_ops = unsafe { core::mem::zeroed() };
        link.kind = kernel::str::as_char_ptr_in_const_context(T::KIND).cast();
        link.priv_size = core::mem::size_of::<Priv<T>>();
        link.setup = Some(setup_callback::<T>);
        link.maxtype = maxtype;
        link.policy = policy.0;
        link.newlink = Some(newlink_callback::<T>);
        link.dellink = Some(dellink_callback::<T>);
        if T::INFO_SIZE != 0 {
            link.get_size = Some(get_size_callback::<T>);
            link.fill_info = Some(fill_info_callback::<T>);
        }

        // SAFETY: as above.
        let mut netdev: bindings::net_device_ops = unsafe { core::mem::zeroed() };
        netdev.ndo_open = Some(open_callback::<T>);
        netdev.ndo_stop = Some(stop_callback::<T>);
        netdev.ndo_start_xmit = Some(start_xmit_callback::<T>);

        // SAFETY: as above.
        let mut ethtool: bindings::ethtool_ops = unsafe { core::mem::zeroed() };
        ethtool.get_drvinfo = Some(get_drvinfo_callback::<T>);
        ethtool.get_link = Some(bindings::ethtool_op_get_link);
        ethtool.get_sset_count = Some(get_sset_count_callback::<T>);
        ethtool.get_strings = Some(get_strings_callback::<T>);
        ethtool.get_ethtool_stats = Some(get_ethtool_stats_callback::<T>);

        Self {
            link: Opaque::new(link),
            netdev,
            ethtool,
            registered: AtomicBool::new(false),
            _p: PhantomData,
        }
    }
}

/// The policy of a link type's `IFLA_INFO_DATA` attributes.
#[derive(Clone, Copy)]
pub(crate) struct LinkPolicy(*const bindings::nla_policy);

impl LinkPolicy {
    /// The ovpn-dco link policy from `compat/netlink_gen.c`.
    pub(crate) const fn ovpn_dco() -> Self {
        Self((&raw const bindings::ovpn_dco_link_policy).cast::<bindings::nla_policy>())
    }

    /// The `ovpn` link policy from `compat/ovpn_nl_gen.c` (the mode's range
    /// is checked by the policy: `ERANGE`).
    pub(crate) const fn ovpn() -> Self {
        Self((&raw const bindings::ovpn_api_link_policy).cast::<bindings::nla_policy>())
    }
}

/// Registration of a link type; unregisters it (deleting every device of
/// the type in every namespace) when dropped.
pub(crate) struct Registration<T: LinkDriver>(PhantomData<T>);

impl<T: LinkDriver> Registration<T> {
    /// Registers `T`'s link type; `EBUSY` if this module registered it
    /// already, `EEXIST` if another module holds its kind.
    pub(crate) fn register() -> Result<Self> {
        let ops = T::ops();
        if ops.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: the ops are static, and not registered (`registered` was
        // clear and is now ours).
        let r = kernel::error::to_result(unsafe { bindings::rtnl_link_register(ops.link.get()) });
        if let Err(e) = r {
            ops.registered.store(false, Ordering::Release);
            return Err(e);
        }
        // INVARIANT: registered, by this object.
        Ok(Self(PhantomData))
    }
}

impl<T: LinkDriver> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; after this returns no device of
        // the type exists and no callback runs any more.
        unsafe { bindings::rtnl_link_unregister(T::ops().link.get()) };
        T::ops().registered.store(false, Ordering::Release);
    }
}

/// `rtnl_link_ops.setup`.
///
/// # Safety
///
/// Called by the core with a newly allocated device of type `T`.
unsafe extern "C" fn setup_callback<T: LinkDriver>(dev: *mut bindings::net_device) {
    // INVARIANT: the core passes a new device that only it and we see, and
    // it does not touch the device until `setup` returns.
    let mut setup = DeviceSetup {
        dev,
        _p: PhantomData,
    };
    T::setup(&mut setup);
}

/// `rtnl_link_ops.newlink`.
///
/// # Safety
///
/// Called by the core, under RTNL, with a device allocated for type `T`
/// and valid request parameters.
unsafe extern "C" fn newlink_callback<T: LinkDriver>(
    dev: *mut bindings::net_device,
    params: *mut bindings::rtnl_newlink_params,
    extack: *mut bindings::netlink_ext_ack,
) -> kernel::ffi::c_int {
    // SAFETY: the core passes a device it allocated for type `T`.
    let ndev = unsafe { NetDevice::from_raw(dev) };
    // INVARIANT: the core parsed `data` with our policy and `maxtype`.
    let params = NewlinkParams {
        params,
        // SAFETY: the extack is null or valid for the request.
        extack: unsafe { ExtAck::from_raw(extack) },
        // SAFETY: the ops are static.
        maxtype: unsafe { (*T::ops().link.get()).maxtype },
    };
    let data = match T::newlink(ndev, &params) {
        Ok(d) => d,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: the device is of type `T`.
    let priv_ = unsafe { Priv::<T>::of(ndev) };
    // SAFETY: the data is never moved out of its box: `Priv::free` drops
    // it in place through `KBox::from_raw`.
    let data = KBox::into_raw(unsafe { Pin::into_inner_unchecked(data) });
    priv_.data.store(data, Ordering::Release);
    // SAFETY: called under RTNL from newlink, as the core requires.
    let ret = unsafe { bindings::register_netdevice(dev) };
    if ret < 0 {
        // Depending on where registration failed the core may or may not
        // have run the priv_destructor; `free` frees only what is left.
        priv_.free();
    }
    ret
}

/// `rtnl_link_ops.dellink`.
///
/// # Safety
///
/// Called by the core, under RTNL, with a registered device of type `T`.
unsafe extern "C" fn dellink_callback<T: LinkDriver>(
    dev: *mut bindings::net_device,
    head: *mut bindings::list_head,
) {
    // SAFETY: the core passes a registered device of type `T`.
    let ndev = unsafe { NetDevice::from_raw(dev) };
    // SAFETY: registered, so its data is set.
    T::dellink(ndev, unsafe { data_in_callback::<T>(ndev) });
    // SAFETY: under RTNL, as dellink is.
    unsafe { bindings::unregister_netdevice_queue(dev, head) };
}

/// `rtnl_link_ops.get_size`.
///
/// # Safety
///
/// Called by the core with a device of type `T`.
unsafe extern "C" fn get_size_callback<T: LinkDriver>(_dev: *const bindings::net_device) -> usize {
    T::INFO_SIZE
}

/// `rtnl_link_ops.fill_info`.
///
/// # Safety
///
/// Called by the core, under RTNL or RCU, with a device of type `T` and
/// the link message being built.
unsafe extern "C" fn fill_info_callback<T: LinkDriver>(
    skb: *mut bindings::sk_buff,
    dev: *const bindings::net_device,
) -> kernel::ffi::c_int {
    // SAFETY: the core holds the device while it dumps it.
    let ndev = unsafe { NetDevice::from_raw(dev) };
    let Some(data) = driver_data::<T>(ndev) else {
        return 0;
    };
    // INVARIANT: the core passes the message it is building.
    let mut w = LinkInfo {
        skb,
        _p: PhantomData,
    };
    match T::fill_info(data, &mut w) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `net_device.priv_destructor`.
///
/// # Safety
///
/// Called by the core once per device of type `T`, when it is no longer
/// referenced (or when registration failed).
unsafe extern "C" fn priv_destructor_callback<T: LinkDriver>(dev: *mut bindings::net_device) {
    // SAFETY: the core calls this once for a device of type `T` that no one
    // references any more.
    let ndev = unsafe { NetDevice::from_raw(dev) };
    // SAFETY: the device is of type `T`.
    unsafe { Priv::<T>::of(ndev) }.free();
}

/// Calls `f` with a registered device of type `T` and its data, and turns
/// the result into a C status.
///
/// # Safety
///
/// `dev` must be a registered device of type `T`, alive during the call.
unsafe fn call_with_data<T: LinkDriver>(
    dev: *mut bindings::net_device,
    f: impl FnOnce(&NetDevice, &T::Data) -> Result,
) -> kernel::ffi::c_int {
    // SAFETY: alive during the call, per the caller.
    let ndev = unsafe { NetDevice::from_raw(dev) };
    // SAFETY: registered and of type `T`, per the caller.
    match f(ndev, unsafe { data_in_callback::<T>(ndev) }) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `ndo_open`.
///
/// # Safety
///
/// Called by the core, under RTNL, with a registered device of type `T`.
unsafe extern "C" fn open_callback<T: LinkDriver>(
    dev: *mut bindings::net_device,
) -> kernel::ffi::c_int {
    // SAFETY: ndo_open runs on a registered device of type `T`.
    unsafe { call_with_data::<T>(dev, T::open) }
}

/// `ndo_stop`.
///
/// # Safety
///
/// Called by the core, under RTNL, with a registered device of type `T`.
unsafe extern "C" fn stop_callback<T: LinkDriver>(
    dev: *mut bindings::net_device,
) -> kernel::ffi::c_int {
    // SAFETY: ndo_stop runs on a registered device of type `T`.
    unsafe { call_with_data::<T>(dev, T::stop) }
}

/// `ndo_start_xmit`.
///
/// # Safety
///
/// Called by the core with a registered device of type `T` and an skb
/// whose ownership passes to the callee.
unsafe extern "C" fn start_xmit_callback<T: LinkDriver>(
    skb: *mut bindings::sk_buff,
    dev: *mut bindings::net_device,
) -> bindings::netdev_tx_t {
    // SAFETY: ndo_start_xmit runs on a registered device of type `T`.
    let ndev = unsafe { NetDevice::from_raw(dev) };
    // SAFETY: the stack hands us ownership of `skb`.
    if let Some(skb) = unsafe { SkBuff::from_raw(skb) } {
        // SAFETY: as above.
        T::start_xmit(ndev, unsafe { data_in_callback::<T>(ndev) }, skb);
    }
    bindings::netdev_tx_NETDEV_TX_OK
}

/// Copies `src` into the fixed-size C string `dst`, truncating, always
/// NUL-terminated.
fn copy_cstr(dst: &mut [kernel::ffi::c_char], src: &CStr) {
    let Some(room) = dst.len().checked_sub(1) else {
        return;
    };
    let bytes = src.to_bytes();
    let n = bytes.len().min(room);
    for (d, s) in dst.iter_mut().zip(&bytes[..n]) {
        *d = *s as kernel::ffi::c_char;
    }
    dst[n] = 0;
}

/// `ethtool_ops.get_drvinfo`.
///
/// # Safety
///
/// Called by ethtool with a valid device and a drvinfo buffer it owns.
unsafe extern "C" fn get_drvinfo_callback<T: LinkDriver>(
    _dev: *mut bindings::net_device,
    info: *mut bindings::ethtool_drvinfo,
) {
    // SAFETY: ethtool passes a valid, exclusively ours drvinfo.
    let info = unsafe { &mut *info };
    copy_cstr(&mut info.driver, T::DRIVER_NAME);
    copy_cstr(&mut info.version, T::VERSION);
    copy_cstr(&mut info.bus_info, c"ovpn");
}

/// `ethtool_ops.get_sset_count`.
///
/// # Safety
///
/// Called by ethtool with a valid device.
unsafe extern "C" fn get_sset_count_callback<T: LinkDriver>(
    _dev: *mut bindings::net_device,
    sset: i32,
) -> i32 {
    if sset == bindings::ethtool_stringset_ETH_SS_STATS as i32 {
        T::STAT_NAMES.len() as i32
    } else {
        -(bindings::EOPNOTSUPP as i32)
    }
}

/// `ethtool_ops.get_strings`.
///
/// # Safety
///
/// Called by ethtool with a valid device and a buffer of
/// `ETH_GSTRING_LEN` bytes per string that `get_sset_count` announced.
unsafe extern "C" fn get_strings_callback<T: LinkDriver>(
    _dev: *mut bindings::net_device,
    sset: u32,
    buf: *mut u8,
) {
    if sset != bindings::ethtool_stringset_ETH_SS_STATS {
        return;
    }
    let len = bindings::ETH_GSTRING_LEN as usize;
    for (i, name) in T::STAT_NAMES.iter().enumerate() {
        // SAFETY: per the contract the buffer holds `STAT_NAMES.len()`
        // strings of `len` bytes.
        let dst = unsafe { core::slice::from_raw_parts_mut(buf.add(i * len).cast(), len) };
        copy_cstr(dst, name);
    }
}

/// `ethtool_ops.get_ethtool_stats`.
///
/// # Safety
///
/// Called by ethtool with a registered device of type `T` and room for as
/// many values as `get_sset_count` announced.
unsafe extern "C" fn get_ethtool_stats_callback<T: LinkDriver>(
    dev: *mut bindings::net_device,
    _stats: *mut bindings::ethtool_stats,
    data: *mut u64,
) {
    // SAFETY: per the contract.
    let out = unsafe { core::slice::from_raw_parts_mut(data, T::STAT_NAMES.len()) };
    out.fill(0);
    // SAFETY: ethtool holds a reference on the device for the call.
    let dev = unsafe { NetDevice::from_raw(dev) };
    if let Some(d) = driver_data::<T>(dev) {
        T::stats(d, out);
    }
}
