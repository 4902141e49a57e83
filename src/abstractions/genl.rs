// SPDX-License-Identifier: GPL-2.0

//! The module's generic netlink families, `ovpn-dco-v2` (OpenVPN 2.6) and
//! Linux's `ovpn` (OpenVPN 2.7): registration and the entry points the
//! genetlink core calls.
//!
//! The families' policies and operation tables are declarative C data in
//! `compat/netlink_gen.c` and `compat/ovpn_nl_gen.c`; every operation lands
//! in [`ovpn_dco_nl_doit`], [`ovpn_dco_nl_dumpit`], [`ovpn_api_nl_doit`] or
//! [`ovpn_api_nl_dumpit`] here, which hand a safe [`GenlInfo`] to the
//! driver (`crate::netlink`).

use super::bindings;
use super::netdev::Net;
use super::nl::{Attr, ExtAck, Nested, Policy};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::prelude::*;

/// A generic netlink family of the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// `ovpn-dco-v2`, OpenVPN 2.6's API.
    DcoV2,
    /// `ovpn`, Linux's API (OpenVPN 2.7).
    Ovpn,
}

impl Family {
    /// The static family object in compat/.
    fn raw(self) -> *mut bindings::genl_family {
        match self {
            Family::DcoV2 => &raw mut bindings::ovpn_dco_nl_family,
            Family::Ovpn => &raw mut bindings::ovpn_api_nl_family,
        }
    }
}

/// A generic netlink request being handled (`struct genl_info`).
///
/// # Invariants
///
/// `ptr` points to a valid `genl_info` of `family`, which stays valid for
/// `'a`, whose attribute table is null or has `maxattr + 1` entries filled
/// by the genetlink core with the operation's policy.
pub(crate) struct GenlInfo<'a> {
    ptr: *mut bindings::genl_info,
    maxattr: u32,
    family: Family,
    _p: PhantomData<&'a bindings::genl_info>,
}

impl<'a> GenlInfo<'a> {
    /// The command of the request.
    pub(crate) fn cmd(&self) -> u8 {
        // SAFETY: by the type invariant `ptr` and its `genlhdr` are valid.
        unsafe { (*(*self.ptr).genlhdr).cmd }
    }

    /// The top-level attribute of type `ty`, if present.
    pub(crate) fn attr(&self, ty: u32) -> Option<Attr<'a>> {
        if ty > self.maxattr {
            return None;
        }
        // SAFETY: by the type invariant `attrs` is null or has
        // `maxattr + 1` entries, each null or pointing into the request.
        unsafe {
            let attrs = (*self.ptr).attrs;
            if attrs.is_null() {
                return None;
            }
            Attr::from_raw(*attrs.add(ty as usize))
        }
    }

    /// The extended acknowledgement of this request.
    pub(crate) fn extack(&self) -> ExtAck<'a> {
        // SAFETY: by the type invariant `ptr` is valid; its extack is null
        // or valid for the duration of the request, and only this request's
        // handler uses it.
        unsafe { ExtAck::from_raw((*self.ptr).extack) }
    }

    /// The network namespace the request came from.
    pub(crate) fn net(&self) -> &'a Net {
        // SAFETY: the request's netns is alive while the request is handled.
        unsafe { Net::from_raw(bindings::ovpn_compat_genl_info_net(self.ptr)) }
    }

    /// Parses the nest carried in top-level attribute `ty`.
    ///
    /// A missing nest is reported through the extack and gives `EINVAL`.
    pub(crate) fn nested(&self, ty: u32) -> Result<Nested<'a>> {
        let extack = self.extack();
        let Some(nest) = self.attr(ty) else {
            extack.missing(None, ty);
            extack.msg(kernel::c_str!("ovpn-dco: missing command attributes"));
            return Err(EINVAL);
        };
        let policy = Policy::for_nest(ty).ok_or(EINVAL)?;
        extack.parse_nested(nest, policy)
    }

    /// Parses the nest carried in top-level attribute `ty` with `policy`.
    /// A missing nest is reported as missing (no message) and gives
    /// `EINVAL`.
    pub(crate) fn nest(&self, ty: u32, policy: Policy) -> Result<Nested<'a>> {
        let extack = self.extack();
        let Some(nest) = self.attr(ty) else {
            extack.missing(None, ty);
            return Err(EINVAL);
        };
        extack.parse_nested(nest, policy)
    }

    /// The id `self.net()` knows `other` by (allocated if needed), or
    /// `None` when they are the same namespace.
    pub(crate) fn netns_id(&self, other: &Net) -> Option<i32> {
        let net = self.net();
        if core::ptr::eq(net.as_ptr(), other.as_ptr()) {
            return None;
        }
        // SAFETY: both namespaces are alive: the request's while it is
        // handled, `other` by the caller's reference.
        Some(unsafe { bindings::ovpn_compat_peernet2id(net.as_ptr(), other.as_ptr()) })
    }
}

/// Registration of a family; unregisters it when dropped.
///
/// # Invariants
///
/// The family is registered, by this object.
pub(crate) struct Registration(Family);

impl Registration {
    /// Registers `family` with its `peers` group.  `EEXIST` if a family of
    /// the same name exists (another module registered it).
    pub(crate) fn register(family: Family) -> Result<Self> {
        // SAFETY: the family is a static object defined in compat/.  If it
        // is registered already (here or by another module with the same
        // name), the core finds its name and answers EEXIST before it
        // writes to the object.
        let ret = unsafe { bindings::genl_register_family(family.raw()) };
        kernel::error::to_result(ret)?;
        // INVARIANT: just registered.
        Ok(Self(family))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: the family was registered by `register`; this is the one
        // matching unregistration.
        unsafe { bindings::genl_unregister_family(self.0.raw()) };
    }
}

/// The `doit` of every command of the family (see `compat/netlink_gen.c`).
///
/// # Safety
///
/// Called only by the genetlink core with a valid request.
#[no_mangle]
pub(crate) unsafe extern "C" fn ovpn_dco_nl_doit(
    _skb: *mut bindings::sk_buff,
    info: *mut bindings::genl_info,
) -> kernel::ffi::c_int {
    // INVARIANT: the core passes a valid `genl_info` parsed with the family
    // policy (of `OVPN_ATTR_MAX`), valid until this function returns.
    let info = GenlInfo {
        ptr: info,
        maxattr: crate::proto::uapi::OVPN_ATTR_MAX,
        family: Family::DcoV2,
        _p: PhantomData,
    };
    match crate::netlink::doit(&info) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `dumpit` of `OVPN_CMD_GET_PEER`.
///
/// # Safety
///
/// Called only by the genetlink core with a valid dump context.
#[no_mangle]
pub(crate) unsafe extern "C" fn ovpn_dco_nl_dumpit(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> kernel::ffi::c_int {
    // INVARIANT: for a dump of a family with a policy the core parses the
    // request's attributes into the dump's `genl_info` (with the family
    // policy, of `OVPN_ATTR_MAX`), valid during the dump callback.
    let info = GenlInfo {
        // SAFETY: `cb` is a valid genetlink dump context.
        ptr: unsafe { bindings::ovpn_compat_genl_info_dump(cb) },
        maxattr: crate::proto::uapi::OVPN_ATTR_MAX,
        family: Family::DcoV2,
        _p: PhantomData,
    };
    // SAFETY: `skb` and `cb` are the dump callback's, valid for the call.
    unsafe { run_dump(&info, skb, cb, crate::netlink::dumpit) }
}

/// Runs one call of a dump and turns its result into the callback's.
///
/// # Safety
///
/// `skb` and `cb` must be a dump callback's arguments, valid for the call.
unsafe fn run_dump(
    info: &GenlInfo<'_>,
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
    f: fn(&GenlInfo<'_>, &mut Dump<'_>) -> Result,
) -> kernel::ffi::c_int {
    // INVARIANT: the dump's skb and context are valid during the call, per
    // the function's contract.
    let mut dump = Dump {
        skb,
        cb,
        family: info.family,
        _p: PhantomData,
    };
    match f(info, &mut dump) {
        // The dump goes on while calls add entries; a call that adds none
        // (an empty skb) ends it.
        // SAFETY: `skb` is valid.
        Ok(()) => unsafe { (*skb).len as kernel::ffi::c_int },
        Err(e) => e.to_errno(),
    }
}

/// The highest top-level attribute of an `ovpn` operation, as its entry in
/// the operation table of `compat/ovpn_nl_gen.c` says.
fn ovpn_maxattr(cmd: u8, dump: bool) -> Option<u32> {
    // SAFETY: reads the static operation table only.
    let m = unsafe { bindings::ovpn_compat_api_op_maxattr(i32::from(cmd), dump) };
    u32::try_from(m).ok()
}

/// The `doit` of every command of the `ovpn` family (see
/// `compat/ovpn_nl_gen.c`).
///
/// # Safety
///
/// Called only by the genetlink core with a valid request.
#[no_mangle]
pub(crate) unsafe extern "C" fn ovpn_api_nl_doit(
    _skb: *mut bindings::sk_buff,
    info: *mut bindings::genl_info,
) -> kernel::ffi::c_int {
    // SAFETY: the core passes a valid request and its header.
    let cmd = unsafe { (*(*info).genlhdr).cmd };
    let Some(maxattr) = ovpn_maxattr(cmd, false) else {
        return super::eopnotsupp().to_errno();
    };
    // INVARIANT: with split operations the core parses the request with
    // the policy of the command's do operation, into a table of that
    // operation's `maxattr + 1` entries; it is valid until this returns.
    let info = GenlInfo {
        ptr: info,
        maxattr,
        family: Family::Ovpn,
        _p: PhantomData,
    };
    match crate::netlink::ovpn::doit(&info) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `dumpit` of `OVPN_CMD_PEER_GET` of the `ovpn` family.
///
/// # Safety
///
/// Called only by the genetlink core with a valid dump context.
#[no_mangle]
pub(crate) unsafe extern "C" fn ovpn_api_nl_dumpit(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> kernel::ffi::c_int {
    // SAFETY: `cb` is a valid genetlink dump context.
    let ptr = unsafe { bindings::ovpn_compat_genl_info_dump(cb) };
    // SAFETY: the dump's info carries the request's header.
    let cmd = unsafe { (*(*ptr).genlhdr).cmd };
    let Some(maxattr) = ovpn_maxattr(cmd, true) else {
        return super::eopnotsupp().to_errno();
    };
    // INVARIANT: the core parsed the request with the policy of the dump
    // operation, into a table of its `maxattr + 1` entries, valid during
    // the dump callback.
    let info = GenlInfo {
        ptr,
        maxattr,
        family: Family::Ovpn,
        _p: PhantomData,
    };
    // SAFETY: `skb` and `cb` are the dump callback's, valid for the call.
    unsafe { run_dump(&info, skb, cb, crate::netlink::ovpn::dumpit) }
}

/// Where a message is built: decides how its memory is allocated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Process context: allocations may sleep.
    Process,
    /// Atomic context (softirq, under a spinlock): they may not.
    Atomic,
}

/// A netlink message of the family being built: a reply or a notification.
///
/// # Invariants
///
/// `skb` is a netlink skb this object owns; `hdr` is the genl header put
/// into it.
pub(crate) struct GenlMsg {
    skb: NonNull<bindings::sk_buff>,
    hdr: *mut core::ffi::c_void,
    family: Family,
}

/// An open nest in a message; close it with [`MsgWriter::nest_end`].
pub(crate) struct Nest(*mut bindings::nlattr);

/// Attribute writing, shared by replies, notifications and dump entries.
pub(crate) trait MsgWriter {
    /// The skb written to.
    fn skb(&mut self) -> *mut bindings::sk_buff;

    /// Appends attribute `ty` with payload `data`.
    fn put_bytes(&mut self, ty: u32, data: &[u8]) -> Result {
        let len = i32::try_from(data.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: the skb is a netlink message we are building; `nla_put`
        // checks the room left and copies `len` bytes from `data`.
        let ret = unsafe { bindings::nla_put(self.skb(), ty as i32, len, data.as_ptr().cast()) };
        kernel::error::to_result(ret)
    }

    /// Appends a `u8` attribute.
    fn put_u8(&mut self, ty: u32, v: u8) -> Result {
        self.put_bytes(ty, &[v])
    }

    /// Appends a `u16` attribute (host order).
    fn put_u16(&mut self, ty: u32, v: u16) -> Result {
        self.put_bytes(ty, &v.to_ne_bytes())
    }

    /// Appends a `u32` attribute (host order).
    fn put_u32(&mut self, ty: u32, v: u32) -> Result {
        self.put_bytes(ty, &v.to_ne_bytes())
    }

    /// Appends an `s32` attribute (host order).
    fn put_s32(&mut self, ty: u32, v: i32) -> Result {
        self.put_bytes(ty, &v.to_ne_bytes())
    }

    /// Appends a `uint` attribute: 4 bytes if the value fits, else 8,
    /// without padding (as `nla_put_uint`).
    fn put_uint(&mut self, ty: u32, v: u64) -> Result {
        match u32::try_from(v) {
            Ok(v) => self.put_u32(ty, v),
            Err(_) => self.put_bytes(ty, &v.to_ne_bytes()),
        }
    }

    /// Appends a big-endian `u16`, flagged as network byte order.
    fn put_be16(&mut self, ty: u32, v: u16) -> Result {
        self.put_bytes(ty | bindings::NLA_F_NET_BYTEORDER, &v.to_be_bytes())
    }

    /// Appends a `u64` attribute, aligned with a pad attribute of type
    /// `pad`.
    fn put_u64(&mut self, ty: u32, v: u64, pad: u32) -> Result {
        let b = v.to_ne_bytes();
        // SAFETY: as in `put_bytes`; `nla_put_64bit` adds padding first
        // if needed.
        let ret = unsafe {
            bindings::nla_put_64bit(self.skb(), ty as i32, 8, b.as_ptr().cast(), pad as i32)
        };
        kernel::error::to_result(ret)
    }

    /// Opens nest `ty`.
    fn nest_start(&mut self, ty: u32) -> Result<Nest> {
        // SAFETY: as in `put_bytes`.
        let n = unsafe { bindings::ovpn_compat_nla_nest_start(self.skb(), ty as i32) };
        if n.is_null() {
            return Err(EMSGSIZE);
        }
        Ok(Nest(n))
    }

    /// Closes a nest opened on this message.
    fn nest_end(&mut self, nest: Nest) {
        // SAFETY: `nest` was opened on this skb and lies inside it.
        unsafe { bindings::ovpn_compat_nla_nest_end(self.skb(), nest.0) };
    }
}

impl GenlMsg {
    fn new(family: Family, portid: u32, seq: u32, cmd: u8, ctx: Context) -> Result<Self> {
        // SAFETY: allocates a new skb or returns null.
        let skb = unsafe { bindings::ovpn_compat_genlmsg_new(ctx == Context::Atomic) };
        let skb = NonNull::new(skb).ok_or(ENOMEM)?;
        // SAFETY: `skb` is a fresh netlink skb with room for the header.
        let hdr = unsafe {
            bindings::ovpn_compat_genlmsg_put(skb.as_ptr(), family.raw(), portid, seq, 0, cmd)
        };
        if hdr.is_null() {
            // SAFETY: we own the skb and drop it here.
            unsafe { bindings::ovpn_compat_nlmsg_free(skb.as_ptr()) };
            return Err(EMSGSIZE);
        }
        // INVARIANT: we own `skb`, `hdr` is its header.
        Ok(Self { skb, hdr, family })
    }

    /// A reply to `info` carrying command `cmd`.
    pub(crate) fn reply_to(info: &GenlInfo<'_>, cmd: u8) -> Result<Self> {
        // SAFETY: `info` is valid (type invariant of `GenlInfo`).
        let (portid, seq) = unsafe {
            (
                bindings::ovpn_compat_info_portid(info.ptr),
                bindings::ovpn_compat_info_seq(info.ptr),
            )
        };
        Self::new(info.family, portid, seq, cmd, Context::Process)
    }

    /// A notification of `family` carrying command `cmd`.
    pub(crate) fn notification(family: Family, cmd: u8, ctx: Context) -> Result<Self> {
        Self::new(family, 0, 0, cmd, ctx)
    }

    /// Sends the message as the reply to `info`.
    pub(crate) fn reply(self, info: &GenlInfo<'_>) -> Result {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: we own the skb; `genlmsg_reply` consumes it in all cases.
        let ret = unsafe {
            bindings::ovpn_compat_genlmsg_end(this.skb.as_ptr(), this.hdr);
            bindings::ovpn_compat_genlmsg_reply(this.skb.as_ptr(), info.ptr)
        };
        kernel::error::to_result(ret)
    }

    /// Sends the message to the family's multicast group `group` in `net`.
    /// Having no listener is not an error.
    pub(crate) fn multicast(self, net: &Net, group: u32, ctx: Context) -> Result {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: we own the skb, which the multicast consumes in all cases;
        // the namespace is alive (type invariant of `Net`).
        let ret = unsafe {
            bindings::ovpn_compat_genlmsg_end(this.skb.as_ptr(), this.hdr);
            bindings::ovpn_compat_genlmsg_multicast_netns(
                this.family.raw(),
                net.as_ptr(),
                this.skb.as_ptr(),
                group,
                ctx == Context::Atomic,
            )
        };
        match ret {
            0 => Ok(()),
            r if r == ESRCH.to_errno() => Ok(()),
            r => Err(Error::from_errno(r)),
        }
    }
}

impl MsgWriter for GenlMsg {
    fn skb(&mut self) -> *mut bindings::sk_buff {
        self.skb.as_ptr()
    }
}

impl Drop for GenlMsg {
    fn drop(&mut self) {
        // SAFETY: the message was not sent, so we still own the skb.
        unsafe { bindings::ovpn_compat_nlmsg_free(self.skb.as_ptr()) };
    }
}

/// A dump in progress: entries are appended to the dump's skb, and a
/// cursor survives between the calls of one dump.
///
/// # Invariants
///
/// `skb` and `cb` are the dump callback's arguments, valid for `'a`.
pub(crate) struct Dump<'a> {
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
    family: Family,
    _p: PhantomData<&'a ()>,
}

/// One entry of a dump, being written.  Dropping it without
/// [`DumpEntry::end`] removes it again.
pub(crate) struct DumpEntry<'d, 'a> {
    dump: &'d mut Dump<'a>,
    hdr: *mut core::ffi::c_void,
}

impl<'a> Dump<'a> {
    /// The cursor: how many entries earlier calls of this dump emitted.
    pub(crate) fn cursor(&self) -> usize {
        // SAFETY: `cb` is valid; `args` belongs to this dump.
        let v = unsafe { *bindings::ovpn_compat_cb_args(self.cb) };
        usize::try_from(v).unwrap_or(0)
    }

    /// Sets the cursor.
    pub(crate) fn set_cursor(&mut self, n: usize) {
        let v = kernel::ffi::c_long::try_from(n).unwrap_or(kernel::ffi::c_long::MAX);
        // SAFETY: as in `cursor`.
        unsafe { *bindings::ovpn_compat_cb_args(self.cb) = v };
    }

    /// Starts an entry with command `cmd`; `EMSGSIZE` when the skb is full.
    pub(crate) fn entry(&mut self, cmd: u8) -> Result<DumpEntry<'_, 'a>> {
        // SAFETY: `cb` and `skb` are valid (type invariant).
        let hdr = unsafe {
            let portid = bindings::ovpn_compat_cb_portid(self.cb);
            let seq = bindings::ovpn_compat_cb_seq(self.cb);
            bindings::ovpn_compat_genlmsg_put(
                self.skb,
                self.family.raw(),
                portid,
                seq,
                bindings::NLM_F_MULTI as i32,
                cmd,
            )
        };
        if hdr.is_null() {
            return Err(EMSGSIZE);
        }
        Ok(DumpEntry { dump: self, hdr })
    }
}

impl DumpEntry<'_, '_> {
    /// Completes the entry.
    pub(crate) fn end(self) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `hdr` was put into the dump's skb by `entry`.
        unsafe { bindings::ovpn_compat_genlmsg_end(this.dump.skb, this.hdr) };
    }
}

impl MsgWriter for DumpEntry<'_, '_> {
    fn skb(&mut self) -> *mut bindings::sk_buff {
        self.dump.skb
    }
}

impl Drop for DumpEntry<'_, '_> {
    fn drop(&mut self) {
        // SAFETY: removes the partial entry `entry` started.
        unsafe { bindings::ovpn_compat_genlmsg_cancel(self.dump.skb, self.hdr) };
    }
}
