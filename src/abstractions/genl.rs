// SPDX-License-Identifier: GPL-2.0

//! The `ovpn-dco-v2` generic netlink family: registration and the entry
//! points the genetlink core calls.
//!
//! The family's policies and operation table are declarative C data in
//! `compat/netlink_gen.c`; every operation lands in [`ovpn_dco_nl_doit`] or
//! [`ovpn_dco_nl_dumpit`] here, which hand a safe [`GenlInfo`] to the driver
//! (`crate::netlink`).

use super::bindings;
use super::netdev::Net;
use super::nl::{Attr, ExtAck, Nested, Policy};
use core::marker::PhantomData;
use kernel::prelude::*;

/// A generic netlink request being handled (`struct genl_info`).
///
/// # Invariants
///
/// `ptr` points to a valid `genl_info` whose attribute table is null or was
/// filled by the genetlink core with the family policy (`maxattr` =
/// `OVPN_ATTR_MAX`), and which stays valid for `'a`.
pub(crate) struct GenlInfo<'a> {
    ptr: *mut bindings::genl_info,
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
        if ty > crate::proto::uapi::OVPN_ATTR_MAX {
            return None;
        }
        // SAFETY: by the type invariant `attrs` is null or has
        // `OVPN_ATTR_MAX + 1` entries, each null or pointing into the
        // request.
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
}

/// Registration of the family; unregisters it when dropped.
pub(crate) struct Registration(());

impl Registration {
    /// Registers the `ovpn-dco-v2` family with its `peers` group.
    pub(crate) fn register() -> Result<Self> {
        // SAFETY: the family is a static object defined in netlink_gen.c;
        // registering it once, here, is what the genetlink core expects.
        let ret = unsafe { bindings::genl_register_family(&raw mut bindings::ovpn_dco_nl_family) };
        kernel::error::to_result(ret)?;
        Ok(Self(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: the family was registered by `register`; this is the one
        // matching unregistration.
        unsafe { bindings::genl_unregister_family(&raw const bindings::ovpn_dco_nl_family) };
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
    // policy, valid until this function returns.
    let info = GenlInfo {
        ptr: info,
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
    _skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> kernel::ffi::c_int {
    // INVARIANT: for a dump of a family with a policy the core parses the
    // request's attributes into the dump's `genl_info`, valid during the
    // dump callback.
    let info = GenlInfo {
        // SAFETY: `cb` is a valid genetlink dump context.
        ptr: unsafe { bindings::ovpn_compat_genl_info_dump(cb) },
        _p: PhantomData,
    };
    match crate::netlink::dumpit(&info) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
